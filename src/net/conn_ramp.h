/*
 * conn_ramp: whether a request that finds no idle connection to its server
 * opens a new one or waits for one to come back idle.
 *
 * A server's kernel completes a TCP handshake long before the server accepts
 * the connection, and a busy server accepts slowly: NGINX with its default
 * multi_accept off takes one connection per listening socket per loop turn,
 * while it answers hundreds of requests on the connections it has. A proxy
 * that meets 1,000 new clients with 1,000 new server connections at once sends
 * hundreds of requests into that accept queue, where they wait for seconds
 * (measured: 320 to 540 of the first requests of a `wrk -c1000` run waited
 * 0.3 to 3.8 s, answered three at a time every 20 ms), while the connections
 * the server did accept came back idle every fraction of a millisecond.
 *
 * So, per server and worker, a new connection is opened only when it is
 * expected to be the faster way for the queue to move (or when the server
 * closes its connections after answering, as an HTTP/1.0 server does: none
 * comes back idle, every request needs a new one, and a queue here would only
 * hold requests back: against such a server with 50 ms answers, `wrk -c40`
 * had 259 requests/s and p50 153 ms before this rule, 761 to 772 and 51 ms
 * after, HAProxy 775 and 51 ms. "Closes" is a moving share of the answered
 * connections, over CONN_RAMP_CLOSE_SHARE, so that a keep-alive server that
 * closes one connection in a thousand, as NGINX does by default, keeps its
 * pacing):
 *   - fewer than CONN_RAMP_OPENING_MAX new connections are unanswered (opened,
 *     no response head yet), and
 *   - nothing is measured yet, or the requests waiting (this one included)
 *     would wait longer for idle connections (their number times the moving
 *     average of the gap between connections coming back idle) than a new
 *     connection has recently taken to be answered (a moving average that
 *     rises fast and falls slowly: opening is the risky choice, so its cost
 *     is not underestimated from a few early, quick answers).
 * Otherwise the request waits, first come first served. A server that answers
 * slowly is not one that accepts slowly, and both can look alike here, so a
 * request waits at most conn_ramp_wait_s(): CONN_RAMP_WAIT_SHARE times the
 * servers' recent response time, within [CONN_RAMP_WAIT_MIN_S,
 * CONN_RAMP_WAIT_MAX_S] (the maximum while no response time is known: at a
 * cold start the first answers are what tells); then it opens a connection
 * anyway (conn_ramp_may_force), unless the two can be told apart: the
 * CONN_RAMP_OPENING_MAX new connections wait for their answers more than
 * CONN_RAMP_FORCE_SHARE times as long as requests wait for theirs, while
 * connections keep coming back idle (one did within CONN_RAMP_WAIT_MAX_S).
 * That server accepts slowly, another connection would join its accept
 * queue, and the request waits one more period; but no longer than
 * CONN_RAMP_WAIT_TOTAL_MAX_S in all (eight long polls that hold the new
 * connections' places, beside fast requests, look like a slow accept too). (Measured at a cold
 * `wrk -c1000` on a slow day: forced opens, 117 to 476 of them, filled the
 * origin's accept queues with up to 212 connections and p99 reached 0.66 s.)
 *
 * Pure: no I/O, times are given; upstream_pool keeps one per key with the
 * queue, http_session applies the wait.
 */
#ifndef RAFTLB_NET_CONN_RAMP_H
#define RAFTLB_NET_CONN_RAMP_H

#include <stdbool.h>
#include <stdint.h>

#define CONN_RAMP_OPENING_MAX 8u     /* unanswered new connections per server, worker */
#define CONN_RAMP_WAIT_SHARE  16.0   /* wait <= this many response times */
#define CONN_RAMP_WAIT_MIN_S  0.001
#define CONN_RAMP_WAIT_MAX_S  0.100
#define CONN_RAMP_FORCE_SHARE 4.0    /* answer time / response time: slow accept */
#define CONN_RAMP_WAIT_TOTAL_MAX_S 1.0 /* refused forced opens: at most this in all */
#define CONN_RAMP_CLOSE_SHARE 0.5    /* closed / answered: a server that closes */

/* One server's connections on one worker. Zero it to start. */
struct conn_ramp {
    uint32_t opening;  /* new connections not answered yet */
    uint32_t waiting;  /* requests queued for a connection */
    double last_put;   /* when a connection last came back idle (0: never) */
    double put_gap_s;  /* moving average of the time between two of those */
    double answer_s;   /* moving average: new connection opened -> answered
                          (a slower sample counts for 1/2, a faster for 1/8) */
    double close_share; /* moving share of answered connections closed instead
                           of coming back idle (each counts for 1/8) */
};

/* A connection came back idle at time `now` (seconds). */
void conn_ramp_put(struct conn_ramp *r, double now);

/* An answered connection was closed instead of coming back idle (the server
 * or the request said close). Returns true when this makes the server one
 * that closes its connections: requests open connections without waiting
 * (those waiting should be told) until connections come back idle again. */
bool conn_ramp_closed(struct conn_ramp *r);

/* A new connection was answered `took_s` seconds after it was opened. */
void conn_ramp_answered(struct conn_ramp *r, double took_s);

/* Whether a request that found no idle connection opens one now (the other
 * answer: it waits). r->waiting counts those already queued, not this one. */
bool conn_ramp_may_open(const struct conn_ramp *r);

/* Whether a request whose wait is over opens a connection now (the other
 * answer: it waits one more period), given the servers' recent response time
 * in seconds (0: none measured yet) and the time now. */
bool conn_ramp_may_force(const struct conn_ramp *r, double response_s, double now);

/* How long a request waits at most for a connection, given the servers'
 * recent response time in seconds (0: none measured yet: the maximum). */
double conn_ramp_wait_s(double response_s);

#endif
