/* Unit tests: TSIG (src/dns/tsig.c, RFC 8945 with HMAC-SHA256).
 *
 * RFC 8945 has no HMAC-SHA256 test vectors, so the vectors below were made by
 * another implementation, dnspython 2.3 (tests/unit/gen_tsig_vectors.py): a signed
 * AXFR query from key "k1.example" at time 1700000000, and the first two
 * messages of a signed answer to it (the second covering the first's MAC and
 * the timers only). Our signer must produce the same MACs for the same
 * messages, and our verifier must accept dnspython's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "dns/tsig.h"

enum { T = 1700000000 };
static const char *secret_b64 = "c2VjcmV0LWtleS1vbmUtZm9yLXJhbXBhcnQtdGVzdHM=";

static const uint8_t query[] = {0x12, 0x34, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x62, 0x6c, 0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x00, 0x00, 0xfc, 0x00, 0x01, 0x02, 0x6b, 0x31, 0xc0, 0x0f, 0x00, 0xfa, 0x00, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x3d, 0x0b, 0x68, 0x6d, 0x61, 0x63, 0x2d, 0x73, 0x68, 0x61, 0x32, 0x35, 0x36, 0x00, 0x00, 0x00, 0x65, 0x53, 0xf1, 0x00, 0x01, 0x2c, 0x00, 0x20, 0x05, 0x85, 0xec, 0x12, 0x5b, 0xc6, 0x9c, 0x67, 0xff, 0xc8, 0xd9, 0xfa, 0x87, 0x62, 0x6c, 0x53, 0xac, 0x91, 0x0d, 0x3f, 0x95, 0xd3, 0x65, 0xf0, 0xe7, 0x9d, 0x33, 0x7c, 0xa0, 0x03, 0x7b, 0xe2, 0x12, 0x34, 0x00, 0x00, 0x00, 0x00};
static const uint8_t resp1[] = {0x12, 0x34, 0x84, 0x00, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01, 0x02, 0x62, 0x6c, 0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x00, 0x00, 0xfc, 0x00, 0x01, 0xc0, 0x0c, 0x00, 0x06, 0x00, 0x01, 0x00, 0x00, 0x0e, 0x10, 0x00, 0x1e, 0x02, 0x6e, 0x73, 0xc0, 0x0c, 0x02, 0x68, 0x6d, 0xc0, 0x0c, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x0e, 0x10, 0x00, 0x00, 0x02, 0x58, 0x00, 0x01, 0x51, 0x80, 0x00, 0x00, 0x01, 0x2c, 0x01, 0x32, 0x01, 0x30, 0x01, 0x30, 0x03, 0x31, 0x32, 0x37, 0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x08, 0x34, 0x00, 0x04, 0x7f, 0x00, 0x00, 0x02, 0x02, 0x6b, 0x31, 0xc0, 0x0f, 0x00, 0xfa, 0x00, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x3d, 0x0b, 0x68, 0x6d, 0x61, 0x63, 0x2d, 0x73, 0x68, 0x61, 0x32, 0x35, 0x36, 0x00, 0x00, 0x00, 0x65, 0x53, 0xf1, 0x00, 0x01, 0x2c, 0x00, 0x20, 0xf0, 0xe8, 0xb0, 0x60, 0x2b, 0x06, 0xdb, 0x93, 0xdf, 0xe6, 0x1e, 0xa4, 0x0b, 0x10, 0xaa, 0x28, 0xc0, 0x00, 0x03, 0x9c, 0x66, 0xf9, 0x6f, 0x6b, 0x93, 0x8b, 0xb8, 0x9f, 0xf4, 0x9c, 0xfc, 0x7d, 0x12, 0x34, 0x00, 0x00, 0x00, 0x00};
static const uint8_t resp2[] = {0x12, 0x34, 0x84, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x02, 0x62, 0x6c, 0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x00, 0x00, 0x06, 0x00, 0x01, 0x00, 0x00, 0x0e, 0x10, 0x00, 0x1e, 0x02, 0x6e, 0x73, 0xc0, 0x0c, 0x02, 0x68, 0x6d, 0xc0, 0x0c, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x0e, 0x10, 0x00, 0x00, 0x02, 0x58, 0x00, 0x01, 0x51, 0x80, 0x00, 0x00, 0x01, 0x2c, 0x02, 0x6b, 0x31, 0xc0, 0x0f, 0x00, 0xfa, 0x00, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x3d, 0x0b, 0x68, 0x6d, 0x61, 0x63, 0x2d, 0x73, 0x68, 0x61, 0x32, 0x35, 0x36, 0x00, 0x00, 0x00, 0x65, 0x53, 0xf1, 0x00, 0x01, 0x2c, 0x00, 0x20, 0xee, 0x2c, 0x85, 0x53, 0x8e, 0x09, 0x26, 0x30, 0xcd, 0xa2, 0xbb, 0x1e, 0xf3, 0x57, 0x38, 0x9b, 0x5d, 0xb4, 0x60, 0xe9, 0x55, 0x3c, 0x09, 0x43, 0x5e, 0xb8, 0x31, 0x69, 0xfc, 0xaa, 0xae, 0xc6, 0x12, 0x34, 0x00, 0x00, 0x00, 0x00};


static struct tsig_keys keys;

static int setup(void **state)
{
    (void)state;
    char spec[128], err[128];
    struct tsig_key k;
    snprintf(spec, sizeof spec, "k1.example:hmac-sha256:%s", secret_b64);
    if (tsig_key_parse(spec, &k, err, sizeof err) < 0 || tsig_keys_add(&keys, &k) < 0)
        return -1;
    snprintf(spec, sizeof spec, "other:hmac-sha256:%s", "b3RoZXItc2VjcmV0");
    if (tsig_key_parse(spec, &k, err, sizeof err) < 0 || tsig_keys_add(&keys, &k) < 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tsig_keys_free(&keys);
    return 0;
}

static void base64_rfc4648_vectors(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } v[] = {{"", ""}, {"Zg==", "f"}, {"Zm8=", "fo"}, {"Zm9v", "foo"}, {"Zm9vYg==", "foob"},
             {"Zm9vYmE=", "fooba"}, {"Zm9vYmFy", "foobar"}, {"Zm9vYmE", "fooba"}};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        uint8_t out[16];
        int n = tsig_base64_decode(v[i].in, strlen(v[i].in), out, sizeof out);
        assert_int_equal(n, (int)strlen(v[i].out));
        assert_memory_equal(out, v[i].out, (size_t)n);
    }
    uint8_t out[4];
    assert_int_equal(tsig_base64_decode("Zm9v!", 5, out, sizeof out), -1);
    assert_int_equal(tsig_base64_decode("Z", 1, out, sizeof out), -1);
    assert_int_equal(tsig_base64_decode("Zm9vYmFy", 8, out, sizeof out), -1); /* too long for out */
}

static void key_specs(void **state)
{
    (void)state;
    struct tsig_key k;
    char err[128];
    assert_int_equal(tsig_key_parse("K1.Example.:HMAC-SHA256:Zm9vYmFy", &k, err, sizeof err), 0);
    assert_string_equal(k.text, "k1.example");
    assert_int_equal(k.secret_len, 6);
    assert_int_equal(tsig_key_parse("k1:hmac-md5:Zm9vYmFy", &k, err, sizeof err), -1);
    assert_non_null(strstr(err, "hmac-sha256"));
    assert_int_equal(tsig_key_parse("k1:hmac-sha256:", &k, err, sizeof err), -1);
    assert_int_equal(tsig_key_parse("k1:hmac-sha256:not base64!", &k, err, sizeof err), -1);
    assert_int_equal(tsig_key_parse(":hmac-sha256:Zm9v", &k, err, sizeof err), -1);
    assert_int_equal(tsig_key_parse("k1", &k, err, sizeof err), -1);
}

static void verifies_another_implementations_request(void **state)
{
    (void)state;
    struct tsig_rr rr;
    struct tsig_ctx ctx;
    assert_int_equal(tsig_find(query, sizeof query, &rr), 1);
    assert_int_equal(rr.mac_len, 32);
    assert_int_equal(rr.time_signed, T);
    assert_int_equal(tsig_verify_request(&keys, query, sizeof query, &rr, T, &ctx), 0);
    assert_non_null(ctx.key);
    assert_string_equal(ctx.key->text, "k1.example");
    /* the fudge (300 s) either way */
    assert_int_equal(tsig_verify_request(&keys, query, sizeof query, &rr, T + 300, &ctx), 0);
    assert_int_equal(tsig_verify_request(&keys, query, sizeof query, &rr, T - 300, &ctx), 0);
    assert_int_equal(tsig_verify_request(&keys, query, sizeof query, &rr, T + 301, &ctx),
                     TSIG_BADTIME);
    assert_non_null(ctx.key); /* the MAC was good: the BADTIME answer is signed */
    assert_int_equal(tsig_verify_request(&keys, query, sizeof query, &rr, T - 301, &ctx),
                     TSIG_BADTIME);
}

static void tampering_is_detected(void **state)
{
    (void)state;
    uint8_t m[sizeof query];
    struct tsig_rr rr;
    struct tsig_ctx ctx;
    /* every byte of the signed part, and every byte of the MAC; not the
     * message ID (bytes 0-1): the MAC covers the original ID in the TSIG
     * record instead (RFC 8945 4.3.2: forwarders may change the ID) */
    for (size_t i = 2; i < sizeof query; i++) {
        memcpy(m, query, sizeof m);
        m[i] ^= 0x01;
        int f = tsig_find(m, sizeof m, &rr);
        if (f != 1)
            continue; /* no longer parses as a message with a TSIG: also refused */
        int v = tsig_verify_request(&keys, m, sizeof m, &rr, T, &ctx);
        if (v == 0)
            fail_msg("byte %zu changed and the MAC still verifies", i);
    }
    /* a key of another name: BADKEY, and no key to sign the error with */
    struct tsig_keys other = {0};
    struct tsig_key k;
    char err[64];
    assert_int_equal(tsig_key_parse("k2.example:hmac-sha256:Zm9vYmFy", &k, err, sizeof err), 0);
    tsig_keys_add(&other, &k);
    assert_int_equal(tsig_find(query, sizeof query, &rr), 1);
    assert_int_equal(tsig_verify_request(&other, query, sizeof query, &rr, T, &ctx), TSIG_BADKEY);
    assert_null(ctx.key);
    /* the right name with another secret: BADSIG */
    assert_int_equal(tsig_key_parse("k1.example:hmac-sha256:Zm9vYmFy", &k, err, sizeof err), 0);
    tsig_keys_add(&other, &k);
    assert_int_equal(tsig_verify_request(&other, query, sizeof query, &rr, T, &ctx), TSIG_BADSIG);
    assert_null(ctx.key);
    tsig_keys_free(&other);
}

/* A message of dnspython's without its TSIG record (as it was before signing). */
static size_t unsigned_copy(const uint8_t *msg, size_t len, uint8_t *out, struct tsig_rr *rr)
{
    assert_int_equal(tsig_find(msg, len, rr), 1);
    memcpy(out, msg, rr->at);
    out[11]--;
    return rr->at;
}

static void signs_answers_as_another_implementation(void **state)
{
    (void)state;
    struct tsig_rr rr, want, got;
    struct tsig_ctx ctx;
    assert_int_equal(tsig_find(query, sizeof query, &rr), 1);
    assert_int_equal(tsig_verify_request(&keys, query, sizeof query, &rr, T, &ctx), 0);
    uint8_t m[512];
    size_t n = unsigned_copy(resp1, sizeof resp1, m, &want);
    size_t s = tsig_sign(&ctx, m, n, sizeof m, T);
    assert_true(s > n);
    assert_int_equal(tsig_find(m, s, &got), 1);
    assert_int_equal(got.mac_len, 32);
    assert_memory_equal(got.mac, want.mac, 32); /* first answer: request MAC + all variables */
    assert_int_equal(got.time_signed, T);
    assert_int_equal(got.orig_id, 0x1234);
    n = unsigned_copy(resp2, sizeof resp2, m, &want);
    s = tsig_sign(&ctx, m, n, sizeof m, T);
    assert_int_equal(tsig_find(m, s, &got), 1);
    assert_memory_equal(got.mac, want.mac, 32); /* later ones: prior MAC + timers only */
    /* no room for the record: nothing written */
    n = unsigned_copy(resp2, sizeof resp2, m, &want);
    assert_int_equal(tsig_sign(&ctx, m, n, n + 20, T), 0);
}

static void client_side_round_trip(void **state)
{
    (void)state;
    /* sign a request as a client (a NOTIFY), check it as a server, answer it
     * signed, check the answer as the client */
    uint8_t m[512];
    memcpy(m, query, 28); /* header and question of the vector's query */
    m[11] = 0;            /* ARCOUNT */
    struct tsig_ctx client = {.key = &keys.key[0]};
    size_t n = tsig_sign(&client, m, 28, sizeof m, T);
    assert_true(n > 28);
    assert_int_equal(m[11], 1);
    struct tsig_rr rr;
    struct tsig_ctx server;
    assert_int_equal(tsig_find(m, n, &rr), 1);
    assert_int_equal(tsig_verify_request(&keys, m, n, &rr, T + 10, &server), 0);
    uint8_t a[512];
    memcpy(a, m, 28);
    a[2] |= 0x84;
    a[11] = 0;
    size_t an = tsig_sign(&server, a, 28, sizeof a, T + 10);
    assert_int_equal(tsig_verify_response(&client, a, an, T + 11), 0);
    /* a changed answer, or an unsigned one, is not accepted */
    struct tsig_ctx client2 = {.key = &keys.key[0]};
    n = tsig_sign(&client2, m, 28, sizeof m, T);
    a[3] ^= 1;
    assert_int_equal(tsig_verify_response(&client2, a, an, T + 11), TSIG_BADSIG);
    assert_int_equal(tsig_verify_response(&client2, a, 28, T + 11), -1);
}

static void error_records(void **state)
{
    (void)state;
    struct tsig_rr rr, got;
    assert_int_equal(tsig_find(query, sizeof query, &rr), 1);
    uint8_t m[512];
    memcpy(m, query, 28);
    m[2] = 0x80;
    m[3] = 9; /* NOTAUTH */
    m[11] = 0;
    size_t n = tsig_append_error(&rr, TSIG_BADSIG, m, 28, sizeof m);
    assert_true(n > 28);
    assert_int_equal(tsig_find(m, n, &got), 1);
    assert_int_equal(got.error, TSIG_BADSIG);
    assert_int_equal(got.mac_len, 0); /* RFC 8945 5.3.2: unsigned */
    assert_int_equal(got.time_signed, T);
    /* BADTIME: signed, the server's time in Other Data, the client's in Time Signed */
    struct tsig_ctx ctx;
    assert_int_equal(tsig_verify_request(&keys, query, sizeof query, &rr, T + 1000, &ctx),
                     TSIG_BADTIME);
    m[11] = 0;
    n = tsig_sign(&ctx, m, 28, sizeof m, T + 1000);
    assert_int_equal(tsig_find(m, n, &got), 1);
    assert_int_equal(got.error, TSIG_BADTIME);
    assert_int_equal(got.mac_len, 32);
    assert_int_equal(got.time_signed, T);
    assert_int_equal(got.other_len, 6);
    assert_int_equal(got.other[5], (uint8_t)(T + 1000));
}

static void malformed_messages(void **state)
{
    (void)state;
    struct tsig_rr rr;
    /* cut anywhere: never read past the end, never accepted */
    for (size_t len = 0; len < sizeof query; len++)
        assert_true(tsig_find(query, len, &rr) != 1);
    /* a TSIG that is not the last record */
    uint8_t m[sizeof query + 11];
    memcpy(m, query, sizeof query);
    static const uint8_t opt[11] = {0, 0, 41, 4, 0xd0, 0, 0, 0, 0, 0, 0};
    memcpy(m + sizeof query, opt, sizeof opt);
    m[11] = 2;
    assert_int_equal(tsig_find(m, sizeof m, &rr), -1);
    /* no TSIG at all */
    memcpy(m, query, 28);
    m[11] = 0;
    assert_int_equal(tsig_find(m, 28, &rr), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(base64_rfc4648_vectors),
        cmocka_unit_test(key_specs),
        cmocka_unit_test(verifies_another_implementations_request),
        cmocka_unit_test(tampering_is_detected),
        cmocka_unit_test(signs_answers_as_another_implementation),
        cmocka_unit_test(client_side_round_trip),
        cmocka_unit_test(error_records),
        cmocka_unit_test(malformed_messages),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
