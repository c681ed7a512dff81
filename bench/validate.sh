#!/usr/bin/env bash
# Validate's speed against encoding/csv merely parsing the same file.
# Usage: bench/validate.sh [ROWS] [RUNS]   (defaults: 300000 rows, 7 runs)
# Prints each run and the medians: seconds, MB/s, rows, peak RSS (MiB), and
# the ratio validate/csv of median wall times (the goal is <= 0.5).
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-300000}
runs=${2:-7}
out=bench/out
mkdir -p "$out"
go build -o "$out/validate-bench" ./bench/validate
file="$out/legacy_transactions.csv"
if [ ! -f "$file" ] || [ "$(cat "$out/rows" 2>/dev/null)" != "$rows" ]; then
  rm -f "$out"/legacy_*.csv
  "$out/validate-bench" gen -rows "$rows" -o "$out" >/dev/null
  echo "$rows" > "$out/rows"
fi
echo "file: $file ($(du -m "$file" | cut -f1) MB), $(nproc) cores, $(date -u +%F)"
: > "$out/csv.txt"; : > "$out/check.txt"
for i in $(seq "$runs"); do   # interleaved, so both see the same machine
  "$out/validate-bench" csv "$file" | tee -a "$out/csv.txt" | sed 's/^/csv   /'
  "$out/validate-bench" check "$file" | tee -a "$out/check.txt" | sed 's/^/check /'
done
median() { sort -n -k"$2" "$1" | awk -v k="$2" '{a[NR]=$k} END {print a[int((NR+1)/2)]}'; }
c=$(median "$out/csv.txt" 1); v=$(median "$out/check.txt" 1)
echo "median seconds: csv $c, validate $v"
echo "median MB/s: csv $(median "$out/csv.txt" 2), validate $(median "$out/check.txt" 2)"
echo "peak RSS MiB: csv $(median "$out/csv.txt" 4), validate $(median "$out/check.txt" 4)"
awk -v v="$v" -v c="$c" 'BEGIN {printf "ratio validate/csv: %.2f (goal <= 0.5)\n", v/c}'
