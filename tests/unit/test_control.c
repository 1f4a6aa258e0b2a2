/* Unit tests: the control thread's request parsers (src/dns/control.c) and the
 * reports it serves (src/dns/report.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "testutil.h"
#include "common/json.h"
#include "dns/control.h"
#include "dns/report.h"

static void parses_addresses(void **state)
{
    (void)state;
    struct sockaddr_storage ss;
    socklen_t len;
    assert_int_equal(dns_control_parse_addr("127.0.0.1:9153", &ss, &len), 0);
    assert_int_equal(ss.ss_family, AF_INET);
    assert_int_equal(ntohs(((struct sockaddr_in *)&ss)->sin_port), 9153);
    assert_int_equal(dns_control_parse_addr("[::1]:9153", &ss, &len), 0);
    assert_int_equal(ss.ss_family, AF_INET6);
    assert_int_equal(len, sizeof(struct sockaddr_in6));
    static const char *const bad[] = {"127.0.0.1",    "127.0.0.1:",   "127.0.0.1:0", "127.0.0.1:65536",
                                      "::1:9153",     "[::1]9153",    "[::1]:",      "localhost:9153",
                                      ":9153",        "1.2.3:80",     "[1.2.3.4]:80", "127.0.0.1:9x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (dns_control_parse_addr(bad[i], &ss, &len) == 0)
            fail_msg("accepted %s", bad[i]);
}

static int route(const char *req, int *minor)
{
    return dns_control_http_route(req, strlen(req), minor);
}

static void routes_http(void **state)
{
    (void)state;
    int minor;
    assert_int_equal(route("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", &minor), 200);
    assert_int_equal(minor, 1);
    assert_int_equal(route("GET /metrics HTTP/1.0\r\n\r\n", &minor), 200);
    assert_int_equal(minor, 0);
    assert_int_equal(route("GET /metrics?name[]=x HTTP/1.1\n\n", &minor), 200);
    /* incomplete: no empty line yet */
    assert_int_equal(route("GET /metrics HTTP/1.1\r\n", &minor), 0);
    assert_int_equal(route("GET /metr", &minor), 0);
    assert_int_equal(route("GET / HTTP/1.1\r\n\r\n", &minor), 404);
    assert_int_equal(route("GET /metricsx HTTP/1.1\r\n\r\n", &minor), 404);
    assert_int_equal(route("GET /metrics/ HTTP/1.1\r\n\r\n", &minor), 404);
    assert_int_equal(route("POST /metrics HTTP/1.1\r\n\r\n", &minor), 405);
    assert_int_equal(route("HEAD /metrics HTTP/1.1\r\n\r\n", &minor), 405);
    assert_int_equal(route("GET /metrics HTTP/2.0\r\n\r\n", &minor), 505);
    assert_int_equal(route("GET /metrics HTTP/1.2\r\n\r\n", &minor), 505);
    static const char *const bad[] = {
        "GET /metrics\r\n\r\n",          "GET  /metrics HTTP/1.1\r\n\r\n", "get /metrics HTTP/1.1\r\n\r\n",
        "GET metrics HTTP/1.1\r\n\r\n",  "GET /metrics FOO/1.1\r\n\r\n",   "\r\n\r\n",
        "GET /me\x01trics HTTP/1.1\r\n\r\n", "GET /metrics HTTP/1.1 x\r\n\r\n", " GET /metrics HTTP/1.1\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (route(bad[i], &minor) != 400)
            fail_msg("not 400: %s", bad[i]);
    /* a NUL in the request line */
    assert_int_equal(dns_control_http_route("GET /m\0 HTTP/1.1\r\n\r\n", 21, &minor), 400);
}

static enum dns_control_cmd cmd(const char *s, bool eof)
{
    return dns_control_parse_command(s, strlen(s), eof);
}

static void parses_commands(void **state)
{
    (void)state;
    assert_int_equal(cmd("stats\n", false), DNS_CMD_STATS);
    assert_int_equal(cmd("zones\r\n", false), DNS_CMD_ZONES);
    assert_int_equal(cmd("  reload \n", false), DNS_CMD_RELOAD);
    assert_int_equal(cmd("version", true), DNS_CMD_VERSION);
    assert_int_equal(cmd("stats", false), DNS_CMD_INCOMPLETE);
    assert_int_equal(cmd("", false), DNS_CMD_INCOMPLETE);
    assert_int_equal(cmd("", true), DNS_CMD_MALFORMED);
    assert_int_equal(cmd("\n", false), DNS_CMD_MALFORMED);
    assert_int_equal(cmd("stats\nzones\n", false), DNS_CMD_MALFORMED);
    assert_int_equal(cmd("st\x01" "ats\n", false), DNS_CMD_MALFORMED);
    assert_int_equal(cmd("STATS\n", false), DNS_CMD_UNKNOWN);
    assert_int_equal(cmd("stats please\n", false), DNS_CMD_UNKNOWN);
    assert_int_equal(cmd("statsx\n", false), DNS_CMD_UNKNOWN);
    assert_int_equal(dns_control_parse_command("stats\0\n", 7, false), DNS_CMD_MALFORMED);
}

static const char *data_ip4 = "$SOA 600 ns.t. hm.t. 2024050101 600 300 86400 60\n"
                              "1.2.3.4\n10.0.0.0/8\n";
static const char *data_dn = "spam.example\n*.worm.example\n";

/* A config of two zones (one sharing the ip4 dataset) and its report. */
static struct dns_config *two_zones(char paths[2][64])
{
    snprintf(paths[0], 64, "%s", tu_file(data_ip4));
    snprintf(paths[1], 64, "%s", tu_file(data_dn));
    char s0[128], s1[128], s2[128];
    snprintf(s0, sizeof s0, "bl.test:ip4set:%s", paths[0]);
    snprintf(s1, sizeof s1, "dbl.test:dnset:%s", paths[1]);
    snprintf(s2, sizeof s2, "all.test:ip4set:%s", paths[0]);
    const char *specs[] = {s0, s1, s2};
    return tu_config(3, specs);
}

static void metrics_text(void **state)
{
    (void)state;
    char paths[2][64];
    struct dns_config *cfg = two_zones(paths);
    assert_non_null(cfg);
    assert_int_equal(cfg->loads, 2); /* two distinct datasets */
    assert_int_equal(cfg->load_failures, 0);
    struct dns_report *r = dns_report_build(cfg);
    assert_non_null(r);
    assert_int_equal(r->nds, 2);
    assert_int_equal(r->nzones, 3);
    struct dns_stats st;
    memset(&st, 0, sizeof st);
    st.queries = 10;
    st.tcp_queries = 3;
    st.rcode[0] = 6;
    st.rcode[3] = 4;
    st.rcode[9] = 1;
    st.zone[1].qtot = 5;
    st.tcp_open = 2;
    struct strbuf b = {0};
    dns_report_metrics(&b, r, &st, 1700000000, "9.9.9");
    const char *t = strbuf_str(&b);
    static const char *const want[] = {
        "# TYPE rampart_dnsbl_queries_total counter\n",
        "rampart_dnsbl_queries_total{transport=\"udp\"} 7\n",
        "rampart_dnsbl_queries_total{transport=\"tcp\"} 3\n",
        "rampart_dnsbl_answers_total{rcode=\"NOERROR\"} 6\n",
        "rampart_dnsbl_answers_total{rcode=\"NXDOMAIN\"} 4\n",
        "rampart_dnsbl_answers_total{rcode=\"REFUSED\"} 0\n",
        "rampart_dnsbl_answers_total{rcode=\"NOTAUTH\"} 1\n",
        "# TYPE rampart_dnsbl_tcp_open gauge\nrampart_dnsbl_tcp_open 2\n",
        "rampart_dnsbl_reloads_total 2\n",
        "rampart_dnsbl_reloads_failed_total 0\n",
        "rampart_dnsbl_zone_queries_total{zone=\"dbl.test\"} 5\n",
        "rampart_dnsbl_zone_entries{zone=\"bl.test\"} 2\n",
        "rampart_dnsbl_zone_entries{zone=\"dbl.test\"} 2\n",
        "rampart_dnsbl_zone_soa_serial{zone=\"bl.test\"} 2024050101\n",
        "rampart_dnsbl_zone_soa_serial{zone=\"all.test\"} 2024050101\n",
        "rampart_dnsbl_zone_load_failed{zone=\"bl.test\"} 0\n",
        "rampart_dnsbl_start_time_seconds 1700000000\n",
        "rampart_dnsbl_build_info{version=\"9.9.9\"} 1\n",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!strstr(t, want[i]))
            fail_msg("missing %s in:\n%s", want[i], t);
    assert_null(strstr(t, "rcode=\"YXDOMAIN\"")); /* never seen: not listed */
    assert_null(strstr(t, "zone_soa_serial{zone=\"dbl.test\"}")); /* no $SOA */
    /* every line is a comment or "name{labels} value" */
    for (const char *line = t; *line; line = strchr(line, '\n') + 1)
        assert_true(line[0] == '#' || strncmp(line, "rampart_dnsbl_", 14) == 0);
    strbuf_free(&b);

    /* the same figures as JSON */
    dns_report_stats_json(&b, r, &st, 1700000000, "9.9.9");
    char err[100];
    struct json_doc *d = json_parse(b.data, b.len, err, sizeof err);
    if (!d)
        fail_msg("%s: %s", err, b.data);
    const struct json_value *root = json_root(d);
    uint64_t v;
    assert_true(json_as_uint(json_get(json_get(root, "queries"), "udp"), &v) && v == 7);
    assert_true(json_as_uint(json_get(json_get(root, "answers"), "NOTAUTH"), &v) && v == 1);
    assert_true(json_as_uint(json_get(json_get(root, "tcp"), "open"), &v) && v == 2);
    const struct json_value *z = json_get(root, "zones")->child;
    assert_string_equal(json_as_str(json_get(z, "zone")), "bl.test");
    assert_true(json_as_uint(json_get(z, "serial"), &v) && v == 2024050101);
    assert_int_equal(json_get(z->next, "serial")->type, JSON_NULL);
    assert_true(json_as_uint(json_get(z->next, "queries"), &v) && v == 5);
    json_free(d);
    strbuf_free(&b);
    dns_report_free(r);
    dns_config_free_all(cfg);
    unlink(paths[0]);
    unlink(paths[1]);
}

static void zones_and_reload_json(void **state)
{
    (void)state;
    char paths[2][64];
    struct dns_config *cfg = two_zones(paths);
    assert_non_null(cfg);
    /* the dnset's file disappears, the ip4set's changes */
    unlink(paths[1]);
    FILE *f = fopen(paths[0], "a");
    fputs("192.0.2.1\n", f);
    fclose(f);
    assert_int_equal(dns_config_reload(NULL, &cfg, true), -1);
    assert_int_equal(cfg->loads, 4);
    assert_int_equal(cfg->load_failures, 1);
    struct dns_report *r = dns_report_build(cfg);
    struct strbuf b = {0};
    dns_report_reload_json(&b, r, -1);
    char err[100];
    struct json_doc *d = json_parse(b.data, b.len, err, sizeof err);
    if (!d)
        fail_msg("%s: %s", err, b.data);
    const struct json_value *root = json_root(d);
    uint64_t v;
    assert_int_equal(json_get(root, "ok")->type, JSON_FALSE);
    assert_true(json_as_uint(json_get(root, "reloaded"), &v) && v == 1);
    assert_true(json_as_uint(json_get(root, "failed"), &v) && v == 1);
    const struct json_value *ds = json_get(root, "datasets")->child;
    assert_string_equal(json_as_str(json_get(ds, "result")), "reloaded");
    assert_true(json_as_uint(json_get(ds, "entries"), &v) && v == 3);
    assert_string_equal(json_as_str(json_get(ds->next, "result")), "failed");
    const char *e = json_as_str(json_get(ds->next, "last_error"));
    assert_non_null(e);
    assert_non_null(strstr(e, "No such file or directory"));
    assert_non_null(strstr(e, paths[1]));
    json_free(d);
    strbuf_free(&b);

    dns_report_zones_json(&b, r);
    d = json_parse(b.data, b.len, err, sizeof err);
    if (!d)
        fail_msg("%s: %s", err, b.data);
    const struct json_value *z = json_get(json_root(d), "zones")->child;
    assert_string_equal(json_as_str(json_get(z, "zone")), "bl.test");
    assert_true(json_as_uint(json_get(z, "entries"), &v) && v == 3);
    assert_int_equal(json_get(z, "last_error")->type, JSON_NULL);
    const struct json_value *dsz = json_get(z, "datasets")->child;
    assert_string_equal(json_as_str(json_get(dsz, "type")), "ip4set");
    assert_string_equal(json_as_str(json_get(dsz, "files")->child), paths[0]);
    assert_non_null(json_as_str(json_get(z->next, "last_error"))); /* dbl.test */
    assert_true(json_as_uint(json_get(z->next, "entries"), &v) && v == 2); /* still serving */
    json_free(d);
    strbuf_free(&b);
    dns_report_free(r);

    /* a later pass with nothing changed: unchanged, and the error stays */
    assert_int_equal(dns_config_reload(NULL, &cfg, false), 0);
    r = dns_report_build(cfg);
    assert_int_equal(r->ds[0].last_result, DS_UNCHANGED);
    assert_int_equal(r->ds[1].last_result, DS_UNCHANGED);
    assert_non_null(r->ds[1].error);
    dns_report_free(r);
    dns_config_free_all(cfg);
    unlink(paths[0]);
}

static void escapes_label_values(void **state)
{
    (void)state;
    char path[64];
    snprintf(path, sizeof path, "%s", tu_file("1.2.3.4\n"));
    char spec[128];
    snprintf(spec, sizeof spec, "we\\\"ird.test:ip4set:%s", path);
    const char *specs[] = {spec};
    struct dns_config *cfg = tu_config(1, specs);
    assert_non_null(cfg);
    struct dns_report *r = dns_report_build(cfg);
    struct dns_stats st;
    memset(&st, 0, sizeof st);
    struct strbuf b = {0};
    dns_report_metrics(&b, r, &st, 1, "v");
    /* the zone's text holds a backslash and a quote: both escaped */
    if (!strstr(strbuf_str(&b), "rampart_dnsbl_zone_entries{zone=\"we\\\\\\\"ird.test\"} 1\n"))
        fail_msg("%s", strbuf_str(&b));
    strbuf_free(&b);
    dns_report_free(r);
    dns_config_free_all(cfg);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_addresses), cmocka_unit_test(routes_http),
        cmocka_unit_test(parses_commands),  cmocka_unit_test(metrics_text),
        cmocka_unit_test(zones_and_reload_json), cmocka_unit_test(escapes_label_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
