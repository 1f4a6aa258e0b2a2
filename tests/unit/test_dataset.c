/* Unit tests: the rbldnsd data-file loader and every dataset type. Each test
 * writes a small data file, loads it through the same code the server uses,
 * and asks queries through the answer path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <zlib.h>

#include "testutil.h"

static struct dns_config *one_zone(const char *zone_type, const char *text)
{
    static char spec[256];
    snprintf(spec, sizeof spec, "bl.test:%s:%s", zone_type, tu_file(text));
    const char *specs[] = {spec};
    return tu_config(1, specs);
}

static void ip4set_syntax(void **state)
{
    (void)state;
    struct dns_config *cfg = one_zone("ip4set",
                                      ":127.0.0.2:default $\n"
                                      "1.2.3.4\n"
                                      "10.0.0\n"                /* prefix: 10.0.0.0/24 */
                                      "127.16-31 :5\n"          /* 127.16.0.0-127.31.255.255 */
                                      "172.16.0.0/12 :6:\n"     /* value without TXT */
                                      "192.168.1.0-192.168.1.9 plain $ text\n"
                                      "!192.168.1.5\n"
                                      "1.2.3.0/24 bad\n"        /* fine: aligned */
                                      "1.2.3.9/24\n"            /* host bits: skipped */
                                      "300.1.1.1\n");           /* bad: skipped */
    assert_non_null(cfg);
    assert_int_equal(cfg->all[0]->nerrors, 2);
    struct tu_answer a;
    tu_ask(cfg, "4.3.2.1.bl.test", DNS_T_ANY, 0, 0, &a);
    assert_int_equal(a.rcode, DNS_R_NOERROR);
    assert_true(tu_has_a(&a, 0x7f000002));
    assert_true(tu_has_text(&a, "default 1.2.3.4"));
    tu_ask(cfg, "5.3.2.1.bl.test", DNS_T_TXT, 0, 0, &a);
    assert_true(tu_has_text(&a, "bad")); /* the /24 entry, less specific */
    tu_ask(cfg, "77.0.0.10.bl.test", DNS_T_A, 0, 0, &a);
    assert_int_equal(a.an, 1);
    tu_ask(cfg, "1.1.20.127.bl.test", DNS_T_A, 0, 0, &a);
    assert_true(tu_has_a(&a, 0x7f000005));
    tu_ask(cfg, "1.1.32.127.bl.test", DNS_T_A, 0, 0, &a);
    assert_int_equal(a.rcode, DNS_R_NXDOMAIN);
    tu_ask(cfg, "1.2.17.172.bl.test", DNS_T_TXT, 0, 0, &a);
    assert_int_equal(a.rcode, DNS_R_NOERROR);
    assert_int_equal(a.an, 0); /* ":6:" means no TXT */
    tu_ask(cfg, "9.1.168.192.bl.test", DNS_T_TXT, 0, 0, &a);
    assert_true(tu_has_text(&a, "plain 192.168.1.9 text"));
    tu_ask(cfg, "5.1.168.192.bl.test", DNS_T_A, 0, 0, &a);
    assert_int_equal(a.rcode, DNS_R_NXDOMAIN); /* excluded */
    tu_ask(cfg, "10.1.168.192.bl.test", DNS_T_A, 0, 0, &a);
    assert_int_equal(a.rcode, DNS_R_NXDOMAIN); /* past the range */
    dns_config_free_all(cfg);
}

static void substitutions(void **state)
{
    (void)state;
    struct dns_config *cfg = one_zone("ip4set",
                                      "$1 See http://www.example.com/bl\n"
                                      "$2 for details\n"
                                      "127.0.0.2  $1/spammer/$ $2\n"
                                      "127.0.0.4  This spammer wants some $$$$.  $1/$\n");
    struct tu_answer a;
    tu_ask(cfg, "2.0.0.127.bl.test", DNS_T_TXT, 0, 0, &a);
    assert_true(tu_has_text(&a, "See http://www.example.com/bl/spammer/127.0.0.2 for details"));
    tu_ask(cfg, "4.0.0.127.bl.test", DNS_T_TXT, 0, 0, &a);
    assert_true(tu_has_text(&a, "This spammer wants some $$.  See http://www.example.com/bl/127.0.0.4"));
    dns_config_free_all(cfg);
    cfg = one_zone("ip4set", "$= See http://www.example.com/bl?$= ($) for details\n"
                             "127.0.0.2    r123\n"
                             "127.0.0.3\n"
                             "127.0.0.4    =See other blocklists for details about $\n");
    tu_ask(cfg, "2.0.0.127.bl.test", DNS_T_TXT, 0, 0, &a);
    assert_true(tu_has_text(&a, "See http://www.example.com/bl?r123 (127.0.0.2) for details"));
    tu_ask(cfg, "3.0.0.127.bl.test", DNS_T_TXT, 0, 0, &a); /* no text: $= gets the entry */
    assert_true(tu_has_text(&a, "See http://www.example.com/bl?127.0.0.3 (127.0.0.3) for details"));
    tu_ask(cfg, "4.0.0.127.bl.test", DNS_T_TXT, 0, 0, &a);
    assert_true(tu_has_text(&a, "See other blocklists for details about 127.0.0.4"));
    dns_config_free_all(cfg);
}

static void ip4tset_and_trie(void **state)
{
    (void)state;
    struct dns_config *cfg = one_zone("ip4tset", ":3:tset $\n1.2.3.4\n1.2.3.0/24\n5.6.7.8\n");
    assert_int_equal(cfg->all[0]->nerrors, 1); /* a CIDR is not a single address */
    struct tu_answer a;
    tu_ask(cfg, "8.7.6.5.bl.test", DNS_T_ANY, 0, 0, &a);
    assert_true(tu_has_a(&a, 0x7f000003));
    assert_true(tu_has_text(&a, "tset 5.6.7.8"));
    dns_config_free_all(cfg);

    cfg = one_zone("ip4trie", "10.0.0.0/8 :2:eight\n10.128.0.0/9 :3:nine\n!10.200.0.1\n10.1.2.3-10.1.2.4\n");
    assert_int_equal(cfg->all[0]->nerrors, 1); /* ranges are not CIDRs */
    tu_ask(cfg, "1.0.0.10.bl.test", DNS_T_A, 0, 0, &a);
    assert_true(tu_has_a(&a, 0x7f000002));
    tu_ask(cfg, "1.0.200.10.bl.test", DNS_T_A, 0, 0, &a);
    assert_int_equal(a.rcode, DNS_R_NXDOMAIN);
    tu_ask(cfg, "2.0.200.10.bl.test", DNS_T_A, 0, 0, &a);
    assert_true(tu_has_a(&a, 0x7f000003));
    dns_config_free_all(cfg);
}

static void ip6_sets(void **state)
{
    (void)state;
    struct dns_config *cfg = one_zone("ip6trie",
                                      ":127.0.1.2:v6 $\n2001:db8:c000/36\n2001:db8:def7:4242 :3:smells\n"
                                      "2605:6001:42::/52\n::1\n!2605:6001:42::bead\n");
    struct tu_answer a;
    /* 2001:db8:def7:4242::1 */
    tu_ask(cfg, "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.2.4.2.4.7.f.e.d.8.b.d.0.1.0.0.2.bl.test", DNS_T_A, 0, 0, &a);
    assert_true(tu_has_a(&a, 0x7f000003));
    tu_ask(cfg, "d.a.e.b.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.2.4.0.0.1.0.0.6.5.0.6.2.bl.test", DNS_T_A, 0, 0, &a);
    assert_int_equal(a.rcode, DNS_R_NXDOMAIN);
    tu_ask(cfg, "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.bl.test", DNS_T_TXT, 0, 0, &a);
    assert_true(tu_has_text(&a, "v6 ::1"));
    /* an empty non-terminal: a /36 is listed under 2001:db8 */
    tu_ask(cfg, "8.b.d.0.1.0.0.2.bl.test", DNS_T_A, 0, 0, &a);
    assert_int_equal(a.rcode, DNS_R_NOERROR);
    assert_int_equal(a.an, 0);
    dns_config_free_all(cfg);

    cfg = one_zone("ip6tset", "2001:20fe:23:41ed\n!2001:20fe:23:41ed::2\n2001:20fe:23:41ed::/48\n");
    assert_int_equal(cfg->all[0]->nerrors, 1);
    tu_ask(cfg, "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.e.1.4.3.2.0.0.e.f.0.2.1.0.0.2.bl.test", DNS_T_A, 0, 0, &a);
    assert_true(tu_has_a(&a, 0x7f000002));
    tu_ask(cfg, "2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.e.1.4.3.2.0.0.e.f.0.2.1.0.0.2.bl.test", DNS_T_A, 0, 0, &a);
    assert_int_equal(a.rcode, DNS_R_NXDOMAIN);
    dns_config_free_all(cfg);
}

static void dnset_wildcards(void **state)
{
    (void)state;
    struct dns_config *cfg = one_zone("dnset", ":2:dn $\nexample.com\n*.wild.com\n.dot.org\n!x.dot.org\n");
    struct tu_answer a;
    tu_ask(cfg, "example.com.bl.test", DNS_T_TXT, 0, 0, &a);
    assert_true(tu_has_text(&a, "dn example.com"));
    tu_ask(cfg, "a.example.com.bl.test", DNS_T_A, 0, 0, &a);
    assert_int_equal(a.rcode, DNS_R_NXDOMAIN);
    tu_ask(cfg, "wild.com.bl.test", DNS_T_A, 0, 0, &a);
    assert_int_equal(a.rcode, DNS_R_NOERROR); /* RFC 8020: names exist below it */
    assert_int_equal(a.an, 0);
    tu_ask(cfg, "a.b.WILD.com.bl.test", DNS_T_TXT, 0, 0, &a);
    assert_true(tu_has_text(&a, "dn wild.com"));
    tu_ask(cfg, "dot.org.bl.test", DNS_T_A, 0, 0, &a);
    assert_int_equal(a.an, 1);
    tu_ask(cfg, "x.dot.org.bl.test", DNS_T_A, 0, 0, &a);
    assert_int_equal(a.rcode, DNS_R_NXDOMAIN);
    tu_ask(cfg, "y.x.dot.org.bl.test", DNS_T_A, 0, 0, &a);
    assert_int_equal(a.an, 1);
    tu_ask(cfg, "com.bl.test", DNS_T_A, 0, 0, &a);
    assert_int_equal(a.rcode, DNS_R_NOERROR);
    tu_ask(cfg, "net.bl.test", DNS_T_A, 0, 0, &a);
    assert_int_equal(a.rcode, DNS_R_NXDOMAIN);
    dns_config_free_all(cfg);
}

static void generic_and_combined(void **state)
{
    (void)state;
    struct dns_config *cfg = one_zone("combined",
                                      "$NS 1w ns1.ex.com ns2.ex.com\n"
                                      "$SOA 1w ns1.ex.com admin.ex.com 7 2h 2h 1w 1h\n"
                                      "$DATASET ip4set:proxy proxies @\n"
                                      ":2:Open proxy $\n127.0.0.10\n"
                                      "$DATASET ip4set:relay relays @\n"
                                      ":3:Open relay $\n127.0.0.10\n127.0.2.10\n"
                                      "$DATASET generic:common proxies relays @\n"
                                      "@ A 127.0.0.8\nwww 3000 A 127.0.0.8\n@ MX 10 mx.ex.com\n"
                                      "about TXT \"combined list\"\n");
    assert_non_null(cfg);
    assert_int_equal(cfg->all[0]->nerrors, 0);
    struct tu_answer a;
    tu_ask(cfg, "10.0.0.127.bl.test", DNS_T_A, 0, 0, &a);
    assert_int_equal(a.an, 2); /* both subzone datasets attached to @ */
    tu_ask(cfg, "10.0.0.127.proxies.bl.test", DNS_T_A, 0, 0, &a);
    assert_int_equal(a.an, 1);
    assert_true(tu_has_a(&a, 0x7f000002));
    tu_ask(cfg, "10.2.0.127.proxies.bl.test", DNS_T_A, 0, 0, &a);
    assert_int_equal(a.rcode, DNS_R_NXDOMAIN);
    tu_ask(cfg, "www.relays.bl.test", DNS_T_A, 0, 0, &a);
    assert_true(tu_has_a(&a, 0x7f000008));
    tu_ask(cfg, "bl.test", DNS_T_MX, 0, 0, &a);
    assert_int_equal(a.an, 1);
    tu_ask(cfg, "about.bl.test", DNS_T_TXT, 0, 0, &a);
    assert_true(tu_has_text(&a, "combined list"));
    tu_ask(cfg, "bl.test", DNS_T_SOA, 0, 0, &a);
    assert_int_equal(a.an, 1);
    assert_int_equal(a.ns, 2);
    dns_config_free_all(cfg);
}

static void acl_actions(void **state)
{
    (void)state;
    char spec1[128], spec2[128];
    snprintf(spec1, sizeof spec1, "bl.test:ip4set:%s", tu_file("1.2.3.4\n"));
    snprintf(spec2, sizeof spec2, "bl.test:acl:%s", tu_file("127.0.0.0/8 :refuse\n"));
    const char *specs[] = {spec1, spec2};
    struct dns_config *cfg = tu_config(2, specs);
    assert_non_null(cfg);
    struct tu_answer a;
    tu_ask(cfg, "4.3.2.1.bl.test", DNS_T_A, 0, 0, &a); /* asked from 127.0.0.1 */
    assert_int_equal(a.rcode, DNS_R_REFUSED);
    dns_config_free_all(cfg);
    snprintf(spec2, sizeof spec2, "bl.test:acl:%s", tu_file("127.0.0.1 :ignore\n"));
    cfg = tu_config(2, specs);
    tu_ask(cfg, "4.3.2.1.bl.test", DNS_T_A, 0, 0, &a);
    assert_int_equal(a.len, 0); /* dropped */
    dns_config_free_all(cfg);
    snprintf(spec2, sizeof spec2, "bl.test:acl:%s", tu_file("127.0.0.1 :empty\n"));
    cfg = tu_config(2, specs);
    tu_ask(cfg, "4.3.2.1.bl.test", DNS_T_A, 0, 0, &a);
    assert_int_equal(a.rcode, DNS_R_NXDOMAIN);
    dns_config_free_all(cfg);
}

static void acl_empty_hides_combined_and_value_lists_only_addresses(void **state)
{
    (void)state;
    char spec1[128], spec2[128];
    snprintf(spec1, sizeof spec1, "c.test:combined:%s",
             tu_file("$DATASET ip4set @\n127.0.0.2\n$DATASET generic @\nwww A 127.0.0.8\n"));
    snprintf(spec2, sizeof spec2, "c.test:acl:%s", tu_file("127.0.0.1 :empty\n"));
    const char *specs[] = {spec1, spec2};
    struct dns_config *cfg = tu_config(2, specs);
    struct tu_answer a;
    tu_ask(cfg, "2.0.0.127.c.test", DNS_T_A, 0, 0, &a);
    assert_int_equal(a.rcode, DNS_R_NXDOMAIN);
    /* generic names still exist (NOERROR) but their records are hidden */
    tu_ask(cfg, "www.c.test", DNS_T_A, 0, 0, &a);
    assert_int_equal(a.rcode, DNS_R_NOERROR);
    assert_int_equal(a.an, 0);
    dns_config_free_all(cfg);
    /* a plain generic dataset still says the name exists, without its data */
    snprintf(spec1, sizeof spec1, "g.test:generic:%s", tu_file("www A 127.0.0.8\n"));
    snprintf(spec2, sizeof spec2, "g.test:acl:%s", tu_file("127.0.0.1 :empty\n"));
    cfg = tu_config(2, specs);
    tu_ask(cfg, "www.g.test", DNS_T_A, 0, 0, &a);
    assert_int_equal(a.rcode, DNS_R_NOERROR);
    assert_int_equal(a.an, 0);
    dns_config_free_all(cfg);
    snprintf(spec1, sizeof spec1, "v.test:ip4set:%s", tu_file("1.2.3.4\n"));
    snprintf(spec2, sizeof spec2, "v.test:acl:%s", tu_file("127.0.0.1 :7:you are $\n"));
    cfg = tu_config(2, specs);
    tu_ask(cfg, "9.9.9.9.v.test", DNS_T_TXT, 0, 0, &a);
    assert_true(tu_has_text(&a, "you are 127.0.0.1"));
    tu_ask(cfg, "9.9.v.test", DNS_T_TXT, 0, 0, &a); /* not an address: not "listed" */
    assert_int_equal(a.rcode, DNS_R_NXDOMAIN);
    dns_config_free_all(cfg);
}

static void mapped_ipv6_and_ttls(void **state)
{
    (void)state;
    char spec1[128], spec2[128];
    snprintf(spec1, sizeof spec1, "bl.test:ip4set:%s", tu_file("$TTL 10m\n127.0.0.2 :2:a\n"));
    snprintf(spec2, sizeof spec2, "bl.test:ip4set:%s", tu_file("$TTL 1h\n127.0.0.2 :2:b\n"));
    const char *specs[] = {spec1, spec2};
    struct dns_config *cfg = tu_config(2, specs);
    struct tu_answer a;
    /* ::ffff:127.0.0.2 and 2002:7f00:2::1 are looked up as 127.0.0.2 */
    tu_ask(cfg, "2.0.0.0.0.0.f.7.f.f.f.f.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.bl.test", DNS_T_A, 0, 0, &a);
    assert_true(tu_has_a(&a, 0x7f000002));
    tu_ask(cfg, "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.2.0.0.0.0.0.f.7.2.0.0.2.bl.test", DNS_T_A, 0, 0, &a);
    assert_true(tu_has_a(&a, 0x7f000002));
    /* two TXT records from datasets with different $TTL: one TTL, the smaller */
    tu_ask(cfg, "2.0.0.127.bl.test", DNS_T_TXT, 0, 0, &a);
    assert_int_equal(a.an, 2);
    int seen = 0;
    for (size_t i = 12; i + 6 <= a.len; i++)
        if (memcmp(a.pkt + i, "\x00\x10\x00\x01\x00\x00\x02\x58", 8) == 0)
            seen++;
    assert_int_equal(seen, 2);
    dns_config_free_all(cfg);
}

static void unloaded_zone_fails_closed(void **state)
{
    (void)state;
    struct ds_options opt = {.ttl = {2100, 0, 0}};
    const char *specs[] = {"bl.test:ip4set:/nonexistent/file"};
    struct dns_config *cfg = dns_config_build(specs, 1, &opt);
    assert_non_null(cfg);
    assert_int_equal(dns_config_reload(NULL, &cfg, true), -1);
    struct tu_answer a;
    tu_ask(cfg, "2.0.0.127.bl.test", DNS_T_A, 0, 0, &a);
    assert_int_equal(a.rcode, DNS_R_SERVFAIL);
    dns_config_free_all(cfg);
    cfg = one_zone("ip4set", "$TIMESTAMP 2020:01:01 +1d\n127.0.0.2\n");
    tu_ask(cfg, "2.0.0.127.bl.test", DNS_T_A, 0, 0, &a);
    assert_int_equal(a.rcode, DNS_R_SERVFAIL); /* expired data */
    dns_config_free_all(cfg);
}

static void long_lines_are_refused(void **state)
{
    (void)state;
    static char text[20000];
    size_t n = (size_t)snprintf(text, sizeof text, "1.2.3.4\n5.6.7.8 :2:");
    memset(text + n, 'x', 9000);
    n += 9000;
    snprintf(text + n, sizeof text - n, "\n9.9.9.9\n");
    struct dns_config *cfg = one_zone("ip4set", text);
    assert_non_null(cfg);
    assert_int_equal(cfg->all[0]->nerrors, 1); /* the 9 kB line, not the others */
    struct tu_answer a;
    tu_ask(cfg, "9.9.9.9.bl.test", DNS_T_A, 0, 0, &a);
    assert_int_equal(a.an, 1);
    tu_ask(cfg, "8.7.6.5.bl.test", DNS_T_A, 0, 0, &a);
    assert_int_equal(a.rcode, DNS_R_NXDOMAIN);
    dns_config_free_all(cfg);
}

static void gzip_and_reload(void **state)
{
    (void)state;
    char path[] = "/tmp/rampart-unit-gz-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    gzFile gz = gzopen(path, "w");
    gzputs(gz, "1.2.3.4\n");
    gzclose(gz);
    char spec[128];
    snprintf(spec, sizeof spec, "bl.test:ip4set:%s", path);
    const char *specs[] = {spec};
    struct dns_config *cfg = tu_config(1, specs);
    assert_non_null(cfg);
    struct tu_answer a;
    tu_ask(cfg, "4.3.2.1.bl.test", DNS_T_A, 0, 0, &a);
    assert_int_equal(a.an, 1);
    /* the file vanishes: reload fails and the previous data keeps serving */
    unlink(path);
    assert_int_equal(dns_config_reload(NULL, &cfg, false), -1);
    tu_ask(cfg, "4.3.2.1.bl.test", DNS_T_A, 0, 0, &a);
    assert_int_equal(a.an, 1);
    dns_config_free_all(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ip4set_syntax),   cmocka_unit_test(substitutions),
        cmocka_unit_test(ip4tset_and_trie), cmocka_unit_test(ip6_sets),
        cmocka_unit_test(dnset_wildcards), cmocka_unit_test(generic_and_combined),
        cmocka_unit_test(acl_actions),     cmocka_unit_test(gzip_and_reload),
        cmocka_unit_test(acl_empty_hides_combined_and_value_lists_only_addresses),
        cmocka_unit_test(mapped_ipv6_and_ttls), cmocka_unit_test(unloaded_zone_fails_closed),
        cmocka_unit_test(long_lines_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
