/*
 * xfr: zone transfers out of rampart-dnsbl (AXFR, RFC 5936; IXFR, RFC 1995),
 * so that NSD, Knot or BIND secondaries can mirror a list.
 *
 * A transfer is asked over TCP. xfr_begin() decides: not a transfer (the
 * caller answers as usual), an answer of one message (refused, an error, or
 * "you are up to date"), or a session. A session holds the zone's datasets
 * (dataset_hold) and writes the transfer a message at a time with xfr_next(),
 * as the client reads: its memory is bounded (a position in the zone, not a
 * copy of it), and a reload may replace the zone meanwhile: the transfer
 * finishes with the version it started with.
 *
 * What is sent is the zone as -d writes it (dns_zone_walk): the SOA first and
 * last, the NS records, then every dataset's records, CIDR blocks expanded to
 * wildcard names the way rbldnsd -d does, TXT with "$" substituted per name.
 * IXFR answers from a journal (struct xfr_journal) when one is configured and
 * still holds the client's serial; otherwise, and for file zones, with the
 * whole zone as RFC 1995 section 4 allows.
 *
 * Access: a transfer is allowed to a client whose address is in an
 * --xfr-allow network, or that signs its request with a configured TSIG key
 * (tsig.h); everyone else gets REFUSED. A signed request gets every message of
 * its answer signed. Queries with a TSIG record that are not transfers (a
 * secondary's signed SOA check) are answered by dns_answer_query(), signed,
 * through xfr_answer_signed().
 *
 * Trust boundary: the request is untrusted (parsed with wire.h and tsig.h's
 * bounded readers); the journal's records are trusted. Runs on the TCP thread
 * (and xfr_answer_signed() on a UDP worker for signed queries); logs one line
 * per transfer.
 */
#ifndef RAMPART_DNS_XFR_H
#define RAMPART_DNS_XFR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "tsig.h"
#include "zone.h"

/// One change of one record in a zone's history.
struct xfr_change {
    uint32_t serial;          /* the zone's serial once this change is applied */
    bool add;                 /* true: the record was added; false: removed */
    struct ds_rr rr;          /* owner below the apex, type, TTL, rdata (or TXT template
                                 and entry), as dataset walks give them; valid during the call */
};

/// Takes one change; returns 0, or non-zero to stop before it (it will be
/// asked for again: see xfr_journal.changes).
typedef int (*xfr_change_fn)(void *arg, const struct xfr_change *c);

/// Where IXFR finds a zone's history: the listing database's journal
/// (store_journal_since), wired by whoever serves DB lists. Called on the TCP
/// thread while a transfer runs: each call should take milliseconds.
struct xfr_journal {
    /// Does the history hold every change that takes zone z from serial
    /// `from` to serial `to` (the served one)? 1 yes, 0 no (pruned, unknown
    /// zone, a file zone), negative on error (treated as no).
    int (*covers)(void *ctx, const struct zone *z, uint32_t from, uint32_t to);
    /// Give the changes with serial after `after`, up to and including `to`,
    /// in serial order and, within one serial, every removal before every
    /// addition; the first `skip` of them are not given (the transfer already
    /// sent them). Stops when fn returns non-zero and returns that value;
    /// returns 0 when every change was given, negative on error (the
    /// transfer is then cut: the client retries).
    int (*changes)(void *ctx, const struct zone *z, uint32_t after, uint32_t to, uint64_t skip,
                   xfr_change_fn fn, void *arg);
    void *ctx;
};

/// An allowed client network.
struct xfr_net {
    int family;               /* AF_INET or AF_INET6 */
    uint8_t addr[16];
    int len;
};

/// Zone transfer settings, made once at start and never changed while served.
struct xfr_config {
    struct xfr_net *allow;    /* --xfr-allow */
    int nallow;
    struct tsig_keys keys;    /* --tsig-key, --tsig-keyfile */
    const struct xfr_journal *journal; /* NULL: IXFR always answers with the whole zone */
    size_t msg_size;          /* target size of one transfer message (16 KiB) */
};

/// Add "ADDR[/LEN]" (IPv4 or IPv6; no LEN: the host) to the allowed networks.
/// Returns 0, or -1 with a reason in err.
int xfr_allow_parse(struct xfr_config *xc, const char *spec, char *err, size_t errcap);

/// Is this client address in an allowed network?
bool xfr_allowed(const struct xfr_config *xc, const struct sockaddr_storage *peer);

void xfr_config_free(struct xfr_config *xc);

/// Is the message an AXFR or IXFR query? (A quick look at its header and
/// question; xfr_begin() checks the rest.)
bool xfr_is_transfer(const uint8_t *pkt, size_t len);

enum xfr_begin_result {
    XFR_NOT_XFR = 0,          /* not a transfer: answer it as any query */
    XFR_ANSWERED = 1,         /* *outlen bytes in out are the whole answer */
    XFR_STARTED = 2,          /* *sess: call xfr_next() until it returns 0 */
};

struct xfr_session;

/// Start answering a transfer query received over TCP from peer at time now
/// (seconds), with cfg the served config (held only during the call: the
/// session holds the zone's datasets itself). Single answers go to
/// out[0..cap). Counts in st.
enum xfr_begin_result xfr_begin(const struct xfr_config *xc, const struct dns_config *cfg,
                                const uint8_t *pkt, size_t len,
                                const struct sockaddr_storage *peer, uint64_t now, uint8_t *out,
                                size_t cap, size_t *outlen, struct xfr_session **sess);

/// Write the transfer's next message into out[0..cap) (cap >= 64 KiB is
/// always enough). Returns its length, 0 when the transfer is complete (or
/// cut by a journal error: then the log says so).
size_t xfr_next(struct xfr_session *s, uint8_t *out, size_t cap);

/// Did the session send its last message (the closing SOA)?
bool xfr_complete(const struct xfr_session *s);

/// End a session (complete or not), log it, drop its holds.
void xfr_end(struct xfr_session *s);

/// Answer a query carrying a TSIG record that is not a transfer (a signed SOA
/// check): verify it with xc's keys, answer it with dns_answer_query() and
/// sign the answer; an unknown key or a bad MAC gets NOTAUTH (RFC 8945 5.2).
/// Same contract as dns_answer_query().
size_t xfr_answer_signed(const struct dns_config *cfg, const uint8_t *pkt, size_t len,
                         uint8_t *out, size_t outcap, bool tcp, const struct sockaddr_storage *peer,
                         struct dns_stats *st);

/// Serial number arithmetic (RFC 1982): is a before b?
static inline bool xfr_serial_lt(uint32_t a, uint32_t b)
{
    return a != b && (int32_t)(a - b) < 0;
}

#endif
