/*
 * config.c: from the command line's zone specs (zone:type:file,file...) to a
 * served struct dns_config, and the reload that replaces datasets one at a
 * time beside the served copy.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/util.h"
#include "notify.h"
#include "server.h"
#include "ds_db.h"
#include "zone.h"

/* Split "zone:type:files"; zone may be empty for a global acl. */
static int parse_spec(const char *arg, char *zone, size_t zcap, const struct ds_type **type,
                      const char **files)
{
    const char *c1 = strchr(arg, ':');
    const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c2) {
        log_error("event=bad-zone-spec spec=\"%s\" error=\"expected zone:type:file[,file...]\"", arg);
        return -1;
    }
    char tname[32];
    size_t tl = (size_t)(c2 - c1 - 1);
    *type = NULL;
    if (tl < sizeof tname) {
        memcpy(tname, c1 + 1, tl);
        tname[tl] = '\0';
        *type = ds_type_find(tname);
    }
    if (!*type) {
        log_error("event=bad-zone-spec spec=\"%s\" error=\"unknown dataset type\"", arg);
        return -1;
    }
    if (c1 == arg && *type != &ds_type_acl) {
        log_error("event=bad-zone-spec spec=\"%s\" error=\"empty zone name (allowed for acl only)\"",
                  arg);
        return -1;
    }
    if (!c2[1]) {
        log_error("event=bad-zone-spec spec=\"%s\" error=\"no files given\"", arg);
        return -1;
    }
    size_t zl = (size_t)(c1 - arg);
    if (zl >= zcap) {
        log_error("event=bad-zone-spec spec=\"%s\" error=\"zone name too long\"", arg);
        return -1;
    }
    memcpy(zone, arg, zl);
    zone[zl] = '\0';
    *files = c2 + 1;
    return 0;
}

struct dns_config *dns_config_build(const char *const *specs, int nspecs, const struct ds_options *opt)
{
    struct dns_config *cfg = calloc(1, sizeof *cfg);
    if (!cfg)
        return NULL;
    cfg->max_udp = DNS_EDNS_DEFAULT;
    cfg->zones = calloc((size_t)nspecs + 1, sizeof *cfg->zones);
    cfg->all = calloc((size_t)nspecs + 1, sizeof *cfg->all);
    if (!cfg->zones || !cfg->all)
        goto fail;
    for (int i = 0; i < nspecs; i++) {
        char zname[DNS_MAX_NAME + 2];
        const struct ds_type *type;
        const char *files;
        if (parse_spec(specs[i], zname, sizeof zname, &type, &files) < 0)
            goto fail;
        char spec[4096];
        snprintf(spec, sizeof spec, "%s:%s", type->name, files);
        struct dataset *ds = NULL;
        for (int k = 0; k < cfg->nall; k++)
            if (strcmp(cfg->all[k]->spec, spec) == 0)
                ds = cfg->all[k];
        if (!ds) {
            ds = dataset_new(type, files, opt);
            if (!ds)
                goto fail;
            cfg->all[cfg->nall++] = ds;
        }
        if (zname[0] == '\0') {
            cfg->global_acl = ds;
            continue;
        }
        uint8_t wire[DNS_MAX_NAME + 1];
        int wl = dns_name_from_text(zname, strlen(zname), wire);
        if (wl < 0) {
            log_error("event=bad-zone-spec zone=\"%s\" error=\"invalid zone name\"", zname);
            goto fail;
        }
        struct zone *z = NULL;
        for (int k = 0; k < cfg->nzones; k++)
            if (memcmp(cfg->zones[k].name, wire, (size_t)wl) == 0)
                z = &cfg->zones[k];
        if (!z) {
            if (cfg->nzones >= DNS_STATS_MAX_ZONES) {
                log_error("event=too-many-zones max=%d", DNS_STATS_MAX_ZONES);
                goto fail;
            }
            z = &cfg->zones[cfg->nzones];
            z->index = cfg->nzones++;
            memcpy(z->name, wire, (size_t)wl);
            z->nlabels = dns_name_labels(wire);
            char text[DNS_MAX_NAME + 1];
            dns_name_to_text(wire, text, sizeof text);
            z->text = strdup(text);
            z->ds = calloc((size_t)nspecs, sizeof *z->ds);
            if (!z->text || !z->ds)
                goto fail;
        }
        if (type == &ds_type_acl) {
            if (z->acl) {
                log_error("event=bad-zone-spec zone=%s error=\"only one acl per zone\"", z->text);
                goto fail;
            }
            z->acl = ds;
        } else {
            z->ds[z->nds++] = ds;
        }
    }
    for (int k = 0; k < cfg->nzones; k++)
        if (cfg->zones[k].nds == 0) {
            log_error("event=bad-zone-spec zone=%s error=\"a zone needs a non-acl dataset\"",
                      cfg->zones[k].text);
            goto fail;
        }
    return cfg;
fail:
    dns_config_free_all(cfg);
    return NULL;
}

void dns_config_free_all(struct dns_config *cfg)
{
    if (!cfg)
        return;
    for (int i = 0; i < cfg->nall; i++)
        dataset_release(cfg->all[i]);
    dns_config_free(cfg);
}

/* A copy of cfg with dataset `old` replaced by `neu` everywhere. */
static struct dns_config *config_replace(const struct dns_config *cfg, struct dataset *old,
                                         struct dataset *neu)
{
    struct dns_config *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    *n = *cfg;
    n->nzones = 0;
    n->zones = calloc((size_t)cfg->nzones + 1, sizeof *n->zones);
    n->all = calloc((size_t)cfg->nall + 1, sizeof *n->all);
    if (!n->zones || !n->all) {
        dns_config_free(n);
        return NULL;
    }
    for (int i = 0; i < cfg->nall; i++)
        n->all[i] = cfg->all[i] == old ? neu : cfg->all[i];
    if (n->global_acl == old)
        n->global_acl = neu;
    for (int i = 0; i < cfg->nzones; i++) {
        struct zone *z = &n->zones[i];
        *z = cfg->zones[i];
        z->text = strdup(cfg->zones[i].text);
        z->ds = calloc((size_t)z->nds + 1, sizeof *z->ds);
        n->nzones++;
        if (!z->text || !z->ds) {
            dns_config_free(n);
            return NULL;
        }
        for (int k = 0; k < z->nds; k++)
            z->ds[k] = cfg->zones[i].ds[k] == old ? neu : cfg->zones[i].ds[k];
        if (z->acl == old)
            z->acl = neu;
    }
    return n;
}

/* A load that failed: the served dataset stays, and remembers why (copied from
 * the attempt's err, which every failure of dataset_load() sets). */
static void note_failure(struct dns_config *cfg, struct dataset *old, const struct dataset *neu)
{
    snprintf(old->load_error, sizeof old->load_error, "%s",
             neu && neu->err[0] ? neu->err : "out of memory");
    old->last_result = DS_FAILED;
    cfg->load_failures++;
}

struct dns_config *dns_config_copy(const struct dns_config *cfg)
{
    struct dns_config *n = config_replace(cfg, NULL, NULL);
    if (n)
        dns_config_prepare(n);
    return n;
}

struct dns_config *dns_config_replace_dataset(const struct dns_config *cfg, struct dataset *old,
                                              struct dataset *neu)
{
    struct dns_config *n = config_replace(cfg, old, neu);
    if (n)
        dns_config_prepare(n);
    return n;
}

struct dns_config *dns_config_add_dataset(const struct dns_config *cfg, const char *zone,
                                          struct dataset *ds)
{
    uint8_t wire[DNS_MAX_NAME + 1];
    int wl = dns_name_from_text(zone, strlen(zone), wire);
    if (wl < 0) {
        log_error("event=bad-zone zone=\"%s\" dataset=%s error=\"invalid zone name\"", zone, ds->label);
        return NULL;
    }
    struct dns_config *n = config_replace(cfg, NULL, NULL);
    if (!n)
        return NULL;
    struct dataset **all = realloc(n->all, (size_t)(n->nall + 2) * sizeof *all);
    struct zone *zones = all ? realloc(n->zones, (size_t)(n->nzones + 2) * sizeof *zones) : NULL;
    if (all)
        n->all = all;
    if (!zones)
        goto fail;
    n->zones = zones;
    struct zone *z = NULL;
    int maxindex = -1;
    for (int k = 0; k < n->nzones; k++) {
        if (memcmp(n->zones[k].name, wire, (size_t)wl) == 0)
            z = &n->zones[k];
        if (n->zones[k].index > maxindex)
            maxindex = n->zones[k].index;
    }
    if (!z) {
        if (maxindex + 1 >= DNS_STATS_MAX_ZONES) {
            log_error("event=too-many-zones max=%d zone=%s", DNS_STATS_MAX_ZONES, zone);
            goto fail;
        }
        z = &n->zones[n->nzones];
        memset(z, 0, sizeof *z);
        z->index = maxindex + 1;
        memcpy(z->name, wire, (size_t)wl);
        z->nlabels = dns_name_labels(wire);
        char text[DNS_MAX_NAME + 1];
        dns_name_to_text(wire, text, sizeof text);
        z->text = strdup(text);
        if (!z->text)
            goto fail;
        n->nzones++;
    }
    struct dataset **dsv = realloc(z->ds, (size_t)(z->nds + 1) * sizeof *dsv);
    if (!dsv)
        goto fail;
    z->ds = dsv;
    z->ds[z->nds++] = ds;
    n->all[n->nall++] = ds;
    dns_config_prepare(n);
    return n;
fail:
    dns_config_free(n);
    return NULL;
}

int dns_config_reload(struct dns_server *srv, struct dns_config **cfgp, bool force)
{
    int failures = 0, reloaded = 0;
    for (int i = 0; i < (*cfgp)->nall; i++)
        (*cfgp)->all[i]->last_result = DS_UNCHANGED;
    for (int i = 0; i < (*cfgp)->nall; i++) {
        struct dataset *old = (*cfgp)->all[i];
        if (old->type == &ds_type_db)
            continue; /* changes in place, from the database (dbsync.c) */
        if (!force && !dataset_changed(old))
            continue;
        (*cfgp)->loads++;
        uint64_t t0 = util_now_ns();
        const char *colon = strchr(old->spec, ':');
        struct dataset *neu = dataset_new(old->type, colon + 1, &old->opt);
        if (!neu || dataset_load(neu) < 0) {
            log_error("event=reload-failed dataset=%s keep=%s", old->spec,
                      old->priv ? "previous-data" : "nothing");
            note_failure(*cfgp, old, neu);
            dataset_free(neu);
            dataset_note_stamps(old);
            failures++;
            continue;
        }
        neu->load_ns = util_now_ns() - t0;
        neu->loaded_at = time(NULL);
        neu->entries = neu->type->count ? neu->type->count(neu) : 0;
        neu->last_result = DS_RELOADED;
        log_info("event=loaded dataset=%s entries=%zu errors=%lu seconds=%.3f", neu->label,
                 neu->entries, neu->nerrors, (double)neu->load_ns / 1e9);
        struct dns_config *n = config_replace(*cfgp, old, neu);
        if (!n) {
            note_failure(*cfgp, old, NULL);
            dataset_free(neu);
            failures++;
            continue;
        }
        dns_config_prepare(n);
        struct dns_config *prev = srv ? dns_server_publish(srv, n) : *cfgp;
        *cfgp = n;
        dns_config_free(prev);
        dataset_release(old); /* freed now, or by the last transfer still reading it */
        reloaded++;
        /* RFC 1996: the zones serving the new data tell their secondaries */
        for (int z = 0; srv && srv->notify && z < n->nzones; z++)
            for (int k = 0; k < n->zones[z].nds; k++)
                if (n->zones[z].ds[k] == neu) {
                    dns_notify_zone(srv->notify, &n->zones[z]);
                    break;
                }
    }
    if (reloaded || failures)
        log_info("event=reload datasets=%d failures=%d", reloaded, failures);
    return failures ? -1 : 0;
}
