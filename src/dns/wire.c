#include "wire.h"

#include <string.h>

static inline uint8_t lower(uint8_t c) { return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c; }

/* EDNS options (RFC 6891 6.1.2): code, length, data. Only COOKIE (RFC 7873
 * 5.2.2) matters here: a client cookie alone (8 bytes) or with a server cookie
 * (8 to 32 bytes); another length, or two COOKIE options, is FORMERR. Other
 * options are skipped. */
static int parse_options(const uint8_t *p, size_t len, struct dns_query *q)
{
    struct rbuf r = rbuf_make(p, len);
    while (rbuf_left(&r) > 0) {
        uint16_t code = rbuf_u16(&r), olen = rbuf_u16(&r);
        const uint8_t *data = rbuf_take(&r, olen);
        if (r.err || !data)
            return -1;
        if (code != DNS_OPT_COOKIE)
            continue;
        if (q->cookie_len || !(olen == DNS_COOKIE_CLIENT || (olen >= 16 && olen <= 40)))
            return -1;
        memcpy(q->cookie, data, olen);
        q->cookie_len = (uint8_t)olen;
    }
    return 0;
}

int dns_query_parse(const uint8_t *pkt, size_t len, struct dns_query *q)
{
    struct rbuf r = rbuf_make(pkt, len);
    q->question_end = 0;
    q->edns = false;
    q->edns_size = DNS_UDP_MIN;
    q->edns_do = false;
    q->edns_version = 0;
    q->cookie_len = 0;
    q->tsig = false;
    q->id = rbuf_u16(&r);
    q->flags = rbuf_u16(&r);
    uint16_t qd = rbuf_u16(&r), an = rbuf_u16(&r), ns = rbuf_u16(&r), ar = rbuf_u16(&r);
    if (r.err || (q->flags & DNS_F_QR))
        return DNS_PARSE_DROP;
    q->opcode = (uint8_t)((q->flags >> 11) & 0xf);
    /* another opcode: NOTIMP, echoing the question when there is one */
    int notimp = q->opcode != 0;
    if (qd != 1 || an != 0)
        return notimp ? DNS_R_NOTIMP : DNS_R_FORMERR;

    /* The question name: plain labels only, lowercased copy kept. */
    size_t n = 0;
    int labels = 0;
    for (;;) {
        uint8_t l = rbuf_u8(&r);
        if (r.err)
            return notimp ? DNS_R_NOTIMP : DNS_R_FORMERR;
        if (l == 0)
            break;
        if (l > 63 || labels >= DNS_MAX_LABELS || n + 1 + l + 1 > DNS_MAX_NAME)
            return DNS_R_FORMERR; /* compression pointer, bad label type, or too long */
        const uint8_t *p = rbuf_take(&r, l);
        if (!p)
            return DNS_R_FORMERR;
        q->label_off[labels++] = (uint8_t)n;
        q->qname[n++] = l;
        for (unsigned i = 0; i < l; i++)
            q->qname[n++] = lower(p[i]);
    }
    q->qname[n++] = 0;
    q->qname_len = (uint16_t)n;
    q->nlabels = (uint8_t)labels;
    q->label_off[labels] = (uint8_t)(n - 1);
    q->qtype = rbuf_u16(&r);
    q->qclass = rbuf_u16(&r);
    if (r.err)
        return DNS_R_FORMERR;
    q->question_end = (uint16_t)r.pos;
    if (notimp)
        return DNS_R_NOTIMP;

    /* Additional section: at most one OPT, at the root (RFC 6891 6.1.1).
     * Records in the authority section (none expected) are skipped. */
    unsigned extra = (unsigned)ns + ar;
    for (unsigned i = 0; i < extra; i++) {
        /* owner name: allow compression here, skip it */
        bool root = false;
        for (int hops = 0;; hops++) {
            uint8_t l = rbuf_u8(&r);
            if (r.err || hops > DNS_MAX_LABELS)
                return DNS_R_FORMERR;
            if (l == 0) {
                root = hops == 0;
                break;
            }
            if ((l & 0xc0) == 0xc0) {
                rbuf_u8(&r);
                break;
            }
            if (l > 63 || !rbuf_take(&r, l))
                return DNS_R_FORMERR;
        }
        uint16_t type = rbuf_u16(&r), cls = rbuf_u16(&r);
        uint32_t ttl = rbuf_u32(&r);
        uint16_t rdlen = rbuf_u16(&r);
        const uint8_t *rdata = rbuf_take(&r, rdlen);
        if (r.err || !rdata)
            return DNS_R_FORMERR;
        if (q->tsig)
            return DNS_R_FORMERR; /* RFC 8945 5.1: a TSIG record comes last */
        if (type == DNS_T_TSIG) {
            if (i < ns)
                return DNS_R_FORMERR;
            q->tsig = true;
        }
        if (type == DNS_T_OPT) {
            if (i < ns || q->edns || !root)
                return DNS_R_FORMERR;
            q->edns = true;
            q->edns_size = cls < DNS_UDP_MIN ? DNS_UDP_MIN : cls;
            q->edns_version = (uint8_t)(ttl >> 16);
            q->edns_do = (ttl & 0x8000) != 0;
            if (parse_options(rdata, rdlen, q) < 0)
                return DNS_R_FORMERR;
        }
    }
    if (rbuf_left(&r) != 0)
        return DNS_R_FORMERR; /* trailing garbage */
    if (q->edns && q->edns_version != 0)
        return DNS_R_BADVERS;
    return DNS_PARSE_OK;
}

void dns_write_header(struct wbuf *w, const uint8_t *pkt, const struct dns_query *q, uint16_t flags,
                      int rcode)
{
    w->len = 0;
    w->err = false;
    wbuf_u16(w, q->id);
    /* keep opcode and RD from the query; CD too (RFC 6840 5.9 is about resolvers; harmless) */
    uint16_t f = (uint16_t)(DNS_F_QR | (q->flags & (0x7800 | DNS_F_RD)) | flags | (rcode & 0xf));
    wbuf_u16(w, f);
    wbuf_u16(w, q->question_end ? 1 : 0);
    wbuf_u16(w, 0);
    wbuf_u16(w, 0);
    wbuf_u16(w, 0);
    if (q->question_end)
        wbuf_bytes(w, pkt + DNS_HEADER_SIZE, q->question_end - DNS_HEADER_SIZE);
}

void dns_write_opt(struct wbuf *w, int rcode, const uint8_t *cookie)
{
    enum { COOKIE_LEN = DNS_COOKIE_CLIENT + DNS_COOKIE_SERVER };
    wbuf_u8(w, 0);
    wbuf_u16(w, DNS_T_OPT);
    wbuf_u16(w, DNS_EDNS_DEFAULT);
    wbuf_u32(w, (uint32_t)((rcode >> 4) & 0xff) << 24); /* ext rcode, version 0, no DO */
    if (cookie) {
        wbuf_u16(w, 4 + COOKIE_LEN);
        wbuf_u16(w, DNS_OPT_COOKIE);
        wbuf_u16(w, COOKIE_LEN);
        wbuf_bytes(w, cookie, COOKIE_LEN);
    } else {
        wbuf_u16(w, 0);
    }
    if (!w->err)
        wbuf_put_u16_at(w, 10, (uint16_t)((w->data[10] << 8 | w->data[11]) + 1));
}

size_t dns_write_error(uint8_t *out, size_t cap, const uint8_t *pkt, const struct dns_query *q,
                       int rcode)
{
    struct wbuf w = wbuf_make(out, cap);
    dns_write_header(&w, pkt, q, 0, rcode);
    if (q->edns || rcode == DNS_R_BADVERS)
        dns_write_opt(&w, rcode, NULL);
    return w.err ? 0 : w.len;
}

size_t dns_make_truncated(uint8_t *ans, size_t len)
{
    if (len < DNS_HEADER_SIZE)
        return len;
    size_t end = DNS_HEADER_SIZE;
    if (ans[4] | ans[5]) {
        /* our own question copy: plain labels, then type and class */
        while (end < len && ans[end])
            end += 1u + ans[end];
        end += 1 + 4;
        if (end > len)
            return len; /* not ours after all: leave it as it is */
    }
    ans[2] |= DNS_F_TC >> 8;
    memset(ans + 6, 0, 6); /* no answer, authority or additional records */
    return end;
}

int dns_name_from_text(const char *text, size_t len, uint8_t out[DNS_MAX_NAME + 1])
{
    if (len > 0 && text[len - 1] == '.')
        len--;
    size_t n = 0, i = 0;
    while (i < len) {
        size_t j = i;
        while (j < len && text[j] != '.')
            j++;
        size_t l = j - i;
        if (l == 0 || l > 63 || n + 1 + l + 1 > DNS_MAX_NAME)
            return -1;
        out[n++] = (uint8_t)l;
        for (size_t k = i; k < j; k++) {
            uint8_t c = (uint8_t)text[k];
            if (c <= ' ' || c >= 127)
                return -1;
            out[n++] = lower(c);
        }
        i = j + 1;
        if (j == len)
            break;
        if (i == len)
            return -1; /* "a..": empty last label after a dot we did not strip */
    }
    out[n++] = 0;
    return (int)n;
}

int dns_name_to_text(const uint8_t *wire, char *out, size_t cap)
{
    size_t n = 0;
    for (const uint8_t *p = wire; *p; p += *p + 1) {
        if (n && n < cap)
            out[n] = '.';
        if (n)
            n++;
        if (n + *p >= cap)
            return -1;
        memcpy(out + n, p + 1, *p);
        n += *p;
    }
    if (n >= cap)
        return -1;
    out[n] = '\0';
    return (int)n;
}

int dns_name_len(const uint8_t *wire)
{
    int n = 0;
    while (wire[n])
        n += wire[n] + 1;
    return n + 1;
}

int dns_name_labels(const uint8_t *wire)
{
    int n = 0;
    for (const uint8_t *p = wire; *p; p += *p + 1)
        n++;
    return n;
}

int dns_name_suffix(const struct dns_query *q, const uint8_t *suffix, int suffix_labels)
{
    int lead = q->nlabels - suffix_labels;
    if (lead < 0)
        return -1;
    const uint8_t *p = q->qname + q->label_off[lead];
    size_t sl = (size_t)(q->qname_len - q->label_off[lead]);
    return memcmp(p, suffix, sl) == 0 ? lead : -1;
}
