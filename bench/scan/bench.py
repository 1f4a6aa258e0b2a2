#!/usr/bin/python3
"""bench/scan/bench.py - the scanning engine's benchmark: `rampart scan`
against Debian's clamd on the same mail corpus and signatures, one core each
(bench/scan/run.sh runs it; `make bench` runs that).

Data (generated once, kept in bench/out/scan/ while the generators and
settings are unchanged):
  corpus       bench/scan/gencorpus.py: BENCH_SCAN_MESSAGES (6000) RFC 5322
               messages, 15% of them worm mail in the Mimail style, and a
               manifest of what each one is and which signature should fire
  small        the real signatures only: clam.exe's MD5 (.hdb), its body
               pattern and EICAR's (.ndb): 3 signatures
  large        small plus bench/scan/genbigdb.py's 1,000,000 random .hdb
               hashes and 100,000 random .ndb body patterns, which cannot
               fire on the corpus (see genbigdb.py for why; checked here)

Method, for each database and engine, BENCH_SCAN_REPEAT (3) times, medians
reported. The engine runs pinned to CPU 1, this harness (the client) to CPU 0;
before each run the harness waits (up to 10 s) for other processes to go quiet
and reports the CPU they took during the run ("other load").
  clamd    Debian's /usr/sbin/clamd, started fresh for every run (so its cache
           of clean files' hashes starts empty) with its own config file in a
           temporary directory: Foreground, LocalSocket, DatabaseDirectory =
           the database, MaxThreads 1, ScanMail yes, ScanArchive yes, every
           limit and heuristic at its default, no freshclam.
             taskset -c 1 /usr/sbin/clamd -c TMP/clamd.conf
           load s   = from exec until the socket answers zPING with PONG
                      (tried every 10 ms)
           then the harness sends "nCONTSCAN CORPUS" on the socket: clamd
           walks the directory and opens, reads and scans every message
           itself (what `clamdscan --no-summary CORPUS` asks of it, without
           a client in the way); the reply is one line per file found.
           CPU s    = clamd's utime+stime (all threads, /proc/PID/stat) at the
                      end of the reply minus at its start: the scan alone
           RSS      = VmRSS once loaded; peak = VmHWM after the scan
  rampart  $RAMPART_BUILD/rampart, one process per run:
             taskset -c 1 rampart scan --sigs DB --json TINY       (load run)
             taskset -c 1 rampart scan --sigs DB --json -r CORPUS  (scan run)
           TINY is a 6-line clean message. load s = wall time of the load run
           (exec to exit: loading and compiling the signatures, one tiny scan).
           CPU s = the scan run's utime+stime minus the load run's (from
           wait4's rusage, paired within a repetition): the scan alone, as
           for clamd. RSS peak = the scan run's ru_maxrss; "loaded" = the load
           run's.
  messages/s/core = messages / CPU s; vs clamd = that over clamd's, same
  database. Verdicts: clamd's FOUND lines (names starting "Heuristics." count
  as suspicious, the others as infected; ERROR lines as errors), rampart's
  JSON verdicts. Both are checked against the manifest: worm mail found,
  clean mail flagged (false positives), and the large database must give the
  small one's verdicts with no Rampart.Bench.* name.

An engine that cannot run (rampart not built yet, no `scan` command, a
timeout) is reported as "n/a (reason)", never dropped silently.

Output: a markdown table on stdout and in bench/out/scan.md; raw numbers in
bench/out/scan.json.

Settings (environment): RAMPART_BUILD (default ../../build), BENCH_OUT
(bench/out), BENCH_SCAN_MESSAGES (6000), BENCH_SCAN_REPEAT (3), BENCH_SEED
(20031), BENCH_SCAN_HASHES (1000000), BENCH_SCAN_PATTERNS (100000),
BENCH_SCAN_DBS ("small large"), BENCH_SCAN_ENGINES ("clamd rampart"),
BENCH_SCAN_TIMEOUT (seconds for one load or scan, 600), CLAMD
(/usr/sbin/clamd).
"""

import hashlib
import json
import os
import signal
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.dirname(HERE)
OUT = os.environ.get("BENCH_OUT", os.path.join(BENCH, "out"))
BUILD = os.environ.get("RAMPART_BUILD", os.path.join(os.path.dirname(BENCH), "build"))
RAMPART = os.path.join(BUILD, "rampart")
CLAMD = os.environ.get("CLAMD", "/usr/sbin/clamd")
MESSAGES = int(os.environ.get("BENCH_SCAN_MESSAGES", "6000"))
REPEAT = int(os.environ.get("BENCH_SCAN_REPEAT", "3"))
SEED = int(os.environ.get("BENCH_SEED", "20031"))
HASHES = int(os.environ.get("BENCH_SCAN_HASHES", "1000000"))
PATTERNS = int(os.environ.get("BENCH_SCAN_PATTERNS", "100000"))
DBS = os.environ.get("BENCH_SCAN_DBS", "small large").split()
ENGINES = os.environ.get("BENCH_SCAN_ENGINES", "clamd rampart").split()
TIMEOUT = float(os.environ.get("BENCH_SCAN_TIMEOUT", "600"))
WORK = os.path.join(OUT, "scan")
CORPUS = os.path.join(WORK, "corpus")
MANIFEST = os.path.join(WORK, "manifest.tsv")
CLIENT_CPU, ENGINE_CPU = 0, 1
TICKS = os.sysconf("SC_CLK_TCK")

children = set()        # live engine processes, killed on any exit


class EngineFailed(Exception):
    """The engine could not do this run; the message says why (goes in the table)."""


def log(msg):
    print(time.strftime("[%H:%M:%S] ") + msg, file=sys.stderr, flush=True)


def cpu_busy():
    """Busy seconds over all CPUs so far, from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (sum(v) - v[3] - v[4]) / TICKS


def wait_quiet(limit=10.0):
    """Wait until other processes use under 0.1 core (sampled over 0.5 s), at most `limit` s."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit:
        b0 = cpu_busy()
        time.sleep(0.5)
        if (cpu_busy() - b0) / 0.5 < 0.1:
            return
    log("other processes stayed busy; measuring anyway (see 'other load')")


def proc_cpu(pid):
    """utime+stime of a process (all its threads), seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def proc_mem(pid):
    """(VmRSS, VmHWM) in MiB."""
    rss = hwm = 0.0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) / 1024
            elif line.startswith("VmHWM:"):
                hwm = int(line.split()[1]) / 1024
    return rss, hwm


def stop(proc):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    children.discard(proc)


def on_signal(signum, _frame):
    raise SystemExit(f"bench/scan: stopped by signal {signum}")


# ---- data -------------------------------------------------------------------

def stamp_of(*parts):
    h = hashlib.sha256()
    for p in parts:
        h.update(p if isinstance(p, bytes) else str(p).encode())
        h.update(b"\0")
    return h.hexdigest()


def fresh(stamp_file, stamp):
    try:
        with open(stamp_file) as f:
            return f.read().strip() == stamp
    except OSError:
        return False


def generate():
    """Corpus, manifest and both signature directories; reused while unchanged."""
    os.makedirs(WORK, exist_ok=True)
    small, large = os.path.join(WORK, "sigs-small"), os.path.join(WORK, "sigs-large")
    gen = os.path.join(HERE, "gencorpus.py")
    with open(gen, "rb") as f, open("/usr/share/clamav-testfiles/clam.exe", "rb") as g:
        stamp = stamp_of(f.read(), g.read(), MESSAGES, SEED)
    stamp_file = os.path.join(WORK, "corpus.stamp")
    info = {}
    if not fresh(stamp_file, stamp):
        for d in (CORPUS, small):
            shutil.rmtree(d, ignore_errors=True)
        t0 = time.monotonic()
        out = subprocess.run([sys.executable, gen, "--out", CORPUS, "--sigs", small, "--manifest", MANIFEST,
                              "--count", str(MESSAGES), "--seed", str(SEED)],
                             check=True, capture_output=True, text=True).stdout
        log(out.strip() + f" ({time.monotonic() - t0:.1f} s)")
        with open(stamp_file, "w") as f:
            f.write(stamp)
    big = os.path.join(HERE, "genbigdb.py")
    with open(big, "rb") as f:
        stamp = stamp_of(f.read(), HASHES, PATTERNS, SEED, stamp)
    stamp_file = os.path.join(WORK, "bigdb.stamp")
    if not fresh(stamp_file, stamp):
        shutil.rmtree(large, ignore_errors=True)
        t0 = time.monotonic()
        out = subprocess.run([sys.executable, big, "--out", large, "--hashes", str(HASHES), "--patterns",
                              str(PATTERNS), "--seed", str(SEED)], check=True, capture_output=True,
                             text=True).stdout
        for name in os.listdir(small):
            shutil.copy(os.path.join(small, name), large)
        log(out.strip() + f" ({time.monotonic() - t0:.1f} s)")
        with open(stamp_file, "w") as f:
            f.write(stamp)
    # The load run's input: one tiny clean message, so that the run measures loading.
    tiny = os.path.join(WORK, "load", "load.eml")
    os.makedirs(os.path.dirname(tiny), exist_ok=True)
    with open(tiny, "w") as f:
        f.write("From: bench@example.org\r\nTo: bench@example.org\r\nSubject: load\r\n"
                "Date: Mon, 1 Dec 2003 12:00:00 +0000\r\nMessage-ID: <load@example.org>\r\n\r\nload\r\n")
    manifest = {}
    with open(MANIFEST) as f:
        for line in f:
            if not line.startswith("#"):
                name, expected, kind, sigs, size = line.rstrip("\n").split("\t")
                manifest[name] = {"expected": expected, "kind": kind, "sigs": sigs, "bytes": int(size)}
    sizes = sorted(m["bytes"] for m in manifest.values())
    info["messages"] = len(manifest)
    info["mib"] = sum(sizes) / 2**20
    info["median_bytes"] = sizes[len(sizes) // 2]
    info["over_100k"] = sum(1 for s in sizes if s >= 100_000)
    info["worms"] = sum(1 for m in manifest.values() if m["expected"] == "infected")
    # Read the corpus once so that every engine's first run finds it in the page cache.
    for name in manifest:
        with open(os.path.join(CORPUS, name), "rb") as f:
            while f.read(1 << 20):
                pass
    dbs = {}
    for name, d in (("small", small), ("large", large)):
        n = 0
        for fn in os.listdir(d):
            with open(os.path.join(d, fn), "rb") as f:
                n += sum(1 for line in f if line.strip())
        dbs[name] = {"dir": d, "signatures": n}
    return manifest, info, dbs, tiny


# ---- clamd ------------------------------------------------------------------

def clamd_version():
    try:
        return subprocess.run([CLAMD, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError) as e:
        return f"unknown ({e})"


def clamd_ask(path, command, timeout):
    """Sends one n-command on the socket; returns the whole reply (bytes)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(path)
        s.sendall(b"n" + command.encode() + b"\n")
        reply = bytearray()
        while True:
            chunk = s.recv(1 << 16)
            if not chunk:
                return bytes(reply)
            reply += chunk
    finally:
        s.close()


def clamd_run(db_dir):
    tmp = tempfile.mkdtemp(prefix="rampart-bench-clamd-")
    sock = os.path.join(tmp, "clamd.sock")
    conf = os.path.join(tmp, "clamd.conf")
    with open(conf, "w") as f:
        f.write(f"Foreground yes\nLocalSocket {sock}\nLocalSocketMode 600\nDatabaseDirectory {db_dir}\n"
                f"PidFile {tmp}/clamd.pid\nLogFile {tmp}/clamd.log\nTemporaryDirectory {tmp}\n"
                "MaxThreads 1\nScanMail yes\nScanArchive yes\n")
    wait_quiet()
    stderr = open(os.path.join(tmp, "stderr"), "w+")
    t0 = time.monotonic()
    proc = subprocess.Popen(["taskset", "-c", str(ENGINE_CPU), CLAMD, "-c", conf],
                            stdout=subprocess.DEVNULL, stderr=stderr)
    children.add(proc)
    try:
        while True:
            if proc.poll() is not None:
                stderr.seek(0)
                raise EngineFailed(f"clamd exited {proc.returncode}: " + stderr.read().strip()[-300:])
            if time.monotonic() - t0 > TIMEOUT:
                raise EngineFailed(f"not loaded after {TIMEOUT:.0f} s")
            try:
                if clamd_ask(sock, "PING", 1).startswith(b"PONG"):
                    break
            except OSError:
                pass
            time.sleep(0.01)
        load = time.monotonic() - t0
        load_cpu = proc_cpu(proc.pid)
        rss_loaded, _ = proc_mem(proc.pid)
        b0, c0, t1 = cpu_busy(), proc_cpu(proc.pid), time.monotonic()
        try:
            reply = clamd_ask(sock, f"CONTSCAN {CORPUS}", TIMEOUT)
        except socket.timeout:
            raise EngineFailed(f"scan not done after {TIMEOUT:.0f} s")
        wall = time.monotonic() - t1
        cpu = proc_cpu(proc.pid) - c0
        other = max(0.0, cpu_busy() - b0 - cpu) / wall
        _, peak = proc_mem(proc.pid)
    finally:
        stop(proc)
        stderr.close()
        shutil.rmtree(tmp, ignore_errors=True)
    verdicts, names = {}, {}
    prefix = CORPUS.rstrip("/") + "/"
    for line in reply.decode(errors="replace").splitlines():
        path, _, rest = line.partition(": ")
        name = path[len(prefix):] if path.startswith(prefix) else path
        if rest.endswith(" FOUND"):
            sig = rest[:-len(" FOUND")]
            verdicts[name] = "suspicious" if sig.startswith("Heuristics.") else "infected"
            names[name] = [sig]
        elif rest.endswith(" ERROR"):
            verdicts[name] = "error"
            names[name] = [rest]
        elif rest != "OK":
            raise EngineFailed(f"unexpected reply line: {line[:200]}")
    return {"load": load, "load_cpu": load_cpu, "rss_loaded": rss_loaded, "peak": peak, "cpu": cpu,
            "wall": wall, "other": other}, verdicts, names


# ---- rampart ----------------------------------------------------------------

def rampart_run(db_dir, tiny, manifest):
    tmp = tempfile.mkdtemp(prefix="rampart-bench-scan-")
    try:
        results = {}
        for what, args in (("load", [tiny]), ("scan", ["-r", CORPUS])):
            argv = ["taskset", "-c", str(ENGINE_CPU), RAMPART, "scan", "--sigs", db_dir, "--json"] + args
            wait_quiet()
            out_path = os.path.join(tmp, what + ".jsonl")
            err_path = os.path.join(tmp, what + ".err")
            with open(out_path, "wb") as out, open(err_path, "wb") as err:
                b0, t0 = cpu_busy(), time.monotonic()
                proc = subprocess.Popen(argv, stdout=out, stderr=err)
            children.add(proc)
            timer = threading.Timer(TIMEOUT, proc.kill)
            timer.start()
            _, status, ru = os.wait4(proc.pid, 0)      # rusage of the child (and anything it reaped)
            wall = time.monotonic() - t0
            timer.cancel()
            proc.returncode = os.waitstatus_to_exitcode(status)
            children.discard(proc)
            if wall >= TIMEOUT:
                raise EngineFailed(f"rampart scan ({what}) not done after {TIMEOUT:.0f} s")
            with open(err_path, "rb") as f:
                err = f.read().decode(errors="replace").strip()
            cpu = ru.ru_utime + ru.ru_stime
            other = max(0.0, cpu_busy() - b0 - cpu) / wall
            code = proc.returncode
            with open(out_path, "rb") as f:
                lines = f.read().decode(errors="replace").splitlines()
            # 2 is "an error": still a run if it printed its verdicts (the errors are counted).
            if code not in (0, 1, 2) or (code == 2 and (what == "load" or not lines)):
                raise EngineFailed(f"`rampart scan` ({what}) exited {code}: {err[-300:]}")
            results[what] = {"wall": wall, "cpu": cpu, "rss": ru.ru_maxrss / 1024, "other": other,
                             "exit": code, "lines": lines, "stderr": err[-2000:]}
        load, scan = results["load"], results["scan"]
        if len(load["lines"]) != 1:
            raise EngineFailed(f"load run printed {len(load['lines'])} lines, expected 1")
        verdicts, names = {}, {}
        prefix = CORPUS.rstrip("/") + "/"
        for line in scan["lines"]:
            try:
                rec = json.loads(line)
                path, verdict = rec["file"], rec["verdict"]
            except (ValueError, KeyError, TypeError):
                raise EngineFailed(f"not a JSON verdict line: {line[:200]}")
            if verdict not in ("clean", "suspicious", "infected", "error"):
                raise EngineFailed(f"unknown verdict in: {line[:200]}")
            name = path[len(prefix):] if path.startswith(prefix) else path
            verdicts[name] = verdict
            names[name] = list(rec.get("names") or [])
        unscanned = sum(1 for n in manifest if n not in verdicts)
        run = {"unscanned": unscanned, "load": load["wall"], "load_cpu": load["cpu"], "rss_loaded": load["rss"], "peak": scan["rss"],
               "cpu": scan["cpu"] - load["cpu"], "wall": scan["wall"] - load["wall"],
               "total_cpu": scan["cpu"], "total_wall": scan["wall"], "other": scan["other"],
               "exit": scan["exit"], "load_stderr": load["stderr"], "scan_stderr": scan["stderr"]}
        return run, {k: v for k, v in verdicts.items() if v != "clean"}, names
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ---- checking and reporting -------------------------------------------------

def check(manifest, verdicts, names):
    """Counts of one run's verdicts against the manifest. `verdicts` holds the non-clean files."""
    c = {"infected": 0, "suspicious": 0, "error": 0, "worms_found": 0, "worms_missed": 0,
         "false_pos": 0, "clean_suspicious": 0, "bench_names": 0, "unknown_files": 0}
    for name, v in verdicts.items():
        m = manifest.get(name)
        if m is None:
            c["unknown_files"] += 1
            continue
        c[v] += 1
        if v == "infected" and m["expected"] == "clean":
            c["false_pos"] += 1
        if v == "suspicious" and m["expected"] == "clean":
            c["clean_suspicious"] += 1
        if any(n.startswith("Rampart.Bench.") for n in names.get(name, [])):
            c["bench_names"] += 1
    for name, m in manifest.items():
        if m["expected"] == "infected":
            if verdicts.get(name) == "infected":
                c["worms_found"] += 1
            else:
                c["worms_missed"] += 1
    return c


def main():
    os.sched_setaffinity(0, {CLIENT_CPU})
    for s in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, on_signal)
    if os.cpu_count() < 2:
        sys.exit("bench/scan: needs two CPUs (engine on CPU 1, client on CPU 0)")
    if not os.access(CLAMD, os.X_OK):
        sys.exit(f"bench/scan: {CLAMD} not found (make bench-deps installs clamav-daemon)")
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    with open("/proc/loadavg") as f:
        loadavg = " ".join(f.read().split()[:3])
    manifest, info, dbs, tiny = generate()
    log(f"corpus: {info['messages']} messages, {info['mib']:.1f} MiB, median {info['median_bytes']} B, "
        f"{info['worms']} worm mail; databases: " + ", ".join(f"{k} {v['signatures']:,}" for k, v in dbs.items()))
    results = {"started": started, "loadavg_before": loadavg, "corpus": info, "clamd": clamd_version(),
               "databases": {k: v["signatures"] for k, v in dbs.items()}, "runs": {}}
    first_verdicts = {}
    for db in DBS:
        for engine in ENGINES:
            key = f"{engine}/{db}"
            runs, failed = [], None
            for i in range(REPEAT):
                try:
                    if engine == "clamd":
                        run, verdicts, names = clamd_run(dbs[db]["dir"])
                    elif engine == "rampart":
                        if not os.access(RAMPART, os.X_OK):
                            raise EngineFailed(f"{RAMPART} not built")
                        run, verdicts, names = rampart_run(dbs[db]["dir"], tiny, manifest)
                    else:
                        sys.exit(f"bench/scan: unknown engine {engine}")
                except EngineFailed as e:
                    failed = str(e)
                    log(f"{key} run {i + 1}: n/a ({failed})")
                    break
                run.update(check(manifest, verdicts, names))
                if i == 0:
                    first_verdicts[key] = verdicts
                runs.append(run)
                log(f"{key} run {i + 1}: load {run['load']:.2f} s, RSS {run['rss_loaded']:.0f}/{run['peak']:.0f} MiB, "
                    f"scan {run['cpu']:.2f} s CPU ({info['messages'] / max(run['cpu'], 1e-9):,.0f} msg/s), "
                    f"{run['wall']:.2f} s wall; infected {run['infected']}, suspicious {run['suspicious']}, "
                    f"errors {run['error']}; worms {run['worms_found']}/{info['worms']}, "
                    f"false pos. {run['false_pos']}; other load {run['other']:.2f}")
            results["runs"][key] = {"runs": runs, "failed": failed}
    # The large database must not change a single verdict.
    for engine in ENGINES:
        a, b = first_verdicts.get(f"{engine}/small"), first_verdicts.get(f"{engine}/large")
        if a is not None and b is not None:
            diff = sorted(n for n in set(a) | set(b) if a.get(n) != b.get(n))
            results["runs"][f"{engine}/large"]["verdicts_differ_from_small"] = diff
    with open(os.path.join(OUT, "scan.json"), "w") as f:
        json.dump(results, f, indent=1)
    text = report(results, info, dbs)
    with open(os.path.join(OUT, "scan.md"), "w") as f:
        f.write(text)
    print(text)


def report(results, info, dbs):
    lines = [
        f"Run {results['started']}; load average before: {results['loadavg_before']}. "
        f"clamd: {results['clamd']}.",
        f"Corpus: {info['messages']:,} messages, {info['mib']:.1f} MiB (median {info['median_bytes']:,} B, "
        f"{info['over_100k']} of 100 KB or more), {info['worms']} of them worm mail "
        f"(bench/scan/gencorpus.py, seed {SEED}). Databases: "
        + "; ".join(f"{k} {v['signatures']:,} signatures" for k, v in dbs.items()) + ".",
        f"Medians of {REPEAT} runs; engine on CPU 1, client on CPU 0. *other load* = the most CPU (in cores) "
        "that other processes took during a run.",
        "",
        "| engine | database | load s | RSS loaded MiB | RSS peak MiB | CPU s | wall s | messages/s/core "
        "| vs clamd | infected | suspicious | errors | worms found | false pos. | other load |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    notes = []
    for db in DBS:
        base = None
        for engine in ENGINES:
            r = results["runs"].get(f"{engine}/{db}")
            if r is None:
                continue
            runs = r["runs"]
            if not runs:
                lines.append(f"| {engine} | {db} | n/a ({r['failed']}) |" + " |" * 12)
                continue

            def med(k):
                return statistics.median(x[k] for x in runs)
            rate = info["messages"] / max(med("cpu"), 1e-9)
            if engine == "clamd":
                base = rate
            ratio = f"{rate / base:.2f}x" if base else "-"
            worms = f"{med('worms_found'):.0f} / {info['worms']}"
            lines.append(
                f"| {engine} | {db} | {med('load'):.2f} | {med('rss_loaded'):.0f} | {med('peak'):.0f} | "
                f"{med('cpu'):.2f} | {med('wall'):.2f} | {rate:,.0f} | {ratio} | {med('infected'):.0f} | "
                f"{med('suspicious'):.0f} | {med('error'):.0f} | {worms} | {med('false_pos'):.0f} | "
                f"{max(x['other'] for x in runs):.2f} |")
            if r["failed"]:
                notes.append(f"{engine}/{db}: only {len(runs)} runs ({r['failed']}).")
            if any(x.get("unscanned") for x in runs):
                notes.append(f"{engine}/{db}: up to {max(x['unscanned'] for x in runs)} messages had no "
                             "verdict line.")
            if any(x["bench_names"] for x in runs):
                notes.append(f"{engine}/{db}: a Rampart.Bench.* signature fired (it must not).")
            if r.get("verdicts_differ_from_small"):
                d = r["verdicts_differ_from_small"]
                notes.append(f"{engine}/{db}: {len(d)} verdicts differ from the small database's "
                             f"(e.g. {', '.join(d[:5])}).")
            elif "verdicts_differ_from_small" in r:
                notes.append(f"{engine}/{db}: every verdict the same as with the small database.")
    text = "\n".join(lines) + "\n"
    if notes:
        text += "\n" + "\n".join(f"- {n}" for n in notes) + "\n"
    return text


if __name__ == "__main__":
    try:
        main()
    finally:
        for p in list(children):
            stop(p)
