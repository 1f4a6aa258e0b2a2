"""The flood proof (issue 4): rampart-dnsbl keeps serving legitimate clients
while it is attacked, and reflects no more bytes than the attacker sends.

Four phases. In each, legitimate clients (floodgen legit: 256 addresses, one
per /24, spread over 32 /16s of 127.96.0.0/11, 4 queries/s each, like a
resolver: 1 s timeout, one UDP retry, TCP on TC=1) query while an attack
(floodgen udp or tcp) runs from other prefixes:

  1  one /24 (127.10.1.0/24) sending TXT queries for listed names, EDNS 4096,
     as fast as the machine can produce them;
  2  a random-subdomain NXDOMAIN flood from 1,000 addresses (10 in each of
     100 /24s of 127.20.0.0/16), as fast as possible;
  3  2,000 TCP connections from 500 addresses of 127.40.0.0/16, half idle,
     half slowloris (a query one byte every 250 ms), reopened 250 ms after
     the server closes one; a quarter of the legitimate clients ask over TCP;
  4  every address of 127.30.0.0/16, each sending FLOOD_P4_PER_SOURCE (2)
     queries/s, under any per-/32 limit (131k queries/s in all).

Measured for the legitimate clients: share answered (correctly) and p99
latency over the answered queries; for the attack: bytes out / bytes in (DNS
payload; answers the kernel dropped at the attacker's socket count at the
largest answer size, so the figure is an upper bound). Targets for
rampart-dnsbl: >= 99% answered, p99 < 100 ms, amplification <= 1.0, asserted
one test per phase and target. The same phases run against Debian's rbldnsd
(UDP only: it has no TCP at all) in the same run, as the comparison: its
figures are recorded, not asserted. The table goes to FLOOD_OUT/flood.md
(default tests/flood/out) and is printed at the end of the run.

Pinning: the server on CPU FLOOD_SERVER_CPU (1), rampart-dnsbl with
--threads 1; the attack and the legitimate clients on FLOOD_CLIENT_CPU (0),
the clients at nice -10 so that the attack does not delay their own sends.
The machine is shared: each server and generator runs in a session (and so
a scheduling autogroup) of its own at autogroup nice FLOOD_NICE (-10), and
each run first waits up to FLOOD_QUIET_WAIT s for other processes to go
quiet; the CPU they took anyway is in the report ("other load").

Settings (environment):
  FLOOD_SECONDS         seconds per phase and server (default 4; make bench 20)
  FLOOD_PHASES          subset of 1 2 3 4
  FLOOD_RAMPART_ARGS    options added to rampart-dnsbl's command line
  FLOOD_P4_PER_SOURCE   phase 4 queries/s per source address (2)
  FLOOD_QUIET_WAIT      seconds to wait for other processes to go quiet before
                        each run (default 5)
  FLOOD_NICE            autogroup nice of the servers and generators (-10)
  FLOOD_COMMAND         the command line the report names (bench/flood.sh sets it)
  FLOOD_OUT, FLOOD_SERVER_CPU, FLOOD_CLIENT_CPU, RAMPART_BUILD
"""

import datetime
import json
import os
import resource
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import dns.exception
import dns.message
import dns.rcode
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BUILD = os.environ.get("RAMPART_BUILD", os.path.join(ROOT, "build"))
RAMPART = os.path.join(BUILD, "rampart-dnsbl")
FLOODGEN = os.path.join(BUILD, "floodgen")
RBLDNSD = shutil.which("rbldnsd") or "/usr/sbin/rbldnsd"
OUT = os.environ.get("FLOOD_OUT", os.path.join(HERE, "out"))
SECONDS = float(os.environ.get("FLOOD_SECONDS", "") or 4)
PHASE_IDS = (os.environ.get("FLOOD_PHASES", "") or "1 2 3 4").split()
RAMPART_EXTRA = shlex.split(os.environ.get("FLOOD_RAMPART_ARGS", ""))
P4_PER_SOURCE = float(os.environ.get("FLOOD_P4_PER_SOURCE", "") or 2)
QUIET_WAIT = float(os.environ.get("FLOOD_QUIET_WAIT", "") or 5)
PRIORITY = int(os.environ.get("FLOOD_NICE", "") or -10)
SERVER_CPU = os.environ.get("FLOOD_SERVER_CPU", "1")
CLIENT_CPU = os.environ.get("FLOOD_CLIENT_CPU", "0")
CLK_TCK = os.sysconf("SC_CLK_TCK")

ADDR = "127.0.0.1"
ZONE = "bl.test"
LISTED, UNLISTED = "10.1.0.0/16", "10.2.0.0/16"
LEGIT = ["--sources", "127.96.0.0/11,n=256,nets=256", "--rate", "4"]
TARGET_ANSWERED, TARGET_P99_MS, TARGET_AMPLIFICATION = 0.99, 100.0, 1.0
SERVERS = ("rampart-dnsbl", "rbldnsd")


def server_argv(name, port, datafile):
    """The one place where the servers' command lines are written.  Both get
    the same data and address; rampart-dnsbl runs with its defaults (rate
    limiting on, once it exists) and one UDP worker, plus FLOOD_RAMPART_ARGS."""
    common = ["-n", "-u", "nobody", "-b", f"{ADDR}/{port}"]
    if name == "rampart-dnsbl":
        return ["taskset", "-c", SERVER_CPU, RAMPART, *common, "--threads", "1",
                *RAMPART_EXTRA, f"{ZONE}:ip4set:{datafile}"]
    return ["taskset", "-c", SERVER_CPU, RBLDNSD, *common, f"{ZONE}:ip4set:{datafile}"]


class Phase:
    def __init__(self, pid, title, attack, legit_extra=()):
        self.id, self.title, self.attack, self.legit_extra = pid, title, attack, list(legit_extra)

    @property
    def tcp(self):
        return self.attack[0] == "tcp"


PHASES = {p.id: p for p in [
    Phase("1", "one /24 at the maximum rate (TXT, listed names, EDNS 4096)",
          ["udp", "--sources", "127.10.1.0/24", "--names", "listed", "--qtype", "TXT",
           "--edns", "4096", "--rate", "0"]),
    Phase("2", "random-subdomain NXDOMAIN flood, 1,000 addresses in 100 /24s",
          ["udp", "--sources", "127.20.0.0/16,n=1000,nets=100", "--names", "random",
           "--edns", "1232", "--rate", "0"]),
    Phase("3", "2,000 idle and slowloris TCP connections from 500 addresses",
          ["tcp", "--sources", "127.40.0.0/16,n=500,nets=50", "--connections", "2000",
           "--slowloris-share", "0.5", "--byte-interval-ms", "250", "--reconnect-ms", "250"],
          legit_extra=["--tcp-share", "0.25"]),
    Phase("4", "a /16-wide spread: 65,536 sources, each under the per-/32 limit",
          ["udp", "--sources", "127.30.0.0/16", "--names", "mixed",
           "--rate", str(int(65536 * P4_PER_SOURCE))]),
]}


# ---- mechanics -----------------------------------------------------------

def free_port():
    """A port free for both UDP and TCP on ADDR right now."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.bind((ADDR, 0))
            port = u.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
                try:
                    t.bind((ADDR, port))
                except OSError:
                    continue
            return port
    raise RuntimeError("no free loopback port")


def answers_listed(port):
    """True when the server answers a listed name with A 127.0.0.2."""
    q = dns.message.make_query(f"1.0.1.10.{ZONE}", "A")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.2)
        try:
            s.sendto(q.to_wire(), (ADDR, port))
            r = dns.message.from_wire(s.recv(4096))
        except (OSError, dns.exception.DNSException):
            return False
    return (r.id == q.id and r.rcode() == dns.rcode.NOERROR and
            any(rd.to_text() == "127.0.0.2" for rrset in r.answer for rd in rrset))


def proc_cpu_seconds(pid):
    """utime+stime of a process and all its threads."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def machine_busy_seconds():
    """user+nice+system over all CPUs, from /proc/stat; not softirq, which is
    charged to no process.  Niced processes count: with autogroups a niced
    process of another session does not yield (see own_autogroup)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (v[0] + v[1] + v[2]) / CLK_TCK


def own_autogroup():
    """Run in the child after setsid(): the new session is a scheduling
    autogroup of its own (kernel.sched_autogroup_enabled), which competes with
    every other session's group as an equal whatever the nice values inside
    them; a fuzzer left running at nice 19 in another session took half the
    server's core.  Our groups get nice FLOOD_NICE (-10) instead, so the
    servers and the generators run as if the others were niced."""
    try:
        with open("/proc/self/autogroup", "w") as f:
            f.write(str(PRIORITY))
    except OSError:
        pass


def wait_for_quiet():
    """The machine is shared: wait (at most FLOOD_QUIET_WAIT s) until other
    processes use under a tenth of a core, so that they disturb the phase as
    little as possible.  Returns the cores they used in the last half second."""
    deadline = time.monotonic() + QUIET_WAIT
    while True:
        b0, s0 = machine_busy_seconds(), time.process_time()
        time.sleep(0.5)
        other = max(0.0, machine_busy_seconds() - b0 - (time.process_time() - s0)) / 0.5
        if other < 0.1 or time.monotonic() >= deadline:
            return other


def children_cpu_seconds():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def udp_socket_drops(port):
    """Datagrams the kernel dropped at the server's UDP socket(s) on ADDR:port."""
    want = "%08X:%04X" % (int.from_bytes(socket.inet_aton(ADDR), "little"), port)
    drops = 0
    with open("/proc/net/udp") as f:
        for line in f:
            fields = line.split()
            if len(fields) > 12 and fields[1] == want:
                drops += int(fields[12])
    return drops


class Server:
    """A server under test, in its own process group, pinned by taskset."""

    def __init__(self, name, datafile, logdir):
        self.name = name
        self.port = free_port()
        self.argv = server_argv(name, self.port, datafile)
        self.logpath = os.path.join(logdir, f"{name}-{self.port}.log")
        self.proc = None

    def start(self, timeout=10.0):
        with open(self.logpath, "w") as log:
            self.proc = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True,
                                         preexec_fn=own_autogroup)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            if answers_listed(self.port):
                return
            time.sleep(0.05)
        self.stop()
        pytest.fail(f"{self.name} did not answer on {ADDR}/{self.port}: "
                    f"{' '.join(self.argv)}\n{self.log_tail()}")

    def log_tail(self, lines=15):
        try:
            with open(self.logpath, errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""

    def stop(self):
        if not self.proc or self.proc.poll() is not None:
            return
        for sig, patience in ((signal.SIGTERM, 5), (signal.SIGKILL, 5)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.proc.wait(timeout=patience)
                return
            except subprocess.TimeoutExpired:
                pass


def floodgen(args, port, seconds, nice=0):
    """Start floodgen pinned to the client CPU; returns the Popen."""
    cpu = int(CLIENT_CPU)

    def prepare():
        own_autogroup()
        os.sched_setaffinity(0, {cpu})
        if nice:
            try:
                os.nice(nice)
            except OSError:
                pass
    argv = [FLOODGEN, *args, "--target", f"{ADDR}:{port}", "--seconds", str(seconds),
            "--zone", ZONE, "--listed", LISTED, "--unlisted", UNLISTED]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, preexec_fn=prepare)


def collect(proc, what, timeout):
    """floodgen's JSON line, or pytest.fail with its error output."""
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail(f"floodgen {what} ran past its {timeout:.0f} s deadline")
    lines = [line for line in out.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        pytest.fail(f"floodgen {what} failed (exit {proc.returncode}): {err.strip()[:500]}")
    return json.loads(lines[-1])


def run_phase(phase, name, datafile, logdir):
    """One phase against one server: attack and legitimate clients together
    for SECONDS; returns the figures."""
    server = Server(name, datafile, logdir)
    server.start()
    try:
        wait_for_quiet()
        cpu0, busy0, kids0 = proc_cpu_seconds(server.proc.pid), machine_busy_seconds(), \
            children_cpu_seconds()
        t0 = time.monotonic()
        attack = floodgen(phase.attack, server.port, SECONDS)
        legit = floodgen(["legit", *LEGIT, *phase.legit_extra], server.port, SECONDS, nice=-10)
        a = collect(attack, f"{phase.attack[0]} (phase {phase.id}, {name})", SECONDS + 30)
        lg = collect(legit, f"legit (phase {phase.id}, {name})", SECONDS + 30)
        wall = time.monotonic() - t0
        if server.proc.poll() is not None:
            pytest.fail(f"{name} exited during phase {phase.id} (status {server.proc.returncode}):"
                        f"\n{server.log_tail()}")
        cpu1, busy1, kids1 = proc_cpu_seconds(server.proc.pid), machine_busy_seconds(), \
            children_cpu_seconds()
        drops = udp_socket_drops(server.port)
    finally:
        server.stop()
    server_cpu = (cpu1 - cpu0) if cpu0 is not None and cpu1 is not None else 0.0
    if phase.tcp:
        amplification = a["amplification"]
    else:
        amplification = a["amplification_max"]
        if a["rx_dropped"] < 0:
            pytest.fail(f"phase {phase.id}, {name}: the attacker's socket drops are unknown")
    return {
        "server": name, "argv": server.argv, "attack": a, "legit": lg,
        "answered": lg["answered_share"], "p99": lg["latency_ms"]["p99"],
        "amplification": amplification, "server_drops": drops,
        "server_cpu": server_cpu / wall, "generators_cpu": (kids1 - kids0) / wall,
        "other_load": max(0.0, (busy1 - busy0) - server_cpu - (kids1 - kids0)) / wall,
        "wall": wall,
    }


# ---- report --------------------------------------------------------------

def machine_info():
    model = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    r = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "rbldnsd"],
                       capture_output=True, text=True)
    return {"cpus": os.cpu_count(), "model": model, "kernel": os.uname().release,
            "rbldnsd": r.stdout.strip() or "?",
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


def k(n):
    return f"{n / 1000:,.0f}k" if n >= 10000 else f"{n:,}"


def meets(res):
    missed = [m.split()[0] for m in misses(res)]
    return "all met" if not missed else "missed: " + ", ".join(missed)


def attack_cell(phase, a):
    if phase.tcp:
        return (f"{a['opens']:,} opens, {a['max_open']:,} open at most, "
                f"{a['closed_by_server']:,} closed by server, {a['refused']:,} refused, "
                f"{a['open_at_end']:,} held to the end")
    return (f"{k(a['rate_pps'])} q/s from {a['sources']:,} sources "
            f"({a['rate_pps'] / a['sources']:,.0f} each); "
            f"{k(a['recv_pkts'])} answers ({k(a['tc_pkts'])} TC)")


def failures_cell(lg):
    bad = {key: v for key, v in lg["results"].items() if key != "answered" and v}
    text = ", ".join(f"{key} {v}" for key, v in bad.items()) or "none"
    if lg["tcp"]["sent"]:
        text += f"; TCP clients {lg['tcp']['answered']}/{lg['tcp']['sent']}"
    return text


def report(results, command, datadir):
    info = machine_info()
    lines = [
        "## Flood proof: rampart-dnsbl and rbldnsd under attack",
        "",
        f"Command: `{command}`.",
        f"Machine: {info['cpus']} CPUs ({info['model']}), Linux {info['kernel']}; "
        f"{info['date']}. Each phase ran {SECONDS:g} s per server.",
        "",
        "Servers (same data, $DATA/bl: a small ip4set zone, 10.1.0.0/16 listed, with $SOA "
        "and $NS; each run on a free port):",
        "",
    ]
    for name in SERVERS:
        argv = next((r[name]["argv"] for r in results.values() if name in r), None)
        if argv:
            text = " ".join(shlex.quote(a) for a in argv).replace(ROOT + "/", "")
            lines.append(f"- {name}: `{text.replace(datadir, '$DATA')}`")
    lines += [
        f"- rbldnsd is Debian's {info['rbldnsd']}; it has no TCP at all.",
    ]
    lines += [
        "",
        "Legitimate clients: 256 addresses, one per /24, spread over 32 /16s "
        "(127.96.0.0/11), 4 queries/s each (45% listed A, 45% unlisted A, 10% listed "
        "TXT; EDNS 1232); 1 s timeout, one UDP retry, TCP on TC=1; in phase 3 a "
        "quarter of them ask over TCP only. *answered* = correct answers / queries; "
        "*p99* over the answered ones, from the first send to the final answer. "
        "*amplification* = attack bytes out / bytes in (DNS payload; answers "
        "dropped at the attacker's socket count at the largest size). Targets for "
        f"rampart-dnsbl: answered >= {TARGET_ANSWERED:.0%}, p99 < {TARGET_P99_MS:g} ms, "
        f"amplification <= {TARGET_AMPLIFICATION:g}; rbldnsd's figures are the comparison.",
        "",
        "| phase | attack | rampart-dnsbl answered | p99 ms | amplification | targets "
        "| rbldnsd answered | p99 ms | amplification |",
        "|---|---|---:|---:|---:|---|---:|---:|---:|",
    ]

    def cells(res):
        if res is None:
            return ["n/a", "n/a", "n/a"]
        return [f"{res['answered']:.2%}", f"{res['p99']:.2f}", f"{res['amplification']:.2f}"]
    for pid, r in results.items():
        phase = PHASES[pid]
        ra, rb = r.get("rampart-dnsbl"), r.get("rbldnsd")
        lines.append("| " + " | ".join(
            [pid, phase.title, *cells(ra), meets(ra) if ra else "did not run", *cells(rb)]) + " |")
    lines += [
        "",
        "Details. *attack*: what the generator did and got back; *failures*: the "
        "legitimate queries not answered, by reason; *server CPU* = share of its core "
        "used by the server process (the kernel's softirq work delivering its answers "
        "on loopback is charged to no process and not included); "
        "*server drops* = datagrams the kernel dropped at the server's socket; "
        "*other load* = CPU (in cores) used by processes other than the server and "
        "the generators during the phase.",
        "",
        "| phase | server | attack | legit sent | p50 ms | p99 ms | max ms | failures "
        "| server CPU | server drops | generators CPU | other load |",
        "|---|---|---|---:|---:|---:|---:|---|---:|---:|---:|---:|",
    ]
    for pid, r in results.items():
        for name in SERVERS:
            res = r.get(name)
            if res is None:
                why = r["errors"].get(name, "not run").splitlines()[0][:200]
                lines.append(f"| {pid} | {name} | n/a ({why}) | | | | | | | | | |")
                continue
            lg = res["legit"]
            lines.append("| " + " | ".join([
                pid, name, attack_cell(PHASES[pid], res["attack"]), f"{lg['sent']:,}",
                f"{lg['latency_ms']['p50']:.3f}", f"{lg['latency_ms']['p99']:.2f}",
                f"{lg['latency_ms']['max']:.1f}", failures_cell(lg),
                f"{res['server_cpu']:.0%}", f"{res['server_drops']:,}",
                f"{res['generators_cpu']:.2f}", f"{res['other_load']:.2f}"]) + " |")
    return "\n".join(lines) + "\n"


# ---- the tests -----------------------------------------------------------

class FloodRun:
    """Runs each phase once (both servers), on first use, and keeps the figures."""

    def __init__(self, datafile, logdir):
        self.datafile, self.logdir = datafile, logdir
        self.results = {}

    def phase(self, pid):
        if pid not in self.results:
            r = self.results[pid] = {"errors": {}}
            for name in SERVERS:
                try:
                    r[name] = run_phase(PHASES[pid], name, self.datafile, self.logdir)
                except (Exception, pytest.fail.Exception) as e:
                    r["errors"][name] = str(e) or type(e).__name__
        return self.results[pid]


@pytest.fixture(scope="module")
def flood(pytestconfig):
    for path, what in ((RAMPART, "rampart-dnsbl"), (FLOODGEN, "floodgen"),
                       (RBLDNSD, "rbldnsd (Debian package rbldnsd)")):
        if not os.access(path, os.X_OK):
            pytest.fail(f"{what} not found at {path}")
    if os.geteuid() != 0:
        pytest.fail("the flood proof runs as root (the servers drop to nobody)")
    if os.cpu_count() < 2 or {SERVER_CPU, CLIENT_CPU} - {str(c) for c in
                                                      os.sched_getaffinity(0)}:
        pytest.fail(f"needs CPUs {SERVER_CPU} and {CLIENT_CPU} (set FLOOD_SERVER_CPU, "
                    "FLOOD_CLIENT_CPU)")
    d = tempfile.mkdtemp(prefix="rampart-flood-")
    os.chmod(d, 0o755)     # the servers drop to nobody before reading the data
    datafile = os.path.join(d, "bl")
    with open(datafile, "w") as f:
        f.write("$SOA 3600 ns1.flood.test. hostmaster.flood.test. 1 3600 600 86400 60\n"
                "$NS 3600 ns1.flood.test.\n"
                ":127.0.0.2:Listed by the flood test, see http://flood.test/lookup?ip=$\n"
                f"{LISTED}\n"
                "10.3.0.1\n"
                "10.3.0.2 :127.0.0.4:Open proxy $\n")
    os.chmod(datafile, 0o644)
    run = FloodRun(datafile, d)
    yield run
    shutil.rmtree(d, ignore_errors=True)
    if run.results:
        command = os.environ.get("FLOOD_COMMAND") or \
            f"FLOOD_SECONDS={SECONDS:g} /usr/bin/python3 -m pytest tests/flood"
        text = report(run.results, command, d)
        os.makedirs(OUT, exist_ok=True)
        path = os.path.join(OUT, "flood.md")
        with open(path, "w") as f:
            f.write(text)
        with open(os.path.join(OUT, "flood.json"), "w") as f:
            json.dump({pid: {n: v for n, v in r.items() if n in SERVERS}
                       for pid, r in run.results.items()}, f, indent=1)
        pytestconfig.flood_report = (path, text)


def params():
    out = []
    for pid in PHASE_IDS:
        if pid not in PHASES:
            raise ValueError(f"FLOOD_PHASES: unknown phase {pid}")
        out.append(pytest.param(pid, "rampart-dnsbl", id=f"phase{pid}-rampart-dnsbl"))
        out.append(pytest.param(pid, "rbldnsd", id=f"phase{pid}-rbldnsd"))
    return out


def misses(res):
    """Every target the result misses, with the figure."""
    out = []
    if res["answered"] < TARGET_ANSWERED:
        out.append(f"answered {res['answered']:.2%} < {TARGET_ANSWERED:.0%} "
                   f"({failures_cell(res['legit'])})")
    if res["p99"] >= TARGET_P99_MS:
        out.append(f"p99 {res['p99']:.1f} ms >= {TARGET_P99_MS:g} ms")
    if res["amplification"] > TARGET_AMPLIFICATION:
        out.append(f"amplification {res['amplification']:.2f} > {TARGET_AMPLIFICATION:g}")
    return out


@pytest.mark.parametrize("pid,name", params())
def test_flood(flood, pid, name):
    """rampart-dnsbl meets the phase's three targets; rbldnsd (the
    comparison) ran the same phase, its figures go to the report only."""
    r = flood.phase(pid)
    res = r.get(name)
    if res is None:
        pytest.fail(f"phase {pid} could not run against {name}: {r['errors'].get(name)}")
    lg, a = res["legit"], res["attack"]
    if lg["sent"] == 0 or a.get("sent_pkts", 1) == 0 or a.get("opens", 1) == 0:
        pytest.fail(f"phase {pid}, {name}: the generators sent nothing: {lg} {a}")
    if name == "rampart-dnsbl":
        missed = misses(res)
        assert not missed, f"phase {pid} ({attack_cell(PHASES[pid], a)}): " + "; ".join(missed)
