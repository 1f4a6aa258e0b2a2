/*
 * ds_db: the dataset of a list from the listing database (rampart-dnsbl --db).
 *
 * Unlike the file datasets, which are built once and replaced whole, this one
 * changes in place, one listing at a time, while the workers read it: the DB
 * follower (dbsync.c) applies each journal change as it is committed, so a
 * listing is answered within a second of its commit even with 10M loaded,
 * without rebuilding anything.
 *
 * Structure: one open-addressing hash table of 16-byte slots. A listing's key
 * is a 64-bit keyed SipHash fingerprint of (kind, prefix length, masked
 * address) or (kind, wildcard form, name); the slot holds the fingerprint and
 * a value word (index into a value table of (A, TXT) pairs, and an exclusion
 * bit). A lookup probes, most specific first, the prefix lengths the list
 * holds (a bitmask kept up to date) or the name and its wildcard forms. Two
 * different keys with one fingerprint would be confused: with 10M entries the
 * chance that a given query meets such a pair is below 1e-12.
 *
 * Concurrency: one writer (the follower thread), any number of readers, no
 * locks. A new slot gets its value first and its fingerprint last (release);
 * a deleted slot becomes a tombstone and is never reused in place; when the
 * table fills (live + tombstones > 70%) the writer builds a new one and
 * publishes it with an atomic pointer, and frees the old one after a grace
 * period (dsdb_free_retired). Values are appended in chunks that never move.
 *
 * Empty non-terminals (RFC 8020): a partial reversed address (1..3 octets,
 * 1..31 nibbles) answers NODATA in an address list, as if the list's address
 * space were all present; a domain list keeps a count of listings below each
 * name and answers NODATA for a name with listings below it.
 */
#ifndef RAMPART_DNS_DS_DB_H
#define RAMPART_DNS_DS_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dataset.h"

extern const struct ds_type ds_type_db;

enum dsdb_kind { DSDB_IP4 = 1, DSDB_IP6 = 2, DSDB_DNS = 3, DSDB_COMBINED = 4 };

/// A new, empty list dataset. label names it in logs. The list's default
/// value (A code, TXT template with $, TTL) applies to listings without their
/// own. `store_path` and `list_id` let -d and zone transfers read the list
/// back from the database (the walk). NULL on OOM.
struct dataset *dsdb_new(enum dsdb_kind kind, const char *label, uint32_t code, const char *txt,
                         uint32_t ttl, const char *store_path, int64_t list_id);

/// Add a listing, or change its value if it is there (writer only). entry is
/// in the store's canonical form; excluded marks an exclusion; code 0 and txt
/// NULL take the list's defaults. Returns 0, or -1 if the entry does not parse
/// for this kind of list (then nothing changed).
int dsdb_add(struct dataset *ds, const char *entry, bool excluded, uint32_t code, const char *txt);

/// Remove a listing (writer only). Returns 0, 1 if it was not there, -1 if it
/// does not parse.
int dsdb_remove(struct dataset *ds, const char *entry, bool excluded);

/// After a batch of changes to any number of lists: if tables were replaced
/// by bigger ones, call synchronize(arg) (it must return once no reader can
/// hold an old table) and free them. Writer only; the writer keeps one list
/// of replaced tables for every database dataset.
void dsdb_free_retired(void (*synchronize)(void *arg), void *arg);

struct store_entry;

/// The records (as a walk gives them) of one listing of this list: for IXFR,
/// from a journal row. Returns 0, or 1 if emit stopped.
int dsdb_entry_rrs(const struct dataset *ds, const struct store_entry *e, ds_emit_fn emit, void *ctx);

/// Listings held now.
size_t dsdb_count(const struct dataset *ds);

#endif
