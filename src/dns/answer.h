/*
 * answer: building the answer section while datasets are consulted.
 *
 * A worker owns one struct dns_answer per packet: the header and question are
 * already written; datasets append records whose owner is the query name
 * (a compression pointer to offset 12). Nothing here allocates or locks.
 */
#ifndef RAMPART_DNS_ANSWER_H
#define RAMPART_DNS_ANSWER_H

#include <stdbool.h>
#include <stdint.h>

#include "common/buf.h"
#include "wire.h"

struct dns_answer {
    struct wbuf w;            /* cap = the size this answer may reach */
    const struct dns_query *q;
    uint16_t ancount;
    uint16_t an_start;        /* offset of the first answer record */
    bool tc;                  /* an answer record did not fit */
    const uint8_t *cookie;    /* client + server cookie for the OPT record, or NULL */
};

/// Does the query ask for this type (directly or by ANY)?
static inline bool ans_wants(const struct dns_answer *a, uint16_t type)
{
    return a->q->qtype == type || a->q->qtype == DNS_T_ANY;
}

/// Append an A record for the query name.
void ans_add_a(struct dns_answer *a, uint32_t ttl, uint32_t addr);

/// Append a TXT record for the query name from a template: "$" is replaced by
/// `entry` (the listed address or name), "$$" by "$". Truncated at 255 bytes.
void ans_add_txt(struct dns_answer *a, uint32_t ttl, const char *tpl, const char *entry);

/// Append a record with ready-made rdata for the query name.
void ans_add_rr(struct dns_answer *a, uint16_t type, uint32_t ttl, const uint8_t *rdata,
                uint16_t rdlen);

#endif
