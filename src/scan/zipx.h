/*
 * zipx: decoders for the legacy compression methods that libarchive cannot
 * read, and the zip walker that feeds them (zipx.c); ARJ's reader (arj.c)
 * shares the bounded output and the prefix-code tables declared here, and
 * its decoder is declared here too.
 *
 *   zip method 9, Deflate64 ("enhanced deflate", PKWARE APPNOTE 4.4.5 and
 *     5.6): RFC 1951 deflate with a 64 KiB window, length code 285 = 3 +
 *     16 extra bits, distance codes 30 and 31 (32769 and 49153, 14 extra bits).
 *   zip method 6, Implode (APPNOTE 5.3): a 4 KiB or 8 KiB sliding dictionary
 *     whose output is coded with 2 or 3 Shannon-Fano trees.
 *
 * Trust boundary: the compressed bytes are hostile. Every decoder reads its
 * input through a cursor that cannot pass the end, writes through a struct
 * zipx_out that never grows past its max, rejects malformed code tables, and
 * terminates: each step consumes input or produces output, both bounded.
 * A decoder that stops early keeps what it produced, so the caller can scan
 * the part of a damaged member that did decode.
 */
#ifndef RAMPART_SCAN_ZIPX_H
#define RAMPART_SCAN_ZIPX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

/// How a decoder ended. ZIPX_OK and ZIPX_FULL leave usable output; so do the
/// errors, up to the point where the data went wrong.
enum zipx_status {
    ZIPX_OK = 0,        /* the stream ended where it should */
    ZIPX_FULL = 1,      /* stopped at out->max: the member is larger than allowed */
    ZIPX_ETRUNC = -1,   /* the input ended before the stream did */
    ZIPX_EDATA = -2,    /* malformed: a bad code table, block type or distance */
    ZIPX_ENOMEM = -3,
};

/// "ok", "limit", "truncated", "malformed" or "out of memory".
const char *zipx_status_name(enum zipx_status s);

/// Decoded output: a heap buffer that grows (doubling) up to max bytes and
/// no further. Start it zeroed with max set; the caller owns data afterwards
/// (free() it, whatever the status). Cost: at most max bytes plus the
/// slack of the last doubling (less than 2x what was written).
struct zipx_out {
    uint8_t *data;
    size_t len;
    size_t cap;
    size_t max;
    bool full;          /* a write was cut at max */
    bool nomem;         /* an allocation failed */
};

/// Appends one byte. False once out is full or out of memory.
bool zipx_out_byte(struct zipx_out *out, uint8_t byte);

/// Appends n bytes from p, as many as fit. False if they did not all fit.
bool zipx_out_bytes(struct zipx_out *out, const uint8_t *p, size_t n);

/// Copies len bytes from dist bytes back (dist >= 1; the copy may overlap
/// what it writes, as LZ77 requires). Bytes before the start of the output
/// read as zero, as Implode's dictionary starts zeroed; a decoder for which
/// such a distance is an error rejects it before calling. False once out is
/// full or out of memory (dist 0 copies nothing and also returns false).
bool zipx_out_copy(struct zipx_out *out, size_t dist, size_t len);

/// Reserves room for hint bytes up front (clamped to max), e.g. the size a
/// header claims, so a truthful member is decoded without regrowing.
void zipx_out_hint(struct zipx_out *out, uint64_t hint);

/* ---- prefix codes (Huffman, Shannon-Fano) ---- */

enum { ZIPX_CODE_MAXSYMS = 512, ZIPX_CODE_MAXLEN = 16, ZIPX_CODE_FASTBITS = 9 };

/// A decoding table for a prefix code of up to 512 symbols and codes of up
/// to 16 bits, built from each symbol's code and length. Works for both bit
/// orders: zip streams (deflate, implode) hand out bits from the least
/// significant end of each byte, ARJ from the most significant. Short codes
/// are found with one look-up in fast[]; longer ones by walking the lengths,
/// which needs the codes of one length to be consecutive numbers (true of
/// canonical Huffman codes and of Implode's Shannon-Fano codes). About 2 KiB.
struct zipx_code {
    uint16_t fast[1 << ZIPX_CODE_FASTBITS]; /* symbol << 5 | length; 0: look further */
    uint16_t first[ZIPX_CODE_MAXLEN + 1];   /* smallest code of each length */
    uint16_t count[ZIPX_CODE_MAXLEN + 1];   /* codes of each length */
    uint16_t index[ZIPX_CODE_MAXLEN + 1];   /* where each length's symbols start in sym[] */
    uint16_t sym[ZIPX_CODE_MAXSYMS];
    int single;                             /* >= 0: the only symbol, coded in 0 bits */
    bool lsb_first;
};

/// Builds c from n lengths (0 = symbol unused, else 1..16) and the matching
/// codes (the code's bits as a number, first bit sent = most significant).
/// Rejects (returns -1) lengths over 16, codes that do not fit their length,
/// a set of lengths that oversubscribes the code space, and codes of one
/// length that are not consecutive. An incomplete code is accepted: its
/// unused bit patterns fail when met. 0 on success.
int zipx_code_build(struct zipx_code *c, const uint8_t *lens, const uint16_t *codes, unsigned n,
                    bool lsb_first);

/// Canonical Huffman codes (RFC 1951 3.2.2) for n lengths, then
/// zipx_code_build(). -1 if the lengths are malformed.
int zipx_code_canonical(struct zipx_code *c, const uint8_t *lens, unsigned n, bool lsb_first);

/// A code with one symbol and no bits (ARJ's "every symbol is sym").
void zipx_code_single(struct zipx_code *c, unsigned sym, bool lsb_first);

/// Looks up the next symbol in peek, the next 16 bits of the stream in the
/// code's bit order (lsb_first: bit 0 is the next bit; else bit 15 is).
/// Returns the symbol and sets *len to the bits it used, or -1 if no code
/// matches.
int zipx_code_lookup(const struct zipx_code *c, uint32_t peek, unsigned *len);

/* ---- decoders ---- */

/// Inflates a Deflate64 stream from in[0..inlen) into out, until the final
/// block ends or out->max is reached. *used (if not NULL) is set to the input
/// bytes consumed, rounded up to a whole byte. Never reads past inlen.
enum zipx_status zipx_inflate64(const uint8_t *in, size_t inlen, struct zipx_out *out,
                                size_t *used);

/// Explodes an Implode stream from in[0..inlen) into out until size bytes
/// are produced (the member's uncompressed size: the stream has no end
/// marker) or out->max is reached. flags is the zip general-purpose flag
/// word: bit 1 = 8 KiB dictionary (else 4 KiB), bit 2 = three trees, a
/// literal tree and a minimum match of 3 (else two trees and 2).
enum zipx_status zipx_explode(const uint8_t *in, size_t inlen, unsigned flags, uint64_t size,
                              struct zipx_out *out);

/// Decodes one ARJ file's data (arj.c): method 0 (stored), 1..3 (LZ77 with
/// per-block Huffman codes, a 26624-byte dictionary) or 4 (ARJ's fastest
/// method) from in[0..inlen) into out, until size bytes (the header's
/// original size) or out->max. ZIPX_EDATA for an unknown method.
enum zipx_status arj_unpack(unsigned method, const uint8_t *in, size_t inlen, uint64_t size,
                            struct zipx_out *out);

/* ---- little-endian fields through a bounded cursor ---- */

static inline uint16_t zipx_le16(struct rbuf *b)
{
    uint16_t lo = rbuf_u8(b);
    return (uint16_t)(lo | rbuf_u8(b) << 8);
}

static inline uint32_t zipx_le32(struct rbuf *b)
{
    uint32_t lo = zipx_le16(b);
    return lo | (uint32_t)zipx_le16(b) << 16;
}

#endif
