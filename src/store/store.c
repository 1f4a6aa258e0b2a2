/*
 * store.c: the listing database's schema, migrations, handle and reads
 * (store.h). Writes are in batch.c.
 *
 * Schema (PRAGMA user_version = STORE_SCHEMA_VERSION, application_id 'RAMP'):
 *   lists     id, name UNIQUE, zone UNIQUE, kind, code, txt, ttl, serial,
 *             journal_pruned (the highest serial no longer in the journal),
 *             changed (time of the last journalled change), created
 *   listings  PRIMARY KEY (list_id, family, entry), WITHOUT ROWID: a list's
 *             listings are one contiguous run of the b-tree, read in order
 *             by rampart-dnsbl and export; excluded, code, txt, reason,
 *             source, evidence, created, updated, expires; a partial index on
 *             expires > 0 for the expiry pass
 *   journal   PRIMARY KEY (list_id, serial), WITHOUT ROWID: op, entry,
 *             excluded, code, txt, expires, at. Triggers: a row's serial is
 *             above its list's committed serial (the key keeps them unique
 *             within a batch), rows are never updated (pruning deletes the
 *             oldest)
 *   audit     PRIMARY KEY (list name, entry, id), WITHOUT ROWID: an entry's
 *             history is one run of the b-tree and a row costs one insert;
 *             at, actor, action, serial, reason, detail. entry '' is the
 *             list's own (create, drop). id orders all rows (meta.audit_id
 *             holds the last). Triggers refuse any update or delete: the
 *             trail outlives the lists it describes
 *   meta      key -> integer (audit_id)
 * Foreign keys: listings and journal rows belong to their list (deleted
 * with it). CHECK constraints hold the rules store/entry.c enforces first
 * (codes in 127.0.0.0/8, lengths, flags), so a bug cannot store nonsense.
 *
 * Migrations: migrations[v] takes a database from version v-1 to v, all in
 * one IMMEDIATE transaction with the version bump. Version 1 is the issue's
 * first schema; version 2 added per-listing TXT (rbldnsd imports carry one).
 *
 * Connections: WAL (readers never block the writer), synchronous=FULL (a
 * committed batch survives power loss), foreign_keys=ON, trusted_schema=OFF,
 * busy timeout 5 s. A handle is used by one thread at a time.
 */
#define _GNU_SOURCE
#include "store_priv.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "entry.h"

enum { BUSY_TIMEOUT_MS = 5000, APPLICATION_ID = 0x52414d50 /* 'RAMP' */ };

static const char schema_v1[] =
    "CREATE TABLE lists ("
    " id INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 63),"
    " zone TEXT NOT NULL UNIQUE CHECK (length(zone) BETWEEN 1 AND 253),"
    " kind INTEGER NOT NULL CHECK (kind BETWEEN 1 AND 4),"
    " code INTEGER NOT NULL CHECK (code BETWEEN 2130706434 AND 2147483647),"
    " txt TEXT NOT NULL DEFAULT '' CHECK (length(txt) <= 255),"
    " ttl INTEGER NOT NULL CHECK (ttl BETWEEN 0 AND 2147483647),"
    " serial INTEGER NOT NULL DEFAULT 0 CHECK (serial >= 0),"
    " journal_pruned INTEGER NOT NULL DEFAULT 0 CHECK (journal_pruned BETWEEN 0 AND serial),"
    " changed INTEGER NOT NULL DEFAULT 0,"
    " created INTEGER NOT NULL);"
    "CREATE TABLE listings ("
    " list_id INTEGER NOT NULL REFERENCES lists(id) ON DELETE CASCADE,"
    " family INTEGER NOT NULL CHECK (family BETWEEN 1 AND 3),"
    " entry TEXT NOT NULL CHECK (length(entry) BETWEEN 1 AND 255),"
    " excluded INTEGER NOT NULL DEFAULT 0 CHECK (excluded IN (0, 1)),"
    " code INTEGER NOT NULL DEFAULT 0 CHECK (code = 0 OR code BETWEEN 2130706434 AND 2147483647),"
    " reason TEXT NOT NULL DEFAULT '' CHECK (length(reason) <= 1024),"
    " source TEXT NOT NULL DEFAULT '' CHECK (length(source) <= 1024),"
    " evidence TEXT NOT NULL DEFAULT '' CHECK (length(evidence) <= 1024),"
    " created INTEGER NOT NULL,"
    " updated INTEGER NOT NULL,"
    " expires INTEGER NOT NULL DEFAULT 0 CHECK (expires >= 0),"
    " PRIMARY KEY (list_id, family, entry)) WITHOUT ROWID;"
    "CREATE INDEX listings_expiry ON listings (expires) WHERE expires > 0;"
    "CREATE TABLE journal ("
    " list_id INTEGER NOT NULL REFERENCES lists(id) ON DELETE CASCADE,"
    " serial INTEGER NOT NULL CHECK (serial > 0),"
    " op INTEGER NOT NULL CHECK (op IN (1, 2)),"
    " entry TEXT NOT NULL,"
    " excluded INTEGER NOT NULL DEFAULT 0 CHECK (excluded IN (0, 1)),"
    " code INTEGER NOT NULL DEFAULT 0,"
    " expires INTEGER NOT NULL DEFAULT 0,"
    " at INTEGER NOT NULL,"
    " PRIMARY KEY (list_id, serial)) WITHOUT ROWID;"
    "CREATE TRIGGER journal_serial_grows BEFORE INSERT ON journal"
    " WHEN NEW.serial <= (SELECT serial FROM lists WHERE id = NEW.list_id)"
    " BEGIN SELECT RAISE(ABORT, 'journal serials only grow'); END;"
    "CREATE TRIGGER journal_append_only BEFORE UPDATE ON journal"
    " BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;"
    "CREATE TRIGGER list_serial_grows BEFORE UPDATE OF serial ON lists WHEN NEW.serial < OLD.serial"
    " BEGIN SELECT RAISE(ABORT, 'a list serial never decreases'); END;"
    "CREATE TABLE audit ("
    " list TEXT NOT NULL,"
    " entry TEXT NOT NULL,"
    " id INTEGER NOT NULL,"
    " at INTEGER NOT NULL,"
    " actor TEXT NOT NULL,"
    " action TEXT NOT NULL CHECK (action IN ('create', 'drop', 'add', 'change', 'remove', 'expire')),"
    " serial INTEGER,"
    " reason TEXT NOT NULL DEFAULT '',"
    " detail TEXT NOT NULL DEFAULT '',"
    " PRIMARY KEY (list, entry, id)) WITHOUT ROWID;"
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;"
    "INSERT INTO meta (key, value) VALUES ('audit_id', 0);"
    "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit"
    " BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;"
    "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit"
    " BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;";

static const char schema_v2[] =
    "ALTER TABLE listings ADD COLUMN txt TEXT CHECK (txt IS NULL OR length(txt) BETWEEN 1 AND 255);"
    "ALTER TABLE journal ADD COLUMN txt TEXT;";

static const char *const migrations[STORE_SCHEMA_VERSION + 1] = {NULL, schema_v1, schema_v2};

/* Columns of a listing row, in the order row_listing() reads them. */
#define LISTING_COLS \
    "l.entry, l.excluded, l.code, l.txt, l.expires, l.family, l.reason, l.source, l.evidence, " \
    "l.created, l.updated, lists.name"
#define LIST_COLS "id, name, zone, kind, code, txt, ttl, serial"

static const char *const sql_text[Q_COUNT] = {
    [Q_BEGIN_READ] = "BEGIN",
    [Q_BEGIN_WRITE] = "BEGIN IMMEDIATE",
    [Q_COMMIT] = "COMMIT",
    [Q_ROLLBACK] = "ROLLBACK",
    [Q_DATA_VERSION] = "PRAGMA data_version",
    [Q_LISTS] = "SELECT " LIST_COLS " FROM lists ORDER BY id",
    [Q_LIST_BY_NAME] = "SELECT " LIST_COLS " FROM lists WHERE name = ?1",
    [Q_LIST_BY_ID] = "SELECT " LIST_COLS " FROM lists WHERE id = ?1",
    [Q_LIST_BY_ZONE] = "SELECT " LIST_COLS " FROM lists WHERE zone = ?1",
    [Q_LIST_INSERT] = "INSERT INTO lists (name, zone, kind, code, txt, ttl, created)"
                      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [Q_LIST_DELETE] = "DELETE FROM lists WHERE id = ?1",
    [Q_LIST_FLUSH] = "UPDATE lists SET serial = ?2, journal_pruned = ?3, changed = ?4 WHERE id = ?1",
    [Q_LIST_SERIAL] = "SELECT serial, journal_pruned, changed, created FROM lists WHERE id = ?1",
    [Q_LISTINGS_EACH] = "SELECT entry, excluded, code, txt, expires FROM listings"
                        " WHERE list_id = ?1 AND (expires = 0 OR expires > ?2)",
    [Q_LISTINGS_FULL] = "SELECT " LISTING_COLS " FROM listings l JOIN lists ON lists.id = l.list_id"
                        " WHERE l.list_id = ?1 AND (l.expires = 0 OR l.expires > ?2)"
                        " ORDER BY l.family, l.entry",
    [Q_LISTING_GET] = "SELECT " LISTING_COLS " FROM listings l JOIN lists ON lists.id = l.list_id"
                      " WHERE l.list_id = ?1 AND l.family = ?2 AND l.entry = ?3",
    [Q_LISTING_INSERT] = "INSERT INTO listings (list_id, family, entry, excluded, code, txt, reason,"
                         " source, evidence, created, updated, expires)"
                         " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10, ?11)"
                         " ON CONFLICT DO NOTHING",
    [Q_LISTING_UPDATE] = "UPDATE listings SET excluded = ?4, code = ?5, txt = ?6, reason = ?7,"
                         " source = ?8, evidence = ?9, updated = ?10, expires = ?11"
                         " WHERE list_id = ?1 AND family = ?2 AND entry = ?3",
    [Q_LISTING_DELETE] = "DELETE FROM listings WHERE list_id = ?1 AND family = ?2 AND entry = ?3"
                         " RETURNING code, txt",
    [Q_LISTING_COUNT] = "SELECT count(*) FROM listings WHERE list_id = ?1",
    [Q_STATS] = "SELECT count(*), ifnull(sum(excluded), 0), ifnull(sum(family = 1), 0),"
                " ifnull(sum(family = 2), 0), ifnull(sum(family = 3), 0), ifnull(sum(expires > 0), 0)"
                " FROM listings WHERE list_id = ?1 AND (expires = 0 OR expires > ?2)",
    [Q_STATS_EXPIRED] = "SELECT count(*) FROM listings WHERE expires > 0 AND expires <= ?2"
                        " AND list_id = ?1",
    [Q_STATS_JOURNAL] = "SELECT count(*) FROM journal WHERE list_id = ?1",
    [Q_SEARCH_GLOB] = "SELECT " LISTING_COLS " FROM listings l JOIN lists ON lists.id = l.list_id"
                      " WHERE (?1 = 0 OR l.list_id = ?1) AND l.entry GLOB ?2"
                      " AND (l.expires = 0 OR l.expires > ?3)"
                      " ORDER BY l.list_id, l.family, l.entry LIMIT ?4",
    [Q_JOURNAL_INSERT] = "INSERT INTO journal (list_id, serial, op, entry, excluded, code, txt, expires, at)"
                         " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    [Q_JOURNAL_SINCE] = "SELECT serial, op, entry, excluded, code, txt, expires, at FROM journal"
                        " WHERE list_id = ?1 AND serial > ?2 ORDER BY serial LIMIT ?3",
    [Q_JOURNAL_PRUNE_SERIAL] = "DELETE FROM journal WHERE list_id = ?1 AND serial <= ?2",
    [Q_JOURNAL_OLDEST] = "SELECT serial, at FROM journal WHERE list_id = ?1 ORDER BY serial LIMIT 1",
    [Q_JOURNAL_AGED] = "SELECT max(serial) FROM journal WHERE list_id = ?1 AND at < ?2",
    [Q_JOURNAL_CLEAR] = "DELETE FROM journal WHERE list_id = ?1",
    [Q_AUDIT_INSERT] = "INSERT INTO audit (id, at, actor, action, list, entry, serial, reason, detail)"
                       " VALUES (?9, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [Q_AUDIT_ENTRY] = "SELECT * FROM (SELECT id, at, actor, action, list, entry, serial, reason, detail"
                      " FROM audit WHERE list = ?1 AND entry = ?2 ORDER BY id DESC LIMIT ?3) ORDER BY id",
    [Q_AUDIT_LIST] = "SELECT * FROM (SELECT id, at, actor, action, list, entry, serial, reason, detail"
                     " FROM audit WHERE list = ?1 ORDER BY id DESC LIMIT ?3) ORDER BY id",
    [Q_AUDIT_ID_GET] = "SELECT value FROM meta WHERE key = 'audit_id'",
    [Q_AUDIT_ID_SET] = "UPDATE meta SET value = ?1 WHERE key = 'audit_id'",
    [Q_EXPIRE_DUE] = "SELECT list_id, family, entry, excluded FROM listings"
                     " WHERE expires > 0 AND expires <= ?1 ORDER BY list_id",
    [Q_SEEN_CREATE] = "CREATE TEMP TABLE IF NOT EXISTS seen (family INTEGER NOT NULL, entry TEXT NOT NULL,"
                      " PRIMARY KEY (family, entry)) WITHOUT ROWID",
    [Q_SEEN_CLEAR] = "DELETE FROM temp.seen",
    [Q_SEEN_ADD] = "INSERT OR IGNORE INTO temp.seen (family, entry) VALUES (?1, ?2)",
    [Q_UNSEEN] = "SELECT l.family, l.entry, l.excluded FROM listings l WHERE l.list_id = ?1"
                 " AND NOT EXISTS (SELECT 1 FROM temp.seen s WHERE s.family = l.family"
                 " AND s.entry = l.entry)",
};

/* ---- errors and statements ---- */

int store_fail(struct store *s, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->err, sizeof s->err, fmt, ap);
    va_end(ap);
    return code;
}

int store_sql_error(struct store *s, int rc, const char *what)
{
    int primary = rc & 0xff;
    bool busy = primary == SQLITE_BUSY || primary == SQLITE_LOCKED;
    snprintf(s->err, sizeof s->err, "%s: %s%s", what, sqlite3_errmsg(s->db),
             busy ? " (the database stayed locked past the busy timeout)" : "");
    return busy ? STORE_EBUSY : STORE_EDB;
}

sqlite3_stmt *store_stmt(struct store *s, enum stmt_id id)
{
    if (!s->stmt[id]) {
        int rc = sqlite3_prepare_v3(s->db, sql_text[id], -1, SQLITE_PREPARE_PERSISTENT, &s->stmt[id], NULL);
        if (rc != SQLITE_OK) {
            store_sql_error(s, rc, "preparing a statement");
            s->stmt[id] = NULL;
        }
    }
    return s->stmt[id];
}

int store_exec_stmt(struct store *s, enum stmt_id id, const char *what)
{
    sqlite3_stmt *st = store_stmt(s, id);
    if (!st)
        return STORE_EDB;
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        return store_sql_error(s, rc, what);
    return 0;
}

const char *store_error(const struct store *s)
{
    return s->err;
}

/* ---- open, migrate, close ---- */

static int pragma_int(sqlite3 *db, const char *sql, int64_t *out)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return rc;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *out = sqlite3_column_int64(st, 0);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    return rc;
}

static int migrate(struct store *s, const char *path)
{
    int64_t version = 0, app = 0;
    int rc = pragma_int(s->db, "PRAGMA user_version", &version);
    if (rc == SQLITE_OK)
        rc = pragma_int(s->db, "PRAGMA application_id", &app);
    if (rc != SQLITE_OK)
        return store_sql_error(s, rc, path);
    if (app != 0 && app != APPLICATION_ID)
        return store_fail(s, STORE_EDB, "%s: not a Rampart database (application_id %lld)", path,
                          (long long)app);
    if (version > STORE_SCHEMA_VERSION)
        return store_fail(s, STORE_EDB, "%s: schema version %lld is newer than this program's (%d): use "
                          "a newer rampart", path, (long long)version, STORE_SCHEMA_VERSION);
    if (version == STORE_SCHEMA_VERSION)
        return 0;
    if (s->readonly)
        return store_fail(s, STORE_EDB, "%s: schema version %lld is older than this program's (%d); "
                          "open it once for writing (e.g. rampart list expire) to migrate it", path,
                          (long long)version, STORE_SCHEMA_VERSION);
    if ((rc = store_exec_stmt(s, Q_BEGIN_WRITE, path)) < 0)
        return rc;
    /* again inside the transaction: another process may have migrated it */
    int64_t tables = 0;
    rc = pragma_int(s->db, "PRAGMA user_version", &version);
    if (rc == SQLITE_OK)
        rc = pragma_int(s->db, "SELECT count(*) FROM sqlite_schema", &tables);
    if (rc != SQLITE_OK) {
        int e = store_sql_error(s, rc, path);
        store_exec_stmt(s, Q_ROLLBACK, "rollback");
        return e;
    }
    if (version == 0 && tables > 0 && app != APPLICATION_ID) {
        store_exec_stmt(s, Q_ROLLBACK, "rollback");
        return store_fail(s, STORE_EDB, "%s: not a Rampart database (it has tables but no Rampart schema)",
                          path);
    }
    int64_t from = version;
    for (int64_t v = version + 1; v <= STORE_SCHEMA_VERSION && rc == SQLITE_OK; v++) {
        char *msg = NULL;
        rc = sqlite3_exec(s->db, migrations[v], NULL, NULL, &msg);
        if (rc != SQLITE_OK) {
            store_fail(s, STORE_EDB, "%s: migration to schema version %lld failed: %s", path, (long long)v,
                       msg ? msg : sqlite3_errstr(rc));
            sqlite3_free(msg);
            store_exec_stmt(s, Q_ROLLBACK, "rollback");
            return STORE_EDB;
        }
    }
    /* constants of this program, not input: nothing to bind */
    char bump[96];
    snprintf(bump, sizeof bump, "PRAGMA application_id = %d; PRAGMA user_version = %d", APPLICATION_ID,
             STORE_SCHEMA_VERSION);
    rc = sqlite3_exec(s->db, bump, NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        int e = store_sql_error(s, rc, path);
        store_exec_stmt(s, Q_ROLLBACK, "rollback");
        return e;
    }
    if ((rc = store_exec_stmt(s, Q_COMMIT, path)) < 0) {
        store_exec_stmt(s, Q_ROLLBACK, "rollback");
        return rc;
    }
    if (from > 0)
        log_info("event=store-migrate path=\"%s\" from=%lld to=%d", path, (long long)from,
                 STORE_SCHEMA_VERSION);
    return 0;
}

static void configure_sqlite(void)
{
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

int store_open(const char *path, bool readonly, struct store **out, char *err, size_t errcap)
{
    *out = NULL;
    /* before SQLite's first use in the process: no global memory statistics
     * (a mutex per allocation); later calls are refused harmlessly */
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, configure_sqlite);
    struct store *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errcap, "out of memory");
        return STORE_EDB;
    }
    s->readonly = readonly;
    s->journal_max_changes = 100000;
    s->journal_max_age = 30 * 86400;
    if (readonly && access(path, F_OK) != 0) {
        snprintf(err, errcap, "%s: %s", path, strerror(errno));
        free(s);
        return STORE_EDB;
    }
    int flags = (readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
                SQLITE_OPEN_NOMUTEX;
    int rc = sqlite3_open_v2(path, &s->db, flags, NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, errcap, "%s: %s", path, s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
        sqlite3_close(s->db);
        free(s);
        return STORE_EDB;
    }
    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
    char *msg = NULL;
    rc = sqlite3_exec(s->db, "PRAGMA foreign_keys = ON; PRAGMA trusted_schema = OFF;"
                             "PRAGMA temp_store = MEMORY; PRAGMA cache_size = -8192",
                      NULL, NULL, &msg);
    if (rc == SQLITE_OK && !readonly) {
        int64_t ignored;
        rc = sqlite3_exec(s->db, "PRAGMA synchronous = FULL", NULL, NULL, &msg);
        /* journal_mode returns the mode now in force */
        sqlite3_stmt *st;
        if (rc == SQLITE_OK && (rc = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode = WAL", -1, &st, NULL)) ==
                                   SQLITE_OK) {
            rc = sqlite3_step(st);
            const unsigned char *mode = rc == SQLITE_ROW ? sqlite3_column_text(st, 0) : NULL;
            rc = mode && strcmp((const char *)mode, "wal") == 0 ? SQLITE_OK
                 : rc == SQLITE_ROW                            ? SQLITE_CANTOPEN
                                                               : rc;
            sqlite3_finalize(st);
        }
        (void)ignored;
    }
    if (rc != SQLITE_OK) {
        snprintf(err, errcap, "%s: %s", path, msg ? msg : rc == SQLITE_CANTOPEN ? "cannot use WAL mode"
                                                                               : sqlite3_errmsg(s->db));
        sqlite3_free(msg);
        store_close(s);
        return (rc & 0xff) == SQLITE_BUSY ? STORE_EBUSY : STORE_EDB;
    }
    rc = migrate(s, path);
    if (rc < 0) {
        snprintf(err, errcap, "%s", s->err);
        store_close(s);
        return rc;
    }
    s->total_changes = sqlite3_total_changes64(s->db);
    sqlite3_stmt *dv = store_stmt(s, Q_DATA_VERSION);
    if (dv && sqlite3_step(dv) == SQLITE_ROW)
        s->data_version = sqlite3_column_int64(dv, 0);
    if (dv)
        sqlite3_reset(dv);
    *out = s;
    return 0;
}

void store_close(struct store *s)
{
    if (!s)
        return;
    for (int i = 0; i < Q_COUNT; i++)
        sqlite3_finalize(s->stmt[i]);
    sqlite3_close(s->db);
    free(s);
}

void store_set_journal_limits(struct store *s, uint64_t max_changes, int64_t max_age)
{
    s->journal_max_changes = max_changes;
    s->journal_max_age = max_age;
}

void store_set_clock(struct store *s, int64_t now)
{
    s->clock = now;
}

int64_t store_now(const struct store *s)
{
    return s->clock ? s->clock : (int64_t)time(NULL);
}

int store_changed(struct store *s, bool *changed)
{
    *changed = false;
    sqlite3_stmt *st = store_stmt(s, Q_DATA_VERSION);
    if (!st)
        return STORE_EDB;
    int rc = sqlite3_step(st);
    int64_t v = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    if (rc != SQLITE_ROW)
        return store_sql_error(s, rc, "data_version");
    /* data_version moves for other connections' commits, total_changes for ours */
    int64_t total = sqlite3_total_changes64(s->db);
    *changed = v != s->data_version || total != s->total_changes;
    s->data_version = v;
    s->total_changes = total;
    return 0;
}

/* ---- read transactions ---- */

/* Begin a read transaction unless one is open; *began says whether to end it. */
static int read_begin(struct store *s, bool *began)
{
    *began = false;
    if (!sqlite3_get_autocommit(s->db))
        return 0;
    int rc = store_exec_stmt(s, Q_BEGIN_READ, "begin");
    *began = rc == 0;
    return rc;
}

static void read_end(struct store *s, bool began)
{
    if (began)
        store_exec_stmt(s, Q_COMMIT, "end of read");
}

static const char *col_text(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? (const char *)t : "";
}

static const char *col_text_or_null(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? NULL : (const char *)sqlite3_column_text(st, i);
}

void store_row_list(sqlite3_stmt *st, struct store_list *out)
{
    memset(out, 0, sizeof *out);
    out->id = sqlite3_column_int64(st, 0);
    snprintf(out->name, sizeof out->name, "%s", col_text(st, 1));
    snprintf(out->zone, sizeof out->zone, "%s", col_text(st, 2));
    out->kind = (enum store_kind)sqlite3_column_int(st, 3);
    out->code = (uint32_t)sqlite3_column_int64(st, 4);
    snprintf(out->txt, sizeof out->txt, "%s", col_text(st, 5));
    out->ttl = (uint32_t)sqlite3_column_int64(st, 6);
    out->serial = (uint64_t)sqlite3_column_int64(st, 7);
}

/* Step a bound statement, calling fn(ctx, row) per row; resets it. Returns
 * the number of rows, fn's non-zero (as *stopped) or an error. */
static int each_row(struct store *s, sqlite3_stmt *st, const char *what, int (*row)(sqlite3_stmt *, void *),
                    void *arg, int *stopped)
{
    int n = 0, rc;
    *stopped = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        n++;
        int r = row(st, arg);
        if (r) {
            *stopped = r;
            break;
        }
    }
    int e = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : store_sql_error(s, rc, what);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return e < 0 ? e : n;
}

struct list_cb {
    int (*fn)(void *ctx, const struct store_list *l);
    void *ctx;
};

static int list_row(sqlite3_stmt *st, void *arg)
{
    struct list_cb *cb = arg;
    struct store_list l;
    store_row_list(st, &l);
    return cb->fn(cb->ctx, &l);
}

int store_lists(struct store *s, int (*fn)(void *ctx, const struct store_list *l), void *ctx)
{
    sqlite3_stmt *st = store_stmt(s, Q_LISTS);
    if (!st)
        return STORE_EDB;
    struct list_cb cb = {fn, ctx};
    int stopped;
    int n = each_row(s, st, "reading lists", list_row, &cb, &stopped);
    return n < 0 ? n : stopped;
}

int store_list_get(struct store *s, const char *name, struct store_list *out)
{
    sqlite3_stmt *st = store_stmt(s, Q_LIST_BY_NAME);
    if (!st)
        return STORE_EDB;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        store_row_list(st, out);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc == SQLITE_ROW)
        return 0;
    if (rc == SQLITE_DONE)
        return store_fail(s, STORE_ENOENT, "no list named \"%.63s\"", name);
    return store_sql_error(s, rc, "reading a list");
}

/* The list's serial (and journal mark) by id. */
static int list_serial(struct store *s, int64_t list_id, uint64_t *serial, uint64_t *pruned,
                       int64_t *changed, int64_t *created)
{
    sqlite3_stmt *st = store_stmt(s, Q_LIST_SERIAL);
    if (!st)
        return STORE_EDB;
    sqlite3_bind_int64(st, 1, list_id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        if (serial)
            *serial = (uint64_t)sqlite3_column_int64(st, 0);
        if (pruned)
            *pruned = (uint64_t)sqlite3_column_int64(st, 1);
        if (changed)
            *changed = sqlite3_column_int64(st, 2);
        if (created)
            *created = sqlite3_column_int64(st, 3);
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc == SQLITE_ROW)
        return 0;
    if (rc == SQLITE_DONE)
        return store_fail(s, STORE_ENOENT, "no list with id %lld", (long long)list_id);
    return store_sql_error(s, rc, "reading a list");
}

/* ---- listings ---- */

struct entry_cb {
    int (*fn)(void *ctx, const struct store_entry *e);
    void *ctx;
};

static int entry_row(sqlite3_stmt *st, void *arg)
{
    struct entry_cb *cb = arg;
    struct store_entry e = {
        .entry = col_text(st, 0),
        .excluded = sqlite3_column_int(st, 1) != 0,
        .code = (uint32_t)sqlite3_column_int64(st, 2),
        .txt = col_text_or_null(st, 3),
        .expires = sqlite3_column_int64(st, 4),
    };
    return cb->fn(cb->ctx, &e);
}

int store_listings_each(struct store *s, int64_t list_id, int64_t now, uint64_t *serial,
                        int (*fn)(void *ctx, const struct store_entry *e), void *ctx)
{
    bool began;
    int rc = read_begin(s, &began);
    if (rc < 0)
        return rc;
    rc = list_serial(s, list_id, serial, NULL, NULL, NULL);
    sqlite3_stmt *st = rc < 0 ? NULL : store_stmt(s, Q_LISTINGS_EACH);
    if (rc == 0 && !st)
        rc = STORE_EDB;
    if (rc == 0) {
        sqlite3_bind_int64(st, 1, list_id);
        sqlite3_bind_int64(st, 2, now);
        struct entry_cb cb = {fn, ctx};
        int stopped;
        int n = each_row(s, st, "reading listings", entry_row, &cb, &stopped);
        rc = n < 0 ? n : stopped;
    }
    read_end(s, began);
    return rc;
}

struct listing_cb {
    int (*fn)(void *ctx, const struct store_listing *l);
    void *ctx;
};

static int listing_row(sqlite3_stmt *st, void *arg)
{
    struct listing_cb *cb = arg;
    struct store_listing l = {
        .e = {.entry = col_text(st, 0),
              .excluded = sqlite3_column_int(st, 1) != 0,
              .code = (uint32_t)sqlite3_column_int64(st, 2),
              .txt = col_text_or_null(st, 3),
              .expires = sqlite3_column_int64(st, 4)},
        .family = (enum store_family)sqlite3_column_int(st, 5),
        .reason = col_text(st, 6),
        .source = col_text(st, 7),
        .evidence = col_text(st, 8),
        .created = sqlite3_column_int64(st, 9),
        .updated = sqlite3_column_int64(st, 10),
        .list = col_text(st, 11),
    };
    return cb->fn(cb->ctx, &l);
}

int store_listings_full(struct store *s, int64_t list_id, int64_t now, uint64_t *serial,
                        int (*fn)(void *ctx, const struct store_listing *l), void *ctx)
{
    bool began;
    int rc = read_begin(s, &began);
    if (rc < 0)
        return rc;
    rc = list_serial(s, list_id, serial, NULL, NULL, NULL);
    sqlite3_stmt *st = rc < 0 ? NULL : store_stmt(s, Q_LISTINGS_FULL);
    if (rc == 0 && !st)
        rc = STORE_EDB;
    if (rc == 0) {
        sqlite3_bind_int64(st, 1, list_id);
        sqlite3_bind_int64(st, 2, now);
        struct listing_cb cb = {fn, ctx};
        int stopped;
        int n = each_row(s, st, "reading listings", listing_row, &cb, &stopped);
        rc = n < 0 ? n : stopped;
    }
    read_end(s, began);
    return rc;
}

/* The family of a canonical entry text. */
static enum store_family family_of(const char *entry)
{
    if (strchr(entry, ':'))
        return STORE_FAM_IP6;
    return strspn(entry, "0123456789./") == strlen(entry) ? STORE_FAM_IP4 : STORE_FAM_DNS;
}

/* Look one entry up; fn per row (0 or 1). Returns rows seen or error. */
static int get_one(struct store *s, int64_t list_id, enum store_family fam, const char *entry,
                   struct listing_cb *cb, int *stopped)
{
    sqlite3_stmt *st = store_stmt(s, Q_LISTING_GET);
    if (!st)
        return STORE_EDB;
    sqlite3_bind_int64(st, 1, list_id);
    sqlite3_bind_int(st, 2, (int)fam);
    sqlite3_bind_text(st, 3, entry, -1, SQLITE_STATIC);
    return each_row(s, st, "reading a listing", listing_row, cb, stopped);
}

int store_listing_get(struct store *s, int64_t list_id, const char *entry,
                      int (*fn)(void *ctx, const struct store_listing *l), void *ctx)
{
    struct listing_cb cb = {fn, ctx};
    int stopped;
    int n = get_one(s, list_id, family_of(entry), entry, &cb, &stopped);
    if (n < 0)
        return n;
    if (n == 0)
        return store_fail(s, STORE_ENOENT, "not listed: %.255s", entry);
    return stopped;
}

struct search_ctx {
    struct store *s;
    int64_t only;                 /* list id, 0: every list */
    int64_t now;
    struct listing_cb cb;
    int found;
    int stopped;
};

/* Count and pass on a covering listing unless it has expired. */
static int search_hit(void *arg, const struct store_listing *l)
{
    struct search_ctx *sc = arg;
    if (l->e.expires && l->e.expires <= sc->now)
        return 0;
    sc->found++;
    return sc->cb.fn(sc->cb.ctx, l);
}

/* The ids of every list (at most cap of them). Returns how many or an error. */
static int list_ids(struct store *s, int64_t *ids, int cap)
{
    sqlite3_stmt *st = store_stmt(s, Q_LISTS);
    if (!st)
        return STORE_EDB;
    int n = 0, rc;
    while (n < cap && (rc = sqlite3_step(st)) == SQLITE_ROW)
        ids[n++] = sqlite3_column_int64(st, 0);
    if (n < cap && rc != SQLITE_DONE)
        n = store_sql_error(s, rc, "reading lists");
    sqlite3_reset(st);
    return n;
}

enum { SEARCH_MAX_LISTS = 4096 };

int store_search_covering(struct store *s, int64_t list_id, const struct store_parsed *p, int64_t now,
                          int (*fn)(void *ctx, const struct store_listing *l), void *ctx)
{
    /* the entry texts that would cover p: every prefix of an address (up to
     * 129), the name and the wildcards of it and of its parents (up to 254) */
    enum { MAXC = 260 };
    char (*cand)[STORE_ENTRY_MAX] = malloc(MAXC * sizeof *cand);
    int64_t *ids = malloc(SEARCH_MAX_LISTS * sizeof *ids);
    if (!cand || !ids) {
        free(cand);
        free(ids);
        return store_fail(s, STORE_EDB, "out of memory");
    }
    int nc = 0;
    if (p->family == STORE_FAM_DNS) {
        const char *name = p->text + (p->match == STORE_DN_BELOW ? 2 : p->match == STORE_DN_BOTH ? 1 : 0);
        snprintf(cand[nc++], STORE_ENTRY_MAX, "%s", p->text);
        if (p->match == STORE_DN_EXACT)
            snprintf(cand[nc++], STORE_ENTRY_MAX, ".%s", name);
        for (const char *a = strchr(name, '.'); a && nc + 2 <= MAXC; a = strchr(a + 1, '.')) {
            snprintf(cand[nc++], STORE_ENTRY_MAX, "*%s", a);
            snprintf(cand[nc++], STORE_ENTRY_MAX, "%s", a);
        }
    } else {
        for (int len = p->prefix; len >= 0 && nc < MAXC; len--) {
            uint8_t a[16];
            memcpy(a, p->addr, 16);
            for (int i = 0; i < 16; i++) {
                int keep = len - 8 * i;
                a[i] &= keep >= 8 ? 0xff : keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep));
            }
            struct store_parsed c;
            store_entry_from_ip(p->family, a, len, &c);
            memcpy(cand[nc++], c.text, c.len + 1);
        }
    }
    bool began;
    int rc = read_begin(s, &began);
    int nids = 0;
    if (rc == 0 && list_id)
        ids[nids++] = list_id;
    else if (rc == 0 && (nids = list_ids(s, ids, SEARCH_MAX_LISTS)) < 0)
        rc = nids;
    struct search_ctx sc = {.s = s, .only = list_id, .now = now, .cb = {fn, ctx}};
    struct listing_cb hit = {search_hit, &sc};
    for (int i = 0; i < nids && rc == 0 && !sc.stopped; i++)
        for (int c = 0; c < nc && rc == 0 && !sc.stopped; c++) {
            int n = get_one(s, ids[i], p->family, cand[c], &hit, &sc.stopped);
            if (n < 0)
                rc = n;
        }
    read_end(s, began);
    free(cand);
    free(ids);
    return rc < 0 ? rc : sc.found;
}

int store_search_glob(struct store *s, int64_t list_id, const char *pattern, int64_t now, size_t max,
                      int (*fn)(void *ctx, const struct store_listing *l), void *ctx)
{
    sqlite3_stmt *st = store_stmt(s, Q_SEARCH_GLOB);
    if (!st)
        return STORE_EDB;
    sqlite3_bind_int64(st, 1, list_id);
    sqlite3_bind_text(st, 2, pattern, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, now);
    sqlite3_bind_int64(st, 4, max ? (int64_t)max : -1);
    struct listing_cb cb = {fn, ctx};
    int stopped;
    return each_row(s, st, "searching", listing_row, &cb, &stopped);
}

int store_list_stats(struct store *s, int64_t list_id, int64_t now, struct store_list_stats *out)
{
    memset(out, 0, sizeof *out);
    bool began;
    int rc = read_begin(s, &began);
    if (rc < 0)
        return rc;
    uint64_t pruned = 0;
    rc = list_serial(s, list_id, NULL, &pruned, &out->last_change, &out->created);
    out->journal_first = pruned + 1;
    sqlite3_stmt *st = rc < 0 ? NULL : store_stmt(s, Q_STATS);
    if (st) {
        sqlite3_bind_int64(st, 1, list_id);
        sqlite3_bind_int64(st, 2, now);
        if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            out->listings = (uint64_t)sqlite3_column_int64(st, 0);
            out->excluded = (uint64_t)sqlite3_column_int64(st, 1);
            out->ip4 = (uint64_t)sqlite3_column_int64(st, 2);
            out->ip6 = (uint64_t)sqlite3_column_int64(st, 3);
            out->dns = (uint64_t)sqlite3_column_int64(st, 4);
            out->with_expiry = (uint64_t)sqlite3_column_int64(st, 5);
            rc = 0;
        } else {
            rc = store_sql_error(s, rc, "counting listings");
        }
        sqlite3_reset(st);
    }
    st = rc < 0 ? NULL : store_stmt(s, Q_STATS_EXPIRED);
    if (st) {
        sqlite3_bind_int64(st, 1, list_id);
        sqlite3_bind_int64(st, 2, now);
        rc = sqlite3_step(st) == SQLITE_ROW ? 0 : store_sql_error(s, SQLITE_ERROR, "counting expired");
        out->expired = (uint64_t)sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
    }
    st = rc < 0 ? NULL : store_stmt(s, Q_STATS_JOURNAL);
    if (st) {
        sqlite3_bind_int64(st, 1, list_id);
        rc = sqlite3_step(st) == SQLITE_ROW ? 0 : store_sql_error(s, SQLITE_ERROR, "counting the journal");
        out->journal_rows = (uint64_t)sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
    }
    read_end(s, began);
    return rc;
}

/* ---- journal ---- */

struct change_cb {
    int (*fn)(void *ctx, const struct store_change *c);
    void *ctx;
};

static int change_row(sqlite3_stmt *st, void *arg)
{
    struct change_cb *cb = arg;
    struct store_change c = {
        .serial = (uint64_t)sqlite3_column_int64(st, 0),
        .op = (enum store_op)sqlite3_column_int(st, 1),
        .e = {.entry = col_text(st, 2),
              .excluded = sqlite3_column_int(st, 3) != 0,
              .code = (uint32_t)sqlite3_column_int64(st, 4),
              .txt = col_text_or_null(st, 5),
              .expires = sqlite3_column_int64(st, 6)},
        .at = sqlite3_column_int64(st, 7),
    };
    return cb->fn(cb->ctx, &c);
}

int store_journal_since(struct store *s, int64_t list_id, uint64_t since, size_t max,
                        int (*fn)(void *ctx, const struct store_change *c), void *ctx)
{
    sqlite3_stmt *st = store_stmt(s, Q_JOURNAL_SINCE);
    if (!st)
        return STORE_EDB;
    if (since > INT64_MAX)
        since = INT64_MAX;
    sqlite3_bind_int64(st, 1, list_id);
    sqlite3_bind_int64(st, 2, (int64_t)since);
    sqlite3_bind_int64(st, 3, max ? (int64_t)max : -1);
    struct change_cb cb = {fn, ctx};
    int stopped;
    return each_row(s, st, "reading the journal", change_row, &cb, &stopped);
}

int store_journal_first(struct store *s, int64_t list_id, uint64_t *serial)
{
    uint64_t pruned = 0;
    int rc = list_serial(s, list_id, NULL, &pruned, NULL, NULL);
    if (rc < 0)
        return rc;
    /* pruning only ever removes the oldest rows: what is left starts after
     * the mark (or the journal is empty and the next change gets serial + 1) */
    *serial = pruned + 1;
    return 0;
}

int store_prune_journal(struct store *s, int64_t list_id, uint64_t serial, int64_t now, uint64_t *pruned)
{
    uint64_t cut = 0;
    if (s->journal_max_changes && serial > s->journal_max_changes)
        cut = serial - s->journal_max_changes;
    if (s->journal_max_age) {
        sqlite3_stmt *st = store_stmt(s, Q_JOURNAL_OLDEST);
        if (!st)
            return STORE_EDB;
        sqlite3_bind_int64(st, 1, list_id);
        int rc = sqlite3_step(st);
        bool old = rc == SQLITE_ROW && sqlite3_column_int64(st, 1) < now - s->journal_max_age;
        sqlite3_reset(st);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
            return store_sql_error(s, rc, "reading the journal");
        if (old) {
            st = store_stmt(s, Q_JOURNAL_AGED);
            if (!st)
                return STORE_EDB;
            sqlite3_bind_int64(st, 1, list_id);
            sqlite3_bind_int64(st, 2, now - s->journal_max_age);
            rc = sqlite3_step(st);
            uint64_t aged = rc == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(st, 0) : 0;
            sqlite3_reset(st);
            if (rc != SQLITE_ROW)
                return store_sql_error(s, rc, "reading the journal");
            if (aged > cut)
                cut = aged;
        }
    }
    if (cut <= *pruned)
        return 0;
    sqlite3_stmt *st = store_stmt(s, Q_JOURNAL_PRUNE_SERIAL);
    if (!st)
        return STORE_EDB;
    sqlite3_bind_int64(st, 1, list_id);
    sqlite3_bind_int64(st, 2, (int64_t)cut);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return store_sql_error(s, rc, "pruning the journal");
    *pruned = cut;
    return 0;
}

/* ---- audit ---- */

struct audit_cb {
    int (*fn)(void *ctx, const struct store_audit *a);
    void *ctx;
};

static int audit_row(sqlite3_stmt *st, void *arg)
{
    struct audit_cb *cb = arg;
    struct store_audit a = {
        .id = sqlite3_column_int64(st, 0),
        .at = sqlite3_column_int64(st, 1),
        .actor = col_text(st, 2),
        .action = col_text(st, 3),
        .list = col_text(st, 4),
        .entry = sqlite3_column_bytes(st, 5) ? col_text(st, 5) : NULL,
        .serial = (uint64_t)sqlite3_column_int64(st, 6),
        .reason = col_text(st, 7),
        .detail = col_text(st, 8),
    };
    return cb->fn(cb->ctx, &a);
}

int store_audit_each(struct store *s, const char *list, const char *entry, size_t max,
                     int (*fn)(void *ctx, const struct store_audit *a), void *ctx)
{
    sqlite3_stmt *st = store_stmt(s, entry ? Q_AUDIT_ENTRY : Q_AUDIT_LIST);
    if (!st)
        return STORE_EDB;
    sqlite3_bind_text(st, 1, list, -1, SQLITE_STATIC);
    if (entry)
        sqlite3_bind_text(st, 2, entry, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, max ? (int64_t)max : -1);
    struct audit_cb cb = {fn, ctx};
    int stopped;
    return each_row(s, st, "reading the audit trail", audit_row, &cb, &stopped);
}

/* ---- a listing cursor for zone transfers ----
 *
 * Its own read-only connection and read transaction: a snapshot of the list
 * that later commits do not change, read a row at a time, in key order. */

struct store_cursor {
    sqlite3 *db;
    sqlite3_stmt *st;
    uint64_t serial;
};

int store_cursor_open(const char *path, int64_t list_id, int64_t now, struct store_cursor **out,
                      char *err, size_t errcap)
{
    struct store_cursor *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errcap, "out of memory");
        return STORE_EDB;
    }
    int rc = sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READONLY, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(c->db, BUSY_TIMEOUT_MS);
        rc = sqlite3_exec(c->db, "BEGIN", NULL, NULL, NULL);
    }
    sqlite3_stmt *ser = NULL;
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(c->db, "SELECT serial FROM lists WHERE id = ?1", -1, &ser, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(ser, 1, list_id);
        rc = sqlite3_step(ser);
        if (rc == SQLITE_ROW) {
            c->serial = (uint64_t)sqlite3_column_int64(ser, 0);
            rc = SQLITE_OK;
        } else if (rc == SQLITE_DONE) {
            snprintf(err, errcap, "no list %lld", (long long)list_id);
            sqlite3_finalize(ser);
            store_cursor_close(c);
            return STORE_ENOENT;
        }
    }
    sqlite3_finalize(ser);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(c->db,
                                "SELECT entry, excluded, code, txt, expires FROM listings"
                                " WHERE list_id = ?1 AND (expires = 0 OR expires > ?2)"
                                " ORDER BY family, entry",
                                -1, &c->st, NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, errcap, "%s: %s", path, c->db ? sqlite3_errmsg(c->db) : "cannot open");
        store_cursor_close(c);
        return STORE_EDB;
    }
    sqlite3_bind_int64(c->st, 1, list_id);
    sqlite3_bind_int64(c->st, 2, now);
    *out = c;
    return 0;
}

uint64_t store_cursor_serial(const struct store_cursor *c) { return c->serial; }

int store_cursor_next(struct store_cursor *c, struct store_entry *e)
{
    int rc = sqlite3_step(c->st);
    if (rc == SQLITE_DONE)
        return 0;
    if (rc != SQLITE_ROW)
        return STORE_EDB;
    e->entry = col_text(c->st, 0);
    e->excluded = sqlite3_column_int(c->st, 1) != 0;
    e->code = (uint32_t)sqlite3_column_int64(c->st, 2);
    e->txt = col_text_or_null(c->st, 3);
    e->expires = sqlite3_column_int64(c->st, 4);
    return 1;
}

void store_cursor_close(struct store_cursor *c)
{
    if (!c)
        return;
    sqlite3_finalize(c->st);
    if (c->db) {
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
        sqlite3_close(c->db);
    }
    free(c);
}
