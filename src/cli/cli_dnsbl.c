/*
 * cli_dnsbl.c: `rampart dnsbl stats|zones|reload` - ask the running
 * rampart-dnsbl over its control socket (--control) and print the reply as
 * aligned text, or as the server's JSON with --json. The reply's layout is
 * the one src/dns/report.c writes; a missing field prints as 0 or "-".
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

enum { TIMEOUT_MS = 10000, RELOAD_TIMEOUT_MS = 65000 /* the server gives up at 60 s */ };

static uint64_t num(const struct json_value *obj, const char *key)
{
    uint64_t v = 0;
    return json_as_uint(json_get(obj, key), &v) ? v : 0;
}

static double real(const struct json_value *obj, const char *key)
{
    double v = 0;
    return json_as_double(json_get(obj, key), &v) ? v : 0;
}

static const char *text(const struct json_value *obj, const char *key)
{
    const char *s = json_as_str(json_get(obj, key));
    return s ? s : "-";
}

/* The serial, or "-" for a zone without $SOA. */
static void serial_text(const struct json_value *obj, char out[24])
{
    uint64_t v;
    if (json_as_uint(json_get(obj, "serial"), &v))
        snprintf(out, 24, "%" PRIu64, v);
    else
        snprintf(out, 24, "-");
}

static void time_text(const struct json_value *obj, char out[32])
{
    uint64_t v;
    cli_format_time(json_as_uint(json_get(obj, "loaded_at"), &v) ? (long long)v : 0, out);
}

/* Ask, parse, print the JSON if asked to. CLI_OK with *doc to render as text. */
static int ask(struct cli_ctx *ctx, int argc, char **argv, const char *cmd, int timeout_ms,
               struct json_doc **doc)
{
    *doc = NULL;
    if (argc > 0) {
        fprintf(ctx->err, "rampart: dnsbl %s takes no argument%s%s (see rampart --help)\n", cmd,
                argv[0][0] == '-' ? ": unknown option " : ": ", argv[0]);
        return CLI_USAGE;
    }
    struct strbuf reply = {0};
    int rc = cli_control_request(ctx, cmd, timeout_ms, &reply);
    if (rc == CLI_OK)
        rc = cli_reply_json(ctx, &reply, doc);
    strbuf_free(&reply);
    return rc;
}

int cli_dnsbl_stats(struct cli_ctx *ctx, int argc, char **argv)
{
    struct json_doc *doc;
    int rc = ask(ctx, argc, argv, "stats", TIMEOUT_MS, &doc);
    if (rc != CLI_OK || ctx->json) {
        json_free(doc);
        return rc;
    }
    const struct json_value *s = json_root(doc);
    FILE *out = ctx->out;
    uint64_t up = num(s, "uptime_seconds");
    fprintf(out, "%s %s, up ", text(s, "program"), text(s, "version"));
    if (up >= 86400)
        fprintf(out, "%" PRIu64 "d ", up / 86400);
    fprintf(out, "%02u:%02u:%02u\n\n", (unsigned)(up % 86400 / 3600), (unsigned)(up % 3600 / 60),
            (unsigned)(up % 60));

    struct cli_table t = {.ncols = 2};
    const struct json_value *q = json_get(s, "queries");
    cli_table_cell(&t, "queries");
    cli_table_cell(&t, "%" PRIu64 " (udp %" PRIu64 ", tcp %" PRIu64 ")", num(q, "total"), num(q, "udp"),
                   num(q, "tcp"));
    struct strbuf answers = {0};
    const struct json_value *a = json_get(s, "answers");
    for (const struct json_value *m = a && a->type == JSON_OBJECT ? a->child : NULL; m; m = m->next) {
        uint64_t v = 0;
        json_as_uint(m, &v);
        strbuf_printf(&answers, "%s%s %" PRIu64, answers.len ? ", " : "", m->key, v);
    }
    cli_table_cell(&t, "answers");
    cli_table_cell(&t, "%s", strbuf_str(&answers));
    strbuf_free(&answers);
    cli_table_cell(&t, "not sent");
    cli_table_cell(&t, "dropped %" PRIu64 ", truncated %" PRIu64, num(s, "dropped"), num(s, "truncated"));
    cli_table_cell(&t, "bytes");
    cli_table_cell(&t, "in %" PRIu64 ", out %" PRIu64, num(s, "bytes_in"), num(s, "bytes_out"));
    const struct json_value *o = json_get(s, "rrl");
    cli_table_cell(&t, "rate limit");
    cli_table_cell(&t, "dropped %" PRIu64 ", slipped %" PRIu64, num(o, "dropped"), num(o, "slipped"));
    o = json_get(s, "cookies");
    cli_table_cell(&t, "cookies");
    cli_table_cell(&t, "valid %" PRIu64 ", new %" PRIu64, num(o, "valid"), num(o, "new"));
    o = json_get(s, "tcp");
    cli_table_cell(&t, "tcp");
    cli_table_cell(&t, "accepted %" PRIu64 ", refused %" PRIu64 ", timeouts %" PRIu64 ", open %" PRIu64,
                   num(o, "accepted"), num(o, "refused"), num(o, "timeouts"), num(o, "open"));
    cli_table_cell(&t, "query log");
    cli_table_cell(&t, "dropped %" PRIu64, num(s, "querylog_dropped"));
    o = json_get(s, "reloads");
    cli_table_cell(&t, "reloads");
    cli_table_cell(&t, "%" PRIu64 " (failed %" PRIu64 ")", num(o, "total"), num(o, "failed"));
    cli_table_print(&t, out);

    const struct json_value *zones = json_get(s, "zones");
    if (zones && zones->type == JSON_ARRAY && zones->child) {
        fputc('\n', out);
        struct cli_table z = {.ncols = 9, .right = {0, 1, 1, 1, 1, 1, 1, 1, 0}};
        const char *head[] = {"zone",      "queries", "noerror", "nxdomain", "bytes in",
                              "bytes out", "entries", "serial",  "loaded (UTC)"};
        for (int i = 0; i < 9; i++)
            cli_table_cell(&z, "%s", head[i]);
        for (const struct json_value *e = zones->child; e; e = e->next) {
            char serial[24], when[32];
            serial_text(e, serial);
            time_text(e, when);
            cli_table_cell(&z, "%s", text(e, "zone"));
            cli_table_cell(&z, "%" PRIu64, num(e, "queries"));
            cli_table_cell(&z, "%" PRIu64, num(e, "noerror"));
            cli_table_cell(&z, "%" PRIu64, num(e, "nxdomain"));
            cli_table_cell(&z, "%" PRIu64, num(e, "bytes_in"));
            cli_table_cell(&z, "%" PRIu64, num(e, "bytes_out"));
            cli_table_cell(&z, "%" PRIu64, num(e, "entries"));
            cli_table_cell(&z, "%s", serial);
            cli_table_cell(&z, "%s%s", when,
                           json_get(e, "load_failed") && json_get(e, "load_failed")->type == JSON_TRUE
                               ? "  (latest load FAILED)"
                               : "");
        }
        cli_table_print(&z, out);
    }
    json_free(doc);
    return CLI_OK;
}

/* A dataset's status: "ok", or the latest load's failure. */
static void status_text(const struct json_value *d, char *out, size_t cap)
{
    const char *err = json_as_str(json_get(d, "last_error"));
    const struct json_value *loaded = json_get(d, "loaded");
    if (err)
        snprintf(out, cap, "FAILED: %s%s", err,
                 loaded && loaded->type == JSON_TRUE ? " (serving the previous data)" : "");
    else if (loaded && loaded->type != JSON_TRUE)
        snprintf(out, cap, "not loaded yet");
    else
        snprintf(out, cap, "ok, %" PRIu64 " bad line%s", num(d, "bad_lines"),
                 num(d, "bad_lines") == 1 ? "" : "s");
}

static void dataset_row(struct cli_table *t, const struct json_value *d, const char *indent)
{
    char when[32], status[400];
    time_text(d, when);
    status_text(d, status, sizeof status);
    cli_table_cell(t, "%s%s", indent, text(d, "dataset"));
    cli_table_cell(t, "%" PRIu64, num(d, "entries"));
    cli_table_cell(t, "%s", "");
    cli_table_cell(t, "%s", when);
    cli_table_cell(t, "%.3f", real(d, "load_seconds"));
    cli_table_cell(t, "%s", status);
}

int cli_dnsbl_zones(struct cli_ctx *ctx, int argc, char **argv)
{
    struct json_doc *doc;
    int rc = ask(ctx, argc, argv, "zones", TIMEOUT_MS, &doc);
    if (rc != CLI_OK || ctx->json) {
        json_free(doc);
        return rc;
    }
    const struct json_value *root = json_root(doc);
    const struct json_value *zones = json_get(root, "zones");
    struct cli_table t = {.ncols = 6, .right = {0, 1, 1, 0, 1, 0}};
    const char *head[] = {"zone / dataset", "entries", "serial", "loaded (UTC)", "seconds", "status"};
    for (int i = 0; i < 6; i++)
        cli_table_cell(&t, "%s", head[i]);
    for (const struct json_value *z = zones && zones->type == JSON_ARRAY ? zones->child : NULL; z;
         z = z->next) {
        char serial[24], when[32];
        serial_text(z, serial);
        time_text(z, when);
        const char *err = json_as_str(json_get(z, "last_error"));
        cli_table_cell(&t, "%s", text(z, "zone"));
        cli_table_cell(&t, "%" PRIu64, num(z, "entries"));
        cli_table_cell(&t, "%s", serial);
        cli_table_cell(&t, "%s", when);
        cli_table_cell(&t, "%.3f", real(z, "load_seconds"));
        cli_table_cell(&t, "%s", err ? "FAILED" : "ok");
        const struct json_value *ds = json_get(z, "datasets");
        for (const struct json_value *d = ds && ds->type == JSON_ARRAY ? ds->child : NULL; d; d = d->next)
            dataset_row(&t, d, "  ");
        const struct json_value *acl = json_get(z, "acl");
        if (acl && acl->type == JSON_OBJECT)
            dataset_row(&t, acl, "  ");
    }
    const struct json_value *gacl = json_get(root, "global_acl");
    if (gacl && gacl->type == JSON_OBJECT) {
        cli_table_cell(&t, "(global acl)");
        for (int i = 0; i < 5; i++)
            cli_table_cell(&t, "%s", "");
        dataset_row(&t, gacl, "  ");
    }
    cli_table_print(&t, ctx->out);
    json_free(doc);
    return CLI_OK;
}

int cli_dnsbl_reload(struct cli_ctx *ctx, int argc, char **argv)
{
    struct json_doc *doc;
    int rc = ask(ctx, argc, argv, "reload", RELOAD_TIMEOUT_MS, &doc);
    const struct json_value *root = json_root(doc);
    const struct json_value *ok = json_get(root, "ok");
    if (rc == CLI_OK && (!ok || ok->type != JSON_TRUE))
        rc = CLI_FAILED; /* some dataset failed to load */
    if (!doc || ctx->json) {
        json_free(doc);
        return rc;
    }
    fprintf(ctx->out, "reload: %" PRIu64 " reloaded, %" PRIu64 " failed, %" PRIu64 " unchanged\n",
            num(root, "reloaded"), num(root, "failed"), num(root, "unchanged"));
    struct cli_table t = {.ncols = 5, .right = {0, 0, 1, 1, 0}};
    const char *head[] = {"result", "dataset", "entries", "seconds", "error"};
    for (int i = 0; i < 5; i++)
        cli_table_cell(&t, "%s", head[i]);
    const struct json_value *ds = json_get(root, "datasets");
    for (const struct json_value *d = ds && ds->type == JSON_ARRAY ? ds->child : NULL; d; d = d->next) {
        const char *err = json_as_str(json_get(d, "last_error"));
        cli_table_cell(&t, "%s", text(d, "result"));
        cli_table_cell(&t, "%s", text(d, "dataset"));
        cli_table_cell(&t, "%" PRIu64, num(d, "entries"));
        cli_table_cell(&t, "%.3f", real(d, "load_seconds"));
        cli_table_cell(&t, "%s", err ? err : "");
    }
    cli_table_print(&t, ctx->out);
    json_free(doc);
    return rc;
}
