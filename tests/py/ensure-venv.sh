#!/usr/bin/env bash
# Creates (once) a virtual environment at <workspace>/target/pyenv with the
# official Nightfall Python SDK, for the conformance test, and prints the
# path of its python. Idempotent: an existing, complete venv is reused.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
venv="$root/target/pyenv"
py="$venv/bin/python"
want="1.4.1"
if [[ -x "$py" ]] && "$py" -c "import importlib.metadata as m, sys; sys.exit(m.version('nightfall') != '$want')" 2>/dev/null; then
    echo "$py"
    exit 0
fi
mkdir -p "$root/target"
# Serialise concurrent first runs (several test processes may start at once).
exec 9>"$root/target/pyenv.lock"
flock 9
if ! [[ -x "$py" ]] || ! "$py" -c "import importlib.metadata as m, sys; sys.exit(m.version('nightfall') != '$want')" 2>/dev/null; then
    python3 -m venv "$venv" >&2
    "$py" -m pip install --quiet --disable-pip-version-check "nightfall==$want" >&2
fi
echo "$py"
