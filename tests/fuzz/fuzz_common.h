/*
 * fuzz_common.h: what the rampart-dnsbl fuzz harnesses share: building query
 * packets, and checking that an answer from dns_answer_query() is a well-formed
 * DNS message that keeps the promises of zone.h and RFC 1035/6891.
 *
 * A broken promise aborts with a message on stderr, which libFuzzer reports as
 * a crash (and saves the input). Header-only: each harness is one .c file.
 */
#ifndef RAMPART_TESTS_FUZZ_COMMON_H
#define RAMPART_TESTS_FUZZ_COMMON_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/wire.h"
#include "dns/zone.h"

#include "fuzz_fail.h"

static inline uint16_t fz_u16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

/* Build a query for a text name into buf (at least 512 bytes); edns_size 0 =
 * no OPT record. Returns the packet length, 0 if the name is not valid. */
static inline size_t fz_make_query(uint8_t *buf, uint16_t id, const char *name, uint16_t qtype,
                                   uint16_t qclass, uint16_t edns_size)
{
    uint8_t wire[DNS_MAX_NAME + 1];
    int wl = dns_name_from_text(name, strlen(name), wire);
    if (wl < 0)
        return 0;
    size_t n = 0;
    buf[n++] = (uint8_t)(id >> 8);
    buf[n++] = (uint8_t)id;
    buf[n++] = 0x01; /* RD */
    buf[n++] = 0x00;
    static const uint8_t counts[8] = {0, 1, 0, 0, 0, 0, 0, 0};
    memcpy(buf + n, counts, 8);
    buf[n + 7] = edns_size ? 1 : 0;
    n += 8;
    memcpy(buf + n, wire, (size_t)wl);
    n += (size_t)wl;
    buf[n++] = (uint8_t)(qtype >> 8);
    buf[n++] = (uint8_t)qtype;
    buf[n++] = (uint8_t)(qclass >> 8);
    buf[n++] = (uint8_t)qclass;
    if (edns_size) {
        static const uint8_t opt[11] = {0, 0, 41, 0, 0, 0, 0, 0, 0, 0, 0};
        memcpy(buf + n, opt, sizeof opt);
        buf[n + 3] = (uint8_t)(edns_size >> 8);
        buf[n + 4] = (uint8_t)edns_size;
        n += sizeof opt;
    }
    return n;
}

/* Check the name at *pos of the answer: plain labels, or labels ending in a
 * compression pointer to an earlier name (below `before`). Advances *pos. */
static inline void fz_check_name(const uint8_t *m, size_t n, size_t *pos, size_t before, bool qd)
{
    size_t p = *pos;
    bool jumped = false;
    size_t total = 0;
    for (int hops = 0;; hops++) {
        if (hops > 128)
            FZ_FAIL("name at %zu: compression loop", *pos);
        if (p >= n)
            FZ_FAIL("name at %zu runs past the end (%zu)", *pos, n);
        uint8_t l = m[p];
        if (l == 0) {
            if (!jumped)
                *pos = p + 1;
            break;
        }
        if ((l & 0xc0) == 0xc0) {
            if (p + 1 >= n)
                FZ_FAIL("name at %zu: truncated pointer", *pos);
            size_t target = (size_t)((l & 0x3f) << 8 | m[p + 1]);
            if (!jumped)
                *pos = p + 2;
            if (target < DNS_HEADER_SIZE || target >= before)
                FZ_FAIL("name at %zu: pointer to %zu outside [12, %zu)", *pos, target, before);
            if (!qd)
                FZ_FAIL("name at %zu: pointer but no question to point to", *pos);
            jumped = true;
            p = target;
            continue;
        }
        if (l > 63)
            FZ_FAIL("name at %zu: bad label type 0x%02x", *pos, l);
        total += (size_t)l + 1;
        if (total + 1 > DNS_MAX_NAME)
            FZ_FAIL("name at %zu longer than 255 bytes", *pos);
        p += (size_t)l + 1;
    }
}

/* A name inside NS/SOA/MX rdata (compression allowed, RFC 1035 3.3): it
 * must end inside the rdata. Returns the offset just past it. */
static inline size_t fz_rdata_name(const uint8_t *m, size_t n, size_t pos, size_t end, bool qd)
{
    size_t p = pos;
    if (p >= end)
        FZ_FAIL("rdata name at %zu starts past its rdata", pos);
    fz_check_name(m, end < n ? end : n, &p, pos, qd);
    return p;
}

/*
 * The invariants of one answer to the query pkt[0..len):
 *   - it fits the buffer; if any, it has a header, the query's ID and QR set;
 *   - over UDP it fits 512 bytes without EDNS, else the EDNS size capped at
 *     max_udp;
 *   - it parses completely: the question is the query's, byte for byte; every
 *     record is whole; compression pointers point back to earlier names;
 *     nothing follows the last record; A/AAAA/TXT/NS/SOA/MX rdata have their
 *     exact shape; at most one OPT, in the additional section;
 *   - answer records are of the asked type (or any type for ANY);
 *   - NXDOMAIN carries no answer records.
 */
static inline void fz_check_answer(const uint8_t *pkt, size_t len, const uint8_t *m, size_t n,
                                   size_t outcap, bool tcp, uint16_t max_udp)
{
    if (n > outcap)
        FZ_FAIL("answer of %zu bytes in a %zu-byte buffer", n, outcap);
    if (n == 0)
        return;
    if (n < DNS_HEADER_SIZE)
        FZ_FAIL("answer of %zu bytes is shorter than a header", n);
    if (len < 2 || m[0] != pkt[0] || m[1] != pkt[1])
        FZ_FAIL("answer ID %02x%02x does not match the query", m[0], m[1]);
    if (!(m[2] & 0x80))
        FZ_FAIL("answer without QR");
    if (len >= 3 && (m[2] & 0x78) != (pkt[2] & 0x78))
        FZ_FAIL("answer opcode differs from the query's");

    struct dns_query q;
    int pr = dns_query_parse(pkt, len, &q);
    if (pr == DNS_PARSE_DROP)
        FZ_FAIL("answer to a query that the parser drops");
    if (!tcp) {
        size_t lim = DNS_UDP_MIN;
        if (pr == DNS_PARSE_OK && q.edns)
            lim = q.edns_size < max_udp ? q.edns_size : max_udp;
        if (lim < DNS_UDP_MIN)
            lim = DNS_UDP_MIN;
        if (n > lim)
            FZ_FAIL("UDP answer of %zu bytes over the %zu-byte limit (edns=%d)", n, lim,
                    pr == DNS_PARSE_OK && q.edns);
    }

    uint16_t qd = fz_u16(m + 4), an = fz_u16(m + 6), ns = fz_u16(m + 8), ar = fz_u16(m + 10);
    int rcode = m[3] & 0xf;
    size_t pos = DNS_HEADER_SIZE;
    if (qd > 1)
        FZ_FAIL("answer with %u questions", qd);
    if (qd == 1) {
        if (q.question_end < DNS_HEADER_SIZE + 5)
            FZ_FAIL("answer echoes a question the parser did not accept");
        if (n < q.question_end || memcmp(m + DNS_HEADER_SIZE, pkt + DNS_HEADER_SIZE,
                                         q.question_end - DNS_HEADER_SIZE) != 0)
            FZ_FAIL("the question in the answer is not the query's");
        pos = q.question_end;
    }
    if (rcode == DNS_R_NXDOMAIN && an != 0)
        FZ_FAIL("NXDOMAIN with %u answer records", an);
    unsigned total = (unsigned)an + ns + ar;
    int opts = 0;
    for (unsigned i = 0; i < total; i++) {
        size_t start = pos;
        fz_check_name(m, n, &pos, start, qd == 1);
        if (n - pos < 10)
            FZ_FAIL("record %u at %zu: truncated fixed part", i, start);
        uint16_t type = fz_u16(m + pos), cls = fz_u16(m + pos + 2);
        uint16_t rdlen = fz_u16(m + pos + 8);
        pos += 10;
        if (n - pos < rdlen)
            FZ_FAIL("record %u at %zu: rdata of %u bytes past the end", i, start, rdlen);
        size_t rd = pos, end = pos + rdlen;
        if (i < an && q.qtype != DNS_T_ANY && type != q.qtype)
            FZ_FAIL("answer record of type %u for a query of type %u", type, q.qtype);
        switch (type) {
        case DNS_T_A:
            if (rdlen != 4)
                FZ_FAIL("A record with %u bytes of rdata", rdlen);
            break;
        case DNS_T_AAAA:
            if (rdlen != 16)
                FZ_FAIL("AAAA record with %u bytes of rdata", rdlen);
            break;
        case DNS_T_TXT:
            if (rdlen == 0)
                FZ_FAIL("TXT record without strings");
            for (size_t p = rd; p < end; p += (size_t)m[p] + 1)
                if (p + 1 + m[p] > end)
                    FZ_FAIL("TXT string at %zu runs past its rdata", p);
            break;
        case DNS_T_NS:
            if (fz_rdata_name(m, n, rd, end, qd == 1) != end)
                FZ_FAIL("NS rdata is not exactly one name");
            break;
        case DNS_T_MX:
            if (rdlen < 3 || fz_rdata_name(m, n, rd + 2, end, qd == 1) != end)
                FZ_FAIL("MX rdata is not a preference and one name");
            break;
        case DNS_T_SOA: {
            size_t p = fz_rdata_name(m, n, rd, end, qd == 1);
            p = fz_rdata_name(m, n, p, end, qd == 1);
            if (end - p != 20)
                FZ_FAIL("SOA rdata: %zu bytes after the names, not 20", end - p);
            break;
        }
        case DNS_T_OPT:
            if (i < (unsigned)an + ns || m[start] != 0 || ++opts > 1)
                FZ_FAIL("OPT record misplaced, not at the root, or repeated");
            if (cls < DNS_UDP_MIN)
                FZ_FAIL("OPT advertising %u bytes", cls);
            break;
        }
        pos = end;
    }
    if (pos != n)
        FZ_FAIL("%zu bytes after the last record", n - pos);
    if (opts == 0 && pr == DNS_PARSE_OK && q.edns)
        FZ_FAIL("EDNS query answered without OPT");
}

static inline void fz_peer4(struct sockaddr_storage *ss, const char *addr)
{
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *sin = (struct sockaddr_in *)ss;
    sin->sin_family = AF_INET;
    sin->sin_port = htons(53000);
    inet_pton(AF_INET, addr, &sin->sin_addr);
}

static inline void fz_peer6(struct sockaddr_storage *ss, const char *addr)
{
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(53000);
    inet_pton(AF_INET6, addr, &sin6->sin6_addr);
}

#endif
