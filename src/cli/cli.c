/*
 * cli.c: the `rampart` command's dispatch, global options, control-socket
 * client and text tables (cli.h).
 */
#define _GNU_SOURCE
#include "cli.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"

/* Every command of `rampart`, in the order the help lists them. */
const struct cli_command cli_commands[] = {
    {"dnsbl", "stats", "", "counters of the running rampart-dnsbl, per zone too", cli_dnsbl_stats},
    {"dnsbl", "zones", "", "zones and datasets: files, entries, serials, load times, errors",
     cli_dnsbl_zones},
    {"dnsbl", "reload", "", "reload changed data files now (as SIGHUP) and show the outcome",
     cli_dnsbl_reload},
    {"list", "create", "NAME --zone ZONE [--kind ip4|ip6|dns|combined] [--code A] [--txt T] [--ttl S]",
     "create a list in the listing database (--db)", cli_list_create},
    {"list", "add", "NAME ENTRY...|- [--code A] [--txt T] [--reason R] [--source S] [--expires DUR]",
     "list entries (or update them), as one transaction", cli_list_add},
    {"list", "remove", "NAME ENTRY...|- --reason TEXT", "delist entries, as one transaction",
     cli_list_remove},
    {"list", "drop", "NAME --yes", "delete a list and its listings (its audit trail stays)", cli_list_drop},
    {"list", "show", "[NAME [ENTRY]]", "lists; a list's settings and counts; a listing and its history",
     cli_list_show},
    {"list", "search", "ADDRESS|DOMAIN|PATTERN [--list NAME]", "which listings cover an address or name",
     cli_list_search},
    {"list", "expire", "", "remove listings whose expiry has passed", cli_list_expire},
    {"list", "import", "NAME FILE... [--type T] [--replace] [--skip-bad]", "read rbldnsd data files into a list",
     cli_list_import},
    {"list", "export", "NAME [FILE] [--type T]", "write a list as an rbldnsd data file (atomic rename)",
     cli_list_export},
    {"scan", NULL, "[--sigs DIR|FILE]... [-r] [--no-heuristics] [--no-heuristic NAME]... PATH...",
     "scan files for worms: ClamAV signatures, archives, MIME, heuristics", cli_scan},
};
const size_t cli_ncommands = sizeof cli_commands / sizeof cli_commands[0];

/* ---- command line ---- */

static void usage(FILE *out)
{
    fprintf(out, "Usage: rampart [OPTIONS] COMMAND [ARGS]\n"
                 "The operator's command for Rampart.\n\nCommands:\n");
    struct cli_table t = {.ncols = 2};
    for (size_t i = 0; i < cli_ncommands; i++) {
        const struct cli_command *c = &cli_commands[i];
        cli_table_cell(&t, "  %s%s%s%s%s", c->group, c->name ? " " : "", c->name ? c->name : "",
                       c->args[0] ? " " : "", c->args);
        cli_table_cell(&t, "%s", c->summary);
    }
    cli_table_print(&t, out);
    fprintf(out,
            "\nOptions (anywhere on the line):\n"
            "  --control PATH  rampart-dnsbl's control socket (default " CLI_DEFAULT_CONTROL ")\n"
            "  --json          print the server's JSON reply as it is\n"
            "  --db PATH       the listing database (default " CLI_DEFAULT_DB
            "; for the list commands)\n"
            "  -h, --help      this help\n"
            "  --version       print the version\n"
            "\nExit status: 0 ok; 1 the server reported a failure, the database failed, or a search\n"
            "found nothing; 2 usage error, bad input (nothing changed) or no connection.\n"
            "See rampart(1).\n");
}

/* --name VALUE or --name=VALUE at argv[*i]; true if it matched (value may be NULL: missing). */
static bool valued_option(int argc, char **argv, int *i, const char *name, const char **value)
{
    size_t nl = strlen(name);
    const char *a = argv[*i];
    if (strncmp(a, name, nl) != 0)
        return false;
    if (a[nl] == '=') {
        *value = a + nl + 1;
        return true;
    }
    if (a[nl] != '\0')
        return false;
    *value = *i + 1 < argc ? argv[++*i] : NULL;
    return true;
}

int cli_parse_args(int argc, char **argv, struct cli_args *a, char *err, size_t errcap)
{
    memset(a, 0, sizeof *a);
    a->ctx = (struct cli_ctx){.db = CLI_DEFAULT_DB, .control = CLI_DEFAULT_CONTROL, .out = stdout,
                              .err = stderr};
    a->words = calloc((size_t)argc + 1, sizeof *a->words);
    if (!a->words) {
        snprintf(err, errcap, "out of memory");
        return -1;
    }
    bool options = true;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL, *arg = argv[i];
        if (options && strcmp(arg, "--") == 0) {
            options = false;
        } else if (options && strcmp(arg, "--json") == 0) {
            a->ctx.json = true;
        } else if (options && (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0)) {
            a->help = true;
        } else if (options && strcmp(arg, "--version") == 0) {
            a->version = true;
        } else if (options && (valued_option(argc, argv, &i, "--control", &v) ||
                               valued_option(argc, argv, &i, "--db", &v))) {
            bool control = strncmp(arg, "--control", 9) == 0;
            if (!v || !v[0]) {
                snprintf(err, errcap, "%s needs a path", control ? "--control" : "--db");
                return -1;
            }
            *(control ? &a->ctx.control : &a->ctx.db) = v;
        } else {
            a->words[a->nwords++] = argv[i]; /* a word, or an option of the command's own */
        }
    }
    return 0;
}

const struct cli_command *cli_find(char *const *words, int nwords, int *used, char *err, size_t errcap)
{
    if (nwords == 0) {
        snprintf(err, errcap, "no command given");
        return NULL;
    }
    if (words[0][0] == '-') {
        snprintf(err, errcap, "unknown option %s", words[0]);
        return NULL;
    }
    bool group = false;
    for (size_t i = 0; i < cli_ncommands; i++) {
        const struct cli_command *c = &cli_commands[i];
        if (strcmp(c->group, words[0]) != 0)
            continue;
        group = true;
        if (!c->name) {
            *used = 1;
            return c;
        }
        if (nwords > 1 && strcmp(c->name, words[1]) == 0) {
            *used = 2;
            return c;
        }
    }
    if (!group) {
        snprintf(err, errcap, "unknown command \"%s\"", words[0]);
        return NULL;
    }
    /* the group exists: list its subcommands */
    int n = snprintf(err, errcap, nwords > 1 ? "unknown %s command \"%s\"; " : "%s needs a command%s: ",
                     words[0], nwords > 1 ? words[1] : "");
    for (size_t i = 0; i < cli_ncommands && n >= 0 && (size_t)n < errcap; i++)
        if (strcmp(cli_commands[i].group, words[0]) == 0)
            n += snprintf(err + n, errcap - (size_t)n, "%s%s", n && err[n - 1] != ' ' ? ", " : "",
                          cli_commands[i].name);
    return NULL;
}

int cli_main(int argc, char **argv, FILE *out, FILE *err)
{
    struct cli_args a;
    char msg[512];
    int rc;
    if (cli_parse_args(argc, argv, &a, msg, sizeof msg) < 0) {
        fprintf(err, "rampart: %s (see rampart --help)\n", msg);
        free(a.words);
        return CLI_USAGE;
    }
    a.ctx.out = out;
    a.ctx.err = err;
    if (a.version) {
        fprintf(out, "rampart %s\n", RAMPART_VERSION);
        rc = CLI_OK;
    } else if (a.help && a.nwords == 0) {
        usage(out);
        rc = CLI_OK;
    } else {
        int used = 0;
        const struct cli_command *c = cli_find(a.words, a.nwords, &used, msg, sizeof msg);
        if (!c) {
            fprintf(err, "rampart: %s (see rampart --help)\n", msg);
            rc = CLI_USAGE;
        } else if (a.help) {
            fprintf(out, "Usage: rampart [OPTIONS] %s%s%s%s%s\n%s\n", c->group, c->name ? " " : "",
                    c->name ? c->name : "", c->args[0] ? " " : "", c->args, c->summary);
            rc = CLI_OK;
        } else {
            rc = c->run(&a.ctx, a.nwords - used, a.words + used);
        }
    }
    free(a.words);
    fflush(out);
    return rc;
}

/* ---- the control socket ---- */

int cli_control_request(const struct cli_ctx *ctx, const char *request, int timeout_ms,
                        struct strbuf *reply)
{
    const char *path = ctx->control;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path) {
        fprintf(ctx->err, "rampart: cannot connect to %s: path longer than %zu bytes\n", path,
                sizeof sa.sun_path - 1);
        return CLI_USAGE;
    }
    memcpy(sa.sun_path, path, strlen(path));
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        fprintf(ctx->err, "rampart: cannot connect to %s: %s (is rampart-dnsbl running with --control?)\n",
                path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return CLI_USAGE;
    }
    struct strbuf line = {0};
    strbuf_printf(&line, "%s\n", request);
    bool ok = !line.err && send(fd, line.data, line.len, MSG_NOSIGNAL) == (ssize_t)line.len;
    strbuf_free(&line);
    const char *why = ok ? NULL : strerror(errno);
    uint64_t deadline = util_now_ns() + (uint64_t)timeout_ms * 1000000u;
    char buf[65536];
    reply->max = CLI_MAX_REPLY;
    while (!why) {
        uint64_t now = util_now_ns();
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int r = now >= deadline ? 0 : poll(&p, 1, (int)((deadline - now) / 1000000u) + 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r == 0) {
            why = "no reply in time";
            break;
        }
        ssize_t n = r < 0 ? -1 : read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            why = strerror(errno);
        } else if (n == 0) {
            break;
        } else {
            strbuf_add(reply, buf, (size_t)n);
            if (reply->err)
                why = "reply too long";
        }
    }
    close(fd);
    if (!why && reply->len == 0)
        why = "the server closed the connection without a reply";
    if (why) {
        fprintf(ctx->err, "rampart: %s request to %s failed: %s\n", request, path, why);
        return CLI_FAILED;
    }
    return CLI_OK;
}

int cli_reply_json(const struct cli_ctx *ctx, const struct strbuf *reply, struct json_doc **doc)
{
    char msg[200];
    *doc = json_parse(strbuf_str(reply), reply->len, msg, sizeof msg);
    if (!*doc) {
        fprintf(ctx->err, "rampart: bad reply from %s: not JSON (%s)\n", ctx->control, msg);
        return CLI_FAILED;
    }
    if (ctx->json) {
        fputs(strbuf_str(reply), ctx->out);
        if (reply->data[reply->len - 1] != '\n')
            fputc('\n', ctx->out);
    }
    const struct json_value *root = json_root(*doc);
    const char *e = json_as_str(json_get(root, "error"));
    if (root->type != JSON_OBJECT || e) {
        if (!ctx->json)
            fprintf(ctx->err, "rampart: the server says: %s\n", e ? e : "(a reply that is not an object)");
        return CLI_FAILED;
    }
    return CLI_OK;
}

/* ---- text tables ---- */

void cli_table_cell(struct cli_table *t, const char *fmt, ...)
{
    if (t->err)
        return;
    if (t->ncells == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        char **c = realloc(t->cells, cap * sizeof *c);
        if (!c) {
            t->err = true;
            return;
        }
        t->cells = c;
        t->cap = cap;
    }
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0)
        s = NULL;
    va_end(ap);
    if (!s) {
        t->err = true;
        return;
    }
    t->cells[t->ncells++] = s;
}

/* Display width: UTF-8 continuation bytes take no column. */
static size_t width(const char *s)
{
    size_t w = 0;
    for (; *s; s++)
        w += ((unsigned char)*s & 0xc0) != 0x80;
    return w;
}

void cli_table_print(struct cli_table *t, FILE *out)
{
    size_t w[16] = {0};
    int nc = t->ncols > 16 ? 16 : t->ncols;
    for (size_t i = 0; i < t->ncells; i++) {
        size_t cw = width(t->cells[i]);
        if (cw > w[i % (size_t)nc])
            w[i % (size_t)nc] = cw;
    }
    struct strbuf line = {0};
    for (size_t i = 0; i < t->ncells; i++) {
        size_t col = i % (size_t)nc;
        size_t pad = w[col] - width(t->cells[i]);
        if (col)
            strbuf_puts(&line, "  ");
        if (t->right[col])
            strbuf_pad(&line, ' ', pad);
        strbuf_puts(&line, t->cells[i]);
        if (!t->right[col])
            strbuf_pad(&line, ' ', pad);
        if (col == (size_t)nc - 1 || i == t->ncells - 1) {
            size_t n = line.len;
            while (n && line.data[n - 1] == ' ')
                n--; /* no trailing blanks after a short or empty last cell */
            fprintf(out, "%.*s\n", (int)n, strbuf_str(&line));
            strbuf_free(&line);
        }
    }
    if (t->err)
        fputs("(output incomplete: out of memory)\n", out);
    for (size_t i = 0; i < t->ncells; i++)
        free(t->cells[i]);
    free(t->cells);
    memset(t, 0, sizeof *t);
}

void cli_format_time(long long t, char out[32])
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (t <= 0 || !gmtime_r(&tt, &tm) || strftime(out, 32, "%Y-%m-%d %H:%M:%S", &tm) == 0)
        snprintf(out, 32, "-");
}
