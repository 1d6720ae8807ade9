#!/usr/bin/env bash
# What reading documents costs (crates/extract, through pii-scan):
#
# 1. PDF text, pages per second: poppler's pdftotext (the adapter pii-scan
#    runs) against the pdf-extract crate (over lopdf, the best-kept Rust PDF
#    text extractor), on the same reportlab and fpdf2 PDFs (the fpdf2 one with
#    an embedded TrueType font and compressed object streams), with each
#    one's peak memory and whether it found the planted values; then pii-scan
#    itself on those PDFs (extraction and detection).
# 2. OCR: seconds per scanned page (pdftoppm + Tesseract), through pii-scan.
# 3. A mixed home directory (text, CSV, PDFs, ODS, RTF, HTML, zip, mail,
#    mbox, screenshots, photos) with --ocr never and with --ocr auto: time,
#    CPU and pii-scan's peak RSS.
#
# usage: bench/extract.sh [PAGES]   (default 500 pages per PDF)
set -euo pipefail
cd "$(dirname "$0")/.."
PAGES=${1:-500}
OUT=target/bench-extract
VENV=target/bench-extract-venv
mkdir -p "$OUT"

for p in pdftotext tesseract; do
  command -v $p >/dev/null || apt-get install -y poppler-utils tesseract-ocr tesseract-ocr-eng >/dev/null
done
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -c 'import reportlab, fpdf, pikepdf, PIL, odf' 2>/dev/null ||
  "$VENV/bin/pip" install -q reportlab fpdf2 pikepdf pillow odfpy
if [ ! -f "$OUT/corpus.$PAGES" ]; then
  rm -rf "$OUT/corpus" "$OUT"/corpus.*
  "$VENV/bin/python" bench/extract_corpus.py "$OUT/corpus" "$PAGES"
  touch "$OUT/corpus.$PAGES"
fi
cargo build --profile dist -q -p pii-scan
BIN=$PWD/target/dist/pii-scan
cargo build --release -q --manifest-path bench/pdf-crate/Cargo.toml --target-dir "$OUT/pdf-crate"
CRATE=$PWD/$OUT/pdf-crate/release/pdf-crate-bench

# wall seconds and peak RSS (KiB) of a command: "secs kib" (the largest
# of the process and the children it waited for)
measure() {
  /usr/bin/time -f '%e %M' -o "$OUT/time" "$@" >"$OUT/stdout" 2>"$OUT/stderr" || true
  tail -1 "$OUT/time"
}

# pii-scan's own peak RSS in KiB (VmHWM, read while it runs: the
# adapters' memory is their own), its output in $OUT/stdout
own_rss() {
  "$@" >"$OUT/stdout" 2>"$OUT/stderr" &
  local pid=$! peak=0 k
  while kill -0 $pid 2>/dev/null; do
    k=$(awk '/VmHWM/ {print $2}' /proc/$pid/status 2>/dev/null || echo 0)
    [ "${k:-0}" -gt "$peak" ] && peak=$k
    sleep 0.02
  done
  wait $pid || true
  echo "$peak"
}

ssns() { grep -oE '(^|[^0-9])[0-9]{3}-[0-9]{2}-[0-9]{4}([^0-9]|$)' | wc -l; }

echo "== PDF text: pages/s, peak RSS and SSNs found"
printf '%-18s %-12s %8s %8s %10s %8s %s\n' file extractor pages seconds pages/s "RSS MiB" "SSNs found"
for f in "$OUT"/corpus/pdf/*.pdf; do
  name=$(basename "$f")
  read -r s k < <(measure pdftotext -enc UTF-8 "$f" -)
  pages=$(tr -cd '\f' < "$OUT/stdout" | wc -c)
  got=$(ssns < "$OUT/stdout")
  printf '%-18s %-12s %8s %8s %10.0f %8.1f %s\n' "$name" pdftotext "$pages" "$s" "$(echo "$pages / $s" | bc -l)" "$(echo "$k / 1024" | bc -l)" "$got"
  # In-process, it cannot be killed at a time limit: give it 5 minutes.
  read -r s k < <(measure timeout 300 "$CRATE" "$f")
  got=$(grep -o 'ssns=[0-9]*' "$OUT/stdout" | cut -d= -f2 || true)
  printf '%-18s %-12s %8s %8s %10.0f %8.1f %s\n' "$name" pdf-extract "$pages" "$s" "$(echo "$pages / $s" | bc -l)" "$(echo "$k / 1024" | bc -l)" "${got:-none: $(head -c 60 "$OUT/stdout") (killed after 300 s when seconds = 300)}"
  start=$(date +%s.%N)
  k=$(own_rss "$BIN" -j 1 "$f")
  s=$(echo "$(date +%s.%N) - $start" | bc -l)
  got=$(grep -c 'Social Security' "$OUT/stdout" || true)
  printf '%-18s %-12s %8s %8.2f %10.0f %8.1f %s\n' "$name" "pii-scan" "$pages" "$s" "$(echo "$pages / $s" | bc -l)" "$(echo "$k / 1024" | bc -l)" "$got findings"
done

echo
echo "== OCR: seconds per scanned page (pdftoppm at 300 dpi + Tesseract, one thread)"
start=$(date +%s.%N)
k=$(own_rss "$BIN" -j 1 "$OUT/corpus/ocr/scan-10.pdf")
s=$(echo "$(date +%s.%N) - $start" | bc -l)
n=$(grep -c 'Social Security' "$OUT/stdout" || true)
read -r _ kc < <(measure "$BIN" -j 1 "$OUT/corpus/ocr/scan-10.pdf")
printf 'scan-10.pdf: %.1f s for 10 pages = %.2f s/page; %s of 10 SSNs found; pii-scan peak RSS %.1f MiB (largest adapter %.0f MiB)\n' "$s" "$(echo "$s / 10" | bc -l)" "$n" "$(echo "$k / 1024" | bc -l)" "$(echo "$kc / 1024" | bc -l)"

echo
echo "== A mixed home directory ($(find "$OUT/corpus/home" -type f | wc -l) files, $(du -sh "$OUT/corpus/home" | cut -f1))"
for mode in never auto; do
  /usr/bin/time -f '%e %U %S' -o "$OUT/time" "$BIN" --ocr $mode "$OUT/corpus/home" > "$OUT/home-$mode.ndjson" 2>"$OUT/home-$mode.err" || true
  read -r e u sy < "$OUT/time"
  k=$(own_rss "$BIN" --ocr $mode "$OUT/corpus/home")
  printf -- '--ocr %-6s %6s s wall, %6.2f s CPU (with the adapters), %5d findings, pii-scan peak RSS %.1f MiB, %d notes\n' "$mode" "$e" "$(echo "$u + $sy" | bc -l)" "$(wc -l < "$OUT/home-$mode.ndjson")" "$(echo "$k / 1024" | bc -l)" "$(wc -l < "$OUT/home-$mode.err")"
done
