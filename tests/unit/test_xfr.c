/* Unit tests: zone transfers (src/dns/xfr.c): access, AXFR, and IXFR from an
 * in-memory journal (the struct xfr_journal the listing database will
 * provide), with messages small enough that every record boundary is a
 * place where a message ends and the next one resumes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "dns/xfr.h"
#include "testutil.h"

static struct dns_config *cfg;
static struct xfr_config xc;

/* ---- a fake journal ---- */

struct fake_change {
    uint32_t serial;
    bool add;
    const char *owner;        /* below the apex */
    uint16_t type;            /* A or TXT */
    uint32_t a;
    const char *txt;
};

static const struct fake_change history[] = {
    {3, false, "4.3.2.1", DNS_T_A, 0x7f000002, NULL},
    {3, false, "4.3.2.1", DNS_T_TXT, 0, "Listed $"},
    {3, true, "5.3.2.1", DNS_T_A, 0x7f000002, NULL},
    {4, true, "1.0.0.10", DNS_T_A, 0x7f000003, NULL},
    {4, true, "1.0.0.10", DNS_T_TXT, 0, "Listed $"},
    {5, false, "5.3.2.1", DNS_T_A, 0x7f000002, NULL},
};

struct fake {
    const struct fake_change *c;
    size_t n;
    uint32_t oldest;          /* the journal holds the changes after this serial */
    unsigned calls;
};

static int fake_covers(void *ctx, const struct zone *z, uint32_t from, uint32_t to)
{
    const struct fake *f = ctx;
    (void)z;
    return !xfr_serial_lt(from, f->oldest) && to == f->c[f->n - 1].serial;
}

static int fake_changes(void *ctx, const struct zone *z, uint32_t after, uint32_t to, uint64_t skip,
                        xfr_change_fn fn, void *arg)
{
    struct fake *f = ctx;
    (void)z;
    f->calls++;
    for (size_t i = 0; i < f->n; i++) {
        const struct fake_change *c = &f->c[i];
        if (!xfr_serial_lt(after, c->serial) || xfr_serial_lt(to, c->serial))
            continue;
        if (skip) {
            skip--;
            continue;
        }
        uint8_t owner[DNS_MAX_NAME + 1], rd[4];
        int ol = dns_name_from_text(c->owner, strlen(c->owner), owner);
        struct xfr_change x = {.serial = c->serial, .add = c->add,
                               .rr = {.owner = owner, .owner_len = (size_t)ol - 1,
                                      .type = c->type, .ttl = 2100}};
        if (c->type == DNS_T_A) {
            rd[0] = (uint8_t)(c->a >> 24), rd[1] = (uint8_t)(c->a >> 16);
            rd[2] = (uint8_t)(c->a >> 8), rd[3] = (uint8_t)c->a;
            x.rr.rdata = rd;
            x.rr.rdlen = 4;
        } else {
            x.rr.tpl = c->txt;
            x.rr.entry = "1.2.3.4";
        }
        int r = fn(arg, &x);
        if (r)
            return r;
    }
    return 0;
}

static struct fake fake = {history, sizeof history / sizeof history[0], 2, 0};
static const struct xfr_journal journal = {fake_covers, fake_changes, &fake};

static int setup(void **state)
{
    (void)state;
    static char s1[128];
    snprintf(s1, sizeof s1, "bl.test:ip4set:%s",
             tu_file("$SOA 1h ns1.bl.test hm.bl.test 5 2h 2h 1w 10m\n$NS 1d ns1.bl.test\n"
                     ":127.0.0.2:Listed $\n1.2.3.4\n10.0.0.0/22\n!10.0.0.7\n"));
    const char *specs[] = {s1};
    cfg = tu_config(1, specs);
    if (!cfg)
        return -1;
    char err[64];
    if (xfr_allow_parse(&xc, "127.0.0.0/8", err, sizeof err) < 0 ||
        xfr_allow_parse(&xc, "2001:db8::/32", err, sizeof err) < 0)
        return -1;
    xc.journal = &journal;
    cfg->xfr = &xc;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    dns_config_free_all(cfg);
    xfr_config_free(&xc);
    return 0;
}

/* ---- reading what was sent ---- */

static void read_name(const uint8_t *m, size_t len, size_t *pos, char *out)
{
    size_t p = *pos, n = 0;
    bool jumped = false;
    for (int hops = 0; hops < 64; hops++) {
        assert_true(p < len);
        uint8_t l = m[p];
        if (l == 0) {
            if (!jumped)
                *pos = p + 1;
            out[n ? n - 1 : 0] = '\0';
            return;
        }
        if ((l & 0xc0) == 0xc0) {
            size_t t = (size_t)(l & 0x3f) << 8 | m[p + 1];
            assert_true(t < p);
            if (!jumped)
                *pos = p + 2;
            jumped = true;
            p = t;
            continue;
        }
        memcpy(out + n, m + p + 1, l);
        n += l;
        out[n++] = '.';
        p += 1 + (size_t)l;
    }
    fail_msg("compression loop");
}

/* Every answer record of a message as "owner TYPE data" lines appended to
 * out; returns the number of records. */
static int records(const uint8_t *m, size_t len, char *out, size_t cap)
{
    assert_true(len >= 12);
    assert_true(m[2] & 0x80);
    assert_int_equal(m[3] & 0xf, 0);
    unsigned qd = (unsigned)(m[4] << 8 | m[5]), an = (unsigned)(m[6] << 8 | m[7]);
    size_t p = 12;
    char name[300];
    for (unsigned i = 0; i < qd; i++) {
        read_name(m, len, &p, name);
        p += 4;
    }
    for (unsigned i = 0; i < an; i++) {
        read_name(m, len, &p, name);
        uint16_t type = (uint16_t)(m[p] << 8 | m[p + 1]);
        size_t rdlen = (size_t)(m[p + 8] << 8 | m[p + 9]);
        p += 10;
        char data[300] = "";
        if (type == DNS_T_SOA) {
            size_t q = p;
            char mn[300], rn[300];
            read_name(m, len, &q, mn);
            read_name(m, len, &q, rn);
            snprintf(data, sizeof data, "%u",
                     (unsigned)((uint32_t)m[q] << 24 | (uint32_t)m[q + 1] << 16 |
                                (uint32_t)m[q + 2] << 8 | m[q + 3]));
        } else if (type == DNS_T_A) {
            snprintf(data, sizeof data, "%u.%u.%u.%u", m[p], m[p + 1], m[p + 2], m[p + 3]);
        } else if (type == DNS_T_TXT) {
            snprintf(data, sizeof data, "%.*s", m[p], (const char *)m + p + 1);
        } else if (type == DNS_T_CNAME || type == DNS_T_NS) {
            size_t q = p;
            read_name(m, len, &q, data);
        }
        size_t l = strlen(out);
        snprintf(out + l, cap - l, "%s %u %s\n", name, type, data);
        p += rdlen;
    }
    assert_int_equal(p, len);
    return (int)an;
}

/* An AXFR or IXFR query for zone (IXFR: with the client's SOA serial). */
static size_t xfr_query(uint8_t *buf, const char *zone, uint16_t qtype, uint32_t serial)
{
    size_t n = tu_query(buf, zone, qtype, DNS_C_IN, 0);
    buf[2] = 0;
    if (qtype != DNS_T_IXFR)
        return n;
    buf[9] = 1; /* NSCOUNT */
    static const uint8_t soa[] = {0xc0, 0x0c, 0, 6, 0, 1, 0, 0, 0, 0, 0, 22,
                                  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    memcpy(buf + n, soa, sizeof soa);
    buf[n + 14] = (uint8_t)(serial >> 24);
    buf[n + 15] = (uint8_t)(serial >> 16);
    buf[n + 16] = (uint8_t)(serial >> 8);
    buf[n + 17] = (uint8_t)serial;
    return n + sizeof soa;
}

static struct sockaddr_storage peer(const char *ip)
{
    struct sockaddr_storage s = {0};
    if (strchr(ip, ':')) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&s;
        s6->sin6_family = AF_INET6;
        inet_pton(AF_INET6, ip, &s6->sin6_addr);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&s;
        s4->sin_family = AF_INET;
        inet_pton(AF_INET, ip, &s4->sin_addr);
    }
    return s;
}

/* Run a whole transfer with messages of msg_size bytes; the records go to
 * out, one line each. Returns the number of messages, -1 when the transfer
 * was cut (no final message). */
static int transfer(const char *zone, uint16_t qtype, uint32_t serial, size_t msg_size, char *out,
                    size_t cap, int *rcode)
{
    static uint8_t q[512], msg[65536];
    size_t ql = xfr_query(q, zone, qtype, serial), n;
    struct sockaddr_storage p = peer("127.0.0.1");
    struct xfr_session *s;
    out[0] = '\0';
    xc.msg_size = msg_size;
    enum xfr_begin_result r = xfr_begin(&xc, cfg, q, ql, &p, 1000, msg, sizeof msg, &n, &s);
    if (r == XFR_ANSWERED) {
        *rcode = msg[3] & 0xf;
        return 0;
    }
    assert_int_equal(r, XFR_STARTED);
    *rcode = 0;
    int msgs = 0;
    size_t len;
    while ((len = xfr_next(s, msg, sizeof msg)) > 0) {
        assert_true(len <= (msg_size > 512 ? msg_size : 512));
        records(msg, len, out, cap);
        msgs++;
    }
    bool done = xfr_complete(s);
    xfr_end(s);
    return done ? msgs : -1;
}

static char big1[16384], big2[16384];

static void ixfr_from_the_journal(void **state)
{
    (void)state;
    int rc;
    int m = transfer("bl.test", DNS_T_IXFR, 2, 16384, big1, sizeof big1, &rc);
    assert_int_equal(m, 1);
    /* RFC 1995 section 4: new SOA, then per serial: old SOA, removals, new SOA, additions */
    assert_string_equal(big1,
                        "bl.test 6 5\n"
                        "bl.test 6 2\n"
                        "4.3.2.1.bl.test 1 127.0.0.2\n"
                        "4.3.2.1.bl.test 16 Listed 1.2.3.4\n"
                        "bl.test 6 3\n"
                        "5.3.2.1.bl.test 1 127.0.0.2\n"
                        "bl.test 6 3\n"
                        "bl.test 6 4\n"
                        "1.0.0.10.bl.test 1 127.0.0.3\n"
                        "1.0.0.10.bl.test 16 Listed 1.2.3.4\n"
                        "bl.test 6 4\n"
                        "5.3.2.1.bl.test 1 127.0.0.2\n"
                        "bl.test 6 5\n"
                        "bl.test 6 5\n");
    /* messages of one or two records: the same records, resumed at every boundary */
    m = transfer("bl.test", DNS_T_IXFR, 2, 110, big2, sizeof big2, &rc);
    assert_true(m >= 8);
    assert_string_equal(big1, big2);
    /* from a later serial: only what came after it */
    m = transfer("bl.test", DNS_T_IXFR, 4, 16384, big1, sizeof big1, &rc);
    assert_string_equal(big1, "bl.test 6 5\nbl.test 6 4\n5.3.2.1.bl.test 1 127.0.0.2\n"
                              "bl.test 6 5\nbl.test 6 5\n");
}

static void ixfr_up_to_date_or_beyond_the_journal(void **state)
{
    (void)state;
    int rc;
    /* current (or ahead: serial arithmetic): the SOA alone */
    assert_int_equal(transfer("bl.test", DNS_T_IXFR, 5, 16384, big1, sizeof big1, &rc), 1);
    assert_string_equal(big1, "bl.test 6 5\n");
    /* older than the journal: the whole zone, as AXFR sends it */
    assert_int_equal(transfer("bl.test", DNS_T_IXFR, 1, 16384, big1, sizeof big1, &rc), 1);
    assert_int_equal(transfer("bl.test", DNS_T_AXFR, 0, 16384, big2, sizeof big2, &rc), 1);
    assert_string_equal(big1, big2);
    assert_non_null(strstr(big1, "*.0.0.10.bl.test 1 127.0.0.2\n"));
    assert_non_null(strstr(big1, "7.0.0.10.bl.test 5 excluded.bl.test\n"));
    assert_non_null(strstr(big1, "*.3.0.10.bl.test 16 Listed 10.0.3.0\n"));
    assert_true(strncmp(big1, "bl.test 6 5\nbl.test 2 ns1.bl.test\n", 33) == 0);
}

static void axfr_resumes_anywhere(void **state)
{
    (void)state;
    int rc;
    assert_int_equal(transfer("bl.test", DNS_T_AXFR, 0, 16384, big1, sizeof big1, &rc), 1);
    for (size_t size = 90; size < 400; size += 37) {
        int m = transfer("bl.test", DNS_T_AXFR, 0, size, big2, sizeof big2, &rc);
        assert_true(m > 1);
        assert_string_equal(big1, big2);
    }
}

static void journal_out_of_order_cuts_the_transfer(void **state)
{
    (void)state;
    static const struct fake_change bad[] = {
        {4, true, "1.0.0.10", DNS_T_A, 0x7f000003, NULL},
        {3, true, "5.3.2.1", DNS_T_A, 0x7f000002, NULL},
        {5, false, "5.3.2.1", DNS_T_A, 0x7f000002, NULL},
    };
    static const struct fake_change add_then_del[] = {
        {5, true, "1.0.0.10", DNS_T_A, 0x7f000003, NULL},
        {5, false, "5.3.2.1", DNS_T_A, 0x7f000002, NULL},
    };
    static const struct fake_change short_journal[] = {
        {3, true, "1.0.0.10", DNS_T_A, 0x7f000003, NULL},
        {4, true, "1.0.0.11", DNS_T_A, 0x7f000003, NULL},
    };
    struct fake saved = fake;
    int rc;
    fake = (struct fake){bad, 3, 2, 0};
    assert_int_equal(transfer("bl.test", DNS_T_IXFR, 2, 16384, big1, sizeof big1, &rc), -1);
    fake = (struct fake){add_then_del, 2, 4, 0};
    assert_int_equal(transfer("bl.test", DNS_T_IXFR, 4, 16384, big1, sizeof big1, &rc), -1);
    /* covers() says no (it ends at 4, the zone is at 5): the whole zone instead */
    fake = (struct fake){short_journal, 2, 2, 0};
    assert_int_equal(transfer("bl.test", DNS_T_IXFR, 2, 16384, big1, sizeof big1, &rc), 1);
    assert_non_null(strstr(big1, "bl.test 2 ns1.bl.test"));
    fake = saved;
}

static void access_and_errors(void **state)
{
    (void)state;
    uint8_t q[512], out[4096];
    size_t n;
    struct xfr_session *s;
    struct sockaddr_storage ok4 = peer("127.1.2.3"), ok6 = peer("2001:db8::5"),
                            mapped = peer("::ffff:127.0.0.1"), no4 = peer("192.0.2.1"),
                            no6 = peer("2001:db9::1");
    assert_true(xfr_allowed(&xc, &ok4));
    assert_true(xfr_allowed(&xc, &ok6));
    assert_true(xfr_allowed(&xc, &mapped));
    assert_false(xfr_allowed(&xc, &no4));
    assert_false(xfr_allowed(&xc, &no6));
    size_t ql = xfr_query(q, "bl.test", DNS_T_AXFR, 0);
    assert_true(xfr_is_transfer(q, ql));
    assert_int_equal(xfr_begin(&xc, cfg, q, ql, &no4, 1000, out, sizeof out, &n, &s), XFR_ANSWERED);
    assert_int_equal(out[3] & 0xf, DNS_R_REFUSED);
    /* a name inside the zone, and a zone we do not serve: NOTAUTH (RFC 5936 2.2.1) */
    ql = xfr_query(q, "2.0.0.127.bl.test", DNS_T_AXFR, 0);
    assert_int_equal(xfr_begin(&xc, cfg, q, ql, &ok4, 1000, out, sizeof out, &n, &s), XFR_ANSWERED);
    assert_int_equal(out[3] & 0xf, 9);
    ql = xfr_query(q, "other.test", DNS_T_IXFR, 1);
    assert_int_equal(xfr_begin(&xc, cfg, q, ql, &ok4, 1000, out, sizeof out, &n, &s), XFR_ANSWERED);
    assert_int_equal(out[3] & 0xf, 9);
    /* IXFR without the client's SOA: FORMERR */
    ql = xfr_query(q, "bl.test", DNS_T_IXFR, 1);
    q[9] = 0;
    assert_int_equal(xfr_begin(&xc, cfg, q, ql - 34, &ok4, 1000, out, sizeof out, &n, &s),
                     XFR_ANSWERED);
    assert_int_equal(out[3] & 0xf, DNS_R_FORMERR);
    /* not a transfer */
    ql = tu_query(q, "bl.test", DNS_T_SOA, DNS_C_IN, 0);
    assert_false(xfr_is_transfer(q, ql));
    assert_int_equal(xfr_begin(&xc, cfg, q, ql, &ok4, 1000, out, sizeof out, &n, &s), XFR_NOT_XFR);
    /* a reload while a session runs: the session keeps the old datasets */
    ql = xfr_query(q, "bl.test", DNS_T_AXFR, 0);
    assert_int_equal(xfr_begin(&xc, cfg, q, ql, &ok4, 1000, out, sizeof out, &n, &s), XFR_STARTED);
    assert_int_equal(dns_config_reload(NULL, &cfg, true), 0);
    static uint8_t msg[65536];
    size_t len = xfr_next(s, msg, sizeof msg);
    assert_true(len > 100);
    assert_int_equal(xfr_next(s, msg, sizeof msg), 0);
    xfr_end(s); /* frees the replaced dataset (ASan: no leak, no use after free) */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ixfr_from_the_journal),
        cmocka_unit_test(ixfr_up_to_date_or_beyond_the_journal),
        cmocka_unit_test(axfr_resumes_anywhere),
        cmocka_unit_test(journal_out_of_order_cuts_the_transfer),
        cmocka_unit_test(access_and_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
