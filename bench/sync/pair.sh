#!/usr/bin/env bash
# Paired sync runs of several konduit binaries (e.g. before and after a
# change), back to back, counting requests at the fake.
#
# For each binary, in the order given: a fresh SQLite file, then the backfill
# ("konduit sync --from FROM") and the incremental sync right after it (the
# same command again). Each sync gets a freshly started "konduit
# fake-konnektive" with the same --seed and --as-of (so the same merchant),
# and the requests it served (retries included) are read from its
# "fake-konnektive: stopped requests=N" log line. The fake is always
# $FAKE (default: the last binary given), so every binary sees the same one.
#
# Usage: bench/sync/pair.sh CUSTOMERS MONTHS AS_OF FROM RATE OUT_DIR LABEL=BINARY...
#   e.g. bench/sync/pair.sh 2000 95 2026-12-01 2019-01-01 0 /tmp/pair old=/tmp/konduit-old new=/tmp/konduit-new
# Prints one line per sync: label, pass, rate, konduit's wall time, CPU
# (user+sys) and peak RSS (GNU time), requests counted by the fake, rows read
# (konduit's summary), rows stored (konduit status), and konduit's own
# requests line.
set -euo pipefail
customers=$1 months=$2 asof=$3 from=$4 rate=$5 out=$6
shift 6
last=${*: -1}
fake=${FAKE:-${last#*=}}
zone=America/New_York login=bench_api port=18611
export KONNEKTIVE_PASSWORD=bench-synthetic-pw
mkdir -p "$out"

# sync_once BIN LABEL PASS DB: one sync against a fresh fake.
sync_once() {
	local bin=$1 label=$2 pass=$3 db=$4
	rm -f "$out/fake.out" "$out/fake.err" # else the last fake's "listening" line is seen
	"$fake" fake-konnektive --addr 127.0.0.1:$port --login-id $login --customers "$customers" \
		--months "$months" --as-of "$asof" --timezone $zone --seed 1 >"$out/fake.out" 2>"$out/fake.err" &
	local fpid=$!
	until grep -q listening "$out/fake.out" 2>/dev/null; do sleep 0.2; done
	local t0 t1
	t0=$(date +%s.%N)
	/usr/bin/time -f '%U %S %M' -o "$out/time.txt" "$bin" sync --db "sqlite:$db" --api-url http://127.0.0.1:$port \
		--login-id $login --timezone $zone --from "$from" --rate "$rate" >"$out/$label-$pass.txt" 2>&1
	t1=$(date +%s.%N)
	kill -INT $fpid
	wait $fpid || true
	local reqs rows stored own cpu
	cpu=$(awk '{printf "cpu=%.1fs rss=%dMiB", $1 + $2, $3 / 1024}' "$out/time.txt")
	reqs=$(grep -o 'requests=[0-9]*' "$out/fake.err" | cut -d= -f2)
	rows=$(awk '/^  [a-z]+ +[0-9]+ rows( read)?(:|$)/ {s += $2} END {print s}' "$out/$label-$pass.txt")
	stored=$("$fake" status --db "sqlite:$db" | grep -o 'rows: .*' | sed 's/rows: *//')
	own=$(grep -E '^  (requests|pages) ' "$out/$label-$pass.txt" | sed 's/^ *//')
	printf '%s %s rate=%s wall=%.1fs %s requests=%s rows_read=%s stored=[%s] | %s\n' \
		"$label" "$pass" "$rate" "$(echo "$t1 - $t0" | bc)" "$cpu" "$reqs" "$rows" "$stored" "$own"
	grep 'merchant generated' "$out/fake.err" | sed 's/.*msg=/  fake: /' >"$out/merchant.txt"
}

echo "$(date -u '+%F %T UTC'), $(nproc) cores, load: $(uptime | sed 's/.*load average: //')"
for arg in "$@"; do
	label=${arg%%=*} bin=${arg#*=}
	db="$out/$label-$customers-$rate.db"
	rm -f "$db" "$db-wal" "$db-shm"
	sync_once "$bin" "$label" backfill "$db"
	sync_once "$bin" "$label" incremental "$db"
done
cat "$out/merchant.txt"
echo "load after: $(uptime | sed 's/.*load average: //')"
