#include "answer.h"

#include <string.h>

/* Every record starts with the owner (pointer to the query name at offset 12),
 * type, class IN and TTL. If the record does not fit, the buffer is rolled
 * back to the last whole record and the answer is marked truncated. */
static size_t rr_begin(struct dns_answer *a, uint16_t type, uint32_t ttl)
{
    size_t mark = a->w.len;
    if (!a->an_start)
        a->an_start = (uint16_t)mark;
    wbuf_u16(&a->w, 0xc00c);
    wbuf_u16(&a->w, type);
    wbuf_u16(&a->w, DNS_C_IN);
    wbuf_u32(&a->w, ttl);
    return mark;
}

/* Length of the record starting at p (owner is always a 2-byte pointer here). */
static size_t rr_len(const uint8_t *p)
{
    return 12 + (size_t)(p[10] << 8 | p[11]);
}

static void rr_end(struct dns_answer *a, size_t mark)
{
    if (a->w.err) {
        a->w.err = false;
        a->w.len = mark;
        a->tc = true;
        return;
    }
    /* Several datasets (or entries) may give the same record: send it once,
     * as rbldnsd does. Answers hold a handful of records, so a scan is cheap. */
    const uint8_t *rec = a->w.data + mark;
    size_t len = a->w.len - mark;
    for (size_t off = a->an_start ? a->an_start : mark; off < mark; off += rr_len(a->w.data + off)) {
        const uint8_t *o = a->w.data + off;
        if (rr_len(o) == len && memcmp(o + 2, rec + 2, 2) == 0 && memcmp(o + 10, rec + 10, len - 10) == 0) {
            a->w.len = mark;
            return;
        }
    }
    a->ancount++;
}

void ans_add_a(struct dns_answer *a, uint32_t ttl, uint32_t addr)
{
    size_t mark = rr_begin(a, DNS_T_A, ttl);
    wbuf_u16(&a->w, 4);
    wbuf_u32(&a->w, addr);
    rr_end(a, mark);
}

void ans_add_rr(struct dns_answer *a, uint16_t type, uint32_t ttl, const uint8_t *rdata,
                uint16_t rdlen)
{
    size_t mark = rr_begin(a, type, ttl);
    wbuf_u16(&a->w, rdlen);
    wbuf_bytes(&a->w, rdata, rdlen);
    rr_end(a, mark);
}

void ans_add_txt(struct dns_answer *a, uint32_t ttl, const char *tpl, const char *entry)
{
    uint8_t text[255];
    size_t n = 0;
    size_t elen = strlen(entry);
    for (const char *p = tpl; *p && n < sizeof text; p++) {
        if (*p != '$') {
            text[n++] = (uint8_t)*p;
            continue;
        }
        if (p[1] == '$') {
            text[n++] = '$';
            p++;
            continue;
        }
        size_t k = elen < sizeof text - n ? elen : sizeof text - n;
        memcpy(text + n, entry, k);
        n += k;
    }
    size_t mark = rr_begin(a, DNS_T_TXT, ttl);
    wbuf_u16(&a->w, (uint16_t)(n + 1));
    wbuf_u8(&a->w, (uint8_t)n);
    wbuf_bytes(&a->w, text, n);
    rr_end(a, mark);
}
