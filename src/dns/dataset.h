/*
 * dataset: rbldnsd's datasets (ip4set, ip4tset, ip4trie, ip6tset, ip6trie,
 * dnset, generic, combined, acl), loaded from rbldnsd-format data files into
 * compact immutable structures, and looked up on the answer path.
 *
 * Life cycle: dataset_new() -> dataset_load() (reads every file, reports each
 * bad line as `file:line: reason` and skips it) -> served read-only by any
 * number of threads -> dataset_free() after the grace period. A reload builds a
 * new dataset beside the old one; nothing here is ever modified while served.
 *
 * Trust boundary: data files are operator input but often come from third
 * parties over rsync: every line is length-limited and checked.
 */
#ifndef RAMPART_DNS_DATASET_H
#define RAMPART_DNS_DATASET_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>

#include "common/rbltext.h"
#include "wire.h"

struct dns_answer;
struct dataset;

/// A resulting (A, TXT) pair as rbldnsd defines it. txt is NULL for "no TXT";
/// in txt, "$" stands for the listed entry and "$$" for a literal dollar sign
/// ($n and $= substitutions are already applied at load).
struct ds_value {
    uint32_t a;         /* host order, e.g. 0x7f000002 */
    uint32_t ttl;       /* the $TTL in force where the entry was read */
    const char *txt;    /* owned by the dataset's arena */
};

/// What one dataset says about a name.
enum ds_result { DS_NONE = 0, DS_ENT = 1, DS_FOUND = 2, DS_EXCLUDED = 3 };

/// What the answer path passes to a dataset: the query, how many of its labels
/// lie below the dataset's base (zone or combined subzone), and the name parsed
/// as a reversed IPv4/IPv6 address when it is one.
struct ds_query {
    const struct dns_query *q;
    int rel;                  /* labels of q->qname below the base name */
    int ip4_octets;           /* 1..4 if the relative name is reversed octets, else 0 */
    uint32_t ip4;             /* those octets, left-aligned (1.2 -> 0x02010000 for "1.2") */
    int ip6_nibbles;          /* 1..32 if the relative name is reversed nibbles, else 0 */
    uint8_t ip6[16];
    const struct sockaddr_storage *peer;
    bool generic_only;        /* an ACL hides list data: only generic names exist */
};

/// Data-file metadata: $SOA and $NS, first one wins (rbldnsd's rule).
struct ds_soa {
    bool present;
    uint32_t ttl;             /* 0 = the dataset's default TTL */
    uint8_t mname[DNS_MAX_NAME + 1], rname[DNS_MAX_NAME + 1];
    uint32_t serial, refresh, retry, expire, minttl;
};

enum { DS_MAX_NS = 32 };

struct ds_ns {
    bool present;
    uint32_t ttl;
    int count;
    uint8_t name[DS_MAX_NS][DNS_MAX_NAME + 1];
};

/// TTL policy from -t: default, minimum and maximum (0 = no constraint).
struct ttl_policy {
    uint32_t def, min, max;
};

enum acl_action { ACL_NONE = 0, ACL_IGNORE, ACL_REFUSE, ACL_EMPTY, ACL_PASS, ACL_VALUE };

/// One record of a dataset's zone-file view: what -d writes and a zone
/// transfer (AXFR) sends. Valid only during the emit call that gives it.
struct ds_rr {
    const uint8_t *owner;     /* wire labels below the zone apex, no root byte ("" = apex) */
    size_t owner_len;
    size_t origin_len;        /* the last origin_len bytes of owner are the current
                                 origin below the apex (a combined subzone): -d's $ORIGIN */
    uint16_t type;            /* DS_RR_ORIGIN, or A, AAAA, TXT, MX, CNAME, NS, SOA */
    uint32_t ttl;
    const uint8_t *rdata;     /* wire rdata with uncompressed names; NULL for a CNAME
                                 (to "excluded" under the origin, as rbldnsd -d) and for
                                 a TXT made from tpl */
    uint16_t rdlen;
    const char *tpl, *entry;  /* TXT: tpl with "$" replaced by entry, as the answer path */
};

/// Not a record: combined's subzone change (-d writes "$ORIGIN sub.zone.").
enum { DS_RR_ORIGIN = 0 };

/// Where a walk stands, so that it can resume where it stopped (a transfer
/// is written a message at a time). All zero: the start. The types give the
/// fields their own meaning; resuming costs O(1).
struct ds_pos {
    uint32_t sub;             /* combined: the subzone */
    uint32_t sub_state;       /* combined: 0 origin line, 1 records, 2 done */
    uint32_t part;            /* a table, or a prefix-length level */
    uint64_t entry;
    uint32_t block;           /* a prefix written as the blocks it covers */
    uint32_t rr;              /* the record of the entry (A, then TXT) */
};

/// Takes one record; returns 0, or non-zero to stop the walk before it (the
/// walk gives the same record again when resumed).
typedef int (*ds_emit_fn)(void *ctx, const struct ds_rr *rr);

/// The type table: each dataset kind implements these.
struct ds_type {
    const char *name;
    size_t size;                              /* of the private struct */
    int (*line)(struct dataset *ds, char *line, size_t len); /* <0 with ds->err set: skip */
    int (*finish)(struct dataset *ds);
    enum ds_result (*query)(const struct dataset *ds, const struct ds_query *dq,
                            struct dns_answer *ans);
    void (*free)(struct dataset *ds);
    /* the records, as rbldnsd -d expands them, from *pos; true when all were given */
    bool (*walk)(const struct dataset *ds, struct ds_pos *pos, ds_emit_fn emit, void *ctx);
    size_t (*count)(const struct dataset *ds);
};

/// Load-time options shared by every dataset.
struct ds_options {
    struct ttl_policy ttl;
    bool allow_host_bits;     /* -e: accept 1.2.3.4/24 */
    bool no_gzip;             /* -C */
};

struct arena;

/// What the latest reload pass did with a dataset.
enum ds_reload_result { DS_UNCHANGED = 0, DS_RELOADED, DS_FAILED };

struct dataset {
    const struct ds_type *type;
    char *spec;               /* "type:file,file" as given: identifies a shared dataset */
    char *label;              /* for logs: "ip4set:file" or combined's name */
    char **files;
    int nfiles;
    time_t *mtimes;           /* of each file at the last load */
    uint64_t *stamps;         /* mtime (ns), inode and size of each file, hashed */
    struct ds_options opt;

    struct ds_soa soa;
    struct ds_ns ns;
    uint32_t ttl;             /* current $TTL (default from -t) */
    time_t expires;           /* $TIMESTAMP expiry, 0 = none */

    /* load state */
    struct arena *arena;
    const char *cur_file;
    unsigned long cur_line;
    struct ds_value defval;   /* current default A:TXT, as written (":A:TXT" line) */
    struct ds_value defval_eff; /* what an entry without a value gets ($= applied) */
    bool seen_default;        /* a ":A:TXT" line was read */
    const char *defval_raw;   /* that line's TXT as written, for the $= template */
    char *subst[10];          /* $0..$9 */
    char *base_tpl;           /* $= */
    uint32_t maxrange4;       /* $MAXRANGE4 as a number of addresses, 0 = none */
    unsigned long nerrors;
    char err[200];
    struct dataset *parent;   /* combined: the container of this nested dataset */

    /* Load bookkeeping for reports (report.h), kept by dns_config_reload() on
     * the main thread; never read on the answer path. */
    time_t loaded_at;         /* wall clock when the served data finished loading; 0: never */
    uint64_t load_ns;         /* how long that load took */
    size_t entries;           /* entries in the served data (type->count) */
    enum ds_reload_result last_result; /* in the latest reload pass */
    char load_error[200];     /* why the latest load attempt failed; "" if it did not */

    /* Holders: the config that serves the dataset counts as one, and so does
     * each zone transfer reading it (xfr.h), so that a reload can retire a
     * dataset while a transfer is still walking it. */
    atomic_uint refs;

    void *priv;               /* the type's own struct */
};

extern const struct ds_type ds_type_ip4set, ds_type_ip4tset, ds_type_ip4trie, ds_type_ip6tset,
    ds_type_ip6trie, ds_type_dnset, ds_type_generic, ds_type_combined, ds_type_acl;

/// For a walk: the records of one owner from pos->rr on: for an exclusion (v
/// NULL) a CNAME to "excluded" with excl_ttl; else an A record, then (when v
/// has a TXT) the TXT with "$" as entry. Returns false if emit stopped (the
/// walk resumes at the same record).
bool ds_walk_value(const uint8_t *owner, size_t olen, const struct ds_value *v, uint32_t excl_ttl,
                   const char *entry, struct ds_pos *pos, ds_emit_fn emit, void *ctx);

/// For a walk: the owner of an IPv4 block, wire labels below the zone: its
/// first `octets` octets of a, reversed, after "*" when octets < 4. out holds
/// at least 18 bytes. Returns the length.
size_t ds_owner_ip4(uint8_t *out, uint32_t a, int octets);

/// Look up a type by name ("ip4set" ...). NULL if unknown.
const struct ds_type *ds_type_find(const char *name);

/// Create an empty dataset of that type for the files in `files` (comma-separated).
struct dataset *dataset_new(const struct ds_type *type, const char *files, const struct ds_options *opt);

/// Read all files into the dataset. Returns 0, or -1 if a file is missing or
/// unreadable (the caller then keeps serving the previous version); the reason
/// is then in ds->err.
int dataset_load(struct dataset *ds);

/// Have any of the files changed since the last load (mtime or presence)?
bool dataset_changed(const struct dataset *ds);

/// Remember the files' current state, so that a failed load is retried only
/// once they change again (and its errors are not logged every check).
void dataset_note_stamps(struct dataset *ds);

void dataset_free(struct dataset *ds);

/// Take one more hold on a dataset (it starts with one, its config's). Only
/// while the dataset is reachable from a served config.
void dataset_hold(struct dataset *ds);

/// Drop a hold; the last one frees the dataset. Any thread.
void dataset_release(struct dataset *ds);

/* ---- helpers for the dataset types (dataset.c) ---- */

/// Allocate from the dataset's arena (freed with the dataset). Never NULL (aborts on OOM).
void *ds_alloc(struct dataset *ds, size_t n);
char *ds_strdup(struct dataset *ds, const char *s, size_t n);

/// Record a bad-line message; returns -1 for convenience.
int ds_error(struct dataset *ds, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/// Parse the value part of an entry line (after the key): "", "# comment",
/// ":A:TXT", ":A", ":A:", "TXT". Applies $n/$= substitution. Returns 0 or -1.
int ds_parse_value(struct dataset *ds, char *s, struct ds_value *out);

/// Recompute defval_eff after the default line or the $= template changed.
void ds_update_default(struct dataset *ds);

/// Handle a "$..." special line common to all types. Returns 1 if handled,
/// 0 if not a known special, -1 on error.
int ds_special(struct dataset *ds, char *line, size_t len);

/* Address prefixes as rbldnsd writes them: rbl_parse_ip4_prefix() and
 * rbl_parse_ip6() in common/rbltext.h (the store's importer reads them too). */

/// Apply -t minimum/maximum constraints to a TTL read from data.
uint32_t ds_clamp_ttl(const struct dataset *ds, uint32_t ttl);

/// A growable table of values, referenced by 31-bit indexes from entries.
struct valtab {
    struct ds_value *v;
    uint32_t n, cap;
    bool have_def;
    struct ds_value def;      /* the default most recently pushed */
    uint32_t def_idx;
};

/// Index of `val`, pushed as a new entry. Returns UINT32_MAX on OOM or overflow.
uint32_t valtab_push(struct valtab *t, struct ds_value val);

/// Index of the dataset's current default value (pushed once per change).
uint32_t valtab_default(struct valtab *t, const struct dataset *ds);

void valtab_free(struct valtab *t);

/// Feed one line to a dataset as if read from its file (used by combined).
int dataset_feed_line(struct dataset *ds, char *line, size_t len);

/// TXT rdata (one length-prefixed string) for tpl with "$" replaced by entry
/// and "$$" by "$", at most 254 characters as the answer path writes it.
/// Returns the rdata length (1 + text).
size_t ds_txt_rdata(uint8_t out[256], const char *tpl, const char *entry);

/// Skip spaces and tabs.
static inline char *ds_skip_ws(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

#endif
