/*
 * zone: the served configuration (zones made of datasets) and the answer path.
 *
 * A struct dns_config is immutable once published: workers read it through
 * an atomic pointer, the reloader builds a new one beside it and swaps it in
 * (server.h). dns_answer_query() is the whole answer path: parse, find the zone,
 * ask its datasets, write the answer. It does not allocate, lock or log.
 */
#ifndef RAMPART_DNS_ZONE_H
#define RAMPART_DNS_ZONE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dataset.h"
#include "wire.h"

enum { ZONE_MAX_GLUE = 64 };

/// An A record for one of the zone's name servers, added to the additional
/// section wherever the NS records are sent (precomputed per config).
struct zone_glue {
    uint8_t ns;                       /* index into the zone's NS list */
    uint32_t addr, ttl;
};

enum { RR_BLOCK_MAX = 2048, RR_BLOCK_PATCHES = 80 };

/// Records written for a zone in every answer (the NS set of the authority
/// section, the SOA of negative answers), pre-rendered once per config with
/// their names compressed: only the compression pointers are patched per
/// answer, to the zone apex in the question or within the block itself.
struct rr_block {
    uint8_t bytes[RR_BLOCK_MAX];
    uint16_t len;
    uint16_t count;                   /* records; 0 = no block */
    uint8_t npatch;
    struct {
        uint16_t at;                  /* where the pointer sits in the block */
        uint16_t target;              /* offset in the apex name, or in the block */
        uint8_t in_block;
    } patch[RR_BLOCK_PATCHES];
    uint16_t name_at[DS_MAX_NS];      /* NS target names, for glue owners */
};

struct zone {
    uint8_t name[DNS_MAX_NAME + 1];   /* lowercased wire */
    char *text;
    int nlabels;
    struct dataset **ds;              /* data datasets, in command-line order */
    int nds;
    struct dataset *acl;              /* at most one */
    int index;                        /* position in the config: stable across reloads */
    struct zone_glue glue[ZONE_MAX_GLUE];
    int nglue;
    struct rr_block auth_ns;          /* NS records for the authority section */
    struct rr_block neg_soa;          /* SOA with the negative TTL */
};

enum version_mode { VERSION_FULL = 0, VERSION_NAME_ONLY = 1, VERSION_REFUSE = 2 };

struct xfr_config;

struct dns_config {
    struct zone *zones;
    int nzones;
    struct dataset *global_acl;
    struct dataset **all;             /* every distinct dataset once */
    int nall;
    bool lazy;                        /* -a: no NS in the authority section */
    enum version_mode version;
    uint16_t max_udp;                 /* largest UDP answer we send (EDNS) */
    bool cookies;                     /* answer RFC 7873 cookies (server side) */
    uint8_t cookie_secret[16];        /* SipHash key for server cookies (RFC 9018) */
    /* Reload bookkeeping for reports (report.h): dataset loads attempted and
     * the ones that failed, since start. Kept by dns_config_reload() on the
     * main thread, carried over to every new config; not used to answer. */
    uint64_t loads, load_failures;
    /* zone transfer settings and TSIG keys (xfr.h), owned by main; NULL: none */
    const struct xfr_config *xfr;
};

/// Per-worker counters; summed on read. Zone counters are indexed by zone->index.
struct dns_zone_stats {
    uint64_t qtot, qok, qnxd, bin, bout;
};

enum { DNS_STATS_MAX_ZONES = 256 };

struct dns_stats {
    uint64_t queries, answers, dropped, bytes_in, bytes_out;
    uint64_t rcode[16];
    uint64_t truncated, tcp_queries;
    /* response rate limiting (UDP only): answers withheld, and of those the
     * ones sent as a truncated "slip" (TC=1) instead of dropped */
    uint64_t rrl_dropped, rrl_slipped;
    uint64_t cookie_valid, cookie_new;  /* RFC 7873: verified clients, cookies issued */
    /* TCP: connections accepted, refused at a cap (overall or per prefix),
     * closed for idleness / lifetime / a slow query, open right now (gauge) */
    uint64_t tcp_accepted, tcp_refused, tcp_timeouts, tcp_open;
    uint64_t qlog_dropped;              /* query-log lines dropped under overload */
    /* zone transfers (xfr.h): sent whole, cut short (client gone, journal
     * error), refused (access, TSIG, not a zone) */
    uint64_t xfr_done, xfr_aborted, xfr_refused;
    struct dns_zone_stats zone[DNS_STATS_MAX_ZONES];
};

/// Fill a ds_query's relative-name fields for `rel` labels below its base.
void ds_query_set_rel(struct ds_query *dq, int rel);

/// Would the nested datasets a combined dataset consults for this name accept
/// it (is it an address, or a name for a domain list)? (ds_other.c)
bool comb_accepts(const struct dataset *ds, const struct ds_query *dq,
                  bool (*accepts)(const struct dataset *, const struct ds_query *));

/// ACL lookup (ds_other.c): the action for this client, and the value for ACL_VALUE.
enum acl_action acl_check(const struct dataset *ds, const struct sockaddr_storage *peer,
                          const struct ds_value **value, uint32_t *ttl);

/// Answer one query packet into out[0..outcap): over UDP (tcp false) no
/// larger than 512 or the EDNS size, up to cfg->max_udp. Returns the answer
/// length, or 0 when nothing must be sent (a response packet, an ACL
/// "ignore"). *verified (if not NULL) is set when the query carried a valid
/// server cookie of ours (RFC 7873: the client proved its address).
size_t dns_answer_query(const struct dns_config *cfg, const uint8_t *pkt, size_t len, uint8_t *out,
                        size_t outcap, bool tcp, const struct sockaddr_storage *peer,
                        struct dns_stats *st, bool *verified);

/// Server cookie (RFC 9018 format: version 1, 3 reserved bytes, timestamp,
/// SipHash-2-4 of client cookie, those 8 bytes and the client address) for
/// client cookie `client` at time `now` (seconds since the epoch).
void dns_cookie_make(const uint8_t secret[16], const uint8_t client[8],
                     const struct sockaddr_storage *peer, uint32_t now, uint8_t server[16]);

/// Is the query's server cookie one we made for this client and address, no
/// older than an hour and at most 5 minutes in the future (RFC 9018 4.3)?
bool dns_cookie_valid(const uint8_t secret[16], const struct dns_query *q,
                      const struct sockaddr_storage *peer, uint32_t now);

/// The SOA a zone answers with (its first dataset with $SOA), or NULL.
const struct ds_soa *dns_zone_soa(const struct zone *z);

/// Build a config from zone specs "zone:type:file[,file...]" (zone empty: the
/// global acl). Datasets named twice are shared. Nothing is loaded yet: call
/// dns_config_reload(NULL, &cfg, true). Returns NULL (logged) on a bad spec.
struct dns_config *dns_config_build(const char *const *specs, int nspecs, const struct ds_options *opt);

struct dns_server;

/// Reload every dataset whose files changed (all when force), one at a time:
/// load beside the served one, publish a new config through srv (or just
/// replace *cfgp when srv is NULL), free the old dataset. A dataset that fails
/// to load keeps its previous data. Returns 0, or -1 if any failed. Each
/// dataset's last_result, load_error, loaded_at, load_ns and entries, and the
/// config's loads/load_failures, say what happened (for reports).
int dns_config_reload(struct dns_server *srv, struct dns_config **cfgp, bool force);

/// A copy of cfg, prepared (after datasets changed in place: a serial). NULL on OOM.
struct dns_config *dns_config_copy(const struct dns_config *cfg);

/// A prepared copy of cfg serving neu wherever cfg served old. NULL on OOM.
struct dns_config *dns_config_replace_dataset(const struct dns_config *cfg, struct dataset *old,
                                              struct dataset *neu);

/// A prepared copy of cfg that also serves ds, in the zone named `zone` (a new
/// zone after the others, or the zone of that name). NULL on failure (logged).
struct dns_config *dns_config_add_dataset(const struct dns_config *cfg, const char *zone,
                                          struct dataset *ds);

/// Compute what a config derives from its loaded datasets (glue records).
/// Called by dns_config_reload for every new config, before publishing.
void dns_config_prepare(struct dns_config *cfg);

/// Free a config and all its datasets (at shutdown).
void dns_config_free_all(struct dns_config *cfg);

/// Free a config (not its datasets: they may be shared with the next config).
void dns_config_free(struct dns_config *cfg);

/// Write every zone in BIND format (-d): dns_zone_walk()'s records as text.
void dns_config_dump(const struct dns_config *cfg, FILE *out);

/// Where a walk of a zone's records stands (all zero: the start).
struct zone_pos {
    uint32_t phase;                   /* 0 SOA, 1 NS, 2 datasets, 3 done */
    uint32_t ns;
    uint32_t ds;
    struct ds_pos dp;
};

/// The records of a zone, as -d writes them and AXFR sends them: the SOA
/// ($SOA of the first dataset with one), the NS records, then each dataset's
/// records (dataset.h, ds_type.walk), from *pos; stops before a record that
/// emit refuses. Returns true when every record was given. The datasets must
/// stay alive meanwhile (hold them: dataset_hold()). Costs O(records given).
bool dns_zone_walk(const struct zone *z, struct zone_pos *pos, ds_emit_fn emit, void *ctx);

/// The TTL -d and zone transfers give the zone's SOA record.
uint32_t dns_zone_soa_ttl(const struct zone *z);

extern const char *dns_version_string;

#endif
