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
    enum store_op op;             /* a change of code or text is a STORE_ADD of the new value */
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

#endif
