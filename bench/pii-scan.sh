#!/usr/bin/env bash
# Throughput of pii-scan against ripgrep (one alternation of comparable
# patterns: the regex speed limit on this machine) and detect-secrets, on a
# generated mixed-text corpus (Faker prose, addresses, CSV, logs, code, with
# PII, secrets and decoys sprinkled in).
#
# Then a dense corpus (a CSV export with a card, an SSN and an email on
# every row: ~40 findings per KB) against `rg -o` (which, like pii-scan,
# writes every match), and 20,000 small files (per-file cost) against rg.
#
# usage: [PII_SCAN_BIN=path] bench/pii-scan.sh [MB]   (default 220; detect-secrets runs on a 4 MB subset)
set -euo pipefail
cd "$(dirname "$0")/.."
MB=${1:-220}
OUT=target/bench-pii-scan
VENV=target/bench-venv
mkdir -p "$OUT"

command -v rg >/dev/null || apt-get install -y ripgrep >/dev/null
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -c 'import faker, detect_secrets' 2>/dev/null || "$VENV/bin/pip" install -q faker detect-secrets

if [ ! -f "$OUT/corpus.$MB" ]; then
  rm -rf "$OUT/corpus" "$OUT"/corpus.*
  mkdir -p "$OUT/corpus"
  "$VENV/bin/python" bench/eval_corpus.py "$OUT/corpus" --bytes $((MB * 1024 * 1024))
  touch "$OUT/corpus.$MB"
fi
rm -rf "$OUT/subset" && mkdir -p "$OUT/subset"
head -c $((4 * 1024 * 1024)) "$(ls "$OUT"/corpus/* | head -1)" > "$OUT/subset/part.txt"

# PII_SCAN_BIN=path runs another build (e.g. the previous commit's) on
# the same corpus, for a back-to-back comparison.
if [ -n "${PII_SCAN_BIN:-}" ]; then
  BIN=$PII_SCAN_BIN
else
  cargo build --profile dist -q -p pii-scan
  BIN=target/dist/pii-scan
fi
BYTES=$(du -cb "$OUT"/corpus/* | tail -1 | cut -f1)
SUB_BYTES=$(stat -c %s "$OUT/subset/part.txt")

PAT='(?-u)[0-9](?:[ -]?[0-9]){12,18}|[0-9]{3}[- ][0-9]{2}[- ][0-9]{4}|[0-9]{9}|[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){1,8}|\+[1-9][0-9 .-]{6,18}[0-9]|\(?[0-9]{3}\)?[ .-]?[0-9]{3}[ .-]?[0-9]{4}|[A-Z]{2}[0-9]{2} ?[A-Z0-9]{4}|[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}|[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}:[0-9A-Fa-f:.]{1,41}|(?:AKIA|ASIA)[A-Z2-7]{16}|gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{82}|xox[abposr]-[A-Za-z0-9-]{10,}|[rs]k_(?:live|test)_[A-Za-z0-9]{20,}|AIza[A-Za-z0-9_-]{35}|glpat-[A-Za-z0-9_-]{20,}|sk-[A-Za-z0-9_-]{20,}|eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]*|-----BEGIN[ A-Z0-9]{0,40}PRIVATE KEY|(?i:api[_.-]?key|secret|token|access[_.-]?key)[A-Za-z0-9_.-]{0,24}["'"'"']?[ \t]*[:=][ \t]*["'"'"']?[A-Za-z0-9+/_.=~-]{12,}'

# best of 3 wall-clock seconds
best() {
  local b=999999
  for _ in 1 2 3; do
    local s e
    s=$(date +%s.%N); "$@" >/dev/null 2>&1 || true; e=$(date +%s.%N)
    b=$(echo "$e - $s" | bc -l | awk -v b="$b" '{print ($1 < b) ? $1 : b}')
  done
  echo "$b"
}

cat "$OUT"/corpus/* > /dev/null  # warm the page cache
NCPU=$(nproc)
T_PII1=$(best "$BIN" --detector ALL -j 1 "$OUT/corpus")
T_PIIN=$(best "$BIN" --detector ALL -j "$NCPU" "$OUT/corpus")
T_DEF1=$(best "$BIN" -j 1 "$OUT/corpus")
T_RG1=$(best rg -c -j 1 "$PAT" "$OUT/corpus")
T_RGN=$(best rg -c -j "$NCPU" "$PAT" "$OUT/corpus")
S=$(date +%s.%N); "$VENV/bin/detect-secrets" scan --all-files "$OUT/subset" > "$OUT/ds.json"; E=$(date +%s.%N)
T_DS=$(echo "$E - $S" | bc -l)

FOUND=$("$BIN" --detector ALL "$OUT/corpus" | wc -l)
RGLINES=$(rg -c --no-filename "$PAT" "$OUT/corpus" | awk '{s+=$1} END {print s}')

mbs() { echo "$1 $2" | awk '{printf "%.2f", $1 / 1048576 / $2}'; }
echo
echo "corpus: $(echo "$BYTES" | awk '{printf "%.0f", $1/1048576}') MiB in $(ls "$OUT/corpus" | wc -l) files; $NCPU cores; pii-scan findings (ALL detectors, LIKELY): $FOUND; rg matching lines: $RGLINES"
printf '%-52s %9s %9s %12s\n' "tool" "seconds" "MiB/s" "MiB/s/core"
printf '%-52s %9.2f %9s %12s\n' "pii-scan --detector ALL -j1" "$T_PII1" "$(mbs "$BYTES" "$T_PII1")" "$(mbs "$BYTES" "$T_PII1")"
printf '%-52s %9.2f %9s %12s\n' "pii-scan --detector ALL -j$NCPU" "$T_PIIN" "$(mbs "$BYTES" "$T_PIIN")" "$(echo "$BYTES $T_PIIN $NCPU" | awk '{printf "%.1f", $1/1048576/$2/$3}')"
printf '%-52s %9.2f %9s %12s\n' "pii-scan (default rule: card/SSN/API key/crypto) -j1" "$T_DEF1" "$(mbs "$BYTES" "$T_DEF1")" "$(mbs "$BYTES" "$T_DEF1")"
printf '%-52s %9.2f %9s %12s\n' "rg -c -j1 <one alternation>" "$T_RG1" "$(mbs "$BYTES" "$T_RG1")" "$(mbs "$BYTES" "$T_RG1")"
printf '%-52s %9.2f %9s %12s\n' "rg -c -j$NCPU <one alternation>" "$T_RGN" "$(mbs "$BYTES" "$T_RGN")" "$(echo "$BYTES $T_RGN $NCPU" | awk '{printf "%.1f", $1/1048576/$2/$3}')"
printf '%-52s %9.2f %9s %12s\n' "detect-secrets scan (4 MB subset, 1 core)" "$T_DS" "$(mbs "$SUB_BYTES" "$T_DS")" "$(mbs "$SUB_BYTES" "$T_DS")"
echo
echo "$T_PII1 $T_RG1" | awk '{printf "pii-scan/rg per core (ALL detectors):      %.2f\n", $2 / $1}'
echo "$T_DEF1 $T_RG1" | awk '{printf "pii-scan/rg per core (default rule):       %.2f\n", $2 / $1}'
echo "$BYTES $T_PII1 $SUB_BYTES $T_DS" | awk '{printf "pii-scan (ALL)/detect-secrets per core:    %.0fx\n", ($1/$2) / ($3/$4)}'
echo "$BYTES $T_DEF1 $SUB_BYTES $T_DS" | awk '{printf "pii-scan (default)/detect-secrets per core: %.0fx\n", ($1/$2) / ($3/$4)}'

# --- dense PII and many small files -------------------------------------
if [ ! -f "$OUT/dense.csv" ]; then
  python3 bench/dense_csv.py "$OUT/dense.csv" "$((MB / 4))"
fi
if [ ! -d "$OUT/small" ]; then
  mkdir -p "$OUT/small"
  python3 - "$OUT/small" <<'PY'
import os, random, sys
random.seed(3)
words = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor".split()
for d in range(20):
    os.makedirs(os.path.join(sys.argv[1], "d%02d" % d), exist_ok=True)
    for i in range(1000):
        s = " ".join(random.choice(words) for _ in range(random.randint(30, 500)))
        if i % 50 == 0:
            s += " ssn 536-22-8726"
        with open(os.path.join(sys.argv[1], "d%02d" % d, "f%04d.txt" % i), "w") as f:
            f.write(s + "\n")
PY
fi
cat "$OUT/dense.csv" > /dev/null; find "$OUT/small" -type f -exec cat {} + > /dev/null
D_BYTES=$(stat -c %s "$OUT/dense.csv")
S_BYTES=$(du -cb "$OUT"/small | tail -1 | cut -f1)
T_DDEF=$(best "$BIN" -j 1 "$OUT/dense.csv")
T_DALL=$(best "$BIN" --detector ALL -j 1 "$OUT/dense.csv")
T_DRG=$(best rg -o -j 1 "$PAT" "$OUT/dense.csv")
T_SPRG=$(best rg -o -j 1 "$PAT" "$OUT/corpus")
T_SMALL=$(best "$BIN" -j "$NCPU" "$OUT/small")
T_SMALLRG=$(best rg -c -j "$NCPU" "$PAT" "$OUT/small")
D_FOUND=$("$BIN" "$OUT/dense.csv" | wc -l)
D_RSS=$( { /usr/bin/time -f %M "$BIN" -j "$NCPU" "$OUT/dense.csv" > /dev/null; } 2>&1 | tail -1)
echo
echo "dense: $(echo "$D_BYTES" | awk '{printf "%.0f", $1/1048576}') MiB CSV, $D_FOUND findings with the default rule ($(echo "$D_FOUND $D_BYTES" | awk '{printf "%.0f", $1/($2/1024)}') per KiB), peak RSS ${D_RSS:-?} KiB at -j$NCPU"
printf '%-52s %9s %9s\n' "tool (1 core)" "seconds" "MiB/s"
printf '%-52s %9.2f %9s\n' "pii-scan (default rule), sparse corpus" "$T_DEF1" "$(mbs "$BYTES" "$T_DEF1")"
printf '%-52s %9.2f %9s\n' "rg -o <one alternation>, sparse corpus" "$T_SPRG" "$(mbs "$BYTES" "$T_SPRG")"
printf '%-52s %9.2f %9s\n' "pii-scan (default rule), dense CSV" "$T_DDEF" "$(mbs "$D_BYTES" "$T_DDEF")"
printf '%-52s %9.2f %9s\n' "pii-scan --detector ALL, dense CSV" "$T_DALL" "$(mbs "$D_BYTES" "$T_DALL")"
printf '%-52s %9.2f %9s\n' "rg -o <one alternation>, dense CSV" "$T_DRG" "$(mbs "$D_BYTES" "$T_DRG")"
echo "$T_DEF1 $T_SPRG" | awk '{printf "pii-scan (default)/rg -o, sparse:  %.2f\n", $2 / $1}'
echo "$T_DDEF $T_DRG" | awk '{printf "pii-scan (default)/rg -o, dense:   %.2f\n", $2 / $1}'
echo "$T_DALL $T_DRG" | awk '{printf "pii-scan (ALL)/rg -o, dense:       %.2f\n", $2 / $1}'
echo
echo "20,000 small files ($(echo "$S_BYTES" | awk '{printf "%.0f", $1/1048576}') MiB), -j$NCPU:"
printf '%-52s %9.2f\n' "pii-scan (default rule)" "$T_SMALL"
printf '%-52s %9.2f\n' "rg -c <one alternation>" "$T_SMALLRG"
