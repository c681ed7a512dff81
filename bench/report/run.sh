#!/bin/sh
# Benchmark every `konduit report` on a generated merchant in SQLite.
#
#   bench/report/run.sh CUSTOMERS [WORKDIR]
#
# Generates CUSTOMERS customers (about 4.6 transactions each) with
# `konduit synth` (24 months of history up to 2025-11-10), loads them with
# `konduit load` (which also builds the report indexes and runs ANALYZE),
# then times each report (wall seconds and peak RSS) with /usr/bin/time.
# Results go to stdout as markdown table rows.
set -eu
n=${1:?usage: run.sh CUSTOMERS [WORKDIR]}
work=${2:-/tmp/konduit-report-bench}
repo=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$work"
bin="$work/konduit"
(cd "$repo" && go build -o "$bin" ./cmd/konduit)
files="$work/files-$n"
db="$work/bench-$n.db"
if [ ! -f "$db" ]; then
	rm -rf "$files"
	"$bin" synth -o "$files" --customers "$n" --as-of 2025-11-10 --months 24 --seed 1 >/dev/null
	start=$(date +%s)
	"$bin" load -q --db "sqlite:$db" --timezone America/New_York "$files"/legacy_transactions.csv >"$work/load-$n.txt"
	echo "| load $n customers ($(grep -o '[0-9]* transactions' "$work/load-$n.txt")), validation, derived cycles and report indexes included | $(( $(date +%s) - start )) s | |"
	rm -rf "$files"
fi
K="$bin report --db sqlite:$db --format json"
# Each report runs three times; the fastest wall time and its peak RSS are
# shown (other processes on a shared machine only ever add time).
for c in \
	"summary --from 2025-01-01 --to 2025-12-31" \
	"summary --from 2025-10-01 --to 2025-10-31" \
	"summary --from 2025-10-01 --to 2025-10-31 --by campaign" \
	"reconcile --from 2025-06-01 --to 2025-06-30" \
	"ltv --as-of 2025-11-10" \
	"ltv --as-of 2025-11-10 --cohort week --months 0,1,2,3,6,12" \
	"retention" \
	"chargebacks"; do
	for i in 1 2 3; do
		/usr/bin/time -f "%e %M" -o "$work/time.txt" $K $c >/dev/null
		cat "$work/time.txt"
	done | sort -n | head -1 | { read -r s kb; echo "| report $c | $s s | $((kb / 1024)) MiB |"; }
done
