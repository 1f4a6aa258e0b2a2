#!/bin/sh
# bench/store/run.sh - the listing database's benchmark: import 1M listings
# from an rbldnsd file with `rampart list import` (target: under 10 s), the
# same import again, an export, and beside them rbldnsd's (and
# rampart-dnsbl's) load time for the same file. The method is at the top of
# bench.py. Called by `make bench` with RAMPART_BUILD set; needs root (rbldnsd
# drops to nobody), cc, python3 and rbldnsd (make bench-deps).
# Results: bench/out/store.md (also printed) and bench/out/store.json.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
export RAMPART_BUILD=${RAMPART_BUILD:-$(dirname "$(dirname "$here")")/build}
[ "$(id -u)" = 0 ] || { echo "bench/store: run as root (rbldnsd must start as root)" >&2; exit 1; }
command -v rbldnsd >/dev/null || { echo "bench/store: rbldnsd not installed (make bench-deps)" >&2; exit 1; }
uptime >&2
exec /usr/bin/python3 "$here/bench.py"
