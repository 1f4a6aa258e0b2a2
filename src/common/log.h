/*
 * log: one line per event, key=value, to stderr (default), a file or syslog.
 *
 * Every daemon logs through here so that the format is the same everywhere:
 *     2026-11-23T12:00:00Z rampart-dnsbl level=info event=reload zone=bl.example ...
 * The caller writes the key=value part; log_msg adds the time, program and level.
 * Thread-safe (one write(2) per line). Not for the answer path of a hot loop.
 */
#ifndef RAMPART_COMMON_LOG_H
#define RAMPART_COMMON_LOG_H

#include <stdarg.h>

enum log_level { LOG_LVL_ERROR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/// Set the program name printed on every line, and the most verbose level shown.
void log_init(const char *program, enum log_level max_level);

/// Send lines to syslog (facility daemon) instead of stderr.
void log_use_syslog(void);

/// Log one line: fmt is printf-style, should be key=value pairs.
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_vmsg(enum log_level level, const char *fmt, va_list ap);

#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

#endif
