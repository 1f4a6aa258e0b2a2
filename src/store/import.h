/*
 * store/import: reading rbldnsd data files into listings, line by line.
 *
 * Every dataset type's syntax is read as rbldnsd (and rampart-dnsbl) read it:
 * ip4set (addresses, prefixes like "10.1", CIDRs, ranges "a.b.c.d-e.f.g.h"
 * and "a.b.c-d", each split into the fewest CIDRs), ip4tset, ip4trie,
 * ip6tset, ip6trie (with omitted trailing groups), dnset ("name", "*.name",
 * ".name"), generic ("name [ttl] [IN] type data"), combined ("$DATASET type
 * subzone..." sections), with "!" exclusions, ":A:TXT" defaults and
 * per-entry values, $n substitutions, the $= base template, $MAXRANGE4 and
 * $TIMESTAMP. Each entry becomes a record: a canonical entry (entry.h) with
 * its A code and TXT template.
 *
 * What a list cannot hold is refused with a reason, never approximated
 * silently: acl datasets (client access rules, not listings), generic
 * records other than A in 127.0.0.0/8 and TXT (MX, AAAA, a web server's A),
 * the zone's own name ("@"), combined sections for other subzones unless
 * one subzone is chosen, A values outside 127.0.0.0/8. $SOA, $NS and $TTL are
 * read and ignored (a list has its own TTL; SOA and NS are the server's).
 * Mappings a list imposes (see docs/rampart.1): an entry without TXT gets the
 * list's template; several lines for the same entry keep the last.
 *
 * Trust boundary: the files are third-party data. Lines longer than
 * STORE_IMPORT_MAX_LINE bytes or holding a NUL byte are refused; every
 * expansion is bounded; no allocation per line.
 */
#ifndef RAMPART_STORE_IMPORT_H
#define RAMPART_STORE_IMPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/entry.h"

enum { STORE_IMPORT_MAX_LINE = 8192 };

/// One entry read from a file. Valid during the emit callback only.
struct store_import_rec {
    struct store_parsed p;    /* canonical entry, family, excluded */
    bool has_code, has_txt;   /* generic: an A line sets only the code, a TXT line only the text */
    uint32_t code;            /* the effective A value */
    const char *txt;          /* the effective TXT template, NULL: none */
    int64_t expires;          /* from $TIMESTAMP, 0: none */
};

struct store_import;

/// The rbldnsd dataset types, as named on rbldnsd's command line.
bool store_import_type_known(const char *type);

/// A parser for files of `type`. subzone (combined only): import the sections
/// that serve this subzone ("@": the base zone, the default when NULL); with
/// NULL, a section for other subzones only is an error, with a subzone given
/// such sections are skipped. now: for $TIMESTAMP checks. Returns NULL with a
/// reason in err (an unknown type, or acl).
struct store_import *store_import_new(const char *type, const char *subzone, int64_t now, char *err,
                                      size_t errcap);

/// A new file starts: ":A:TXT" defaults reset as rbldnsd resets them.
void store_import_next_file(struct store_import *im);

/// Read one line (without its newline; a trailing CR is dropped). Calls emit
/// for each entry it yields (a range may yield several). Returns 0,
/// STORE_EINVAL for a bad line (reason in err, nothing emitted), or emit's
/// non-zero return as it is.
int store_import_line(struct store_import *im, const char *line, size_t len,
                      int (*emit)(void *ctx, const struct store_import_rec *r), void *ctx, char *err,
                      size_t errcap);

struct store_import_stats {
    uint64_t specials_ignored;   /* $SOA, $NS, $TTL lines */
    uint64_t skipped_lines;      /* lines of combined sections for other subzones */
    uint64_t skipped_sections;
};

void store_import_stats(const struct store_import *im, struct store_import_stats *out);

void store_import_free(struct store_import *im);

#endif
