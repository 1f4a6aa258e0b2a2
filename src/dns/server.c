#define _GNU_SOURCE
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"

enum { BATCH = 64, PKT_MAX = 4096, QLOG_BUF = 64 * 1024 };

struct dns_thread {
    struct dns_server *srv;
    pthread_t tid;
    int id;
    bool tcp;
    _Alignas(64) atomic_uint_fast64_t seq;   /* bumped when holding no config */
    atomic_bool idle;                        /* blocked in epoll_wait */
    struct dns_stats stats;
    char *qlog;
    size_t qlog_len;
};

/* ---- query log: buffered per thread, written whole lines at a time ---- */

static void qlog_flush(struct dns_thread *t)
{
    int fd = t->srv->querylog_fd;
    if (t->qlog_len && fd >= 0) {
        ssize_t r = write(fd, t->qlog, t->qlog_len);
        (void)r;
    }
    t->qlog_len = 0;
}

static void qlog_add(struct dns_thread *t, const struct sockaddr_storage *peer, const uint8_t *ans,
                     size_t alen, const uint8_t *pkt, size_t plen)
{
    if (t->srv->querylog_fd < 0 || !t->qlog)
        return;
    struct dns_query q;
    if (dns_query_parse(pkt, plen, &q) != DNS_PARSE_OK)
        return;
    char ip[INET6_ADDRSTRLEN] = "?", name[DNS_MAX_NAME + 1];
    if (peer->ss_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)peer)->sin_addr, ip, sizeof ip);
    else
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)peer)->sin6_addr, ip, sizeof ip);
    if (dns_name_to_text(q.qname, name, sizeof name) < 0)
        name[0] = '\0';
    if (QLOG_BUF - t->qlog_len < 400)
        qlog_flush(t);
    int n = snprintf(t->qlog + t->qlog_len, QLOG_BUF - t->qlog_len, "%ld %s %s. %u %u rcode=%u an=%u\n",
                     (long)time(NULL), ip, name, q.qtype, q.qclass, alen >= 4 ? ans[3] & 0xf : 0,
                     alen >= 8 ? ans[6] << 8 | ans[7] : 0);
    if (n > 0)
        t->qlog_len += (size_t)n;
    if (t->srv->querylog_unbuffered)
        qlog_flush(t);
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
        if (ne <= 0) {
            if (t->qlog_len)
                qlog_flush(t);
            continue;
        }
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
                if (n <= 0) {
                    if (single && first && t->qlog_len)
                        qlog_flush(t);
                    break;
                }
                struct dns_config *cfg = enter(t);
                int m = 0;
                for (int i = 0; i < n; i++) {
                    size_t len = dns_answer_query(cfg, in[i], msgs[i].msg_len, out[m], PKT_MAX,
                                                  false, &peers[i], &t->stats);
                    if (!len)
                        continue;
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
                if (n < BATCH)
                    break;
            }
        }
    }
    qlog_flush(t);
    close(ep);
    return NULL;
}

/* ---- TCP ---- */

struct tcp_conn {
    int fd;
    uint64_t last_ns;
    uint8_t in[2 + 65535];
    size_t in_len;
    uint8_t *out;
    size_t out_len, out_cap, out_off;
    struct sockaddr_storage peer;
    struct tcp_conn *next;
};

enum { TCP_OUT_MAX = 256 * 1024 };

static void conn_close(int ep, struct tcp_conn **list, struct tcp_conn *c, int *nconns)
{
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    for (struct tcp_conn **p = list; *p; p = &(*p)->next)
        if (*p == c) {
            *p = c->next;
            break;
        }
    free(c->out);
    free(c);
    (*nconns)--;
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
    }
    c->out_off = c->out_len = 0;
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
    return 0;
}

static int conn_read(struct dns_thread *t, struct tcp_conn *c, uint8_t *ans)
{
    for (;;) {
        if (c->out_len - c->out_off > TCP_OUT_MAX)
            return 0; /* the client does not read its answers: stop reading its queries */
        ssize_t r = recv(c->fd, c->in + c->in_len, sizeof c->in - c->in_len, 0);
        if (r == 0)
            return -1;
        if (r < 0)
            return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? 0 : -1;
        c->in_len += (size_t)r;
        c->last_ns = util_now_ns();
        size_t off = 0;
        while (c->in_len - off >= 2) {
            size_t mlen = (size_t)c->in[off] << 8 | c->in[off + 1];
            if (c->in_len - off - 2 < mlen)
                break;
            struct dns_config *cfg = enter(t);
            t->stats.tcp_queries++;
            size_t n = dns_answer_query(cfg, c->in + off + 2, mlen, ans + 2, 65535, true, &c->peer,
                                        &t->stats);
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
        }
        memmove(c->in, c->in + off, c->in_len - off);
        c->in_len -= off;
        if (conn_flush(c) < 0)
            return -1;
    }
}

static void *tcp_main(void *arg)
{
    struct dns_thread *t = arg;
    struct dns_server *s = t->srv;
    int ep = epoll_create1(0);
    if (ep < 0)
        return NULL;
    for (int i = 0; i < s->nlisten; i++) {
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
        ev.data.u64 = (uint64_t)i;
        epoll_ctl(ep, EPOLL_CTL_ADD, s->tcp_fds[i], &ev);
    }
    uint8_t *ans = malloc(2 + 65535);
    struct tcp_conn *conns = NULL;
    int nconns = 0;
    uint64_t last_sweep = util_now_ns();
    while (!atomic_load(&s->stop) && ans) {
        struct epoll_event evs[64];
        atomic_store(&t->idle, true);
        int ne = epoll_wait(ep, evs, 64, 250);
        for (int e = 0; e < ne; e++) {
            if (evs[e].data.u64 < (uint64_t)s->nlisten) {
                int lfd = s->tcp_fds[evs[e].data.u64];
                for (;;) {
                    struct sockaddr_storage peer;
                    socklen_t pl = sizeof peer;
                    int fd = accept4(lfd, (struct sockaddr *)&peer, &pl, SOCK_NONBLOCK | SOCK_CLOEXEC);
                    if (fd < 0)
                        break;
                    if (nconns >= s->tcp_max_conns) {
                        close(fd);
                        continue;
                    }
                    struct tcp_conn *c = calloc(1, sizeof *c);
                    if (!c) {
                        close(fd);
                        continue;
                    }
                    c->fd = fd;
                    c->peer = peer;
                    c->last_ns = util_now_ns();
                    c->next = conns;
                    conns = c;
                    nconns++;
                    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLET | EPOLLRDHUP};
                    ev.data.ptr = c;
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
                }
                continue;
            }
            struct tcp_conn *c = evs[e].data.ptr;
            int bad = 0;
            if (evs[e].events & EPOLLOUT)
                bad = conn_flush(c) < 0;
            if (!bad && (evs[e].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)))
                bad = conn_read(t, c, ans) < 0;
            if (!bad && (evs[e].events & EPOLLERR))
                bad = 1;
            if (bad)
                conn_close(ep, &conns, c, &nconns);
        }
        uint64_t now = util_now_ns();
        if (now - last_sweep > 100000000ull) {
            last_sweep = now;
            for (struct tcp_conn *c = conns, *next; c; c = next) {
                next = c->next;
                if (now - c->last_ns > (uint64_t)s->tcp_idle_ms * 1000000ull)
                    conn_close(ep, &conns, c, &nconns);
            }
            if (t->qlog_len)
                qlog_flush(t);
        }
    }
    while (conns)
        conn_close(ep, &conns, conns, &nconns);
    qlog_flush(t);
    free(ans);
    close(ep);
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
        if (s->querylog_fd >= 0)
            t->qlog = malloc(QLOG_BUF);
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
