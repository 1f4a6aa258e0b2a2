/*
 * mime: a message's parts, the way a mail client would open them.
 *
 * GMime 3 parses the message leniently (broken boundaries, missing
 * headers, bad encodings are read as a client would read them, since that is
 * what the user sees and runs). Every leaf part is decoded from its transfer
 * encoding (base64, quoted-printable, uuencode) and handed on as a child
 * labelled with its section number (IMAP style: "2", "2.1") and its file name
 * (RFC 2047/2231 decoded by GMime): "2:invoice.zip". A nested message
 * (message/rfc822) is a child of type mail, so it recurses with the depth
 * limit. An mbox file ("From " lines) is read message by message.
 *
 * Cost: GMime copies the message once into its stream and builds a part tree
 * (memory about the size of the message); each part is decoded once.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <gmime/gmime.h>

#include "scan/scan_priv.h"

static pthread_once_t mime_once = PTHREAD_ONCE_INIT;

static void mime_setup(void) { g_mime_init(); }

void scan_mime_init(void) { pthread_once(&mime_once, mime_setup); }

/* GMime builds nested multiparts by recursion. Far more nesting than any
 * mail has would only be there to exhaust the stack: a message with more
 * than this many multipart headers is not opened (its raw bytes were
 * already matched) and is reported as MaxRecursion. */
enum { MAX_MULTIPART_HEADERS = 2000 };

static size_t count_multipart(const uint8_t *d, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i + 10 <= len; i++) {
        if ((d[i] | 0x20) != 'm')
            continue;
        if (strncasecmp((const char *)d + i, "multipart/", 10) == 0 && ++n > MAX_MULTIPART_HEADERS)
            break;
    }
    return n;
}

struct walk {
    struct scan_ctx *ctx;
    const struct scan_object *msg;
};

static void lower(char *s)
{
    for (; *s; s++)
        *s = (char)tolower((unsigned char)*s);
}

/* Base64 by our own decoder: GMime's drops a final group that lost its
 * padding ("SCo" for "SCo="), where mail clients decode its bytes - and a
 * worm that trims the padding must not get two bytes past the hashes. */
static bool decode_base64(GMimeDataWrapper *content, GMimeStream *out)
{
    GMimeStream *raw = g_mime_data_wrapper_get_stream(content);
    GMimeStream *enc = g_mime_stream_mem_new();
    bool ok = false;
    if (raw && g_mime_stream_reset(raw) == 0 && g_mime_stream_write_to_stream(raw, enc) >= 0) {
        GByteArray *in = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(enc));
        uint8_t *dec = g_malloc(in->len / 4 * 3 + 3);
        size_t n = scan_base64_decode(in->data, in->len, dec);
        ok = g_mime_stream_write(out, (const char *)dec, n) == (ssize_t)n;
        g_free(dec);
    }
    g_object_unref(enc);
    return ok;
}

/* One leaf: decode it and hand it on. */
static void walk_leaf(struct walk *wk, GMimePart *part, const char *section)
{
    GMimeDataWrapper *content = g_mime_part_get_content(part);
    if (!content)
        return;
    GMimeStream *out = g_mime_stream_mem_new();
    bool b64 = g_mime_data_wrapper_get_encoding(content) == GMIME_CONTENT_ENCODING_BASE64;
    if (b64 ? !decode_base64(content, out) : g_mime_data_wrapper_write_to_stream(content, out) < 0) {
        g_object_unref(out);
        return;
    }
    GByteArray *bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(out));
    const char *filename = g_mime_part_get_filename(part);
    char *declared = NULL;
    /* No Content-Type header: no declared type (GMime would report the
     * RFC 2045 default, text/plain, which is not the sender's word). */
    GMimeContentType *ct = g_mime_object_get_header(GMIME_OBJECT(part), "Content-Type")
                               ? g_mime_object_get_content_type(GMIME_OBJECT(part)) : NULL;
    if (ct) {
        declared = g_mime_content_type_get_mime_type(ct);
        if (declared)
            lower(declared);
    }
    char label[256];
    if (filename && filename[0])
        snprintf(label, sizeof label, "%s:%s", section, filename);
    else
        snprintf(label, sizeof label, "%s", section);
    if (scan_take(wk->ctx, wk->msg, bytes->len))
        scan_child(wk->ctx, wk->msg, label, bytes->data, bytes->len, filename, declared);
    g_free(declared);
    g_object_unref(out);
}

static void walk_object(struct walk *wk, GMimeObject *obj, const char *section, unsigned level);

/* A message inside the message: serialised back to bytes and scanned as a
 * child, so that it gets its own headers' heuristics and the depth limit. */
static void walk_message_part(struct walk *wk, GMimeMessagePart *mp, const char *section)
{
    GMimeMessage *inner = g_mime_message_part_get_message(mp);
    if (!inner)
        return;
    GMimeStream *out = g_mime_stream_mem_new();
    if (g_mime_object_write_to_stream(GMIME_OBJECT(inner), NULL, out) >= 0) {
        GByteArray *bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(out));
        if (scan_take(wk->ctx, wk->msg, bytes->len))
            scan_child(wk->ctx, wk->msg, section, bytes->data, bytes->len, NULL, "message/rfc822");
    }
    g_object_unref(out);
}

static void walk_object(struct walk *wk, GMimeObject *obj, const char *section, unsigned level)
{
    if (!obj || scan_should_stop(wk->ctx, wk->msg->where))
        return;
    if (GMIME_IS_MULTIPART(obj)) {
        GMimeMultipart *mp = GMIME_MULTIPART(obj);
        int n = g_mime_multipart_get_count(mp);
        for (int i = 0; i < n; i++) {
            /* Section numbers of parts nested past 32 levels are cut short:
             * still unique enough to find the part, bounded in size. */
            char sub[160];
            int k = level == 0 ? snprintf(sub, sizeof sub, "%d", i + 1)
                               : snprintf(sub, sizeof sub, "%.120s.%d", section, i + 1);
            if (k < 0)
                continue;
            walk_object(wk, g_mime_multipart_get_part(mp, i), sub, level + 1);
        }
    } else if (GMIME_IS_MESSAGE_PART(obj)) {
        walk_message_part(wk, GMIME_MESSAGE_PART(obj), section);
    } else if (GMIME_IS_PART(obj)) {
        walk_leaf(wk, GMIME_PART(obj), section);
    }
}

static char *addresses(GMimeMessage *m, GMimeAddressType t1, GMimeAddressType t2)
{
    InternetAddressList *a = g_mime_message_get_addresses(m, t1);
    InternetAddressList *b = g_mime_message_get_addresses(m, t2);
    char *sa = a ? internet_address_list_to_string(a, NULL, FALSE) : NULL;
    char *sb = b ? internet_address_list_to_string(b, NULL, FALSE) : NULL;
    if (!sb)
        return sa;
    if (!sa)
        return sb;
    char *both = g_strconcat(sa, ", ", sb, NULL);
    g_free(sa);
    g_free(sb);
    return both;
}

static void walk_message(struct walk *wk, GMimeMessage *m)
{
    char *from = addresses(m, GMIME_ADDRESS_TYPE_FROM, GMIME_ADDRESS_TYPE_SENDER);
    char *to = addresses(m, GMIME_ADDRESS_TYPE_TO, GMIME_ADDRESS_TYPE_CC);
    heur_headers(wk->ctx, wk->msg, from, to, g_mime_message_get_subject(m));
    g_free(from);
    g_free(to);
    GMimeObject *body = g_mime_message_get_mime_part(m);
    /* A single-part message's body is section "1", as in IMAP. */
    walk_object(wk, body, "1", 0);
}

void scan_mime(struct scan_ctx *ctx, const struct scan_object *obj)
{
    if (count_multipart(obj->data, obj->len) > MAX_MULTIPART_HEADERS) {
        scan_limit(ctx, "MaxRecursion", obj->where);
        return;
    }
    GMimeStream *in = g_mime_stream_mem_new_with_buffer((const char *)obj->data, obj->len);
    GMimeParser *parser = g_mime_parser_new_with_stream(in);
    bool mbox = obj->len >= 5 && memcmp(obj->data, "From ", 5) == 0;
    g_mime_parser_set_format(parser, mbox ? GMIME_FORMAT_MBOX : GMIME_FORMAT_MESSAGE);
    struct walk wk = {ctx, obj};
    if (!mbox) {
        GMimeMessage *m = g_mime_parser_construct_message(parser, NULL);
        if (m) {
            walk_message(&wk, m);
            g_object_unref(m);
        }
    } else {
        /* Each message of the mailbox is a child of its own, labelled by its
         * number, so that the depth and the headers' heuristics apply to it. */
        unsigned n = 0;
        while (!g_mime_parser_eos(parser) && !scan_should_stop(ctx, obj->where)) {
            GMimeMessage *m = g_mime_parser_construct_message(parser, NULL);
            if (!m)
                break;
            n++;
            struct scan_object one = *obj;
            char where[512];
            if (obj->where[0])
                snprintf(where, sizeof where, "%s/msg%u", obj->where, n);
            else
                snprintf(where, sizeof where, "msg%u", n);
            one.where = where;
            struct walk w1 = {ctx, &one};
            walk_message(&w1, m);
            g_object_unref(m);
        }
    }
    g_object_unref(parser);
    g_object_unref(in);
}
