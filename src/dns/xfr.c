/*
 * xfr.c: AXFR and IXFR out of rampart-dnsbl (xfr.h).
 *
 * A message is filled record by record until the next one does not fit its
 * target size (16 KiB, minus room for a TSIG record); the zone walk or the
 * journal then stops and resumes there for the next message. Owner names are
 * written as their labels below the apex plus a compression pointer to the
 * apex written once per message; an owner equal to the one before is a
 * pointer to it (a listed address's A and TXT records share one name).
 */
#include "xfr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/util.h"

enum { XFR_MSG_DEFAULT = 16 * 1024, PTR_MAX = 0x3fff };

/* ---- access ---- */

int xfr_allow_parse(struct xfr_config *xc, const char *spec, char *err, size_t errcap)
{
    char host[INET6_ADDRSTRLEN + 1];
    const char *slash = strchr(spec, '/');
    size_t hl = slash ? (size_t)(slash - spec) : strlen(spec);
    if (hl == 0 || hl >= sizeof host) {
        snprintf(err, errcap, "expected ADDR[/LEN]");
        return -1;
    }
    memcpy(host, spec, hl);
    host[hl] = '\0';
    struct xfr_net n = {0};
    int max;
    if (inet_pton(AF_INET, host, n.addr) == 1) {
        n.family = AF_INET;
        max = 32;
    } else if (inet_pton(AF_INET6, host, n.addr) == 1) {
        n.family = AF_INET6;
        max = 128;
    } else {
        snprintf(err, errcap, "not an IPv4 or IPv6 address");
        return -1;
    }
    n.len = max;
    if (slash) {
        uint64_t v;
        if (util_parse_uint(slash + 1, strlen(slash + 1), (uint64_t)max, &v) < 0) {
            snprintf(err, errcap, "prefix length must be 0..%d", max);
            return -1;
        }
        n.len = (int)v;
    }
    for (int b = n.len; b < max; b++) /* keep the network part only */
        n.addr[b / 8] &= (uint8_t)~(0x80 >> (b % 8));
    struct xfr_net *v = realloc(xc->allow, (size_t)(xc->nallow + 1) * sizeof *v);
    if (!v) {
        snprintf(err, errcap, "out of memory");
        return -1;
    }
    xc->allow = v;
    xc->allow[xc->nallow++] = n;
    return 0;
}

static bool prefix_match(const uint8_t *a, const uint8_t *net, int len)
{
    int full = len / 8, rest = len % 8;
    if (memcmp(a, net, (size_t)full) != 0)
        return false;
    return rest == 0 || ((a[full] ^ net[full]) & (uint8_t)(0xff00 >> rest)) == 0;
}

bool xfr_allowed(const struct xfr_config *xc, const struct sockaddr_storage *peer)
{
    uint8_t a4[4], a6[16];
    bool v4 = peer->ss_family == AF_INET;
    if (v4) {
        memcpy(a4, &((const struct sockaddr_in *)peer)->sin_addr, 4);
    } else if (peer->ss_family == AF_INET6) {
        memcpy(a6, &((const struct sockaddr_in6 *)peer)->sin6_addr, 16);
        static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(a6, mapped, 12) == 0) {
            memcpy(a4, a6 + 12, 4);
            v4 = true;
        }
    } else {
        return false;
    }
    for (int i = 0; i < xc->nallow; i++) {
        const struct xfr_net *n = &xc->allow[i];
        if (n->family == AF_INET && v4 && prefix_match(a4, n->addr, n->len))
            return true;
        if (n->family == AF_INET6 && !v4 && prefix_match(a6, n->addr, n->len))
            return true;
    }
    return false;
}

void xfr_config_free(struct xfr_config *xc)
{
    free(xc->allow);
    xc->allow = NULL;
    xc->nallow = 0;
    tsig_keys_free(&xc->keys);
}

static void fmt_peer(const struct sockaddr_storage *peer, char *out, size_t cap)
{
    if (!peer) {
        snprintf(out, cap, "-");
        return;
    }
    if (peer->ss_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)peer)->sin_addr, out, (socklen_t)cap);
    else if (peer->ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)peer)->sin6_addr, out, (socklen_t)cap);
    else
        snprintf(out, cap, "?");
}

bool xfr_is_transfer(const uint8_t *pkt, size_t len)
{
    if (len < DNS_HEADER_SIZE || (pkt[2] & 0xf8) != 0 || pkt[4] != 0 || pkt[5] != 1)
        return false; /* a response, another opcode, or not one question */
    size_t p = DNS_HEADER_SIZE;
    while (p < len && pkt[p] && pkt[p] <= 63)
        p += (size_t)pkt[p] + 1;
    if (p + 5 > len || pkt[p])
        return false;
    uint16_t qtype = (uint16_t)(pkt[p + 1] << 8 | pkt[p + 2]);
    return qtype == DNS_T_AXFR || qtype == DNS_T_IXFR;
}

/* ---- writing messages ---- */

struct msgw {
    struct wbuf w;
    const struct zone *z;
    size_t zlen;                      /* the apex name's wire length */
    uint16_t apex_off;                /* where the apex name is written in full, 0 none yet */
    uint16_t prev_off;                /* where the previous owner starts, 0 none */
    uint8_t prev[DNS_MAX_NAME + 1];   /* its labels below the apex */
    size_t prev_len;
    uint16_t ancount;
};

/* The labels below the apex, then a pointer to the apex (written in full the
 * first time in a message). */
static void put_name(struct msgw *m, const uint8_t *labels, size_t len, bool owner)
{
    struct wbuf *w = &m->w;
    if (owner && m->prev_off && len == m->prev_len && memcmp(labels, m->prev, len) == 0) {
        wbuf_u16(w, (uint16_t)(0xc000 | m->prev_off));
        return;
    }
    size_t start = w->len;
    wbuf_bytes(w, labels, len);
    if (m->apex_off) {
        wbuf_u16(w, (uint16_t)(0xc000 | m->apex_off));
    } else {
        if (w->len <= PTR_MAX)
            m->apex_off = (uint16_t)w->len;
        wbuf_bytes(w, m->z->name, m->zlen);
    }
    if (owner && start <= PTR_MAX && len <= DNS_MAX_NAME) {
        m->prev_off = (uint16_t)start;
        memcpy(m->prev, labels, len);
        m->prev_len = len;
    }
}

/* Append one record; returns 0, or 1 (nothing written) when it does not fit. */
static int put_rr(struct msgw *m, const struct ds_rr *rr)
{
    struct wbuf *w = &m->w;
    struct msgw save = *m;
    if (rr->owner_len + m->zlen > DNS_MAX_NAME + 1)
        return 0; /* not a valid name under this apex: skip */
    put_name(m, rr->owner, rr->owner_len, true);
    wbuf_u16(w, rr->type);
    wbuf_u16(w, DNS_C_IN);
    wbuf_u32(w, rr->ttl);
    size_t rdlen_at = w->len;
    wbuf_u16(w, 0);
    if (rr->type == DNS_T_CNAME && !rr->rdata) {
        /* an exclusion: "excluded" under the current origin, as rbldnsd -d */
        static const uint8_t excluded[] = "\x08" "excluded";
        uint8_t target[DNS_MAX_NAME + 1];
        size_t ol = rr->origin_len <= rr->owner_len ? rr->origin_len : 0;
        memcpy(target, excluded, 9);
        memcpy(target + 9, rr->owner + rr->owner_len - ol, ol);
        put_name(m, target, 9 + ol, false);
    } else if (rr->type == DNS_T_TXT && rr->tpl) {
        uint8_t rd[256];
        wbuf_bytes(w, rd, ds_txt_rdata(rd, rr->tpl, rr->entry));
    } else {
        wbuf_bytes(w, rr->rdata, rr->rdlen);
    }
    wbuf_put_u16_at(w, rdlen_at, (uint16_t)(w->len - rdlen_at - 2));
    if (w->err) {
        *m = save;
        m->w.err = false;
        return 1;
    }
    m->ancount++;
    return 0;
}

/* ---- sessions ---- */

enum xfr_kind { KIND_AXFR, KIND_IXFR_FULL, KIND_IXFR };
enum xfr_phase { PH_FIRST, PH_BODY, PH_LAST, PH_DONE };

struct xfr_session {
    const struct xfr_config *xc;
    struct zone zone;                 /* a copy: name, text, and its own ds array */
    enum xfr_kind kind;
    enum xfr_phase phase;
    uint16_t id, flags;               /* of the query: ID, opcode and RD echoed */
    uint8_t question[DNS_MAX_NAME + 1 + 4];
    size_t qlen;
    bool edns;
    struct tsig_ctx tsig;
    struct ds_soa soa;                /* the zone's SOA when the transfer started */
    uint32_t soa_ttl;
    uint32_t from;                    /* IXFR: the client's serial */
    struct zone_pos pos;              /* AXFR: where the walk stands */
    /* IXFR from the journal: where the changes stand (xfr_journal.changes) */
    uint32_t after;
    uint64_t skip;
    bool in_group, old_written, new_written, broken;
    uint32_t group, group_from;
    /* for the log */
    char client[INET6_ADDRSTRLEN];
    unsigned messages;
    uint64_t records, bytes, started_ns;
    bool complete;
    const char *why;                  /* why it was cut, NULL if it was not */
};

static int put_soa(struct msgw *m, const struct xfr_session *s, uint32_t serial)
{
    uint8_t rd[2 * (DNS_MAX_NAME + 1) + 20];
    struct wbuf w = wbuf_make(rd, sizeof rd);
    wbuf_bytes(&w, s->soa.mname, (size_t)dns_name_len(s->soa.mname));
    wbuf_bytes(&w, s->soa.rname, (size_t)dns_name_len(s->soa.rname));
    wbuf_u32(&w, serial);
    wbuf_u32(&w, s->soa.refresh);
    wbuf_u32(&w, s->soa.retry);
    wbuf_u32(&w, s->soa.expire);
    wbuf_u32(&w, s->soa.minttl);
    struct ds_rr rr = {.owner = (const uint8_t *)"", .type = DNS_T_SOA, .ttl = s->soa_ttl,
                       .rdata = rd, .rdlen = (uint16_t)w.len};
    return put_rr(m, &rr);
}

static int walk_emit(void *arg, const struct ds_rr *rr)
{
    if (rr->type == DS_RR_ORIGIN)
        return 0;
    return put_rr(arg, rr);
}

struct journal_arg {
    struct xfr_session *s;
    struct msgw *m;
};

/* One change from the journal: open its serial's difference sequence (RFC
 * 1995 section 4: old SOA, removals, new SOA, additions) as needed, then the
 * record. Every state change happens only once what it stands for is written,
 * so that a change refused for lack of room is taken again from the same state. */
static int journal_emit(void *arg, const struct xfr_change *c)
{
    struct xfr_session *s = ((struct journal_arg *)arg)->s;
    struct msgw *m = ((struct journal_arg *)arg)->m;
    if (!s->in_group || c->serial != s->group) {
        if (s->in_group) {
            if (!s->new_written && put_soa(m, s, s->group))
                return 1;
            s->after = s->group;
            s->skip = 0;
        }
        s->group_from = s->in_group ? s->group : s->from;
        if (!xfr_serial_lt(s->group_from, c->serial)) {
            s->broken = true; /* serials must grow */
            return 1;
        }
        s->group = c->serial;
        s->in_group = true;
        s->old_written = s->new_written = false;
    }
    if (!c->add && s->new_written) {
        s->broken = true; /* a removal after an addition of the same serial */
        return 1;
    }
    if (!s->old_written) {
        if (put_soa(m, s, s->group_from))
            return 1;
        s->old_written = true;
    }
    if (c->add && !s->new_written) {
        if (put_soa(m, s, s->group))
            return 1;
        s->new_written = true;
    }
    if (put_rr(m, &c->rr))
        return 1;
    s->skip++;
    return 0;
}

/* Fill the body of a message. Returns 0 when the body is complete, 1 when the
 * message is full, -1 when the transfer must be cut. */
static int fill_body(struct xfr_session *s, struct msgw *m)
{
    if (s->kind != KIND_IXFR)
        return dns_zone_walk(&s->zone, &s->pos, walk_emit, m) ? 0 : 1;
    const struct xfr_journal *j = s->xc->journal;
    struct journal_arg a = {s, m};
    int r = j->changes(j->ctx, &s->zone, s->after, s->soa.serial, s->skip, journal_emit, &a);
    if (s->broken) {
        s->why = "journal out of order";
        return -1;
    }
    if (r < 0) {
        s->why = "journal error";
        return -1;
    }
    if (r > 0)
        return 1;
    if (s->in_group && !s->new_written) {
        if (put_soa(m, s, s->group))
            return 1;
        s->new_written = true;
    }
    if (!s->in_group || s->group != s->soa.serial) {
        s->why = "journal ends before the served serial";
        return -1;
    }
    return 0;
}

size_t xfr_next(struct xfr_session *s, uint8_t *out, size_t cap)
{
    if (s->phase == PH_DONE || s->why)
        return 0;
    size_t reserve = s->tsig.key ? TSIG_RR_MAX : 0;
    size_t target = s->xc->msg_size ? s->xc->msg_size : XFR_MSG_DEFAULT;
    bool first = s->messages == 0;
    size_t opt = first && s->edns ? 11 : 0;
    if (target < reserve + opt + 64)
        target = reserve + opt + 64; /* room for records besides the TSIG and OPT */
    if (target > DNS_TCP_MAX)
        target = DNS_TCP_MAX;
    if (target > cap) {
        s->why = "output buffer too small";
        return 0;
    }
    struct msgw m = {.w = wbuf_make(out, target - reserve - opt), .z = &s->zone,
                     .zlen = (size_t)dns_name_len(s->zone.name)};
    wbuf_u16(&m.w, s->id);
    wbuf_u16(&m.w, (uint16_t)(DNS_F_QR | DNS_F_AA | (s->flags & (0x7800 | DNS_F_RD))));
    wbuf_u16(&m.w, first ? 1 : 0);
    wbuf_u16(&m.w, 0);
    wbuf_u16(&m.w, 0);
    wbuf_u16(&m.w, 0);
    if (first)
        wbuf_bytes(&m.w, s->question, s->qlen);
    for (;;) {
        if (s->phase == PH_FIRST) {
            /* AXFR: the walk gives the first SOA itself */
            if (s->kind == KIND_IXFR && put_soa(&m, s, s->soa.serial))
                break;
            s->phase = PH_BODY;
        }
        if (s->phase == PH_BODY) {
            int r = fill_body(s, &m);
            if (r < 0) {
                log_warn("event=xfr-cut zone=%s client=%s reason=\"%s\"", s->zone.text, s->client,
                         s->why);
                return 0;
            }
            if (r > 0)
                break;
            s->phase = PH_LAST;
        }
        if (s->phase == PH_LAST) {
            if (put_soa(&m, s, s->soa.serial))
                break;
            s->phase = PH_DONE;
        }
        break;
    }
    if (m.ancount == 0) {
        s->why = "a record larger than a message";
        log_warn("event=xfr-cut zone=%s client=%s reason=\"%s\"", s->zone.text, s->client, s->why);
        return 0;
    }
    wbuf_put_u16_at(&m.w, 6, m.ancount);
    m.w.cap += opt;
    if (opt)
        dns_write_opt(&m.w, 0, NULL);
    size_t n = m.w.len;
    if (s->tsig.key) {
        n = tsig_sign(&s->tsig, out, n, target, (uint64_t)time(NULL));
        if (!n) {
            s->why = "no room to sign";
            return 0;
        }
    }
    s->messages++;
    s->records += m.ancount;
    s->bytes += n;
    if (s->phase == PH_DONE)
        s->complete = true;
    return n;
}

bool xfr_complete(const struct xfr_session *s)
{
    return s->complete;
}

void xfr_end(struct xfr_session *s)
{
    if (!s)
        return;
    double secs = (double)(util_now_ns() - s->started_ns) / 1e9;
    const char *kind = s->kind == KIND_AXFR ? "AXFR" : s->kind == KIND_IXFR ? "IXFR" : "IXFR-full";
    if (s->complete)
        log_info("event=xfr-done zone=%s client=%s type=%s serial=%u messages=%u records=%llu "
                 "bytes=%llu seconds=%.3f",
                 s->zone.text, s->client, kind, s->soa.serial, s->messages,
                 (unsigned long long)s->records, (unsigned long long)s->bytes, secs);
    else
        log_info("event=xfr-aborted zone=%s client=%s type=%s serial=%u messages=%u records=%llu "
                 "reason=\"%s\"",
                 s->zone.text, s->client, kind, s->soa.serial, s->messages,
                 (unsigned long long)s->records, s->why ? s->why : "connection closed");
    for (int i = 0; i < s->zone.nds; i++)
        dataset_release(s->zone.ds[i]);
    free(s->zone.ds);
    free(s->zone.text);
    free(s);
}

/* ---- starting ---- */

/* Step *p over a name (plain labels, or ending in a compression pointer)
 * that must lie before end. Returns 0, or -1 if malformed. */
static int skip_name(const uint8_t *pkt, size_t end, size_t *p)
{
    for (int hops = 0;; hops++) {
        if (*p >= end || hops > DNS_MAX_LABELS)
            return -1;
        if (pkt[*p] == 0) {
            (*p)++;
            return 0;
        }
        if ((pkt[*p] & 0xc0) == 0xc0) {
            *p += 2;
            return 0;
        }
        if (pkt[*p] > 63)
            return -1;
        *p += (size_t)pkt[*p] + 1;
    }
}

/* The serial of the SOA in an IXFR query's authority section (RFC 1995
 * section 3). Returns 0, or -1 if it is missing or malformed. */
static int ixfr_client_serial(const uint8_t *pkt, size_t len, const struct dns_query *q,
                              uint32_t *serial)
{
    uint16_t nscount = (uint16_t)(pkt[8] << 8 | pkt[9]);
    if (nscount != 1)
        return -1;
    size_t p = q->question_end;
    /* owner: any name (usually a pointer to the question) */
    if (skip_name(pkt, len, &p) < 0)
        return -1;
    if (p + 10 > len)
        return -1;
    uint16_t type = (uint16_t)(pkt[p] << 8 | pkt[p + 1]);
    size_t rdlen = (size_t)(pkt[p + 8] << 8 | pkt[p + 9]);
    p += 10;
    if (type != DNS_T_SOA || p + rdlen > len)
        return -1;
    size_t end = p + rdlen;
    for (int name = 0; name < 2; name++)
        if (skip_name(pkt, end, &p) < 0)
            return -1;
    if (p + 20 != end)
        return -1;
    *serial = (uint32_t)pkt[p] << 24 | (uint32_t)pkt[p + 1] << 16 | (uint32_t)pkt[p + 2] << 8 |
              pkt[p + 3];
    return 0;
}

/* An answer of one message with rcode, signed when ctx has a key, with the
 * TSIG error record when the request's signature failed (req_rr given). */
static size_t single_error(const uint8_t *pkt, const struct dns_query *q, int rcode,
                           struct tsig_ctx *ctx, const struct tsig_rr *req_rr, uint8_t *out,
                           size_t cap, uint64_t now)
{
    size_t n = dns_write_error(out, cap, pkt, q, rcode);
    if (!n)
        return 0;
    if (ctx && ctx->key) {
        size_t s = tsig_sign(ctx, out, n, cap, now);
        return s ? s : n;
    }
    if (req_rr && ctx && ctx->error) {
        size_t s = tsig_append_error(req_rr, ctx->error, out, n, cap);
        return s ? s : n;
    }
    return n;
}

static const char *tsig_error_name(int e)
{
    switch (e) {
    case TSIG_BADSIG: return "BADSIG";
    case TSIG_BADKEY: return "BADKEY";
    case TSIG_BADTIME: return "BADTIME";
    case TSIG_BADTRUNC: return "BADTRUNC";
    default: return "FORMERR";
    }
}

enum xfr_begin_result xfr_begin(const struct xfr_config *xc, const struct dns_config *cfg,
                                const uint8_t *pkt, size_t len,
                                const struct sockaddr_storage *peer, uint64_t now, uint8_t *out,
                                size_t cap, size_t *outlen, struct xfr_session **sess)
{
    *sess = NULL;
    *outlen = 0;
    if (!xfr_is_transfer(pkt, len))
        return XFR_NOT_XFR;
    struct dns_query q;
    int pr = dns_query_parse(pkt, len, &q);
    if (pr == DNS_PARSE_DROP)
        return XFR_ANSWERED; /* nothing to send */
    if (pr != DNS_PARSE_OK) {
        *outlen = dns_write_error(out, cap, pkt, &q, pr);
        return XFR_ANSWERED;
    }
    char client[INET6_ADDRSTRLEN], zname[DNS_MAX_NAME + 1];
    fmt_peer(peer, client, sizeof client);
    if (dns_name_to_text(q.qname, zname, sizeof zname) < 0)
        zname[0] = '\0';
    const char *kind = q.qtype == DNS_T_AXFR ? "AXFR" : "IXFR";

    /* RFC 8945 5.2: the signature is checked first; its errors are NOTAUTH */
    struct tsig_ctx tctx = {0};
    struct tsig_rr trr;
    bool tsigned = false;
    if (q.tsig) {
        int f = tsig_find(pkt, len, &trr);
        int v = f == 1 ? tsig_verify_request(xc ? &xc->keys : NULL, pkt, len, &trr, now, &tctx) : -1;
        if (v < 0) {
            *outlen = dns_write_error(out, cap, pkt, &q, DNS_R_FORMERR);
            return XFR_ANSWERED;
        }
        if (v > 0) {
            char key[DNS_MAX_NAME + 1];
            if (dns_name_to_text(trr.name, key, sizeof key) < 0)
                key[0] = '\0';
            log_warn("event=xfr-refused zone=%s client=%s type=%s key=%s reason=%s", zname, client,
                     kind, key, tsig_error_name(v));
            *outlen = single_error(pkt, &q, DNS_R_NOTAUTH, &tctx, &trr, out, cap, now);
            return XFR_ANSWERED;
        }
        tsigned = true;
    }
    const struct zone *z = NULL;
    for (int i = 0; cfg && i < cfg->nzones; i++)
        if (cfg->zones[i].nlabels == q.nlabels &&
            memcmp(cfg->zones[i].name, q.qname, q.qname_len) == 0)
            z = &cfg->zones[i];
    if (!z || q.qclass != DNS_C_IN) {
        /* RFC 5936 2.2.1: not authoritative for that zone */
        log_warn("event=xfr-refused zone=%s client=%s type=%s reason=not-a-zone", zname, client,
                 kind);
        *outlen = single_error(pkt, &q, DNS_R_NOTAUTH, &tctx, NULL, out, cap, now);
        return XFR_ANSWERED;
    }
    if (!tsigned && !(xc && xfr_allowed(xc, peer))) {
        log_warn("event=xfr-refused zone=%s client=%s type=%s reason=not-allowed", zname, client,
                 kind);
        *outlen = single_error(pkt, &q, DNS_R_REFUSED, &tctx, NULL, out, cap, now);
        return XFR_ANSWERED;
    }
    const struct ds_soa *soa = dns_zone_soa(z);
    bool loaded = true;
    for (int i = 0; i < z->nds; i++)
        loaded = loaded && z->ds[i]->priv;
    if (!soa || !loaded) {
        log_warn("event=xfr-refused zone=%s client=%s type=%s reason=%s", zname, client, kind,
                 soa ? "not-loaded" : "no-soa");
        *outlen = single_error(pkt, &q, DNS_R_SERVFAIL, &tctx, NULL, out, cap, now);
        return XFR_ANSWERED;
    }
    uint32_t from = 0;
    enum xfr_kind k = KIND_AXFR;
    if (q.qtype == DNS_T_IXFR) {
        if (ixfr_client_serial(pkt, len, &q, &from) < 0) {
            *outlen = single_error(pkt, &q, DNS_R_FORMERR, &tctx, NULL, out, cap, now);
            return XFR_ANSWERED;
        }
        k = KIND_IXFR_FULL;
        const struct xfr_journal *j = xc ? xc->journal : NULL;
        if (!xfr_serial_lt(from, soa->serial))
            k = KIND_IXFR; /* up to date: the answer is the current SOA alone */
        else if (j && j->covers && j->changes && j->covers(j->ctx, z, from, soa->serial) == 1)
            k = KIND_IXFR;
    }
    struct xfr_session *s = calloc(1, sizeof *s);
    struct dataset **ds = calloc((size_t)z->nds + 1, sizeof *ds);
    char *text = strdup(z->text);
    if (!s || !ds || !text) {
        free(s);
        free(ds);
        free(text);
        *outlen = single_error(pkt, &q, DNS_R_SERVFAIL, &tctx, NULL, out, cap, now);
        return XFR_ANSWERED;
    }
    s->xc = xc;
    memcpy(s->zone.name, z->name, sizeof z->name);
    s->zone.nlabels = z->nlabels;
    s->zone.index = z->index;
    s->zone.text = text;
    s->zone.ds = ds;
    s->zone.nds = z->nds;
    for (int i = 0; i < z->nds; i++) {
        ds[i] = z->ds[i];
        dataset_hold(ds[i]); /* cfg is held by our caller: the datasets are alive */
    }
    s->kind = k;
    s->phase = PH_FIRST;
    s->id = q.id;
    s->flags = q.flags;
    s->qlen = (size_t)(q.question_end - DNS_HEADER_SIZE);
    memcpy(s->question, pkt + DNS_HEADER_SIZE, s->qlen);
    s->edns = q.edns;
    s->tsig = tctx;
    s->soa = *soa;
    s->soa_ttl = dns_zone_soa_ttl(z);
    s->from = from;
    s->after = from;
    memcpy(s->client, client, sizeof client);
    s->started_ns = util_now_ns();
    if (q.qtype == DNS_T_IXFR && !xfr_serial_lt(from, soa->serial)) {
        /* RFC 1995 section 2: the client is current: one SOA */
        s->phase = PH_LAST;
    }
    char key[DNS_MAX_NAME + 1] = "-";
    if (tsigned)
        snprintf(key, sizeof key, "%s", tctx.key->text);
    log_info("event=xfr-start zone=%s client=%s type=%s serial=%u client_serial=%u answer=%s key=%s",
             text, client, kind, soa->serial, from,
             s->phase == PH_LAST ? "up-to-date" : k == KIND_IXFR ? "IXFR" : "AXFR", key);
    *sess = s;
    return XFR_STARTED;
}

/* ---- signed queries that are not transfers ---- */

size_t xfr_answer_signed(const struct dns_config *cfg, const uint8_t *pkt, size_t len,
                         uint8_t *out, size_t outcap, bool tcp, const struct sockaddr_storage *peer,
                         struct dns_stats *st)
{
    struct dns_query q;
    st->queries++;
    st->bytes_in += len;
    if (dns_query_parse(pkt, len, &q) != DNS_PARSE_OK) {
        st->dropped++;
        return 0;
    }
    const struct xfr_config *xc = cfg ? cfg->xfr : NULL;
    uint64_t now = (uint64_t)time(NULL);
    struct tsig_rr rr;
    struct tsig_ctx ctx;
    size_t limit = outcap;
    if (!tcp) {
        size_t udp = q.edns ? (q.edns_size < cfg->max_udp ? q.edns_size : cfg->max_udp)
                            : DNS_UDP_MIN;
        if (udp < limit)
            limit = udp;
    }
    int v = tsig_find(pkt, len, &rr) == 1
                ? tsig_verify_request(xc ? &xc->keys : NULL, pkt, len, &rr, now, &ctx)
                : -1;
    size_t n;
    if (v != 0) {
        int rcode = v < 0 ? DNS_R_FORMERR : DNS_R_NOTAUTH;
        n = single_error(pkt, &q, rcode, v < 0 ? NULL : &ctx, v < 0 ? NULL : &rr, out, limit, now);
        st->rcode[rcode & 0xf]++;
        st->answers += n > 0;
        st->bytes_out += n;
        return n;
    }
    /* the query without its TSIG record, answered as any other */
    uint8_t *plain = malloc(rr.at);
    if (!plain) {
        st->dropped++;
        return 0;
    }
    memcpy(plain, pkt, rr.at);
    uint16_t ar = (uint16_t)((pkt[10] << 8 | pkt[11]) - 1);
    plain[10] = (uint8_t)(ar >> 8);
    plain[11] = (uint8_t)ar;
    size_t room = (size_t)dns_name_len(ctx.key->name) + 77;
    st->queries--;
    st->bytes_in -= len;
    n = limit > room ? dns_answer_query(cfg, plain, rr.at, out, limit - room, tcp, peer, st, NULL)
                     : 0;
    free(plain);
    if (!n)
        return 0;
    size_t signed_len = tsig_sign(&ctx, out, n, limit, now);
    if (signed_len)
        st->bytes_out += signed_len - n;
    return signed_len ? signed_len : n;
}
