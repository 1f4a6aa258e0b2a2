"""rampart-dnsbl's defenses, one by one: response rate limiting with slip,
DNS cookies (RFC 7873) lifting a verified client out of a flooded prefix,
and the TCP caps and timeouts. tests/flood runs them together under load.

Every test starts the real binary on loopback and talks to it with raw
sockets or dnspython; every loop is bounded in count and time.
"""
import os
import re
import signal
import socket
import time

import dns.edns
import dns.flags
import dns.message
import dns.query
import pytest

from test_dnsbl import BIN, a_values, datadir, pubdir, sample_args  # noqa: F401 (fixtures)

LISTED = "2.0.0.127.ip4.dnsbl.example"


def stats(srv):
    """The server's counters, from the log lines SIGUSR1 writes."""
    before = srv.log_text().count("event=defense-stats")
    srv.proc.send_signal(signal.SIGUSR1)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        text = srv.log_text()
        if text.count("event=defense-stats") > before:
            line = [l for l in text.splitlines() if "event=defense-stats" in l][-1]
            base = [l for l in text.splitlines() if "event=stats " in l][-1]
            return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)\b", base + " " + line)}
        time.sleep(0.05)
    pytest.fail("no statistics in the log after SIGUSR1:\n" + srv.log_text())


def burst(srv, n, src="127.0.0.1", name=LISTED, wait=1.0, pace=0.0):
    """Send n queries from one socket bound to src, as fast as possible or
    `pace` seconds apart; return (full answers, truncated answers, largest
    truncated length, query length)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((src, 0))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    wire = []
    for i in range(n):
        q = dns.message.make_query(name, "A")
        q.id = i & 0xffff
        wire.append(q.to_wire())
    for w in wire:
        s.sendto(w, (srv.addr, srv.port))
        if pace:
            time.sleep(pace)
    full = tc = 0
    biggest = 0
    s.settimeout(0.2)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            data = s.recv(4096)
        except socket.timeout:
            break
        if data[2] & 0x02:
            tc += 1
            biggest = max(biggest, len(data))
        else:
            full += 1
    s.close()
    return full, tc, biggest, len(wire[0])


def test_a_flood_is_limited_and_slips_truncated_answers(start_server, datadir):
    srv = start_server(BIN, sample_args(datadir, "--threads", "1", "--rrl-rate", "20",
                                        "--rrl-burst", "1", "--rrl-slip", "2"))
    # paced (a few thousand a second), so the server is never behind: a
    # bucket of 20 (1 s at 20/s), plus what drains meanwhile; half of the
    # rest comes back truncated, the rest is dropped
    full, tc, biggest, qlen = burst(srv, 600, pace=0.0003)
    assert 18 <= full <= 80, (full, tc)  # the start-up probe took one
    assert abs(tc - (600 - full) / 2) <= 30, (full, tc)
    assert biggest <= qlen  # a slip is never larger than the query: no amplification
    # as fast as a socket can send: the server falls behind, and sends no slips
    # from a full batch (the send would cost other clients' answers)
    full2, tc2, biggest2, _ = burst(srv, 3000)
    assert full2 <= 60 and tc2 <= (3000 - full2) / 2 + 10, (full2, tc2)
    assert biggest2 <= qlen
    st = stats(srv)
    assert st["rrl_slipped"] == tc + tc2, st
    # every query not answered in full or truncated was dropped by the limiter,
    # save any the kernel dropped at the server's socket
    unanswered = 600 + 3000 - full - full2 - tc - tc2
    assert unanswered - 300 <= st["rrl_dropped"] <= unanswered, (unanswered, st)
    # another network is not held back by the flood
    r = dns.query.udp(dns.message.make_query(LISTED, "A"), srv.addr, port=srv.port,
                      timeout=2, source="127.9.9.9")
    assert a_values(r) == ["127.0.0.2"]


def test_a_truncated_answer_sends_a_real_resolver_to_tcp(start_server, datadir):
    srv = start_server(BIN, sample_args(datadir, "--rrl-rate", "1", "--rrl-burst", "1",
                                        "--rrl-slip", "1"))
    burst(srv, 50, src="127.0.0.7")
    # dnspython's udp_with_fallback retries over TCP on TC=1, as resolvers do
    r, used_tcp = dns.query.udp_with_fallback(dns.message.make_query(LISTED, "A"), srv.addr,
                                              port=srv.port, timeout=2, source="127.0.0.7")
    assert used_tcp and a_values(r) == ["127.0.0.2"]


def test_rate_limiting_can_be_turned_off_or_exempted(start_server, datadir):
    srv = start_server(BIN, sample_args(datadir, "--rrl", "off", "--threads", "1"))
    full, tc, _, _ = burst(srv, 500, wait=2.0)
    assert (full, tc) == (500, 0)
    srv2 = start_server(BIN, sample_args(datadir, "--rrl-rate", "5", "--threads", "1",
                                         "--rrl-exempt", "127.0.0.0/24"))
    full, tc, _, _ = burst(srv2, 500, src="127.0.0.3", wait=2.0)
    assert (full, tc) == (500, 0)
    full, tc, _, _ = burst(srv2, 500, src="127.0.1.3", wait=2.0)
    assert full < 50


def cookie_query(name, cookie):
    return dns.message.make_query(name, "A", use_edns=0,
                                  options=[dns.edns.GenericOption(10, cookie)])


def reply_cookie(r):
    for o in r.options:
        if o.otype == 10:
            return o.to_wire() if hasattr(o, "to_wire") else o.data
    return None


def test_cookies_prove_the_address_and_lift_the_limit(start_server, datadir):
    # 2 answers/s per address, a bucket of 10 s: the /24 holds 80 and drains
    # only 8 a second, so the flood below keeps it full
    srv = start_server(BIN, sample_args(datadir, "--threads", "1", "--rrl-rate", "2",
                                        "--rrl-burst", "10", "--rrl-slip", "0"))
    client = os.urandom(8)
    r = dns.query.udp(cookie_query(LISTED, client), srv.addr, port=srv.port, timeout=2,
                      source="127.0.3.2")
    both = reply_cookie(r)
    assert both is not None and len(both) == 24 and both[:8] == client and both[8] == 1
    # a flood from ten neighbours in the same /24 fills its buckets
    for host in range(10, 20):
        burst(srv, 30, src=f"127.0.3.{host}", wait=0.3)
    # without the cookie, 127.0.3.2 is held back with its /24 ...
    plain, _, _, _ = burst(srv, 20, src="127.0.3.2", wait=0.5)
    assert plain <= 4
    # ... with the server cookie it has proved its address and has its own limit
    for _ in range(20):
        r = dns.query.udp(cookie_query(LISTED, both), srv.addr, port=srv.port, timeout=2,
                          source="127.0.3.2")
        assert a_values(r) == ["127.0.0.2"]
        assert reply_cookie(r)[:8] == client
    st = stats(srv)
    assert st["cookie_valid"] == 20 and st["cookie_new"] == 1, st
    # a forged server cookie proves nothing
    forged = both[:16] + bytes(8)
    r = None
    try:
        r = dns.query.udp(cookie_query(LISTED, forged), srv.addr, port=srv.port, timeout=0.3,
                          source="127.0.3.2")
    except dns.exception.Timeout:
        pass
    assert stats(srv)["cookie_valid"] == 20
    # a malformed cookie option is FORMERR (RFC 7873 5.2.2)
    r = dns.query.udp(cookie_query(LISTED, b"\x01\x02\x03"), srv.addr, port=srv.port, timeout=2,
                      source="127.0.4.2")
    assert r.rcode() == dns.rcode.FORMERR


def tcp_query(sock, name, qid=1):
    q = dns.message.make_query(name, "A")
    q.id = qid
    w = q.to_wire()
    sock.sendall(len(w).to_bytes(2, "big") + w)


def tcp_read_answer(sock):
    n = b""
    while len(n) < 2:
        chunk = sock.recv(2 - len(n))
        if not chunk:
            return None
        n += chunk
    want = int.from_bytes(n, "big")
    data = b""
    while len(data) < want:
        chunk = sock.recv(want - len(data))
        if not chunk:
            return None
        data += chunk
    return dns.message.from_wire(data)


def closed_by_server(sock, within):
    """Does the server close this connection within `within` seconds?"""
    sock.settimeout(within)
    try:
        return sock.recv(1) == b""
    except socket.timeout:
        return False
    except ConnectionResetError:
        return True


def connect(srv, src):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((src, 0))
    s.connect((srv.addr, srv.port))
    return s


def test_tcp_per_client_cap(start_server, datadir):
    srv = start_server(BIN, sample_args(datadir, "--tcp-max-per-client", "4"))
    held = [connect(srv, "127.0.5.5") for _ in range(4)]
    for i, s in enumerate(held):
        tcp_query(s, LISTED, i)
        assert a_values(tcp_read_answer(s)) == ["127.0.0.2"]
    extra = connect(srv, "127.0.5.5")
    assert closed_by_server(extra, 2)
    # another client is served meanwhile
    other = connect(srv, "127.0.5.6")
    tcp_query(other, LISTED)
    assert a_values(tcp_read_answer(other)) == ["127.0.0.2"]
    st = stats(srv)
    assert st["tcp_refused"] >= 1 and st["tcp_open"] == 5, st
    for s in held + [extra, other]:
        s.close()


def test_tcp_slowloris_idle_and_lifetime_timeouts(start_server, datadir):
    srv = start_server(BIN, sample_args(datadir, "--tcp-query-timeout", "1",
                                        "--tcp-idle-timeout", "2", "--tcp-lifetime", "4"))
    # slowloris: a query started and never finished is closed after ~1 s
    slow = connect(srv, "127.0.6.1")
    slow.sendall(b"\x00\x30\x12")
    t0 = time.monotonic()
    assert closed_by_server(slow, 3)
    assert 0.8 < time.monotonic() - t0 < 2.5
    # idle: no query for 2 s
    idle = connect(srv, "127.0.6.2")
    t0 = time.monotonic()
    assert closed_by_server(idle, 4)
    assert 1.8 < time.monotonic() - t0 < 3.5
    # lifetime: a busy connection is still closed after 4 s
    busy = connect(srv, "127.0.6.3")
    t0 = time.monotonic()
    closed = False
    for i in range(20):
        try:
            tcp_query(busy, LISTED, i)
            if tcp_read_answer(busy) is None:
                closed = True
                break
        except (BrokenPipeError, ConnectionResetError):
            closed = True
            break
        time.sleep(0.5)
    assert closed and 3.5 < time.monotonic() - t0 < 6
    st = stats(srv)
    assert st["tcp_timeouts"] >= 3, st
    for s in (slow, idle, busy):
        s.close()


def test_tcp_full_server_makes_room_and_pipelining_is_capped(start_server, datadir):
    srv = start_server(BIN, sample_args(datadir, "--tcp-max-connections", "10",
                                        "--tcp-pipeline", "8"))
    idle = [connect(srv, f"127.0.7.{i + 1}") for i in range(10)]
    time.sleep(0.3)
    # the server is full of idle connections: a new client still gets in,
    # and the connection idle the longest makes room
    newcomer = connect(srv, "127.0.8.1")
    tcp_query(newcomer, LISTED)
    assert a_values(tcp_read_answer(newcomer)) == ["127.0.0.2"]
    assert closed_by_server(idle[0], 2)
    # 300 pipelined queries sent before reading any answer: all answered,
    # in order, although the server reads at most 8 ahead of the client
    p = connect(srv, "127.0.8.2")
    blob = b""
    for i in range(300):
        q = dns.message.make_query(LISTED if i % 2 else "1.0.0.127.ip4.dnsbl.example", "A")
        q.id = i
        w = q.to_wire()
        blob += len(w).to_bytes(2, "big") + w
    p.sendall(blob)
    p.settimeout(5)
    for i in range(300):
        r = tcp_read_answer(p)
        assert r is not None and r.id == i
    for s in idle + [newcomer, p]:
        s.close()


def test_a_stuck_query_log_drops_lines_instead_of_answers(datadir, pubdir):
    """-l - with standard output a pipe nobody reads: the log writer blocks
    once the pipe is full, the workers' rings fill, and lines are dropped and
    counted while every query is still answered."""
    import subprocess
    from netutil import free_port
    port = free_port()
    err = open(pubdir / "server.err", "w")
    argv = [BIN, "-n", "-u", "nobody", "-b", f"127.0.0.1/{port}", "--rrl", "off", "-l", "+-",
            f"ip4.dnsbl.example:ip4set:{datadir}/sample-ip4"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL)
    err.close()
    try:
        deadline = time.monotonic() + 10
        while "event=started" not in (pubdir / "server.err").read_text():
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.05)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(2)
        q = dns.message.make_query(LISTED, "A").to_wire()
        answered = 0
        t0 = time.monotonic()
        for i in range(12000):    # ~50 bytes of log each: far more than pipe + rings hold
            s.sendto(q, ("127.0.0.1", port))
            s.recv(512)
            answered += 1
        took = time.monotonic() - t0
        assert answered == 12000 and took < 20
        proc.send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + 5
        m = None
        while not m and time.monotonic() < deadline:
            m = re.search(r"event=defense-stats .*qlog_dropped=(\d+)", (pubdir / "server.err").read_text())
            time.sleep(0.05)
        assert m and int(m.group(1)) > 1000, (pubdir / "server.err").read_text()
    finally:
        # unblock the writer (it is in write() on the full pipe), then stop
        import threading
        t = threading.Thread(target=lambda: proc.stdout.read(), daemon=True)
        t.start()
        proc.terminate()
        proc.wait(timeout=10)
