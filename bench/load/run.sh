#!/usr/bin/env bash
# Load benchmark: `konduit load` of generated legacy files (konduit synth)
# into a new SQLite file and a new database of a throwaway PostgreSQL
# cluster (internal/store/pgtest's settings: initdb, fsync off; as root the
# server runs as the postgres user), each timed by GNU time: wall time and
# konduit's peak RSS (the PostgreSQL server's memory is not konduit's).
#
# Usage: bench/load/run.sh ROWS [BACKENDS] [OUT_DIR]
#   ROWS      transactions to generate (synth --rows), e.g. 1000000
#   BACKENDS  comma-separated, in order: sqlite, postgres (default sqlite,postgres)
#   OUT_DIR   where the files, databases and logs go (default bench/out/load-ROWS)
# Files are generated once per ROWS (seed 1, --as-of 2026-12-01) and reused.
# Set TIMEOUT (seconds, default none) to stop a load that runs longer: it is
# interrupted (SIGINT) and the rows it committed are reported.
# Set BINS to compare builds, paired: "main=/path/to/konduit new=/path/..."
# runs each backend with each binary in turn (default: this checkout's
# build, named konduit). Each load runs with -v: load-NAME-BACKEND.txt holds
# its timed phases (validation, rows, derive, indexes, rollups), and
# phases-NAME-BACKEND.txt the lines that mark them.
set -euo pipefail
cd "$(dirname "$0")/../.."
rows=$1
backends=${2:-sqlite,postgres}
out=${3:-bench/out/load-$rows}
mkdir -p "$out"
out=$(cd "$out" && pwd)
if [ -z "${BINS:-}" ]; then
	go build -o "$out/konduit" ./cmd/konduit
	BINS="konduit=$out/konduit"
fi
read -ra bins <<<"$BINS"
bin=${bins[0]#*=}
if [ ! -s "$out/files/legacy_transactions.csv" ]; then
	"$bin" synth -o "$out/files" --rows "$rows" --as-of 2026-12-01 >"$out/synth.txt"
fi
files=("$out/files/legacy_transactions.csv" "$out/files/legacy_customer_notes.csv" "$out/files/legacy_customer_details.csv")
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)

pgdir=
cleanup() {
	if [ -n "$pgdir" ]; then
		runas "$pgbin/pg_ctl" -D "$pgdir/data" -m immediate stop >/dev/null 2>&1 || true
		rm -rf "$pgdir"
	fi
}
trap cleanup EXIT
# sample prints konduit's RSS (MiB) every 2 s, with the UTC time, while the
# process under GNU time (pid $1) runs: the leaf of its process tree.
sample() {
	local p
	while kill -0 "$1" 2>/dev/null; do
		p=$1
		while c=$(pgrep -P "$p" | head -1) && [ -n "$c" ]; do p=$c; done
		awk -v t="$(date -u +%T)" '/^VmRSS/ {printf "%s %d\n", t, $2 / 1024}' "/proc/$p/status" 2>/dev/null
		sleep 2
	done
}
runas() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

echo "$(date -u '+%F %T UTC'), $(nproc) cores, load: $(uptime | sed 's/.*load average: //'), rows: $rows"
IFS=, read -ra list <<<"$backends"
for b in "${list[@]}"; do
for nb in "${bins[@]}"; do
	name=${nb%%=*}
	bin=${nb#*=}
	case $b in
	sqlite)
		rm -f "$out/load.db" "$out/load.db-wal" "$out/load.db-shm"
		dsn="sqlite:$out/load.db"
		;;
	postgres)
		cleanup
		pgdir=$(mktemp -d /tmp/konduit-bench-pg-XXXXXX)
		chmod 755 "$pgdir"
		[ "$(id -u)" = 0 ] && chown postgres "$pgdir"
		runas "$pgbin/initdb" -D "$pgdir/data" -A trust -U postgres -E UTF8 --no-sync --no-instructions >/dev/null
		port=$((20000 + RANDOM % 20000))
		runas "$pgbin/pg_ctl" -D "$pgdir/data" -o "-p $port -k $pgdir -c listen_addresses=127.0.0.1 -F -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
			-l "$pgdir/log" -w -t 60 start >/dev/null
		runas "$pgbin/createdb" -h 127.0.0.1 -p "$port" -U postgres load
		dsn="postgres://postgres@127.0.0.1:$port/load?sslmode=disable"
		;;
	*)
		echo "unknown backend $b" >&2
		exit 2
		;;
	esac
	tag=$name-$b
	echo "$(date -u '+%T UTC') $tag: start, load: $(uptime | sed 's/.*load average: //')"
	start=$(date +%s.%N)
	set +e
	if [ -n "${TIMEOUT:-}" ]; then
		/usr/bin/time -v -o "$out/time-$tag.txt" timeout -s INT "$TIMEOUT" "$bin" -v load --db "$dsn" --timezone America/New_York --as-of 2026-12-01 "${files[@]}" >"$out/load-$tag.txt" 2>&1 &
	else
		/usr/bin/time -v -o "$out/time-$tag.txt" "$bin" -v load --db "$dsn" --timezone America/New_York --as-of 2026-12-01 "${files[@]}" >"$out/load-$tag.txt" 2>&1 &
	fi
	tpid=$!
	sample "$tpid" >"$out/rss-$tag.txt" &
	wait "$tpid"
	code=$?
	wait
	set -e
	end=$(date +%s.%N)
	rss=$(awk -F': ' '/Maximum resident/ {printf "%d", $2 / 1024}' "$out/time-$tag.txt")
	cpu=$(awk -F': ' '/User time/ {u = $2} /System time/ {s = $2} END {printf "%.1f", u + s}' "$out/time-$tag.txt")
	printf '%s: exit %d, wall %.1f s, konduit CPU %s s, peak RSS %s MiB, load after: %s\n' "$tag" "$code" "$(echo "$end - $start" | bc)" "$cpu" "$rss" "$(uptime | sed 's/.*load average: //')"
	grep -E 'validated|secondary indexes dropped|transactions stored|table=transactions rows=[0-9]*0000 |notes and details|derived cycles|indexes built|msg="statistics refreshed" took|rollups: |rollups refreshed' "$out/load-$tag.txt" >"$out/phases-$tag.txt" || true
	grep -v 'level=' "$out/load-$tag.txt" | grep -v 'row skipped' | sed 's/^/  /' | head -8
done
done
echo "load after: $(uptime | sed 's/.*load average: //')"
