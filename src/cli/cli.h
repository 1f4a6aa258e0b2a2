/*
 * cli: the `rampart` command - the operator's one entry point to every part
 * of Rampart: the running rampart-dnsbl, through its control socket, and the
 * listing database (src/store) at --db.
 *
 * Dispatch is one table (cli_commands[] in cli.c): a command is a group word
 * and a subcommand word ("dnsbl stats"), or a group word alone for commands
 * without subcommands, with a summary for the help and a run function. A new
 * command is one entry there plus its run function in its own file.
 *
 * Global options (--json, --control PATH, --db PATH, -h/--help, --version)
 * are accepted anywhere on the line; any other word is the command's.
 *
 * Trust boundary: the command runs as the operator; it talks to a daemon's
 * Unix socket and treats the reply as untrusted input (bounded size and time,
 * strict JSON, json.h); the list commands parse every entry before it reaches
 * the database (store/entry.h). Exit status: CLI_OK, CLI_FAILED (the server
 * reported a failure, the database failed, a search found nothing),
 * CLI_USAGE (bad command line or input, no connection to the server).
 */
#ifndef RAMPART_CLI_CLI_H
#define RAMPART_CLI_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "common/json.h"
#include "common/strbuf.h"

enum { CLI_OK = 0, CLI_FAILED = 1, CLI_USAGE = 2 };

#define CLI_DEFAULT_DB "./var/rampart.db"
#define CLI_DEFAULT_CONTROL "./var/dnsbl.sock"

/// Largest reply read from a control socket.
enum { CLI_MAX_REPLY = 4 << 20 };

/// What every command gets: the global options, and where to write.
struct cli_ctx {
    const char *db;           /* --db: the listing database (the list commands) */
    const char *control;      /* --control: rampart-dnsbl's control socket */
    bool json;                /* --json: print the server's JSON as it is */
    FILE *out, *err;
};

struct cli_command {
    const char *group;        /* first word: "dnsbl" */
    const char *name;         /* second word: "stats"; NULL: the group word alone is the command */
    const char *args;         /* synopsis of the command's own arguments ("" if none) */
    const char *summary;      /* one line for the help */
    /// argv holds the words after the command's own (argc of them).
    int (*run)(struct cli_ctx *ctx, int argc, char **argv);
};

extern const struct cli_command cli_commands[];
extern const size_t cli_ncommands;

/// The command line split into global options and words.
struct cli_args {
    struct cli_ctx ctx;
    bool help, version;
    int nwords;
    char **words;             /* points into argv (allocated array: free(words)) */
};

/// Parse argv[1..argc). Returns 0, or -1 with a message in err (a usage error).
int cli_parse_args(int argc, char **argv, struct cli_args *a, char *err, size_t errcap);

/// The command the words name. *used: how many words it took. NULL with a
/// message in err if none does.
const struct cli_command *cli_find(char *const *words, int nwords, int *used, char *err, size_t errcap);

/// The whole program: parse, dispatch, return the exit status.
int cli_main(int argc, char **argv, FILE *out, FILE *err);

/// Send `request` and a newline to the control socket ctx->control and read
/// the reply (at most CLI_MAX_REPLY bytes, within timeout_ms). On failure
/// prints why to ctx->err and returns CLI_USAGE (cannot connect) or
/// CLI_FAILED (the exchange failed); CLI_OK otherwise.
int cli_control_request(const struct cli_ctx *ctx, const char *request, int timeout_ms,
                        struct strbuf *reply);

/// Parse a reply as JSON. With --json, also print it. A reply that is not
/// JSON, or is {"error": ...}, is printed as a failure: returns CLI_FAILED
/// (and *doc NULL, or the document for the caller to free).
int cli_reply_json(const struct cli_ctx *ctx, const struct strbuf *reply, struct json_doc **doc);

/* ---- aligned text tables ---- */

struct cli_table {
    int ncols;
    bool right[16];           /* right-align this column (numbers) */
    char **cells;             /* row-major */
    size_t ncells, cap;
    bool err;
};

/// Append one cell (printf-style); rows fill left to right, ncols per row.
void cli_table_cell(struct cli_table *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/// Print with columns padded to their widest cell, two spaces apart, then free.
void cli_table_print(struct cli_table *t, FILE *out);

/// "2024-05-01 12:00:00" (UTC) for a Unix time, "-" for 0.
void cli_format_time(long long t, char out[32]);

/* ---- commands (one file each) ---- */

int cli_dnsbl_stats(struct cli_ctx *ctx, int argc, char **argv);
int cli_dnsbl_zones(struct cli_ctx *ctx, int argc, char **argv);
int cli_dnsbl_reload(struct cli_ctx *ctx, int argc, char **argv);

/* the listing database (cli_list.c, cli_import.c) */
int cli_list_create(struct cli_ctx *ctx, int argc, char **argv);
int cli_list_add(struct cli_ctx *ctx, int argc, char **argv);
int cli_list_remove(struct cli_ctx *ctx, int argc, char **argv);
int cli_list_drop(struct cli_ctx *ctx, int argc, char **argv);
int cli_list_show(struct cli_ctx *ctx, int argc, char **argv);
int cli_list_search(struct cli_ctx *ctx, int argc, char **argv);
int cli_list_expire(struct cli_ctx *ctx, int argc, char **argv);
int cli_list_import(struct cli_ctx *ctx, int argc, char **argv);
int cli_list_export(struct cli_ctx *ctx, int argc, char **argv);

/* the scanning engine on files (cli_scan.c) */
int cli_scan(struct cli_ctx *ctx, int argc, char **argv);

#endif
