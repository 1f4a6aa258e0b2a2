#!/bin/sh
# The whole suite against the build in $RAMPART_BUILD: unit tests (cmocka via
# meson), fuzz regression replay, then integration tests and the flood proof
# (tests/flood, about a minute) in one pytest run, whose summary is the last
# line printed. RAMPART_NO_FLOOD=1 leaves the flood proof out (make test-asan:
# its targets are about speed, which a sanitized build does not have); it is
# then not collected at all, never counted as passed.
set -e
cd "$(dirname "$0")/.."
: "${RAMPART_BUILD:=$(pwd)/build}"
export RAMPART_BUILD
meson test -C "$RAMPART_BUILD" --print-errorlogs --no-rebuild -q
if [ -x tests/fuzz/run.sh ] && [ -z "$RAMPART_NO_FUZZ_REPLAY" ]; then
    sh tests/fuzz/run.sh "$RAMPART_BUILD/fuzz" 0 >"$RAMPART_BUILD/fuzz-replay.log" 2>&1 || {
        tail -n 30 "$RAMPART_BUILD/fuzz-replay.log"; echo "fuzz regression replay failed"; exit 1; }
    echo "fuzz regression replay: ok"
fi
flood=tests/flood
if [ -n "$RAMPART_NO_FLOOD" ]; then
    echo "flood proof: not run in this build (RAMPART_NO_FLOOD)"
    flood=
fi
exec /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/integration $flood
