/*
 * fuzz_store: libFuzzer harness for the listing database's two parsers of
 * untrusted text (src/store/entry.c, src/store/import.c). No SQL runs here.
 *
 * Each input is read as lines. Every line, in a buffer of its exact size:
 *   - store_entry_parse() for each list kind (and "any"); a success must be
 *     canonical: its text re-parses to itself (same family, prefix and
 *     exclusion) and a list of that kind holds it; a failure leaves a reason;
 *   - store_code_parse() (a success passes store_code_check());
 *   - store_txt_check() and store_list_name_check() (no crash, a reason on
 *     refusal).
 * Then the whole input is imported as an rbldnsd data file of each dataset
 * type (combined also with --subzone @ and with another subzone), line by
 * line through store_import_line(). Every record emitted must hold a
 * canonical entry (re-parsed as above), a code that passes store_code_check()
 * when it has one, a TXT that passes store_txt_check(). A refused line must
 * leave a reason. acl must be refused at store_import_new().
 *
 * Any violation aborts with "fuzz invariant broken" (fuzz_common.h).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "store/entry.h"
#include "store/import.h"

static const char *const types[] = {"ip4set", "ip4tset", "ip4trie", "ip6tset", "ip6trie",
                                    "dnset",  "generic", "combined", "acl"};

/* p must be canonical: its own text (with "!" for an exclusion) parses back to p. */
static void check_canonical(const struct store_parsed *p, enum store_kind kind)
{
    char buf[STORE_ENTRY_MAX + 2];
    if (p->len != strlen(p->text) || p->len == 0 || p->len >= STORE_ENTRY_MAX)
        FZ_FAIL("entry length does not match its text");
    if (kind && !store_kind_holds(kind, p->family))
        FZ_FAIL("entry of a family the list kind does not hold");
    int n = snprintf(buf, sizeof buf, "%s%s", p->excluded ? "!" : "", p->text);
    char *exact = malloc((size_t)n);
    if (!exact)
        FZ_FAIL("out of memory");
    memcpy(exact, buf, (size_t)n);
    struct store_parsed q;
    char err[300];
    int rc = store_entry_parse(exact, (size_t)n, 0, &q, err, sizeof err);
    free(exact);
    if (rc != 0) {
        fprintf(stderr, "canonical \"%s\" refused: %s\n", buf, err);
        FZ_FAIL("a canonical entry does not parse");
    }
    if (strcmp(q.text, p->text) != 0 || q.family != p->family || q.excluded != p->excluded ||
        (p->family != STORE_FAM_DNS && q.prefix != p->prefix) ||
        (p->family == STORE_FAM_DNS && q.match != p->match)) {
        fprintf(stderr, "\"%s\" re-parsed as \"%s\"\n", p->text, q.text);
        FZ_FAIL("canonical form is not stable");
    }
}

static void one_line(const char *line, size_t len)
{
    char *exact = malloc(len ? len : 1);
    if (!exact)
        FZ_FAIL("out of memory");
    memcpy(exact, line, len);
    char err[300];
    for (int k = 0; k <= STORE_COMBINED; k++) {
        struct store_parsed p;
        err[0] = '\0';
        if (store_entry_parse(exact, len, (enum store_kind)k, &p, err, sizeof err) == 0)
            check_canonical(&p, (enum store_kind)k);
        else if (!err[0])
            FZ_FAIL("entry refused without a reason");
    }
    uint32_t code;
    err[0] = '\0';
    if (store_code_parse(exact, len, &code, err, sizeof err) == 0) {
        if (store_code_check(code, err, sizeof err) != 0)
            FZ_FAIL("a parsed code fails the check");
    } else if (!err[0]) {
        FZ_FAIL("code refused without a reason");
    }
    free(exact);
    /* the C-string checks */
    char *z = malloc(len + 1);
    if (!z)
        FZ_FAIL("out of memory");
    memcpy(z, line, len);
    z[len] = '\0';
    err[0] = '\0';
    if (store_txt_check(z, err, sizeof err) != 0 && !err[0])
        FZ_FAIL("TXT refused without a reason");
    err[0] = '\0';
    if (store_list_name_check(z, err, sizeof err) != 0 && !err[0])
        FZ_FAIL("list name refused without a reason");
    free(z);
}

static int check_record(void *ctx, const struct store_import_rec *r)
{
    (void)ctx;
    check_canonical(&r->p, 0);
    char err[300];
    if (r->has_code && !r->p.excluded && store_code_check(r->code, err, sizeof err) != 0) {
        fprintf(stderr, "code %08x: %s\n", r->code, err);
        FZ_FAIL("import emitted a bad code");
    }
    if (r->txt && store_txt_check(r->txt, err, sizeof err) != 0) {
        fprintf(stderr, "txt \"%s\": %s\n", r->txt, err);
        FZ_FAIL("import emitted a bad TXT");
    }
    if (r->expires < 0)
        FZ_FAIL("negative expiry");
    return 0;
}

static void import_as(const char *type, const char *subzone, const uint8_t *data, size_t size)
{
    char err[400];
    struct store_import *im = store_import_new(type, subzone, 1700000000, err, sizeof err);
    if (!im) {
        if (strcmp(type, "acl") != 0)
            FZ_FAIL("store_import_new refused a type it knows");
        return;
    }
    if (strcmp(type, "acl") == 0)
        FZ_FAIL("acl was not refused");
    size_t start = 0;
    int files = 0;
    while (start <= size) {
        const uint8_t *nl = memchr(data + start, '\n', size - start);
        size_t len = nl ? (size_t)(nl - (data + start)) : size - start;
        /* a form feed starts a new file (defaults reset) */
        if (len == 1 && data[start] == '\f' && files++ < 4) {
            store_import_next_file(im);
        } else {
            char *line = malloc(len ? len : 1);
            if (!line)
                FZ_FAIL("out of memory");
            memcpy(line, data + start, len);
            err[0] = '\0';
            int rc = store_import_line(im, line, len, check_record, NULL, err, sizeof err);
            free(line);
            if (rc == STORE_EINVAL && !err[0])
                FZ_FAIL("import refused a line without a reason");
            if (rc != 0 && rc != STORE_EINVAL)
                FZ_FAIL("unexpected import result");
        }
        if (!nl)
            break;
        start += len + 1;
    }
    struct store_import_stats st;
    store_import_stats(im, &st);
    store_import_free(im);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    size_t start = 0;
    int lines = 0;
    while (start <= size && lines++ < 64) {
        const uint8_t *nl = memchr(data + start, '\n', size - start);
        size_t len = nl ? (size_t)(nl - (data + start)) : size - start;
        if (len <= 600)
            one_line((const char *)data + start, len);
        if (!nl)
            break;
        start += len + 1;
    }
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++)
        import_as(types[t], NULL, data, size);
    import_as("combined", "@", data, size);
    import_as("combined", "sub", data, size);
    return 0;
}
