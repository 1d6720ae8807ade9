#!/usr/bin/env bash
# One large file on every core: pii-scan on one dense CSV (a card, an SSN
# and an email on every row) at -j 1 and -j N, against `rg -o` with the
# same alternation bench/pii-scan.sh uses, in alternating runs (A/B), with
# the median of each and the ratios beside their goals; then the peak RSS
# of a 1 GiB dense file at -j 2. Checks that -j N writes what -j 1 writes
# (same findings, same order).
#
# usage: [PII_SCAN_BIN=path] [RUNS=5] bench/pii-scan-split.sh [MB] [GIB_FILE_MB]
#   MB           size of the dense CSV (default 30)
#   GIB_FILE_MB  size of the memory run's file (default 1024; 0 skips it)
set -euo pipefail
cd "$(dirname "$0")/.."
MB=${1:-30}
BIG_MB=${2:-1024}
RUNS=${RUNS:-5}
OUT=target/bench-pii-scan-split
mkdir -p "$OUT"
command -v rg >/dev/null || apt-get install -y ripgrep >/dev/null

if [ -n "${PII_SCAN_BIN:-}" ]; then
  BIN=$PII_SCAN_BIN
else
  cargo build --profile dist -q -p pii-scan
  BIN=target/dist/pii-scan
fi
[ -f "$OUT/dense.$MB.csv" ] || python3 bench/dense_csv.py "$OUT/dense.$MB.csv" "$MB"
CSV=$OUT/dense.$MB.csv
NCPU=$(nproc)
PAT=$(sed -n "s/^PAT='\(.*\)'$/\1/p" bench/pii-scan.sh)
[ -n "$PAT" ] || { echo "no PAT in bench/pii-scan.sh" >&2; exit 2; }
PAT=${PAT//\'\"\'\"\'/\'}

# Same output at -j 1 and -j N (one timestamp per run aside).
strip() { sed -e 's/"timestamp":"[^"]*"//'; }
cmp <("$BIN" -j 1 "$CSV" | strip) <("$BIN" -j "$NCPU" "$CSV" | strip) ||
  { echo "-j $NCPU output differs from -j 1" >&2; exit 1; }
FOUND=$("$BIN" -j "$NCPU" "$CSV" | wc -l)

cat "$CSV" >/dev/null
secs() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1 || true; e=$(date +%s.%N); echo "$e - $s" | bc -l; }
: >"$OUT/times"
for _ in $(seq "$RUNS"); do
  echo "j1 $(secs "$BIN" -j 1 "$CSV")" >>"$OUT/times"
  echo "jn $(secs "$BIN" -j "$NCPU" "$CSV")" >>"$OUT/times"
  echo "rg $(secs rg -o -j 1 "$PAT" "$CSV")" >>"$OUT/times"
done
median() { awk -v k="$1" '$1 == k {print $2}' "$OUT/times" | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
J1=$(median j1); JN=$(median jn); RG=$(median rg)

echo "dense CSV: $MB MiB, $FOUND findings (default rule); $NCPU cores; median of $RUNS alternating runs"
printf '%-40s %8.2f s\n' "pii-scan -j 1" "$J1" "pii-scan -j $NCPU" "$JN" "rg -o -j 1 <alternation>" "$RG"
echo "$JN $RG" | awk -v n="$NCPU" '{printf "pii-scan -j %d / rg -o:        %5.1fx rg'"'"'s time   (goal: at most 4x)\n", n, $1 / $2}'
echo "$J1 $JN" | awk -v n="$NCPU" '{printf "pii-scan -j 1 / -j %d:          %5.2fx faster  (goal: at least 1.7x)\n", n, $1 / $2}'

if [ "$BIG_MB" -gt 0 ]; then
  BIG=$OUT/dense.big.csv
  if [ ! -f "$BIG" ] || [ "$(stat -c %s "$BIG")" -lt $((BIG_MB << 20)) ]; then
    : >"$BIG"
    while [ "$(stat -c %s "$BIG")" -lt $((BIG_MB << 20)) ]; do tail -n +2 "$CSV" >>"$BIG"; done
  fi
  R=$( { /usr/bin/time -f '%e %M' "$BIN" -j 2 "$BIG" | wc -l >"$OUT/big.count"; } 2>&1 | tail -1)
  echo "$(stat -c %s "$BIG") $R $(cat "$OUT/big.count")" |
    awk '{printf "%.0f MiB dense file at -j 2: %s findings in %.1f s, peak RSS %.0f MiB\n", $1 / 1048576, $4, $2, $3 / 1024}'
fi
