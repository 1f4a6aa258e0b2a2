/* Unit tests: DNS wire format (src/dns/wire.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "testutil.h"
#include "dns/wire.h"

static void parses_plain_query(void **state)
{
    (void)state;
    uint8_t pkt[512];
    size_t n = tu_query(pkt, "4.3.2.1.Bl.Example", DNS_T_TXT, DNS_C_IN, 0);
    struct dns_query q;
    assert_int_equal(dns_query_parse(pkt, n, &q), DNS_PARSE_OK);
    assert_int_equal(q.id, 0x1234);
    assert_int_equal(q.qtype, DNS_T_TXT);
    assert_int_equal(q.nlabels, 6);
    assert_false(q.edns);
    assert_int_equal(q.edns_size, 512);
    /* lowercased copy */
    assert_memory_equal(q.qname + q.label_off[4], "\2bl\7example", 11);
}

static void parses_edns(void **state)
{
    (void)state;
    uint8_t pkt[512];
    size_t n = tu_query(pkt, "x.example", DNS_T_A, DNS_C_IN, 4096);
    struct dns_query q;
    assert_int_equal(dns_query_parse(pkt, n, &q), DNS_PARSE_OK);
    assert_true(q.edns);
    assert_int_equal(q.edns_size, 4096);
    /* EDNS version 1 -> BADVERS */
    pkt[n - 5] = 1;
    assert_int_equal(dns_query_parse(pkt, n, &q), DNS_R_BADVERS);
}

static void rejects_malformed(void **state)
{
    (void)state;
    uint8_t pkt[512];
    struct dns_query q;
    size_t n = tu_query(pkt, "x.example", DNS_T_A, DNS_C_IN, 0);
    /* too short for a header: dropped */
    assert_int_equal(dns_query_parse(pkt, 11, &q), DNS_PARSE_DROP);
    /* a response: dropped (never answer answers) */
    pkt[2] |= 0x80;
    assert_int_equal(dns_query_parse(pkt, n, &q), DNS_PARSE_DROP);
    pkt[2] &= 0x7f;
    /* truncated question */
    assert_int_equal(dns_query_parse(pkt, n - 1, &q), DNS_R_FORMERR);
    /* trailing garbage */
    pkt[n] = 0;
    assert_int_equal(dns_query_parse(pkt, n + 1, &q), DNS_R_FORMERR);
    /* two questions */
    pkt[5] = 2;
    assert_int_equal(dns_query_parse(pkt, n, &q), DNS_R_FORMERR);
    pkt[5] = 1;
    /* a compression pointer in the question */
    uint8_t ptr[] = {0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1};
    assert_int_equal(dns_query_parse(ptr, sizeof ptr, &q), DNS_R_FORMERR);
    /* another opcode */
    pkt[2] = (uint8_t)(pkt[2] | (2 << 3));
    assert_int_equal(dns_query_parse(pkt, n, &q), DNS_R_NOTIMP);
}

static void rejects_long_names(void **state)
{
    (void)state;
    uint8_t pkt[600];
    memset(pkt, 0, 12);
    pkt[5] = 1;
    size_t n = 12;
    for (int i = 0; i < 130; i++) { /* 130 labels of 1 byte: 260 bytes */
        pkt[n++] = 1;
        pkt[n++] = 'a';
    }
    pkt[n++] = 0;
    pkt[n++] = 0;
    pkt[n++] = 1;
    pkt[n++] = 0;
    pkt[n++] = 1;
    struct dns_query q;
    assert_int_equal(dns_query_parse(pkt, n, &q), DNS_R_FORMERR);
}

static void converts_names(void **state)
{
    (void)state;
    uint8_t w[256];
    char t[256];
    assert_int_equal(dns_name_from_text("Bl.Example.", 11, w), 12);
    assert_int_equal(dns_name_to_text(w, t, sizeof t), 10);
    assert_string_equal(t, "bl.example");
    assert_int_equal(dns_name_from_text("a..b", 4, w), -1);
    assert_int_equal(dns_name_from_text("a b", 3, w), -1);
    char big[300];
    memset(big, 'a', 64);
    assert_int_equal(dns_name_from_text(big, 64, w), -1); /* label > 63 */
    assert_int_equal(dns_name_labels((const uint8_t *)"\1a\2bc"), 2);
}

static void error_answers_echo_question(void **state)
{
    (void)state;
    uint8_t pkt[512], out[512];
    size_t n = tu_query(pkt, "x.example", DNS_T_A, DNS_C_IN, 1232);
    struct dns_query q;
    assert_int_equal(dns_query_parse(pkt, n, &q), DNS_PARSE_OK);
    size_t m = dns_write_error(out, sizeof out, pkt, &q, DNS_R_FORMERR);
    assert_true(m > 12);
    assert_int_equal(out[3] & 0xf, DNS_R_FORMERR);
    assert_int_equal(out[5], 1);  /* question echoed */
    assert_int_equal(out[11], 1); /* OPT */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_plain_query), cmocka_unit_test(parses_edns),
        cmocka_unit_test(rejects_malformed),  cmocka_unit_test(rejects_long_names),
        cmocka_unit_test(converts_names),     cmocka_unit_test(error_answers_echo_question),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
