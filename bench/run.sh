#!/bin/bash
# bench/run.sh - DNSBL benchmark: rampart-dnsbl against rbldnsd, NSD, Knot DNS
# and a "floor" server.  Called by `make bench` (with RAMPART_BUILD set); can
# be run by hand from anywhere.  Results: bench/out/dnsbl.md (also printed)
# and bench/out/results.json.  Needs root (rbldnsd drops to nobody), two CPUs,
# rbldnsd nsd knot dnsperf (make bench-deps), python3-dnspython, cc.
#
# Method
#   Data.  bench/gen.c writes, from a fixed seed, the same listed entries as
#   an rbldnsd data file (with $SOA, $NS and ":127.0.0.2:Listed $") and as a
#   master zone file for NSD and Knot (every listed IP a reversed name with an
#   A 127.0.0.2 and a TXT record; IPv6 /64s and "domain and subdomains"
#   entries become wildcards), plus a query file: A queries, half for listed
#   entries and half for entries that cannot be listed.  Datasets: 1M and 10M
#   IPv4 /32s, and a mixed 100k set (50k IPv4 ip4set, 25k IPv6 ip6trie, 25k
#   domains dnset; three zones).  Files are reused while gen.c is unchanged.
#
#   Floor.  bench/floor.c answers every query by echoing it with QR=1: no
#   parsing, no lookup, recvmmsg/sendmmsg batches of 64.  Its CPU per query is
#   what the kernel's UDP path costs; every server is reported as a multiple.
#
#   One core each.  Each server runs alone, pinned to CPU 1 (rampart-dnsbl
#   with --threads 1, NSD server-count 1, Knot one UDP worker); dnsperf and
#   this harness run pinned to CPU 0.  For each server and dataset we measure
#   the time from exec to the first correct answer (a query every 10 ms),
#   memory (VmRSS/VmHWM), and then with dnsperf: the maximum rate (no -Q) and
#   a fixed rate (-Q 50000).  CPU per answered query is the server's
#   utime+stime delta (all threads and processes, /proc/PID/stat) divided by
#   dnsperf's "Queries completed".  Each load run is repeated and the median
#   is reported.  A server that cannot load a dataset within the time or
#   memory limit is reported as "n/a (reason)", never dropped silently.
#
#   Fair conditions.  NSD's default response rate limiting (200 qps per
#   source) is switched off.  Knot pins its UDP worker to a CPU of its own
#   choosing, overriding taskset; the harness moves such threads back to the
#   server CPU and marks the row.  Before each run the harness waits for other
#   processes to go quiet, and reports the CPU they took during the run
#   ("other load"): on a shared machine the numbers are only as good as that.
#
#   Reload under load.  rampart-dnsbl and rbldnsd (plain and with -f) serve
#   the 1M set at 30k qps for 15 s; the data file is replaced twice (atomic
#   rename, 10% of entries changed) and the server gets SIGHUP.  Reported:
#   queries sent, completed and lost, against the same run without reloads,
#   and how soon a newly listed entry answers.
#
# Settings (environment):
#   RAMPART_BUILD        where rampart-dnsbl is (default: ../build); if the
#                        binary is missing the run says so and goes on
#   BENCH_QUICK=1        smoke run: 100k-entry sets only, 2 s runs
#   BENCH_SECONDS        seconds per dnsperf run (default 10; quick 2)
#   BENCH_REPEAT         runs per measurement, median reported (default 3)
#   BENCH_RATE           the fixed rate in qps (default 50000)
#   BENCH_RELOAD_RATE, BENCH_RELOAD_SECONDS   reload test (30000, 15; quick 9)
#   BENCH_RELOAD=0       skip the reload test
#   BENCH_SERVERS        subset of: floor rampart-dnsbl rbldnsd nsd knot, and
#                        rampart-rrl (rate limiting on, no answer limited: its cost)
#   BENCH_DATASETS       subset of: ip4-100k ip4-1m ip4-10m mixed
#   BENCH_START_TIMEOUT  seconds a server may take to load (default 600)
#   BENCH_MEM_LIMIT_GB   memory a server may use while loading (default 16)
#   BENCH_QUIET_WAIT     seconds to wait for an idle machine before each run
#                        (default 60; quick 15)
#   BENCH_DNSPERF_OPTS   dnsperf options besides -s -p -d -l -Q
#                        (default "-c 2 -q 200 -t 2")
#   BENCH_SERVER_CPU, BENCH_CLIENT_CPU (1, 0), BENCH_PORT_BASE (15300),
#   BENCH_SEED, BENCH_QUERIES (query file lines, 1000000), BENCH_OUT
#
# Every dnsperf run is bounded by -l; every wait has a deadline.  All servers
# run in their own process groups and are killed on exit (trap below).

[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"   # `make bench` uses sh
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# the settings the caller chose, for the "Command:" line of the report
BENCH_USER_VARS=$(env | grep -oE '^BENCH_[A-Z_]+' | tr '\n' ' ' || true)
export BENCH_USER_VARS
export BENCH_OUT=${BENCH_OUT:-$here/out}
export RAMPART_BUILD=${RAMPART_BUILD:-$(dirname "$here")/build}
client_cpu=${BENCH_CLIENT_CPU:-0}
server_cpu=${BENCH_SERVER_CPU:-1}

die() { echo "bench: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (rbldnsd must start as root to drop to nobody)"
[ "$(nproc)" -ge 2 ] || die "needs two CPUs: one for the server, one for dnsperf"
for tool in cc taskset dnsperf /usr/bin/python3; do
    command -v "$tool" >/dev/null || die "$tool not found (make bench-deps)"
done
/usr/bin/python3 -c 'import dns.message' 2>/dev/null || die "python3-dnspython missing"
for tool in rbldnsd nsd knotd; do
    command -v "$tool" >/dev/null || echo "bench: $tool not installed; its cells will read n/a"
done

# Stop every server process group the harness left listed (it removes the
# ones it stopped itself), so nothing keeps running after an error or ^C.
pidfile=$BENCH_OUT/servers.pids
cleanup() {
    [ -f "$pidfile" ] || return 0
    local pgid
    while read -r pgid; do
        [ -n "$pgid" ] || continue
        # only a group that still exists and is still led by the same id
        if [ "$(ps -o pgid= -p "$pgid" 2>/dev/null | tr -d ' ')" = "$pgid" ]; then
            kill -TERM -- "-$pgid" 2>/dev/null || true
            for _ in $(seq 1 100); do
                kill -0 -- "-$pgid" 2>/dev/null || break
                sleep 0.1
            done
            kill -KILL -- "-$pgid" 2>/dev/null || true
        fi
    done < "$pidfile"
    : > "$pidfile"
}
harness=
stop_harness() {    # on ^C or TERM: let the harness stop its own server first
    [ -n "$harness" ] && kill -TERM "$harness" 2>/dev/null && wait "$harness" || true
    exit "$1"
}
trap cleanup EXIT
trap 'stop_harness 130' INT
trap 'stop_harness 143' TERM

mkdir -p "$BENCH_OUT/bin"
cc -O2 -Wall -Wextra -o "$BENCH_OUT/bin/floor" "$here/floor.c"
cc -O2 -Wall -Wextra -o "$BENCH_OUT/bin/gen" "$here/gen.c"

if [ ! -x "$RAMPART_BUILD/rampart-dnsbl" ]; then
    echo "bench: rampart-dnsbl not built ($RAMPART_BUILD/rampart-dnsbl); continuing without it"
fi

# The harness (and the generator it runs) stays on the client CPU so that
# CPU $server_cpu only runs the server under test.
# It runs in the background so that the traps above fire at once on a signal.
BENCH_SERVER_CPU=$server_cpu BENCH_CLIENT_CPU=$client_cpu \
    taskset -c "$client_cpu" /usr/bin/python3 "$here/dnsbench.py" &
harness=$!
status=0
wait "$harness" || status=$?
harness=
exit "$status"
