/*
 * floodgen - the load generator of the flood proof (tests/flood).
 *
 * Three modes. Each is bounded by a duration (--seconds, at most an hour) and
 * by a count, works on loopback only (the target and every source must be in
 * 127.0.0.0/8: it runs as root in the test suite and must never flood anyone
 * else), and prints one JSON line on stdout; errors go to stderr, exit 2.
 *
 *   udp    The attack. Queries from many source addresses through ONE socket
 *          bound to 0.0.0.0:<ephemeral>: each packet of a sendmmsg() batch
 *          carries an IP_PKTINFO cmsg whose ipi_spec_dst picks its source.
 *          Every 127.x.y.z is local on lo, so the server's answers to any of
 *          them come back to this socket, which is drained between batches
 *          (64 MiB receive buffer; the kernel's drop count for the socket is
 *          read from /proc/net/udp at the end, so a lost answer cannot make
 *          the amplification look better than it was: "amplification_max"
 *          counts every dropped answer at the largest size seen).
 *          Counts payload bytes and packets out and in, TC=1 answers apart,
 *          answers by RCODE. --rate 0 sends as fast as this core can.
 *   legit  Resolver-like clients, one UDP socket each bound to its own
 *          address, --rate queries/s each (spread evenly, clients staggered).
 *          Each query: 1 s timeout (--timeout-ms); on a timeout, retry once
 *          over UDP with a new ID; on TC=1, retry over TCP from the same
 *          address. --tcp-share of the clients ask over TCP only (a new
 *          connection per query, one retry on failure). An answer counts when
 *          it is correct: NOERROR with records for a listed name, NXDOMAIN for
 *          an unlisted one. Latency runs from the first send to the final
 *          answer; for UDP the kernel's receive timestamp (SO_TIMESTAMPNS) is
 *          the end, so time spent waiting for this process's CPU (it shares a
 *          core with the attack) is not charged to the server.
 *   tcp    Idle and slowloris connections: --connections from the sources
 *          (round robin; bind() before connect()), --slowloris-share of them
 *          sending queries one byte every --byte-interval-ms, the rest
 *          silent. Held for the duration; with --reconnect-ms a connection
 *          the server closes (or refuses) is opened again after that delay,
 *          as an attacker would. Reports what the server did with them.
 *
 * Sources: PREFIX[,n=N][,nets=M] in 127.0.0.0/8.
 *   127.10.1.0/24                   every address of the /24
 *   127.30.0.0/16                   every address of the /16, consecutive
 *                                   packets in different /24s
 *   127.20.0.0/16,n=1000,nets=100   1000 addresses: 10 in each of 100 /24s
 *                                   spread over the /16
 *
 * Names (udp --names; legit uses its own mix): listed (a random address of
 * --listed, reversed, under --zone), unlisted (from --unlisted), mixed
 * (half each), random (a random label of 8-16 letters and digits under the
 * zone, sometimes two: a "water torture" flood of NXDOMAIN).
 *
 * Test helper only: built by meson, never installed.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum {
    MAX_SOURCES = 1 << 20,
    MAX_BATCH = 256,
    QBUF = 320,          /* one query: header, a name of at most 255 bytes, OPT */
    RBUF = 4096,         /* one UDP answer; longer ones are counted by length */
    MAX_SECONDS = 3600,
    MAX_CONNECTIONS = 100000,
    MAX_CLIENTS = 65536,
    MAX_LEGIT_QUERIES = 1 << 22,
};

#define NS 1000000000ull

/* ---- options ------------------------------------------------------------ */

struct options {
    const char *mode;
    struct sockaddr_in target;
    const char *sources;
    double seconds;
    uint64_t count;
    double rate;
    const char *zone;
    uint32_t listed_base, listed_size, unlisted_base, unlisted_size;
    const char *names;
    uint16_t qtype;
    int edns;
    int batch;
    int drain_ms;
    int timeout_ms;
    double tcp_share;
    int connections;
    double slow_share;
    int byte_interval_ms;
    int reconnect_ms;
    uint64_t max_opens;
    uint64_t seed;
};

static void usage(void)
{
    fputs("usage: floodgen udp|legit|tcp --target 127.0.0.1:PORT --sources SPEC --seconds S "
          "[options]\n"
          " common: --zone Z (bl.test) --listed CIDR (10.1.0.0/16) --unlisted CIDR (10.2.0.0/16)\n"
          "         --seed N --count N (upper bound on packets, queries or opens)\n"
          " udp:    --names listed|unlisted|mixed|random --qtype A|TXT|ANY|NUM --edns SIZE (0 = none)\n"
          "         --rate PPS (0 = as fast as possible) --batch N (64) --drain-ms N (300)\n"
          " legit:  --rate QPS per client (4) --timeout-ms N (1000) --tcp-share F (0) --edns SIZE "
          "(1232)\n"
          " tcp:    --connections N --slowloris-share F (0.5) --byte-interval-ms N (250)\n"
          "         --reconnect-ms N (0 = never)\n"
          "The target and every source must be in 127.0.0.0/8.\n",
          stderr);
}

static bool is_loopback(uint32_t host_order)
{
    return host_order >> 24 == 127;
}

/* "a.b.c.d/len" -> base (host order, masked) and size; -1 if malformed. */
static int parse_cidr(const char *s, uint32_t *base, uint32_t *len)
{
    char buf[64];
    const char *slash = strchr(s, '/');
    size_t n = slash ? (size_t)(slash - s) : strlen(s);
    if (n >= sizeof buf)
        return -1;
    memcpy(buf, s, n);
    buf[n] = 0;
    struct in_addr a;
    if (inet_pton(AF_INET, buf, &a) != 1)
        return -1;
    long l = 32;
    if (slash) {
        char *end;
        l = strtol(slash + 1, &end, 10);
        if (end == slash + 1 || (*end && *end != ',') || l < 8 || l > 32)
            return -1;
    }
    uint32_t mask = l == 32 ? 0xffffffffu : ~(0xffffffffu >> l);
    *base = ntohl(a.s_addr) & mask;
    *len = (uint32_t)l;
    return 0;
}

static int parse_target(const char *s, struct sockaddr_in *out)
{
    char buf[64];
    const char *colon = strrchr(s, ':');
    if (!colon || (size_t)(colon - s) >= sizeof buf)
        return -1;
    memcpy(buf, s, (size_t)(colon - s));
    buf[colon - s] = 0;
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port < 1 || port > 65535)
        return -1;
    memset(out, 0, sizeof *out);
    out->sin_family = AF_INET;
    out->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, buf, &out->sin_addr) != 1)
        return -1;
    return is_loopback(ntohl(out->sin_addr.s_addr)) ? 0 : -1;
}

/*
 * The source set. Addresses are ordered so that consecutive ones fall in
 * different /24s: a paced flood then loads every /24 evenly all the time.
 */
static uint32_t *parse_sources(const char *spec, size_t *count)
{
    uint32_t base, len;
    if (parse_cidr(spec, &base, &len) < 0 || !is_loopback(base)) {
        fprintf(stderr, "floodgen: bad --sources %s (want PREFIX[,n=N][,nets=M] in 127/8)\n", spec);
        return NULL;
    }
    uint64_t size = 1ull << (32 - len);
    uint64_t n24 = len <= 24 ? size / 256 : 1;
    uint64_t n = size, nets = n24;
    for (const char *p = strchr(spec, ','); p; p = strchr(p + 1, ',')) {
        char *end;
        if (!strncmp(p + 1, "n=", 2))
            n = strtoull(p + 3, &end, 10);
        else if (!strncmp(p + 1, "nets=", 5))
            nets = strtoull(p + 6, &end, 10);
        else
            end = (char *)p + 1;
        if (*end && *end != ',') {
            fprintf(stderr, "floodgen: bad --sources option in %s\n", spec);
            return NULL;
        }
    }
    bool full = n == size && nets == n24;
    if (n == 0 || n > MAX_SOURCES || n > size || nets == 0 || nets > n24 || nets > n ||
        (!full && len <= 24 && (n + nets - 1) / nets > 254)) {
        fprintf(stderr, "floodgen: --sources %s: n=%" PRIu64 " nets=%" PRIu64
                " does not fit the prefix\n", spec, n, nets);
        return NULL;
    }
    uint32_t *a = malloc(n * sizeof *a);
    if (!a)
        return NULL;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t addr;
        if (len > 24)
            addr = base + i * size / n;
        else if (full)
            addr = base + (i % n24) * 256 + i / n24;
        else
            addr = base + (i % nets) * n24 / nets * 256 + 1 + i / nets;
        a[i] = (uint32_t)addr;
        if (!is_loopback(a[i]) || a[i] == 0x7fffffffu) {
            free(a);
            fprintf(stderr, "floodgen: --sources %s leaves 127.0.0.0/8\n", spec);
            return NULL;
        }
    }
    *count = n;
    return a;
}

static int parse_double(const char *s, double lo, double hi, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !(v >= lo && v <= hi))
        return -1;
    *out = v;
    return 0;
}

static int parse_options(int argc, char **argv, struct options *o)
{
    *o = (struct options){.count = 1000000000ull, .zone = "bl.test", .names = "mixed", .qtype = 1,
                          .edns = -1, .batch = 64, .drain_ms = 300, .timeout_ms = 1000,
                          .slow_share = 0.5, .byte_interval_ms = 250, .rate = -1, .seed = 20031};
    parse_cidr("10.1.0.0/16", &o->listed_base, &o->listed_size);
    parse_cidr("10.2.0.0/16", &o->unlisted_base, &o->unlisted_size);
    if (argc < 2)
        return -1;
    o->mode = argv[1];
    bool have_target = false;
    for (int i = 2; i < argc; i++) {
        const char *k = argv[i];
        if (i + 1 >= argc) {
            fprintf(stderr, "floodgen: %s needs a value\n", k);
            return -1;
        }
        const char *v = argv[++i];
        double d;
        int bad = 0;
        if (!strcmp(k, "--target")) {
            bad = parse_target(v, &o->target);
            have_target = !bad;
        } else if (!strcmp(k, "--sources")) {
            o->sources = v;
        } else if (!strcmp(k, "--seconds")) {
            bad = parse_double(v, 0.001, MAX_SECONDS, &o->seconds);
        } else if (!strcmp(k, "--count")) {
            bad = parse_double(v, 1, 1e12, &d);
            o->count = (uint64_t)d;
        } else if (!strcmp(k, "--rate")) {
            bad = parse_double(v, 0, 1e8, &o->rate);
        } else if (!strcmp(k, "--zone")) {
            o->zone = v;
            bad = strlen(v) == 0 || strlen(v) > 200;
        } else if (!strcmp(k, "--listed") || !strcmp(k, "--unlisted")) {
            uint32_t base, len;
            bad = parse_cidr(v, &base, &len);
            uint32_t size = len == 32 ? 1 : (uint32_t)(1ull << (32 - len));
            if (k[2] == 'l') {
                o->listed_base = base;
                o->listed_size = size;
            } else {
                o->unlisted_base = base;
                o->unlisted_size = size;
            }
        } else if (!strcmp(k, "--names")) {
            o->names = v;
            bad = strcmp(v, "listed") && strcmp(v, "unlisted") && strcmp(v, "mixed") &&
                  strcmp(v, "random");
        } else if (!strcmp(k, "--qtype")) {
            if (!strcmp(v, "A"))
                o->qtype = 1;
            else if (!strcmp(v, "TXT"))
                o->qtype = 16;
            else if (!strcmp(v, "ANY"))
                o->qtype = 255;
            else {
                bad = parse_double(v, 1, 65535, &d);
                o->qtype = (uint16_t)d;
            }
        } else if (!strcmp(k, "--edns")) {
            bad = parse_double(v, 0, 65535, &d) || (d > 0 && d < 512);
            o->edns = (int)d;
        } else if (!strcmp(k, "--batch")) {
            bad = parse_double(v, 1, MAX_BATCH, &d);
            o->batch = (int)d;
        } else if (!strcmp(k, "--drain-ms")) {
            bad = parse_double(v, 0, 10000, &d);
            o->drain_ms = (int)d;
        } else if (!strcmp(k, "--timeout-ms")) {
            bad = parse_double(v, 10, 10000, &d);
            o->timeout_ms = (int)d;
        } else if (!strcmp(k, "--tcp-share")) {
            bad = parse_double(v, 0, 1, &o->tcp_share);
        } else if (!strcmp(k, "--connections")) {
            bad = parse_double(v, 1, MAX_CONNECTIONS, &d);
            o->connections = (int)d;
        } else if (!strcmp(k, "--slowloris-share")) {
            bad = parse_double(v, 0, 1, &o->slow_share);
        } else if (!strcmp(k, "--byte-interval-ms")) {
            bad = parse_double(v, 1, 60000, &d);
            o->byte_interval_ms = (int)d;
        } else if (!strcmp(k, "--reconnect-ms")) {
            bad = parse_double(v, 0, 60000, &d);
            o->reconnect_ms = (int)d;
        } else if (!strcmp(k, "--seed")) {
            bad = parse_double(v, 0, 1e15, &d);
            o->seed = (uint64_t)d;
        } else {
            fprintf(stderr, "floodgen: unknown option %s\n", k);
            return -1;
        }
        if (bad) {
            fprintf(stderr, "floodgen: bad value for %s: %s\n", k, v);
            return -1;
        }
    }
    if (!have_target || !o->sources || o->seconds <= 0) {
        fprintf(stderr, "floodgen: --target (in 127.0.0.0/8), --sources and --seconds are required\n");
        return -1;
    }
    return 0;
}

/* ---- small helpers ------------------------------------------------------ */

static uint64_t now_ns(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

static uint64_t mono(void)
{
    return now_ns(CLOCK_MONOTONIC);
}

static uint64_t rng_next(uint64_t *s)
{
    /* xorshift64*: fast, and good enough to pick names and IDs */
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

/* Raise the descriptor limit to `want` (the hard limit too: we run as root). */
static int raise_nofile(uint64_t want)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return -1;
    if (rl.rlim_cur >= want)
        return 0;
    if (rl.rlim_max < want)
        rl.rlim_max = want;
    rl.rlim_cur = want;
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
        fprintf(stderr, "floodgen: cannot raise RLIMIT_NOFILE to %" PRIu64 ": %s\n", want,
                strerror(errno));
        return -1;
    }
    return 0;
}

static void set_bufsize(int fd, int opt_force, int opt, int size)
{
    if (setsockopt(fd, SOL_SOCKET, opt_force, &size, sizeof size) < 0)
        setsockopt(fd, SOL_SOCKET, opt, &size, sizeof size);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of a sorted array; 0 when empty. */
static double percentile(const double *v, size_t n, double q)
{
    if (!n)
        return 0;
    size_t rank = (size_t)ceil(q * (double)n);
    return v[rank ? rank - 1 : 0];
}

/* ---- queries ------------------------------------------------------------ */

struct namegen {
    uint8_t zone[256];     /* the zone in wire form, with its final 0 */
    size_t zone_len;
};

static int namegen_init(struct namegen *g, const char *zone)
{
    size_t n = 0;
    const char *p = zone;
    while (*p) {
        const char *dot = strchr(p, '.');
        size_t l = dot ? (size_t)(dot - p) : strlen(p);
        if (l == 0 || l > 63 || n + l + 2 > 200)
            return -1;
        g->zone[n++] = (uint8_t)l;
        memcpy(g->zone + n, p, l);
        n += l;
        p += l + (dot ? 1 : 0);
    }
    g->zone[n++] = 0;
    g->zone_len = n;
    return 0;
}

static size_t put_octet_label(uint8_t *w, unsigned v)
{
    char tmp[4];
    int l = snprintf(tmp, sizeof tmp, "%u", v);
    w[0] = (uint8_t)l;
    memcpy(w + 1, tmp, (size_t)l);
    return (size_t)l + 1;
}

/* The reversed-address name of `addr` under the zone; returns its length. */
static size_t name_ip(const struct namegen *g, uint8_t *w, uint32_t addr)
{
    size_t n = 0;
    for (int i = 0; i < 4; i++)
        n += put_octet_label(w + n, (addr >> (8 * i)) & 0xff);
    memcpy(w + n, g->zone, g->zone_len);
    return n + g->zone_len;
}

static size_t name_random(const struct namegen *g, uint8_t *w, uint64_t *rng)
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    uint64_t r = rng_next(rng);
    int labels = (r & 3) == 0 ? 2 : 1;   /* a quarter of the names have two labels */
    size_t n = 0;
    for (int l = 0; l < labels; l++) {
        size_t len = 8 + (size_t)(rng_next(rng) % 9);
        uint64_t bits = rng_next(rng);
        w[n++] = (uint8_t)len;
        for (size_t i = 0; i < len; i++) {
            if (i % 10 == 9)
                bits = rng_next(rng);
            w[n++] = (uint8_t)alphabet[(bits >> (6 * (i % 10))) % 36];
        }
    }
    memcpy(w + n, g->zone, g->zone_len);
    return n + g->zone_len;
}

static uint32_t pick_addr(uint32_t base, uint32_t size, uint64_t *rng)
{
    return base + (uint32_t)(rng_next(rng) % size);
}

/* Header + question (+ OPT when edns > 0); the name is already at w + 12. */
static size_t finish_query(uint8_t *w, size_t name_len, uint16_t id, uint16_t flags,
                           uint16_t qtype, int edns)
{
    w[0] = (uint8_t)(id >> 8);
    w[1] = (uint8_t)id;
    w[2] = (uint8_t)(flags >> 8);
    w[3] = (uint8_t)flags;
    memset(w + 4, 0, 8);
    w[5] = 1;                            /* QDCOUNT */
    size_t n = 12 + name_len;
    w[n++] = (uint8_t)(qtype >> 8);
    w[n++] = (uint8_t)qtype;
    w[n++] = 0;
    w[n++] = 1;                          /* class IN */
    if (edns > 0) {
        w[11] = 1;                       /* ARCOUNT */
        const uint8_t opt[11] = {0, 0, 41, (uint8_t)(edns >> 8), (uint8_t)edns, 0, 0, 0, 0, 0, 0};
        memcpy(w + n, opt, sizeof opt);
        n += sizeof opt;
    }
    return n;
}

/* Length of the question section of a query we built (name + type + class). */
static size_t question_len(const uint8_t *w, size_t len)
{
    size_t p = 12;
    while (p < len && w[p])
        p += (size_t)w[p] + 1;
    return p + 5 - 12;
}

/* The reply's question is ours, compared without regard to letter case. */
static bool same_question(const uint8_t *q, size_t qlen, const uint8_t *r, size_t rlen)
{
    if (rlen < 12 + qlen || r[4] != 0 || r[5] != 1)
        return false;
    for (size_t i = 12; i < 12 + qlen; i++) {
        uint8_t a = q[i], b = r[i];
        if (a >= 'A' && a <= 'Z')
            a |= 0x20;
        if (b >= 'A' && b <= 'Z')
            b |= 0x20;
        if (a != b)
            return false;
    }
    return true;
}

/* ---- udp: the attack ---------------------------------------------------- */

struct udp_stats {
    uint64_t sent_pkts, sent_bytes, recv_pkts, recv_bytes, tc_pkts, tc_bytes, stray;
    uint64_t rcode[6];      /* NOERROR FORMERR SERVFAIL NXDOMAIN NOTIMP REFUSED */
    uint64_t rcode_other, send_stalls, max_reply;
};

/* The kernel's drop counter of our socket: /proc/net/udp, matched by inode. */
static long long udp_socket_drops(int fd)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -1;
    FILE *f = fopen("/proc/net/udp", "r");
    if (!f)
        return -1;
    char line[512];
    long long drops = -1;
    while (fgets(line, sizeof line, f)) {
        unsigned long inode;
        long long d;
        /* sl local rem st tx:rx tr:when retr uid timeout inode ref ptr drops */
        if (sscanf(line, " %*s %*s %*s %*s %*s %*s %*s %*s %*s %lu %*s %*s %lld", &inode, &d) == 2 &&
            inode == (unsigned long)st.st_ino) {
            drops = d;
            break;
        }
    }
    fclose(f);
    return drops;
}

static void udp_account(struct udp_stats *s, const struct sockaddr_in *from,
                        const struct sockaddr_in *target, const uint8_t *p, size_t len)
{
    if (from->sin_addr.s_addr != target->sin_addr.s_addr || from->sin_port != target->sin_port ||
        len < 12 || !(p[2] & 0x80)) {
        s->stray++;
        return;
    }
    s->recv_pkts++;
    s->recv_bytes += len;
    if (len > s->max_reply)
        s->max_reply = len;
    if (p[2] & 0x02) {
        s->tc_pkts++;
        s->tc_bytes += len;
    }
    unsigned rc = p[3] & 0x0f;
    if (rc < 6)
        s->rcode[rc]++;
    else
        s->rcode_other++;
}

struct udp_rx {
    struct mmsghdr msg[MAX_BATCH];
    struct iovec iov[MAX_BATCH];
    struct sockaddr_in from[MAX_BATCH];
    uint8_t (*buf)[RBUF];
};

/* Read every answer waiting (at most `rounds` batches); returns -1 on error. */
static int udp_drain(int fd, struct udp_rx *rx, int batch, int rounds, struct udp_stats *s,
                     const struct sockaddr_in *target)
{
    for (int round = 0; round < rounds; round++) {
        for (int i = 0; i < batch; i++) {
            rx->iov[i] = (struct iovec){rx->buf[i], RBUF};
            rx->msg[i].msg_hdr = (struct msghdr){.msg_name = &rx->from[i],
                                                 .msg_namelen = sizeof rx->from[i],
                                                 .msg_iov = &rx->iov[i], .msg_iovlen = 1};
        }
        int r = recvmmsg(fd, rx->msg, (unsigned)batch, MSG_DONTWAIT | MSG_TRUNC, NULL);
        if (r < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                return 0;
            fprintf(stderr, "floodgen: recvmmsg: %s\n", strerror(errno));
            return -1;
        }
        for (int i = 0; i < r; i++) {
            size_t len = rx->msg[i].msg_len;
            udp_account(s, &rx->from[i], target, rx->buf[i], len < RBUF ? len : RBUF);
            if (len > RBUF) {      /* counted by its real length */
                s->recv_bytes += len - RBUF;
                if (len > s->max_reply)
                    s->max_reply = len;
            }
        }
        if (r < batch)
            return 0;
    }
    return 0;
}

static int run_udp(const struct options *o, const uint32_t *src, size_t nsrc)
{
    struct namegen g;
    if (namegen_init(&g, o->zone) < 0) {
        fprintf(stderr, "floodgen: bad --zone %s\n", o->zone);
        return -1;
    }
    int edns = o->edns < 0 ? 0 : o->edns;
    double rate = o->rate < 0 ? 0 : o->rate;
    int batch = o->batch;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    set_bufsize(fd, SO_RCVBUFFORCE, SO_RCVBUF, 64 << 20);
    set_bufsize(fd, SO_SNDBUFFORCE, SO_SNDBUF, 4 << 20);
    struct sockaddr_in any = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_ANY)};
    if (bind(fd, (struct sockaddr *)&any, sizeof any) < 0) {
        fprintf(stderr, "floodgen: bind: %s\n", strerror(errno));
        close(fd);
        return -1;
    }

    static struct mmsghdr msg[MAX_BATCH];
    static struct iovec iov[MAX_BATCH];
    static uint8_t buf[MAX_BATCH][QBUF];
    static union {
        char raw[CMSG_SPACE(sizeof(struct in_pktinfo))];
        struct cmsghdr align;
    } ctl[MAX_BATCH];
    static struct in_pktinfo *pinfo[MAX_BATCH];
    static struct udp_rx rx;
    rx.buf = malloc(sizeof(uint8_t[RBUF]) * MAX_BATCH);
    if (!rx.buf) {
        close(fd);
        return -1;
    }
    for (int i = 0; i < batch; i++) {
        iov[i].iov_base = buf[i];
        msg[i].msg_hdr = (struct msghdr){.msg_name = (void *)&o->target,
                                         .msg_namelen = sizeof o->target, .msg_iov = &iov[i],
                                         .msg_iovlen = 1, .msg_control = ctl[i].raw,
                                         .msg_controllen = sizeof ctl[i].raw};
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg[i].msg_hdr);
        c->cmsg_level = IPPROTO_IP;
        c->cmsg_type = IP_PKTINFO;
        c->cmsg_len = CMSG_LEN(sizeof(struct in_pktinfo));
        pinfo[i] = (struct in_pktinfo *)CMSG_DATA(c);
        memset(pinfo[i], 0, sizeof *pinfo[i]);
    }

    struct udp_stats s = {0};
    uint64_t rng = o->seed * 0x9E3779B97F4A7C15ull + 1;
    size_t next_src = 0;
    int which = 0;  /* mixed: alternate listed / unlisted */
    bool random_names = !strcmp(o->names, "random");
    uint64_t t0 = mono(), end = t0 + (uint64_t)(o->seconds * NS), t = t0;
    while (t < end && s.sent_pkts < o->count) {
        int n = batch;
        if (rate > 0) {
            double due = rate * (double)(t - t0) / NS - (double)s.sent_pkts;
            if (due < 1) {
                /* wait for the next packet's time, reading answers meanwhile */
                uint64_t wait = (uint64_t)((1 - due) / rate * NS);
                if (t + wait > end)
                    wait = end - t;
                struct timespec ts = {.tv_sec = (time_t)(wait / NS), .tv_nsec = (long)(wait % NS)};
                struct pollfd pfd = {.fd = fd, .events = POLLIN};
                if (ppoll(&pfd, 1, &ts, NULL) > 0 && udp_drain(fd, &rx, batch, 8, &s, &o->target) < 0)
                    break;
                t = mono();
                continue;
            }
            if (due < n)
                n = (int)due;
        }
        if ((uint64_t)n > o->count - s.sent_pkts)
            n = (int)(o->count - s.sent_pkts);
        for (int i = 0; i < n; i++) {
            uint8_t *w = buf[i];
            size_t nl;
            if (random_names)
                nl = name_random(&g, w + 12, &rng);
            else {
                bool listed = !strcmp(o->names, "listed") ||
                              (!strcmp(o->names, "mixed") && (which++ & 1));
                nl = listed ? name_ip(&g, w + 12, pick_addr(o->listed_base, o->listed_size, &rng))
                            : name_ip(&g, w + 12, pick_addr(o->unlisted_base, o->unlisted_size, &rng));
            }
            iov[i].iov_len = finish_query(w, nl, (uint16_t)rng_next(&rng), 0x0100, o->qtype, edns);
            pinfo[i]->ipi_spec_dst.s_addr = htonl(src[next_src]);
            if (++next_src == nsrc)
                next_src = 0;
        }
        int r = sendmmsg(fd, msg, (unsigned)n, 0);
        if (r < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS && errno != EINTR) {
                fprintf(stderr, "floodgen: sendmmsg: %s\n", strerror(errno));
                break;
            }
            s.send_stalls++;
            struct pollfd pfd = {.fd = fd, .events = POLLOUT};
            poll(&pfd, 1, 1);
            r = 0;
        }
        for (int i = 0; i < r; i++) {
            s.sent_pkts++;
            s.sent_bytes += iov[i].iov_len;
        }
        /* sources not yet sent go again next time: rewind over the unsent ones */
        next_src = (next_src + nsrc - (size_t)(n - r) % nsrc) % nsrc;
        if (udp_drain(fd, &rx, batch, 16, &s, &o->target) < 0)
            break;
        t = mono();
    }
    uint64_t t_send_end = mono();
    /* the answers still in flight */
    uint64_t drain_end = t_send_end + (uint64_t)o->drain_ms * 1000000ull;
    for (uint64_t now = t_send_end; now < drain_end; now = mono()) {
        uint64_t wait = drain_end - now;
        struct timespec ts = {.tv_sec = (time_t)(wait / NS), .tv_nsec = (long)(wait % NS)};
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (ppoll(&pfd, 1, &ts, NULL) <= 0)
            continue;
        if (udp_drain(fd, &rx, batch, 64, &s, &o->target) < 0)
            break;
    }
    long long drops = udp_socket_drops(fd);
    close(fd);
    free(rx.buf);

    double secs = (double)(t_send_end - t0) / NS;
    double in = (double)s.sent_bytes;
    double amp = in > 0 ? (double)s.recv_bytes / in : 0;
    double amp_max = in > 0 ? ((double)s.recv_bytes + (double)(drops > 0 ? drops : 0) *
                                   (double)(s.max_reply ? s.max_reply : RBUF)) / in : 0;
    printf("{\"mode\":\"udp\",\"sources\":%zu,\"seconds\":%.3f,\"sent_pkts\":%" PRIu64
           ",\"sent_bytes\":%" PRIu64 ",\"rate_pps\":%.0f,\"recv_pkts\":%" PRIu64
           ",\"recv_bytes\":%" PRIu64 ",\"tc_pkts\":%" PRIu64 ",\"tc_bytes\":%" PRIu64
           ",\"rcodes\":{\"noerror\":%" PRIu64 ",\"formerr\":%" PRIu64 ",\"servfail\":%" PRIu64
           ",\"nxdomain\":%" PRIu64 ",\"notimp\":%" PRIu64 ",\"refused\":%" PRIu64
           ",\"other\":%" PRIu64 "},\"stray\":%" PRIu64 ",\"rx_dropped\":%lld,\"max_reply\":%" PRIu64
           ",\"send_stalls\":%" PRIu64 ",\"amplification\":%.4f,\"amplification_max\":%.4f}\n",
           nsrc, secs, s.sent_pkts, s.sent_bytes, secs > 0 ? (double)s.sent_pkts / secs : 0,
           s.recv_pkts, s.recv_bytes, s.tc_pkts, s.tc_bytes, s.rcode[0], s.rcode[1], s.rcode[2],
           s.rcode[3], s.rcode[4], s.rcode[5], s.rcode_other, s.stray, drops, s.max_reply,
           s.send_stalls, amp, amp_max);
    return drops < 0 ? -1 : 0;
}

/* ---- legit: resolver-like clients --------------------------------------- */

enum q_state { Q_UDP, Q_TCP, Q_DONE };
enum q_result {
    R_ANSWERED, R_TIMEOUT, R_TCP_REFUSED, R_TCP_CLOSED, R_TCP_TIMEOUT, R_WRONG, R_RCODE,
    R_UNFINISHED, R_NRESULTS
};
static const char *const result_names[R_NRESULTS] = {
    "answered", "timeout", "tcp_refused", "tcp_closed", "tcp_timeout", "wrong", "bad_rcode",
    "unfinished"};

struct lclient {
    int fd;
    uint32_t addr;
    bool tcp_only;
    uint64_t next_send;
};

struct lquery {
    uint32_t client;
    uint16_t id[2];          /* the ID of each UDP attempt */
    uint8_t udp_tries, tcp_tries;
    uint8_t state, result;
    bool listed, via_tc;
    uint16_t len, qlen;      /* query and question lengths */
    uint8_t wire[QBUF];
    uint64_t t0_mono, t0_real, deadline;
    int tfd;                 /* TCP connection, -1 when none */
    bool tcp_sent;
    uint8_t *tin;            /* TCP answer: 2-byte length + message */
    size_t tin_len, tin_cap;
    size_t active_pos;
    double latency_ms;
};

struct legit {
    const struct options *o;
    int ep;
    struct lclient *clients;
    size_t nclients;
    struct lquery *q;
    size_t nq, capq;
    uint32_t *active;        /* indices of queries not done */
    size_t nactive;
    uint64_t rng, timeout;
    struct namegen g;
    uint64_t udp_retries, tc, tcp_conns, results[R_NRESULTS];
    uint64_t sent_by[2], answered_by[2];   /* [0] UDP clients, [1] TCP-only clients */
};

enum { EV_CLIENT = 1, EV_TCP = 2 };

static uint64_t ev_data(int kind, size_t index)
{
    return (uint64_t)kind << 32 | (uint64_t)index;
}

static void legit_finish(struct legit *L, struct lquery *q, int result, uint64_t end_real,
                         uint64_t end_mono)
{
    if (q->tfd >= 0) {
        epoll_ctl(L->ep, EPOLL_CTL_DEL, q->tfd, NULL);
        close(q->tfd);
        q->tfd = -1;
    }
    free(q->tin);
    q->tin = NULL;
    q->state = Q_DONE;
    q->result = (uint8_t)result;
    L->results[result]++;
    bool tcp_client = L->clients[q->client].tcp_only;
    if (result == R_ANSWERED) {
        L->answered_by[tcp_client]++;
        q->latency_ms = end_real ? (double)(end_real - q->t0_real) / 1e6
                                 : (double)(end_mono - q->t0_mono) / 1e6;
    }
    size_t pos = q->active_pos;
    L->active[pos] = L->active[--L->nactive];
    L->q[L->active[pos]].active_pos = pos;
}

static void legit_udp_send(struct legit *L, struct lquery *q)
{
    uint16_t id = (uint16_t)rng_next(&L->rng);
    q->id[q->udp_tries++] = id;
    q->wire[0] = (uint8_t)(id >> 8);
    q->wire[1] = (uint8_t)id;
    /* a send error (the server gone, say) is a lost query: the timeout handles it */
    (void)send(L->clients[q->client].fd, q->wire, q->len, MSG_DONTWAIT);
    q->deadline = mono() + L->timeout;
}

static void legit_tcp_fail(struct legit *L, struct lquery *q, int result);

/* Open a connection from the client's address; the query goes out once connected. */
static void legit_tcp_start(struct legit *L, struct lquery *q)
{
    q->state = Q_TCP;
    q->tcp_tries++;
    q->tcp_sent = false;
    q->tin_len = 0;
    q->deadline = mono() + L->timeout;
    L->tcp_conns++;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        legit_tcp_fail(L, q, R_TCP_REFUSED);
        return;
    }
    struct sockaddr_in me = {.sin_family = AF_INET,
                             .sin_addr.s_addr = htonl(L->clients[q->client].addr)};
    if (bind(fd, (struct sockaddr *)&me, sizeof me) < 0 ||
        (connect(fd, (const struct sockaddr *)&L->o->target, sizeof L->o->target) < 0 &&
         errno != EINPROGRESS)) {
        close(fd);
        legit_tcp_fail(L, q, R_TCP_REFUSED);
        return;
    }
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP,
                             .data.u64 = ev_data(EV_TCP, (size_t)(q - L->q))};
    if (epoll_ctl(L->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
        close(fd);
        legit_tcp_fail(L, q, R_TCP_REFUSED);
        return;
    }
    q->tfd = fd;
}

/* A TCP-only client tries a second connection; a TC fallback does not. */
static void legit_tcp_fail(struct legit *L, struct lquery *q, int result)
{
    if (q->tfd >= 0) {
        epoll_ctl(L->ep, EPOLL_CTL_DEL, q->tfd, NULL);
        close(q->tfd);
        q->tfd = -1;
    }
    if (!q->via_tc && q->tcp_tries < 2) {
        legit_tcp_start(L, q);
        return;
    }
    legit_finish(L, q, result, 0, mono());
}

/* An answer to q (over UDP: `udp` true). Returns false if it is not q's. */
static bool legit_answer(struct legit *L, struct lquery *q, const uint8_t *r, size_t rlen, bool udp,
                         uint64_t rx_real)
{
    if (rlen < 12 || !(r[2] & 0x80) || !same_question(q->wire, q->qlen, r, rlen))
        return false;
    if (udp && (r[2] & 0x02)) {
        L->tc++;
        q->via_tc = true;
        legit_tcp_start(L, q);
        return true;
    }
    unsigned rcode = r[3] & 0x0f;
    unsigned ancount = (unsigned)r[6] << 8 | r[7];
    int result;
    if (rcode != 0 && rcode != 3)
        result = R_RCODE;
    else if (r[2] & 0x02)
        result = R_WRONG;     /* TC=1 over TCP */
    else if (q->listed)
        result = rcode == 0 && ancount > 0 ? R_ANSWERED : R_WRONG;
    else
        result = rcode == 3 ? R_ANSWERED : R_WRONG;
    legit_finish(L, q, result, udp ? rx_real : 0, mono());
    return true;
}

static void legit_new_query(struct legit *L, size_t ci)
{
    if (L->nq == L->capq)
        return;
    struct lquery *q = &L->q[L->nq];
    memset(q, 0, sizeof *q);
    q->client = (uint32_t)ci;
    q->tfd = -1;
    /* the mix a mail server sends: A for listed and unlisted, TXT for some listed */
    unsigned pick = (unsigned)(rng_next(&L->rng) % 20);
    uint16_t qtype = pick < 2 ? 16 : 1;
    q->listed = pick < 11;
    uint32_t addr = q->listed ? pick_addr(L->o->listed_base, L->o->listed_size, &L->rng)
                              : pick_addr(L->o->unlisted_base, L->o->unlisted_size, &L->rng);
    size_t nl = name_ip(&L->g, q->wire + 12, addr);
    int edns = L->o->edns < 0 ? 1232 : L->o->edns;
    q->len = (uint16_t)finish_query(q->wire, nl, 0, 0x0000, qtype, edns);
    q->qlen = (uint16_t)question_len(q->wire, q->len);
    q->t0_mono = mono();
    q->t0_real = now_ns(CLOCK_REALTIME);
    q->active_pos = L->nactive;
    L->active[L->nactive++] = (uint32_t)L->nq;
    L->nq++;
    L->sent_by[L->clients[ci].tcp_only]++;
    if (L->clients[ci].tcp_only) {
        legit_tcp_start(L, q);
    } else {
        q->state = Q_UDP;
        legit_udp_send(L, q);
    }
}

static void legit_udp_readable(struct legit *L, size_t ci)
{
    uint8_t r[RBUF];
    union {
        char raw[CMSG_SPACE(sizeof(struct timespec))];
        struct cmsghdr align;
    } ctl;
    for (int budget = 0; budget < 64; budget++) {
        struct iovec iov = {r, sizeof r};
        struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.raw,
                           .msg_controllen = sizeof ctl.raw};
        ssize_t n = recvmsg(L->clients[ci].fd, &m, MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            continue;   /* ECONNREFUSED from an ICMP error, say: nothing to match */
        }
        uint64_t rx_real = 0;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
                struct timespec ts;
                memcpy(&ts, CMSG_DATA(c), sizeof ts);
                rx_real = (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
            }
        if (!rx_real)
            rx_real = now_ns(CLOCK_REALTIME);
        if (n < 12)
            continue;
        uint16_t id = (uint16_t)(r[0] << 8 | r[1]);
        for (size_t k = 0; k < L->nactive; k++) {
            struct lquery *q = &L->q[L->active[k]];
            if (q->client == ci && q->state == Q_UDP &&
                (q->id[0] == id || (q->udp_tries > 1 && q->id[1] == id)) &&
                legit_answer(L, q, r, (size_t)n, true, rx_real))
                break;
        }
    }
}

static void legit_tcp_event(struct legit *L, struct lquery *q, uint32_t events)
{
    if (q->state != Q_TCP || q->tfd < 0)
        return;
    if (!q->tcp_sent) {
        if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
            return;
        int err = 0;
        socklen_t el = sizeof err;
        getsockopt(q->tfd, SOL_SOCKET, SO_ERROR, &err, &el);
        if (err) {
            legit_tcp_fail(L, q, err == ECONNREFUSED ? R_TCP_REFUSED : R_TCP_CLOSED);
            return;
        }
        uint8_t out[2 + QBUF];
        out[0] = (uint8_t)(q->len >> 8);
        out[1] = (uint8_t)q->len;
        memcpy(out + 2, q->wire, q->len);
        if (send(q->tfd, out, q->len + 2u, MSG_NOSIGNAL | MSG_DONTWAIT) != q->len + 2) {
            legit_tcp_fail(L, q, R_TCP_CLOSED);
            return;
        }
        q->tcp_sent = true;
        struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP,
                                 .data.u64 = ev_data(EV_TCP, (size_t)(q - L->q))};
        epoll_ctl(L->ep, EPOLL_CTL_MOD, q->tfd, &ev);
    }
    for (;;) {
        if (q->tin_len == q->tin_cap) {
            size_t cap = q->tin_cap ? q->tin_cap * 2 : 1024;
            if (cap > 2 + 65535)
                cap = 2 + 65535;
            if (cap == q->tin_cap) {
                legit_tcp_fail(L, q, R_WRONG);
                return;
            }
            uint8_t *p = realloc(q->tin, cap);
            if (!p) {
                legit_tcp_fail(L, q, R_TCP_CLOSED);
                return;
            }
            q->tin = p;
            q->tin_cap = cap;
        }
        ssize_t n = recv(q->tfd, q->tin + q->tin_len, q->tin_cap - q->tin_len, MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n <= 0) {
            legit_tcp_fail(L, q, R_TCP_CLOSED);
            return;
        }
        q->tin_len += (size_t)n;
        if (q->tin_len >= 2) {
            size_t mlen = (size_t)q->tin[0] << 8 | q->tin[1];
            if (q->tin_len >= 2 + mlen) {
                if (!legit_answer(L, q, q->tin + 2, mlen, false, 0))
                    legit_tcp_fail(L, q, R_WRONG);
                return;
            }
        }
    }
}

/* Timeouts: a UDP query is sent again once, then given up; TCP fails over. */
static void legit_timeouts(struct legit *L, uint64_t now)
{
    for (size_t k = 0; k < L->nactive;) {
        struct lquery *q = &L->q[L->active[k]];
        size_t before = L->nactive;
        if (now >= q->deadline) {
            if (q->state == Q_UDP && q->udp_tries < 2) {
                L->udp_retries++;
                legit_udp_send(L, q);
            } else if (q->state == Q_UDP) {
                legit_finish(L, q, R_TIMEOUT, 0, now);
            } else {
                legit_tcp_fail(L, q, R_TCP_TIMEOUT);
            }
        }
        if (L->nactive == before)   /* q stayed at k: move on; else k holds another */
            k++;
    }
}

static int run_legit(const struct options *o, const uint32_t *src, size_t nsrc)
{
    struct legit L = {.o = o, .nclients = nsrc};
    if (namegen_init(&L.g, o->zone) < 0 || nsrc > MAX_CLIENTS) {
        fprintf(stderr, "floodgen: bad --zone or more than %d clients\n", MAX_CLIENTS);
        return -1;
    }
    double rate = o->rate < 0 ? 4 : o->rate;
    if (rate <= 0) {
        fprintf(stderr, "floodgen: legit needs --rate > 0\n");
        return -1;
    }
    L.timeout = (uint64_t)o->timeout_ms * 1000000ull;
    double capd = (double)nsrc * (rate * o->seconds + 2);
    L.capq = capd > MAX_LEGIT_QUERIES ? MAX_LEGIT_QUERIES : (size_t)capd;
    if (L.capq > o->count)
        L.capq = (size_t)o->count;
    if (raise_nofile(nsrc * 3 + 64) < 0)
        return -1;
    L.rng = o->seed * 0x9E3779B97F4A7C15ull + 7;
    L.clients = calloc(nsrc, sizeof *L.clients);
    L.q = malloc(L.capq * sizeof *L.q);
    L.active = malloc(L.capq * sizeof *L.active);
    L.ep = epoll_create1(EPOLL_CLOEXEC);
    if (!L.clients || !L.q || !L.active || L.ep < 0)
        return -1;
    uint64_t t0 = mono(), period = (uint64_t)(NS / rate);
    size_t ntcp = (size_t)floor(o->tcp_share * (double)nsrc + 0.5);
    for (size_t i = 0; i < nsrc; i++) {
        struct lclient *c = &L.clients[i];
        c->addr = src[i];
        /* TCP-only clients spread evenly among the others */
        c->tcp_only = ntcp && (i * ntcp) / nsrc != ((i + 1) * ntcp) / nsrc;
        c->next_send = t0 + period * i / nsrc;
        c->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        int on = 1;
        struct sockaddr_in me = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(c->addr)};
        if (c->fd < 0 || setsockopt(c->fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on) < 0 ||
            bind(c->fd, (struct sockaddr *)&me, sizeof me) < 0 ||
            connect(c->fd, (const struct sockaddr *)&o->target, sizeof o->target) < 0) {
            fprintf(stderr, "floodgen: client socket %u: %s\n", (unsigned)i, strerror(errno));
            return -1;
        }
        struct epoll_event ev = {.events = EPOLLIN, .data.u64 = ev_data(EV_CLIENT, i)};
        if (epoll_ctl(L.ep, EPOLL_CTL_ADD, c->fd, &ev) < 0)
            return -1;
    }

    uint64_t stop = t0 + (uint64_t)(o->seconds * NS);
    /* after the last send: two UDP tries, or a TC and a TCP try, each a timeout */
    uint64_t hard_end = stop + 3 * L.timeout + NS / 2;
    uint64_t last_sweep = t0;
    for (uint64_t now = t0; now < stop || (L.nactive && now < hard_end); now = mono()) {
        uint64_t next = now + 5000000ull;
        if (now < stop)
            for (size_t i = 0; i < nsrc; i++) {
                struct lclient *c = &L.clients[i];
                while (c->next_send <= now && L.nq < L.capq) {
                    legit_new_query(&L, i);
                    c->next_send += period;
                }
                if (c->next_send < next)
                    next = c->next_send;
            }
        if (now - last_sweep >= 5000000ull) {
            legit_timeouts(&L, now);
            last_sweep = now;
        }
        struct epoll_event evs[256];
        int ms = next > now ? (int)((next - now + 999999) / 1000000) : 0;
        int ne = epoll_wait(L.ep, evs, 256, ms);
        for (int e = 0; e < ne; e++) {
            uint64_t d = evs[e].data.u64;
            size_t index = (size_t)(d & 0xffffffffu);
            if (d >> 32 == EV_CLIENT)
                legit_udp_readable(&L, index);
            else
                legit_tcp_event(&L, &L.q[index], evs[e].events);
        }
    }
    while (L.nactive)
        legit_finish(&L, &L.q[L.active[0]], R_UNFINISHED, 0, mono());

    double *lat = malloc((L.nq + 1) * sizeof *lat);
    size_t nlat = 0;
    for (size_t i = 0; lat && i < L.nq; i++)
        if (L.q[i].result == R_ANSWERED)
            lat[nlat++] = L.q[i].latency_ms;
    if (lat)
        qsort(lat, nlat, sizeof *lat, cmp_double);
    uint64_t answered = L.results[R_ANSWERED];
    printf("{\"mode\":\"legit\",\"clients\":%zu,\"tcp_clients\":%zu,\"rate_per_client\":%.3f,"
           "\"seconds\":%.3f,\"sent\":%zu,\"answered\":%" PRIu64 ",\"answered_share\":%.6f,"
           "\"udp\":{\"sent\":%" PRIu64 ",\"answered\":%" PRIu64 "},\"tcp\":{\"sent\":%" PRIu64
           ",\"answered\":%" PRIu64 "},\"udp_retries\":%" PRIu64 ",\"tc\":%" PRIu64
           ",\"tcp_connections\":%" PRIu64 ",\"capped\":%s,\"results\":{",
           nsrc, ntcp, rate, o->seconds, L.nq, answered, L.nq ? (double)answered / (double)L.nq : 0,
           L.sent_by[0], L.answered_by[0], L.sent_by[1], L.answered_by[1], L.udp_retries, L.tc,
           L.tcp_conns, L.nq == L.capq ? "true" : "false");
    for (int r = 0; r < R_NRESULTS; r++)
        printf("%s\"%s\":%" PRIu64, r ? "," : "", result_names[r], L.results[r]);
    printf("},\"latency_ms\":{\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,\"max\":%.3f}}\n",
           percentile(lat, nlat, 0.50), percentile(lat, nlat, 0.90), percentile(lat, nlat, 0.99),
           nlat ? lat[nlat - 1] : 0);
    free(lat);
    for (size_t i = 0; i < nsrc; i++)
        close(L.clients[i].fd);
    close(L.ep);
    free(L.clients);
    free(L.q);
    free(L.active);
    return 0;
}

/* ---- tcp: idle and slowloris connections -------------------------------- */

enum t_state { T_WAIT, T_CONNECTING, T_OPEN, T_DONE };

struct tconn {
    int fd;
    uint32_t addr;
    bool slow;
    uint8_t state;
    uint64_t t_start, t_open, t_next;   /* connect started, established, next byte/reopen */
    size_t qoff;
};

struct tcp_stats {
    uint64_t opens, connected, refused, connect_timeouts, connect_errors;
    uint64_t closed[2], resets, open_now, max_open, bytes_out, bytes_in, queries_completed;
    double *lifetimes;
    size_t nlife, caplife;
};

static void tcp_close_fd(int ep, struct tconn *c, bool rst)
{
    if (c->fd < 0)
        return;
    if (rst) {
        struct linger lg = {.l_onoff = 1, .l_linger = 0};
        setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    }
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->fd = -1;
}

/* The connection ended (refused, timed out or closed by the server). */
static void tcp_ended(const struct options *o, int ep, struct tconn *c, struct tcp_stats *s,
                      uint64_t now)
{
    tcp_close_fd(ep, c, true);
    if (c->state == T_OPEN)
        s->open_now--;
    if (o->reconnect_ms > 0 && s->opens < o->max_opens) {
        c->state = T_WAIT;
        c->t_next = now + (uint64_t)o->reconnect_ms * 1000000ull;
    } else {
        c->state = T_DONE;
    }
}

static void tcp_server_closed(const struct options *o, int ep, struct tconn *c, struct tcp_stats *s,
                              uint64_t now, bool reset)
{
    s->closed[c->slow]++;
    s->resets += reset;
    if (s->nlife < s->caplife)
        s->lifetimes[s->nlife++] = (double)(now - c->t_open) / NS;
    tcp_ended(o, ep, c, s, now);
}

static void tcp_open(const struct options *o, int ep, struct tconn *c, size_t index,
                     struct tcp_stats *s, uint64_t now)
{
    s->opens++;
    c->t_start = now;
    c->qoff = 0;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_in me = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(c->addr)};
    c->state = T_CONNECTING;
    if (c->fd < 0 || bind(c->fd, (struct sockaddr *)&me, sizeof me) < 0) {
        s->connect_errors++;
        tcp_ended(o, ep, c, s, now);
        return;
    }
    if (connect(c->fd, (const struct sockaddr *)&o->target, sizeof o->target) < 0 &&
        errno != EINPROGRESS) {
        if (errno == ECONNREFUSED)
            s->refused++;
        else
            s->connect_errors++;
        tcp_ended(o, ep, c, s, now);
        return;
    }
    struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN | EPOLLRDHUP, .data.u64 = index};
    epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
}

static int run_tcp(const struct options *o_in, const uint32_t *src, size_t nsrc)
{
    struct options opt = *o_in;
    const struct options *o = &opt;
    size_t n = (size_t)(o->connections ? o->connections : 1000);
    if (!opt.max_opens) {
        /* every connection reopened as often as the delay allows, and no more */
        double per = o->reconnect_ms ? o->seconds * 1000.0 / o->reconnect_ms + 1 : 1;
        double m = (double)n * per;
        opt.max_opens = m > 1e7 ? 10000000ull : (uint64_t)m;
    }
    if (opt.max_opens > o->count)
        opt.max_opens = o->count;
    if (raise_nofile(n + 64) < 0)
        return -1;
    struct namegen g;
    if (namegen_init(&g, o->zone) < 0)
        return -1;
    /* the query a slowloris connection drips: a listed name, type A */
    uint8_t q[2 + QBUF];
    uint64_t rng = o->seed * 0x9E3779B97F4A7C15ull + 3;
    size_t nl = name_ip(&g, q + 2 + 12, pick_addr(o->listed_base, o->listed_size, &rng));
    size_t qlen = finish_query(q + 2, nl, 0x4242, 0, 1, 0);
    q[0] = (uint8_t)(qlen >> 8);
    q[1] = (uint8_t)qlen;
    qlen += 2;

    struct tconn *c = calloc(n, sizeof *c);
    struct tcp_stats s = {.caplife = (size_t)opt.max_opens};
    s.lifetimes = malloc(s.caplife * sizeof *s.lifetimes);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (!c || !s.lifetimes || ep < 0)
        return -1;
    size_t nslow = (size_t)floor(o->slow_share * (double)n + 0.5);
    uint64_t t0 = mono(), end = t0 + (uint64_t)(o->seconds * NS);
    uint64_t interval = (uint64_t)o->byte_interval_ms * 1000000ull;
    for (size_t i = 0; i < n; i++) {
        c[i].fd = -1;
        c[i].addr = src[i % nsrc];
        c[i].slow = nslow && (i * nslow) / n != ((i + 1) * nslow) / n;
        if (s.opens < opt.max_opens)
            tcp_open(o, ep, &c[i], i, &s, mono());
        else
            c[i].state = T_DONE;
    }
    uint64_t t_opened = mono();
    uint8_t sink[4096];
    for (uint64_t now = mono(); now < end; now = mono()) {
        struct epoll_event evs[512];
        int ne = epoll_wait(ep, evs, 512, 10);
        now = mono();
        for (int e = 0; e < ne; e++) {
            struct tconn *k = &c[evs[e].data.u64];
            uint32_t ev = evs[e].events;
            if (k->fd < 0)
                continue;
            if (k->state == T_CONNECTING) {
                if (!(ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
                    continue;
                int err = 0;
                socklen_t el = sizeof err;
                getsockopt(k->fd, SOL_SOCKET, SO_ERROR, &err, &el);
                if (err) {
                    if (err == ECONNREFUSED)
                        s.refused++;
                    else
                        s.connect_errors++;
                    tcp_ended(o, ep, k, &s, now);
                    continue;
                }
                k->state = T_OPEN;
                k->t_open = now;
                k->t_next = now + interval;
                s.connected++;
                if (++s.open_now > s.max_open)
                    s.max_open = s.open_now;
                struct epoll_event mod = {.events = EPOLLIN | EPOLLRDHUP, .data.u64 = evs[e].data.u64};
                epoll_ctl(ep, EPOLL_CTL_MOD, k->fd, &mod);
                continue;
            }
            if (k->state != T_OPEN)
                continue;
            for (int rounds = 0; rounds < 16; rounds++) {
                ssize_t r = recv(k->fd, sink, sizeof sink, MSG_DONTWAIT);
                if (r > 0) {
                    s.bytes_in += (uint64_t)r;
                    continue;
                }
                if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
                    tcp_server_closed(o, ep, k, &s, now, r < 0 && errno == ECONNRESET);
                break;
            }
        }
        for (size_t i = 0; i < n; i++) {
            struct tconn *k = &c[i];
            if (k->state == T_WAIT && now >= k->t_next && s.opens < opt.max_opens) {
                tcp_open(o, ep, k, i, &s, now);
            } else if (k->state == T_CONNECTING && now - k->t_start > 3 * NS) {
                s.connect_timeouts++;
                tcp_ended(o, ep, k, &s, now);
            } else if (k->state == T_OPEN && k->slow && now >= k->t_next) {
                ssize_t w = send(k->fd, q + k->qoff, 1, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (w == 1) {
                    s.bytes_out++;
                    if (++k->qoff == qlen) {
                        k->qoff = 0;
                        s.queries_completed++;
                    }
                    k->t_next += interval;
                } else if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                    tcp_server_closed(o, ep, k, &s, now, errno == ECONNRESET);
                }
            }
        }
    }
    uint64_t open_end[2] = {0, 0};
    for (size_t i = 0; i < n; i++) {
        if (c[i].state == T_OPEN)
            open_end[c[i].slow]++;
        tcp_close_fd(ep, &c[i], true);
    }
    close(ep);
    qsort(s.lifetimes, s.nlife, sizeof *s.lifetimes, cmp_double);
    printf("{\"mode\":\"tcp\",\"connections\":%zu,\"slowloris\":%zu,\"sources\":%zu,"
           "\"seconds\":%.3f,\"open_seconds\":%.3f,\"opens\":%" PRIu64 ",\"connected\":%" PRIu64
           ",\"refused\":%" PRIu64 ",\"connect_timeouts\":%" PRIu64 ",\"connect_errors\":%" PRIu64
           ",\"closed_by_server\":%" PRIu64 ",\"closed_idle\":%" PRIu64 ",\"closed_slow\":%" PRIu64
           ",\"resets\":%" PRIu64 ",\"open_at_end\":%" PRIu64 ",\"open_at_end_idle\":%" PRIu64
           ",\"open_at_end_slow\":%" PRIu64 ",\"max_open\":%" PRIu64 ",\"bytes_out\":%" PRIu64
           ",\"bytes_in\":%" PRIu64 ",\"slow_queries_completed\":%" PRIu64
           ",\"amplification\":%.4f,\"lifetime_s\":{\"p50\":%.3f,\"max\":%.3f}}\n",
           n, nslow, nsrc, (double)(mono() - t0) / NS, (double)(t_opened - t0) / NS, s.opens,
           s.connected, s.refused, s.connect_timeouts, s.connect_errors, s.closed[0] + s.closed[1],
           s.closed[0], s.closed[1], s.resets, open_end[0] + open_end[1], open_end[0], open_end[1],
           s.max_open, s.bytes_out, s.bytes_in, s.queries_completed,
           s.bytes_out ? (double)s.bytes_in / (double)s.bytes_out : 0,
           percentile(s.lifetimes, s.nlife, 0.5), s.nlife ? s.lifetimes[s.nlife - 1] : 0);
    free(s.lifetimes);
    free(c);
    return 0;
}

int main(int argc, char **argv)
{
    struct options o;
    if (parse_options(argc, argv, &o) < 0) {
        usage();
        return 2;
    }
    size_t nsrc = 0;
    uint32_t *src = parse_sources(o.sources, &nsrc);
    if (!src)
        return 2;
    int rc;
    if (!strcmp(o.mode, "udp"))
        rc = run_udp(&o, src, nsrc);
    else if (!strcmp(o.mode, "legit"))
        rc = run_legit(&o, src, nsrc);
    else if (!strcmp(o.mode, "tcp"))
        rc = run_tcp(&o, src, nsrc);
    else {
        usage();
        rc = -1;
    }
    free(src);
    return rc < 0 ? 2 : 0;
}
