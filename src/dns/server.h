/*
 * server: rampart-dnsbl's network side.
 *
 * One UDP worker thread per core, each with its own SO_REUSEPORT socket per
 * listening address, reading and answering in batches (recvmmsg/sendmmsg);
 * one TCP thread (RFC 7766: pipelined queries, idle timeout, connection cap).
 * The served configuration is an atomic pointer: dns_server_publish() swaps in
 * a new one and returns the old one once no thread can still be reading it
 * (quiescent-state tracking: every thread announces when it holds no pointer).
 * Workers never lock, allocate or block on anything but their sockets.
 */
#ifndef RAMPART_DNS_SERVER_H
#define RAMPART_DNS_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "rrl.h"
#include "zone.h"

struct dns_listen {
    struct sockaddr_storage addr;
    socklen_t len;
    char text[64];
};

struct dns_thread;
struct dns_notify;

struct dns_server {
    _Atomic(struct dns_config *) cfg;
    struct dns_listen *listen;
    int nlisten;
    int nworkers;                 /* UDP threads */
    int tcp_idle_ms;              /* RFC 7766 idle timeout */
    int tcp_max_conns;            /* overall; at the cap the longest-idle one is closed */
    int tcp_max_per_client;       /* per address (IPv6: per /64) */
    int tcp_lifetime_ms;          /* a connection is closed this long after accept */
    int tcp_query_ms;             /* a started query must arrive whole within this */
    int tcp_pipeline;             /* answers a client may leave unread before we stop reading */
    struct rrl *rrl;              /* UDP response rate limiting, NULL: off */
    int querylog_fd;              /* -1: none */
    bool querylog_unbuffered;
    int qlog_wake;                /* eventfd: a thread handed a query-log buffer over */
    pthread_t qlog_tid;
    atomic_bool qlog_threads_done;
    int *udp_fds;                 /* nworkers * nlisten */
    int *tcp_fds;                 /* nlisten */
    struct dns_thread *threads;   /* nworkers UDP + 1 TCP */
    int nthreads;
    atomic_bool stop;
    struct dns_notify *notify;    /* NOTIFY to secondaries on reload (notify.h), NULL: none */
};

/// Bind every listening address (UDP per worker, TCP once). Call as root
/// before dropping privileges. Returns 0 or -1 (logged).
int dns_server_bind(struct dns_server *s);

/// Start the threads. cfg may be NULL (then queries are REFUSED until publish).
int dns_server_start(struct dns_server *s);

/// Publish a new config; returns the previous one, no longer referenced by
/// any thread (the caller frees it). Blocks for at most one batch per thread.
struct dns_config *dns_server_publish(struct dns_server *s, struct dns_config *cfg);

/// Sum every thread's counters into *out.
void dns_server_stats(const struct dns_server *s, struct dns_stats *out);

/// Queries received by thread i (UDP workers first, then the TCP thread).
uint64_t dns_server_thread_queries(const struct dns_server *s, int i);

/// Reset every thread's counters (SIGUSR2). Racy by design: counters are
/// approximate while being reset.
void dns_server_reset_stats(struct dns_server *s);

/// Stop and join all threads.
void dns_server_stop(struct dns_server *s);

/// Parse "addr[/port]" (IPv4, IPv6 or a host name; port or service) into one or
/// more listen entries appended to s->listen. family: AF_UNSPEC, AF_INET, AF_INET6.
int dns_listen_parse(struct dns_server *s, const char *spec, int family);

#endif
