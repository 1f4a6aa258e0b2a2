/*
 * control: rampart-dnsbl's operator interfaces, served by one small thread.
 *
 *  - --metrics ADDR:PORT: HTTP/1.0 and 1.1, GET /metrics only, Prometheus
 *    text format 0.0.4 (report.h); 404 for other paths, 405 for other methods,
 *    400 for anything malformed, 431 for a request head over 4 KB. No
 *    authentication: bind it to loopback or a management network.
 *  - --control PATH: a Unix stream socket (mode 0660, owned by the user that
 *    started the server). One request line per connection - `stats`, `zones`,
 *    `reload`, `version` - answered with one JSON object, then closed. Unknown
 *    or malformed requests get {"error": "..."}.
 *
 * Trust boundary: both sockets take untrusted bytes (the metrics port from the
 * network, the control socket from any local user the file mode lets in).
 * Limits: at most 64 connections (more are closed at once), a 4 KB request,
 * 5 s per connection (60 s for a `reload` waiting for its result). The thread
 * uses epoll and never blocks on a client; it never touches the workers: it
 * reads their counters (dns_server_stats) and a snapshot of the zones that the
 * main thread hands over (report.h). A `reload` is run by the main thread,
 * which owns the config: the control thread asks for it through an event fd
 * and answers once dns_control_reload_done() reports the outcome.
 *
 * Main-thread calls are no-ops on a NULL struct dns_control, so a server
 * started without --metrics and --control needs no special cases.
 */
#ifndef RAMPART_DNS_CONTROL_H
#define RAMPART_DNS_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "server.h"
#include "zone.h"

enum {
    DNS_CONTROL_MAX_CONNS = 64,
    DNS_CONTROL_MAX_REQUEST = 4096,
    DNS_CONTROL_TIMEOUT_MS = 5000,
    DNS_CONTROL_RELOAD_TIMEOUT_MS = 60000,
};

struct dns_control;

/// Open the listening sockets (either may be NULL): metrics "127.0.0.1:9153"
/// or "[::1]:9153", the control socket at a path (a stale socket file there is
/// replaced; a live one, or a file that is not a socket, is an error). Call as
/// root before chroot and dropping privileges. Returns NULL (logged) on error.
struct dns_control *dns_control_open(const char *metrics_addr, const char *socket_path);

/// Start the thread; it reads counters from srv until dns_control_close().
int dns_control_start(struct dns_control *c, const struct dns_server *srv);

/// Main thread: refresh the snapshot of zones and datasets if cfg changed
/// since the last call (a cheap comparison otherwise). Call after every reload.
void dns_control_update(struct dns_control *c, const struct dns_config *cfg);

/// Main thread: an fd to poll for POLLIN; readable when a client asked for a
/// reload. -1 when c is NULL.
int dns_control_reload_fd(const struct dns_control *c);

/// Main thread: consume the wake-up on dns_control_reload_fd(); true if a
/// reload is wanted (then run it and call dns_control_reload_done()).
bool dns_control_reload_wanted(struct dns_control *c);

/// Main thread: a reload pass finished with rc (dns_config_reload's result);
/// cfg is the config now served. Answers the clients waiting for it.
void dns_control_reload_done(struct dns_control *c, const struct dns_config *cfg, int rc);

/// Stop the thread, close everything and remove the control socket file (if
/// it is still ours and the directory lets us). Safe on NULL.
void dns_control_close(struct dns_control *c);

/* ---- request parsing, exposed for the unit tests ---- */

/// Parse "a.b.c.d:port" or "[v6]:port" (numeric addresses only). Returns 0 or -1.
int dns_control_parse_addr(const char *spec, struct sockaddr_storage *ss, socklen_t *len);

/// HTTP: route the request head in buf[0..len). Returns 0 while the head is
/// incomplete (no empty line yet), else the status to answer: 200 (GET
/// /metrics), 400, 404, 405 or 505. *minor gets the HTTP/1.x minor version.
int dns_control_http_route(const char *buf, size_t len, int *minor);

enum dns_control_cmd {
    DNS_CMD_INCOMPLETE = 0, DNS_CMD_STATS, DNS_CMD_ZONES, DNS_CMD_RELOAD, DNS_CMD_VERSION,
    DNS_CMD_UNKNOWN, DNS_CMD_MALFORMED,
};

/// Control socket: the command in buf[0..len). A request is one line ending in
/// "\n" (or "\r\n"); at_eof: the client closed its side, so an unterminated
/// line counts as complete. Surrounding spaces are ignored; an empty line,
/// control bytes or more than one line are DNS_CMD_MALFORMED.
enum dns_control_cmd dns_control_parse_command(const char *buf, size_t len, bool at_eof);

#endif
