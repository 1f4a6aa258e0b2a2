/*
 * store/entry: the text forms of what a list holds, parsed and put in one
 * canonical form before anything reaches SQL. No SQL and no allocation here:
 * src/store's import parser, the `rampart list` commands and the fuzz harness
 * use it alone.
 *
 * Canonical forms (what the database stores, what export writes):
 *   IPv4   "192.0.2.1" (an address), "192.0.2.0/24" (a CIDR, host part zero)
 *   IPv6   RFC 5952 text: "2001:db8::1", "2001:db8::/32" (host part zero)
 *   domain lower case, no trailing dot: "example.com" (that name only),
 *          "*.example.com" (names below it), ".example.com" (both)
 * An exclusion ("!" in rbldnsd files and on the command line) is the same
 * text with the excluded flag set.
 *
 * Trust boundary: every input here is untrusted (operators' typing, trap
 * evidence, third-party files). Parsers read exactly `len` bytes, never past,
 * and refuse rather than guess: a host part in a CIDR, leading zeros in an
 * IPv4 octet, a label with a byte outside [A-Za-z0-9_-], an over-long name.
 */
#ifndef RAMPART_STORE_ENTRY_H
#define RAMPART_STORE_ENTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

enum {
    STORE_ENTRY_MAX = 256,    /* canonical text with its NUL: "*." + a 253-byte name */
    STORE_NAME_MAX = 63,      /* a list's name */
    STORE_TXT_MAX = 255,      /* a TXT template, as rbldnsd limits it */
    STORE_TEXT_MAX = 1024,    /* reason, source, evidence */
};

/// How a domain entry matches.
enum store_dn_match { STORE_DN_EXACT = 0, STORE_DN_BELOW = 1 /* "*." */, STORE_DN_BOTH = 2 /* "." */ };

struct store_parsed {
    char text[STORE_ENTRY_MAX];   /* canonical, without "!" */
    size_t len;
    bool excluded;
    enum store_family family;
    int prefix;                   /* IP: prefix length (32/128 for an address); domain: 0 */
    uint8_t addr[16];             /* IP: network address, IPv4 in addr[0..3] */
    enum store_dn_match match;    /* domain only */
};

/// Parse one entry as an operator types it (optionally "!"-prefixed) for a
/// list of `kind` (0: any). Strict: IPv4 dotted quads without leading zeros,
/// IPv6 as inet_pton(3) reads it, both with an optional /len and no host
/// part; domains as described above (a trailing dot and upper case are
/// accepted and canonicalised). Returns 0, or STORE_EINVAL with the reason in
/// err ("host part set in 10.0.0.1/8 (the network is 10.0.0.0/8)").
int store_entry_parse(const char *text, size_t len, enum store_kind kind, struct store_parsed *out,
                      char *err, size_t errcap);

/// Build the canonical text of an IP prefix (addr holds at least the network
/// bits; host bits must already be zero). out gets family, text, prefix, addr.
void store_entry_from_ip(enum store_family fam, const uint8_t *addr, int prefix, struct store_parsed *out);

/// Check and canonicalise a domain name (no "*." or "." prefix, no "!")
/// into out (lower case, trailing dot removed). Returns 0 or STORE_EINVAL.
int store_domain_parse(const char *text, size_t len, char *out, size_t outcap, char *err, size_t errcap);

/// Can a list of this kind hold an entry of this family?
bool store_kind_holds(enum store_kind kind, enum store_family fam);

/// "ip4", "ip6", "dns", "combined"; NULL for anything else.
const char *store_kind_name(enum store_kind kind);
/// Parse a kind name. Returns 0 or STORE_EINVAL.
int store_kind_parse(const char *s, enum store_kind *out);

/// An A value as rbldnsd writes it ("127.0.0.2", "2" = 127.0.0.2, "1.2" =
/// 127.0.1.2) from s[0..len). Must lie in 127.0.0.0/8 and not be 127.0.0.0
/// or 127.0.0.1 (RFC 5782: 127.0.0.1 means "not listed").
int store_code_parse(const char *s, size_t len, uint32_t *out, char *err, size_t errcap);
/// The same check on a number already parsed.
int store_code_check(uint32_t code, char *err, size_t errcap);
/// "127.0.0.2"
void store_code_format(uint32_t code, char out[16]);

/// A TXT template: at most 255 bytes, no control bytes, no leading or
/// trailing blank and no leading "=" (rbldnsd would read those differently
/// from what was meant). "$" stands for the entry, "$$" for a dollar sign.
int store_txt_check(const char *s, char *err, size_t errcap);

/// A list name: 1-63 bytes of [A-Za-z0-9._-], starting with a letter or digit.
int store_list_name_check(const char *s, char *err, size_t errcap);

/// Reason, source, evidence: at most STORE_TEXT_MAX bytes, no control bytes
/// other than tab (they end up in terminals and logs).
int store_text_check(const char *what, const char *s, char *err, size_t errcap);

#endif
