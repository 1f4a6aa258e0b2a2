/*
 * addlat - add->answered and remove->gone latency of rampart-dnsbl --db.
 *
 * Commits batches of new listings to a list of the database at a fixed rate
 * (e.g. 5,000 adds/s as 100 batches of 50), through the store library as the
 * `rampart list add` command does. After each commit it asks rampart-dnsbl
 * over UDP, every millisecond, for one of the batch's entries until the answer
 * says listed, and records the time from the commit returning to that answer.
 * Then the same for removals of the entries it added. Prints one JSON line
 * with the counts and the p50/p99/max latencies in milliseconds.
 *
 * Usage: addlat DB LIST ZONE PORT RATE SECONDS
 * Loopback only (asks 127.0.0.1). Benchmark tool: bounded by SECONDS and by
 * 5 s per sample.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "store/entry.h"
#include "store/store.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static size_t make_query(uint8_t *q, uint16_t id, uint32_t addr, const char *zone)
{
    size_t n = 0;
    q[n++] = (uint8_t)(id >> 8), q[n++] = (uint8_t)id, q[n++] = 0, q[n++] = 0;
    q[n++] = 0, q[n++] = 1, q[n++] = 0, q[n++] = 0, q[n++] = 0, q[n++] = 0, q[n++] = 0, q[n++] = 0;
    char name[300];
    snprintf(name, sizeof name, "%u.%u.%u.%u.%s", addr & 255, (addr >> 8) & 255, (addr >> 16) & 255,
             addr >> 24, zone);
    for (char *s = name; *s;) {
        char *dot = strchr(s, '.');
        size_t l = dot ? (size_t)(dot - s) : strlen(s);
        q[n++] = (uint8_t)l;
        memcpy(q + n, s, l);
        n += l;
        s += l + (dot ? 1 : 0);
    }
    q[n++] = 0;
    q[n++] = 0, q[n++] = 1, q[n++] = 0, q[n++] = 1; /* A IN */
    return n;
}

/* Samples waiting for their answer: asked every 2 ms until the answer says
 * listed (adds) or NXDOMAIN (removals), or 5 s passed (lost). */
struct pending {
    uint32_t addr;
    double t0, asked;
    uint16_t id;
    int want;
};

static struct pending pend[4096];
static size_t npend;
static uint16_t next_id;

static void poll_pending(int fd, const struct sockaddr_in *srv, const char *zone, double *out[2],
                         size_t *nout, size_t *lost)
{
    uint8_t q[512], r[512];
    double now = now_ms();
    for (size_t i = 0; i < npend; i++)
        if (now - pend[i].asked >= 2) {
            pend[i].id = ++next_id;
            size_t n = make_query(q, pend[i].id, pend[i].addr, zone);
            sendto(fd, q, n, 0, (const struct sockaddr *)srv, sizeof *srv);
            pend[i].asked = now;
        }
    ssize_t got;
    while ((got = recv(fd, r, sizeof r, MSG_DONTWAIT)) >= 12) {
        uint16_t id = (uint16_t)(r[0] << 8 | r[1]);
        int rcode = r[3] & 15;
        uint16_t an = (uint16_t)(r[6] << 8 | r[7]);
        for (size_t i = 0; i < npend; i++) {
            if (pend[i].id != id)
                continue;
            int k = pend[i].want == 0 ? 0 : 1;
            if ((k == 0 && rcode == 0 && an > 0) || (k == 1 && rcode == 3)) {
                out[k][nout[k]++] = now_ms() - pend[i].t0;
                pend[i] = pend[--npend];
            }
            break;
        }
    }
    for (size_t i = 0; i < npend;)
        if (now - pend[i].t0 > 5000) {
            lost[pend[i].want == 0 ? 0 : 1]++;
            pend[i] = pend[--npend];
        } else {
            i++;
        }
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void summary(const char *what, double *v, size_t n, size_t lost)
{
    qsort(v, n, sizeof *v, cmp);
    printf("\"%s\": {\"samples\": %zu, \"lost\": %zu, \"p50_ms\": %.2f, \"p99_ms\": %.2f, "
           "\"max_ms\": %.2f}",
           what, n, lost, n ? v[n / 2] : -1, n ? v[n * 99 / 100] : -1, n ? v[n - 1] : -1);
}

int main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: addlat DB LIST ZONE PORT RATE SECONDS\n");
        return 2;
    }
    const char *db = argv[1], *list = argv[2], *zone = argv[3];
    int port = atoi(argv[4]), rate = atoi(argv[5]), seconds = atoi(argv[6]);
    if (rate < 100 || seconds < 1 || seconds > 600) {
        fprintf(stderr, "addlat: RATE >= 100, SECONDS 1..600\n");
        return 2;
    }
    struct store *s;
    char err[256];
    if (store_open(db, false, &s, err, sizeof err) < 0) {
        fprintf(stderr, "addlat: %s\n", err);
        return 1;
    }
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in srv = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &srv.sin_addr);
    enum { PER_BATCH = 50 };
    int batches_per_s = rate / PER_BATCH;
    size_t nb = (size_t)batches_per_s * (size_t)seconds;
    double *add = calloc(nb, sizeof *add), *del = calloc(nb, sizeof *del);
    uint32_t *sample = calloc(nb, sizeof *sample);
    double *out[2] = {add, del};
    size_t nout[2] = {0, 0}, lost[2] = {0, 0}, done = 0;
    uint32_t next = 0xc6120000; /* 198.18.0.0/15, benchmarking space (RFC 2544) */
    double start = now_ms(), period = 1000.0 / batches_per_s;
    for (int phase = 0; phase < 2; phase++) {
        uint32_t a = 0xc6120000;
        for (size_t b = 0; b < nb; b++) {
            double due = start + (double)b * period;
            while (now_ms() < due) {
                poll_pending(fd, &srv, zone, out, nout, lost);
                usleep(100);
            }
            struct store_batch_info info = {.list = list, .actor = "addlat", .reason = "bench"};
            struct store_batch *bt;
            if (store_batch_begin(s, &info, &bt) < 0) {
                fprintf(stderr, "addlat: %s\n", store_error(s));
                return 1;
            }
            for (int i = 0; i < PER_BATCH; i++) {
                uint32_t x = phase == 0 ? next++ : a++;
                char text[32];
                snprintf(text, sizeof text, "%u.%u.%u.%u", x >> 24, (x >> 16) & 255, (x >> 8) & 255,
                         x & 255);
                struct store_parsed p;
                if (store_entry_parse(text, strlen(text), STORE_IP4, &p, err, sizeof err) < 0)
                    return 1;
                if (phase == 0) {
                    struct store_values v = {0};
                    enum store_outcome o;
                    store_batch_add(bt, &p, &v, &o);
                } else {
                    store_batch_remove(bt, &p, NULL);
                }
                if (i == PER_BATCH / 2)
                    sample[b] = x;
            }
            if (store_batch_commit(bt) < 0) {
                fprintf(stderr, "addlat: commit: %s\n", store_error(s));
                return 1;
            }
            if (npend < sizeof pend / sizeof *pend)
                pend[npend++] = (struct pending){sample[b], now_ms(), 0, 0, phase == 0 ? 0 : 3};
            done++;
        }
        while (npend)
            poll_pending(fd, &srv, zone, out, nout, lost), usleep(100);
        start = now_ms();
    }
    printf("{\"rate\": %d, \"seconds\": %d, \"batches\": %zu, ", rate, seconds, done);
    double secs = (now_ms() - start) / 1000.0;
    (void)secs;
    summary("add", add, nout[0], lost[0]);
    printf(", ");
    summary("remove", del, nout[1], lost[1]);
    printf("}\n");
    store_close(s);
    return 0;
}
