#!/usr/bin/env bash
# Paired runs of bench/scheduled's three syncs for several konduit builds,
# alternated in one session so they share the machine's load: for each
# round, for each engine, for each build in the order given, a new database,
# then the backfill, the sync with nothing new, and the sync after one more
# day. The fake (the same 6,000-customer merchant with a year of history,
# --as-of 2026-12-01) serves the backfill and the sync with nothing new at
# --now 2026-11-30 20:00, and is restarted at --now 2026-12-01 20:00 (one
# more day of activity) for the third sync, on the same port (another API
# URL would make konduit backfill again). PostgreSQL runs in a
# throwaway cluster (initdb, fsync off; as root the server runs as the
# postgres user), a new database per run.
#
# Usage: bench/scheduled/pair.sh ROUNDS ENGINES OUT_DIR LABEL=BINARY...
#   e.g. bench/scheduled/pair.sh 3 sqlite,postgres /tmp/sched base=/tmp/konduit-main new=bin/konduit
# Prints, per run: the load average, each sync's wall time and konduit's CPU
# time (user+sys, GNU time), and the two syncs' ratios to the backfill, in
# wall time and in CPU time. The fakes are the first binary's.
set -euo pipefail
rounds=$1 engines=$2 out=$3
shift 3
mkdir -p "$out"
out=$(cd "$out" && pwd)
first=${1#*=}
zone=America/New_York login=bench asof=2026-12-01
port=$((20000 + RANDOM % 10000))
export KONNEKTIVE_PASSWORD=bench-pw
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
runas() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

pgdir= fake=
cleanup() {
	stop_fake
	if [ -n "$pgdir" ]; then
		runas "$pgbin/pg_ctl" -D "$pgdir/data" -m immediate stop >/dev/null 2>&1 || true
		rm -rf "$pgdir"
	fi
}
trap cleanup EXIT

# start_fake NOW: the fake at --now NOW; it generates its merchant before
# it listens.
start_fake() {
	stop_fake
	rm -f "$out/fake.log" # else the last fake's "listening" line is seen
	"$first" fake-konnektive --login-id $login --customers 6000 --months 12 --as-of $asof --now "$1" \
		--addr 127.0.0.1:$port --timezone $zone >"$out/fake.log" 2>&1 &
	fake=$!
	until grep -q listening "$out/fake.log" 2>/dev/null; do sleep 0.5; done
}
stop_fake() {
	if [ -n "$fake" ]; then
		kill "$fake" 2>/dev/null || true
		wait "$fake" 2>/dev/null || true
		fake=
	fi
}

if [[ $engines == *postgres* ]]; then
	pgdir=$(mktemp -d /tmp/konduit-sched-pg-XXXXXX)
	chmod 755 "$pgdir"
	[ "$(id -u)" = 0 ] && chown postgres "$pgdir"
	runas "$pgbin/initdb" -D "$pgdir/data" -A trust -U postgres -E UTF8 --no-sync --no-instructions >/dev/null
	pgport=$((port + 1))
	runas "$pgbin/pg_ctl" -D "$pgdir/data" -o "-p $pgport -k $pgdir -c listen_addresses=127.0.0.1 -F -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
		-l "$pgdir/log" -w -t 60 start >/dev/null
fi

# one BIN DB NAME: one sync; sets wall and cpu.
one() {
	local t0 t1
	t0=$(date +%s.%N)
	/usr/bin/time -f '%U %S' -o "$out/time.txt" "$1" sync --db "$2" --api-url http://127.0.0.1:$port --login-id $login \
		--timezone $zone --from 2025-11-01 --rate 0 >"$out/$3.txt" 2>&1
	t1=$(date +%s.%N)
	wall=$(echo "$t1 - $t0" | bc)
	cpu=$(awk '{printf "%.2f", $1 + $2}' "$out/time.txt")
}

echo "$(date -u '+%F %T UTC'), $(nproc) cores; konduit wall (CPU) in seconds; ratios to the backfill: wall / CPU"
printf '%-5s %-10s %-8s %-16s %-16s %-14s %-16s %-14s %s\n' round engine build backfill "nothing new" ratio "one more day" ratio "load avg"
n=0
for round in $(seq "$rounds"); do
	IFS=, read -ra list <<<"$engines"
	for engine in "${list[@]}"; do
		for arg in "$@"; do
			label=${arg%%=*} bin=${arg#*=}
			n=$((n + 1))
			case $engine in
			sqlite)
				db="$out/$label.db"
				rm -f "$db" "$db-wal" "$db-shm"
				dsn="sqlite:$db"
				;;
			postgres)
				runas "$pgbin/createdb" -h 127.0.0.1 -p "$pgport" -U postgres "s$n"
				dsn="postgres://postgres@127.0.0.1:$pgport/s$n?sslmode=disable"
				;;
			esac
			load=$(uptime | sed 's/.*load average: //')
			start_fake "2026-11-30 20:00:00"
			one "$bin" "$dsn" "$label-$engine-$round-backfill"
			bw=$wall bc_=$cpu
			one "$bin" "$dsn" "$label-$engine-$round-nothing-new"
			nw=$wall nc=$cpu
			start_fake "2026-12-01 20:00:00"
			one "$bin" "$dsn" "$label-$engine-$round-one-more-day"
			dw=$wall dc=$cpu
			printf '%-5s %-10s %-8s %-16s %-16s %-14s %-16s %-14s %s\n' "$round" "$engine" "$label" \
				"$(printf '%.2f (%s)' "$bw" "$bc_")" "$(printf '%.2f (%s)' "$nw" "$nc")" \
				"$(printf '%.3f / %.3f' "$(echo "$nw / $bw" | bc -l)" "$(echo "$nc / $bc_" | bc -l)")" \
				"$(printf '%.2f (%s)' "$dw" "$dc")" \
				"$(printf '%.3f / %.3f' "$(echo "$dw / $bw" | bc -l)" "$(echo "$dc / $bc_" | bc -l)")" "$load"
		done
	done
done
echo "load after: $(uptime | sed 's/.*load average: //')"
