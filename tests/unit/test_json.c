/* Unit tests: JSON writer and reader (src/common/json.c) and strbuf. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/strbuf.h"

static void writes_escaped_strings(void **state)
{
    (void)state;
    struct strbuf b = {0};
    json_string(&b, "a\"b\\c\nd\te\x01", 10);
    assert_string_equal(strbuf_str(&b), "\"a\\\"b\\\\c\\nd\\te\\u0001\"");
    strbuf_free(&b);
    /* valid UTF-8 passes, invalid bytes become U+FFFD, a NUL is escaped */
    json_string(&b, "\xc3\xa9-\xff-\xe2\x82-\0", 9);
    assert_string_equal(strbuf_str(&b), "\"\xc3\xa9-\\ufffd-\\ufffd\\ufffd-\\u0000\"");
    strbuf_free(&b);
    json_cstring(&b, NULL);
    assert_string_equal(strbuf_str(&b), "null");
    strbuf_free(&b);
}

static void strbuf_limits(void **state)
{
    (void)state;
    struct strbuf b = {.max = 8};
    strbuf_puts(&b, "12345678");
    assert_false(b.err);
    strbuf_puts(&b, "9");
    assert_true(b.err);
    assert_string_equal(strbuf_str(&b), "12345678");
    strbuf_printf(&b, "%d", 1); /* a no-op once failed */
    assert_int_equal(b.len, 8);
    strbuf_free(&b);
    strbuf_pad(&b, '-', 3);
    assert_string_equal(strbuf_str(&b), "---");
    strbuf_free(&b);
}

static void parses_documents(void **state)
{
    (void)state;
    const char *text = " {\"a\": [1, -2.5e3, true, false, null], \"s\": \"x\\u00e9\\ud83d\\ude00\\n\","
                       " \"big\": 18446744073709551615, \"o\": {}, \"e\": [], \"a\": 2} ";
    char err[100];
    struct json_doc *d = json_parse(text, strlen(text), err, sizeof err);
    assert_non_null(d);
    const struct json_value *r = json_root(d);
    assert_int_equal(r->type, JSON_OBJECT);
    const struct json_value *a = json_get(r, "a"); /* the first of a repeated name */
    assert_int_equal(a->type, JSON_ARRAY);
    uint64_t u;
    assert_true(json_as_uint(a->child, &u));
    assert_int_equal(u, 1);
    assert_false(json_as_uint(a->child->next, &u)); /* negative, with exponent */
    double x;
    assert_true(json_as_double(a->child->next, &x));
    assert_true(x == -2500.0);
    assert_int_equal(a->child->next->next->type, JSON_TRUE);
    assert_int_equal(a->child->next->next->next->type, JSON_FALSE);
    assert_int_equal(a->child->next->next->next->next->type, JSON_NULL);
    assert_null(a->child->next->next->next->next->next);
    assert_string_equal(json_as_str(json_get(r, "s")), "x\xc3\xa9\xf0\x9f\x98\x80\n");
    assert_int_equal(json_get(r, "s")->len, 8);
    assert_true(json_as_uint(json_get(r, "big"), &u));
    assert_true(u == UINT64_MAX);
    assert_int_equal(json_get(r, "o")->type, JSON_OBJECT);
    assert_null(json_get(r, "o")->child);
    assert_null(json_get(r, "e")->child);
    assert_null(json_get(r, "missing"));
    assert_null(json_as_str(a));
    json_free(d);
    /* a bare scalar is a document too */
    d = json_parse("7", 1, err, sizeof err);
    assert_non_null(d);
    assert_true(json_as_uint(json_root(d), &u) && u == 7);
    json_free(d);
}

static void rejects_malformed(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",          "{",          "[1,]",         "{\"a\":1,}",   "{\"a\" 1}",   "{a:1}",
        "[1 2]",     "01",         "1.",           "-",            "1e",          ".5",
        "\"abc",     "\"a\\x\"",   "\"\\u12\"",    "\"\\ud800\"",  "\"\\udc00\"", "\"\\ud800\\u0041\"",
        "\"a\nb\"",  "tru",        "nul",          "[1] x",        "{} {}",       "// c\n1",
        "18446744073709551616x",   "'a'",          "[\"a\":1]",
    };
    char err[100];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct json_doc *d = json_parse(bad[i], strlen(bad[i]), err, sizeof err);
        if (d)
            fail_msg("accepted malformed JSON: %s", bad[i]);
        assert_true(strncmp(err, "offset ", 7) == 0);
    }
    /* a number too large for 64 bits is a number, just not a uint */
    struct json_doc *d = json_parse("18446744073709551616", 20, err, sizeof err);
    uint64_t u;
    assert_non_null(d);
    assert_false(json_as_uint(json_root(d), &u));
    json_free(d);
    /* NUL bytes inside the text are not JSON */
    d = json_parse("[1,\0 2]", 7, err, sizeof err);
    assert_null(d);
}

static void limits_nesting(void **state)
{
    (void)state;
    char text[2 * (JSON_MAX_DEPTH + 2)];
    char err[100];
    for (int depth = JSON_MAX_DEPTH; depth <= JSON_MAX_DEPTH + 1; depth++) {
        size_t n = 0;
        for (int i = 0; i <= depth; i++)
            text[n++] = '[';
        for (int i = 0; i <= depth; i++)
            text[n++] = ']';
        struct json_doc *d = json_parse(text, n, err, sizeof err);
        if (depth == JSON_MAX_DEPTH) {
            assert_non_null(d);
            json_free(d);
        } else {
            assert_null(d);
            assert_non_null(strstr(err, "nested deeper"));
        }
    }
}

/* What the writer writes, the reader reads back unchanged. */
static void round_trips(void **state)
{
    (void)state;
    const char s[] = "tab\there \"quoted\" back\\slash \xe2\x82\xac \x7f";
    struct strbuf b = {0};
    json_string(&b, s, sizeof s - 1);
    char err[100];
    struct json_doc *d = json_parse(b.data, b.len, err, sizeof err);
    assert_non_null(d);
    assert_string_equal(json_as_str(json_root(d)), s);
    json_free(d);
    strbuf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(writes_escaped_strings), cmocka_unit_test(strbuf_limits),
        cmocka_unit_test(parses_documents),       cmocka_unit_test(rejects_malformed),
        cmocka_unit_test(limits_nesting),         cmocka_unit_test(round_trips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
