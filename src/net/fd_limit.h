/*
 * fd_limit: the open-files limit raftlb needs, and raising RLIMIT_NOFILE to it.
 *
 * Each client connection may hold a server connection, and beyond those the
 * process keeps listeners, logs, health checks and idle pooled server connections:
 * so max_connections needs about 2 * max_connections + FD_LIMIT_RESERVE files.
 * A soft limit below that (1024 in most shells and services) made connections
 * fail with "Too many open files" long before max_connections. Like HAProxy,
 * raftlb raises the soft limit (and the hard one when it may) at start and on a
 * reload that asks for more, and says so when it cannot reach what it needs.
 * Must not: lower a limit.
 */
#ifndef RAFTLB_FD_LIMIT_H
#define RAFTLB_FD_LIMIT_H

#include <stddef.h>
#include <stdint.h>

#define FD_LIMIT_RESERVE 1024u

/* The open files max_connections needs. */
uint64_t fd_limit_needed(uint32_t max_connections);

/*
 * Raises the soft RLIMIT_NOFILE to fd_limit_needed(max_connections), first
 * raising the hard limit when it is lower (allowed with CAP_SYS_RESOURCE, up to
 * fs.nr_open). Returns 0 when the soft limit is enough now; 1 when it is not,
 * with a message for a warning in `msg` (the limit is raised as far as allowed,
 * and the message says how many connections that leaves room for).
 */
int fd_limit_raise(uint32_t max_connections, char *msg, size_t len);

#endif
