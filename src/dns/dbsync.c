#include "dbsync.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/util.h"
#include "ds_db.h"
#include "notify.h"
#include "xfr.h"
#include "store/store.h"

struct dblist {
    int64_t id;
    char name[64];
    char zone[256];
    uint64_t serial;           /* applied */
    struct dataset *ds;
};

struct dbsync {
    struct dbsync_options opt;
    struct store *store;        /* the main thread's */
    struct store *xfr_store;    /* the TCP thread's, for IXFR (one handle per thread) */
    pthread_mutex_t lock;       /* lists and serials, read by the TCP thread */
    struct dblist *lists;
    int nlists;
    time_t last_expire;
    struct xfr_journal journal;
};

static int journal_covers(void *ctx, const struct zone *z, uint32_t from, uint32_t to);
static int journal_changes(void *ctx, const struct zone *z, uint32_t after, uint32_t to,
                           uint64_t skip, xfr_change_fn fn, void *arg);

static enum dsdb_kind kind_of(enum store_kind k)
{
    switch (k) {
    case STORE_IP4: return DSDB_IP4;
    case STORE_IP6: return DSDB_IP6;
    case STORE_DNS: return DSDB_DNS;
    default: return DSDB_COMBINED;
    }
}

static void set_soa(struct dbsync *d, struct dataset *ds, const struct store_list *l)
{
    struct ds_soa *soa = &ds->soa;
    memset(soa, 0, sizeof *soa);
    soa->present = true;
    soa->ttl = l->ttl;
    const char *mname = d->opt.nns ? d->opt.ns[0] : l->zone;
    if (dns_name_from_text(mname, strlen(mname), soa->mname) < 0)
        dns_name_from_text(l->zone, strlen(l->zone), soa->mname);
    char rname[300];
    snprintf(rname, sizeof rname, "hostmaster.%s", l->zone);
    if (dns_name_from_text(rname, strlen(rname), soa->rname) < 0)
        dns_name_from_text(l->zone, strlen(l->zone), soa->rname);
    soa->serial = (uint32_t)l->serial;
    soa->refresh = 3600;
    soa->retry = 600;
    soa->expire = 604800;
    soa->minttl = l->ttl;
    memset(&ds->ns, 0, sizeof ds->ns);
    for (int i = 0; i < d->opt.nns && i < DS_MAX_NS; i++)
        if (dns_name_from_text(d->opt.ns[i], strlen(d->opt.ns[i]), ds->ns.name[ds->ns.count]) >= 0)
            ds->ns.count++;
    ds->ns.present = ds->ns.count > 0;
    ds->ns.ttl = l->ttl;
}

struct load_ctx {
    struct dataset *ds;
    size_t ok, bad;
};

static int load_one(void *ctx, const struct store_entry *e)
{
    struct load_ctx *c = ctx;
    if (dsdb_add(c->ds, e->entry, e->excluded, e->code, e->txt) < 0) {
        if (c->bad++ < 10)
            log_warn("event=db-entry-skipped list=%s entry=\"%s\" reason=\"does not fit the list\"",
                     c->ds->label, e->entry);
    } else {
        c->ok++;
    }
    return 0;
}

static void no_wait(void *arg) { (void)arg; }

/* Load a list into a new dataset. */
static struct dataset *load_list(struct dbsync *d, const struct store_list *l, uint64_t *serial)
{
    uint64_t t0 = util_now_ns();
    struct dataset *ds = dsdb_new(kind_of(l->kind), l->name, l->code, l->txt[0] ? l->txt : NULL,
                                  l->ttl, d->opt.path, l->id);
    if (!ds) {
        log_error("event=db-load-failed list=%s error=\"out of memory\"", l->name);
        return NULL;
    }
    struct load_ctx c = {ds, 0, 0};
    if (store_listings_each(d->store, l->id, (int64_t)time(NULL), serial, load_one, &c) < 0) {
        log_error("event=db-load-failed list=%s error=\"%s\"", l->name, store_error(d->store));
        dataset_free(ds);
        return NULL;
    }
    struct store_list cur = *l;
    cur.serial = *serial;
    set_soa(d, ds, &cur);
    ds->load_ns = util_now_ns() - t0;
    ds->loaded_at = time(NULL);
    ds->entries = c.ok;
    ds->last_result = DS_RELOADED;
    log_info("event=loaded dataset=%s zone=%s entries=%zu skipped=%zu serial=%llu seconds=%.3f",
             ds->label, l->zone, c.ok, c.bad, (unsigned long long)*serial,
             (double)ds->load_ns / 1e9);
    return ds;
}

/* Lists not served yet become zones of a new config. */
struct add_ctx {
    struct dbsync *d;
    struct dns_config *cfg;   /* the served config, or a new one made from it */
    bool owned;               /* cfg is a new one (ours to free or publish) */
    int added, failed;
};

/* Make n the config being built, freeing the previous one if it was ours. */
static void take_config(struct add_ctx *a, struct dns_config *n)
{
    if (a->owned)
        dns_config_free(a->cfg);
    a->cfg = n;
    a->owned = true;
}

static int add_new_list(void *ctx, const struct store_list *l)
{
    struct add_ctx *a = ctx;
    struct dbsync *d = a->d;
    for (int i = 0; i < d->nlists; i++)
        if (d->lists[i].id == l->id)
            return 0;
    pthread_mutex_lock(&d->lock);
    struct dblist *v = realloc(d->lists, (size_t)(d->nlists + 1) * sizeof *v);
    if (v)
        d->lists = v;
    pthread_mutex_unlock(&d->lock);
    if (!v) {
        a->failed++;
        return 0;
    }
    uint64_t serial = 0;
    struct dataset *ds = load_list(d, l, &serial);
    if (!ds) {
        a->failed++;
        return 0;
    }
    struct dns_config *n = dns_config_add_dataset(a->cfg, l->zone, ds);
    if (!n) {
        dataset_free(ds);
        a->failed++;
        return 0;
    }
    take_config(a, n);
    pthread_mutex_lock(&d->lock);
    struct dblist *x = &d->lists[d->nlists];
    memset(x, 0, sizeof *x);
    x->id = l->id;
    snprintf(x->name, sizeof x->name, "%s", l->name);
    snprintf(x->zone, sizeof x->zone, "%s", l->zone);
    x->serial = serial;
    x->ds = ds;
    d->nlists++;
    pthread_mutex_unlock(&d->lock);
    a->added++;
    return 0;
}

struct dbsync *dbsync_open(const struct dbsync_options *o, struct dns_config **cfgp)
{
    struct dbsync *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->opt = *o;
    pthread_mutex_init(&d->lock, NULL);
    char err[300];
    if (store_open(o->path, false, &d->store, err, sizeof err) < 0 ||
        store_open(o->path, true, &d->xfr_store, err, sizeof err) < 0) {
        log_error("event=db-open-failed path=%s error=\"%s\"", o->path, err);
        store_close(d->store);
        free(d);
        return NULL;
    }
    d->journal = (struct xfr_journal){journal_covers, journal_changes, d};
    bool changed;
    store_changed(d->store, &changed); /* the baseline for later calls */
    struct add_ctx a = {.d = d, .cfg = *cfgp};
    if (store_lists(d->store, add_new_list, &a) < 0 || a.failed) {
        log_error("event=db-open-failed path=%s error=\"%s\"", o->path,
                  a.failed ? "a list could not be loaded" : store_error(d->store));
        if (a.owned)
            dns_config_free(a.cfg);
        dbsync_close(d);
        return NULL;
    }
    if (a.owned) {
        dns_config_free(*cfgp);
        *cfgp = a.cfg;
    }
    /* tables outgrown while loading: nothing serves them yet. (Once serving,
     * dbsync_poll frees them only after publishing, when no worker can hold
     * one; a list loaded then leaves them for that.) */
    dsdb_free_retired(no_wait, NULL);
    log_info("event=db-opened path=%s lists=%d", o->path, d->nlists);
    return d;
}

struct apply_ctx {
    struct dblist *l;
    size_t applied, bad;
    /* a change of value is journalled as a removal then an addition: the
     * removal waits here, so that readers never see the entry missing */
    bool pending;
    char pend_entry[DNS_MAX_NAME + 2];
    bool pend_excluded;
};

static void apply_report(struct apply_ctx *a, int r, uint64_t serial, const char *entry)
{
    if (r < 0 && a->bad++ < 10)
        log_warn("event=db-change-skipped list=%s serial=%llu entry=\"%s\"", a->l->name,
                 (unsigned long long)serial, entry);
}

static void apply_pending(struct apply_ctx *a)
{
    if (!a->pending)
        return;
    a->pending = false;
    apply_report(a, dsdb_remove(a->l->ds, a->pend_entry, a->pend_excluded), a->l->serial,
                 a->pend_entry);
}

static int apply_one(void *ctx, const struct store_change *c)
{
    struct apply_ctx *a = ctx;
    if (c->op == STORE_REMOVE) {
        apply_pending(a);
        a->pending = true;
        snprintf(a->pend_entry, sizeof a->pend_entry, "%s", c->e.entry);
        a->pend_excluded = c->e.excluded;
    } else {
        if (a->pending && strcmp(a->pend_entry, c->e.entry) == 0)
            a->pending = false; /* replaced in place by the addition */
        apply_pending(a);
        apply_report(a, dsdb_add(a->l->ds, c->e.entry, c->e.excluded, c->e.code, c->e.txt),
                     c->serial, c->e.entry);
    }
    a->l->serial = c->serial;
    a->applied++;
    return 0;
}

/* ---- IXFR from the journal (xfr.h), on the TCP thread ---- */

/* The list a zone serves, and its applied serial; under the lock. */
static struct dblist *list_of(struct dbsync *d, const struct zone *z, uint64_t *serial)
{
    for (int i = 0; i < d->nlists; i++)
        for (int k = 0; k < z->nds; k++)
            if (z->ds[k] == d->lists[i].ds) {
                *serial = d->lists[i].serial;
                return &d->lists[i];
            }
    return NULL;
}

/* The 64-bit serial whose low 32 bits are s32, at or below the list's `now`. */
static uint64_t widen(uint64_t now, uint32_t s32)
{
    return now - (uint32_t)((uint32_t)now - s32);
}

static int journal_covers(void *ctx, const struct zone *z, uint32_t from, uint32_t to)
{
    struct dbsync *d = ctx;
    pthread_mutex_lock(&d->lock);
    uint64_t now = 0;
    struct dblist *l = list_of(d, z, &now);
    int64_t id = l ? l->id : 0;
    pthread_mutex_unlock(&d->lock);
    if (!l)
        return 0;
    uint64_t to64 = widen(now, to), from64 = widen(to64, from);
    uint64_t first = 0;
    if (from64 >= to64 || store_journal_first(d->xfr_store, id, &first) < 0)
        return 0;
    return first <= from64 + 1;
}

struct ixfr_ctx {
    const struct dataset *ds;
    uint64_t to64, skip, given;
    xfr_change_fn fn;
    void *arg;
    struct xfr_change ch;
    int stopped;
};

static int ixfr_rr(void *ctx, const struct ds_rr *rr)
{
    struct ixfr_ctx *x = ctx;
    if (x->given++ < x->skip)
        return 0;
    x->ch.rr = *rr;
    int r = x->fn(x->arg, &x->ch);
    if (r)
        x->stopped = r;
    return r;
}

static int ixfr_row(void *ctx, const struct store_change *c)
{
    struct ixfr_ctx *x = ctx;
    if (c->serial > x->to64)
        return 1; /* past what the transfer promised */
    x->ch.serial = (uint32_t)c->serial;
    x->ch.add = c->op == STORE_ADD;
    return dsdb_entry_rrs(x->ds, &c->e, ixfr_rr, x) ? 2 : 0;
}

static int journal_changes(void *ctx, const struct zone *z, uint32_t after, uint32_t to,
                           uint64_t skip, xfr_change_fn fn, void *arg)
{
    struct dbsync *d = ctx;
    pthread_mutex_lock(&d->lock);
    uint64_t now = 0;
    struct dblist *l = list_of(d, z, &now);
    int64_t id = l ? l->id : 0;
    const struct dataset *ds = l ? l->ds : NULL;
    pthread_mutex_unlock(&d->lock);
    if (!l)
        return -1;
    struct ixfr_ctx x = {.ds = ds, .skip = skip, .fn = fn, .arg = arg};
    x.to64 = widen(now, to);
    uint64_t after64 = widen(x.to64, after);
    int r = store_journal_since(d->xfr_store, id, after64, 0, ixfr_row, &x);
    if (r < 0)
        return -1;
    return x.stopped;
}

int dbsync_poll(struct dbsync *d, struct dns_server *srv, struct dns_config **cfgp)
{
    bool changed = false;
    if (store_changed(d->store, &changed) < 0) {
        log_error("event=db-poll-failed error=\"%s\"", store_error(d->store));
        return -1;
    }
    time_t now = time(NULL);
    if (now != d->last_expire) {
        d->last_expire = now;
        size_t expired = 0;
        if (store_expire(d->store, now, "rampart-dnsbl", &expired) < 0)
            log_warn("event=db-expire-failed error=\"%s\"", store_error(d->store));
        else if (expired) {
            log_info("event=db-expired listings=%zu", expired);
            changed = true; /* our own commit does not move data_version */
        }
    }
    if (!changed)
        return 0;
    /* new lists first: each becomes a zone */
    struct add_ctx a = {.d = d, .cfg = *cfgp};
    if (store_lists(d->store, add_new_list, &a) < 0)
        log_error("event=db-poll-failed error=\"%s\"", store_error(d->store));
    /* then every list's journal */
    uint64_t notified_before[d->nlists > 0 ? d->nlists : 1];
    for (int i = 0; i < d->nlists; i++)
        notified_before[i] = d->lists[i].serial;
    size_t applied = 0;
    enum { MAX_RETIRED_DS = 16 };
    struct dataset *retired_ds[MAX_RETIRED_DS];
    int nretired = 0;
    for (int i = 0; i < d->nlists; i++) {
        struct dblist *l = &d->lists[i];
        uint64_t first = 0;
        if (store_journal_first(d->store, l->id, &first) == 0 && first > l->serial + 1) {
            /* the journal no longer reaches back to what we hold (pruned, or
             * reset by a batch too large for it): load the list afresh */
            log_info("event=db-journal-gap list=%s have=%llu oldest=%llu action=reload", l->name,
                     (unsigned long long)l->serial, (unsigned long long)first);
            struct store_list sl;
            uint64_t serial = 0;
            struct dataset *neu = NULL;
            if (store_list_get(d->store, l->name, &sl) == 0)
                neu = load_list(d, &sl, &serial);
            struct dns_config *n = neu ? dns_config_replace_dataset(a.cfg, l->ds, neu) : NULL;
            if (!n) {
                dataset_free(neu);
                continue;
            }
            take_config(&a, n);
            retired_ds[nretired++] = l->ds; /* freed once the new config is published */
            pthread_mutex_lock(&d->lock);
            l->ds = neu;
            l->serial = serial;
            pthread_mutex_unlock(&d->lock);
            applied++;
            if (nretired == MAX_RETIRED_DS)
                break;
            continue;
        }
        struct apply_ctx c = {.l = l};
        pthread_mutex_lock(&d->lock);
        int jr = store_journal_since(d->store, l->id, l->serial, 0, apply_one, &c);
        apply_pending(&c);
        pthread_mutex_unlock(&d->lock);
        if (jr < 0) {
            log_error("event=db-poll-failed list=%s error=\"%s\"", l->name, store_error(d->store));
            continue;
        }
        if (c.applied) {
            l->ds->soa.serial = (uint32_t)l->serial;
            l->ds->entries = dsdb_count(l->ds);
            applied += c.applied;
        }
    }
    if (!applied && !a.added)
        return 0;
    /* a copy made after the serials moved carries them in its SOA blocks */
    struct dns_config *n = dns_config_copy(a.cfg);
    if (a.owned)
        dns_config_free(a.cfg);
    if (!n)
        return -1;
    struct dns_config *old = dns_server_publish(srv, n);
    *cfgp = n;
    dns_config_free(old);
    /* secondaries hear of every list that changed (RFC 1996) */
    if (srv->notify)
        for (int i = 0; i < d->nlists; i++) {
            if (d->lists[i].serial == notified_before[i])
                continue;
            for (int z = 0; z < n->nzones; z++)
                for (int k = 0; k < n->zones[z].nds; k++)
                    if (n->zones[z].ds[k] == d->lists[i].ds)
                        dns_notify_zone(srv->notify, &n->zones[z]);
        }
    /* the publish waited until no worker could hold a replaced table or dataset */
    dsdb_free_retired(no_wait, NULL);
    for (int i = 0; i < nretired; i++)
        dataset_free(retired_ds[i]);
    return (int)applied + a.added;
}

const struct xfr_journal *dbsync_journal(struct dbsync *d) { return &d->journal; }

void dbsync_close(struct dbsync *d)
{
    if (!d)
        return;
    store_close(d->store);
    store_close(d->xfr_store);
    pthread_mutex_destroy(&d->lock);
    free(d->lists);
    free(d);
}
