#!/usr/bin/env bash
# Creates (once) a virtual environment at <workspace>/target/pyenv-nats with
# the NATS Python client (nats-py, from PyPI), for the fleet tests' cross-check
# and bench/nats.sh, and prints the path of its python. Idempotent.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
venv="$root/target/pyenv-nats"
py="$venv/bin/python"
want="2.16.0"
ok() { "$py" -c "import importlib.metadata as m, sys; sys.exit(m.version('nats-py') != '$want')" 2>/dev/null; }
if [[ -x "$py" ]] && ok; then
    echo "$py"
    exit 0
fi
mkdir -p "$root/target"
# Serialise concurrent first runs (several test processes may start at once).
exec 9>"$root/target/pyenv-nats.lock"
flock 9
if ! [[ -x "$py" ]] || ! ok; then
    python3 -m venv "$venv" >&2
    "$py" -m pip install --quiet --disable-pip-version-check "nats-py==$want" >&2
fi
echo "$py"
