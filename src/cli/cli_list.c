/*
 * cli_list.c: `rampart list create|add|remove|drop|show|search|expire` - the
 * operator's hands on the listing database (src/store), at --db.
 *
 * Inputs: the command line and, for add/remove with "-", one entry per line
 * on stdin (blank lines and "#" comments skipped). Every entry is parsed by
 * store_entry_parse() before anything is written, and a command's changes are
 * one batch (one transaction): a bad entry, an unknown list or an entry that
 * is not listed refuses the whole command with exit status 2, each problem
 * reported (the first 20), and the database unchanged.
 *
 * Trust boundary: the operator's own input, written to a database that
 * rampart-dnsbl serves to the world: nothing reaches SQL unparsed, and every
 * change is audited with --actor (default: the user name of the real uid).
 * Exit status: 0 ok, 1 a database failure (busy, I/O) or, for search,
 * nothing found; 2 bad input or usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli_list.h"
#include "common/json.h"
#include "common/util.h"
#include "store/entry.h"

enum { MAX_REPORTED = 20 };

/* ---- shared helpers ---- */

void cli_list_error(struct cli_ctx *ctx, const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(ctx->err, "rampart: list %s: ", cmd);
    vfprintf(ctx->err, fmt, ap);
    fputc('\n', ctx->err);
    va_end(ap);
}

int cli_opts_parse(struct cli_ctx *ctx, const char *cmd, const struct cli_opt_spec *spec, int argc,
                   char **argv, struct cli_opts *o)
{
    memset(o, 0, sizeof *o);
    o->pos = calloc((size_t)argc + 1, sizeof *o->pos);
    if (!o->pos) {
        cli_list_error(ctx, cmd, "out of memory");
        return CLI_FAILED;
    }
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || a[1] == '\0') {
            o->pos[o->npos++] = argv[i];
            continue;
        }
        int k = 0;
        size_t nl = 0;
        for (; spec[k].name; k++) {
            nl = strlen(spec[k].name);
            if (strncmp(a, spec[k].name, nl) == 0 && (a[nl] == '\0' || (a[nl] == '=' && spec[k].value)))
                break;
        }
        if (!spec[k].name) {
            cli_list_error(ctx, cmd, "unknown option %s (see rampart --help and rampart(1))", a);
            return CLI_USAGE;
        }
        o->given[k] = true;
        if (!spec[k].value)
            continue;
        if (a[nl] == '=') {
            o->value[k] = a + nl + 1;
        } else if (i + 1 < argc) {
            o->value[k] = argv[++i];
        } else {
            cli_list_error(ctx, cmd, "%s needs a value", spec[k].name);
            return CLI_USAGE;
        }
    }
    return CLI_OK;
}

const char *cli_opt(const struct cli_opts *o, const struct cli_opt_spec *spec, const char *name)
{
    for (int k = 0; spec[k].name; k++)
        if (strcmp(spec[k].name, name) == 0)
            return o->value[k];
    return NULL;
}

bool cli_flag(const struct cli_opts *o, const struct cli_opt_spec *spec, const char *name)
{
    for (int k = 0; spec[k].name; k++)
        if (strcmp(spec[k].name, name) == 0)
            return o->given[k];
    return false;
}

int cli_store_status(int rc)
{
    return rc == STORE_EINVAL || rc == STORE_ENOENT || rc == STORE_EEXIST ? CLI_USAGE : CLI_FAILED;
}

int cli_db_open(struct cli_ctx *ctx, const char *cmd, bool write, bool create, struct store **s)
{
    struct stat st;
    if (!create && stat(ctx->db, &st) != 0) {
        cli_list_error(ctx, cmd, "no database at %s: %s (rampart list create makes one; --db chooses it)",
                       ctx->db, strerror(errno));
        return CLI_USAGE;
    }
    if (create) {
        /* the database's directory (./var by default) may not exist yet */
        char *copy = strdup(ctx->db);
        const char *dir = copy ? dirname(copy) : ".";
        if (stat(dir, &st) != 0 && mkdir(dir, 0750) != 0 && errno != EEXIST) {
            cli_list_error(ctx, cmd, "cannot create the directory %s: %s", dir, strerror(errno));
            free(copy);
            return CLI_USAGE;
        }
        free(copy);
    }
    char err[600];
    int rc = store_open(ctx->db, !write, s, err, sizeof err);
    if (rc < 0) {
        cli_list_error(ctx, cmd, "cannot open the database: %s", err);
        return rc == STORE_EBUSY ? CLI_FAILED : CLI_USAGE;
    }
    return CLI_OK;
}

const char *cli_actor(const char *given, char buf[64])
{
    if (given)
        return given;
    struct passwd *pw = getpwuid(getuid());
    if (pw && pw->pw_name)
        snprintf(buf, 64, "%s", pw->pw_name);
    else
        snprintf(buf, 64, "uid %u", (unsigned)getuid());
    return buf;
}

const char *cli_count(uint64_t n, char out[32])
{
    char digits[24];
    int len = snprintf(digits, sizeof digits, "%" PRIu64, n);
    int o = 0;
    for (int i = 0; i < len; i++) {
        if (i && (len - i) % 3 == 0)
            out[o++] = ',';
        out[o++] = digits[i];
    }
    out[o] = '\0';
    return out;
}

const char *cli_default_type(enum store_kind kind, bool exporting)
{
    switch (kind) {
    case STORE_IP4: return exporting ? "ip4trie" : "ip4set";
    case STORE_IP6: return "ip6trie";
    case STORE_DNS: return "dnset";
    default: return "combined";
    }
}

/* "7d", "12h", "90m", "3600" from now; "never" (0). -1 if malformed. */
static int parse_expires(const char *s, int64_t now, int64_t *out)
{
    if (strcmp(s, "never") == 0) {
        *out = 0;
        return 0;
    }
    uint32_t secs;
    if (util_parse_duration(s, strlen(s), &secs) < 0 || secs == 0)
        return -1;
    *out = now + secs;
    return 0;
}

static void json_kv_str(struct strbuf *b, const char *key, const char *v, bool comma)
{
    strbuf_printf(b, "%s\"%s\":", comma ? "," : "", key);
    json_cstring(b, v);
}

static void code_text(uint32_t code, char out[16])
{
    store_code_format(code, out);
}

/* Free a table's cells without printing it. */
static void table_discard(struct cli_table *t)
{
    for (size_t i = 0; i < t->ncells; i++)
        free(t->cells[i]);
    free(t->cells);
    memset(t, 0, sizeof *t);
}

static void print_json(struct cli_ctx *ctx, struct strbuf *b)
{
    if (b->err)
        fprintf(ctx->err, "rampart: output too large or out of memory\n");
    else
        fprintf(ctx->out, "%s\n", strbuf_str(b));
    strbuf_free(b);
}

/* ---- list create ---- */

static const struct cli_opt_spec create_opts[] = {
    {"--zone", true}, {"--kind", true},  {"--code", true},   {"--txt", true},
    {"--ttl", true},  {"--actor", true}, {"--reason", true}, {NULL, false},
};

int cli_list_create(struct cli_ctx *ctx, int argc, char **argv)
{
    struct cli_opts o;
    int rc = cli_opts_parse(ctx, "create", create_opts, argc, argv, &o);
    if (rc != CLI_OK)
        goto out;
    rc = CLI_USAGE;
    if (o.npos != 1) {
        cli_list_error(ctx, "create", o.npos ? "one list name, not %d words" : "needs a list name%.0d",
                       o.npos);
        goto out;
    }
    const char *zone = cli_opt(&o, create_opts, "--zone");
    if (!zone) {
        cli_list_error(ctx, "create", "needs --zone ZONE (the DNS zone the list is served as)");
        goto out;
    }
    struct store_list l = {.kind = STORE_IP4, .code = 0x7f000002, .ttl = 2100};
    char e[300];
    if (store_list_name_check(o.pos[0], e, sizeof e) < 0) {
        cli_list_error(ctx, "create", "%s", e);
        goto out;
    }
    snprintf(l.name, sizeof l.name, "%s", o.pos[0]);
    if (strlen(zone) >= sizeof l.zone) {
        cli_list_error(ctx, "create", "zone longer than 253 bytes");
        goto out;
    }
    snprintf(l.zone, sizeof l.zone, "%s", zone);
    const char *v;
    if ((v = cli_opt(&o, create_opts, "--kind")) && store_kind_parse(v, &l.kind) < 0) {
        cli_list_error(ctx, "create", "unknown --kind %s (ip4, ip6, dns or combined)", v);
        goto out;
    }
    if ((v = cli_opt(&o, create_opts, "--code")) && store_code_parse(v, strlen(v), &l.code, e, sizeof e) < 0) {
        cli_list_error(ctx, "create", "--code: %s", e);
        goto out;
    }
    if ((v = cli_opt(&o, create_opts, "--txt"))) {
        if (store_txt_check(v, e, sizeof e) < 0) {
            cli_list_error(ctx, "create", "--txt: %s", e);
            goto out;
        }
        snprintf(l.txt, sizeof l.txt, "%s", v);
    }
    if ((v = cli_opt(&o, create_opts, "--ttl")) && util_parse_duration(v, strlen(v), &l.ttl) < 0) {
        cli_list_error(ctx, "create", "malformed --ttl %s (seconds, or a number with s, m, h, d, w)", v);
        goto out;
    }
    struct store *s;
    if ((rc = cli_db_open(ctx, "create", true, true, &s)) != CLI_OK)
        goto out;
    char actor[64];
    const char *reason = cli_opt(&o, create_opts, "--reason");
    int r = store_list_create(s, &l, cli_actor(cli_opt(&o, create_opts, "--actor"), actor), reason ? reason : "");
    if (r < 0) {
        cli_list_error(ctx, "create", "%s", store_error(s));
        rc = cli_store_status(r);
    } else {
        char code[16];
        code_text(l.code, code);
        if (ctx->json) {
            struct strbuf b = {0};
            strbuf_printf(&b, "{\"created\":true,\"id\":%" PRId64, l.id);
            json_kv_str(&b, "list", l.name, true);
            json_kv_str(&b, "zone", l.zone, true);
            json_kv_str(&b, "kind", store_kind_name(l.kind), true);
            json_kv_str(&b, "code", code, true);
            json_kv_str(&b, "txt", l.txt, true);
            strbuf_printf(&b, ",\"ttl\":%u}", l.ttl);
            print_json(ctx, &b);
        } else {
            fprintf(ctx->out, "created list %s: zone %s, kind %s, code %s, ttl %u%s%s%s\n", l.name, l.zone,
                    store_kind_name(l.kind), code, l.ttl, l.txt[0] ? ", txt \"" : "", l.txt,
                    l.txt[0] ? "\"" : "");
        }
        rc = CLI_OK;
    }
    store_close(s);
out:
    free(o.pos);
    return rc;
}

/* ---- entries from the command line and stdin ---- */

/* Calls fn for each entry: the words, and stdin's lines where a word is "-".
 * where: "ARG" or "stdin:LINE" for messages. Stops at fn's non-zero. */
static int each_entry(struct cli_ctx *ctx, char **words, int n,
                      int (*fn)(void *arg, const char *text, size_t len, const char *where), void *arg)
{
    (void)ctx;
    for (int i = 0; i < n; i++) {
        if (strcmp(words[i], "-") != 0) {
            int r = fn(arg, words[i], strlen(words[i]), words[i]);
            if (r)
                return r;
            continue;
        }
        char *line = NULL;
        size_t cap = 0;
        ssize_t got;
        unsigned long lineno = 0;
        int r = 0;
        while (!r && (got = getline(&line, &cap, stdin)) >= 0) {
            lineno++;
            size_t len = (size_t)got;
            char *p = line;
            while (len && (p[len - 1] == '\n' || p[len - 1] == '\r' || p[len - 1] == ' ' || p[len - 1] == '\t'))
                len--;
            while (len && (*p == ' ' || *p == '\t'))
                p++, len--;
            if (len == 0 || *p == '#')
                continue;
            char where[40];
            snprintf(where, sizeof where, "stdin:%lu", lineno);
            r = fn(arg, p, len, where);
        }
        free(line);
        clearerr(stdin);
        if (r)
            return r;
    }
    return 0;
}

/* What add and remove do with each entry. */
struct change_run {
    struct cli_ctx *ctx;
    const char *cmd;
    struct store *s;
    struct store_batch *b;
    const struct store_values *values;   /* add */
    const char *reason;                  /* remove */
    uint64_t bad;
    int fatal;                           /* a database failure: stop */
};

static void report_bad(struct change_run *r, const char *where, const char *text, size_t len, const char *why)
{
    if (++r->bad <= MAX_REPORTED) {
        /* the entry as typed, if the reason does not quote it: printable bytes only */
        char shown[80];
        size_t n = 0;
        for (size_t i = 0; i < len && n < 60; i++)
            shown[n++] = (unsigned char)text[i] >= ' ' && (unsigned char)text[i] < 127 ? text[i] : '?';
        shown[n] = '\0';
        if (strcmp(where, shown) == 0 || strncmp(where, "stdin:", 6) != 0)
            cli_list_error(r->ctx, r->cmd, "%s", why);
        else
            cli_list_error(r->ctx, r->cmd, "%s: %s", where, why);
    }
}

static int change_one(void *arg, const char *text, size_t len, const char *where)
{
    struct change_run *r = arg;
    struct store_parsed p;
    char e[300];
    if (store_entry_parse(text, len, store_batch_list(r->b)->kind, &p, e, sizeof e) < 0) {
        report_bad(r, where, text, len, e);
        return 0;
    }
    int rc;
    if (r->values) {
        enum store_outcome outcome;
        rc = store_batch_add(r->b, &p, r->values, &outcome);
    } else {
        rc = store_batch_remove(r->b, &p, r->reason);
    }
    if (rc == STORE_EINVAL || rc == STORE_ENOENT) {
        report_bad(r, where, text, len, store_error(r->s));
        return 0;
    }
    if (rc < 0) {
        r->fatal = rc;
        return 1;
    }
    return 0;
}

static const struct cli_opt_spec add_opts[] = {
    {"--code", true},     {"--txt", true},   {"--reason", true}, {"--source", true},
    {"--evidence", true}, {"--expires", true}, {"--actor", true}, {NULL, false},
};

static const struct cli_opt_spec remove_opts[] = {
    {"--reason", true}, {"--actor", true}, {NULL, false},
};

static void change_summary(struct cli_ctx *ctx, const char *list, const struct store_batch_counts *c,
                           bool add)
{
    if (ctx->json) {
        struct strbuf b = {0};
        strbuf_puts(&b, "{");
        json_kv_str(&b, "list", list, false);
        if (add)
            strbuf_printf(&b, ",\"added\":%" PRIu64 ",\"changed\":%" PRIu64 ",\"unchanged\":%" PRIu64,
                          c->added, c->changed, c->unchanged);
        else
            strbuf_printf(&b, ",\"removed\":%" PRIu64, c->removed);
        strbuf_printf(&b, ",\"serial\":%" PRIu64 "}", c->serial);
        print_json(ctx, &b);
        return;
    }
    char a[32], ch[32], u[32], rm[32];
    if (add)
        fprintf(ctx->out, "%s: %s added, %s changed, %s unchanged; serial %" PRIu64 "\n", list,
                cli_count(c->added, a), cli_count(c->changed, ch), cli_count(c->unchanged, u), c->serial);
    else
        fprintf(ctx->out, "%s: %s removed; serial %" PRIu64 "\n", list, cli_count(c->removed, rm), c->serial);
}

static int add_or_remove(struct cli_ctx *ctx, int argc, char **argv, bool add)
{
    const char *cmd = add ? "add" : "remove";
    const struct cli_opt_spec *spec = add ? add_opts : remove_opts;
    struct cli_opts o;
    struct store *s = NULL;
    int rc = cli_opts_parse(ctx, cmd, spec, argc, argv, &o);
    if (rc != CLI_OK)
        goto out;
    rc = CLI_USAGE;
    if (o.npos < 2) {
        cli_list_error(ctx, cmd, "needs a list name and at least one entry (or - to read them from stdin)");
        goto out;
    }
    const char *reason = cli_opt(&o, spec, "--reason");
    if (!add && !reason) {
        cli_list_error(ctx, cmd, "needs --reason TEXT (why: it goes to the audit trail)");
        goto out;
    }
    char e[300];
    if (reason && store_text_check("--reason", reason, e, sizeof e) < 0) {
        cli_list_error(ctx, cmd, "%s", e);
        goto out;
    }
    struct store_values v = {0};
    if (add) {
        const char *x;
        if ((x = cli_opt(&o, spec, "--code"))) {
            if (store_code_parse(x, strlen(x), &v.code, e, sizeof e) < 0) {
                cli_list_error(ctx, cmd, "--code: %s", e);
                goto out;
            }
            v.set |= STORE_SET_CODE;
        }
        if ((x = cli_opt(&o, spec, "--txt"))) {
            if (store_txt_check(x, e, sizeof e) < 0) {
                cli_list_error(ctx, cmd, "--txt: %s", e);
                goto out;
            }
            v.txt = x;
            v.set |= STORE_SET_TXT;
        }
        static const char *const texts[] = {"--source", "--evidence"};
        const char **dst[] = {&v.source, &v.evidence};
        const unsigned bits[] = {STORE_SET_SOURCE, STORE_SET_EVIDENCE};
        for (int i = 0; i < 2; i++)
            if ((x = cli_opt(&o, spec, texts[i]))) {
                if (store_text_check(texts[i], x, e, sizeof e) < 0) {
                    cli_list_error(ctx, cmd, "%s", e);
                    goto out;
                }
                *dst[i] = x;
                v.set |= bits[i];
            }
        if ((x = cli_opt(&o, spec, "--expires"))) {
            if (parse_expires(x, (int64_t)time(NULL), &v.expires) < 0) {
                cli_list_error(ctx, cmd, "malformed --expires %s (a duration such as 7d or 12h, or never)", x);
                goto out;
            }
            v.set |= STORE_SET_EXPIRES;
        }
    }
    if ((rc = cli_db_open(ctx, cmd, true, false, &s)) != CLI_OK)
        goto out;
    char actor[64];
    struct store_batch_info info = {
        .list = o.pos[0],
        .actor = cli_actor(cli_opt(&o, spec, "--actor"), actor),
        .reason = reason ? reason : "",
        .origin = NULL,
    };
    struct store_batch *b;
    int r = store_batch_begin(s, &info, &b);
    if (r < 0) {
        cli_list_error(ctx, cmd, "%s", store_error(s));
        rc = cli_store_status(r);
        goto out;
    }
    struct change_run run = {.ctx = ctx, .cmd = cmd, .s = s, .b = b, .values = add ? &v : NULL,
                             .reason = reason};
    each_entry(ctx, o.pos + 1, o.npos - 1, change_one, &run);
    if (run.fatal) {
        cli_list_error(ctx, cmd, "%s; nothing changed", store_error(s));
        store_batch_abort(b);
        rc = cli_store_status(run.fatal);
        goto out;
    }
    if (run.bad) {
        char n[32];
        if (run.bad > MAX_REPORTED)
            cli_list_error(ctx, cmd, "... and %s more", cli_count(run.bad - MAX_REPORTED, n));
        cli_list_error(ctx, cmd, "nothing changed: %s bad entr%s", cli_count(run.bad, n),
                       run.bad == 1 ? "y" : "ies");
        store_batch_abort(b);
        rc = CLI_USAGE;
        goto out;
    }
    struct store_batch_counts c;
    store_batch_counts(b, &c);
    char list[64];
    snprintf(list, sizeof list, "%s", store_batch_list(b)->name);
    if ((r = store_batch_commit(b)) < 0) {
        cli_list_error(ctx, cmd, "%s; nothing changed", store_error(s));
        rc = cli_store_status(r);
        goto out;
    }
    change_summary(ctx, list, &c, add);
    rc = CLI_OK;
out:
    store_close(s);
    free(o.pos);
    return rc;
}

int cli_list_add(struct cli_ctx *ctx, int argc, char **argv)
{
    return add_or_remove(ctx, argc, argv, true);
}

int cli_list_remove(struct cli_ctx *ctx, int argc, char **argv)
{
    return add_or_remove(ctx, argc, argv, false);
}

/* ---- list drop ---- */

static const struct cli_opt_spec drop_opts[] = {
    {"--force", false}, {"--yes", false}, {"--reason", true}, {"--actor", true}, {NULL, false},
};

int cli_list_drop(struct cli_ctx *ctx, int argc, char **argv)
{
    struct cli_opts o;
    struct store *s = NULL;
    int rc = cli_opts_parse(ctx, "drop", drop_opts, argc, argv, &o);
    if (rc != CLI_OK)
        goto out;
    rc = CLI_USAGE;
    if (o.npos != 1) {
        cli_list_error(ctx, "drop", "needs exactly one list name");
        goto out;
    }
    if ((rc = cli_db_open(ctx, "drop", true, false, &s)) != CLI_OK)
        goto out;
    struct store_list l;
    int r = store_list_get(s, o.pos[0], &l);
    if (r < 0) {
        cli_list_error(ctx, "drop", "%s", store_error(s));
        rc = cli_store_status(r);
        goto out;
    }
    if (!cli_flag(&o, drop_opts, "--force") && !cli_flag(&o, drop_opts, "--yes")) {
        struct store_list_stats st;
        char n[32];
        store_list_stats(s, l.id, store_now(s), &st);
        cli_list_error(ctx, "drop", "dropping list %s deletes its %s listings and its journal (the audit "
                                    "trail is kept); add --yes to do it", l.name, cli_count(st.listings, n));
        rc = CLI_USAGE;
        goto out;
    }
    char actor[64];
    const char *reason = cli_opt(&o, drop_opts, "--reason");
    uint64_t count;
    r = store_list_drop(s, l.name, cli_actor(cli_opt(&o, drop_opts, "--actor"), actor), reason ? reason : "",
                        &count);
    if (r < 0) {
        cli_list_error(ctx, "drop", "%s", store_error(s));
        rc = cli_store_status(r);
        goto out;
    }
    if (ctx->json) {
        struct strbuf b = {0};
        strbuf_puts(&b, "{\"dropped\":true");
        json_kv_str(&b, "list", l.name, true);
        strbuf_printf(&b, ",\"listings\":%" PRIu64 "}", count);
        print_json(ctx, &b);
    } else {
        char n[32];
        fprintf(ctx->out, "dropped list %s (zone %s) with %s listings; its audit trail is kept\n", l.name,
                l.zone, cli_count(count, n));
    }
    rc = CLI_OK;
out:
    store_close(s);
    free(o.pos);
    return rc;
}

/* ---- list show ---- */

static int show_list_row(void *arg, const struct store_list *l)
{
    struct cli_table *t = ((void **)arg)[0];
    struct store *s = ((void **)arg)[1];
    struct strbuf *j = ((void **)arg)[2];
    struct store_list_stats st;
    store_list_stats(s, l->id, store_now(s), &st);
    char code[16], n[32];
    code_text(l->code, code);
    if (j) {
        strbuf_printf(j, "%s{", j->len > 10 ? "," : "");
        json_kv_str(j, "list", l->name, false);
        json_kv_str(j, "zone", l->zone, true);
        json_kv_str(j, "kind", store_kind_name(l->kind), true);
        json_kv_str(j, "code", code, true);
        strbuf_printf(j, ",\"ttl\":%u,\"listings\":%" PRIu64 ",\"serial\":%" PRIu64 "}", l->ttl, st.listings,
                      l->serial);
        return 0;
    }
    cli_table_cell(t, "%s", l->name);
    cli_table_cell(t, "%s", l->zone);
    cli_table_cell(t, "%s", store_kind_name(l->kind));
    cli_table_cell(t, "%s", code);
    cli_table_cell(t, "%u", l->ttl);
    cli_table_cell(t, "%s", cli_count(st.listings, n));
    cli_table_cell(t, "%" PRIu64, l->serial);
    return 0;
}

static int show_all(struct cli_ctx *ctx, struct store *s)
{
    struct cli_table t = {.ncols = 7, .right = {0, 0, 0, 0, 1, 1, 1}};
    struct strbuf j = {0};
    void *arg[3] = {&t, s, ctx->json ? &j : NULL};
    if (ctx->json)
        strbuf_puts(&j, "{\"lists\":[");
    else {
        const char *head[] = {"list", "zone", "kind", "code", "ttl", "listings", "serial"};
        for (int i = 0; i < 7; i++)
            cli_table_cell(&t, "%s", head[i]);
    }
    int r = store_lists(s, show_list_row, arg);
    if (r < 0) {
        cli_list_error(ctx, "show", "%s", store_error(s));
        table_discard(&t);
        strbuf_free(&j);
        return CLI_FAILED;
    }
    if (ctx->json) {
        strbuf_puts(&j, "]}");
        print_json(ctx, &j);
    } else if (t.ncells == 7) {
        table_discard(&t);
        fprintf(ctx->out, "no lists yet (rampart list create NAME --zone ZONE)\n");
    } else {
        cli_table_print(&t, ctx->out);
    }
    return CLI_OK;
}

static int show_one_list(struct cli_ctx *ctx, struct store *s, const struct store_list *l)
{
    struct store_list_stats st;
    int r = store_list_stats(s, l->id, store_now(s), &st);
    if (r < 0) {
        cli_list_error(ctx, "show", "%s", store_error(s));
        return CLI_FAILED;
    }
    char code[16], created[32], changed[32];
    code_text(l->code, code);
    cli_format_time(st.created, created);
    cli_format_time(st.last_change, changed);
    if (ctx->json) {
        struct strbuf b = {0};
        strbuf_puts(&b, "{");
        json_kv_str(&b, "list", l->name, false);
        json_kv_str(&b, "zone", l->zone, true);
        json_kv_str(&b, "kind", store_kind_name(l->kind), true);
        json_kv_str(&b, "code", code, true);
        json_kv_str(&b, "txt", l->txt, true);
        strbuf_printf(&b,
                      ",\"ttl\":%u,\"serial\":%" PRIu64 ",\"journal_first\":%" PRIu64 ",\"journal_rows\":%" PRIu64
                      ",\"listings\":%" PRIu64 ",\"excluded\":%" PRIu64 ",\"ip4\":%" PRIu64 ",\"ip6\":%" PRIu64
                      ",\"dns\":%" PRIu64 ",\"with_expiry\":%" PRIu64 ",\"expired\":%" PRIu64
                      ",\"created\":%" PRId64 ",\"last_change\":%" PRId64 "}",
                      l->ttl, l->serial, st.journal_first, st.journal_rows, st.listings, st.excluded, st.ip4,
                      st.ip6, st.dns, st.with_expiry, st.expired, st.created, st.last_change);
        print_json(ctx, &b);
        return CLI_OK;
    }
    char a[32], x[32], i4[32], i6[32], dn[32], we[32], ex[32], jr[32];
    struct cli_table t = {.ncols = 2};
    cli_table_cell(&t, "list");
    cli_table_cell(&t, "%s", l->name);
    cli_table_cell(&t, "zone");
    cli_table_cell(&t, "%s", l->zone);
    cli_table_cell(&t, "kind");
    cli_table_cell(&t, "%s", store_kind_name(l->kind));
    cli_table_cell(&t, "code");
    cli_table_cell(&t, "%s", code);
    cli_table_cell(&t, "txt");
    cli_table_cell(&t, "%s", l->txt[0] ? l->txt : "(none)");
    cli_table_cell(&t, "ttl");
    cli_table_cell(&t, "%u", l->ttl);
    cli_table_cell(&t, "serial");
    cli_table_cell(&t, "%" PRIu64, l->serial);
    cli_table_cell(&t, "journal");
    if (st.journal_rows)
        cli_table_cell(&t, "serials %" PRIu64 "-%" PRIu64 " (%s changes kept)", st.journal_first, l->serial,
                       cli_count(st.journal_rows, jr));
    else
        cli_table_cell(&t, "empty (readers behind serial %" PRIu64 " reload the list)", l->serial);
    cli_table_cell(&t, "listings");
    cli_table_cell(&t, "%s (IPv4 %s, IPv6 %s, domains %s), %s exclusion%s", cli_count(st.listings, a),
                   cli_count(st.ip4, i4), cli_count(st.ip6, i6), cli_count(st.dns, dn), cli_count(st.excluded, x),
                   st.excluded == 1 ? "" : "s");
    cli_table_cell(&t, "expiry");
    cli_table_cell(&t, "%s will expire, %s expired and waiting for rampart list expire",
                   cli_count(st.with_expiry, we), cli_count(st.expired, ex));
    cli_table_cell(&t, "created");
    cli_table_cell(&t, "%s UTC", created);
    cli_table_cell(&t, "last change");
    cli_table_cell(&t, "%s%s", changed, st.last_change ? " UTC" : "");
    cli_table_print(&t, ctx->out);
    return CLI_OK;
}

struct show_entry {
    struct cli_ctx *ctx;
    const struct store_list *l;
    struct strbuf *j;
    struct cli_table *t;
    bool found;
    int64_t now;
};

static int show_listing(void *arg, const struct store_listing *x)
{
    struct show_entry *se = arg;
    se->found = true;
    const struct store_list *l = se->l;
    char code[16], created[32], updated[32], expires[32];
    code_text(x->e.code ? x->e.code : l->code, code);
    cli_format_time(x->created, created);
    cli_format_time(x->updated, updated);
    cli_format_time(x->e.expires, expires);
    bool expired = x->e.expires && x->e.expires <= se->now;
    const char *state = expired ? "expired (removed by the next expiry pass)"
                        : x->e.excluded ? "excluded"
                                        : "listed";
    if (se->j) {
        struct strbuf *b = se->j;
        json_kv_str(b, "state", expired ? "expired" : x->e.excluded ? "excluded" : "listed", true);
        json_kv_str(b, "code", code, true);
        strbuf_printf(b, ",\"code_default\":%s", x->e.code ? "false" : "true");
        json_kv_str(b, "txt", x->e.txt ? x->e.txt : l->txt, true);
        strbuf_printf(b, ",\"txt_default\":%s", x->e.txt ? "false" : "true");
        json_kv_str(b, "reason", x->reason, true);
        json_kv_str(b, "source", x->source, true);
        json_kv_str(b, "evidence", x->evidence, true);
        strbuf_printf(b, ",\"created\":%" PRId64 ",\"updated\":%" PRId64 ",\"expires\":%" PRId64, x->created,
                      x->updated, x->e.expires);
        return 0;
    }
    struct cli_table *t = se->t;
    cli_table_cell(t, "state");
    cli_table_cell(t, "%s", state);
    if (!x->e.excluded) {
        cli_table_cell(t, "code");
        cli_table_cell(t, "%s%s", code, x->e.code ? "" : " (the list's)");
        cli_table_cell(t, "txt");
        cli_table_cell(t, "%s%s", x->e.txt ? x->e.txt : l->txt[0] ? l->txt : "(none)",
                       x->e.txt || !l->txt[0] ? "" : " (the list's)");
    }
    cli_table_cell(t, "reason");
    cli_table_cell(t, "%s", x->reason);
    cli_table_cell(t, "source");
    cli_table_cell(t, "%s", x->source);
    cli_table_cell(t, "evidence");
    cli_table_cell(t, "%s", x->evidence);
    cli_table_cell(t, "created");
    cli_table_cell(t, "%s UTC", created);
    cli_table_cell(t, "updated");
    cli_table_cell(t, "%s UTC", updated);
    cli_table_cell(t, "expires");
    cli_table_cell(t, "%s%s", x->e.expires ? expires : "never", x->e.expires ? " UTC" : "");
    return 0;
}

static int show_history(void *arg, const struct store_audit *a)
{
    struct show_entry *se = arg;
    char when[32];
    cli_format_time(a->at, when);
    if (se->j) {
        strbuf_printf(se->j, "%s{\"at\":%" PRId64, se->found ? "," : "", a->at);
        se->found = true;
        json_kv_str(se->j, "actor", a->actor, true);
        json_kv_str(se->j, "action", a->action, true);
        strbuf_printf(se->j, ",\"serial\":%" PRIu64, a->serial);
        json_kv_str(se->j, "reason", a->reason, true);
        json_kv_str(se->j, "detail", a->detail, true);
        strbuf_puts(se->j, "}");
        return 0;
    }
    cli_table_cell(se->t, "%s", when);
    cli_table_cell(se->t, "%s", a->actor);
    cli_table_cell(se->t, "%s", a->action);
    if (a->serial)
        cli_table_cell(se->t, "%" PRIu64, a->serial);
    else
        cli_table_cell(se->t, "-");
    cli_table_cell(se->t, "%s", a->reason);
    cli_table_cell(se->t, "%s", a->detail);
    return 0;
}

static int show_entry(struct cli_ctx *ctx, struct store *s, const struct store_list *l, const char *text,
                      size_t history)
{
    struct store_parsed p;
    char e[300];
    if (store_entry_parse(text, strlen(text), l->kind, &p, e, sizeof e) < 0) {
        cli_list_error(ctx, "show", "%s", e);
        return CLI_USAGE;
    }
    struct strbuf j = {0};
    struct cli_table t = {.ncols = 2};
    struct show_entry se = {.ctx = ctx, .l = l, .j = ctx->json ? &j : NULL, .t = &t, .now = store_now(s)};
    if (ctx->json) {
        strbuf_puts(&j, "{");
        json_kv_str(&j, "list", l->name, false);
        json_kv_str(&j, "entry", p.text, true);
    } else {
        cli_table_cell(&t, "list");
        cli_table_cell(&t, "%s", l->name);
        cli_table_cell(&t, "entry");
        cli_table_cell(&t, "%s", p.text);
    }
    int r = store_listing_get(s, l->id, p.text, show_listing, &se);
    if (r < 0 && r != STORE_ENOENT) {
        cli_list_error(ctx, "show", "%s", store_error(s));
        strbuf_free(&j);
        table_discard(&t);
        return CLI_FAILED;
    }
    if (!se.found) {
        if (ctx->json) {
            json_kv_str(&j, "state", "not listed", true);
        } else {
            cli_table_cell(&t, "state");
            cli_table_cell(&t, "not listed");
        }
    }
    if (ctx->json) {
        strbuf_puts(&j, ",\"history\":[");
    } else {
        cli_table_print(&t, ctx->out);
        t = (struct cli_table){.ncols = 6, .right = {0, 0, 0, 1, 0, 0}};
        const char *head[] = {"when (UTC)", "actor", "action", "serial", "reason", "detail"};
        for (int i = 0; i < 6; i++)
            cli_table_cell(&t, "%s", head[i]);
    }
    se.found = false;
    r = store_audit_each(s, l->name, p.text, history, show_history, &se);
    if (r < 0) {
        cli_list_error(ctx, "show", "%s", store_error(s));
        strbuf_free(&j);
        table_discard(&t);
        return CLI_FAILED;
    }
    if (ctx->json) {
        strbuf_puts(&j, "]}");
        print_json(ctx, &j);
    } else {
        fprintf(ctx->out, "\nhistory%s:\n", r == 0 ? " (none)" : "");
        if (r > 0)
            cli_table_print(&t, ctx->out);
        else
            table_discard(&t);
    }
    return CLI_OK;
}

static const struct cli_opt_spec show_opts[] = {{"--history", true}, {NULL, false}};

int cli_list_show(struct cli_ctx *ctx, int argc, char **argv)
{
    struct cli_opts o;
    struct store *s = NULL;
    int rc = cli_opts_parse(ctx, "show", show_opts, argc, argv, &o);
    if (rc != CLI_OK)
        goto out;
    rc = CLI_USAGE;
    if (o.npos > 2) {
        cli_list_error(ctx, "show", "takes a list name and optionally one entry");
        goto out;
    }
    uint64_t history = 50;
    const char *h = cli_opt(&o, show_opts, "--history");
    if (h && util_parse_uint(h, strlen(h), 1000000, &history) < 0) {
        cli_list_error(ctx, "show", "malformed --history %s (a number of rows, 0: all)", h);
        goto out;
    }
    if ((rc = cli_db_open(ctx, "show", false, false, &s)) != CLI_OK)
        goto out;
    if (o.npos == 0) {
        rc = show_all(ctx, s);
        goto out;
    }
    struct store_list l;
    int r = store_list_get(s, o.pos[0], &l);
    if (r < 0) {
        cli_list_error(ctx, "show", "%s", store_error(s));
        rc = cli_store_status(r);
        goto out;
    }
    rc = o.npos == 1 ? show_one_list(ctx, s, &l) : show_entry(ctx, s, &l, o.pos[1], (size_t)history);
out:
    store_close(s);
    free(o.pos);
    return rc;
}

/* ---- list search ---- */

struct search_run {
    struct cli_ctx *ctx;
    struct cli_table *t;
    struct strbuf *j;
    uint64_t n;
};

static int search_row(void *arg, const struct store_listing *x)
{
    struct search_run *sr = arg;
    char code[16], expires[32];
    if (x->e.code)
        code_text(x->e.code, code);
    else
        snprintf(code, sizeof code, "default");
    cli_format_time(x->e.expires, expires);
    if (sr->j) {
        strbuf_printf(sr->j, "%s{", sr->n ? "," : "");
        json_kv_str(sr->j, "list", x->list, false);
        json_kv_str(sr->j, "entry", x->e.entry, true);
        strbuf_printf(sr->j, ",\"excluded\":%s", x->e.excluded ? "true" : "false");
        if (x->e.code)
            json_kv_str(sr->j, "code", code, true);
        else
            strbuf_puts(sr->j, ",\"code\":null");
        strbuf_printf(sr->j, ",\"expires\":%" PRId64, x->e.expires);
        json_kv_str(sr->j, "reason", x->reason, true);
        strbuf_puts(sr->j, "}");
    } else {
        cli_table_cell(sr->t, "%s", x->list);
        cli_table_cell(sr->t, "%s%s", x->e.excluded ? "!" : "", x->e.entry);
        cli_table_cell(sr->t, "%s", x->e.excluded ? "excluded" : "listed");
        cli_table_cell(sr->t, "%s", x->e.excluded ? "-" : code);
        cli_table_cell(sr->t, "%s", expires);
        cli_table_cell(sr->t, "%s", x->reason);
    }
    sr->n++;
    return 0;
}

static const struct cli_opt_spec search_opts[] = {{"--list", true}, {"--limit", true}, {NULL, false}};

int cli_list_search(struct cli_ctx *ctx, int argc, char **argv)
{
    struct cli_opts o;
    struct store *s = NULL;
    int rc = cli_opts_parse(ctx, "search", search_opts, argc, argv, &o);
    if (rc != CLI_OK)
        goto out;
    rc = CLI_USAGE;
    if (o.npos != 1) {
        cli_list_error(ctx, "search", "takes one address, CIDR, domain or pattern");
        goto out;
    }
    uint64_t limit = 1000;
    const char *lim = cli_opt(&o, search_opts, "--limit");
    if (lim && util_parse_uint(lim, strlen(lim), UINT32_MAX, &limit) < 0) {
        cli_list_error(ctx, "search", "malformed --limit %s", lim);
        goto out;
    }
    const char *q = o.pos[0];
    struct store_parsed p;
    char e[300];
    bool entry = store_entry_parse(q, strlen(q), 0, &p, e, sizeof e) == 0;
    bool glob = strpbrk(q, "*?[") != NULL;
    if (!entry && !glob) {
        cli_list_error(ctx, "search", "%s (give an address, a CIDR, a domain, or a pattern with * ? [...])", e);
        goto out;
    }
    if (entry && p.excluded) {
        cli_list_error(ctx, "search", "search for %s without the \"!\": exclusions are shown as such", p.text);
        goto out;
    }
    if ((rc = cli_db_open(ctx, "search", false, false, &s)) != CLI_OK)
        goto out;
    int64_t list_id = 0;
    const char *only = cli_opt(&o, search_opts, "--list");
    if (only) {
        struct store_list l;
        int r = store_list_get(s, only, &l);
        if (r < 0) {
            cli_list_error(ctx, "search", "%s", store_error(s));
            rc = cli_store_status(r);
            goto out;
        }
        list_id = l.id;
    }
    struct cli_table t = {.ncols = 6};
    struct strbuf j = {0};
    struct search_run sr = {.ctx = ctx, .t = &t, .j = ctx->json ? &j : NULL};
    if (ctx->json) {
        strbuf_puts(&j, "{");
        json_kv_str(&j, "query", entry ? p.text : q, false);
        strbuf_printf(&j, ",\"kind\":\"%s\",\"matches\":[", entry ? "covering" : "pattern");
    } else {
        const char *head[] = {"list", "entry", "state", "code", "expires (UTC)", "reason"};
        for (int i = 0; i < 6; i++)
            cli_table_cell(&t, "%s", head[i]);
    }
    int r;
    if (entry) {
        r = store_search_covering(s, list_id, &p, store_now(s), search_row, &sr);
    } else {
        char pat[512];
        size_t n = 0;
        for (; q[n] && n < sizeof pat - 1; n++)
            pat[n] = (char)(q[n] >= 'A' && q[n] <= 'Z' ? q[n] + 32 : q[n]); /* entries are lower case */
        pat[n] = '\0';
        r = store_search_glob(s, list_id, pat, store_now(s), (size_t)limit, search_row, &sr);
    }
    if (r < 0) {
        cli_list_error(ctx, "search", "%s", store_error(s));
        strbuf_free(&j);
        table_discard(&t);
        rc = CLI_FAILED;
        goto out;
    }
    if (ctx->json) {
        strbuf_puts(&j, "]}");
        print_json(ctx, &j);
    } else if (sr.n) {
        cli_table_print(&t, ctx->out);
    } else {
        table_discard(&t);
        fprintf(ctx->out, "no listing %s %s\n", entry ? "covers" : "matches", entry ? p.text : q);
    }
    rc = sr.n ? CLI_OK : CLI_FAILED;
out:
    store_close(s);
    free(o.pos);
    return rc;
}

/* ---- list expire ---- */

static const struct cli_opt_spec expire_opts[] = {{"--actor", true}, {NULL, false}};

int cli_list_expire(struct cli_ctx *ctx, int argc, char **argv)
{
    struct cli_opts o;
    struct store *s = NULL;
    int rc = cli_opts_parse(ctx, "expire", expire_opts, argc, argv, &o);
    if (rc != CLI_OK)
        goto out;
    rc = CLI_USAGE;
    if (o.npos != 0) {
        cli_list_error(ctx, "expire", "takes no argument (it expires every list)");
        goto out;
    }
    if ((rc = cli_db_open(ctx, "expire", true, false, &s)) != CLI_OK)
        goto out;
    const char *actor = cli_opt(&o, expire_opts, "--actor");
    size_t count = 0;
    int r = store_expire(s, store_now(s), actor ? actor : "expire", &count);
    if (r < 0) {
        cli_list_error(ctx, "expire", "%s", store_error(s));
        rc = cli_store_status(r);
        goto out;
    }
    char n[32];
    if (ctx->json)
        fprintf(ctx->out, "{\"expired\":%zu}\n", count);
    else
        fprintf(ctx->out, "expired %s listing%s\n", cli_count(count, n), count == 1 ? "" : "s");
    rc = CLI_OK;
out:
    store_close(s);
    free(o.pos);
    return rc;
}
