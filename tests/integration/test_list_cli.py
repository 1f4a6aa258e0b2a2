"""`rampart list ...`, the listing database's commands, as an operator runs
them: the real binary against a database in a temporary directory, read back
with Python's own sqlite3 module. Every bad input must exit 2 and leave the
database's contents exactly as they were; a SIGKILL in the middle of a batch
must leave nothing of it; exported files must load in rbldnsd and in
rampart-dnsbl and answer as the database says."""

import gzip
import json
import os
import pty
import select
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import time

import dns.message
import dns.query
import dns.rcode
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("RAMPART_BUILD", os.path.join(ROOT, "build"))
CLI = os.path.join(BUILD, "rampart")
DNSBL = os.path.join(BUILD, "rampart-dnsbl")
RBLDNSD = "/usr/sbin/rbldnsd"


@pytest.fixture
def work():
    """A directory readable by the user rbldnsd drops to (for exports)."""
    d = tempfile.mkdtemp(prefix="rampart-list-")
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


class Db:
    def __init__(self, work):
        self.work = work
        self.path = os.path.join(work, "var", "rampart.db")

    def run(self, *args, stdin=None, check=None, timeout=120, actor="tester"):
        argv = [CLI, "--db", self.path, *args]
        words = [a for a in args if a != "--json"]
        if actor and len(words) >= 2 and words[0] == "list" and words[1] in (
                "create", "add", "remove", "drop", "import"):
            at = argv.index(words[1]) + 1  # options go anywhere: right after the command word
            argv[at:at] = ["--actor", actor]
        p = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=timeout,
                           cwd=self.work)
        if check is not None:
            assert p.returncode == check, (argv, p.returncode, p.stdout, p.stderr)
        return p

    def ok(self, *args, **kw):
        return self.run(*args, check=0, **kw)

    def json(self, *args, **kw):
        return json.loads(self.run("--json", *args, check=0, **kw).stdout)

    def dump(self):
        """Every row of every table, and the schema version: the logical content."""
        if not os.path.exists(self.path):
            return None
        con = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
        try:
            out = {"version": con.execute("PRAGMA user_version").fetchone()[0]}
            for (name,) in con.execute("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name"):
                cols = [r[1] for r in con.execute(f"PRAGMA table_info({name})")]
                order = ", ".join(str(i + 1) for i in range(len(cols)))
                out[name] = con.execute(f"SELECT * FROM {name} ORDER BY {order}").fetchall()
            return out
        finally:
            con.close()

    def query(self, sql, *args):
        con = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
        try:
            return con.execute(sql, args).fetchall()
        finally:
            con.close()

    def refused(self, *args, stdin=None, message=None):
        """The command must exit 2, say why, and change nothing."""
        before = self.dump()
        p = self.run(*args, stdin=stdin)
        assert p.returncode == 2, (args, p.returncode, p.stdout, p.stderr)
        assert p.stderr.strip(), args
        if message:
            assert message in p.stderr, (message, p.stderr)
        assert self.dump() == before, args
        return p


@pytest.fixture
def db(work):
    return Db(work)


@pytest.fixture
def bl(db):
    """A database with an IPv4 list, a domain list and a combined list."""
    db.ok("list", "create", "bl", "--zone", "bl.example.org", "--txt", "Listed: see http://bl.example.org/$")
    db.ok("list", "create", "dbl", "--zone", "dbl.example.org", "--kind", "dns", "--code", "127.0.1.2")
    db.ok("list", "create", "mix", "--zone", "mix.example.org", "--kind", "combined", "--ttl", "1h")
    db.ok("list", "add", "bl", "192.0.2.1", "198.51.100.0/24", "!198.51.100.7", "--reason", "spam run")
    db.ok("list", "add", "dbl", "spam.example", "*.worm.example", "--reason", "phish")
    return db


# ---- create ----

def test_create_and_show(db):
    assert not os.path.exists(db.path)
    out = db.json("list", "create", "bl", "--zone", "BL.Example.ORG.", "--kind", "ip4", "--code", "4",
                  "--txt", "Listed $", "--ttl", "35m")
    assert out == {"created": True, "id": 1, "list": "bl", "zone": "bl.example.org", "kind": "ip4",
                   "code": "127.0.0.4", "txt": "Listed $", "ttl": 2100}
    assert db.query("PRAGMA journal_mode") == [("wal",)]
    assert db.query("PRAGMA user_version") == [(2,)]
    show = db.json("list", "show", "bl")
    assert show["zone"] == "bl.example.org" and show["serial"] == 0 and show["listings"] == 0
    assert show["journal_first"] == 1
    lists = db.json("list", "show")["lists"]
    assert [x["list"] for x in lists] == ["bl"]
    text = db.ok("list", "show").stdout
    assert "bl.example.org" in text and "127.0.0.4" in text
    assert db.query("SELECT actor, action, detail FROM audit") == [
        ("tester", "create", "zone bl.example.org; kind ip4; code 127.0.0.4; ttl 2100; txt \"Listed $\"")]


@pytest.mark.parametrize("args,message", [
    (["bl", "--zone", "other.example"], "a list named bl exists"),
    (["bl2", "--zone", "bl.example.org"], "list bl already serves zone bl.example.org"),
    (["../etc", "--zone", "x.example"], "unsafe list name"),
    (["x", "--zone", "bad zone"], "unsafe domain name"),
    (["x", "--zone", "1.2.3.4"], "not a domain name"),
    (["x"], "needs --zone"),
    (["x", "--zone", "x.example", "--kind", "ip5"], "unknown --kind ip5"),
    (["x", "--zone", "x.example", "--code", "10.0.0.2"], "outside 127.0.0.0/8"),
    (["x", "--zone", "x.example", "--code", "127.0.0.1"], "not listed"),
    (["x", "--zone", "x.example", "--txt", "bell\a"], "control byte"),
    (["x", "--zone", "x.example", "--ttl", "forever"], "malformed --ttl"),
    (["x", "--zone", "x.example", "--colour", "red"], "unknown option --colour"),
    (["x", "y", "--zone", "x.example"], "one list name"),
])
def test_create_refusals(db, args, message):
    db.ok("list", "create", "bl", "--zone", "bl.example.org")
    db.refused("list", "create", *args, message=message)


def test_create_refusal_makes_no_database(db):
    db.run("list", "create", "x", "--zone", "bad zone", check=2)
    assert not os.path.exists(db.path)
    assert not os.path.exists(os.path.dirname(db.path))


# ---- add ----

def test_add_many_stdin_and_update(bl):
    out = bl.json("list", "add", "bl", "203.0.113.0/25", "203.0.113.200", "--code", "127.0.0.3",
                  "--reason", "trap hit", "--source", "trapd", "--evidence", "msg-123", "--expires", "7d")
    assert out["added"] == 2 and out["changed"] == 0 and out["list"] == "bl"
    serial = out["serial"]
    lines = "\n".join(f"10.0.{i // 256}.{i % 256}" for i in range(1000)) + "\n# comment\n\n  10.9.9.9  \n"
    out = bl.json("list", "add", "bl", "-", "--reason", "bulk", stdin=lines)
    assert out["added"] == 1001 and out["serial"] == serial + 1001
    # already listed: its values change (journalled), not an error
    out = bl.json("list", "add", "bl", "192.0.2.1", "10.0.0.1", "--code", "127.0.0.5", "--reason", "worse")
    # each change journals the old value out and the new one in: 2 serials
    assert out == {"list": "bl", "added": 0, "changed": 2, "unchanged": 0, "serial": serial + 1005}
    out = bl.json("list", "add", "bl", "192.0.2.1", "--code", "5")
    assert out["unchanged"] == 1 and out["serial"] == serial + 1005
    row = bl.query("SELECT code, reason, expires FROM listings WHERE entry = '192.0.2.1'")
    assert row == [(0x7f000005, "worse", 0)]
    row = bl.query("SELECT source, evidence, expires > strftime('%s', 'now') + 6 * 86400 FROM listings"
                   " WHERE entry = '203.0.113.200'")
    assert row == [("trapd", "msg-123", 1)]
    # the journal: serials in order, one per served change (two for a change of value)
    serials = [r[0] for r in bl.query("SELECT j.serial FROM journal j JOIN lists l ON l.id = j.list_id"
                                      " WHERE l.name = 'bl' ORDER BY j.serial")]
    assert serials == list(range(1, serial + 1006))
    # canonical forms are stored
    bl.ok("list", "add", "dbl", "Phish.EXAMPLE.", ".Bad.Example")
    assert bl.query("SELECT entry FROM listings l JOIN lists ON lists.id = l.list_id WHERE lists.name = 'dbl'"
                    " ORDER BY entry") == [("*.worm.example",), (".bad.example",), ("phish.example",),
                                           ("spam.example",)]
    bl.ok("list", "add", "mix", "2001:DB8:0::1", "2001:db8:1::/48", "192.0.2.0/24", "spam.example")
    assert bl.json("list", "show", "mix")["listings"] == 4


BAD_ADDS = [
    (["list", "add", "bl", "192.0.2.300"], "malformed IPv4 address \"192.0.2.300\""),
    (["list", "add", "bl", "192.0.2.0/33"], "malformed prefix length"),
    (["list", "add", "bl", "10.0.0.1/8"], "host part set in 10.0.0.1/8 (the network is 10.0.0.0/8)"),
    (["list", "add", "bl", "010.0.0.1"], "malformed IPv4 address"),
    (["list", "add", "bl", "10.1"], "malformed IPv4 address \"10.1\""),
    (["list", "add", "nope", "192.0.2.9"], "no list named \"nope\""),
    (["list", "add", "dbl", "bad_name!.example"], "unsafe domain name"),
    (["list", "add", "dbl", "exa mple.com"], "unsafe domain name"),
    (["list", "add", "dbl", "a..b.example"], "empty label"),
    (["list", "add", "dbl", "192.0.2.1"], "is an IPv4 entry; this list holds domains"),
    (["list", "add", "bl", "spam.example"], "is a domain; this list holds IPv4 entries"),
    (["list", "add", "bl", "2001:db8::1"], "is an IPv6 entry; this list holds IPv4 entries"),
    (["list", "add", "mix", "2001:db8::1/64"], "host part set"),
    (["list", "add", "bl", "192.0.2.9", "--code", "10.0.0.2"], "outside 127.0.0.0/8"),
    (["list", "add", "bl", "192.0.2.9", "--txt", "two\tthree\x01"], "control byte"),
    (["list", "add", "bl", "192.0.2.9", "--expires", "soon"], "malformed --expires"),
    (["list", "add", "bl", "192.0.2.9", "--reason", "esc\x1b[2J"], "control byte"),
    (["list", "add", "bl"], "needs a list name and at least one entry"),
    (["list", "add", "bl", "192.0.2.9", "--frobnicate"], "unknown option --frobnicate"),
    (["list", "add", "bl", "192.0.2.9", "--code"], "--code needs a value"),
    # one bad entry among good ones: nothing of the batch is applied
    (["list", "add", "bl", "192.0.2.10", "192.0.2.11", "192.0.2.256", "192.0.2.12"], "nothing changed"),
]


@pytest.mark.parametrize("args,message", BAD_ADDS)
def test_add_refusals(bl, args, message):
    bl.refused(*args, message=message)


def test_add_refusal_from_stdin_names_the_line(bl):
    lines = "192.0.2.20\n192.0.2.21\n\n192.0.3.0/23\nspam.example\n192.0.2.22\n"
    p = bl.refused("list", "add", "bl", "-", stdin=lines)
    assert "stdin:4: host part set in 192.0.3.0/23 (the network is 192.0.2.0/23)" in p.stderr
    assert "stdin:5: spam.example is a domain" in p.stderr
    assert "nothing changed: 2 bad entries" in p.stderr
    many = "".join(f"bad{i}\n" for i in range(50))
    p = bl.refused("list", "add", "bl", "-", stdin=many)
    assert "... and 30 more" in p.stderr and "50 bad entries" in p.stderr


def test_missing_database(db):
    p = db.run("list", "add", "bl", "192.0.2.1", check=2)
    assert "no database at" in p.stderr
    assert not os.path.exists(db.path)
    for args in (["list", "show"], ["list", "search", "192.0.2.1"], ["list", "export", "bl"],
                 ["list", "expire"], ["list", "remove", "bl", "192.0.2.1", "--reason", "x"]):
        assert db.run(*args).returncode == 2
    assert not os.path.exists(db.path)
    with open(os.path.join(db.work, "notadb"), "w") as f:
        f.write("x" * 4096)
    p = subprocess.run([CLI, "--db", os.path.join(db.work, "notadb"), "list", "show"], capture_output=True,
                       text=True)
    assert p.returncode == 2 and "cannot open the database" in p.stderr


# ---- remove ----

def test_remove(bl):
    out = bl.json("list", "remove", "bl", "192.0.2.1", "!198.51.100.7", "--reason", "delisted on request")
    assert out["removed"] == 2
    assert bl.query("SELECT entry FROM listings l JOIN lists ON lists.id = l.list_id WHERE name = 'bl'") == [
        ("198.51.100.0/24",)]
    bl.ok("list", "add", "bl", "-", stdin="192.0.2.30\n192.0.2.31\n")
    out = bl.json("list", "remove", "bl", "-", "--reason", "bulk", stdin="192.0.2.30\n192.0.2.31\n")
    assert out["removed"] == 2
    rows = bl.query("SELECT actor, action, reason FROM audit WHERE entry = '192.0.2.1' ORDER BY id")
    assert rows == [("tester", "add", "spam run"), ("tester", "remove", "delisted on request")]
    ops = bl.query("SELECT op FROM journal j JOIN lists ON lists.id = j.list_id WHERE name = 'bl'"
                   " AND entry = '192.0.2.1' ORDER BY j.serial")
    assert ops == [(1,), (2,)]


@pytest.mark.parametrize("args,message", [
    (["bl", "192.0.2.99", "--reason", "x"], "not listed in bl: 192.0.2.99"),
    (["bl", "192.0.2.1", "192.0.2.99", "--reason", "x"], "not listed in bl: 192.0.2.99"),
    (["bl", "198.51.100.7", "--reason", "x"], "(198.51.100.7 is an exclusion there: remove !198.51.100.7)"),
    (["bl", "192.0.2.1"], "needs --reason"),
    (["nope", "192.0.2.1", "--reason", "x"], "no list named"),
    (["bl", "192.0.2.1/33", "--reason", "x"], "malformed prefix length"),
    (["dbl", "spam.example", "--reason", "tab\x07"], "control byte"),
])
def test_remove_refusals(bl, args, message):
    bl.refused("list", "remove", *args, message=message)


# ---- drop ----

def test_drop(bl):
    p = bl.refused("list", "drop", "bl", message="add --yes")
    assert "2 listings" in p.stderr or "3 listings" in p.stderr
    bl.refused("list", "drop", "nope", "--yes", message="no list named")
    out = bl.json("list", "drop", "bl", "--yes", "--reason", "retired")
    assert out == {"dropped": True, "list": "bl", "listings": 3}
    assert bl.query("SELECT count(*) FROM listings l JOIN lists ON lists.id = l.list_id WHERE name = 'bl'") == [(0,)]
    assert bl.query("SELECT count(*) FROM journal WHERE list_id = 1") == [(0,)]
    # the audit trail is kept, and records the drop
    rows = bl.query("SELECT action, reason, detail FROM audit WHERE list = 'bl' AND action = 'drop'")
    assert rows == [("drop", "retired", "zone bl.example.org; 3 listings; serial 3")]
    assert bl.query("SELECT count(*) FROM audit WHERE list = 'bl'")[0][0] == 5
    bl.ok("list", "drop", "dbl", "--force")
    # the zone is free again
    bl.ok("list", "create", "bl", "--zone", "bl.example.org")


# ---- show ----

def test_show_entry_and_history(bl):
    bl.ok("list", "add", "bl", "192.0.2.1", "--code", "127.0.0.4", "--reason", "escalated")
    out = bl.json("list", "show", "bl", "192.0.2.1")
    assert out["state"] == "listed" and out["code"] == "127.0.0.4" and out["code_default"] is False
    assert out["txt"] == "Listed: see http://bl.example.org/$" and out["txt_default"] is True
    assert [(h["actor"], h["action"], h["reason"]) for h in out["history"]] == [
        ("tester", "add", "spam run"), ("tester", "change", "escalated")]
    assert out["history"][1]["detail"] == "code 127.0.0.2 -> 127.0.0.4"
    text = bl.ok("list", "show", "bl", "!198.51.100.7").stdout
    assert "excluded" in text and "history:" in text
    bl.ok("list", "remove", "bl", "192.0.2.1", "--reason", "gone")
    out = bl.json("list", "show", "bl", "192.0.2.1")
    assert out["state"] == "not listed" and len(out["history"]) == 3
    text = bl.ok("list", "show", "bl").stdout
    # 3 adds, the change (old value out, new in: 2), the removal
    assert "serial       6" in text and "2 (IPv4 2, IPv6 0, domains 0), 1 exclusion" in text
    bl.refused("list", "show", "nope", message="no list named")
    bl.refused("list", "show", "bl", "192.0.2.1/8", message="host part set")
    bl.refused("list", "show", "bl", "spam.example", message="is a domain")
    bl.refused("list", "show", "bl", "1", "2", message="takes a list name")


# ---- search ----

def test_search(bl):
    bl.ok("list", "add", "mix", "198.51.0.0/16", "worm.example")
    out = bl.json("list", "search", "198.51.100.7")
    assert out["kind"] == "covering"
    assert [(m["list"], m["entry"], m["excluded"]) for m in out["matches"]] == [
        ("bl", "198.51.100.7", True), ("bl", "198.51.100.0/24", False), ("mix", "198.51.0.0/16", False)]
    out = bl.json("list", "search", "a.b.worm.example")
    assert [(m["list"], m["entry"]) for m in out["matches"]] == [("dbl", "*.worm.example")]
    out = bl.json("list", "search", "worm.example")
    assert [(m["list"], m["entry"]) for m in out["matches"]] == [("mix", "worm.example")]
    out = bl.json("list", "search", "198.51.*")
    assert out["kind"] == "pattern" and len(out["matches"]) == 3
    out = bl.json("list", "search", "*.worm.example")  # a pattern, matching the entry too
    assert out["kind"] == "pattern" and [m["entry"] for m in out["matches"]] == ["*.worm.example"]
    out = bl.json("list", "search", "*.EXAMPLE", "--list", "dbl")
    assert len(out["matches"]) == 2
    p = bl.run("list", "search", "203.0.113.1")
    assert p.returncode == 1 and "no listing covers 203.0.113.1" in p.stdout
    text = bl.ok("list", "search", "198.51.100.8").stdout
    assert "198.51.100.0/24" in text and "listed" in text
    bl.refused("list", "search", "198.51.100.0/33", message="malformed prefix length")
    bl.refused("list", "search", "192.0.2.1", "--list", "nope", message="no list named")
    bl.refused("list", "search", message="takes one")


# ---- expire ----

def test_expire(bl):
    bl.ok("list", "add", "bl", "192.0.2.40", "192.0.2.41", "--expires", "1s", "--reason", "short")
    bl.ok("list", "add", "bl", "192.0.2.42", "--expires", "1d")
    time.sleep(2.1)
    assert bl.json("list", "show", "bl")["expired"] == 2
    assert bl.json("list", "expire") == {"expired": 2}
    assert bl.json("list", "expire") == {"expired": 0}
    rows = bl.query("SELECT actor, action, reason FROM audit WHERE entry = '192.0.2.40' ORDER BY id")
    assert rows == [("tester", "add", "short"), ("expire", "expire", "expired")]
    assert bl.query("SELECT op FROM journal WHERE entry = '192.0.2.41' ORDER BY serial") == [(1,), (2,)]
    assert bl.query("SELECT count(*) FROM listings WHERE entry LIKE '192.0.2.4%'") == [(1,)]
    bl.refused("list", "expire", "now", message="takes no argument")


# ---- import ----

def write(work, name, text, gz=False):
    path = os.path.join(work, name)
    data = text.encode()
    with (gzip.open(path, "wb") if gz else open(path, "wb")) as f:
        f.write(data)
    return path


def entries(db, name):
    return db.query("SELECT CASE excluded WHEN 1 THEN '!' ELSE '' END || entry, l.code, l.txt FROM listings l"
                    " JOIN lists ON lists.id = l.list_id WHERE lists.name = ? ORDER BY family, entry", name)


def test_import_ip4set(db):
    db.ok("list", "create", "bl", "--zone", "bl.example", "--txt", "Listed $")
    f = write(db.work, "spammers",
              "$SOA 600 ns1.bl.example. hostmaster.bl.example. 0 600 300 86400 60\n"
              "$NS 600 ns1.bl.example.\n$TTL 1h\n"
              ":127.0.0.2:Listed $\n"
              "192.168.0.0-192.168.2.255\n10.1\n127.16-31\n!192.168.1.7\n"
              "1.2.3.4 :4:own text\n1.2.3.5 :5\n", gz=True)
    out = db.json("list", "import", "bl", f)
    assert out["type"] == "ip4set" and out["lines"] == 10 and out["entries"] == 7 and out["added"] == 7
    assert out["ignored_specials"] == 3 and out["bad_lines"] == 0
    # the file's default equals the list's: stored as "the list's" (0 / NULL)
    assert entries(db, "bl") == [
        ("1.2.3.4", 0x7f000004, "own text"), ("1.2.3.5", 0x7f000005, None), ("10.1.0.0/16", 0, None),
        ("127.16.0.0/12", 0, None), ("192.168.0.0/23", 0, None), ("!192.168.1.7", 0, None),
        ("192.168.2.0/24", 0, None)]
    # the same file again: nothing changes; a listing's history names its line
    out = db.json("list", "import", "bl", f)
    assert out["unchanged"] == 7 and out["added"] == 0
    assert db.query("SELECT detail FROM audit WHERE entry = '1.2.3.4'") == [
        ("code 127.0.0.4; txt \"own text\"; import " + f + ":9",)]


def test_import_every_type(db):
    db.ok("list", "create", "v4", "--zone", "v4.example")
    db.ok("list", "create", "v6", "--zone", "v6.example", "--kind", "ip6")
    db.ok("list", "create", "dn", "--zone", "dn.example", "--kind", "dns")
    db.ok("list", "create", "mix", "--zone", "mix.example", "--kind", "combined")
    cases = [
        ("v4", "ip4tset", ":3:trivial\n192.0.2.1\n192.0.2.2\n!192.0.2.3\n", 3),
        ("v4", "ip4trie", "10.0.0.0/8 :4:big\n!10.1.0.0/16\n172.16/12\n", 3),
        ("v6", "ip6tset", "2001:20fe:23:41ed\n!2001:20fe:23:41ed::1\n", 2),
        ("v6", "ip6trie", "2001:21ab:c000/36\n2605:6001:42::/52 :5:v6\n::1\n", 3),
        ("dn", "dnset", ".spam.example\n*.worm.example :7\n!ok.worm.example\nphish.example text $\n", 4),
        ("dn", "generic", "bad.example A 127.0.0.9\nbad.example TXT \"why $\"\n", 2),
        ("mix", "combined", "$DATASET ip4set @\n1.2.3.4\n$DATASET ip6trie @\n2001:db8::/32\n"
                            "$DATASET dnset @\nspam.example\n", 3),
    ]
    for lst, typ, text, n in cases:
        f = write(db.work, f"data-{typ}", text)
        out = db.json("list", "import", lst, f"{typ}:{f}")
        assert out["type"] == typ and out["entries"] == n, (typ, out)
    assert ("!10.1.0.0/16", 0, None) in entries(db, "v4")
    assert ("192.0.2.1", 0x7f000003, "trivial") in entries(db, "v4")
    assert ("bad.example", 0x7f000009, "why $$") in entries(db, "dn")
    assert ("2001:20fe:23:41ed::/64", 0, None) in entries(db, "v6")
    # --type works too, and --subzone picks a combined file's part
    f = write(db.work, "comb", "$DATASET ip4set proxies @\n1.1.1.1\n$DATASET ip4set relays\n2.2.2.2\n")
    db.refused("list", "import", "mix", f, message="--subzone")
    out = db.json("list", "import", "mix", f, "--subzone", "relays")
    assert out["entries"] == 1 and out["skipped_lines"] == 1
    assert ("2.2.2.2", 0, None) in entries(db, "mix")


@pytest.mark.parametrize("lst,args,text,message", [
    ("v4", ["--type", "acl"], "192.0.2.0/24 :refuse\n", "acl datasets hold client access rules"),
    ("v4", ["--type", "ip9set"], "1.2.3.4\n", "unknown --type ip9set"),
    ("v4", [], "1.2.3.4\n10.0.0.1/8\n1.2.3.5\n", ":2: host part set in \"10.0.0.1/8\""),
    ("v4", [], "1.2.3.4\n2001:db8::1\n", ":2: invalid IPv4 address"),
    ("v4", [], "1.2.3.4 :10.0.0.2:x\n", ":1: A value 10.0.0.2 is outside 127.0.0.0/8"),
    ("v4", ["--type", "ip4trie"], "10.0.0.0-10.0.0.5\n", "ip4trie takes CIDR prefixes only"),
    ("v4", ["--type", "dnset"], "spam.example\n", "spam.example is a domain; list v4 holds IPv4 entries"),
    ("v4", ["--type", "generic"], "www A 192.0.2.80\n", "a list cannot hold other records"),
    ("v4", ["--type", "generic"], "mail MX 10 mx.example.\n", "MX records are not listings"),
    ("v4", ["--type", "generic"], "@ A 127.0.0.2\n", "the zone's own name (@) cannot be a listing"),
    ("v4", [], "$TIMESTAMP 2099:01:01\n1.2.3.4\n", "in the future"),
    ("v4", [], "$BOGUS 1\n", "unknown special"),
    ("v4", [], "1.2.3.4\x00\n", "NUL byte"),
    ("nope", [], "1.2.3.4\n", "no list named"),
])
def test_import_refusals(db, lst, args, text, message):
    db.ok("list", "create", "v4", "--zone", "v4.example")
    db.ok("list", "add", "v4", "192.0.2.1")
    f = write(db.work, "data", text)
    p = db.refused("list", "import", lst, f, *args, message=message)
    if "host part" in message:
        assert "nothing imported: 1 bad line" in p.stderr


def test_import_skip_bad_replace_and_missing_file(db):
    db.ok("list", "create", "v4", "--zone", "v4.example")
    db.ok("list", "add", "v4", "192.0.2.1", "192.0.2.2")
    db.refused("list", "import", "v4", os.path.join(db.work, "missing"), message="No such file")
    f = write(db.work, "data", "192.0.2.2\n192.0.2.3\nbad\n" + "x\n" * 30 + ("9" * 9000) + "\n192.0.2.4\n")
    p = db.refused("list", "import", "v4", f, message="nothing imported: 32 bad lines")
    assert f"{f}:3: invalid IPv4 address" in p.stderr and "... and 12 more bad lines" in p.stderr
    out = db.json("list", "import", "v4", f, "--skip-bad", "--replace", "--reason", "new feed")
    # 192.0.2.2 was there: its source becomes the file's (a change, audited, not journalled)
    assert out["bad_lines"] == 32 and out["added"] == 2 and out["changed"] == 1 and out["removed"] == 1
    assert [e for e, _, _ in entries(db, "v4")] == ["192.0.2.2", "192.0.2.3", "192.0.2.4"]
    assert db.query("SELECT reason, detail FROM audit WHERE entry = '192.0.2.1' AND action = 'remove'") == [
        ("new feed", f"import --replace {f}: not in the new data")]
    # stdin
    out = db.json("list", "import", "v4", "-", stdin="192.0.2.5\n")
    assert out["added"] == 1


def test_import_progress_bar_on_a_terminal(db):
    db.ok("list", "create", "v4", "--zone", "v4.example")
    f = write(db.work, "big", "".join(f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}\n" for i in range(300000)))
    pid, fd = pty.fork()
    if pid == 0:
        os.execv(CLI, [CLI, "--db", db.path, "list", "import", "v4", f])
    out = b""
    while True:
        try:
            r, _, _ = select.select([fd], [], [], 60)
            if not r:
                break
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    text = out.decode(errors="replace")
    assert "\r" in text and "%" in text and "lines" in text, text[:500]
    assert "imported v4: 300,000 lines, 300,000 entries" in text
    # not on a pipe
    p = db.ok("list", "import", "v4", f, "--replace")
    assert "\r" not in p.stderr and "%" not in p.stderr


# ---- export ----

def test_export_atomic_and_round_trip(bl):
    bl.ok("list", "add", "bl", "203.0.113.5", "--code", "127.0.0.4", "--txt", "own $ text")
    path = os.path.join(bl.work, "bl.rbl")
    with open(path, "w") as f:
        f.write("old content\n")
    ino = os.stat(path).st_ino
    out = bl.json("list", "export", "bl", path)
    assert out == {"list": "bl", "file": path, "type": "ip4trie", "listings": 4, "serial": 4}
    assert os.stat(path).st_ino != ino  # a new file renamed over the old one
    assert oct(os.stat(path).st_mode & 0o777) == "0o644"
    assert [n for n in os.listdir(bl.work) if n.startswith(".")] == []
    text = open(path).read()
    assert "$TTL 2100\n:127.0.0.2:Listed: see http://bl.example.org/$\n" in text
    assert "203.0.113.5 :127.0.0.4:own $ text\n" in text and "!198.51.100.7\n" in text
    # to stdout: the same content (the "written" line aside)
    again = bl.ok("list", "export", "bl").stdout.split("\n")
    assert again[:1] + again[2:] == text.split("\n")[:1] + text.split("\n")[2:]
    # round trip: an import of the export is the same list
    bl.ok("list", "create", "copy", "--zone", "copy.example", "--txt", "Listed: see http://bl.example.org/$")
    bl.ok("list", "import", "copy", path)
    assert entries(bl, "copy") == entries(bl, "bl")
    # an unwritable target: exit 1, nothing left behind
    p = bl.run("list", "export", "bl", "/nonexistent/dir/bl.rbl")
    assert p.returncode == 1 and "cannot write beside" in p.stderr
    bl.refused("list", "export", "dbl", "--type", "ip4set", message="exports as dnset")
    bl.refused("list", "export", "nope", message="no list named")


def ask(srv, name, rdtype="A"):
    return dns.query.udp(dns.message.make_query(name, rdtype), srv.addr, port=srv.port, timeout=3)


@pytest.mark.parametrize("server", ["rbldnsd", "rampart-dnsbl"])
def test_exports_load_and_answer(bl, start_server, server):
    binary = RBLDNSD if server == "rbldnsd" else DNSBL
    if not os.path.exists(binary):
        pytest.skip(f"{binary} not installed")
    bl.ok("list", "add", "bl", "203.0.113.5", "--code", "127.0.0.4", "--txt", "own text")
    bl.ok("list", "add", "mix", "192.0.2.0/24", "2001:db8::/32", "spam.example", "!192.0.2.9")
    for name in ("bl", "dbl", "mix"):
        bl.ok("list", "export", name, os.path.join(bl.work, f"{name}.rbl"))
    d = bl.work
    srv = start_server(binary, ["-n", "-u", "nobody", "-b", "{addr}/{port}",
                                f"bl.example.org:ip4trie:{d}/bl.rbl", f"dbl.example.org:dnset:{d}/dbl.rbl",
                                f"mix.example.org:combined:{d}/mix.rbl"], name=server)
    r = ask(srv, "1.2.0.192.bl.example.org")
    assert r.rcode() == dns.rcode.NOERROR and r.answer[0][0].address == "127.0.0.2"
    r = ask(srv, "1.2.0.192.bl.example.org", "TXT")
    assert b"Listed: see http://bl.example.org/192.0.2.1" in b"".join(r.answer[0][0].strings)
    r = ask(srv, "5.113.0.203.bl.example.org", "TXT")
    assert r.answer[0][0].strings == (b"own text",)
    assert ask(srv, "5.113.0.203.bl.example.org").answer[0][0].address == "127.0.0.4"
    assert ask(srv, "8.100.51.198.bl.example.org").answer[0][0].address == "127.0.0.2"
    assert ask(srv, "7.100.51.198.bl.example.org").rcode() == dns.rcode.NXDOMAIN  # excluded
    assert ask(srv, "9.9.9.9.bl.example.org").rcode() == dns.rcode.NXDOMAIN
    assert ask(srv, "spam.example.dbl.example.org").answer[0][0].address == "127.0.1.2"
    assert ask(srv, "a.worm.example.dbl.example.org").answer[0][0].address == "127.0.1.2"
    assert not ask(srv, "worm.example.dbl.example.org").answer  # "*." is below only (NXDOMAIN, or RFC 8020's NODATA)
    assert ask(srv, "1.2.0.192.mix.example.org").answer[0][0].address == "127.0.0.2"
    assert ask(srv, "9.2.0.192.mix.example.org").rcode() == dns.rcode.NXDOMAIN
    v6 = "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.mix.example.org"
    assert ask(srv, v6).answer[0][0].address == "127.0.0.2"
    assert ask(srv, "spam.example.mix.example.org").answer[0][0].address == "127.0.0.2"


# ---- crash safety ----

def test_sigkill_mid_batch_leaves_nothing(bl):
    before = bl.dump()
    proc = subprocess.Popen([CLI, "--db", bl.path, "list", "add", "bl", "-", "--reason", "killed"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # 300,000 of 500,000 entries: the command has read (and written into its
    # transaction) all but what the pipe holds when it is killed
    for start in range(0, 300000, 10000):
        proc.stdin.write("".join(f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}\n"
                                 for i in range(start, start + 10000)).encode())
    proc.stdin.flush()
    time.sleep(0.5)
    wal = bl.path + "-wal"
    assert proc.poll() is None  # still in the batch: stdin is open
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    proc.stdin.close()
    assert proc.returncode == -signal.SIGKILL
    assert os.path.exists(wal)
    assert bl.query("PRAGMA integrity_check") == [("ok",)]
    assert bl.dump() == before
    # and the database works on
    out = bl.json("list", "add", "bl", "-", stdin="".join(f"10.0.0.{i}\n" for i in range(100)))
    assert out["added"] == 100 and out["serial"] == 103


def test_sigkill_mid_import_leaves_nothing(db):
    db.ok("list", "create", "v4", "--zone", "v4.example")
    db.ok("list", "add", "v4", "192.0.2.1")
    before = db.dump()
    proc = subprocess.Popen([CLI, "--db", db.path, "list", "import", "v4", "-"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # more than one chunk (1M records), so that chunks were written before the kill
    for start in range(0, 1200000, 50000):
        proc.stdin.write("".join(f"11.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}\n"
                                 for i in range(start, start + 50000)).encode())
    proc.stdin.flush()
    deadline = time.monotonic() + 60
    wal = db.path + "-wal"
    while time.monotonic() < deadline and (not os.path.exists(wal) or os.path.getsize(wal) < 1 << 20):
        time.sleep(0.1)
    assert os.path.getsize(wal) >= 1 << 20  # the first chunk is in the WAL, uncommitted
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert db.query("PRAGMA integrity_check") == [("ok",)]
    assert db.dump() == before


def test_help_lists_the_commands():
    p = subprocess.run([CLI, "--help"], capture_output=True, text=True, check=True)
    for cmd in ("create", "add", "remove", "drop", "show", "search", "expire", "import", "export"):
        assert f"  list {cmd}" in p.stdout
    p = subprocess.run([CLI, "list"], capture_output=True, text=True)
    assert p.returncode == 2 and "list needs a command: create, add, remove" in p.stderr
