"""rampart-dnsbl's operator interfaces, as an operator and Prometheus use them:
the real server with --metrics and --control on loopback, queried with
dnspython, scraped over HTTP and parsed with the Prometheus client library's
own parser, and driven through the real `rampart` command."""

import json
import os
import pathlib
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

import dns.message
import dns.query
import dns.rcode
import pytest
from prometheus_client.parser import text_string_to_metric_families

from netutil import free_port

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("RAMPART_BUILD", os.path.join(ROOT, "build"))
BIN = os.path.join(BUILD, "rampart-dnsbl")
CLI = os.path.join(BUILD, "rampart")

SERIAL = 2024050101
IP4_DATA = (f"$SOA 600 ns1.bl.test. hostmaster.bl.test. {SERIAL} 600 300 86400 60\n"
            "$NS 600 ns1.bl.test.\n"
            ":127.0.0.2:Listed: see http://bl.test/$\n"
            "192.0.2.1\n192.0.2.2\n192.0.2.3\n198.51.100.0/24\n203.0.113.7\n")
IP4_ENTRIES = 5
DN_DATA = "spam.example\n*.worm.example\nphish.example\n"
DN_ENTRIES = 3


@pytest.fixture
def sockdir():
    """A directory for the control socket, writable by the user the server
    drops to (so that it can remove the socket at exit), readable data too."""
    d = pathlib.Path(tempfile.mkdtemp(prefix="rampart-ctl-"))
    os.chmod(d, 0o755)
    nobody = pwd.getpwnam("nobody")
    os.chown(d, nobody.pw_uid, nobody.pw_gid)
    (d / "data").mkdir()
    os.chmod(d / "data", 0o755)
    (d / "data" / "ip4").write_text(IP4_DATA)
    (d / "data" / "dn").write_text(DN_DATA)
    for f in (d / "data").iterdir():
        os.chmod(f, 0o644)
    yield d
    shutil.rmtree(d, ignore_errors=True)


class Server:
    """A started rampart-dnsbl with its metrics port and control socket."""

    def __init__(self, handle, metrics_addr, sock):
        self.handle = handle
        self.addr = handle.addr
        self.port = handle.port
        self.metrics_addr = metrics_addr
        self.sock = sock

    @property
    def url(self):
        return f"http://{self.metrics_addr}/metrics"


def start(start_server, sockdir, metrics_host="127.0.0.1", extra=()):
    mport = free_port()
    maddr = f"[{metrics_host}]:{mport}" if ":" in metrics_host else f"{metrics_host}:{mport}"
    sock = str(sockdir / "dnsbl.sock")
    data = sockdir / "data"
    h = start_server(BIN, ["-n", "-u", "nobody", "-b", "{addr}/{port}", "-c", "0",
                           "--metrics", maddr, "--control", sock, *extra,
                           f"bl.test:ip4set:{data}/ip4", f"dbl.test:dnset:{data}/dn"])
    return Server(h, maddr, sock)


@pytest.fixture
def server(start_server, sockdir):
    return start(start_server, sockdir)


def scrape(srv):
    """{(name, frozenset(labels)): value} of every sample, parsed by the
    Prometheus client library (which raises on any malformed line)."""
    with urllib.request.urlopen(srv.url, timeout=5) as r:
        assert r.status == 200
        ctype = r.headers["Content-Type"]
        assert ctype.startswith("text/plain") and "version=0.0.4" in ctype
        text = r.read().decode()
    samples = {}
    families = {}
    for fam in text_string_to_metric_families(text):
        families[fam.name] = fam
        for s in fam.samples:
            samples[(s.name, frozenset(s.labels.items()))] = s.value
    assert families, text
    for name, fam in families.items():
        assert name.startswith("rampart_dnsbl_"), name
        assert fam.documentation, f"{name} has no HELP"
        assert fam.type in ("counter", "gauge"), (name, fam.type)
    return samples


def val(samples, name, **labels):
    return samples[(name, frozenset(labels.items()))]


def udp_raw(srv, name, rdtype="A"):
    """One UDP query; returns (query bytes, answer bytes, parsed answer)."""
    wire = dns.message.make_query(name, rdtype).to_wire()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.settimeout(3)
        s.sendto(wire, (srv.addr, srv.port))
        ans = s.recv(65535)
    finally:
        s.close()
    return len(wire), len(ans), dns.message.from_wire(ans)


def rampart(*args, timeout=70):
    return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=timeout)


def control_raw(path, payload, timeout=10, half_close=False):
    """Send raw bytes to the control socket; return everything it answers."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.settimeout(timeout)
        s.connect(path)
        s.sendall(payload)
        if half_close:
            s.shutdown(socket.SHUT_WR)
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return out
            out += chunk
    finally:
        s.close()


def http_raw(srv, payload):
    host, port = srv.metrics_addr.rsplit(":", 1)
    s = socket.create_connection((host.strip("[]"), int(port)), timeout=5)
    try:
        s.sendall(payload)
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return out
            out += chunk
    finally:
        s.close()


def test_metrics_count_what_was_sent(server):
    before = scrape(server)
    sent = {"bl_in": 0, "bl_out": 0}
    listed = ["1.2.0.192", "2.2.0.192", "3.2.0.192", "9.100.51.198", "7.113.0.203"]
    unlisted = ["4.2.0.192", "1.1.1.1", "8.113.0.203"]
    for ip in listed:
        qn, an, r = udp_raw(server, f"{ip}.bl.test")
        assert r.rcode() == dns.rcode.NOERROR and r.answer
        sent["bl_in"] += qn
        sent["bl_out"] += an
    for ip in unlisted:
        qn, an, r = udp_raw(server, f"{ip}.bl.test")
        assert r.rcode() == dns.rcode.NXDOMAIN
        sent["bl_in"] += qn
        sent["bl_out"] += an
    for name in ("spam.example.dbl.test", "a.worm.example.dbl.test"):
        r = dns.query.tcp(dns.message.make_query(name, "A"), server.addr, port=server.port, timeout=3)
        assert r.rcode() == dns.rcode.NOERROR
    r = dns.query.tcp(dns.message.make_query("ham.example.dbl.test", "A"), server.addr,
                      port=server.port, timeout=3)
    assert r.rcode() == dns.rcode.NXDOMAIN
    after = scrape(server)

    def delta(name, **labels):
        return val(after, name, **labels) - val(before, name, **labels)

    assert delta("rampart_dnsbl_queries_total", transport="udp") == 8
    assert delta("rampart_dnsbl_queries_total", transport="tcp") == 3
    assert delta("rampart_dnsbl_answers_total", rcode="NOERROR") == 5 + 2
    assert delta("rampart_dnsbl_answers_total", rcode="NXDOMAIN") == 3 + 1
    assert delta("rampart_dnsbl_zone_queries_total", zone="bl.test") == 8
    assert delta("rampart_dnsbl_zone_noerror_total", zone="bl.test") == 5
    assert delta("rampart_dnsbl_zone_nxdomain_total", zone="bl.test") == 3
    assert delta("rampart_dnsbl_zone_received_bytes_total", zone="bl.test") == sent["bl_in"]
    assert delta("rampart_dnsbl_zone_sent_bytes_total", zone="bl.test") == sent["bl_out"]
    assert delta("rampart_dnsbl_zone_queries_total", zone="dbl.test") == 3
    assert delta("rampart_dnsbl_zone_noerror_total", zone="dbl.test") == 2
    assert delta("rampart_dnsbl_zone_nxdomain_total", zone="dbl.test") == 1
    assert delta("rampart_dnsbl_tcp_accepted_total") == 3
    assert val(after, "rampart_dnsbl_received_bytes_total") >= sent["bl_in"]


def test_metrics_zone_state(server):
    now = time.time()
    m = scrape(server)
    assert val(m, "rampart_dnsbl_zone_entries", zone="bl.test") == IP4_ENTRIES
    assert val(m, "rampart_dnsbl_zone_entries", zone="dbl.test") == DN_ENTRIES
    assert val(m, "rampart_dnsbl_zone_soa_serial", zone="bl.test") == SERIAL
    assert ("rampart_dnsbl_zone_soa_serial", frozenset({("zone", "dbl.test")})) not in m
    for zone in ("bl.test", "dbl.test"):
        loaded = val(m, "rampart_dnsbl_zone_load_timestamp_seconds", zone=zone)
        assert now - 60 < loaded <= now + 1
        assert 0 <= val(m, "rampart_dnsbl_zone_load_duration_seconds", zone=zone) < 10
        assert val(m, "rampart_dnsbl_zone_load_failed", zone=zone) == 0
    assert val(m, "rampart_dnsbl_reloads_total") == 2
    assert val(m, "rampart_dnsbl_reloads_failed_total") == 0
    assert now - 60 < val(m, "rampart_dnsbl_start_time_seconds") <= now + 1
    version = rampart("--version").stdout.split()[-1]
    assert val(m, "rampart_dnsbl_build_info", version=version) == 1
    for name in ("rrl_dropped_total", "rrl_slipped_total", "cookie_valid_total", "cookie_new_total",
                 "tcp_refused_total", "tcp_timeouts_total", "tcp_open", "querylog_dropped_total",
                 "dropped_total", "truncated_total", "sent_bytes_total"):
        assert val(m, "rampart_dnsbl_" + name) >= 0


def test_http_errors_and_limits(server):
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(f"http://{server.metrics_addr}/nope", timeout=5)
    assert e.value.code == 404
    req = urllib.request.Request(server.url, data=b"x", method="POST")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=5)
    assert e.value.code == 405 and e.value.headers["Allow"] == "GET"
    r = http_raw(server, b"GET /metrics HTTP/1.0\r\n\r\n")
    assert r.startswith(b"HTTP/1.0 200 OK\r\n") and b"rampart_dnsbl_queries_total" in r
    # malformed request line
    assert http_raw(server, b"GET\x00 /metrics HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.1 400 ")
    assert http_raw(server, b"BREW /metrics HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.1 405 ")
    assert http_raw(server, b"GET /metrics HTTP/3.0\r\n\r\n").startswith(b"HTTP/1.1 505 ")
    # a head over 4 KB, and a request cut short
    big = b"GET /metrics HTTP/1.1\r\nX-Pad: " + b"a" * 8000 + b"\r\n\r\n"
    assert http_raw(server, big).startswith(b"HTTP/1.1 431 ")
    s = socket.create_connection(("127.0.0.1", int(server.metrics_addr.rsplit(":", 1)[1])), timeout=5)
    s.sendall(b"GET /metrics HTTP/1.1\r\n")
    s.shutdown(socket.SHUT_WR)
    assert s.recv(100).startswith(b"HTTP/1.1 400 ")
    s.close()
    # still serving, metrics and DNS alike
    assert val(scrape(server), "rampart_dnsbl_zone_entries", zone="bl.test") == IP4_ENTRIES
    assert udp_raw(server, "1.2.0.192.bl.test")[2].rcode() == dns.rcode.NOERROR


def test_metrics_on_ipv6(start_server, sockdir):
    srv = start(start_server, sockdir, metrics_host="::1")
    assert val(scrape(srv), "rampart_dnsbl_zone_entries", zone="dbl.test") == DN_ENTRIES


def test_rampart_stats(server):
    for name in ("1.2.0.192.bl.test", "5.5.5.5.bl.test"):
        udp_raw(server, name)
    out = rampart("--control", server.sock, "dnsbl", "stats", "--json")
    assert out.returncode == 0, out.stderr
    st = json.loads(out.stdout)
    m = scrape(server)  # nothing was asked in between: the same figures
    assert st["program"] == "rampart-dnsbl"
    assert st["queries"]["udp"] == val(m, "rampart_dnsbl_queries_total", transport="udp")
    assert st["queries"]["tcp"] == val(m, "rampart_dnsbl_queries_total", transport="tcp")
    assert st["queries"]["total"] == st["queries"]["udp"] + st["queries"]["tcp"]
    for rcode, n in st["answers"].items():
        assert n == val(m, "rampart_dnsbl_answers_total", rcode=rcode)
    assert st["bytes_in"] == val(m, "rampart_dnsbl_received_bytes_total")
    assert st["reloads"] == {"total": 2, "failed": 0}
    assert st["tcp"]["open"] == val(m, "rampart_dnsbl_tcp_open")
    zones = {z["zone"]: z for z in st["zones"]}
    assert set(zones) == {"bl.test", "dbl.test"}
    bl = zones["bl.test"]
    assert bl["queries"] == 2 and bl["noerror"] == 1 and bl["nxdomain"] == 1
    assert bl["queries"] == val(m, "rampart_dnsbl_zone_queries_total", zone="bl.test")
    assert bl["entries"] == IP4_ENTRIES and bl["serial"] == SERIAL
    assert zones["dbl.test"]["serial"] is None
    # readable text
    out = rampart("--control", server.sock, "dnsbl", "stats")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("rampart-dnsbl ")
    lines = out.stdout.splitlines()
    row = next(l for l in lines if l.startswith("bl.test "))
    assert row.split()[1:4] == ["2", "1", "1"] and str(SERIAL) in row
    assert any(l.startswith("reloads ") and "2 (failed 0)" in l for l in lines)


def test_rampart_zones(server):
    out = rampart("--json", "--control", server.sock, "dnsbl", "zones")
    assert out.returncode == 0, out.stderr
    zones = {z["zone"]: z for z in json.loads(out.stdout)["zones"]}
    bl, dbl = zones["bl.test"], zones["dbl.test"]
    assert bl["entries"] == IP4_ENTRIES and bl["serial"] == SERIAL and bl["last_error"] is None
    assert bl["loaded_at"] > 0 and bl["load_seconds"] >= 0
    [ds] = bl["datasets"]
    assert ds["type"] == "ip4set" and ds["files"] == [str(pathlib.Path(server.sock).parent / "data/ip4")]
    assert ds["entries"] == IP4_ENTRIES and ds["bad_lines"] == 0 and ds["loaded"] is True
    assert dbl["datasets"][0]["type"] == "dnset" and dbl["entries"] == DN_ENTRIES
    out = rampart("--control", server.sock, "dnsbl", "zones")
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[0].split()[:3] == ["zone", "/", "dataset"]
    assert any(l.startswith("bl.test ") and str(SERIAL) in l for l in out.stdout.splitlines())
    assert any(l.startswith("  dnset:") and "ok, 0 bad lines" in l for l in out.stdout.splitlines())


def test_rampart_reload(server, sockdir):
    data = sockdir / "data"
    name = "99.2.0.192.bl.test"
    assert udp_raw(server, name)[2].rcode() == dns.rcode.NXDOMAIN
    with open(data / "ip4", "a") as f:
        f.write("192.0.2.99\n")
    out = rampart("--control", server.sock, "dnsbl", "reload", "--json")
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout)
    assert res["ok"] is True and res["reloaded"] == 1 and res["failed"] == 0
    by = {d["dataset"]: d for d in res["datasets"]}
    assert by[f"ip4set:{data}/ip4"]["result"] == "reloaded"
    assert by[f"ip4set:{data}/ip4"]["entries"] == IP4_ENTRIES + 1
    assert by[f"dnset:{data}/dn"]["result"] == "unchanged"
    # answered when the reply came: the new entry is listed
    r = udp_raw(server, name)[2]
    assert r.rcode() == dns.rcode.NOERROR and r.answer[0][0].address == "127.0.0.2"
    assert val(scrape(server), "rampart_dnsbl_zone_entries", zone="bl.test") == IP4_ENTRIES + 1

    # a data file gone: exit 1, the failure reported; the old data keeps serving
    os.rename(data / "dn", data / "dn.away")
    out = rampart("--control", server.sock, "dnsbl", "reload")
    assert out.returncode == 1, (out.stdout, out.stderr)
    assert out.stdout.startswith("reload: 0 reloaded, 1 failed, 1 unchanged")
    failed = next(l for l in out.stdout.splitlines() if l.startswith("failed "))
    assert f"{data}/dn: No such file or directory" in failed
    assert dns.query.udp(dns.message.make_query("spam.example.dbl.test", "A"), server.addr,
                         port=server.port, timeout=3).rcode() == dns.rcode.NOERROR
    zones = {z["zone"]: z for z in
             json.loads(rampart("--control", server.sock, "--json", "dnsbl", "zones").stdout)["zones"]}
    assert "No such file or directory" in zones["dbl.test"]["last_error"]
    assert zones["dbl.test"]["entries"] == DN_ENTRIES
    assert zones["bl.test"]["last_error"] is None
    m = scrape(server)
    assert val(m, "rampart_dnsbl_reloads_total") == 4
    assert val(m, "rampart_dnsbl_reloads_failed_total") == 1
    assert val(m, "rampart_dnsbl_zone_load_failed", zone="dbl.test") == 1
    assert val(m, "rampart_dnsbl_zone_load_failed", zone="bl.test") == 0
    # the file back: the error clears
    os.rename(data / "dn.away", data / "dn")
    os.utime(data / "dn")
    out = rampart("--control", server.sock, "--json", "dnsbl", "reload")
    assert out.returncode == 0 and json.loads(out.stdout)["reloaded"] == 1
    assert val(scrape(server), "rampart_dnsbl_zone_load_failed", zone="dbl.test") == 0


def test_control_protocol_errors(server):
    def ask(payload, half_close=False):
        return json.loads(control_raw(server.sock, payload, half_close=half_close))

    assert ask(b"version\n")["program"] == "rampart-dnsbl"
    err = ask(b"bogus\n")["error"]
    assert err.startswith('unknown command "bogus"') and "stats, zones, reload, version" in err
    assert "malformed" in ask(b"\n")["error"]
    assert "malformed" in ask(b"stats\nzones\n")["error"]
    assert "malformed" in ask(b"st\x00ats\n")["error"]
    assert ask(b"  stats\r\n")["queries"]["total"] >= 0
    # over 4 KB without a newline: refused with a reason, not read on
    assert "request longer than 4096 bytes" in ask(b"x" * 10000)["error"]
    # a half-closed request without a newline still counts
    assert "zones" in ask(b"zones", half_close=True)
    # none of it disturbed the server
    assert rampart("--control", server.sock, "dnsbl", "stats").returncode == 0


def test_connection_limit_and_timeout(server):
    held = []
    try:
        for _ in range(64):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(server.sock)
            held.append(s)
        time.sleep(0.3)  # let the thread accept them all
        extra = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        extra.settimeout(3)
        extra.connect(server.sock)
        assert extra.recv(100) == b""  # closed at once: over the limit
        extra.close()
        t0 = time.monotonic()
        for s in held:  # each idle connection is closed after 5 s
            s.settimeout(8)
            assert s.recv(100) == b""
        assert 3.5 < time.monotonic() - t0 < 7.5
    finally:
        for s in held:
            s.close()
    out = rampart("--control", server.sock, "--json", "dnsbl", "stats")
    assert out.returncode == 0 and json.loads(out.stdout)["program"] == "rampart-dnsbl"


def test_no_server_exit_2(tmp_path):
    out = subprocess.run([CLI, "dnsbl", "stats"], capture_output=True, text=True, cwd=tmp_path,
                         timeout=10)
    assert out.returncode == 2
    assert out.stderr.strip() == ("rampart: cannot connect to ./var/dnsbl.sock: No such file or "
                                  "directory (is rampart-dnsbl running with --control?)")
    out = rampart("--control", str(tmp_path / "x.sock"), "dnsbl", "reload")
    assert out.returncode == 2 and str(tmp_path / "x.sock") in out.stderr
    out = rampart("dnsbl", "restart")
    assert out.returncode == 2 and 'unknown dnsbl command "restart"' in out.stderr
    out = rampart("--help")
    assert out.returncode == 0 and "dnsbl stats" in out.stdout


def test_socket_file_lifecycle(start_server, sockdir):
    sock = sockdir / "dnsbl.sock"
    # a stale socket left by a crashed server is replaced
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(sock))
    stale.close()
    assert stat.S_ISSOCK(os.lstat(sock).st_mode)
    srv = start(start_server, sockdir)
    st = os.lstat(sock)
    assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o660
    assert "control-stale-socket-replaced" in srv.handle.log_text()
    # a live one is not taken over. (Start-up failures exit 1; under
    # AddressSanitizer they abort instead, since main() returns without freeing
    # the config, as on every start-up error: so only "not 0" is checked.)
    out = subprocess.run([BIN, "-n", "-u", "nobody", "-b", f"127.0.0.1/{free_port()}",
                          "--control", str(sock), f"x.test:dnset:{sockdir}/data/dn"],
                         capture_output=True, text=True, timeout=10)
    assert out.returncode != 0 and "in use by a running server" in out.stderr
    assert rampart("--control", str(sock), "dnsbl", "stats").returncode == 0
    # removed at exit
    srv.handle.proc.send_signal(signal.SIGTERM)
    srv.handle.proc.wait(timeout=10)
    assert not sock.exists()
    # a path that is not a socket is never removed
    sock.write_text("precious")
    out = subprocess.run([BIN, "-n", "-u", "nobody", "-b", f"127.0.0.1/{free_port()}",
                          "--control", str(sock), f"x.test:dnset:{sockdir}/data/dn"],
                         capture_output=True, text=True, timeout=10)
    assert out.returncode != 0 and "exists and is not a socket" in out.stderr
    assert sock.read_text() == "precious"
    out = subprocess.run([BIN, "-n", "-b", f"127.0.0.1/{free_port()}", "--metrics", "localhost:9153",
                          "x.test:dnset:/dev/null"], capture_output=True, text=True, timeout=10)
    assert out.returncode != 0 and "--metrics" in out.stderr
