/*
 * poll_batch: how long a busy worker waits before it polls again, so that one
 * epoll_wait returns a batch of events instead of one.
 *
 * A worker that polls as soon as it has nothing to do, while its clients and
 * servers are slower than it is, goes to sleep after almost every event and is
 * woken for the next one: each wakeup costs the process that sends the bytes an
 * inter-processor interrupt, and each poll returns one or two events. On a
 * machine where those peers share CPUs, that overhead is taken from them and
 * requests/s falls. Waiting a little before the poll (libev's
 * io_collect_interval) turns the wakeups into one timer per batch.
 *
 * The wait costs latency only where nothing else makes requests wait, so it is
 * bounded by what they wait already:
 *   - none while fewer than 2 requests are in flight on the worker (nothing to
 *     batch: a lone request is never delayed);
 *   - at most 1/8 of the servers' recent response time (from the end of a request
 *     to its response head, a moving average over the last few requests), which
 *     grows when requests queue at the servers and stays a few microseconds
 *     when the servers answer at once;
 *   - at most global.poll_batch_us (0: never wait).
 * libev counts the wait from the previous poll, so a worker busy for longer than
 * it does not wait at all.
 *
 * Pure: no I/O; worker.c feeds it and applies the result.
 */
#ifndef RAFTLB_NET_POLL_BATCH_H
#define RAFTLB_NET_POLL_BATCH_H

#include <stdint.h>

#define POLL_BATCH_MIN_INFLIGHT 2u
#define POLL_BATCH_RESPONSE_SHARE 8.0 /* wait <= response time / this */

struct poll_batch {
    uint32_t inflight;  /* HTTP requests given to a server and not finished */
    double response_s;  /* moving average of server response times, seconds */
};

/* Adds one server response time (seconds, >= 0) to the moving average. */
void poll_batch_sample(struct poll_batch *b, double response_s);

/* The wait before the next poll, in seconds, for a limit of `cap_s`. */
double poll_batch_wait(const struct poll_batch *b, double cap_s);

#endif
