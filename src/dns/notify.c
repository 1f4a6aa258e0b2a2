/*
 * notify.c: the NOTIFY sender (notify.h).
 *
 * A mutex-protected list of NOTIFYs in flight, filled by dns_notify_zone()
 * and drained by one thread that sends each when due, reads answers, and
 * sleeps in poll() until the next one is due or the list changes (eventfd).
 */
#define _GNU_SOURCE
#include "notify.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"

enum { NOTIFY_OPCODE = 4, FIRST_RETRY_MS = 1000, MAX_RETRY_MS = 60000, MSG_MAX = 1024 };

struct pending {
    int target;
    uint8_t zone[DNS_MAX_NAME + 1];
    char zone_text[DNS_MAX_NAME + 1];
    struct ds_soa soa;
    uint32_t soa_ttl;
    uint16_t id;
    int tries;
    uint64_t due_ms;
    struct tsig_ctx tsig;             /* of the NOTIFY last sent */
};

struct dns_notify {
    struct notify_target *t;
    int nt;
    int fd4, fd6, wake;
    pthread_t tid;
    atomic_bool stop;
    pthread_mutex_t lock;
    struct pending *p;                /* in flight, under lock */
    int np, cap;
    atomic_uint_fast64_t sent, acked, failed;
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- targets ---- */

int notify_target_parse(struct notify_targets *ts, const char *spec, char *err, size_t errcap)
{
    struct notify_target t = {.all_zones = true};
    char buf[512];
    if (strlen(spec) >= sizeof buf) {
        snprintf(err, errcap, "too long");
        return -1;
    }
    strcpy(buf, spec);
    char *attrs = strchr(buf, ',');
    if (attrs)
        *attrs++ = '\0';
    /* the address: "a.b.c.d", "a.b.c.d/port", "a.b.c.d:port", "v6", "v6/port", "[v6]:port" */
    char *host = buf, *port = NULL;
    if (host[0] == '[') {
        char *close = strchr(host, ']');
        if (!close) {
            snprintf(err, errcap, "missing ']'");
            return -1;
        }
        *close = '\0';
        host++;
        if (close[1] == ':' || close[1] == '/')
            port = close + 2;
        else if (close[1]) {
            snprintf(err, errcap, "expected [IPV6]:PORT");
            return -1;
        }
    } else if ((port = strchr(host, '/'))) {
        *port++ = '\0';
    } else if (strchr(host, ':') == strrchr(host, ':') && (port = strchr(host, ':'))) {
        *port++ = '\0'; /* one colon: IPv4:port */
    }
    uint64_t pv = 53;
    if (port && (util_parse_uint(port, strlen(port), 65535, &pv) < 0 || pv == 0)) {
        snprintf(err, errcap, "bad port");
        return -1;
    }
    struct sockaddr_in *s4 = (struct sockaddr_in *)&t.addr;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&t.addr;
    if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)pv);
        t.addr_len = sizeof *s4;
        snprintf(t.text, sizeof t.text, "%.46s/%u", host, (unsigned)pv);
    } else if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)pv);
        t.addr_len = sizeof *s6;
        snprintf(t.text, sizeof t.text, "[%.46s]/%u", host, (unsigned)pv);
    } else {
        snprintf(err, errcap, "not an IPv4 or IPv6 address");
        return -1;
    }
    while (attrs && *attrs) {
        char *next = strchr(attrs, ',');
        if (next)
            *next++ = '\0';
        if (strncmp(attrs, "zone=", 5) == 0) {
            if (dns_name_from_text(attrs + 5, strlen(attrs + 5), t.zone) < 0) {
                snprintf(err, errcap, "bad zone name");
                return -1;
            }
            t.all_zones = false;
        } else if (strncmp(attrs, "key=", 4) == 0) {
            uint8_t wire[DNS_MAX_NAME + 1];
            if (dns_name_from_text(attrs + 4, strlen(attrs + 4), wire) <= 1) {
                snprintf(err, errcap, "bad key name");
                return -1;
            }
            dns_name_to_text(wire, t.key_name, sizeof t.key_name);
        } else {
            snprintf(err, errcap, "unknown attribute \"%.20s\" (zone=, key=)", attrs);
            return -1;
        }
        attrs = next;
    }
    struct notify_target *v = realloc(ts->t, (size_t)(ts->n + 1) * sizeof *v);
    if (!v) {
        snprintf(err, errcap, "out of memory");
        return -1;
    }
    ts->t = v;
    ts->t[ts->n++] = t;
    return 0;
}

void notify_targets_free(struct notify_targets *ts)
{
    free(ts->t);
    ts->t = NULL;
    ts->n = 0;
}

/* ---- sending ---- */

/* The NOTIFY for p: opcode NOTIFY, AA, the zone's SOA question, and its SOA
 * as the answer (RFC 1996 3.7: a hint of the new serial). */
static size_t build(struct dns_notify *n, struct pending *p, uint8_t *out)
{
    struct wbuf w = wbuf_make(out, MSG_MAX);
    wbuf_u16(&w, p->id);
    wbuf_u16(&w, (uint16_t)(NOTIFY_OPCODE << 11 | DNS_F_AA));
    wbuf_u16(&w, 1);
    wbuf_u16(&w, 1);
    wbuf_u16(&w, 0);
    wbuf_u16(&w, 0);
    wbuf_bytes(&w, p->zone, (size_t)dns_name_len(p->zone));
    wbuf_u16(&w, DNS_T_SOA);
    wbuf_u16(&w, DNS_C_IN);
    wbuf_u16(&w, 0xc000 | DNS_HEADER_SIZE);
    wbuf_u16(&w, DNS_T_SOA);
    wbuf_u16(&w, DNS_C_IN);
    wbuf_u32(&w, p->soa_ttl);
    size_t rdlen_at = w.len;
    wbuf_u16(&w, 0);
    wbuf_bytes(&w, p->soa.mname, (size_t)dns_name_len(p->soa.mname));
    wbuf_bytes(&w, p->soa.rname, (size_t)dns_name_len(p->soa.rname));
    wbuf_u32(&w, p->soa.serial);
    wbuf_u32(&w, p->soa.refresh);
    wbuf_u32(&w, p->soa.retry);
    wbuf_u32(&w, p->soa.expire);
    wbuf_u32(&w, p->soa.minttl);
    wbuf_put_u16_at(&w, rdlen_at, (uint16_t)(w.len - rdlen_at - 2));
    if (w.err)
        return 0;
    const struct notify_target *t = &n->t[p->target];
    memset(&p->tsig, 0, sizeof p->tsig);
    if (!t->key)
        return w.len;
    p->tsig.key = t->key;
    return tsig_sign(&p->tsig, out, w.len, MSG_MAX, (uint64_t)time(NULL));
}

static uint64_t backoff_ms(int tries)
{
    uint64_t ms = FIRST_RETRY_MS;
    for (int i = 1; i < tries && ms < MAX_RETRY_MS; i++)
        ms *= 2;
    return ms < MAX_RETRY_MS ? ms : MAX_RETRY_MS;
}

static void drop(struct dns_notify *n, int i)
{
    n->p[i] = n->p[--n->np];
}

/* Send what is due; returns the milliseconds until the next one (-1: none). Under lock. */
static int send_due(struct dns_notify *n)
{
    uint64_t now = now_ms();
    int wait = -1;
    for (int i = 0; i < n->np; i++) {
        struct pending *p = &n->p[i];
        const struct notify_target *t = &n->t[p->target];
        if (p->due_ms <= now) {
            if (p->tries >= NOTIFY_TRIES) {
                log_warn("event=notify-failed zone=%s target=%s serial=%u tries=%d "
                         "reason=\"no answer\"",
                         p->zone_text, t->text, p->soa.serial, p->tries);
                atomic_fetch_add(&n->failed, 1);
                drop(n, i--);
                continue;
            }
            uint8_t msg[MSG_MAX];
            if (getrandom(&p->id, sizeof p->id, 0) != sizeof p->id)
                p->id = (uint16_t)(now ^ (uint64_t)i);
            size_t len = build(n, p, msg);
            int fd = t->addr.ss_family == AF_INET ? n->fd4 : n->fd6;
            if (len && fd >= 0 &&
                sendto(fd, msg, len, 0, (const struct sockaddr *)&t->addr, t->addr_len) == (ssize_t)len)
                atomic_fetch_add(&n->sent, 1);
            else
                log_warn("event=notify-send-failed zone=%s target=%s error=\"%s\"", p->zone_text,
                         t->text, len ? strerror(errno) : "message too large");
            p->tries++;
            p->due_ms = now + backoff_ms(p->tries);
        }
        uint64_t left = p->due_ms > now ? p->due_ms - now : 0;
        if (wait < 0 || left < (uint64_t)wait)
            wait = (int)(left > 60000 ? 60000 : left);
    }
    return wait;
}

static bool same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family)
        return false;
    if (a->ss_family == AF_INET) {
        const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
    return x->sin6_port == y->sin6_port && memcmp(&x->sin6_addr, &y->sin6_addr, 16) == 0;
}

/* An answer arrived on fd: match it to a NOTIFY in flight. Under lock. */
static void receive(struct dns_notify *n, int fd)
{
    for (int k = 0; k < 64; k++) {
        uint8_t msg[4096];
        struct sockaddr_storage from;
        socklen_t fl = sizeof from;
        ssize_t r = recvfrom(fd, msg, sizeof msg, MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
        if (r < 0)
            return;
        if (r < DNS_HEADER_SIZE || !(msg[2] & 0x80) || ((msg[2] >> 3) & 0xf) != NOTIFY_OPCODE)
            continue;
        uint16_t id = (uint16_t)(msg[0] << 8 | msg[1]);
        int rcode = msg[3] & 0xf;
        for (int i = 0; i < n->np; i++) {
            struct pending *p = &n->p[i];
            const struct notify_target *t = &n->t[p->target];
            if (p->id != id || p->tries == 0 || !same_addr(&from, &t->addr))
                continue;
            if (t->key) {
                int v = tsig_verify_response(&p->tsig, msg, (size_t)r, (uint64_t)time(NULL));
                if (v != 0) {
                    log_warn("event=notify-bad-answer zone=%s target=%s rcode=%d tsig=%d "
                             "reason=\"answer not signed with our key\"",
                             p->zone_text, t->text, rcode, v);
                    break; /* resent when due */
                }
            }
            if (rcode == DNS_R_NOERROR) {
                log_info("event=notify-acked zone=%s target=%s serial=%u tries=%d", p->zone_text,
                         t->text, p->soa.serial, p->tries);
                atomic_fetch_add(&n->acked, 1);
            } else {
                /* it will not take NOTIFY from us: resending would not help */
                log_warn("event=notify-failed zone=%s target=%s serial=%u rcode=%d", p->zone_text,
                         t->text, p->soa.serial, rcode);
                atomic_fetch_add(&n->failed, 1);
            }
            drop(n, i);
            break;
        }
    }
}

static void *notify_main(void *arg)
{
    struct dns_notify *n = arg;
    while (!atomic_load(&n->stop)) {
        pthread_mutex_lock(&n->lock);
        int wait = send_due(n);
        pthread_mutex_unlock(&n->lock);
        struct pollfd pfd[3] = {{.fd = n->wake, .events = POLLIN},
                                {.fd = n->fd4, .events = POLLIN},
                                {.fd = n->fd6, .events = POLLIN}};
        if (poll(pfd, 3, wait < 0 || wait > 500 ? 500 : wait) <= 0)
            continue;
        if (pfd[0].revents & POLLIN) {
            uint64_t v;
            ssize_t r = read(n->wake, &v, sizeof v);
            (void)r;
        }
        pthread_mutex_lock(&n->lock);
        for (int k = 1; k < 3; k++)
            if (pfd[k].fd >= 0 && (pfd[k].revents & POLLIN))
                receive(n, pfd[k].fd);
        pthread_mutex_unlock(&n->lock);
    }
    return NULL;
}

struct dns_notify *dns_notify_start(const struct notify_targets *ts, const struct tsig_keys *ks)
{
    struct dns_notify *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->fd4 = n->fd6 = n->wake = -1;
    n->t = calloc((size_t)ts->n + 1, sizeof *n->t);
    if (!n->t)
        goto fail;
    memcpy(n->t, ts->t, (size_t)ts->n * sizeof *n->t);
    n->nt = ts->n;
    bool v4 = false, v6 = false;
    for (int i = 0; i < n->nt; i++) {
        struct notify_target *t = &n->t[i];
        if (t->key_name[0]) {
            uint8_t wire[DNS_MAX_NAME + 1];
            dns_name_from_text(t->key_name, strlen(t->key_name), wire);
            if (!(t->key = tsig_keys_find(ks, wire))) {
                log_error("event=bad-option option=--notify target=%s error=\"no TSIG key %s\"",
                          t->text, t->key_name);
                goto fail;
            }
        }
        v4 = v4 || t->addr.ss_family == AF_INET;
        v6 = v6 || t->addr.ss_family == AF_INET6;
    }
    if ((v4 && (n->fd4 = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0) ||
        (v6 && (n->fd6 = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0) ||
        (n->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
        log_error("event=notify-failed error=\"socket: %s\"", strerror(errno));
        goto fail;
    }
    pthread_mutex_init(&n->lock, NULL);
    if (pthread_create(&n->tid, NULL, notify_main, n) != 0) {
        log_error("event=thread-failed thread=notify error=\"%s\"", strerror(errno));
        pthread_mutex_destroy(&n->lock);
        goto fail;
    }
    pthread_setname_np(n->tid, "dnsbl-notify");
    return n;
fail:
    if (n->fd4 >= 0)
        close(n->fd4);
    if (n->fd6 >= 0)
        close(n->fd6);
    if (n->wake >= 0)
        close(n->wake);
    free(n->t);
    free(n);
    return NULL;
}

void dns_notify_zone(struct dns_notify *n, const struct zone *z)
{
    if (!n)
        return;
    const struct ds_soa *soa = dns_zone_soa(z);
    if (!soa)
        return;
    bool queued = false;
    pthread_mutex_lock(&n->lock);
    for (int i = 0; i < n->nt; i++) {
        const struct notify_target *t = &n->t[i];
        if (!t->all_zones && memcmp(t->zone, z->name, (size_t)dns_name_len(z->name)) != 0)
            continue;
        struct pending *p = NULL;
        for (int k = 0; k < n->np && !p; k++)
            if (n->p[k].target == i && memcmp(n->p[k].zone, z->name, sizeof z->name) == 0)
                p = &n->p[k]; /* a newer change replaces the NOTIFY still waiting */
        if (!p) {
            if (n->np == n->cap) {
                int cap = n->cap ? n->cap * 2 : 8;
                struct pending *v = realloc(n->p, (size_t)cap * sizeof *v);
                if (!v) {
                    log_warn("event=notify-dropped zone=%s target=%s reason=\"out of memory\"",
                             z->text, t->text);
                    continue;
                }
                n->p = v;
                n->cap = cap;
            }
            p = &n->p[n->np++];
        }
        memset(p, 0, sizeof *p);
        p->target = i;
        memcpy(p->zone, z->name, sizeof z->name);
        snprintf(p->zone_text, sizeof p->zone_text, "%s", z->text);
        p->soa = *soa;
        p->soa_ttl = dns_zone_soa_ttl(z);
        p->due_ms = now_ms();
        queued = true;
    }
    pthread_mutex_unlock(&n->lock);
    if (queued) {
        uint64_t one = 1;
        ssize_t r = write(n->wake, &one, sizeof one);
        (void)r;
    }
}

void dns_notify_counts(struct dns_notify *n, uint64_t *sent, uint64_t *acked, uint64_t *failed)
{
    *sent = n ? atomic_load(&n->sent) : 0;
    *acked = n ? atomic_load(&n->acked) : 0;
    *failed = n ? atomic_load(&n->failed) : 0;
}

void dns_notify_stop(struct dns_notify *n)
{
    if (!n)
        return;
    atomic_store(&n->stop, true);
    uint64_t one = 1;
    ssize_t r = write(n->wake, &one, sizeof one);
    (void)r;
    pthread_join(n->tid, NULL);
    pthread_mutex_destroy(&n->lock);
    if (n->fd4 >= 0)
        close(n->fd4);
    if (n->fd6 >= 0)
        close(n->fd6);
    close(n->wake);
    free(n->p);
    free(n->t);
    free(n);
}
