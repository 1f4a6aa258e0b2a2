#!/usr/bin/python3
"""dnsbench.py - the measuring half of the DNSBL benchmark.

bench/run.sh compiles the two C helpers (floor, gen) and then runs this file
pinned to the client CPU.  The method is described at the top of run.sh; this
file is the mechanics:

  generate data  -> gen writes rbldnsd files, zone files and query files into
                    bench/out/data (skipped when the stamp shows they exist)
  for each dataset, for each server:
    start          taskset -c SERVER_CPU <server>, in its own process group
    ready time     from exec until the first correct answer, polling every 10 ms
                   (aborted, and reported "n/a (reason)", after
                   BENCH_START_TIMEOUT s or when memory passes BENCH_MEM_LIMIT_GB)
    pinning        threads that set their own affinity (Knot does) are moved
                   back to SERVER_CPU, and the report says so
    answers        200 queries from the query file, compared with rbldnsd's
    memory         VmRSS / VmHWM (PSS summed when a server runs several processes)
    load           taskset -c CLIENT_CPU dnsperf, unlimited and at BENCH_RATE,
                   BENCH_REPEAT times each; server CPU = delta of utime+stime
                   (+ reaped children) from /proc/PID/stat summed over all of
                   the server's processes, divided by "Queries completed".
                   Before each run we wait (at most BENCH_QUIET_WAIT s) for
                   other processes to go quiet, and /proc/stat tells how much
                   CPU they took anyway ("other load" in the report)
  reload test      rampart-dnsbl and rbldnsd at BENCH_RELOAD_RATE for
                   BENCH_RELOAD_SECONDS, once as it is and once while the
                   data file is replaced twice (atomic rename, then SIGHUP)
  report           bench/out/dnsbl.md and bench/out/results.json

Every server is stopped in a finally block; run.sh also kills whatever process
groups are still listed in bench/out/servers.pids when it exits.
"""

import datetime
import hashlib
import json
import os
import re
import select
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

import dns.exception
import dns.message
import dns.rcode
import dns.rdatatype

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.environ.get("BENCH_OUT", os.path.join(HERE, "out"))
BIN = os.path.join(OUT, "bin")
DATA = os.path.join(OUT, "data")
RUN = os.path.join(OUT, "run")
LOGS = os.path.join(OUT, "logs")
PIDFILE = os.path.join(OUT, "servers.pids")
RAMPART_BUILD = os.environ.get("RAMPART_BUILD", os.path.join(os.path.dirname(HERE), "build"))
RAMPART = os.path.join(RAMPART_BUILD, "rampart-dnsbl")


def env_num(name, default, kind=float):
    value = os.environ.get(name, "")
    return kind(value) if value.strip() else default


QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")
SECONDS = env_num("BENCH_SECONDS", 2 if QUICK else 10, int)
REPEAT = env_num("BENCH_REPEAT", 3, int)
RATE = env_num("BENCH_RATE", 50000, int)
RELOAD_RATE = env_num("BENCH_RELOAD_RATE", 30000, int)
RELOAD_SECONDS = env_num("BENCH_RELOAD_SECONDS", 9 if QUICK else 15, int)
START_TIMEOUT = env_num("BENCH_START_TIMEOUT", 600)
MEM_LIMIT_GB = env_num("BENCH_MEM_LIMIT_GB", 16)
DNSPERF_OPTS = os.environ.get("BENCH_DNSPERF_OPTS", "-c 2 -q 200 -t 2").split()
SERVER_CPU = os.environ.get("BENCH_SERVER_CPU", "1")
CLIENT_CPU = os.environ.get("BENCH_CLIENT_CPU", "0")
PORT_BASE = env_num("BENCH_PORT_BASE", 15300, int)
QUIET_WAIT = env_num("BENCH_QUIET_WAIT", 15 if QUICK else 60)
SEED = os.environ.get("BENCH_SEED", "20031")
NQUERIES = env_num("BENCH_QUERIES", 1000000, int)
SERVERS = os.environ.get("BENCH_SERVERS", "floor rampart-dnsbl rbldnsd nsd knot").split()
DATASETS = os.environ.get(
    "BENCH_DATASETS", "ip4-100k mixed" if QUICK else "ip4-1m ip4-10m mixed").split()
RELOAD = os.environ.get("BENCH_RELOAD", "1") != "0"
RELOAD_ENTRIES = 100000 if QUICK else 1000000
RELOAD_DATASET = "ip4-100k" if QUICK else "ip4-1m"
CHECK_QUERIES = 200
CLK_TCK = os.sysconf("SC_CLK_TCK")
TTL = "2100"


def log(msg):
    print(time.strftime("[%H:%M:%S] ") + msg, flush=True)


class CellFailed(Exception):
    """A measurement that cannot be made; the message becomes "n/a (message)"."""


# ---- datasets ------------------------------------------------------------

class Zone:
    def __init__(self, name, rbltype, rblfile, zonefile):
        self.name, self.rbltype, self.rblfile, self.zonefile = name, rbltype, rblfile, zonefile


class Dataset:
    def __init__(self, name, title, zones, queries, gen_argv):
        self.name, self.title, self.zones, self.queries = name, title, zones, queries
        self.gen_argv = gen_argv
        self.probes = None      # a listed name per zone, to detect readiness
        self.gen_seconds = None


def ip4_dataset(name, entries):
    base = os.path.join(DATA, name)
    zone = Zone("bl.example", "ip4set", base + ".rbl", base + ".zone")
    argv = [os.path.join(BIN, "gen"), "ip4", SEED, "bl.example", "0", str(entries),
            zone.rblfile, zone.zonefile, base + ".queries", str(NQUERIES)]
    return Dataset(name, f"{entries:,} IPv4 /32 entries, one ip4set zone", [zone],
                   base + ".queries", argv)


def mixed_dataset():
    base = os.path.join(DATA, "mixed")
    zones = [Zone(f"{kind}.mix.example", rbltype, f"{base}/{kind}.rbl", f"{base}/{kind}.zone")
             for kind, rbltype in (("ip4", "ip4set"), ("ip6", "ip6trie"), ("dom", "dnset"))]
    argv = [os.path.join(BIN, "gen"), "mixed", SEED, base, str(NQUERIES)]
    return Dataset("mixed", "100k mixed: 50k IPv4 /32 (ip4set), 25k IPv6 /64 and /128 "
                   "(ip6trie), 25k domains (dnset), three zones", zones,
                   base + "/queries", argv)


def all_datasets():
    known = {"ip4-100k": lambda: ip4_dataset("ip4-100k", 100000),
             "ip4-1m": lambda: ip4_dataset("ip4-1m", 1000000),
             "ip4-10m": lambda: ip4_dataset("ip4-10m", 10000000),
             "mixed": mixed_dataset}
    for name in DATASETS:
        if name not in known:
            sys.exit(f"dnsbench: unknown dataset {name} (known: {' '.join(known)})")
    return [known[name]() for name in DATASETS]


def make_world_readable(path):
    """rbldnsd drops to nobody before reading its files: open the way for it."""
    for root, dirs, files in os.walk(path):
        os.chmod(root, 0o755)
        for f in files:
            os.chmod(os.path.join(root, f), 0o644)


def generate(ds):
    """Run gen unless a stamp shows the same command (and gen.c) already ran."""
    with open(os.path.join(HERE, "gen.c"), "rb") as f:
        stamp_text = json.dumps({"argv": ds.gen_argv,
                                 "gen.c": hashlib.sha256(f.read()).hexdigest()})
    stamp = os.path.join(DATA, ds.name + ".stamp")
    if os.path.exists(stamp):
        with open(stamp) as f:
            saved = json.load(f)
        if saved.get("key") == stamp_text:
            ds.probes, ds.gen_seconds = saved["probes"], saved["seconds"]
            return
    if ds.name == "mixed":
        os.makedirs(os.path.join(DATA, "mixed"), exist_ok=True)
    t0 = time.monotonic()
    out = subprocess.run(ds.gen_argv, check=True, capture_output=True, text=True).stdout
    ds.gen_seconds = time.monotonic() - t0
    ds.probes = probes_of(out)
    with open(stamp, "w") as f:
        json.dump({"key": stamp_text, "probes": ds.probes, "seconds": ds.gen_seconds}, f)
    log(f"generated {ds.name} in {ds.gen_seconds:.1f} s")


def probes_of(gen_output):
    return [line.split()[1] for line in gen_output.splitlines() if line.startswith("probe ")]


def file_mib(path):
    return os.path.getsize(path) / 2**20


# ---- processes -----------------------------------------------------------

def read_proc_stat(pid):
    """(ppid, pgrp, cpu ticks incl. reaped children) or None if gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()  # fields from "state" on
    # state=0 ppid=1 pgrp=2 ... utime=11 stime=12 cutime=13 cstime=14
    return int(fields[1]), int(fields[2]), sum(int(x) for x in fields[11:15])


def read_status(pid):
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    out[line.split(":")[0]] = int(line.split()[1])
    except OSError:
        pass
    return out


def read_pss_kb(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class PidFile:
    """Process groups still running, for run.sh's EXIT trap."""
    groups = set()

    @classmethod
    def update(cls, add=None, remove=None):
        if add:
            cls.groups.add(add)
        cls.groups.discard(remove)
        with open(PIDFILE, "w") as f:
            f.write("".join(f"{g}\n" for g in sorted(cls.groups)))


class Proc:
    """A server started by us, in its own process group, pinned to SERVER_CPU."""

    def __init__(self, label, argv, logname):
        self.label, self.argv = label, ["taskset", "-c", SERVER_CPU] + argv
        self.logpath = os.path.join(LOGS, logname + ".log")
        self.popen = None

    def start(self):
        logf = open(self.logpath, "w")
        logf.write("# " + " ".join(self.argv) + "\n")
        logf.flush()
        self.t0 = time.monotonic()
        self.popen = subprocess.Popen(self.argv, stdout=logf, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL, start_new_session=True)
        logf.close()
        self.pid = self.popen.pid
        PidFile.update(add=self.pid)

    def tree(self):
        """All live processes of this server: its group plus descendants."""
        procs = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                st = read_proc_stat(int(entry))
                if st:
                    procs[int(entry)] = st
        members = {p for p, st in procs.items() if st[1] == self.pid}
        if self.pid in procs:
            members.add(self.pid)
        grew = True
        while grew:
            new = {p for p, st in procs.items() if st[0] in members} - members
            members |= new
            grew = bool(new)
        return {p: procs[p] for p in members}

    def pin_threads(self):
        """Move every thread of the server back to SERVER_CPU; returns the names
        of threads that had moved themselves (Knot pins its UDP workers to CPU
        i mod ncpus, overriding taskset, which put its worker next to dnsperf)."""
        moved = []
        want = {int(SERVER_CPU)}
        for pid in self.tree():
            try:
                tids = os.listdir(f"/proc/{pid}/task")
            except OSError:
                continue
            for tid in map(int, tids):
                try:
                    if os.sched_getaffinity(tid) != want:
                        os.sched_setaffinity(tid, want)
                        with open(f"/proc/{pid}/task/{tid}/comm") as f:
                            moved.append(f.read().strip())
                except OSError:
                    pass
        return moved

    def cpu_seconds(self):
        return sum(st[2] for st in self.tree().values()) / CLK_TCK

    def memory(self):
        """RSS in KiB (VmRSS, or the PSS sum when there are several processes) and
        peak (largest VmHWM), plus the process count."""
        pids = list(self.tree())
        status = [read_status(p) for p in pids]
        if len(pids) == 1:
            rss = status[0].get("VmRSS", 0)
        else:
            rss = sum(read_pss_kb(p) for p in pids)
        peak = max([s.get("VmHWM", 0) for s in status] or [0])
        return {"rss_kb": rss, "peak_kb": peak, "processes": len(pids)}

    def exited(self):
        code = self.popen.poll()
        if code is None:
            return None
        tail = ""
        try:
            with open(self.logpath) as f:
                lines = [l.strip() for l in f if l.strip() and not l.startswith("# ")]
            tail = lines[-1] if lines else ""
        except OSError:
            pass
        return f"exited with status {code}" + (f": {tail[:120]}" if tail else "")

    def signal_all(self, sig):
        try:
            os.killpg(self.pid, sig)
        except ProcessLookupError:
            pass
        for pid, st in self.tree().items():   # a descendant that left our group
            if st[1] != self.pid:
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass

    def gone_within(self, seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.popen.poll()                  # reap the leader so it leaves /proc
            if not self.tree():
                return True
            time.sleep(0.1)
        return False

    def stop(self):
        """SIGTERM to all the server's processes; SIGKILL if they are not gone
        in 120 s (Knot and NSD take a while to free a 10M-entry zone)."""
        if not self.popen:
            return
        for sig, patience in ((signal.SIGTERM, 120), (signal.SIGKILL, 10)):
            self.signal_all(sig)
            if self.gone_within(patience):
                break
        self.popen.wait()
        PidFile.update(remove=self.pid)
        self.popen = None


def port_free(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def pick_port(preferred):
    for port in range(preferred, preferred + 200, 10):
        if port_free(port):
            return port
    raise CellFailed(f"no free UDP port near {preferred}")


# ---- DNS probing ---------------------------------------------------------

def query_wire(qname, qid):
    msg = dns.message.make_query(qname, "A")
    msg.id = qid
    return msg.to_wire()


def answer_of(wire):
    """(rcode text, sorted A addresses) of a response."""
    msg = dns.message.from_wire(wire)
    addrs = sorted(rd.address for rrset in msg.answer if rrset.rdtype == dns.rdatatype.A
                   for rd in rrset)
    return dns.rcode.to_text(msg.rcode()), addrs


def wait_ready(proc, port, probes, echo_only):
    """Seconds from exec until the first correct answer for every zone.  Every
    10 ms a query goes out for each probe (a listed name per zone) not yet
    answered; the answer must be NOERROR with A 127.0.0.2 (the floor, which
    has no data, only has to echo with QR=1)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.connect(("127.0.0.1", port))
    sock.setblocking(False)
    limit_kb = MEM_LIMIT_GB * 2**20
    next_send = next_check = proc.t0
    qid = 0
    waiting = {}                          # query id -> probe index
    pending = set(range(len(probes)))
    try:
        while True:
            now = time.monotonic()
            if now >= next_send:
                for k in sorted(pending):
                    qid = (qid + 1) & 0xffff
                    waiting[qid] = k
                    try:
                        sock.send(query_wire(probes[k], qid))
                    except OSError:
                        pass                # ICMP port unreachable: not bound yet
                next_send = max(next_send + 0.01, now)
            if now >= next_check:
                why = proc.exited()
                if why:
                    raise CellFailed(why)
                if now - proc.t0 > START_TIMEOUT:
                    raise CellFailed(f"no correct answer within {START_TIMEOUT:g} s")
                mem = proc.memory()["rss_kb"]
                if mem > limit_kb:
                    raise CellFailed(f"memory {mem / 2**20:.1f} GiB passed the "
                                     f"{MEM_LIMIT_GB:g} GiB limit after {now - proc.t0:.0f} s")
                next_check = now + 0.5
            ready, _, _ = select.select([sock], [], [], max(0.0, next_send - time.monotonic()))
            if not ready:
                continue
            try:
                wire = sock.recv(65535)
            except OSError:
                continue
            t = time.monotonic() - proc.t0
            if len(wire) < 12 or not wire[2] & 0x80:
                continue
            k = waiting.get(int.from_bytes(wire[:2], "big"))
            if k is None:
                continue
            if not echo_only:
                try:
                    rcode, addrs = answer_of(wire)
                except Exception:
                    continue
                if rcode != "NOERROR" or "127.0.0.2" not in addrs:
                    continue
            pending.discard(k)
            if not pending:
                return t
    finally:
        sock.close()


def sample_answers(port, queries_path, count=CHECK_QUERIES):
    """Answers to the first `count` queries of the query file, in order."""
    names = []
    with open(queries_path) as f:
        for line in f:
            names.append(line.split()[0])
            if len(names) == count:
                break
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.connect(("127.0.0.1", port))
    sock.settimeout(1.0)
    answers = []
    try:
        for i, name in enumerate(names):
            result = ["TIMEOUT", []]
            for _ in range(3):
                try:
                    sock.send(query_wire(name, i))
                    wire = sock.recv(65535)
                    if int.from_bytes(wire[:2], "big") == i:
                        result = list(answer_of(wire))
                        break
                except (socket.timeout, OSError, dns.exception.DNSException):
                    continue
            answers.append(result)
    finally:
        sock.close()
    return answers


# ---- load ----------------------------------------------------------------

DNSPERF_FIELDS = {"sent": r"Queries sent:\s+(\d+)", "completed": r"Queries completed:\s+(\d+)",
                  "lost": r"Queries lost:\s+(\d+)", "runtime": r"Run time \(s\):\s+([\d.]+)",
                  "qps": r"Queries per second:\s+([\d.]+)",
                  "reply_bytes": r"Average packet size:.*response (\d+)",
                  "latency": r"Average Latency \(s\):\s+([\d.]+)"}


def dnsperf_argv(port, queries, seconds, rate):
    argv = ["taskset", "-c", CLIENT_CPU, "dnsperf", "-s", "127.0.0.1", "-p", str(port),
            "-d", queries, "-l", str(seconds)] + DNSPERF_OPTS
    return argv + (["-Q", str(rate)] if rate else [])


def parse_dnsperf(text):
    out = {}
    for key, pattern in DNSPERF_FIELDS.items():
        m = re.search(pattern, text)
        if not m:
            raise CellFailed(f"dnsperf output without '{key}'")
        out[key] = float(m.group(1))
    m = re.search(r"Response codes:\s+(.*)", text)
    out["rcodes"] = m.group(1).strip() if m else ""
    return out


def run_client(argv, timeout):
    """Run dnsperf to completion (killed after `timeout` s); returns its exit
    status, its output and the CPU seconds it used (from wait4)."""
    child = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL)
    killer = threading.Timer(timeout, child.kill)
    killer.start()
    try:
        text = child.stdout.read().decode(errors="replace")
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
    finally:
        killer.cancel()
        child.stdout.close()
        if child.returncode is None:      # interrupted: do not leave dnsperf behind
            child.kill()
            child.wait()
    return child.returncode, text, usage.ru_utime + usage.ru_stime


def cpu_times():
    """Per CPU: busy seconds (user+nice+system) and softirq seconds, from /proc/stat."""
    out = {}
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("cpu") and line[3].isdigit():
                name, *v = line.split()
                v = [int(x) / CLK_TCK for x in v]
                out[name[3:]] = {"busy": v[0] + v[1] + v[2], "softirq": v[6]}
    return out


def other_load(proc, seconds=0.5):
    """Cores' worth of CPU used by processes other than the server and this
    harness over `seconds`."""
    t0, c0, s0 = cpu_times(), proc.cpu_seconds(), time.process_time()
    time.sleep(seconds)
    t1, c1, s1 = cpu_times(), proc.cpu_seconds(), time.process_time()
    busy = sum(t1[k]["busy"] - t0[k]["busy"] for k in t1)
    return max(0.0, busy - (c1 - c0) - (s1 - s0)) / seconds


def wait_for_quiet(proc):
    """Other work on the machine (a build, a test suite) distorts the numbers:
    wait, up to BENCH_QUIET_WAIT seconds, until it uses under 5% of a core."""
    deadline = time.monotonic() + QUIET_WAIT
    while True:
        load = other_load(proc)
        if load < 0.05 or time.monotonic() > deadline:
            return load
        log(f"waiting for the machine to be quiet (other processes use {100 * load:.0f}% "
            f"of a core)")
        time.sleep(1.5)


def load_run(proc, port, queries, seconds, rate):
    """One dnsperf run; returns its counters, the server's and dnsperf's CPU and
    how much CPU other processes took on each of the two cores meanwhile."""
    argv = dnsperf_argv(port, queries, seconds, rate)
    wait_for_quiet(proc)
    t0 = cpu_times()
    c0, w0 = proc.cpu_seconds(), time.monotonic()
    code, text, client_cpu = run_client(argv, seconds + 60)
    c1, wall = proc.cpu_seconds(), time.monotonic() - w0
    t1 = cpu_times()
    if code != 0:
        raise CellFailed(f"dnsperf exited with {code}: {text.strip()[-120:]}")
    r = parse_dnsperf(text)
    why = proc.exited()
    if why:
        raise CellFailed("server " + why + " under load")
    r["server_cpu"] = c1 - c0
    r["client_cpu"] = client_cpu
    r["client_wall"] = wall

    def delta(cpu, key):
        return t1[cpu][key] - t0[cpu][key]
    r["other_server_core"] = max(0.0, delta(SERVER_CPU, "busy") - r["server_cpu"]) / wall
    r["other_client_core"] = max(0.0, delta(CLIENT_CPU, "busy") - client_cpu) / wall
    r["softirq_server_core"] = delta(SERVER_CPU, "softirq") / wall
    r["us_per_query"] = 1e6 * r["server_cpu"] / r["completed"] if r["completed"] else None
    return r


def median_of(runs, key):
    values = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(values) if values else None


def summarize(runs):
    keys = ("sent", "completed", "lost", "runtime", "qps", "reply_bytes", "latency",
            "server_cpu", "client_cpu", "us_per_query")
    out = {k: median_of(runs, k) for k in keys}
    out["server_cpu_pct"] = median_of(
        [{"v": 100 * r["server_cpu"] / r["runtime"]} for r in runs], "v")
    out["client_cpu_pct"] = median_of(
        [{"v": 100 * r["client_cpu"] / r["client_wall"]} for r in runs], "v")
    out["lost_pct"] = median_of([{"v": 100 * r["lost"] / max(r["sent"], 1)} for r in runs], "v")
    out["rcodes"] = runs[0]["rcodes"] if runs else ""
    out["softirq_server_core_pct"] = median_of(
        [{"v": 100 * r["softirq_server_core"]} for r in runs], "v")
    out["other_server_core_max_pct"] = max(100 * r["other_server_core"] for r in runs)
    out["other_client_core_max_pct"] = max(100 * r["other_client_core"] for r in runs)
    return out


def interference_pct(cell):
    """Largest share of a core other processes took during any of the cell's runs."""
    return max(cell[mode][f"other_{core}_core_max_pct"]
               for mode in ("full", "fixed") for core in ("server", "client"))


# ---- servers -------------------------------------------------------------

def rbldnsd_zone_args(ds):
    return [f"{z.name}:{z.rbltype}:{z.rblfile}" for z in ds.zones]


def nsd_conf(ds, port, workdir):
    conf = os.path.join(workdir, "nsd.conf")
    zones = "".join(f"zone:\n    name: {z.name}\n    zonefile: \"{z.zonefile}\"\n"
                    for z in ds.zones)
    with open(conf, "w") as f:
        f.write(f"""# generated by bench/dnsbench.py
server:
    ip-address: 127.0.0.1
    port: {port}
    do-ip6: no
    server-count: 1
    database: ""
    username: ""
    zonesdir: "{workdir}"
    pidfile: "{workdir}/nsd.pid"
    zonelistfile: "{workdir}/zone.list"
    xfrdfile: "{workdir}/xfrd.state"
    xfrdir: "{workdir}"
    cookie-secret-file: "{workdir}/cookiesecrets.txt"
    verbosity: 1
    # NSD ships with response rate limiting on (200 qps per source): off, or
    # the benchmark would measure the rate limiter.
    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0
remote-control:
    control-enable: no
{zones}""")
    return ["nsd", "-d", "-c", conf]


def knot_conf(ds, port, workdir):
    conf = os.path.join(workdir, "knot.conf")
    for sub in ("run", "db"):
        os.makedirs(os.path.join(workdir, sub), exist_ok=True)
    zones = "".join(f"  - domain: {z.name}\n    file: \"{z.zonefile}\"\n" for z in ds.zones)
    with open(conf, "w") as f:
        f.write(f"""# generated by bench/dnsbench.py
server:
    rundir: "{workdir}/run"
    listen: 127.0.0.1@{port}
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
database:
    storage: "{workdir}/db"
log:
  - target: stderr
    any: info
template:
  - id: default
    storage: "{workdir}"
    zonefile-load: whole
    zonefile-sync: -1
    journal-content: none
zone:
{zones}""")
    return ["knotd", "-c", conf]


class Server:
    def __init__(self, name, port_offset, argv_fn, echo_only=False, missing_fn=None):
        self.name, self.port_offset, self.argv_fn = name, port_offset, argv_fn
        self.echo_only, self.missing_fn = echo_only, missing_fn

    def missing(self):
        return self.missing_fn() if self.missing_fn else None


def missing_tool(tool):
    return lambda: None if shutil.which(tool) else f"{tool} not installed"


def rampart_missing():
    if not os.access(RAMPART, os.X_OK):
        return "rampart-dnsbl not built"
    return None


def server_table():
    floor = os.path.join(BIN, "floor")
    return {
        "floor": Server("floor", 0, lambda ds, port, wd: [floor, "127.0.0.1", str(port)],
                        echo_only=True),
        # Rate limiting off: dnsperf is one address sending 150k qps, an
        # attack by any per-client limit, and rbldnsd has no limiter to
        # compare with. The next row prices the limiter itself.
        "rampart-dnsbl": Server(
            "rampart-dnsbl", 1,
            lambda ds, port, wd: [RAMPART, "-n", "-u", "nobody", "-b", f"127.0.0.1/{port}",
                                  "-t", TTL, "--threads", "1", "--rrl", "off"]
            + rbldnsd_zone_args(ds),
            missing_fn=rampart_missing),
        # The limiter on, with limits no answer reaches: every answer pays for
        # its bucket updates (three cache lines), none is withheld.
        "rampart-rrl": Server(
            "rampart-rrl", 5,
            lambda ds, port, wd: [RAMPART, "-n", "-u", "nobody", "-b", f"127.0.0.1/{port}",
                                  "-t", TTL, "--threads", "1", "--rrl-rate", "1000000",
                                  "--rrl-nxdomain-rate", "1000000", "--rrl-error-rate", "1000000"]
            + rbldnsd_zone_args(ds),
            missing_fn=rampart_missing),
        "rbldnsd": Server(
            "rbldnsd", 2,
            lambda ds, port, wd: ["rbldnsd", "-n", "-u", "nobody", "-b", f"127.0.0.1/{port}",
                                  "-t", TTL] + rbldnsd_zone_args(ds),
            missing_fn=missing_tool("rbldnsd")),
        "nsd": Server("nsd", 3, nsd_conf, missing_fn=missing_tool("nsd")),
        "knot": Server("knot", 4, knot_conf, missing_fn=missing_tool("knotd")),
    }


# ---- one cell of the matrix ------------------------------------------------

def measure(server, ds):
    cell = {"server": server.name, "dataset": ds.name}
    why = server.missing()
    if why:
        cell["na"] = why
        log(f"{server.name} {ds.name}: n/a ({why})")
        return cell
    proc = None
    try:
        port = pick_port(PORT_BASE + server.port_offset)
        workdir = os.path.join(RUN, f"{server.name}-{ds.name}")
        shutil.rmtree(workdir, ignore_errors=True)
        os.makedirs(workdir)
        argv = server.argv_fn(ds, port, workdir)
        cell["command"] = " ".join(["taskset", "-c", SERVER_CPU] + argv)
        proc = Proc(server.name, argv, f"{server.name}-{ds.name}")
        proc.start()
        cell["ready_s"] = wait_ready(proc, port, ds.probes, server.echo_only)
        cell["memory_ready"] = proc.memory()
        cell["repinned"] = proc.pin_threads()
        log(f"{server.name} {ds.name}: ready in {cell['ready_s']:.2f} s, "
            f"RSS {cell['memory_ready']['rss_kb'] / 1024:.0f} MiB")
        if not server.echo_only:
            cell["answers"] = sample_answers(port, ds.queries)
        full, fixed = [], []
        for i in range(REPEAT):
            cell["repinned"] += proc.pin_threads()
            full.append(load_run(proc, port, ds.queries, SECONDS, None))
            fixed.append(load_run(proc, port, ds.queries, SECONDS, RATE))
            log(f"{server.name} {ds.name} run {i + 1}/{REPEAT}: max {full[-1]['qps']:.0f} qps "
                f"{fmt(full[-1]['us_per_query'], '.2f')} us/q, at {RATE}: "
                f"{fmt(fixed[-1]['us_per_query'], '.2f')} us/q, lost {fixed[-1]['lost']:.0f}")
        cell["full_runs"], cell["fixed_runs"] = full, fixed
        cell["full"], cell["fixed"] = summarize(full), summarize(fixed)
        cell["memory_after"] = proc.memory()
    except CellFailed as e:
        cell["na"] = str(e)
        log(f"{server.name} {ds.name}: n/a ({e})")
    finally:
        if proc:
            proc.stop()
    return cell


# ---- reload under load ----------------------------------------------------

def poll_until_listed(port, name, timeout):
    """Seconds until `name` answers A 127.0.0.2, querying every 10 ms; None on timeout."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.connect(("127.0.0.1", port))
    sock.settimeout(0.01)
    t0 = time.monotonic()
    qid = 0
    try:
        while time.monotonic() - t0 < timeout:
            qid = (qid + 1) & 0xffff
            try:
                sock.send(query_wire(name, qid))
                wire = sock.recv(65535)
                rcode, addrs = answer_of(wire)
                if rcode == "NOERROR" and "127.0.0.2" in addrs:
                    return time.monotonic() - t0
            except (socket.timeout, OSError, dns.exception.DNSException):
                pass
            time.sleep(max(0.0, 0.01 - (time.monotonic() - t0) % 0.01))
    finally:
        sock.close()
    return None


def reload_test(label, argv_fn, missing, base_ds, entries, port_offset):
    row = {"server": label, "entries": entries, "rate": RELOAD_RATE,
           "seconds": RELOAD_SECONDS}
    if missing:
        row["na"] = missing
        log(f"reload {label}: n/a ({missing})")
        return row
    workdir = os.path.join(RUN, "reload-" + label.replace(" ", ""))
    shutil.rmtree(workdir, ignore_errors=True)
    os.makedirs(workdir)
    datafile = os.path.join(workdir, "bl.rbl")
    shutil.copyfile(base_ds.zones[0].rblfile, datafile)
    # Two replacement files, each shifting the listed range by 10% of the
    # entries: 10% of the names drop out and 10% new ones appear.  The last
    # new entry is the probe that shows the reload has taken effect.
    variants = []
    for k in (1, 2):
        path = os.path.join(workdir, f"next{k}.rbl")
        out = subprocess.run([os.path.join(BIN, "gen"), "ip4", SEED, "bl.example",
                              str(k * entries // 10), str(entries), path, "-", "-", "0"],
                             check=True, capture_output=True, text=True).stdout
        variants.append((path, probes_of(out)[0]))
    make_world_readable(workdir)
    ds = Dataset(base_ds.name, "", [Zone("bl.example", "ip4set", datafile, None)],
                 base_ds.queries, None)
    proc = dnsperf = None
    try:
        port = pick_port(PORT_BASE + port_offset)
        argv = argv_fn(ds, port, workdir)
        row["command"] = " ".join(["taskset", "-c", SERVER_CPU] + argv)
        proc = Proc(label, argv, "reload-" + label.replace(" ", ""))
        proc.start()
        wait_ready(proc, port, base_ds.probes, False)
        row["repinned"] = proc.pin_threads()
        base = load_run(proc, port, ds.queries, RELOAD_SECONDS, RELOAD_RATE)
        row["baseline_sent"], row["baseline_lost"] = base["sent"], base["lost"]
        log(f"reload {label}: baseline without reload: sent {base['sent']:.0f}, "
            f"lost {base['lost']:.0f}")
        wait_for_quiet(proc)
        t0, c0, w0 = cpu_times(), proc.cpu_seconds(), time.monotonic()
        dnsperf = subprocess.Popen(dnsperf_argv(port, ds.queries, RELOAD_SECONDS, RELOAD_RATE),
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        t_start = time.monotonic()
        row["visible_s"] = []
        for k, (path, probe) in enumerate(variants, 1):
            time.sleep(max(0.0, t_start + k * RELOAD_SECONDS / 3 - time.monotonic()))
            tmp = datafile + ".tmp"
            shutil.copyfile(path, tmp)
            os.chmod(tmp, 0o644)
            os.rename(tmp, datafile)          # atomic replacement
            os.kill(proc.pid, signal.SIGHUP)
            seen = poll_until_listed(port, probe, RELOAD_SECONDS / 3 - 0.2)
            row["visible_s"].append(seen)
            log(f"reload {label}: replacement {k} visible after "
                + (f"{seen:.3f} s" if seen is not None else "(not seen)"))
        text, _ = dnsperf.communicate(timeout=RELOAD_SECONDS + 60)
        dnsperf = None
        t1, c1, wall = cpu_times(), proc.cpu_seconds(), time.monotonic() - w0
        row["other_server_core_pct"] = 100 * max(
            0.0, t1[SERVER_CPU]["busy"] - t0[SERVER_CPU]["busy"] - (c1 - c0)) / wall
        row.update(parse_dnsperf(text))
        why = proc.exited()
        if why:
            raise CellFailed("server " + why)
        log(f"reload {label}: sent {row['sent']:.0f}, completed {row['completed']:.0f}, "
            f"lost {row['lost']:.0f}")
    except CellFailed as e:
        row["na"] = str(e)
        log(f"reload {label}: n/a ({e})")
    finally:
        if dnsperf:
            dnsperf.kill()
            dnsperf.wait()
        if proc:
            proc.stop()
    return row


# ---- report ---------------------------------------------------------------

def machine_info():
    model = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kb = int(f.readline().split()[1])
    versions = {}
    for pkg in ("rbldnsd", "nsd", "knot", "dnsperf"):
        r = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", pkg],
                           capture_output=True, text=True)
        versions[pkg] = r.stdout.strip() or "?"
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    return {"nproc": os.cpu_count(), "cpu": model, "kernel": os.uname().release,
            "mem_gib": mem_kb / 2**20, "versions": versions, "loadavg_start": load,
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


def fmt(value, spec, na="–"):
    return na if value is None else format(value, spec)


def answers_note(cell, reference):
    if "answers" not in cell:
        return "echo"
    got = cell["answers"]
    bad = sum(1 for a in got if a[0] == "TIMEOUT")
    if reference is None or reference is cell:
        hits = sum(1 for a in got if "127.0.0.2" in a[1])
        return f"ref ({hits}/{len(got)} listed)" + (f", {bad} timeouts" if bad else "")
    same = sum(1 for a, b in zip(got, reference["answers"]) if a == b)
    return f"{same}/{len(got)} same"


def dataset_table(ds, cells):
    ref = next((c for c in cells if c["server"] == "rbldnsd" and "answers" in c), None)
    floor = next((c for c in cells if c["server"] == "floor" and "full" in c), None)
    head = ("| server | ready (s) | RSS MiB | peak MiB | reply B | answers | max qps "
            "| server CPU | dnsperf CPU | µs/query at max | × floor | qps per core "
            f"| µs/query at {RATE // 1000}k | × floor | lost at {RATE // 1000}k | other load |")
    lines = [head, "|---|" + "---:|" * 15]
    for c in cells:
        if "na" in c and "full" not in c:
            lines.append(f"| {c['server']} | n/a ({c['na']}) |" + " |" * 14)
            continue
        full, fixed, mem = c["full"], c["fixed"], c["memory_ready"]
        peak = max(mem["peak_kb"], c.get("memory_after", mem)["peak_kb"])

        def ratio(mode):
            if not floor or c is floor or c[mode]["us_per_query"] is None:
                return "1.00" if c is floor else "–"
            return fmt(c[mode]["us_per_query"] / floor[mode]["us_per_query"], ".2f")

        procs = f" ({mem['processes']} proc)" if mem["processes"] > 1 else ""
        mark = " †" if c.get("repinned") else ""
        lines.append(
            f"| {c['server']}{mark} | {c['ready_s']:.2f} | {mem['rss_kb'] / 1024:.1f}{procs} "
            f"| {peak / 1024:.1f} | {fmt(full['reply_bytes'], '.0f')} "
            f"| {answers_note(c, ref)} | {full['qps']:,.0f} "
            f"| {full['server_cpu_pct']:.0f}% | {full['client_cpu_pct']:.0f}% "
            f"| {fmt(full['us_per_query'], '.2f')} | {ratio('full')} "
            f"| {fmt(full['us_per_query'] and 1e6 / full['us_per_query'], ',.0f')} "
            f"| {fmt(fixed['us_per_query'], '.2f')} | {ratio('fixed')} "
            f"| {fixed['lost_pct']:.2f}% | {interference_pct(c):.0f}% |")
    for c in cells:
        if c.get("repinned"):
            lines.append(f"\n† {c['server']}: {len(c['repinned'])} thread(s) "
                         f"({', '.join(sorted(set(c['repinned'])))}) had set their own CPU "
                         f"affinity, overriding taskset; the harness moved them back to CPU "
                         f"{SERVER_CPU} once the server answered.")
    return "\n".join(lines)


def reload_table(rows):
    lines = ["| server | entries | rate (qps) | sent | completed | lost | lost % "
             "| lost without reload | 1st reload visible after (s) "
             "| 2nd reload visible after (s) | other load |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        if "na" in r and "sent" not in r:
            lines.append(f"| {r['server']} | n/a ({r['na']}) | | | | | | | | | |")
            continue
        vis = [fmt(v, ".3f", "not seen") for v in r.get("visible_s", [])] + ["–", "–"]
        lines.append(f"| {r['server']} | {r['entries']:,} | {r['rate']:,} | {r['sent']:,.0f} "
                     f"| {r['completed']:,.0f} | {r['lost']:,.0f} "
                     f"| {100 * r['lost'] / max(r['sent'], 1):.2f}% "
                     f"| {r['baseline_lost']:,.0f} of {r['baseline_sent']:,.0f} "
                     f"| {vis[0]} | {vis[1]} "
                     f"| {r['other_server_core_pct']:.0f}% |")
    return "\n".join(lines)


def write_report(info, datasets, cells, reloads, command):
    v = info["versions"]
    out = [
        "# DNSBL server benchmark",
        "",
        f"Generated by `bench/run.sh` on {info['date']}"
        + (" — **quick smoke run (BENCH_QUICK=1), not for publication**" if QUICK else "")
        + ".",
        "",
        f"- Command: `{command}`",
        f"- Machine: {info['nproc']} CPUs (nproc), {info['cpu']}, Linux {info['kernel']}, "
        f"{info['mem_gib']:.1f} GiB RAM; load average at start {info['loadavg_start']}",
        f"- Peers: rbldnsd {v['rbldnsd']}, NSD {v['nsd']}, Knot DNS {v['knot']}; "
        f"client dnsperf {v['dnsperf']}; rampart-dnsbl: `{RAMPART}`"
        + (" (not built)" if rampart_missing() else ""),
        f"- Each server pinned to CPU {SERVER_CPU} (`taskset -c {SERVER_CPU}`; rampart-dnsbl "
        f"with `--threads 1`, NSD `server-count: 1`, Knot `udp-workers: 1`), dnsperf pinned "
        f"to CPU {CLIENT_CPU}: `dnsperf {' '.join(DNSPERF_OPTS)} -l {SECONDS}` "
        f"[`-Q {RATE}`], {REPEAT} run{'s' if REPEAT != 1 else ''} of each, "
        + ("medians shown." if REPEAT > 1 else "single values."),
        "- Queries: A queries from a fixed random file, half for listed entries, half for "
        "entries that are not listed (NXDOMAIN).",
        "",
        "Columns: *ready* = seconds from exec until the first correct answer (query every "
        "10 ms). *RSS* = VmRSS once ready (for servers with several processes, the sum of "
        "their PSS so shared pages count once); *peak* = largest VmHWM. *reply B* = mean "
        "response size seen by dnsperf. *answers* = of the first 200 queries, how many got "
        "the same rcode and A records as from rbldnsd. *server CPU* / *dnsperf CPU* = share "
        "of one core used during the unlimited run; dnsperf near 100% means the client, not "
        "the server, set the maximum. *µs/query* = server utime+stime (all its threads and "
        "processes, from /proc/PID/stat) / queries completed; *× floor* = that divided by "
        "the floor server's at the same load setting; *qps per core* = 10^6 / µs per query "
        "at max, the rate the server would reach with a whole core to itself (an "
        "estimate, useful when dnsperf is the bottleneck). *other load* = the largest share "
        "of either core that other processes used during any run (from /proc/stat); above "
        "a few percent the row is disturbed. The kernel's softirq time for loopback "
        "delivery is charged to no process and is not in µs/query; at the maximum rate it "
        f"was {softirq_note(cells)} of the server's core.",
        "",
    ]
    worst = max([interference_pct(c) for c in cells if "full" in c] or [0])
    if worst > 10:
        out[4:4] = [f"**Warning: other processes used up to {worst:.0f}% of a core during "
                    "some runs (see *other load*); those rows are not clean measurements. "
                    "Rerun on an idle machine.**", ""]
    for ds in datasets:
        sizes = ", ".join(f"{os.path.basename(z.rblfile)} {file_mib(z.rblfile):.1f} MiB"
                          for z in ds.zones)
        zsizes = sum(file_mib(z.zonefile) for z in ds.zones)
        out += [f"## {ds.name}: {ds.title}", "",
                f"Data: {sizes}; zone files for NSD/Knot {zsizes:.1f} MiB (an A and a TXT "
                f"record per listed name); generated in {fmt(ds.gen_seconds, '.1f')} s.", "",
                dataset_table(ds, [c for c in cells if c["dataset"] == ds.name]), ""]
    if reloads:
        out += ["## Reload under load", "",
                f"The server serves the {reloads[0]['entries']:,}-entry ip4set zone while "
                f"dnsperf sends {RELOAD_RATE:,} qps for {RELOAD_SECONDS} s. At 1/3 and 2/3 of "
                "the run the data file is replaced by atomic rename with a version where 10% "
                "of the entries changed, and the server gets SIGHUP. *visible after* = time "
                "from SIGHUP until a newly listed entry answers (polled every 10 ms). Lost = "
                "dnsperf's \"Queries lost\" (no answer within the timeout); *lost without "
                "reload* = the same run just before, with no reload, for comparison.", "",
                reload_table(reloads), ""]
    text = "\n".join(out)
    with open(os.path.join(OUT, "dnsbl.md"), "w") as f:
        f.write(text)
    return text


# ---- main -----------------------------------------------------------------

def main():
    for d in (DATA, RUN, LOGS):
        os.makedirs(d, exist_ok=True)
    PidFile.update()
    info = machine_info()
    user_vars = sorted(set(os.environ.get("BENCH_USER_VARS", "").split()) - {"BENCH_USER_VARS"})
    command = " ".join([f"{k}={shlex.quote(os.environ.get(k, ''))}" for k in user_vars]
                       + [f"RAMPART_BUILD={shlex.quote(RAMPART_BUILD)}", "sh bench/run.sh"])
    log(f"settings: datasets={' '.join(DATASETS)} servers={' '.join(SERVERS)} "
        f"seconds={SECONDS} repeat={REPEAT} rate={RATE} quick={int(QUICK)}")

    datasets = all_datasets()
    reload_servers = [s for s in ("rampart-dnsbl", "rbldnsd") if s in SERVERS] if RELOAD else []
    reload_base = next((d for d in datasets if d.name == RELOAD_DATASET), None)
    if reload_servers and reload_base is None:
        reload_base = ip4_dataset(RELOAD_DATASET, RELOAD_ENTRIES)
        generate(reload_base)
    for ds in datasets:
        generate(ds)
    make_world_readable(DATA)

    table = server_table()
    for name in SERVERS:
        if name not in table:
            sys.exit(f"dnsbench: unknown server {name} (known: {' '.join(table)})")
    if rampart_missing() and "rampart-dnsbl" in SERVERS:
        log(f"rampart-dnsbl not built ({RAMPART} missing): its cells will read n/a")

    cells = []
    for ds in datasets:
        for name in SERVERS:
            cells.append(measure(table[name], ds))
            write_json(info, cells, [])

    # Reload under load: rampart-dnsbl, rbldnsd, and rbldnsd -f (which forks a
    # child to keep answering while the parent loads).
    reloads = []
    rbl = table["rbldnsd"]
    plans = [("rampart-dnsbl", table["rampart-dnsbl"].argv_fn, rampart_missing(), 1),
             ("rbldnsd", rbl.argv_fn, rbl.missing(), 2),
             ("rbldnsd -f", lambda ds, port, wd: rbl.argv_fn(ds, port, wd)[:1] + ["-f"]
              + rbl.argv_fn(ds, port, wd)[1:], rbl.missing(), 2)]
    for label, argv_fn, missing, offset in plans:
        if label.split()[0] in reload_servers:
            reloads.append(reload_test(label, argv_fn, missing, reload_base, RELOAD_ENTRIES,
                                       offset))
    write_json(info, cells, reloads)
    print(write_report(info, datasets, cells, reloads, command))


def softirq_note(cells):
    values = [c["full"]["softirq_server_core_pct"] for c in cells if "full" in c]
    if not values:
        return "not measured"
    return f"{min(values):.0f}–{max(values):.0f}%"


def write_json(info, cells, reloads):
    with open(os.path.join(OUT, "results.json"), "w") as f:
        json.dump({"machine": info, "cells": cells, "reloads": reloads}, f, indent=1)


def on_signal(signum, frame):
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    main()
