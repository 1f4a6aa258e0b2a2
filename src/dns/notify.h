/*
 * notify: telling secondaries that a zone changed (DNS NOTIFY, RFC 1996), so
 * that they transfer it now instead of at their next SOA refresh.
 *
 * Targets come from --notify ADDR[/PORT][,zone=NAME][,key=KEYNAME] (every
 * zone unless zone= is given; signed with that TSIG key when key= is given).
 * dns_notify_zone() queues one NOTIFY per target of the zone; one thread
 * sends them over UDP and resends each, 1 s then doubling up to 60 s apart,
 * until the secondary answers (NOERROR, or NOTIMP/REFUSED/NOTAUTH: it will
 * not take NOTIFY from us; logged), at most NOTIFY_TRIES times. A newer
 * change of the same zone replaces a NOTIFY still waiting. A signed NOTIFY's
 * answer must be signed with the same key (else it is ignored, and the
 * NOTIFY is sent again).
 *
 * Trust boundary: answers arrive from the network: only one with the ID,
 * address and port of a NOTIFY in flight is read, with tsig.h's bounded
 * parser. Costs one thread, two sockets and ~1 KiB per NOTIFY in flight.
 */
#ifndef RAMPART_DNS_NOTIFY_H
#define RAMPART_DNS_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "tsig.h"
#include "zone.h"

enum { NOTIFY_TRIES = 8 };

/// A secondary to notify.
struct notify_target {
    struct sockaddr_storage addr;
    socklen_t addr_len;
    char text[72];                    /* "192.0.2.7/53" for logs */
    bool all_zones;
    uint8_t zone[DNS_MAX_NAME + 1];   /* when not all_zones: lowercased wire */
    char key_name[DNS_MAX_NAME + 1];  /* "" unsigned */
    const struct tsig_key *key;       /* resolved by dns_notify_start */
};

struct notify_targets {
    struct notify_target *t;
    int n;
};

/// Parse "ADDR[/PORT][,zone=NAME][,key=KEYNAME]" (ADDR IPv4 or IPv6; also
/// "IPV4:PORT" and "[IPV6]:PORT"; port 53 by default) and append it. Returns
/// 0, or -1 with a reason in err.
int notify_target_parse(struct notify_targets *ts, const char *spec, char *err, size_t errcap);

struct dns_notify;

/// Start the notifier for these targets (copied), with keys looked up in ks
/// (which must outlive the notifier). Returns NULL (logged) when a key= names
/// no configured key or a thread or socket cannot be made.
struct dns_notify *dns_notify_start(const struct notify_targets *ts, const struct tsig_keys *ks);

/// Zone z's data changed (a reload published it, or DB changes were applied):
/// queue a NOTIFY with its current SOA for each of its targets. Any thread;
/// never blocks on the network. A zone without $SOA is not notified.
void dns_notify_zone(struct dns_notify *n, const struct zone *z);

/// NOTIFYs sent, answered, and given up since start (for tests and reports).
void dns_notify_counts(struct dns_notify *n, uint64_t *sent, uint64_t *acked, uint64_t *failed);

/// Stop the thread and free everything (NOTIFYs in flight are dropped).
void dns_notify_stop(struct dns_notify *n);

void notify_targets_free(struct notify_targets *ts);

#endif
