/*
 * dbsync: rampart-dnsbl --db, serving the lists of the listing database.
 *
 * At start every list of the database becomes a zone (the list's zone) with
 * one ds_db dataset, loaded from a consistent snapshot of its listings. Then
 * the main thread calls dbsync_poll() every few tens of milliseconds: a cheap
 * check (PRAGMA data_version) tells whether anything was committed; if so,
 * each list's journal after the serial already applied is read and applied
 * to its dataset in place (ds_db.h), new lists become zones, and a config
 * copy carrying the new SOA serials is published. Once a second the listings
 * whose time has passed are expired (journalled like any removal).
 *
 * Each zone's SOA: the list's serial (mod 2^32), the first --db-ns name as
 * MNAME, hostmaster.ZONE as RNAME, refresh 1h, retry 10m, expire 7d, and the
 * list's TTL as TTL and negative TTL; NS records from --db-ns.
 *
 * Privileges: the database is opened, and read once, before chroot and the
 * privilege drop, so the open files stay usable by the unprivileged user.
 */
#ifndef RAMPART_DNS_DBSYNC_H
#define RAMPART_DNS_DBSYNC_H

#include <stdint.h>

#include "server.h"
#include "zone.h"

enum { DBSYNC_MAX_NS = 8 };

struct dbsync_options {
    const char *path;
    const char *ns[DBSYNC_MAX_NS];  /* --db-ns names */
    int nns;
};

struct dbsync;

/// Open the database and add a zone for every list to *cfgp (replaced by a
/// new config; the old one is freed). Returns NULL (logged) on failure.
struct dbsync *dbsync_open(const struct dbsync_options *o, struct dns_config **cfgp);

/// Apply what was committed since the last call, publish it through srv and
/// update *cfgp. Main thread only. Returns the number of changes applied
/// (0: nothing new), or -1 (logged; the served data stays as it was).
int dbsync_poll(struct dbsync *d, struct dns_server *srv, struct dns_config **cfgp);

/// IXFR from the lists' journals (xfr.h): called on the TCP thread, with a
/// database handle of its own. Lives as long as d.
struct xfr_journal;
const struct xfr_journal *dbsync_journal(struct dbsync *d);

/// Close the database. Stop the server (its TCP thread) first.
void dbsync_close(struct dbsync *d);

#endif
