#!/usr/bin/python3
"""bench/store/bench.py - the listing database's benchmark (bench/store/run.sh
runs it; `make bench` runs that).

Data: bench/gen.c writes 1M IPv4 /32 entries as an rbldnsd ip4set file (the
same generator, seed and file as the DNS benchmark's ip4-1m set: $SOA, $NS,
":127.0.0.2:Listed $", then the addresses in no particular order).

Measured, each BENCH_STORE_REPEAT times (default 3), the median reported:
  import     `rampart list import bl FILE --quiet` into a new, empty list
             (created with the file's default TXT, so entries store none):
             wall seconds, CPU seconds (user+sys of the process) and peak RSS;
             the database's size after it
  re-import  the same file again into the full list: every entry unchanged
  export     `rampart list export bl OUT`: 1M listings to an rbldnsd file
  rbldnsd    Debian's rbldnsd started on loopback with the same file: seconds
             from exec until it answers a listed name correctly (a query every
             10 ms), as the DNS benchmark measures "ready"
  rampart-dnsbl  the same, for comparison
Each run records the load average before it and how much CPU other processes
took during it (from /proc/stat): on a shared machine a figure is only as good
as that. Output: a markdown table on stdout and in bench/out/store.md, the raw
numbers in bench/out/store.json.

Settings (environment): RAMPART_BUILD (default ../../build), BENCH_OUT
(default bench/out), BENCH_STORE_ENTRIES (1000000), BENCH_STORE_REPEAT (3),
BENCH_SEED (20031), BENCH_PORT_BASE (15300; this uses +40).
"""

import json
import os
import select
import signal
import socket
import statistics
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.dirname(HERE)
OUT = os.environ.get("BENCH_OUT", os.path.join(BENCH, "out"))
BUILD = os.environ.get("RAMPART_BUILD", os.path.join(os.path.dirname(BENCH), "build"))
RAMPART = os.path.join(BUILD, "rampart")
DNSBL = os.path.join(BUILD, "rampart-dnsbl")
ENTRIES = int(os.environ.get("BENCH_STORE_ENTRIES", "1000000"))
REPEAT = int(os.environ.get("BENCH_STORE_REPEAT", "3"))
SEED = os.environ.get("BENCH_SEED", "20031")
PORT = int(os.environ.get("BENCH_PORT_BASE", "15300")) + 40
WORK = os.path.join(OUT, "store")


def log(msg):
    print(time.strftime("[%H:%M:%S] ") + msg, file=sys.stderr, flush=True)


def cpu_busy():
    """(busy, total) jiffies over all CPUs from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return sum(v) - idle, sum(v)


def run_timed(argv, **kw):
    """Run argv; returns (wall s, cpu s, peak RSS MiB, other processes' CPU share)."""
    b0, t0j = cpu_busy()
    t0 = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kw)
    _, status, ru = os.wait4(proc.pid, 0)
    wall = time.monotonic() - t0
    b1, t1j = cpu_busy()
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"bench/store: {' '.join(argv)} failed:\n{err}")
    cpu = ru.ru_utime + ru.ru_stime
    ticks = os.sysconf("SC_CLK_TCK")
    other = max(0.0, (b1 - b0) / ticks - cpu) / max(1e-9, (t1j - t0j) / ticks)
    return wall, cpu, ru.ru_maxrss / 1024, other


def generate():
    gen = os.path.join(OUT, "bin", "gen")
    os.makedirs(os.path.dirname(gen), exist_ok=True)
    subprocess.run(["cc", "-O2", "-Wall", "-Wextra", "-o", gen, os.path.join(BENCH, "gen.c")], check=True)
    path = os.path.join(WORK, f"ip4-{ENTRIES}.rbl")
    stamp = path + ".probe"
    if os.path.exists(path) and os.path.exists(stamp):
        with open(stamp) as f:
            return path, f.read().strip()
    out = subprocess.run([gen, "ip4", SEED, "bl.example", "0", str(ENTRIES), path, "-", "-", "0"],
                         check=True, capture_output=True, text=True).stdout
    probe = [line.split()[1] for line in out.splitlines() if line.startswith("probe ")][0]
    with open(stamp, "w") as f:
        f.write(probe)
    os.chmod(WORK, 0o755)
    os.chmod(path, 0o644)
    return path, probe


def query(qname, qid):
    wire = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in qname.rstrip(".").split("."):
        wire += bytes([len(label)]) + label.encode()
    return wire + b"\0" + struct.pack(">HH", 1, 1)


def listed(wire, qid):
    """NOERROR with an A record 127.0.0.2 in the answer?"""
    if len(wire) < 12 or struct.unpack(">H", wire[:2])[0] != qid or wire[3] & 0x0f:
        return False
    return struct.unpack(">H", wire[6:8])[0] > 0 and b"\x00\x01\x00\x01" in wire and \
        b"\x00\x04\x7f\x00\x00\x02" in wire


def ready_time(argv, probe, timeout=300):
    """Seconds from exec until the server answers the probe as listed."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.connect(("127.0.0.1", PORT))
    sock.setblocking(False)
    t0 = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    qid = 0
    try:
        while time.monotonic() - t0 < timeout:
            if proc.poll() is not None:
                sys.exit(f"bench/store: {argv[0]} exited: {proc.stderr.read().decode(errors='replace')}")
            qid = (qid + 1) & 0xffff
            try:
                sock.send(query(probe, qid))
            except OSError:
                pass
            deadline = time.monotonic() + 0.01
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                r, _, _ = select.select([sock], [], [], left)
                if not r:
                    break
                try:
                    wire = sock.recv(65535)
                except OSError:
                    break
                if listed(wire, qid):
                    return time.monotonic() - t0
        sys.exit(f"bench/store: {argv[0]} did not answer within {timeout} s")
    finally:
        sock.close()
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        proc.wait(timeout=10)
        proc.stderr.close()


def med(runs, key):
    return statistics.median(r[key] for r in runs)


def main():
    if not os.path.exists(RAMPART):
        sys.exit(f"bench/store: {RAMPART} not built")
    os.makedirs(WORK, exist_ok=True)
    path, probe = generate()
    mib = os.path.getsize(path) / 2**20
    log(f"data: {path} ({mib:.1f} MiB), probe {probe}")
    db = os.path.join(WORK, "bench.db")
    results = {"entries": ENTRIES, "file_mib": mib, "import": [], "reimport": [], "export": [],
               "rbldnsd": [], "rampart-dnsbl": [], "loadavg": []}
    for i in range(REPEAT):
        for f in (db, db + "-wal", db + "-shm"):
            if os.path.exists(f):
                os.unlink(f)
        subprocess.run([RAMPART, "--db", db, "list", "create", "bl", "--zone", "bl.example", "--txt",
                        "Listed $"], check=True, capture_output=True)
        with open("/proc/loadavg") as f:
            results["loadavg"].append(float(f.read().split()[0]))
        wall, cpu, rss, other = run_timed([RAMPART, "--db", db, "list", "import", "bl", path, "--quiet"])
        size = os.path.getsize(db) / 2**20
        wal = os.path.getsize(db + "-wal") / 2**20 if os.path.exists(db + "-wal") else 0.0
        results["import"].append({"wall": wall, "cpu": cpu, "rss": rss, "other": other, "db_mib": size,
                                  "wal_mib": wal})
        log(f"import {i + 1}: {wall:.2f} s wall, {cpu:.2f} s CPU, {rss:.0f} MiB, other load {other:.0%}")
        wall, cpu, rss, other = run_timed([RAMPART, "--db", db, "list", "import", "bl", path, "--quiet"])
        results["reimport"].append({"wall": wall, "cpu": cpu, "rss": rss, "other": other})
        log(f"re-import {i + 1}: {wall:.2f} s wall, {cpu:.2f} s CPU")
        exp = os.path.join(WORK, "export.rbl")
        wall, cpu, rss, other = run_timed([RAMPART, "--db", db, "list", "export", "bl", exp])
        results["export"].append({"wall": wall, "cpu": cpu, "rss": rss, "other": other})
        log(f"export {i + 1}: {wall:.2f} s wall, {cpu:.2f} s CPU")
    servers = [("rbldnsd", ["rbldnsd", "-n", "-u", "nobody", "-b", f"127.0.0.1/{PORT}", "-t", "2100",
                            f"bl.example:ip4set:{path}"])]
    if os.path.exists(DNSBL):
        servers.append(("rampart-dnsbl", [DNSBL, "-n", "-u", "nobody", "-b", f"127.0.0.1/{PORT}", "-t",
                                          "2100", f"bl.example:ip4set:{path}"]))
    for name, argv in servers:
        for i in range(REPEAT):
            t = ready_time(argv, probe)
            results[name].append({"ready": t})
            log(f"{name} {i + 1}: answers after {t:.2f} s")
    with open(os.path.join(OUT, "store.json"), "w") as f:
        json.dump(results, f, indent=1)
    imp, re_, ex = results["import"], results["reimport"], results["export"]
    lines = [
        f"Data: {ENTRIES:,} IPv4 /32 entries, rbldnsd ip4set file of {mib:.1f} MiB (bench/gen.c, seed {SEED}).",
        f"Median of {REPEAT} runs; load average before the runs: "
        + ", ".join(f"{x:.2f}" for x in results["loadavg"]) + ".",
        "",
        "| what | wall s | CPU s | peak RSS MiB | other load |",
        "|---|---:|---:|---:|---:|",
        f"| `rampart list import` into an empty list | {med(imp, 'wall'):.2f} | {med(imp, 'cpu'):.2f} | "
        f"{med(imp, 'rss'):.0f} | {max(r['other'] for r in imp):.0%} |",
        f"| the same import again (all unchanged) | {med(re_, 'wall'):.2f} | {med(re_, 'cpu'):.2f} | "
        f"{med(re_, 'rss'):.0f} | {max(r['other'] for r in re_):.0%} |",
        f"| `rampart list export` to a file | {med(ex, 'wall'):.2f} | {med(ex, 'cpu'):.2f} | "
        f"{med(ex, 'rss'):.0f} | {max(r['other'] for r in ex):.0%} |",
    ]
    for name, _ in servers:
        lines.append(f"| {name} started on the file: ready (first listed answer) | "
                     f"{med(results[name], 'ready'):.2f} | | | |")
    lines.append("")
    wal = med(imp, "wal_mib")
    lines.append(f"Database after the import: {med(imp, 'db_mib'):.0f} MiB ({ENTRIES:,} listings and as many "
                 f"audit rows)" + (f", plus a {wal:.0f} MiB WAL file." if wal >= 1 else "; its WAL was "
                                   "checkpointed and removed at exit."))
    text = "\n".join(lines) + "\n"
    with open(os.path.join(OUT, "store.md"), "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
