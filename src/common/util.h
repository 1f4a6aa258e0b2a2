/*
 * util: small parsing and time helpers shared by every program.
 */
#ifndef RAMPART_COMMON_UTIL_H
#define RAMPART_COMMON_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/// Parse a duration with an optional unit suffix (s, m, h, d, w; case-insensitive)
/// from s[0..len). Returns 0 and stores seconds in *out, or -1 if malformed or > 2^31-1.
int util_parse_duration(const char *s, size_t len, uint32_t *out);

/// Parse an unsigned decimal number from s[0..len) no larger than max. Returns 0 or -1.
int util_parse_uint(const char *s, size_t len, uint64_t max, uint64_t *out);

/// The value of one hex digit (either case), or -1 for any other byte.
int util_hexval(int c);

/// Monotonic time in nanoseconds.
uint64_t util_now_ns(void);

/// Number of online CPUs (at least 1).
int util_ncpus(void);

#endif
