/* Unit tests: the scanning engine's heuristics (src/scan/heur.c).
 *
 * heur.c reports through scan_found() and asks scan_heuristic_on(), both
 * scan.c's; this file supplies test doubles of the two that record the
 * findings, so the heuristics are tested alone. Each heuristic has a sample
 * that fires, a close ham sample that does not, and its bit turning it off;
 * then real ham (Python's email test messages, SpamAssassin's
 * sample-nonspam.txt) must raise nothing. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <glob.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan/scan_priv.h"

/* ---- the test double of scan.c's ctx helpers ---- */

struct finding {
    enum scan_verdict level;
    char name[96];
    char where[64];
};

static struct finding found[64];
static size_t nfound;
static unsigned heur_bits = SCAN_HEUR_ALL;

void scan_found(struct scan_ctx *ctx, enum scan_verdict level, const char *name, const char *where)
{
    (void)ctx;
    for (size_t i = 0; i < nfound; i++)
        if (!strcmp(found[i].name, name) && !strcmp(found[i].where, where))
            return; /* as scan.c: duplicates kept once */
    assert_true(nfound < sizeof found / sizeof found[0]);
    found[nfound].level = level;
    snprintf(found[nfound].name, sizeof found[nfound].name, "%s", name);
    snprintf(found[nfound].where, sizeof found[nfound].where, "%s", where);
    nfound++;
}

bool scan_heuristic_on(const struct scan_ctx *ctx, enum scan_heuristic h)
{
    (void)ctx;
    return (heur_bits & h) != 0;
}

static struct scan_ctx ctx;

static void reset(unsigned bits)
{
    nfound = 0;
    heur_bits = bits;
}

/* Runs heur_object on one object; returns the number of findings. */
static size_t object(const char *data, size_t len, enum scan_type type, const char *name,
                     const char *declared, unsigned depth, size_t packed_len)
{
    nfound = 0;
    struct scan_object o = {
        .data = (const uint8_t *)data, .len = len, .name = name, .declared = declared,
        .where = depth ? "2" : "", .depth = depth, .type = type, .packed_len = packed_len,
    };
    heur_object(&ctx, &o);
    return nfound;
}

/* Shorthands: a text body, and a binary whose content we do not look at. */
static size_t text(const char *s, enum scan_type type, const char *name, const char *declared,
                   unsigned depth)
{
    return object(s, strlen(s), type, name, declared, depth, 0);
}

static size_t named(enum scan_type type, const char *name, const char *declared, unsigned depth)
{
    return object("\x01\x02", 2, type, name, declared, depth, 0);
}

static size_t headers(const char *from, const char *to)
{
    nfound = 0;
    struct scan_object msg = {.where = "", .type = SCAN_TYPE_MAIL};
    heur_headers(&ctx, &msg, from, to, "Your account");
    return nfound;
}

/* The level of a finding by name, or -1 if absent. */
static int level(const char *name)
{
    for (size_t i = 0; i < nfound; i++)
        if (!strcmp(found[i].name, name))
            return (int)found[i].level;
    return -1;
}

static const char *level_name(enum scan_verdict v)
{
    return v == SCAN_INFECTED ? "infected" : v == SCAN_SUSPICIOUS ? "suspicious" : "clean";
}

/* Prints what a sample raised, so a failing ham check says why. */
static void dump(const char *what)
{
    for (size_t i = 0; i < nfound; i++)
        fprintf(stderr, "  %s: %s (%s) at '%s'\n", what, found[i].name,
                level_name(found[i].level), found[i].where);
}

/* ---- Executable ---- */

static void executables_delivered_are_reported(void **state)
{
    (void)state;
    reset(SCAN_HEUR_ALL);
    assert_int_equal(named(SCAN_TYPE_PE, "message.exe", "application/octet-stream", 1), 1);
    assert_int_equal(level("Heuristics.Executable.PE.InAttachment"), SCAN_SUSPICIOUS);
    /* Mimail: message.zip holding message.html and foo.exe */
    object("MZ", 2, SCAN_TYPE_PE, "foo.exe", NULL, 2, 12345);
    assert_int_equal(level("Heuristics.Executable.PE.InArchive"), SCAN_SUSPICIOUS);
    named(SCAN_TYPE_ELF, "a.out", NULL, 1);
    assert_int_equal(level("Heuristics.Executable.ELF.InAttachment"), SCAN_SUSPICIOUS);
    object("x", 1, SCAN_TYPE_MACHO, "tool", NULL, 2, 10);
    assert_int_equal(level("Heuristics.Executable.MachO.InArchive"), SCAN_SUSPICIOUS);
    text("#!/bin/sh\nrm -rf ~\n", SCAN_TYPE_SCRIPT, "run", NULL, 1);
    assert_int_equal(level("Heuristics.Executable.Script.InAttachment"), SCAN_SUSPICIOUS);
    /* names that run though we see only text or unknown bytes */
    text("WScript.Echo 1\n", SCAN_TYPE_TEXT, "README.VBS", "text/plain", 1);
    assert_int_equal(level("Heuristics.Executable.Name"), SCAN_SUSPICIOUS);
    named(SCAN_TYPE_UNKNOWN, "www.example.com", NULL, 1);
    assert_int_equal(level("Heuristics.Executable.Name"), SCAN_SUSPICIOUS);
    named(SCAN_TYPE_UNKNOWN, "shortcut.lnk", NULL, 2);
    assert_int_equal(level("Heuristics.Executable.Name"), SCAN_SUSPICIOUS);
    /* Windows drops trailing dots and spaces: this runs as .exe */
    named(SCAN_TYPE_UNKNOWN, "setup.exe. . ", NULL, 1);
    assert_int_equal(level("Heuristics.Executable.Name"), SCAN_SUSPICIOUS);
    /* a class id extension, hidden by Explorer, opened by its handler */
    named(SCAN_TYPE_UNKNOWN, "notes.txt.{3050F4D8-98B5-11CF-BB82-00AA00BDCE0B}", NULL, 1);
    assert_int_equal(level("Heuristics.Executable.Name"), SCAN_SUSPICIOUS);
    /* an archive member's folders do not count */
    named(SCAN_TYPE_UNKNOWN, "dir.exe/readme.txt", NULL, 2);
    assert_int_equal(level("Heuristics.Executable.Name"), -1);
    /* content reported: no second finding for the name */
    assert_int_equal(named(SCAN_TYPE_PE, "x.scr", NULL, 1), 1);
}

static void executables_scanned_by_the_operator_are_not(void **state)
{
    (void)state;
    reset(SCAN_HEUR_ALL);
    /* `rampart scan prog.exe`: depth 0, no MIME around it */
    assert_int_equal(named(SCAN_TYPE_PE, "/usr/local/bin/prog.exe", NULL, 0), 0);
    assert_int_equal(named(SCAN_TYPE_ELF, "/bin/ls", NULL, 0), 0);
    assert_int_equal(text("@echo off\n", SCAN_TYPE_SCRIPT, "build.bat", NULL, 0), 0);
    /* ordinary attachments */
    assert_int_equal(named(SCAN_TYPE_GRAPHICS, "photo.jpg", "image/jpeg", 1), 0);
    assert_int_equal(named(SCAN_TYPE_ZIP, "message.zip", "application/zip", 1), 0);
    assert_int_equal(text("hello\n", SCAN_TYPE_TEXT, "notes.txt", "text/plain", 1), 0);
    assert_int_equal(named(SCAN_TYPE_UNKNOWN, "exe", NULL, 1), 0);
    assert_int_equal(named(SCAN_TYPE_UNKNOWN, "report.execution.pdf", NULL, 1), 0);
}

static void executable_bit_turns_it_off(void **state)
{
    (void)state;
    reset(SCAN_HEUR_ALL & ~SCAN_HEUR_EXECUTABLE);
    assert_int_equal(named(SCAN_TYPE_PE, "message.exe", NULL, 1), 0);
    assert_int_equal(named(SCAN_TYPE_UNKNOWN, "run.vbs", NULL, 2), 0);
}

/* ---- Name tricks ---- */

static void double_extensions_are_reported(void **state)
{
    (void)state;
    reset(SCAN_HEUR_ALL);
    named(SCAN_TYPE_UNKNOWN, "invoice.pdf.exe", NULL, 1);
    assert_int_equal(level("Heuristics.Name.DoubleExtension"), SCAN_SUSPICIOUS);
    /* a real program dressed as a document: certain */
    named(SCAN_TYPE_PE, "invoice.PDF.exe", NULL, 1);
    assert_int_equal(level("Heuristics.Name.DoubleExtension"), SCAN_INFECTED);
    /* the trick is the trick at any depth */
    named(SCAN_TYPE_PE, "photos.jpg.exe", NULL, 0);
    assert_int_equal(level("Heuristics.Name.DoubleExtension"), SCAN_INFECTED);
    /* Mimail.C style padding between the decoy and the real extension */
    named(SCAN_TYPE_PE, "photo.jpg                          .scr", NULL, 2);
    assert_int_equal(level("Heuristics.Name.DoubleExtension"), SCAN_INFECTED);
    assert_int_equal(level("Heuristics.Name.PaddedName"), SCAN_INFECTED);
    named(SCAN_TYPE_TEXT, "readme.txt.vbs", NULL, 1);
    assert_int_equal(level("Heuristics.Name.DoubleExtension"), SCAN_SUSPICIOUS);
}

static void ordinary_double_dots_are_not(void **state)
{
    (void)state;
    reset(SCAN_HEUR_ALL);
    assert_int_equal(named(SCAN_TYPE_GZIP, "backup.tar.gz", "application/x-gzip", 1), 0);
    assert_int_equal(named(SCAN_TYPE_PDF, "report.v2.final.pdf", "application/pdf", 1), 0);
    assert_int_equal(named(SCAN_TYPE_ZIP, "report.pdf.zip", "application/zip", 1), 0);
    assert_int_equal(named(SCAN_TYPE_UNKNOWN, "My Documents.pdf", NULL, 1), 0);
    /* minified scripts run when opened, but it is not a double extension */
    text("var a;", SCAN_TYPE_TEXT, "jquery.min.js", NULL, 2);
    assert_int_equal(level("Heuristics.Name.DoubleExtension"), -1);
    assert_int_equal(level("Heuristics.Executable.Name"), SCAN_SUSPICIOUS);
    /* setup.exe at the top level: nothing */
    assert_int_equal(named(SCAN_TYPE_PE, "setup-1.2.3.exe", NULL, 0), 0);
}

static void padded_names_are_reported(void **state)
{
    (void)state;
    reset(SCAN_HEUR_ALL);
    named(SCAN_TYPE_UNKNOWN, "Important_____________________.exe", NULL, 1);
    assert_int_equal(level("Heuristics.Name.PaddedName"), SCAN_SUSPICIOUS);
    /* no-break spaces (U+00A0) and ideographic spaces (U+3000) pad too */
    named(SCAN_TYPE_PE, "doc\xc2\xa0\xc2\xa0\xc2\xa0\xe3\x80\x80\xe3\x80\x80.pif", NULL, 1);
    assert_int_equal(level("Heuristics.Name.PaddedName"), SCAN_INFECTED);
    /* a few underscores, or padding before a harmless extension: no */
    named(SCAN_TYPE_UNKNOWN, "my___file.exe", NULL, 1);
    assert_int_equal(level("Heuristics.Name.PaddedName"), -1);
    assert_int_equal(named(SCAN_TYPE_UNKNOWN, "Minutes          .txt", NULL, 1), 0);
}

static void bidi_controls_are_reported(void **state)
{
    (void)state;
    reset(SCAN_HEUR_ALL);
    /* "invoice" U+202E "fdp.exe" displays as "invoiceexe.pdf" */
    named(SCAN_TYPE_PE, "invoice\xe2\x80\xae" "fdp.exe", NULL, 1);
    assert_int_equal(level("Heuristics.Name.RTLO"), SCAN_INFECTED);
    named(SCAN_TYPE_UNKNOWN, "invoice\xe2\x80\xae" "fdp.exe", NULL, 1);
    assert_int_equal(level("Heuristics.Name.RTLO"), SCAN_SUSPICIOUS);
    /* an override before a harmless extension is still a lie */
    named(SCAN_TYPE_UNKNOWN, "a\xe2\x80\xad" "b.txt", NULL, 1);
    assert_int_equal(level("Heuristics.Name.RTLO"), SCAN_SUSPICIOUS);
    /* isolates U+2066-2069, and U+202A in a folder of a member */
    named(SCAN_TYPE_UNKNOWN, "x\xe2\x81\xa7y.doc", NULL, 1);
    assert_int_equal(level("Heuristics.Name.RTLO"), SCAN_SUSPICIOUS);
    named(SCAN_TYPE_UNKNOWN, "d\xe2\x80\xaa/y.doc", NULL, 2);
    assert_int_equal(level("Heuristics.Name.RTLO"), SCAN_SUSPICIOUS);
    /* a Hebrew name with a right-to-left mark (U+200F), en dashes (U+2013) */
    assert_int_equal(
        named(SCAN_TYPE_PDF, "\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d\xe2\x80\x8f.pdf", NULL, 1), 0);
    assert_int_equal(named(SCAN_TYPE_PDF, "a \xe2\x80\x93 b.pdf", NULL, 1), 0);
    /* a truncated sequence at the end of the name */
    assert_int_equal(named(SCAN_TYPE_UNKNOWN, "x.doc\xe2\x80", NULL, 1), 0);
}

static void double_ext_bit_turns_it_off(void **state)
{
    (void)state;
    reset(SCAN_HEUR_ALL & ~SCAN_HEUR_DOUBLE_EXT);
    assert_int_equal(named(SCAN_TYPE_PE, "invoice.pdf.exe", NULL, 0), 0);
    assert_int_equal(named(SCAN_TYPE_PE, "a\xe2\x80\xae" "fdp.exe", NULL, 0), 0);
    assert_int_equal(named(SCAN_TYPE_PE, "a.jpg              .exe", NULL, 0), 0);
}

/* ---- Type mismatch ---- */

static void mismatched_types_are_reported(void **state)
{
    (void)state;
    reset(SCAN_HEUR_ALL);
    named(SCAN_TYPE_PE, "photo.jpg", NULL, 0);
    assert_int_equal(level("Heuristics.Type.Mismatch"), SCAN_SUSPICIOUS);
    /* Nimda/Klez: an executable declared audio/x-wav */
    named(SCAN_TYPE_PE, "readme.exe", "audio/x-wav", 1);
    assert_int_equal(level("Heuristics.Type.Mismatch"), SCAN_SUSPICIOUS);
    named(SCAN_TYPE_PE, NULL, "image/jpeg", 1);
    assert_int_equal(level("Heuristics.Type.Mismatch"), SCAN_SUSPICIOUS);
    named(SCAN_TYPE_ZIP, "notes.txt", NULL, 1);
    assert_int_equal(level("Heuristics.Type.Mismatch"), SCAN_SUSPICIOUS);
    named(SCAN_TYPE_ZIP, "notes", "text/plain; charset=us-ascii", 1);
    assert_int_equal(level("Heuristics.Type.Mismatch"), SCAN_SUSPICIOUS);
    /* a macro document renamed .rtf to pass a filter */
    named(SCAN_TYPE_OLE2, "letter.rtf", "application/rtf", 1);
    assert_int_equal(level("Heuristics.Type.Mismatch"), SCAN_SUSPICIOUS);
    /* HTML declared an image: what Internet Explorer's sniffing ran */
    text("<html><script>x</script>", SCAN_TYPE_HTML, "cat.gif", "image/gif", 1);
    assert_int_equal(level("Heuristics.Type.Mismatch"), SCAN_SUSPICIOUS);
    named(SCAN_TYPE_HTML, "invoice.pdf", "application/pdf", 1);
    assert_int_equal(level("Heuristics.Type.Mismatch"), SCAN_SUSPICIOUS);
    named(SCAN_TYPE_PE, "files.zip", "application/zip", 1);
    assert_int_equal(level("Heuristics.Type.Mismatch"), SCAN_SUSPICIOUS);
}

static void honest_labels_are_not_mismatches(void **state)
{
    (void)state;
    reset(SCAN_HEUR_ALL & ~SCAN_HEUR_HTML_LAUNCH);
    /* mailers label HTML-ish and script-ish text text/plain */
    assert_int_equal(text("<p>hi</p>", SCAN_TYPE_HTML, NULL, "text/plain", 1), 0);
    assert_int_equal(text("#!/bin/sh\n", SCAN_TYPE_SCRIPT, "fix.txt", "text/plain", 0), 0);
    assert_int_equal(named(SCAN_TYPE_RTF, "letter.doc", "application/msword", 1), 0);
    assert_int_equal(named(SCAN_TYPE_OLE2, "letter.doc", "application/msword", 1), 0);
    assert_int_equal(named(SCAN_TYPE_ZIP, "letter.doc", "application/msword", 1), 0);
    assert_int_equal(named(SCAN_TYPE_HTML, "export.xls", "application/vnd.ms-excel", 1), 0);
    assert_int_equal(
        named(SCAN_TYPE_ZIP, "plan.docx",
              "application/vnd.openxmlformats-officedocument.wordprocessingml.document", 1),
        0);
    /* an encrypted .xlsx is an OLE2 file */
    assert_int_equal(named(SCAN_TYPE_OLE2, "secret.xlsx", NULL, 1), 0);
    assert_int_equal(named(SCAN_TYPE_ZIP, "notes.odt", NULL, 1), 0);
    assert_int_equal(named(SCAN_TYPE_TAR, "src.tar.gz", "application/x-gzip", 1), 0);
    assert_int_equal(named(SCAN_TYPE_RAR, "photos.zip", "application/zip", 1), 0);
    assert_int_equal(named(SCAN_TYPE_PDF, "scan.pdf", "application/octet-stream", 1), 0);
    assert_int_equal(named(SCAN_TYPE_MAIL, "forwarded.eml", "message/rfc822", 1), 0);
    /* weak detections never mismatch: text named .jpg, a picture named .txt */
    assert_int_equal(named(SCAN_TYPE_TEXT, "photo.jpg", "image/jpeg", 1), 0);
    assert_int_equal(named(SCAN_TYPE_GRAPHICS, "photo.txt", "text/plain", 1), 0);
    assert_int_equal(named(SCAN_TYPE_UNKNOWN, "song.mp3", "audio/mpeg", 1), 0);
    /* generic or unknown claims have no opinion */
    assert_int_equal(named(SCAN_TYPE_ZIP, "data.bin", "application/octet-stream", 1), 0);
    assert_int_equal(named(SCAN_TYPE_PE, "x.dat", "application/x-msdownload", 0), 0);
}

static void type_mismatch_bit_turns_it_off(void **state)
{
    (void)state;
    reset(SCAN_HEUR_ALL & ~SCAN_HEUR_TYPE_MISMATCH);
    assert_int_equal(named(SCAN_TYPE_PE, "photo.jpg", "image/jpeg", 0), 0);
    assert_int_equal(named(SCAN_TYPE_ZIP, "notes.txt", NULL, 0), 0);
}

/* ---- HTML launching content ---- */

/* What Nimda's readme.eml carried, quoted-printable decoded. */
static const char nimda_html[] =
    "<HTML><HEAD></HEAD><BODY bgColor=3D#ffffff>\n"
    "<iframe src=cid:EA4DMGBP9p height=0 width=0>\n</iframe></BODY></HTML>\n";

static void html_launching_cid_is_reported(void **state)
{
    (void)state;
    reset(SCAN_HEUR_ALL);
    text(nimda_html, SCAN_TYPE_HTML, NULL, "text/html", 1);
    assert_int_equal(level("Heuristics.HTML.IframeCid"), SCAN_SUSPICIOUS);
    assert_int_equal(level("Heuristics.HTML.Script"), -1);
    /* odd case, spacing, quotes, entities, tabs in the scheme */
    text("<OBJECT\n\tDATA = 'CID:x@y'></object>", SCAN_TYPE_HTML, NULL, NULL, 1);
    assert_int_equal(level("Heuristics.HTML.IframeCid"), SCAN_SUSPICIOUS);
    text("<embed src=\"&#99;i&#x64;:worm\">", SCAN_TYPE_TEXT, NULL, "text/html", 1);
    assert_int_equal(level("Heuristics.HTML.IframeCid"), SCAN_SUSPICIOUS);
    text("<iframe/src=\" c\tid&colon;a\">", SCAN_TYPE_HTML, NULL, NULL, 0);
    assert_int_equal(level("Heuristics.HTML.IframeCid"), SCAN_SUSPICIOUS);
    /* Internet Explorer skipped NULs inside a tag */
    object("<ifr\0ame src=`cid:a`>", 21, SCAN_TYPE_HTML, NULL, NULL, 1, 0);
    assert_int_equal(level("Heuristics.HTML.IframeCid"), SCAN_SUSPICIOUS);
}

static void html_its_and_script_are_reported(void **state)
{
    (void)state;
    reset(SCAN_HEUR_ALL);
    /* the MHTML/CHM exploit Mimail's message.html used */
    text("<html><object data=\"ms-its:mhtml:file://C:\\foo.mht!http://x.test//y.chm::/z.htm\">",
         SCAN_TYPE_HTML, NULL, NULL, 2);
    assert_int_equal(level("Heuristics.HTML.MsIts"), SCAN_SUSPICIOUS);
    text("<a href='MK:@MSITStore:C:\\x.chm::/a.htm'>", SCAN_TYPE_HTML, NULL, NULL, 1);
    assert_int_equal(level("Heuristics.HTML.MsIts"), SCAN_SUSPICIOUS);
    text("<div style=\"behavior:url(mhtml:file://c:/a.mht!x)\">", SCAN_TYPE_HTML, NULL, NULL, 1);
    assert_int_equal(level("Heuristics.HTML.MsIts"), SCAN_SUSPICIOUS);
    text("<SCRIPT>w=window.open('M' + 'x');document.location='Ms-Its:x.chm::/a';</SCRIPT>",
         SCAN_TYPE_HTML, NULL, NULL, 1);
    assert_int_equal(level("Heuristics.HTML.MsIts"), SCAN_SUSPICIOUS);
    assert_int_equal(level("Heuristics.HTML.Script"), SCAN_SUSPICIOUS);
    /* scripts, handlers and script URLs in delivered HTML */
    text("<body onload=\"go()\">hi", SCAN_TYPE_HTML, NULL, NULL, 1);
    assert_int_equal(level("Heuristics.HTML.Script"), SCAN_SUSPICIOUS);
    text("<a href=\"javascript:alert(1)\">x</a>", SCAN_TYPE_HTML, NULL, NULL, 1);
    assert_int_equal(level("Heuristics.HTML.Script"), SCAN_SUSPICIOUS);
    text("<img src=x OnError=y>", SCAN_TYPE_HTML, NULL, NULL, 1);
    assert_int_equal(level("Heuristics.HTML.Script"), SCAN_SUSPICIOUS);
    object("<scr\0ipt>x</script>", 19, SCAN_TYPE_HTML, NULL, NULL, 1, 0);
    assert_int_equal(level("Heuristics.HTML.Script"), SCAN_SUSPICIOUS);
    /* IE ran what is inside conditional comments: not skipped */
    text("<!--[if IE]><script>x</script><![endif]-->", SCAN_TYPE_HTML, NULL, NULL, 1);
    assert_int_equal(level("Heuristics.HTML.Script"), SCAN_SUSPICIOUS);
    /* an unterminated tag or script: no overrun, still reported */
    text("<script src=\"a", SCAN_TYPE_HTML, NULL, NULL, 1);
    assert_int_equal(level("Heuristics.HTML.Script"), SCAN_SUSPICIOUS);
}

static void ordinary_html_mail_is_not(void **state)
{
    (void)state;
    reset(SCAN_HEUR_ALL);
    static const char newsletter[] =
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><style>p{margin:0}</style></head>\n"
        "<body style=\"font-family: Arial\"><table width=100% cellpadding=0><tr><td>\n"
        "<img src=\"cid:image001.png@01D2\" alt=\"logo\" width=\"120\">\n"
        "<p>Our meeting moved. See <a href=\"https://example.com/its:fine?x=mhtml\">it</a>\n"
        "<p>Talk: why the mhtml: and ms-its: handlers were dangerous (2003).\n"
        "<p class=online> <font color=red one=1 on=2>5 < 6 and <3 </font>\n"
        "<!-- a comment with cid:x -->\n"
        "</td></tr></table></body></html>\n";
    assert_int_equal(text(newsletter, SCAN_TYPE_HTML, NULL, "text/html", 1), 0);
    /* a web page the operator scans: its scripts are nobody's business */
    assert_int_equal(text("<script>var a=1</script>", SCAN_TYPE_HTML, "index.html", NULL, 0), 0);
    /* scripts in text/plain are not run */
    assert_int_equal(text("<script>x</script>", SCAN_TYPE_TEXT, NULL, "text/plain", 1), 0);
    /* a cid: in a launching tag's other attributes, or an img's */
    assert_int_equal(
        text("<iframe title=\"cid:x\" src=\"https://x.test/\"></iframe><img src=cid:y>",
             SCAN_TYPE_HTML, NULL, NULL, 0),
        0);
}

static void html_bit_turns_it_off(void **state)
{
    (void)state;
    reset(SCAN_HEUR_ALL & ~SCAN_HEUR_HTML_LAUNCH);
    assert_int_equal(text(nimda_html, SCAN_TYPE_HTML, NULL, "text/html", 1), 0);
    assert_int_equal(text("<script>x</script>", SCAN_TYPE_HTML, NULL, NULL, 1), 0);
}

/* ---- Forged administrator ---- */

static void forged_admins_are_reported(void **state)
{
    (void)state;
    reset(SCAN_HEUR_ALL);
    /* Mimail.A */
    assert_int_equal(headers("admin@example.com", "victim@example.com"), 1);
    assert_int_equal(level("Heuristics.Phishing.ForgedAdmin"), SCAN_SUSPICIOUS);
    assert_string_equal(found[0].where, "");
    assert_int_equal(headers("\"Mail Administrator\" <x@example.com>", "V <v@Example.COM>"), 1);
    assert_int_equal(headers("System Administrator <ops7@example.com>", "v@example.com"), 1);
    assert_int_equal(headers("postmaster@example.com.", "<v@mail.example.com>"), 1); /* parent */
    assert_int_equal(headers("Support <it-support@hq.example.co.uk>",
                             "v@mail.example.co.uk"), 1); /* sibling */
    assert_int_equal(headers("NO-REPLY@example.org", "a@other.test, \"Doe, John\" <j@example.org>"),
                     1); /* any recipient */
    assert_int_equal(headers("mail.admin@example.net (Mail Admin)", "team: a@x.test, b@example.net;"),
                     1);
    assert_int_equal(headers("webmaster@example.com (The (nested) Webmaster)", "v@example.com"), 1);
    assert_int_equal(headers("root <root@example.com>", "<@relay.test:v@example.com>"), 1);
    /* an address in the display name is what the reader sees */
    assert_int_equal(headers("\"admin@example.com\" <x@evil.test>", "v@example.com"), 1);
    assert_int_equal(headers("admin@example.com <x@evil.test>", "v@example.com"), 1);
}

static void ordinary_senders_are_not(void **state)
{
    (void)state;
    reset(SCAN_HEUR_ALL);
    /* Mimail.L: billing@spamhaus.org to anyone is a third party */
    assert_int_equal(headers("billing@spamhaus.org", "victim@example.com"), 0);
    assert_int_equal(headers("John Smith <john@example.com>", "v@example.com"), 0);
    /* a mailing list's admin address is not a role of the organisation */
    assert_int_equal(headers("linuxuser-admin@www.linux.org.uk", "a@linux.org.uk"), 0);
    /* bounces from the recipient's own MTA */
    assert_int_equal(headers("Mail Delivery Subsystem <MAILER-DAEMON@example.com>",
                             "v@example.com"), 0);
    assert_int_equal(headers("MAILER DAEMON <>", "<webmaster@python.org>"), 0);
    /* two customers of the same registry suffix are not one organisation */
    assert_int_equal(headers("admin@one.co.uk", "v@two.co.uk"), 0);
    assert_int_equal(headers("admin@co.uk", "v@two.co.uk"), 0);
    assert_int_equal(headers("admin@example.com", "v@example.net"), 0);
    /* the role word must be the role, not part of a name */
    assert_int_equal(headers("\"Adminton, Rooth\" <rooth@example.com>", "v@example.com"), 0);
    assert_int_equal(headers("admin@example.com", "IETF-Announce:;"), 0);
    /* a role writing to its own alias (its members in Bcc) */
    assert_int_equal(headers("IT Support <support@example.com>", "Support@Example.com"), 0);
    assert_int_equal(headers("admin@[192.0.2.1]", "v@[192.0.2.1]"), 0);
    assert_int_equal(headers("foo", "baz"), 0);
    assert_int_equal(headers("", ""), 0);
    nfound = 0;
    heur_headers(&ctx, NULL, NULL, "v@example.com", NULL);
    heur_headers(&ctx, NULL, "admin@example.com", NULL, NULL);
    assert_int_equal(nfound, 0);
    /* unbalanced quotes, comments and angles end without overrun */
    assert_int_equal(headers("\"admin@example.com", "v@example.com"), 0);
    assert_int_equal(headers("(admin@example.com", "v@example.com"), 0);
    headers("<admin@example.com", "<v@example.com");
}

static void forged_admin_bit_turns_it_off(void **state)
{
    (void)state;
    reset(SCAN_HEUR_ALL & ~SCAN_HEUR_FORGED_ADMIN);
    assert_int_equal(headers("admin@example.com", "victim@example.com"), 0);
}

/* ---- GTUBE ---- */

#define GTUBE "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"

static void gtube_is_reported(void **state)
{
    (void)state;
    reset(SCAN_HEUR_ALL);
    assert_int_equal(text("Subject: x\n\n" GTUBE "\n", SCAN_TYPE_MAIL, NULL, NULL, 0), 1);
    assert_int_equal(level("Heuristics.Spam.GTUBE"), SCAN_SUSPICIOUS);
    assert_int_equal(text("<p>" GTUBE, SCAN_TYPE_HTML, NULL, "text/html", 1), 1);
    assert_int_equal(text(GTUBE, SCAN_TYPE_UNKNOWN, NULL, "text/plain", 1), 1);
    /* a changed character, or the string in a program: no */
    assert_int_equal(text("XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34Y",
                          SCAN_TYPE_TEXT, NULL, NULL, 0),
                     0);
    assert_int_equal(text("MZ" GTUBE, SCAN_TYPE_PE, NULL, NULL, 0), 0);
    assert_int_equal(text("XJS*C4JDBQADN1", SCAN_TYPE_TEXT, NULL, NULL, 0), 0);
    reset(SCAN_HEUR_ALL & ~SCAN_HEUR_GTUBE);
    assert_int_equal(text(GTUBE, SCAN_TYPE_TEXT, NULL, NULL, 0), 0);
}

/* ---- real mail ---- */

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(1 << 20);
    assert_non_null(buf);
    *len = fread(buf, 1, (1 << 20) - 1, f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

/* The unfolded value of the first header `name` (and, for "To", every Cc
 * too, joined by commas) in the header block [h, end); out is "" if none. */
static void header(const char *h, const char *end, const char *name, char *out, size_t cap)
{
    size_t n = 0, nl = strlen(name);
    out[0] = '\0';
    for (const char *p = h; p < end;) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            eol = end;
        if ((size_t)(eol - p) > nl && !strncasecmp(p, name, nl) && p[nl] == ':') {
            if (n && n + 2 < cap) {
                out[n++] = ',';
                out[n++] = ' ';
            }
            const char *v = p + nl + 1;
            for (;;) {
                for (; v < eol && n + 1 < cap; v++)
                    if (*v != '\r')
                        out[n++] = *v == '\t' ? ' ' : *v;
                if (eol >= end || (eol[1] != ' ' && eol[1] != '\t'))
                    break;
                v = eol + 1;
                eol = memchr(v, '\n', (size_t)(end - v));
                if (!eol)
                    eol = end;
            }
            out[n] = '\0';
            if (strcmp(name, "To") && strcmp(name, "Cc"))
                return;
        }
        p = eol + 1;
    }
}

static void real_ham_raises_nothing(void **state)
{
    (void)state;
    reset(SCAN_HEUR_ALL);
    glob_t g;
    int rc = glob("/usr/lib/python3.11/test/test_email/data/msg_*.txt", 0, NULL, &g);
    if (rc != 0)
        skip();
    size_t total = 0, messages = 0;
    for (size_t i = 0; i <= g.gl_pathc; i++) {
        const char *path =
            i < g.gl_pathc ? g.gl_pathv[i] : "/usr/share/doc/spamassassin/examples/sample-nonspam.txt";
        size_t len = 0;
        char *m = slurp(path, &len);
        if (!m)
            continue;
        messages++;
        const char *sep = strstr(m, "\n\n");
        const char *crsep = strstr(m, "\r\n\r\n");
        if (crsep && (!sep || crsep < sep))
            sep = crsep + 2;
        const char *body = sep ? sep + 2 : m + len;
        const char *hend = sep ? sep + 1 : m + len;
        char from[2048], to[8192], cc[4096], subject[1024], rcpt[12300];
        header(m, hend, "From", from, sizeof from);
        header(m, hend, "To", to, sizeof to);
        header(m, hend, "Cc", cc, sizeof cc);
        header(m, hend, "Subject", subject, sizeof subject);
        snprintf(rcpt, sizeof rcpt, "%s%s%s", to, *to && *cc ? ", " : "", cc);
        size_t blen = (size_t)(m + len - body);

        struct scan_object msg = {.data = (const uint8_t *)m, .len = len, .where = "",
                                  .type = SCAN_TYPE_MAIL};
        nfound = 0;
        heur_headers(&ctx, &msg, from, rcpt, subject);
        dump(path);
        total += nfound;
        /* the message itself, its body as a text part and as an HTML part */
        total += text(m, SCAN_TYPE_MAIL, NULL, NULL, 0);
        dump(path);
        total += object(body, blen, SCAN_TYPE_TEXT, NULL, "text/plain", 1, 0);
        dump(path);
        total += object(body, blen, SCAN_TYPE_HTML, NULL, "text/html", 1, 0);
        dump(path);
        /* every file name in it, as an attachment with an honest type */
        for (const char *p = m; (p = strstr(p, "name=\"")) != NULL;) {
            p += 6;
            const char *q = strchr(p, '"');
            if (!q || q - p > 200)
                continue;
            char name[256];
            memcpy(name, p, (size_t)(q - p));
            name[q - p] = '\0';
            total += named(SCAN_TYPE_UNKNOWN, name, NULL, 1);
            dump(name);
        }
        free(m);
    }
    globfree(&g);
    assert_true(messages >= 40);
    assert_int_equal(total, 0);
}

static void sample_spam_is_gtube(void **state)
{
    (void)state;
    reset(SCAN_HEUR_ALL);
    size_t len = 0;
    char *m = slurp("/usr/share/doc/spamassassin/examples/sample-spam.txt", &len);
    if (!m)
        skip();
    assert_int_equal(object(m, len, SCAN_TYPE_MAIL, NULL, NULL, 0, 0), 1);
    assert_int_equal(level("Heuristics.Spam.GTUBE"), SCAN_SUSPICIOUS);
    free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(executables_delivered_are_reported),
        cmocka_unit_test(executables_scanned_by_the_operator_are_not),
        cmocka_unit_test(executable_bit_turns_it_off),
        cmocka_unit_test(double_extensions_are_reported),
        cmocka_unit_test(ordinary_double_dots_are_not),
        cmocka_unit_test(padded_names_are_reported),
        cmocka_unit_test(bidi_controls_are_reported),
        cmocka_unit_test(double_ext_bit_turns_it_off),
        cmocka_unit_test(mismatched_types_are_reported),
        cmocka_unit_test(honest_labels_are_not_mismatches),
        cmocka_unit_test(type_mismatch_bit_turns_it_off),
        cmocka_unit_test(html_launching_cid_is_reported),
        cmocka_unit_test(html_its_and_script_are_reported),
        cmocka_unit_test(ordinary_html_mail_is_not),
        cmocka_unit_test(html_bit_turns_it_off),
        cmocka_unit_test(forged_admins_are_reported),
        cmocka_unit_test(ordinary_senders_are_not),
        cmocka_unit_test(forged_admin_bit_turns_it_off),
        cmocka_unit_test(gtube_is_reported),
        cmocka_unit_test(real_ham_raises_nothing),
        cmocka_unit_test(sample_spam_is_gtube),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
