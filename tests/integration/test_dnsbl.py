"""rampart-dnsbl as a user runs it: the real binary on loopback, queried with
dnspython and dig over UDP and TCP."""

import os
import pathlib
import re
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time

import dns.edns
import dns.flags
import dns.message
import dns.opcode
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("RAMPART_BUILD", os.path.join(ROOT, "build"))
BIN = os.path.join(BUILD, "rampart-dnsbl")


@pytest.fixture
def pubdir():
    """A temporary directory the unprivileged server user can read: pytest's
    own tmp_path lives under a 0700 directory of root's."""
    d = tempfile.mkdtemp(prefix="rampart-it-")
    os.chmod(d, 0o755)
    yield pathlib.Path(d)
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def datadir(pubdir):
    """A world-readable copy of the sample lists (the server drops to nobody)."""
    tmp_path = pubdir
    d = tmp_path / "data"
    d.mkdir()
    for name in os.listdir(os.path.join(ROOT, "etc", "dnsbl")):
        shutil.copy(os.path.join(ROOT, "etc", "dnsbl", name), d / name)
    os.chmod(tmp_path, 0o755)
    os.chmod(d, 0o755)
    for f in d.iterdir():
        os.chmod(f, 0o644)
    return d


def sample_args(datadir, *extra):
    return ["-n", "-u", "nobody", "-b", "{addr}/{port}", *extra,
            f"ip4.dnsbl.example:ip4set:{datadir}/sample-ip4",
            f"ip6.dnsbl.example:ip6trie:{datadir}/sample-ip6",
            f"dbl.dnsbl.example:dnset:{datadir}/sample-dn"]


@pytest.fixture
def server(start_server, datadir):
    return start_server(BIN, sample_args(datadir))


def ask(srv, name, rdtype="A", tcp=False, **kw):
    q = dns.message.make_query(name, rdtype, **kw)
    if tcp:
        return dns.query.tcp(q, srv.addr, port=srv.port, timeout=3)
    return dns.query.udp(q, srv.addr, port=srv.port, timeout=3)


def a_values(resp):
    return sorted(rr.address for rrset in resp.answer if rrset.rdtype == dns.rdatatype.A
                  for rr in rrset)


def txt_values(resp):
    return [b"".join(rr.strings).decode() for rrset in resp.answer
            if rrset.rdtype == dns.rdatatype.TXT for rr in rrset]


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
def test_rfc5782_test_points(server, tcp):
    """RFC 5782 section 5: 127.0.0.2 / ::FFFF:7F00:2 / TEST listed; 127.0.0.1,
    ::FFFF:7F00:1 and INVALID not."""
    r = ask(server, "2.0.0.127.ip4.dnsbl.example", "A", tcp)
    assert r.rcode() == dns.rcode.NOERROR and a_values(r) == ["127.0.0.2"]
    assert r.flags & dns.flags.AA
    r = ask(server, "2.0.0.127.ip4.dnsbl.example", "TXT", tcp)
    assert txt_values(r) == ["Listed by the Rampart sample list, see "
                             "http://dnsbl.example/lookup?ip=127.0.0.2"]
    r = ask(server, "1.0.0.127.ip4.dnsbl.example", "A", tcp)
    assert r.rcode() == dns.rcode.NXDOMAIN and not r.answer
    assert r.authority and r.authority[0].rdtype == dns.rdatatype.SOA
    v6 = ".".join(reversed("00000000000000000000ffff7f000002")) + ".ip6.dnsbl.example"
    assert a_values(ask(server, v6, "A", tcp)) == ["127.0.0.2"]
    v6no = ".".join(reversed("00000000000000000000ffff7f000001")) + ".ip6.dnsbl.example"
    assert ask(server, v6no, "A", tcp).rcode() == dns.rcode.NXDOMAIN
    assert a_values(ask(server, "TEST.dbl.dnsbl.example", "A", tcp)) == ["127.0.0.2"]
    assert ask(server, "invalid.dbl.dnsbl.example", "A", tcp).rcode() == dns.rcode.NXDOMAIN


def test_ranges_exclusions_and_ent(server):
    assert a_values(ask(server, "5.2.0.192.ip4.dnsbl.example")) == ["127.0.0.4"]
    assert ask(server, "1.2.0.192.ip4.dnsbl.example").rcode() == dns.rcode.NXDOMAIN
    # RFC 8020: 2.0.192 has listed names below it
    r = ask(server, "2.0.192.ip4.dnsbl.example")
    assert r.rcode() == dns.rcode.NOERROR and not r.answer
    assert ask(server, "9.0.192.ip4.dnsbl.example").rcode() == dns.rcode.NXDOMAIN
    r = ask(server, "x.y.spam.example.dbl.dnsbl.example", "TXT")
    assert txt_values(r) == ["Domain spam.example is listed by the Rampart sample list"]


def test_apex_and_outside(server):
    r = ask(server, "ip4.dnsbl.example", "SOA")
    assert r.answer[0].rdtype == dns.rdatatype.SOA
    assert r.answer[0][0].mname.to_text() == "ns1.dnsbl.example."
    r = ask(server, "ip4.dnsbl.example", "NS")
    assert [rr.target.to_text() for rr in r.answer[0]] == ["ns1.dnsbl.example."]
    r = ask(server, "www.example.com", "A")
    assert r.rcode() == dns.rcode.REFUSED and not (r.flags & dns.flags.AA)


def test_dig_udp_and_tcp(server):
    for mode in ("+notcp", "+tcp"):
        out = subprocess.run(["dig", mode, "+short", "-p", str(server.port), f"@{server.addr}",
                              "2.0.0.127.ip4.dnsbl.example", "A"],
                             capture_output=True, text=True, timeout=10)
        assert out.stdout.strip() == "127.0.0.2", out


def test_edns_and_truncation(start_server, pubdir):
    tmp_path = pubdir
    """Large answers: TC=1 over UDP within the advertised size, full over TCP."""
    os.chmod(tmp_path, 0o755)
    data = tmp_path / "big"
    data.write_text("".join(f"10.0.0.1 :2:record {i} {'x' * 60}\n" for i in range(60)))
    os.chmod(data, 0o644)
    srv = start_server(BIN, ["-n", "-u", "nobody", "-b", "{addr}/{port}",
                             f"big.test:ip4set:{data}"])
    r = ask(srv, "1.0.0.10.big.test", "TXT", use_edns=0, payload=1232)
    assert r.flags & dns.flags.TC and not r.answer
    assert r.edns == 0 and r.payload == 1232  # OPT in the answer
    r = ask(srv, "1.0.0.10.big.test", "TXT")  # no EDNS: 512 bytes
    assert r.flags & dns.flags.TC
    r = ask(srv, "1.0.0.10.big.test", "TXT", tcp=True)
    assert not (r.flags & dns.flags.TC) and len(txt_values(r)) == 60
    # a small answer with EDNS: OPT present, not truncated
    r = ask(srv, "1.0.0.10.big.test", "A", use_edns=0, payload=4096)
    assert r.edns == 0 and not (r.flags & dns.flags.TC) and a_values(r) == ["127.0.0.2"]


def raw_udp(srv, payload):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2)
    try:
        s.sendto(payload, (srv.addr, srv.port))
        return s.recvfrom(65535)[0]
    finally:
        s.close()


def test_bad_queries(server):
    q = dns.message.make_query("2.0.0.127.ip4.dnsbl.example", "A").to_wire()
    # trailing garbage -> FORMERR
    assert raw_udp(server, q + b"\0\0")[3] & 0xF == dns.rcode.FORMERR
    # two questions -> FORMERR
    two = q[:4] + b"\0\2" + q[6:] + q[12:]
    assert raw_udp(server, two)[3] & 0xF == dns.rcode.FORMERR
    # another opcode -> NOTIMP
    m = dns.message.make_query("ip4.dnsbl.example", "SOA")
    m.set_opcode(dns.opcode.STATUS)
    assert raw_udp(server, m.to_wire())[3] & 0xF == dns.rcode.NOTIMP
    # EDNS version 1 -> BADVERS (extended rcode 16)
    w = bytearray(dns.message.make_query("2.0.0.127.ip4.dnsbl.example", "A", use_edns=0).to_wire())
    w[-5] = 1  # OPT TTL: extended rcode, VERSION, flags; then RDLENGTH
    r = dns.message.from_wire(raw_udp(server, bytes(w)))
    assert r.rcode() == dns.rcode.BADVERS
    # a response packet is never answered; the server keeps serving
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(0.5)
    s.sendto(q[:2] + bytes([q[2] | 0x80]) + q[3:], (server.addr, server.port))
    with pytest.raises(socket.timeout):
        s.recvfrom(512)
    s.close()
    assert a_values(ask(server, "2.0.0.127.ip4.dnsbl.example")) == ["127.0.0.2"]


def test_tcp_pipelining_and_idle_timeout(start_server, datadir):
    srv = start_server(BIN, sample_args(datadir, "--tcp-idle-timeout", "1"))
    names = ["2.0.0.127.ip4.dnsbl.example", "1.0.0.127.ip4.dnsbl.example",
             "test.dbl.dnsbl.example"]
    wire = b""
    ids = []
    for i, n in enumerate(names):
        m = dns.message.make_query(n, "A")
        m.id = 1000 + i
        ids.append(m.id)
        w = m.to_wire()
        wire += struct.pack(">H", len(w)) + w
    c = socket.create_connection((srv.addr, srv.port), timeout=3)
    c.sendall(wire)  # three queries in one segment
    got = {}
    buf = b""
    while len(got) < 3:
        chunk = c.recv(65535)
        assert chunk, "connection closed before all answers"
        buf += chunk
        while len(buf) >= 2 and len(buf) >= 2 + struct.unpack(">H", buf[:2])[0]:
            ln = struct.unpack(">H", buf[:2])[0]
            r = dns.message.from_wire(buf[2:2 + ln])
            got[r.id] = r.rcode()
            buf = buf[2 + ln:]
    assert got == {1000: dns.rcode.NOERROR, 1001: dns.rcode.NXDOMAIN, 1002: dns.rcode.NOERROR}
    # idle: the server closes the connection after about a second
    t0 = time.monotonic()
    c.settimeout(5)
    assert c.recv(10) == b""
    assert 0.5 < time.monotonic() - t0 < 4
    c.close()


def test_every_thread_answers(start_server, datadir):
    # --rrl off: 200 queries in a burst from one address would reach the
    # default per-address limit (tests/flood and test_defense cover it)
    srv = start_server(BIN, sample_args(datadir, "--threads", "2", "--rrl", "off"))
    # Many source ports spread over the SO_REUSEPORT sockets.
    for i in range(200):
        r = ask(srv, "2.0.0.127.ip4.dnsbl.example")
        assert a_values(r) == ["127.0.0.2"]
    srv.proc.send_signal(signal.SIGUSR1)
    for _ in range(50):
        m = re.search(r"event=stats .*per_thread=([\d,]+)", srv.log_text())
        if m:
            break
        time.sleep(0.1)
    assert m, srv.log_text()
    per = [int(x) for x in m.group(1).split(",")]
    assert len(per) == 3  # two UDP workers, then the TCP thread
    assert per[0] > 0 and per[1] > 0, per


def test_reload_on_hup_and_bad_lines(start_server, pubdir):
    tmp_path = pubdir
    os.chmod(tmp_path, 0o755)
    data = tmp_path / "list"
    data.write_text("1.2.3.4\n")
    os.chmod(data, 0o644)
    srv = start_server(BIN, ["-n", "-u", "nobody", "-c", "0", "-b", "{addr}/{port}",
                             f"bl.test:ip4set:{data}"])
    assert a_values(ask(srv, "4.3.2.1.bl.test")) == ["127.0.0.2"]
    new = tmp_path / "list.new"
    new.write_text("5.6.7.8 :3\nnot-an-address\n1.2.3.4/33\n")
    os.chmod(new, 0o644)
    os.rename(new, data)
    srv.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if a_values(ask(srv, "8.7.6.5.bl.test")) == ["127.0.0.3"]:
            break
        time.sleep(0.05)
    assert a_values(ask(srv, "8.7.6.5.bl.test")) == ["127.0.0.3"]
    assert ask(srv, "4.3.2.1.bl.test").rcode() == dns.rcode.NXDOMAIN
    log = srv.log_text()
    assert f"{data}:2: invalid IPv4 address" in log, log
    assert f"{data}:3: invalid prefix length" in log, log
    # the file disappears: the zone keeps its previous data
    os.unlink(data)
    srv.proc.send_signal(signal.SIGHUP)
    time.sleep(0.5)
    assert a_values(ask(srv, "8.7.6.5.bl.test")) == ["127.0.0.3"]
    assert "event=reload-failed" in srv.log_text()


def test_reload_under_load_loses_nothing(start_server, pubdir):
    tmp_path = pubdir
    """Queries keep being answered while a 200k-entry zone is reloaded."""
    os.chmod(tmp_path, 0o755)
    data = tmp_path / "list"
    lines = "".join(f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}\n" for i in range(200000))
    data.write_text(lines)
    os.chmod(data, 0o644)
    # --rrl off: one address sending as fast as it can is this test's load,
    # not an attack (tests/flood covers the limiter)
    srv = start_server(BIN, ["-n", "-u", "nobody", "-c", "0", "-b", "{addr}/{port}", "--rrl", "off",
                             f"bl.test:ip4set:{data}"], timeout=30)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2)
    q = dns.message.make_query("5.0.0.10.bl.test", "A")
    sent = answered = 0
    t_end = time.monotonic() + 3
    reloads = 0
    while time.monotonic() < t_end and sent < 20000:
        if sent % 1000 == 500 and reloads < 4:
            os.utime(data, None)
            srv.proc.send_signal(signal.SIGHUP)
            reloads += 1
        q.id = sent & 0xFFFF
        s.sendto(q.to_wire(), (srv.addr, srv.port))
        sent += 1
        r = dns.message.from_wire(s.recvfrom(4096)[0])
        if r.id == q.id and a_values(r) == ["127.0.0.2"]:
            answered += 1
    s.close()
    assert reloads >= 2 and sent > 1000
    assert answered == sent
    assert srv.log_text().count("event=loaded") >= 3


def test_never_runs_as_root(datadir):
    """As root without -u it drops to rbldnsd's default user rbldns (the
    rbldnsd package creates it); with -u root it refuses."""
    if os.geteuid() != 0:
        pytest.fail("this test is meant to run as root, as CI does")
    p = subprocess.run([BIN, "-n", "-u", "root", "-b", "127.0.0.1/0",
                        f"z.test:ip4set:{datadir}/sample-ip4"],
                       capture_output=True, text=True, timeout=10)
    assert p.returncode != 0 and "will not run as root" in p.stderr
    p = subprocess.Popen([BIN, "-n", "-b", "127.0.0.1/0", f"z.test:ip4set:{datadir}/sample-ip4"],
                         stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(100):
            with open(f"/proc/{p.pid}/status") as f:
                uid = [l for l in f if l.startswith("Uid:")][0].split()[1:]
            if uid[0] != "0":
                break
            time.sleep(0.05)
        import pwd
        assert int(uid[0]) == pwd.getpwnam("rbldns").pw_uid
        assert all(u == uid[0] for u in uid)  # real, effective, saved, fs
    finally:
        p.terminate()
        p.wait(timeout=5)


def test_daemon_pidfile(datadir, pubdir):
    pidfile = pubdir / "dnsbl.pid"
    p = subprocess.run([BIN, "-u", "nobody", "-p", str(pidfile), "-b", "127.0.0.1/0",
                        f"z.test:ip4set:{datadir}/sample-ip4"], timeout=10)
    assert p.returncode == 0
    for _ in range(50):
        if pidfile.exists() and pidfile.read_text().strip():
            break
        time.sleep(0.05)
    pid = int(pidfile.read_text())
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            assert b"rampart-dnsbl" in f.read()
    finally:
        os.kill(pid, signal.SIGTERM)


def test_usage_and_dump(datadir):
    p = subprocess.run([BIN, "-h"], capture_output=True, text=True, timeout=10)
    assert p.returncode == 0 and " -b address[/port]" in p.stdout
    p = subprocess.run([BIN, "-d", f"ip4.dnsbl.example:ip4set:{datadir}/sample-ip4"],
                       capture_output=True, text=True, timeout=10)
    assert p.returncode == 0
    assert "$ORIGIN ip4.dnsbl.example." in p.stdout
    assert re.search(r"^2\.0\.0\.127\t2100\tIN\tA\t127\.0\.0\.2$", p.stdout, re.M), p.stdout
    assert re.search(r"^\*\.2\.0\.192\t2100\tIN\tA\t127\.0\.0\.4$", p.stdout, re.M), p.stdout
    assert re.search(r"^1\.2\.0\.192\t2100\tIN\tCNAME\texcluded$", p.stdout, re.M), p.stdout
    assert ('2.0.0.127\t2100\tIN\tTXT\t"Listed by the Rampart sample list, see '
            'http://dnsbl.example/lookup?ip=127.0.0.2"') in p.stdout
    # a trie prefix between octet boundaries is dumped as the blocks it covers
    trie = datadir / "trie"
    trie.write_text("10.16.0.0/14 :3:t\n")
    p = subprocess.run([BIN, "-d", f"t.example:ip4trie:{trie}"], capture_output=True, text=True,
                       timeout=10)
    names = re.findall(r"^(\S+)\t\d+\tIN\tA\t127\.0\.0\.3$", p.stdout, re.M)
    assert names == ["*.16.10", "*.17.10", "*.18.10", "*.19.10"], p.stdout
    trie6 = datadir / "trie6"
    trie6.write_text("2001:db8::/31 :3:t\n")
    p = subprocess.run([BIN, "-d", f"t6.example:ip6trie:{trie6}"], capture_output=True,
                       text=True, timeout=10)
    names = re.findall(r"^(\S+)\t\d+\tIN\tA\t127\.0\.0\.3$", p.stdout, re.M)
    assert names == ["*.8.b.d.0.1.0.0.2", "*.9.b.d.0.1.0.0.2"], p.stdout
    p = subprocess.run([BIN, "-n", "-b", "127.0.0.1/0", "bad-spec"], capture_output=True,
                       text=True, timeout=10)
    assert p.returncode != 0 and "bad-zone-spec" in p.stderr


def test_query_log_stats_file_and_version(start_server, datadir, pubdir):
    tmp_path = pubdir
    logdir = tmp_path / "logs"
    logdir.mkdir()
    os.chmod(logdir, 0o777)
    qlog = logdir / "queries"
    stats = logdir / "stats"
    srv = start_server(BIN, sample_args(datadir, "-l", f"+{qlog}", "-s", str(stats), "-c", "1"))
    ask(srv, "2.0.0.127.ip4.dnsbl.example")
    ask(srv, "1.0.0.127.ip4.dnsbl.example")
    r = ask(srv, "version.bind", "TXT", rdclass="CH")
    assert txt_values(r)[0].startswith("rampart-dnsbl")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if stats.exists() and "ip4.dnsbl.example:" in stats.read_text():
            break
        time.sleep(0.2)
    line = [l for l in stats.read_text().splitlines() if "ip4.dnsbl.example:" in l][-1]
    m = re.match(r"^\d+ ip4\.dnsbl\.example:(\d+):(\d+):(\d+):(\d+):(\d+) .* \*:\d+:\d+:\d+:\d+:\d+$", line)
    assert m, line
    assert int(m.group(1)) >= 2 and int(m.group(2)) >= 1 and int(m.group(3)) >= 1
    text = qlog.read_text()
    assert "2.0.0.127.ip4.dnsbl.example." in text and "1.0.0.127.ip4.dnsbl.example." in text
