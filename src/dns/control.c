/*
 * control.c: the metrics and control thread (control.h).
 *
 * One epoll loop over two listening sockets, an event fd that wakes it (stop,
 * or a reload finished) and at most DNS_CONTROL_MAX_CONNS connections. Each
 * connection reads one request (bounded by DNS_CONTROL_MAX_REQUEST), gets one
 * reply built in memory, writes it without blocking, shuts down its sending
 * side and reads whatever the client still sends until it closes (so that
 * closing never resets a reply the client has not read yet). Every state has
 * a deadline; the loop's epoll timeout is the nearest one.
 */
#define _GNU_SOURCE
#include "control.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/json.h"
#include "common/log.h"
#include "common/strbuf.h"
#include "common/util.h"
#include "report.h"

enum { DRAIN_MAX = 64 * 1024, DRAIN_MS = 1000, ACCEPT_PAUSE_MS = 1000 };
enum { EV_METRICS = 0, EV_UNIX = 1, EV_WAKE = 2, EV_CONN = 3 };

enum conn_state { C_FREE = 0, C_READ, C_WAIT_RELOAD, C_WRITE, C_DRAIN };

struct conn {
    int fd;
    enum conn_state state;
    bool http;
    char in[DNS_CONTROL_MAX_REQUEST];
    size_t inlen;
    struct strbuf out;
    size_t outpos, drained;
    uint64_t deadline;                /* monotonic ns */
    uint64_t ticket;                  /* the reload it waits for */
};

struct dns_control {
    int metrics_fd, unix_fd, ep, wake_fd, reload_fd;
    char metrics_text[64];
    char *path;                       /* as given, for logs */
    char *base;                       /* its last component, relative to dir_fd */
    int dir_fd;                       /* O_PATH: the socket's directory, usable after chroot */
    dev_t sock_dev;
    ino_t sock_ino;
    uint64_t paused_until[2];         /* a listener left out of epoll after EMFILE */
    const struct dns_server *srv;
    pthread_t tid;
    bool running;
    atomic_bool stop;
    time_t started_at;
    struct conn conns[DNS_CONTROL_MAX_CONNS];
    unsigned long refused;

    /* Shared with the main thread. */
    pthread_mutex_t lock;
    struct dns_report *report;        /* latest snapshot (report.h) */
    uint64_t report_gen;              /* cfg->loads + cfg->load_failures it was built from */
    bool have_report;
    uint64_t reload_asked, reload_done; /* tickets: requests made / passes that answered them */
    uint64_t reload_serving;          /* the ticket the running pass answers */
    char *reload_reply;               /* JSON of the latest finished pass */
};

/* ---- request parsing (pure functions, unit-tested) ---- */

int dns_control_parse_addr(const char *spec, struct sockaddr_storage *ss, socklen_t *len)
{
    char host[INET6_ADDRSTRLEN];
    const char *port;
    bool v6 = spec[0] == '[';
    if (v6) {
        const char *end = strstr(spec, "]:");
        if (!end || (size_t)(end - spec - 1) >= sizeof host)
            return -1;
        memcpy(host, spec + 1, (size_t)(end - spec - 1));
        host[end - spec - 1] = '\0';
        port = end + 2;
    } else {
        const char *colon = strrchr(spec, ':');
        if (!colon || (size_t)(colon - spec) >= sizeof host)
            return -1;
        memcpy(host, spec, (size_t)(colon - spec));
        host[colon - spec] = '\0';
        port = colon + 1;
    }
    uint64_t p;
    if (util_parse_uint(port, strlen(port), 65535, &p) < 0 || p == 0)
        return -1;
    memset(ss, 0, sizeof *ss);
    if (v6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)p);
        if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1)
            return -1;
        *len = sizeof *a;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)ss;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)p);
        if (inet_pton(AF_INET, host, &a->sin_addr) != 1)
            return -1;
        *len = sizeof *a;
    }
    return 0;
}

int dns_control_http_route(const char *buf, size_t len, int *minor)
{
    *minor = 1;
    if (!memmem(buf, len, "\r\n\r\n", 4) && !memmem(buf, len, "\n\n", 2))
        return 0;
    /* request-line = method SP request-target SP HTTP-version (RFC 9112 3) */
    const char *eol = memchr(buf, '\n', len);
    size_t ll = (size_t)(eol - buf);
    if (ll > 0 && buf[ll - 1] == '\r')
        ll--;
    const char *sp1 = memchr(buf, ' ', ll);
    const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', ll - (size_t)(sp1 + 1 - buf)) : NULL;
    if (!sp1 || !sp2 || sp1 == buf || sp2 == sp1 + 1)
        return 400;
    const char *ver = sp2 + 1;
    size_t vl = ll - (size_t)(ver - buf);
    if (memchr(ver, ' ', vl))
        return 400;
    if (vl != 8 || memcmp(ver, "HTTP/1.", 7) != 0)
        return vl >= 5 && memcmp(ver, "HTTP/", 5) == 0 ? 505 : 400;
    if (ver[7] != '0' && ver[7] != '1')
        return 505;
    *minor = ver[7] - '0';
    for (const char *p = buf; p < sp1; p++)
        if (*p < 'A' || *p > 'Z')
            return 400;
    for (const char *p = sp1 + 1; p < sp2; p++)
        if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
            return 400;
    if (sp1 - buf != 3 || memcmp(buf, "GET", 3) != 0)
        return 405;
    const char *target = sp1 + 1;
    const char *q = memchr(target, '?', (size_t)(sp2 - target));
    size_t tl = (size_t)((q ? q : sp2) - target);
    if (target[0] != '/')
        return 400;
    return tl == 8 && memcmp(target, "/metrics", 8) == 0 ? 200 : 404;
}

enum dns_control_cmd dns_control_parse_command(const char *buf, size_t len, bool at_eof)
{
    const char *nl = memchr(buf, '\n', len);
    size_t ll;
    if (nl) {
        if ((size_t)(nl - buf) + 1 != len)
            return DNS_CMD_MALFORMED; /* more than one line */
        ll = (size_t)(nl - buf);
    } else if (at_eof) {
        ll = len;
    } else {
        return DNS_CMD_INCOMPLETE;
    }
    if (ll > 0 && buf[ll - 1] == '\r')
        ll--;
    size_t start = 0;
    while (start < ll && (buf[start] == ' ' || buf[start] == '\t'))
        start++;
    while (ll > start && (buf[ll - 1] == ' ' || buf[ll - 1] == '\t'))
        ll--;
    if (ll == start)
        return DNS_CMD_MALFORMED;
    for (size_t i = start; i < ll; i++)
        if ((unsigned char)buf[i] < 0x20 || (unsigned char)buf[i] == 0x7f)
            return DNS_CMD_MALFORMED;
    static const struct {
        const char *word;
        enum dns_control_cmd cmd;
    } cmds[] = {{"stats", DNS_CMD_STATS},
                {"zones", DNS_CMD_ZONES},
                {"reload", DNS_CMD_RELOAD},
                {"version", DNS_CMD_VERSION}};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (strlen(cmds[i].word) == ll - start && memcmp(buf + start, cmds[i].word, ll - start) == 0)
            return cmds[i].cmd;
    return DNS_CMD_UNKNOWN;
}

/* ---- opening and closing ---- */

static int open_metrics(struct dns_control *c, const char *spec)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    if (dns_control_parse_addr(spec, &ss, &sl) < 0) {
        log_error("event=bad-option option=--metrics value=\"%s\" error=\"expected IPv4:PORT or "
                  "[IPv6]:PORT, e.g. 127.0.0.1:9153\"",
                  spec);
        return -1;
    }
    int one = 1;
    c->metrics_fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->metrics_fd < 0 ||
        setsockopt(c->metrics_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        (ss.ss_family == AF_INET6 &&
         setsockopt(c->metrics_fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0) ||
        bind(c->metrics_fd, (struct sockaddr *)&ss, sl) < 0 ||
        listen(c->metrics_fd, DNS_CONTROL_MAX_CONNS) < 0) {
        log_error("event=bind-failed addr=%s proto=http error=\"%s\"", spec, strerror(errno));
        return -1;
    }
    snprintf(c->metrics_text, sizeof c->metrics_text, "%s", spec);
    return 0;
}

static int open_unix(struct dns_control *c, const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path || !path[0]) {
        log_error("event=bad-option option=--control value=\"%s\" error=\"a socket path is 1 to %zu "
                  "bytes long\"",
                  path, sizeof sa.sun_path - 1);
        return -1;
    }
    memcpy(sa.sun_path, path, strlen(path));
    c->path = strdup(path);
    const char *slash = strrchr(path, '/');
    c->base = strdup(slash ? slash + 1 : path);
    char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
    if (!c->path || !c->base || !dir || !c->base[0]) {
        log_error("event=bad-option option=--control value=\"%s\" error=\"%s\"", path,
                  dir && c->base ? "the path names a directory" : "out of memory");
        free(dir);
        return -1;
    }
    /* Kept open so that the socket can be removed at exit, after chroot. */
    c->dir_fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (c->dir_fd < 0) {
        log_error("event=open-failed dir=%s error=\"%s\"", dir, strerror(errno));
        free(dir);
        return -1;
    }
    free(dir);
    struct stat st;
    if (fstatat(c->dir_fd, c->base, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            log_error("event=control-failed path=%s error=\"exists and is not a socket\"", path);
            return -1;
        }
        /* A socket nobody listens on is stale: replace it. A live one belongs
         * to another server: refuse rather than steal it. */
        int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int r = probe < 0 ? -1 : connect(probe, (struct sockaddr *)&sa, sizeof sa);
        int e = errno;
        if (probe >= 0)
            close(probe);
        if (r == 0) {
            log_error("event=control-failed path=%s error=\"in use by a running server\"", path);
            return -1;
        }
        if (e != ECONNREFUSED || unlinkat(c->dir_fd, c->base, 0) < 0) {
            log_error("event=control-failed path=%s error=\"cannot replace the old socket: %s\"", path,
                      strerror(e != ECONNREFUSED ? e : errno));
            return -1;
        }
        log_info("event=control-stale-socket-replaced path=%s", path);
    }
    c->unix_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->unix_fd < 0) {
        log_error("event=control-failed path=%s error=\"%s\"", path, strerror(errno));
        return -1;
    }
    mode_t old = umask(0117); /* the file is born 0660: no window with a wider mode */
    int r = bind(c->unix_fd, (struct sockaddr *)&sa, sizeof sa);
    int e = errno;
    umask(old);
    if (r < 0 || listen(c->unix_fd, DNS_CONTROL_MAX_CONNS) < 0 ||
        fstatat(c->dir_fd, c->base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        log_error("event=bind-failed path=%s error=\"%s\"", path, strerror(r < 0 ? e : errno));
        return -1;
    }
    c->sock_dev = st.st_dev;
    c->sock_ino = st.st_ino;
    return 0;
}

struct dns_control *dns_control_open(const char *metrics_addr, const char *socket_path)
{
    if (!metrics_addr && !socket_path)
        return NULL;
    struct dns_control *c = calloc(1, sizeof *c);
    if (!c) {
        log_error("event=control-failed error=\"out of memory\"");
        return NULL;
    }
    c->metrics_fd = c->unix_fd = c->ep = c->wake_fd = c->reload_fd = c->dir_fd = -1;
    c->started_at = time(NULL);
    pthread_mutex_init(&c->lock, NULL);
    for (int i = 0; i < DNS_CONTROL_MAX_CONNS; i++)
        c->conns[i].fd = -1;
    c->ep = epoll_create1(EPOLL_CLOEXEC);
    c->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    c->reload_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (c->ep < 0 || c->wake_fd < 0 || c->reload_fd < 0) {
        log_error("event=control-failed error=\"%s\"", strerror(errno));
        dns_control_close(c);
        return NULL;
    }
    if ((metrics_addr && open_metrics(c, metrics_addr) < 0) ||
        (socket_path && open_unix(c, socket_path) < 0)) {
        dns_control_close(c);
        return NULL;
    }
    int fds[3] = {c->metrics_fd, c->unix_fd, c->wake_fd};
    for (int i = 0; i < 3; i++) {
        struct epoll_event ev = {.events = EPOLLIN, .data.u64 = (uint64_t)i};
        if (fds[i] >= 0 && epoll_ctl(c->ep, EPOLL_CTL_ADD, fds[i], &ev) < 0) {
            log_error("event=control-failed error=\"%s\"", strerror(errno));
            dns_control_close(c);
            return NULL;
        }
    }
    if (metrics_addr)
        log_info("event=listening addr=%s proto=http path=/metrics", c->metrics_text);
    if (socket_path)
        log_info("event=listening path=%s proto=control", socket_path);
    return c;
}

static void conn_close(struct dns_control *c, struct conn *k)
{
    if (k->fd >= 0) {
        epoll_ctl(c->ep, EPOLL_CTL_DEL, k->fd, NULL);
        close(k->fd);
    }
    strbuf_free(&k->out);
    k->fd = -1;
    k->state = C_FREE;
}

static void remove_socket_file(struct dns_control *c)
{
    struct stat st;
    if (fstatat(c->dir_fd, c->base, &st, AT_SYMLINK_NOFOLLOW) < 0 || st.st_dev != c->sock_dev ||
        st.st_ino != c->sock_ino)
        return; /* gone, or another server's by now */
    /* Privileges are dropped by now: without write access to the directory
     * the file stays, which is expected (the next start replaces it). */
    if (unlinkat(c->dir_fd, c->base, 0) < 0)
        log_msg(errno == EACCES || errno == EPERM ? LOG_LVL_INFO : LOG_LVL_WARN,
                "event=control-socket-kept path=%s error=\"%s\" hint=\"the -u user cannot remove "
                "files in the socket's directory; the next start replaces it\"",
                c->path, strerror(errno));
}

void dns_control_close(struct dns_control *c)
{
    if (!c)
        return;
    if (c->running) {
        atomic_store(&c->stop, true);
        uint64_t one = 1;
        ssize_t r = write(c->wake_fd, &one, sizeof one);
        (void)r;
        pthread_join(c->tid, NULL);
    }
    for (int i = 0; i < DNS_CONTROL_MAX_CONNS; i++)
        conn_close(c, &c->conns[i]);
    if (c->unix_fd >= 0 && c->sock_ino)
        remove_socket_file(c);
    int fds[] = {c->metrics_fd, c->unix_fd, c->ep, c->wake_fd, c->reload_fd, c->dir_fd};
    for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    dns_report_free(c->report);
    free(c->reload_reply);
    free(c->path);
    free(c->base);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

/* ---- replies ---- */

static void set_events(struct dns_control *c, struct conn *k, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.u64 = (uint64_t)(EV_CONN + (k - c->conns))};
    epoll_ctl(c->ep, EPOLL_CTL_MOD, k->fd, &ev);
}

static void start_write(struct dns_control *c, struct conn *k)
{
    if (k->out.err) { /* out of memory building it: say so rather than send half */
        strbuf_free(&k->out);
        strbuf_puts(&k->out, "{\"error\":\"out of memory\"}\n");
    }
    k->state = C_WRITE;
    k->outpos = 0;
    set_events(c, k, EPOLLOUT);
}

static void http_reply(struct dns_control *c, struct conn *k, int status, int minor)
{
    struct strbuf body = {0};
    const char *reason = "OK", *ctype = "text/plain; charset=utf-8", *extra = "";
    switch (status) {
    case 200: {
        struct dns_stats st;
        dns_server_stats(c->srv, &st);
        pthread_mutex_lock(&c->lock);
        dns_report_metrics(&body, c->report, &st, c->started_at, RAMPART_VERSION);
        pthread_mutex_unlock(&c->lock);
        ctype = "text/plain; version=0.0.4; charset=utf-8";
        break;
    }
    case 404: reason = "Not Found"; strbuf_puts(&body, "not found: the metrics are at /metrics\n"); break;
    case 405:
        reason = "Method Not Allowed";
        extra = "Allow: GET\r\n";
        strbuf_puts(&body, "method not allowed: use GET\n");
        break;
    case 431:
        reason = "Request Header Fields Too Large";
        strbuf_printf(&body, "request head longer than %d bytes\n", DNS_CONTROL_MAX_REQUEST);
        break;
    case 505: reason = "HTTP Version Not Supported"; strbuf_puts(&body, "use HTTP/1.0 or HTTP/1.1\n"); break;
    default:
        status = 400;
        reason = "Bad Request";
        strbuf_puts(&body, "bad request\n");
        break;
    }
    if (body.err) {
        strbuf_free(&body);
        status = 500;
        reason = "Internal Server Error";
        strbuf_puts(&body, "out of memory\n");
    }
    strbuf_printf(&k->out,
                  "HTTP/1.%d %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%sConnection: "
                  "close\r\n\r\n",
                  minor, status, reason, ctype, body.len, extra);
    strbuf_add(&k->out, strbuf_str(&body), body.len);
    strbuf_free(&body);
    start_write(c, k);
}

static void control_error(struct dns_control *c, struct conn *k, const char *msg, const char *what,
                          size_t wl)
{
    struct strbuf m = {0};
    strbuf_puts(&m, msg);
    if (what) {
        strbuf_puts(&m, " \"");
        strbuf_add(&m, what, wl > 64 ? 64 : wl);
        strbuf_puts(&m, wl > 64 ? "...\"" : "\"");
        strbuf_puts(&m, "; commands: stats, zones, reload, version");
    }
    strbuf_puts(&k->out, "{\"error\":");
    json_string(&k->out, strbuf_str(&m), m.len);
    strbuf_puts(&k->out, "}\n");
    strbuf_free(&m);
    start_write(c, k);
}

static void control_reply(struct dns_control *c, struct conn *k, enum dns_control_cmd cmd)
{
    struct dns_stats st;
    switch (cmd) {
    case DNS_CMD_STATS:
        dns_server_stats(c->srv, &st);
        pthread_mutex_lock(&c->lock);
        dns_report_stats_json(&k->out, c->report, &st, c->started_at, RAMPART_VERSION);
        pthread_mutex_unlock(&c->lock);
        break;
    case DNS_CMD_ZONES:
        pthread_mutex_lock(&c->lock);
        if (c->report)
            dns_report_zones_json(&k->out, c->report);
        else
            strbuf_puts(&k->out, "{\"zones\":[],\"global_acl\":null}\n");
        pthread_mutex_unlock(&c->lock);
        break;
    case DNS_CMD_VERSION:
        strbuf_puts(&k->out, "{\"program\":\"rampart-dnsbl\",\"version\":");
        json_cstring(&k->out, RAMPART_VERSION);
        strbuf_puts(&k->out, "}\n");
        break;
    case DNS_CMD_RELOAD: {
        /* The main thread runs it; this connection waits for its ticket. */
        pthread_mutex_lock(&c->lock);
        k->ticket = ++c->reload_asked;
        pthread_mutex_unlock(&c->lock);
        uint64_t one = 1;
        ssize_t r = write(c->reload_fd, &one, sizeof one);
        (void)r;
        log_info("event=control-reload-requested");
        k->state = C_WAIT_RELOAD;
        k->deadline = util_now_ns() + (uint64_t)DNS_CONTROL_RELOAD_TIMEOUT_MS * 1000000u;
        set_events(c, k, 0);
        return;
    }
    default: control_error(c, k, "malformed request: send one line", NULL, 0); return;
    }
    start_write(c, k);
}

/* ---- the connection state machine ---- */

static void on_readable(struct dns_control *c, struct conn *k)
{
    if (k->state == C_DRAIN) {
        char junk[4096];
        ssize_t r = read(k->fd, junk, sizeof junk);
        if (r > 0 && (k->drained += (size_t)r) < DRAIN_MAX)
            return;
        if (r < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        conn_close(c, k);
        return;
    }
    bool eof = false;
    if (k->inlen < sizeof k->in) {
        ssize_t r = read(k->fd, k->in + k->inlen, sizeof k->in - k->inlen);
        if (r < 0) {
            if (errno != EAGAIN && errno != EINTR)
                conn_close(c, k);
            return;
        }
        eof = r == 0;
        k->inlen += (size_t)r;
    }
    bool full = k->inlen == sizeof k->in;
    if (k->http) {
        int minor;
        int status = dns_control_http_route(k->in, k->inlen, &minor);
        if (status == 0 && full)
            status = 431;
        else if (status == 0 && eof)
            status = k->inlen ? 400 : -1;
        if (status < 0)
            conn_close(c, k); /* connected and went away without a word */
        else if (status)
            http_reply(c, k, status, minor);
        return;
    }
    enum dns_control_cmd cmd = dns_control_parse_command(k->in, k->inlen, eof);
    if (cmd == DNS_CMD_INCOMPLETE && full) {
        char msg[80];
        snprintf(msg, sizeof msg, "request longer than %d bytes", DNS_CONTROL_MAX_REQUEST);
        control_error(c, k, msg, NULL, 0);
    } else if (cmd == DNS_CMD_UNKNOWN) {
        size_t l = k->inlen;
        while (l && (k->in[l - 1] == '\n' || k->in[l - 1] == '\r' || k->in[l - 1] == ' '))
            l--;
        control_error(c, k, "unknown command", k->in, l);
    } else if (cmd != DNS_CMD_INCOMPLETE) {
        control_reply(c, k, cmd);
    } else if (eof) {
        conn_close(c, k);
    }
}

static void on_writable(struct dns_control *c, struct conn *k)
{
    while (k->outpos < k->out.len) {
        ssize_t w = send(k->fd, k->out.data + k->outpos, k->out.len - k->outpos, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EAGAIN || errno == EINTR)
                return;
            conn_close(c, k);
            return;
        }
        k->outpos += (size_t)w;
    }
    /* All sent: close our side, then read until the client closes its own. */
    shutdown(k->fd, SHUT_WR);
    strbuf_free(&k->out);
    k->state = C_DRAIN;
    uint64_t soon = util_now_ns() + (uint64_t)DRAIN_MS * 1000000u;
    if (soon < k->deadline)
        k->deadline = soon;
    set_events(c, k, EPOLLIN);
}

static void accept_all(struct dns_control *c, int which)
{
    int lfd = which == EV_METRICS ? c->metrics_fd : c->unix_fd;
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                /* level-triggered: leave the listener out for a while, or spin */
                log_warn("event=control-accept-failed error=\"%s\"", strerror(errno));
                epoll_ctl(c->ep, EPOLL_CTL_DEL, lfd, NULL);
                c->paused_until[which] = util_now_ns() + (uint64_t)ACCEPT_PAUSE_MS * 1000000u;
            }
            return;
        }
        struct conn *k = NULL;
        for (int i = 0; i < DNS_CONTROL_MAX_CONNS && !k; i++)
            if (c->conns[i].state == C_FREE)
                k = &c->conns[i];
        if (!k) {
            close(fd);
            if (c->refused++ % 1000 == 0)
                log_warn("event=control-refused reason=connection-limit max=%d refused=%lu",
                         DNS_CONTROL_MAX_CONNS, c->refused);
            continue;
        }
        *k = (struct conn){.fd = fd, .state = C_READ, .http = which == EV_METRICS};
        k->deadline = util_now_ns() + (uint64_t)DNS_CONTROL_TIMEOUT_MS * 1000000u;
        struct epoll_event ev = {.events = EPOLLIN, .data.u64 = (uint64_t)(EV_CONN + (k - c->conns))};
        if (epoll_ctl(c->ep, EPOLL_CTL_ADD, fd, &ev) < 0)
            conn_close(c, k);
    }
}

/* The main thread finished a reload pass: answer the connections it covers. */
static void deliver_reloads(struct dns_control *c)
{
    pthread_mutex_lock(&c->lock);
    uint64_t done = c->reload_done;
    for (int i = 0; i < DNS_CONTROL_MAX_CONNS; i++) {
        struct conn *k = &c->conns[i];
        if (k->state != C_WAIT_RELOAD || k->ticket > done)
            continue;
        strbuf_puts(&k->out, c->reload_reply ? c->reload_reply : "{\"error\":\"out of memory\"}\n");
        start_write(c, k);
    }
    pthread_mutex_unlock(&c->lock);
}

static void expire(struct dns_control *c, uint64_t now)
{
    for (int i = 0; i < DNS_CONTROL_MAX_CONNS; i++) {
        struct conn *k = &c->conns[i];
        if (k->state == C_FREE || now < k->deadline)
            continue;
        if (k->state == C_WAIT_RELOAD) {
            /* the reload goes on in the main thread; only this answer is given up */
            k->deadline = now + (uint64_t)DNS_CONTROL_TIMEOUT_MS * 1000000u;
            control_error(c, k, "the reload did not finish within 60 s; it goes on: see the log", NULL, 0);
        } else {
            conn_close(c, k);
        }
    }
    for (int w = 0; w < 2; w++) {
        if (c->paused_until[w] && now >= c->paused_until[w]) {
            c->paused_until[w] = 0;
            struct epoll_event ev = {.events = EPOLLIN, .data.u64 = (uint64_t)w};
            epoll_ctl(c->ep, EPOLL_CTL_ADD, w == EV_METRICS ? c->metrics_fd : c->unix_fd, &ev);
        }
    }
}

static int next_timeout_ms(const struct dns_control *c, uint64_t now)
{
    uint64_t first = UINT64_MAX;
    for (int i = 0; i < DNS_CONTROL_MAX_CONNS; i++)
        if (c->conns[i].state != C_FREE && c->conns[i].deadline < first)
            first = c->conns[i].deadline;
    for (int w = 0; w < 2; w++)
        if (c->paused_until[w] && c->paused_until[w] < first)
            first = c->paused_until[w];
    if (first == UINT64_MAX)
        return -1;
    return first <= now ? 0 : (int)((first - now) / 1000000u) + 1;
}

static void *control_main(void *arg)
{
    struct dns_control *c = arg;
    while (!atomic_load(&c->stop)) {
        struct epoll_event evs[16];
        int n = epoll_wait(c->ep, evs, 16, next_timeout_ms(c, util_now_ns()));
        for (int i = 0; i < n; i++) {
            uint64_t id = evs[i].data.u64;
            if (id == EV_METRICS || id == EV_UNIX) {
                accept_all(c, (int)id);
            } else if (id == EV_WAKE) {
                uint64_t v;
                ssize_t r = read(c->wake_fd, &v, sizeof v);
                (void)r;
                deliver_reloads(c);
            } else {
                struct conn *k = &c->conns[id - EV_CONN];
                /* hang-ups are reported even while no event is asked for */
                if (k->state == C_WAIT_RELOAD && (evs[i].events & (EPOLLHUP | EPOLLERR)))
                    conn_close(c, k);
                else if (k->state == C_WRITE)
                    on_writable(c, k);
                else if (k->state == C_READ || k->state == C_DRAIN)
                    on_readable(c, k);
            }
        }
        expire(c, util_now_ns());
    }
    return NULL;
}

int dns_control_start(struct dns_control *c, const struct dns_server *srv)
{
    if (!c)
        return 0;
    c->srv = srv;
    int e = pthread_create(&c->tid, NULL, control_main, c);
    if (e) {
        log_error("event=thread-failed thread=control error=\"%s\"", strerror(e));
        return -1;
    }
    c->running = true;
    return 0;
}

/* ---- the main thread's side ---- */

static void install_report(struct dns_control *c, struct dns_report *r, uint64_t gen)
{
    pthread_mutex_lock(&c->lock);
    struct dns_report *old = c->report;
    c->report = r;
    c->report_gen = gen;
    c->have_report = true;
    pthread_mutex_unlock(&c->lock);
    dns_report_free(old);
}

void dns_control_update(struct dns_control *c, const struct dns_config *cfg)
{
    if (!c || !cfg)
        return;
    uint64_t gen = cfg->loads + cfg->load_failures;
    if (c->have_report && gen == c->report_gen) /* only the main thread writes these */
        return;
    struct dns_report *r = dns_report_build(cfg);
    if (r)
        install_report(c, r, gen);
    else
        log_warn("event=control-snapshot-failed error=\"out of memory\"");
}

int dns_control_reload_fd(const struct dns_control *c) { return c ? c->reload_fd : -1; }

bool dns_control_reload_wanted(struct dns_control *c)
{
    if (!c)
        return false;
    uint64_t v;
    ssize_t r = read(c->reload_fd, &v, sizeof v); /* resets the event fd */
    (void)r;
    /* Requests made from now on are answered by the pass after this one. */
    pthread_mutex_lock(&c->lock);
    bool want = c->reload_asked > c->reload_done;
    c->reload_serving = c->reload_asked;
    pthread_mutex_unlock(&c->lock);
    return want;
}

void dns_control_reload_done(struct dns_control *c, const struct dns_config *cfg, int rc)
{
    if (!c)
        return;
    struct dns_report *r = dns_report_build(cfg);
    struct strbuf reply = {0};
    if (r)
        dns_report_reload_json(&reply, r, rc);
    char *text = r && !reply.err ? strdup(strbuf_str(&reply)) : NULL;
    strbuf_free(&reply);
    pthread_mutex_lock(&c->lock);
    free(c->reload_reply);
    c->reload_reply = text;
    c->reload_done = c->reload_serving;
    pthread_mutex_unlock(&c->lock);
    if (r)
        install_report(c, r, cfg->loads + cfg->load_failures);
    log_info("event=control-reload-done ok=%s", rc == 0 ? "yes" : "no");
    uint64_t one = 1;
    ssize_t w = write(c->wake_fd, &one, sizeof one);
    (void)w;
}
