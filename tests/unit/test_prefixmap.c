/* Unit tests: the IP lookup structures (src/dns/prefixmap.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>

#include "dns/prefixmap.h"

static void most_specific_level_wins(void **state)
{
    (void)state;
    struct ip4map m = {0};
    assert_int_equal(ip4map_add(&m, 0x0a000000, 8, 1), 0);  /* 10/8 -> 1 */
    assert_int_equal(ip4map_add(&m, 0x0a010100, 24, 2), 0); /* 10.1.1/24 -> 2 */
    assert_int_equal(ip4map_add(&m, 0x0a010101, 32, PM_EXCL), 0);
    assert_int_equal(ip4map_finish(&m, false), 0);
    const struct ip4_level *l;
    size_t p;
    assert_int_equal(ip4map_lookup(&m, 0x0a020304, &l, &p), 1);
    assert_int_equal(ip4_level_val(l, p), 1);
    assert_int_equal(ip4map_lookup(&m, 0x0a010105, &l, &p), 1);
    assert_int_equal(ip4_level_val(l, p), 2);
    assert_int_equal(ip4map_lookup(&m, 0x0a010101, &l, &p), 1);
    assert_int_equal(ip4_level_val(l, p), PM_EXCL);
    assert_int_equal(ip4map_lookup(&m, 0x0b000001, &l, &p), 0);
    /* masking on add: host bits are dropped */
    assert_true(ip4map_any_in(&m, 0x0a010100, 24));
    assert_true(ip4map_any_in(&m, 0x0a000000, 8));
    assert_false(ip4map_any_in(&m, 0x0b000000, 8));
    /* a /16 listed inside 10/8 but wholly excluded at /24: nothing under 10.2.3 */
    ip4map_free(&m);
    ip4map_add(&m, 0x0a020000, 16, 1);
    ip4map_add(&m, 0x0a020300, 24, PM_EXCL);
    ip4map_finish(&m, false);
    assert_false(ip4map_any_in(&m, 0x0a020300, 24));
    assert_true(ip4map_any_in(&m, 0x0a020400, 24));
    assert_true(ip4map_any_in(&m, 0x0a020000, 16));
    ip4map_free(&m);
}

static void duplicates_keep_order(void **state)
{
    (void)state;
    struct ip4map m = {0};
    for (uint32_t v = 5; v > 0; v--)
        ip4map_add(&m, 0x01020304, 32, v);
    ip4map_finish(&m, false);
    const struct ip4_level *l;
    size_t p;
    assert_int_equal(ip4map_lookup(&m, 0x01020304, &l, &p), 5);
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(ip4_level_val(l, p + i), 5 - i); /* stable: insertion order */
    ip4map_free(&m);
    /* first_only keeps the first of the five */
    for (uint32_t v = 5; v > 0; v--)
        ip4map_add(&m, 0x01020304, 32, v);
    assert_int_equal(ip4map_finish(&m, true), 4);
    assert_int_equal(ip4map_lookup(&m, 0x01020304, &l, &p), 1);
    assert_int_equal(ip4_level_val(l, p), 5);
    ip4map_free(&m);
}

/* Many random addresses: the indexed level agrees with a linear scan. */
static void indexed_level_matches_scan(void **state)
{
    (void)state;
    enum { N = 50000 };
    uint32_t *keys = malloc(N * sizeof *keys);
    struct ip4map m = {0};
    srand(7);
    for (uint32_t i = 0; i < N; i++) {
        keys[i] = (uint32_t)rand() ^ (uint32_t)rand() << 16;
        ip4map_add(&m, keys[i], 32, i);
    }
    ip4map_finish(&m, false);
    assert_non_null(m.level[32].index); /* compact */
    assert_null(m.level[32].words);
    const struct ip4_level *l;
    size_t p;
    for (uint32_t i = 0; i < N; i++) {
        size_t n = ip4map_lookup(&m, keys[i], &l, &p);
        assert_true(n >= 1);
        assert_int_equal(ip4_level_key(l, p), keys[i]);
        int found = 0;
        for (size_t k = p; k < p + n; k++)
            found |= ip4_level_val(l, k) == i;
        assert_true(found);
    }
    int misses = 0;
    for (int i = 0; i < 10000; i++) {
        uint32_t probe = (uint32_t)rand() ^ (uint32_t)rand() << 16;
        int in = 0;
        for (uint32_t k = 0; k < N && !in; k++)
            in = keys[k] == probe;
        assert_int_equal(ip4map_lookup(&m, probe, &l, &p) > 0, in);
        misses += !in;
    }
    assert_true(misses > 9000);
    ip4map_free(&m);
    free(keys);
}

/* A compact level whose entries all carry one value keeps it once (no
 * per-entry value array); one different value anywhere keeps the array. */
static void uniform_values_are_kept_once(void **state)
{
    (void)state;
    enum { N = 20000 };
    for (int odd = 0; odd < 2; odd++) {
        struct ip4map m = {0};
        for (uint32_t i = 0; i < N; i++)
            ip4map_add(&m, 0x0a000000u + i * 7, 32, odd && i == N / 2 ? 9 : 5);
        ip4map_finish(&m, false);
        const struct ip4_level *lv = &m.level[32];
        assert_non_null(lv->index);
        if (odd)
            assert_non_null(lv->vals);
        else
            assert_null(lv->vals);
        const struct ip4_level *l;
        size_t p;
        for (uint32_t i = 0; i < N; i += 97) {
            assert_int_equal(ip4map_lookup(&m, 0x0a000000u + i * 7, &l, &p), 1);
            assert_int_equal(ip4_level_val(l, p), odd && i == N / 2 ? 9 : 5);
        }
        assert_int_equal(ip4map_lookup(&m, 0x0a000000u + (N / 2) * 7, &l, &p), 1);
        assert_int_equal(ip4_level_val(l, p), odd ? 9 : 5);
        assert_int_equal(ip4map_lookup(&m, 0x0a000001u, &l, &p), 0);
        ip4map_free(&m);
    }
}

static void ip6_longest_prefix(void **state)
{
    (void)state;
    struct ip6map m = {0};
    u128 p48 = (u128)0x20010db8abcdULL << 80;
    ip6map_add(&m, p48, 48, 1);
    ip6map_add(&m, p48 | ((u128)1 << 64), 64, 2);
    ip6map_add(&m, p48 | ((u128)1 << 64) | 5, 128, PM_EXCL);
    ip6map_finish(&m);
    const struct ip6_entry *e;
    assert_int_equal(ip6map_lookup(&m, p48 | 9, &e), 1);
    assert_int_equal(e->val, 1);
    assert_int_equal(ip6map_lookup(&m, p48 | ((u128)1 << 64) | 9, &e), 1);
    assert_int_equal(e->val, 2);
    assert_int_equal(ip6map_lookup(&m, p48 | ((u128)1 << 64) | 5, &e), 1);
    assert_int_equal(e->val, PM_EXCL);
    assert_int_equal(ip6map_lookup(&m, 1, &e), 0);
    assert_true(ip6map_any_in(&m, p48, 48));
    assert_false(ip6map_any_in(&m, (u128)1 << 100, 16));
    ip6map_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(most_specific_level_wins),
        cmocka_unit_test(duplicates_keep_order),
        cmocka_unit_test(indexed_level_matches_scan), cmocka_unit_test(uniform_values_are_kept_once),
        cmocka_unit_test(ip6_longest_prefix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
