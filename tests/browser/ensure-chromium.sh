#!/usr/bin/env bash
# Prints the path of a headless-capable Chromium for the report tests,
# installing Debian's `chromium` package on first use when running as root
# with apt-get (CI). Serialised, so parallel tests install it once.
set -euo pipefail
find_it() {
    for c in chromium chromium-browser google-chrome; do
        if command -v "$c" >/dev/null 2>&1; then
            command -v "$c"
            return 0
        fi
    done
    return 1
}
if find_it; then
    exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "ensure-chromium: no chromium on PATH; install it (Debian: apt-get install chromium)" >&2
    exit 1
fi
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
mkdir -p "$root/target"
exec 9>"$root/target/chromium-install.lock"
flock 9
if ! find_it >/dev/null; then
    echo "ensure-chromium: installing chromium (Debian package)" >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >&2
fi
find_it
