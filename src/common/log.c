#include "log.h"

#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static const char *log_program = "rampart";
static enum log_level log_max = LOG_LVL_INFO;
static int log_syslog;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void log_init(const char *program, enum log_level max_level)
{
    log_program = program;
    log_max = max_level;
}

void log_use_syslog(void)
{
    openlog(log_program, LOG_PID | LOG_NDELAY, LOG_DAEMON);
    log_syslog = 1;
}

void log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
    if (level > log_max)
        return;
    char line[2048];
    size_t n = 0;
    if (!log_syslog) {
        struct timespec ts;
        struct tm tm;
        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        n = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%SZ ", &tm);
        int w = snprintf(line + n, sizeof line - n, "%s ", log_program);
        if (w > 0)
            n += (size_t)w;
    }
    int w = snprintf(line + n, sizeof line - n, "level=%s ", level_names[level]);
    if (w > 0)
        n += (size_t)w;
    if (n < sizeof line) {
        w = vsnprintf(line + n, sizeof line - n, fmt, ap);
        if (w > 0)
            n += (size_t)w;
    }
    if (n >= sizeof line - 1)
        n = sizeof line - 2; /* truncated: still one line */
    if (log_syslog) {
        static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
        line[n] = '\0';
        syslog(prio[level], "%s", line);
        return;
    }
    line[n++] = '\n';
    ssize_t r = write(STDERR_FILENO, line, n);
    (void)r;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vmsg(level, fmt, ap);
    va_end(ap);
}
