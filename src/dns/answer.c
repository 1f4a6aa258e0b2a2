#include "answer.h"

#include "dataset.h"

#include <string.h>

/* Length of the record starting at p (owner is always a 2-byte pointer here). */
static size_t rr_len(const uint8_t *p)
{
    return 12 + (size_t)(p[10] << 8 | p[11]);
}

/* Append one record owned by the query name (a pointer to offset 12). The
 * same record from several datasets or entries is sent once, with the
 * smaller TTL, as rbldnsd does: answers hold a handful of records, so a scan
 * is cheap. A record that does not fit marks the answer truncated. */
static void add_record(struct dns_answer *a, uint16_t type, uint32_t ttl, const uint8_t *rdata,
                       uint16_t rdlen)
{
    uint8_t *d = a->w.data;
    if (a->an_start) {
        for (size_t off = a->an_start; off < a->w.len; off += rr_len(d + off)) {
            if ((d[off + 2] << 8 | d[off + 3]) != type || rr_len(d + off) != 12u + rdlen ||
                memcmp(d + off + 12, rdata, rdlen) != 0)
                continue;
            uint32_t old = (uint32_t)d[off + 6] << 24 | (uint32_t)d[off + 7] << 16 |
                           (uint32_t)d[off + 8] << 8 | d[off + 9];
            if (ttl < old) {
                d[off + 6] = (uint8_t)(ttl >> 24);
                d[off + 7] = (uint8_t)(ttl >> 16);
                d[off + 8] = (uint8_t)(ttl >> 8);
                d[off + 9] = (uint8_t)ttl;
            }
            return;
        }
    }
    size_t mark = a->w.len;
    wbuf_u16(&a->w, 0xc00c);
    wbuf_u16(&a->w, type);
    wbuf_u16(&a->w, DNS_C_IN);
    wbuf_u32(&a->w, ttl);
    wbuf_u16(&a->w, rdlen);
    wbuf_bytes(&a->w, rdata, rdlen);
    if (a->w.err) {
        a->w.err = false;
        a->w.len = mark;
        a->tc = true;
        return;
    }
    if (!a->an_start)
        a->an_start = (uint16_t)mark;
    a->ancount++;
}

void ans_add_a(struct dns_answer *a, uint32_t ttl, uint32_t addr)
{
    uint8_t rd[4] = {(uint8_t)(addr >> 24), (uint8_t)(addr >> 16), (uint8_t)(addr >> 8), (uint8_t)addr};
    add_record(a, DNS_T_A, ttl, rd, 4);
}

void ans_add_rr(struct dns_answer *a, uint16_t type, uint32_t ttl, const uint8_t *rdata,
                uint16_t rdlen)
{
    add_record(a, type, ttl, rdata, rdlen);
}

void ans_add_txt(struct dns_answer *a, uint32_t ttl, const char *tpl, const char *entry)
{
    uint8_t rd[256];
    size_t n = ds_txt_rdata(rd, tpl, entry);
    add_record(a, DNS_T_TXT, ttl, rd, (uint16_t)n);
}
