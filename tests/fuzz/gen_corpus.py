#!/usr/bin/python3
"""Regenerate the seed corpora of the rampart-dnsbl fuzz harnesses.

    /usr/bin/python3 tests/fuzz/gen_corpus.py

Writes tests/fuzz/corpus/query/ (DNS query packets built with dnspython, plus
hand-made malformed ones), tests/fuzz/corpus/loader/ (rbldnsd data-file
snippets) and tests/fuzz/corpus/xfr/ (a knob byte and a transfer request, see
fuzz_xfr.c). The names match the configuration built by fuzz_query.c. The query
ID selects the client address and settings in fuzz_query.c: ID & 7 = 3 ACL
value, 4 :empty, 5 :refuse, 6 :ignore, 7 IPv6 client; others no ACL entry.
"""
import os
import struct
import sys

import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rdataclass
import dns.rdatatype

HERE = os.path.dirname(os.path.abspath(__file__))


def write(sub, name, data):
    d = os.path.join(HERE, "corpus", sub)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def q(name, rdtype="A", rdclass="IN", id=0x1200, edns=-1, payload=1232, want_dnssec=False,
      options=None, opcode=None):
    m = dns.message.make_query(name, rdtype, rdclass, use_edns=edns, payload=payload,
                               want_dnssec=want_dnssec, options=options)
    m.id = id
    if opcode is not None:
        m.set_opcode(opcode)
    return m.to_wire()


def nib(addr6):
    import ipaddress
    h = ipaddress.IPv6Address(addr6).exploded.replace(":", "")
    return ".".join(reversed(h))


def query_seeds():
    s = {}
    # ip4set / ip4trie / acl zone
    for t in ("A", "TXT", "ANY"):
        s["listed-%s" % t] = q("2.0.0.127.bl.example", t)
        s["listed-%s-edns" % t] = q("2.0.0.127.bl.example", t, edns=0)
    s["unlisted"] = q("1.0.0.127.bl.example", "A")
    s["multi-value"] = q("4.3.2.1.bl.example", "ANY")
    s["base-template"] = q("5.3.2.1.bl.example", "TXT")
    s["excluded"] = q("5.1.168.192.bl.example", "A")
    s["range"] = q("9.1.168.192.bl.example", "TXT")
    s["no-txt"] = q("1.2.17.172.bl.example", "TXT")
    s["ent-ip4"] = q("0.0.10.bl.example", "A")
    s["big-any-udp"] = q("2.2.2.2.bl.example", "ANY")
    s["big-txt-edns4096"] = q("2.2.2.2.bl.example", "TXT", edns=0, payload=4096)
    s["big-txt-edns512"] = q("2.2.2.2.bl.example", "TXT", edns=0, payload=512, id=0x1800)
    s["trie-top-half"] = q("1.1.1.200.bl.example", "ANY")
    s["apex-soa"] = q("bl.example", "SOA")
    s["apex-ns"] = q("bl.example", "NS", id=0x1301)
    s["apex-any"] = q("bl.example", "ANY")
    s["apex-mx"] = q("bl.example", "MX")
    s["aaaa-nodata"] = q("2.0.0.127.bl.example", "AAAA")
    s["nested-zone"] = q("4.3.2.1.t.bl.example", "ANY")
    s["mixed-case"] = q("2.0.0.127.Bl.ExAmPlE", "A")
    # ACL clients (the ID picks the peer)
    s["acl-value"] = q("9.9.9.9.bl.example", "ANY", id=0x1203)
    s["acl-empty"] = q("2.0.0.127.bl.example", "A", id=0x1204)
    s["acl-refuse"] = q("2.0.0.127.bl.example", "A", id=0x1205)
    s["acl-ignore"] = q("2.0.0.127.bl.example", "A", id=0x1206)
    s["acl-v6"] = q("example.com.dbl.example", "TXT", id=0x1207)
    s["lazy"] = q("2.0.0.127.bl.example", "A", id=0x0101)
    # IPv6
    s["v6-listed"] = q(nib("::ffff:7f00:2") + ".v6.example", "ANY")
    s["v6-loopback"] = q(nib("::1") + ".v6.example", "TXT")
    s["v6-excluded"] = q(nib("2001:db8:bad::1") + ".v6.example", "A")
    s["v6-tset"] = q(nib("2001:20fe:23:41ed::1") + ".v6.example", "ANY")
    s["v6-ent"] = q("8.b.d.0.1.0.0.2.v6.example", "A")
    s["v6-soa"] = q("v6.example", "SOA", edns=0)
    # names
    s["dn-listed"] = q("example.com.dbl.example", "TXT")
    s["dn-wild"] = q("a.b.wild.com.dbl.example", "ANY")
    s["dn-dot"] = q("dot.org.dbl.example", "A")
    s["dn-excluded"] = q("x.dot.org.dbl.example", "A")
    s["dn-ent"] = q("com.dbl.example", "A")
    s["generic-aaaa"] = q("host.dbl.example", "AAAA")
    s["generic-any"] = q("host.dbl.example", "ANY")
    s["generic-mx"] = q("mx.dbl.example", "MX")
    s["generic-apex"] = q("dbl.example", "ANY")
    s["generic-ent"] = q("b.c.dbl.example", "TXT")
    # combined
    s["comb-proxy"] = q("10.0.0.127.proxies.comb.example", "ANY")
    s["comb-relay"] = q("5.0.0.127.relays.comb.example", "TXT")
    s["comb-base"] = q("10.0.0.127.comb.example", "ANY")
    s["comb-dom"] = q("example.net.dom.comb.example", "ANY")
    s["comb-deep"] = q("a.wild.net.deep.sub.comb.example", "TXT")
    s["comb-ent"] = q("sub.comb.example", "A")
    s["comb-v6"] = q(nib("2001:db8::1") + ".v6.comb.example", "A")
    s["comb-apex"] = q("comb.example", "ANY", edns=0)
    # the parent zone and outside every zone
    s["parent-www"] = q("www.example", "A")
    s["parent-soa"] = q("example", "SOA")
    s["refused"] = q("www.example.org", "A")
    s["root"] = q(".", "NS")
    s["glue-ns"] = q("bl.example", "NS", edns=0)
    s["glue-a"] = q("ns2.bl.example", "ANY")
    s["expired"] = q("2.0.0.127.exp.example", "A")
    s["expired-soa"] = q("exp.example", "SOA")
    s["many-ns-udp"] = q("v6.example", "NS")
    s["many-ns-tcp-size"] = q("v6.example", "ANY", edns=0, payload=4096)
    s["many-ns-positive"] = q(nib("::1") + ".v6.example", "A", id=0x1000)
    s["compact-level"] = q("9.5.20.172.bl.example", "ANY")
    s["compact-excluded"] = q("7.3.20.172.bl.example", "A")
    s["compact-ent"] = q("5.20.172.bl.example", "A")
    s["version-bind"] = q("version.bind", "TXT", "CH")
    s["version-server"] = q("version.server", "TXT", "CH", id=0x0200)
    s["version-refuse"] = q("version.bind", "TXT", "CH", id=0x0600)
    s["hostname-bind"] = q("hostname.bind", "TXT", "CH")
    s["class-any"] = q("2.0.0.127.bl.example", "A", "ANY")
    s["class-hs"] = q("2.0.0.127.bl.example", "A", "HS")
    s["axfr"] = q("bl.example", "AXFR")
    s["ixfr"] = q("bl.example", "IXFR")
    # EDNS variants
    s["edns-do"] = q("2.0.0.127.bl.example", "A", edns=0, want_dnssec=True)
    s["edns-small"] = q("2.2.2.2.bl.example", "TXT", edns=0, payload=100)
    s["edns-version1"] = q("2.0.0.127.bl.example", "A", edns=1)
    s["edns-cookie"] = q("2.0.0.127.bl.example", "A", edns=0,
                         options=[dns.edns.GenericOption(10, b"\x01" * 8)])
    # client + server cookie (RFC 9018 layout: version 1, reserved, time, hash)
    s["edns-cookie-both"] = q("2.0.0.127.bl.example", "A", edns=0, options=[
        dns.edns.GenericOption(10, b"\x01" * 8 + b"\x01\x00\x00\x00\x65\x00\x00\x00" + b"\x02" * 8)])
    s["edns-cookie-bad-length"] = q("2.0.0.127.bl.example", "A", edns=0,
                                    options=[dns.edns.GenericOption(10, b"\x01" * 12)])
    s["edns-cookie-twice"] = q("2.0.0.127.bl.example", "A", edns=0,
                               options=[dns.edns.GenericOption(10, b"\x01" * 8),
                                        dns.edns.GenericOption(10, b"\x02" * 8)])
    s["edns-ecs"] = q("2.0.0.127.bl.example", "A", edns=0,
                      options=[dns.edns.ECSOption("192.0.2.0", 24)])
    s["notify"] = q("bl.example", "SOA", opcode=dns.opcode.NOTIFY)
    s["update"] = q("bl.example", "SOA", opcode=dns.opcode.UPDATE)
    for k, v in s.items():
        write("query", k, v)

    # malformed, by hand
    good = q("2.0.0.127.bl.example", "A")
    hdr = bytearray(good[:12])
    bad = {}
    bad["short-header"] = good[:11]
    bad["header-only"] = good[:12]
    r = bytearray(good)
    r[2] |= 0x80
    bad["response"] = bytes(r)
    bad["qd0"] = bytes(hdr[:4]) + b"\0\0\0\0\0\0\0\0"
    r = bytearray(good)
    r[5] = 2
    bad["qd2"] = bytes(r) + good[12:]
    r = bytearray(good)
    r[7] = 1
    bad["an1"] = bytes(r)
    bad["truncated-name"] = good[:20]
    bad["truncated-type"] = good[:-3]
    bad["trailing-garbage"] = good + b"\0\1\2"
    bad["pointer-in-qname"] = bytes(hdr) + b"\x01a\xc0\x0c\x00\x01\x00\x01"
    bad["label-64"] = bytes(hdr) + b"\x40" + b"a" * 64 + b"\x00\x00\x01\x00\x01"
    bad["label-type-01"] = bytes(hdr) + b"\x41a\x00\x00\x01\x00\x01"
    long_name = b"".join(b"\x3f" + b"a" * 63 for _ in range(3)) + b"\x3d" + b"b" * 61 + b"\x00"
    bad["name-255"] = bytes(hdr) + long_name + b"\x00\x01\x00\x01"
    bad["name-256"] = bytes(hdr) + long_name[:-1] + b"\x00\x00\x01\x00\x01"
    bad["labels-127"] = bytes(hdr) + b"\x01a" * 127 + b"\x00\x00\x01\x00\x01"
    bad["labels-128"] = bytes(hdr) + b"\x01a" * 128 + b"\x00\x00\x10\x00\x01"
    bad["labels-127-bl"] = bytes(hdr) + b"\x011" * 122 + b"\x02bl\x07example\x00\x00\x10\x00\x01"
    opt = b"\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00"
    r = bytearray(good)
    r[9] = 1  # the OPT in the authority section
    bad["opt-in-authority"] = bytes(r) + opt
    r = bytearray(good)
    r[11] = 2
    bad["two-opts"] = bytes(r) + opt + opt
    r = bytearray(good)
    r[11] = 1
    bad["opt-not-root"] = bytes(r) + b"\x01x" + opt
    bad["opt-compressed-owner"] = bytes(r) + b"\xc0\x0c" + opt[1:]
    bad["opt-rdlen-past-end"] = bytes(r) + opt[:-2] + b"\x00\x10"
    bad["opt-payload-0"] = bytes(r) + b"\x00\x00\x29\x00\x00\x00\x00\x00\x00\x00\x00"
    bad["opt-payload-ffff"] = bytes(r) + b"\x00\x00\x29\xff\xff\x00\x00\x00\x00\x00\x00"
    bad["ar-tsig"] = bytes(r) + b"\x03key\x00\x00\xfa\x00\xff\x00\x00\x00\x00\x00\x00"
    r = bytearray(good)
    r[11] = 1
    bad["ar-count-no-record"] = bytes(r)
    r = bytearray(good)
    r[10] = 0xff
    r[11] = 0xff
    bad["ar-65535"] = bytes(r) + opt * 3
    bad["zero-name-query"] = bytes(hdr) + b"\x00\x00\x01\x00\x01"
    for k, v in bad.items():
        write("query", "bad-" + k, v)
    return len(s) + len(bad)


LOADER = {
    "ip4set-basic": """$SOA 1h ns1.bl.example hostmaster.bl.example 0 2h 30m 1w 10m
$NS 1d ns1.bl.example ns2.bl.example
:127.0.0.2:Listed, see http://bl.example/lookup?ip=$
127.0.0.2
192.0.2.0/24 :127.0.0.4:Zombie network $
!192.0.2.1
198.51.100.23
""",
    "ip4set-ranges": """10.0.0
127.16-31 :5
172.16.0.0/12 :6:
192.168.1.0-192.168.1.9 plain $ text
!192.168.1.5
1.2.3.0/24 bad
1.2.3.9/24
300.1.1.1
0.0.0.0/0
1.0.0.0-1.255.255.255
""",
    "ip4set-subst": """$1 See http://www.example.com/bl
$2 for details
$0 zero
127.0.0.2  $1/spammer/$ $2
127.0.0.4  This spammer wants some $$$$.  $1/$
$= See http://www.example.com/bl?$= ($) for details
127.0.0.5    r123
127.0.0.6    =See other blocklists for details about $
$9
127.0.0.7 $9$9$9
""",
    "ip4set-values": """:2
1.1.1.1
:1.2:
1.1.1.2
:10.0.0.2:text
1.1.1.3 :3
1.1.1.4 :3:
1.1.1.5 :  4  :  spaced  
1.1.1.6 :256:bad
1.1.1.7 :1.2.3.4.5:bad
1.1.1.8 # comment
1.1.1.9 ; comment
""",
    "ip4set-maxrange": """$MAXRANGE4 /16
10.0.0.0/8
10.1.0.0/16
!10.0.0.0/8
$MAXRANGE4 256
10.2.0.0-10.2.1.255
$MAXRANGE4 /0
$MAXRANGE4 0
""",
    "ip4set-compact": "".join("10.%d.0.1-10.%d.1.254 :%d:compact $\n" % (k, k, k % 9 + 1)
                              for k in range(10)) + "!10.3.0.77\n10.3.0.77 :2:again\n",
    "ip4tset": """:127.0.0.3:tset $
1.2.3.4
1.2.3.0/24
5.6.7.8
""",
    "ip4trie": """10.0.0.0/8 :2:eight
10.128.0.0/9 :3:nine
!10.200.0.1
10.1.2.3-10.1.2.4
0.0.0.0/0 :4:all
1.2.3.4/33
""",
    "ip6trie": """:127.0.1.2:v6 $
2001:db8:c000/36
2001:db8:def7:4242 :3:smells
2605:6001:42::/52
::1
::
!2605:6001:42::bead
::ffff:7f00:2
1:2:3:4:5:6:7:8
1::8
1:2:3:4:5:6:7:8:9
2001:db8::/129
fe80::/10 :7:link local
""",
    "ip6tset": """2001:20fe:23:41ed
!2001:20fe:23:41ed::2
2001:20fe:23:41ed::/48
2001:db8::/64
""",
    "dnset": """:2:dn $
example.com
*.wild.com
.dot.org
!x.dot.org
test
EXAMPLE.NET :3:upper $
a..b
-.bad
""",
    "generic": """@ 1h TXT "generic apex"
mx MX 10 mail.example.net
host A 192.0.2.5
host AAAA 2001:db8::5
host 300 TXT "host text"
a.b.c TXT unquoted words here
bad A 300.1.1.1
bad CNAME x
""",
    "combined": """$NS 1w ns1.ex.com ns2.ex.com
$SOA 1w ns1.ex.com admin.ex.com 7 2h 2h 1w 1h
$1 shared
$= base $=
$DATASET ip4set:proxy proxies @
:2:Open proxy $ $1
127.0.0.10
$DATASET ip4set:relay relays @
:3:Open relay $
127.0.0.10
127.0.2.10
$DATASET generic:common proxies relays @
@ TXT "common"
$DATASET dnset:dom dom deep.sub
:4:domain $
example.net
*.wild.net
$DATASET ip6trie v6
2001:db8::/32 :5:v6 $
$DATASET ip4tset tset
1.2.3.4
$DATASET ip6tset t6
2001:db8:1:2
$DATASET ip4trie trie
10.0.0.0/8
""",
    "combined-bad": """127.0.0.2
$DATASET acl x
$DATASET combined y
$DATASET nosuchtype z
$DATASET ip4set
$DATASET ip4set a..b
$DATASET ip4set:label
""",
    "acl": """10.1.2.3 :2:ACL listed $
172.16.5.0/24 :refuse
203.0.113.0/24 :ignore
!203.0.113.8
10.9.9.0/24 :empty
2001:db8::/32 :pass
2001:db8:1::/48 :3:v6 acl $
::1
0/0
:3:no default here
""",
    "specials": """$TTL 1h
$TTL 0
$TTL bad
$TIMESTAMP 2020:01:01:00:00 +1w
$TIMESTAMP 0 2099-12-31
$TIMESTAMP 2999-01-01
$TIMESTAMP 2020-02-30-25
$SOA bad
$SOA 1h a. b. 4294967296 1 1 1 1
$NS 1h ns1.example -ns2.example ns3.example
$NS
$UNKNOWN x
#$SOA 1h ns.example hm.example 1 1 1 1 1
;$NS 1h ns.example
:$TTL 5m
$MAXRANGE4
$MAXRANGE4 /33
$= 
$
""",
    "crlf": "$TTL 1h\r\n:2:crlf $\r\n127.0.0.2\r\n10.0.0.0/8 \t\r\n",
    "hostbits-ttl": "#!et\n$TTL 1s\n$TTL 99w\n1.2.3.4/24\n2001:db8::1/64\n",
    "long-txt": ":2:" + "x" * 300 + "$" * 20 + "\n127.0.0.2\n" + "127.0.0.3 " + "$1" * 200 + "\n",
    "empty": "",
    "nul-bytes": "127.0.0.2\0garbage\n$TTL 1h\0\nexample.com\0.evil\n",
}


def loader_seeds():
    for k, v in LOADER.items():
        write("loader", k, v.encode("latin-1"))
    return len(LOADER)


def xfr_seeds():
    """A knob byte (fuzz_xfr.c: bits 0-1 client, 2-3 message size, 4 clock +1000 s,
    5 the harness signs the message) and a request."""
    import dns.rrset
    import dns.tsig
    import dns.tsigkeyring
    import unittest.mock
    seeds = {}

    def ixfr(zone, serial):
        m = dns.message.make_query(zone, "IXFR")
        m.id = 0x4242
        m.authority.append(dns.rrset.from_text(zone + ".", 0, "IN", "SOA",
                                               "ns.%s. hm.%s. %d 1 1 1 1" % (zone, zone, serial)))
        return m.to_wire()

    for zone in ("bl.example", "dbl.example", "comb.example", "nowhere.example",
                 "1.2.3.4.bl.example"):
        seeds["axfr-" + zone] = bytes([0x08]) + q(zone, "AXFR")
        seeds["axfr-signed-" + zone] = bytes([0x28]) + q(zone, "AXFR")
    seeds["axfr-small-msgs"] = bytes([0x00]) + q("comb.example", "AXFR")
    seeds["axfr-refused"] = bytes([0x09]) + q("bl.example", "AXFR")
    seeds["axfr-v6"] = bytes([0x0a]) + q("dbl.example", "AXFR")
    seeds["axfr-edns"] = bytes([0x08]) + q("bl.example", "AXFR", edns=0)
    for serial in (1, 3, 4, 6, 7, 8, 0xffffffff):
        seeds["ixfr-%d" % serial] = bytes([0x08]) + ixfr("bl.example", serial)
        seeds["ixfr-small-%d" % serial] = bytes([0x00]) + ixfr("bl.example", serial)
    seeds["ixfr-signed"] = bytes([0x28]) + ixfr("bl.example", 4)
    seeds["ixfr-badtime"] = bytes([0x38]) + ixfr("bl.example", 4)
    seeds["ixfr-comb"] = bytes([0x04]) + ixfr("comb.example", 2)
    seeds["soa-signed"] = bytes([0x28]) + q("bl.example", "SOA", edns=0)
    seeds["a-signed"] = bytes([0x21]) + q("2.0.0.127.bl.example", "A")
    # signed by dnspython with the harness's key (a different TSIG writer),
    # and with a wrong secret
    for name, secret in (("dnspython", "c2VjcmV0LWtleS1vbmU="), ("wrongkey", "b3RoZXI=")):
        kr = dns.tsigkeyring.from_text({"k1.example": secret})
        with unittest.mock.patch("time.time", lambda: 1700000000):
            m = dns.message.make_query("bl.example", "AXFR")
            m.use_tsig(kr, keyname="k1.example", algorithm=dns.tsig.HMAC_SHA256)
            seeds["axfr-" + name] = bytes([0x08]) + m.to_wire()
    for k, v in seeds.items():
        write("xfr", k, v)
    return len(seeds)


if __name__ == "__main__":
    nq = query_seeds()
    nl = loader_seeds()
    nx = xfr_seeds()
    print("query seeds: %d, loader seeds: %d, xfr seeds: %d" % (nq, nl, nx), file=sys.stderr)
