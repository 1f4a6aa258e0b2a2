# Rampart's front door: every target is a thin wrapper over Meson.
# `make run` and `make test` work on a fresh Debian 12 machine: they install
# what is missing first (make deps), then build, then do their job.

BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
PYTEST     := /usr/bin/python3 -m pytest
PORT       ?= 5300
FUZZ_SECONDS ?= 60

# Debian packages the build and the test suite need (nsd and knot are the zone
# transfer tests' secondaries; bench adds its other peers: clamav-daemon is
# the scanning benchmark's clamd).
DEPS       := gcc meson ninja-build pkg-config libcmocka-dev zlib1g-dev libssl-dev libsqlite3-dev \
              python3-pytest python3-dnspython python3-prometheus-client dnsutils rbldnsd \
              clang libclang-rt-14-dev nsd knot \
              libgmime-3.0-dev libarchive-dev libhyperscan-dev libmspack-dev liblzma-dev \
              clamav clamav-testfiles spamassassin libpython3.11-testsuite
BENCH_DEPS := nsd knot dnsperf util-linux procps clamav-daemon

.PHONY: all build deps bench-deps run test test-unit test-integration test-asan \
        bench bench-flood bench-scan fuzz clean

all: build

deps:
	@sh etc/install-deps.sh $(DEPS)

bench-deps:
	@sh etc/install-deps.sh $(DEPS) $(BENCH_DEPS)

$(BUILD)/build.ninja:
	meson setup $(BUILD) --buildtype=release -Db_ndebug=false >/dev/null

build: $(BUILD)/build.ninja
	@ninja -C $(BUILD) | tail -n 1

run: deps build
	@sh etc/run-sample.sh $(BUILD)/rampart-dnsbl $(PORT)

test: deps build
	@RAMPART_BUILD=$(abspath $(BUILD)) sh tests/run-all.sh

$(ASAN_BUILD)/build.ninja:
	meson setup $(ASAN_BUILD) --buildtype=debug -Db_sanitize=address,undefined \
	    -Db_lundef=false >/dev/null

test-asan: deps $(ASAN_BUILD)/build.ninja
	@ninja -C $(ASAN_BUILD) | tail -n 1
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	    RAMPART_BUILD=$(abspath $(ASAN_BUILD)) RAMPART_NO_FUZZ_REPLAY=1 RAMPART_NO_FLOOD=1 RAMPART_SANITIZED=1 \
	    sh tests/run-all.sh

bench: bench-deps build
	@RAMPART_BUILD=$(abspath $(BUILD)) sh bench/run.sh
	@RAMPART_BUILD=$(abspath $(BUILD)) sh bench/flood.sh
	@RAMPART_BUILD=$(abspath $(BUILD)) sh bench/store/run.sh
	@RAMPART_BUILD=$(abspath $(BUILD)) sh bench/store/latency.sh
	@RAMPART_BUILD=$(abspath $(BUILD)) sh bench/scan/run.sh

# The scanning benchmark alone (rampart scan against clamd).
bench-scan: bench-deps build
	@RAMPART_BUILD=$(abspath $(BUILD)) sh bench/scan/run.sh

# The flood proof alone, with the long phases of `make bench`.
bench-flood: deps build
	@RAMPART_BUILD=$(abspath $(BUILD)) sh bench/flood.sh

fuzz: deps
	@sh tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
