#!/bin/sh
# bench/store/latency.sh - rampart-dnsbl --db: add->answered and remove->gone
# latency under a steady stream of commits, with a big list loaded.
#
# Method: bench/gen.c writes N random IPv4 /32 entries (default 10,000,000,
# the same seed as the DNS bench); `rampart list import` puts them in a fresh
# database; rampart-dnsbl serves it (--db, one worker, pinned to CPU 1); then
# bench/store/addlat.c (pinned to CPU 0) commits batches of 50 new listings at
# RATE adds/s (default 5,000) for SECONDS (default 20), and after each commit
# asks every 2 ms for one of the batch's entries until it is answered listed;
# then removes them at the same rate and waits for NXDOMAIN. Reported: load
# time and RSS of the server, p50/p99/max latency from commit to answer.
# The asking address is exempt from rate limiting (--rrl-exempt 127.0.0.1).
#
# Settings: BENCH_STORE_ENTRIES, BENCH_STORE_RATE, BENCH_STORE_SECONDS,
# RAMPART_BUILD, BENCH_OUT. Output: $BENCH_OUT/store-latency.md (and stdout).
# Loopback only; every wait is bounded.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$(dirname "$here")")
build=${RAMPART_BUILD:-$root/build}
out=${BENCH_OUT:-$root/bench/out}
entries=${BENCH_STORE_ENTRIES:-10000000}
rate=${BENCH_STORE_RATE:-5000}
seconds=${BENCH_STORE_SECONDS:-20}
port=${BENCH_STORE_PORT:-15395}
[ "$(id -u)" = 0 ] || { echo "bench/store/latency: run as root" >&2; exit 1; }
mkdir -p "$out/bin" "$out/store-latency"
work="$out/store-latency"
chmod 755 "$out" "$work"

cc -O2 -Wall -Wextra -o "$out/bin/gen" "$root/bench/gen.c"
cc -O2 -Wall -Wextra -I"$root/src" -o "$out/bin/addlat" "$here/addlat.c" \
    "$build/librampart_store.a" "$build/librampart_common.a" -lsqlite3 -lpthread

data="$work/ip4-$entries.rbl"
[ -s "$data" ] || "$out/bin/gen" ip4 20031 bl.example 0 "$entries" "$data" /dev/null /dev/null 0
db="$work/rampart.db"
rm -f "$db" "$db-wal" "$db-shm"
"$build/rampart" --db "$db" list create big --zone big.test --kind ip4 >/dev/null
t0=$(date +%s.%N)
"$build/rampart" --db "$db" list import big "$data" --quiet >/dev/null
t1=$(date +%s.%N)

log="$work/server.log"
taskset -c 1 "$build/rampart-dnsbl" -n -u nobody -b "127.0.0.1/$port" --threads 1 \
    --rrl-exempt 127.0.0.1 --db "$db" >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
i=0
until grep -q "event=started" "$log"; do
    i=$((i + 1))
    [ $i -lt 600 ] || { echo "bench/store/latency: server not ready after 300 s" >&2; exit 1; }
    sleep 0.5
done
load=$(sed -n 's/.*event=loaded dataset=db:big .*seconds=\([0-9.]*\).*/\1/p' "$log" | head -n 1)
rss_ready=$(awk '/VmRSS/ {print int($2 / 1024)}' "/proc/$pid/status")
result=$(taskset -c 0 "$out/bin/addlat" "$db" big big.test "$port" "$rate" "$seconds")
rss_after=$(awk '/VmRSS/ {print int($2 / 1024)}' "/proc/$pid/status")
kill $pid
wait $pid 2>/dev/null || true
trap - EXIT

import_s=$(/usr/bin/python3 -c "print(round($t1 - $t0, 1))")
py() { /usr/bin/python3 -c "import json,sys; r=json.loads(sys.argv[1]); print($1)" "$result"; }
{
    echo "## rampart-dnsbl --db: a listing answered after its commit (bench/store/latency.sh)"
    echo
    echo "Command: \`sh bench/store/latency.sh\` (part of \`make bench\`). $(date -u '+%Y-%m-%d %H:%M UTC'),"
    echo "$(nproc) CPUs, Linux $(uname -r); load average before: $(cut -d' ' -f1-3 /proc/loadavg)."
    echo
    echo "Data: $entries random IPv4 /32 listings (bench/gen.c, seed 20031), imported with"
    echo "\`rampart list import\` in $import_s s; rampart-dnsbl (one worker, CPU 1) loaded them from the"
    echo "database in $load s, RSS $rss_ready MiB once ready, $rss_after MiB after the run."
    echo "addlat (CPU 0) committed batches of 50 at $rate listings/s for $seconds s, then removed them"
    echo "at the same rate; after each commit it asked every 2 ms for one entry of the batch."
    echo
    echo "| change | samples | lost | p50 ms | p99 ms | max ms |"
    echo "|---|---:|---:|---:|---:|---:|"
    echo "| add -> answered listed | $(py 'r["add"]["samples"]') | $(py 'r["add"]["lost"]') | $(py 'r["add"]["p50_ms"]') | $(py 'r["add"]["p99_ms"]') | $(py 'r["add"]["max_ms"]') |"
    echo "| remove -> NXDOMAIN | $(py 'r["remove"]["samples"]') | $(py 'r["remove"]["lost"]') | $(py 'r["remove"]["p50_ms"]') | $(py 'r["remove"]["p99_ms"]') | $(py 'r["remove"]["max_ms"]') |"
    echo
    echo "Target: p99 under 1 s for both, with 10M listings loaded."
} | tee "$out/store-latency.md"
