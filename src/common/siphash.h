/*
 * siphash: SipHash-2-4 (Aumasson and Bernstein, 2012), a keyed 64-bit hash.
 *
 * Used where an attacker chooses the input and must not be able to predict or
 * collide the output: DNS server cookies (RFC 9018 fixes SipHash-2-4 for
 * interoperable cookies) and the rate limiter's bucket index. Written from the
 * paper's description; checked against the paper's test vectors in
 * tests/unit/test_rrl.c.
 */
#ifndef RAMPART_COMMON_SIPHASH_H
#define RAMPART_COMMON_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

/// SipHash-2-4 of msg[0..len) under the 16-byte key. O(len), no allocation.
uint64_t siphash24(const uint8_t key[16], const void *msg, size_t len);

#endif
