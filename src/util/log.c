/*
 * log: see log.h. Each destination owns one descriptor number for its whole life
 * (a dup of stderr, or a file); switching or re-opening replaces what is behind
 * that number with dup2(), which is atomic for concurrent writers.
 */
#include "config.h"

#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

enum dest_kind {
    DEST_STDERR = 0,
    DEST_SYSLOG,
    DEST_FILE,
    DEST_OFF,
    DEST_COUNT
};

struct dest {
    _Atomic int kind;
    int fd;       /* owned descriptor number, -1 until first needed */
    char *path;   /* for DEST_FILE, owned */
};

static struct dest errlog = {DEST_STDERR, -1, NULL};
static struct dest acclog = {DEST_STDERR, -1, NULL};
static _Atomic int cur_level = LOG_LVL_INFO;
static bool syslog_open;

static const char *level_names[LOG_LVL_COUNT] = {"error", "warn", "info", "debug"};

static void set_err(char *err, size_t errlen, const char *fmt, const char *a, int e)
{
    if (errlen > 0)
        snprintf(err, errlen, fmt, a, strerror(e));
}

/* Points the destination's own descriptor at `newfd` (then closed). */
static int dest_install(struct dest *d, int newfd)
{
    if (d->fd < 0) {
        d->fd = newfd;
        return 0;
    }
    if (dup2(newfd, d->fd) == -1) {
        int e = errno;
        close(newfd);
        errno = e;
        return -1;
    }
    close(newfd);
    return 0;
}

static int open_target(const char *spec, int kind)
{
    if (kind == DEST_FILE)
        return open(spec, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    return fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
}

static int parse_kind(const char *spec, bool allow_off)
{
    if (spec == NULL || strcmp(spec, "stderr") == 0)
        return DEST_STDERR;
    if (strcmp(spec, "syslog") == 0)
        return DEST_SYSLOG;
    if (allow_off && strcmp(spec, "off") == 0)
        return DEST_OFF;
    return DEST_FILE;
}

static int dest_configure(struct dest *d, const char *spec, bool allow_off, char *err,
                          size_t errlen)
{
    int kind = parse_kind(spec, allow_off);
    int fd;
    char *path = NULL;

    if (kind == DEST_SYSLOG || kind == DEST_OFF) {
        atomic_store(&d->kind, kind);
        free(d->path);
        d->path = NULL;
        return 0;
    }
    if (kind == DEST_FILE) {
        path = strdup(spec);
        if (path == NULL) {
            set_err(err, errlen, "%s: %s", spec, ENOMEM);
            return -1;
        }
    }
    fd = open_target(spec, kind);
    if (fd == -1) {
        set_err(err, errlen, "cannot open log %s: %s", spec ? spec : "stderr", errno);
        free(path);
        return -1;
    }
    if (dest_install(d, fd) == -1) {
        set_err(err, errlen, "cannot install log %s: %s", spec ? spec : "stderr", errno);
        free(path);
        return -1;
    }
    free(d->path);
    d->path = path;
    atomic_store(&d->kind, kind);
    return 0;
}

int log_configure(const char *error_log, const char *access_log, enum log_level level,
                  char *err, size_t errlen)
{
    if (parse_kind(error_log, false) == DEST_SYSLOG ||
        parse_kind(access_log, true) == DEST_SYSLOG) {
        if (!syslog_open) {
            openlog("raftlb", LOG_PID | LOG_NDELAY, LOG_DAEMON);
            syslog_open = true;
        }
    }
    if (dest_configure(&errlog, error_log, false, err, errlen) != 0)
        return -1;
    if (dest_configure(&acclog, access_log, true, err, errlen) != 0)
        return -1;
    if ((int)level >= 0 && level < LOG_LVL_COUNT)
        atomic_store(&cur_level, (int)level);
    return 0;
}

static int dest_reopen(struct dest *d, char *err, size_t errlen)
{
    int fd;
    if (atomic_load(&d->kind) != DEST_FILE || d->path == NULL)
        return 0;
    fd = open_target(d->path, DEST_FILE);
    if (fd == -1) {
        set_err(err, errlen, "cannot reopen log %s: %s", d->path, errno);
        return -1;
    }
    if (dest_install(d, fd) == -1) {
        set_err(err, errlen, "cannot reopen log %s: %s", d->path, errno);
        return -1;
    }
    return 0;
}

int log_reopen(char *err, size_t errlen)
{
    int rc = dest_reopen(&errlog, err, errlen);
    if (dest_reopen(&acclog, err, errlen) != 0)
        rc = -1;
    return rc;
}

static void dest_close(struct dest *d)
{
    atomic_store(&d->kind, DEST_STDERR);
    if (d->fd >= 0)
        close(d->fd);
    d->fd = -1;
    free(d->path);
    d->path = NULL;
}

void log_shutdown(void)
{
    dest_close(&errlog);
    dest_close(&acclog);
    if (syslog_open) {
        closelog();
        syslog_open = false;
    }
}

bool log_enabled(enum log_level level)
{
    return (int)level <= atomic_load_explicit(&cur_level, memory_order_relaxed);
}

bool log_access_enabled(void)
{
    return atomic_load_explicit(&acclog.kind, memory_order_relaxed) != DEST_OFF;
}

static size_t stamp(char *buf, size_t len)
{
    struct timespec ts;
    struct tm tm;
    size_t n;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
    n += (size_t)snprintf(buf + n, len - n, ".%03ldZ ", ts.tv_nsec / 1000000);
    return n;
}

static void emit(struct dest *d, int prio, const char *prefix, const char *fmt,
                 va_list ap)
{
    char line[LOG_LINE_MAX];
    size_t n = 0;
    int m;
    int kind = atomic_load_explicit(&d->kind, memory_order_acquire);

    if (kind == DEST_OFF)
        return;
    if (kind != DEST_SYSLOG)
        n = stamp(line, sizeof(line));
    m = snprintf(line + n, sizeof(line) - n, "%s", prefix);
    if (m > 0)
        n += (size_t)m;
    m = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
    if (m < 0)
        m = 0;
    n += (size_t)m;
    if (n > sizeof(line) - 2)
        n = sizeof(line) - 2;
    if (kind == DEST_SYSLOG) {
        line[n] = '\0';
        syslog(prio, "%s", line);
        return;
    }
    line[n++] = '\n';
    {
        int fd = d->fd >= 0 ? d->fd : STDERR_FILENO;
        ssize_t w = write(fd, line, n);
        (void)w; /* nowhere left to report a failing log */
    }
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    static const int prios[LOG_LVL_COUNT] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
    char prefix[32];
    va_list ap;
    if ((int)level < 0 || level >= LOG_LVL_COUNT || !log_enabled(level))
        return;
    snprintf(prefix, sizeof(prefix), "%s: ", level_names[level]);
    va_start(ap, fmt);
    emit(&errlog, prios[level], prefix, fmt, ap);
    va_end(ap);
}

void log_access(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    emit(&acclog, LOG_INFO, "access: ", fmt, ap);
    va_end(ap);
}
