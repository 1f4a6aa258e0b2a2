#!/bin/sh
# bench/flood.sh - the flood proof (tests/flood, issue 4) with long phases:
# rampart-dnsbl and rbldnsd each through the four attack phases while
# legitimate clients query, side by side.  Called by `make bench` after
# bench/run.sh (and by `make bench-flood` alone); can be run by hand.
# The method is at the top of tests/flood/test_flood.py.
#
# Settings (environment), besides those test_flood.py reads:
#   FLOOD_SECONDS     seconds per phase and server (default here 20; CI: 4)
#   FLOOD_QUIET_WAIT  seconds to wait for a quiet machine before each run (30)
#   FLOOD_OUT         where the table goes (default bench/out): flood.md, flood.json
#
# The table is printed and written to $FLOOD_OUT/flood.md with the command,
# machine and date; docs/benchmarks.md carries the latest one.  The exit
# status is pytest's: rampart-dnsbl missing a target fails the run.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/.."
[ "$(id -u)" = 0 ] || { echo "bench/flood.sh: run as root (the servers drop to nobody)" >&2; exit 1; }
export RAMPART_BUILD="${RAMPART_BUILD:-$(pwd)/build}"
export FLOOD_SECONDS="${FLOOD_SECONDS:-20}"
export FLOOD_QUIET_WAIT="${FLOOD_QUIET_WAIT:-30}"
export FLOOD_OUT="${FLOOD_OUT:-$here/out}"
export FLOOD_COMMAND="${FLOOD_COMMAND:-sh bench/flood.sh (make bench, make bench-flood) with FLOOD_SECONDS=$FLOOD_SECONDS}"
exec /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/flood
