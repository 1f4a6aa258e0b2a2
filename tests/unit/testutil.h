/* Helpers shared by the unit tests: temporary data files, query packets,
 * a loaded config, and a minimal answer reader. */
#ifndef RAMPART_TESTS_TESTUTIL_H
#define RAMPART_TESTS_TESTUTIL_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "dns/zone.h"

/* Write text to a new temporary file; returns its path (static storage, 8 slots). */
static inline const char *tu_file(const char *text)
{
    static char paths[8][64];
    static int next;
    char *p = paths[next++ % 8];
    strcpy(p, "/tmp/rampart-unit-XXXXXX");
    int fd = mkstemp(p);
    if (fd < 0)
        abort();
    size_t n = strlen(text);
    if (write(fd, text, n) != (ssize_t)n)
        abort();
    close(fd);
    return p;
}

/* Build and load a config from zone specs with %s replaced by data files. */
static inline struct dns_config *tu_config(int n, const char *const *specs)
{
    struct ds_options opt = {.ttl = {2100, 0, 0}};
    log_init("test", LOG_LVL_ERROR);
    struct dns_config *cfg = dns_config_build(specs, n, &opt);
    if (!cfg || dns_config_reload(NULL, &cfg, true) < 0)
        return NULL;
    return cfg;
}

/* A query packet for a text name; edns_size 0 = no OPT. Returns its length. */
static inline size_t tu_query(uint8_t *buf, const char *name, uint16_t qtype, uint16_t qclass,
                              uint16_t edns_size)
{
    size_t n = 0;
    buf[n++] = 0x12;
    buf[n++] = 0x34;
    buf[n++] = 0x01; /* RD */
    buf[n++] = 0x00;
    buf[n++] = 0;
    buf[n++] = 1;
    memset(buf + n, 0, 6);
    buf[n + 5] = edns_size ? 1 : 0;
    n += 6;
    uint8_t wire[256];
    int wl = dns_name_from_text(name, strlen(name), wire);
    if (wl < 0)
        abort();
    memcpy(buf + n, wire, (size_t)wl);
    n += (size_t)wl;
    buf[n++] = (uint8_t)(qtype >> 8);
    buf[n++] = (uint8_t)qtype;
    buf[n++] = (uint8_t)(qclass >> 8);
    buf[n++] = (uint8_t)qclass;
    if (edns_size) {
        buf[n++] = 0;
        buf[n++] = 0;
        buf[n++] = 41;
        buf[n++] = (uint8_t)(edns_size >> 8);
        buf[n++] = (uint8_t)edns_size;
        memset(buf + n, 0, 6);
        n += 6;
    }
    return n;
}

struct tu_answer {
    size_t len;
    int rcode;
    int aa, tc;
    int an, ns, ar;
    uint8_t pkt[65536];
};

static inline void tu_ask(const struct dns_config *cfg, const char *name, uint16_t qtype,
                          uint16_t edns, int tcp, struct tu_answer *a)
{
    uint8_t q[512];
    size_t ql = tu_query(q, name, qtype, DNS_C_IN, edns);
    static struct dns_stats st;
    struct sockaddr_storage peer;
    memset(&peer, 0, sizeof peer);
    struct sockaddr_in *sin = (struct sockaddr_in *)&peer;
    sin->sin_family = AF_INET;
    sin->sin_addr.s_addr = htonl(0x7f000001);
    a->len = dns_answer_query(cfg, q, ql, a->pkt, sizeof a->pkt, tcp, &peer, &st, NULL);
    a->rcode = a->len >= 12 ? a->pkt[3] & 0xf : -1;
    a->aa = a->len >= 12 && (a->pkt[2] & 0x04);
    a->tc = a->len >= 12 && (a->pkt[2] & 0x02);
    a->an = a->len >= 12 ? a->pkt[6] << 8 | a->pkt[7] : -1;
    a->ns = a->len >= 12 ? a->pkt[8] << 8 | a->pkt[9] : -1;
    a->ar = a->len >= 12 ? a->pkt[10] << 8 | a->pkt[11] : -1;
}

/* Does the answer contain this A address (host order) anywhere? */
static inline int tu_has_a(const struct tu_answer *a, uint32_t addr)
{
    uint8_t pat[6] = {0, 4, (uint8_t)(addr >> 24), (uint8_t)(addr >> 16), (uint8_t)(addr >> 8),
                      (uint8_t)addr};
    for (size_t i = 12; i + 6 <= a->len; i++)
        if (memcmp(a->pkt + i, pat, 6) == 0)
            return 1;
    return 0;
}

/* Does the answer contain this text inside a TXT string? */
static inline int tu_has_text(const struct tu_answer *a, const char *text)
{
    size_t n = strlen(text);
    for (size_t i = 12; i + n <= a->len; i++)
        if (memcmp(a->pkt + i, text, n) == 0)
            return 1;
    return 0;
}

#endif
