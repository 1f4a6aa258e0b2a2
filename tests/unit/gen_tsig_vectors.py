"""Make the TSIG test vectors of tests/unit/test_tsig.c with dnspython (another
TSIG implementation): /usr/bin/python3 tests/unit/gen_tsig_vectors.py"""
import dns.message, dns.tsigkeyring, dns.tsig, dns.rrset, time as _t, dns.rdatatype
import unittest.mock as um
T = 1700000000
SECRET = "c2VjcmV0LWtleS1vbmUtZm9yLXJhbXBhcnQtdGVzdHM="
kr = dns.tsigkeyring.from_text({"k1.example": SECRET})
def c(b): return ", ".join("0x%02x" % x for x in b)
with um.patch("time.time", lambda: T):
    q = dns.message.make_query("bl.example", "AXFR")
    q.id = 0x1234
    q.flags = 0
    q.use_tsig(kr, keyname="k1.example", algorithm=dns.tsig.HMAC_SHA256)
    qw = q.to_wire()
    r1 = dns.message.make_response(q)
    r1.flags |= 0x0400
    r1.answer.append(dns.rrset.from_text("bl.example.", 3600, "IN", "SOA", "ns.bl.example. hm.bl.example. 5 3600 600 86400 300"))
    r1.answer.append(dns.rrset.from_text("2.0.0.127.bl.example.", 2100, "IN", "A", "127.0.0.2"))
    ctx = None
    w1 = r1.to_wire(multi=True, tsig_ctx=None)
    ctx = r1.tsig_ctx
    r2 = dns.message.make_response(q)
    r2.flags |= 0x0400
    r2.question = []
    r2.answer.append(dns.rrset.from_text("bl.example.", 3600, "IN", "SOA", "ns.bl.example. hm.bl.example. 5 3600 600 86400 300"))
    r2.request_mac = r1.mac
    w2 = r2.to_wire(multi=True, tsig_ctx=ctx)
print("static const uint8_t query[] = {%s};" % c(qw))
print("static const uint8_t resp1[] = {%s};" % c(w1))
print("static const uint8_t resp2[] = {%s};" % c(w2))
# dnspython accepts its own chain (at the signing time)
with um.patch("time.time", lambda: T):
    m1 = dns.message.from_wire(w1, keyring=kr, request_mac=q.mac, xfr=True, multi=True)
    dns.message.from_wire(w2, keyring=kr, request_mac=q.mac, xfr=True, multi=True,
                          tsig_ctx=m1.tsig_ctx)
