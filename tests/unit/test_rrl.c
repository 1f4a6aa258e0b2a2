/* Unit tests: the response rate limiter (src/dns/rrl.c), DNS cookies
 * (RFC 7873 in src/dns/wire.c and zone.c), SipHash-2-4 (src/common) and the
 * truncated "slip" answer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "common/siphash.h"
#include "dns/rrl.h"
#include "dns/wire.h"
#include "testutil.h"

static struct sockaddr_storage v4(uint32_t a)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
    sin->sin_family = AF_INET;
    sin->sin_addr.s_addr = htonl(a);
    return ss;
}

static struct sockaddr_storage v6(const char *text)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
    sin6->sin6_family = AF_INET6;
    if (inet_pton(AF_INET6, text, &sin6->sin6_addr) != 1)
        abort();
    return ss;
}

/* Answers of class cls that pass for peer in `tries` attempts at time now. */
static int passed(struct rrl *r, const struct sockaddr_storage *peer, enum rrl_class cls, int tries,
                  uint64_t now)
{
    int n = 0;
    for (int i = 0; i < tries; i++)
        n += !rrl_limited(r, peer, cls, now);
    return n;
}

static void siphash_matches_the_papers_vectors(void **state)
{
    (void)state;
    uint8_t key[16], msg[15];
    for (int i = 0; i < 16; i++)
        key[i] = (uint8_t)i;
    for (int i = 0; i < 15; i++)
        msg[i] = (uint8_t)i;
    /* Appendix A of the SipHash paper: 15 bytes 00..0e under key 00..0f */
    assert_true(siphash24(key, msg, 15) == 0xa129ca6149be45e5ULL);
    /* the reference implementation's first vector: the empty message */
    assert_true(siphash24(key, msg, 0) == 0x726fdb47dd0e0e31ULL);
}

static void a_flood_is_limited_to_the_rate(void **state)
{
    (void)state;
    struct rrl_config c;
    rrl_config_default(&c);
    struct rrl *r = rrl_new(&c);
    assert_non_null(r);
    struct sockaddr_storage flood = v4(0xc0000201);
    /* a full bucket: burst (2 s) x 100/s, then nothing in the same instant */
    uint64_t t = 1000000;
    assert_int_equal(passed(r, &flood, RRL_ANSWER, 10000, t), 200);
    /* after that, the rate: 10,000 tries per second from t + 1 s to
     * t + 10.99 s, when 10.99 s x 100/s have drained */
    int got = 0;
    for (int s = 1; s <= 10; s++)
        for (int ms = 0; ms < 1000; ms += 10)
            got += passed(r, &flood, RRL_ANSWER, 100, t + (uint64_t)s * 1000 + (uint64_t)ms);
    assert_in_range(got, 1070, 1110);
    rrl_free(r);
}

static void a_light_client_is_never_limited(void **state)
{
    (void)state;
    struct rrl_config c;
    rrl_config_default(&c);
    struct rrl *r = rrl_new(&c);
    struct sockaddr_storage light = v4(0x0a010203), flood = v4(0xc6336401);
    uint64_t t = 5000;
    for (int ms = 0; ms < 30000; ms += 20) {
        /* the light client: 50 answers/s, half the per-address rate; a flood
         * from another network meanwhile */
        passed(r, &flood, RRL_ANSWER, 50, t + (uint64_t)ms);
        assert_false(rrl_limited(r, &light, RRL_ANSWER, t + (uint64_t)ms));
        assert_false(rrl_limited(r, &light, RRL_NXDOMAIN, t + (uint64_t)ms));
    }
    rrl_free(r);
}

static void prefixes_add_up(void **state)
{
    (void)state;
    struct rrl_config c;
    rrl_config_default(&c);
    struct rrl *r = rrl_new(&c);
    /* 256 addresses of one /24, each far under its own limit: the /24 limit
     * (4 x 100/s, burst 2 s = 800 at once) holds them back together */
    int got = 0;
    for (int round = 0; round < 10; round++)
        for (uint32_t a = 0; a < 256; a++) {
            struct sockaddr_storage p = v4(0xcb007100 | a);
            got += !rrl_limited(r, &p, RRL_ANSWER, 1000);
        }
    assert_int_equal(got, 800);
    /* a /16 spread: 4096 addresses in 16 /24s, the /16 limit (16 x, 3200 at once) */
    got = 0;
    for (uint32_t a = 0; a < 4096; a++) {
        struct sockaddr_storage p = v4(0xcb080000 | (a % 16) << 8 | a / 16);
        got += !rrl_limited(r, &p, RRL_ANSWER, 1000);
    }
    assert_int_equal(got, 16 * 200);
    /* IPv6: a /64 counts as one client (its limit is the per-address one) */
    got = 0;
    for (int i = 0; i < 1000; i++) {
        char text[64];
        snprintf(text, sizeof text, "2001:db8:1:2::%x", i);
        struct sockaddr_storage p = v6(text);
        got += !rrl_limited(r, &p, RRL_ANSWER, 1000);
    }
    assert_int_equal(got, 200);
    rrl_free(r);
}

static void classes_and_cookies_count_apart(void **state)
{
    (void)state;
    struct rrl_config c;
    rrl_config_default(&c);
    struct rrl *r = rrl_new(&c);
    struct sockaddr_storage a = v4(0xc0000263), b = v4(0xc0000264);
    assert_int_equal(passed(r, &a, RRL_ANSWER, 1000, 50), 200);
    /* NXDOMAIN answers have their own buckets: 50/s x 2 s */
    assert_int_equal(passed(r, &a, RRL_NXDOMAIN, 1000, 50), 100);
    assert_int_equal(passed(r, &a, RRL_ERROR, 1000, 50), 20);
    /* b shares a's /24, now full for answers; with a valid cookie it is
     * counted alone, at the verified rate (2000/s x 2 s) */
    assert_int_equal(passed(r, &b, RRL_ANSWER, 1000, 50), 200);
    assert_int_equal(passed(r, &b, RRL_ANSWER, 1000, 50), 0);
    assert_int_equal(passed(r, &b, RRL_VERIFIED, 10000, 50), 4000);
    rrl_free(r);
}

static void memory_is_fixed_and_a_flood_stays_limited(void **state)
{
    (void)state;
    struct rrl_config c;
    rrl_config_default(&c);
    c.slots = 4096; /* a small table, so that the churn below overwhelms it */
    struct rrl *r = rrl_new(&c);
    size_t mem = rrl_memory(r);
    assert_int_equal(mem, 4096 * 8);
    struct sockaddr_storage flood = v4(0xc0000201);
    uint64_t t = 100000;
    passed(r, &flood, RRL_ANSWER, 1000, t);
    /* a million one-off sources from all over the address space, while the
     * flood goes on: the table does not grow, and the flooder, whose bucket
     * is full, is not the one evicted */
    uint32_t x = 12345;
    int flood_passed = 0;
    for (int i = 0; i < 1000000; i++) {
        x = x * 1103515245u + 12345u;
        uint64_t now = t + (uint64_t)i; /* 1 ms apart: 1,000 s over the loop */
        struct sockaddr_storage p = v4(x);
        rrl_limited(r, &p, RRL_ANSWER, now);
        if (i % 100 == 0)
            flood_passed += passed(r, &flood, RRL_ANSWER, 20, now);
    }
    assert_int_equal(rrl_memory(r), mem);
    /* 1,000 s at 100/s allows about 100,000 of the 200,000 flood tries; an
     * eviction would hand the flooder a fresh, full bucket each time */
    assert_in_range(flood_passed, 90000, 110000);
    rrl_free(r);
}

static void exempt_networks_pass(void **state)
{
    (void)state;
    struct rrl_config c;
    rrl_config_default(&c);
    char err[128];
    assert_int_equal(rrl_add_exempt(&c, "198.51.100.0/24", err, sizeof err), 0);
    assert_int_equal(rrl_add_exempt(&c, "2001:db8::/32", err, sizeof err), 0);
    assert_int_equal(rrl_add_exempt(&c, "198.51.100.0/33", err, sizeof err), -1);
    assert_int_equal(rrl_add_exempt(&c, "nonsense", err, sizeof err), -1);
    struct rrl *r = rrl_new(&c);
    struct sockaddr_storage in = v4(0xc6336407), out = v4(0xc6336507);
    struct sockaddr_storage in6 = v6("2001:db8:ffff::1");
    assert_int_equal(passed(r, &in, RRL_ANSWER, 5000, 1), 5000);
    assert_int_equal(passed(r, &in6, RRL_ANSWER, 5000, 1), 5000);
    assert_int_equal(passed(r, &out, RRL_ANSWER, 5000, 1), 200);
    rrl_free(r);
}

static void prefix_lists_parse(void **state)
{
    (void)state;
    struct rrl_config c;
    rrl_config_default(&c);
    char err[128];
    assert_int_equal(rrl_parse_prefixes("32:1,20:8", AF_INET, &c, err, sizeof err), 0);
    assert_int_equal(c.nv4, 2);
    assert_int_equal(c.v4[1].bits, 20);
    assert_int_equal(c.v4[1].mult, 8);
    assert_int_equal(rrl_parse_prefixes("24:1,32:4", AF_INET, &c, err, sizeof err), -1);
    assert_int_equal(rrl_parse_prefixes("33:1", AF_INET, &c, err, sizeof err), -1);
    assert_int_equal(rrl_parse_prefixes("32:0", AF_INET, &c, err, sizeof err), -1);
    assert_int_equal(rrl_parse_prefixes("32", AF_INET, &c, err, sizeof err), -1);
    assert_int_equal(rrl_parse_prefixes("", AF_INET, &c, err, sizeof err), -1);
    assert_int_equal(rrl_parse_prefixes("128:1,64:1,56:2,48:4,32:8", AF_INET6, &c, err, sizeof err), -1);
    assert_int_equal(rrl_parse_prefixes("128:1,48:10", AF_INET6, &c, err, sizeof err), 0);
    assert_int_equal(c.nv6, 2);
}

/* A query with an EDNS COOKIE option of `len` bytes (cookie bytes given). */
static size_t cookie_query(uint8_t *buf, const uint8_t *cookie, size_t len)
{
    size_t n = tu_query(buf, "2.0.0.127.bl.example", DNS_T_A, DNS_C_IN, 1232);
    buf[n - 2] = 0;
    buf[n - 1] = (uint8_t)(4 + len); /* RDLEN */
    buf[n++] = 0;
    buf[n++] = DNS_OPT_COOKIE;
    buf[n++] = 0;
    buf[n++] = (uint8_t)len;
    memcpy(buf + n, cookie, len);
    return n + len;
}

static void cookie_options_parse(void **state)
{
    (void)state;
    uint8_t pkt[512], cookie[41];
    for (int i = 0; i < 41; i++)
        cookie[i] = (uint8_t)(i + 1);
    struct dns_query q;
    assert_int_equal(dns_query_parse(pkt, cookie_query(pkt, cookie, 8), &q), DNS_PARSE_OK);
    assert_int_equal(q.cookie_len, 8);
    assert_memory_equal(q.cookie, cookie, 8);
    assert_int_equal(dns_query_parse(pkt, cookie_query(pkt, cookie, 24), &q), DNS_PARSE_OK);
    assert_int_equal(q.cookie_len, 24);
    assert_int_equal(dns_query_parse(pkt, cookie_query(pkt, cookie, 40), &q), DNS_PARSE_OK);
    /* RFC 7873 5.2.2: another length is FORMERR */
    assert_int_equal(dns_query_parse(pkt, cookie_query(pkt, cookie, 12), &q), DNS_R_FORMERR);
    assert_int_equal(dns_query_parse(pkt, cookie_query(pkt, cookie, 41), &q), DNS_R_FORMERR);
    assert_int_equal(dns_query_parse(pkt, cookie_query(pkt, cookie, 0), &q), DNS_R_FORMERR);
    /* an option running past the OPT record */
    size_t n = cookie_query(pkt, cookie, 8);
    pkt[n - 9] = 20;
    assert_int_equal(dns_query_parse(pkt, n, &q), DNS_R_FORMERR);
}

static void cookies_are_issued_and_verified(void **state)
{
    (void)state;
    char spec[128];
    snprintf(spec, sizeof spec, "bl.example:ip4set:%s", tu_file("127.0.0.2\n"));
    const char *specs[] = {spec};
    struct dns_config *cfg = tu_config(1, specs);
    assert_non_null(cfg);
    cfg->cookies = true;
    memset(cfg->cookie_secret, 7, sizeof cfg->cookie_secret);
    struct sockaddr_storage peer = v4(0xc0000201), other = v4(0xc0000202);
    struct dns_stats st = {0};
    uint8_t pkt[512], out[1232], client[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    bool verified = true;
    size_t n = dns_answer_query(cfg, pkt, cookie_query(pkt, client, 8), out, sizeof out, false,
                                &peer, &st, &verified);
    assert_false(verified);
    assert_int_equal(st.cookie_new, 1);
    /* the answer ends with OPT carrying COOKIE: client cookie + 16-byte server cookie */
    assert_true(n > 39);
    const uint8_t *opt = out + n - 39;
    assert_int_equal(opt[1] << 8 | opt[2], DNS_T_OPT);
    assert_int_equal(opt[11] << 8 | opt[12], DNS_OPT_COOKIE);
    assert_int_equal(opt[13] << 8 | opt[14], 24);
    assert_memory_equal(opt + 15, client, 8);
    uint8_t both[24];
    memcpy(both, opt + 15, 24);
    assert_int_equal(both[8], 1); /* RFC 9018 version */
    /* the client returns it: verified */
    dns_answer_query(cfg, pkt, cookie_query(pkt, both, 24), out, sizeof out, false, &peer, &st,
                     &verified);
    assert_true(verified);
    assert_int_equal(st.cookie_valid, 1);
    /* from another address, or altered, or too old: not verified */
    dns_answer_query(cfg, pkt, cookie_query(pkt, both, 24), out, sizeof out, false, &other, &st,
                     &verified);
    assert_false(verified);
    both[23] ^= 1;
    dns_answer_query(cfg, pkt, cookie_query(pkt, both, 24), out, sizeof out, false, &peer, &st,
                     &verified);
    assert_false(verified);
    struct dns_query q;
    uint8_t old[16];
    dns_cookie_make(cfg->cookie_secret, client, &peer, (uint32_t)time(NULL) - 7200, old);
    memcpy(both + 8, old, 16);
    dns_query_parse(pkt, cookie_query(pkt, both, 24), &q);
    assert_false(dns_cookie_valid(cfg->cookie_secret, &q, &peer, (uint32_t)time(NULL)));
    assert_true(dns_cookie_valid(cfg->cookie_secret, &q, &peer, (uint32_t)time(NULL) - 7000));
    /* cookies off: no COOKIE in the answer */
    cfg->cookies = false;
    n = dns_answer_query(cfg, pkt, cookie_query(pkt, client, 8), out, sizeof out, false, &peer,
                         &st, &verified);
    assert_int_equal(out[n - 2] << 8 | out[n - 1], 0); /* OPT RDLEN 0 */
    dns_config_free_all(cfg);
}

static void slips_are_never_larger_than_the_query(void **state)
{
    (void)state;
    char spec[128];
    snprintf(spec, sizeof spec, "bl.example:ip4set:%s",
             tu_file("$SOA 60 ns.bl.example. hostmaster.bl.example. 1 60 60 60 60\n"
                     "$NS 60 ns.bl.example.\n127.0.0.2 :2:Listed, see http://example/$\n"));
    const char *specs[] = {spec};
    struct dns_config *cfg = tu_config(1, specs);
    assert_non_null(cfg);
    const char *names[] = {"2.0.0.127.bl.example", "9.9.9.9.bl.example", "bl.example",
                           "x.other.example"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        for (int edns = 0; edns < 2; edns++) {
            uint8_t pkt[512], out[1232];
            size_t ql = tu_query(pkt, names[i], DNS_T_ANY, DNS_C_IN, edns ? 1232 : 0);
            struct dns_stats st = {0};
            struct sockaddr_storage peer = v4(0xc0000201);
            size_t n = dns_answer_query(cfg, pkt, ql, out, sizeof out, false, &peer, &st, NULL);
            assert_true(n > 12);
            size_t s = dns_make_truncated(out, n);
            assert_true(s <= ql);
            assert_true(out[2] & 0x02);                      /* TC */
            assert_int_equal(out[6] | out[7] | out[8] | out[9] | out[10] | out[11], 0);
            assert_memory_equal(out + 12, pkt + 12, s - 12); /* the question, as asked */
        }
    }
    dns_config_free_all(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(siphash_matches_the_papers_vectors),
        cmocka_unit_test(a_flood_is_limited_to_the_rate),
        cmocka_unit_test(a_light_client_is_never_limited),
        cmocka_unit_test(prefixes_add_up),
        cmocka_unit_test(classes_and_cookies_count_apart),
        cmocka_unit_test(memory_is_fixed_and_a_flood_stays_limited),
        cmocka_unit_test(exempt_networks_pass),
        cmocka_unit_test(prefix_lists_parse),
        cmocka_unit_test(cookie_options_parse),
        cmocka_unit_test(cookies_are_issued_and_verified),
        cmocka_unit_test(slips_are_never_larger_than_the_query),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
