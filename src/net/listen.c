/*
 * listen: see listen.h.
 */
#include "config.h"

#include "net/listen.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "net/tcp_acks.h"

int listen_open(const struct sockaddr *addr, socklen_t len, char *err, size_t errlen)
{
    int one = 1;
    int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return -1;
    }
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) == -1) {
        snprintf(err, errlen, "setsockopt: %s", strerror(errno));
        goto fail;
    }
    /* accepted sockets inherit TCP_NODELAY: one setsockopt less per connection */
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == -1) {
        snprintf(err, errlen, "setsockopt TCP_NODELAY: %s", strerror(errno));
        goto fail;
    }
    if (addr->sa_family == AF_INET6 &&
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) == -1) {
        snprintf(err, errlen, "setsockopt IPV6_V6ONLY: %s", strerror(errno));
        goto fail;
    }
    if (bind(fd, addr, len) == -1) {
        snprintf(err, errlen, "bind: %s", strerror(errno));
        goto fail;
    }
    if (listen(fd, LISTEN_BACKLOG) == -1) {
        snprintf(err, errlen, "listen: %s", strerror(errno));
        goto fail;
    }
    return fd;
fail:
    close(fd);
    return -1;
}

void listen_set_mode(int fd, bool http)
{
    int defer = http ? LISTEN_DEFER_S : 0;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer, sizeof(defer));
    tcp_delay_acks(fd, http);
}
