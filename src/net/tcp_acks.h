/*
 * tcp_acks: when a TCP socket acknowledges what it receives.
 *
 * In a request/response exchange the answer can carry the ACK of what it
 * answers: one packet less each way. Linux acknowledges at once at the start
 * of a connection (quick-ACK mode); TCP_QUICKACK off delays the ACK (up to the
 * delayed-ACK timer, 40 ms and more) so that data sent meanwhile carries it.
 * raftlb delays ACKs on HTTP listeners (accepted sockets inherit the mode; set
 * it after listen(), which resets it) and on new server connections (the
 * request carries the handshake's last ACK), and turns quick ACKs back on for a
 * client that has more to send before it can get an answer (the rest of a head,
 * a body), and for a server whose response came in part (once per response),
 * so that a peer using Nagle's algorithm does not wait for the timer with its
 * second write (measured: 44 ms per response from Python's http.server, which
 * writes a head and its body apart).
 *
 * Must not: report errors (best effort: a kernel without the option
 * acknowledges at once, which is only one packet more).
 */
#ifndef RAFTLB_NET_TCP_ACKS_H
#define RAFTLB_NET_TCP_ACKS_H

#include <stdbool.h>

/* Delayed ACKs on `fd` when `delay`, else quick ACKs (sending a pending one). */
void tcp_delay_acks(int fd, bool delay);

#endif
