/*
 * report: what rampart-dnsbl tells its operator - the counters and the state
 * of every zone and dataset - as Prometheus text (exposition format 0.0.4)
 * and as JSON, for the control thread (control.h).
 *
 * The served config belongs to the main thread (it frees replaced datasets),
 * so the control thread never reads it: after every reload the main thread
 * copies what reports need into a struct dns_report, a plain snapshot owned by
 * whoever holds it. Counters are read live with dns_server_stats().
 *
 * Trust boundary: none crossed here; zone names and file names come from the
 * command line but are escaped for JSON and Prometheus label values anyway.
 * Not for the answer path: everything here allocates.
 */
#ifndef RAMPART_DNS_REPORT_H
#define RAMPART_DNS_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "common/strbuf.h"
#include "dataset.h"
#include "zone.h"

struct report_dataset {
    char *spec;                       /* "type:file,file" as given */
    const char *type;                 /* type name (static) */
    char **files;
    int nfiles;
    bool loaded;                      /* has data (false: -q before the first load, or it failed) */
    size_t entries;
    unsigned long bad_lines;          /* lines skipped in the served data */
    time_t loaded_at;                 /* 0: never loaded */
    uint64_t load_ns;
    enum ds_reload_result last_result;
    char *error;                      /* the latest load attempt's failure, or NULL */
};

struct report_zone {
    char *name;                       /* text, without the final dot */
    int index;                        /* into dns_stats.zone[] */
    int *ds;                          /* data datasets: indexes into dns_report.ds */
    int nds;
    int acl;                          /* index of its acl dataset, or -1 */
    bool has_soa;
    uint32_t serial;
};

struct dns_report {
    struct report_dataset *ds;        /* every distinct dataset, in the config's order */
    int nds;
    struct report_zone *zones;
    int nzones;
    int global_acl;                   /* index, or -1 */
    uint64_t loads, load_failures;    /* dns_config's reload bookkeeping */
};

/// Copy what reports need out of a config (main thread). NULL on OOM.
struct dns_report *dns_report_build(const struct dns_config *cfg);

void dns_report_free(struct dns_report *r);

/// Zone totals derived from its datasets: entries (summed), the newest load
/// time, the seconds spent loading what it serves now (summed), and whether
/// the latest load of any of its datasets failed.
void dns_report_zone_totals(const struct dns_report *r, const struct report_zone *z, size_t *entries,
                            time_t *loaded_at, double *load_seconds, bool *failed);

/// GET /metrics: every counter and gauge in Prometheus text format 0.0.4.
/// started: the process start time (wall clock); version: for build_info.
void dns_report_metrics(struct strbuf *b, const struct dns_report *r, const struct dns_stats *st,
                        time_t started, const char *version);

/// `stats`: the same figures as one JSON object.
void dns_report_stats_json(struct strbuf *b, const struct dns_report *r, const struct dns_stats *st,
                           time_t started, const char *version);

/// `zones`: every zone with its datasets, files, entries, serial, load times and errors.
void dns_report_zones_json(struct strbuf *b, const struct dns_report *r);

/// `reload`: the outcome of the pass just run (rc from dns_config_reload), per dataset.
void dns_report_reload_json(struct strbuf *b, const struct dns_report *r, int rc);

/// The name of a DNS rcode ("NOERROR", ... "NOTZONE", else "RCODE<n>").
const char *dns_report_rcode_name(int rcode, char tmp[16]);

#endif
