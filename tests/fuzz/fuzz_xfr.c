/*
 * fuzz_xfr.c: libFuzzer harness for zone transfer requests and TSIG
 * (src/dns/xfr.c, src/dns/tsig.c).
 *
 * Input: one knob byte, then one DNS message as a client sends it over TCP.
 * The knob picks the client (allowed by --xfr-allow, not allowed, IPv6), the
 * transfer message size (120 bytes, 512, 16 KiB), the clock (the signing
 * time, or 1000 s later: BADTIME), and whether the harness signs the message
 * with the configured key before passing it on: random bytes never carry a
 * valid MAC, so without that the signed paths past verification would go
 * untested. The message then goes to
 *   - tsig_find() and tsig_verify_request();
 *   - xfr_begin(): a one-message answer is checked by fz_check_answer(); a
 *     session is run to its end (at most 20,000 messages) with every message
 *     checked: it parses completely, carries the query's ID, QR and AA, no
 *     error rcode, only the first has the question, the first record is the
 *     SOA and a complete transfer ends with it; TSIG on every message when
 *     the request was signed;
 *   - dns_answer_query() over UDP and TCP (signed queries: xfr_answer_signed()).
 * The configuration: an ip4set with ranges and exclusions, a dnset, a
 * combined zone, one TSIG key, and an in-memory journal for IXFR.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "dns/tsig.h"
#include "dns/xfr.h"
#include "dns/zone.h"
#include "fuzz_common.h"

enum { T0 = 1700000000 };

static struct dns_config *cfg;
static struct xfr_config xc;
static char dir[64], paths[3][128];

static const char *const texts[3] = {
    "$SOA 1h ns1.bl.example hm.bl.example 7 2h 30m 1w 10m\n$NS 1d ns1.bl.example ns2.bl.example\n"
    ":127.0.0.2:Listed $ see $$x\n127.0.0.2\n10.0.0.0/22\n!10.0.0.7\n192.168.1.0-192.168.1.9 :3:r $\n"
    "172.16.0.0/12 :6:\n1.2.3.4 :7:other\n",
    "$SOA 1h ns.dbl.example hm.dbl.example 3 2h 30m 1w 10m\n$NS 1h ns.dbl.example\n"
    ":127.0.1.2:Domain $\nexample.com\n*.wild.com :3:w $\n.dot.org\n!x.dot.org\n",
    "$NS 1w ns1.comb.example\n$SOA 1w ns1.comb.example admin.comb.example 9 2h 2h 1w 1h\n"
    "$DATASET ip4set proxies @\n:2:Open proxy $\n127.0.0.10\n$DATASET dnset dom\n:4:d $\n"
    "example.net\n$DATASET ip6trie v6\n:5:v6 $\n2001:db8::/31\n!2001:db8::1\n"
    "$DATASET generic proxies\n@ TXT \"common\"\nx MX 10 mail.example.\n",
};

/* A journal for bl.example: serials 4..7. */
static int fj_covers(void *ctx, const struct zone *z, uint32_t from, uint32_t to)
{
    (void)ctx;
    return z->name[1] == 'b' && !xfr_serial_lt(from, 3) && to == 7;
}

static int fj_changes(void *ctx, const struct zone *z, uint32_t after, uint32_t to, uint64_t skip,
                      xfr_change_fn fn, void *arg)
{
    (void)ctx;
    (void)z;
    static const uint8_t owner[] = "\0014\0013\0012\0011";
    static const uint8_t a[4] = {127, 0, 0, 2};
    for (uint32_t s = 4; s <= 7; s++) {
        if (!xfr_serial_lt(after, s) || xfr_serial_lt(to, s))
            continue;
        for (int k = 0; k < 3; k++) {
            if (skip) {
                skip--;
                continue;
            }
            struct xfr_change c = {.serial = s, .add = k > 0,
                                   .rr = {.owner = owner, .owner_len = 8, .ttl = 60}};
            if (k < 2) {
                c.rr.type = DNS_T_A;
                c.rr.rdata = a;
                c.rr.rdlen = 4;
            } else {
                c.rr.type = DNS_T_TXT;
                c.rr.tpl = "Listed $";
                c.rr.entry = "1.2.3.4";
            }
            int r = fn(arg, &c);
            if (r)
                return r;
        }
    }
    return 0;
}

static const struct xfr_journal journal = {fj_covers, fj_changes, NULL};

static void cleanup(void)
{
    for (int i = 0; i < 3; i++)
        unlink(paths[i]);
    rmdir(dir);
    dns_config_free_all(cfg);
    xfr_config_free(&xc);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    log_init("fuzz_xfr", LOG_LVL_ERROR);
    strcpy(dir, "/tmp/rampart-fuzz-xfr-XXXXXX");
    if (!mkdtemp(dir))
        FZ_FAIL("mkdtemp failed");
    static const char *const names[3] = {"ip4", "dn", "comb"};
    for (int i = 0; i < 3; i++) {
        snprintf(paths[i], sizeof paths[i], "%s/%s", dir, names[i]);
        FILE *f = fopen(paths[i], "w");
        if (!f || fputs(texts[i], f) < 0)
            FZ_FAIL("cannot write %s", paths[i]);
        fclose(f);
    }
    char s[3][200];
    snprintf(s[0], sizeof s[0], "bl.example:ip4set:%s", paths[0]);
    snprintf(s[1], sizeof s[1], "dbl.example:dnset:%s", paths[1]);
    snprintf(s[2], sizeof s[2], "comb.example:combined:%s", paths[2]);
    const char *specs[3] = {s[0], s[1], s[2]};
    struct ds_options opt = {.ttl = {2100, 0, 0}};
    cfg = dns_config_build(specs, 3, &opt);
    if (!cfg || dns_config_reload(NULL, &cfg, true) < 0)
        FZ_FAIL("the harness's configuration does not load");
    char err[100];
    struct tsig_key k;
    if (xfr_allow_parse(&xc, "10.0.0.0/8", err, sizeof err) < 0 ||
        xfr_allow_parse(&xc, "2001:db8::/32", err, sizeof err) < 0 ||
        tsig_key_parse("k1.example:hmac-sha256:c2VjcmV0LWtleS1vbmU=", &k, err, sizeof err) < 0 ||
        tsig_keys_add(&xc.keys, &k) < 0)
        FZ_FAIL("xfr config: %s", err);
    xc.journal = &journal;
    cfg->xfr = &xc;
    atexit(cleanup);
    return 0;
}

/* One message of a transfer. */
static void check_message(const uint8_t *q, const uint8_t *m, size_t n, bool first, bool tsig,
                          uint16_t *first_type)
{
    if (n < DNS_HEADER_SIZE || n > DNS_TCP_MAX)
        FZ_FAIL("transfer message of %zu bytes", n);
    if (m[0] != q[0] || m[1] != q[1] || !(m[2] & 0x80) || !(m[2] & 0x04) || (m[3] & 0xf))
        FZ_FAIL("transfer message header %02x%02x %02x%02x", m[0], m[1], m[2], m[3]);
    unsigned qd = fz_u16(m + 4), an = fz_u16(m + 6), ns = fz_u16(m + 8), ar = fz_u16(m + 10);
    if (qd != (first ? 1u : 0u) || an == 0 || ns != 0)
        FZ_FAIL("transfer message counts qd=%u an=%u ns=%u", qd, an, ns);
    size_t pos = DNS_HEADER_SIZE;
    if (qd) {
        fz_check_name(m, n, &pos, pos, true);
        pos += 4;
    }
    bool saw_tsig = false;
    for (unsigned i = 0; i < an + ar; i++) {
        size_t start = pos;
        fz_check_name(m, n, &pos, start, true);
        if (n - pos < 10)
            FZ_FAIL("record %u: truncated", i);
        uint16_t type = fz_u16(m + pos), rdlen = fz_u16(m + pos + 8);
        pos += 10;
        if (n - pos < rdlen)
            FZ_FAIL("record %u: rdata past the end", i);
        if (first && i == 0)
            *first_type = type;
        if (i < an && (type == DNS_T_TSIG || type == DNS_T_OPT))
            FZ_FAIL("a %u record in the answer section", type);
        if (type == DNS_T_SOA) {
            size_t p = fz_rdata_name(m, n, pos, pos + rdlen, true);
            p = fz_rdata_name(m, n, p, pos + rdlen, true);
            if (pos + rdlen - p != 20)
                FZ_FAIL("SOA rdata shape");
        }
        saw_tsig = saw_tsig || type == DNS_T_TSIG;
        pos += rdlen;
    }
    if (pos != n)
        FZ_FAIL("%zu bytes after the last record", n - pos);
    if (tsig != saw_tsig)
        FZ_FAIL("a transfer message %s a TSIG record", tsig ? "without" : "with");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t msg[DNS_TCP_MAX + 512], out[DNS_TCP_MAX];
    static struct dns_stats st;
    if (size < 1 || size > 4096)
        return 0;
    uint8_t knob = data[0];
    data++;
    size--;
    struct sockaddr_storage peer;
    switch (knob & 3) {
    case 0: fz_peer4(&peer, "10.1.2.3"); break;
    case 1: fz_peer4(&peer, "192.0.2.1"); break;
    case 2: fz_peer6(&peer, "2001:db8::53"); break;
    default: fz_peer6(&peer, "::ffff:10.9.9.9"); break;
    }
    static const size_t sizes[4] = {120, 512, 16384, 65535};
    xc.msg_size = sizes[(knob >> 2) & 3];
    uint64_t now = T0 + ((knob & 0x10) ? 1000 : 0);
    memcpy(msg, data, size);
    size_t len = size;
    if ((knob & 0x20) && len >= DNS_HEADER_SIZE) {
        struct tsig_ctx c = {.key = &xc.keys.key[0]};
        size_t s = tsig_sign(&c, msg, len, sizeof msg, T0);
        if (s)
            len = s;
    }
    struct tsig_rr rr;
    struct tsig_ctx ctx;
    if (tsig_find(msg, len, &rr) == 1) {
        if (rr.at > len || rr.mac + rr.mac_len > msg + len)
            FZ_FAIL("tsig_find points outside the message");
        tsig_verify_request(&xc.keys, msg, len, &rr, now, &ctx);
    }

    size_t n = 0;
    struct xfr_session *sess = NULL;
    enum xfr_begin_result r = xfr_begin(&xc, cfg, msg, len, &peer, now, out, sizeof out, &n, &sess);
    if (r == XFR_NOT_XFR && (n || sess))
        FZ_FAIL("not a transfer, yet an answer or a session");
    if (r == XFR_ANSWERED) {
        if (sess)
            FZ_FAIL("answered and a session");
        fz_check_answer(msg, len, out, n, sizeof out, true, cfg->max_udp);
    }
    if (r == XFR_STARTED) {
        struct tsig_rr trr;
        struct tsig_ctx tc;
        bool tsig = tsig_find(msg, len, &trr) == 1 &&
               tsig_verify_request(&xc.keys, msg, len, &trr, now, &tc) == 0;
        uint16_t first_type = 0;
        int k;
        for (k = 0; k < 20000; k++) {
            size_t m = xfr_next(sess, out, sizeof out);
            if (!m)
                break;
            check_message(msg, out, m, k == 0, tsig, &first_type);
        }
        if (k == 20000)
            FZ_FAIL("a transfer of more than 20,000 messages");
        if (k > 0 && first_type != DNS_T_SOA)
            FZ_FAIL("a transfer that does not start with the SOA (%u)", first_type);
        if (xfr_complete(sess) && k == 0)
            FZ_FAIL("complete without a message");
        xfr_end(sess);
    }
    for (int tcp = 0; tcp < 2; tcp++) {
        size_t cap = tcp ? DNS_TCP_MAX : 4096;
        bool verified;
        n = dns_answer_query(cfg, msg, len, out, cap, tcp, &peer, &st, &verified);
        fz_check_answer(msg, len, out, n, cap, tcp, cfg->max_udp);
    }
    return 0;
}
