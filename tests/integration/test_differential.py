"""Differential test: rampart-dnsbl against rbldnsd, answer for answer.

rampart-dnsbl is a drop-in replacement for rbldnsd: same command line, same
data files (ARCHITECTURE.md, "Compatibility that users count on").  This
test generates random data files of every rbldnsd dataset type (ip4set,
ip4tset, ip4trie, ip6tset, ip6trie, dnset, generic, combined, acl; with
$SOA/$NS/$TTL, :A:TXT defaults, $ substitutions, ! exclusions, a gzip file,
several datasets per zone, nested zones, a global ACL), starts rbldnsd and
rampart-dnsbl with identical arguments, sends both the same random queries
over UDP and compares the answers.

Compared: rcode, the QR/AA/TC/RD/RA flags, the question (exactly, case
included), and the answer/authority/additional sections as multisets of
(owner lowercased, ttl, class, type, rdata) -- order never matters (rbldnsd
rotates its NS records).  Domain names inside rdata are compared lowercased.

The only accepted differences are the ones in ALLOWED_DIFFERENCES below, each
implemented by one narrow rule in `allowed_difference()`.  docs/compat.md
mirrors that table.  Everything else fails the test with the data files'
relevant lines, the query and both answers (first MAX_REPORTED mismatches).

Environment:
  RAMPART_BUILD          build directory holding rampart-dnsbl (default: build/)
  RAMPART_DIFF_SEED      RNG seed (default 20031, fixed so that CI is
                         deterministic; "random" for a new one, printed in
                         every report)
  RAMPART_DIFF_QUERIES   queries per scenario in the main pass (default 1200;
                         a further quarter is sent again with EDNS0)
  RAMPART_DIFF_SELFTEST  =1: compare rbldnsd against a second rbldnsd, to
                         check the harness itself (expects 0 mismatches and
                         no allowed differences)
  RAMPART_DIFF_KEEP      =1: keep the generated data directory
  RAMPART_DIFF_REPORT    how many mismatches to show in full (default 20)
  RAMPART_RBLDNSD        path of the reference rbldnsd (default: from PATH)

Run:  /usr/bin/python3 -m pytest -q tests/integration/test_differential.py
      (the per-scenario counts are printed even without -s)
"""

import collections
import gzip
import ipaddress
import os
import random
import selectors
import shutil
import socket
import tempfile
import time

import dns.flags
import dns.message
import dns.query
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import pytest

# ---------------------------------------------------------------------------
# Accepted differences.  Keep in sync with docs/compat.md.  Each entry is
# implemented by exactly one rule in allowed_difference() / compare().
# ---------------------------------------------------------------------------
ALLOWED_DIFFERENCES = {
    "rfc8020-ent": (
        "Empty non-terminal (RFC 8020): a name that owns no records but has "
        "names with records below it (e.g. 3.2.1.zone when 4.3.2.1 is "
        "listed).  rbldnsd answers NXDOMAIN; rampart-dnsbl answers NOERROR "
        "with an empty answer section.  Accepted only when rbldnsd says "
        "NXDOMAIN, rampart says NOERROR with no answers, both authority "
        "sections hold the same records (the zone SOA if the zone has one), "
        "and the test's own model of the generated data -- never a server -- "
        "says the name is an empty non-terminal.  Only the rcode difference "
        "is accepted: any other difference in the same reply (a flag, an SOA "
        "TTL) is still reported."),
    "edns-opt": (
        "EDNS0 (RFC 6891): rbldnsd adds an OPT record to its reply only when "
        "the reply exceeds 512 bytes; rampart-dnsbl answers every EDNS0 query "
        "with an OPT record.  Accepted only in the EDNS pass, only when "
        "rbldnsd's reply has no OPT and rampart's OPT is EDNS version 0; the "
        "rest of the reply must be identical.  If rbldnsd has an OPT record, "
        "rampart must have one too."),
    "negative-soa-ttl": (
        "RFC 2308 section 3: the SOA in a negative answer (NXDOMAIN or "
        "NODATA) carries TTL = min(SOA TTL, SOA MINIMUM).  rbldnsd sends the "
        "MINIMUM field alone.  Accepted only for the SOA record of the "
        "authority section of an answer with no answer records, when the "
        "rdata is identical, rbldnsd's TTL is the MINIMUM field and "
        "rampart's is min(MINIMUM, the SOA's own TTL as rbldnsd itself "
        "answers it at the zone apex)."),
    "truncation": (
        "RFC 1035 4.1.1 / RFC 2181 9: an answer that does not fit is sent "
        "with TC=1 so that the client retries over TCP.  rbldnsd instead "
        "drops the records that do not fit and clears AA; rampart-dnsbl "
        "also caps UDP answers at 1232 bytes (RFC 6891 / DNS flag day 2020) "
        "whatever larger buffer the client advertises.  Accepted only when "
        "rampart's reply has TC=1 and no answer records, and rbldnsd's reply "
        "either lacks AA (its sign of dropped records) or is longer than "
        "rampart's limit (512 without EDNS, min(payload, 1232) with it)."),
    "version-string": (
        "version.bind / version.server CH TXT: both must answer NOERROR with "
        "one CH TXT record for the query name and the same TTL, but the text "
        "names the implementation, so the TXT strings may differ."),
}

MAX_REPORTED = int(os.environ.get("RAMPART_DIFF_REPORT") or 20)

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
BUILD = os.environ.get("RAMPART_BUILD") or os.path.join(REPO, "build")
RAMPART_BIN = os.path.join(BUILD, "rampart-dnsbl")
RBLDNSD_BIN = (os.environ.get("RAMPART_RBLDNSD") or shutil.which("rbldnsd")
               or "/usr/sbin/rbldnsd")


def _env_flag(name):
    return os.environ.get(name, "").strip().lower() not in ("", "0", "no",
                                                            "false")


SELFTEST = _env_flag("RAMPART_DIFF_SELFTEST")
KEEP = _env_flag("RAMPART_DIFF_KEEP")
# A fixed default keeps CI deterministic; RAMPART_DIFF_SEED=random explores.
_seed = os.environ.get("RAMPART_DIFF_SEED") or "20031"
SEED = (random.SystemRandom().randrange(1, 2 ** 31) if _seed == "random"
        else int(_seed))
QUERIES = int(os.environ.get("RAMPART_DIFF_QUERIES") or 1200)
EDNS_QUERIES = max(1, QUERIES // 4)

# The command line of both servers: rbldnsd's, followed by the scenario's
# options and the zone specifications.
BASE_ARGS = ["-n", "-u", "nobody", "-b", "{addr}/{port}"]
SCENARIOS = [
    ("default", []),
    ("lazy-ttl", ["-a", "-t", "300"]),
    ("auth-ttlrange", ["-A", "-t", "20m:100:1d"]),
]

M32 = 0xffffffff
M128 = (1 << 128) - 1
FRESH = "zz9fresh"          # a label that never occurs in generated data
QT_OTHER_POOL = [5, 10, 12, 13, 16, 28, 33, 43, 46, 47, 48, 99, 249,
                 256, 257, 65280]


def mask(width, plen):
    return ((1 << plen) - 1) << (width - plen) if plen else 0


def is_below(name, anc):
    """name strictly below anc (label tuples, leftmost label first)."""
    return len(name) > len(anc) and name[len(name) - len(anc):] == anc


def is_below_or_equal(name, anc):
    return name == anc or is_below(name, anc)


def related(a, b):
    return is_below_or_equal(a, b) or is_below_or_equal(b, a)


# ---------------------------------------------------------------------------
# Query-name parsing, as rbldnsd does it (rbldnsd_packet.c: dntoip4addr,
# dntoip6addr, dntoip).  Labels are lowercased tuples, leftmost first.
# ---------------------------------------------------------------------------
def ip4_octet(label):
    if 1 <= len(label) <= 3 and label.isdigit() and label.isascii():
        v = int(label)
        return v if v <= 255 else None
    return None


def ip4_from_labels(labels):
    """(net, plen) for 1..4 numeric labels (reverse order), else None."""
    if not 1 <= len(labels) <= 4:
        return None
    octs = [ip4_octet(x) for x in labels]
    if None in octs:
        return None
    octs.reverse()
    net = 0
    for o in octs:
        net = (net << 8) | o
    plen = 8 * len(octs)
    return net << (32 - plen), plen


HEXDIGITS = "0123456789abcdef"


def ip6_from_labels(labels):
    """(net, plen) for 1..32 single-nibble labels, else None."""
    if not 1 <= len(labels) <= 32:
        return None
    if any(len(x) != 1 or x not in HEXDIGITS for x in labels):
        return None
    net = 0
    for x in reversed(labels):
        net = (net << 4) | int(x, 16)
    plen = 4 * len(labels)
    return net << (128 - plen), plen


SIXTOFOUR = (0x2002 << 112, 16)
MAPPED = (0xffff << 32, 96)


def embedded_ip4(net6, plen6):
    """The IPv4 range a nibble prefix reaches through 6to4 (2002:V4ADDR::/48)
    or IPv4-mapped (::ffff:V4ADDR) addresses, as rbldnsd maps them in zones
    with IPv4 datasets.  Returns (net4, plen4) or None."""
    for (base, blen), shift in ((SIXTOFOUR, 80), (MAPPED, 0)):
        if plen6 <= blen:
            if (base & mask(128, plen6)) == net6:
                return 0, 0            # an ancestor of the whole space
            continue
        if (net6 & mask(128, blen)) != base:
            continue
        p4 = min(32, plen6 - blen)
        n4 = (net6 >> shift) & M32 & mask(32, p4)
        return n4, p4
    return None


def is_mapped(addr6):
    return (addr6 & mask(128, 96)) == MAPPED[0]


# ---------------------------------------------------------------------------
# Data model.  Answers "does this name exist" and "does any name below it
# exist" the way rbldnsd decides them, so that the RFC 8020 rule is computed
# from the generated data, never taken from a server.  The model is checked
# against rbldnsd on every query (category "harness-model").
# ---------------------------------------------------------------------------
class Lpm:
    """Longest-prefix match over `width`-bit addresses -> listed (bool).

    dup="excl": equal prefixes merge, an exclusion wins (ip4set: entries are
    sorted with the exclusion first).  dup="first": the first one wins
    (ip4trie/ip6trie warn "duplicated entry" and skip the later one)."""

    def __init__(self, width, dup):
        self.width = width
        self.dup = dup
        self.entries = {}
        self.plens = []
        self._cache = {}

    def add(self, net, plen, listed):
        key = (net, plen)
        if key in self.entries:
            if self.dup == "excl":
                self.entries[key] = self.entries[key] and listed
        else:
            self.entries[key] = listed
        self.plens = sorted({p for _, p in self.entries}, reverse=True)
        self._cache.clear()

    def lookup(self, addr, maxlen=None):
        maxlen = self.width if maxlen is None else maxlen
        for plen in self.plens:
            if plen > maxlen:
                continue
            v = self.entries.get((addr & mask(self.width, plen), plen))
            if v is not None:
                return v
        return False

    def any_listed(self, net, plen):
        """Is any address inside net/plen listed?"""
        key = (net, plen)
        if key not in self._cache:
            self._cache[key] = self._any_listed(net, plen)
        return self._cache[key]

    def _any_listed(self, net, plen):
        w = self.width
        state = self.lookup(net, plen)
        m = mask(w, plen)
        inner = sorted((p, n) for (n, p) in self.entries
                       if p > plen and (n & m) == net)
        if not inner:
            return state
        maximal = []
        for p, n in inner:
            if not any((n & mask(w, mp)) == mn for mp, mn in maximal):
                maximal.append((p, n))
        covered = sum(1 << (w - p) for p, _ in maximal)
        if state and covered < (1 << (w - plen)):
            return True
        return any(self.any_listed(n, p) for p, n in maximal)


class Line:
    __slots__ = ("path", "lineno", "text", "match")

    def __init__(self, path, lineno, text, match=None):
        self.path, self.lineno, self.text, self.match = path, lineno, text, match

    def __str__(self):
        text = self.text if len(self.text) <= 160 else self.text[:157] + "..."
        return f"{self.path}:{self.lineno}: {text}"


class Dataset:
    """A dataset: its type, files, model and the lines it was built from."""
    kind = "?"
    ip4 = False
    has_soa = False                   # a $SOA / $NS line was written
    has_ns = False

    def __init__(self, files):
        self.files = files            # DataFile objects, in spec order
        self.specials = []            # $-lines, defaults: always shown
        self.entries = []             # Line objects with a .match key

    @property
    def spec(self):
        return f"{self.kind}:" + ",".join(f.path for f in self.files)

    def exists(self, rel, ctx):
        raise NotImplementedError

    def has_below(self, rel, ctx):
        raise NotImplementedError

    def relevant(self, rel, ctx):
        keys = query_match_keys(rel, ctx)
        hits = [ln for ln in self.entries if line_matches(ln.match, keys)]
        return self.specials[:10] + hits[:25]

    def sample(self, rng):
        """(relative labels, kind) of an interesting name for this dataset."""
        raise NotImplementedError


def _range(net, plen, width):
    return net, net | (((1 << width) - 1) >> plen)


def query_match_keys(rel, ctx):
    """What a query name can be matched against: an IPv4 range, an IPv6
    range, and the name itself."""
    keys = {"name": rel}
    r4 = ip4_from_labels(rel)
    if r4:
        keys["ip4"] = _range(*r4, 32)
    r6 = ip6_from_labels(rel)
    if r6:
        keys["ip6"] = _range(*r6, 128)
        if ctx.get("ip4"):
            e = embedded_ip4(*r6)
            if e:
                keys["ip4"] = _range(*e, 32)
    return keys


def line_matches(match, keys):
    """match: ("ip4"|"ip6", (lo, hi)) or ("name", labels)."""
    if match is None:
        return False
    kind, val = match
    if kind in ("ip4", "ip6") and kind in keys:
        lo, hi = keys[kind]
        return val[0] <= hi and lo <= val[1]
    if kind == "name":
        return related(val, keys["name"])
    return False


def rev4(addr):
    return tuple(str((addr >> s) & 255) for s in (0, 8, 16, 24))


def rev6(addr, nibbles=32):
    digits = f"{addr:032x}"[:nibbles]
    return tuple(reversed(digits))


class Ip4Dataset(Dataset):
    ip4 = True

    def __init__(self, files, kind, dup):
        super().__init__(files)
        self.kind = kind
        self.lpm = Lpm(32, dup)
        self.ranges = []              # (lo, hi, listed) as generated

    def _addr(self, rel):
        r = ip4_from_labels(rel)
        if r and r[1] == 32:
            return r[0]
        r6 = ip6_from_labels(rel)
        if r6 and r6[1] == 128:
            e = embedded_ip4(*r6)
            if e and e[1] == 32:
                return e[0]
        return None

    def exists(self, rel, ctx):
        a = self._addr(rel)
        return a is not None and self.lpm.lookup(a)

    def has_below(self, rel, ctx):
        if not rel:
            return self.lpm.any_listed(0, 0)
        r = ip4_from_labels(rel)
        if r and r[1] < 32:
            return self.lpm.any_listed(*r)
        r6 = ip6_from_labels(rel)
        if r6 and r6[1] < 128:
            e = embedded_ip4(*r6)
            if e:
                return self.lpm.any_listed(*e)
        return False

    def sample(self, rng):
        r = rng.random()
        if self.ranges and r < 0.45:
            lo, hi, listed = rng.choice(self.ranges)
            return rev4(rng.randint(lo, hi)), ("listed" if listed
                                               else "excluded")
        if r < 0.58:
            return rev4(random_ip4(rng)), "random-ip"
        if self.ranges and r < 0.78:
            lo, hi, _ = rng.choice(self.ranges)
            return rev4(rng.randint(lo, hi))[rng.randint(1, 3):], "prefix"
        if self.ranges and r < 0.84:
            lo, hi, _ = rng.choice(self.ranges)
            return (rng.choice(["x", "0", "www"]),) + rev4(
                rng.randint(lo, hi)), "deep"
        if self.ranges and r < 0.93:
            lo, hi, _ = rng.choice(self.ranges)
            a = rng.randint(lo, hi)
            if rng.random() < 0.5:
                a6 = SIXTOFOUR[0] | (a << 80) | rng.getrandbits(16)
                kind = "6to4"
            else:
                a6 = MAPPED[0] | a
                kind = "v4mapped"
            n = 32 if rng.random() < 0.6 else rng.randint(1, 31)
            return rev6(a6, n), kind if n == 32 else kind + "-prefix"
        return junk_ip4_name(rng, self.ranges), "junk"


class Ip4tsetDataset(Ip4Dataset):
    def __init__(self, files):
        super().__init__(files, "ip4tset", "excl")


class Ip6Dataset(Dataset):
    def __init__(self, files, kind):
        super().__init__(files)
        self.kind = kind
        self.lpm = Lpm(128, "first")      # ip6trie
        self.set64 = set()                # ip6tset
        self.excl128 = set()              # ip6tset
        self.ranges = []                  # (lo, hi, listed)

    def _listed(self, a):
        if self.kind == "ip6tset":
            return (a >> 64) in self.set64 and a not in self.excl128
        return self.lpm.lookup(a)

    def exists(self, rel, ctx):
        r6 = ip6_from_labels(rel)
        if not r6 or r6[1] != 128:
            return False
        if ctx.get("ip4") and is_mapped(r6[0]):
            return False               # rbldnsd: only the IPv4 datasets look
        return self._listed(r6[0])

    def has_below(self, rel, ctx):
        if rel:
            r6 = ip6_from_labels(rel)
            if not r6 or r6[1] == 128:
                return False
            net, plen = r6
        else:
            net, plen = 0, 0
        if ctx.get("ip4") and plen >= 96 and is_mapped(net):
            return False
        if self.kind == "ip6trie":
            return self.lpm.any_listed(net, plen)
        m = mask(128, plen)
        size = 1 << (128 - plen)
        for h in self.set64:
            lo = h << 64
            if plen <= 64:
                if (lo & m) == net:
                    return True
            elif (net & mask(128, 64)) == lo:
                excl = sum(1 for e in self.excl128 if (e & m) == net)
                if excl < size:
                    return True
        return False

    def sample(self, rng):
        r = rng.random()
        if self.ranges and r < 0.45:
            lo, hi, listed = rng.choice(self.ranges)
            return rev6(rng.randint(lo, hi)), ("listed" if listed
                                               else "excluded")
        if r < 0.55:
            return rev6(random_ip6(rng)), "random-ip"
        if self.ranges and r < 0.85:
            lo, hi, _ = rng.choice(self.ranges)
            return rev6(rng.randint(lo, hi), rng.randint(1, 31)), "prefix"
        if self.ranges and r < 0.9:
            lo, hi, _ = rng.choice(self.ranges)
            return ("0",) + rev6(rng.randint(lo, hi)), "deep"
        lab = list(rev6(random_ip6(rng)))
        i = rng.randrange(32)
        lab[i] = rng.choice(["g", "10", "", "x"]) or "ab"
        return tuple(lab), "junk"


class DnsetDataset(Dataset):
    kind = "dnset"

    def __init__(self, files):
        super().__init__(files)
        self.plain = {}
        self.wild = {}
        self.bases = []                   # (labels, form, excluded)

    def add(self, labels, form, excluded):
        listed = not excluded
        targets = []
        if form in ("plain", "dot"):
            targets.append(self.plain)
        if form in ("star", "dot"):
            targets.append(self.wild)
        for t in targets:
            t[labels] = t.get(labels, True) and listed
        self.bases.append((labels, form, excluded))

    def exists(self, rel, ctx):
        if not rel:
            return False
        if rel in self.plain:
            return self.plain[rel]
        for i in range(1, len(rel)):
            v = self.wild.get(rel[i:])
            if v is not None:
                return v
        return False

    def has_below(self, rel, ctx):
        cands = [k for k in self.plain if is_below(k, rel)]
        cands += [(FRESH,) + b for b in self.wild if is_below_or_equal(b, rel)]
        cands.append((FRESH,) + rel)
        return any(self.exists(c, ctx) for c in cands)

    def sample(self, rng):
        r = rng.random()
        if self.bases and r < 0.35:
            b, form, excl = rng.choice(self.bases)
            return b, "excluded" if excl else ("listed" if form != "star"
                                               else "wildcard-base")
        if self.bases and r < 0.6:
            b, form, excl = rng.choice(self.bases)
            sub = tuple(rng.choice(DN_VOCAB) for _ in range(rng.randint(1, 2)))
            return sub + b, "wildcard" if form != "plain" else "below-plain"
        if self.bases and r < 0.8:
            b, _, _ = rng.choice(self.bases)
            return b[rng.randint(1, len(b) - 1):] if len(b) > 1 else b, \
                "prefix"
        return random_dn(rng), "random-dn"


class GenericDataset(Dataset):
    kind = "generic"

    def __init__(self, files):
        super().__init__(files)
        self.names = {}

    def exists(self, rel, ctx):
        return rel in self.names

    def has_below(self, rel, ctx):
        return any(is_below(k, rel) for k in self.names)

    def sample(self, rng):
        r = rng.random()
        names = list(self.names)
        if names and r < 0.55:
            return rng.choice(names), "generic-name"
        if names and r < 0.8:
            n = rng.choice(names)
            if len(n) > 1:
                return n[rng.randint(1, len(n) - 1):], "prefix"
            return ("nope",) + n, "deep"
        if names and r < 0.9:
            return ("sub",) + rng.choice(names), "deep"
        return (rng.choice(GEN_VOCAB + ["nothere"]),), "generic-random"


class CombinedDataset(Dataset):
    kind = "combined"

    def __init__(self, files):
        super().__init__(files)
        self.subzones = {}                # labels -> [Dataset]
        self.order = []

    def ctx_for(self, sub):
        return {"ip4": any(d.ip4 for d in self.subzones[sub])}

    def find(self, rel):
        for i in range(len(rel) + 1):
            s = rel[i:]
            if s in self.subzones:
                return s, rel[:i]
        return None, None

    def exists(self, rel, ctx):
        sub, r = self.find(rel)
        if sub is None:
            return False
        if not r:
            return True                   # subzone base: always "found"
        return any(d.exists(r, self.ctx_for(sub)) for d in self.subzones[sub])

    def has_below(self, rel, ctx):
        if any(is_below(s, rel) for s in self.subzones):
            return True
        sub, r = self.find(rel)
        if sub is None:
            return False
        return any(d.has_below(r, self.ctx_for(sub))
                   for d in self.subzones[sub])

    def relevant(self, rel, ctx):
        out = list(self.specials[:12])
        sub, r = self.find(rel)
        if sub is not None:
            for d in self.subzones[sub]:
                for ln in d.relevant(r, self.ctx_for(sub)):
                    if ln not in out:
                        out.append(ln)
        return out[:45]

    def sample(self, rng):
        sub = rng.choice(self.order)
        r = rng.random()
        if r < 0.1:
            return sub, "subzone-base"
        if r < 0.15 and len(sub) > 1:
            return sub[1:], "prefix"
        ds = rng.choice(self.subzones[sub])
        rel, kind = ds.sample(rng)
        return rel + sub, kind


class AclModel:
    """acl dataset: longest prefix match on the client address -> action."""

    def __init__(self, files):
        self.files = files
        self.entries = {}
        self.lines = []
        self.ranges = []

    @property
    def spec(self):
        return "acl:" + ",".join(f.path for f in self.files)

    def add(self, net, plen, action):
        self.entries.setdefault((net, plen), action)
        self.ranges.append((net, plen))

    def action(self, src):
        a = int(ipaddress.IPv4Address(src))
        for plen in range(32, -1, -1):
            v = self.entries.get((a & mask(32, plen), plen))
            if v is not None:
                return v
        return None


class Zone:
    def __init__(self, name):
        self.name = name
        self.labels = tuple(name.split("."))
        self.datasets = []
        self.acl = None

    @property
    def soa(self):
        return any(d.has_soa for d in self.datasets)

    @property
    def ns(self):
        return any(d.has_ns for d in self.datasets)

    @property
    def ctx(self):
        return {"ip4": any(d.ip4 for d in self.datasets)}

    def exists(self, rel):
        return not rel or any(d.exists(rel, self.ctx) for d in self.datasets)

    def is_ent(self, rel):
        return (not self.exists(rel)
                and any(d.has_below(rel, self.ctx) for d in self.datasets))

    def relevant(self, rel):
        out = []
        for d in self.datasets:
            for ln in d.relevant(rel, self.ctx):
                if ln not in out:
                    out.append(ln)
        return out


# ---------------------------------------------------------------------------
# Random data generation
# ---------------------------------------------------------------------------
DN_VOCAB = ["spam", "ham", "mail", "mx", "x", "bad", "good", "ex", "www",
            "a", "b", "c1", "dyn"]
DN_TLDS = ["com", "net", "org", "test"]
GEN_VOCAB = ["www", "mail", "info", "a", "b", "ns1", "ns2", "x", "y", "z",
             "about", "Mixed"]
TXT_WORDS = ["listed", "spam", "see", "http://bl.test/q?$", "open", "relay",
             "proxy", "$", "$$", "$$$", "$1", "$2", "$3", "$9", "dyn",
             "policy", "x-$-y", "100%", '"quoted"', "back\\slash", "r\u00e9seau",
             "{braces}", "semi;colon", "hash#tag", "colon:in:text", "a=b"]
A_VALUES = ["2", "3", "4", "10", "127.0.0.5", "127.0.0.255", "127.1.2.3",
            "127.0.0.2"]
IP4_FIRST = [10, 45, 127, 192]
IP4_SECOND = [0, 1, 2, 168]


def random_ip4(rng):
    if rng.random() < 0.1:
        return rng.getrandbits(32)
    return ((rng.choice(IP4_FIRST) << 24) | (rng.choice(IP4_SECOND) << 16)
            | (rng.randint(0, 7) << 8) | rng.randint(0, 255))


def random_ip6(rng):
    if rng.random() < 0.1:
        return rng.getrandbits(128)
    return ((0x20010db8 << 96) | (rng.randint(0, 3) << 80)
            | (rng.randint(0, 15) << 64) | rng.choice(
                [rng.randint(0, 20), rng.getrandbits(64)]))


def junk_ip4_name(rng, ranges):
    lo, hi, _ = rng.choice(ranges) if ranges else (0, 0, True)
    lab = list(rev4(rng.randint(lo, hi)))
    c = rng.randrange(6)
    if c == 0:
        lab[rng.randrange(4)] = "256"
    elif c == 1:
        i = rng.randrange(4)
        lab[i] = "0" + lab[i] if len(lab[i]) < 3 else lab[i]   # leading zero
    elif c == 2:
        lab[rng.randrange(4)] = rng.choice(["a", "1x", "-1", "0x1"])
    elif c == 3:
        lab[0] = "0" * (4 - len(lab[0])) + lab[0]             # 4 digits
    elif c == 4:
        lab = lab + ["1"]                                       # 5 labels
    else:
        lab = ["1", "2", "3", "4"][:rng.randint(1, 4)]
    return tuple(lab)


def random_dn(rng):
    n = rng.randint(1, 3)
    return tuple(rng.choice(DN_VOCAB) for _ in range(n)) + (
        rng.choice(DN_TLDS),)


def txt_template(rng, base_template=False):
    words = [rng.choice(TXT_WORDS) for _ in range(rng.randint(1, 5))]
    text = " ".join(words)
    if rng.random() < 0.03:
        text = (text + " ") * (300 // (len(text) + 1) + 1)   # > 255 bytes
    if base_template and rng.random() < 0.3:
        text = "=" + text                     # bypasses the $= template
    return text.strip()


def value_suffix(rng, base_template=False, nospace_ok=False):
    """The optional A:TXT part after an entry, in all of rbldnsd's forms."""
    c = rng.random()
    a = rng.choice(A_VALUES)
    if c < 0.30:
        return ""
    if c < 0.48:
        return f" :{a}:{txt_template(rng, base_template)}"
    if c < 0.56:
        return f" :{a}"                      # A, default TXT
    if c < 0.64:
        return f" :{a}:"                     # A, no TXT at all
    if c < 0.86:
        return " " + txt_template(rng, base_template)   # TXT, default A
    if c < 0.92:
        return rng.choice(["  ; a comment", " # comment", "\t# tab comment"])
    if c < 0.96 or not nospace_ok:
        return f"\t:{a}:{txt_template(rng, base_template)}"
    return f":{a}:{txt_template(rng, base_template)}"   # no space at all


def fmt_ip4(a):
    return str(ipaddress.IPv4Address(a))


def time_value(rng, seconds):
    """seconds written in one of rbldnsd's time unit forms."""
    for unit, n in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % n == 0 and rng.random() < 0.6:
            return f"{seconds // n}{unit}"
    return str(seconds)


class DataFile:
    def __init__(self, udir, name, gz=False):
        self.udir = udir
        self.path = name + (".gz" if gz else "")
        self.gz = gz
        self.lines = []

    @property
    def abspath(self):
        return os.path.join(self.udir, self.path)

    def add(self, text):
        self.lines.append(text)
        return len(self.lines)

    def write(self):
        data = "".join(ln + "\n" for ln in self.lines).encode("utf-8")
        if self.gz:
            data = gzip.compress(data, mtime=0)
        with open(self.abspath, "wb") as f:
            f.write(data)
        os.chmod(self.abspath, 0o644)


class Writer:
    """Adds lines to a dataset's files, recording them in the model."""

    def __init__(self, rng, ds):
        self.rng = rng
        self.ds = ds
        self.file = ds.files[0]

    def switch(self, i):
        self.file = self.ds.files[i]

    def special(self, text):
        n = self.file.add(text)
        self.ds.specials.append(Line(self.file.path, n, text))

    def entry(self, text, match):
        n = self.file.add(text)
        ln = Line(self.file.path, n, text, match)
        self.ds.entries.append(ln)
        return ln

    def noise(self, p=0.08):
        """Comments and blank lines, now and then."""
        r = self.rng.random()
        if r < p / 3:
            self.file.add("")
        elif r < 2 * p / 3:
            self.file.add("# " + self.rng.choice(TXT_WORDS))
        elif r < p:
            self.file.add("; " + self.rng.choice(TXT_WORDS))


class Universe:
    def __init__(self, rng, udir):
        self.rng = rng
        self.udir = udir
        self.files = []
        self.zones = []                   # Zone, in command-line order
        self.zone_args = []
        self.global_acl = None
        self.acl_sources = []             # (source address, label)

    def newfile(self, name, gz=False):
        f = DataFile(self.udir, name, gz)
        self.files.append(f)
        return f

    def write(self):
        for f in self.files:
            f.write()

    def zone(self, name):
        for z in self.zones:
            if z.name == name:
                return z
        z = Zone(name)
        self.zones.append(z)
        return z

    def attach(self, zone_name, ds):
        """Add `zone_name:type:files` to the command line."""
        z = self.zone(zone_name)
        if isinstance(ds, AclModel):
            z.acl = ds
        else:
            z.datasets.append(ds)
        self.zone_args.append(
            f"{zone_name}:{ds.spec.split(':')[0]}:"
            + ",".join(f.abspath for f in ds.files))

    def find_zone(self, labels):
        best = None
        for z in self.zones:
            if is_below_or_equal(labels, z.labels):
                if best is None or len(z.labels) > len(best.labels):
                    best = z
        if best is None:
            return None, None
        return best, labels[:len(labels) - len(best.labels)]

    def relevant(self, zone, rel, src):
        out = zone.relevant(rel) if zone else []
        if src != "127.0.0.1":
            for acl in filter(None, [self.global_acl,
                                     zone.acl if zone else None]):
                out += acl.lines[:30]
        return out


def write_meta(w, rng, zone_name, soa, ns, glue_names):
    """$SOA and $NS lines (values are absolute names)."""
    w.ds.has_soa, w.ds.has_ns = soa, ns
    if soa:
        ttl = rng.choice([0, 60, 3600, 7200, 86400])
        minttl = rng.choice([60, 300, 3600, 10800])
        serial = rng.choice([0, 0, 1, 2024010101])
        w.special(f"$SOA {time_value(rng, ttl)} ns1.{zone_name} "
                  f"hostmaster.{zone_name} {serial} {time_value(rng, 3600)} "
                  f"{time_value(rng, 600)} {time_value(rng, 604800)} "
                  f"{time_value(rng, minttl)}")
    if ns:
        names = list(glue_names) + [f"ns{i}.example.net"
                                    for i in range(rng.randint(1, 3))]
        rng.shuffle(names)
        if rng.random() < 0.3:
            names.append("-ns9.disabled.example")
        if rng.random() < 0.2:
            names[0] = names[0].upper()
        w.special(f"$NS {time_value(rng, rng.choice([0, 3600, 86400]))} "
                  + " ".join(names))


def common_specials(w, rng, base_template_ok=True):
    """$TTL, $n substitutions, $= base template and a default A:TXT line."""
    base = False
    if rng.random() < 0.5:
        w.special(f"$TTL {time_value(rng, rng.choice([60, 600, 3600, 86400, 172800]))}")
    for n in rng.sample(["1", "2", "3"], rng.randint(0, 3)):
        w.special(f"${n} {txt_template(rng)}")
    if base_template_ok and rng.random() < 0.25:
        w.special("$= " + rng.choice(["See http://bl.test/?$= ($)",
                                      "listed: $=", "[$=] $"]))
        base = True
    if rng.random() < 0.8:
        w.special(f":{rng.choice(A_VALUES)}:{txt_template(rng, False)}")
    return base


def gen_ip4_entries(rng, w, ds, count, kind):
    """ip4set / ip4trie entries in every syntax the type accepts."""
    base = common_specials(w, rng)
    for i in range(count):
        w.noise()
        if len(ds.files) > 1 and i == count // 2:
            w.switch(1)
            if rng.random() < 0.5:
                w.special(f":{rng.choice(A_VALUES)}:{txt_template(rng)}")
        if rng.random() < 0.05:
            w.special(f":{rng.choice(A_VALUES)}:{txt_template(rng)}")
        excl = bool(ds.ranges) and rng.random() < 0.15
        if excl:
            # an exclusion inside (or around) something already listed
            lo, hi, _ = rng.choice(ds.ranges)
            a = rng.randint(lo, hi)
        else:
            a = random_ip4(rng)
        text, lo, hi = ip4_range_text(rng, a, kind, excl)
        if kind == "ip4set":
            for net, plen in ip4set_expand(lo, hi):
                ds.lpm.add(net, plen, not excl)
        else:
            plen = 32 - (hi - lo).bit_length()
            ds.lpm.add(lo, plen, not excl)
        ds.ranges.append((lo, hi, not excl))
        line = ("!" if excl else "") + text
        if not excl:
            line += value_suffix(rng, base, nospace_ok=True)
        w.entry(line, ("ip4", (lo, hi)))


def ip4_range_text(rng, a, kind, excl):
    """Text and inclusive range for an entry around address a."""
    o = [(a >> s) & 255 for s in (24, 16, 8, 0)]
    c = rng.random()
    if kind == "ip4trie" or c < 0.5:
        # CIDR forms (the only ones ip4trie accepts)
        plen = rng.choice([32, 32, 32, 30, 28, 25, 24, 24, 22, 20, 16, 12, 8])
        if excl:
            plen = rng.choice([32, 32, 30, 28, 24])
        lo = a & mask(32, plen)
        hi = lo | (M32 >> plen if plen else M32)
        if plen == 32 and rng.random() < 0.7:
            return fmt_ip4(lo), lo, hi
        if plen == 24 and rng.random() < 0.5:
            return ".".join(str(x) for x in o[:3]), lo, hi      # a.b.c
        if plen == 16 and rng.random() < 0.5:
            return ".".join(str(x) for x in o[:2]), lo, hi      # a.b
        if plen % 8 == 0 and plen < 32 and rng.random() < 0.4:
            n = plen // 8
            pfx = ".".join(str((lo >> (24 - 8 * i)) & 255) for i in range(n))
            return f"{pfx}/{plen}", lo, hi                     # 127.16/12
        return f"{fmt_ip4(lo)}/{plen}", lo, hi
    if c < 0.7:
        e = rng.randint(o[3], min(255, o[3] + rng.choice([1, 5, 40, 255])))
        lo = a
        hi = (a & ~255 & M32) | e
        return f"{fmt_ip4(lo)}-{e}", lo, hi                    # a.b.c.d-e
    if c < 0.82:
        hi = min(M32, a + rng.choice([3, 100, 300, 2000]))
        return f"{fmt_ip4(a)}-{fmt_ip4(hi)}", a, hi
    if c < 0.9:
        e = rng.randint(o[1], min(255, o[1] + 2))
        lo = (o[0] << 24) | (o[1] << 16)
        hi = (o[0] << 24) | (e << 16) | 0xffff
        return f"{o[0]}.{o[1]}-{e}", lo, hi                    # a.b-c
    if c < 0.97:
        e = rng.randint(o[2], min(255, o[2] + 3))
        lo = (a >> 8) << 8
        hi = (o[0] << 24) | (o[1] << 16) | (e << 8) | 255
        return f"{o[0]}.{o[1]}.{o[2]}-{o[0]}.{o[1]}.{e}", lo, hi
    lo = o[0] << 24
    return f"{o[0]}/8", lo, lo | 0xffffff


def ip4set_expand(a, b):
    """rbldnsd_ip4set.c ip4range_expand: a range as /32, /24, /16, /8 keys."""
    out = []

    def fn(idx, start, count):
        step = 1 << (idx * 8)
        for i in range(max(0, count)):
            out.append(((start + i * step) & M32, 32 - 8 * idx))

    for bits in (0, 8, 16):
        idx = bits >> 3
        if (a | 255) >= b:
            if b - a == 255:
                fn(idx + 1, a << bits, 1)
            else:
                fn(idx, a << bits, b - a + 1)
            return out
        if a & 255:
            fn(idx, a << bits, 256 - (a & 255))
            a = (a >> 8) + 1
        else:
            a >>= 8
        if (b & 255) != 255:
            fn(idx, (b & ~255) << bits, (b & 255) + 1)
            b = (b >> 8) - 1
        else:
            b >>= 8
    fn(3, a << 24, b - a + 1)
    return out


def gen_ip4tset(rng, w, ds, count):
    # Only the first default line counts; values after an address are ignored.
    if rng.random() < 0.5:
        w.special(f"$TTL {time_value(rng, rng.choice([60, 3600, 7200]))}")
    if rng.random() < 0.8:
        w.special(f":{rng.choice(A_VALUES)}:{txt_template(rng)}")
        w.special(f":{rng.choice(A_VALUES)}:second default is ignored")
    for _ in range(count):
        w.noise()
        a = random_ip4(rng)
        ds.lpm.add(a, 32, True)
        ds.ranges.append((a, a, True))
        w.entry(fmt_ip4(a) + rng.choice(["", "", " ; c", " :9:ignored"]),
                ("ip4", (a, a)))


def fmt_ip6(net, plen, rng, ip6tset=False):
    if ip6tset:                                  # four words: a /64
        words = [(net >> (112 - 16 * i)) & 0xffff for i in range(4)]
        if rng.random() < 0.3:
            return ":".join(f"{x:04x}" for x in words)
        return ":".join(f"{x:x}" for x in words)
    if plen == 128 and rng.random() < 0.7:
        return str(ipaddress.IPv6Address(net))
    if plen % 16 == 0 and 0 < plen < 128 and rng.random() < 0.5:
        n = plen // 16                           # trailing zero words omitted
        return ":".join(f"{(net >> (112 - 16 * i)) & 0xffff:x}"
                        for i in range(n)) + ("" if plen == 64 and
                                              rng.random() < 0.5
                                              else f"/{plen}")
    return f"{ipaddress.IPv6Address(net).compressed}/{plen}"


def gen_ip6trie(rng, w, ds, count, sixtofour=False):
    base = common_specials(w, rng)
    for _ in range(count):
        w.noise()
        excl = bool(ds.ranges) and rng.random() < 0.15
        if excl:
            lo, hi, _ = rng.choice(ds.ranges)
            a = rng.randint(lo, hi)
            plen = rng.choice([128, 128, 124, 112, 96, 64])
        else:
            a = random_ip6(rng)
            if sixtofour and rng.random() < 0.3:
                a = SIXTOFOUR[0] | (random_ip4(rng) << 80)
            plen = rng.choice([128, 128, 64, 64, 60, 56, 48, 36, 32, 126])
        if rng.random() < 0.05 and not excl:
            a, plen = 1, 128                     # ::1
        net = a & mask(128, plen)
        hi = net | (M128 >> plen)
        ds.lpm.add(net, plen, not excl)
        ds.ranges.append((net, hi, not excl))
        line = ("!" if excl else "") + fmt_ip6(net, plen, rng)
        if not excl:
            line += value_suffix(rng, base)
        w.entry(line, ("ip6", (net, hi)))


def gen_ip6tset(rng, w, ds, count):
    if rng.random() < 0.8:
        w.special(f":{rng.choice(A_VALUES)}:{txt_template(rng)}")
    for _ in range(count):
        w.noise()
        if ds.set64 and rng.random() < 0.2:
            h = rng.choice(sorted(ds.set64))
            a = (h << 64) | rng.choice([1, 2, rng.getrandbits(64)])
            ds.excl128.add(a)
            ds.ranges.append((a, a, False))
            txt = (str(ipaddress.IPv6Address(a)) if rng.random() < 0.5 else
                   ":".join(f"{(a >> (112 - 16 * i)) & 0xffff:x}"
                            for i in range(8)))
            w.entry("!" + txt, ("ip6", (a, a)))
            continue
        a = random_ip6(rng) & mask(128, 64)
        ds.set64.add(a >> 64)
        ds.ranges.append((a, a | (M128 >> 64), True))
        w.entry(fmt_ip6(a, 64, rng, ip6tset=True)
                + rng.choice(["", "", " # c"]), ("ip6", (a, a | (M128 >> 64))))


def gen_dnset(rng, w, ds, count):
    base = common_specials(w, rng)
    for _ in range(count):
        w.noise()
        if ds.bases and rng.random() < 0.2:
            b, _, _ = rng.choice(ds.bases)
            r = rng.random()
            if r < 0.5 and len(b) > 1:
                b = b                                  # exclude the name
            elif r < 0.8:
                b = (rng.choice(DN_VOCAB),) + b        # exclude a child
            form = rng.choice(["plain", "plain", "star", "dot"])
            ds.add(b, form, True)
            prefix = {"plain": "", "star": "*.", "dot": "."}[form]
            w.entry("!" + prefix + ".".join(b), ("name", b))
            continue
        b = random_dn(rng)
        form = rng.choice(["plain", "plain", "star", "dot"])
        ds.add(b, form, False)
        prefix = {"plain": "", "star": "*.", "dot": "."}[form]
        text = ".".join(b)
        if rng.random() < 0.15:
            text = text.upper() if rng.random() < 0.5 else text.title()
        if rng.random() < 0.1:
            text += "."                                # trailing dot
        w.entry(prefix + text + value_suffix(rng, base), ("name", b))


def gen_generic(rng, w, ds, count, glue=(), big=False):
    if rng.random() < 0.5:
        w.special(f"$TTL {time_value(rng, rng.choice([120, 3600, 86400]))}")
    for g in glue:
        ds.names.setdefault((g,), set()).add("A")
        w.entry(f"{g} A 127.0.0.{rng.randint(50, 60)}", ("name", (g,)))
    for _ in range(count):
        w.noise()
        r = rng.random()
        if r < 0.15:
            name = ()
        else:
            name = tuple(rng.choice(GEN_VOCAB)
                         for _ in range(rng.choice([1, 1, 1, 2, 3])))
        owner = "@" if not name else ".".join(name)
        key = tuple(x.lower() for x in name)
        ttl = ""
        if rng.random() < 0.3:
            ttl = " " + time_value(rng, rng.choice([60, 300, 3600, 86400]))
        cls = " IN" if rng.random() < 0.15 else ""
        t = rng.choice(["A", "A", "TXT", "TXT", "MX"])
        if t == "A":
            data = f"127.0.0.{rng.randint(1, 254)}"
        elif t == "TXT":
            text = txt_template(rng).replace("$", "dollar")
            data = f'"{text}"' if rng.random() < 0.6 else text
        else:
            data = f"{rng.choice([0, 10, 20])} mx{rng.randint(1, 3)}.example.net"
        tname = t if rng.random() < 0.7 else t.lower()
        ds.names.setdefault(key, set()).add(t)
        w.entry(f"{owner}{ttl}{cls} {tname} {data}", ("name", key))
    if big:
        # more than fits in 512 bytes
        for i in range(30):
            w.entry(f"big TXT \"record number {i} with some padding text\"",
                    ("name", ("big",)))
        ds.names.setdefault(("big",), set()).add("TXT")


def build_universe(rng, udir, scenario_index):
    """All zones, datasets and files for one scenario."""
    u = Universe(rng, udir)
    metas = ["soa+ns", "soa", "ns", "none"]

    def meta(i):
        m = metas[(i + scenario_index) % 4]
        return "soa" in m, "ns" in m

    n = lambda lo, hi: rng.randint(lo, hi)   # noqa: E731

    # gen.test: generic only, with glue for its own NS and a big RRset.
    gen = GenericDataset([u.newfile("gen.txt")])
    wg = Writer(rng, gen)
    write_meta(wg, rng, "gen.test", True, True, ["ns1.gen.test"])
    gen_generic(rng, wg, gen, n(15, 30), glue=["ns1"], big=True)

    # ip4.bl.test: ip4set over two files (the second gzip-compressed),
    # an ip4tset and a generic dataset in the same zone.
    soa, ns = meta(0)
    ip4 = Ip4Dataset([u.newfile("ip4set-a.txt"),
                      u.newfile("ip4set-b.txt", gz=True)], "ip4set", "excl")
    w = Writer(rng, ip4)
    write_meta(w, rng, "ip4.bl.test", soa, ns, ["ns1.gen.test"])
    gen_ip4_entries(rng, w, ip4, n(60, 120), "ip4set")
    tset = Ip4tsetDataset([u.newfile("ip4tset.txt")])
    gen_ip4tset(rng, Writer(rng, tset), tset, n(20, 50))
    g2 = GenericDataset([u.newfile("ip4-generic.txt")])
    gen_generic(rng, Writer(rng, g2), g2, n(4, 10))

    # Nested zones, in either command-line order: dial.agg.test reuses the
    # ip4set dataset of ip4.bl.test (same files = same dataset).
    agg2 = Ip4Dataset([u.newfile("agg.txt")], "ip4set", "excl")
    wa = Writer(rng, agg2)
    write_meta(wa, rng, "agg.test", *meta(1), [])
    gen_ip4_entries(rng, wa, agg2, n(20, 40), "ip4set")
    order = ["parent", "child"] if rng.random() < 0.5 else ["child", "parent"]

    u.attach("ip4.bl.test", ip4)
    u.attach("ip4.bl.test", tset)
    u.attach("ip4.bl.test", g2)
    for which in order:
        if which == "child":
            u.attach("dial.agg.test", ip4)
        else:
            u.attach("agg.test", agg2)
            u.attach("agg.test", ip4)

    # trie.bl.test: ip4trie.
    trie = Ip4Dataset([u.newfile("ip4trie.txt")], "ip4trie", "first")
    w = Writer(rng, trie)
    soa, ns = meta(2)
    write_meta(w, rng, "trie.bl.test", soa, ns, [])
    gen_ip4_entries(rng, w, trie, n(50, 100), "ip4trie")
    u.attach("trie.bl.test", trie)

    # v6.bl.test: ip6trie + ip6tset.
    v6t = Ip6Dataset([u.newfile("ip6trie.txt")], "ip6trie")
    w = Writer(rng, v6t)
    soa, ns = meta(3)
    write_meta(w, rng, "v6.bl.test", soa, ns, [])
    gen_ip6trie(rng, w, v6t, n(40, 80))
    v6s = Ip6Dataset([u.newfile("ip6tset.txt")], "ip6tset")
    gen_ip6tset(rng, Writer(rng, v6s), v6s, n(20, 40))
    u.attach("v6.bl.test", v6t)
    u.attach("v6.bl.test", v6s)

    # mixed.bl.test: ip4trie + ip6trie in one zone (6to4 and ::ffff: names).
    mx6 = Ip6Dataset([u.newfile("mixed-ip6trie.txt")], "ip6trie")
    w = Writer(rng, mx6)
    soa, ns = meta(1)
    write_meta(w, rng, "mixed.bl.test", soa, ns, [])
    gen_ip6trie(rng, w, mx6, n(20, 40), sixtofour=True)
    u.attach("mixed.bl.test", mx6)
    u.attach("mixed.bl.test", trie)

    # dn.bl.test: dnset (two datasets).
    dn1 = DnsetDataset([u.newfile("dnset-a.txt")])
    w = Writer(rng, dn1)
    soa, ns = meta(2)
    write_meta(w, rng, "dn.bl.test", soa, ns, ["ns1.gen.test"])
    gen_dnset(rng, w, dn1, n(40, 80))
    dn2 = DnsetDataset([u.newfile("dnset-b.txt")])
    gen_dnset(rng, Writer(rng, dn2), dn2, n(10, 20))
    u.attach("dn.bl.test", dn1)
    u.attach("dn.bl.test", dn2)

    u.attach("gen.test", gen)

    # comb.test: combined, common section with $SOA/$NS, several subzones.
    comb = CombinedDataset([u.newfile("combined.txt")])
    wc = Writer(rng, comb)
    wc.special("# common section")
    write_meta(wc, rng, "comb.test", True, True, ["ns1.comb.test"])
    if rng.random() < 0.7:
        wc.special(f"$TTL {time_value(rng, rng.choice([300, 900, 3600]))}")
    if rng.random() < 0.5:
        wc.special(f"$1 {txt_template(rng)}")
    sections = [
        ("ip4set", "proxies", ["proxies", "@"]),
        ("ip4set", "relays", ["relays", "@"]),
        ("ip4trie", "multihop", ["multihop"]),
        ("dnset", "rhs", ["rhsbl", "dbl.sub"]),
        ("generic", "common", ["proxies", "relays", "multihop", "@"]),
        ("ip6trie", "six", ["v6", "@"]),
        ("ip6tset", None, ["v6t.deep.sub"]),
    ]
    rng.shuffle(sections)
    for typ, label, subs in sections:
        shown = [s if rng.random() < 0.8 else s.upper() for s in subs]
        head = f"$DATASET {typ}" + (f":{label}" if label else "") + " " + \
            " ".join(shown) + (" # comment" if rng.random() < 0.3 else "")
        wc.special(head)
        if typ in ("ip4set", "ip4trie"):
            d = Ip4Dataset(comb.files, typ, "excl" if typ == "ip4set"
                           else "first")
            gen_ip4_entries(rng, Writer(rng, d), d, n(10, 25), typ)
        elif typ == "dnset":
            d = DnsetDataset(comb.files)
            gen_dnset(rng, Writer(rng, d), d, n(10, 25))
        elif typ == "generic":
            d = GenericDataset(comb.files)
            gen_generic(rng, Writer(rng, d), d, n(5, 12),
                        glue=["ns1"] if "@" in subs else ())
        elif typ == "ip6trie":
            d = Ip6Dataset(comb.files, "ip6trie")
            gen_ip6trie(rng, Writer(rng, d), d, n(10, 20))
        else:
            d = Ip6Dataset(comb.files, "ip6tset")
            gen_ip6tset(rng, Writer(rng, d), d, n(5, 10))
        for s in subs:
            key = () if s == "@" else tuple(s.split("."))
            if key not in comb.subzones:
                comb.subzones[key] = []
                comb.order.append(key)
            comb.subzones[key].append(d)
    u.attach("comb.test", comb)

    # acl.bl.test: ip4set + dnset + a zone ACL; plus one global ACL.
    adata = Ip4Dataset([u.newfile("acl-data.txt")], "ip4set", "excl")
    w = Writer(rng, adata)
    soa, ns = meta(0)
    write_meta(w, rng, "acl.bl.test", soa, ns, [])
    gen_ip4_entries(rng, w, adata, n(20, 40), "ip4set")
    adn = DnsetDataset([u.newfile("acl-dnset.txt")])
    gen_dnset(rng, Writer(rng, adn), adn, n(5, 15))
    zacl = gen_acl(rng, u, "acl-zone.txt", 10)
    u.attach("acl.bl.test", adata)
    u.attach("acl.bl.test", adn)
    u.attach("acl.bl.test", zacl)
    gacl = gen_acl(rng, u, "acl-global.txt", 20)
    u.global_acl = gacl
    u.zone_args.append(":acl:" + gacl.files[0].abspath)

    u.write()
    return u


ACL_ACTIONS = [":ignore", ":refuse", ":empty", ":pass", "=pass", ":IGNORE",
               ":blackhole", "template"]


def gen_acl(rng, u, fname, second_octet_base):
    """ACL entries on 127.<base..base+5>.0.0/16 (never 127.0.0.1)."""
    acl = AclModel([u.newfile(fname)])
    f = acl.files[0]

    def line(text):
        n = f.add(text)
        acl.lines.append(Line(f.path, n, text))

    line("# access control list")
    default = "ignore"
    if rng.random() < 0.5:
        default = rng.choice(["refuse", "empty", "pass"])
        line(f":{default}")                          # new default action
    if rng.random() < 0.3:
        # a default A:TXT line also becomes the default action ("always")
        line(f":{rng.choice(A_VALUES)}:acl template $ {txt_template(rng)}")
        default = "always"
    for i in range(6):
        net = (127 << 24) | ((second_octet_base + i) << 16)
        act = ACL_ACTIONS[(i + rng.randrange(len(ACL_ACTIONS)))
                          % len(ACL_ACTIONS)]
        if act == "template":
            text = f"{fmt_ip4(net)}/16 :{rng.choice(A_VALUES)}:" \
                   f"acl {txt_template(rng)} $"
            action = "always"
        elif rng.random() < 0.15:
            text = f"{fmt_ip4(net)}/16"                 # default action
            action = default
        else:
            text = f"{fmt_ip4(net)}/16 {act}"
            action = act.lstrip(":=").lower().replace("blackhole", "ignore")
        acl.add(net, 16, action)
        line(text)
        u.acl_sources.append((fmt_ip4(net | rng.randint(1, 0xfffe)), action))
        if rng.random() < 0.5:                        # a more specific one
            sub = net | (rng.randint(0, 255) << 8)
            act2 = rng.choice([":pass", ":refuse", ":empty", ":ignore"])
            acl.add(sub, 24, act2[1:])
            line(f"{fmt_ip4(sub)}/24 {act2}")
            u.acl_sources.append((fmt_ip4(sub | rng.randint(1, 254)),
                                  act2[1:]))
    line("2001:db8::/32 :refuse")                    # never matches: IPv4 only
    return acl


# ---------------------------------------------------------------------------
# Queries
# ---------------------------------------------------------------------------
class Query:
    __slots__ = ("qname", "qtype", "qclass", "rd", "src", "kind", "zone",
                 "rel", "edns", "payload", "silent")

    def __init__(self, qname, qtype, qclass, rd, src, kind, zone, rel,
                 edns=False, payload=0):
        self.qname, self.qtype, self.qclass, self.rd = qname, qtype, qclass, rd
        self.src, self.kind, self.zone, self.rel = src, kind, zone, rel
        self.edns, self.payload = edns, payload
        self.silent = False

    def wire(self, qid):
        m = dns.message.make_query(
            dns.name.from_text(self.qname), self.qtype, self.qclass,
            use_edns=0 if self.edns else False,
            payload=self.payload or 1232)
        m.id = qid
        m.flags = dns.flags.RD if self.rd else 0
        return m.to_wire()

    def describe(self):
        t = dns.rdatatype.to_text(self.qtype)
        c = dns.rdataclass.to_text(self.qclass)
        e = f"EDNS0 payload {self.payload}" if self.edns else "no EDNS"
        return (f"{self.qname} {c} {t} (rd={int(self.rd)}, {e}, "
                f"from {self.src}, kind={self.kind})")


def mixcase(rng, labels):
    if rng.random() < 0.5:
        return labels
    return tuple("".join(ch.upper() if rng.random() < 0.5 else ch
                         for ch in lab) for lab in labels)


def pick_qtype(rng):
    r = rng.random()
    for qt, p in ((1, 0.30), (16, 0.50), (255, 0.60), (15, 0.65), (6, 0.70),
                  (2, 0.75), (28, 0.82)):
        if r < p:
            return qt
    return rng.choice(QT_OTHER_POOL)


def pick_qclass(rng):
    r = rng.random()
    return 1 if r < 0.88 else (255 if r < 0.94 else 3)


def generate_queries(rng, u, count):
    zones = u.zones
    out = []
    for _ in range(count):
        r = rng.random()
        src = "127.0.0.1"
        if r < 0.07:
            # out of zone, or above every zone
            labels = rng.choice([("bl", "test"), ("test",), ("example", "org"),
                                 ("xip4", "bl", "test"), (),
                                 ("ip4", "bl", "test", "org"),
                                 ("com",) + ("bl", "test"),
                                 ("agg", "test", "net")])
            kind = "out-of-zone"
        elif r < 0.13:
            z = rng.choice(zones)
            labels, kind = z.labels, "apex"
        elif r < 0.15:
            labels = rng.choice([("version", "bind"), ("version", "server"),
                                 ("hostname", "bind"), ("id", "server")])
            kind = "chaos"
        else:
            z = rng.choice(zones)
            if not z.datasets:
                continue
            ds = rng.choice(z.datasets)
            rel, kind = ds.sample(rng)
            labels = rel + z.labels
        if rng.random() < 0.12 and u.acl_sources:
            if rng.random() < 0.7:
                src, _ = rng.choice(u.acl_sources)
            else:
                src = fmt_ip4((127 << 24) | rng.getrandbits(24) | 1)
        labels = mixcase(rng, labels)
        qname = ".".join(labels) + "." if labels else "."
        if any(len(x) > 63 or not x for x in labels) or len(qname) > 250:
            continue
        qtype = pick_qtype(rng)
        qclass = pick_qclass(rng)
        if kind == "chaos":
            qclass = 3 if rng.random() < 0.8 else 1
            qtype = 16 if rng.random() < 0.8 else rng.choice([1, 255])
        low = tuple(x.lower() for x in labels)
        zone, rel = u.find_zone(low)
        q = Query(qname, qtype, qclass, rng.random() < 0.5, src, kind, zone,
                  rel)
        q.silent = predicted_silent(u, q)
        out.append(q)
    return out


def predicted_silent(u, q):
    """Will rbldnsd drop this query?  Only used to schedule queries (the
    silent ones go in one last batch), never to judge an answer."""
    if q.src == "127.0.0.1":
        return False
    if u.global_acl and u.global_acl.action(q.src) == "ignore":
        return True
    return bool(q.zone and q.zone.acl and q.qclass in (1, 255)
                and q.zone.acl.action(q.src) == "ignore")


# ---------------------------------------------------------------------------
# Sending: every query goes to both servers, many in flight at once
# ---------------------------------------------------------------------------
class Endpoint:
    def __init__(self, handle):
        self.handle = handle
        self.socks = {}

    def sock(self, src):
        s = self.socks.get(src)
        if s is None:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind((src, 0))
            s.connect((self.handle.addr, self.handle.port))
            s.setblocking(False)
            self.socks[src] = s
        return s

    def close(self):
        for s in self.socks.values():
            s.close()
        self.socks.clear()


_next_id = [random.Random(SEED).randrange(1, 65536)]


def next_id():
    """Query ids unique over tens of thousands of queries, so a late reply
    can never be taken for the answer to another query."""
    _next_id[0] = _next_id[0] % 65535 + 1
    return _next_id[0]


def exchange(endpoints, queries, timeout):
    """Send each query to every endpoint; wire replies (or None) per
    endpoint, in query order."""
    results = [[None] * len(queries) for _ in endpoints]
    waiting = {}
    sel = selectors.DefaultSelector()
    registered = set()
    for i, q in enumerate(queries):
        qid = next_id()
        wire = q.wire(qid)
        for e, ep in enumerate(endpoints):
            s = ep.sock(q.src)
            if s not in registered:
                sel.register(s, selectors.EVENT_READ, e)
                registered.add(s)
            waiting[(s.fileno(), qid)] = (e, i)
            try:
                s.send(wire)
            except OSError:
                pass
    deadline = time.monotonic() + timeout
    while waiting:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        for key, _ in sel.select(left):
            s = key.fileobj
            while True:
                try:
                    data = s.recv(65535)
                except (BlockingIOError, InterruptedError):
                    break
                except OSError:
                    break
                if len(data) < 2:
                    continue
                k = (s.fileno(), int.from_bytes(data[:2], "big"))
                if k in waiting:
                    e, i = waiting.pop(k)
                    results[e][i] = data
    sel.close()
    return results


def run_queries(endpoints, queries, batch=100):
    results = [[None] * len(queries) for _ in endpoints]
    normal = [i for i, q in enumerate(queries) if not q.silent]
    silent = [i for i, q in enumerate(queries) if q.silent]
    groups = [(normal[k:k + batch], 0.5) for k in range(0, len(normal), batch)]
    groups += [(silent[k:k + 250], 0.5) for k in range(0, len(silent), 250)]
    for idxs, timeout in groups:
        res = exchange(endpoints, [queries[i] for i in idxs], timeout)
        for e in range(len(endpoints)):
            for j, i in enumerate(idxs):
                results[e][i] = res[e][j]
    # One more try for every query that only one side answered (a lost
    # datagram must not count as a difference).
    for e, ep in enumerate(endpoints):
        missing = [i for i in range(len(queries)) if results[e][i] is None
                   and any(results[o][i] is not None
                           for o in range(len(endpoints)))]
        for k in range(0, len(missing), batch):
            idxs = missing[k:k + batch]
            res = exchange([ep], [queries[i] for i in idxs], 1.0)
            for j, i in enumerate(idxs):
                results[e][i] = res[0][j]
    return results


# ---------------------------------------------------------------------------
# Comparing
# ---------------------------------------------------------------------------
NAME_RDATA = {dns.rdatatype.NS, dns.rdatatype.MX, dns.rdatatype.SOA,
              dns.rdatatype.CNAME, dns.rdatatype.PTR, dns.rdatatype.SRV}
FLAGS = [("qr", dns.flags.QR), ("aa", dns.flags.AA), ("tc", dns.flags.TC),
         ("rd", dns.flags.RD), ("ra", dns.flags.RA)]


class Reply:
    """A reply reduced to what is compared."""

    def __init__(self, wire):
        self.wire = wire
        self.error = None
        self.msg = None
        if wire is None:
            return
        try:
            self.msg = dns.message.from_wire(wire, ignore_trailing=True)
        except Exception as e:             # noqa: BLE001 - report anything
            self.error = f"{type(e).__name__}: {e} (wire {wire[:48].hex()})"
            return
        m = self.msg
        self.rcode = m.rcode()
        self.flags = {n: bool(m.flags & f) for n, f in FLAGS}
        self.opcode = m.opcode()
        self.question = [(r.name.to_text(), r.rdclass, r.rdtype)
                         for r in m.question]
        self.sections = {s: self._rrs(getattr(m, s))
                         for s in ("answer", "authority", "additional")}
        self.edns = m.edns

    @staticmethod
    def _rrs(section):
        c = collections.Counter()
        for rrset in section:
            for rd in rrset:
                text = rd.to_text()
                if rrset.rdtype in NAME_RDATA:
                    text = text.lower()
                c[(rrset.name.to_text().lower(), rrset.ttl,
                   dns.rdataclass.to_text(rrset.rdclass),
                   dns.rdatatype.to_text(rrset.rdtype), text)] += 1
        return c

    def render(self, indent="    "):
        if self.wire is None:
            return indent + "(no reply)"
        if self.error:
            return indent + "unparseable: " + self.error
        fl = " ".join(n for n, v in self.flags.items() if v)
        lines = [f"{indent}{dns.rcode.to_text(self.rcode)} flags=[{fl}]"
                 f" edns={self.edns}"]
        for s in ("answer", "authority", "additional"):
            for rr, n in sorted(self.sections[s].items()):
                lines += [f"{indent}  {s[:4].upper()} {' '.join(map(str, rr))}"
                          ] * n
        return "\n".join(lines)


def compare(ref, ram, q):
    """Differences as (category, text) pairs, before allowed rules; and the
    names of the allowed-difference rules already applied."""
    applied = []
    if ref.wire is None and ram.wire is None:
        return [], applied
    if ref.wire is None or ram.wire is None:
        who = "rbldnsd" if ref.wire is None else "rampart"
        return [("no-reply", f"no reply from {who}")], applied
    if ref.error or ram.error:
        if ref.error and ram.error:
            return [], applied
        return [("unparseable", ref.error or ram.error)], applied
    diffs = []
    if ref.rcode != ram.rcode:
        diffs.append(("rcode", f"{dns.rcode.to_text(ref.rcode)} != "
                               f"{dns.rcode.to_text(ram.rcode)}"))
    if ref.opcode != ram.opcode:
        diffs.append(("opcode", f"{ref.opcode} != {ram.opcode}"))
    for n, _ in FLAGS:
        if ref.flags[n] != ram.flags[n]:
            diffs.append(("flags", f"{n.upper()}: {int(ref.flags[n])} != "
                                   f"{int(ram.flags[n])}"))
    if ref.question != ram.question:
        diffs.append(("question", f"{ref.question} != {ram.question}"))
    # EDNS: rule "edns-opt"
    if ref.edns != ram.edns:
        if q.edns and ref.edns == -1 and ram.edns == 0:
            applied.append("edns-opt")
        else:
            diffs.append(("edns", f"OPT version {ref.edns} != {ram.edns} "
                                  "(-1 = no OPT)"))
    for s in ("answer", "authority", "additional"):
        a, b = ref.sections[s], ram.sections[s]
        if a != b:
            only_a = a - b
            only_b = b - a
            diffs.append((s, "only rbldnsd: " + "; ".join(
                " ".join(map(str, k)) for k in sorted(only_a.elements()))
                + " | only rampart: " + "; ".join(
                " ".join(map(str, k)) for k in sorted(only_b.elements()))))
    return diffs, applied


def _without_ttl(counter):
    return collections.Counter({(k[0],) + k[2:]: v
                                for k, v in counter.items()})


def allowed_difference(ref, ram, q, diffs):
    """Apply the ALLOWED_DIFFERENCES rules, each as often as it fits.
    Returns (names of the rules applied, the differences left over).  Each
    rule is narrow: it removes one difference, under conditions; whatever
    else differs is still reported."""
    rules = []
    while diffs:
        rule, left = _one_allowed(ref, ram, q, diffs)
        if not rule:
            break
        rules.append(rule)
        diffs = left
    return rules, diffs


def _soa_rrs(counter):
    return [k for k in counter.elements() if k[3] == "SOA"]


def _one_allowed(ref, ram, q, diffs):
    cats = {c for c, _ in diffs}
    # negative-soa-ttl: rbldnsd uses MINIMUM; RFC 2308 min(TTL, MINIMUM).
    if ("authority" in cats and not ref.sections["answer"]
            and not ram.sections["answer"] and q.zone is not None):
        a, b = _soa_rrs(ref.sections["authority"]), _soa_rrs(ram.sections["authority"])
        soa_ttl = SOA_TTL_REF.get(q.zone.name)
        if (len(a) == len(b) == 1 and a[0][:1] + a[0][2:] == b[0][:1] + b[0][2:]
                and soa_ttl is not None):
            minimum = int(a[0][4].split()[-1])
            if a[0][1] == minimum and b[0][1] == min(minimum, soa_ttl) != a[0][1]:
                rest = [k for k in ref.sections["authority"].elements() if k[3] != "SOA"]
                rest2 = [k for k in ram.sections["authority"].elements() if k[3] != "SOA"]
                if sorted(rest) == sorted(rest2):
                    return "negative-soa-ttl", [d for d in diffs if d[0] != "authority"]
    # truncation: TC=1 and nothing (rampart) vs a partial answer (rbldnsd).
    limit = min(q.payload, 1232) if q.edns else 512
    if (ram.flags["tc"] and not ram.sections["answer"] and ref.wire is not None
            and (not ref.flags["aa"] or len(ref.wire) > limit)):
        left = [d for d in diffs if d[0] not in ("answer", "authority", "additional", "flags")]
        return "truncation", left
    # rfc8020-ent: NXDOMAIN (rbldnsd) vs NOERROR/NODATA (rampart) for a name
    # that the generated data -- not a server -- makes an empty non-terminal.
    # The authority section must hold the same records (the zone SOA if it
    # has one); a TTL difference there stays a mismatch of its own.
    if ("rcode" in cats and ref.rcode == dns.rcode.NXDOMAIN
            and ram.rcode == dns.rcode.NOERROR
            and not ram.sections["answer"] and not ref.sections["answer"]
            and _without_ttl(ref.sections["authority"])
            == _without_ttl(ram.sections["authority"])
            and q.qclass in (1, 255) and q.zone is not None and q.rel
            and q.zone.is_ent(q.rel)):
        return "rfc8020-ent", [d for d in diffs if d[0] != "rcode"]
    # version-string: CH TXT version.bind / version.server text may differ.
    low = q.qname.lower()
    if ("answer" in cats and q.qclass == 3 and q.qtype == 16
            and low in ("version.bind.", "version.server.")
            and ref.rcode == ram.rcode == dns.rcode.NOERROR):
        a, b = ref.sections["answer"], ram.sections["answer"]
        if (sum(a.values()) == sum(b.values()) == 1
                and [k[:4] for k in a] == [k[:4] for k in b]):
            return "version-string", [d for d in diffs if d[0] != "answer"]
    return None, diffs


# zone name -> the TTL rbldnsd gives the zone's SOA at its apex (filled per
# scenario before the comparison; used by the negative-soa-ttl rule)
SOA_TTL_REF = {}


def fetch_soa_ttls(u, handle):
    SOA_TTL_REF.clear()
    for name in {z.name for z in u.zones}:
        m = dns.message.make_query(name, "SOA")
        try:
            r = dns.query.udp(m, handle.addr, port=handle.port, timeout=2)
        except Exception:
            continue
        for rrset in r.answer:
            if rrset.rdtype == dns.rdatatype.SOA:
                SOA_TTL_REF[name] = rrset.ttl


def model_check(ref, q):
    """Does rbldnsd's NOERROR/NXDOMAIN agree with the data model?  A
    disagreement is a bug in this test, not in rampart."""
    if (ref.wire is None or ref.error or q.zone is None or not q.rel
            or q.qclass not in (1, 255) or q.src != "127.0.0.1"
            or (250 <= q.qtype <= 65535 and q.qtype != 255)):
        return None
    if ref.rcode not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
        return f"unexpected rcode {dns.rcode.to_text(ref.rcode)}"
    exists = q.zone.exists(q.rel)
    if exists != (ref.rcode == dns.rcode.NOERROR):
        return (f"model says {'exists' if exists else 'does not exist'}, "
                f"rbldnsd says {dns.rcode.to_text(ref.rcode)}")
    return None


class Report:
    def __init__(self, scenario, u, args, ref_name, ram_name, udir):
        self.scenario = scenario
        self.u = u
        self.args = args
        self.ref_name, self.ram_name = ref_name, ram_name
        self.udir = udir
        self.compared = collections.Counter()
        self.both_silent = 0
        self.allowed = collections.Counter()
        self.mismatch_cat = collections.Counter()
        self.mismatch_kind = collections.Counter()
        self.kinds = collections.Counter()
        self.model_errors = []
        self.mismatches = []
        self.ent_candidates = 0
        self.fatal_error = None

    def add(self, q, ref_wire, ram_wire, pass_name):
        self.compared[pass_name] += 1
        self.kinds[q.kind] += 1
        ref, ram = Reply(ref_wire), Reply(ram_wire)
        if ref_wire is None and ram_wire is None:
            self.both_silent += 1
        if q.zone is not None and q.rel and q.zone.is_ent(q.rel):
            self.ent_candidates += 1
        err = model_check(ref, q)
        if err:
            self.model_errors.append((q, ref, err))
        diffs, applied = compare(ref, ram, q)
        for a in applied:
            self.allowed[a] += 1
        if diffs:
            rules, diffs = allowed_difference(ref, ram, q, diffs)
            for rule in rules:
                self.allowed[rule] += 1
                applied.append(rule)
        if diffs:
            if applied:
                diffs = diffs + [("(accepted)", ", ".join(applied))]
            for c in {c for c, _ in diffs if c != "(accepted)"}:
                self.mismatch_cat[c] += 1
            self.mismatch_kind[q.kind] += 1
            self.mismatches.append((q, ref, ram, diffs, pass_name))

    @property
    def failed(self):
        return bool(self.mismatches or self.model_errors
                    or self.fatal_error)

    def summary(self):
        total = sum(self.compared.values())
        lines = [
            f"[{self.scenario}] seed={SEED} (RAMPART_DIFF_SEED={SEED} "
            f"RAMPART_DIFF_QUERIES={QUERIES})"
            f"{' SELFTEST: ' + self.ram_name + ' is a second rbldnsd' if SELFTEST else ''}",
            f"  queries compared: {total} ("
            + ", ".join(f"{k}={v}" for k, v in self.compared.items())
            + f"); no reply from either (both ignored): {self.both_silent}; "
            f"empty non-terminals queried: {self.ent_candidates}",
            "  allowed differences: " + (", ".join(
                f"{k}={v}" for k, v in sorted(self.allowed.items())) or "none"),
            f"  mismatches: {len(self.mismatches)}"
            + (" by category: " + ", ".join(
                f"{k}={v}" for k, v in sorted(self.mismatch_cat.items()))
               if self.mismatches else ""),
        ]
        if self.mismatches:
            lines.append("  mismatches by query kind: " + ", ".join(
                f"{k}={v}" for k, v in sorted(self.mismatch_kind.items())))
        if self.model_errors:
            lines.append(f"  HARNESS: data model disagrees with rbldnsd on "
                         f"{len(self.model_errors)} queries (a test bug)")
        if self.fatal_error:
            lines.append("  " + self.fatal_error)
        lines.append("  query kinds: " + ", ".join(
            f"{k}={v}" for k, v in sorted(self.kinds.items())))
        return "\n".join(lines)

    def render(self):
        out = [self.summary(), "",
               f"data directory: {self.udir}"
               + ("" if KEEP or self.failed else " (removed)"),
               "command line (both servers): "
               + " ".join(a for a in self.args), ""]
        for n, (q, ref, ram, diffs, pass_name) in enumerate(
                self.mismatches[:MAX_REPORTED], 1):
            out.append(f"--- mismatch {n}/{len(self.mismatches)} "
                       f"[{', '.join(sorted({c for c, _ in diffs} - {'(accepted)'}))}] "
                       f"({pass_name} pass)")
            out.append("query: " + q.describe())
            out.append(self._zone_text(q))
            out.append(f"  {self.ref_name}:")
            out.append(ref.render())
            out.append(f"  {self.ram_name}:")
            out.append(ram.render())
            out.append("  differences:")
            out += [f"    {c}: {t}" for c, t in diffs]
            out.append("")
        for q, ref, err in self.model_errors[:MAX_REPORTED]:
            out.append("--- HARNESS model error (fix the test, not rampart): "
                       + err)
            out.append("query: " + q.describe())
            out.append(self._zone_text(q))
            out.append(ref.render())
            out.append("")
        return "\n".join(out)

    def _zone_text(self, q):
        if q.zone is None:
            return "zone: none (not authoritative)"
        z = q.zone
        meta = f"SOA={'yes' if z.soa else 'no'} NS={'yes' if z.ns else 'no'}"
        ent = ""
        if q.rel:
            ent = (" [model: exists]" if z.exists(q.rel) else
                   " [model: empty non-terminal]" if z.is_ent(q.rel) else
                   " [model: does not exist]")
        lines = [f"zone: {z.name} ({meta}; "
                 + " ".join(d.spec for d in z.datasets)
                 + (f"; {z.acl.spec}" if z.acl else "") + ")"
                 + f" relative name: {'.'.join(q.rel) or '@'}{ent}",
                 "data (relevant lines):"]
        rel = self.u.relevant(z, q.rel, q.src)
        lines += ["    " + str(ln) for ln in rel] or ["    (none)"]
        return "\n".join(lines)


# ---------------------------------------------------------------------------
# The test
# ---------------------------------------------------------------------------
def run_scenario(name, flags, start):
    """Generate data, start both servers with `start` (the start_server
    fixture's function), query them; returns the Report.  The data
    directory is removed unless the run failed or RAMPART_DIFF_KEEP is set."""
    index = [s[0] for s in SCENARIOS].index(name)
    rng = random.Random(f"{SEED}/{name}")
    udir = tempfile.mkdtemp(prefix=f"rampart-diff-{name}-")
    os.chmod(udir, 0o755)           # rbldnsd reads its files as nobody
    report = None
    try:
        u = build_universe(rng, udir, index)
        args = BASE_ARGS + flags + u.zone_args
        ref_h = start(RBLDNSD_BIN, args, name="rbldnsd")
        if SELFTEST:
            ram_h = start(RBLDNSD_BIN, args, name="rbldnsd-second")
        else:
            # rate limiting off: thousands of queries from one address are
            # the point here (tests/flood covers the limiter)
            ram_h = start(RAMPART_BIN, args + ["--rrl", "off"], name="rampart-dnsbl")
        report = Report(name, u, ref_h.argv[1:], "rbldnsd", ram_h.name, udir)
        fetch_soa_ttls(u, ref_h)
        endpoints = [Endpoint(ref_h), Endpoint(ram_h)]
        try:
            queries = generate_queries(rng, u, QUERIES)
            res = run_queries(endpoints, queries)
            for i, q in enumerate(queries):
                report.add(q, res[0][i], res[1][i], "main")
            # EDNS0 pass: a subset again, with OPT and various payload sizes.
            eq = []
            for q in rng.sample(queries, min(EDNS_QUERIES, len(queries))):
                e = Query(q.qname, q.qtype, q.qclass, q.rd, q.src, q.kind,
                          q.zone, q.rel, edns=True,
                          payload=rng.choice([512, 1232, 4096]))
                e.silent = q.silent
                eq.append(e)
            # the big RRset, which only fits with a large payload
            for p in (512, 1232, 4096):
                eq.append(Query("big.gen.test.", 16, 1, False, "127.0.0.1",
                                "big", u.zone("gen.test"), ("big",),
                                edns=True, payload=p))
            res = run_queries(endpoints, eq)
            for i, q in enumerate(eq):
                report.add(q, res[0][i], res[1][i], "edns")
        finally:
            for ep in endpoints:
                ep.close()
        for h in (ref_h, ram_h):
            if not h.alive():
                report.fatal_error = (
                    f"{h.name} exited during the test (status "
                    f"{h.proc.poll()}):\n{h.log_text()}")
        if SELFTEST and report.allowed:
            report.fatal_error = ("SELFTEST: allowed-difference rules "
                                     "fired between two rbldnsd instances")
        return report
    finally:
        if not KEEP and not (report and report.failed):
            shutil.rmtree(udir, ignore_errors=True)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s[0] for s in SCENARIOS])
def test_differential(scenario, start_server, capsys):
    name, flags = scenario
    if not os.path.exists(RBLDNSD_BIN):
        pytest.fail(f"reference rbldnsd not found at {RBLDNSD_BIN} "
                    "(apt-get install rbldnsd, or set RAMPART_RBLDNSD)")
    if not SELFTEST and not os.path.exists(RAMPART_BIN):
        pytest.fail(f"rampart-dnsbl not found at {RAMPART_BIN}: build it "
                    "(make build) or point RAMPART_BUILD at the build "
                    "directory.  To check the harness alone, run with "
                    "RAMPART_DIFF_SELFTEST=1.")
    report = run_scenario(name, flags, start_server)
    with capsys.disabled():             # the counts, even without -s
        print()
        print(report.summary())
    if report.failed:
        pytest.fail(report.render(), pytrace=False)
