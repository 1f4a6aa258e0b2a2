/*
 * entry.c: parsing and canonical forms of list entries, A codes, TXT
 * templates and names (entry.h). Pure functions on bounded input: nothing
 * here allocates, touches SQL or reads past `len`.
 */
#include "entry.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/util.h"

static int fail(char *err, size_t errcap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errcap, const char *fmt, ...)
{
    if (err && errcap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errcap, fmt, ap);
        va_end(ap);
    }
    return STORE_EINVAL;
}

/* Untrusted text quoted in a message: printable ASCII only, at most 60 bytes
 * (the rest as "..."), so that a message is one clean line. */
static const char *quote(const char *s, size_t len, char out[72])
{
    size_t n = 0;
    for (size_t i = 0; i < len && n < 60; i++) {
        unsigned char c = (unsigned char)s[i];
        out[n++] = c >= ' ' && c < 127 ? (char)c : '?';
    }
    if (len > 60)
        memcpy(out + n, "...", 3), n += 3;
    out[n] = '\0';
    return out;
}

bool store_kind_holds(enum store_kind kind, enum store_family fam)
{
    switch (kind) {
    case STORE_IP4: return fam == STORE_FAM_IP4;
    case STORE_IP6: return fam == STORE_FAM_IP6;
    case STORE_DNS: return fam == STORE_FAM_DNS;
    case STORE_COMBINED: return fam >= STORE_FAM_IP4 && fam <= STORE_FAM_DNS;
    }
    return false;
}

static const char *const kind_names[] = {NULL, "ip4", "ip6", "dns", "combined"};

const char *store_kind_name(enum store_kind kind)
{
    return kind >= STORE_IP4 && kind <= STORE_COMBINED ? kind_names[kind] : NULL;
}

int store_kind_parse(const char *s, enum store_kind *out)
{
    for (int k = STORE_IP4; k <= STORE_COMBINED; k++)
        if (strcmp(s, kind_names[k]) == 0) {
            *out = (enum store_kind)k;
            return 0;
        }
    return STORE_EINVAL;
}

static const char *family_what(enum store_family f)
{
    return f == STORE_FAM_IP4 ? "an IPv4 entry" : f == STORE_FAM_IP6 ? "an IPv6 entry" : "a domain";
}

static const char *kind_what(enum store_kind k)
{
    switch (k) {
    case STORE_IP4: return "IPv4 entries";
    case STORE_IP6: return "IPv6 entries";
    case STORE_DNS: return "domains";
    default: return "IPv4, IPv6 and domain entries";
    }
}

/* ---- IP addresses ---- */

void store_entry_from_ip(enum store_family fam, const uint8_t *addr, int prefix, struct store_parsed *out)
{
    out->family = fam;
    out->prefix = prefix;
    out->match = STORE_DN_EXACT;
    memset(out->addr, 0, sizeof out->addr);
    memcpy(out->addr, addr, fam == STORE_FAM_IP4 ? 4 : 16);
    char a[INET6_ADDRSTRLEN];
    inet_ntop(fam == STORE_FAM_IP4 ? AF_INET : AF_INET6, out->addr, a, sizeof a);
    int full = fam == STORE_FAM_IP4 ? 32 : 128;
    int n = prefix == full ? snprintf(out->text, sizeof out->text, "%s", a)
                           : snprintf(out->text, sizeof out->text, "%s/%d", a, prefix);
    out->len = (size_t)n;
}

/* Are the bits after `prefix` of addr[0..bytes) all zero? */
static bool host_part_zero(const uint8_t *addr, int bytes, int prefix)
{
    for (int i = 0; i < bytes; i++) {
        int keep = prefix - 8 * i; /* bits of this byte inside the prefix */
        uint8_t mask = keep >= 8 ? 0xff : keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep));
        if (addr[i] & (uint8_t)~mask)
            return false;
    }
    return true;
}

static void clear_host_part(uint8_t *addr, int bytes, int prefix)
{
    for (int i = 0; i < bytes; i++) {
        int keep = prefix - 8 * i;
        uint8_t mask = keep >= 8 ? 0xff : keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep));
        addr[i] &= mask;
    }
}

/* A strict dotted quad: four decimal octets 0-255, no leading zeros. */
static bool parse_ip4_strict(const char *s, size_t len, uint8_t out[4])
{
    size_t i = 0;
    for (int o = 0; o < 4; o++) {
        if (o > 0) {
            if (i >= len || s[i] != '.')
                return false;
            i++;
        }
        size_t start = i;
        unsigned v = 0;
        while (i < len && s[i] >= '0' && s[i] <= '9' && i - start < 3)
            v = v * 10 + (unsigned)(s[i++] - '0');
        size_t digits = i - start;
        if (digits == 0 || v > 255 || (digits > 1 && s[start] == '0'))
            return false;
        out[o] = (uint8_t)v;
    }
    return i == len;
}

/* "/len": decimal, no sign or leading zeros, at most max. */
static bool parse_prefix_len(const char *s, size_t len, int max, int *out)
{
    uint64_t v;
    if (len == 0 || len > 3 || (len > 1 && s[0] == '0') || util_parse_uint(s, len, (uint64_t)max, &v) < 0)
        return false;
    *out = (int)v;
    return true;
}

static int parse_ip(const char *s, size_t len, enum store_family fam, struct store_parsed *out,
                    char *err, size_t errcap)
{
    char q[72];
    const char *slash = memchr(s, '/', len);
    size_t alen = slash ? (size_t)(slash - s) : len;
    int full = fam == STORE_FAM_IP4 ? 32 : 128;
    int prefix = full;
    uint8_t addr[16] = {0};
    if (fam == STORE_FAM_IP4) {
        if (!parse_ip4_strict(s, alen, addr))
            return fail(err, errcap, "malformed IPv4 address \"%s\"", quote(s, alen, q));
    } else {
        char buf[INET6_ADDRSTRLEN + 8];
        if (alen >= sizeof buf)
            return fail(err, errcap, "malformed IPv6 address \"%s\"", quote(s, alen, q));
        memcpy(buf, s, alen);
        buf[alen] = '\0';
        if (inet_pton(AF_INET6, buf, addr) != 1)
            return fail(err, errcap, "malformed IPv6 address \"%s\"", quote(s, alen, q));
    }
    if (slash && !parse_prefix_len(slash + 1, len - alen - 1, full, &prefix))
        return fail(err, errcap, "malformed prefix length in \"%s\" (0-%d)", quote(s, len, q), full);
    if (!host_part_zero(addr, full / 8, prefix)) {
        struct store_parsed net;
        clear_host_part(addr, full / 8, prefix);
        store_entry_from_ip(fam, addr, prefix, &net);
        return fail(err, errcap, "host part set in %s (the network is %s)", quote(s, len, q), net.text);
    }
    store_entry_from_ip(fam, addr, prefix, out);
    return 0;
}

/* ---- domain names ---- */

static bool label_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

int store_domain_parse(const char *text, size_t len, char *out, size_t outcap, char *err, size_t errcap)
{
    char q[72];
    if (len > 0 && text[len - 1] == '.')
        len--; /* one trailing dot: the name is absolute anyway */
    if (len == 0)
        return fail(err, errcap, "empty domain name");
    if (len > 253)
        return fail(err, errcap, "domain name longer than 253 bytes: \"%s\"", quote(text, len, q));
    if (len + 1 > outcap)
        return fail(err, errcap, "domain name too long");
    size_t label = 0;
    bool digits_only = true;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == '.') {
            if (label == 0)
                return fail(err, errcap, "empty label in domain name \"%s\"", quote(text, len, q));
            label = 0;
            digits_only = true;
            out[i] = '.';
            continue;
        }
        if (!label_byte(c)) {
            if (c >= 0x80)
                return fail(err, errcap,
                            "unsafe domain name \"%s\": non-ASCII byte (write an IDN in its xn-- form)",
                            quote(text, len, q));
            return fail(err, errcap,
                        "unsafe domain name \"%s\": byte '%c' is not a letter, digit, '-' or '_'",
                        quote(text, len, q), c >= ' ' && c < 127 ? c : '?');
        }
        if (++label > 63)
            return fail(err, errcap, "label longer than 63 bytes in \"%s\"", quote(text, len, q));
        if (c < '0' || c > '9')
            digits_only = false;
        out[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    if (label == 0)
        return fail(err, errcap, "empty label in domain name \"%s\"", quote(text, len, q));
    if (digits_only)
        return fail(err, errcap, "\"%s\" is not a domain name (its last label is a number)",
                    quote(text, len, q));
    out[len] = '\0';
    return 0;
}

/* ---- entries ---- */

/* Does the text look like an address of that family (to explain a refusal)? */
static enum store_family guess_family(const char *s, size_t len)
{
    if (memchr(s, ':', len))
        return STORE_FAM_IP6;
    size_t i = 0;
    while (i < len && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '/'))
        i++;
    return i == len ? STORE_FAM_IP4 : STORE_FAM_DNS;
}

int store_entry_parse(const char *text, size_t len, enum store_kind kind, struct store_parsed *out,
                      char *err, size_t errcap)
{
    char q[72];
    memset(out, 0, sizeof *out);
    if (len == 0)
        return fail(err, errcap, "empty entry");
    if (len >= STORE_ENTRY_MAX + 8)
        return fail(err, errcap, "entry longer than %d bytes: \"%s\"", STORE_ENTRY_MAX, quote(text, len, q));
    const char *s = text;
    if (s[0] == '!') {
        out->excluded = true;
        s++;
        len--;
        if (len == 0)
            return fail(err, errcap, "empty exclusion \"!\"");
    }
    enum store_family fam = guess_family(s, len);
    int rc;
    if (fam == STORE_FAM_DNS) {
        size_t skip = 0;
        out->match = STORE_DN_EXACT;
        if (len >= 2 && s[0] == '*' && s[1] == '.') {
            out->match = STORE_DN_BELOW;
            skip = 2;
        } else if (s[0] == '.') {
            out->match = STORE_DN_BOTH;
            skip = 1;
        }
        memcpy(out->text, s, skip);
        rc = store_domain_parse(s + skip, len - skip, out->text + skip, sizeof out->text - skip, err, errcap);
        if (rc == 0) {
            out->family = STORE_FAM_DNS;
            out->len = strlen(out->text);
        }
    } else {
        rc = parse_ip(s, len, fam, out, err, errcap);
    }
    if (rc < 0)
        return rc;
    if (kind && !store_kind_holds(kind, out->family))
        return fail(err, errcap, "%s is %s; this list holds %s", out->text, family_what(out->family),
                    kind_what(kind));
    return 0;
}

/* ---- codes, templates, names ---- */

int store_code_check(uint32_t code, char *err, size_t errcap)
{
    char c[16];
    store_code_format(code, c);
    if (code >> 24 != 127)
        return fail(err, errcap, "A value %s is outside 127.0.0.0/8 (RFC 5782 codes are 127.0.0.x)", c);
    if (code == 0x7f000000 || code == 0x7f000001)
        return fail(err, errcap, "A value %s cannot be a listing's code (127.0.0.1 means \"not listed\"; "
                                 "codes start at 127.0.0.2)", c);
    return 0;
}

int store_code_parse(const char *s, size_t len, uint32_t *out, char *err, size_t errcap)
{
    char q[72];
    uint32_t oct[4];
    int n = 0;
    size_t i = 0;
    while (i <= len) {
        size_t j = i;
        while (j < len && s[j] != '.')
            j++;
        uint64_t v;
        if (n == 4 || util_parse_uint(s + i, j - i, 255, &v) < 0)
            return fail(err, errcap, "malformed A value \"%s\" (like 127.0.0.2, or 2)", quote(s, len, q));
        oct[n++] = (uint32_t)v;
        if (j == len)
            break;
        i = j + 1;
    }
    /* as rbldnsd: the octets given replace the last ones of 127.0.0.0 */
    uint32_t a = 0x7f000000;
    for (int k = 0; k < n; k++) {
        int shift = 8 * (n - 1 - k);
        a = (a & ~(0xffu << shift)) | oct[k] << shift;
    }
    if (store_code_check(a, err, errcap) < 0)
        return STORE_EINVAL;
    *out = a;
    return 0;
}

void store_code_format(uint32_t code, char out[16])
{
    snprintf(out, 16, "%u.%u.%u.%u", code >> 24, (code >> 16) & 255, (code >> 8) & 255, code & 255);
}

int store_txt_check(const char *s, char *err, size_t errcap)
{
    size_t len = strlen(s);
    if (len > STORE_TXT_MAX)
        return fail(err, errcap, "TXT longer than %d bytes", STORE_TXT_MAX);
    if (len && (s[0] == ' ' || s[0] == '\t' || s[len - 1] == ' ' || s[len - 1] == '\t'))
        return fail(err, errcap, "TXT with a leading or trailing blank (rbldnsd files drop them)");
    if (s[0] == '=')
        return fail(err, errcap, "TXT starting with '=' (rbldnsd reads it as \"no base template\")");
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < ' ' && c != '\t') || c == 127)
            return fail(err, errcap, "TXT with a control byte (0x%02x)", c);
    }
    return 0;
}

int store_list_name_check(const char *s, char *err, size_t errcap)
{
    char q[72];
    size_t len = strlen(s);
    if (len == 0 || len > STORE_NAME_MAX)
        return fail(err, errcap, "a list name has 1-%d bytes", STORE_NAME_MAX);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-')))
            return fail(err, errcap,
                        "unsafe list name \"%s\": letters, digits, '.', '_' and '-', starting with a "
                        "letter or digit", quote(s, len, q));
    }
    return 0;
}

int store_text_check(const char *what, const char *s, char *err, size_t errcap)
{
    size_t len = strlen(s);
    if (len > STORE_TEXT_MAX)
        return fail(err, errcap, "%s longer than %d bytes", what, STORE_TEXT_MAX);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < ' ' && c != '\t') || c == 127)
            return fail(err, errcap, "%s with a control byte (0x%02x)", what, c);
    }
    return 0;
}
