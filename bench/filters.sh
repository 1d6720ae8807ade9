#!/usr/bin/env bash
# Benchmark: path-filter and findings-csv against what users would use
# instead (jq, ripgrep) on the same generated input.
#   bench/filters.sh [EVENTS=1000000] [FINDINGS=200000]
#   RUNS=5 (runs of each command, alternating A/B between the commands
#   compared, so a busy machine slows them alike); CARGO_LOCK=/path/to/lock
#   (build under flock, on a shared machine).
# Prints the median wall and CPU (user+sys) seconds of each, peak RSS, and
# the ratios beside issue 26's goals: path-filter within 2x of rg's wall
# time, findings-csv at least 25x faster than jq.
set -euo pipefail
cd "$(dirname "$0")/.."
EVENTS=${1:-1000000}
FINDINGS=${2:-200000}
RUNS=${RUNS:-5}
OUT=bench/out
mkdir -p "$OUT"

need() { command -v "$1" >/dev/null 2>&1 || { echo "installing $2"; (apt-get update -qq && apt-get install -y -qq "$2") >/dev/null; }; }
need jq jq
need rg ripgrep
[ -x /usr/bin/time ] || need /usr/bin/time time

${CARGO_LOCK:+flock "$CARGO_LOCK"} cargo build --profile dist -q -p path-filter -p findings-csv
PF=target/dist/path-filter
FC=target/dist/findings-csv

[ -s "$OUT/events-$EVENTS.ndjson" ] || python3 bench/gen_records.py events "$EVENTS" > "$OUT/events-$EVENTS.ndjson"
[ -s "$OUT/findings-$FINDINGS.ndjson" ] || python3 bench/gen_records.py findings "$FINDINGS" > "$OUT/findings-$FINDINGS.ndjson"
EV="$OUT/events-$EVENTS.ndjson"
FI="$OUT/findings-$FINDINGS.ndjson"

# once NAME INPUT CMD...: one run; appends "wall cpu rss" to $OUT/NAME.times,
# stdout to $OUT/NAME.out (a file: rg stops at the first match on /dev/null)
once() {
    local name=$1 input=$2; shift 2
    /usr/bin/time -f "%e %U %S %M" -o "$OUT/time.txt" "$@" < "$input" > "$OUT/$name.out"
    read -r e u s m < "$OUT/time.txt"
    echo "$e $(python3 -c "print($u+$s)") $m" >> "$OUT/$name.times"
}

# median NAME: prints the line and sets W_NAME / C_NAME (median wall / CPU)
median() {
    local name=$1
    read -r w c m < <(python3 - "$OUT/$name.times" <<'PY'
import statistics, sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1]) if l.strip()]
print(*(statistics.median(col) for col in zip(*rows)))
PY
)
    printf '%-14s median of %d: wall %7.3f s  cpu %7.3f s  %8.0f KB  %8d lines\n' \
        "$name" "$RUNS" "$w" "$c" "$m" "$(wc -l < "$OUT/$name.out")"
    eval "W_${name//-/_}=$w"
    eval "C_${name//-/_}=$c"
}

rm -f "$OUT"/*.times
RE='/Documents/.*\.csv$'
echo "== path-filter: $EVENTS events ($(du -h "$EV" | cut -f1)), keep $RE on the event's file"
# rg sees the whole line, so the pattern is anchored on the closing quote of a path field;
# an approximation of the same selection (it cannot pick dest_path over src_path).
for _ in $(seq "$RUNS"); do
    once path-filter "$EV" "$PF" --include "$RE"
    once rg-line "$EV" rg '/Documents/[^"]*\.csv"'
    once jq-select "$EV" jq -c 'select((if .dest_path != "" then .dest_path else .src_path end) | test("/Documents/.*\\.csv$"))'
done
median path-filter; median rg-line; median jq-select
cmp -s "$OUT/path-filter.out" "$OUT/jq-select.out" && echo "   path-filter output == jq output" || echo "   NOTE: path-filter and jq outputs differ"

echo "== findings-csv: $FINDINGS findings ($(du -h "$FI" | cut -f1))"
for _ in $(seq "$RUNS"); do
    once findings-csv "$FI" "$FC" --header never --raw
    once jq-csv "$FI" jq -r '[.upload_id, .index, .timestamp, .path, .before_context, .finding, .after_context, .detector, .confidence, "\(.byte_range.start)-\(.byte_range.end)", (.detection_rules | join(";"))] | @csv'
done
median findings-csv; median jq-csv
# (not compared: jq's @csv quotes every string, findings-csv only where CSV needs it)

python3 - "$W_path_filter" "$W_rg_line" "$W_jq_select" "$W_findings_csv" "$W_jq_csv" \
    "$C_path_filter" "$C_rg_line" "$C_jq_select" "$C_findings_csv" "$C_jq_csv" <<'PY'
import sys
pf, rg, jqs, fc, jqc, cpf, crg, cjqs, cfc, cjqc = map(float, sys.argv[1:])
ok = lambda good: "met" if good else "NOT met"
print()
print("                       wall (median)        CPU (median)")
print("path-filter vs rg    %6.2fx rg's time     %6.2fx rg's time    goal <= 2x wall: %s"
      % (pf / rg, cpf / crg, ok(pf / rg <= 2)))
print("findings-csv vs jq   %6.1fx faster        %6.1fx faster       goal >= 25x wall: %s"
      % (jqc / fc, cjqc / cfc, ok(jqc / fc >= 25)))
print("path-filter vs jq    %6.1fx faster        %6.1fx faster" % (jqs / pf, cjqs / cpf))
PY
