/* Unit tests: the `rampart` command's option parsing, dispatch and text
 * tables (src/cli/cli.c). The commands themselves run against the real
 * server in tests/integration/test_control.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

/* Run cli_main on a command line; returns the exit status, output in out/err. */
static int run(char *out, char *err, size_t cap, int argc, char **argv)
{
    FILE *o = fmemopen(out, cap, "w"), *e = fmemopen(err, cap, "w");
    assert_non_null(o);
    assert_non_null(e);
    int rc = cli_main(argc, argv, o, e);
    fclose(o);
    fclose(e);
    return rc;
}

static void global_options_anywhere(void **state)
{
    (void)state;
    char *argv[] = {"rampart", "--control", "/x/s.sock", "dnsbl", "stats", "--json", "--db=/d.db", "extra"};
    struct cli_args a;
    char err[200];
    assert_int_equal(cli_parse_args(8, argv, &a, err, sizeof err), 0);
    assert_string_equal(a.ctx.control, "/x/s.sock");
    assert_string_equal(a.ctx.db, "/d.db");
    assert_true(a.ctx.json);
    assert_int_equal(a.nwords, 3);
    assert_string_equal(a.words[0], "dnsbl");
    assert_string_equal(a.words[2], "extra");
    free(a.words);

    char *argv2[] = {"rampart", "dnsbl", "zones"};
    assert_int_equal(cli_parse_args(3, argv2, &a, err, sizeof err), 0);
    assert_string_equal(a.ctx.control, CLI_DEFAULT_CONTROL);
    assert_string_equal(a.ctx.db, CLI_DEFAULT_DB);
    assert_false(a.ctx.json);
    free(a.words);

    /* after "--" everything is a word */
    char *argv3[] = {"rampart", "--", "--json"};
    assert_int_equal(cli_parse_args(3, argv3, &a, err, sizeof err), 0);
    assert_false(a.ctx.json);
    assert_int_equal(a.nwords, 1);
    free(a.words);

    char *argv4[] = {"rampart", "dnsbl", "stats", "--control"};
    assert_int_equal(cli_parse_args(4, argv4, &a, err, sizeof err), -1);
    assert_string_equal(err, "--control needs a path");
    free(a.words);
}

static void finds_commands(void **state)
{
    (void)state;
    char err[200];
    int used;
    char *w1[] = {"dnsbl", "reload", "x"};
    const struct cli_command *c = cli_find(w1, 3, &used, err, sizeof err);
    assert_non_null(c);
    assert_ptr_equal(c->run, cli_dnsbl_reload);
    assert_int_equal(used, 2);
    char *w2[] = {"dnsbl"};
    assert_null(cli_find(w2, 1, &used, err, sizeof err));
    assert_string_equal(err, "dnsbl needs a command: stats, zones, reload");
    char *w3[] = {"dnsbl", "restart"};
    assert_null(cli_find(w3, 2, &used, err, sizeof err));
    assert_string_equal(err, "unknown dnsbl command \"restart\"; stats, zones, reload");
    char *w4[] = {"nope"};
    assert_null(cli_find(w4, 1, &used, err, sizeof err));
    assert_string_equal(err, "unknown command \"nope\"");
    char *w5[] = {"--jsn", "dnsbl"};
    assert_null(cli_find(w5, 2, &used, err, sizeof err));
    assert_string_equal(err, "unknown option --jsn");
    assert_null(cli_find(w5, 0, &used, err, sizeof err));
}

static void exit_statuses(void **state)
{
    (void)state;
    static char out[8192], err[8192];
    char *help[] = {"rampart", "--help"};
    assert_int_equal(run(out, err, sizeof out, 2, help), CLI_OK);
    assert_non_null(strstr(out, "Usage: rampart"));
    assert_non_null(strstr(out, "  dnsbl reload  "));
    char *version[] = {"rampart", "--version"};
    assert_int_equal(run(out, err, sizeof out, 2, version), CLI_OK);
    assert_string_equal(out, "rampart " RAMPART_VERSION "\n");
    char *none[] = {"rampart"};
    assert_int_equal(run(out, err, sizeof out, 1, none), CLI_USAGE);
    assert_non_null(strstr(err, "no command given"));
    char *extra[] = {"rampart", "dnsbl", "stats", "now"};
    assert_int_equal(run(out, err, sizeof out, 4, extra), CLI_USAGE);
    assert_non_null(strstr(err, "takes no argument"));
    /* no server: exit 2, saying which path and why */
    char *noserver[] = {"rampart", "--control", "/nonexistent/dnsbl.sock", "dnsbl", "stats"};
    assert_int_equal(run(out, err, sizeof out, 5, noserver), CLI_USAGE);
    assert_string_equal(err, "rampart: cannot connect to /nonexistent/dnsbl.sock: No such file or "
                             "directory (is rampart-dnsbl running with --control?)\n");
    char *cmdhelp[] = {"rampart", "dnsbl", "zones", "-h"};
    assert_int_equal(run(out, err, sizeof out, 4, cmdhelp), CLI_OK);
    assert_non_null(strstr(out, "Usage: rampart [OPTIONS] dnsbl zones\n"));
}

static void aligns_tables(void **state)
{
    (void)state;
    char out[512];
    FILE *f = fmemopen(out, sizeof out, "w");
    struct cli_table t = {.ncols = 3, .right = {false, true, false}};
    cli_table_cell(&t, "zone");
    cli_table_cell(&t, "entries");
    cli_table_cell(&t, "status");
    cli_table_cell(&t, "a.example");
    cli_table_cell(&t, "%d", 12);
    cli_table_cell(&t, "ok");
    cli_table_cell(&t, "\xc3\xa9");
    cli_table_cell(&t, "%d", 3456789);
    cli_table_cell(&t, "FAILED");
    cli_table_print(&t, f);
    fclose(f);
    assert_string_equal(out, "zone       entries  status\n"
                             "a.example       12  ok\n"
                             "\xc3\xa9          3456789  FAILED\n");
    char when[32];
    cli_format_time(0, when);
    assert_string_equal(when, "-");
    cli_format_time(1700000000, when);
    assert_string_equal(when, "2023-11-14 22:13:20");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(global_options_anywhere), cmocka_unit_test(finds_commands),
        cmocka_unit_test(exit_statuses),           cmocka_unit_test(aligns_tables),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
