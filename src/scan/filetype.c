/*
 * filetype: what a run of bytes is, from its content alone.
 *
 * The name and the declared MIME type of an attachment are the sender's word;
 * the walk decides how to open a thing by its magic bytes, and the heuristics
 * compare the two. Detection looks at the first bytes (and for tar at the
 * header checksum, for mail and HTML at the first lines), never past len.
 */
#include <string.h>
#include <strings.h>

#include "scan/scan_priv.h"

static const char *const type_names[SCAN_TYPE_COUNT] = {
    [SCAN_TYPE_UNKNOWN] = "binary", [SCAN_TYPE_TEXT] = "text",     [SCAN_TYPE_MAIL] = "mail",
    [SCAN_TYPE_HTML] = "html",      [SCAN_TYPE_PE] = "pe",         [SCAN_TYPE_ELF] = "elf",
    [SCAN_TYPE_MACHO] = "macho",    [SCAN_TYPE_SCRIPT] = "script", [SCAN_TYPE_ZIP] = "zip",
    [SCAN_TYPE_RAR] = "rar",        [SCAN_TYPE_7Z] = "7z",         [SCAN_TYPE_GZIP] = "gzip",
    [SCAN_TYPE_BZIP2] = "bzip2",    [SCAN_TYPE_XZ] = "xz",         [SCAN_TYPE_CAB] = "cab",
    [SCAN_TYPE_TAR] = "tar",        [SCAN_TYPE_CPIO] = "cpio",     [SCAN_TYPE_LHA] = "lha",
    [SCAN_TYPE_ARJ] = "arj",        [SCAN_TYPE_ISO9660] = "iso9660", [SCAN_TYPE_TNEF] = "tnef",
    [SCAN_TYPE_CHM] = "chm",        [SCAN_TYPE_SZDD] = "szdd",     [SCAN_TYPE_RTF] = "rtf",
    [SCAN_TYPE_BINHEX] = "binhex",  [SCAN_TYPE_OLE2] = "ole2",     [SCAN_TYPE_PDF] = "pdf",
    [SCAN_TYPE_GRAPHICS] = "graphics", [SCAN_TYPE_SIS] = "sis",
};

const char *scan_type_name(enum scan_type t)
{
    return (unsigned)t < SCAN_TYPE_COUNT && type_names[t] ? type_names[t] : "binary";
}

bool scan_type_is_container(enum scan_type t)
{
    switch (t) {
    case SCAN_TYPE_MAIL: case SCAN_TYPE_ZIP: case SCAN_TYPE_RAR: case SCAN_TYPE_7Z:
    case SCAN_TYPE_GZIP: case SCAN_TYPE_BZIP2: case SCAN_TYPE_XZ: case SCAN_TYPE_CAB:
    case SCAN_TYPE_TAR: case SCAN_TYPE_CPIO: case SCAN_TYPE_LHA: case SCAN_TYPE_ARJ:
    case SCAN_TYPE_ISO9660: case SCAN_TYPE_TNEF: case SCAN_TYPE_CHM: case SCAN_TYPE_SZDD:
    case SCAN_TYPE_RTF: case SCAN_TYPE_BINHEX: case SCAN_TYPE_OLE2: case SCAN_TYPE_SIS:
        return true;
    default:
        return false;
    }
}

static bool has_prefix(const uint8_t *d, size_t len, const void *magic, size_t n)
{
    return len >= n && memcmp(d, magic, n) == 0;
}

/* A tar header: "ustar" at 257, or (old tar) a valid octal checksum over the
 * 512-byte header block. */
static bool is_tar(const uint8_t *d, size_t len)
{
    if (len < 512)
        return false;
    if (memcmp(d + 257, "ustar", 5) == 0)
        return true;
    unsigned long want = 0;
    size_t i = 148, digits = 0;
    while (i < 156 && d[i] == ' ')
        i++;
    for (; i < 156 && d[i] >= '0' && d[i] <= '7'; i++, digits++)
        want = want * 8 + (unsigned long)(d[i] - '0');
    if (digits == 0 || d[0] == 0)
        return false;
    unsigned long sum = 0;
    for (size_t k = 0; k < 512; k++)
        sum += (k >= 148 && k < 156) ? ' ' : d[k];
    return sum == want;
}

/* How the first bytes of a text read: as a message (header lines), as HTML,
 * as a script, as BinHex, or as plain text. Bytes that are mostly
 * non-printable make it binary. */
static bool looks_text(const uint8_t *d, size_t len)
{
    size_t n = len < 4096 ? len : 4096, bad = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = d[i];
        if (c == 0)
            return false;
        if (c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != 0x1b)
            bad++;
    }
    return bad * 100 <= n;  /* at most 1% control bytes */
}

static bool ci_prefix(const uint8_t *d, size_t len, const char *s)
{
    size_t n = strlen(s);
    return len >= n && strncasecmp((const char *)d, s, n) == 0;
}

/* A header field name: printable ASCII up to ':' with no spaces. */
static size_t header_name_len(const uint8_t *d, size_t len)
{
    size_t i = 0;
    while (i < len && i < 76 && d[i] > 0x20 && d[i] < 0x7f && d[i] != ':')
        i++;
    return i < len && d[i] == ':' && i > 0 ? i : 0;
}

/* Mail: "From " (mbox) or a run of header fields that includes one a message
 * has (From, To, Subject, Received, Return-Path, MIME-Version, Date,
 * Message-ID, Content-Type), before the first empty line. */
static bool looks_mail(const uint8_t *d, size_t len)
{
    if (has_prefix(d, len, "From ", 5))
        return true;
    static const char *const known[] = {"from", "to", "subject", "received", "return-path",
                                        "mime-version", "date", "message-id", "content-type",
                                        "delivered-to", "x-mailer", "reply-to", "sender"};
    size_t pos = 0, fields = 0, known_fields = 0;
    while (pos < len && fields < 64) {
        if (d[pos] == '\n' || (d[pos] == '\r' && pos + 1 < len && d[pos + 1] == '\n'))
            break;  /* end of headers */
        if (d[pos] == ' ' || d[pos] == '\t') {
            if (fields == 0)
                return false;  /* continuation first */
        } else {
            size_t n = header_name_len(d + pos, len - pos);
            if (n == 0)
                return false;
            fields++;
            for (size_t k = 0; k < sizeof known / sizeof *known; k++)
                if (strlen(known[k]) == n && strncasecmp((const char *)d + pos, known[k], n) == 0)
                    known_fields++;
        }
        const uint8_t *nl = memchr(d + pos, '\n', len - pos);
        if (!nl)
            break;
        pos = (size_t)(nl - d) + 1;
    }
    return fields >= 2 && known_fields >= 1;
}

static bool has_html_tag(const uint8_t *d, size_t len)
{
    static const char *const tags[] = {"<html", "<!doctype html", "<head", "<body", "<iframe",
                                       "<script", "<table", "<div", "<p>", "<br", "<a href"};
    size_t n = len < 2048 ? len : 2048;
    for (size_t i = 0; i < n; i++) {
        if (d[i] != '<')
            continue;
        for (size_t k = 0; k < sizeof tags / sizeof *tags; k++)
            if (ci_prefix(d + i, n - i, tags[k]))
                return true;
    }
    return false;
}

enum scan_type scan_type_detect(const uint8_t *d, size_t len)
{
    if (len < 2)
        return len == 0 ? SCAN_TYPE_UNKNOWN : SCAN_TYPE_TEXT;
    if (d[0] == 'M' && d[1] == 'Z')
        return SCAN_TYPE_PE;
    if (has_prefix(d, len, "\x7f" "ELF", 4))
        return SCAN_TYPE_ELF;
    if (has_prefix(d, len, "\xfe\xed\xfa\xce", 4) || has_prefix(d, len, "\xce\xfa\xed\xfe", 4) ||
        has_prefix(d, len, "\xfe\xed\xfa\xcf", 4) || has_prefix(d, len, "\xcf\xfa\xed\xfe", 4))
        return SCAN_TYPE_MACHO;
    if (has_prefix(d, len, "PK\x03\x04", 4) || has_prefix(d, len, "PK\x05\x06", 4) ||
        has_prefix(d, len, "PK\x07\x08", 4))
        return SCAN_TYPE_ZIP;
    if (has_prefix(d, len, "Rar!\x1a\x07", 6))
        return SCAN_TYPE_RAR;
    if (has_prefix(d, len, "7z\xbc\xaf\x27\x1c", 6))
        return SCAN_TYPE_7Z;
    if (has_prefix(d, len, "\x1f\x8b", 2))
        return SCAN_TYPE_GZIP;
    if (has_prefix(d, len, "BZh", 3))
        return SCAN_TYPE_BZIP2;
    if (has_prefix(d, len, "\xfd" "7zXZ\0", 6))
        return SCAN_TYPE_XZ;
    if (has_prefix(d, len, "MSCF\0\0\0\0", 8))
        return SCAN_TYPE_CAB;
    if (has_prefix(d, len, "ITSF", 4))
        return SCAN_TYPE_CHM;
    if (has_prefix(d, len, "SZDD\x88\xf0\x27\x33", 8))
        return SCAN_TYPE_SZDD;
    if (has_prefix(d, len, "\x78\x9f\x3e\x22", 4))
        return SCAN_TYPE_TNEF;
    if (has_prefix(d, len, "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 8))
        return SCAN_TYPE_OLE2;
    /* SIS: UID1 is the application's, anything; UID2 and UID3 at 4 and 8
     * are fixed. Before the two-byte magics below, which UID1 may match. */
    if (scan_sis_magic(d, len))
        return SCAN_TYPE_SIS;
    if (has_prefix(d, len, "\x60\xea", 2))
        return SCAN_TYPE_ARJ;
    if (len >= 7 && d[2] == '-' && d[3] == 'l' && (d[4] == 'h' || d[4] == 'z') && d[6] == '-')
        return SCAN_TYPE_LHA;
    if (has_prefix(d, len, "070707", 6) || has_prefix(d, len, "070701", 6) ||
        has_prefix(d, len, "070702", 6) || has_prefix(d, len, "\xc7\x71", 2) ||
        has_prefix(d, len, "\x71\xc7", 2))
        return SCAN_TYPE_CPIO;
    if (len >= 32774 && memcmp(d + 32769, "CD001", 5) == 0)
        return SCAN_TYPE_ISO9660;
    if (has_prefix(d, len, "%PDF-", 5))
        return SCAN_TYPE_PDF;
    if (has_prefix(d, len, "GIF8", 4) || has_prefix(d, len, "\xff\xd8\xff", 3) ||
        has_prefix(d, len, "\x89PNG\r\n\x1a\n", 8) || has_prefix(d, len, "\0\0\1\0", 4) ||
        (has_prefix(d, len, "BM", 2) && len >= 14 && d[6] == 0 && d[7] == 0 && d[8] == 0 && d[9] == 0))
        return SCAN_TYPE_GRAPHICS;
    if (has_prefix(d, len, "{\\rt", 4))
        return SCAN_TYPE_RTF;
    if (is_tar(d, len))
        return SCAN_TYPE_TAR;
    if (!looks_text(d, len))
        return SCAN_TYPE_UNKNOWN;

    /* Text: skip a UTF-8 byte order mark and leading blank space. */
    size_t i = 0;
    if (has_prefix(d, len, "\xef\xbb\xbf", 3))
        i = 3;
    while (i < len && i < 256 && (d[i] == ' ' || d[i] == '\t' || d[i] == '\r' || d[i] == '\n'))
        i++;
    const uint8_t *t = d + i;
    size_t tl = len - i;
    if (has_prefix(t, tl, "#!", 2))
        return SCAN_TYPE_SCRIPT;
    if (ci_prefix(t, tl, "(This file must be converted with BinHex"))
        return SCAN_TYPE_BINHEX;
    if (looks_mail(d, len))
        return SCAN_TYPE_MAIL;
    if (has_html_tag(t, tl))
        return SCAN_TYPE_HTML;
    if (ci_prefix(t, tl, "@echo off") || ci_prefix(t, tl, "on error resume next") ||
        ci_prefix(t, tl, "set ws") || ci_prefix(t, tl, "<job") || ci_prefix(t, tl, "<package"))
        return SCAN_TYPE_SCRIPT;
    return SCAN_TYPE_TEXT;
}
