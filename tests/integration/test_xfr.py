"""Zone transfer out of rampart-dnsbl: AXFR, IXFR, NOTIFY and TSIG against
real secondaries (Debian's NSD and Knot, run as root in the foreground with
their configuration and state in a temporary directory, on loopback ports),
and against dnspython's transfer client.

Each secondary mirrors three zones of one rampart-dnsbl:
  a.test  an ip4set, transferred unsigned (the secondary's address is in
          --xfr-allow), NOTIFY unsigned;
  s.test  a dnset, transferred with TSIG key k1, NOTIFY signed with k1;
  w.test  an ip4set the secondary asks for with key k2 and a wrong secret:
          rampart-dnsbl answers BADSIG, the zone never loads there.
"""

import contextlib
import os
import pathlib
import re
import shutil
import socket
import subprocess
import tempfile
import time

import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.tsig
import dns.tsigkeyring
import dns.xfr
import dns.zone
import pytest

try:
    from netutil import free_port  # main moved it to tests/integration/netutil.py
except ImportError:
    from conftest import free_port

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("RAMPART_BUILD", os.path.join(ROOT, "build"))
BIN = os.path.join(BUILD, "rampart-dnsbl")
NSD = "/usr/sbin/nsd"
KNOTD = "/usr/sbin/knotd"

SECRET1 = "c2VjcmV0LWtleS1vbmUtZm9yLXJhbXBhcnQtdGVzdHM="
SECRET2 = "c2VjcmV0LWtleS10d28tZm9yLXJhbXBhcnQtdGVzdHM="
WRONG2 = "d3Jvbmcta2V5LXR3by1mb3ItcmFtcGFydC10ZXN0cyE="
KEYRING1 = dns.tsigkeyring.from_text({"k1": SECRET1})
KEYRING_BAD = dns.tsigkeyring.from_text({"k1": WRONG2})


def ip4_data(zone, serial, extra=""):
    return (f"$SOA 1h ns1.{zone} hostmaster.{zone} {serial} 1h 10m 1w 5m\n"
            f"$NS 1h ns1.{zone}\n"
            ":127.0.0.2:Listed, see http://bl.test/lookup?ip=$\n"
            "127.0.0.2\n"
            "192.0.2.0/24 :127.0.0.4:Zombie network $\n"
            "!192.0.2.1\n"
            "10.16.0.0/14 :127.0.0.3\n"
            "198.51.100.23 :127.0.0.5:Has \"quotes\" and $$5\n" + extra)


def dn_data(zone, serial, extra=""):
    return (f"$SOA 1h ns1.{zone} hostmaster.{zone} {serial} 1h 10m 1w 5m\n"
            f"$NS 1h ns1.{zone}\n"
            ":127.0.1.2:Domain $ is listed\n"
            "spam.example\n"
            "*.wild.example :127.0.1.3:wild $\n"
            ".dot.example\n"
            "!ok.dot.example\n" + extra)


@pytest.fixture
def pubdir():
    d = tempfile.mkdtemp(prefix="rampart-xfr-")
    os.chmod(d, 0o755)
    yield pathlib.Path(d)
    shutil.rmtree(d, ignore_errors=True)


def write(path, text):
    path.write_text(text)
    os.chmod(path, 0o644)


def ask(addr, port, name, rdtype="A", tcp=False, timeout=2):
    q = dns.message.make_query(name, rdtype)
    if tcp:
        return dns.query.tcp(q, addr, port=port, timeout=timeout)
    return dns.query.udp(q, addr, port=port, timeout=timeout)


def a_values(r):
    return sorted(rr.address for rrset in r.answer if rrset.rdtype == dns.rdatatype.A
                  for rr in rrset)


def wait_for(fn, timeout, step=0.05):
    """Call fn until it returns a true value or timeout seconds pass."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = fn()
            if last:
                return last
        except (dns.exception.DNSException, OSError) as e:
            last = e
        time.sleep(step)
    return None


def zone_records(z):
    """A zone as a set of (owner, ttl, type, rdata) texts, absolute names."""
    out = set()
    for name, node in z.nodes.items():
        owner = name.derelativize(z.origin).to_text().lower()
        for rds in node.rdatasets:
            for rd in rds:
                out.add((owner, rds.ttl, dns.rdatatype.to_text(rds.rdtype),
                         rd.to_text(origin=z.origin, relativize=False).lower()))
    return out


def dump_zone(files, zone):
    """rampart-dnsbl -d for one zone, parsed by dnspython."""
    p = subprocess.run([BIN, "-d"] + files, capture_output=True, text=True, timeout=20)
    assert p.returncode == 0, p.stderr
    return dns.zone.from_text(p.stdout, origin=zone + ".", relativize=False, check_origin=True)


def axfr(addr, port, zone, **kw):
    return dns.zone.from_xfr(dns.query.xfr(addr, zone, port=port, timeout=10, lifetime=30,
                                           relativize=False, **kw), relativize=False)


# ---- the secondaries ----

def nsd_config(d, port, primary):
    conf = d / "nsd.conf"
    conf.write_text(f"""server:
    ip-address: 127.0.0.1
    port: {port}
    do-ip6: no
    server-count: 1
    database: ""
    username: ""
    chroot: ""
    zonesdir: "{d}"
    pidfile: "{d}/nsd.pid"
    zonelistfile: "{d}/zone.list"
    xfrdfile: "{d}/xfrd.state"
    xfrdir: "{d}"
    cookie-secret-file: "{d}/cookiesecrets.txt"
    verbosity: 2
    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0
remote-control:
    control-enable: no
key:
    name: k1
    algorithm: hmac-sha256
    secret: "{SECRET1}"
key:
    name: k2
    algorithm: hmac-sha256
    secret: "{WRONG2}"
zone:
    name: a.test
    request-xfr: 127.0.0.1@{primary} NOKEY
    allow-notify: 127.0.0.1 NOKEY
    provide-xfr: 127.0.0.1 NOKEY
zone:
    name: s.test
    request-xfr: 127.0.0.1@{primary} k1
    allow-notify: 127.0.0.1 k1
    provide-xfr: 127.0.0.1 NOKEY
zone:
    name: w.test
    request-xfr: 127.0.0.1@{primary} k2
    allow-notify: 127.0.0.1 k2
""")
    return [NSD, "-d", "-c", str(conf)]


def knot_config(d, port, primary):
    conf = d / "knot.conf"
    for sub in ("run", "db", "zones"):
        (d / sub).mkdir(exist_ok=True)
    conf.write_text(f"""server:
    rundir: "{d}/run"
    listen: 127.0.0.1@{port}
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
database:
    storage: "{d}/db"
log:
  - target: stderr
    any: info
key:
  - id: k1
    algorithm: hmac-sha256
    secret: {SECRET1}
  - id: k2
    algorithm: hmac-sha256
    secret: {WRONG2}
remote:
  - id: plain
    address: 127.0.0.1@{primary}
  - id: signed
    address: 127.0.0.1@{primary}
    key: k1
  - id: wrongkey
    address: 127.0.0.1@{primary}
    key: k2
acl:
  - id: notify-plain
    address: 127.0.0.1
    action: notify
  - id: notify-signed
    address: 127.0.0.1
    key: k1
    action: notify
  - id: transfer-out
    address: 127.0.0.1
    action: transfer
template:
  - id: default
    storage: "{d}/zones"
    zonefile-load: none
    zonefile-sync: -1
    journal-content: none
zone:
  - domain: a.test
    master: plain
    acl: [notify-plain, transfer-out]
  - domain: s.test
    master: signed
    acl: [notify-signed, transfer-out]
  - domain: w.test
    master: wrongkey
""")
    return [KNOTD, "-c", str(conf)]


SECONDARIES = {"nsd": (NSD, nsd_config), "knot": (KNOTD, knot_config)}


@contextlib.contextmanager
def secondary(kind, pubdir, port, primary_port):
    """Run NSD or Knot as a secondary of primary_port on `port` (the one the
    primary's --notify names: start_server picks ports of its own, so it runs
    here); yields (process, a function giving its log so far), stops it after."""
    binary, make_conf = SECONDARIES[kind]
    if not os.path.exists(binary):
        pytest.fail(f"{binary} is missing: make deps installs {kind}")
    sec_dir = pubdir / kind
    sec_dir.mkdir()
    argv = make_conf(sec_dir, port, primary_port)
    with open(sec_dir / "out.log", "w") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        yield proc, lambda: (sec_dir / "out.log").read_text(errors="replace")
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


class Setup:
    pass


def start_primary(start_server, pubdir, secondary_port, extra_args=()):
    s = Setup()
    s.dir = pubdir
    s.a, s.s, s.w = pubdir / "a.list", pubdir / "s.list", pubdir / "w.list"
    write(s.a, ip4_data("a.test", 1))
    write(s.s, dn_data("s.test", 1))
    write(s.w, ip4_data("w.test", 1))
    s.specs = [f"a.test:ip4set:{s.a}", f"s.test:dnset:{s.s}", f"w.test:ip4set:{s.w}"]
    args = ["-n", "-u", "nobody", "-b", "{addr}/{port}", "--xfr-allow", "127.0.0.1",
            "--tsig-key", f"k1:hmac-sha256:{SECRET1}", "--tsig-key", f"k2:hmac-sha256:{SECRET2}",
            "--notify", f"127.0.0.1/{secondary_port},zone=a.test",
            "--notify", f"127.0.0.1/{secondary_port},zone=s.test,key=k1",
            *extra_args, *s.specs]
    s.srv = start_server(BIN, args, name="rampart-dnsbl")
    return s


@pytest.mark.parametrize("kind", ["nsd", "knot"])
def test_secondary_mirrors_by_axfr_notify_ixfr_and_tsig(start_server, pubdir, kind):
    sec_port = free_port()
    p = start_primary(start_server, pubdir, sec_port)
    with secondary(kind, pubdir, sec_port, p.srv.port) as (proc, sec_log):
        # 1. AXFR: both good zones load and answer listed names
        def loaded():
            r1 = ask("127.0.0.1", sec_port, "2.0.0.127.a.test")
            r2 = ask("127.0.0.1", sec_port, "spam.example.s.test")
            return (a_values(r1) == ["127.0.0.2"] and a_values(r2) == ["127.0.1.2"]
                    and r1.flags & dns.flags.AA)
        assert wait_for(loaded, 20), f"{kind} did not load the zones\n{sec_log()}\n{p.srv.log_text()}"
        assert proc.poll() is None
        # wildcard blocks and exclusions as -d writes them
        assert a_values(ask("127.0.0.1", sec_port, "9.2.0.192.a.test")) == ["127.0.0.4"]
        r = ask("127.0.0.1", sec_port, "1.2.0.192.a.test")
        assert not a_values(r)  # the exclusion: a CNAME to excluded.a.test, which does not exist
        assert a_values(ask("127.0.0.1", sec_port, "7.0.17.10.a.test")) == ["127.0.0.3"]
        assert a_values(ask("127.0.0.1", sec_port, "x.wild.example.s.test")) == ["127.0.1.3"]

        # the secondary holds exactly what -d writes
        mirrored = axfr("127.0.0.1", sec_port, "a.test")
        assert zone_records(mirrored) == zone_records(dump_zone([p.specs[0]], "a.test"))

        # 2. the wrong key: refused (BADSIG), the zone never loads there
        assert wait_for(lambda: "zone=w.test" in p.srv.log_text() and "reason=BADSIG" in
                        p.srv.log_text(), 10), p.srv.log_text()
        r = ask("127.0.0.1", sec_port, "2.0.0.127.w.test")
        assert r.rcode() in (dns.rcode.SERVFAIL, dns.rcode.REFUSED) and not r.answer
        # NSD: "zone w.test ... bad tsig signature"; Knot: "[w.test.] refresh ...
        # failed (failed to verify TSIG)"
        assert re.search(r"w\.test.*(bad tsig|bad signature|failed to verify TSIG)", sec_log(),
                         re.I), sec_log()

        # 3. a change: HUP -> NOTIFY -> IXFR (answered with the whole zone for a
        # file zone) -> the secondary answers the new listing within 5 s
        write(p.a, ip4_data("a.test", 2, "203.0.113.77 :127.0.0.9:New $\n"))
        write(p.s, dn_data("s.test", 2, "fresh.example\n"))
        t0 = time.monotonic()
        os.kill(p.srv.proc.pid, 1)
        got = wait_for(lambda: a_values(ask("127.0.0.1", sec_port, "77.113.0.203.a.test")) ==
                       ["127.0.0.9"] and a_values(ask("127.0.0.1", sec_port,
                                                      "fresh.example.s.test")) == ["127.0.1.2"],
                       5.0)
        took = time.monotonic() - t0
        assert got, f"{kind} did not answer the new listing within 5 s\n{sec_log()}\n" \
                    f"{p.srv.log_text()}"
        text = p.srv.log_text()
        assert re.search(r"event=notify-acked zone=a\.test target=127\.0\.0\.1/\d+ serial=2", text)
        assert re.search(r"event=notify-acked zone=s\.test target=127\.0\.0\.1/\d+ serial=2", text)
        assert re.search(r"event=xfr-start zone=a\.test client=127\.0\.0\.1 type=IXFR serial=2 "
                         r"client_serial=1 answer=AXFR", text), text
        assert re.search(r"event=xfr-start zone=s\.test client=127\.0\.0\.1 type=\w+XFR "
                         r"serial=2 .*key=k1", text), text
        print(f"{kind}: new listing answered {took:.2f} s after SIGHUP")
        mirrored = axfr("127.0.0.1", sec_port, "s.test")
        assert zone_records(mirrored) == zone_records(dump_zone([p.specs[1]], "s.test"))
        assert proc.poll() is None, sec_log()


# ---- dnspython as the client ----

@pytest.fixture
def primary(start_server, pubdir):
    return start_primary(start_server, pubdir, free_port())


def test_axfr_equals_dump(primary):
    """Every zone, transferred, is the zone -d writes: same names, TTLs, records."""
    p = primary
    for spec, zone in zip(p.specs, ["a.test", "s.test", "w.test"]):
        got = axfr("127.0.0.1", p.srv.port, zone)
        want = dump_zone([spec], zone)
        assert zone_records(got) == zone_records(want), zone
    # the TXT as the answer path gives it, per name, for a wildcard block the block's address
    got = zone_records(axfr("127.0.0.1", p.srv.port, "a.test"))
    assert ("23.100.51.198.a.test.", 2100, "TXT", '"has \\"quotes\\" and $5"') in got
    assert ("*.2.0.192.a.test.", 2100, "TXT", '"zombie network 192.0.2.0"') in got
    assert ("1.2.0.192.a.test.", 2100, "CNAME", "excluded.a.test.") in got


def test_combined_zone_axfr_equals_dump(start_server, pubdir):
    comb = pubdir / "comb"
    write(comb, "$SOA 1h ns1.c.test hm.c.test 7 1h 1h 1w 1h\n$NS 1h ns1.c.test ns2.c.test\n"
                "$DATASET ip4set:proxy proxies @\n:2:Open proxy $\n127.0.0.10\n"
                "$DATASET ip4trie relays\n:3:Open relay $\n10.16.0.0/14\n"
                "$DATASET dnset dom\n:4:domain $\nexample.net\n!bad.wild.net\n*.wild.net\n"
                "$DATASET ip6trie v6\n:5:v6 $\n2001:db8::/31\n!2001:db8::1\n"
                "$DATASET generic proxies\n@ TXT \"common\"\nx MX 10 mail.example.\n"
                "y AAAA 2001:db8::1\n")
    spec = f"c.test:combined:{comb}"
    srv = start_server(BIN, ["-n", "-u", "nobody", "-b", "{addr}/{port}", "--xfr-allow",
                             "127.0.0.0/8", spec])
    got = axfr("127.0.0.1", srv.port, "c.test")
    assert zone_records(got) == zone_records(dump_zone([spec], "c.test"))
    names = {r[0] for r in zone_records(got)}
    assert "*.17.10.relays.c.test." in names and "bad.wild.net.dom.c.test." in names


def test_tsig_transfer_and_refusals(primary):
    p = primary
    port = p.srv.port
    # signed with the right key: every message's TSIG checks (dnspython verifies)
    z = axfr("127.0.0.1", port, "s.test", keyring=KEYRING1, keyname="k1",
             keyalgorithm=dns.tsig.HMAC_SHA256)
    assert zone_records(z) == zone_records(dump_zone([p.specs[1]], "s.test"))
    # the wrong secret: BADSIG, unsigned NOTAUTH
    with pytest.raises((dns.tsig.PeerBadSignature, dns.tsig.PeerError, dns.xfr.TransferError,
                        dns.exception.FormError)):
        axfr("127.0.0.1", port, "s.test", keyring=KEYRING_BAD, keyname="k1",
             keyalgorithm=dns.tsig.HMAC_SHA256)
    # a key we do not know: BADKEY
    with pytest.raises((dns.tsig.PeerBadKey, dns.tsig.PeerError, dns.xfr.TransferError)):
        axfr("127.0.0.1", port, "s.test",
             keyring=dns.tsigkeyring.from_text({"nokey": SECRET1}), keyname="nokey",
             keyalgorithm=dns.tsig.HMAC_SHA256)
    # the raw answers: NOTAUTH with the TSIG error in the TSIG record
    q = dns.message.make_query("s.test", "AXFR")
    q.use_tsig(KEYRING_BAD, keyname="k1", algorithm=dns.tsig.HMAC_SHA256)
    data = tcp_exchange(port, q.to_wire())
    assert data[3] & 0xF == 9  # NOTAUTH
    assert b"\x00\x10\x00\x00" in data[-8:]  # error BADSIG (16), other len 0, at the end
    text = p.srv.log_text()
    assert "reason=BADSIG" in text and "reason=BADKEY" in text
    # the counters (SIGUSR1 logs them; --metrics serves them as rampart_dnsbl_xfr_*_total)
    os.kill(p.srv.proc.pid, 10)
    line = wait_for(lambda: re.search(r"event=xfr-stats xfr_done=(\d+) xfr_aborted=(\d+) "
                                      r"xfr_refused=(\d+)", p.srv.log_text()), 5)
    assert line and int(line.group(1)) >= 1 and int(line.group(3)) >= 3, p.srv.log_text()


def test_bad_time_is_refused_signed(primary, monkeypatch):
    q = dns.message.make_query("s.test", "AXFR")
    q.use_tsig(KEYRING1, keyname="k1", algorithm=dns.tsig.HMAC_SHA256)
    real = time.time
    with monkeypatch.context() as m:
        m.setattr(time, "time", lambda: real() - 3600)  # a client clock an hour behind
        wire = q.to_wire()
    data = tcp_exchange(primary.srv.port, wire)
    assert data[3] & 0xF == 9  # NOTAUTH
    # signed with the request's key (over its MAC), the error BADTIME inside
    with pytest.raises(dns.tsig.PeerBadTime):
        dns.message.from_wire(data, keyring=KEYRING1, request_mac=q.mac)
    assert "reason=BADTIME" in primary.srv.log_text()


def tcp_exchange(port, wire):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        s.sendall(len(wire).to_bytes(2, "big") + wire)
        head = b""
        while len(head) < 2:
            head += s.recv(2 - len(head))
        ln = int.from_bytes(head, "big")
        data = b""
        while len(data) < ln:
            data += s.recv(ln - len(data))
        return data
    finally:
        s.close()


def test_refused_without_allow_or_key(start_server, pubdir):
    f = pubdir / "a.list"
    write(f, ip4_data("a.test", 1))
    srv = start_server(BIN, ["-n", "-u", "nobody", "-b", "{addr}/{port}",
                             "--xfr-allow", "192.0.2.0/24", "--xfr-allow", "2001:db8::/32",
                             f"a.test:ip4set:{f}"])
    with pytest.raises(dns.xfr.TransferError) as e:
        axfr("127.0.0.1", srv.port, "a.test")
    assert e.value.rcode == dns.rcode.REFUSED
    # not a zone of ours (or a name inside one): NOTAUTH even before access
    with pytest.raises(dns.xfr.TransferError) as e:
        axfr("127.0.0.1", srv.port, "2.0.0.127.a.test")
    assert e.value.rcode == dns.rcode.NOTAUTH
    assert "reason=not-allowed" in srv.log_text()


def test_udp_transfers_and_incoming_notify(primary):
    port = primary.srv.port
    r = dns.query.udp(dns.message.make_query("a.test", "AXFR"), "127.0.0.1", port=port, timeout=3)
    assert r.rcode() == dns.rcode.NOTIMP  # RFC 5936 4.2: AXFR is TCP only
    q = dns.message.make_query("a.test", "IXFR")
    q.authority.append(dns.rrset.from_text("a.test.", 0, "IN", "SOA",
                                           "ns1.a.test. hostmaster.a.test. 1 1 1 1 1"))
    r = dns.query.udp(q, "127.0.0.1", port=port, timeout=3)
    assert r.flags & dns.flags.TC and not r.answer  # RFC 1995: ask again over TCP
    n = dns.message.make_query("a.test", "SOA")
    n.set_opcode(dns.opcode.NOTIFY)
    n.flags |= dns.flags.AA
    r = dns.query.udp(n, "127.0.0.1", port=port, timeout=3)
    assert r.rcode() == dns.rcode.NOTIMP and r.opcode() == dns.opcode.NOTIFY


def test_ixfr_from_file_zone_is_whole_zone_or_current_soa(primary):
    port = primary.srv.port
    # behind: the whole zone, as an AXFR-style answer (RFC 1995 section 4)
    msgs = list(dns.query.xfr("127.0.0.1", "a.test", port=port, rdtype=dns.rdatatype.IXFR,
                              serial=0, timeout=5))
    rrsets = [rs for m in msgs for rs in m.answer]
    assert rrsets[0].rdtype == dns.rdatatype.SOA and rrsets[-1].rdtype == dns.rdatatype.SOA
    assert len(rrsets) > 5
    # current: the SOA alone
    msgs = list(dns.query.xfr("127.0.0.1", "a.test", port=port, rdtype=dns.rdatatype.IXFR,
                              serial=1, timeout=5))
    rrsets = [rs for m in msgs for rs in m.answer]
    assert len(rrsets) == 1 and rrsets[0][0].serial == 1


def big_list(path, n):
    with open(path, "w") as f:
        f.write("$SOA 1h ns1.big.test hm.big.test 1 1h 10m 1w 5m\n$NS 1h ns1.big.test\n"
                ":2:Listed $\n")
        for i in range(n):
            f.write(f"10.{i >> 16}.{(i >> 8) & 255}.{i & 255}\n")
    os.chmod(path, 0o644)


def test_big_signed_transfer_while_serving_and_reloading(start_server, pubdir):
    """A 200,000-record zone goes out as many signed messages; a client that
    reads slowly holds at most a bounded amount of output, never stalls UDP or
    other TCP clients, and a reload meanwhile does not change what it gets."""
    f = pubdir / "big.list"
    big_list(f, 100000)
    srv = start_server(BIN, ["-n", "-u", "nobody", "-b", "{addr}/{port}",
                             "--tsig-key", f"k1:hmac-sha256:{SECRET1}", f"big.test:ip4set:{f}"])
    # a slow reader: asks for the zone, reads a little, then waits
    q = dns.message.make_query("big.test", "AXFR")
    q.use_tsig(KEYRING1, keyname="k1", algorithm=dns.tsig.HMAC_SHA256)
    wire = q.to_wire()
    slow = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    slow.sendall(len(wire).to_bytes(2, "big") + wire)
    head = slow.recv(1000)
    assert len(head) > 0
    # meanwhile: UDP and TCP answers come at once
    for _ in range(20):
        t0 = time.monotonic()
        assert a_values(ask("127.0.0.1", srv.port, "5.0.0.10.big.test")) == ["127.0.0.2"]
        assert a_values(ask("127.0.0.1", srv.port, "6.0.0.10.big.test", tcp=True)) == ["127.0.0.2"]
        assert time.monotonic() - t0 < 0.5
    # a reload replaces the zone while the slow transfer is half done
    big_list(f, 10)
    os.kill(srv.proc.pid, 1)
    assert wait_for(lambda: ask("127.0.0.1", srv.port, "5.0.1.10.big.test").rcode() ==
                    dns.rcode.NXDOMAIN, 5)
    # a full signed transfer of the new, small zone
    z = axfr("127.0.0.1", srv.port, "big.test", keyring=KEYRING1, keyname="k1",
             keyalgorithm=dns.tsig.HMAC_SHA256)
    assert len(zone_records(z)) == 2 + 2 * 10
    # the slow reader still gets the whole old zone, every message signed
    reader = SignedStream(q)
    reader.feed(head)
    slow.settimeout(20)
    while reader.soas < 2:
        chunk = slow.recv(1 << 16)
        assert chunk, "the server closed the transfer early"
        reader.feed(chunk)
    slow.close()
    assert reader.messages > 10 and reader.serials == [1, 1]
    assert reader.records == 2 + 1 + 2 * 100000
    assert wait_for(lambda: "records=200003" in srv.log_text(), 5)
    log = srv.log_text()
    # the reload happened while the slow transfer was still going
    assert log.index("event=reload datasets=1") < log.index("records=200003")


class SignedStream:
    """Split a TCP stream into messages as they complete; verify each one's
    TSIG in turn (the first over the request's MAC, the others over the one
    before), count records and SOA serials."""

    def __init__(self, query):
        self.q, self.buf, self.ctx = query, b"", None
        self.messages = self.records = self.soas = 0
        self.serials = []

    def feed(self, data):
        self.buf += data
        while len(self.buf) >= 2:
            ln = int.from_bytes(self.buf[:2], "big")
            if len(self.buf) < 2 + ln:
                return
            m = dns.message.from_wire(self.buf[2:2 + ln], keyring=self.q.keyring,
                                      request_mac=self.q.mac, xfr=True, tsig_ctx=self.ctx,
                                      multi=True)
            self.buf = self.buf[2 + ln:]
            self.ctx = m.tsig_ctx
            self.messages += 1
            for rs in m.answer:
                self.records += len(rs)
                if rs.rdtype == dns.rdatatype.SOA:
                    self.soas += len(rs)
                    self.serials += [r.serial for r in rs]


# ---- lists of the listing database (rampart-dnsbl --db) ----

RAMPART = os.path.join(BUILD, "rampart")


def rampart(db, *args):
    p = subprocess.run([RAMPART, "--db", str(db), *args], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0, f"rampart {' '.join(args)}: {p.stdout}{p.stderr}"


@pytest.mark.parametrize("kind", ["nsd", "knot"])
def test_secondary_mirrors_a_database_list(start_server, pubdir, kind):
    """A list of the database, mirrored by AXFR; a listing added with
    `rampart list add` reaches the secondary by NOTIFY + IXFR within 5 s."""
    db = pubdir / "rampart.db"
    rampart(db, "list", "create", "a", "--zone", "a.test", "--kind", "ip4", "--txt", "Listed $")
    rampart(db, "list", "add", "a", "127.0.0.2", "192.0.2.0/24", "10.17.0.0/16")
    rampart(db, "list", "create", "s", "--zone", "s.test", "--kind", "dns", "--code", "127.0.1.2")
    rampart(db, "list", "add", "s", "spam.example", ".wild.example")
    sec_port = free_port()
    args = ["-n", "-u", "nobody", "-b", "{addr}/{port}", "--db", str(db), "--db-ns", "ns1.a.test",
            "--xfr-allow", "127.0.0.1", "--tsig-key", f"k1:hmac-sha256:{SECRET1}",
            "--notify", f"127.0.0.1/{sec_port},zone=a.test",
            "--notify", f"127.0.0.1/{sec_port},zone=s.test,key=k1"]
    srv = start_server(BIN, args, name="rampart-dnsbl")
    with secondary(kind, pubdir, sec_port, srv.port) as (proc, sec_log):
        def loaded():
            return (a_values(ask("127.0.0.1", sec_port, "2.0.0.127.a.test")) == ["127.0.0.2"]
                    and a_values(ask("127.0.0.1", sec_port, "spam.example.s.test")) == ["127.0.1.2"])
        assert wait_for(loaded, 20), f"{kind} did not load\n{sec_log()}\n{srv.log_text()}"
        assert a_values(ask("127.0.0.1", sec_port, "9.2.0.192.a.test")) == ["127.0.0.2"]
        assert a_values(ask("127.0.0.1", sec_port, "7.0.17.10.a.test")) == ["127.0.0.2"]
        assert a_values(ask("127.0.0.1", sec_port, "x.wild.example.s.test")) == ["127.0.1.2"]
        # what the secondary holds is what we serve: the same names answer alike
        mirrored = zone_records(axfr("127.0.0.1", sec_port, "a.test"))
        ours = zone_records(axfr("127.0.0.1", srv.port, "a.test"))
        assert mirrored == ours
        # a change through the database: committed -> NOTIFY -> transfer -> answered
        t0 = time.monotonic()
        rampart(db, "list", "add", "a", "203.0.113.77", "--reason", "trap")
        got = wait_for(lambda: a_values(ask("127.0.0.1", sec_port, "77.113.0.203.a.test")) ==
                       ["127.0.0.2"], 5.0)
        took = time.monotonic() - t0
        assert got, f"{kind} did not answer the new listing within 5 s\n{sec_log()}\n" \
                    f"{srv.log_text()}"
        assert re.search(r"event=notify-acked zone=a\.test target=127\.0\.0\.1/\d+", srv.log_text())
        # an incremental transfer from the list's journal, not the whole zone
        assert re.search(r"event=xfr-start zone=a\.test client=127\.0\.0\.1 type=IXFR .*answer=IXFR",
                         srv.log_text()), srv.log_text()
        print(f"{kind}: database listing answered by the secondary {took:.2f} s after commit")
        # a change of value and a removal travel the same way
        rampart(db, "list", "add", "a", "203.0.113.77", "--code", "127.0.0.5", "--reason", "worse")
        rampart(db, "list", "remove", "a", "127.0.0.2", "--reason", "delisted")
        assert wait_for(lambda: a_values(ask("127.0.0.1", sec_port, "77.113.0.203.a.test")) ==
                        ["127.0.0.5"] and ask("127.0.0.1", sec_port, "2.0.0.127.a.test").rcode()
                        == dns.rcode.NXDOMAIN, 5.0), f"{sec_log()}\n{srv.log_text()}"
        assert zone_records(axfr("127.0.0.1", sec_port, "a.test")) == \
            zone_records(axfr("127.0.0.1", srv.port, "a.test"))
        assert proc.poll() is None, sec_log()
