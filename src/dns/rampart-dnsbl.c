/*
 * rampart-dnsbl - authoritative DNS server for DNS blocklists
 *
 * Serves IPv4, IPv6 and domain-name blocklists (RFC 5782) from rbldnsd-format
 * data files. A drop-in replacement for rbldnsd: same command line, same data
 * files, the same answers, plus TCP (RFC 7766), EDNS0 (RFC 6891) and RFC 8020
 * empty non-terminals. See docs/rampart-dnsbl.8.
 *
 * Talks to: any DNS client on the network (untrusted). Security: binds its
 * ports as root, then chroots (-r) and drops to an unprivileged user (-u)
 * before reading any data; refuses to keep running as root.
 *
 * Threads: main (signals, reload checks, statistics), one UDP worker per core,
 * one TCP thread (which also writes zone transfers: xfr.h), with --notify one
 * thread sending NOTIFY to secondaries (notify.h), and with --metrics or
 * --control one thread serving the operator (Prometheus text over HTTP, JSON
 * on a Unix socket: control.h). Data is reloaded beside the served copy and
 * swapped in atomically, one dataset at a time, so answering never stops.
 *
 * Zone transfer (RFC 5936 AXFR, RFC 1995 IXFR, RFC 1996 NOTIFY, RFC 8945
 * TSIG) lets NSD, Knot or BIND secondaries mirror the zones; transfers are
 * allowed by --xfr-allow networks and --tsig-key/--tsig-keyfile keys only.
 *
 * Logs: key=value lines to stderr, or syslog once daemonized.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ctype.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "control.h"
#include "dataset.h"
#include "dbsync.h"
#include "notify.h"
#include "server.h"
#include "xfr.h"
#include "zone.h"

struct options {
    const char *user, *rootdir, *workdir, *pidfile, *logfile, *statsfile;
    const char *metrics, *control;    /* --metrics ADDR:PORT, --control PATH (control.h) */
    struct dbsync_options db;         /* --db PATH, --db-ns NAME (dbsync.h) */
    struct ttl_policy ttl;
    uint32_t check;
    bool quiet, foreground, dump, lazy;
    int version_level;
    int family;
    int threads;
    struct ds_options dsopt;
    const char **specs;
    int nspecs;
};

static void usage(FILE *out)
{
    fprintf(out,
            "rampart-dnsbl: DNS blocklist server (rbldnsd compatible), version %s\n"
            "Usage is: rampart-dnsbl options... zone:dataset:file,file...\n"
            "where options are:\n"
            " -u user[:group] - run as this user:group (rbldns)\n"
            " -r rootdir - chroot to this directory\n"
            " -w workdir - working directory with zone files\n"
            " -b address[/port] - bind to (listen on) this address (required)\n"
            " -4 - use IPv4 only\n"
            " -6 - use IPv6 only\n"
            " -t ttl - default TTL value to set in answers (35m)\n"
            " -v - hide version information in replies to version.bind CH TXT\n"
            "  (second -v makes rampart-dnsbl to refuse such requests completely)\n"
            " -e - enable CIDR ranges where prefix is not on the range boundary\n"
            "  (by default ranges such 127.1.1.0/16 are treated as errors)\n"
            " -c check - check for file updates every check secs (1m)\n"
            " -p pidfile - write backgrounded pid to specified file\n"
            " -n - do not become a daemon\n"
            " -f - accepted for compatibility: reloads never stop answering\n"
            " -q - quickly do initial zone load in background\n"
            " -l [+]logfile - log queries and answers to this file (+ for unbuffered)\n"
            " -s [+]statsfile - write a line with short statistics summary into this\n"
            "  file every `check' (-c) secs, for rrdtool-like applications\n"
            "  (+ to log relative, not absolute, statistics)\n"
            " -a - omit AUTH section from regular replies, do not return list\n"
            "  of nameservers, but only return NS info when explicitly asked.\n"
            "  This is an equivalent of bind9 \"minimal-answers\" setting.\n"
            " -A - put AUTH section in every reply (the default).\n"
            " -C - disable on-the-fly decompression of dataset files\n"
            " -d - dump all zones in BIND format to standard output and exit\n"
            " --threads N - UDP worker threads (default: one per CPU)\n"
            " --db PATH - also serve every list of this listing database, following\n"
            "  its changes as they are committed\n"
            " --db-ns NAME - name server of the database's zones (repeatable)\n"
            " --tcp-idle-timeout D - close a TCP connection idle for D (10s)\n"
            " --tcp-max-connections N - at most N TCP connections at once (4096)\n"
            " --tcp-max-per-client N - at most N per address, IPv6 /64 (32)\n"
            " --tcp-lifetime D - close any TCP connection after D (2m)\n"
            " --tcp-query-timeout D - a started query must arrive within D (2s)\n"
            " --tcp-pipeline N - stop reading a client with N unread answers (64)\n"
            " --rrl on|off - response rate limiting over UDP (on)\n"
            " --rrl-rate N - NOERROR answers per second per address (100)\n"
            " --rrl-nxdomain-rate N - NXDOMAIN answers per second per address (50)\n"
            " --rrl-error-rate N - error answers per second per address (10)\n"
            " --rrl-cookie-rate N - answers per second to a cookie-verified address (2000)\n"
            " --rrl-prefixes4 LIST - IPv4 prefixes and rate multipliers (32:1,24:4,16:16)\n"
            " --rrl-prefixes6 LIST - IPv6 prefixes and rate multipliers (128:1,64:1,56:4,48:16)\n"
            " --rrl-burst SECS - seconds of rate a client may spend at once (2)\n"
            " --rrl-slip N - send every Nth limited answer truncated, 0 never (2)\n"
            " --rrl-table-size N - rate-limit buckets, fixed memory of 8 bytes each (131072)\n"
            " --rrl-exempt ADDR[/LEN] - never rate-limit this network (repeatable)\n"
            " --cookies on|off - answer DNS cookies, RFC 7873 (on)\n"
            " --cookie-secret HEX - 32 hex digits, shared by servers of one anycast name\n"
            "  (default: random at start)\n"
            " --metrics ADDR:PORT - serve Prometheus metrics at http://ADDR:PORT/metrics\n"
            " --control PATH - answer stats, zones, reload, version on this Unix socket\n"
            " --xfr-allow ADDR[/LEN] - allow zone transfers (AXFR, IXFR) to this network\n"
            "  (repeatable)\n"
            " --tsig-key NAME:hmac-sha256:BASE64 - a TSIG key: requests signed with it may\n"
            "  transfer any zone (repeatable; visible in ps: prefer --tsig-keyfile)\n"
            " --tsig-keyfile PATH - read TSIG keys, one NAME:hmac-sha256:BASE64 a line\n"
            " --notify ADDR[/PORT][,zone=NAME][,key=KEYNAME] - send DNS NOTIFY to this\n"
            "  secondary when a zone (every zone, or NAME) changes (repeatable)\n"
            "rampart-dnsbl version %s\n",
            RAMPART_VERSION, RAMPART_VERSION);
}

static int parse_ttl_option(const char *arg, struct ttl_policy *t)
{
    uint32_t *dst[3] = {&t->def, &t->min, &t->max};
    const char *p = arg;
    for (int i = 0; i < 3 && *p; i++) {
        const char *c = strchr(p, ':');
        size_t l = c ? (size_t)(c - p) : strlen(p);
        if (l > 0 && util_parse_duration(p, l, dst[i]) < 0)
            return -1;
        if (!c)
            break;
        p = c + 1;
    }
    return 0;
}

static int drop_privileges(const char *spec)
{
    char user[128];
    const char *colon = strchr(spec, ':');
    size_t ul = colon ? (size_t)(colon - spec) : strlen(spec);
    if (ul == 0 || ul >= sizeof user) {
        log_error("event=bad-option option=-u value=\"%s\"", spec);
        return -1;
    }
    memcpy(user, spec, ul);
    user[ul] = '\0';
    struct passwd *pw = getpwnam(user);
    uid_t uid;
    gid_t gid;
    if (pw) {
        uid = pw->pw_uid;
        gid = pw->pw_gid;
    } else {
        char *e;
        long v = strtol(user, &e, 10);
        if (*e || v <= 0) {
            log_error("event=bad-option option=-u error=\"unknown user %s\"", user);
            return -1;
        }
        uid = (uid_t)v;
        gid = (gid_t)v;
    }
    if (colon && colon[1]) {
        struct group *gr = getgrnam(colon + 1);
        if (gr) {
            gid = gr->gr_gid;
        } else {
            char *e;
            long v = strtol(colon + 1, &e, 10);
            if (*e || v < 0) {
                log_error("event=bad-option option=-u error=\"unknown group %s\"", colon + 1);
                return -1;
            }
            gid = (gid_t)v;
        }
    }
    if (uid == 0) {
        log_error("event=refused error=\"will not run as root: give -u with an unprivileged user\"");
        return -1;
    }
    if (setgroups(1, &gid) < 0 || setgid(gid) < 0 || setuid(uid) < 0) {
        log_error("event=setuid-failed user=%s error=\"%s\"", user, strerror(errno));
        return -1;
    }
    if (setuid(0) == 0) {
        log_error("event=refused error=\"could regain root after dropping privileges\"");
        return -1;
    }
    return 0;
}

static void write_pid(int fd)
{
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)n, 0) != n)
        log_warn("event=pidfile-write-failed error=\"%s\"", strerror(errno));
}

static int open_log(const char *spec, bool *unbuffered)
{
    *unbuffered = spec[0] == '+';
    if (*unbuffered)
        spec++;
    if (strcmp(spec, "-") == 0)
        return dup(STDOUT_FILENO);
    int fd = open(spec, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        log_error("event=open-failed file=%s error=\"%s\"", spec, strerror(errno));
    return fd;
}

static void write_stats_line(const struct dns_server *srv, const struct dns_config *cfg,
                             const char *path, struct dns_stats *prev, bool only_stamp)
{
    bool rel = path[0] == '+';
    if (rel)
        path++;
    FILE *f = fopen(path, "a");
    if (!f)
        return;
    fprintf(f, "%ld", (long)time(NULL));
    if (!only_stamp) {
        struct dns_stats s;
        dns_server_stats(srv, &s);
        struct dns_zone_stats tot = {0};
        for (int i = 0; i < cfg->nzones; i++) {
            struct dns_zone_stats z = s.zone[cfg->zones[i].index];
            if (rel) {
                const struct dns_zone_stats *p = &prev->zone[cfg->zones[i].index];
                z.qtot -= p->qtot, z.qok -= p->qok, z.qnxd -= p->qnxd, z.bin -= p->bin, z.bout -= p->bout;
            }
            fprintf(f, " %s:%llu:%llu:%llu:%llu:%llu", cfg->zones[i].text, (unsigned long long)z.qtot,
                    (unsigned long long)z.qok, (unsigned long long)z.qnxd, (unsigned long long)z.bin,
                    (unsigned long long)z.bout);
        }
        tot.qtot = s.queries, tot.qok = s.rcode[0], tot.qnxd = s.rcode[3], tot.bin = s.bytes_in,
        tot.bout = s.bytes_out;
        if (rel)
            tot.qtot -= prev->queries, tot.qok -= prev->rcode[0], tot.qnxd -= prev->rcode[3],
                tot.bin -= prev->bytes_in, tot.bout -= prev->bytes_out;
        fprintf(f, " *:%llu:%llu:%llu:%llu:%llu", (unsigned long long)tot.qtot,
                (unsigned long long)tot.qok, (unsigned long long)tot.qnxd, (unsigned long long)tot.bin,
                (unsigned long long)tot.bout);
        *prev = s;
    }
    fputc('\n', f);
    fclose(f);
}

static void log_stats(const struct dns_server *srv)
{
    struct dns_stats s;
    dns_server_stats(srv, &s);
    /* queries per thread, so an operator (and the tests) can see every worker busy */
    char per[512];
    size_t n = 0;
    per[0] = '\0';
    for (int i = 0; i < srv->nthreads && n < sizeof per - 24; i++)
        n += (size_t)snprintf(per + n, sizeof per - n, "%s%llu", i ? "," : "",
                              (unsigned long long)dns_server_thread_queries(srv, i));
    log_info("event=stats queries=%llu answers=%llu dropped=%llu noerror=%llu nxdomain=%llu "
             "refused=%llu formerr=%llu truncated=%llu tcp=%llu bytes_in=%llu bytes_out=%llu "
             "per_thread=%s",
             (unsigned long long)s.queries, (unsigned long long)s.answers,
             (unsigned long long)s.dropped, (unsigned long long)s.rcode[0],
             (unsigned long long)s.rcode[3], (unsigned long long)s.rcode[5],
             (unsigned long long)s.rcode[1], (unsigned long long)s.truncated,
             (unsigned long long)s.tcp_queries, (unsigned long long)s.bytes_in,
             (unsigned long long)s.bytes_out, per);
    log_info("event=defense-stats rrl_dropped=%llu rrl_slipped=%llu cookie_valid=%llu "
             "cookie_new=%llu tcp_accepted=%llu tcp_refused=%llu tcp_timeouts=%llu tcp_open=%llu "
             "qlog_dropped=%llu",
             (unsigned long long)s.rrl_dropped, (unsigned long long)s.rrl_slipped,
             (unsigned long long)s.cookie_valid, (unsigned long long)s.cookie_new,
             (unsigned long long)s.tcp_accepted, (unsigned long long)s.tcp_refused,
             (unsigned long long)s.tcp_timeouts, (unsigned long long)s.tcp_open,
             (unsigned long long)s.qlog_dropped);
    uint64_t sent, acked, failed;
    dns_notify_counts(srv->notify, &sent, &acked, &failed);
    log_info("event=xfr-stats xfr_done=%llu xfr_aborted=%llu xfr_refused=%llu notify_sent=%llu "
             "notify_acked=%llu notify_failed=%llu",
             (unsigned long long)s.xfr_done, (unsigned long long)s.xfr_aborted,
             (unsigned long long)s.xfr_refused, (unsigned long long)sent,
             (unsigned long long)acked, (unsigned long long)failed);
}

enum {
    OPT_TCP_PER_CLIENT = 256, OPT_TCP_LIFETIME, OPT_TCP_QUERY, OPT_TCP_PIPELINE, OPT_RRL,
    OPT_RRL_RATE, OPT_RRL_NX, OPT_RRL_ERR, OPT_RRL_COOKIE, OPT_RRL_P4, OPT_RRL_P6, OPT_RRL_BURST,
    OPT_RRL_SLIP, OPT_RRL_TABLE, OPT_RRL_EXEMPT, OPT_COOKIES, OPT_COOKIE_SECRET,
    /* zone transfer (parse_xfr_option) */
    OPT_XFR_ALLOW = 512, OPT_TSIG_KEY, OPT_TSIG_KEYFILE, OPT_NOTIFY,
};

static struct notify_targets notify_targets; /* --notify */

/* The zone transfer options. Returns 0, or -1 after logging what is wrong. */
static int parse_xfr_option(int c, const char *name, const char *arg, struct xfr_config *xc)
{
    char err[200] = "bad value";
    switch (c) {
    case OPT_XFR_ALLOW:
        if (xfr_allow_parse(xc, arg, err, sizeof err) < 0)
            break;
        return 0;
    case OPT_TSIG_KEY: {
        struct tsig_key k;
        if (tsig_key_parse(arg, &k, err, sizeof err) < 0)
            break;
        if (tsig_keys_add(&xc->keys, &k) < 0) {
            snprintf(err, sizeof err, "out of memory");
            break;
        }
        return 0;
    }
    case OPT_TSIG_KEYFILE:
        if (tsig_keys_load(&xc->keys, arg, err, sizeof err) < 0)
            break;
        return 0;
    case OPT_NOTIFY:
        if (notify_target_parse(&notify_targets, arg, err, sizeof err) < 0)
            break;
        return 0;
    }
    /* never the value of a key option: it holds a secret */
    log_error("event=bad-option option=--%s value=\"%s\" error=\"%s\"", name,
              c == OPT_TSIG_KEY ? "(secret)" : arg, err);
    return -1;
}

static int on_off(const char *arg, bool *out)
{
    if (strcmp(arg, "on") == 0 || strcmp(arg, "yes") == 0)
        *out = true;
    else if (strcmp(arg, "off") == 0 || strcmp(arg, "no") == 0)
        *out = false;
    else
        return -1;
    return 0;
}

/* The long options of rate limiting, cookies and TCP limits. Returns 0, or
 * -1 after logging what is wrong with the value. */
static int parse_defense_option(int c, const char *name, const char *arg, struct dns_server *srv,
                                struct rrl_config *rc, struct dns_config *cookie_cfg)
{
    char err[160] = "bad value";
    uint64_t v = 0;
    uint32_t d = 0;
    switch (c) {
    case OPT_TCP_PER_CLIENT:
    case OPT_TCP_PIPELINE:
        if (util_parse_uint(arg, strlen(arg), 65535, &v) < 0 || v == 0)
            goto bad;
        if (c == OPT_TCP_PER_CLIENT)
            srv->tcp_max_per_client = (int)v;
        else
            srv->tcp_pipeline = (int)v;
        return 0;
    case OPT_TCP_LIFETIME:
    case OPT_TCP_QUERY:
        if (util_parse_duration(arg, strlen(arg), &d) < 0 || d == 0 || d > 86400)
            goto bad;
        if (c == OPT_TCP_LIFETIME)
            srv->tcp_lifetime_ms = (int)(d * 1000);
        else
            srv->tcp_query_ms = (int)(d * 1000);
        return 0;
    case OPT_RRL:
        if (on_off(arg, &rc->enabled) < 0)
            goto bad;
        return 0;
    case OPT_RRL_RATE:
    case OPT_RRL_NX:
    case OPT_RRL_ERR:
    case OPT_RRL_COOKIE:
        if (util_parse_uint(arg, strlen(arg), 1000000, &v) < 0 || v == 0) {
            snprintf(err, sizeof err, "a rate is 1..1000000 answers per second");
            goto bad;
        }
        rc->rate[c == OPT_RRL_RATE ? RRL_ANSWER : c == OPT_RRL_NX ? RRL_NXDOMAIN
                 : c == OPT_RRL_ERR ? RRL_ERROR : RRL_VERIFIED] = (uint32_t)v;
        return 0;
    case OPT_RRL_P4:
    case OPT_RRL_P6:
        if (rrl_parse_prefixes(arg, c == OPT_RRL_P4 ? AF_INET : AF_INET6, rc, err, sizeof err) < 0)
            goto bad;
        return 0;
    case OPT_RRL_BURST:
        if (util_parse_uint(arg, strlen(arg), 60, &v) < 0 || v == 0) {
            snprintf(err, sizeof err, "burst is 1..60 seconds");
            goto bad;
        }
        rc->burst = (uint32_t)v;
        return 0;
    case OPT_RRL_SLIP:
        if (util_parse_uint(arg, strlen(arg), 100, &v) < 0)
            goto bad;
        rc->slip = (uint32_t)v;
        return 0;
    case OPT_RRL_TABLE:
        if (util_parse_uint(arg, strlen(arg), 1u << 26, &v) < 0 || v < 1024) {
            snprintf(err, sizeof err, "the table has 1024..67108864 buckets");
            goto bad;
        }
        rc->slots = (uint32_t)v;
        return 0;
    case OPT_RRL_EXEMPT:
        if (rrl_add_exempt(rc, arg, err, sizeof err) < 0)
            goto bad;
        return 0;
    case OPT_COOKIES:
        if (on_off(arg, &cookie_cfg->cookies) < 0)
            goto bad;
        return 0;
    case OPT_COOKIE_SECRET: {
        if (strlen(arg) != 32) {
            snprintf(err, sizeof err, "the secret is 32 hex digits (16 bytes)");
            goto bad;
        }
        for (int i = 0; i < 16; i++) {
            unsigned b;
            if (sscanf(arg + 2 * i, "%2x", &b) != 1 || !isxdigit((unsigned char)arg[2 * i]) ||
                !isxdigit((unsigned char)arg[2 * i + 1])) {
                snprintf(err, sizeof err, "the secret is 32 hex digits (16 bytes)");
                goto bad;
            }
            cookie_cfg->cookie_secret[i] = (uint8_t)b;
        }
        return 0;
    }
    }
bad:
    log_error("event=bad-option option=--%s value=\"%s\" error=\"%s\"", name, arg, err);
    return -1;
}

/* Room for every TCP connection: raise the descriptor limit while still root,
 * or lower the connection cap to what the limit allows. */
static void fit_fd_limit(struct dns_server *srv)
{
    rlim_t need = (rlim_t)srv->tcp_max_conns + (rlim_t)(srv->nworkers + 1) * (rlim_t)srv->nlisten + 64;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= need)
        return;
    struct rlimit want = {need, rl.rlim_max > need ? rl.rlim_max : need};
    if (setrlimit(RLIMIT_NOFILE, &want) == 0)
        return;
    want.rlim_max = rl.rlim_max;
    want.rlim_cur = rl.rlim_max < need ? rl.rlim_max : need;
    setrlimit(RLIMIT_NOFILE, &want);
    getrlimit(RLIMIT_NOFILE, &rl);
    int fit = (int)rl.rlim_cur - (srv->nworkers + 1) * srv->nlisten - 64;
    if (fit < srv->tcp_max_conns) {
        log_warn("event=tcp-cap-lowered wanted=%d allowed=%d reason=\"descriptor limit %llu\"",
                 srv->tcp_max_conns, fit < 1 ? 1 : fit, (unsigned long long)rl.rlim_cur);
        srv->tcp_max_conns = fit < 1 ? 1 : fit;
    }
}

/* SIGHUP, and `reload` on the control socket: reopen the query log, reload
 * the datasets whose files changed. Returns dns_config_reload()'s result. */
static int reload_on_hup(const struct options *o, struct dns_server *srv, struct dns_config **cfg,
                         bool *qlog_unbuf)
{
    if (o->logfile && strcmp(o->logfile, "-") != 0 && strcmp(o->logfile, "+-") != 0) {
        int fd = open_log(o->logfile, qlog_unbuf);
        if (fd >= 0) {
            int oldfd = srv->querylog_fd;
            dup2(fd, oldfd);
            close(fd);
        }
    }
    return dns_config_reload(srv, cfg, false);
}

int main(int argc, char **argv)
{
    struct options o = {.ttl = {2100, 0, 0}, .check = 60, .family = AF_UNSPEC, .threads = 0};
    struct dns_server srv = {.tcp_idle_ms = 10000, .tcp_max_conns = 4096, .tcp_max_per_client = 32,
                             .tcp_lifetime_ms = 120000, .tcp_query_ms = 2000, .tcp_pipeline = 64,
                             .querylog_fd = -1};
    struct rrl_config rrlc;
    rrl_config_default(&rrlc);
    struct dns_config cookie_cfg = {.cookies = true};  /* holds the cookie options until cfg exists */
    bool secret_given = false;
    static struct xfr_config xfrc; /* lives as long as the process: configs point at it */
    log_init("rampart-dnsbl", LOG_LVL_INFO);
    /* long only: letters outside the short-option string (values from 256 on
     * are the defense options, handled by parse_defense_option()) */
    enum { OPT_METRICS = 'P', OPT_CONTROL = 'K', OPT_DB = 'B', OPT_DB_NS = 'N' };
    static const struct option longopts[] = {
        {"threads", required_argument, NULL, 'T'},
        {"tcp-idle-timeout", required_argument, NULL, 'I'},
        {"tcp-max-connections", required_argument, NULL, 'M'},
        {"tcp-max-per-client", required_argument, NULL, OPT_TCP_PER_CLIENT},
        {"tcp-lifetime", required_argument, NULL, OPT_TCP_LIFETIME},
        {"tcp-query-timeout", required_argument, NULL, OPT_TCP_QUERY},
        {"tcp-pipeline", required_argument, NULL, OPT_TCP_PIPELINE},
        {"rrl", required_argument, NULL, OPT_RRL},
        {"rrl-rate", required_argument, NULL, OPT_RRL_RATE},
        {"rrl-nxdomain-rate", required_argument, NULL, OPT_RRL_NX},
        {"rrl-error-rate", required_argument, NULL, OPT_RRL_ERR},
        {"rrl-cookie-rate", required_argument, NULL, OPT_RRL_COOKIE},
        {"rrl-prefixes4", required_argument, NULL, OPT_RRL_P4},
        {"rrl-prefixes6", required_argument, NULL, OPT_RRL_P6},
        {"rrl-burst", required_argument, NULL, OPT_RRL_BURST},
        {"rrl-slip", required_argument, NULL, OPT_RRL_SLIP},
        {"rrl-table-size", required_argument, NULL, OPT_RRL_TABLE},
        {"rrl-exempt", required_argument, NULL, OPT_RRL_EXEMPT},
        {"cookies", required_argument, NULL, OPT_COOKIES},
        {"cookie-secret", required_argument, NULL, OPT_COOKIE_SECRET},
        {"help", no_argument, NULL, 'h'},
        {"metrics", required_argument, NULL, OPT_METRICS},
        {"control", required_argument, NULL, OPT_CONTROL},
        {"db", required_argument, NULL, OPT_DB},
        {"db-ns", required_argument, NULL, OPT_DB_NS},
        {"xfr-allow", required_argument, NULL, OPT_XFR_ALLOW},
        {"tsig-key", required_argument, NULL, OPT_TSIG_KEY},
        {"tsig-keyfile", required_argument, NULL, OPT_TSIG_KEYFILE},
        {"notify", required_argument, NULL, OPT_NOTIFY},
        {NULL, 0, NULL, 0},
    };
    const char **binds = NULL;
    int nbinds = 0;
    int c, li = -1;
    while ((c = getopt_long(argc, argv, "u:r:w:b:46t:c:eqp:l:s:nfdvaACx:X:hD", longopts, &li)) != -1) {
        if (c >= OPT_XFR_ALLOW) {
            if (parse_xfr_option(c, longopts[li].name, optarg, &xfrc) < 0)
                return 1;
            continue;
        }
        if (c >= OPT_TCP_PER_CLIENT) {
            if (parse_defense_option(c, longopts[li].name, optarg, &srv, &rrlc, &cookie_cfg) < 0)
                return 1;
            secret_given = secret_given || c == OPT_COOKIE_SECRET;
            continue;
        }
        switch (c) {
        case 'u': o.user = optarg; break;
        case 'r': o.rootdir = optarg; break;
        case 'w': o.workdir = optarg; break;
        case 'b':
            binds = realloc(binds, (size_t)(nbinds + 1) * sizeof *binds);
            if (!binds)
                return 1;
            binds[nbinds++] = optarg;
            break;
        case '4': o.family = AF_INET; break;
        case '6': o.family = AF_INET6; break;
        case 't':
            if (parse_ttl_option(optarg, &o.ttl) < 0) {
                log_error("event=bad-option option=-t value=\"%s\"", optarg);
                return 1;
            }
            break;
        case 'c':
            if (util_parse_duration(optarg, strlen(optarg), &o.check) < 0) {
                log_error("event=bad-option option=-c value=\"%s\"", optarg);
                return 1;
            }
            break;
        case 'e': o.dsopt.allow_host_bits = true; break;
        case 'q': o.quiet = true; break;
        case 'p': o.pidfile = optarg; break;
        case 'l': o.logfile = optarg; break;
        case 's': o.statsfile = optarg; break;
        case 'n': o.foreground = true; break;
        case 'f': break;
        case 'd': o.dump = true; break;
        case 'v': o.version_level++; break;
        case 'a': o.lazy = true; break;
        case 'A': o.lazy = false; break;
        case 'C': o.dsopt.no_gzip = true; break;
        case 'x':
        case 'X':
            log_error("event=bad-option option=-%c error=\"extensions are not supported\"", c);
            return 1;
        case 'T': {
            uint64_t v;
            if (util_parse_uint(optarg, strlen(optarg), 1024, &v) < 0 || v == 0) {
                log_error("event=bad-option option=--threads value=\"%s\"", optarg);
                return 1;
            }
            o.threads = (int)v;
            break;
        }
        case 'I': {
            uint32_t d;
            if (util_parse_duration(optarg, strlen(optarg), &d) < 0 || d == 0 || d > 86400) {
                log_error("event=bad-option option=--tcp-idle-timeout value=\"%s\"", optarg);
                return 1;
            }
            srv.tcp_idle_ms = (int)(d * 1000);
            break;
        }
        case 'M': {
            uint64_t v;
            if (util_parse_uint(optarg, strlen(optarg), 1000000, &v) < 0 || v == 0) {
                log_error("event=bad-option option=--tcp-max-connections value=\"%s\"", optarg);
                return 1;
            }
            srv.tcp_max_conns = (int)v;
            break;
        }
        case OPT_METRICS: o.metrics = optarg; break;
        case OPT_CONTROL: o.control = optarg; break;
        case OPT_DB: o.db.path = optarg; break;
        case OPT_DB_NS:
            if (o.db.nns == DBSYNC_MAX_NS) {
                log_error("event=bad-option option=--db-ns error=\"at most %d names\"", DBSYNC_MAX_NS);
                return 1;
            }
            o.db.ns[o.db.nns++] = optarg;
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 1;
        }
    }
    o.dsopt.ttl = o.ttl;
    o.specs = (const char **)argv + optind;
    o.nspecs = argc - optind;
    if (o.nspecs == 0 && !o.db.path) {
        log_error("event=bad-usage error=\"no zones given (zone:type:file,... or --db PATH)\"");
        usage(stderr);
        return 1;
    }
    struct dns_config *cfg = dns_config_build(o.specs, o.nspecs, &o.dsopt);
    if (!cfg)
        return 1;
    cfg->lazy = o.lazy;
    cfg->xfr = &xfrc;
    cfg->version = o.version_level >= 2 ? VERSION_REFUSE : (enum version_mode)o.version_level;
    cfg->cookies = cookie_cfg.cookies;
    if (secret_given)
        memcpy(cfg->cookie_secret, cookie_cfg.cookie_secret, sizeof cfg->cookie_secret);
    else if (getrandom(cfg->cookie_secret, sizeof cfg->cookie_secret, 0) != sizeof cfg->cookie_secret) {
        log_error("event=start-failed error=\"no random bytes for the cookie secret\"");
        return 1;
    }

    if (o.dump) {
        if (o.workdir && chdir(o.workdir) < 0) {
            log_error("event=chdir-failed dir=%s error=\"%s\"", o.workdir, strerror(errno));
            return 1;
        }
        int rc = dns_config_reload(NULL, &cfg, true) < 0 ? 1 : 0;
        if (rc == 0)
            dns_config_dump(cfg, stdout);
        dns_config_free_all(cfg);
        return rc;
    }
    if (nbinds == 0) {
        log_error("event=bad-usage error=\"no address to listen on (-b)\"");
        return 1;
    }
    for (int i = 0; i < nbinds; i++)
        if (dns_listen_parse(&srv, binds[i], o.family) < 0)
            return 1;
    srv.nworkers = o.threads ? o.threads : util_ncpus();
    if (dns_server_bind(&srv) < 0)
        return 1;
    fit_fd_limit(&srv);
    if (rrlc.enabled) {
        srv.rrl = rrl_new(&rrlc);
        if (!srv.rrl) {
            log_error("event=start-failed error=\"rate limiter: out of memory\"");
            return 1;
        }
        const struct rrl_config *r = rrl_config(srv.rrl);
        log_info("event=rrl state=on rate=%u nxdomain_rate=%u error_rate=%u cookie_rate=%u "
                 "burst=%u slip=%u buckets=%u memory_kib=%zu exempt=%d",
                 r->rate[RRL_ANSWER], r->rate[RRL_NXDOMAIN], r->rate[RRL_ERROR],
                 r->rate[RRL_VERIFIED], r->burst, r->slip, r->slots, rrl_memory(srv.rrl) / 1024,
                 r->nexempt);
    } else {
        log_info("event=rrl state=off");
    }
    for (int i = 0; i < srv.nlisten; i++)
        log_info("event=listening addr=%s proto=udp,tcp", srv.listen[i].text);

    /* The pid file is opened before chroot and privilege drop (it usually
     * lives in /run), and written again by the daemon once it has forked. */
    int pidfd = -1;
    if (o.pidfile) {
        pidfd = open(o.pidfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (pidfd < 0) {
            log_error("event=open-failed file=%s error=\"%s\"", o.pidfile, strerror(errno));
            return 1;
        }
        if (o.foreground)
            write_pid(pidfd);
    }
    /* The metrics port and the control socket too, while still root and
     * before the socket's directory is out of reach (control.h). */
    struct dns_control *ctl = NULL;
    if ((o.metrics || o.control) && !(ctl = dns_control_open(o.metrics, o.control)))
        return 1;
    /* the database is opened and read before chroot and the privilege drop:
     * its open files stay usable afterwards */
    struct dbsync *db = NULL;
    if (o.db.path && !(db = dbsync_open(&o.db, &cfg)))
        return 1;
    if (db)
        xfrc.journal = dbsync_journal(db); /* IXFR of database lists from their journals */
    if (o.rootdir && (chroot(o.rootdir) < 0 || chdir("/") < 0)) {
        log_error("event=chroot-failed dir=%s error=\"%s\"", o.rootdir, strerror(errno));
        return 1;
    }
    if (o.workdir && chdir(o.workdir) < 0) {
        log_error("event=chdir-failed dir=%s error=\"%s\"", o.workdir, strerror(errno));
        return 1;
    }
    if (geteuid() == 0) {
        /* rbldnsd's default user; without it, refuse rather than stay root */
        if (!o.user && !getpwnam("rbldns")) {
            log_error("event=refused error=\"running as root and the default user rbldns does not "
                      "exist: give -u user[:group] to drop privileges\"");
            return 1;
        }
        if (drop_privileges(o.user ? o.user : "rbldns") < 0)
            return 1;
    }
    bool qlog_unbuf = false;
    if (o.logfile) {
        srv.querylog_fd = open_log(o.logfile, &qlog_unbuf);
        if (srv.querylog_fd < 0)
            return 1;
        srv.querylog_unbuffered = qlog_unbuf;
    }

    /* Signals arrive through a signalfd on the main thread only. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGHUP);
    sigaddset(&sigs, SIGUSR1);
    sigaddset(&sigs, SIGUSR2);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    uint64_t t0 = util_now_ns();
    if (!o.quiet) {
        if (dns_config_reload(NULL, &cfg, true) < 0) {
            log_error("event=start-failed error=\"zone load failed (use -q to start anyway)\"");
            return 1;
        }
    }
    if (!o.foreground) {
        if (daemon(1, 0) < 0) {
            log_error("event=daemon-failed error=\"%s\"", strerror(errno));
            return 1;
        }
        log_use_syslog();
        if (pidfd >= 0)
            write_pid(pidfd);
    }
    int sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
    atomic_store(&srv.cfg, cfg);
    if (notify_targets.n && !(srv.notify = dns_notify_start(&notify_targets, &xfrc.keys)))
        return 1;
    if (dns_server_start(&srv) < 0)
        return 1;
    if (o.quiet)
        dns_config_reload(&srv, &cfg, true);
    dns_control_update(ctl, cfg);
    if (dns_control_start(ctl, &srv) < 0)
        return 1;
    for (int i = 0; srv.notify && i < cfg->nzones; i++)
        dns_notify_zone(srv.notify, &cfg->zones[i]); /* secondaries may have missed changes */
    if (xfrc.nallow || xfrc.keys.n || notify_targets.n)
        log_info("event=xfr allow_networks=%d tsig_keys=%d notify_targets=%d", xfrc.nallow,
                 xfrc.keys.n, notify_targets.n);
    log_info("event=started version=%s zones=%d datasets=%d threads=%d load_seconds=%.3f",
             RAMPART_VERSION, cfg->nzones, cfg->nall, srv.nworkers, (double)(util_now_ns() - t0) / 1e9);

    struct dns_stats prev;
    memset(&prev, 0, sizeof prev);
    if (o.statsfile)
        write_stats_line(&srv, cfg, o.statsfile, &prev, true);
    uint64_t next_check = util_now_ns() + (uint64_t)o.check * 1000000000ull;
    bool running = true;
    while (running) {
        struct pollfd pfd[2] = {{.fd = sfd, .events = POLLIN},
                                {.fd = dns_control_reload_fd(ctl), .events = POLLIN}};
        int timeout = db ? 20 : o.check ? 1000 : -1; /* --db: follow commits closely */
        int r = poll(pfd, 2, timeout);
        if (r > 0 && (pfd[1].revents & POLLIN) && dns_control_reload_wanted(ctl))
            dns_control_reload_done(ctl, cfg, reload_on_hup(&o, &srv, &cfg, &qlog_unbuf));
        if (r > 0 && (pfd[0].revents & POLLIN)) {
            struct signalfd_siginfo si;
            if (read(sfd, &si, sizeof si) == sizeof si) {
                switch (si.ssi_signo) {
                case SIGHUP: reload_on_hup(&o, &srv, &cfg, &qlog_unbuf); break;
                case SIGUSR1: log_stats(&srv); break;
                case SIGUSR2:
                    log_stats(&srv);
                    dns_server_reset_stats(&srv);
                    memset(&prev, 0, sizeof prev);
                    if (o.statsfile)
                        write_stats_line(&srv, cfg, o.statsfile, &prev, true);
                    break;
                default: running = false; break;
                }
            }
        }
        if (o.check && util_now_ns() >= next_check) {
            next_check = util_now_ns() + (uint64_t)o.check * 1000000000ull;
            dns_config_reload(&srv, &cfg, false);
            if (o.statsfile)
                write_stats_line(&srv, cfg, o.statsfile, &prev, false);
        }
        if (db)
            dbsync_poll(db, &srv, &cfg);
        dns_control_update(ctl, cfg);
    }
    dns_control_close(ctl);
    log_stats(&srv);
    if (o.statsfile)
        write_stats_line(&srv, cfg, o.statsfile, &prev, true);
    dns_server_stop(&srv);
    rrl_free(srv.rrl);
    dns_notify_stop(srv.notify);
    notify_targets_free(&notify_targets);
    log_info("event=stopped");
    dbsync_close(db);
    dns_config_free_all(cfg);
    xfr_config_free(&xfrc);
    free(binds);
    return 0;
}
