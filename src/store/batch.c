/*
 * batch.c: every write to the listing database (store.h): lists created and
 * dropped, batches of adds and removals, the expiry pass.
 *
 * A batch is one IMMEDIATE transaction: the write lock is taken at the start
 * (so two writers never deadlock on an upgrade), every change goes through
 * the same prepared statements, and nothing is visible to readers before the
 * commit; a process killed in the middle leaves the database as it was
 * (SQLite's WAL discards uncommitted frames). Each change that alters what
 * DNS serves takes the list's next serial and a journal row; every change,
 * served or not, gets an audit row. At the end of a list's part of a batch
 * its serial is written once and its journal pruned (store_prune_journal).
 *
 * A batch of more changes than the journal keeps stops writing journal rows
 * and empties the list's journal: its readers reload the whole list, which
 * costs them less than replaying more changes than the list may hold, and
 * keeps a 1M-entry import at one b-tree insert per entry plus its audit row.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "entry.h"
#include "store_priv.h"

/* The list a batch is writing to, and its journal bookkeeping. */
struct batch_list {
    struct store_list list;
    uint64_t pruned;              /* journal_pruned */
    uint64_t journal_written;     /* rows this batch wrote for the list */
    bool bulk;                    /* journal emptied: no more rows for this list */
    bool dirty;                   /* serial moved */
};

struct store_batch {
    struct store *s;
    struct store_batch_info info;
    int64_t now;
    struct batch_list cur;
    struct store_batch_counts counts;
    int failed;                   /* an SQL error: the batch can only be aborted */
};

/* An old listing's values, copied out of the statement. */
struct old_listing {
    bool excluded;
    uint32_t code;
    bool has_txt;
    char txt[STORE_TXT_MAX + 1];
    char reason[STORE_TEXT_MAX + 1], source[STORE_TEXT_MAX + 1], evidence[STORE_TEXT_MAX + 1];
    int64_t expires;
};

static const char *family_name(enum store_family f)
{
    return f == STORE_FAM_IP4 ? "an IPv4 entry" : f == STORE_FAM_IP6 ? "an IPv6 entry" : "a domain";
}

static void format_time(int64_t t, char out[32])
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (t <= 0 || !gmtime_r(&tt, &tm) || strftime(out, 32, "%Y-%m-%d %H:%M:%S", &tm) == 0)
        snprintf(out, 32, "never");
}

static int check_texts(struct store *s, const char *const *what, const char *const *texts, int n)
{
    char e[200];
    for (int i = 0; i < n; i++)
        if (texts[i] && store_text_check(what[i], texts[i], e, sizeof e) < 0)
            return store_fail(s, STORE_EINVAL, "%s", e);
    return 0;
}

/* ---- audit and journal rows ---- */

static int audit(struct store *s, int64_t now, const char *actor, const char *action, const char *list,
                 const char *entry, uint64_t serial, const char *reason, const char *detail)
{
    sqlite3_stmt *st = store_stmt(s, Q_AUDIT_INSERT);
    if (!st)
        return STORE_EDB;
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_text(st, 2, actor ? actor : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, action, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, list, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, entry ? entry : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 9, ++s->audit_id);
    s->audit_dirty = true;
    if (serial)
        sqlite3_bind_int64(st, 6, (int64_t)serial);
    sqlite3_bind_text(st, 7, reason ? reason : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 8, detail ? detail : "", -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? 0 : store_sql_error(s, rc, "writing the audit trail");
}

static int batch_error(struct store_batch *b, int rc)
{
    if (rc == STORE_EDB || rc == STORE_EBUSY)
        b->failed = rc;
    return rc;
}

/* Take the list's next serial and journal the change (unless the batch has
 * outgrown the journal). */
static int journal(struct store_batch *b, enum store_op op, const char *entry, bool excluded, uint32_t code,
                   const char *txt, int64_t expires, uint64_t *serial)
{
    struct store *s = b->s;
    struct batch_list *L = &b->cur;
    *serial = ++L->list.serial;
    L->dirty = true;
    if (!L->bulk && s->journal_max_changes && L->journal_written >= s->journal_max_changes) {
        sqlite3_stmt *st = store_stmt(s, Q_JOURNAL_CLEAR);
        if (!st)
            return batch_error(b, STORE_EDB);
        sqlite3_bind_int64(st, 1, L->list.id);
        int rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE)
            return batch_error(b, store_sql_error(s, rc, "emptying the journal"));
        L->bulk = true;
        b->counts.journal_reset = true;
    }
    if (L->bulk)
        return 0;
    sqlite3_stmt *st = store_stmt(s, Q_JOURNAL_INSERT);
    if (!st)
        return batch_error(b, STORE_EDB);
    sqlite3_bind_int64(st, 1, L->list.id);
    sqlite3_bind_int64(st, 2, (int64_t)*serial);
    sqlite3_bind_int(st, 3, (int)op);
    sqlite3_bind_text(st, 4, entry, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 5, excluded);
    sqlite3_bind_int64(st, 6, code);
    if (txt)
        sqlite3_bind_text(st, 7, txt, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 8, expires);
    sqlite3_bind_int64(st, 9, b->now);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc != SQLITE_DONE)
        return batch_error(b, store_sql_error(s, rc, "writing the journal"));
    L->journal_written++;
    return 0;
}

/* ---- the list a batch writes to ---- */

static int load_list(struct store_batch *b, const char *name, int64_t id)
{
    struct store *s = b->s;
    memset(&b->cur, 0, sizeof b->cur);
    sqlite3_stmt *st = store_stmt(s, name ? Q_LIST_BY_NAME : Q_LIST_BY_ID);
    if (!st)
        return STORE_EDB;
    if (name)
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    else
        sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        store_row_list(st, &b->cur.list);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc == SQLITE_DONE)
        return name ? store_fail(s, STORE_ENOENT, "no list named \"%.63s\"", name)
                    : store_fail(s, STORE_ENOENT, "no list with id %lld", (long long)id);
    if (rc != SQLITE_ROW)
        return store_sql_error(s, rc, "reading a list");
    st = store_stmt(s, Q_LIST_SERIAL);
    if (!st)
        return STORE_EDB;
    sqlite3_bind_int64(st, 1, b->cur.list.id);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        b->cur.pruned = (uint64_t)sqlite3_column_int64(st, 1);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? 0 : store_sql_error(s, rc, "reading a list");
}

/* Write the list's new serial and prune its journal. */
static int flush_list(struct store_batch *b)
{
    struct store *s = b->s;
    struct batch_list *L = &b->cur;
    if (!L->dirty)
        return 0;
    int rc;
    if (L->bulk)
        L->pruned = L->list.serial; /* every earlier serial is gone */
    else if ((rc = store_prune_journal(s, L->list.id, L->list.serial, b->now, &L->pruned)) < 0)
        return batch_error(b, rc);
    sqlite3_stmt *st = store_stmt(s, Q_LIST_FLUSH);
    if (!st)
        return batch_error(b, STORE_EDB);
    sqlite3_bind_int64(st, 1, L->list.id);
    sqlite3_bind_int64(st, 2, (int64_t)L->list.serial);
    sqlite3_bind_int64(st, 3, (int64_t)L->pruned);
    sqlite3_bind_int64(st, 4, b->now);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return batch_error(b, store_sql_error(s, rc, "writing the list's serial"));
    L->dirty = false;
    b->counts.serial = L->list.serial;
    return 0;
}

static struct store_batch *batch_new(struct store *s, int64_t now)
{
    struct store_batch *b = calloc(1, sizeof *b);
    if (!b) {
        store_fail(s, STORE_EDB, "out of memory");
        return NULL;
    }
    b->s = s;
    b->now = now;
    return b;
}

static int begin_write(struct store *s)
{
    if (s->readonly)
        return store_fail(s, STORE_EINVAL, "the database is open read-only");
    if (s->in_batch || !sqlite3_get_autocommit(s->db))
        return store_fail(s, STORE_EINVAL, "a transaction is already open on this handle");
    int rc = store_exec_stmt(s, Q_BEGIN_WRITE, "starting a write");
    if (rc < 0)
        return rc;
    s->in_batch = true;
    /* the audit counter, read under the write lock */
    sqlite3_stmt *st = store_stmt(s, Q_AUDIT_ID_GET);
    rc = st ? sqlite3_step(st) : SQLITE_ERROR;
    s->audit_id = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    s->audit_dirty = false;
    if (st)
        sqlite3_reset(st);
    if (rc != SQLITE_ROW) {
        rc = st ? store_sql_error(s, rc, "reading the audit counter") : STORE_EDB;
        store_exec_stmt(s, Q_ROLLBACK, "rollback");
        s->in_batch = false;
        return rc;
    }
    return 0;
}

static int end_write(struct store *s, bool commit)
{
    int rc = 0;
    if (commit && s->audit_dirty) {
        sqlite3_stmt *st = store_stmt(s, Q_AUDIT_ID_SET);
        if (!st) {
            rc = STORE_EDB;
        } else {
            sqlite3_bind_int64(st, 1, s->audit_id);
            int r = sqlite3_step(st);
            sqlite3_reset(st);
            if (r != SQLITE_DONE)
                rc = store_sql_error(s, r, "writing the audit counter");
        }
    }
    if (commit && rc == 0)
        rc = store_exec_stmt(s, Q_COMMIT, "commit");
    if (!commit || rc < 0) {
        char keep[sizeof s->err];
        memcpy(keep, s->err, sizeof keep); /* the reason, not the rollback's */
        store_exec_stmt(s, Q_ROLLBACK, "rollback");
        memcpy(s->err, keep, sizeof keep);
    }
    s->in_batch = false;
    return rc;
}

/* ---- batches ---- */

int store_batch_begin(struct store *s, const struct store_batch_info *info, struct store_batch **out)
{
    *out = NULL;
    static const char *const what[] = {"actor", "reason", "origin"};
    const char *texts[] = {info->actor, info->reason, info->origin};
    int rc = check_texts(s, what, texts, 3);
    if (rc < 0)
        return rc;
    if ((rc = begin_write(s)) < 0)
        return rc;
    struct store_batch *b = batch_new(s, store_now(s));
    if (!b) {
        end_write(s, false);
        return STORE_EDB;
    }
    b->info = *info;
    rc = load_list(b, info->list, 0);
    if (rc == 0 && info->track_seen) {
        rc = store_exec_stmt(s, Q_SEEN_CREATE, "preparing the import");
        if (rc == 0)
            rc = store_exec_stmt(s, Q_SEEN_CLEAR, "preparing the import");
    }
    if (rc < 0) {
        end_write(s, false);
        free(b);
        return rc;
    }
    *out = b;
    return 0;
}

const struct store_list *store_batch_list(const struct store_batch *b)
{
    return &b->cur.list;
}

void store_batch_counts(const struct store_batch *b, struct store_batch_counts *out)
{
    *out = b->counts;
    out->serial = b->cur.list.serial;
}

static int mark_seen(struct store_batch *b, const struct store_parsed *p)
{
    if (!b->info.track_seen)
        return 0;
    sqlite3_stmt *st = store_stmt(b->s, Q_SEEN_ADD);
    if (!st)
        return batch_error(b, STORE_EDB);
    sqlite3_bind_int(st, 1, (int)p->family);
    sqlite3_bind_text(st, 2, p->text, (int)p->len, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : batch_error(b, store_sql_error(b->s, rc, "remembering an entry"));
}

/* The listing as stored now; 0 found, STORE_ENOENT, or an error. */
static int read_old(struct store_batch *b, enum store_family fam, const char *entry, size_t len,
                    struct old_listing *o)
{
    sqlite3_stmt *st = store_stmt(b->s, Q_LISTING_GET);
    if (!st)
        return batch_error(b, STORE_EDB);
    sqlite3_bind_int64(st, 1, b->cur.list.id);
    sqlite3_bind_int(st, 2, (int)fam);
    sqlite3_bind_text(st, 3, entry, (int)len, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        /* columns as LISTING_COLS in store.c */
        o->excluded = sqlite3_column_int(st, 1) != 0;
        o->code = (uint32_t)sqlite3_column_int64(st, 2);
        o->has_txt = sqlite3_column_type(st, 3) != SQLITE_NULL;
        snprintf(o->txt, sizeof o->txt, "%s", o->has_txt ? (const char *)sqlite3_column_text(st, 3) : "");
        o->expires = sqlite3_column_int64(st, 4);
        const unsigned char *t;
        snprintf(o->reason, sizeof o->reason, "%s", (t = sqlite3_column_text(st, 6)) ? (const char *)t : "");
        snprintf(o->source, sizeof o->source, "%s", (t = sqlite3_column_text(st, 7)) ? (const char *)t : "");
        snprintf(o->evidence, sizeof o->evidence, "%s",
                 (t = sqlite3_column_text(st, 8)) ? (const char *)t : "");
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc == SQLITE_ROW)
        return 0;
    if (rc == SQLITE_DONE)
        return STORE_ENOENT;
    return batch_error(b, store_sql_error(b->s, rc, "reading a listing"));
}

/* Bounded "; "-separated detail text. */
struct detail {
    char buf[2048];
    size_t n;
};

static void detail_add(struct detail *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void detail_add(struct detail *d, const char *fmt, ...)
{
    if (d->n >= sizeof d->buf - 1)
        return;
    if (d->n) {
        int w = snprintf(d->buf + d->n, sizeof d->buf - d->n, "; ");
        d->n += (size_t)w;
        if (d->n >= sizeof d->buf - 1)
            return;
    }
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(d->buf + d->n, sizeof d->buf - d->n, fmt, ap);
    va_end(ap);
    d->n += w > 0 ? (size_t)w : 0;
    if (d->n > sizeof d->buf - 1)
        d->n = sizeof d->buf - 1;
}

static bool same_text(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

int store_list_check_entry(const struct store_list *l, const struct store_parsed *p, char *err, size_t errcap)
{
    if (!store_kind_holds(l->kind, p->family)) {
        snprintf(err, errcap, "%s is %s; list %s holds %s entries", p->text, family_name(p->family), l->name,
                 l->kind == STORE_IP4 ? "IPv4" : l->kind == STORE_IP6 ? "IPv6" : "domain");
        return STORE_EINVAL;
    }
    if (p->family == STORE_FAM_DNS) {
        size_t base = p->len - (p->match == STORE_DN_BELOW ? 2 : p->match == STORE_DN_BOTH ? 1 : 0);
        /* a query name is the entry (a "*." wildcard: at least one label more) under the zone */
        size_t need = base + 1 + strlen(l->zone) + (p->match == STORE_DN_BELOW ? 2 : 0);
        if (need > 253) {
            snprintf(err, errcap, "%s is too long under zone %s (a name has at most 253 bytes)", p->text,
                     l->zone);
            return STORE_EINVAL;
        }
    }
    return 0;
}


int store_batch_add(struct store_batch *b, const struct store_parsed *p, const struct store_values *v,
                    enum store_outcome *outcome)
{
    struct store *s = b->s;
    const struct store_list *l = &b->cur.list;
    char e[600];
    if (b->failed)
        return b->failed;
    if (store_list_check_entry(l, p, e, sizeof e) < 0)
        return store_fail(s, STORE_EINVAL, "%s", e);
    if ((v->set & STORE_SET_CODE) && v->code && store_code_check(v->code, e, sizeof e) < 0)
        return store_fail(s, STORE_EINVAL, "%s: %s", p->text, e);
    if ((v->set & STORE_SET_TXT) && v->txt && store_txt_check(v->txt, e, sizeof e) < 0)
        return store_fail(s, STORE_EINVAL, "%s: %s", p->text, e);
    if ((v->set & STORE_SET_EXPIRES) && v->expires < 0)
        return store_fail(s, STORE_EINVAL, "%s: a negative expiry time", p->text);
    static const char *const what[] = {"reason", "source", "evidence"};
    const char *texts[] = {(v->set & STORE_SET_REASON) ? v->reason : NULL,
                           (v->set & STORE_SET_SOURCE) ? v->source : NULL,
                           (v->set & STORE_SET_EVIDENCE) ? v->evidence : NULL};
    int rc = check_texts(s, what, texts, 3);
    if (rc < 0)
        return rc;

    /* the values given, in stored form: the list's defaults as 0 and NULL */
    bool excl = p->excluded;
    uint32_t code = (v->set & STORE_SET_CODE) && v->code != l->code ? v->code : 0;
    const char *txt = (v->set & STORE_SET_TXT) && v->txt && v->txt[0] && strcmp(v->txt, l->txt) != 0
                          ? v->txt
                          : NULL;
    const char *reason = (v->set & STORE_SET_REASON) ? v->reason
                         : b->info.reason && b->info.reason[0] ? b->info.reason
                                                               : NULL;
    const char *source = (v->set & STORE_SET_SOURCE) ? v->source : NULL;
    const char *evidence = (v->set & STORE_SET_EVIDENCE) ? v->evidence : NULL;
    int64_t expires = (v->set & STORE_SET_EXPIRES) ? v->expires : 0;

    sqlite3_stmt *st = store_stmt(s, Q_LISTING_INSERT);
    if (!st)
        return batch_error(b, STORE_EDB);
    sqlite3_bind_int64(st, 1, l->id);
    sqlite3_bind_int(st, 2, (int)p->family);
    sqlite3_bind_text(st, 3, p->text, (int)p->len, SQLITE_STATIC);
    sqlite3_bind_int(st, 4, excl);
    sqlite3_bind_int64(st, 5, excl ? 0 : code);
    if (txt && !excl)
        sqlite3_bind_text(st, 6, txt, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, reason ? reason : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 8, source ? source : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 9, evidence ? evidence : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 10, b->now);
    sqlite3_bind_int64(st, 11, expires);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc != SQLITE_DONE)
        return batch_error(b, store_sql_error(s, rc, "adding a listing"));

    struct detail d;
    d.n = 0;
    d.buf[0] = '\0';
    uint64_t serial;
    char c1[16], c2[16], t1[32], t2[32];
    if (sqlite3_changes(s->db) == 1) {
        if ((rc = journal(b, STORE_ADD, p->text, excl, excl ? 0 : code, excl ? NULL : txt, expires,
                          &serial)) < 0)
            return rc;
        if (excl)
            detail_add(&d, "exclusion");
        if (code && !excl)
            store_code_format(code, c1), detail_add(&d, "code %s", c1);
        if (txt && !excl)
            detail_add(&d, "txt \"%s\"", txt);
        if (expires)
            format_time(expires, t1), detail_add(&d, "expires %s", t1);
        if (source && source[0] && !(b->info.origin && b->info.origin[0]))
            detail_add(&d, "source %s", source); /* an origin says where it came from */
        if (evidence && evidence[0])
            detail_add(&d, "evidence %s", evidence);
        if (b->info.origin && b->info.origin[0])
            detail_add(&d, "%s", b->info.origin);
        if ((rc = audit(s, b->now, b->info.actor, "add", l->name, p->text, serial, reason,
                        d.n ? d.buf : NULL)) < 0)
            return batch_error(b, rc);
        b->counts.added++;
        *outcome = STORE_ADDED;
        return mark_seen(b, p);
    }

    /* listed already: merge what was given into what is there */
    struct old_listing *o = malloc(sizeof *o);
    if (!o)
        return batch_error(b, store_fail(s, STORE_EDB, "out of memory"));
    rc = read_old(b, p->family, p->text, p->len, o);
    if (rc < 0) {
        free(o);
        return rc == STORE_ENOENT ? batch_error(b, store_fail(s, STORE_EDB, "listing vanished")) : rc;
    }
    uint32_t ncode = excl ? 0 : (v->set & STORE_SET_CODE) ? code : o->excluded ? 0 : o->code;
    const char *ntxt = excl ? NULL : (v->set & STORE_SET_TXT) ? txt : o->excluded ? NULL : o->has_txt ? o->txt : NULL;
    int64_t nexp = (v->set & STORE_SET_EXPIRES) ? expires : o->expires;
    const char *nreason = reason ? reason : o->reason;
    const char *nsource = source ? source : o->source;
    const char *nevidence = evidence ? evidence : o->evidence;
    bool served = excl != o->excluded || ncode != o->code || !same_text(ntxt, o->has_txt ? o->txt : NULL) ||
                  nexp != o->expires;
    bool other = strcmp(nreason, o->reason) != 0 || strcmp(nsource, o->source) != 0 ||
                 strcmp(nevidence, o->evidence) != 0;
    if (!served && !other) {
        free(o);
        b->counts.unchanged++;
        *outcome = STORE_UNCHANGED;
        return mark_seen(b, p);
    }
    st = store_stmt(s, Q_LISTING_UPDATE);
    if (!st) {
        free(o);
        return batch_error(b, STORE_EDB);
    }
    sqlite3_bind_int64(st, 1, l->id);
    sqlite3_bind_int(st, 2, (int)p->family);
    sqlite3_bind_text(st, 3, p->text, (int)p->len, SQLITE_STATIC);
    sqlite3_bind_int(st, 4, excl);
    sqlite3_bind_int64(st, 5, ncode);
    if (ntxt)
        sqlite3_bind_text(st, 6, ntxt, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, nreason, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 8, nsource, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 9, nevidence, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 10, b->now);
    sqlite3_bind_int64(st, 11, nexp);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc != SQLITE_DONE) {
        free(o);
        return batch_error(b, store_sql_error(s, rc, "updating a listing"));
    }
    serial = 0;
    /* a change of what DNS serves: the old records out, the new ones in (the
     * journal then names both, for IXFR) */
    if (served && (rc = journal(b, STORE_REMOVE, p->text, o->excluded, o->excluded ? 0 : o->code,
                                o->excluded || !o->has_txt ? NULL : o->txt, 0, &serial)) < 0) {
        free(o);
        return rc;
    }
    if (served && (rc = journal(b, STORE_ADD, p->text, excl, ncode, ntxt, nexp, &serial)) < 0) {
        free(o);
        return rc;
    }
    if (excl != o->excluded)
        detail_add(&d, excl ? "listing -> exclusion" : "exclusion -> listing");
    if (ncode != o->code) {
        store_code_format(o->code ? o->code : l->code, c1);
        store_code_format(ncode ? ncode : l->code, c2);
        detail_add(&d, "code %s -> %s", c1, c2);
    }
    if (!same_text(ntxt, o->has_txt ? o->txt : NULL))
        detail_add(&d, "txt \"%s\" -> \"%s\"", o->has_txt ? o->txt : "", ntxt ? ntxt : "");
    if (nexp != o->expires) {
        format_time(o->expires, t1);
        format_time(nexp, t2);
        detail_add(&d, "expires %s -> %s", t1, t2);
    }
    if (strcmp(nsource, o->source) != 0)
        detail_add(&d, "source %s -> %s", o->source, nsource);
    if (strcmp(nevidence, o->evidence) != 0)
        detail_add(&d, "evidence %s -> %s", o->evidence, nevidence);
    if (strcmp(nreason, o->reason) != 0 && !served && d.n == 0)
        detail_add(&d, "reason");
    if (b->info.origin && b->info.origin[0])
        detail_add(&d, "%s", b->info.origin);
    /* the audit's reason is this change's (the listing keeps its own) */
    rc = audit(s, b->now, b->info.actor, "change", l->name, p->text, serial, reason, d.buf);
    free(o);
    if (rc < 0)
        return batch_error(b, rc);
    b->counts.changed++;
    *outcome = STORE_CHANGED;
    return mark_seen(b, p);
}

/* Delete one listing, journal and audit it. */
static int remove_one(struct store_batch *b, enum store_family fam, const char *entry, bool excluded,
                      const char *action, const char *reason, const char *detail)
{
    struct store *s = b->s;
    sqlite3_stmt *st = store_stmt(s, Q_LISTING_DELETE);
    if (!st)
        return batch_error(b, STORE_EDB);
    sqlite3_bind_int64(st, 1, b->cur.list.id);
    sqlite3_bind_int(st, 2, (int)fam);
    sqlite3_bind_text(st, 3, entry, -1, SQLITE_STATIC);
    /* the journal keeps what was removed, so that a zone transfer (IXFR) can
     * name the exact records to delete */
    int rc = sqlite3_step(st);
    uint32_t code = 0;
    char txt[256];
    bool has_txt = false;
    if (rc == SQLITE_ROW) {
        code = (uint32_t)sqlite3_column_int64(st, 0);
        has_txt = sqlite3_column_type(st, 1) != SQLITE_NULL;
        snprintf(txt, sizeof txt, "%s", has_txt ? (const char *)sqlite3_column_text(st, 1) : "");
        rc = sqlite3_step(st);
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc != SQLITE_DONE)
        return batch_error(b, store_sql_error(s, rc, "removing a listing"));
    uint64_t serial;
    if ((rc = journal(b, STORE_REMOVE, entry, excluded, excluded ? 0 : code,
                      excluded || !has_txt ? NULL : txt, 0, &serial)) < 0)
        return rc;
    if ((rc = audit(s, b->now, b->info.actor, action, b->cur.list.name, entry, serial, reason, detail)) < 0)
        return batch_error(b, rc);
    b->counts.removed++;
    return 0;
}

int store_batch_remove(struct store_batch *b, const struct store_parsed *p, const char *reason)
{
    struct store *s = b->s;
    if (b->failed)
        return b->failed;
    if (reason) {
        static const char *const what[] = {"reason"};
        int rc = check_texts(s, what, &reason, 1);
        if (rc < 0)
            return rc;
    }
    struct old_listing *o = malloc(sizeof *o);
    if (!o)
        return batch_error(b, store_fail(s, STORE_EDB, "out of memory"));
    int rc = read_old(b, p->family, p->text, p->len, o);
    bool excluded = rc == 0 && o->excluded;
    free(o);
    if (rc == STORE_ENOENT)
        return store_fail(s, STORE_ENOENT, "not listed in %s: %s%s", b->cur.list.name,
                          p->excluded ? "!" : "", p->text);
    if (rc < 0)
        return rc;
    if (excluded != p->excluded)
        return store_fail(s, STORE_ENOENT, "not listed in %s: %s%s (%s is %s there: remove %s%s)",
                          b->cur.list.name, p->excluded ? "!" : "", p->text, p->text,
                          excluded ? "an exclusion" : "a listing", excluded ? "!" : "", p->text);
    return remove_one(b, p->family, p->text, p->excluded, "remove",
                      reason ? reason : b->info.reason, b->info.origin);
}

/* Listings to remove, collected before any is deleted (deleting while a
 * SELECT walks the same b-tree is not well defined). */
struct doomed {
    int64_t list_id;
    enum store_family family;
    bool excluded;
    char *entry;
};

struct doomed_vec {
    struct doomed *v;
    size_t n, cap;
};

static int doomed_push(struct doomed_vec *d, int64_t list_id, enum store_family fam, const char *entry,
                       bool excluded)
{
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 256;
        struct doomed *v = realloc(d->v, cap * sizeof *v);
        if (!v)
            return -1;
        d->v = v;
        d->cap = cap;
    }
    char *copy = strdup(entry);
    if (!copy)
        return -1;
    d->v[d->n++] = (struct doomed){list_id, fam, excluded, copy};
    return 0;
}

static void doomed_free(struct doomed_vec *d)
{
    for (size_t i = 0; i < d->n; i++)
        free(d->v[i].entry);
    free(d->v);
}

int store_batch_remove_unseen(struct store_batch *b, uint64_t *count)
{
    struct store *s = b->s;
    *count = 0;
    if (b->failed)
        return b->failed;
    if (!b->info.track_seen)
        return store_fail(s, STORE_EINVAL, "the batch did not track what it saw");
    sqlite3_stmt *st = store_stmt(s, Q_UNSEEN);
    if (!st)
        return batch_error(b, STORE_EDB);
    sqlite3_bind_int64(st, 1, b->cur.list.id);
    struct doomed_vec d = {0};
    int rc;
    bool oom = false;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && !oom)
        oom = doomed_push(&d, b->cur.list.id, (enum store_family)sqlite3_column_int(st, 0),
                          (const char *)sqlite3_column_text(st, 1), sqlite3_column_int(st, 2) != 0) < 0;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (oom)
        rc = batch_error(b, store_fail(s, STORE_EDB, "out of memory"));
    else if (rc != SQLITE_DONE)
        rc = batch_error(b, store_sql_error(s, rc, "finding listings to replace"));
    else
        rc = 0;
    char why[200];
    snprintf(why, sizeof why, "%s%snot in the new data", b->info.origin ? b->info.origin : "",
             b->info.origin ? ": " : "");
    for (size_t i = 0; i < d.n && rc == 0; i++) {
        rc = remove_one(b, d.v[i].family, d.v[i].entry, d.v[i].excluded, "remove", b->info.reason, why);
        if (rc == 0)
            (*count)++;
    }
    doomed_free(&d);
    return rc;
}

int store_batch_commit(struct store_batch *b)
{
    struct store *s = b->s;
    int rc = b->failed;
    if (rc == 0)
        rc = flush_list(b);
    if (rc == 0)
        rc = end_write(s, true);
    else
        end_write(s, false);
    free(b);
    return rc;
}

void store_batch_abort(struct store_batch *b)
{
    if (!b)
        return;
    end_write(b->s, false);
    free(b);
}

/* ---- lists ---- */

static int list_exists(struct store *s, enum stmt_id q, const char *key, char *name, size_t cap)
{
    sqlite3_stmt *st = store_stmt(s, q);
    if (!st)
        return STORE_EDB;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        snprintf(name, cap, "%s", (const char *)sqlite3_column_text(st, 1));
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc == SQLITE_ROW)
        return 1;
    return rc == SQLITE_DONE ? 0 : store_sql_error(s, rc, "reading lists");
}

int store_list_create(struct store *s, struct store_list *l, const char *actor, const char *reason)
{
    char e[256], zone[256], other[64];
    if (store_list_name_check(l->name, e, sizeof e) < 0)
        return store_fail(s, STORE_EINVAL, "%s", e);
    if (store_domain_parse(l->zone, strlen(l->zone), zone, sizeof zone, e, sizeof e) < 0)
        return store_fail(s, STORE_EINVAL, "zone: %s", e);
    if (!store_kind_name(l->kind))
        return store_fail(s, STORE_EINVAL, "unknown list kind %d", (int)l->kind);
    if (store_code_check(l->code, e, sizeof e) < 0)
        return store_fail(s, STORE_EINVAL, "%s", e);
    if (store_txt_check(l->txt, e, sizeof e) < 0)
        return store_fail(s, STORE_EINVAL, "%s", e);
    if (l->ttl > INT32_MAX)
        return store_fail(s, STORE_EINVAL, "TTL %u is larger than 2^31-1", l->ttl);
    static const char *const what[] = {"actor", "reason"};
    const char *texts[] = {actor, reason};
    int rc = check_texts(s, what, texts, 2);
    if (rc < 0 || (rc = begin_write(s)) < 0)
        return rc;
    snprintf(l->zone, sizeof l->zone, "%s", zone);
    if ((rc = list_exists(s, Q_LIST_BY_NAME, l->name, other, sizeof other)) != 0) {
        end_write(s, false);
        return rc < 0 ? rc : store_fail(s, STORE_EEXIST, "a list named %s exists", l->name);
    }
    if ((rc = list_exists(s, Q_LIST_BY_ZONE, l->zone, other, sizeof other)) != 0) {
        end_write(s, false);
        return rc < 0 ? rc : store_fail(s, STORE_EEXIST, "list %s already serves zone %s", other, l->zone);
    }
    int64_t now = store_now(s);
    sqlite3_stmt *st = store_stmt(s, Q_LIST_INSERT);
    if (!st) {
        end_write(s, false);
        return STORE_EDB;
    }
    sqlite3_bind_text(st, 1, l->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, l->zone, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, (int)l->kind);
    sqlite3_bind_int64(st, 4, l->code);
    sqlite3_bind_text(st, 5, l->txt, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, l->ttl);
    sqlite3_bind_int64(st, 7, now);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc != SQLITE_DONE) {
        rc = store_sql_error(s, rc, "creating the list");
        end_write(s, false);
        return rc;
    }
    l->id = sqlite3_last_insert_rowid(s->db);
    l->serial = 0;
    char code[16];
    store_code_format(l->code, code);
    struct detail d;
    d.n = 0;
    d.buf[0] = '\0';
    detail_add(&d, "zone %s; kind %s; code %s; ttl %u", l->zone, store_kind_name(l->kind), code, l->ttl);
    if (l->txt[0])
        detail_add(&d, "txt \"%s\"", l->txt);
    if ((rc = audit(s, now, actor, "create", l->name, NULL, 0, reason, d.buf)) < 0) {
        end_write(s, false);
        return rc;
    }
    return end_write(s, true);
}

int store_list_drop(struct store *s, const char *name, const char *actor, const char *reason,
                    uint64_t *count)
{
    *count = 0;
    static const char *const what[] = {"actor", "reason"};
    const char *texts[] = {actor, reason};
    int rc = check_texts(s, what, texts, 2);
    if (rc < 0 || (rc = begin_write(s)) < 0)
        return rc;
    struct store_list l;
    rc = store_list_get(s, name, &l);
    sqlite3_stmt *st = rc < 0 ? NULL : store_stmt(s, Q_LISTING_COUNT);
    if (st) {
        sqlite3_bind_int64(st, 1, l.id);
        rc = sqlite3_step(st);
        *count = rc == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(st, 0) : 0;
        sqlite3_reset(st);
        rc = rc == SQLITE_ROW ? 0 : store_sql_error(s, rc, "counting listings");
    } else if (rc == 0) {
        rc = STORE_EDB;
    }
    st = rc < 0 ? NULL : store_stmt(s, Q_LIST_DELETE);
    if (st) {
        sqlite3_bind_int64(st, 1, l.id);
        rc = sqlite3_step(st);
        sqlite3_reset(st);
        rc = rc == SQLITE_DONE ? 0 : store_sql_error(s, rc, "dropping the list");
    } else if (rc == 0) {
        rc = STORE_EDB;
    }
    if (rc == 0) {
        char detail[400];
        snprintf(detail, sizeof detail, "zone %s; %llu listings; serial %llu", l.zone,
                 (unsigned long long)*count, (unsigned long long)l.serial);
        rc = audit(s, store_now(s), actor, "drop", l.name, NULL, l.serial, reason, detail);
    }
    if (rc < 0) {
        end_write(s, false);
        return rc;
    }
    return end_write(s, true);
}

/* ---- expiry ---- */

int store_expire(struct store *s, int64_t now, const char *actor, size_t *count)
{
    *count = 0;
    static const char *const what[] = {"actor"};
    int rc = check_texts(s, what, &actor, 1);
    if (rc < 0)
        return rc;
    /* most passes find nothing: look (a read, via the partial index) before
     * taking the write lock */
    sqlite3_stmt *st = store_stmt(s, Q_EXPIRE_DUE);
    if (!st)
        return STORE_EDB;
    sqlite3_bind_int64(st, 1, now);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc == SQLITE_DONE)
        return 0;
    if (rc != SQLITE_ROW)
        return store_sql_error(s, rc, "looking for expired listings");
    if ((rc = begin_write(s)) < 0)
        return rc;
    struct store_batch *b = batch_new(s, now);
    if (!b) {
        end_write(s, false);
        return STORE_EDB;
    }
    b->info.actor = actor;
    struct doomed_vec d = {0};
    bool oom = false;
    sqlite3_bind_int64(st, 1, now);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && !oom)
        oom = doomed_push(&d, sqlite3_column_int64(st, 0), (enum store_family)sqlite3_column_int(st, 1),
                          (const char *)sqlite3_column_text(st, 2), sqlite3_column_int(st, 3) != 0) < 0;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    rc = oom ? store_fail(s, STORE_EDB, "out of memory")
         : rc == SQLITE_DONE ? 0
                             : store_sql_error(s, rc, "reading expired listings");
    char detail[64], when[32];
    format_time(now, when);
    snprintf(detail, sizeof detail, "expired at %s", when);
    for (size_t i = 0; i < d.n && rc == 0; i++) {
        if (i == 0 || d.v[i].list_id != b->cur.list.id) {
            if ((rc = flush_list(b)) < 0 || (rc = load_list(b, NULL, d.v[i].list_id)) < 0)
                break;
        }
        rc = remove_one(b, d.v[i].family, d.v[i].entry, d.v[i].excluded, "expire", "expired", detail);
        if (rc == 0)
            (*count)++;
    }
    doomed_free(&d);
    if (rc == 0)
        rc = flush_list(b);
    free(b);
    if (rc < 0) {
        *count = 0;
        end_write(s, false);
        return rc;
    }
    return end_write(s, true);
}
