/*
 * fuzz_control: libFuzzer harness for the parsers that face the operator's
 * side: the metrics port's HTTP request router and the control socket's
 * command parser (src/dns/control.c), and the JSON reader the `rampart`
 * command applies to a server's reply (src/common/json.c).
 *
 * Every input goes to all three, each from a buffer of its exact size:
 *  - dns_control_http_route(): returns 0 only while the head has no empty
 *    line, otherwise one of the documented statuses; 200 only for GET
 *    /metrics over HTTP/1.0 or 1.1.
 *  - dns_control_parse_command(), with and without end of input: INCOMPLETE
 *    only without a newline and before the end; a known command only when
 *    the line holds exactly its word.
 *  - json_parse(): the document is walked completely (every string's length
 *    matches its NUL, every member has a key, depth within the limit); and
 *    the input written as a JSON string by json_string() must parse back to
 *    the same bytes when it is valid UTF-8.
 */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/strbuf.h"
#include "dns/control.h"
#include "fuzz_common.h"

static void check_http(const char *buf, size_t len)
{
    int minor = -1;
    int st = dns_control_http_route(buf, len, &minor);
    bool head = memmem(buf, len, "\r\n\r\n", 4) || memmem(buf, len, "\n\n", 2);
    if ((st == 0) == head)
        FZ_FAIL("http route %d with%s an empty line", st, head ? "" : "out");
    if (st != 0 && st != 200 && st != 400 && st != 404 && st != 405 && st != 505)
        FZ_FAIL("http route returned %d", st);
    if (st == 200 && (len < 22 || memcmp(buf, "GET /metrics", 12) != 0 || (minor != 0 && minor != 1)))
        FZ_FAIL("200 for a request that is not GET /metrics HTTP/1.x");
}

static void check_command(const char *buf, size_t len, bool eof)
{
    enum dns_control_cmd c = dns_control_parse_command(buf, len, eof);
    if (c == DNS_CMD_INCOMPLETE && (eof || memchr(buf, '\n', len)))
        FZ_FAIL("incomplete with a newline or at the end of input");
    static const char *const words[] = {"", "stats", "zones", "reload", "version"};
    if (c >= DNS_CMD_STATS && c <= DNS_CMD_VERSION) {
        const char *w = words[c];
        if (!memmem(buf, len, w, strlen(w)))
            FZ_FAIL("command %d without its word", c);
        for (size_t i = 0; i < len; i++)
            if ((unsigned char)buf[i] < 0x20 && buf[i] != '\n' && buf[i] != '\r' && buf[i] != '\t')
                FZ_FAIL("command %d accepted with a control byte", c);
    }
}

static int walk(const struct json_value *v, int depth)
{
    int n = 1;
    if (depth > JSON_MAX_DEPTH + 1)
        FZ_FAIL("json deeper than the limit");
    if (v->type == JSON_STRING && (!v->str || v->str[v->len] != '\0'))
        FZ_FAIL("json string without its NUL");
    if (v->type == JSON_NUMBER && (!v->str || strlen(v->str) != v->len))
        FZ_FAIL("json number text broken");
    for (const struct json_value *c = v->child; c; c = c->next) {
        if ((v->type == JSON_OBJECT) != (c->key != NULL))
            FZ_FAIL("json member key mismatch");
        n += walk(c, depth + 1);
    }
    return n;
}

/* Is buf valid UTF-8 (the writer passes it through unchanged)? */
static bool utf8_valid(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        size_t l = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
        if (!l || i + l > n)
            return false;
        unsigned char lo = 0x80, hi = 0xbf;
        if (c == 0xe0) lo = 0xa0;
        if (c == 0xed) hi = 0x9f;
        if (c == 0xf0) lo = 0x90;
        if (c == 0xf4) hi = 0x8f;
        if (l > 1 && (s[i + 1] < lo || s[i + 1] > hi))
            return false;
        for (size_t k = 2; k < l; k++)
            if (s[i + k] < 0x80 || s[i + k] > 0xbf)
                return false;
        i += l;
    }
    return true;
}

static void check_json(const char *buf, size_t len)
{
    char err[128];
    struct json_doc *d = json_parse(buf, len, err, sizeof err);
    if (d) {
        walk(json_root(d), 0);
        json_free(d);
    } else if (strncmp(err, "offset ", 7) != 0) {
        FZ_FAIL("json error without an offset: %s", err);
    }
    struct strbuf b = {0};
    json_string(&b, buf, len);
    d = json_parse(b.data, b.len, err, sizeof err);
    if (!d)
        FZ_FAIL("json_string output does not parse: %s", err);
    const struct json_value *v = json_root(d);
    if (v->type != JSON_STRING)
        FZ_FAIL("json_string output is not a string");
    if (utf8_valid((const unsigned char *)buf, len) && (v->len != len || memcmp(v->str, buf, len) != 0))
        FZ_FAIL("json string round trip changed valid UTF-8");
    json_free(d);
    strbuf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 1 << 16)
        return 0;
    char *buf = malloc(size ? size : 1); /* exact size: ASan sees any overread */
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    check_http(buf, size);
    check_command(buf, size, false);
    check_command(buf, size, true);
    check_json(buf, size);
    free(buf);
    return 0;
}
