#!/usr/bin/env bash
# Builds the real-disk corpus of bench/eval.sh from packages.txt:
#   target/realdisk/corpus/PART/SOURCE/NAME-VERSION/...
# Each package is fetched once with its ecosystem's own client (apt-get
# download, pip download, cargo vendor), unpacked, and made plain text:
# symlinks dropped, gzip files (man pages, changelogs) decompressed, binary
# files (a NUL byte in the first 8 KiB: ELF objects, images, .pyc) removed,
# so pii-scan and detect-secrets read the same bytes. Packages no longer in
# the list are removed. Nothing here is committed.
#
# usage: bench/realdisk/fetch.sh [PYTHON]   (PYTHON: a python3 with pip)
set -euo pipefail
cd "$(dirname "$0")/../.."
LIST=bench/realdisk/packages.txt
ROOT=target/realdisk
PY=${1:-python3}
DL=$ROOT/dl
mkdir -p "$DL/deb" "$DL/pypi" "$ROOT/corpus"

entries() { grep -v '^#' "$LIST" | awk 'NF == 4'; }

unpack() { # SOURCE FILE DEST
  local tmp="$3.tmp"
  rm -rf "$tmp" && mkdir -p "$tmp"
  case $1 in
    deb) dpkg-deb -x "$2" "$tmp" ;;
    pypi) "$PY" -m zipfile -e "$2" "$tmp" ;;
    crate) cp -r "$2/." "$tmp/" && rm -f "$tmp/.cargo-checksum.json" ;;
  esac
  "$PY" bench/realdisk/plain.py "$tmp"
  rm -rf "$3" && mv "$tmp" "$3"
}

# Crates: one throw-away manifest pinning every listed crate, vendored once.
crates=$(entries | awk '$2 == "crate"')
if [ -n "$crates" ]; then
  need=0
  while read -r part _ name ver; do
    [ -d "$ROOT/corpus/$part/crate/$name-$ver" ] || need=1
  done <<< "$crates"
  if [ "$need" = 1 ]; then
    C=$ROOT/cargo
    rm -rf "$C" && mkdir -p "$C/src"
    {
      printf '[package]\nname = "realdisk-corpus"\nversion = "0.0.0"\nedition = "2021"\npublish = false\n\n[workspace]\n\n[dependencies]\n'
      while read -r _ _ name ver; do
        printf '%s-%s = { package = "%s", version = "=%s" }\n' "$name" "${ver//./-}" "$name" "$ver"
      done <<< "$crates"
    } > "$C/Cargo.toml"
    : > "$C/src/lib.rs"
    (cd "$C" && cargo vendor --versioned-dirs -q vendor > /dev/null)
    while read -r part _ name ver; do
      mkdir -p "$ROOT/corpus/$part/crate"
      unpack crate "$C/vendor/$name-$ver" "$ROOT/corpus/$part/crate/$name-$ver"
    done <<< "$crates"
    rm -rf "$C"
  fi
fi

entries | while read -r part src name ver; do
  dest=$ROOT/corpus/$part/$src/$name-$ver
  [ -d "$dest" ] && continue
  mkdir -p "$ROOT/corpus/$part/$src"
  case $src in
    deb)
      (cd "$DL/deb" && apt-get download -q=2 "$name=$ver" 2> /dev/null) \
        || { echo "fetch.sh: apt-get download $name=$ver failed (is the version still in the archive?)" >&2; exit 1; }
      file=$(ls "$DL"/deb/"${name}"_"${ver/:/%3a}"_*.deb)
      ;;
    pypi)
      "$PY" -m pip download -q --no-deps --only-binary=:all: -d "$DL/pypi" "$name==$ver"
      norm=$(echo "$name" | tr '-' '_')
      file=$(ls "$DL"/pypi/"${norm}"-"${ver}"-*.whl 2> /dev/null || ls "$DL"/pypi/*-"${ver}"-*.whl | grep -i "/${norm}-")
      ;;
    crate) continue ;;
  esac
  unpack "$src" "$file" "$dest"
done

# Drop packages that left the list.
want=$(entries | awk '{print $1 "/" $2 "/" $3 "-" $4}' | sort)
for d in "$ROOT"/corpus/*/*/*; do
  rel=${d#"$ROOT"/corpus/}
  grep -qxF "$rel" <<< "$want" || rm -rf "$d"
done
