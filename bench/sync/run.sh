#!/usr/bin/env bash
# Full-sync benchmark: konduit fake-konnektive (rate limit off) -> konduit sync
# into SQLite and into a throwaway PostgreSQL cluster (initdb/pg_ctl needed;
# as root they run as the postgres user).
# Usage: bench/sync/run.sh [CUSTOMERS] [BACKENDS]   (defaults: 100000 sqlite,postgres)
set -euo pipefail
cd "$(dirname "$0")/../.."
customers=${1:-100000}
backends=${2:-sqlite,postgres}
mkdir -p bench/out
go build -o bench/out/konduit ./cmd/konduit
go build -o bench/out/sync-bench ./bench/sync
bench/out/sync-bench -konduit bench/out/konduit -customers "$customers" -backends "$backends" -out bench/out | tee "bench/out/sync-$customers.txt"
