/*
 * wire: the DNS message format (RFC 1035, RFC 6891 EDNS0) as rampart-dnsbl
 * needs it: parse one query, and write an answer into a bounded buffer.
 *
 * Trust boundary: dns_query_parse() reads raw packets from the network. It
 * never reads past the packet, accepts one question only, refuses compression
 * pointers in the question (no legitimate client sends them there), and limits
 * names to 255 bytes and 127 labels. It costs O(packet length), no allocation.
 */
#ifndef RAMPART_DNS_WIRE_H
#define RAMPART_DNS_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

enum {
    DNS_HEADER_SIZE = 12,
    DNS_MAX_NAME = 255,
    DNS_MAX_LABELS = 127,
    DNS_UDP_MIN = 512,        /* RFC 1035: without EDNS */
    DNS_EDNS_DEFAULT = 1232,  /* our advertised and default maximum (DNS flag day 2020) */
    DNS_TCP_MAX = 65535,
};

enum dns_type {
    DNS_T_A = 1, DNS_T_NS = 2, DNS_T_CNAME = 5, DNS_T_SOA = 6, DNS_T_PTR = 12, DNS_T_MX = 15,
    DNS_T_TXT = 16, DNS_T_AAAA = 28, DNS_T_OPT = 41, DNS_T_TSIG = 250, DNS_T_IXFR = 251, DNS_T_AXFR = 252,
    DNS_T_MAILB = 253, DNS_T_MAILA = 254, DNS_T_ANY = 255,
};
enum dns_class { DNS_C_IN = 1, DNS_C_CH = 3, DNS_C_ANY = 255 };
enum dns_rcode {
    DNS_R_NOERROR = 0, DNS_R_FORMERR = 1, DNS_R_SERVFAIL = 2, DNS_R_NXDOMAIN = 3,
    DNS_R_NOTIMP = 4, DNS_R_REFUSED = 5, DNS_R_BADVERS = 16,
};
enum dns_flag {
    DNS_F_QR = 0x8000, DNS_F_AA = 0x0400, DNS_F_TC = 0x0200, DNS_F_RD = 0x0100,
    DNS_F_RA = 0x0080, DNS_F_AD = 0x0020, DNS_F_CD = 0x0010,
};

/// A parsed query. qname is kept lowercased in wire form; the original bytes
/// (with the client's case) stay in the packet and are echoed in the answer.
struct dns_query {
    uint16_t id;
    uint16_t flags;          /* header flags word as received */
    uint8_t opcode;
    uint16_t qtype, qclass;
    uint8_t qname[DNS_MAX_NAME + 1];
    uint16_t qname_len;      /* bytes including the root label */
    uint8_t nlabels;         /* labels, not counting the root */
    uint8_t label_off[DNS_MAX_LABELS + 1]; /* offset of label i in qname, 0 = leftmost */
    uint16_t question_end;   /* offset just past the question in the packet */
    bool edns;               /* an OPT record was present */
    uint8_t edns_version;
    bool edns_do;
    uint16_t edns_size;      /* requestor's UDP payload size (>= 512) */
    uint8_t cookie_len;      /* RFC 7873 COOKIE option: 0 none, 8 client only, 16..40 both */
    uint8_t cookie[40];      /* client cookie (8 bytes), then the server cookie if any */
    bool tsig;               /* the last additional record is a TSIG (RFC 8945): xfr.h */
};

enum { DNS_OPT_COOKIE = 10, DNS_COOKIE_CLIENT = 8, DNS_COOKIE_SERVER = 16 };

enum dns_parse_result {
    DNS_PARSE_OK = 0,
    DNS_PARSE_DROP = -1,     /* not worth an answer: too short for a header, or a response */
};

/// Parse a query packet. Returns DNS_PARSE_OK, DNS_PARSE_DROP, or an rcode
/// (DNS_R_FORMERR, DNS_R_NOTIMP, DNS_R_BADVERS) to be answered with
/// dns_write_error(). On an rcode, q->id/flags/opcode are valid, and the question
/// fields are valid when q->question_end != 0.
int dns_query_parse(const uint8_t *pkt, size_t len, struct dns_query *q);

/// Write an answer header and the question (copied from pkt) into w, with rcode.
/// The caller appends records and then calls dns_finish().
void dns_write_header(struct wbuf *w, const uint8_t *pkt, const struct dns_query *q, uint16_t flags,
                      int rcode);

/// Write an error answer (no records, echoes the question if it parsed, OPT if the
/// query had one). Returns the answer length, 0 if none should be sent.
size_t dns_write_error(uint8_t *out, size_t cap, const uint8_t *pkt, const struct dns_query *q,
                       int rcode);

/// Append an OPT record advertising our payload size (and extended rcode bits),
/// with a COOKIE option when cookie is not NULL (client cookie + server cookie,
/// 8 + DNS_COOKIE_SERVER bytes). Adds 11 bytes, 39 with the cookie.
void dns_write_opt(struct wbuf *w, int rcode, const uint8_t *cookie);

/// Room dns_write_opt needs for an answer to q.
static inline size_t dns_opt_size(const struct dns_query *q)
{
    return q->edns ? 11 + (q->cookie_len ? 4 + DNS_COOKIE_CLIENT + DNS_COOKIE_SERVER : 0) : 0;
}

/// Turn an answer we wrote into a bare truncated one in place: TC=1, no
/// records, the question kept, no OPT. Never longer than the query it answers
/// (whose header and question it copies). Returns the new length.
size_t dns_make_truncated(uint8_t *ans, size_t len);

/// Convert a text domain name ("bl.example.com", trailing dot optional) into
/// lowercased wire form. Returns the wire length, or -1 if invalid.
int dns_name_from_text(const char *text, size_t len, uint8_t out[DNS_MAX_NAME + 1]);

/// Convert a wire name (no compression) to text without the trailing dot
/// (the root is ""). Returns the text length or -1 if out is too small.
int dns_name_to_text(const uint8_t *wire, char *out, size_t cap);

/// Length of an uncompressed wire name, its root byte included.
int dns_name_len(const uint8_t *wire);

/// Number of labels in a wire name (not counting the root).
int dns_name_labels(const uint8_t *wire);

/// Does the wire name `name` end with `suffix` (both lowercased wire)? Returns the
/// number of labels of name that precede the suffix, or -1.
int dns_name_suffix(const struct dns_query *q, const uint8_t *suffix, int suffix_labels);

#endif
