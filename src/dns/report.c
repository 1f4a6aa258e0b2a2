/*
 * report.c: the snapshot of zones and datasets, and its renderings as
 * Prometheus text and JSON (report.h). Every figure of `stats` is a metric of
 * /metrics and the other way round; docs/rampart-dnsbl.8 lists them.
 */
#include "report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"

/* ---- the snapshot ---- */

static char *dup_or_null(const char *s, bool *oom)
{
    char *d = strdup(s);
    if (!d)
        *oom = true;
    return d;
}

static int index_of(const struct dns_config *cfg, const struct dataset *ds)
{
    for (int i = 0; i < cfg->nall; i++)
        if (cfg->all[i] == ds)
            return i;
    return -1;
}

struct dns_report *dns_report_build(const struct dns_config *cfg)
{
    struct dns_report *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    bool oom = false;
    r->loads = cfg->loads;
    r->load_failures = cfg->load_failures;
    r->global_acl = cfg->global_acl ? index_of(cfg, cfg->global_acl) : -1;
    r->ds = calloc((size_t)cfg->nall + 1, sizeof *r->ds);
    r->zones = calloc((size_t)cfg->nzones + 1, sizeof *r->zones);
    if (!r->ds || !r->zones) {
        dns_report_free(r);
        return NULL;
    }
    for (int i = 0; i < cfg->nall; i++, r->nds++) {
        const struct dataset *ds = cfg->all[i];
        struct report_dataset *d = &r->ds[i];
        d->spec = dup_or_null(ds->spec, &oom);
        d->type = ds->type->name;
        d->files = calloc((size_t)ds->nfiles + 1, sizeof *d->files);
        if (!d->files)
            oom = true;
        for (int k = 0; d->files && k < ds->nfiles; k++, d->nfiles++)
            d->files[k] = dup_or_null(ds->files[k], &oom);
        d->loaded = ds->priv != NULL;
        d->entries = ds->entries;
        d->bad_lines = d->loaded ? ds->nerrors : 0;
        d->loaded_at = ds->loaded_at;
        d->load_ns = ds->load_ns;
        d->last_result = ds->last_result;
        d->error = ds->load_error[0] ? dup_or_null(ds->load_error, &oom) : NULL;
    }
    for (int i = 0; i < cfg->nzones; i++, r->nzones++) {
        const struct zone *z = &cfg->zones[i];
        struct report_zone *rz = &r->zones[i];
        rz->name = dup_or_null(z->text, &oom);
        rz->index = z->index;
        rz->acl = z->acl ? index_of(cfg, z->acl) : -1;
        rz->ds = calloc((size_t)z->nds + 1, sizeof *rz->ds);
        if (!rz->ds)
            oom = true;
        for (int k = 0; rz->ds && k < z->nds; k++)
            rz->ds[rz->nds++] = index_of(cfg, z->ds[k]);
        const struct ds_soa *soa = dns_zone_soa(z);
        rz->has_soa = soa != NULL;
        rz->serial = soa ? soa->serial : 0;
    }
    if (oom) {
        dns_report_free(r);
        return NULL;
    }
    return r;
}

void dns_report_free(struct dns_report *r)
{
    if (!r)
        return;
    for (int i = 0; i < r->nds; i++) {
        for (int k = 0; k < r->ds[i].nfiles; k++)
            free(r->ds[i].files[k]);
        free(r->ds[i].files);
        free(r->ds[i].spec);
        free(r->ds[i].error);
    }
    for (int i = 0; i < r->nzones; i++) {
        free(r->zones[i].name);
        free(r->zones[i].ds);
    }
    free(r->ds);
    free(r->zones);
    free(r);
}

void dns_report_zone_totals(const struct dns_report *r, const struct report_zone *z, size_t *entries,
                            time_t *loaded_at, double *load_seconds, bool *failed)
{
    *entries = 0;
    *loaded_at = 0;
    *load_seconds = 0;
    *failed = false;
    for (int k = 0; k < z->nds + (z->acl >= 0); k++) {
        const struct report_dataset *d = &r->ds[k < z->nds ? z->ds[k] : z->acl];
        if (k < z->nds)
            *entries += d->entries;
        if (d->loaded_at > *loaded_at)
            *loaded_at = d->loaded_at;
        *load_seconds += (double)d->load_ns / 1e9;
        *failed |= d->error != NULL;
    }
}

const char *dns_report_rcode_name(int rcode, char tmp[16])
{
    static const char *const names[] = {"NOERROR", "FORMERR",  "SERVFAIL", "NXDOMAIN",
                                        "NOTIMP",  "REFUSED",  "YXDOMAIN", "YXRRSET",
                                        "NXRRSET", "NOTAUTH",  "NOTZONE"};
    if (rcode >= 0 && rcode < (int)(sizeof names / sizeof names[0]))
        return names[rcode];
    snprintf(tmp, 16, "RCODE%d", rcode);
    return tmp;
}

/* The rcodes always reported (even at 0); others appear once they occur. */
static bool rcode_shown(const struct dns_stats *st, int rc) { return rc <= 5 || st->rcode[rc] != 0; }

static uint64_t udp_queries(const struct dns_stats *st)
{
    /* the two are read at slightly different moments: never wrap below zero */
    return st->queries > st->tcp_queries ? st->queries - st->tcp_queries : 0;
}

/* ---- Prometheus text format 0.0.4 ---- */

#define PFX "rampart_dnsbl_"

static void family(struct strbuf *b, const char *name, const char *type, const char *help)
{
    strbuf_printf(b, "# HELP " PFX "%s %s\n# TYPE " PFX "%s %s\n", name, help, name, type);
}

/* A label value: backslash, double quote and newline escaped (the format's
 * rule); other control bytes and non-ASCII become '?' so the line stays one
 * line of valid UTF-8. */
static void label_value(struct strbuf *b, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '\\' || c == '"')
            strbuf_printf(b, "\\%c", c);
        else if (c == '\n')
            strbuf_puts(b, "\\n");
        else
            strbuf_add(b, c < 0x20 || c >= 0x7f ? "?" : s, 1);
    }
}

static void sample(struct strbuf *b, const char *name, const char *label, const char *value, uint64_t v)
{
    strbuf_printf(b, PFX "%s", name);
    if (label) {
        strbuf_printf(b, "{%s=\"", label);
        label_value(b, value);
        strbuf_puts(b, "\"}");
    }
    strbuf_printf(b, " %llu\n", (unsigned long long)v);
}

static void counter(struct strbuf *b, const char *name, const char *help, uint64_t v)
{
    family(b, name, "counter", help);
    sample(b, name, NULL, NULL, v);
}

/* One metric per zone: which field of the zone's stats or totals. */
enum zone_field { ZF_QUERIES, ZF_NOERROR, ZF_NXDOMAIN, ZF_BIN, ZF_BOUT, ZF_ENTRIES, ZF_SERIAL,
                  ZF_LOAD_SECONDS, ZF_LOADED_AT, ZF_FAILED };

static const struct {
    const char *name, *type, *help;
    enum zone_field field;
} zone_metrics[] = {
    {"zone_queries_total", "counter", "Queries for names in the zone.", ZF_QUERIES},
    {"zone_noerror_total", "counter", "Answers with rcode NOERROR for the zone.", ZF_NOERROR},
    {"zone_nxdomain_total", "counter", "Answers with rcode NXDOMAIN for the zone.", ZF_NXDOMAIN},
    {"zone_received_bytes_total", "counter", "Bytes of queries for the zone.", ZF_BIN},
    {"zone_sent_bytes_total", "counter", "Bytes of answers for the zone.", ZF_BOUT},
    {"zone_entries", "gauge", "Entries loaded in the zone's data datasets (summed).", ZF_ENTRIES},
    {"zone_soa_serial", "gauge", "SOA serial of the zone (zones with a $SOA only).", ZF_SERIAL},
    {"zone_load_duration_seconds", "gauge",
     "Seconds spent loading the data the zone serves now (summed over its datasets).", ZF_LOAD_SECONDS},
    {"zone_load_timestamp_seconds", "gauge",
     "When the zone's most recently loaded dataset finished loading (Unix time).", ZF_LOADED_AT},
    {"zone_load_failed", "gauge",
     "1 if the latest load of one of the zone's datasets failed (it serves its previous data).",
     ZF_FAILED},
};

static void zone_metric(struct strbuf *b, const struct dns_report *r, const struct dns_stats *st,
                        int m)
{
    family(b, zone_metrics[m].name, zone_metrics[m].type, zone_metrics[m].help);
    for (int i = 0; i < r->nzones; i++) {
        const struct report_zone *z = &r->zones[i];
        const struct dns_zone_stats *zs = &st->zone[z->index];
        size_t entries;
        time_t loaded_at;
        double secs;
        bool failed;
        dns_report_zone_totals(r, z, &entries, &loaded_at, &secs, &failed);
        uint64_t v = 0;
        switch (zone_metrics[m].field) {
        case ZF_QUERIES: v = zs->qtot; break;
        case ZF_NOERROR: v = zs->qok; break;
        case ZF_NXDOMAIN: v = zs->qnxd; break;
        case ZF_BIN: v = zs->bin; break;
        case ZF_BOUT: v = zs->bout; break;
        case ZF_ENTRIES: v = entries; break;
        case ZF_SERIAL:
            if (!z->has_soa)
                continue;
            v = z->serial;
            break;
        case ZF_LOAD_SECONDS:
            strbuf_puts(b, PFX "zone_load_duration_seconds{zone=\"");
            label_value(b, z->name);
            strbuf_printf(b, "\"} %.6f\n", secs);
            continue;
        case ZF_LOADED_AT:
            if (!loaded_at)
                continue;
            v = (uint64_t)loaded_at;
            break;
        case ZF_FAILED: v = failed; break;
        }
        sample(b, zone_metrics[m].name, "zone", z->name, v);
    }
}

void dns_report_metrics(struct strbuf *b, const struct dns_report *r, const struct dns_stats *st,
                        time_t started, const char *version)
{
    family(b, "queries_total", "counter", "Queries received, by transport.");
    sample(b, "queries_total", "transport", "udp", udp_queries(st));
    sample(b, "queries_total", "transport", "tcp", st->tcp_queries);
    family(b, "answers_total", "counter", "Answers sent, by rcode.");
    for (int rc = 0; rc < 16; rc++) {
        char tmp[16];
        if (rcode_shown(st, rc))
            sample(b, "answers_total", "rcode", dns_report_rcode_name(rc, tmp), st->rcode[rc]);
    }
    counter(b, "dropped_total", "Queries that got no answer (malformed, ignored, or the send failed).",
            st->dropped);
    counter(b, "truncated_total", "UDP answers sent truncated (TC=1) because they did not fit.",
            st->truncated);
    counter(b, "received_bytes_total", "Bytes of queries received.", st->bytes_in);
    counter(b, "sent_bytes_total", "Bytes of answers sent.", st->bytes_out);
    counter(b, "rrl_dropped_total", "Answers withheld by response rate limiting.", st->rrl_dropped);
    counter(b, "rrl_slipped_total",
            "Answers withheld by rate limiting and sent as a truncated slip (TC=1) instead.",
            st->rrl_slipped);
    counter(b, "cookie_valid_total", "Queries with a valid DNS server cookie (RFC 7873).",
            st->cookie_valid);
    counter(b, "cookie_new_total", "DNS server cookies issued (RFC 7873).", st->cookie_new);
    counter(b, "tcp_accepted_total", "TCP connections accepted.", st->tcp_accepted);
    counter(b, "tcp_refused_total", "TCP connections refused at a connection limit.", st->tcp_refused);
    counter(b, "tcp_timeouts_total", "TCP connections closed for idleness, lifetime or a slow query.",
            st->tcp_timeouts);
    family(b, "tcp_open", "gauge", "TCP connections open now.");
    sample(b, "tcp_open", NULL, NULL, st->tcp_open);
    counter(b, "querylog_dropped_total", "Query-log lines dropped under overload.", st->qlog_dropped);
    counter(b, "xfr_done_total", "Zone transfers (AXFR, IXFR) sent whole.", st->xfr_done);
    counter(b, "xfr_aborted_total", "Zone transfers cut short (the client left, a journal error).",
            st->xfr_aborted);
    counter(b, "xfr_refused_total",
            "Zone transfer requests refused (address, TSIG, not a zone we serve).", st->xfr_refused);
    counter(b, "reloads_total", "Dataset loads attempted (first loads and reloads of changed datasets).",
            r ? r->loads : 0);
    counter(b, "reloads_failed_total", "Dataset loads that failed (the previous data kept serving).",
            r ? r->load_failures : 0);
    for (int m = 0; r && m < (int)(sizeof zone_metrics / sizeof zone_metrics[0]); m++)
        zone_metric(b, r, st, m);
    family(b, "start_time_seconds", "gauge", "When the server started (Unix time).");
    sample(b, "start_time_seconds", NULL, NULL, (uint64_t)started);
    family(b, "build_info", "gauge", "Always 1; the version label says which build runs.");
    sample(b, "build_info", "version", version, 1);
}

/* ---- JSON ---- */

static void jkey(struct strbuf *b, bool *first, const char *key)
{
    strbuf_puts(b, *first ? "" : ",");
    *first = false;
    json_cstring(b, key);
    strbuf_add(b, ":", 1);
}

static void juint(struct strbuf *b, bool *first, const char *key, uint64_t v)
{
    jkey(b, first, key);
    strbuf_printf(b, "%llu", (unsigned long long)v);
}

void dns_report_stats_json(struct strbuf *b, const struct dns_report *r, const struct dns_stats *st,
                           time_t started, const char *version)
{
    bool f = true, g;
    time_t now = time(NULL);
    strbuf_puts(b, "{");
    jkey(b, &f, "program");
    json_cstring(b, "rampart-dnsbl");
    jkey(b, &f, "version");
    json_cstring(b, version);
    juint(b, &f, "start_time", (uint64_t)started);
    juint(b, &f, "uptime_seconds", now > started ? (uint64_t)(now - started) : 0);
    jkey(b, &f, "queries");
    g = true;
    strbuf_puts(b, "{");
    juint(b, &g, "total", st->queries);
    juint(b, &g, "udp", udp_queries(st));
    juint(b, &g, "tcp", st->tcp_queries);
    strbuf_puts(b, "}");
    jkey(b, &f, "answers");
    g = true;
    strbuf_puts(b, "{");
    for (int rc = 0; rc < 16; rc++) {
        char tmp[16];
        if (rcode_shown(st, rc))
            juint(b, &g, dns_report_rcode_name(rc, tmp), st->rcode[rc]);
    }
    strbuf_puts(b, "}");
    juint(b, &f, "dropped", st->dropped);
    juint(b, &f, "truncated", st->truncated);
    juint(b, &f, "bytes_in", st->bytes_in);
    juint(b, &f, "bytes_out", st->bytes_out);
    jkey(b, &f, "rrl");
    g = true;
    strbuf_puts(b, "{");
    juint(b, &g, "dropped", st->rrl_dropped);
    juint(b, &g, "slipped", st->rrl_slipped);
    strbuf_puts(b, "}");
    jkey(b, &f, "cookies");
    g = true;
    strbuf_puts(b, "{");
    juint(b, &g, "valid", st->cookie_valid);
    juint(b, &g, "new", st->cookie_new);
    strbuf_puts(b, "}");
    jkey(b, &f, "tcp");
    g = true;
    strbuf_puts(b, "{");
    juint(b, &g, "accepted", st->tcp_accepted);
    juint(b, &g, "refused", st->tcp_refused);
    juint(b, &g, "timeouts", st->tcp_timeouts);
    juint(b, &g, "open", st->tcp_open);
    strbuf_puts(b, "}");
    juint(b, &f, "querylog_dropped", st->qlog_dropped);
    jkey(b, &f, "xfr");
    g = true;
    strbuf_puts(b, "{");
    juint(b, &g, "done", st->xfr_done);
    juint(b, &g, "aborted", st->xfr_aborted);
    juint(b, &g, "refused", st->xfr_refused);
    strbuf_puts(b, "}");
    jkey(b, &f, "reloads");
    g = true;
    strbuf_puts(b, "{");
    juint(b, &g, "total", r ? r->loads : 0);
    juint(b, &g, "failed", r ? r->load_failures : 0);
    strbuf_puts(b, "}");
    jkey(b, &f, "zones");
    strbuf_puts(b, "[");
    for (int i = 0; r && i < r->nzones; i++) {
        const struct report_zone *z = &r->zones[i];
        const struct dns_zone_stats *zs = &st->zone[z->index];
        size_t entries;
        time_t loaded_at;
        double secs;
        bool failed;
        dns_report_zone_totals(r, z, &entries, &loaded_at, &secs, &failed);
        g = true;
        strbuf_puts(b, i ? ",{" : "{");
        jkey(b, &g, "zone");
        json_cstring(b, z->name);
        juint(b, &g, "queries", zs->qtot);
        juint(b, &g, "noerror", zs->qok);
        juint(b, &g, "nxdomain", zs->qnxd);
        juint(b, &g, "bytes_in", zs->bin);
        juint(b, &g, "bytes_out", zs->bout);
        juint(b, &g, "entries", entries);
        jkey(b, &g, "serial");
        if (z->has_soa)
            strbuf_printf(b, "%u", z->serial);
        else
            strbuf_puts(b, "null");
        jkey(b, &g, "loaded_at");
        if (loaded_at)
            strbuf_printf(b, "%lld", (long long)loaded_at);
        else
            strbuf_puts(b, "null");
        jkey(b, &g, "load_seconds");
        strbuf_printf(b, "%.6f", secs);
        jkey(b, &g, "load_failed");
        strbuf_puts(b, failed ? "true" : "false");
        strbuf_puts(b, "}");
    }
    strbuf_puts(b, "]}\n");
}

static const char *result_name(enum ds_reload_result res)
{
    return res == DS_RELOADED ? "reloaded" : res == DS_FAILED ? "failed" : "unchanged";
}

/* One dataset as a JSON object; full adds what `zones` shows beyond `reload`. */
static void dataset_json(struct strbuf *b, const struct report_dataset *d, bool full)
{
    bool f = true;
    strbuf_puts(b, "{");
    jkey(b, &f, "dataset");
    json_cstring(b, d->spec);
    jkey(b, &f, "type");
    json_cstring(b, d->type);
    if (full) {
        jkey(b, &f, "files");
        strbuf_puts(b, "[");
        for (int k = 0; k < d->nfiles; k++) {
            strbuf_puts(b, k ? "," : "");
            json_cstring(b, d->files[k]);
        }
        strbuf_puts(b, "]");
    } else {
        jkey(b, &f, "result");
        json_cstring(b, result_name(d->last_result));
    }
    jkey(b, &f, "loaded");
    strbuf_puts(b, d->loaded ? "true" : "false");
    juint(b, &f, "entries", d->entries);
    juint(b, &f, "bad_lines", d->bad_lines);
    jkey(b, &f, "loaded_at");
    if (d->loaded_at)
        strbuf_printf(b, "%lld", (long long)d->loaded_at);
    else
        strbuf_puts(b, "null");
    jkey(b, &f, "load_seconds");
    strbuf_printf(b, "%.6f", (double)d->load_ns / 1e9);
    jkey(b, &f, "last_error");
    json_cstring(b, d->error);
    strbuf_puts(b, "}");
}

void dns_report_zones_json(struct strbuf *b, const struct dns_report *r)
{
    strbuf_puts(b, "{\"zones\":[");
    for (int i = 0; i < r->nzones; i++) {
        const struct report_zone *z = &r->zones[i];
        size_t entries;
        time_t loaded_at;
        double secs;
        bool failed, f = true;
        dns_report_zone_totals(r, z, &entries, &loaded_at, &secs, &failed);
        strbuf_puts(b, i ? ",{" : "{");
        jkey(b, &f, "zone");
        json_cstring(b, z->name);
        juint(b, &f, "entries", entries);
        jkey(b, &f, "serial");
        if (z->has_soa)
            strbuf_printf(b, "%u", z->serial);
        else
            strbuf_puts(b, "null");
        jkey(b, &f, "loaded_at");
        if (loaded_at)
            strbuf_printf(b, "%lld", (long long)loaded_at);
        else
            strbuf_puts(b, "null");
        jkey(b, &f, "load_seconds");
        strbuf_printf(b, "%.6f", secs);
        /* the zone's error: its first dataset whose latest load failed */
        const char *err = NULL;
        for (int k = 0; k < z->nds + (z->acl >= 0) && !err; k++)
            err = r->ds[k < z->nds ? z->ds[k] : z->acl].error;
        jkey(b, &f, "last_error");
        json_cstring(b, err);
        jkey(b, &f, "datasets");
        strbuf_puts(b, "[");
        for (int k = 0; k < z->nds; k++) {
            strbuf_puts(b, k ? "," : "");
            dataset_json(b, &r->ds[z->ds[k]], true);
        }
        strbuf_puts(b, "]");
        jkey(b, &f, "acl");
        if (z->acl >= 0)
            dataset_json(b, &r->ds[z->acl], true);
        else
            strbuf_puts(b, "null");
        strbuf_puts(b, "}");
    }
    strbuf_puts(b, "],\"global_acl\":");
    if (r->global_acl >= 0)
        dataset_json(b, &r->ds[r->global_acl], true);
    else
        strbuf_puts(b, "null");
    strbuf_puts(b, "}\n");
}

void dns_report_reload_json(struct strbuf *b, const struct dns_report *r, int rc)
{
    int n[3] = {0};
    for (int i = 0; i < r->nds; i++)
        n[r->ds[i].last_result]++;
    strbuf_printf(b, "{\"ok\":%s,\"reloaded\":%d,\"failed\":%d,\"unchanged\":%d,\"datasets\":[",
                  rc == 0 ? "true" : "false", n[DS_RELOADED], n[DS_FAILED], n[DS_UNCHANGED]);
    for (int i = 0; i < r->nds; i++) {
        strbuf_puts(b, i ? "," : "");
        dataset_json(b, &r->ds[i], false);
    }
    strbuf_puts(b, "]}\n");
}
