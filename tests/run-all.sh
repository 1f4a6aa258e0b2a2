#!/bin/sh
# The whole suite against the build in $RAMPART_BUILD: unit tests (cmocka via
# meson), fuzz regression replay, then integration tests (pytest). pytest's
# summary is the last line printed.
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
exec /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/integration
