/*
 * rrl: response rate limiting for rampart-dnsbl's UDP answers.
 *
 * Why: a DNSBL answers anyone, over UDP, with answers two to three times the
 * size of the query. A flood with forged source addresses therefore turns the
 * server into an amplifier aimed at the forged victim, and a zombie army's
 * flood of random names eats the capacity real mail servers need. The limiter
 * counts answers per client prefix, at several prefix lengths at once (by
 * default IPv4 /32, /24, /16 and IPv6 /128, /64, /56, /48), separately for
 * three classes of answer (data or no-data, NXDOMAIN, errors): an answer goes
 * out only if every one of its buckets has room. Over the limit the server
 * drops the answer, except every `slip`-th one, which goes out truncated
 * (TC=1, header and question only: never larger than the query) so that a
 * real resolver behind a flooded prefix retries over TCP, where its address is
 * proven. A client that returns a valid DNS cookie (RFC 7873) has proved its
 * address too: it is counted alone, in its own class, with its own limit, and
 * the prefixes it shares with a flood do not hold it back.
 *
 * How: a bucket is a leaky bucket (the level drains at the class's rate, one
 * answer adds one; full at rate x burst seconds), packed into one 64-bit word
 * with a 16-bit tag of its key and a 16-ms timestamp, updated with a
 * compare-and-swap: lock-free across worker threads. Buckets live in a table
 * of 64-byte lines of eight, fixed at start: a key hashes (keyed with a random
 * seed, so a flood cannot aim at a line) to one line, and a new key takes the
 * line's emptiest bucket. The flood cannot grow the table; it can only evict
 * buckets that hold little, which were not limiting anyone. A limited answer
 * writes nothing, so a flood does not bounce cache lines between cores. Cost:
 * one cache line per prefix length per answer, O(1).
 *
 * Limits are approximate by design (a race between two threads may lose one
 * increment, an eviction forgets a light client), never unbounded.
 */
#ifndef RAMPART_DNS_RRL_H
#define RAMPART_DNS_RRL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

enum rrl_class {
    RRL_ANSWER = 0,   /* NOERROR: data or no data */
    RRL_NXDOMAIN = 1, /* unlisted names: random-subdomain floods */
    RRL_ERROR = 2,    /* REFUSED, FORMERR, SERVFAIL, NOTIMP, ... */
    RRL_VERIFIED = 3, /* any answer to a client with a valid cookie */
    RRL_NCLASS = 4,
};

enum { RRL_MAX_LEVELS = 4, RRL_MAX_EXEMPT = 64 };

/// One prefix length and its limit as a multiple of the class's per-address rate.
struct rrl_prefix {
    uint8_t bits;
    uint16_t mult;
};

struct rrl_exempt {
    int family; /* AF_INET or AF_INET6 */
    uint8_t bits;
    uint8_t addr[16];
};

struct rrl_config {
    bool enabled;
    uint32_t rate[RRL_NCLASS];          /* answers per second per address (narrowest prefix) */
    struct rrl_prefix v4[RRL_MAX_LEVELS], v6[RRL_MAX_LEVELS];
    int nv4, nv6;
    uint32_t burst;                     /* seconds of `rate` a bucket holds */
    uint32_t slip;                      /* every slip-th limited answer goes out TC; 0 never */
    uint32_t slots;                     /* table size in buckets (a power of two) */
    struct rrl_exempt exempt[RRL_MAX_EXEMPT];
    int nexempt;
};

struct rrl;

/// The defaults: on; 100 answers/s, 50 NXDOMAIN/s, 10 errors/s per address,
/// 2,000/s for a verified (cookie) client; /24 and /56 get 4x, /16 and /48
/// 16x; burst 2 s; slip 2; 131,072 buckets (1 MiB).
void rrl_config_default(struct rrl_config *c);

/// Parse "BITS:MULT[,BITS:MULT...]" (e.g. "32:1,24:4,16:16") for a family.
/// Prefixes must be strictly decreasing; MULT 1..10000. Returns 0, or -1 with
/// a reason in err.
int rrl_parse_prefixes(const char *spec, int family, struct rrl_config *c, char *err, size_t errcap);

/// Add an exempt network "ADDR[/BITS]". Returns 0, or -1 with a reason in err.
int rrl_add_exempt(struct rrl_config *c, const char *cidr, char *err, size_t errcap);

/// Allocate the bucket table (c->slots * 8 bytes, fixed for the life of the
/// limiter) with a random hash seed. NULL on failure. The config is copied.
struct rrl *rrl_new(const struct rrl_config *c);

void rrl_free(struct rrl *r);

/// Bytes the table takes (constant after rrl_new).
size_t rrl_memory(const struct rrl *r);

/// The config the limiter runs with.
const struct rrl_config *rrl_config(const struct rrl *r);

/// May one more answer of class cls go to peer at time now_ms (monotonic
/// milliseconds)? Returns false (send it) and counts the answer in every
/// bucket, or true (over a limit: drop or slip it) and counts nothing. Exempt
/// peers always pass. Thread-safe, lock-free, O(number of prefix lengths).
bool rrl_limited(struct rrl *r, const struct sockaddr_storage *peer, enum rrl_class cls,
                 uint64_t now_ms);

/// The class of an answer with this rcode, for a client that did (verified)
/// or did not return a valid server cookie.
static inline enum rrl_class rrl_class_of(int rcode, bool verified)
{
    if (verified)
        return RRL_VERIFIED;
    return rcode == 0 ? RRL_ANSWER : rcode == 3 ? RRL_NXDOMAIN : RRL_ERROR;
}

#endif
