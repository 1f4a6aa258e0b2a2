#define _GNU_SOURCE
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "xfr.h"

enum { BATCH = 64, PKT_MAX = 4096, QLOG_RING = 256 * 1024, QLOG_LINE = 400 };

struct dns_thread {
    struct dns_server *srv;
    pthread_t tid;
    int id;
    bool tcp;
    _Alignas(64) atomic_uint_fast64_t seq;   /* bumped when holding no config */
    atomic_bool idle;                        /* blocked in epoll_wait */
    struct dns_stats stats;
    uint32_t slip_count;                     /* rate-limited answers since the last slip */
    /* Query log: a ring of bytes with one writer (this thread) and one
     * reader (the log writer thread). Lines that do not fit are dropped and
     * counted: answering never waits for the disk. */
    char *qlog;
    size_t qlog_added;                       /* bytes added since the last wake-up */
    uint64_t qlog_woke_ms;
    _Alignas(64) atomic_size_t qlog_head;    /* total bytes ever added */
    _Alignas(64) atomic_size_t qlog_tail;    /* total bytes ever written out */
};

/* ---- query log ---- */

static uint64_t coarse_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* After a batch: wake the writer if the log is unbuffered, the ring is
 * filling, or lines have waited a while (the writer also looks every 500 ms). */
static void qlog_batch_done(struct dns_thread *t)
{
    if (!t->qlog_added)
        return;
    uint64_t now = coarse_ms();
    if (t->srv->querylog_unbuffered || t->qlog_added > QLOG_RING / 4 || now - t->qlog_woke_ms > 200) {
        uint64_t one = 1;
        ssize_t r = write(t->srv->qlog_wake, &one, sizeof one);
        (void)r;
        t->qlog_added = 0;
        t->qlog_woke_ms = now;
    }
}

static void qlog_add(struct dns_thread *t, const struct sockaddr_storage *peer, const uint8_t *ans,
                     size_t alen, const uint8_t *pkt, size_t plen)
{
    size_t head = atomic_load_explicit(&t->qlog_head, memory_order_relaxed);
    size_t tail = atomic_load_explicit(&t->qlog_tail, memory_order_acquire);
    if (QLOG_RING - (head - tail) < QLOG_LINE) {
        t->stats.qlog_dropped++;   /* the writer is behind: drop, never wait */
        return;
    }
    struct dns_query q;
    if (dns_query_parse(pkt, plen, &q) != DNS_PARSE_OK)
        return;
    char ip[INET6_ADDRSTRLEN] = "?", name[DNS_MAX_NAME + 1], line[QLOG_LINE];
    if (peer->ss_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)peer)->sin_addr, ip, sizeof ip);
    else
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)peer)->sin6_addr, ip, sizeof ip);
    if (dns_name_to_text(q.qname, name, sizeof name) < 0)
        name[0] = '\0';
    int n = snprintf(line, sizeof line, "%ld %s %s. %u %u rcode=%u an=%u\n", (long)time(NULL), ip,
                     name, q.qtype, q.qclass, alen >= 4 ? ans[3] & 0xf : 0,
                     alen >= 8 ? ans[6] << 8 | ans[7] : 0);
    if (n <= 0)
        return;
    size_t len = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
    size_t at = head % QLOG_RING, first = QLOG_RING - at < len ? QLOG_RING - at : len;
    memcpy(t->qlog + at, line, first);
    memcpy(t->qlog, line + first, len - first);
    atomic_store_explicit(&t->qlog_head, head + len, memory_order_release);
    t->qlog_added += len;
}

/* Write out what thread t's ring holds. Only the writer thread calls this
 * while threads run (and dns_server_stop after they stopped). */
static void qlog_drain(struct dns_server *s, struct dns_thread *t)
{
    size_t head = atomic_load_explicit(&t->qlog_head, memory_order_acquire);
    size_t tail = atomic_load_explicit(&t->qlog_tail, memory_order_relaxed);
    while (tail < head) {
        size_t at = tail % QLOG_RING, n = head - tail;
        if (n > QLOG_RING - at)
            n = QLOG_RING - at;
        ssize_t w = write(s->querylog_fd, t->qlog + at, n); /* a reopen dup2()s over the fd */
        if (w <= 0) {
            if (w < 0 && errno == EINTR)
                continue;
            tail = head; /* the disk refuses: drop rather than spin */
            break;
        }
        tail += (size_t)w;
    }
    atomic_store_explicit(&t->qlog_tail, tail, memory_order_release);
}

static void *qlog_main(void *arg)
{
    struct dns_server *s = arg;
    for (;;) {
        struct pollfd pfd = {.fd = s->qlog_wake, .events = POLLIN};
        poll(&pfd, 1, 500);
        uint64_t v;
        ssize_t r = read(s->qlog_wake, &v, sizeof v);
        (void)r;
        bool done = atomic_load(&s->qlog_threads_done);
        for (int i = 0; i < s->nthreads; i++)
            qlog_drain(s, &s->threads[i]);
        if (done)
            return NULL;
    }
}

/* ---- quiescent-state tracking ---- */

static inline struct dns_config *enter(struct dns_thread *t)
{
    atomic_store(&t->idle, false);
    return atomic_load(&t->srv->cfg);
}

static inline void leave(struct dns_thread *t)
{
    atomic_fetch_add(&t->seq, 1);
}

struct dns_config *dns_server_publish(struct dns_server *s, struct dns_config *cfg)
{
    struct dns_config *old = atomic_exchange(&s->cfg, cfg);
    if (!s->threads)
        return old;
    for (int i = 0; i < s->nthreads; i++) {
        struct dns_thread *t = &s->threads[i];
        uint64_t s0 = atomic_load(&t->seq);
        while (!atomic_load(&t->idle) && atomic_load(&t->seq) == s0)
            usleep(100);
    }
    return old;
}

/* ---- UDP ---- */

static void *udp_main(void *arg)
{
    struct dns_thread *t = arg;
    struct dns_server *s = t->srv;
    int ep = epoll_create1(0);
    if (ep < 0)
        return NULL;
    for (int i = 0; i < s->nlisten; i++) {
        struct epoll_event ev = {.events = EPOLLIN, .data.fd = s->udp_fds[t->id * s->nlisten + i]};
        epoll_ctl(ep, EPOLL_CTL_ADD, ev.data.fd, &ev);
    }
    /* Slots are one cache line longer than a page, so the headers of a
     * batch's packets fall in different L1 sets instead of all aliasing to
     * one (a 4096-byte stride puts every slot's first line in the same set). */
    static __thread uint8_t in[BATCH][PKT_MAX + 64];
    static __thread uint8_t out[BATCH][PKT_MAX + 64] __attribute__((aligned(64)));
    struct mmsghdr msgs[BATCH], outs[BATCH];
    struct iovec iov[BATCH], oiov[BATCH];
    struct sockaddr_storage peers[BATCH];
    /* With one listening address the worker blocks in recvmmsg itself (one
     * system call per batch, like the floor server); with several it waits in
     * epoll first. No receive timeout: arming a timer on every wait costs
     * CPU at moderate rates; dns_server_stop() shuts the sockets down instead,
     * which wakes the receive. */
    bool single = s->nlisten == 1;
    if (single) {
        int fd = s->udp_fds[t->id];
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    }
    struct rrl *rrl = s->rrl;
    uint32_t slip = rrl ? rrl_config(rrl)->slip : 0;
    while (!atomic_load(&s->stop)) {
        struct epoll_event evs[8];
        atomic_store(&t->idle, true);
        int ne;
        if (single) {
            ne = 1;
            evs[0].data.fd = s->udp_fds[t->id];
        } else {
            ne = epoll_wait(ep, evs, 8, 500);
        }
        if (ne <= 0)
            continue;
        for (int e = 0; e < ne; e++) {
            int fd = evs[e].data.fd;
            for (int first = 1;; first = 0) {
                for (int i = 0; i < BATCH; i++) {
                    iov[i] = (struct iovec){in[i], PKT_MAX};
                    msgs[i].msg_hdr = (struct msghdr){.msg_name = &peers[i],
                                                      .msg_namelen = sizeof peers[i],
                                                      .msg_iov = &iov[i], .msg_iovlen = 1};
                }
                int n = recvmmsg(fd, msgs, BATCH, single && first ? MSG_WAITFORONE : MSG_DONTWAIT,
                                 NULL);
                if (n <= 0)
                    break;
                struct dns_config *cfg = enter(t);
                uint64_t now_ms = rrl ? coarse_ms() : 0;
                int m = 0;
                for (int i = 0; i < n; i++) {
                    bool verified;
                    size_t len = dns_answer_query(cfg, in[i], msgs[i].msg_len, out[m], PKT_MAX,
                                                  false, &peers[i], &t->stats, &verified);
                    if (!len)
                        continue;
                    if (rrl && rrl_limited(rrl, &peers[i],
                                           rrl_class_of(out[m][3] & 0xf, verified), now_ms)) {
                        /* over the limit: drop, or every slip-th time send TC=1
                         * (header and question, never larger than the query) */
                        size_t full = len;
                        /* a full batch means the socket has a backlog: the
                         * worker is behind, and a slip would cost a send
                         * that other clients' answers need; drop instead */
                        if (slip && n < BATCH && ++t->slip_count >= slip) {
                            t->slip_count = 0;
                            len = dns_make_truncated(out[m], len);
                            t->stats.rrl_slipped++;
                        } else {
                            len = 0;
                            t->stats.rrl_dropped++;
                            t->stats.answers--;
                        }
                        t->stats.bytes_out -= full - len;
                        if (!len)
                            continue;
                    }
                    if (t->qlog)
                        qlog_add(t, &peers[i], out[m], len, in[i], msgs[i].msg_len);
                    oiov[m] = (struct iovec){out[m], len};
                    outs[m].msg_hdr = (struct msghdr){.msg_name = &peers[i],
                                                      .msg_namelen = msgs[i].msg_hdr.msg_namelen,
                                                      .msg_iov = &oiov[m], .msg_iovlen = 1};
                    m++;
                }
                leave(t);
                for (int sent = 0; sent < m;) {
                    int r = sendmmsg(fd, outs + sent, (unsigned)(m - sent), 0);
                    if (r <= 0) {
                        if (r < 0 && errno == EINTR)
                            continue;
                        t->stats.dropped += (uint64_t)(m - sent);
                        break;
                    }
                    sent += r;
                }
                if (t->qlog)
                    qlog_batch_done(t);
                if (n < BATCH)
                    break;
            }
        }
    }
    close(ep);
    return NULL;
}

/* ---- TCP ----
 *
 * One thread, epoll, level-triggered. What an attacker with many addresses
 * can hold is bounded: connections overall (at the cap, the connection idle
 * the longest is closed to make room, as RFC 7766 6.2.3 allows; if none is
 * idle the new one is refused) and per client (/32, IPv6 /64); a connection
 * is closed when idle (no query for tcp_idle_ms), when a query it started
 * does not arrive whole within tcp_query_ms (slowloris), and at tcp_lifetime_ms
 * whatever it does. Pipelining is capped: a client that has tcp_pipeline
 * answers (or 64 KiB of them) unread is not read from until it reads them,
 * so a connection holds at most 64 KiB plus one answer of output. A connection holds a
 * 1 KiB input buffer, grown to 64 KiB only for a query that needs it.
 */

struct tcp_conn {
    int fd;
    uint32_t events;                  /* what epoll watches for now */
    uint32_t client;                  /* slot in the per-client counts */
    uint64_t opened_ns, last_ns;      /* accepted; last complete query (or accept) */
    uint64_t partial_ns;              /* when the pending partial query started, 0 none */
    uint8_t *in;                      /* in_small or a 64 KiB buffer */
    size_t in_len, in_cap;
    uint8_t *out;
    size_t out_len, out_cap, out_off;
    unsigned unread;                  /* answers queued but not yet sent */
    struct xfr_session *xfr;          /* a zone transfer being written, NULL none */
    uint64_t xfr_progress_ns;         /* when the transfer's client last took bytes */
    struct sockaddr_storage peer;
    struct tcp_conn *prev, *next;     /* in order of last_ns: head = idle the longest */
    uint8_t in_small[1024];
};

enum { TCP_OUT_MAX = 64 * 1024, TCP_CLIENT_SLOTS = 1 << 16, TCP_ACCEPT_BATCH = 64 };

struct tcp_state {
    int ep;
    struct tcp_conn *head, *tail;
    int nconns;
    uint16_t *per_client;             /* connections per client-hash slot */
    uint64_t xfr_aborted;             /* transfers cut by closing their connection */
    uint64_t seed;
};

static void lru_unlink(struct tcp_state *ts, struct tcp_conn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        ts->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        ts->tail = c->prev;
    c->prev = c->next = NULL;
}

static void lru_append(struct tcp_state *ts, struct tcp_conn *c)
{
    c->prev = ts->tail;
    c->next = NULL;
    if (ts->tail)
        ts->tail->next = c;
    else
        ts->head = c;
    ts->tail = c;
}

/* The per-client count slot: a keyed hash of the address (IPv6: its /64).
 * Two clients may share a slot (then they share a cap), never more than that. */
static uint32_t client_slot(const struct tcp_state *ts, const struct sockaddr_storage *peer)
{
    uint64_t h = ts->seed;
    if (peer->ss_family == AF_INET) {
        uint32_t a;
        memcpy(&a, &((const struct sockaddr_in *)peer)->sin_addr, 4);
        h ^= a;
    } else {
        uint64_t a;
        memcpy(&a, ((const struct sockaddr_in6 *)peer)->sin6_addr.s6_addr, 8);
        h ^= a ^ 0x6;
    }
    h *= 0x9e3779b97f4a7c15ULL;
    return (uint32_t)(h >> 48) & (TCP_CLIENT_SLOTS - 1);
}

static void conn_close(struct tcp_state *ts, struct tcp_conn *c)
{
    epoll_ctl(ts->ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    lru_unlink(ts, c);
    if (ts->per_client[c->client])
        ts->per_client[c->client]--;
    if (c->in != c->in_small)
        free(c->in);
    if (c->xfr)
        ts->xfr_aborted++;
    xfr_end(c->xfr);
    free(c->out);
    free(c);
    ts->nconns--;
}

/* Returns -1 when the connection must be closed. */
static int conn_flush(struct tcp_conn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 0;
            if (errno == EINTR)
                continue;
            return -1;
        }
        c->out_off += (size_t)w;
        if (c->xfr && w > 0)
            c->xfr_progress_ns = util_now_ns();
    }
    c->out_off = c->out_len = 0;
    c->unread = 0;
    return 0;
}

static int conn_queue(struct tcp_conn *c, const uint8_t *p, size_t n)
{
    if (c->out_len + n > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap : 4096;
        while (cap < c->out_len + n)
            cap *= 2;
        uint8_t *o = realloc(c->out, cap);
        if (!o)
            return -1;
        c->out = o;
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, p, n);
    c->out_len += n;
    c->unread++;
    return 0;
}

static bool conn_backlogged(const struct dns_server *s, const struct tcp_conn *c)
{
    return c->xfr || c->unread >= (unsigned)s->tcp_pipeline || c->out_len - c->out_off > TCP_OUT_MAX;
}

/* Answer the whole queries in the input buffer, up to the pipelining cap. */
static int conn_answer(struct dns_thread *t, struct tcp_state *ts, struct tcp_conn *c, uint8_t *ans,
                       uint64_t now)
{
    size_t off = 0;
    while (c->in_len - off >= 2 && !conn_backlogged(t->srv, c)) {
        size_t mlen = (size_t)c->in[off] << 8 | c->in[off + 1];
        if (c->in_len - off - 2 < mlen)
            break;
        struct dns_config *cfg = enter(t);
        t->stats.tcp_queries++;
        size_t n;
        const uint8_t *msg = c->in + off + 2;
        if (xfr_is_transfer(msg, mlen)) {
            /* AXFR/IXFR: an answer of one message, or a session whose
             * messages conn_xfr_fill() writes as the client reads */
            t->stats.queries++;
            t->stats.bytes_in += mlen;
            xfr_begin(cfg ? cfg->xfr : NULL, cfg, msg, mlen, &c->peer, (uint64_t)time(NULL),
                      ans + 2, 65535, &n, &c->xfr);
            if (c->xfr)
                c->xfr_progress_ns = now;
            else if (n) {
                int rc = ans[5] & 0xf;
                t->stats.xfr_refused += rc == DNS_R_REFUSED || rc == 9 /* NOTAUTH */;
                t->stats.rcode[rc]++;
                t->stats.answers++;
                t->stats.bytes_out += n;
            }
        } else {
            n = dns_answer_query(cfg, msg, mlen, ans + 2, 65535, true, &c->peer, &t->stats, NULL);
        }
        leave(t);
        if (n) {
            ans[0] = (uint8_t)(n >> 8);
            ans[1] = (uint8_t)n;
            if (t->qlog)
                qlog_add(t, &c->peer, ans + 2, n, c->in + off + 2, mlen);
            if (conn_queue(c, ans, n + 2) < 0)
                return -1;
        }
        off += 2 + mlen;
        c->last_ns = now;
        c->partial_ns = 0;
    }
    if (off) {
        memmove(c->in, c->in + off, c->in_len - off);
        c->in_len -= off;
        lru_unlink(ts, c);
        lru_append(ts, c);
    }
    if (c->in_len && !c->partial_ns)
        c->partial_ns = now;
    /* a query longer than the small buffer: grow to the largest message */
    if (c->in_len >= 2 && c->in == c->in_small &&
        ((size_t)c->in[0] << 8 | c->in[1]) + 2 > c->in_cap) {
        uint8_t *big = malloc(2 + 65535);
        if (!big)
            return -1;
        memcpy(big, c->in, c->in_len);
        c->in = big;
        c->in_cap = 2 + 65535;
    }
    return 0;
}

/* Queue a transfer's next messages while less than 48 KiB wait to be sent
 * (so at most 64 KiB do); end the session after its last message. At most
 * that much per call: other connections get their turn in between. */
static int conn_xfr_fill(struct dns_thread *t, struct tcp_conn *c, uint8_t *ans)
{
    while (c->xfr && c->out_len - c->out_off < TCP_OUT_MAX - 16 * 1024) {
        size_t n = xfr_next(c->xfr, ans + 2, 65535);
        if (!n) {
            if (xfr_complete(c->xfr))
                t->stats.xfr_done++;
            else
                t->stats.xfr_aborted++;
            xfr_end(c->xfr);
            c->xfr = NULL;
            break;
        }
        ans[0] = (uint8_t)(n >> 8);
        ans[1] = (uint8_t)n;
        t->stats.bytes_out += n;
        if (conn_queue(c, ans, n + 2) < 0)
            return -1;
    }
    return 0;
}

/* Answer what is buffered, then read more while the client keeps up with its
 * answers. Returns -1 when the connection must be closed. */
static int conn_read(struct dns_thread *t, struct tcp_state *ts, struct tcp_conn *c, uint8_t *ans)
{
    for (;;) {
        uint64_t now = util_now_ns();
        if (conn_answer(t, ts, c, ans, now) < 0 || conn_xfr_fill(t, c, ans) < 0 ||
            conn_flush(c) < 0)
            return -1;
        if (c->xfr)
            return 0; /* more when the socket takes more (EPOLLOUT) */
        if (conn_backlogged(t->srv, c))
            return 0;
        if (c->in_len >= 2 && c->in_len - 2 >= ((size_t)c->in[0] << 8 | c->in[1]))
            continue; /* whole queries the pipelining cap held back: answer them first */
        ssize_t r = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
        if (r == 0)
            return -1;
        if (r < 0)
            return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? 0 : -1;
        c->in_len += (size_t)r;
    }
}

/* Watch for input unless the client is backlogged, for output while some is queued. */
static void conn_rearm(const struct dns_server *s, struct tcp_state *ts, struct tcp_conn *c)
{
    uint32_t want = EPOLLRDHUP;
    if (!conn_backlogged(s, c))
        want |= EPOLLIN;
    if (c->out_len > c->out_off || c->xfr)
        want |= EPOLLOUT;
    if (want != c->events) {
        struct epoll_event ev = {.events = want, .data.ptr = c};
        epoll_ctl(ts->ep, EPOLL_CTL_MOD, c->fd, &ev);
        c->events = want;
    }
}

/* Accept up to a batch of connections from one listening socket. */
static void tcp_accept(struct dns_thread *t, struct tcp_state *ts, int lfd)
{
    struct dns_server *s = t->srv;
    for (int k = 0; k < TCP_ACCEPT_BATCH; k++) {
        struct sockaddr_storage peer;
        socklen_t pl = sizeof peer;
        int fd = accept4(lfd, (struct sockaddr *)&peer, &pl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        uint32_t slot = client_slot(ts, &peer);
        if (ts->per_client[slot] >= s->tcp_max_per_client) {
            close(fd);
            t->stats.tcp_refused++;
            continue;
        }
        if (ts->nconns >= s->tcp_max_conns) {
            /* full: make room by closing the connection idle the longest */
            struct tcp_conn *old = ts->head;
            if (!old || old->partial_ns || old->out_len > old->out_off || old->xfr) {
                close(fd);
                t->stats.tcp_refused++;
                continue;
            }
            t->stats.tcp_timeouts++;
            conn_close(ts, old);
        }
        struct tcp_conn *c = malloc(sizeof *c);
        if (!c) {
            close(fd);
            t->stats.tcp_refused++;
            continue;
        }
        memset(c, 0, offsetof(struct tcp_conn, in_small));
        c->fd = fd;
        c->peer = peer;
        c->client = slot;
        c->in = c->in_small;
        c->in_cap = sizeof c->in_small;
        c->opened_ns = c->last_ns = util_now_ns();
        c->events = EPOLLIN | EPOLLRDHUP;
        struct epoll_event ev = {.events = c->events, .data.ptr = c};
        if (epoll_ctl(ts->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
            close(fd);
            free(c);
            t->stats.tcp_refused++;
            continue;
        }
        lru_append(ts, c);
        ts->nconns++;
        ts->per_client[slot]++;
        t->stats.tcp_accepted++;
    }
}

/* Close what has been idle, slow or open too long. */
static void tcp_sweep(struct dns_thread *t, struct tcp_state *ts, uint64_t now)
{
    const struct dns_server *s = t->srv;
    uint64_t idle = (uint64_t)s->tcp_idle_ms * 1000000ull;
    uint64_t slow = (uint64_t)s->tcp_query_ms * 1000000ull;
    uint64_t life = (uint64_t)s->tcp_lifetime_ms * 1000000ull;
    for (struct tcp_conn *c = ts->head, *next; c; c = next) {
        next = c->next;
        if (c->xfr) {
            /* a transfer may outlive the lifetime cap, not a client that stops reading */
            if (now - c->xfr_progress_ns > 3 * idle) {
                t->stats.tcp_timeouts++;
                conn_close(ts, c);
            }
            continue;
        }
        bool busy = c->out_len > c->out_off;
        if ((!busy && !c->partial_ns && now - c->last_ns > idle) ||
            (c->partial_ns && now - c->partial_ns > slow) || now - c->opened_ns > life) {
            t->stats.tcp_timeouts++; /* counted first: the client may ask right after */
            conn_close(ts, c);
        }
    }
}

static void *tcp_main(void *arg)
{
    struct dns_thread *t = arg;
    struct dns_server *s = t->srv;
    struct tcp_state ts = {.ep = epoll_create1(0)};
    ts.per_client = calloc(TCP_CLIENT_SLOTS, sizeof *ts.per_client);
    uint8_t *ans = malloc(2 + 65535);
    ts.seed = util_now_ns() * 0xff51afd7ed558ccdULL;
    if (ts.ep < 0 || !ts.per_client || !ans) {
        log_error("event=tcp-thread-failed error=\"out of memory or epoll\"");
        free(ts.per_client);
        free(ans);
        return NULL;
    }
    for (int i = 0; i < s->nlisten; i++) {
        struct epoll_event ev = {.events = EPOLLIN};
        ev.data.u64 = (uint64_t)i;
        epoll_ctl(ts.ep, EPOLL_CTL_ADD, s->tcp_fds[i], &ev);
    }
    uint64_t last_sweep = util_now_ns();
    while (!atomic_load(&s->stop)) {
        struct epoll_event evs[64];
        atomic_store(&t->idle, true);
        int ne = epoll_wait(ts.ep, evs, 64, 100);
        for (int e = 0; e < ne; e++) {
            if (evs[e].data.u64 < (uint64_t)s->nlisten) {
                tcp_accept(t, &ts, s->tcp_fds[evs[e].data.u64]);
                continue;
            }
            struct tcp_conn *c = evs[e].data.ptr;
            int bad = 0;
            if (evs[e].events & EPOLLOUT)
                bad = conn_flush(c) < 0;
            /* after a flush too: queries held back by the pipelining cap */
            if (!bad && (evs[e].events & (EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLHUP)))
                bad = conn_read(t, &ts, c, ans) < 0;
            if (!bad && (evs[e].events & EPOLLERR))
                bad = 1;
            if (bad)
                conn_close(&ts, c);
            else
                conn_rearm(s, &ts, c);
        }
        if (t->qlog)
            qlog_batch_done(t);
        uint64_t now = util_now_ns();
        if (now - last_sweep > 100000000ull) {
            last_sweep = now;
            tcp_sweep(t, &ts, now);
        }
        t->stats.tcp_open = (uint64_t)ts.nconns;
        t->stats.xfr_aborted += ts.xfr_aborted;
        ts.xfr_aborted = 0;
    }
    while (ts.head)
        conn_close(&ts, ts.head);
    t->stats.tcp_open = 0;
    free(ts.per_client);
    free(ans);
    close(ts.ep);
    return NULL;
}

/* ---- setup ---- */

int dns_listen_parse(struct dns_server *s, const char *spec, int family)
{
    char host[256];
    const char *port = "53";
    const char *slash = strrchr(spec, '/');
    size_t hl = slash ? (size_t)(slash - spec) : strlen(spec);
    if (hl >= sizeof host) {
        log_error("event=bad-option option=-b value=\"%s\" error=\"address too long\"", spec);
        return -1;
    }
    memcpy(host, spec, hl);
    host[hl] = '\0';
    if (slash)
        port = slash + 1;
    if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
        memmove(host, host + 1, hl - 2);
        host[hl - 2] = '\0';
    }
    struct addrinfo hints = {.ai_family = family, .ai_socktype = SOCK_DGRAM,
                             .ai_flags = AI_PASSIVE};
    struct addrinfo *res;
    int e = getaddrinfo(hl ? host : NULL, port, &hints, &res);
    if (e != 0) {
        log_error("event=bad-option option=-b value=\"%s\" error=\"%s\"", spec, gai_strerror(e));
        return -1;
    }
    for (struct addrinfo *a = res; a; a = a->ai_next) {
        struct dns_listen *l = realloc(s->listen, (size_t)(s->nlisten + 1) * sizeof *l);
        if (!l) {
            freeaddrinfo(res);
            return -1;
        }
        s->listen = l;
        struct dns_listen *n = &l[s->nlisten++];
        memset(n, 0, sizeof *n);
        memcpy(&n->addr, a->ai_addr, a->ai_addrlen);
        n->len = a->ai_addrlen;
        char ip[INET6_ADDRSTRLEN];
        unsigned p;
        if (a->ai_family == AF_INET) {
            inet_ntop(AF_INET, &((struct sockaddr_in *)a->ai_addr)->sin_addr, ip, sizeof ip);
            p = ntohs(((struct sockaddr_in *)a->ai_addr)->sin_port);
        } else {
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)a->ai_addr)->sin6_addr, ip, sizeof ip);
            p = ntohs(((struct sockaddr_in6 *)a->ai_addr)->sin6_port);
        }
        snprintf(n->text, sizeof n->text, "%s/%u", ip, p);
    }
    freeaddrinfo(res);
    return 0;
}

static int open_socket(const struct dns_listen *l, int type, bool reuseport)
{
    int fd = socket(l->addr.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (reuseport)
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    if (l->addr.ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (type == SOCK_DGRAM) {
        int sz = 4 << 20;
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
    }
    if (bind(fd, (const struct sockaddr *)&l->addr, l->len) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    if (type == SOCK_STREAM) {
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (listen(fd, 1024) < 0) {
            close(fd);
            return -1;
        }
    }
    return fd;
}

int dns_server_bind(struct dns_server *s)
{
    if (s->nworkers < 1)
        s->nworkers = 1;
    s->udp_fds = calloc((size_t)(s->nworkers * s->nlisten), sizeof *s->udp_fds);
    s->tcp_fds = calloc((size_t)s->nlisten, sizeof *s->tcp_fds);
    if (!s->udp_fds || !s->tcp_fds)
        return -1;
    for (int i = 0; i < s->nlisten; i++) {
        for (int w = 0; w < s->nworkers; w++) {
            int fd = open_socket(&s->listen[i], SOCK_DGRAM, true);
            if (fd < 0) {
                log_error("event=bind-failed proto=udp addr=%s error=\"%s\"", s->listen[i].text,
                          strerror(errno));
                return -1;
            }
            s->udp_fds[w * s->nlisten + i] = fd;
        }
        int fd = open_socket(&s->listen[i], SOCK_STREAM, false);
        if (fd < 0) {
            log_error("event=bind-failed proto=tcp addr=%s error=\"%s\"", s->listen[i].text,
                      strerror(errno));
            return -1;
        }
        s->tcp_fds[i] = fd;
    }
    return 0;
}

int dns_server_start(struct dns_server *s)
{
    s->nthreads = s->nworkers + 1;
    s->threads = aligned_alloc(64, ((sizeof *s->threads * (size_t)s->nthreads) + 63) & ~(size_t)63);
    if (!s->threads)
        return -1;
    memset(s->threads, 0, sizeof *s->threads * (size_t)s->nthreads);
    for (int i = 0; i < s->nthreads; i++) {
        struct dns_thread *t = &s->threads[i];
        t->srv = s;
        t->id = i;
        t->tcp = i == s->nworkers;
        atomic_store(&t->idle, true);
        if (s->querylog_fd >= 0 && !(t->qlog = malloc(QLOG_RING)))
            return -1;
    }
    if (s->querylog_fd >= 0) {
        s->qlog_wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (s->qlog_wake < 0 || pthread_create(&s->qlog_tid, NULL, qlog_main, s) != 0) {
            log_error("event=thread-failed thread=querylog error=\"%s\"", strerror(errno));
            return -1;
        }
        pthread_setname_np(s->qlog_tid, "dnsbl-qlog");
    }
    for (int i = 0; i < s->nthreads; i++) {
        struct dns_thread *t = &s->threads[i];
        if (pthread_create(&t->tid, NULL, t->tcp ? tcp_main : udp_main, t) != 0) {
            log_error("event=thread-failed error=\"%s\"", strerror(errno));
            return -1;
        }
        char name[32];
        snprintf(name, sizeof name, t->tcp ? "dnsbl-tcp" : "dnsbl-udp%d", i % 1000);
        name[15] = '\0';
        pthread_setname_np(t->tid, name);
    }
    return 0;
}

/* struct dns_stats is nothing but uint64_t counters, so threads' copies are
 * summed as arrays: a counter added to the struct is summed without a change
 * here. Readers race with the owning thread's increments; a 64-bit aligned
 * load is atomic on the platforms we build for, so a sum is at worst stale. */
_Static_assert(sizeof(struct dns_stats) % sizeof(uint64_t) == 0, "dns_stats holds only uint64_t");

void dns_server_stats(const struct dns_server *s, struct dns_stats *out)
{
    enum { N = sizeof(struct dns_stats) / sizeof(uint64_t) };
    uint64_t sum[N] = {0};
    for (int i = 0; i < s->nthreads; i++) {
        uint64_t v[N];
        memcpy(v, &s->threads[i].stats, sizeof v);
        for (size_t k = 0; k < N; k++)
            sum[k] += v[k];
    }
    memcpy(out, sum, sizeof sum);
}

uint64_t dns_server_thread_queries(const struct dns_server *s, int i)
{
    return i < s->nthreads ? s->threads[i].stats.queries : 0;
}

void dns_server_reset_stats(struct dns_server *s)
{
    for (int i = 0; i < s->nthreads; i++) {
        uint64_t open = s->threads[i].stats.tcp_open;  /* a gauge, not a counter */
        memset(&s->threads[i].stats, 0, sizeof s->threads[i].stats);
        s->threads[i].stats.tcp_open = open;
    }
}

void dns_server_stop(struct dns_server *s)
{
    atomic_store(&s->stop, true);
    for (int i = 0; i < s->nworkers * s->nlisten; i++)
        shutdown(s->udp_fds[i], SHUT_RD); /* wakes a worker blocked in recvmmsg */
    for (int i = 0; i < s->nthreads; i++)
        pthread_join(s->threads[i].tid, NULL);
    if (s->querylog_fd >= 0) {
        atomic_store(&s->qlog_threads_done, true);
        uint64_t one = 1;
        ssize_t r = write(s->qlog_wake, &one, sizeof one);
        (void)r;
        pthread_join(s->qlog_tid, NULL); /* its last pass drained every ring */
        close(s->qlog_wake);
    }
    for (int i = 0; i < s->nthreads; i++)
        free(s->threads[i].qlog);
    free(s->threads);
    s->threads = NULL;
    for (int i = 0; i < s->nworkers * s->nlisten; i++)
        close(s->udp_fds[i]);
    for (int i = 0; i < s->nlisten; i++)
        close(s->tcp_fds[i]);
    free(s->udp_fds);
    free(s->tcp_fds);
    free(s->listen);
}
