/*
 * store_priv.h: what store.c (schema, reads) and batch.c (writes) share:
 * the handle, its prepared statements and error helpers. Not for callers.
 *
 * Every SQL text lives in the sql_text[] table of store.c, each prepared once
 * per handle on first use (SQLITE_PREPARE_PERSISTENT) and reset after use;
 * values are always bound, never formatted into SQL.
 */
#ifndef RAMPART_STORE_PRIV_H
#define RAMPART_STORE_PRIV_H

#include <sqlite3.h>

#include "store.h"

enum stmt_id {
    Q_BEGIN_READ, Q_BEGIN_WRITE, Q_COMMIT, Q_ROLLBACK,
    Q_DATA_VERSION,
    Q_LISTS, Q_LIST_BY_NAME, Q_LIST_BY_ID, Q_LIST_BY_ZONE, Q_LIST_INSERT, Q_LIST_DELETE, Q_LIST_FLUSH,
    Q_LIST_SERIAL,
    Q_LISTINGS_EACH, Q_LISTINGS_FULL, Q_LISTING_GET, Q_LISTING_INSERT, Q_LISTING_UPDATE,
    Q_LISTING_DELETE, Q_LISTING_COUNT,
    Q_STATS, Q_STATS_EXPIRED, Q_STATS_JOURNAL,
    Q_SEARCH_GLOB,
    Q_JOURNAL_INSERT, Q_JOURNAL_SINCE, Q_JOURNAL_PRUNE_SERIAL, Q_JOURNAL_OLDEST, Q_JOURNAL_AGED,
    Q_JOURNAL_CLEAR,
    Q_AUDIT_INSERT, Q_AUDIT_ENTRY, Q_AUDIT_LIST, Q_AUDIT_ID_GET, Q_AUDIT_ID_SET,
    Q_EXPIRE_DUE,
    Q_SEEN_CREATE, Q_SEEN_CLEAR, Q_SEEN_ADD, Q_UNSEEN,
    Q_COUNT
};

struct store {
    sqlite3 *db;
    bool readonly;
    sqlite3_stmt *stmt[Q_COUNT];
    int64_t data_version;
    int64_t total_changes;
    uint64_t journal_max_changes;
    int64_t journal_max_age;
    int64_t clock;                /* fixed time for tests, 0: real */
    bool in_batch;
    int64_t audit_id;             /* in a write transaction: the last audit id used */
    bool audit_dirty;
    char err[512];
};

/// The statement, prepared on first use; NULL on failure (message in s->err).
sqlite3_stmt *store_stmt(struct store *s, enum stmt_id id);

/// Record an SQLite failure (rc) with context; returns STORE_EBUSY or STORE_EDB.
int store_sql_error(struct store *s, int rc, const char *what);

/// Record a message and return code.
int store_fail(struct store *s, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/// Run a statement without results to completion (then reset). 0 or error.
int store_exec_stmt(struct store *s, enum stmt_id id, const char *what);

/// Read a list row (columns as in Q_LIST_BY_NAME) into out.
void store_row_list(sqlite3_stmt *st, struct store_list *out);

/// Remove old journal rows of a list, given its serial and pruned mark;
/// *pruned is raised to the highest serial removed. 0 or error.
int store_prune_journal(struct store *s, int64_t list_id, uint64_t serial, int64_t now, uint64_t *pruned);

#endif
