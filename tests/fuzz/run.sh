#!/bin/sh
# tests/fuzz/run.sh BUILD_DIR SECONDS [HARNESS...]
#
# Builds the libFuzzer harnesses (clang, ASan + UBSan + libFuzzer; the needed
# src/common, src/dns, src/store and src/scan files compiled directly) into
# BUILD_DIR, then:
#
#   SECONDS = 0   replay only: every seed in tests/fuzz/corpus/<h>/ and every
#                 saved finding in tests/fuzz/regressions/<h>/ runs once. Fast;
#                 `make test` does this.
#   SECONDS > 0   fuzz each harness for SECONDS (nice'd, one process each, in
#                 turn) on the work corpus tests/fuzz/corpus-work/<h>/ (the
#                 seeds and regressions are copied in; it is kept between
#                 runs and is not committed). New crashes land in
#                 BUILD_DIR/artifacts/<h>/; the log is BUILD_DIR/<h>.log.
#
# HARNESS: query, loader, control, xfr, store, sigs, heur, zipx, scan (default: all). Exits non-zero if any input crashes,
# leaks, hits undefined behaviour or breaks a harness invariant.
# Environment: CC (clang), FUZZ_NICE (10), FUZZ_ARGS (extra libFuzzer flags).
set -eu

if [ $# -lt 2 ]; then
    echo "usage: $0 BUILD_DIR SECONDS [query|loader|control|xfr|store|sigs|heur|zipx|scan...]" >&2
    exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$1
secs=$2
shift 2
harnesses=${*:-query loader control xfr store sigs heur zipx scan}
case $secs in '' | *[!0-9]*) echo "$0: SECONDS must be a number" >&2; exit 2 ;; esac

CC=${CC:-clang}
if ! command -v "$CC" >/dev/null 2>&1; then
    echo "$0: $CC not found (apt-get install clang libclang-rt-14-dev)" >&2
    exit 2
fi

mkdir -p "$build/obj"
build=$(cd "$build" && pwd)

SAN="-fsanitize=address,undefined -fno-sanitize-recover=all"
CFLAGS="-std=gnu17 -O1 -g -fno-omit-frame-pointer -Wall -Wextra -Wno-missing-field-initializers \
-I$root/src -I$here -DRAMPART_VERSION=\"fuzz\""
SRCS="src/common/log.c src/common/util.c src/common/siphash.c src/common/rbltext.c src/common/strbuf.c src/common/json.c
src/dns/wire.c src/dns/answer.c src/dns/dataset.c src/dns/prefixmap.c src/dns/nametab.c src/dns/ds_ip4.c
src/dns/ds_ip6.c src/dns/ds_dn.c src/dns/ds_other.c src/dns/zone.c src/dns/config.c src/dns/server.c
src/dns/rrl.c src/dns/report.c src/dns/control.c src/dns/tsig.c src/dns/xfr.c src/dns/notify.c
src/dns/ds_db.c src/dns/dbsync.c src/store/entry.c src/store/import.c src/store/store.c src/store/batch.c"
# The scan group: the scanning engine (src/scan) with its libraries. fuzz_sigs
# links only the signature database and src/common; fuzz_heur and fuzz_zipx
# their module alone (the harness stands in for scan.c's helpers); fuzz_scan
# the whole engine.
SCAN_SRCS="src/scan/sigs.c src/scan/heur.c src/scan/zipx.c src/scan/arj.c src/scan/scan.c src/scan/filetype.c
src/scan/mime.c src/scan/inline.c src/scan/archive.c src/scan/formats.c src/scan/embedded.c src/scan/sis.c src/scan/nsis.c src/scan/inflate.c src/scan/out.c"
SCAN_PKGS="libhs gmime-3.0 libarchive libmspack liblzma"

# Rebuild when any source or header is newer than the harness binary.
stale() {
    [ ! -x "$build/fuzz_$1" ] && return 0
    [ -n "$(find "$root/src/common" "$root/src/dns" "$root/src/store" "$root/src/scan" "$here" -maxdepth 1 \
        \( -name '*.c' -o -name '*.h' \) -newer "$build/fuzz_$1" | head -n 1)" ]
}

all="query loader control xfr store sigs heur zipx scan"
need_build=
for h in $harnesses; do
    case $h in query | loader | control | xfr | store | sigs | heur | zipx | scan) ;; *) echo "$0: unknown harness $h" >&2; exit 2 ;; esac
done
for h in $all; do
    if stale "$h"; then need_build=1; fi
done
if [ -n "$need_build" ]; then
    echo "building fuzz harnesses in $build"
    objs=
    common_objs=
    scan_objs=
    pids=
    for s in $SRCS $SCAN_SRCS; do
        o="$build/obj/$(echo "$s" | tr / _ | sed 's/\.c$/.o/')"
        case $s in
        src/scan/*) scan_objs="$scan_objs $o" ;;
        src/common/*) objs="$objs $o"; common_objs="$common_objs $o" ;;
        *) objs="$objs $o" ;;
        esac
        # shellcheck disable=SC2086
        $CC $CFLAGS $SAN $(pkg-config --cflags $SCAN_PKGS) -fsanitize=fuzzer-no-link -c "$root/$s" -o "$o" &
        pids="$pids $!"
    done
    for p in $pids; do wait "$p" || { echo "$0: compile failed" >&2; exit 2; }; done
    for h in $all; do
        case $h in
        sigs) # shellcheck disable=SC2086
            $CC $CFLAGS $SAN -fsanitize=fuzzer "$here/fuzz_$h.c" "$build/obj/src_scan_sigs.o" $common_objs -lhs -lcrypto \
                -o "$build/fuzz_$h" ;;
        heur) # shellcheck disable=SC2086
            $CC $CFLAGS $SAN -fsanitize=fuzzer "$here/fuzz_$h.c" "$build/obj/src_scan_heur.o" -o "$build/fuzz_$h" ;;
        zipx) # shellcheck disable=SC2086
            $CC $CFLAGS $SAN -fsanitize=fuzzer "$here/fuzz_$h.c" "$build/obj/src_scan_zipx.o" "$build/obj/src_scan_arj.o" \
                -lz -o "$build/fuzz_$h" ;;
        scan) # shellcheck disable=SC2086
            $CC $CFLAGS $SAN $(pkg-config --cflags $SCAN_PKGS) -fsanitize=fuzzer "$here/fuzz_$h.c" $scan_objs $common_objs \
                $(pkg-config --libs $SCAN_PKGS) -lcrypto -lz -lpthread -o "$build/fuzz_$h" ;;
        *) # shellcheck disable=SC2086
            $CC $CFLAGS $SAN -fsanitize=fuzzer "$here/fuzz_$h.c" $objs -lz -lpthread -lcrypto -lsqlite3 -o "$build/fuzz_$h" ;;
        esac || { echo "$0: link of fuzz_$h failed" >&2; exit 2; }
    done
fi

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:allocator_may_return_null=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

max_len() { case $1 in loader | store) echo 8192 ;; sigs) echo 12288 ;; scan) echo 65536 ;; *) echo 4096 ;; esac; }
# The loader's interesting inputs include long lines (TXT and template limits):
# let its inputs grow to max_len at once instead of libFuzzer's slow ramp.
len_control() { case $1 in loader | store) echo -len_control=0 ;; esac; }

# Seeds from Debian's clamav-testfiles (harmless test files in every
# container format) for the harnesses that read containers: installed by
# make deps, not copied into the repository.
extra_seeds() { case $1 in zipx | scan) [ -d /usr/share/clamav-testfiles ] && echo /usr/share/clamav-testfiles ;; esac; }

status=0
for h in $harnesses; do
    bin="$build/fuzz_$h"
    if [ "$secs" -eq 0 ]; then
        # Replay: each file is run once (libFuzzer's "individual files" mode).
        n=$(find "$here/corpus/$h" "$here/regressions/$h" $(extra_seeds "$h") -type f 2>/dev/null | wc -l)
        if [ "$n" -eq 0 ]; then
            echo "$h: nothing to replay"
            continue
        fi
        if find "$here/corpus/$h" "$here/regressions/$h" $(extra_seeds "$h") -type f -print0 2>/dev/null |
            xargs -0 -n 200 "$bin" -timeout=10 >"$build/$h-replay.log" 2>&1; then
            echo "$h: replayed $n inputs: ok"
        else
            tail -n 40 "$build/$h-replay.log"
            echo "$h: replay FAILED ($build/$h-replay.log)"
            status=1
        fi
        continue
    fi
    work="$here/corpus-work/$h"
    arts="$build/artifacts/$h"
    mkdir -p "$work" "$arts"
    for d in "$here/corpus/$h" "$here/regressions/$h" $(extra_seeds "$h"); do
        [ -d "$d" ] && find "$d" -type f -exec cp -n {} "$work/" \;
    done
    dict=
    [ -f "$here/$h.dict" ] && dict="-dict=$here/$h.dict"
    echo "$h: fuzzing for ${secs}s, corpus $work ($(find "$work" -type f | wc -l) files)"
    # shellcheck disable=SC2086
    if nice -n "${FUZZ_NICE:-10}" "$bin" -max_total_time="$secs" -max_len="$(max_len "$h")" \
        -timeout=10 -print_final_stats=1 -artifact_prefix="$arts/" $dict $(len_control "$h") ${FUZZ_ARGS:-} \
        "$work" >"$build/$h.log" 2>&1; then
        echo "$h: clean. $(grep -E '^#[0-9]+' "$build/$h.log" | tail -n 1)"
        grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' "$build/$h.log" || true
    else
        grep -E '^#[0-9]+' "$build/$h.log" | tail -n 1 || true
        grep -E -A 30 '^==[0-9]+==ERROR|runtime error|fuzz invariant broken|deadly signal' \
            "$build/$h.log" | head -n 60 || true
        echo "$h: FINDING: see $build/$h.log; inputs in $arts/"
        status=1
    fi
done
exit $status
