#!/bin/bash
# Usage: make build && bash bench/scheduled/run.sh
#   KONDUIT=path (default bin/konduit), OUT=dir for the db and logs (default /tmp),
#   PORT=fake's port (default 8599), DB=a postgres://... DSN of an empty database
#   instead of SQLite, VERBOSE=1 for the sync's debug log in OUT/scheduled-*.log.
# 6,000 customers, a year, --rate 0: backfill, a sync with nothing new, a sync
# after one more day (the fake restarted at --now +1 day). For paired runs of
# several builds on both engines, see pair.sh.
set -e
K=${KONDUIT:-bin/konduit}
O=${OUT:-/tmp}
P=${PORT:-8599}
D=${DB:-sqlite:$O/scheduled.db}
export KONNEKTIVE_PASSWORD=bench-pw
asof=2026-12-01
# The fake generates its merchant before it listens: wait for that, so no
# sync is timed against a fake still starting.
start_fake() {
  $K fake-konnektive --login-id bench --customers 6000 --months 12 --as-of $asof --now "$1" --addr 127.0.0.1:$P --timezone America/New_York > $O/scheduled-fake.log 2>&1 & FAKE=$!
  for i in $(seq 120); do grep -q listening $O/scheduled-fake.log && break; sleep 0.5; done
  sleep 1
}
sync() { /usr/bin/time -f "%e s wall, %U+%S s cpu, %M KB" $K ${VERBOSE:+-v} sync --db "$D" --api-url http://127.0.0.1:$P --login-id bench --timezone America/New_York --from 2025-11-01 --rate 0 2>$O/scheduled-$1.log | grep -E "synced|rows read|requests"; tail -1 $O/scheduled-$1.log; grep -h "rollups refreshed" $O/scheduled-$1.log | sed "s/.*took=/  rollup refresh /" || true; }
rm -f $O/scheduled.db*
start_fake "2026-11-30 20:00:00"
echo "== backfill"; sync backfill
echo "== nothing new"; sync nothing-new
kill $FAKE; wait $FAKE 2>/dev/null || true
start_fake "2026-12-01 20:00:00"
echo "== one more day"; sync one-more-day
kill $FAKE
