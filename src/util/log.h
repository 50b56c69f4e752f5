/*
 * log: the error log and the access log of raftlb, shared by every thread.
 *
 * Each destination is "stderr", "syslog", a file path, or (access log only) "off".
 * A line is formatted on the caller's stack and handed to the kernel in ONE write(),
 * so lines of different threads never interleave and no lock is taken. Files are
 * opened O_APPEND; log_reopen() (SIGUSR1) re-opens them under the same descriptor
 * number with dup2(), so a thread writing at that moment never sees a closed
 * descriptor.
 *
 * Must not: allocate on the logging path, block on a lock, or exit.
 */
#ifndef RAFTLB_UTIL_LOG_H
#define RAFTLB_UTIL_LOG_H

#include <stdbool.h>
#include <stddef.h>

/* Same order as enum conf_log_level. */
enum log_level {
    LOG_LVL_ERROR = 0,
    LOG_LVL_WARN,
    LOG_LVL_INFO,
    LOG_LVL_DEBUG,
    LOG_LVL_COUNT
};

#define LOG_LINE_MAX 2048 /* longer lines are truncated */

/*
 * (Re)configures both logs. `error_log` is "stderr", "syslog" or a path (NULL:
 * stderr); `access_log` the same or "off". Call from one thread at a time (start-up,
 * reload). Returns 0, or -1 with a reason in err; on failure the previous
 * configuration stays in force.
 */
int log_configure(const char *error_log, const char *access_log, enum log_level level,
                  char *err, size_t errlen);

/* Re-opens the files of both logs (after rotation). Returns 0 or -1 (reason in err). */
int log_reopen(char *err, size_t errlen);

/* Closes files; later messages go to stderr. */
void log_shutdown(void);

bool log_enabled(enum log_level level);
bool log_access_enabled(void);

void log_msg(enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void log_access(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...)                                                                    \
    do {                                                                                 \
        if (log_enabled(LOG_LVL_INFO))                                                   \
            log_msg(LOG_LVL_INFO, __VA_ARGS__);                                          \
    } while (0)
#define log_debug(...)                                                                   \
    do {                                                                                 \
        if (log_enabled(LOG_LVL_DEBUG))                                                  \
            log_msg(LOG_LVL_DEBUG, __VA_ARGS__);                                         \
    } while (0)

#endif
