/*
 * heur: the engine's heuristics. Named detections that need no signature:
 * an executable delivered in mail, a file name built to deceive, content
 * that is not what its name or MIME type says, HTML that launches other
 * content, a message forged as the recipient's own administrator, and the
 * GTUBE test string.
 *
 * Trust boundary: everything here is hostile (names, declared types, HTML,
 * header text). Every pass is a single linear walk over bytes the caller
 * owns, bounded by obj->len or the string's own end; nothing is allocated.
 * The engine calls heur_object() for every part and member, so the common
 * case (a binary member with an ordinary name) costs a few comparisons.
 *
 * The depth rule. An operator who runs `rampart scan prog.exe` asked about
 * that file and expects "clean" for an ordinary program; a gateway that
 * finds the same program inside a message or an archive is looking at
 * something delivered to a user, which is what the worms of 2003 (Mimail,
 * Klez, Sobig) relied on. So detections of ordinary-but-risky content
 * (executables, scripts) fire only on delivered content, depth > 0. Detections
 * of a trick (a disguised name, a type that lies, an exploit URL, GTUBE) fire
 * at any depth: no honest file needs the trick. What a self-extracting
 * executable carries (obj->in_executable) counts as part of that
 * executable: an installer's DLLs are not delivered on their own.
 *
 * Levels. Infected only where the evidence is certain; everything else is
 * suspicious, which an operator can quarantine rather than reject.
 *
 *  name (bit)                                 level      rule
 *  ------------------------------------------ ---------- ---------------------------------
 *  Heuristics.Executable.<K>.InAttachment     suspicious depth > 0 and the content is PE,
 *  Heuristics.Executable.<K>.InArchive                   ELF, MACHO or SCRIPT (K: PE, ELF,
 *    (EXECUTABLE)                                        MachO, Script); InArchive for an
 *                                                        unpacked member (packed_len > 0).
 *  Heuristics.Executable.Name (EXECUTABLE)    suspicious depth > 0, the name's real extension
 *                                                        runs on Windows (.exe .scr .pif .vbs
 *                                                        .js ... or a {CLSID}), and the
 *                                                        content was not reported above.
 *  Heuristics.Name.DoubleExtension            suspicious a decoy document or media extension
 *    (DOUBLE_EXT)                             /infected  before an executable one
 *                                                        (invoice.pdf.exe; padding between
 *                                                        them too).
 *  Heuristics.Name.RTLO (DOUBLE_EXT)          suspicious a bidi embedding, override or
 *                                             /infected  isolate control (U+202A-U+202E,
 *                                                        U+2066-U+2069) in the name.
 *  Heuristics.Name.PaddedName (DOUBLE_EXT)    suspicious 5 or more spaces, dots, underscores
 *                                             /infected  or Unicode spaces just before an
 *                                                        executable extension.
 *      The three name tricks are infected when the name's real extension is
 *      executable and the content is PE, ELF, MACHO or SCRIPT: a real program
 *      dressed as something else has no honest explanation.
 *  Heuristics.Type.Mismatch (TYPE_MISMATCH)   suspicious content that can run or carry code
 *                                                        (executable, script, HTML, archive,
 *                                                        OLE2, PDF, RTF...) under a name
 *                                                        extension or declared MIME type
 *                                                        that cannot be it (a PE named .jpg
 *                                                        or sent as audio/x-wav, a zip named
 *                                                        .txt). See claim_accepts[].
 *  Heuristics.HTML.IframeCid (HTML_LAUNCH)    suspicious iframe, frame, object, embed or
 *                                                        applet whose src/data/codebase is
 *                                                        a cid: URL.
 *  Heuristics.HTML.MsIts (HTML_LAUNCH)        suspicious an ms-its:, mhtml:, mk:@MSITStore:
 *                                                        or its: URL in a tag or a script.
 *  Heuristics.HTML.Script (HTML_LAUNCH)       suspicious depth > 0 and a <script>, an on*=
 *                                                        event handler, or a javascript: or
 *                                                        vbscript: URL.
 *  Heuristics.Phishing.ForgedAdmin            suspicious From (address or display name) is an
 *    (FORGED_ADMIN)                                      administrative role of a recipient's
 *                                                        own organisation.
 *  Heuristics.Spam.GTUBE (GTUBE)              suspicious the GTUBE string in text, mail or
 *                                                        HTML.
 *
 * Why the HTML findings are only suspicious: an iframe to cid: is how Nimda,
 * Klez and BadTrans launched their executable part (MS01-020), but this
 * object alone cannot see which part the cid: names; the executable part
 * itself is reported by Executable.* and, declared as audio or image, by
 * Type.Mismatch. ms-its: links are legitimate inside a CHM's own pages.
 *
 * Known limits: HTML is not parsed as a browser would (no entity decoding
 * beyond numeric references and a few names, comments are not skipped on
 * purpose: Internet Explorer runs what is inside conditional comments); an
 * attribute value is normalised over its first HEUR_VALUE_MAX bytes only;
 * the organisation of a domain is approximated without the public suffix
 * list (see org_domain()).
 */
#define _GNU_SOURCE /* memmem */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "scan/scan_priv.h"

/* Longest attribute run of one tag we parse; a longer tag is abandoned
 * there and the scan goes on looking for the next '<'. */
#define HEUR_TAG_MAX 16384
/* Bytes of an attribute value normalised for scheme checks. */
#define HEUR_VALUE_MAX 512
/* Bytes of a From or To header looked at. */
#define HEUR_HEADER_MAX 65536
/* From mailboxes considered, recipients compared. */
#define HEUR_FROM_MAX 8
#define HEUR_RCPT_MAX 1000
/* Padding run that makes a name "padded". */
#define HEUR_PAD_MIN 5

static const char gtube[] = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X";

/* ---- small ASCII helpers (locale-independent on purpose) ---- */

static inline int lc(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

static inline bool is_alpha(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

static inline bool is_alnum(int c) { return is_alpha(c) || (c >= '0' && c <= '9'); }

/// True when s[0..n) equals the lowercase literal lit, ignoring ASCII case.
static bool ascii_eq(const char *s, size_t n, const char *lit)
{
    size_t i = 0;
    for (; i < n; i++)
        if (!lit[i] || lc((unsigned char)s[i]) != lit[i])
            return false;
    return lit[i] == '\0';
}

/// True when s[0..n) is one of the words in list (NULL-terminated).
static bool in_list(const char *s, size_t n, const char *const *list)
{
    for (; *list; list++)
        if (ascii_eq(s, n, *list))
            return true;
    return false;
}

/// True when a[0..an) and b[0..bn) are equal ignoring ASCII case.
static bool same_text(const char *a, size_t an, const char *b, size_t bn)
{
    if (an != bn)
        return false;
    for (size_t i = 0; i < an; i++)
        if (lc((unsigned char)a[i]) != lc((unsigned char)b[i]))
            return false;
    return true;
}

static bool starts_with(const char *s, const char *lit)
{
    return strncmp(s, lit, strlen(lit)) == 0;
}

/* ---- file names ---- */

/* Extensions Windows runs (or hands to an interpreter) on a double click:
 * the lists mail gateways block. .com stays although "www.example.com"
 * looks harmless: that look is exactly the trick. */
static const char *const exec_exts[] = {
    "exe", "com", "scr", "pif", "bat", "cmd", "vbs", "vbe", "vb", "js", "jse", "wsf", "wsh",
    "wsc", "ws", "hta", "cpl", "msi", "msp", "mst", "lnk", "reg", "jar", "sct", "shs", "shb",
    "ps1", "psm1", "msc", "scf", "application", "gadget", NULL,
};

/* Extensions a user trusts: the decoys of a double extension. */
static const char *const decoy_exts[] = {
    "doc", "docx", "xls", "xlsx", "ppt", "pptx", "pps", "rtf", "pdf", "txt", "text", "csv",
    "htm", "html", "xml", "jpg", "jpeg", "gif", "png", "bmp", "tif", "tiff", "ico", "mp3",
    "wav", "wma", "mid", "avi", "mpg", "mpeg", "mov", "wmv", "mp4", "zip", "rar", "eml", "msg",
    "odt", "ods", "dat", NULL,
};

/* A file name as Windows would see it: the last path component, with the
 * trailing dots and spaces removed that Windows itself drops ("a.exe. " runs
 * as a.exe), and its final extension. */
struct heur_name {
    const char *base;
    size_t len;
    const char *ext; /* after the last dot, or NULL */
    size_t extlen;
};

static struct heur_name name_split(const char *name)
{
    struct heur_name n = {0};
    const char *b = name;
    for (const char *p = name; *p; p++)
        if (*p == '/' || *p == '\\')
            b = p + 1;
    size_t len = strlen(b);
    while (len && (b[len - 1] == ' ' || b[len - 1] == '.'))
        len--;
    n.base = b;
    n.len = len;
    const char *dot = memrchr(b, '.', len);
    if (dot && dot + 1 < b + len) {
        n.ext = dot + 1;
        n.extlen = (size_t)(b + len - n.ext);
    }
    return n;
}

/// True for an extension that runs: the list above, or a class id
/// (".{3050F4D8-98B5-11CF-BB82-00AA00BDCE0B}"), which Explorer hides and
/// opens with the handler it names.
static bool ext_is_exec(const char *ext, size_t n)
{
    if (!ext)
        return false;
    if (n >= 3 && n <= 40 && ext[0] == '{' && ext[n - 1] == '}')
        return true;
    return in_list(ext, n, exec_exts);
}

/// If the bytes ending at end (not before start) are one padding character
/// (space, tab, '.', '_', or a Unicode space in UTF-8), returns its length;
/// else 0.
static size_t pad_before(const unsigned char *start, const unsigned char *end)
{
    size_t n = (size_t)(end - start);
    if (n >= 1 && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '.' || end[-1] == '_'))
        return 1;
    if (n >= 2 && end[-2] == 0xc2 && end[-1] == 0xa0) /* U+00A0 */
        return 2;
    if (n >= 3) {
        unsigned a = end[-3], b = end[-2], c = end[-1];
        if (a == 0xe2 && b == 0x80 && (c <= 0x8b || c == 0xaf)) /* U+2000-200B, U+202F */
            return 3;
        if (a == 0xe2 && b == 0x81 && c == 0x9f) /* U+205F */
            return 3;
        if (a == 0xe2 && b == 0xa0 && c == 0x80) /* U+2800 braille blank */
            return 3;
        if (a == 0xe3 && b == 0x80 && c == 0x80) /* U+3000 */
            return 3;
        if (a == 0xef && b == 0xbb && c == 0xbf) /* U+FEFF */
            return 3;
    }
    return 0;
}

/// True when the name holds a bidi embedding, override or isolate control
/// (U+202A-U+202E: E2 80 AA-AE; U+2066-U+2069: E2 81 A6-A9). The marks
/// U+200E/U+200F are left alone: right-to-left names carry them honestly.
static bool has_bidi_control(const char *name, size_t len)
{
    const unsigned char *p = (const unsigned char *)name, *end = p + len;
    while ((p = memchr(p, 0xe2, (size_t)(end - p))) != NULL) {
        if (end - p >= 3) {
            if (p[1] == 0x80 && p[2] >= 0xaa && p[2] <= 0xae)
                return true;
            if (p[1] == 0x81 && p[2] >= 0xa6 && p[2] <= 0xa9)
                return true;
        }
        p++;
    }
    return false;
}

static bool type_is_exec(enum scan_type t)
{
    return t == SCAN_TYPE_PE || t == SCAN_TYPE_ELF || t == SCAN_TYPE_MACHO ||
           t == SCAN_TYPE_SCRIPT;
}

/* The name tricks. Each is reported once; see the table at the top for
 * the level. */
static void heur_name_tricks(struct scan_ctx *ctx, const struct scan_object *obj,
                             const struct heur_name *n, const char *where)
{
    bool exec_ext = ext_is_exec(n->ext, n->extlen);
    enum scan_verdict level =
        exec_ext && type_is_exec(obj->type) ? SCAN_INFECTED : SCAN_SUSPICIOUS;

    /* The whole name, not only the base: a control in a folder name of an
     * archive member is the same deceit. */
    if (has_bidi_control(obj->name, strlen(obj->name)))
        scan_found(ctx, level, "Heuristics.Name.RTLO", where);

    if (!exec_ext)
        return;
    /* Walk back from the dot of the real extension over padding, then look
     * for a decoy extension right before it. */
    const unsigned char *start = (const unsigned char *)n->base;
    const unsigned char *p = (const unsigned char *)n->ext - 1;
    size_t pads = 0, k;
    while ((k = pad_before(start, p)) != 0) {
        p -= k;
        pads++;
    }
    if (pads >= HEUR_PAD_MIN)
        scan_found(ctx, level, "Heuristics.Name.PaddedName", where);
    const unsigned char *dot = memrchr(start, '.', (size_t)(p - start));
    if (dot && in_list((const char *)dot + 1, (size_t)(p - dot - 1), decoy_exts))
        scan_found(ctx, level, "Heuristics.Name.DoubleExtension", where);
}

/* ---- executables delivered ---- */

static void heur_executable(struct scan_ctx *ctx, const struct scan_object *obj,
                            const struct heur_name *n, const char *where)
{
    /* packed_len is set only for members unpacked from an archive. */
    bool in_archive = obj->packed_len > 0;
    const char *found = NULL;
    switch (obj->type) {
    case SCAN_TYPE_PE:
        found = in_archive ? "Heuristics.Executable.PE.InArchive"
                           : "Heuristics.Executable.PE.InAttachment";
        break;
    case SCAN_TYPE_ELF:
        found = in_archive ? "Heuristics.Executable.ELF.InArchive"
                           : "Heuristics.Executable.ELF.InAttachment";
        break;
    case SCAN_TYPE_MACHO:
        found = in_archive ? "Heuristics.Executable.MachO.InArchive"
                           : "Heuristics.Executable.MachO.InAttachment";
        break;
    case SCAN_TYPE_SCRIPT:
        found = in_archive ? "Heuristics.Executable.Script.InArchive"
                           : "Heuristics.Executable.Script.InAttachment";
        break;
    default:
        break;
    }
    if (found)
        scan_found(ctx, SCAN_SUSPICIOUS, found, where);
    else if (n && ext_is_exec(n->ext, n->extlen))
        /* Content we did not recognise as a program (a .vbs or .js is
         * plain text to us, a .lnk is binary) still runs when opened. */
        scan_found(ctx, SCAN_SUSPICIOUS, "Heuristics.Executable.Name", where);
}

/* ---- type mismatch ----
 *
 * A name extension or a declared type is a claim about the content. Each
 * claim has a class, and each class the set of "strong" content types it
 * can honestly hold. Only strong types (ones that run or carry code) can
 * mismatch: text, mail, images and unknown binaries never do, because our
 * detection of them is weak evidence and a mislabelled picture harms nobody.
 * Claims we know nothing about (application/octet-stream, .dat, .exe: the
 * executable names have their own heuristic) have no opinion. */

enum claim { CLAIM_NONE, CLAIM_TEXT, CLAIM_MEDIA, CLAIM_PDF, CLAIM_OFFICE, CLAIM_ARCHIVE };

#define TB(t) (1u << SCAN_TYPE_##t)
_Static_assert(SCAN_TYPE_COUNT <= 32, "type masks are 32 bits");

static const uint32_t strong_types =
    TB(PE) | TB(ELF) | TB(MACHO) | TB(SCRIPT) | TB(HTML) | TB(ZIP) | TB(RAR) | TB(7Z) |
    TB(GZIP) | TB(BZIP2) | TB(XZ) | TB(CAB) | TB(TAR) | TB(CPIO) | TB(LHA) | TB(ARJ) |
    TB(ISO9660) | TB(TNEF) | TB(CHM) | TB(SZDD) | TB(RTF) | TB(BINHEX) | TB(OLE2) | TB(PDF);

#define ARCHIVE_TYPES                                                                        \
    (TB(ZIP) | TB(RAR) | TB(7Z) | TB(GZIP) | TB(BZIP2) | TB(XZ) | TB(CAB) | TB(TAR) |         \
     TB(CPIO) | TB(LHA) | TB(ARJ) | TB(ISO9660) | TB(SZDD))

/* What each claim accepts among the strong types. Text declared as
 * text/plain may well be HTML, a script or RTF (mailers label by guess);
 * a .doc may be OLE2, RTF, HTML or a renamed .docx (zip), and an .xls is
 * often an HTML table; an archive named for one format may be another
 * (browsers save a .tar.gz already unpacked), libarchive opens it by
 * content anyway. */
static const uint32_t claim_accepts[] = {
    [CLAIM_NONE] = UINT32_MAX,
    [CLAIM_TEXT] = TB(HTML) | TB(SCRIPT) | TB(RTF) | TB(BINHEX),
    [CLAIM_MEDIA] = 0,
    [CLAIM_PDF] = TB(PDF),
    [CLAIM_OFFICE] = TB(OLE2) | TB(ZIP) | TB(RTF) | TB(HTML),
    [CLAIM_ARCHIVE] = ARCHIVE_TYPES,
};

static const char *const text_exts[] = {
    "txt", "text", "log", "csv", "tsv", "htm", "html", "xhtml", "shtml", "xml", "rtf", "eml",
    "mht", "mhtml", "ics", "vcf", "md", "diff", "patch", NULL,
};
static const char *const media_exts[] = {
    "jpg", "jpeg", "jpe", "jfif", "gif", "png", "bmp", "ico", "tif", "tiff", "webp", "wav",
    "mp3", "mid", "midi", "au", "aif", "aiff", "wma", "avi", "mpg", "mpeg", "mov", "wmv", "mp4",
    "m4a", "ogg", "flac", "mkv", NULL,
};
static const char *const office_exts[] = {
    "doc", "dot", "docx", "docm", "dotx", "dotm", "xls", "xlt", "xlsx", "xlsm", "xltx", "xlsb",
    "ppt", "pot", "pps", "pptx", "pptm", "ppsx", "potx", "odt", "ods", "odp", "odg", "ott",
    "msg", "vsd", "vsdx", "pub", NULL,
};
static const char *const archive_exts[] = {
    "zip", "rar", "7z", "gz", "tgz", "gzip", "bz2", "tbz", "tbz2", "xz", "txz", "tar", "cab",
    "lzh", "lha", "arj", "iso", "cpio", NULL,
};

static enum claim claim_of_ext(const char *ext, size_t n)
{
    if (!ext)
        return CLAIM_NONE;
    if (in_list(ext, n, text_exts))
        return CLAIM_TEXT;
    if (in_list(ext, n, media_exts))
        return CLAIM_MEDIA;
    if (ascii_eq(ext, n, "pdf"))
        return CLAIM_PDF;
    if (in_list(ext, n, office_exts))
        return CLAIM_OFFICE;
    if (in_list(ext, n, archive_exts))
        return CLAIM_ARCHIVE;
    return CLAIM_NONE;
}

static const char *const archive_mime[] = {
    "application/zip", "application/x-zip", "application/x-zip-compressed",
    "application/x-rar", "application/x-rar-compressed", "application/vnd.rar",
    "application/x-7z-compressed", "application/gzip", "application/x-gzip", "application/x-gtar",
    "application/x-tar", "application/x-bzip", "application/x-bzip2", "application/x-xz",
    "application/vnd.ms-cab-compressed", "application/x-compressed", "application/x-lzh",
    "application/x-lha", "application/x-arj", "application/x-iso9660-image", "application/x-cpio",
    NULL,
};

/// The class of a declared MIME type (already lowercase, as scan_priv.h
/// promises; parameters, if any slipped through, are ignored).
static enum claim claim_of_mime(const char *declared)
{
    if (!declared)
        return CLAIM_NONE;
    size_t n = strcspn(declared, "; \t");
    char t[128];
    if (n == 0 || n >= sizeof t)
        return CLAIM_NONE;
    memcpy(t, declared, n);
    t[n] = '\0';
    if (starts_with(t, "text/") || !strcmp(t, "message/rfc822") || !strcmp(t, "image/svg+xml") ||
        !strcmp(t, "application/rtf") || !strcmp(t, "application/x-rtf") ||
        !strcmp(t, "application/xhtml+xml") || !strcmp(t, "application/xml"))
        return CLAIM_TEXT;
    if (starts_with(t, "image/") || starts_with(t, "audio/") || starts_with(t, "video/"))
        return CLAIM_MEDIA;
    if (!strcmp(t, "application/pdf") || !strcmp(t, "application/x-pdf"))
        return CLAIM_PDF;
    if (!strcmp(t, "application/msword") || starts_with(t, "application/vnd.ms-word") ||
        starts_with(t, "application/vnd.ms-excel") ||
        starts_with(t, "application/vnd.ms-powerpoint") ||
        starts_with(t, "application/vnd.openxmlformats-officedocument.") ||
        starts_with(t, "application/vnd.oasis.opendocument.") ||
        !strcmp(t, "application/vnd.ms-outlook") || !strcmp(t, "application/vnd.visio"))
        return CLAIM_OFFICE;
    for (const char *const *a = archive_mime; *a; a++)
        if (!strcmp(t, *a))
            return CLAIM_ARCHIVE;
    return CLAIM_NONE;
}

static void heur_type_mismatch(struct scan_ctx *ctx, const struct scan_object *obj,
                               const struct heur_name *n, const char *where)
{
    if ((unsigned)obj->type >= SCAN_TYPE_COUNT)
        return;
    uint32_t t = 1u << obj->type;
    if (!(t & strong_types))
        return;
    enum claim by_name = n ? claim_of_ext(n->ext, n->extlen) : CLAIM_NONE;
    enum claim by_mime = claim_of_mime(obj->declared);
    if (!(claim_accepts[by_name] & t) || !(claim_accepts[by_mime] & t))
        scan_found(ctx, SCAN_SUSPICIOUS, "Heuristics.Type.Mismatch", where);
}

/* ---- HTML that launches content ----
 *
 * One pass: find each '<', read the tag name, read its attributes to the
 * closing '>', and for <script> look through its body to </script>. Every
 * byte is visited a bounded number of times. */

enum { HTML_CID = 1, HTML_MSITS = 2, HTML_SCRIPT = 4 };

static inline bool html_space(int c)
{
    /* NUL counts as space: Internet Explorer skipped NULs inside tags, and
     * a worm's HTML used them to split words. */
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v' || c == 0;
}

/// True when the raw bytes [p, end) hold, anywhere, one of the schemes that
/// open a compiled help file or an MHTML archive: "ms-its:", "mhtml:",
/// "mk:@msitstore:" (any case). Walks the colons only.
static bool has_its_scheme(const uint8_t *p, const uint8_t *end)
{
    const uint8_t *start = p;
    while ((p = memchr(p, ':', (size_t)(end - p))) != NULL) {
        size_t back = (size_t)(p - start);
        if (back >= 6 && lc(p[-6]) == 'm' && lc(p[-5]) == 's' && p[-4] == '-' &&
            lc(p[-3]) == 'i' && lc(p[-2]) == 't' && lc(p[-1]) == 's')
            return true;
        if (back >= 5 && lc(p[-5]) == 'm' && lc(p[-4]) == 'h' && lc(p[-3]) == 't' &&
            lc(p[-2]) == 'm' && lc(p[-1]) == 'l')
            return true;
        if (back >= 2 && lc(p[-2]) == 'm' && lc(p[-1]) == 'k' && end - p >= 11) {
            static const char ms[] = "@msitstore:";
            size_t i = 0;
            while (i < 10 && lc(p[1 + i]) == ms[i])
                i++;
            if (i == 10)
                return true;
        }
        p++;
    }
    return false;
}

/// Normalises the start of an attribute value as a browser reads a URL:
/// numeric character references and &colon;/&tab;/&newline; decoded, tab,
/// CR, LF and NUL dropped anywhere, leading spaces and controls dropped,
/// lowercased. Writes at most cap-1 bytes and a NUL to out.
static void html_norm(const uint8_t *v, const uint8_t *ve, char *out, size_t cap)
{
    size_t n = 0;
    const uint8_t *stop = ve - v > HEUR_VALUE_MAX * 8 ? v + HEUR_VALUE_MAX * 8 : ve;
    while (v < stop && n + 1 < cap) {
        unsigned c = *v++;
        if (c == '&' && v < stop) {
            if (*v == '#') {
                const uint8_t *q = v + 1;
                unsigned base = 10, val = 0, digits = 0;
                if (q < stop && lc(*q) == 'x') {
                    base = 16;
                    q++;
                }
                for (; q < stop && digits < 8; q++, digits++) {
                    int d = *q >= '0' && *q <= '9' ? *q - '0'
                            : base == 16 && lc(*q) >= 'a' && lc(*q) <= 'f' ? lc(*q) - 'a' + 10
                                                                            : -1;
                    if (d < 0)
                        break;
                    val = val * base + (unsigned)d;
                }
                if (digits) {
                    c = val < 0x80 ? val : '?';
                    v = q < stop && *q == ';' ? q + 1 : q;
                }
            } else {
                static const struct { const char *name; unsigned c; } ent[] = {
                    {"colon;", ':'}, {"tab;", '\t'}, {"newline;", '\n'}, {"amp;", '&'}};
                for (size_t i = 0; i < sizeof ent / sizeof ent[0]; i++) {
                    size_t l = strlen(ent[i].name);
                    if ((size_t)(stop - v) >= l && ascii_eq((const char *)v, l, ent[i].name)) {
                        c = ent[i].c;
                        v += l;
                        break;
                    }
                }
            }
        }
        if (c == '\t' || c == '\n' || c == '\r' || c == 0)
            continue;
        if (n == 0 && c <= ' ')
            continue;
        out[n++] = (char)lc((int)c);
    }
    out[n] = '\0';
}

enum html_tag_kind { TAG_OTHER, TAG_LAUNCH, TAG_SCRIPT };

static enum html_tag_kind html_tag_kind(const char *tag)
{
    if (!strcmp(tag, "iframe") || !strcmp(tag, "frame") || !strcmp(tag, "object") ||
        !strcmp(tag, "embed") || !strcmp(tag, "applet"))
        return TAG_LAUNCH;
    if (!strcmp(tag, "script"))
        return TAG_SCRIPT;
    return TAG_OTHER;
}

/* Attributes through which a launching tag loads its content. */
static const char *const launch_attrs[] = {"src", "data", "codebase", "code", "archive", "movie",
                                           NULL};

static unsigned html_attr(enum html_tag_kind kind, const char *name, size_t namelen,
                          const uint8_t *v, const uint8_t *ve)
{
    unsigned found = 0;
    /* on* event handlers run script when the page loads or is touched. */
    if (namelen >= 4 && name[0] == 'o' && name[1] == 'n') {
        bool letters = true;
        for (size_t i = 2; i < namelen; i++)
            letters = letters && is_alpha((unsigned char)name[i]);
        if (letters)
            found |= HTML_SCRIPT;
    }
    if (!v)
        return found;
    char url[HEUR_VALUE_MAX];
    html_norm(v, ve, url, sizeof url);
    if (kind == TAG_LAUNCH && in_list(name, namelen, launch_attrs) && starts_with(url, "cid:"))
        found |= HTML_CID;
    if (starts_with(url, "its:") || has_its_scheme((const uint8_t *)url,
                                                   (const uint8_t *)url + strlen(url)) ||
        has_its_scheme(v, ve))
        found |= HTML_MSITS;
    if (starts_with(url, "javascript:") || starts_with(url, "vbscript:"))
        found |= HTML_SCRIPT;
    return found;
}

/// Parses one tag whose name starts at p (just after '<'). Adds what it saw
/// to *found and returns where the scan goes on.
static const uint8_t *html_tag(const uint8_t *p, const uint8_t *end, unsigned *found)
{
    char tag[16];
    size_t tn = 0;
    while (p < end && (*p == 0 || is_alnum(*p))) {
        if (*p != 0 && tn < sizeof tag - 1)
            tag[tn++] = (char)lc(*p);
        p++;
    }
    if (tn == 0)
        return p;
    tag[tn] = '\0';
    enum html_tag_kind kind = html_tag_kind(tag);
    if (kind == TAG_SCRIPT)
        *found |= HTML_SCRIPT;

    const uint8_t *limit = end - p > HEUR_TAG_MAX ? p + HEUR_TAG_MAX : end;
    bool closed = false;
    while (p < limit) {
        while (p < limit && (html_space(*p) || *p == '/'))
            p++;
        if (p >= limit)
            break;
        if (*p == '>') {
            p++;
            closed = true;
            break;
        }
        char name[16];
        size_t nl = 0;
        while (p < limit && !html_space(*p) && *p != '=' && *p != '>' && *p != '/') {
            if (nl < sizeof name - 1)
                name[nl++] = (char)lc(*p);
            p++;
        }
        name[nl] = '\0';
        while (p < limit && html_space(*p))
            p++;
        const uint8_t *v = NULL, *ve = NULL;
        if (p < limit && *p == '=') {
            p++;
            while (p < limit && html_space(*p))
                p++;
            if (p < limit && (*p == '"' || *p == '\'' || *p == '`')) {
                uint8_t q = *p++;
                v = p;
                ve = memchr(p, q, (size_t)(limit - p));
                if (!ve)
                    ve = limit;
                p = ve < limit ? ve + 1 : limit;
            } else {
                v = p;
                while (p < limit && !html_space(*p) && *p != '>')
                    p++;
                ve = p;
            }
        }
        *found |= html_attr(kind, name, nl, v, ve);
    }
    if (kind != TAG_SCRIPT || !closed)
        return p;
    /* The script's body, up to </script (any case). */
    const uint8_t *body = p, *close = end;
    for (const uint8_t *q = p; (q = memchr(q, '<', (size_t)(end - q))) != NULL; q++) {
        static const char cl[] = "/script";
        size_t i = 0;
        while (i < 7 && q + 1 + i < end && lc(q[1 + i]) == cl[i])
            i++;
        if (i == 7) {
            close = q;
            break;
        }
    }
    if (has_its_scheme(body, close))
        *found |= HTML_MSITS;
    return close;
}

static void heur_html(struct scan_ctx *ctx, const struct scan_object *obj, const char *where)
{
    const uint8_t *p = obj->data, *end = obj->data + obj->len;
    unsigned found = 0, all = HTML_CID | HTML_MSITS | HTML_SCRIPT;
    while (p < end && found != all && (p = memchr(p, '<', (size_t)(end - p))) != NULL) {
        p++;
        /* Closing tags, comments and declarations: go on after the '<'
         * (a comment's content is scanned: IE ran conditional comments). */
        if (p < end && (is_alpha(*p) || *p == 0))
            p = html_tag(p, end, &found);
    }
    if (found & HTML_CID)
        scan_found(ctx, SCAN_SUSPICIOUS, "Heuristics.HTML.IframeCid", where);
    if (found & HTML_MSITS)
        scan_found(ctx, SCAN_SUSPICIOUS, "Heuristics.HTML.MsIts", where);
    /* Every web page has scripts; only one delivered by mail is news. */
    if ((found & HTML_SCRIPT) && obj->depth > 0 && !obj->in_executable)
        scan_found(ctx, SCAN_SUSPICIOUS, "Heuristics.HTML.Script", where);
}

/* ---- GTUBE ---- */

static void heur_gtube(struct scan_ctx *ctx, const struct scan_object *obj, const char *where)
{
    if (obj->len >= sizeof gtube - 1 && memmem(obj->data, obj->len, gtube, sizeof gtube - 1))
        scan_found(ctx, SCAN_SUSPICIOUS, "Heuristics.Spam.GTUBE", where);
}

void heur_object(struct scan_ctx *ctx, const struct scan_object *obj)
{
    const char *where = obj->where ? obj->where : "";
    struct heur_name name, *n = NULL;
    if (obj->name && obj->name[0]) {
        name = name_split(obj->name);
        n = &name;
    }

    if (obj->depth > 0 && !obj->in_executable && scan_heuristic_on(ctx, SCAN_HEUR_EXECUTABLE))
        heur_executable(ctx, obj, n, where);
    if (n && scan_heuristic_on(ctx, SCAN_HEUR_DOUBLE_EXT))
        heur_name_tricks(ctx, obj, n, where);
    if (scan_heuristic_on(ctx, SCAN_HEUR_TYPE_MISMATCH))
        heur_type_mismatch(ctx, obj, n, where);

    bool declared_html = obj->declared && (starts_with(obj->declared, "text/html") ||
                                           starts_with(obj->declared, "application/xhtml+xml"));
    if (obj->data && (obj->type == SCAN_TYPE_HTML || declared_html) &&
        scan_heuristic_on(ctx, SCAN_HEUR_HTML_LAUNCH))
        heur_html(ctx, obj, where);

    bool textual = obj->type == SCAN_TYPE_TEXT || obj->type == SCAN_TYPE_MAIL ||
                   obj->type == SCAN_TYPE_HTML ||
                   (obj->declared && starts_with(obj->declared, "text/"));
    if (obj->data && textual && scan_heuristic_on(ctx, SCAN_HEUR_GTUBE))
        heur_gtube(ctx, obj, where);
}

/* ---- forged administrator ----
 *
 * Mimail.A came "from" admin@<the recipient's domain>, saying the
 * recipient's address would expire. The rule: a From mailbox whose local
 * part is an administrative role, or whose display name says so, at the
 * recipient's own organisation (the same domain, a parent or a sibling).
 * A third party's role address (Mimail.L's billing@spamhaus.org) is not
 * caught: nothing in these headers separates it from the real Spamhaus;
 * that needs sender authentication (SPF, DKIM) at the gateway.
 *
 * This is meant for mail arriving from outside: a site whose own systems
 * (or services sending as its domain) mail its users through the scanner
 * should exempt that mail or turn the bit off. */

/* Roles, compared with the local part lowercased and '-', '.', '_' removed,
 * alone or after one qualifier ("mail-admin", "it.support", "sysadmin"). */
static const char *const admin_roles[] = {
    "admin", "administrator", "postmaster", "hostmaster", "webmaster", "root", "support",
    "billing", "security", "abuse", "noreply", "donotreply", NULL,
};
static const char *const admin_qualifiers[] = {
    "mail", "email", "sys", "system", "it", "net", "network", "web", "site", "server",
    "domain", "account", "accounts", "customer", NULL,
};
/* Words of a display name that claim administration ("Mail Administrator"). */
static const char *const admin_words[] = {
    "admin", "administrator", "administration", "postmaster", "hostmaster", "webmaster",
    "sysadmin", NULL,
};

static bool local_is_admin(const char *local, size_t len)
{
    char norm[65];
    size_t n = 0;
    if (len == 0 || len > 64)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = (char)lc((unsigned char)local[i]);
        if (c != '-' && c != '.' && c != '_')
            norm[n++] = c;
    }
    if (in_list(norm, n, admin_roles))
        return true;
    for (const char *const *q = admin_qualifiers; *q; q++) {
        size_t ql = strlen(*q);
        if (n > ql && !memcmp(norm, *q, ql) && in_list(norm + ql, n - ql, admin_roles))
            return true;
    }
    return false;
}

static bool display_is_admin(const char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        while (i < len && !is_alnum((unsigned char)s[i]))
            i++;
        size_t w = i;
        while (i < len && is_alnum((unsigned char)s[i]))
            i++;
        if (i > w && in_list(s + w, i - w, admin_words))
            return true;
    }
    return false;
}

/* One mailbox of an address list, pointing into the header text. */
struct heur_mailbox {
    const char *display; /* display name, or the legacy "(comment)", may be empty */
    size_t displen;
    const char *local;
    size_t locallen;
    const char *domain;
    size_t domlen;
};

static inline bool addr_stop(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '<' || c == '>' || c == '(' ||
           c == ')' || c == ',' || c == ';' || c == ':' || c == '"';
}

static void trim(const char **s, size_t *n)
{
    while (*n && (**s == ' ' || **s == '\t' || **s == '\r' || **s == '\n' || **s == '"')) {
        (*s)++;
        (*n)--;
    }
    while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t' || (*s)[*n - 1] == '\r' ||
                  (*s)[*n - 1] == '\n' || (*s)[*n - 1] == '"'))
        (*n)--;
}

/// Fills mb from the segment [s, e) of an address list, given the offsets
/// (from s, or -1) of its '<', its last '@' and its first comment. False if
/// the segment holds no address.
static bool mailbox_of(const char *s, const char *e, long lt, long at, long cmt, long cmtend,
                       struct heur_mailbox *mb)
{
    if (at < 0)
        return false;
    const char *a = s + at;
    const char *l = a;
    while (l > s && !addr_stop(l[-1]))
        l--;
    const char *d = a + 1, *de = d;
    while (de < e && !addr_stop(*de))
        de++;
    while (de > d && de[-1] == '.')
        de--;
    mb->local = l;
    mb->locallen = (size_t)(a - l);
    mb->domain = d;
    mb->domlen = (size_t)(de - d);
    if (lt >= 0) {
        mb->display = s;
        mb->displen = (size_t)lt;
    } else if (cmt >= 0) {
        mb->display = s + cmt + 1;
        mb->displen = (size_t)(cmtend - cmt - 1);
    } else {
        mb->display = s;
        mb->displen = 0;
    }
    trim(&mb->display, &mb->displen);
    return mb->domlen > 0;
}

/* Walks an address list (RFC 5322, leniently: quoted strings, nested
 * comments, angle addresses with source routes, groups) and calls fn for
 * each mailbox until fn returns true or HEUR_RCPT_MAX mailboxes. Returns
 * true when fn did. */
typedef bool (*mailbox_fn)(void *arg, const struct heur_mailbox *mb);

static bool for_each_mailbox(const char *list, mailbox_fn fn, void *arg)
{
    if (!list)
        return false;
    size_t len = strnlen(list, HEUR_HEADER_MAX);
    const char *s = list, *end = list + len;
    long lt = -1, at = -1, cmt = -1, cmtend = -1;
    bool quote = false, angle = false;
    int depth = 0;
    unsigned count = 0;
    for (const char *p = list; p <= end; p++) {
        char c = p < end ? *p : ',';
        if (p < end && quote) {
            if (c == '\\' && p + 1 < end)
                p++;
            else if (c == '"')
                quote = false;
            continue;
        }
        if (p < end && depth > 0) {
            if (c == '\\' && p + 1 < end)
                p++;
            else if (c == '(' && depth < 32)
                depth++;
            else if (c == ')' && --depth == 0 && cmtend < 0)
                cmtend = p - s;
            continue;
        }
        switch (c) {
        case '"':
            quote = true;
            break;
        case '(':
            depth = 1;
            if (cmt < 0)
                cmt = p - s;
            break;
        case '<':
            angle = true;
            if (lt < 0)
                lt = p - s;
            break;
        case '>':
            angle = false;
            break;
        case '@':
            /* in "<@relay:user@dom>" the last '@' is the mailbox's */
            at = p - s;
            break;
        case ':':
            if (angle)
                break;
            /* a group's name: what came before is not a mailbox */
            s = p + 1;
            lt = at = cmt = cmtend = -1;
            break;
        case ',':
        case ';':
            if (angle && p < end)
                break;
            {
                struct heur_mailbox mb;
                if (cmt >= 0 && cmtend < 0)
                    cmtend = p - s;
                if (mailbox_of(s, p, lt, at, cmt, cmtend, &mb) && fn(arg, &mb))
                    return true;
                if (++count >= HEUR_RCPT_MAX)
                    return false;
            }
            s = p + 1;
            lt = at = cmt = cmtend = -1;
            angle = false;
            break;
        default:
            break;
        }
    }
    return false;
}

/// The organisation a domain belongs to, as a suffix of it: the last two
/// labels, or three under a ccTLD whose second level is a generic one
/// ("example.co.uk", "example.com.au"). An approximation of the public
/// suffix list that needs no data file; its error is to treat two
/// customers of a less common registry suffix as one organisation.
static void org_domain(const char *d, size_t n, const char **od, size_t *on)
{
    static const char *const slds[] = {
        "co", "com", "net", "org", "ac", "edu", "gov", "mil", "ne", "or", "go", "gob", "gv",
        "nic", "ltd", "plc", "sch", "nhs", "info", "biz", "nom", "gen", "firm", "int", "res",
        "web", NULL,
    };
    size_t dots[3] = {n, n, n}; /* positions of the last three dots */
    int nd = 0;
    for (size_t i = n; i-- > 0 && nd < 3;)
        if (d[i] == '.')
            dots[nd++] = i;
    size_t start = nd >= 2 ? dots[1] + 1 : 0;
    if (nd >= 2) {
        size_t tld = n - dots[0] - 1, sld = dots[0] - dots[1] - 1;
        if (tld == 2 && in_list(d + dots[1] + 1, sld, slds))
            start = nd >= 3 ? dots[2] + 1 : 0;
    }
    *od = d + start;
    *on = n - start;
}

static bool same_org(const char *a, size_t an, const char *b, size_t bn)
{
    if (!an || !bn || a[0] == '[' || b[0] == '[')
        return false;
    const char *oa, *ob;
    size_t na, nb;
    org_domain(a, an, &oa, &na);
    org_domain(b, bn, &ob, &nb);
    return same_text(oa, na, ob, nb);
}

/* A From address that claims administration. */
struct forged {
    struct {
        const char *local, *domain;
        size_t locallen, domlen;
    } cand[HEUR_FROM_MAX];
    size_t ncand;
};

static void add_candidate(struct forged *f, const char *local, size_t locallen, const char *domain,
                          size_t domlen)
{
    if (f->ncand < HEUR_FROM_MAX && domlen) {
        f->cand[f->ncand].local = local;
        f->cand[f->ncand].locallen = locallen;
        f->cand[f->ncand].domain = domain;
        f->cand[f->ncand].domlen = domlen;
        f->ncand++;
    }
}

/* A From mailbox is a candidate when it claims administration; an address
 * written into the display name ("admin@victim.example" <x@elsewhere>) is
 * what many readers show, so it is a claim too. */
static bool from_mailbox(void *arg, const struct heur_mailbox *mb)
{
    struct forged *f = arg;
    if (local_is_admin(mb->local, mb->locallen) || display_is_admin(mb->display, mb->displen))
        add_candidate(f, mb->local, mb->locallen, mb->domain, mb->domlen);
    const char *at = memchr(mb->display, '@', mb->displen);
    if (at) {
        const char *l = at, *d = at + 1, *de = at + 1, *e = mb->display + mb->displen;
        while (l > mb->display && !addr_stop(l[-1]) && l[-1] != '\'')
            l--;
        while (de < e && !addr_stop(*de) && *de != '\'')
            de++;
        if (local_is_admin(l, (size_t)(at - l)))
            add_candidate(f, l, (size_t)(at - l), d, (size_t)(de - d));
    }
    return f->ncand >= HEUR_FROM_MAX;
}

/* A recipient of the claimed organisation makes the forgery, except the
 * claimed address itself: a role writing to its own alias (a team notice
 * sent To itself, Bcc its members) impersonates no one. */
static bool rcpt_mailbox(void *arg, const struct heur_mailbox *mb)
{
    const struct forged *f = arg;
    for (size_t i = 0; i < f->ncand; i++) {
        if (same_text(f->cand[i].local, f->cand[i].locallen, mb->local, mb->locallen) &&
            same_text(f->cand[i].domain, f->cand[i].domlen, mb->domain, mb->domlen))
            continue;
        if (same_org(f->cand[i].domain, f->cand[i].domlen, mb->domain, mb->domlen))
            return true;
    }
    return false;
}

void heur_headers(struct scan_ctx *ctx, const struct scan_object *msg, const char *from,
                  const char *to, const char *subject)
{
    /* The subject is not used: "Your account" or "don't be late!" are too
     * common to add evidence, and the rule must not depend on wording a
     * worm changes in its next variant. */
    (void)subject;
    if (!from || !to || !scan_heuristic_on(ctx, SCAN_HEUR_FORGED_ADMIN))
        return;
    struct forged f = {0};
    for_each_mailbox(from, from_mailbox, &f);
    if (f.ncand == 0)
        return;
    if (for_each_mailbox(to, rcpt_mailbox, &f))
        scan_found(ctx, SCAN_SUSPICIOUS, "Heuristics.Phishing.ForgedAdmin",
                   msg && msg->where ? msg->where : "");
}
