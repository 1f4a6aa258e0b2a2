/*
 * fuzz_loader: libFuzzer harness for rampart-dnsbl's data-file loader.
 *
 * Each input is the content of an rbldnsd data file. It is loaded into a
 * dataset of every type in turn (ip4set, ip4tset, ip4trie, ip6tset, ip6trie,
 * dnset, generic, combined, acl) the way dataset_load() does it, line by line
 * through dataset_feed_line(), each line in a buffer of its exact size so that
 * a read past the line's end is caught. Then the type's finish runs, the
 * dataset answers queries as the only dataset of zone "fz" (names taken from
 * the input's own keys, plus fixed ones), is dumped (-d) and is freed: a leak
 * is a finding.
 *
 * The same input is also written to a file and loaded by dataset_load() itself
 * for one of the types (the input's length picks which): the real path through
 * load_file() (and zlib, if the input is gzip data). The two loads must agree
 * on success, entry count and bad-line count; this also tells when the
 * harness's copy of dataset_load()'s set-up (new_dataset) has fallen behind.
 *
 * A first line "#!" with 'e' in it loads as with -e (host bits allowed), with
 * 't' in it with a -t minimum and maximum TTL.
 *
 * Invariants beyond the sanitizers: a rejected line leaves a reason in
 * ds->err; every answer passes fz_check_answer() (fuzz_common.h).
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "dns/dataset.h"
#include "dns/wire.h"
#include "dns/zone.h"
#include "fuzz_common.h"

static const struct ds_type *const types[] = {
    &ds_type_ip4set, &ds_type_ip4tset, &ds_type_ip4trie, &ds_type_ip6tset, &ds_type_ip6trie,
    &ds_type_dnset,  &ds_type_generic, &ds_type_combined, &ds_type_acl,
};
enum { NTYPES = sizeof types / sizeof types[0], MAX_DERIVED = 8 };

static FILE *devnull;
static char file_path[64]; /* the input as a data file, for dataset_load() */

static void remove_file(void)
{
    unlink(file_path);
}
static struct dataset *empty_ip4; /* the zone's data when the fuzzed dataset is an acl */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    log_init("fuzz_loader", LOG_LVL_ERROR);
    devnull = fopen("/dev/null", "w");
    struct ds_options opt = {.ttl = {2100, 0, 0}};
    snprintf(file_path, sizeof file_path, "%s/rampart-fuzz-XXXXXX",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    int fd = mkstemp(file_path);
    if (!devnull || fd < 0)
        FZ_FAIL("harness set-up failed");
    close(fd);
    atexit(remove_file);
    empty_ip4 = dataset_new(&ds_type_ip4set, file_path, &opt);
    if (!empty_ip4 || dataset_load(empty_ip4) < 0)
        FZ_FAIL("harness set-up failed");
    return 0;
}

/* What dataset_load() sets up before reading the first file. */
static struct dataset *new_dataset(const struct ds_type *t, const struct ds_options *opt)
{
    struct dataset *ds = dataset_new(t, "fuzz-input", opt);
    if (!ds)
        FZ_FAIL("dataset_new failed");
    ds->priv = calloc(1, t->size ? t->size : 1);
    if (!ds->priv)
        FZ_FAIL("out of memory");
    ds->ttl = ds->opt.ttl.def;
    ds->defval = (struct ds_value){.a = 0x7f000002, .txt = NULL};
    ds->defval_raw = NULL;
    ds->seen_default = false;
    ds_update_default(ds);
    ds->maxrange4 = 0;
    ds->nerrors = 0;
    ds->cur_file = "fuzz-input";
    ds->cur_line = 0;
    return ds;
}

/* Queries: names relative to "fz", from the input's keys and fixed ones. */
enum probe_kind { PROBE_IP4 = 1, PROBE_IP6 = 2, PROBE_NAME = 4 };

struct probe {
    char name[DNS_MAX_NAME + 8];
    int kind;
    struct sockaddr_storage peer;
    bool has_peer;
};

struct probes {
    struct probe p[MAX_DERIVED * 2 + 16];
    int n;
};

static void add_probe(struct probes *ps, int kind, const char *name,
                      const struct sockaddr_storage *peer)
{
    if (ps->n >= (int)(sizeof ps->p / sizeof ps->p[0]))
        return;
    struct probe *p = &ps->p[ps->n++];
    p->kind = kind;
    snprintf(p->name, sizeof p->name, "%s", name);
    p->has_peer = peer != NULL;
    if (peer)
        p->peer = *peer;
}

/* The first word of a data line as a name to ask for: a reversed IPv4
 * address, reversed IPv6 nibbles, or a domain name, under `suffix`. */
static void derive_probes(struct probes *ps, const char *line, const char *suffix)
{
    char key[256];
    const char *s = line;
    while (*s == ' ' || *s == '\t' || *s == '!')
        s++;
    if (s[0] == '*' && s[1] == '.')
        s += 2;
    else if (s[0] == '.')
        s++;
    size_t k = 0;
    while (s[k] && !strchr(" \t#;", s[k]) && k < sizeof key - 1)
        k++;
    if (k == 0)
        return;
    memcpy(key, s, k);
    key[k] = '\0';
    char name[DNS_MAX_NAME + 8];
    struct sockaddr_storage peer;
    const char *end;
    uint32_t a4;
    int oct = rbl_parse_ip4_prefix(key, &end, &a4);
    if (oct > 0 && !strchr(key, ':')) {
        snprintf(name, sizeof name, "%u.%u.%u.%u.%s", a4 & 255, (a4 >> 8) & 255, (a4 >> 16) & 255,
                 a4 >> 24, suffix);
        memset(&peer, 0, sizeof peer);
        struct sockaddr_in *sin = (struct sockaddr_in *)&peer;
        sin->sin_family = AF_INET;
        sin->sin_addr.s_addr = htonl(a4);
        add_probe(ps, PROBE_IP4, name, &peer);
        if (oct < 4) { /* the prefix itself: an empty non-terminal */
            int n = 0;
            for (int o = oct - 1; o >= 0; o--)
                n += snprintf(name + n, sizeof name - (size_t)n, "%u.", (a4 >> (24 - 8 * o)) & 255);
            snprintf(name + n, sizeof name - (size_t)n, "%s", suffix);
            add_probe(ps, PROBE_IP4, name, NULL);
        }
        return;
    }
    if (strchr(key, ':')) {
        char *slash = strchr(key, '/');
        if (slash)
            *slash = '\0';
        uint8_t a6[16];
        if (rbl_parse_ip6(key, strlen(key), a6) < 0)
            return;
        int n = 0;
        for (int i = 31; i >= 0; i--)
            n += snprintf(name + n, sizeof name - (size_t)n, "%x.", (a6[i / 2] >> (i % 2 ? 0 : 4)) & 15);
        snprintf(name + n, sizeof name - (size_t)n, "%s", suffix);
        fz_peer6(&peer, "::");
        memcpy(&((struct sockaddr_in6 *)&peer)->sin6_addr, a6, 16);
        add_probe(ps, PROBE_IP6, name, &peer);
        add_probe(ps, PROBE_IP6, name + 32, NULL); /* the /64 above it */
        return;
    }
    if (strcmp(key, "@") == 0)
        snprintf(name, sizeof name, "%s", suffix);
    else
        snprintf(name, sizeof name, "%s.%s", key, suffix);
    add_probe(ps, PROBE_NAME, name, NULL);
    snprintf(name, sizeof name, "deeper.%.*s", (int)(sizeof name - 8), ps->p[ps->n - 1].name);
    add_probe(ps, PROBE_NAME, name, NULL);
}

static const struct {
    int kind;
    const char *name;
} fixed[] = {
    {PROBE_IP4, "2.0.0.127.fz"}, {PROBE_IP4, "0.0.10.fz"},
    {PROBE_IP6, "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.fz"},
    {PROBE_IP6, "8.b.d.0.1.0.0.2.fz"}, {PROBE_NAME, "example.com.fz"},
    {PROBE_NAME, "www.example.com.fz"},
};

/* Which names a dataset type can answer for. */
static int kinds_of(const struct ds_type *t)
{
    if (t == &ds_type_ip4set || t == &ds_type_ip4tset || t == &ds_type_ip4trie)
        return PROBE_IP4;
    if (t == &ds_type_ip6tset || t == &ds_type_ip6trie)
        return PROBE_IP6;
    if (t == &ds_type_dnset || t == &ds_type_generic)
        return PROBE_NAME;
    return PROBE_IP4 | PROBE_IP6 | PROBE_NAME;
}

static void ask(const struct dns_config *cfg, const char *name, uint16_t qtype, bool tcp,
                uint16_t edns, const struct sockaddr_storage *peer)
{
    static uint8_t out[DNS_TCP_MAX];
    static struct dns_stats st;
    uint8_t pkt[512];
    size_t len = fz_make_query(pkt, 0x5a5a, name, qtype, DNS_C_IN, edns);
    if (len == 0)
        return;
    size_t cap = tcp ? DNS_TCP_MAX : 4096;
    size_t n = dns_answer_query(cfg, pkt, len, out, cap, tcp, peer, &st, NULL);
    fz_check_answer(pkt, len, out, n, cap, tcp, cfg->max_udp);
}

static void query_dataset(struct dataset *ds, const struct probes *ps)
{
    struct dataset *zds[1] = {ds};
    struct zone z = {.name = "\2fz", .text = (char *)"fz", .nlabels = 1, .ds = zds, .nds = 1};
    struct dns_config cfg = {.zones = &z, .nzones = 1, .max_udp = DNS_EDNS_DEFAULT};
    if (ds->type == &ds_type_acl) {
        zds[0] = empty_ip4;
        z.acl = ds;
    }
    dns_config_prepare(&cfg);
    struct sockaddr_storage def;
    fz_peer4(&def, "192.0.2.1");
    int kinds = kinds_of(ds->type);
    ask(&cfg, "fz", DNS_T_ANY, false, 0, &def);
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        if (fixed[i].kind & kinds)
            ask(&cfg, fixed[i].name, DNS_T_ANY, false, 0, &def);
    for (int i = 0, tcp = 0; i < ps->n; i++) {
        if (!(ps->p[i].kind & kinds))
            continue;
        const struct sockaddr_storage *peer = ps->p[i].has_peer ? &ps->p[i].peer : &def;
        ask(&cfg, ps->p[i].name, DNS_T_ANY, false, 0, peer);
        if (tcp++ < 2)
            ask(&cfg, ps->p[i].name, DNS_T_TXT, true, 0, peer);
        if (ds->type == &ds_type_acl && ps->p[i].has_peer) {
            const struct ds_value *v = NULL;
            uint32_t ttl;
            enum acl_action a = acl_check(ds, &ps->p[i].peer, &v, &ttl);
            if (a != ACL_NONE && !v)
                FZ_FAIL("acl_check matched without a value");
        }
    }
    cfg.lazy = true;
    ask(&cfg, "fz", DNS_T_SOA, false, 1232, &def);
    /* -d output: formatting every entry of a big range costs more than it finds */
    if (!ds->type->count || ds->type->count(ds) <= 2000)
        dns_config_dump(&cfg, devnull);
}

struct load_result {
    bool ok;
    size_t count;
    unsigned long nerrors;
};

static struct load_result load_lines(const struct ds_type *t, const uint8_t *data, size_t size,
                                     const struct ds_options *opt, struct probes *ps, bool derive)
{
    struct dataset *ds = new_dataset(t, opt);
    char suffix[DNS_MAX_NAME + 1] = "fz";
    size_t start = 0;
    int derived = 0;
    while (start < size) {
        const uint8_t *nl = memchr(data + start, '\n', size - start);
        size_t len = nl ? (size_t)(nl - (data + start)) : size - start;
        char *line = malloc(len + 1);
        if (!line)
            FZ_FAIL("out of memory");
        memcpy(line, data + start, len);
        line[len] = '\0';
        if (derive && derived < MAX_DERIVED && line[0] != '$' && line[0] != '#' &&
            line[0] != ':' && line[0] != ';' && strlen(line) == len) {
            derive_probes(ps, line, suffix);
            derived++;
        }
        if (derive && strncasecmp(line, "$DATASET ", 9) == 0) {
            /* later keys live under the section's first subzone */
            char *w = line + 9;
            w += strcspn(w, " \t");
            w += strspn(w, " \t");
            size_t wl = strcspn(w, " \t");
            if (wl == 0 || (wl == 1 && w[0] == '@'))
                snprintf(suffix, sizeof suffix, "fz");
            else
                snprintf(suffix, sizeof suffix, "%.*s.fz", (int)(wl > 200 ? 200 : wl), w);
        }
        ds->cur_line++;
        ds->err[0] = '\0';
        if (dataset_feed_line(ds, line, len) < 0) {
            ds->nerrors++;
            if (ds->err[0] == '\0')
                FZ_FAIL("line %lu rejected without a reason", ds->cur_line);
        }
        free(line);
        start += len + 1;
    }
    struct load_result r = {.ok = !t->finish || t->finish(ds) >= 0, .nerrors = ds->nerrors};
    if (r.ok) {
        if (ds->soa.present && ds->soa.serial == 0)
            ds->soa.serial = 1;
        r.count = t->count ? t->count(ds) : 0;
        query_dataset(ds, ps);
    }
    dataset_free(ds);
    return r;
}

/* The production path: the input as a file, read by dataset_load(). */
static struct load_result load_file(const struct ds_type *t, const uint8_t *data, size_t size,
                                    const struct ds_options *opt, const struct probes *ps)
{
    FILE *f = fopen(file_path, "w");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0)
        FZ_FAIL("cannot write %s", file_path);
    struct dataset *ds = dataset_new(t, file_path, opt);
    if (!ds)
        FZ_FAIL("dataset_new failed");
    struct load_result r = {.ok = dataset_load(ds) == 0, .nerrors = ds->nerrors};
    if (r.ok) {
        r.count = t->count ? t->count(ds) : 0;
        query_dataset(ds, ps);
    }
    dataset_free(ds);
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ds_options opt = {.ttl = {2100, 0, 0}};
    if (size >= 2 && data[0] == '#' && data[1] == '!') {
        const uint8_t *nl = memchr(data, '\n', size);
        size_t l = nl ? (size_t)(nl - data) : size;
        if (memchr(data, 'e', l))
            opt.allow_host_bits = true;
        if (memchr(data, 't', l)) {
            opt.ttl.min = 60;
            opt.ttl.max = 86400;
        }
    }
    struct probes ps = {.n = 0};
    struct load_result lines[NTYPES];
    for (int i = 0; i < NTYPES; i++) {
        /* the input's keys are collected on the first pass, for every type;
         * combined's pass adds keys under the $DATASET subzones */
        lines[i] = load_lines(types[i], data, size, &opt, &ps, i == 0 || types[i] == &ds_type_combined);
    }
    int k = (int)(size % NTYPES);
    struct load_result file = load_file(types[k], data, size, &opt, &ps);
    bool gzip = size >= 2 && data[0] == 0x1f && data[1] == 0x8b;
    if (!gzip && (file.ok != lines[k].ok || file.count != lines[k].count ||
                  file.nerrors != lines[k].nerrors))
        FZ_FAIL("%s: dataset_load gives ok=%d count=%zu errors=%lu, line by line ok=%d count=%zu "
                "errors=%lu", types[k]->name, file.ok, file.count, file.nerrors, lines[k].ok,
                lines[k].count, lines[k].nerrors);
    return 0;
}
