/*
 * cli_list.h: helpers shared by the `rampart list` commands (cli_list.c,
 * cli_import.c): their option parser, opening the database, messages and
 * numbers. Not used outside src/cli.
 */
#ifndef RAMPART_CLI_LIST_H
#define RAMPART_CLI_LIST_H

#include <stdbool.h>
#include <stdint.h>

#include "cli.h"
#include "store/store.h"

/// One option a command takes: "--name" with a value or as a flag.
struct cli_opt_spec {
    const char *name;
    bool value;
};

enum { CLI_MAX_OPTS = 24 };

/// A command line split by a command's option table.
struct cli_opts {
    const char *value[CLI_MAX_OPTS];  /* by the spec's index; NULL: not given */
    bool given[CLI_MAX_OPTS];
    char **pos;                       /* positional words (points into argv) */
    int npos;
};

/// Parse argv by spec (NULL-terminated). "--name=value" works too; "-" is a
/// positional word. Prints the problem and returns CLI_USAGE, or CLI_OK.
int cli_opts_parse(struct cli_ctx *ctx, const char *cmd, const struct cli_opt_spec *spec, int argc,
                   char **argv, struct cli_opts *o);

/// The value of option `name`, or NULL.
const char *cli_opt(const struct cli_opts *o, const struct cli_opt_spec *spec, const char *name);
bool cli_flag(const struct cli_opts *o, const struct cli_opt_spec *spec, const char *name);

/// Open the listing database at ctx->db. write: for a command that changes
/// it; create: may create the file (and its directory). Prints why it
/// cannot and returns CLI_USAGE (or CLI_FAILED when it is busy).
int cli_db_open(struct cli_ctx *ctx, const char *cmd, bool write, bool create, struct store **s);

/// A store error as an exit status: bad input 2, database trouble 1.
int cli_store_status(int rc);

/// "rampart: list CMD: message" on ctx->err.
void cli_list_error(struct cli_ctx *ctx, const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/// --actor, or the user name of the real uid ("uid 1000" without one).
const char *cli_actor(const char *given, char buf[64]);

/// "1,234,567"
const char *cli_count(uint64_t n, char out[32]);

/// Default rbldnsd dataset type for a list kind (import and export).
const char *cli_default_type(enum store_kind kind, bool exporting);

int cli_list_import(struct cli_ctx *ctx, int argc, char **argv);
int cli_list_export(struct cli_ctx *ctx, int argc, char **argv);

#endif
