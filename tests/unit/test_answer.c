/* Unit tests: the answer path's rules (src/dns/zone.c, answer.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "testutil.h"

static struct dns_config *cfg;

static int setup(void **state)
{
    (void)state;
    static char s1[128], s2[128], s3[128];
    snprintf(s1, sizeof s1, "bl.test:ip4set:%s",
             tu_file("$SOA 1h ns1.ex.com admin.ex.com 42 2h 2h 1w 10m\n"
                     "$NS 1d ns1.ex.com ns2.ex.com\n"
                     ":127.0.0.2:Listed $\n1.2.3.4\n5.6.7.8 :3:other\n"));
    snprintf(s2, sizeof s2, "bl.test:ip4set:%s", tu_file("1.2.3.4 :2:Listed $\n"));
    /* a zone without $SOA, and a name with a hundred records */
    static char big[8192];
    size_t n = 0;
    for (int i = 0; i < 100; i++)
        n += (size_t)snprintf(big + n, sizeof big - n, "9.9.9.9 :2:record number %d padding padding\n", i);
    snprintf(s3, sizeof s3, "nosoa.test:ip4set:%s", tu_file(big));
    const char *specs[] = {s1, s2, s3};
    cfg = tu_config(3, specs);
    return cfg ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    dns_config_free_all(cfg);
    return 0;
}

static void listed_and_unlisted(void **state)
{
    (void)state;
    struct tu_answer a;
    tu_ask(cfg, "4.3.2.1.bl.test", DNS_T_A, 0, 0, &a);
    assert_int_equal(a.rcode, DNS_R_NOERROR);
    assert_true(a.aa);
    assert_int_equal(a.an, 1); /* the same A from two datasets is sent once */
    assert_int_equal(a.ns, 2); /* NS in authority: rbldnsd's default (-A) */
    tu_ask(cfg, "1.0.0.127.bl.test", DNS_T_A, 0, 0, &a);
    assert_int_equal(a.rcode, DNS_R_NXDOMAIN);
    assert_int_equal(a.an, 0);
    assert_int_equal(a.ns, 1); /* SOA */
    /* negative TTL: min(SOA TTL, SOA minimum) = 600 */
    size_t i = 12;
    while (i + 8 < a.len && memcmp(a.pkt + i, "\x00\x06\x00\x01", 4) != 0) /* SOA, IN */
        i++;
    assert_memory_equal(a.pkt + i + 4, "\0\0\x02\x58", 4);
}

static void nodata_and_ent(void **state)
{
    (void)state;
    struct tu_answer a;
    tu_ask(cfg, "4.3.2.1.bl.test", DNS_T_MX, 0, 0, &a);
    assert_int_equal(a.rcode, DNS_R_NOERROR);
    assert_int_equal(a.an, 0);
    assert_int_equal(a.ns, 1);
    tu_ask(cfg, "3.2.1.bl.test", DNS_T_A, 0, 0, &a);
    assert_int_equal(a.rcode, DNS_R_NOERROR); /* RFC 8020 */
    tu_ask(cfg, "4.3.2.1.1.bl.test", DNS_T_A, 0, 0, &a);
    assert_int_equal(a.rcode, DNS_R_NXDOMAIN);
}

static void apex_and_refused(void **state)
{
    (void)state;
    struct tu_answer a;
    tu_ask(cfg, "bl.test", DNS_T_SOA, 0, 0, &a);
    assert_int_equal(a.an, 1);
    tu_ask(cfg, "bl.test", DNS_T_NS, 0, 0, &a);
    assert_int_equal(a.an, 2);
    tu_ask(cfg, "bl.test", DNS_T_A, 0, 0, &a);
    assert_int_equal(a.rcode, DNS_R_NOERROR);
    assert_int_equal(a.an, 0);
    tu_ask(cfg, "nosoa.test", DNS_T_SOA, 0, 0, &a);
    assert_int_equal(a.rcode, DNS_R_REFUSED); /* no $SOA: as rbldnsd */
    tu_ask(cfg, "elsewhere.example", DNS_T_A, 0, 0, &a);
    assert_int_equal(a.rcode, DNS_R_REFUSED);
    assert_false(a.aa);
}

static void truncation_and_edns(void **state)
{
    (void)state;
    struct tu_answer a;
    tu_ask(cfg, "9.9.9.9.nosoa.test", DNS_T_TXT, 0, 0, &a);
    assert_true(a.tc);
    assert_int_equal(a.an, 0);
    assert_true(a.len <= 512);
    tu_ask(cfg, "9.9.9.9.nosoa.test", DNS_T_TXT, 1232, 0, &a);
    assert_true(a.tc);
    assert_true(a.len <= 1232);
    assert_int_equal(a.ar, 1); /* OPT */
    tu_ask(cfg, "9.9.9.9.nosoa.test", DNS_T_TXT, 0, 1, &a); /* TCP */
    assert_false(a.tc);
    assert_int_equal(a.an, 100);
    tu_ask(cfg, "4.3.2.1.bl.test", DNS_T_A, 4096, 0, &a);
    assert_int_equal(a.ar, 1);
    assert_false(a.tc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(listed_and_unlisted),
        cmocka_unit_test(nodata_and_ent),
        cmocka_unit_test(apex_and_refused),
        cmocka_unit_test(truncation_and_edns),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
