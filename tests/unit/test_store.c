/* Unit tests: the listing database (src/store): entry canonicalisation and
 * refusals, the rbldnsd import parser, schema constraints, journal order,
 * serials and pruning, expiry, the audit trail, store_changed, searches,
 * and a migration from a schema version 1 database made here. The `rampart
 * list` commands run in tests/integration/test_list_cli.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "store/entry.h"
#include "store/import.h"
#include "store/store.h"

/* ---- helpers ---- */

static char db_path[64];

static int setup_db(void **state)
{
    (void)state;
    log_init("test", LOG_LVL_ERROR);
    snprintf(db_path, sizeof db_path, "/tmp/rampart-store-XXXXXX");
    int fd = mkstemp(db_path);
    assert_true(fd >= 0);
    close(fd);
    unlink(db_path); /* store_open creates it */
    return 0;
}

static int teardown_db(void **state)
{
    (void)state;
    char p[80];
    unlink(db_path);
    snprintf(p, sizeof p, "%s-wal", db_path);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", db_path);
    unlink(p);
    return 0;
}

static struct store *open_db(void)
{
    struct store *s;
    char err[300];
    int rc = store_open(db_path, false, &s, err, sizeof err);
    if (rc != 0)
        fail_msg("store_open: %s", err);
    return s;
}

static struct store_list make_list(struct store *s, const char *name, const char *zone, enum store_kind kind)
{
    struct store_list l = {.kind = kind, .code = 0x7f000002, .ttl = 2100};
    snprintf(l.name, sizeof l.name, "%s", name);
    snprintf(l.zone, sizeof l.zone, "%s", zone);
    int rc = store_list_create(s, &l, "tester", "for a test");
    if (rc != 0)
        fail_msg("store_list_create: %s", store_error(s));
    return l;
}

static struct store_parsed parse(const char *text)
{
    struct store_parsed p;
    char err[300];
    if (store_entry_parse(text, strlen(text), 0, &p, err, sizeof err) != 0)
        fail_msg("parse %s: %s", text, err);
    return p;
}

/* Run one batch of adds ("+entry") and removes ("-entry") on a list. */
static struct store_batch_counts batch(struct store *s, const char *list, const char *const *ops, int n,
                                       const struct store_values *v)
{
    struct store_batch_info info = {.list = list, .actor = "tester", .reason = "test"};
    struct store_batch *b;
    assert_int_equal(store_batch_begin(s, &info, &b), 0);
    static const struct store_values none = {0};
    for (int i = 0; i < n; i++) {
        struct store_parsed p = parse(ops[i] + 1);
        enum store_outcome o;
        int rc = ops[i][0] == '+' ? store_batch_add(b, &p, v ? v : &none, &o) : store_batch_remove(b, &p, NULL);
        if (rc != 0)
            fail_msg("%s: %s", ops[i], store_error(s));
    }
    struct store_batch_counts c;
    store_batch_counts(b, &c);
    assert_int_equal(store_batch_commit(b), 0);
    return c;
}

static int count_entry(void *ctx, const struct store_entry *e)
{
    (void)e;
    (*(int *)ctx)++;
    return 0;
}

static int listings(struct store *s, int64_t list_id, int64_t now)
{
    int n = 0;
    uint64_t serial;
    assert_int_equal(store_listings_each(s, list_id, now, &serial, count_entry, &n), 0);
    return n;
}

struct changes {
    int n;
    uint64_t serial[16];
    enum store_op op[16];
    char entry[16][64];
    bool excluded[16];
    uint32_t code[16];
};

static int collect_change(void *ctx, const struct store_change *c)
{
    struct changes *ch = ctx;
    if (ch->n < 16) {
        ch->serial[ch->n] = c->serial;
        ch->op[ch->n] = c->op;
        snprintf(ch->entry[ch->n], 64, "%s", c->e.entry);
        ch->excluded[ch->n] = c->e.excluded;
        ch->code[ch->n] = c->e.code;
    }
    ch->n++;
    return 0;
}

/* ---- entries ---- */

static void canonical_forms(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"192.0.2.1", "192.0.2.1"},
        {"192.0.2.1/32", "192.0.2.1"},
        {"10.0.0.0/8", "10.0.0.0/8"},
        {"0.0.0.0/0", "0.0.0.0/0"},
        {"2001:DB8:0:0:0:0:0:1", "2001:db8::1"},
        {"2001:db8::/32", "2001:db8::/32"},
        {"2001:db8::1/128", "2001:db8::1"},
        {"Example.COM.", "example.com"},
        {"*.Spam.Example", "*.spam.example"},
        {".worm.example", ".worm.example"},
        {"xn--bcher-kva.example", "xn--bcher-kva.example"},
        {"_dmarc.example", "_dmarc.example"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct store_parsed p = parse(cases[i][0]);
        assert_string_equal(p.text, cases[i][1]);
        assert_int_equal(p.len, strlen(cases[i][1]));
        assert_false(p.excluded);
    }
    struct store_parsed p = parse("!198.51.100.7");
    assert_true(p.excluded);
    assert_string_equal(p.text, "198.51.100.7");
    assert_int_equal(p.family, STORE_FAM_IP4);
    assert_int_equal(p.prefix, 32);
    p = parse("*.example.com");
    assert_int_equal(p.family, STORE_FAM_DNS);
    assert_int_equal(p.match, STORE_DN_BELOW);
    p = parse("2001:db8:1::/48");
    assert_int_equal(p.family, STORE_FAM_IP6);
    assert_int_equal(p.prefix, 48);
}

static void refuses_bad_entries(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        enum store_kind kind;
        const char *why;
    } cases[] = {
        {"10.0.0.1/8", 0, "host part set in 10.0.0.1/8 (the network is 10.0.0.0/8)"},
        {"2001:db8::1/64", 0, "host part set in 2001:db8::1/64 (the network is 2001:db8::/64)"},
        {"010.1.2.3", 0, "malformed IPv4 address \"010.1.2.3\""},
        {"1.2.3", 0, "malformed IPv4 address \"1.2.3\""},
        {"256.1.1.1", 0, "malformed IPv4 address \"256.1.1.1\""},
        {"1.2.3.4/33", 0, "malformed prefix length in \"1.2.3.4/33\" (0-32)"},
        {"1.2.3.4/08", 0, "malformed prefix length in \"1.2.3.4/08\" (0-32)"},
        {"2001:db8::g", 0, "malformed IPv6 address \"2001:db8::g\""},
        {"fe80::1%eth0", 0, "malformed IPv6 address \"fe80::1%eth0\""},
        {"exa mple.com", 0, "unsafe domain name \"exa mple.com\": byte ' ' is not a letter, digit, '-' or '_'"},
        {"ex\"ample.com", 0, "unsafe domain name \"ex\"ample.com\": byte '\"' is not a letter, digit, '-' or '_'"},
        {"a..b", 0, "empty label in domain name \"a..b\""},
        {"caf\xc3\xa9.example", 0, "unsafe domain name \"caf??.example\": non-ASCII byte (write an IDN in its xn-- form)"},
        {"example.123", 0, "\"example.123\" is not a domain name (its last label is a number)"},
        {"", 0, "empty entry"},
        {"!", 0, "empty exclusion \"!\""},
        {"*.", 0, "empty domain name"},
        {"1.2.3.4", STORE_DNS, "1.2.3.4 is an IPv4 entry; this list holds domains"},
        {"example.com", STORE_IP4, "example.com is a domain; this list holds IPv4 entries"},
        {"2001:db8::1", STORE_IP4, "2001:db8::1 is an IPv6 entry; this list holds IPv4 entries"},
        {"192.0.2.1", STORE_IP6, "192.0.2.1 is an IPv4 entry; this list holds IPv6 entries"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct store_parsed p;
        char err[300] = "";
        int rc = store_entry_parse(cases[i].text, strlen(cases[i].text), cases[i].kind, &p, err, sizeof err);
        if (rc != STORE_EINVAL)
            fail_msg("accepted \"%s\"", cases[i].text);
        assert_string_equal(err, cases[i].why);
    }
    char label[80], longname[300], err[300];
    memset(label, 'a', 64);
    label[64] = '\0';
    snprintf(longname, sizeof longname, "%s.example", label);
    struct store_parsed p;
    assert_int_equal(store_entry_parse(longname, strlen(longname), 0, &p, err, sizeof err), STORE_EINVAL);
    assert_non_null(strstr(err, "label longer than 63 bytes"));
    for (int i = 0; i < 254; i += 2)
        longname[i] = 'a', longname[i + 1] = '.';
    memcpy(longname + 254, "com", 4);
    assert_int_equal(store_entry_parse(longname, strlen(longname), 0, &p, err, sizeof err), STORE_EINVAL);
    assert_non_null(strstr(err, "longer than 253 bytes"));
    /* the parser reads exactly len bytes: a NUL or text after them does not count */
    assert_int_equal(store_entry_parse("192.0.2.1junk", 9, 0, &p, err, sizeof err), 0);
    assert_string_equal(p.text, "192.0.2.1");
    assert_int_equal(store_entry_parse("192.0.2.1\0", 10, 0, &p, err, sizeof err), STORE_EINVAL);
}

static void codes_templates_names(void **state)
{
    (void)state;
    uint32_t c;
    char err[200];
    assert_int_equal(store_code_parse("2", 1, &c, err, sizeof err), 0);
    assert_int_equal(c, 0x7f000002);
    assert_int_equal(store_code_parse("1.2", 3, &c, err, sizeof err), 0);
    assert_int_equal(c, 0x7f000102);
    assert_int_equal(store_code_parse("127.0.0.10", 10, &c, err, sizeof err), 0);
    assert_int_equal(c, 0x7f00000a);
    assert_int_equal(store_code_parse("127.0.0.1", 9, &c, err, sizeof err), STORE_EINVAL);
    assert_non_null(strstr(err, "not listed"));
    assert_int_equal(store_code_parse("10.0.0.2", 8, &c, err, sizeof err), STORE_EINVAL);
    assert_non_null(strstr(err, "outside 127.0.0.0/8"));
    assert_int_equal(store_code_parse("127.0.0.256", 11, &c, err, sizeof err), STORE_EINVAL);
    assert_int_equal(store_code_parse("", 0, &c, err, sizeof err), STORE_EINVAL);
    assert_int_equal(store_code_parse("1.2.3.4.5", 9, &c, err, sizeof err), STORE_EINVAL);
    assert_int_equal(store_code_parse("127.", 4, &c, err, sizeof err), STORE_EINVAL);
    char txt[300];
    memset(txt, 'x', 256);
    txt[256] = '\0';
    assert_int_equal(store_txt_check(txt, err, sizeof err), STORE_EINVAL);
    txt[255] = '\0';
    assert_int_equal(store_txt_check(txt, err, sizeof err), 0);
    assert_int_equal(store_txt_check("Listed: see http://x/$", err, sizeof err), 0);
    assert_int_equal(store_txt_check(" lead", err, sizeof err), STORE_EINVAL);
    assert_int_equal(store_txt_check("=raw", err, sizeof err), STORE_EINVAL);
    assert_int_equal(store_txt_check("bell\a", err, sizeof err), STORE_EINVAL);
    assert_int_equal(store_txt_check("line\nbreak", err, sizeof err), STORE_EINVAL);
    assert_int_equal(store_list_name_check("bl-main_2.old", err, sizeof err), 0);
    assert_int_equal(store_list_name_check("../etc", err, sizeof err), STORE_EINVAL);
    assert_int_equal(store_list_name_check("-x", err, sizeof err), STORE_EINVAL);
    assert_int_equal(store_list_name_check("a b", err, sizeof err), STORE_EINVAL);
    assert_int_equal(store_list_name_check("", err, sizeof err), STORE_EINVAL);
}

/* ---- import parser ---- */

struct recs {
    int n;
    char text[64][300];
    uint32_t code[64];
    char txt[64][300];
};

static int collect_rec(void *ctx, const struct store_import_rec *r)
{
    struct recs *rs = ctx;
    if (rs->n < 64) {
        snprintf(rs->text[rs->n], 300, "%s%s", r->p.excluded ? "!" : "", r->p.text);
        rs->code[rs->n] = r->has_code ? r->code : 0;
        snprintf(rs->txt[rs->n], 300, "%s", r->txt ? r->txt : r->has_txt ? "(none)" : "(not given)");
    }
    rs->n++;
    return 0;
}

/* Import text (lines) as type; returns the records; bad lines' reasons
 * joined with "|" into bad. */
static struct recs *import_text(const char *type, const char *subzone, const char *text, char *bad, size_t badcap)
{
    static struct recs rs;
    memset(&rs, 0, sizeof rs);
    char err[400];
    struct store_import *im = store_import_new(type, subzone, 1700000000, err, sizeof err);
    if (!im)
        fail_msg("store_import_new: %s", err);
    bad[0] = '\0';
    size_t bn = 0;
    for (const char *l = text; *l;) {
        const char *nl = strchr(l, '\n');
        size_t len = nl ? (size_t)(nl - l) : strlen(l);
        if (store_import_line(im, l, len, collect_rec, &rs, err, sizeof err) != 0)
            bn += (size_t)snprintf(bad + bn, badcap - bn, "%s%s", bn ? "|" : "", err);
        l += len + (nl ? 1 : 0);
    }
    store_import_free(im);
    return &rs;
}

static void import_ip4(void **state)
{
    (void)state;
    char bad[2000];
    struct recs *r = import_text("ip4set", NULL,
                                 ":127.0.0.3:Listed $\n"
                                 "192.168.0.0-192.168.2.255\n"
                                 "10.1\n"
                                 "127.16-31\n"
                                 "127/8 ; loopback\n"
                                 "!192.168.1.7\n"
                                 "1.2.3.4 :4:own text\n"
                                 "1.2.3.5 :5\n"
                                 "1.2.3.6 :6:\n"
                                 "1.2.3.7 just text\n"
                                 "1.2.3.8:9:no space\n"
                                 "# a comment\n"
                                 "$SOA 600 ns1.x. h.x. 1 600 300 86400 60\n"
                                 "10.0.0.1/8\n"
                                 "1.2.3.4 :10.0.0.2:x\n",
                                 bad, sizeof bad);
    static const char *const want[] = {"192.168.0.0/23", "192.168.2.0/24", "10.1.0.0/16", "127.16.0.0/12",
                                       "127.0.0.0/8",    "!192.168.1.7",   "1.2.3.4",     "1.2.3.5",
                                       "1.2.3.6",        "1.2.3.7",        "1.2.3.8"};
    assert_int_equal(r->n, 11);
    for (int i = 0; i < 11; i++)
        assert_string_equal(r->text[i], want[i]);
    assert_int_equal(r->code[0], 0x7f000003);
    assert_string_equal(r->txt[0], "Listed $");
    assert_int_equal(r->code[6], 0x7f000004);
    assert_string_equal(r->txt[6], "own text");
    assert_int_equal(r->code[7], 0x7f000005);
    assert_string_equal(r->txt[7], "Listed $"); /* ":A" keeps the default TXT */
    assert_string_equal(r->txt[8], "(none)");   /* ":A:" has none */
    assert_int_equal(r->code[9], 0x7f000003);
    assert_string_equal(r->txt[9], "just text");
    assert_int_equal(r->code[10], 0x7f000009);
    assert_string_equal(bad, "host part set in \"10.0.0.1/8\" (rbldnsd refuses it without -e)|"
                             "A value 10.0.0.2 is outside 127.0.0.0/8 (RFC 5782 codes are 127.0.0.x)");

    r = import_text("ip4trie", NULL, "10.0.0.0-10.0.0.255\n10.0.1.0-10.0.1.5\n", bad, sizeof bad);
    assert_int_equal(r->n, 1);
    assert_string_equal(r->text[0], "10.0.0.0/24");
    assert_string_equal(bad, "ip4trie takes CIDR prefixes only, not ranges");

    r = import_text("ip4tset", NULL, "1.2.3.4\n:3:late\n", bad, sizeof bad);
    assert_non_null(strstr(bad, "the default line comes after entries"));
    r = import_text("ip4tset", NULL, ":3:first\n:4:second\n1.2.3.4\n1.2.3.0/24\n", bad, sizeof bad);
    assert_int_equal(r->n, 1);
    assert_int_equal(r->code[0], 0x7f000003);
    assert_string_equal(r->txt[0], "first");
    assert_string_equal(bad, "ip4tset takes single addresses only");

    r = import_text("ip4set", NULL, "$MAXRANGE4 /24\n10.0.0.0/16\n!10.0.0.0/16\n10.0.0.0/24\n", bad, sizeof bad);
    assert_int_equal(r->n, 2);
    assert_string_equal(bad, "range of 65536 addresses exceeds $MAXRANGE4");
}

static void import_substitutions(void **state)
{
    (void)state;
    char bad[2000];
    struct recs *r = import_text("ip4set", NULL,
                                 "$1 See http://www.example.com/bl\n"
                                 "$2 for details\n"
                                 "127.0.0.2  $1/spammer/$ $2\n"
                                 "127.0.0.4  This spammer wants some $$$$.  $1/$\n"
                                 "$1 ignored: the first definition wins\n"
                                 "127.0.0.5  $1 $9\n",
                                 bad, sizeof bad);
    assert_string_equal(bad, "");
    assert_int_equal(r->n, 3);
    assert_string_equal(r->txt[0], "See http://www.example.com/bl/spammer/$ for details");
    assert_string_equal(r->txt[1], "This spammer wants some $$$$.  See http://www.example.com/bl/$");
    assert_string_equal(r->txt[2], "See http://www.example.com/bl $$9");
    r = import_text("ip4set", NULL,
                    "$= See http://www.example.com/bl?$= ($) for details\n"
                    "127.0.0.2    r123\n"
                    "127.0.0.3\n"
                    "127.0.0.4    =See other blocklists for details about $\n",
                    bad, sizeof bad);
    assert_string_equal(bad, "");
    assert_int_equal(r->n, 3);
    assert_string_equal(r->txt[0], "See http://www.example.com/bl?r123 ($) for details");
    assert_string_equal(r->txt[1], "See http://www.example.com/bl?$ ($) for details");
    assert_string_equal(r->txt[2], "See other blocklists for details about $");
    /* a $= template with a control byte: the entries that would carry it are refused */
    r = import_text("ip4tset", NULL, "$= \x06\n1.0.0.5\n", bad, sizeof bad);
    assert_int_equal(r->n, 0);
    assert_string_equal(bad, "TXT with a control byte (0x06)");
}

static void import_ip6_dns_generic(void **state)
{
    (void)state;
    char bad[2000];
    struct recs *r = import_text("ip6trie", NULL,
                                 ":127.0.1.2: Listed, see http://example.com/lookup?$\n"
                                 "2001:21ab:c000/36\n"
                                 "2001:21ab:def7:4242 :127.0.1.3: This one smells funny\n"
                                 "2605:6001:42::/52\n"
                                 "::1 # localhost\n"
                                 "!2605:6001:42::bead\n"
                                 "2001:db8::1/64\n",
                                 bad, sizeof bad);
    assert_int_equal(r->n, 5);
    assert_string_equal(r->text[0], "2001:21ab:c000::/36");
    assert_string_equal(r->txt[0], "Listed, see http://example.com/lookup?$");
    assert_string_equal(r->text[1], "2001:21ab:def7:4242::/64");
    assert_int_equal(r->code[1], 0x7f000103);
    assert_string_equal(r->text[3], "::1");
    assert_string_equal(r->text[4], "!2605:6001:42::bead");
    assert_non_null(strstr(bad, "host part set"));
    r = import_text("ip6tset", NULL, "2001:20fe:23:41ed\n!abac:adab:ad00:42f::2\n2001:db8::/48\n", bad, sizeof bad);
    assert_int_equal(r->n, 2);
    assert_string_equal(r->text[0], "2001:20fe:23:41ed::/64");
    assert_string_equal(bad, "ip6tset takes /64 prefixes and /128 exclusions only");

    r = import_text("dnset", NULL,
                    ":4:domain $ listed\n"
                    "Example.COM\n*.spam.example :5\n.worm.example\n!good.worm.example\n@\nbad\"domain\n",
                    bad, sizeof bad);
    assert_int_equal(r->n, 4);
    assert_string_equal(r->text[0], "example.com");
    assert_int_equal(r->code[0], 0x7f000004);
    assert_string_equal(r->text[1], "*.spam.example");
    assert_int_equal(r->code[1], 0x7f000005);
    assert_string_equal(r->text[2], ".worm.example");
    assert_string_equal(r->text[3], "!good.worm.example");
    assert_string_equal(bad, "the zone's own name (@) cannot be a listing|"
                             "unsafe domain name \"bad\"domain\": byte '\"' is not a letter, digit, '-' or '_'");

    r = import_text("generic", NULL,
                    "2.0.0.127 A 127.0.0.2\n"
                    "2.0.0.127 300 IN TXT \"test entry, $5 off\"\n"
                    "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2 A 127.0.0.4\n"
                    "www A 192.0.2.80\n"
                    "@ A 127.0.0.8\n"
                    "mail MX 10 mx.example.\n"
                    "v6 AAAA 2001:db8::1\n"
                    "spam.example A 127.0.0.3\n",
                    bad, sizeof bad);
    assert_int_equal(r->n, 4);
    assert_string_equal(r->text[0], "127.0.0.2");
    assert_string_equal(r->txt[0], "(not given)"); /* an A line sets the code only */
    assert_string_equal(r->text[1], "127.0.0.2");
    assert_string_equal(r->txt[1], "test entry, $$5 off");
    assert_int_equal(r->code[1], 0);
    assert_string_equal(r->text[2], "2001:db8::1");
    assert_string_equal(r->text[3], "spam.example");
    assert_string_equal(bad, "generic: A 192.0.2.80 is not a listing code (127.0.0.x); a list cannot hold other records|"
                             "the zone's own name (@) cannot be a listing|"
                             "generic: MX records are not listings; a list cannot hold them|"
                             "generic: AAAA records are not listings; a list cannot hold them");
}

static void import_combined_acl(void **state)
{
    (void)state;
    char bad[2000], err[400];
    static const char file[] = "$NS 1w ns1.ex.com\n"
                               "$1 http://bl.ex.com\n"
                               "$DATASET ip4set:proxy proxies @\n"
                               ":2:Open proxy, see $1/proxy/$\n"
                               "127.0.0.2\n"
                               "$DATASET ip4set:multihop multihop\n"
                               ":4:Multihop\n"
                               "127.0.9.12\n"
                               "$DATASET dnset @\n"
                               "spam.example\n";
    struct recs *r = import_text("combined", NULL, file, bad, sizeof bad);
    assert_string_equal(bad, "$DATASET section for subzone multihop, not the list's zone: choose the part to "
                             "import with --subzone (@ for the base zone)");
    assert_int_equal(r->n, 2);
    assert_string_equal(r->txt[0], "Open proxy, see http://bl.ex.com/proxy/$");
    r = import_text("combined", "@", file, bad, sizeof bad);
    assert_string_equal(bad, "");
    assert_int_equal(r->n, 2);
    r = import_text("combined", "multihop", file, bad, sizeof bad);
    assert_string_equal(bad, "");
    assert_int_equal(r->n, 1);
    assert_string_equal(r->text[0], "127.0.9.12");
    assert_int_equal(r->code[0], 0x7f000004);
    r = import_text("combined", NULL, "1.2.3.4\n$DATASET acl @\n$DATASET ip4set\n", bad, sizeof bad);
    assert_string_equal(bad, "data before the first $DATASET line|$DATASET: unknown or unusable type \"acl\"|"
                             "$DATASET without any subzone (use @ for the base zone)");
    assert_null(store_import_new("acl", NULL, 0, err, sizeof err));
    assert_non_null(strstr(err, "acl datasets hold client access rules"));
    assert_null(store_import_new("ip5set", NULL, 0, err, sizeof err));
    assert_non_null(strstr(err, "unknown dataset type"));
    r = import_text("ip4set", NULL, "$TIMESTAMP 2020:01:01 +1w\n1.2.3.4\n", bad, sizeof bad);
    assert_string_equal(bad, "$TIMESTAMP: the data expired (rbldnsd would not serve it)");
    r = import_text("ip4set", NULL, "1.2.3.4\n$TIMESTAMP 2023:01:01 2099:01:01\n", bad, sizeof bad);
    assert_non_null(strstr(bad, "$TIMESTAMP with an expiry after entries"));
    r = import_text("ip4set", NULL, "$TIMESTAMP 2099:01:01\n", bad, sizeof bad);
    assert_non_null(strstr(bad, "in the future"));
    /* a line over the limit and a NUL byte are refused */
    char *big = malloc(STORE_IMPORT_MAX_LINE + 2);
    memset(big, '1', STORE_IMPORT_MAX_LINE + 1);
    struct store_import *im = store_import_new("ip4set", NULL, 0, err, sizeof err);
    assert_int_equal(store_import_line(im, big, STORE_IMPORT_MAX_LINE + 1, collect_rec, r, err, sizeof err),
                     STORE_EINVAL);
    assert_int_equal(store_import_line(im, "1.2.3.4\0x", 9, collect_rec, r, err, sizeof err), STORE_EINVAL);
    assert_string_equal(err, "NUL byte in line");
    store_import_free(im);
    free(big);
}

/* ---- the database ---- */

static void lists_and_constraints(void **state)
{
    (void)state;
    struct store *s = open_db();
    struct store_list l = make_list(s, "bl", "BL.Example.org.", STORE_IP4);
    assert_true(l.id > 0);
    assert_string_equal(l.zone, "bl.example.org");
    struct store_list bad = {.kind = STORE_IP4, .code = 0x7f000002, .ttl = 60};
    snprintf(bad.name, sizeof bad.name, "bl");
    snprintf(bad.zone, sizeof bad.zone, "other.example");
    assert_int_equal(store_list_create(s, &bad, "t", ""), STORE_EEXIST);
    assert_string_equal(store_error(s), "a list named bl exists");
    snprintf(bad.name, sizeof bad.name, "bl2");
    snprintf(bad.zone, sizeof bad.zone, "bl.example.org");
    assert_int_equal(store_list_create(s, &bad, "t", ""), STORE_EEXIST);
    assert_string_equal(store_error(s), "list bl already serves zone bl.example.org");
    snprintf(bad.zone, sizeof bad.zone, "x.example");
    bad.code = 0x0a000002;
    assert_int_equal(store_list_create(s, &bad, "t", ""), STORE_EINVAL);
    bad.code = 0x7f000002;
    snprintf(bad.name, sizeof bad.name, "../x");
    assert_int_equal(store_list_create(s, &bad, "t", ""), STORE_EINVAL);
    struct store_list got;
    assert_int_equal(store_list_get(s, "bl", &got), 0);
    assert_int_equal(got.id, l.id);
    assert_int_equal(store_list_get(s, "nope", &got), STORE_ENOENT);
    assert_string_equal(store_error(s), "no list named \"nope\"");
    store_close(s);

    /* the schema itself refuses what the code would never write */
    sqlite3 *db;
    assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
    sqlite3_exec(db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL);
    static const char *const refused[] = {
        "INSERT INTO lists (name, zone, kind, code, ttl, created) VALUES ('x', 'x.example', 1, 167772162, 1, 0)",
        "INSERT INTO lists (name, zone, kind, code, ttl, created) VALUES ('y', 'y.example', 9, 2130706434, 1, 0)",
        "INSERT INTO listings (list_id, family, entry, created, updated) VALUES (999, 1, '1.2.3.4', 0, 0)",
        "INSERT INTO listings (list_id, family, entry, excluded, created, updated) VALUES (1, 1, '1.2.3.4', 2, 0, 0)",
        "INSERT INTO listings (list_id, family, entry, code, created, updated) VALUES (1, 1, '1.2.3.4', 5, 0, 0)",
        "INSERT INTO journal (list_id, serial, op, entry, at) VALUES (1, 0, 1, 'x', 0)",
        "UPDATE lists SET serial = serial - 1 WHERE id = 1 AND serial > 0",
        "UPDATE audit SET actor = 'someone else'",
        "DELETE FROM audit",
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        int rc = sqlite3_exec(db, refused[i], NULL, NULL, NULL);
        if (i == 6) /* serial 0: nothing to decrease */
            continue;
        if (rc == SQLITE_OK)
            fail_msg("accepted: %s", refused[i]);
    }
    /* journal serials: above the list's committed serial, and unique */
    assert_int_equal(sqlite3_exec(db, "UPDATE lists SET serial = 3 WHERE id = 1", NULL, NULL, NULL), SQLITE_OK);
    assert_int_not_equal(sqlite3_exec(db, "INSERT INTO journal (list_id, serial, op, entry, at) VALUES (1, 3, 1, 'a', 0)",
                                      NULL, NULL, NULL),
                         SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "INSERT INTO journal (list_id, serial, op, entry, at) VALUES (1, 5, 1, 'a', 0)",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    assert_int_not_equal(sqlite3_exec(db, "INSERT INTO journal (list_id, serial, op, entry, at) VALUES (1, 5, 1, 'b', 0)",
                                      NULL, NULL, NULL),
                         SQLITE_OK);
    assert_int_not_equal(sqlite3_exec(db, "UPDATE lists SET serial = 2 WHERE id = 1", NULL, NULL, NULL), SQLITE_OK);
    assert_int_not_equal(sqlite3_exec(db, "UPDATE journal SET entry = 'c'", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

static void journal_order_and_serials(void **state)
{
    (void)state;
    struct store *s = open_db();
    struct store_list l = make_list(s, "bl", "bl.example", STORE_COMBINED);
    static const char *const ops1[] = {"+192.0.2.1", "+2001:db8::/32", "+.spam.example"};
    struct store_batch_counts c = batch(s, "bl", ops1, 3, NULL);
    assert_int_equal(c.added, 3);
    assert_int_equal(c.serial, 3);
    /* a change of code is journalled as the removal of the old value (for
     * IXFR's deletions), then the addition of the new */
    struct store_values v = {.set = STORE_SET_CODE, .code = 0x7f000004};
    static const char *const ops2[] = {"+192.0.2.1"};
    c = batch(s, "bl", ops2, 1, &v);
    assert_int_equal(c.changed, 1);
    assert_int_equal(c.serial, 5);
    /* the same again changes nothing: no serial */
    c = batch(s, "bl", ops2, 1, &v);
    assert_int_equal(c.unchanged, 1);
    assert_int_equal(c.serial, 5);
    /* a reason only: audited, not journalled (DNS does not see it) */
    struct store_values why = {.set = STORE_SET_REASON, .reason = "new evidence"};
    c = batch(s, "bl", ops2, 1, &why);
    assert_int_equal(c.changed, 1);
    assert_int_equal(c.serial, 5);
    /* listing -> exclusion, then a removal */
    static const char *const ops3[] = {"+!192.0.2.1", "-2001:db8::/32"};
    c = batch(s, "bl", ops3, 2, NULL);
    assert_int_equal(c.serial, 8);

    struct changes ch = {0};
    assert_int_equal(store_journal_since(s, l.id, 0, 0, collect_change, &ch), 8);
    static const uint64_t serials[] = {1, 2, 3, 4, 5, 6, 7, 8};
    static const enum store_op ops[] = {STORE_ADD,    STORE_ADD, STORE_ADD,    STORE_REMOVE,
                                        STORE_ADD,    STORE_REMOVE, STORE_ADD, STORE_REMOVE};
    static const char *const entries[] = {"192.0.2.1", "2001:db8::/32", ".spam.example", "192.0.2.1",
                                          "192.0.2.1", "192.0.2.1",     "192.0.2.1",     "2001:db8::/32"};
    for (int i = 0; i < 8; i++) {
        assert_int_equal(ch.serial[i], serials[i]);
        assert_int_equal(ch.op[i], ops[i]);
        assert_string_equal(ch.entry[i], entries[i]);
    }
    assert_int_equal(ch.code[3], 0);          /* the old value: the list's default */
    assert_int_equal(ch.code[4], 0x7f000004); /* the new one */
    assert_int_equal(ch.code[5], 0x7f000004); /* removed again for the exclusion */
    assert_true(ch.excluded[6]);
    assert_int_equal(ch.code[6], 0); /* an exclusion has no value */
    memset(&ch, 0, sizeof ch);
    assert_int_equal(store_journal_since(s, l.id, 4, 0, collect_change, &ch), 4);
    assert_int_equal(ch.serial[0], 5);
    memset(&ch, 0, sizeof ch);
    assert_int_equal(store_journal_since(s, l.id, 0, 2, collect_change, &ch), 2);
    assert_int_equal(ch.serial[1], 2);
    uint64_t first;
    assert_int_equal(store_journal_first(s, l.id, &first), 0);
    assert_int_equal(first, 1);
    assert_int_equal(store_journal_first(s, 999, &first), STORE_ENOENT);

    /* the snapshot and its serial */
    uint64_t serial;
    int n = 0;
    assert_int_equal(store_listings_each(s, l.id, 0, &serial, count_entry, &n), 0);
    assert_int_equal(serial, 8);
    assert_int_equal(n, 2);
    struct store_list got;
    store_list_get(s, "bl", &got);
    assert_int_equal(got.serial, 8);

    /* remove: not listed, and the wrong exclusion flag, change nothing */
    struct store_batch_info info = {.list = "bl", .actor = "t", .reason = "r"};
    struct store_batch *b;
    assert_int_equal(store_batch_begin(s, &info, &b), 0);
    struct store_parsed p = parse("198.51.100.1");
    assert_int_equal(store_batch_remove(b, &p, NULL), STORE_ENOENT);
    assert_string_equal(store_error(s), "not listed in bl: 198.51.100.1");
    p = parse("192.0.2.1");
    assert_int_equal(store_batch_remove(b, &p, NULL), STORE_ENOENT);
    assert_string_equal(store_error(s), "not listed in bl: 192.0.2.1 (192.0.2.1 is an exclusion there: remove !192.0.2.1)");
    /* the batch is still usable after a refusal; an abort undoes it all */
    p = parse(".spam.example");
    assert_int_equal(store_batch_remove(b, &p, NULL), 0);
    store_batch_abort(b);
    assert_int_equal(listings(s, l.id, 0), 2);
    /* unknown list */
    info.list = "nope";
    assert_int_equal(store_batch_begin(s, &info, &b), STORE_ENOENT);
    store_close(s);
}

static void journal_pruning(void **state)
{
    (void)state;
    struct store *s = open_db();
    struct store_list l = make_list(s, "bl", "bl.example", STORE_IP4);
    store_set_journal_limits(s, 3, 0);
    static const char *const ops[] = {"+10.0.0.1", "+10.0.0.2", "+10.0.0.3", "+10.0.0.4", "+10.0.0.5"};
    for (int i = 0; i < 5; i++)
        batch(s, "bl", ops + i, 1, NULL);
    uint64_t first;
    store_journal_first(s, l.id, &first);
    assert_int_equal(first, 3);
    struct changes ch = {0};
    assert_int_equal(store_journal_since(s, l.id, 0, 0, collect_change, &ch), 3);
    assert_int_equal(ch.serial[0], 3);
    /* a batch larger than the journal keeps: no rows, readers reload */
    static const char *const big[] = {"+10.1.0.1", "+10.1.0.2", "+10.1.0.3", "+10.1.0.4"};
    struct store_batch_counts c = batch(s, "bl", big, 4, NULL);
    assert_true(c.journal_reset);
    assert_int_equal(c.serial, 9);
    store_journal_first(s, l.id, &first);
    assert_int_equal(first, 10);
    memset(&ch, 0, sizeof ch);
    assert_int_equal(store_journal_since(s, l.id, 0, 0, collect_change, &ch), 0);
    /* and then the journal goes on from there (a change: the old value out, the new in) */
    batch(s, "bl", ops, 1, &(struct store_values){.set = STORE_SET_CODE, .code = 0x7f000003});
    memset(&ch, 0, sizeof ch);
    assert_int_equal(store_journal_since(s, l.id, 9, 0, collect_change, &ch), 2);
    assert_int_equal(ch.serial[0], 10);
    assert_int_equal(ch.op[0], STORE_REMOVE);
    assert_int_equal(ch.op[1], STORE_ADD);

    /* age: changes older than max_age go */
    store_set_journal_limits(s, 0, 30 * 86400);
    store_set_clock(s, 1800000000);
    batch(s, "bl", ops, 1, &(struct store_values){.set = STORE_SET_CODE, .code = 0x7f000004});
    store_set_clock(s, 1800000000 + 31 * 86400);
    batch(s, "bl", ops, 1, &(struct store_values){.set = STORE_SET_CODE, .code = 0x7f000005});
    store_journal_first(s, l.id, &first);
    assert_int_equal(first, 14); /* each change is two rows (old out, new in): 12-13 went */
    memset(&ch, 0, sizeof ch);
    assert_int_equal(store_journal_since(s, l.id, 0, 0, collect_change, &ch), 2);
    store_close(s);
}

struct audit_rows {
    int n;
    char line[16][300];
};

static int collect_audit(void *ctx, const struct store_audit *a)
{
    struct audit_rows *r = ctx;
    if (r->n < 16)
        snprintf(r->line[r->n], 300, "%s %s %s %llu %s | %s", a->actor, a->action, a->entry ? a->entry : "-",
                 (unsigned long long)a->serial, a->reason, a->detail);
    r->n++;
    return 0;
}

static void expiry_and_audit(void **state)
{
    (void)state;
    struct store *s = open_db();
    struct store_list l = make_list(s, "bl", "bl.example", STORE_IP4);
    store_set_clock(s, 1800000000);
    struct store_values v = {.set = STORE_SET_EXPIRES | STORE_SET_SOURCE, .expires = 1800000100, .source = "trap"};
    static const char *const ops[] = {"+192.0.2.1", "+192.0.2.2"};
    batch(s, "bl", ops, 1, &v);
    v.expires = 1800000200;
    batch(s, "bl", ops + 1, 1, &v);
    static const char *const forever[] = {"+192.0.2.3"};
    batch(s, "bl", forever, 1, NULL);
    assert_int_equal(listings(s, l.id, 1800000000), 3);
    assert_int_equal(listings(s, l.id, 1800000100), 2); /* the snapshot leaves out what has expired */
    size_t n;
    assert_int_equal(store_expire(s, 1800000050, "expire", &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(store_expire(s, 1800000150, "expire", &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(store_expire(s, 1800000150, "expire", &n), 0);
    assert_int_equal(n, 0);
    struct store_list_stats st;
    assert_int_equal(store_list_stats(s, l.id, 1800000300, &st), 0);
    assert_int_equal(st.listings, 1);
    assert_int_equal(st.expired, 1);
    assert_int_equal(store_expire(s, 1800000300, "expire", &n), 0);
    assert_int_equal(n, 1);
    struct changes ch = {0};
    store_journal_since(s, l.id, 3, 0, collect_change, &ch);
    assert_int_equal(ch.n, 2);
    assert_int_equal(ch.op[0], STORE_REMOVE);
    assert_string_equal(ch.entry[0], "192.0.2.1");

    struct audit_rows a = {0};
    assert_int_equal(store_audit_each(s, "bl", "192.0.2.1", 0, collect_audit, &a), 2);
    assert_string_equal(a.line[0], "tester add 192.0.2.1 1 test | expires 2027-01-15 08:01:40; source trap");
    assert_string_equal(a.line[1], "expire expire 192.0.2.1 4 expired | expired at 2027-01-15 08:02:30");
    memset(&a, 0, sizeof a);
    assert_int_equal(store_audit_each(s, "bl", NULL, 1, collect_audit, &a), 1); /* the newest */
    assert_non_null(strstr(a.line[0], "192.0.2.2"));

    /* drop: listings and journal go, the audit trail stays and says so */
    uint64_t count;
    assert_int_equal(store_list_drop(s, "bl", "tester", "done", &count), 0);
    assert_int_equal(count, 1);
    assert_int_equal(store_list_drop(s, "bl", "tester", "again", &count), STORE_ENOENT);
    memset(&a, 0, sizeof a);
    assert_int_equal(store_audit_each(s, "bl", NULL, 0, collect_audit, &a), 7);
    assert_string_equal(a.line[6], "tester drop - 5 done | zone bl.example; 1 listings; serial 5");
    assert_string_equal(a.line[0], "tester create - 0 for a test | zone bl.example; kind ip4; code 127.0.0.2; ttl 2100");
    uint64_t serial;
    assert_int_equal(store_listings_each(s, l.id, 0, &serial, count_entry, &n), STORE_ENOENT);
    store_close(s);
    sqlite3 *db;
    sqlite3_open(db_path, &db);
    sqlite3_stmt *q;
    sqlite3_prepare_v2(db, "SELECT (SELECT count(*) FROM listings) + (SELECT count(*) FROM journal)", -1, &q, NULL);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(q, 0), 0);
    sqlite3_finalize(q);
    sqlite3_close(db);
}

struct found {
    int n;
    char what[16][120];
};

static int collect_listing(void *ctx, const struct store_listing *x)
{
    struct found *f = ctx;
    if (f->n < 16)
        snprintf(f->what[f->n], 120, "%s %s%s", x->list, x->e.excluded ? "!" : "", x->e.entry);
    f->n++;
    return 0;
}

static void searches_and_changes(void **state)
{
    (void)state;
    struct store *s = open_db();
    make_list(s, "bl", "bl.example", STORE_IP4);
    make_list(s, "dbl", "dbl.example", STORE_DNS);
    make_list(s, "mix", "mix.example", STORE_COMBINED);
    static const char *const ip[] = {"+10.0.0.0/8", "+10.1.2.0/24", "+!10.1.2.3", "+192.0.2.1"};
    batch(s, "bl", ip, 4, NULL);
    static const char *const dn[] = {"+.spam.example", "+*.foo.example", "+bar.foo.example", "+other.example"};
    batch(s, "dbl", dn, 4, NULL);
    static const char *const mix[] = {"+10.1.0.0/16", "+2001:db8::/32"};
    batch(s, "mix", mix, 2, NULL);
    struct found f = {0};
    struct store_parsed p = parse("10.1.2.3");
    assert_int_equal(store_search_covering(s, 0, &p, 0, collect_listing, &f), 4);
    assert_string_equal(f.what[0], "bl !10.1.2.3");
    assert_string_equal(f.what[1], "bl 10.1.2.0/24");
    assert_string_equal(f.what[2], "bl 10.0.0.0/8");
    assert_string_equal(f.what[3], "mix 10.1.0.0/16");
    memset(&f, 0, sizeof f);
    p = parse("x.bar.foo.example");
    assert_int_equal(store_search_covering(s, 0, &p, 0, collect_listing, &f), 1);
    assert_string_equal(f.what[0], "dbl *.foo.example");
    memset(&f, 0, sizeof f);
    p = parse("bar.foo.example");
    assert_int_equal(store_search_covering(s, 0, &p, 0, collect_listing, &f), 2);
    memset(&f, 0, sizeof f);
    p = parse("spam.example");
    assert_int_equal(store_search_covering(s, 0, &p, 0, collect_listing, &f), 1);
    memset(&f, 0, sizeof f);
    p = parse("2001:db8:1::1");
    assert_int_equal(store_search_covering(s, 0, &p, 0, collect_listing, &f), 1);
    memset(&f, 0, sizeof f);
    assert_int_equal(store_search_glob(s, 0, "*.example", 0, 0, collect_listing, &f), 4);
    memset(&f, 0, sizeof f);
    assert_int_equal(store_search_glob(s, 0, "10.*", 0, 2, collect_listing, &f), 2);

    /* store_changed: another connection's commit, and our own */
    struct store *r;
    char err[200];
    assert_int_equal(store_open(db_path, true, &r, err, sizeof err), 0);
    bool changed;
    assert_int_equal(store_changed(r, &changed), 0);
    assert_false(changed);
    batch(s, "bl", (const char *const[]){"+192.0.2.99"}, 1, NULL);
    assert_int_equal(store_changed(r, &changed), 0);
    assert_true(changed);
    assert_int_equal(store_changed(r, &changed), 0);
    assert_false(changed);
    assert_int_equal(store_changed(s, &changed), 0);
    assert_true(changed);
    assert_int_equal(store_changed(s, &changed), 0);
    assert_false(changed);
    /* a read-only handle refuses to write */
    struct store_batch *b;
    struct store_batch_info info = {.list = "bl", .actor = "t"};
    assert_int_equal(store_batch_begin(r, &info, &b), STORE_EINVAL);
    store_close(r);
    store_close(s);
}

/* Schema version 1 as it was (frozen: a test fixture, not the code's copy). */
static const char schema_v1[] =
    "CREATE TABLE lists (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 63),"
    " zone TEXT NOT NULL UNIQUE CHECK (length(zone) BETWEEN 1 AND 253), kind INTEGER NOT NULL CHECK (kind BETWEEN 1 AND 4),"
    " code INTEGER NOT NULL CHECK (code BETWEEN 2130706434 AND 2147483647), txt TEXT NOT NULL DEFAULT '' CHECK (length(txt) <= 255),"
    " ttl INTEGER NOT NULL CHECK (ttl BETWEEN 0 AND 2147483647), serial INTEGER NOT NULL DEFAULT 0 CHECK (serial >= 0),"
    " journal_pruned INTEGER NOT NULL DEFAULT 0 CHECK (journal_pruned BETWEEN 0 AND serial),"
    " changed INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL);"
    "CREATE TABLE listings (list_id INTEGER NOT NULL REFERENCES lists(id) ON DELETE CASCADE,"
    " family INTEGER NOT NULL CHECK (family BETWEEN 1 AND 3), entry TEXT NOT NULL CHECK (length(entry) BETWEEN 1 AND 255),"
    " excluded INTEGER NOT NULL DEFAULT 0 CHECK (excluded IN (0, 1)),"
    " code INTEGER NOT NULL DEFAULT 0 CHECK (code = 0 OR code BETWEEN 2130706434 AND 2147483647),"
    " reason TEXT NOT NULL DEFAULT '' CHECK (length(reason) <= 1024), source TEXT NOT NULL DEFAULT '' CHECK (length(source) <= 1024),"
    " evidence TEXT NOT NULL DEFAULT '' CHECK (length(evidence) <= 1024), created INTEGER NOT NULL, updated INTEGER NOT NULL,"
    " expires INTEGER NOT NULL DEFAULT 0 CHECK (expires >= 0), PRIMARY KEY (list_id, family, entry)) WITHOUT ROWID;"
    "CREATE INDEX listings_expiry ON listings (expires) WHERE expires > 0;"
    "CREATE TABLE journal (list_id INTEGER NOT NULL REFERENCES lists(id) ON DELETE CASCADE, serial INTEGER NOT NULL CHECK (serial > 0),"
    " op INTEGER NOT NULL CHECK (op IN (1, 2)), entry TEXT NOT NULL, excluded INTEGER NOT NULL DEFAULT 0 CHECK (excluded IN (0, 1)),"
    " code INTEGER NOT NULL DEFAULT 0, expires INTEGER NOT NULL DEFAULT 0, at INTEGER NOT NULL,"
    " PRIMARY KEY (list_id, serial)) WITHOUT ROWID;"
    "CREATE TABLE audit (list TEXT NOT NULL, entry TEXT NOT NULL, id INTEGER NOT NULL, at INTEGER NOT NULL, actor TEXT NOT NULL,"
    " action TEXT NOT NULL, serial INTEGER, reason TEXT NOT NULL DEFAULT '', detail TEXT NOT NULL DEFAULT '',"
    " PRIMARY KEY (list, entry, id)) WITHOUT ROWID;"
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;"
    "INSERT INTO meta VALUES ('audit_id', 2);"
    "INSERT INTO lists (id, name, zone, kind, code, ttl, serial, created) VALUES (1, 'old', 'old.example', 1, 2130706434, 600, 1, 1700000000);"
    "INSERT INTO listings (list_id, family, entry, code, reason, created, updated) VALUES (1, 1, '192.0.2.7', 2130706436, 'v1 era', 1700000000, 1700000000);"
    "INSERT INTO journal (list_id, serial, op, entry, code, at) VALUES (1, 1, 1, '192.0.2.7', 2130706436, 1700000000);"
    "INSERT INTO audit VALUES ('old', '', 1, 1700000000, 'admin', 'create', NULL, '', ''),"
    " ('old', '192.0.2.7', 2, 1700000000, 'admin', 'add', 1, 'v1 era', '');"
    "PRAGMA application_id = 1380011344; PRAGMA user_version = 1;";

static int first_txt(void *ctx, const struct store_entry *e)
{
    snprintf(ctx, 64, "%s=%s", e->entry, e->txt ? e->txt : "(null)");
    return 0;
}

static void migrates_from_v1(void **state)
{
    (void)state;
    sqlite3 *db;
    assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
    char *msg = NULL;
    if (sqlite3_exec(db, schema_v1, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("v1 fixture: %s", msg);
    sqlite3_close(db);

    /* read-only: refused, with the way out */
    struct store *s;
    char err[400];
    assert_int_equal(store_open(db_path, true, &s, err, sizeof err), STORE_EDB);
    assert_non_null(strstr(err, "schema version 1 is older than this program's (2)"));
    s = open_db();
    struct store_list l;
    assert_int_equal(store_list_get(s, "old", &l), 0);
    assert_int_equal(l.serial, 1);
    char got[64] = "";
    uint64_t serial;
    assert_int_equal(store_listings_each(s, l.id, 0, &serial, first_txt, got), 0);
    assert_string_equal(got, "192.0.2.7=(null)");
    /* the new column works, and the journal goes on from serial 1 */
    struct store_values v = {.set = STORE_SET_TXT, .txt = "now with text"};
    struct store_batch_counts c = batch(s, "old", (const char *const[]){"+192.0.2.7"}, 1, &v);
    assert_int_equal(c.changed, 1);
    assert_int_equal(c.serial, 3); /* the old value out, the new in */
    assert_int_equal(store_listings_each(s, l.id, 0, &serial, first_txt, got), 0);
    assert_string_equal(got, "192.0.2.7=now with text");
    struct audit_rows a = {0};
    assert_int_equal(store_audit_each(s, "old", "192.0.2.7", 0, collect_audit, &a), 2);
    assert_string_equal(a.line[0], "admin add 192.0.2.7 1 v1 era | ");
    store_close(s);
    sqlite3_open(db_path, &db);
    sqlite3_stmt *q;
    sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &q, NULL);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(q, 0), STORE_SCHEMA_VERSION);
    sqlite3_finalize(q);
    /* a database from the future is refused, and so is one that is not ours */
    sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL);
    sqlite3_close(db);
    assert_int_equal(store_open(db_path, false, &s, err, sizeof err), STORE_EDB);
    assert_non_null(strstr(err, "schema version 99 is newer than this program's (2)"));
    teardown_db(NULL);
    sqlite3_open(db_path, &db);
    sqlite3_exec(db, "CREATE TABLE mail (id INTEGER)", NULL, NULL, NULL);
    sqlite3_close(db);
    assert_int_equal(store_open(db_path, false, &s, err, sizeof err), STORE_EDB);
    assert_non_null(strstr(err, "not a Rampart database"));
    teardown_db(NULL);
    FILE *f = fopen(db_path, "w");
    fputs("this is not a database file at all, just text................................................", f);
    fclose(f);
    assert_int_equal(store_open(db_path, false, &s, err, sizeof err), STORE_EDB);
}

static void values_and_refusals(void **state)
{
    (void)state;
    struct store *s = open_db();
    struct store_list l = make_list(s, "bl", "bl.example", STORE_DNS);
    struct store_batch_info info = {.list = "bl", .actor = "t"};
    struct store_batch *b;
    assert_int_equal(store_batch_begin(s, &info, &b), 0);
    enum store_outcome o;
    struct store_parsed p = parse("192.0.2.1");
    struct store_values none = {0};
    assert_int_equal(store_batch_add(b, &p, &none, &o), STORE_EINVAL);
    assert_string_equal(store_error(s), "192.0.2.1 is an IPv4 entry; list bl holds domain entries");
    /* a name that would not fit under the zone */
    char name[260];
    for (int i = 0; i < 246; i += 2)
        name[i] = 'a', name[i + 1] = '.';
    memcpy(name + 246, "exam", 5);
    p = parse(name);
    if (store_batch_add(b, &p, &none, &o) != STORE_EINVAL || !strstr(store_error(s), "too long under zone bl.example"))
        fail_msg("accepted %s: %s", p.text, store_error(s));
    p = parse("spam.example");
    struct store_values v = {.set = STORE_SET_CODE, .code = 0x0a000001};
    assert_int_equal(store_batch_add(b, &p, &v, &o), STORE_EINVAL);
    v = (struct store_values){.set = STORE_SET_TXT, .txt = "bad\ntext"};
    assert_int_equal(store_batch_add(b, &p, &v, &o), STORE_EINVAL);
    v = (struct store_values){.set = STORE_SET_REASON, .reason = "esc\x1b[2J"};
    assert_int_equal(store_batch_add(b, &p, &v, &o), STORE_EINVAL);
    /* the list's own code and template are stored as "the default" */
    v = (struct store_values){.set = STORE_SET_CODE | STORE_SET_TXT, .code = 0x7f000002, .txt = ""};
    assert_int_equal(store_batch_add(b, &p, &v, &o), 0);
    assert_int_equal(o, STORE_ADDED);
    assert_int_equal(store_batch_commit(b), 0);
    struct changes ch = {0};
    store_journal_since(s, l.id, 0, 0, collect_change, &ch);
    assert_int_equal(ch.n, 1);
    assert_int_equal(ch.code[0], 0);
    store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(canonical_forms),
        cmocka_unit_test(refuses_bad_entries),
        cmocka_unit_test(codes_templates_names),
        cmocka_unit_test(import_ip4),
        cmocka_unit_test(import_substitutions),
        cmocka_unit_test(import_ip6_dns_generic),
        cmocka_unit_test(import_combined_acl),
        cmocka_unit_test_setup_teardown(lists_and_constraints, setup_db, teardown_db),
        cmocka_unit_test_setup_teardown(journal_order_and_serials, setup_db, teardown_db),
        cmocka_unit_test_setup_teardown(journal_pruning, setup_db, teardown_db),
        cmocka_unit_test_setup_teardown(expiry_and_audit, setup_db, teardown_db),
        cmocka_unit_test_setup_teardown(searches_and_changes, setup_db, teardown_db),
        cmocka_unit_test_setup_teardown(migrates_from_v1, setup_db, teardown_db),
        cmocka_unit_test_setup_teardown(values_and_refusals, setup_db, teardown_db),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
