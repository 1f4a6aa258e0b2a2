/* Unit tests: the database list dataset (src/dns/ds_db.c) - lookups, changes
 * in place, table growth, and readers running while the writer changes it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>

#include "dns/ds_db.h"
#include "testutil.h"

static void no_wait(void *arg) { (void)arg; }

/* A served config with one list zone "bl.test" of this kind. */
static struct dns_config *config_with(struct dataset *ds)
{
    log_init("test", LOG_LVL_ERROR);
    struct ds_options opt = {.ttl = {2100, 0, 0}};
    struct dns_config *empty = dns_config_build(NULL, 0, &opt);
    assert_non_null(empty);
    struct dns_config *cfg = dns_config_add_dataset(empty, "bl.test", ds);
    assert_non_null(cfg);
    dns_config_free(empty);
    return cfg;
}

static uint32_t a_of(const struct dns_config *cfg, const char *name)
{
    struct tu_answer a;
    tu_ask(cfg, name, DNS_T_A, 0, 0, &a);
    if (a.rcode != 0 || a.an < 1)
        return a.rcode == 3 ? 0 : 1; /* 0: NXDOMAIN, 1: NOERROR without data */
    /* the last 4 bytes of the first answer record */
    for (uint32_t v = 0x7f000000; v < 0x7f000100; v++)
        if (tu_has_a(&a, v))
            return v;
    return 2;
}

static void ip4_most_specific_wins_and_changes_apply(void **state)
{
    (void)state;
    struct dataset *ds = dsdb_new(DSDB_IP4, "bl", 0x7f000002, "Listed $", 60, NULL, 1);
    assert_non_null(ds);
    assert_int_equal(dsdb_add(ds, "10.0.0.0/8", false, 0x7f000003, NULL), 0);
    assert_int_equal(dsdb_add(ds, "10.1.0.0/16", false, 0x7f000004, NULL), 0);
    assert_int_equal(dsdb_add(ds, "10.1.2.3", false, 0, NULL), 0);
    assert_int_equal(dsdb_add(ds, "10.1.9.0/24", true, 0, NULL), 0); /* an exclusion */
    assert_int_equal(dsdb_add(ds, "10.1.2.3/24", false, 0, NULL), -1); /* host bits */
    assert_int_equal(dsdb_add(ds, "example.com", false, 0, NULL), -1); /* not an address */
    struct dns_config *cfg = config_with(ds);
    assert_int_equal(a_of(cfg, "3.2.1.10.bl.test"), 0x7f000002);
    assert_int_equal(a_of(cfg, "4.2.1.10.bl.test"), 0x7f000004);
    assert_int_equal(a_of(cfg, "4.2.2.10.bl.test"), 0x7f000003);  /* 10.2.2.4: the /8 */
    assert_int_equal(a_of(cfg, "4.2.200.10.bl.test"), 0x7f000003);
    assert_int_equal(a_of(cfg, "5.9.1.10.bl.test"), 0);  /* excluded */
    assert_int_equal(a_of(cfg, "1.1.1.11.bl.test"), 0);
    assert_int_equal(a_of(cfg, "1.10.bl.test"), 1);      /* partial: NODATA (RFC 8020) */
    /* a change of value, and removals: the less specific entry shows again */
    assert_int_equal(dsdb_add(ds, "10.1.0.0/16", false, 0x7f00000a, NULL), 0);
    assert_int_equal(a_of(cfg, "4.2.1.10.bl.test"), 0x7f00000a);
    assert_int_equal(dsdb_remove(ds, "10.1.2.3", false), 0);
    assert_int_equal(dsdb_remove(ds, "10.1.2.3", false), 1);
    assert_int_equal(a_of(cfg, "3.2.1.10.bl.test"), 0x7f00000a);
    assert_int_equal(dsdb_remove(ds, "10.1.0.0/16", false), 0);
    assert_int_equal(a_of(cfg, "3.2.1.10.bl.test"), 0x7f000003);
    assert_int_equal(dsdb_count(ds), 2);
    dsdb_free_retired(no_wait, NULL);
    dns_config_free_all(cfg);
}

static void ip6_and_domains(void **state)
{
    (void)state;
    struct dataset *ds = dsdb_new(DSDB_COMBINED, "c", 0x7f000002, NULL, 60, NULL, 1);
    assert_int_equal(dsdb_add(ds, "2001:db8::/32", false, 0x7f000003, NULL), 0);
    assert_int_equal(dsdb_add(ds, "2001:db8::1", false, 0, NULL), 0);
    assert_int_equal(dsdb_add(ds, "example.com", false, 0, NULL), 0);
    assert_int_equal(dsdb_add(ds, ".tree.example", false, 0x7f000005, NULL), 0);
    assert_int_equal(dsdb_add(ds, "*.sub.example", false, 0x7f000006, NULL), 0);
    assert_int_equal(dsdb_add(ds, "deep.a.b.example", false, 0, NULL), 0);
    struct dns_config *cfg = config_with(ds);
    const char *one = "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.bl.test";
    const char *two = "2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.bl.test";
    assert_int_equal(a_of(cfg, one), 0x7f000002);
    assert_int_equal(a_of(cfg, two), 0x7f000003);
    assert_int_equal(a_of(cfg, "example.com.bl.test"), 0x7f000002);
    assert_int_equal(a_of(cfg, "www.example.com.bl.test"), 0);
    assert_int_equal(a_of(cfg, "tree.example.bl.test"), 0x7f000005);
    assert_int_equal(a_of(cfg, "x.y.tree.example.bl.test"), 0x7f000005);
    assert_int_equal(a_of(cfg, "sub.example.bl.test"), 1);  /* has a listing below: NODATA */
    assert_int_equal(a_of(cfg, "x.sub.example.bl.test"), 0x7f000006);
    assert_int_equal(a_of(cfg, "a.b.example.bl.test"), 1);  /* above deep.a.b.example */
    assert_int_equal(a_of(cfg, "b.example.bl.test"), 1);
    assert_int_equal(a_of(cfg, "c.example.bl.test"), 0);
    assert_int_equal(dsdb_remove(ds, "deep.a.b.example", false), 0);
    assert_int_equal(a_of(cfg, "a.b.example.bl.test"), 0);
    dns_config_free_all(cfg);
}

static void many_changes_grow_and_shrink_the_table(void **state)
{
    (void)state;
    struct dataset *ds = dsdb_new(DSDB_IP4, "big", 0x7f000002, NULL, 60, NULL, 1);
    char e[32];
    for (uint32_t i = 0; i < 200000; i++) {
        snprintf(e, sizeof e, "10.%u.%u.%u", i >> 16, (i >> 8) & 255, i & 255);
        assert_int_equal(dsdb_add(ds, e, false, 0, NULL), 0);
    }
    dsdb_free_retired(no_wait, NULL);
    for (uint32_t i = 0; i < 200000; i += 2) {
        snprintf(e, sizeof e, "10.%u.%u.%u", i >> 16, (i >> 8) & 255, i & 255);
        assert_int_equal(dsdb_remove(ds, e, false), 0);
    }
    /* tombstones force rebuilds as new entries come in */
    for (uint32_t i = 0; i < 100000; i++) {
        snprintf(e, sizeof e, "11.%u.%u.%u", i >> 16, (i >> 8) & 255, i & 255);
        assert_int_equal(dsdb_add(ds, e, false, 0, NULL), 0);
    }
    dsdb_free_retired(no_wait, NULL);
    assert_int_equal(dsdb_count(ds), 200000);
    struct dns_config *cfg = config_with(ds);
    for (uint32_t i = 0; i < 200000; i += 997) {
        char name[64];
        snprintf(name, sizeof name, "%u.%u.%u.10.bl.test", i & 255, (i >> 8) & 255, i >> 16);
        assert_int_equal(a_of(cfg, name), i % 2 ? 0x7f000002 : 0);
    }
    dns_config_free_all(cfg);
}

/* Readers look up keys that never change while the writer adds and removes
 * others and the table is rebuilt under them: they must always find theirs. */
struct race {
    const struct dns_config *cfg;
    atomic_bool stop;
    atomic_long wrong, done;
};

static void *reader(void *arg)
{
    struct race *r = arg;
    while (!atomic_load(&r->stop)) {
        for (uint32_t i = 0; i < 256; i++) {
            char name[64];
            snprintf(name, sizeof name, "%u.7.7.7.bl.test", i);
            if (a_of(r->cfg, name) != 0x7f000002)
                atomic_fetch_add(&r->wrong, 1);
        }
        atomic_fetch_add(&r->done, 1);
    }
    return NULL;
}

static void grace(void *arg)
{
    /* the readers here hold no table across iterations of a whole pass; a
     * short sleep stands in for the server's quiescent-state wait */
    (void)arg;
    usleep(20000);
}

static void readers_see_stable_keys_during_changes(void **state)
{
    (void)state;
    struct dataset *ds = dsdb_new(DSDB_IP4, "race", 0x7f000002, NULL, 60, NULL, 1);
    char e[32];
    for (uint32_t i = 0; i < 256; i++) {
        snprintf(e, sizeof e, "7.7.7.%u", i);
        dsdb_add(ds, e, false, 0, NULL);
    }
    dsdb_free_retired(no_wait, NULL);
    struct race r = {.cfg = config_with(ds)};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, reader, &r);
    for (uint32_t round = 0; round < 6; round++) {
        for (uint32_t i = 0; i < 40000; i++) {
            snprintf(e, sizeof e, "20.%u.%u.%u", round, i >> 8, i & 255);
            dsdb_add(ds, e, false, 0, NULL);
        }
        for (uint32_t i = 0; i < 40000; i++) {
            snprintf(e, sizeof e, "20.%u.%u.%u", round, i >> 8, i & 255);
            dsdb_remove(ds, e, false);
        }
        dsdb_free_retired(grace, NULL);
    }
    atomic_store(&r.stop, true);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    assert_true(atomic_load(&r.done) > 0);
    assert_int_equal(atomic_load(&r.wrong), 0);
    dns_config_free_all((struct dns_config *)r.cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ip4_most_specific_wins_and_changes_apply),
        cmocka_unit_test(ip6_and_domains),
        cmocka_unit_test(many_changes_grow_and_shrink_the_table),
        cmocka_unit_test(readers_see_stable_keys_during_changes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
