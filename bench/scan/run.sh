#!/bin/sh
# bench/scan/run.sh - the scanning engine's benchmark: `rampart scan` against
# Debian's clamd on a generated mail corpus (15% Mimail-style worm mail), with
# a small database (the 3 real signatures) and a large one (plus 1,000,000
# random .hdb hashes and 100,000 random .ndb patterns), one core each. The
# method is at the top of bench.py. Called by `make bench` with RAMPART_BUILD
# set; needs two CPUs, python3 and clamav-daemon + clamav-testfiles
# (make bench-deps). Takes about 10 minutes (the first run also generates
# 200 MiB of mail and 74 MiB of signatures, kept in bench/out/scan/).
# Results: bench/out/scan.md (also printed) and bench/out/scan.json.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
export RAMPART_BUILD=${RAMPART_BUILD:-$(dirname "$(dirname "$here")")/build}
for f in /usr/sbin/clamd /usr/share/clamav-testfiles/clam.exe; do
    [ -e "$f" ] || { echo "bench/scan: $f missing (make bench-deps)" >&2; exit 1; }
done
uptime >&2
# A hard bound on the whole run; bench.py stops its clamd on SIGTERM.
exec timeout -k 30 "${BENCH_SCAN_LIMIT:-2400}" /usr/bin/python3 "$here/bench.py"
