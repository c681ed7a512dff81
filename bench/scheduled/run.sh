#!/bin/bash
# Usage: make build && bash bench/scheduled/run.sh   (KONDUIT=path, OUT=dir for the db)
# 6,000 customers, a year, SQLite, no rate limit: backfill, a sync with
# nothing new, a sync after one more day (the fake restarted at --now +1 day).
set -e
K=${KONDUIT:-bin/konduit}
export KONNEKTIVE_PASSWORD=bench-pw
asof=2026-12-01
start_fake() { $K fake-konnektive --login-id bench --customers 6000 --months 12 --as-of $asof --now "$1" --addr 127.0.0.1:8599 --timezone America/New_York > ${OUT:-/tmp}/scheduled-fake.log 2>&1 & FAKE=$!; sleep 3; }
sync() { /usr/bin/time -f "%e s %M KB" $K sync --db sqlite:${OUT:-/tmp}/scheduled.db --api-url http://127.0.0.1:8599 --login-id bench --timezone America/New_York --from 2025-11-01 --rate 0 2>&1 | grep -E "synced|rows read|requests|s .*KB" ; }
rm -f ${OUT:-/tmp}/scheduled.db*
start_fake "2026-11-30 20:00:00"
echo "== backfill"; sync
echo "== nothing new"; sync
kill $FAKE; wait $FAKE 2>/dev/null || true
start_fake "2026-12-01 20:00:00"
echo "== one more day"; sync
kill $FAKE
