/*
 * tsig.c: RFC 8945 transaction signatures with HMAC-SHA256 (tsig.h).
 *
 * The MAC is never computed over a copy of the message: the pieces RFC 8945
 * section 4.3 lists (the prior MAC, the message with its TSIG record taken
 * out, its ARCOUNT one less and its original ID, then the TSIG variables) are
 * fed to one HMAC in turn.
 */
#include "tsig.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t hmac_sha256_name[] = "\x0bhmac-sha256";   /* and the root byte */

/* ---- keys ---- */

int tsig_base64_decode(const char *in, size_t len, uint8_t *out, size_t cap)
{
    while (len > 0 && in[len - 1] == '=')
        len--;
    uint32_t acc = 0;
    int bits = 0;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        char c = in[i];
        int v;
        if (c >= 'A' && c <= 'Z')
            v = c - 'A';
        else if (c >= 'a' && c <= 'z')
            v = c - 'a' + 26;
        else if (c >= '0' && c <= '9')
            v = c - '0' + 52;
        else if (c == '+')
            v = 62;
        else if (c == '/')
            v = 63;
        else
            return -1;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n >= cap)
                return -1;
            out[n++] = (uint8_t)(acc >> bits);
        }
    }
    if (bits >= 6)
        return -1; /* a lone character: not base64 */
    return (int)n;
}

int tsig_key_parse(const char *spec, struct tsig_key *out, char *err, size_t errcap)
{
    memset(out, 0, sizeof *out);
    const char *c1 = strchr(spec, ':');
    const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c1 || !c2) {
        snprintf(err, errcap, "expected NAME:hmac-sha256:BASE64");
        return -1;
    }
    if (dns_name_from_text(spec, (size_t)(c1 - spec), out->name) <= 1) {
        snprintf(err, errcap, "invalid key name");
        return -1;
    }
    dns_name_to_text(out->name, out->text, sizeof out->text);
    size_t al = (size_t)(c2 - c1 - 1);
    if (!(al == 11 && strncasecmp(c1 + 1, "hmac-sha256", 11) == 0)) {
        snprintf(err, errcap, "algorithm must be hmac-sha256");
        return -1;
    }
    const char *b64 = c2 + 1;
    size_t bl = strlen(b64);
    while (bl > 0 && isspace((unsigned char)b64[bl - 1]))
        bl--;
    int n = tsig_base64_decode(b64, bl, out->secret, sizeof out->secret);
    if (n <= 0) {
        snprintf(err, errcap, "secret is not base64 of 1..%d bytes", TSIG_SECRET_MAX);
        return -1;
    }
    out->secret_len = (size_t)n;
    return 0;
}

int tsig_keys_add(struct tsig_keys *ks, const struct tsig_key *k)
{
    for (int i = 0; i < ks->n; i++)
        if (strcmp((const char *)ks->key[i].name, (const char *)k->name) == 0) {
            ks->key[i] = *k;
            return 0;
        }
    struct tsig_key *v = realloc(ks->key, (size_t)(ks->n + 1) * sizeof *v);
    if (!v)
        return -1;
    ks->key = v;
    ks->key[ks->n++] = *k;
    return 0;
}

int tsig_keys_load(struct tsig_keys *ks, const char *path, char *err, size_t errcap)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errcap, "%s: %s", path, strerror(errno));
        return -1;
    }
    char line[1024];
    int count = 0;
    unsigned long ln = 0;
    while (fgets(line, sizeof line, f)) {
        ln++;
        char *s = line;
        while (isspace((unsigned char)*s))
            s++;
        size_t l = strlen(s);
        while (l > 0 && isspace((unsigned char)s[l - 1]))
            s[--l] = '\0';
        if (!*s || *s == '#')
            continue;
        struct tsig_key k;
        char why[128];
        if (tsig_key_parse(s, &k, why, sizeof why) < 0) {
            snprintf(err, errcap, "%s:%lu: %s", path, ln, why);
            fclose(f);
            return -1;
        }
        if (tsig_keys_add(ks, &k) < 0) {
            snprintf(err, errcap, "out of memory");
            fclose(f);
            return -1;
        }
        OPENSSL_cleanse(&k, sizeof k);
        count++;
    }
    OPENSSL_cleanse(line, sizeof line);
    fclose(f);
    return count;
}

const struct tsig_key *tsig_keys_find(const struct tsig_keys *ks, const uint8_t *name)
{
    size_t nl = (size_t)dns_name_len(name);
    for (int i = 0; ks && i < ks->n; i++)
        if ((size_t)dns_name_len(ks->key[i].name) == nl && memcmp(ks->key[i].name, name, nl) == 0)
            return &ks->key[i];
    return NULL;
}

void tsig_keys_free(struct tsig_keys *ks)
{
    if (ks->key)
        OPENSSL_cleanse(ks->key, (size_t)ks->n * sizeof *ks->key);
    free(ks->key);
    ks->key = NULL;
    ks->n = 0;
}

/* ---- parsing ---- */

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

/* Read the (possibly compressed) name at *pos into out, lowercased; advance
 * *pos past it. Pointers must go backwards; at most 16 of them. */
static int read_name(const uint8_t *m, size_t len, size_t *pos, uint8_t out[DNS_MAX_NAME + 1])
{
    size_t p = *pos, n = 0;
    bool jumped = false;
    for (int hops = 0;;) {
        if (p >= len)
            return -1;
        uint8_t l = m[p];
        if (l == 0) {
            out[n] = 0;
            if (!jumped)
                *pos = p + 1;
            return 0;
        }
        if ((l & 0xc0) == 0xc0) {
            if (p + 1 >= len || ++hops > 16)
                return -1;
            size_t target = (size_t)(l & 0x3f) << 8 | m[p + 1];
            if (target >= p)
                return -1;
            if (!jumped)
                *pos = p + 2;
            jumped = true;
            p = target;
            continue;
        }
        if (l > 63 || p + 1 + l > len || n + 1 + l + 1 > DNS_MAX_NAME)
            return -1;
        out[n++] = l;
        for (unsigned i = 1; i <= l; i++) {
            uint8_t c = m[p + i];
            out[n++] = (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
        }
        p += 1 + (size_t)l;
    }
}

int tsig_find(const uint8_t *m, size_t len, struct tsig_rr *rr)
{
    if (len < DNS_HEADER_SIZE)
        return -1;
    unsigned qd = get16(m + 4), an = get16(m + 6), ns = get16(m + 8), ar = get16(m + 10);
    size_t pos = DNS_HEADER_SIZE;
    uint8_t name[DNS_MAX_NAME + 1];
    for (unsigned i = 0; i < qd; i++) {
        if (read_name(m, len, &pos, name) < 0 || len - pos < 4)
            return -1;
        pos += 4;
    }
    unsigned total = an + ns + ar;
    int found = 0;
    for (unsigned i = 0; i < total; i++) {
        size_t start = pos;
        if (read_name(m, len, &pos, name) < 0 || len - pos < 10)
            return -1;
        uint16_t type = get16(m + pos), cls = get16(m + pos + 2);
        size_t rdlen = get16(m + pos + 8);
        pos += 10;
        if (len - pos < rdlen)
            return -1;
        if (type == DNS_T_TSIG) {
            /* RFC 8945 4.2 and 5.1: class ANY, TTL 0, the last additional record */
            if (i != total - 1 || i < an + ns || cls != DNS_C_ANY || get16(m + pos - 6) ||
                get16(m + pos - 4))
                return -1;
            size_t end = pos + rdlen, p = pos;
            memcpy(rr->name, name, sizeof rr->name);
            rr->at = start;
            if (read_name(m, end, &p, rr->alg) < 0 || end - p < 10)
                return -1;
            rr->time_signed = (uint64_t)get16(m + p) << 32 | (uint64_t)get16(m + p + 2) << 16 |
                              get16(m + p + 4);
            rr->fudge = get16(m + p + 6);
            rr->mac_len = get16(m + p + 8);
            p += 10;
            if (end - p < (size_t)rr->mac_len + 6)
                return -1;
            rr->mac = m + p;
            p += rr->mac_len;
            rr->orig_id = get16(m + p);
            rr->error = get16(m + p + 2);
            rr->other_len = get16(m + p + 4);
            p += 6;
            if (end - p != rr->other_len)
                return -1;
            rr->other = m + p;
            found = 1;
        }
        pos += rdlen;
    }
    if (pos != len)
        return -1;
    return found;
}

/* ---- HMAC ---- */

static EVP_MAC *hmac_alg;
static pthread_once_t hmac_once = PTHREAD_ONCE_INIT;

static void hmac_fetch(void)
{
    hmac_alg = EVP_MAC_fetch(NULL, "HMAC", NULL);
}

static EVP_MAC_CTX *hmac_begin(const struct tsig_key *key)
{
    pthread_once(&hmac_once, hmac_fetch);
    if (!hmac_alg)
        return NULL;
    EVP_MAC_CTX *c = EVP_MAC_CTX_new(hmac_alg);
    if (!c)
        return NULL;
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                           OSSL_PARAM_construct_end()};
    if (!EVP_MAC_init(c, key->secret, key->secret_len, params)) {
        EVP_MAC_CTX_free(c);
        return NULL;
    }
    return c;
}

static void hmac_add(EVP_MAC_CTX *c, const void *p, size_t n)
{
    EVP_MAC_update(c, p, n);
}

static int hmac_end(EVP_MAC_CTX *c, uint8_t out[TSIG_MAC_SIZE])
{
    size_t n = 0;
    int ok = EVP_MAC_final(c, out, &n, TSIG_MAC_SIZE);
    EVP_MAC_CTX_free(c);
    return ok && n == TSIG_MAC_SIZE ? 0 : -1;
}

/* The message as it was before its TSIG record was added: ARCOUNT one less,
 * the ID the signer gave it. msg_len stops at the TSIG record. */
static void hmac_message(EVP_MAC_CTX *c, const uint8_t *m, size_t msg_len, uint16_t orig_id,
                         bool had_tsig)
{
    uint8_t head[DNS_HEADER_SIZE];
    memcpy(head, m, DNS_HEADER_SIZE);
    head[0] = (uint8_t)(orig_id >> 8);
    head[1] = (uint8_t)orig_id;
    if (had_tsig) {
        uint16_t ar = (uint16_t)(get16(m + 10) - 1);
        head[10] = (uint8_t)(ar >> 8);
        head[11] = (uint8_t)ar;
    }
    hmac_add(c, head, sizeof head);
    hmac_add(c, m + DNS_HEADER_SIZE, msg_len - DNS_HEADER_SIZE);
}

static void put48(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 6; i++)
        p[i] = (uint8_t)(v >> (40 - 8 * i));
}

/* The TSIG variables (RFC 8945 4.3.3), or the timers alone (4.3.1). */
static void hmac_variables(EVP_MAC_CTX *c, const uint8_t *keyname, const uint8_t *alg,
                           uint64_t time_signed, uint16_t fudge, uint16_t error,
                           const uint8_t *other, uint16_t other_len, bool timers_only)
{
    uint8_t t[16];
    if (!timers_only) {
        hmac_add(c, keyname, (size_t)dns_name_len(keyname));
        static const uint8_t class_ttl[6] = {0, DNS_C_ANY, 0, 0, 0, 0};
        hmac_add(c, class_ttl, sizeof class_ttl);
        hmac_add(c, alg, (size_t)dns_name_len(alg));
    }
    put48(t, time_signed);
    t[6] = (uint8_t)(fudge >> 8);
    t[7] = (uint8_t)fudge;
    hmac_add(c, t, 8);
    if (timers_only)
        return;
    t[0] = (uint8_t)(error >> 8);
    t[1] = (uint8_t)error;
    t[2] = (uint8_t)(other_len >> 8);
    t[3] = (uint8_t)other_len;
    hmac_add(c, t, 4);
    if (other_len)
        hmac_add(c, other, other_len);
}

static void hmac_prior(EVP_MAC_CTX *c, const uint8_t *mac, uint16_t mac_len)
{
    uint8_t l[2] = {(uint8_t)(mac_len >> 8), (uint8_t)mac_len};
    hmac_add(c, l, 2);
    hmac_add(c, mac, mac_len);
}

/* ---- requests and responses ---- */

int tsig_verify_request(const struct tsig_keys *ks, const uint8_t *msg, size_t len,
                        const struct tsig_rr *rr, uint64_t now, struct tsig_ctx *ctx)
{
    (void)len;
    memset(ctx, 0, sizeof *ctx);
    ctx->time_signed = rr->time_signed;
    const struct tsig_key *key = tsig_keys_find(ks, rr->name);
    if (!key || memcmp(rr->alg, hmac_sha256_name, sizeof hmac_sha256_name) != 0) {
        ctx->error = TSIG_BADKEY;
        return TSIG_BADKEY;
    }
    /* RFC 8945 5.2.2.1: longer than the hash, or shorter than half of it
     * (and than 10 bytes), is malformed */
    if (rr->mac_len > TSIG_MAC_SIZE || rr->mac_len < TSIG_MAC_SIZE / 2)
        return -1;
    EVP_MAC_CTX *c = hmac_begin(key);
    uint8_t mac[TSIG_MAC_SIZE];
    if (!c)
        return -1;
    hmac_message(c, msg, rr->at, rr->orig_id, true);
    hmac_variables(c, rr->name, rr->alg, rr->time_signed, rr->fudge, rr->error, rr->other,
                   rr->other_len, false);
    if (hmac_end(c, mac) < 0)
        return -1;
    if (CRYPTO_memcmp(mac, rr->mac, rr->mac_len) != 0) {
        ctx->error = TSIG_BADSIG;
        return TSIG_BADSIG;
    }
    /* the MAC is good: from here on, error answers are signed */
    ctx->key = key;
    memcpy(ctx->mac, rr->mac, rr->mac_len);
    ctx->mac_len = rr->mac_len;
    uint64_t lo = rr->time_signed > rr->fudge ? rr->time_signed - rr->fudge : 0;
    if (now < lo || now > rr->time_signed + rr->fudge) {
        ctx->error = TSIG_BADTIME;
        return TSIG_BADTIME;
    }
    if (rr->mac_len < TSIG_MAC_SIZE) {
        ctx->error = TSIG_BADTRUNC; /* our policy: whole MACs only */
        return TSIG_BADTRUNC;
    }
    return 0;
}

/* Write a TSIG record at msg[len..cap): key name, ANY, TTL 0, rdata. */
static size_t put_tsig(uint8_t *msg, size_t len, size_t cap, const uint8_t *keyname,
                       const uint8_t *alg, uint64_t time_signed, uint16_t fudge, const uint8_t *mac,
                       uint16_t mac_len, uint16_t orig_id, uint16_t error, const uint8_t *other,
                       uint16_t other_len)
{
    struct wbuf w = wbuf_make(msg, cap);
    w.len = len;
    wbuf_bytes(&w, keyname, (size_t)dns_name_len(keyname));
    wbuf_u16(&w, DNS_T_TSIG);
    wbuf_u16(&w, DNS_C_ANY);
    wbuf_u32(&w, 0);
    size_t rdlen_at = w.len;
    wbuf_u16(&w, 0);
    wbuf_bytes(&w, alg, (size_t)dns_name_len(alg));
    uint8_t t[6];
    put48(t, time_signed);
    wbuf_bytes(&w, t, 6);
    wbuf_u16(&w, fudge);
    wbuf_u16(&w, mac_len);
    if (mac_len) /* an unsigned error has no MAC (and memcpy from NULL is undefined) */
        wbuf_bytes(&w, mac, mac_len);
    wbuf_u16(&w, orig_id);
    wbuf_u16(&w, error);
    wbuf_u16(&w, other_len);
    if (other_len)
        wbuf_bytes(&w, other, other_len);
    wbuf_put_u16_at(&w, rdlen_at, (uint16_t)(w.len - rdlen_at - 2));
    if (w.err)
        return 0;
    uint16_t ar = (uint16_t)(get16(msg + 10) + 1);
    msg[10] = (uint8_t)(ar >> 8);
    msg[11] = (uint8_t)ar;
    return w.len;
}

size_t tsig_sign(struct tsig_ctx *ctx, uint8_t *msg, size_t len, size_t cap, uint64_t now)
{
    if (!ctx->key || len < DNS_HEADER_SIZE)
        return 0;
    bool request = ctx->mac_len == 0 && ctx->signed_count == 0;
    bool later = !request && ctx->signed_count > 0;
    uint64_t t = now;
    uint8_t other[6];
    uint16_t other_len = 0;
    if (ctx->error == TSIG_BADTIME) {
        /* the client's own time, so that it can check our MAC; ours in Other Data */
        t = ctx->time_signed;
        put48(other, now);
        other_len = 6;
    }
    EVP_MAC_CTX *c = hmac_begin(ctx->key);
    if (!c)
        return 0;
    if (!request)
        hmac_prior(c, ctx->mac, ctx->mac_len);
    uint16_t id = get16(msg);
    hmac_message(c, msg, len, id, false);
    hmac_variables(c, ctx->key->name, hmac_sha256_name, t, TSIG_FUDGE, ctx->error, other,
                   other_len, later);
    uint8_t mac[TSIG_MAC_SIZE];
    if (hmac_end(c, mac) < 0)
        return 0;
    size_t n = put_tsig(msg, len, cap, ctx->key->name, hmac_sha256_name, t, TSIG_FUDGE, mac,
                        TSIG_MAC_SIZE, id, ctx->error, other, other_len);
    if (!n)
        return 0;
    memcpy(ctx->mac, mac, TSIG_MAC_SIZE);
    ctx->mac_len = TSIG_MAC_SIZE;
    ctx->signed_count++;
    return n;
}

size_t tsig_append_error(const struct tsig_rr *req, uint16_t error, uint8_t *msg, size_t len,
                         size_t cap)
{
    if (len < DNS_HEADER_SIZE)
        return 0;
    return put_tsig(msg, len, cap, req->name, req->alg, req->time_signed, req->fudge, NULL, 0,
                    get16(msg), error, NULL, 0);
}

int tsig_verify_response(struct tsig_ctx *ctx, const uint8_t *msg, size_t len, uint64_t now)
{
    struct tsig_rr rr;
    if (!ctx->key || tsig_find(msg, len, &rr) != 1)
        return -1;
    if (rr.error)
        return rr.error; /* the peer refused our signature (BADKEY, BADSIG, BADTIME) */
    if (memcmp(rr.name, ctx->key->name, (size_t)dns_name_len(ctx->key->name)) != 0 ||
        memcmp(rr.alg, hmac_sha256_name, sizeof hmac_sha256_name) != 0)
        return TSIG_BADKEY;
    if (rr.mac_len > TSIG_MAC_SIZE || rr.mac_len < TSIG_MAC_SIZE / 2)
        return -1;
    EVP_MAC_CTX *c = hmac_begin(ctx->key);
    uint8_t mac[TSIG_MAC_SIZE];
    if (!c)
        return -1;
    hmac_prior(c, ctx->mac, ctx->mac_len);
    hmac_message(c, msg, rr.at, rr.orig_id, true);
    hmac_variables(c, rr.name, rr.alg, rr.time_signed, rr.fudge, rr.error, rr.other, rr.other_len,
                   false);
    if (hmac_end(c, mac) < 0)
        return -1;
    if (CRYPTO_memcmp(mac, rr.mac, rr.mac_len) != 0)
        return TSIG_BADSIG;
    uint64_t lo = rr.time_signed > rr.fudge ? rr.time_signed - rr.fudge : 0;
    if (now < lo || now > rr.time_signed + rr.fudge)
        return TSIG_BADTIME;
    memcpy(ctx->mac, rr.mac, rr.mac_len);
    ctx->mac_len = rr.mac_len;
    return 0;
}
