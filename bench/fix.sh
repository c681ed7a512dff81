#!/usr/bin/env bash
# Fix's throughput against validate's on the same generated transactions
# file, clean and with fixable defects on 30% of the cells.
# Usage: bench/fix.sh [ROWS] [RUNS]   (defaults: 100000 rows, 5 runs)
# Runs the Go benchmarks of internal/fix interleaved (so fix and validate
# see the same machine), prints every run (benchmark, MB/s, MB per CPU
# second), the medians and the ratios fix/validate; then the peak RSS of `konduit fix` at ROWS and at
# 3*ROWS rows (memory must not grow with the file).
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-100000}
runs=${2:-5}
out=bench/out
mkdir -p "$out"
go test -c -o "$out/fix.test" ./internal/fix
go build -o "$out/konduit" ./cmd/konduit
echo "rows $rows, runs $runs, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%F)"
: > "$out/fix-bench.txt"
for i in $(seq "$runs"); do
  for b in FixClean FixMessy ValidateClean ValidateMessy; do
    KONDUIT_BENCH_ROWS=$rows "$out/fix.test" -test.run XXX -test.bench "^Benchmark$b\$" -test.benchtime 1x |
      awk '/^Benchmark/ {print $1, $5, $7}' | sed 's/-[0-9]* / /' | tee -a "$out/fix-bench.txt"
  done
done
# column 2: MB/s (wall clock), column 3: MB per CPU second
median() { awk -v b="$1" -v c="$2" '$1 == b {print $c}' "$out/fix-bench.txt" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for kind in Clean Messy; do
  f=$(median "BenchmarkFix$kind" 2); v=$(median "BenchmarkValidate$kind" 2)
  fc=$(median "BenchmarkFix$kind" 3); vc=$(median "BenchmarkValidate$kind" 3)
  awk -v f="$f" -v v="$v" -v fc="$fc" -v vc="$vc" -v k="$kind" 'BEGIN {printf "%s: median MB/s fix %.1f, validate %.1f (fix/validate %.2f); MB/cpu-s fix %.1f, validate %.1f (fix/validate %.2f)\n", k, f, v, f/v, fc, vc, fc/vc}'
done
for n in "$rows" $((3 * rows)); do
  d="$out/rss-$n"
  rm -rf "$d" && mkdir -p "$d"
  "$out/konduit" synth -o "$d/in" --rows "$n" --as-of 2026-11-21 >/dev/null
  /usr/bin/time -f "%M" -o "$d/rss" "$out/konduit" fix --as-of 2026-11-21 "$d/in/legacy_transactions.csv" -o "$d/out" >/dev/null 2>&1 || true
  echo "konduit fix (fix + validate of the output), $n rows, $(du -m "$d/in/legacy_transactions.csv" | cut -f1) MB: peak RSS $(( $(cat "$d/rss") / 1024 )) MiB"
done
