/*
 * tsig: transaction signatures (RFC 8945) with HMAC-SHA256, for zone
 * transfers and NOTIFY.
 *
 * A key is a name, an algorithm (hmac-sha256 only) and a shared secret. A
 * signed transaction keeps a struct tsig_ctx: the key and the MAC of the
 * message before, which every later MAC covers (a request's MAC is part of
 * its response's, and each message of a multi-message response covers the
 * one before it).
 *
 * Trust boundary: tsig_find() parses records from untrusted messages: it never
 * reads past the message, follows at most 16 compression pointers per name
 * (backwards only), and accepts a TSIG record only as the last record of the
 * additional section. MACs are compared in constant time. HMAC is OpenSSL's
 * (libcrypto's EVP_MAC); it allocates, so none of this runs on the UDP
 * answer path. Costs O(message length) per message.
 */
#ifndef RAMPART_DNS_TSIG_H
#define RAMPART_DNS_TSIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire.h"

enum {
    DNS_R_NOTAUTH = 9,
    /* TSIG errors (RFC 8945 section 3: in the TSIG record, with RCODE NOTAUTH) */
    TSIG_BADSIG = 16, TSIG_BADKEY = 17, TSIG_BADTIME = 18, TSIG_BADTRUNC = 22,
    TSIG_MAC_SIZE = 32,            /* HMAC-SHA256 */
    TSIG_FUDGE = 300,              /* seconds of clock difference we accept and claim */
    TSIG_SECRET_MAX = 128,
    TSIG_RR_MAX = DNS_MAX_NAME + 1 + 10 + 13 + 16 + TSIG_MAC_SIZE + 6, /* a record we write */
};

struct tsig_key {
    uint8_t name[DNS_MAX_NAME + 1];    /* lowercased wire */
    char text[DNS_MAX_NAME + 1];       /* for logs */
    uint8_t secret[TSIG_SECRET_MAX];
    size_t secret_len;
};

/// The configured keys (a handful: looked up by a scan).
struct tsig_keys {
    struct tsig_key *key;
    int n;
};

/// Parse "NAME:hmac-sha256:BASE64" into *out. Returns 0, or -1 with a reason in err.
int tsig_key_parse(const char *spec, struct tsig_key *out, char *err, size_t errcap);

/// Add a key (a copy); a second key of the same name replaces the first.
/// Returns 0, or -1 on OOM.
int tsig_keys_add(struct tsig_keys *ks, const struct tsig_key *k);

/// Read keys from a file: one "NAME:hmac-sha256:BASE64" per line, blank lines
/// and lines starting with '#' ignored. Returns the number read, or -1 with a
/// reason ("file:line: ...") in err.
int tsig_keys_load(struct tsig_keys *ks, const char *path, char *err, size_t errcap);

/// The key of that (lowercased wire) name, or NULL.
const struct tsig_key *tsig_keys_find(const struct tsig_keys *ks, const uint8_t *name);

void tsig_keys_free(struct tsig_keys *ks);

/// A TSIG record as found in a message.
struct tsig_rr {
    size_t at;                         /* where the record starts: the message without it */
    uint8_t name[DNS_MAX_NAME + 1];    /* key name, lowercased wire */
    uint8_t alg[DNS_MAX_NAME + 1];     /* algorithm name, lowercased wire */
    uint64_t time_signed;              /* 48 bits, seconds since the epoch */
    uint16_t fudge, mac_len, orig_id, error, other_len;
    const uint8_t *mac, *other;        /* into the message */
};

/// Find the TSIG record of a message (which must parse to its end). Returns
/// 1 and *rr when the last additional record is a TSIG, 0 when there is no
/// TSIG, -1 when the message is malformed or a TSIG is anywhere else (FORMERR).
int tsig_find(const uint8_t *msg, size_t len, struct tsig_rr *rr);

/// One signed transaction, on either side.
struct tsig_ctx {
    const struct tsig_key *key;        /* NULL: not signed */
    uint8_t mac[TSIG_MAC_SIZE];        /* the MAC of the message before */
    uint16_t mac_len;
    uint64_t time_signed;              /* the request's */
    uint16_t error;                    /* the TSIG error a response reports */
    unsigned signed_count;             /* messages signed so far in this direction */
};

/// Check a request's TSIG record (from tsig_find) at time now. Returns 0
/// (ctx ready to sign the response), a TSIG error (ctx->error: TSIG_BADKEY or
/// TSIG_BADSIG, then answer with tsig_append_error(); TSIG_BADTIME or
/// TSIG_BADTRUNC, then sign the error answer with tsig_sign()), or -1 for
/// FORMERR (a MAC longer than HMAC-SHA256's or shorter than 16 bytes).
int tsig_verify_request(const struct tsig_keys *ks, const uint8_t *msg, size_t len,
                        const struct tsig_rr *rr, uint64_t now, struct tsig_ctx *ctx);

/// Sign a message of ours: append a TSIG record to msg[0..len) (ARCOUNT + 1).
/// A request (ctx->mac_len == 0 and signed_count == 0) is signed alone; a
/// response covers the MAC before it, with every TSIG variable in the first
/// message and the timers only in the later ones (RFC 8945 5.3.1). Returns the
/// new length, or 0 when the record does not fit in cap.
size_t tsig_sign(struct tsig_ctx *ctx, uint8_t *msg, size_t len, size_t cap, uint64_t now);

/// Append the unsigned TSIG record of a BADKEY/BADSIG error answer (MAC size
/// 0, the request's key and time; RFC 8945 5.3.2). Returns the new length, or 0.
size_t tsig_append_error(const struct tsig_rr *req, uint16_t error, uint8_t *msg, size_t len,
                         size_t cap);

/// Check the TSIG of the response to a request we signed with ctx (a NOTIFY's
/// answer). Returns 0 when it is signed by ctx's key over our request's MAC
/// and in time, else a TSIG error or -1 (unsigned or malformed).
int tsig_verify_response(struct tsig_ctx *ctx, const uint8_t *msg, size_t len, uint64_t now);

/// Decode base64 (RFC 4648, padding optional, no whitespace). Returns the
/// byte count, or -1 when malformed or longer than cap.
int tsig_base64_decode(const char *in, size_t len, uint8_t *out, size_t cap);

#endif
