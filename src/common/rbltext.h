/*
 * rbltext: the leaf pieces of rbldnsd's data-file syntax, shared by the DNS
 * server's loader (src/dns/dataset.c) and the listing database's importer
 * (src/store/import.c), which read the same files: address prefixes as
 * rbldnsd writes them, words, and $TIMESTAMP times. No allocation; every
 * function reads only the text it is given.
 */
#ifndef RAMPART_COMMON_RBLTEXT_H
#define RAMPART_COMMON_RBLTEXT_H

#include <stddef.h>
#include <stdint.h>

/// Parse "a.b.c.d" prefixes: up to 4 octets. Returns the number of octets
/// parsed and the address left-aligned, or -1. *end set past the text.
int rbl_parse_ip4_prefix(const char *s, const char **end, uint32_t *addr);

/// Parse an IPv6 address or prefix as rbldnsd does (trailing groups may be
/// omitted; "::" allowed). Returns number of bits given (16 per group), or -1.
int rbl_parse_ip6(const char *s, size_t len, uint8_t out[16]);

/// Split the next space- or tab-separated word off *s (NUL-terminating it in
/// place); NULL when none is left.
char *rbl_next_word(char **s);

/// yyyy[:-]mm[:-]dd[[:-]hh[[:-]mi[[:-]ss]]] (UTC) -> seconds since the epoch
/// in *out. Returns 0, or -1 if malformed.
int rbl_parse_stamp(const char *w, int64_t *out);

#endif
