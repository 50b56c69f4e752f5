/*
 * tcp_acks: see tcp_acks.h.
 */
#include "config.h"

#include "net/tcp_acks.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

void tcp_delay_acks(int fd, bool delay)
{
#ifdef TCP_QUICKACK
    int quick = delay ? 0 : 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &quick, sizeof(quick));
#else
    (void)fd;
    (void)delay;
#endif
}
