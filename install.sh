#!/usr/bin/env bash
# Install the dlp-pipes tools, their man pages and shell completions, the
# pipeline scripts and the systemd user units under a prefix; uninstall
# exactly what was installed. Run ./install.sh --help for usage.
set -euo pipefail

PROG=install.sh
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

usage() {
    cat <<'EOF'
usage: ./install.sh [--prefix DIR] [--bin-dir DIR] [--destdir DIR]
       ./install.sh --uninstall [--prefix DIR]

Builds the binaries once with the optimised profile (cargo build --profile dist
--locked) and installs:
  DIR/bin/TOOL                                   every tool, and the pipeline
  DIR/bin/{local-dlp,endpoint-dlp,fim-notify,    scripts as commands
           fleet-endpoint,fleet-central}
  DIR/share/man/man1/TOOL.1                      man pages (tools and commands)
  DIR/share/bash-completion/completions/TOOL     bash completions
  DIR/share/zsh/site-functions/_TOOL             zsh completions
  DIR/share/fish/vendor_completions.d/TOOL.fish  fish completions
  DIR/share/dlp-pipes/pipelines/                 the scripts (run the installed tools)
  DIR/share/dlp-pipes/examples/                  the synthetic sample data
  systemd user units                             DIR/share/systemd/user when DIR is
                                                 under your home, else DIR/lib/systemd/user
  systemd system units                           DIR/lib/systemd/system (not when DIR
                                                 is under your home)
and records them in DIR/share/dlp-pipes/install-manifest, which
--uninstall reads to remove exactly those files (and the directories it
created, when empty).

Options:
  --prefix DIR   where to install (default ~/.local)
  --bin-dir DIR  take the tools and dlp-docgen already built in DIR
                 (e.g. target/dist) instead of building: no cargo needed
                 (default: $DLP_BIN_DIR when set)
  --destdir DIR  stage the files under DIR/PREFIX (for packages) with paths
                 inside them naming PREFIX; no manifest is written
  --uninstall    remove what the last install under --prefix installed
  -h, --help     this text
EOF
}

die() {
    printf '%s: %s\n' "$PROG" "$*" >&2
    exit 2
}

usage_error() {
    printf '%s: %s\n\n' "$PROG" "$*" >&2
    usage >&2
    exit 2
}

prefix=${HOME:?}/.local
bin_dir=${DLP_BIN_DIR:-}
destdir=
uninstall=
while [ $# -gt 0 ]; do
    case $1 in
    --prefix | --bin-dir | --destdir)
        [ $# -ge 2 ] && [ -n "$2" ] || usage_error "$1 needs a directory"
        case $1 in
        --prefix) prefix=$2 ;;
        --bin-dir) bin_dir=$2 ;;
        --destdir) destdir=$2 ;;
        esac
        shift 2
        ;;
    --prefix=* | --bin-dir=* | --destdir=*)
        set -- "${1%%=*}" "${1#*=}" "${@:2}"
        ;;
    --uninstall) uninstall=1 && shift ;;
    -h | --help) usage && exit 0 ;;
    *) usage_error "unknown argument: $1" ;;
    esac
done

# Absolute and without a trailing slash: the paths written into the units,
# the scripts and the manifest must not depend on the current directory.
case $prefix in
/*) ;;
*) prefix=$PWD/$prefix ;;
esac
prefix=${prefix%/}
[ -n "$prefix" ] || die "refusing to install into /"
# systemd unit files split ExecStart= on blanks and expand %.
case $prefix in
*[[:space:]%\\\"\']*) die "the prefix must not contain blanks, quotes, '%' or '\\': $prefix" ;;
esac

manifest=$prefix/share/dlp-pipes/install-manifest

# --- uninstall ----------------------------------------------------------------

# remove_installed MANIFEST: remove the files it lists, then the directories
# it lists (deepest first) that are empty. Only paths under the prefix.
remove_installed() {
    local m=$1 kind path files=() dirs=() i
    while IFS=' ' read -r kind path; do
        case $kind in '#'* | '') continue ;; esac
        case $kind:$path in
        ?:"$prefix"/* | d:"$prefix") ;;
        *) die "$m: refusing a path outside $prefix: $path" ;;
        esac
        case $path in
        */../* | */..) die "$m: refusing a path with '..': $path" ;;
        esac
        case $kind in
        f) files+=("$path") ;;
        d) dirs+=("$path") ;;
        *) die "$m: bad line: $kind $path" ;;
        esac
    done <"$m"
    for path in "${files[@]}"; do
        if [ "$path" != "$m" ]; then rm -f -- "$path"; fi
    done
    rm -f -- "$m"
    for ((i = ${#dirs[@]} - 1; i >= 0; i--)); do
        rmdir -- "${dirs[$i]}" 2>/dev/null || true
    done
    printf '%s\n' "${#files[@]}"
}

if [ -n "$uninstall" ]; then
    [ -z "$destdir$bin_dir" ] || usage_error "--uninstall takes only --prefix"
    [ -f "$manifest" ] || die "nothing to uninstall: no $manifest (installed with another prefix?)"
    n=$(remove_installed "$manifest")
    printf '%s: removed %s files from %s\n' "$PROG" "$n" "$prefix" >&2
    exit 0
fi

# --- build ----------------------------------------------------------------------

if [ -z "$bin_dir" ]; then
    if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
        PATH=$HOME/.cargo/bin:$PATH
    fi
    command -v cargo >/dev/null 2>&1 ||
        die "cargo not found: install Rust (https://rustup.rs), or pass --bin-dir with prebuilt binaries"
    printf '%s: building (cargo build --profile dist --locked --workspace --bins)\n' "$PROG" >&2
    (cd "$ROOT" && cargo build --profile dist --locked --workspace --bins) || die "cargo build failed (see above)"
    bin_dir=${CARGO_TARGET_DIR:-$ROOT/target}/dist
fi
[ -x "$bin_dir/dlp-docgen" ] || die "$bin_dir/dlp-docgen not found (build it with: cargo build --profile dist --locked --workspace --bins)"
mapfile -t tools < <("$bin_dir/dlp-docgen" --list)
[ ${#tools[@]} -gt 0 ] || die "dlp-docgen --list named no tools"
for t in "${tools[@]}"; do
    [ -x "$bin_dir/$t" ] || die "$bin_dir/$t not found"
done

# --- install --------------------------------------------------------------------

# Files go to $stage$PATH: the destdir (empty: the real prefix).
stage=${destdir%/}
if [ -n "$destdir" ]; then
    mkdir -p -- "$destdir" || die "cannot create $destdir"
fi
if [ -z "$destdir" ] && [ -f "$manifest" ]; then
    printf '%s: replacing the previous install under %s\n' "$PROG" "$prefix" >&2
    remove_installed "$manifest" >/dev/null
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/dlp-install.XXXXXX")
trap 'rm -rf -- "$work"' EXIT
record=$work/manifest
printf '# dlp-pipes install manifest: ./install.sh --uninstall --prefix %s removes these\n' "$prefix" >"$record"

# make_dirs DIR: mkdir -p, recording each directory created (under the stage).
make_dirs() {
    local d=$1 missing=()
    while [ ! -d "$stage$d" ]; do
        [ "$d" != / ] || die "cannot create $stage$1"
        missing=("$d" "${missing[@]}")
        d=$(dirname "$d")
    done
    for d in "${missing[@]}"; do
        mkdir -- "$stage$d" || die "cannot create $stage$d"
        printf 'd %s\n' "$d" >>"$record"
    done
}

# put MODE SRC DEST: install SRC as DEST (a path under the prefix).
put() {
    make_dirs "$(dirname "$3")"
    install -m "$1" -- "$2" "$stage$3" || die "cannot install $stage$3"
    printf 'f %s\n' "$3" >>"$record"
}

# put_text MODE DEST: install stdin as DEST.
put_text() {
    cat >"$work/text"
    put "$1" "$work/text" "$2"
}

for t in "${tools[@]}"; do
    put 755 "$bin_dir/$t" "$prefix/bin/$t"
done

# Man pages and completions, generated from the tools' clap definitions.
"$bin_dir/dlp-docgen" "$work/share" 2>/dev/null || die "dlp-docgen failed"
while IFS= read -r -d '' f; do
    put 644 "$f" "$prefix/share/${f#"$work/share/"}"
done < <(find "$work/share" -type f -print0 | sort -z)

# The pipeline scripts, run from the installed copy; lib.sh is told where
# the installed tools are, so the scripts never build.
data=$prefix/share/dlp-pipes
for f in "$ROOT"/pipelines/*.sh; do
    name=$(basename "$f")
    if [ "$name" = lib.sh ]; then
        L="DLP_INSTALLED_BIN_DIR=$prefix/bin" awk '
            /^DLP_INSTALLED_BIN_DIR=/ { print ENVIRON["L"]; found = 1; next }
            { print }
            END { if (!found) exit 1 }' "$f" >"$work/lib.sh" ||
            die "pipelines/lib.sh has no DLP_INSTALLED_BIN_DIR= line"
        put 644 "$work/lib.sh" "$data/pipelines/lib.sh"
    else
        put 755 "$f" "$data/pipelines/$name"
    fi
done
put 644 "$ROOT/pipelines/README.md" "$data/pipelines/README.md"
for f in "$ROOT"/examples/sample-data/*; do
    put 644 "$f" "$data/examples/sample-data/$(basename "$f")"
done
commands=(local-dlp endpoint-dlp fim-notify fleet-endpoint fleet-central)
for s in "${commands[@]}"; do
    printf '#!/bin/sh\nexec %s/pipelines/%s.sh "$@"\n' "$data" "$s" | put_text 755 "$prefix/bin/$s"
    # Its man page and completions, from the installed copy's --help (which
    # names it as installed).
    rm -rf -- "$work/script-share"
    DLP_HELP_ROOT=$data bash "$stage$data/pipelines/$s.sh" --help 2>/dev/null |
        "$bin_dir/dlp-docgen" --script "$s" "$work/script-share" 2>/dev/null ||
        die "dlp-docgen could not document $s"
    while IFS= read -r -d '' f; do
        put 644 "$f" "$prefix/share/${f#"$work/script-share/"}"
    done < <(find "$work/script-share" -type f -print0 | sort -z)
done

# systemd user units (services, and the targets and timers grouping and
# starting them), running the installed scripts.
case $prefix in
"$HOME" | "$HOME"/*) units=$prefix/share/systemd/user ;;
*) units=$prefix/lib/systemd/user ;;
esac
for f in "$ROOT"/pipelines/systemd/*.service "$ROOT"/pipelines/systemd/*.target "$ROOT"/pipelines/systemd/*.timer; do
    sed "s|%h/dlp-pipes/pipelines/|$data/pipelines/|g" "$f" | put_text 644 "$units/$(basename "$f")"
done
# systemd system units (services of a server, run as root or a dynamic user),
# written for /usr: their paths are rewritten for the prefix.
case $prefix in
"$HOME" | "$HOME"/*) system_units= ;;
*) system_units=$prefix/lib/systemd/system ;;
esac
if [ -n "$system_units" ]; then
    for f in "$ROOT"/pipelines/systemd/system/*.service "$ROOT"/pipelines/systemd/system/*.target "$ROOT"/pipelines/systemd/system/*.timer; do
        sed -e "s|/usr/share/dlp-pipes/|$data/|g" -e "s|/usr/bin/|$prefix/bin/|g" "$f" |
            put_text 644 "$system_units/$(basename "$f")"
    done
fi

if [ -z "$destdir" ]; then
    put 644 "$record" "$manifest"
    # The manifest lists itself (its last line) so a later install replaces it.
    cp -- "$record" "$manifest"
fi
n=$(grep -c '^f ' "$record")
printf '%s: installed %s files under %s%s\n' "$PROG" "$n" "$stage$prefix" "${destdir:+ (staged for $prefix)}" >&2
if [ -z "$destdir" ]; then
    say() { printf '%s: %s\n' "$PROG" "$*" >&2; }
    say "commands: $prefix/bin (${tools[*]} ${commands[*]})"
    case ":$PATH:" in
    *":$prefix/bin:"*) ;;
    *) say "  add to your shell's profile: export PATH=\"$prefix/bin:\$PATH\"" ;;
    esac
    say "man pages: $prefix/share/man/man1"
    case $prefix in
    "$HOME/.local" | /usr | /usr/local) ;;
    *) say "  man looks there once you add: export MANPATH=\"$prefix/share/man:\$(manpath 2>/dev/null)\"" ;;
    esac
    say "completions: $prefix/share/bash-completion/completions, $prefix/share/zsh/site-functions, $prefix/share/fish/vendor_completions.d"
    case $prefix in
    "$HOME/.local" | /usr | /usr/local) ;;
    *) say "  shells find them once you add: export XDG_DATA_DIRS=\"$prefix/share:\${XDG_DATA_DIRS:-/usr/local/share:/usr/share}\" (bash, fish); fpath+=($prefix/share/zsh/site-functions) (zsh)" ;;
    esac
    case $units in
    "$HOME/.local/share/systemd/user" | /usr/lib/systemd/user | /usr/local/lib/systemd/user | /etc/systemd/user)
        say "systemd user units: $units (systemctl --user daemon-reload)" ;;
    *) say "systemd user units: $units; systemd does not look there: link them with systemctl --user link $units/UNIT" ;;
    esac
    if [ -n "$system_units" ]; then
        case $system_units in
        /usr/lib/systemd/system | /usr/local/lib/systemd/system | /etc/systemd/system)
            say "systemd system units: $system_units (systemctl daemon-reload)" ;;
        *) say "systemd system units: $system_units; systemd does not look there: link them with systemctl link $system_units/UNIT" ;;
        esac
    fi
    say "uninstall: ./install.sh --uninstall --prefix $prefix"
fi
