#!/usr/bin/env bash
# Encrypt -> decrypt round trip of a 1 GiB CSV with konduit pgp, measuring
# wall time and peak RSS (GNU time). Usage: bench/card/roundtrip.sh [SIZE_MIB]
# The data is synthetic CSV (no card numbers); the key is RSA-4096.
set -euo pipefail
size_mib=${1:-1024}
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
go build -C "$repo" -o "$work/konduit" ./cmd/konduit
export KONDUIT_PGP_PASSPHRASE=bench-passphrase
./konduit pgp keygen --name Bench --email bench@example.test --algo rsa4096 -o recv >/dev/null

# Synthetic transactions-like rows, varied so compression is realistic.
awk -v target=$((size_mib * 1024 * 1024)) 'BEGIN {
  srand(42); n = 0; row = 0
  while (n < target) {
    line = sprintf("\"C%08d\",\"O%08d\",\"2024-%02d-%02d %02d:%02d:%02d\",\"%d\",\"%d\",\"%d\",\"CREDITCARD\",\"%04d\",\"%02d\",\"20%02d\",\"%d.%02d\",\"Name%05d\",\"%d Main St\",\"City%04d\",\"US\",\"%05d\",\"555%07d\",\"user%d@example.com\"",
      row, row, 1 + row % 12, 1 + row % 28, row % 24, row % 60, (row * 7) % 60, 10 + row % 90, 100 + row % 900, row % 2,
      int(rand() * 10000), 1 + row % 12, 25 + row % 10, int(rand() * 500), int(rand() * 100), int(rand() * 99999),
      int(rand() * 9999), int(rand() * 9999), int(rand() * 99999), int(rand() * 9999999), row)
    print line; n += length(line) + 1; row++
  }
}' > data.csv
bytes=$(stat -c %s data.csv)

measure() { # label, command...
  local label=$1; shift
  /usr/bin/time -v "$@" 2> time.txt >/dev/null
  local wall rss user sys secs cpu
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' time.txt)
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' time.txt)
  user=$(awk -F': ' '/User time/ {print $2}' time.txt)
  sys=$(awk -F': ' '/System time/ {print $2}' time.txt)
  secs=$(echo "$wall" | awk -F: '{ if (NF == 3) print $1*3600 + $2*60 + $3; else print $1*60 + $2 }')
  cpu=$(echo "$user $sys" | awk '{print $1 + $2}')
  printf '| %s | %s | %.1f MiB/s | %.1f s | %.1f MiB/s | %d MiB |\n' "$label" "$wall" \
    "$(echo "$bytes $secs" | awk '{print $1 / 1048576 / $2}')" "$cpu" \
    "$(echo "$bytes $cpu" | awk '{print $1 / 1048576 / $2}')" $((rss / 1024))
}

echo "input: $bytes bytes of CSV; $(nproc) cores; $(date -u +%Y-%m-%d); $(go version | cut -d' ' -f3)"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| step | wall | MiB/s (wall) | CPU (user+sys) | MiB/s (CPU) | peak RSS |"
echo "|---|---|---|---|---|---|"
measure "encrypt (zlib, binary)" ./konduit pgp encrypt -r recv.pub.asc -o data.csv.pgp data.csv
echo "ciphertext (zlib level 1): $(stat -c %s data.csv.pgp) bytes"
measure "decrypt (MDC checked)" ./konduit pgp decrypt -k recv.sec.asc -o out.csv data.csv.pgp
cmp data.csv out.csv
rm -f out.csv data.csv.pgp
measure "encrypt (--no-compress)" ./konduit pgp encrypt --no-compress -r recv.pub.asc -o data.csv.pgp data.csv
measure "decrypt (no compression)" ./konduit pgp decrypt -k recv.sec.asc -o out.csv data.csv.pgp
cmp data.csv out.csv
echo "round trips verified with cmp" >&2
