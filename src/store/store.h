/*
 * store: the listing database, Rampart's source of truth for its blocklists.
 *
 * One SQLite 3 file (WAL, foreign keys on, busy timeout, parameterised SQL
 * only) holding:
 *   lists      name, zone, dataset kind, default A code, TXT template, TTL,
 *              and the list's serial (the last journal serial);
 *   listings   one row per entry (an IPv4 or IPv6 address or CIDR, or a
 *              domain: "example.com", "*.example.com" for subdomains only,
 *              ".example.com" for the domain and its subdomains), its code,
 *              reason, source, evidence reference, created, expires; an entry
 *              may be an exclusion ("!" in rbldnsd files);
 *   journal    append-only: every add, change and removal, numbered by a
 *              per-list serial that only grows (IXFR and live updates read it);
 *   audit      who, what, why, when, for every add, change, removal, expiry.
 * The schema is versioned (PRAGMA user_version) and migrated on open.
 *
 * Writers: the `rampart list` commands and rampart-dnsbl's expiry pass. A
 * batch of changes is one transaction: all of it or none, even when the
 * process is killed in the middle. Readers: rampart-dnsbl (full load at start,
 * then the journal) and zone transfers.
 *
 * Trust boundary: entries come from operators, spamtraps and imported files;
 * every entry is parsed and canonicalised here (store_entry_parse) before it
 * reaches SQL, and refused with a reason if malformed (a host part in a CIDR,
 * an unsafe or over-long name).
 *
 * Errors: functions return 0 or a negative STORE_E* code and write a message
 * into the store's last-error buffer (store_error()).
 */
#ifndef RAMPART_STORE_STORE_H
#define RAMPART_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum store_kind { STORE_IP4 = 1, STORE_IP6 = 2, STORE_DNS = 3, STORE_COMBINED = 4 };

enum {
    STORE_OK = 0,
    STORE_EINVAL = -1,   /* bad input: malformed entry, unknown list, bad option */
    STORE_EEXIST = -2,   /* a list of that name or zone exists */
    STORE_ENOENT = -3,   /* no such list or listing */
    STORE_EDB = -4,      /* SQLite failed (message says why) */
    STORE_EBUSY = -5,    /* the database stayed locked past the busy timeout */
};

struct store;

/// Open (creating and migrating if needed) the database at path. readonly:
/// no schema changes and no writes. Returns 0 and *out, or an error with a
/// message in err.
int store_open(const char *path, bool readonly, struct store **out, char *err, size_t errcap);
void store_close(struct store *s);

/// The message of the last error on this handle.
const char *store_error(const struct store *s);

/// Has any connection committed a change since the last call? (PRAGMA
/// data_version: cheap enough to call every few milliseconds.)
int store_changed(struct store *s, bool *changed);

struct store_list {
    int64_t id;
    char name[64];
    char zone[256];               /* without the trailing dot */
    enum store_kind kind;
    uint32_t code;                /* default A value, host order (127.0.0.2 = 0x7f000002) */
    char txt[256];                /* default TXT template ("" none), rbldnsd's $ substitution */
    uint32_t ttl;
    uint64_t serial;              /* the last journal serial of this list (0: empty) */
};

/// Every list, in id order. fn returns non-zero to stop (then that value is returned).
int store_lists(struct store *s, int (*fn)(void *ctx, const struct store_list *l), void *ctx);
int store_list_get(struct store *s, const char *name, struct store_list *out);

/// A listing as the DNS side needs it.
struct store_entry {
    const char *entry;            /* canonical text (see above) */
    bool excluded;                /* an exclusion ("!entry") */
    uint32_t code;                /* A value, host order; 0 = the list's default */
    const char *txt;              /* the listing's own TXT, or NULL for the list's template */
    int64_t expires;              /* unix seconds, 0 = never */
};

/// Every active (not expired at `now`) listing of a list, read in one
/// transaction; *serial is the list's serial that snapshot corresponds to.
int store_listings_each(struct store *s, int64_t list_id, int64_t now, uint64_t *serial,
                        int (*fn)(void *ctx, const struct store_entry *e), void *ctx);

enum store_op { STORE_ADD = 1, STORE_REMOVE = 2 };

struct store_change {
    uint64_t serial;
    enum store_op op;             /* a change of what DNS serves is a STORE_REMOVE of the old
                                     value (code, txt as they were) then a STORE_ADD of the new */
    struct store_entry e;
    int64_t at;                   /* unix seconds */
};

/// The journal of a list after serial `since`, in serial order, at most max
/// changes (0: all). Returns the number passed to fn, or an error.
int store_journal_since(struct store *s, int64_t list_id, uint64_t since, size_t max,
                        int (*fn)(void *ctx, const struct store_change *c), void *ctx);

/// The oldest serial the journal still holds for a list (older ones were
/// pruned: a reader behind it must reload the whole list).
int store_journal_first(struct store *s, int64_t list_id, uint64_t *serial);

/// Remove every listing whose expiry is at or before now, journalled and
/// audited as an expiry by `actor`. *count: how many. One transaction.
int store_expire(struct store *s, int64_t now, const char *actor, size_t *count);

/* ==== Beyond the contract: what the `rampart list` commands need ====
 *
 * Ownership: every pointer a callback receives is valid during that call only.
 * Keys: a listing is identified by its list and its canonical entry text
 * (store/entry.h); "excluded" is one of its values, so "!1.2.3.4" replaces a
 * listing of 1.2.3.4 and a journal reader keyed by entry text stays right.
 */

/// What an entry is (store/entry.h parses them). Stored with each listing.
enum store_family { STORE_FAM_IP4 = 1, STORE_FAM_IP6 = 2, STORE_FAM_DNS = 3 };

/// The schema this code writes (PRAGMA user_version); older ones migrate on open.
enum { STORE_SCHEMA_VERSION = 2 };

/// Journal pruning, at the end of every write transaction: a change is kept
/// while it is among the last max_changes of its list and no older than
/// max_age seconds (0: no limit). Defaults: 100,000 changes, 30 days. A batch
/// of more changes than max_changes writes no journal rows at all: readers
/// behind it reload the list (store_journal_first says so).
void store_set_journal_limits(struct store *s, uint64_t max_changes, int64_t max_age);

/// The current time as the store sees it (unix seconds). Tests may set a
/// fixed clock (0: the real one again).
void store_set_clock(struct store *s, int64_t now);
int64_t store_now(const struct store *s);

/// Create a list from l's name, zone, kind, code, txt and ttl (each checked:
/// STORE_EINVAL with the reason; STORE_EEXIST for a taken name or zone).
/// Sets l->id and l->serial (0). Audited as "create" by actor.
int store_list_create(struct store *s, struct store_list *l, const char *actor, const char *reason);

/// Drop a list: its listings and journal go, its audit trail stays (and
/// records the drop). *count: how many listings it had.
int store_list_drop(struct store *s, const char *name, const char *actor, const char *reason,
                    uint64_t *count);

struct store_list_stats {
    uint64_t listings;            /* active and excluded, not yet expired at now */
    uint64_t excluded;
    uint64_t ip4, ip6, dns;
    uint64_t with_expiry;         /* active listings that will expire */
    uint64_t expired;             /* due, waiting for the expiry pass */
    uint64_t journal_rows;
    uint64_t journal_first;       /* as store_journal_first */
    int64_t created, last_change; /* unix seconds; last_change 0: none */
};

int store_list_stats(struct store *s, int64_t list_id, int64_t now, struct store_list_stats *out);

/// A listing with everything the database keeps about it.
struct store_listing {
    struct store_entry e;
    enum store_family family;
    const char *list;             /* the list's name */
    const char *reason, *source, *evidence;
    int64_t created, updated;
};

/// One listing of a list by canonical entry text (expired or not): fn is
/// called once. STORE_ENOENT if there is none.
int store_listing_get(struct store *s, int64_t list_id, const char *entry,
                      int (*fn)(void *ctx, const struct store_listing *l), void *ctx);

/// Every listing of a list not expired at now, IPv4 first, then IPv6, then
/// domains, in one read transaction; *serial as in store_listings_each.
int store_listings_full(struct store *s, int64_t list_id, int64_t now, uint64_t *serial,
                        int (*fn)(void *ctx, const struct store_listing *l), void *ctx);

struct store_parsed;

/// Listings in any list (list_id 0) or one that cover p: for an address or
/// CIDR every listed prefix that contains it, for a domain the exact entry
/// and the wildcards of it and of its parents. Exclusions are reported as
/// such; expired ones are not. Returns how many fn saw.
int store_search_covering(struct store *s, int64_t list_id, const struct store_parsed *p, int64_t now,
                          int (*fn)(void *ctx, const struct store_listing *l), void *ctx);

/// Listings whose entry text matches a GLOB pattern (SQLite's: * ? [...]),
/// in any list (0) or one, at most max (0: no limit). Returns how many.
int store_search_glob(struct store *s, int64_t list_id, const char *pattern, int64_t now, size_t max,
                      int (*fn)(void *ctx, const struct store_listing *l), void *ctx);

/// One row of the audit trail.
struct store_audit {
    int64_t id, at;
    const char *actor;
    const char *action;           /* create, drop, add, change, remove, expire */
    const char *list;             /* the list's name (kept after a drop) */
    const char *entry;            /* canonical entry; NULL for list actions */
    uint64_t serial;              /* the journal serial of the change, 0: none */
    const char *reason, *detail;
};

/// The audit trail of a list (entry NULL: every row of it), oldest first,
/// at most the newest max rows (0: all). Returns how many.
int store_audit_each(struct store *s, const char *list, const char *entry, size_t max,
                     int (*fn)(void *ctx, const struct store_audit *a), void *ctx);

/* ---- writing: a batch is one transaction ---- */

struct store_batch;

struct store_batch_info {
    const char *list;             /* the list's name */
    const char *actor;            /* who, for the audit */
    const char *reason;           /* why: the default of every change in the batch ("" none) */
    const char *origin;           /* how (e.g. "import spammers.rbl:12"), in each audit row's detail;
                                     read at each change, so the caller may rewrite it in between */
    bool track_seen;              /* remember every entry added or confirmed, for remove_unseen */
};

/// Start a batch on a list (BEGIN IMMEDIATE, waiting up to the busy
/// timeout). STORE_ENOENT: no such list.
int store_batch_begin(struct store *s, const struct store_batch_info *info, struct store_batch **out);

/// The list the batch writes to.
const struct store_list *store_batch_list(const struct store_batch *b);

enum {
    STORE_SET_CODE = 1, STORE_SET_TXT = 2, STORE_SET_EXPIRES = 4, STORE_SET_REASON = 8,
    STORE_SET_SOURCE = 16, STORE_SET_EVIDENCE = 32, STORE_SET_ALL = 63,
};

/// The values of an add. Fields not in `set` keep the listing's current
/// value, or take the default for a new listing (code and TXT: the list's;
/// expires: never; texts: "").
struct store_values {
    unsigned set;
    uint32_t code;                /* 0 or the list's code: the list's default */
    const char *txt;              /* NULL, "" or the list's template: the list's */
    int64_t expires;              /* unix seconds, 0: never */
    const char *reason, *source, *evidence;
};

enum store_outcome { STORE_ADDED = 1, STORE_CHANGED, STORE_UNCHANGED, STORE_REMOVED };

/// Can list l hold p (its kind, and for a domain the length of the names it
/// makes under the zone)? 0, or STORE_EINVAL with the reason in err. The
/// same check store_batch_add makes, for callers that want to refuse early.
int store_list_check_entry(const struct store_list *l, const struct store_parsed *p, char *err, size_t errcap);

/// Add a listing, or update it if the entry is listed (a change of what DNS
/// serves is journalled as a STORE_ADD of the new value). *outcome: ADDED,
/// CHANGED or UNCHANGED. STORE_EINVAL (the batch stays usable, nothing
/// written for this entry): the list cannot hold it, or a bad value.
int store_batch_add(struct store_batch *b, const struct store_parsed *p, const struct store_values *v,
                    enum store_outcome *outcome);

/// Remove a listing (reason NULL: the batch's). STORE_ENOENT ("not listed in
/// NAME: ENTRY"; the batch stays usable) if it is not listed, or listed with
/// the other exclusion flag.
int store_batch_remove(struct store_batch *b, const struct store_parsed *p, const char *reason);

/// With track_seen: remove every listing of the list that this batch did not
/// add or confirm (an import with --replace). *count: how many.
int store_batch_remove_unseen(struct store_batch *b, uint64_t *count);

struct store_batch_counts {
    uint64_t added, changed, unchanged, removed;
    uint64_t serial;              /* the list's serial after the batch */
    bool journal_reset;           /* the batch was too large for the journal */
};

void store_batch_counts(const struct store_batch *b, struct store_batch_counts *out);

/// Commit (then free) the batch. On failure nothing of it is applied.
int store_batch_commit(struct store_batch *b);

/// Roll back (then free) the batch.
void store_batch_abort(struct store_batch *b);

/* ---- reading a whole list as a snapshot (zone transfers) ---- */

struct store_cursor;

/// Open a snapshot of a list's active listings (at `now`) on its own
/// read-only connection: later commits do not change what it gives. Costs a
/// connection and a read transaction until closed. 0, or an error with err.
int store_cursor_open(const char *path, int64_t list_id, int64_t now, struct store_cursor **out,
                      char *err, size_t errcap);

/// The list's serial in the snapshot.
uint64_t store_cursor_serial(const struct store_cursor *c);

/// The next listing, in key order (valid until the next call): 1, or 0 at
/// the end, or an error.
int store_cursor_next(struct store_cursor *c, struct store_entry *e);

void store_cursor_close(struct store_cursor *c);

#endif
