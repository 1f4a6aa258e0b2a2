"""rampart-dnsbl --db: the listing database served over DNS, live.

The real `rampart` command writes the database (as an operator would) and the
real rampart-dnsbl serves it; dnspython asks. Every wait is bounded.
"""
import os
import signal
import subprocess
import time

import dns.message
import dns.query
import dns.rcode
import pytest

from test_dnsbl import BIN, a_values, pubdir, txt_values  # noqa: F401 (fixture)

RAMPART = os.path.join(os.path.dirname(BIN), "rampart")


def cli(db, *args, check=True):
    p = subprocess.run([RAMPART, "--db", str(db), *args], capture_output=True, text=True,
                       timeout=60)
    if check and p.returncode != 0:
        pytest.fail(f"rampart {' '.join(args)}: exit {p.returncode}\n{p.stdout}{p.stderr}")
    return p


def ask(srv, name, rdtype="A"):
    return dns.query.udp(dns.message.make_query(name, rdtype), srv.addr, port=srv.port,
                         timeout=2)


def until(srv, name, pred, within):
    """Ask until pred(reply) holds; return the seconds it took (fail after `within`)."""
    t0 = time.monotonic()
    while True:
        r = ask(srv, name)
        if pred(r):
            return time.monotonic() - t0
        if time.monotonic() - t0 > within:
            pytest.fail(f"{name}: still {dns.rcode.to_text(r.rcode())} {a_values(r)} "
                        f"after {within} s")
        time.sleep(0.01)


def listed(r):
    return a_values(r) == ["127.0.0.2"]


def gone(r):
    return r.rcode() == dns.rcode.NXDOMAIN


@pytest.fixture
def db(pubdir):
    path = pubdir / "rampart.db"
    cli(path, "list", "create", "bl", "--zone", "bl.test", "--kind", "ip4",
        "--code", "127.0.0.2", "--txt", "Listed: $", "--ttl", "60")
    cli(path, "list", "add", "bl", "192.0.2.1", "10.0.0.0/8", "--reason", "spamtrap")
    cli(path, "list", "create", "dbl", "--zone", "dbl.test", "--kind", "dns")
    cli(path, "list", "add", "dbl", "example.com", "*.worm.example", "--reason", "mimail")
    return path


def start(start_server, db):
    return start_server(BIN, ["-n", "-u", "nobody", "-b", "{addr}/{port}", "--db", str(db),
                              "--db-ns", "ns1.rampart.test"])


def test_lists_are_served(start_server, db):
    srv = start(start_server, db)
    r = ask(srv, "1.2.0.192.bl.test")
    assert listed(r)
    assert txt_values(ask(srv, "1.2.0.192.bl.test", "TXT")) == ["Listed: 192.0.2.1"]
    assert listed(ask(srv, "9.9.9.10.bl.test"))             # inside 10.0.0.0/8
    assert gone(ask(srv, "2.2.0.192.bl.test"))
    # a partial address is an empty non-terminal (RFC 8020), not NXDOMAIN
    r = ask(srv, "2.0.192.bl.test")
    assert r.rcode() == dns.rcode.NOERROR and not r.answer
    assert listed(ask(srv, "example.com.dbl.test"))
    assert listed(ask(srv, "a.worm.example.dbl.test"))
    assert gone(ask(srv, "x.example.dbl.test"))
    # "worm.example" has a listing below it: NODATA
    r = ask(srv, "worm.example.dbl.test")
    assert r.rcode() == dns.rcode.NOERROR and not r.answer
    # the SOA carries the list's serial and the given name server
    soa = ask(srv, "bl.test", "SOA").answer[0][0]
    show = cli(db, "--json", "list", "show", "bl").stdout
    assert f'"serial":{soa.serial}' in show.replace(" ", ""), show
    assert str(soa.mname) == "ns1.rampart.test."


def test_adds_and_removals_are_answered_within_a_second(start_server, db):
    srv = start(start_server, db)
    waits = []
    for i in range(10):
        name = f"{i + 1}.100.51.198.bl.test"
        assert gone(ask(srv, name))
        cli(db, "list", "add", "bl", f"198.51.100.{i + 1}", "--reason", "test")
        waits.append(until(srv, name, listed, 5))
        cli(db, "list", "remove", "bl", f"198.51.100.{i + 1}", "--reason", "test")
        waits.append(until(srv, name, gone, 5))
    assert max(waits) < 1.0, waits
    # a list created while serving becomes a zone
    cli(db, "list", "create", "late", "--zone", "late.test", "--kind", "ip4")
    cli(db, "list", "add", "late", "203.0.113.9")
    until(srv, "9.113.0.203.late.test", listed, 5)


def test_expiry(start_server, db):
    srv = start(start_server, db)
    cli(db, "list", "add", "bl", "203.0.113.50", "--expires", "2s", "--reason", "test")
    until(srv, "50.113.0.203.bl.test", listed, 5)
    t = until(srv, "50.113.0.203.bl.test", gone, 10)
    assert t < 4


def test_a_killed_server_serves_every_committed_listing_after_restart(start_server, db):
    srv = start(start_server, db)
    entries = [f"172.16.{i // 256}.{i % 256}" for i in range(1, 2000)]
    p = subprocess.run([RAMPART, "--db", str(db), "list", "add", "bl", "-", "--reason", "bulk"],
                       input="\n".join(entries) + "\n", capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0, p.stderr
    until(srv, "1.0.16.172.bl.test", listed, 5)
    srv.proc.send_signal(signal.SIGKILL)
    srv.proc.wait(timeout=5)
    srv2 = start(start_server, db)
    for e in entries[::97] + [entries[-1]]:
        name = ".".join(reversed(e.split("."))) + ".bl.test"
        assert listed(ask(srv2, name)), e


def test_a_bulk_import_too_large_for_the_journal_is_picked_up(start_server, db, pubdir):
    # more changes in one batch than the journal keeps (100,000): the journal
    # is reset, and the server reloads the list from the listings themselves
    srv = start(start_server, db)
    data = pubdir / "bulk.rbl"
    with open(data, "w") as f:
        for i in range(150000):
            f.write(f"100.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}\n")
    cli(db, "list", "import", "bl", str(data))
    t = until(srv, "255.255.1.100.bl.test", listed, 20)
    assert listed(ask(srv, "0.0.0.100.bl.test"))
    assert listed(ask(srv, "1.2.0.192.bl.test"))      # what was there before
    # and the journal goes on from there
    cli(db, "list", "add", "bl", "203.0.113.77")
    assert until(srv, "77.113.0.203.bl.test", listed, 5) < 1.0
    assert t < 15
