#!/usr/bin/env bash
# Build the Debian package dlp-pipes_VERSION-1_ARCH.deb with cargo-deb, from
# the tree `install.sh --prefix /usr --destdir STAGE` stages, so the package
# and install.sh install the same files. The package's metadata (name,
# dependencies, where each staged directory goes) is
# [package.metadata.deb] in packaging/deb/Cargo.toml.
#
# usage: packaging/build-deb.sh [--bin-dir DIR] [--output DIR]
#   --bin-dir DIR  package the binaries already built in DIR (tests use
#                  target/debug) instead of building (cargo build --profile dist)
#   --output DIR   where the .deb goes (default target/debian); its path is
#                  printed on stdout
# Needs cargo-deb: cargo install cargo-deb --locked
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PROG=build-deb.sh
die() {
    printf '%s: %s\n' "$PROG" "$*" >&2
    exit 2
}

bin_args=()
out=
while [ $# -gt 0 ]; do
    case $1 in
    --bin-dir)
        [ $# -ge 2 ] || die "--bin-dir needs a directory"
        bin_args=(--bin-dir "$2")
        shift 2
        ;;
    --output)
        [ $# -ge 2 ] || die "--output needs a directory"
        out=$2
        shift 2
        ;;
    -h | --help)
        sed -n '2,13s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
        exit 0
        ;;
    *) die "unknown argument: $1 (see --help)" ;;
    esac
done

if ! command -v cargo-deb >/dev/null 2>&1; then
    die "cargo-deb not found; install it with: cargo install cargo-deb --locked"
fi
target=${CARGO_TARGET_DIR:-$ROOT/target}
out=${out:-$target/debian}
# Where [package.metadata.deb] expects it, whatever CARGO_TARGET_DIR is.
stage=$ROOT/target/deb-stage
rm -rf -- "$stage"
"$ROOT/install.sh" --prefix /usr --destdir "$stage" "${bin_args[@]}"
# cargo-deb strips only the binaries it builds itself: strip the staged ones
# (Debian policy; a debug build shrinks from ~50 MB to ~5 MB a tool).
if command -v strip >/dev/null 2>&1; then
    for f in "$stage"/usr/bin/*; do
        if [ "$(head -c 4 "$f" | od -An -c | tr -d ' ')" = '177ELF' ]; then
            strip --strip-unneeded "$f"
        fi
    done
else
    printf '%s: warning: strip (binutils) not found; packaging unstripped binaries\n' "$PROG" >&2
fi
mkdir -p -- "$out"
# --no-build: install.sh built (or was given) the binaries; cargo-deb packs
# the staged tree (its warnings about paths outside target/dist are
# about exactly that, hence -q). DLP_DEB_FAST=1: gzip instead of xz (tests).
cd "$ROOT"
fast=()
[ -z "${DLP_DEB_FAST:-}" ] || fast=(--fast)
cargo deb --package dlp-pipes --no-build --no-dbgsym -q "${fast[@]}" --output "$out"
