/*
 * formats: the engine's readers for the mail-borne containers libarchive
 * does not open.
 *
 *   TNEF (winmail.dat)  our parser: attachments (attAttachData with the name
 *                       from attAttachTitle or the MAPI long file name), MAPI
 *                       attachment objects, the compressed RTF body
 *   BinHex 4.0          our decoder: 6-bit text, 0x90 run-length, the header's
 *                       name, data and resource forks
 *   RTF                 our scanner for \objdata: hex (and \bin) decoded, the
 *                       OLE1 object read: a Package's embedded file, else the
 *                       object's native data, else the raw bytes
 *   OLE2                our compound-file reader: every stream, the file
 *                       inside an \1Ole10Native (Package) stream, and the
 *                       objects PowerPoint embeds in its document stream
 *   CHM, SZDD           libmspack, reading and writing memory only
 *
 * Everything read here is hostile. Every length field is checked against
 * the bytes that are really there (struct rbuf); every decoder writes into
 * a struct scan_out that never grows past scan_child_budget(); every loop
 * consumes input on each turn, so none can spin. What a reader finds goes
 * to scan_child(), after its bytes are accounted with scan_take().
 *
 * Why our own TNEF parser and not libytnef: TNEF is a flat list of
 * (level, id, length, bytes, checksum) records, and an attachment is a
 * slice of the input, so the whole reader is a bounded walk that copies
 * nothing. libytnef copies every attribute into its own structures, is not
 * one of the project's chosen dependencies, and has had its share of memory
 * safety bugs on exactly this kind of hostile input.
 *
 * Findings made here, at the container's path:
 *   Heuristics.Broken.Archive.CHM / .SZDD / .OLE2   suspicious: nothing in
 *                               the container could be read at all
 *   Heuristics.Limits.Exceeded.<Limit>      through scan_limit()
 *   Rampart.Error.OutOfMemory               error level: an allocation failed,
 *                               so part of the container went unscanned
 * TNEF, BinHex and RTF that do not parse yield nothing and no finding: the
 * text itself is still scanned as a leaf by scan_object().
 *
 * Bytes handed on are accounted with scan_take() here, also when they are a
 * slice of the input (a TNEF attachment): scan_child() need not count them.
 */
#define _GNU_SOURCE /* memmem */
#include <limits.h>
#include <mspack.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/buf.h"
#include "scan/scan_priv.h"
#include "common/util.h"

/* A name from inside a container longer than this is cut. */
#define FMT_NAME_MAX 1024

/* ---- shared helpers ---- */

static uint16_t rd_le16(struct rbuf *b)
{
    const uint8_t *p = rbuf_take(b, 2);
    return p ? (uint16_t)(p[0] | p[1] << 8) : 0;
}

static uint32_t rd_le32(struct rbuf *b)
{
    const uint8_t *p = rbuf_take(b, 4);
    return p ? (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24
             : 0;
}


/*
 * Hands one member on: its bytes are accounted first (MaxScanSize), then
 * scan_child() looks at them. Returns false once the scan must stop.
 */
static bool hand_declared(struct scan_ctx *ctx, const struct scan_object *obj, const char *label,
                          const uint8_t *data, size_t len, const char *name, const char *declared)
{
    static const uint8_t empty[1];
    if (!scan_take(ctx, obj, len))
        return false;
    scan_child(ctx, obj, label, data ? data : empty, len, name && name[0] ? name : NULL,
               declared && declared[0] ? declared : NULL);
    return !scan_should_stop(ctx, obj->where);
}

static bool hand(struct scan_ctx *ctx, const struct scan_object *obj, const char *label,
                 const uint8_t *data, size_t len, const char *name)
{
    return hand_declared(ctx, obj, label, data, len, name, NULL);
}

/// Copies an untrusted name of up to len bytes (stopping at a NUL) into a
/// C string for the name heuristics, and its display label.
static void names_from(const uint8_t *raw, size_t len, char *name, size_t ncap, char *label,
                       size_t lcap, const char *fallback)
{
    size_t n = 0;
    while (raw && n < len && n + 1 < ncap && raw[n])
        n++;
    if (n)
        memcpy(name, raw, n);
    name[n] = '\0';
    scan_member_label(label, lcap, name, n, fallback);
}

/// Copies an 8-bit string of at most len bytes (up to a NUL) into dst,
/// cut to fit cap and NUL-terminated.
static void copy_cstr(char *dst, size_t cap, const uint8_t *src, size_t len)
{
    size_t c = strnlen((const char *)src, len < cap ? len : cap - 1);
    memcpy(dst, src, c);
    dst[c] = '\0';
}

/// The last path component of a Windows or Unix path (inside s[0..len)).
static const uint8_t *path_base(const uint8_t *s, size_t len, size_t *blen)
{
    size_t start = 0;
    for (size_t i = 0; i < len && s[i]; i++)
        if (s[i] == '\\' || s[i] == '/' || s[i] == ':')
            start = i + 1;
    size_t end = start;
    while (end < len && s[end])
        end++;
    *blen = end - start;
    return s + start;
}

/// UTF-16LE (len bytes) to UTF-8, bounded, NUL-terminated; bad units become '?'.
static void utf16le_to_utf8(const uint8_t *s, size_t len, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i + 1 < len;) {
        uint32_t cp = (uint32_t)(s[i] | s[i + 1] << 8);
        i += 2;
        if (cp == 0)
            break;
        if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < len) {
            uint32_t lo = (uint32_t)(s[i] | s[i + 1] << 8);
            if (lo >= 0xdc00 && lo <= 0xdfff) {
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                i += 2;
            } else {
                cp = '?';
            }
        } else if (cp >= 0xd800 && cp <= 0xdfff) {
            cp = '?';
        }
        uint8_t u[4];
        size_t n;
        if (cp < 0x80) {
            u[0] = (uint8_t)cp;
            n = 1;
        } else if (cp < 0x800) {
            u[0] = (uint8_t)(0xc0 | cp >> 6);
            u[1] = (uint8_t)(0x80 | (cp & 0x3f));
            n = 2;
        } else if (cp < 0x10000) {
            u[0] = (uint8_t)(0xe0 | cp >> 12);
            u[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
            u[2] = (uint8_t)(0x80 | (cp & 0x3f));
            n = 3;
        } else {
            u[0] = (uint8_t)(0xf0 | cp >> 18);
            u[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3f));
            u[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
            u[3] = (uint8_t)(0x80 | (cp & 0x3f));
            n = 4;
        }
        if (o + n >= cap)
            break;
        memcpy(out + o, u, n);
        o += n;
    }
    out[o] = '\0';
}

/* ---- OLE1 objects and Packages (RTF \objdata, OLE2 \1Ole10Native) ---- */

/*
 * An OLE1 "Package" wraps one file: how Office embeds an arbitrary file (an
 * .exe, a .js) that runs when the icon is clicked. Its native data:
 *   u16 2, label (NUL-terminated), original path (NUL-terminated),
 *   u16 0, u16 type (3: an embedded file; 1: a link, no bytes),
 *   u32 length + temporary path, u32 length + the file's bytes.
 * Returns true with the file's bytes and a name when the layout holds.
 */
static bool package_parse(const uint8_t *p, size_t n, const uint8_t **file, size_t *flen,
                          char *name, size_t ncap)
{
    struct rbuf b = rbuf_make(p, n);
    if (rd_le16(&b) != 2)
        return false;
    const uint8_t *label = b.data + b.pos;
    size_t label_len = strnlen((const char *)label, rbuf_left(&b));
    rbuf_take(&b, label_len + 1);
    const uint8_t *orig = b.data + b.pos;
    size_t orig_len = b.err ? 0 : strnlen((const char *)orig, rbuf_left(&b));
    rbuf_take(&b, orig_len + 1);
    rd_le16(&b);
    if (rd_le16(&b) != 3 || b.err)
        return false;
    uint32_t tlen = rd_le32(&b);
    const uint8_t *tmp = rbuf_take(&b, tlen);
    uint32_t dlen = rd_le32(&b);
    if (b.err)
        return false;
    /* A cut-off object keeps what is there: the file's first bytes are
     * still worth scanning. */
    size_t have = rbuf_left(&b);
    *flen = dlen < have ? dlen : have;
    *file = b.data + b.pos;

    /* The name the file is dropped under is the temporary path's last
     * component; the label is only what the icon says. */
    size_t blen = 0;
    const uint8_t *base = tmp ? path_base(tmp, tlen, &blen) : NULL;
    if (!blen)
        base = path_base(orig, orig_len, &blen);
    if (!blen) {
        base = label;
        blen = label_len;
    }
    size_t c = blen < ncap - 1 ? blen : ncap - 1;
    memcpy(name, base, c);
    name[c] = '\0';
    return true;
}

/*
 * Hands on what an OLE1 object (MS-OLEDS 2.2.4: version, format id, class
 * name, for an embedded object topic and item names, then the native data)
 * holds: a Package's file, else the native data (an OLE2 file for Word,
 * Excel, Equation objects), else - when the header does not parse - the
 * bytes as they are, so nothing goes unscanned.
 */
static bool ole1_object(struct scan_ctx *ctx, const struct scan_object *obj, const uint8_t *p,
                        size_t n, unsigned index)
{
    char fallback[32], label[SCAN_LABEL_MAX], name[FMT_NAME_MAX];
    snprintf(fallback, sizeof fallback, "object%u", index);

    struct rbuf b = rbuf_make(p, n);
    rd_le32(&b); /* OLEVersion: 0x0501 in practice, but not worth refusing over */
    uint32_t format = rd_le32(&b);
    uint32_t cls_len = rd_le32(&b);
    const uint8_t *cls = rbuf_take(&b, cls_len);
    const uint8_t *native = NULL;
    size_t native_len = 0;
    if (format == 2 && !b.err) {
        rbuf_take(&b, rd_le32(&b)); /* topic */
        rbuf_take(&b, rd_le32(&b)); /* item */
        uint32_t nl = rd_le32(&b);
        if (!b.err) {
            native_len = nl < rbuf_left(&b) ? nl : rbuf_left(&b);
            native = b.data + b.pos;
        }
    }
    if (!native || native_len == 0)
        return hand(ctx, obj, fallback, p, n, NULL);

    const uint8_t *file;
    size_t flen;
    if (cls && cls_len >= 7 && memcmp(cls, "Package", 7) == 0 &&
        package_parse(native, native_len, &file, &flen, name, sizeof name)) {
        scan_member_label(label, sizeof label, name, strlen(name), fallback);
        return hand(ctx, obj, label, file, flen, name);
    }
    return hand(ctx, obj, fallback, native, native_len, NULL);
}

/* ---- TNEF ---- */

#define TNEF_SIGNATURE 0x223e9f78u
#define TNEF_LVL_MESSAGE 1
#define TNEF_LVL_ATTACHMENT 2

/* Attribute ids: the low 16 bits of the attribute tag (the high 16 are
 * its type, which we do not need to trust). */
#define ATT_MAPI_PROPS 0x9003       /* message MAPI properties */
#define ATT_ATTACH_REND_DATA 0x9002 /* starts each attachment */
#define ATT_ATTACH_TITLE 0x8010     /* the 8.3 file name */
#define ATT_ATTACH_DATA 0x800f      /* the attachment's bytes */
#define ATT_ATTACHMENT 0x9005       /* attachment MAPI properties */

/* MAPI property ids and types we read */
#define PR_RTF_COMPRESSED 0x1009
#define PR_BODY_HTML 0x1013
#define PR_ATTACH_DATA_OBJ 0x3701
#define PR_ATTACH_FILENAME 0x3704
#define PR_ATTACH_LONG_FILENAME 0x3707
#define PR_ATTACH_MIME_TAG 0x370e
#define PT_STRING8 0x001e
#define PT_UNICODE 0x001f
#define PT_BINARY 0x0102
#define PT_OBJECT 0x000d
#define PT_MV 0x1000

struct tnef_attachment {
    const uint8_t *data;   /* attAttachData, or the MAPI data object */
    size_t len;
    bool has_data;
    bool data_is_object;   /* from PR_ATTACH_DATA_OBJ, not attAttachData */
    char name[FMT_NAME_MAX]; /* best name so far */
    bool long_name;        /* name is the MAPI long file name */
    char mime[128];        /* declared MIME type, lowercase, or "" */
};

/// Size of one value of a fixed-size MAPI type, 0 for a variable or unknown one.
static size_t mapi_fixed_size(uint16_t type)
{
    switch (type) {
    case 0x0002: case 0x000b: return 2;          /* I2, BOOLEAN */
    case 0x0003: case 0x0004: case 0x000a: return 4; /* I4, R4, ERROR */
    case 0x0005: case 0x0006: case 0x0007: case 0x0014: case 0x0040: return 8;
    case 0x0048: return 16;                      /* CLSID */
    default: return 0;
    }
}

static bool mapi_variable(uint16_t type)
{
    return type == PT_STRING8 || type == PT_UNICODE || type == PT_BINARY || type == PT_OBJECT;
}

typedef bool (*mapi_visit_fn)(void *arg, uint16_t id, uint16_t type, const uint8_t *v, size_t len);

/*
 * Walks a MAPI property list (MS-OXTNEF 2.1.3.5): a count, then per
 * property its type and id, a name for named properties (id >= 0x8000),
 * and its value(s), each padded to 4 bytes. Variable-size values come as a
 * count of values, then length + bytes for each. A type we do not know the
 * size of ends the walk: nothing after it can be found reliably. The
 * visitor sees the first value of each variable-size property.
 */
static void mapi_walk(const uint8_t *p, size_t n, mapi_visit_fn visit, void *arg)
{
    struct rbuf b = rbuf_make(p, n);
    uint32_t count = rd_le32(&b);
    for (uint32_t i = 0; i < count && !b.err; i++) {
        uint16_t type = rd_le16(&b);
        uint16_t id = rd_le16(&b);
        if (id >= 0x8000) {
            rbuf_take(&b, 16); /* property set GUID */
            uint32_t kind = rd_le32(&b);
            if (kind == 0) {
                rd_le32(&b);
            } else {
                uint32_t nl = rd_le32(&b);
                rbuf_take(&b, nl > UINT32_MAX - 3 ? nl : (nl + 3) & ~3u);
            }
        }
        bool mv = type & PT_MV;
        uint16_t base = type & ~PT_MV;
        uint32_t values = 1;
        if (mv || mapi_variable(base))
            values = rd_le32(&b);
        if (mapi_variable(base)) {
            for (uint32_t v = 0; v < values && !b.err; v++) {
                uint32_t vl = rd_le32(&b);
                const uint8_t *val = rbuf_take(&b, vl);
                rbuf_take(&b, (4 - (vl & 3)) & 3);
                if (val && v == 0 && !visit(arg, id, base, val, vl))
                    return;
            }
        } else {
            size_t size = mapi_fixed_size(base);
            if (size == 0)
                return;
            size = (size + 3) & ~(size_t)3;
            /* values * size cannot pass what is left without err: check
             * before multiplying so a huge count cannot wrap */
            if (values > rbuf_left(&b) / size)
                return;
            rbuf_take(&b, values * size);
        }
    }
}

struct tnef_walk {
    struct scan_ctx *ctx;
    const struct scan_object *obj;
    struct tnef_attachment *att;
    unsigned index;
    bool stop;
};

static bool tnef_attach_prop(void *arg, uint16_t id, uint16_t type, const uint8_t *v, size_t len)
{
    struct tnef_attachment *att = arg;
    if (id == PR_ATTACH_LONG_FILENAME || (id == PR_ATTACH_FILENAME && !att->long_name)) {
        if (type == PT_UNICODE)
            utf16le_to_utf8(v, len, att->name, sizeof att->name);
        else if (type == PT_STRING8)
            copy_cstr(att->name, sizeof att->name, v, len);
        if (id == PR_ATTACH_LONG_FILENAME && att->name[0])
            att->long_name = true;
    } else if (id == PR_ATTACH_MIME_TAG && (type == PT_STRING8 || type == PT_UNICODE)) {
        /* the declared type, for the type-mismatch heuristic: lowercase
         * printable ASCII only, as a MIME walker would hand it on */
        char raw[sizeof att->mime];
        if (type == PT_UNICODE)
            utf16le_to_utf8(v, len, raw, sizeof raw);
        else
            copy_cstr(raw, sizeof raw, v, len);
        size_t o = 0;
        for (size_t i = 0; raw[i] && o + 1 < sizeof att->mime; i++) {
            unsigned char ch = (unsigned char)raw[i];
            if (ch <= 0x20 || ch >= 0x7f)
                break;
            att->mime[o++] = (char)(ch >= 'A' && ch <= 'Z' ? ch | 0x20 : ch);
        }
        att->mime[o] = '\0';
    } else if (id == PR_ATTACH_DATA_OBJ && !att->has_data &&
               (type == PT_BINARY || type == PT_OBJECT)) {
        /* An object value starts with the interface id (16 bytes); what
         * follows is an embedded message (itself TNEF) or an OLE2 file. */
        if (type == PT_OBJECT) {
            if (len < 16)
                return true;
            v += 16;
            len -= 16;
        }
        att->data = v;
        att->len = len;
        att->has_data = true;
        att->data_is_object = true;
    }
    return true;
}

static void tnef_flush(struct tnef_walk *w)
{
    struct tnef_attachment *att = w->att;
    if (att->has_data && !w->stop) {
        char fallback[32], label[SCAN_LABEL_MAX];
        w->index++;
        snprintf(fallback, sizeof fallback, "attachment%u", w->index);
        scan_member_label(label, sizeof label, att->name, strlen(att->name), fallback);
        if (!hand_declared(w->ctx, w->obj, label, att->data, att->len, att->name, att->mime))
            w->stop = true;
    }
    memset(att, 0, sizeof *att);
}

/*
 * Compressed RTF (MS-OXRTFCP), the body of most TNEF messages: LZ77 over a
 * 4096-byte ring primed with a fixed RTF preamble. Each control byte's bits
 * (low first) say literal byte (0) or a 2-byte reference (1): 12 bits of
 * ring offset, 4 bits of length - 2; a reference to the write position
 * itself ends the data. The output is bounded by the declared raw size and
 * by the child budget.
 */
static const char lzfu_preamble[] =
    "{\\rtf1\\ansi\\mac\\deff0\\deftab720{\\fonttbl;}{\\f0\\fnil \\froman \\fswiss \\fmodern "
    "\\fscript \\fdecor MS Sans SerifSymbolArialTimes New RomanCourier{\\colortbl\\red0\\green0"
    "\\blue0\r\n\\par \\pard\\plain\\f0\\fs20\\b\\i\\u\\tab\\tx";
_Static_assert(sizeof lzfu_preamble - 1 == 207, "MS-OXRTFCP preamble is 207 bytes");

#define LZFU_COMPRESSED 0x75465a4cu   /* "LZFu" */
#define LZFU_UNCOMPRESSED 0x414c454du /* "MELA" */

static void lzfu_decode(struct rbuf *in, uint32_t raw_size, struct scan_out *out)
{
    uint8_t ring[4096];
    memcpy(ring, lzfu_preamble, 207);
    memset(ring + 207, 0, sizeof ring - 207);
    unsigned wpos = 207;
    while (rbuf_left(in) && out->len < raw_size && !out->over && !out->nomem) {
        uint8_t flags = rbuf_u8(in);
        for (int bit = 0; bit < 8 && rbuf_left(in); bit++) {
            if (!(flags >> bit & 1)) {
                uint8_t c = rbuf_u8(in);
                ring[wpos] = c;
                wpos = (wpos + 1) & 4095;
                scan_out_byte(out, c);
                continue;
            }
            uint16_t ref = rbuf_u16(in); /* big-endian */
            if (in->err)
                return;
            unsigned off = ref >> 4, n = (ref & 15u) + 2;
            if (off == wpos)
                return;
            for (unsigned k = 0; k < n; k++) {
                uint8_t c = ring[off];
                off = (off + 1) & 4095;
                ring[wpos] = c;
                wpos = (wpos + 1) & 4095;
                scan_out_byte(out, c);
            }
        }
    }
}

static bool tnef_message_prop(void *arg, uint16_t id, uint16_t type, const uint8_t *v, size_t len)
{
    struct tnef_walk *w = arg;
    if (w->stop)
        return false;
    if (id == PR_BODY_HTML && (type == PT_BINARY || type == PT_STRING8)) {
        if (!hand(w->ctx, w->obj, "body.html", v, len, "body.html"))
            w->stop = true;
    } else if (id == PR_RTF_COMPRESSED && type == PT_BINARY) {
        struct rbuf b = rbuf_make(v, len);
        rd_le32(&b); /* compressed size: the value's length says it better */
        uint32_t raw_size = rd_le32(&b);
        uint32_t magic = rd_le32(&b);
        rd_le32(&b); /* CRC */
        if (b.err)
            return true;
        struct scan_out out;
        scan_out_init(&out, w->ctx, w->obj);
        if (magic == LZFU_COMPRESSED) {
            lzfu_decode(&b, raw_size, &out);
        } else if (magic == LZFU_UNCOMPRESSED) {
            size_t n = raw_size < rbuf_left(&b) ? raw_size : rbuf_left(&b);
            scan_out_put(&out, b.data + b.pos, n);
        }
        scan_out_report(w->ctx, w->obj, &out);
        if (out.len && !hand(w->ctx, w->obj, "body.rtf", out.data, out.len, "body.rtf"))
            w->stop = true;
        scan_out_free(&out);
    }
    return !w->stop;
}

/*
 * A TNEF stream: signature, key, then attributes: level (message or
 * attachment), u32 tag, u32 length, bytes, u16 checksum. An attachment
 * starts at attAttachRendData; its data and names may come in any order
 * after it, so it is handed on when the next one starts or the stream ends.
 * Data are slices of the input: nothing is copied.
 */
static void tnef_scan(struct scan_ctx *ctx, const struct scan_object *obj)
{
    struct rbuf b = rbuf_make(obj->data, obj->len);
    if (rd_le32(&b) != TNEF_SIGNATURE)
        return;
    rd_le16(&b); /* legacy key */

    struct tnef_attachment *att = calloc(1, sizeof *att);
    if (!att) {
        scan_found(ctx, SCAN_ERROR, "Rampart.Error.OutOfMemory", obj->where);
        return;
    }
    struct tnef_walk w = {.ctx = ctx, .obj = obj, .att = att};
    while (rbuf_left(&b) && !w.stop) {
        uint8_t level = rbuf_u8(&b);
        uint32_t tag = rd_le32(&b);
        uint32_t len = rd_le32(&b);
        if (b.err)
            break;
        /* A length past the end: a cut-off stream. Keep the part that is
         * there for the data attribute, drop anything else. */
        size_t have = rbuf_left(&b);
        bool cut = len > have;
        const uint8_t *val = b.data + b.pos;
        size_t vlen = cut ? have : len;
        rbuf_take(&b, vlen);
        rbuf_take(&b, 2); /* checksum, not worth trusting or checking */
        bool last = cut || b.err;
        uint16_t id = (uint16_t)tag;

        if (level == TNEF_LVL_ATTACHMENT || id == ATT_ATTACH_REND_DATA) {
            if (id == ATT_ATTACH_REND_DATA || (id == ATT_ATTACH_DATA && att->has_data &&
                                              !att->data_is_object)) {
                tnef_flush(&w); /* a new attachment, or a second data for this one */
            }
            if (id == ATT_ATTACH_DATA) {
                att->data = val;
                att->len = vlen;
                att->has_data = true;
                att->data_is_object = false;
            } else if (id == ATT_ATTACH_TITLE && !att->long_name && !cut) {
                copy_cstr(att->name, sizeof att->name, val, vlen);
            } else if (id == ATT_ATTACHMENT && !cut) {
                mapi_walk(val, vlen, tnef_attach_prop, att);
            }
        } else if (level == TNEF_LVL_MESSAGE && id == ATT_MAPI_PROPS && !cut) {
            mapi_walk(val, vlen, tnef_message_prop, &w);
        }
        if (last)
            break;
        if (scan_should_stop(ctx, obj->where))
            w.stop = true;
    }
    tnef_flush(&w);
    free(att);
}

/* ---- BinHex 4.0 ---- */

/*
 * BinHex 4.0 (RFC 1741): text between two ':' in a 64-character alphabet,
 * 6 bits a character, line breaks ignored. The bytes are run-length coded:
 * 0x90 n repeats the previous byte to n copies in all (0x90 0 is a literal
 * 0x90). They hold a header (name length, name, version, type, creator,
 * flags, data and resource fork lengths, CRC), the data fork, its CRC,
 * the resource fork and its CRC. CRCs are not checked: a file a Mac
 * would refuse is still worth a look.
 */
static const char hqx_alphabet[] =
    "!\"#$%&'()*+,-012345689@ABCDEFGHIJKLMNPQRSTUVXYZ[`abcdefhijklmpqr";

struct hqx {
    struct rbuf in;        /* the text after the opening ':' */
    int8_t map[256];       /* character -> 6-bit value, -1 invalid */
    uint32_t bits;
    unsigned nbits;
    bool end;              /* closing ':', a bad character or the end */
    int last;              /* previous byte of the run-length layer, -1 none */
    unsigned repeat;       /* copies of last still owed */
};

/// Next byte of the 6-bit layer, or -1 at the end.
static int hqx_raw(struct hqx *h)
{
    while (h->nbits < 8) {
        if (h->end || !rbuf_left(&h->in)) {
            h->end = true;
            return -1;
        }
        uint8_t c = rbuf_u8(&h->in);
        if (c == '\r' || c == '\n' || c == ' ' || c == '\t')
            continue;
        if (h->map[c] < 0) { /* ':' closes; anything else is damage */
            h->end = true;
            return -1;
        }
        h->bits = (h->bits << 6 | (uint32_t)h->map[c]) & 0xffffff;
        h->nbits += 6;
    }
    h->nbits -= 8;
    return (int)(h->bits >> h->nbits & 0xff);
}

/// Next byte after run-length decoding, or -1 at the end.
static int hqx_byte(struct hqx *h)
{
    if (h->repeat) {
        h->repeat--;
        return h->last;
    }
    for (;;) {
        int c = hqx_raw(h);
        if (c != 0x90) {
            if (c >= 0)
                h->last = c;
            return c;
        }
        int n = hqx_raw(h);
        if (n < 0)
            return -1;
        if (n == 0) {
            h->last = 0x90;
            return 0x90;
        }
        /* n copies in all, the first already given: n - 1 more. A run
         * with nothing before it, or of one, gives nothing. */
        if (h->last < 0 || n == 1)
            continue;
        h->repeat = (unsigned)n - 2;
        return h->last;
    }
}

static uint32_t hqx_be32(struct hqx *h)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v = v << 8 | (uint8_t)hqx_byte(h);
    return v;
}

/// Reads one fork of n declared bytes into a bounded buffer and hands it on.
static bool hqx_fork(struct scan_ctx *ctx, const struct scan_object *obj, struct hqx *h,
                     uint32_t n, const char *label, const char *name)
{
    struct scan_out out;
    scan_out_init(&out, ctx, obj);
    for (uint32_t i = 0; i < n; i++) {
        int c = hqx_byte(h);
        if (c < 0)
            break; /* cut short: scan what there is */
        if (!scan_out_byte(&out, (uint8_t)c))
            break;
    }
    scan_out_report(ctx, obj, &out);
    bool go = true;
    if (out.len)
        go = hand(ctx, obj, label, out.data, out.len, name);
    scan_out_free(&out);
    return go && !out.over && !out.nomem;
}

static void binhex_scan(struct scan_ctx *ctx, const struct scan_object *obj)
{
    static const char banner[] = "(This file must be converted with BinHex";
    const uint8_t *d = obj->data;
    size_t n = obj->len, start = 0;
    const uint8_t *bn = memmem(d, n, banner, sizeof banner - 1);
    if (bn)
        start = (size_t)(bn - d) + sizeof banner - 1;
    /* the data begins at the first ':' after the banner (at the start of a
     * line when there is no banner) */
    size_t colon = start;
    for (; colon < n; colon++)
        if (d[colon] == ':' && (bn || colon == 0 || d[colon - 1] == '\n' || d[colon - 1] == '\r'))
            break;
    if (colon >= n)
        return;

    struct hqx *h = calloc(1, sizeof *h);
    if (!h) {
        scan_found(ctx, SCAN_ERROR, "Rampart.Error.OutOfMemory", obj->where);
        return;
    }
    memset(h->map, -1, sizeof h->map);
    for (int i = 0; hqx_alphabet[i]; i++)
        h->map[(uint8_t)hqx_alphabet[i]] = (int8_t)i;
    h->in = rbuf_make(d + colon + 1, n - colon - 1);
    h->last = -1;

    int nl = hqx_byte(h);
    uint8_t raw_name[64];
    int got = 0;
    for (; nl > 0 && got < nl && got < 64; got++) {
        int c = hqx_byte(h);
        if (c < 0)
            break;
        raw_name[got] = (uint8_t)c;
    }
    hqx_byte(h);                 /* version */
    for (int i = 0; i < 10; i++) /* type, creator, flags */
        hqx_byte(h);
    uint32_t dlen = hqx_be32(h);
    uint32_t rlen = hqx_be32(h);
    hqx_byte(h);                 /* header CRC */
    int crc = hqx_byte(h);
    if (nl <= 0 || nl > 63 || got != nl || crc < 0) {
        free(h);
        return; /* not a BinHex header: nothing inside to hand on */
    }

    char name[FMT_NAME_MAX], label[SCAN_LABEL_MAX];
    names_from(raw_name, (size_t)got, name, sizeof name, label, sizeof label, "data");
    if (hqx_fork(ctx, obj, h, dlen, label, name) && rlen) {
        hqx_byte(h); /* data fork CRC */
        hqx_byte(h);
        char rlabel[SCAN_LABEL_MAX + 8];
        snprintf(rlabel, sizeof rlabel, "%s.rsrc", label);
        hqx_fork(ctx, obj, h, rlen, rlabel, NULL);
    }
    free(h);
}

/* ---- RTF embedded objects ---- */

static bool is_alpha(uint8_t c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }

/*
 * Decodes the \objdata destination starting at d[i] (just after the
 * keyword) up to the '}' that closes its group: hex digit pairs, with
 * whitespace, control words and ignorable destinations ({\*\word ...})
 * skipped as Word skips them, other nested groups read through, and
 * \binN's N raw bytes taken as they are. Returns the offset after the
 * group. Each turn of the loop moves i forward.
 */
static size_t rtf_objdata(const uint8_t *d, size_t n, size_t i, struct scan_out *out)
{
    unsigned depth = 0;
    int hi = -1;
    while (i < n) {
        uint8_t c = d[i];
        if (c == '{' && i + 2 < n && d[i + 1] == '\\' && d[i + 2] == '*') {
            /* an ignorable destination ({\*\name ...}) inside the data:
             * Word skips it whole, and so does its content here */
            unsigned skip = 0;
            for (; i < n; i++) {
                if (d[i] == '\\') {
                    i++;
                } else if (d[i] == '{') {
                    skip++;
                } else if (d[i] == '}' && --skip == 0) {
                    i++;
                    break;
                }
            }
        } else if (c == '{') {
            depth++;
            i++;
        } else if (c == '}') {
            i++;
            if (depth == 0)
                return i;
            depth--;
        } else if (c == '\\') {
            i++;
            if (i >= n)
                break;
            if (!is_alpha(d[i])) {
                i += d[i] == '\'' ? 3 : 1; /* \'hh, or a control symbol */
                continue;
            }
            size_t w = i;
            while (i < n && i - w < 32 && is_alpha(d[i]))
                i++;
            bool bin = i - w == 3 && memcmp(d + w, "bin", 3) == 0;
            bool neg = i < n && d[i] == '-';
            if (neg)
                i++;
            uint64_t param = 0;
            size_t digits = 0;
            while (i < n && digits < 10 && d[i] >= '0' && d[i] <= '9') {
                param = param * 10 + (uint64_t)(d[i] - '0');
                i++;
                digits++;
            }
            if (i < n && d[i] == ' ')
                i++; /* the delimiter belongs to the control word */
            if (bin && !neg && param) {
                size_t take = param < n - i ? (size_t)param : n - i;
                scan_out_put(out, d + i, take);
                i += take;
                hi = -1;
            }
        } else {
            int v = util_hexval(c);
            i++;
            if (v < 0)
                continue;
            if (hi < 0) {
                hi = v;
            } else {
                scan_out_byte(out, (uint8_t)(hi << 4 | v));
                hi = -1;
            }
        }
    }
    return i > n ? n : i;
}

static void rtf_scan(struct scan_ctx *ctx, const struct scan_object *obj)
{
    static const char key[] = "\\objdata";
    const uint8_t *d = obj->data;
    size_t n = obj->len, pos = 0;
    unsigned index = 0;
    while (pos < n) {
        const uint8_t *k = memmem(d + pos, n - pos, key, sizeof key - 1);
        if (!k)
            break;
        size_t at = (size_t)(k - d) + sizeof key - 1;
        if (at < n && is_alpha(d[at])) { /* \objdatax: another word */
            pos = at;
            continue;
        }
        struct scan_out out;
        scan_out_init(&out, ctx, obj);
        pos = rtf_objdata(d, n, at, &out);
        if (pos <= at)
            pos = at; /* never go back */
        scan_out_report(ctx, obj, &out);
        bool go = true;
        if (out.len)
            go = ole1_object(ctx, obj, out.data, out.len, ++index);
        scan_out_free(&out);
        if (!go || scan_should_stop(ctx, obj->where))
            break;
    }
}

/* ---- libmspack on memory: CHM and SZDD ---- */

/*
 * libmspack reads and writes through a struct mspack_system whose open()
 * takes a "file name". Ours is the address of a struct msmem_file: the
 * input bytes, or an output struct scan_out. No file is ever touched. Reads
 * check the scan's time limit every few calls and fail once it has passed,
 * which makes libmspack give up: an LZX stream can demand a lot of output
 * to reach a file at a large offset, and nothing else would stop it.
 * Allocations are capped (MSMEM_ALLOC_MAX): LZX windows are 2 MiB at most
 * in CHM, so anything larger is a hostile header.
 */
#define MSMEM_ALLOC_MAX (64u * 1024u * 1024u)
#define MSMEM_CHECK_EVERY 16

struct msmem_file {
    const uint8_t *data;   /* input */
    size_t len;
    struct scan_out *out;      /* output, or NULL */
};

struct msmem_sys {
    struct mspack_system sys; /* first: libmspack hands &sys back to us */
    struct scan_ctx *ctx;
    const struct scan_object *obj;
    unsigned reads;
    bool stopped;          /* the time limit passed: every read fails */
};

struct msmem_handle {
    struct msmem_sys *ms;
    struct msmem_file *f;
    size_t pos;
};

static struct mspack_file *msmem_open(struct mspack_system *self, const char *filename, int mode)
{
    struct msmem_file *f = (struct msmem_file *)(uintptr_t)filename;
    if (!f || (mode != MSPACK_SYS_OPEN_READ && mode != MSPACK_SYS_OPEN_WRITE))
        return NULL;
    if ((mode == MSPACK_SYS_OPEN_WRITE) != (f->out != NULL))
        return NULL;
    struct msmem_handle *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->ms = (struct msmem_sys *)self;
    h->f = f;
    return (struct mspack_file *)h;
}

static void msmem_close(struct mspack_file *file) { free(file); }

static int msmem_read(struct mspack_file *file, void *buffer, int bytes)
{
    struct msmem_handle *h = (struct msmem_handle *)file;
    struct msmem_sys *ms = h->ms;
    if (bytes < 0 || h->f->out)
        return -1;
    if (++ms->reads % MSMEM_CHECK_EVERY == 0 && scan_should_stop(ms->ctx, ms->obj->where))
        ms->stopped = true;
    if (ms->stopped)
        return -1;
    size_t left = h->pos < h->f->len ? h->f->len - h->pos : 0;
    size_t n = (size_t)bytes < left ? (size_t)bytes : left;
    memcpy(buffer, h->f->data + h->pos, n);
    h->pos += n;
    return (int)n;
}

static int msmem_write(struct mspack_file *file, void *buffer, int bytes)
{
    struct msmem_handle *h = (struct msmem_handle *)file;
    if (bytes < 0 || !h->f->out)
        return -1;
    /* A refused byte fails the write, and libmspack stops the extraction:
     * the output keeps its bounded prefix. */
    if (!scan_out_put(h->f->out, buffer, (size_t)bytes))
        return -1;
    return bytes;
}

static int msmem_seek(struct mspack_file *file, off_t offset, int mode)
{
    struct msmem_handle *h = (struct msmem_handle *)file;
    if (h->f->out)
        return -1;
    off_t base;
    switch (mode) {
    case MSPACK_SYS_SEEK_START: base = 0; break;
    case MSPACK_SYS_SEEK_CUR: base = (off_t)h->pos; break;
    case MSPACK_SYS_SEEK_END: base = (off_t)h->f->len; break;
    default: return -1;
    }
    if ((offset < 0 && -offset > base) || (offset > 0 && offset > (off_t)h->f->len - base))
        return -1;
    h->pos = (size_t)(base + offset);
    return 0;
}

static off_t msmem_tell(struct mspack_file *file)
{
    struct msmem_handle *h = (struct msmem_handle *)file;
    return h->f->out ? (off_t)h->f->out->len : (off_t)h->pos;
}

static void msmem_message(struct mspack_file *file, const char *format, ...)
{
    (void)file; /* libmspack's warnings are for people; ours are findings */
    (void)format;
}

static void *msmem_alloc(struct mspack_system *self, size_t bytes)
{
    (void)self;
    return bytes <= MSMEM_ALLOC_MAX ? malloc(bytes) : NULL;
}

static void msmem_free(void *ptr) { free(ptr); }

static void msmem_copy(void *src, void *dest, size_t bytes) { memcpy(dest, src, bytes); }

static bool msmem_init(struct msmem_sys *ms, struct scan_ctx *ctx, const struct scan_object *obj)
{
    /* libmspack and we must agree on off_t (both are built with 64-bit
     * file offsets on Debian); if not, refuse rather than corrupt. */
    int selftest;
    MSPACK_SYS_SELFTEST(selftest);
    if (selftest != MSPACK_ERR_OK)
        return false;
    memset(ms, 0, sizeof *ms);
    ms->sys.open = msmem_open;
    ms->sys.close = msmem_close;
    ms->sys.read = msmem_read;
    ms->sys.write = msmem_write;
    ms->sys.seek = msmem_seek;
    ms->sys.tell = msmem_tell;
    ms->sys.message = msmem_message;
    ms->sys.alloc = msmem_alloc;
    ms->sys.free = msmem_free;
    ms->sys.copy = msmem_copy;
    ms->sys.null_ptr = NULL;
    ms->ctx = ctx;
    ms->obj = obj;
    return true;
}

static void broken(struct scan_ctx *ctx, const struct scan_object *obj, const char *fmt)
{
    char finding[64];
    snprintf(finding, sizeof finding, "Heuristics.Broken.Archive.%s", fmt);
    scan_found(ctx, SCAN_SUSPICIOUS, finding, obj->where);
}

/*
 * CHM (compiled HTML help): every file of the directory, system files
 * ("::DataSpace/...") aside, extracted one by one. An HTML page in a CHM
 * runs script with local rights, so each page is a member like any other.
 */
static void chm_scan(struct scan_ctx *ctx, const struct scan_object *obj)
{
    struct msmem_sys ms;
    if (!msmem_init(&ms, ctx, obj))
        return;
    struct mschm_decompressor *chm = mspack_create_chm_decompressor(&ms.sys);
    if (!chm) {
        scan_found(ctx, SCAN_ERROR, "Rampart.Error.OutOfMemory", obj->where);
        return;
    }
    struct msmem_file in = {.data = obj->data, .len = obj->len};
    struct mschmd_header *hdr = chm->open(chm, (const char *)&in);
    if (!hdr) {
        if (!ms.stopped)
            broken(ctx, obj, "CHM");
        mspack_destroy_chm_decompressor(chm);
        return;
    }
    unsigned index = 0, readable = 0;
    bool damaged = false;
    for (struct mschmd_file *f = hdr->files; f; f = f->next) {
        if (ms.stopped || scan_should_stop(ctx, obj->where))
            break;
        index++;
        if (f->length <= 0)
            continue; /* directories and empty files */
        struct scan_out out;
        scan_out_init(&out, ctx, obj);
        struct msmem_file of = {.out = &out};
        int err = chm->extract(chm, f, (const char *)&of);
        scan_out_report(ctx, obj, &out);
        if (err != MSPACK_ERR_OK && !out.over)
            damaged = true;
        bool go = true;
        if (out.len) {
            char fallback[32], label[SCAN_LABEL_MAX], name[FMT_NAME_MAX];
            snprintf(fallback, sizeof fallback, "member%u", index);
            const char *fname = f->filename ? f->filename : "";
            names_from((const uint8_t *)fname, strlen(fname), name, sizeof name, label,
                       sizeof label, fallback);
            readable++;
            go = hand(ctx, obj, label, out.data, out.len, name);
        }
        scan_out_free(&out);
        if (!go)
            break;
    }
    if (damaged && readable == 0 && !ms.stopped)
        broken(ctx, obj, "CHM");
    chm->close(chm, hdr);
    mspack_destroy_chm_decompressor(chm);
}

/*
 * SZDD (MS-DOS COMPRESS.EXE, "file.ex_"): one LZSS stream. The header
 * keeps the last character of the name the file is expanded to, so
 * "clam.ex_" with 'e' becomes "clam.exe".
 */
static void szdd_scan(struct scan_ctx *ctx, const struct scan_object *obj)
{
    struct msmem_sys ms;
    if (!msmem_init(&ms, ctx, obj))
        return;
    struct msszdd_decompressor *szdd = mspack_create_szdd_decompressor(&ms.sys);
    if (!szdd) {
        scan_found(ctx, SCAN_ERROR, "Rampart.Error.OutOfMemory", obj->where);
        return;
    }
    struct msmem_file in = {.data = obj->data, .len = obj->len};
    struct msszddd_header *hdr = szdd->open(szdd, (const char *)&in);
    if (!hdr) {
        if (!ms.stopped)
            broken(ctx, obj, "SZDD");
        mspack_destroy_szdd_decompressor(szdd);
        return;
    }
    struct scan_out out;
    scan_out_init(&out, ctx, obj);
    struct msmem_file of = {.out = &out};
    int err = szdd->extract(szdd, hdr, (const char *)&of);
    scan_out_report(ctx, obj, &out);

    char name[FMT_NAME_MAX], label[SCAN_LABEL_MAX];
    const char *given = obj->name ? obj->name : "";
    size_t glen = 0;
    const uint8_t *base = path_base((const uint8_t *)given, strnlen(given, FMT_NAME_MAX), &glen);
    names_from(base, glen, name, sizeof name, label, sizeof label, NULL);
    size_t nlen = strlen(name);
    uint8_t missing = (uint8_t)hdr->missing_char;
    if (nlen && name[nlen - 1] == '_' && missing >= 0x20 && missing < 0x7f)
        name[nlen - 1] = (char)missing;
    else if (nlen > 5 && strcasecmp(name + nlen - 5, ".szdd") == 0)
        name[nlen -= 5] = '\0';
    if (!nlen)
        snprintf(name, sizeof name, "data");
    scan_member_label(label, sizeof label, name, strlen(name), "data");

    if (out.len || err == MSPACK_ERR_OK)
        hand(ctx, obj, label, out.data, out.len, name);
    else if (!ms.stopped)
        broken(ctx, obj, "SZDD");
    scan_out_free(&out);
    szdd->close(szdd, hdr);
    mspack_destroy_szdd_decompressor(szdd);
}

/* ---- OLE2 compound files ---- */

/*
 * An OLE2 compound file (MS-CFB) is a small FAT file system: a 512-byte
 * header, sectors of 512 (version 3) or 4096 bytes (version 4) chained by a
 * FAT whose own sectors the header and the DIFAT chain list, a directory of
 * 128-byte entries, and a mini stream (the root entry's chain) of 64-byte
 * sectors chained by the mini FAT for streams under the cutoff (4096).
 * Office documents keep their text, macros (VBA storage), embedded objects
 * (ObjectPool) and packaged files (\1Ole10Native) in its streams; each
 * stream is handed on as a member, and a Package's file in place of its
 * \1Ole10Native stream. Directory entries are read as a flat array, not
 * as the red-black tree they form: an entry left out of the tree is still
 * a stream worth scanning, and there is no tree to loop in.
 *
 * Every chain is followed through a bitmap of the sectors already used:
 * in a sound file each sector belongs to one chain, so a loop, or two
 * streams sharing sectors, ends the chain instead of multiplying the work.
 * The whole walk reads each sector of the file at most once.
 */
#define CFB_END 0xfffffffeu
#define CFB_MAX_SECT 0xfffffffau /* above: special values (free, end, FAT...) */
#define CFB_DIR_ENTRY 128
#define CFB_MINI_SECTOR 64
#define CFB_TYPE_STREAM 2
#define CFB_TYPE_ROOT 5

struct cfb {
    const uint8_t *data;
    size_t len;
    unsigned shift;        /* sector size = 1 << shift */
    uint32_t nsect;        /* sectors after the header, the last maybe partial */
    uint32_t *fat;
    uint32_t nfat;
    uint32_t *minifat;
    uint32_t nminifat;
    uint8_t *used;         /* bitmap: regular sectors already in a chain */
    uint8_t *miniused;     /* bitmap: mini sectors already in a chain */
    uint32_t *ministream;  /* the root chain: the mini stream's sectors */
    uint32_t nministream;
};

/// Sector s's bytes and how many of them the file has (the last may be cut).
static const uint8_t *cfb_sector(const struct cfb *c, uint32_t s, size_t *size)
{
    size_t ss = (size_t)1 << c->shift;
    *size = 0;
    if (s >= c->nsect)
        return NULL;
    size_t off = ((size_t)s + 1) * ss;
    *size = c->len - off < ss ? c->len - off : ss;
    return c->data + off;
}

static bool bit_take(uint8_t *map, uint32_t i)
{
    if (map[i >> 3] & (1u << (i & 7)))
        return false;
    map[i >> 3] |= (uint8_t)(1u << (i & 7));
    return true;
}

/// Next sector of a regular chain, or CFB_END when it ends, leaves the
/// file or comes back to a sector already used.
static uint32_t cfb_next(struct cfb *c, uint32_t s)
{
    if (s >= c->nfat)
        return CFB_END;
    uint32_t n = c->fat[s];
    return n < c->nsect && bit_take(c->used, n) ? n : CFB_END;
}

static uint32_t cfb_first(struct cfb *c, uint32_t s)
{
    return s < c->nsect && bit_take(c->used, s) ? s : CFB_END;
}

/// Reads a regular chain into out: at most size bytes (and out's budget).
static void cfb_read_chain(struct cfb *c, uint32_t start, uint64_t size, struct scan_out *out)
{
    for (uint32_t s = cfb_first(c, start); s != CFB_END && size > 0; s = cfb_next(c, s)) {
        size_t have = 0;
        const uint8_t *sec = cfb_sector(c, s, &have);
        size_t n = size < have ? (size_t)size : have;
        size -= n;
        if (!scan_out_put(out, sec, n) || have < ((size_t)1 << c->shift))
            break;
    }
}

/// Reads a chain of little-endian u32 (the DIFAT-listed FAT, the mini FAT)
/// into a new array of at most cap entries.
static uint32_t *cfb_read_u32s(struct cfb *c, const uint32_t *sectors, uint32_t nsectors,
                               uint32_t *count)
{
    uint32_t per = (uint32_t)1 << (c->shift - 2);
    uint32_t *v = malloc(((size_t)nsectors * per + 1) * sizeof *v);
    *count = 0;
    if (!v)
        return NULL;
    for (uint32_t i = 0; i < nsectors; i++) {
        size_t have = 0;
        const uint8_t *sec = cfb_sector(c, sectors[i], &have);
        if (!sec || have < ((size_t)1 << c->shift))
            break; /* a table sector cut off: the table ends before it */
        struct rbuf b = rbuf_make(sec, have);
        for (uint32_t k = 0; k < per; k++)
            v[(*count)++] = rd_le32(&b);
    }
    return v;
}

/*
 * Loads the FAT: its sector numbers are the header's 109 DIFAT entries,
 * then the DIFAT chain's (each DIFAT sector lists FAT sectors and ends with
 * the next DIFAT sector; the chain is not in the FAT, so the used bitmap
 * guards it). Never more FAT sectors than the file has sectors.
 */
static bool cfb_load_fat(struct cfb *c)
{
    struct rbuf h = rbuf_make(c->data, c->len);
    rbuf_take(&h, 0x2c);
    uint32_t want = rd_le32(&h);
    rbuf_take(&h, 0x44 - 0x30);
    uint32_t difat = rd_le32(&h);
    rd_le32(&h); /* DIFAT sector count: the chain's end says it better */
    if (want > c->nsect)
        want = c->nsect;
    uint32_t *list = malloc(((size_t)want + 1) * sizeof *list);
    if (!list)
        return false;
    uint32_t n = 0;
    for (int i = 0; i < 109 && n < want; i++) {
        uint32_t s = rd_le32(&h);
        if (s <= CFB_MAX_SECT)
            list[n++] = s;
    }
    uint32_t per = ((uint32_t)1 << (c->shift - 2)) - 1;
    for (uint32_t s = cfb_first(c, difat); s != CFB_END && n < want;) {
        size_t have = 0;
        const uint8_t *sec = cfb_sector(c, s, &have);
        struct rbuf d = rbuf_make(sec, have);
        for (uint32_t i = 0; i < per && n < want; i++) {
            uint32_t f = rd_le32(&d);
            if (f <= CFB_MAX_SECT && !d.err)
                list[n++] = f;
        }
        if (have < ((size_t)1 << c->shift))
            break;
        struct rbuf nx = rbuf_make(sec + have - 4, 4);
        s = cfb_first(c, rd_le32(&nx));
    }
    c->fat = cfb_read_u32s(c, list, n, &c->nfat);
    free(list);
    return c->fat != NULL;
}

/// Loads the mini FAT (a regular chain of u32 arrays) and the mini stream's
/// sector list (the root entry's chain).
static bool cfb_load_mini(struct cfb *c, uint32_t minifat_start, uint32_t root_start)
{
    uint32_t *list = malloc(((size_t)c->nsect + 1) * sizeof *list);
    if (!list)
        return false;
    uint32_t n = 0;
    for (uint32_t s = cfb_first(c, minifat_start); s != CFB_END; s = cfb_next(c, s))
        list[n++] = s; /* each sector once: n <= nsect */
    c->minifat = cfb_read_u32s(c, list, n, &c->nminifat);
    c->miniused = calloc((size_t)c->nminifat / 8 + 1, 1);
    n = 0;
    for (uint32_t s = cfb_first(c, root_start); s != CFB_END; s = cfb_next(c, s))
        list[n++] = s;
    c->ministream = list;
    c->nministream = n;
    return c->minifat && c->miniused;
}

/// Reads a mini chain into out: at most size bytes (and out's budget).
static void cfb_read_mini(struct cfb *c, uint32_t start, uint64_t size, struct scan_out *out)
{
    unsigned per_sector = c->shift - 6; /* log2 of mini sectors per sector */
    for (uint32_t s = start; s < c->nminifat && size > 0 && bit_take(c->miniused, s);
         s = c->minifat[s]) {
        uint32_t idx = s >> per_sector;
        if (idx >= c->nministream)
            break;
        size_t have = 0;
        const uint8_t *sec = cfb_sector(c, c->ministream[idx], &have);
        size_t at = (size_t)(s & ((1u << per_sector) - 1)) * CFB_MINI_SECTOR;
        if (!sec || at + CFB_MINI_SECTOR > have)
            break;
        size_t n = size < CFB_MINI_SECTOR ? (size_t)size : CFB_MINI_SECTOR;
        size -= n;
        if (!scan_out_put(out, sec + at, n))
            break;
    }
}

static bool cfb_open(struct cfb *c, const uint8_t *data, size_t len)
{
    static const uint8_t magic[8] = {0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1};
    memset(c, 0, sizeof *c);
    if (len < 512 || memcmp(data, magic, 8) != 0)
        return false;
    struct rbuf h = rbuf_make(data, len);
    rbuf_take(&h, 0x1e);
    c->shift = rd_le16(&h);
    unsigned minishift = rd_le16(&h);
    if ((c->shift != 9 && c->shift != 12) || minishift != 6)
        return false;
    c->data = data;
    c->len = len;
    size_t ss = (size_t)1 << c->shift;
    size_t nsect = len > ss ? (len - ss + ss - 1) / ss : 0;
    c->nsect = nsect > CFB_MAX_SECT ? CFB_MAX_SECT : (uint32_t)nsect;
    c->used = calloc((size_t)c->nsect / 8 + 1, 1);
    return c->used != NULL;
}

static void cfb_close(struct cfb *c)
{
    free(c->fat);
    free(c->minifat);
    free(c->used);
    free(c->miniused);
    free(c->ministream);
}

/*
 * PowerPoint keeps embedded objects inside its "PowerPoint Document" stream,
 * not as OLE2 storages: ExOleObjStg records (type 0x1011) whose instance 1
 * means a u32 unpacked size and a zlib stream, instance 0 the bytes as they
 * are. The records form a tree (version 0xF marks a container), but a
 * container's children simply follow its header, so one linear walk that
 * steps into containers and over atoms visits them all.
 */
#define PPT_EXOLEOBJSTG 0x1011

static bool ppt_objects(struct scan_ctx *ctx, const struct scan_object *obj, const struct scan_out *doc)
{
    struct rbuf b = rbuf_make(doc->data, doc->len);
    unsigned index = 0;
    while (rbuf_left(&b) >= 8) {
        uint16_t verinst = rd_le16(&b);
        uint16_t type = rd_le16(&b);
        uint32_t len = rd_le32(&b);
        if ((verinst & 0xf) == 0xf)
            continue; /* a container: its children follow */
        size_t have = rbuf_left(&b);
        const uint8_t *body = rbuf_take(&b, len < have ? len : have);
        if (type != PPT_EXOLEOBJSTG || !body)
            continue;
        size_t blen = len < have ? len : have;
        char label[32];
        snprintf(label, sizeof label, "ExOleObjStg%u", ++index);
        bool go;
        if ((verinst >> 4) == 1 && blen > 4) {
            const char *limit = NULL;
            uint64_t budget = scan_child_budget(ctx, obj, &limit);
            size_t n;
            bool full;
            uint8_t *d = scan_inflate(body + 4, blen - 4, 15, budget, 0, &n, &full);
            if (full)
                scan_limit(ctx, limit, obj->where);
            go = !d || hand(ctx, obj, label, d, n, NULL);
            free(d);
        } else {
            go = hand(ctx, obj, label, body, blen, NULL);
        }
        if (!go)
            return false;
    }
    return true;
}

/// Hands on one stream, or the file a \1Ole10Native stream packages.
static bool ole2_stream(struct scan_ctx *ctx, const struct scan_object *obj, const char *name,
                        const char *label, const struct scan_out *out)
{
    const uint8_t *file;
    size_t flen;
    char pname[FMT_NAME_MAX], plabel[SCAN_LABEL_MAX];
    /* \1Ole10Native: u32 size, then a Package's native data (as in RTF) */
    if (strcmp(name, "\x01Ole10Native") == 0 && out->len > 4 &&
        package_parse(out->data + 4, out->len - 4, &file, &flen, pname, sizeof pname)) {
        scan_member_label(plabel, sizeof plabel, pname, strlen(pname), label);
        return hand(ctx, obj, plabel, file, flen, pname);
    }
    if (!hand(ctx, obj, label, out->data, out->len, NULL))
        return false;
    if (strcmp(name, "PowerPoint Document") == 0)
        return ppt_objects(ctx, obj, out);
    return true;
}

static void ole2_scan(struct scan_ctx *ctx, const struct scan_object *obj)
{
    struct cfb c;
    if (!cfb_open(&c, obj->data, obj->len)) {
        free(c.used);
        broken(ctx, obj, "OLE2");
        return;
    }
    struct rbuf h = rbuf_make(obj->data, obj->len);
    rbuf_take(&h, 0x30);
    uint32_t dir_start = rd_le32(&h);
    rd_le32(&h); /* transaction signature */
    uint32_t cutoff = rd_le32(&h);
    uint32_t minifat_start = rd_le32(&h);

    bool nomem = !cfb_load_fat(&c);
    /* the directory, read whole: it is never larger than the file */
    struct scan_out dir = {.budget = obj->len, .limit = "MaxFileSize"};
    if (!nomem)
        cfb_read_chain(&c, dir_start, UINT64_MAX, &dir);
    nomem |= dir.nomem;
    if (!nomem) {
        uint32_t root_start = CFB_END;
        if (dir.len >= CFB_DIR_ENTRY && dir.data[0x42] == CFB_TYPE_ROOT) {
            struct rbuf r = rbuf_make(dir.data + 0x74, 4);
            root_start = rd_le32(&r);
        }
        nomem = !cfb_load_mini(&c, minifat_start, root_start);
    }

    unsigned readable = 0;
    for (size_t off = 0; !nomem && off + CFB_DIR_ENTRY <= dir.len; off += CFB_DIR_ENTRY) {
        const uint8_t *e = dir.data + off;
        if (e[0x42] != CFB_TYPE_STREAM)
            continue;
        struct rbuf r = rbuf_make(e, CFB_DIR_ENTRY);
        rbuf_take(&r, 0x40);
        uint16_t name_len = rd_le16(&r);
        rbuf_take(&r, 0x74 - 0x42);
        uint32_t start = rd_le32(&r);
        uint64_t size = rd_le32(&r);
        uint64_t size_hi = rd_le32(&r);
        if (c.shift == 12)
            size |= size_hi << 32; /* version 3 leaves the high half undefined */

        char name[FMT_NAME_MAX], label[SCAN_LABEL_MAX], fallback[32];
        utf16le_to_utf8(e, name_len <= 64 ? name_len : 64, name, sizeof name);
        snprintf(fallback, sizeof fallback, "stream%zu", off / CFB_DIR_ENTRY);
        scan_member_label(label, sizeof label, name, strlen(name), fallback);

        struct scan_out out;
        scan_out_init(&out, ctx, obj);
        if (size < cutoff)
            cfb_read_mini(&c, start, size, &out);
        else
            cfb_read_chain(&c, start, size, &out);
        scan_out_report(ctx, obj, &out);
        bool go = true;
        if (out.len) {
            readable++;
            go = ole2_stream(ctx, obj, name, label, &out);
        }
        scan_out_free(&out);
        if (!go || scan_should_stop(ctx, obj->where))
            break;
    }
    if (nomem)
        scan_found(ctx, SCAN_ERROR, "Rampart.Error.OutOfMemory", obj->where);
    else if (readable == 0 && dir.len == 0)
        broken(ctx, obj, "OLE2");
    scan_out_free(&dir);
    cfb_close(&c);
}

/* ---- dispatch ---- */

void scan_formats(struct scan_ctx *ctx, const struct scan_object *obj)
{
    switch (obj->type) {
    case SCAN_TYPE_TNEF: tnef_scan(ctx, obj); break;
    case SCAN_TYPE_BINHEX: binhex_scan(ctx, obj); break;
    case SCAN_TYPE_RTF: rtf_scan(ctx, obj); break;
    case SCAN_TYPE_CHM: chm_scan(ctx, obj); break;
    case SCAN_TYPE_SZDD: szdd_scan(ctx, obj); break;
    case SCAN_TYPE_OLE2: ole2_scan(ctx, obj); break;
    default: break;
    }
}
