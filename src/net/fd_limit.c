/*
 * fd_limit: see fd_limit.h.
 */
#include "config.h"

#include "net/fd_limit.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

uint64_t fd_limit_needed(uint32_t max_connections)
{
    return 2 * (uint64_t)max_connections + FD_LIMIT_RESERVE;
}

int fd_limit_raise(uint32_t max_connections, char *msg, size_t len)
{
    uint64_t need = fd_limit_needed(max_connections);
    struct rlimit rl;
    int hard_err;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        snprintf(msg, len, "cannot read the open-files limit: %s", strerror(errno));
        return 1;
    }
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= need)
        return 0;
    if (rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need) {
        rl.rlim_cur = need;
        if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
            return 0;
        snprintf(msg, len, "cannot raise the open-files limit to %llu: %s",
                 (unsigned long long)need, strerror(errno));
        return 1;
    }
    /* the hard limit is short too: raise both if allowed, else go as far as it */
    {
        struct rlimit both = {need, need};
        if (setrlimit(RLIMIT_NOFILE, &both) == 0)
            return 0;
        hard_err = errno; /* EPERM without CAP_SYS_RESOURCE, EPERM above fs.nr_open */
    }
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
        snprintf(msg, len, "cannot raise the open-files limit: %s", strerror(errno));
        return 1;
    }
    snprintf(msg, len,
             "max_connections = %u needs about %llu open files but the hard limit is "
             "%llu (raising it: %s), room for about %llu connections: raise it "
             "(ulimit -Hn, systemd LimitNOFILE=) or lower max_connections",
             max_connections, (unsigned long long)need, (unsigned long long)rl.rlim_max,
             strerror(hard_err),
             rl.rlim_max > FD_LIMIT_RESERVE
                 ? (unsigned long long)(rl.rlim_max - FD_LIMIT_RESERVE) / 2
                 : 0ull);
    return 1;
}
