/*
 * sis: Symbian installation files (the pre-Symbian-9 SIS format, EPOC
 * releases 3 to 6).
 *
 * Why: a .sis file is what a Symbian phone installs; worms of that platform
 * (Cabir, CommWarrior) spread as .sis attachments, and a SIS file can also
 * carry any other file (a Windows executable included). This reader hands
 * each file of the package back to the engine through scan_child().
 *
 * Format (the public descriptions of the EPOC SIS layout; all fields
 * little-endian): a header of UID1 (the application), UID2 (0x1000006D
 * for releases 3 to 5, 0x10003A12 for release 6), UID3 (0x10000419), UID4
 * and a checksum, then 16-bit counts (languages at 18, file records at 20),
 * the options at 36 (0x0001 names are UTF-16, 0x0008 file data is not
 * compressed) and pointers (file records at 52). Each record starts with a
 * 32-bit kind:
 *   0 a file, 1 a file in one version per language: file type, details,
 *     source name length and pointer, destination name length and pointer,
 *     then per language the data lengths, then per language the data
 *     pointers; release 6 adds per language the uncompressed lengths, and a
 *     MIME type length and pointer;
 *   2 options: a count, per option and language a string length and
 *     pointer, then 16 bytes of selection bits;
 *   3 if, 4 else-if: an expression size and the expression;
 *   5 else, 6 end-if: nothing.
 * File data is a zlib stream unless the no-compression option is set.
 *
 * Trust boundary: the file is hostile. Every field is read through struct
 * rbuf, every pointer and length is checked against the object before use,
 * the walk stops at the first record it cannot read, and the inflated
 * output of one file never exceeds scan_child_budget().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#include "common/buf.h"
#include "scan/scan_priv.h"

enum {
    SIS_UID2_ER5 = 0x1000006D,
    SIS_UID2_ER6 = 0x10003A12,
    SIS_UID3 = 0x10000419,
    SIS_OPT_UNICODE = 0x0001,
    SIS_OPT_NOCOMPRESS = 0x0008,
    SIS_REC_FILE = 0,
    SIS_REC_MULTILANG = 1,
    SIS_REC_OPTIONS = 2,
    SIS_REC_IF = 3,
    SIS_REC_ELSEIF = 4,
    SIS_REC_ELSE = 5,
    SIS_REC_ENDIF = 6,
    /* Beyond these the file is not a real package: real ones name a few
     * dozen languages at most and a handful of options. The counts bound
     * the work done per record (the records themselves are bounded by the
     * file, since each is at least 4 bytes). */
    SIS_MAX_LANGS = 256,
    SIS_MAX_OPTIONS = 256,
    SIS_NAME_MAX = 1024, /* bytes of a name we look at for the label */
};

static uint16_t le16(struct rbuf *b)
{
    uint16_t lo = rbuf_u8(b);
    return (uint16_t)(lo | rbuf_u8(b) << 8);
}

static uint32_t le32(struct rbuf *b)
{
    uint32_t lo = le16(b);
    return lo | (uint32_t)le16(b) << 16;
}

static uint32_t le32_at(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }

bool scan_sis_magic(const uint8_t *d, size_t len)
{
    if (len < 16)
        return false;
    uint32_t uid2 = le32_at(d + 4), uid3 = le32_at(d + 8);
    return uid3 == SIS_UID3 && (uid2 == SIS_UID2_ER5 || uid2 == SIS_UID2_ER6);
}

/* True when [ptr, ptr + len) lies inside the object. */
static bool in_object(const struct scan_object *obj, uint32_t ptr, uint32_t len)
{
    return ptr <= obj->len && len <= obj->len - ptr;
}

/* The label of a file: its destination name, or its source name when that
 * is empty, as UTF-8 (UTF-16 names are converted; a code unit that is not
 * a plain BMP character becomes '?'), then made display-safe. */
static void make_label(char *out, size_t cap, const struct scan_object *obj, bool unicode,
                       uint32_t len, uint32_t ptr, const char *fallback)
{
    char utf8[SIS_NAME_MAX * 3 / 2 + 4];
    size_t n = 0;
    if (!in_object(obj, ptr, len))
        len = 0;
    if (len > SIS_NAME_MAX)
        len = SIS_NAME_MAX;
    const uint8_t *s = obj->data + ptr;
    if (unicode) {
        for (uint32_t i = 0; i + 1 < len; i += 2) {
            unsigned c = (unsigned)s[i] | (unsigned)s[i + 1] << 8;
            if (c >= 0xd800 && c <= 0xdfff)
                c = '?'; /* surrogates: not worth pairing for a label */
            if (c < 0x80) {
                utf8[n++] = (char)c;
            } else if (c < 0x800) {
                utf8[n++] = (char)(0xc0 | c >> 6);
                utf8[n++] = (char)(0x80 | (c & 0x3f));
            } else {
                utf8[n++] = (char)(0xe0 | c >> 12);
                utf8[n++] = (char)(0x80 | (c >> 6 & 0x3f));
                utf8[n++] = (char)(0x80 | (c & 0x3f));
            }
        }
    } else {
        memcpy(utf8, s, len);
        n = len;
    }
    scan_member_label(out, cap, utf8, n, fallback);
}

/* Hands one file's data to the engine: inflated, or as stored when the
 * package says so or when it does not inflate (its bytes are still worth
 * matching). */
static void sis_file(struct scan_ctx *ctx, const struct scan_object *obj, bool compressed,
                     const uint8_t *data, uint32_t len, uint32_t hint, const char *label)
{
    const char *limit = NULL;
    uint64_t budget = scan_child_budget(ctx, obj, &limit);
    if (compressed) {
        size_t outlen;
        bool full;
        uint8_t *out = scan_inflate(data, len, 15, budget, hint, &outlen, &full);
        if (out) {
            if (full)
                scan_limit(ctx, limit, obj->where);
            if (scan_take(ctx, obj, outlen))
                scan_child(ctx, obj, label, out, outlen, NULL, NULL);
            free(out);
            return;
        }
    }
    if (len > budget) {
        scan_limit(ctx, limit, obj->where);
        len = (uint32_t)budget;
    }
    if (len && scan_take(ctx, obj, len))
        scan_child(ctx, obj, label, data, len, NULL, NULL);
}

/* One file record (kind 0 or 1), b just past its kind. nlang is 1 for a
 * kind-0 record. Returns false when the record cannot be read. */
static bool sis_file_record(struct scan_ctx *ctx, const struct scan_object *obj, struct rbuf *b,
                            unsigned nlang, bool er6, bool unicode, bool compressed, unsigned *nfile)
{
    (void)le32(b); /* file type: standard, text, component, run, null, MIME */
    (void)le32(b); /* details */
    uint32_t src_len = le32(b), src_ptr = le32(b);
    uint32_t dst_len = le32(b), dst_ptr = le32(b);
    const uint8_t *lens = rbuf_take(b, (size_t)nlang * 4);
    const uint8_t *ptrs = rbuf_take(b, (size_t)nlang * 4);
    const uint8_t *orig = er6 ? rbuf_take(b, (size_t)nlang * 4) : NULL;
    if (er6) {
        (void)le32(b); /* MIME type length */
        (void)le32(b); /* and pointer */
    }
    if (b->err)
        return false;

    for (unsigned i = 0; i < nlang && !scan_should_stop(ctx, obj->where); i++) {
        uint32_t len = le32_at(lens + 4 * i), ptr = le32_at(ptrs + 4 * i);
        uint32_t hint = orig ? le32_at(orig + 4 * i) : 0;
        if (len == 0 || !in_object(obj, ptr, len))
            continue; /* a null file (created at install), or a bad pointer */
        char fallback[32], label[SCAN_LABEL_MAX];
        snprintf(fallback, sizeof fallback, "sis-%u", *nfile);
        if (dst_len)
            make_label(label, sizeof label, obj, unicode, dst_len, dst_ptr, fallback);
        else
            make_label(label, sizeof label, obj, unicode, src_len, src_ptr, fallback);
        (*nfile)++;
        sis_file(ctx, obj, compressed, obj->data + ptr, len, hint, label);
    }
    return true;
}

void scan_sis(struct scan_ctx *ctx, const struct scan_object *obj)
{
    if (!scan_sis_magic(obj->data, obj->len))
        return;
    struct rbuf h = rbuf_make(obj->data, obj->len);
    (void)rbuf_take(&h, 4);
    bool er6 = le32(&h) == SIS_UID2_ER6;
    (void)rbuf_take(&h, 10); /* UID3, UID4, checksum */
    unsigned nlang = le16(&h), nrec = le16(&h);
    (void)rbuf_take(&h, 14); /* requisites .. installer version */
    uint16_t options = le16(&h);
    (void)rbuf_take(&h, 14); /* type, version, variant, languages pointer */
    uint32_t rec_ptr = le32(&h);
    if (h.err || nlang == 0 || nlang > SIS_MAX_LANGS || rec_ptr > obj->len)
        return;
    bool unicode = (options & SIS_OPT_UNICODE) != 0;
    bool compressed = (options & SIS_OPT_NOCOMPRESS) == 0;

    /* Every record is at least its 4-byte kind, so the walk ends within
     * nrec steps or the end of the object, whichever comes first. */
    struct rbuf b = rbuf_make(obj->data + rec_ptr, obj->len - rec_ptr);
    unsigned nfile = 0;
    for (unsigned r = 0; r < nrec && !scan_should_stop(ctx, obj->where); r++) {
        uint32_t kind = le32(&b);
        if (b.err)
            return;
        switch (kind) {
        case SIS_REC_FILE:
        case SIS_REC_MULTILANG:
            if (!sis_file_record(ctx, obj, &b, kind == SIS_REC_FILE ? 1 : nlang, er6, unicode,
                                 compressed, &nfile))
                return;
            break;
        case SIS_REC_OPTIONS: {
            uint32_t nopt = le32(&b);
            if (b.err || nopt > SIS_MAX_OPTIONS)
                return;
            (void)rbuf_take(&b, (size_t)nopt * nlang * 8 + 16);
            break;
        }
        case SIS_REC_IF:
        case SIS_REC_ELSEIF: {
            uint32_t size = le32(&b);
            (void)rbuf_take(&b, size);
            break;
        }
        case SIS_REC_ELSE:
        case SIS_REC_ENDIF:
            break;
        default:
            return; /* not a record we know: nothing after it can be trusted */
        }
        if (b.err)
            return;
    }
}
