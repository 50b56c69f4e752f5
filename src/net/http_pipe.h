/*
 * http_pipe: one direction of an HTTP exchange in the proxy: the bytes read from
 * a source (client or server), the message framing that says which of them
 * belong to the current body, and a head buffer sent before them.
 *
 * in[pos, pos + ready) are body bytes already validated (Content-Length counted,
 * chunked decoded without being changed) and waiting to be sent; in[pos + ready,
 * len) are not examined yet, and once `done` they belong to the next message
 * (pipelining). head[head_pos, head_len) is sent before any body byte.
 * The caller owns both buffers; the pipe never allocates.
 *
 * Must not: buffer more than `cap` bytes, or let a body byte out before it has
 * been framed.
 */
#ifndef RAFTLB_NET_HTTP_PIPE_H
#define RAFTLB_NET_HTTP_PIPE_H

#include <stdbool.h>
#include <stdint.h>

#include "http/http_chunked.h"
#include "http/http_parser.h"

struct http_pipe {
    char *in;
    uint32_t cap, pos, len, ready;
    char *head;
    uint32_t head_cap, head_pos, head_len;
    enum http_body body;
    struct http_length_body lb;
    struct http_chunked ch;
    bool done; /* every byte of the message body has been framed */
    /* the sender shuts the socket down right after the message's last byte:
     * http_pipe_send holds that byte back (MSG_MORE) so that the FIN leaves
     * in the same segment */
    bool fin_follows;
};

/* Bytes are queued (head or ready body bytes). */
bool http_pipe_pending(const struct http_pipe *p);

/* Makes room at the end of `in` (moving unsent bytes down when full); returns
 * the free bytes. The ready span moves with them. */
uint32_t http_pipe_room(struct http_pipe *p);

/* Moves the unconsumed bytes to the start of `in` so that a new head starts at
 * offset 0 (what http_parse_* expects); drops `ready`. */
void http_pipe_compact(struct http_pipe *p);

/* Starts framing the body of the parsed head `m` (its bytes begin at pos);
 * max_body_bytes bounds chunked bodies (0 = unlimited). */
void http_pipe_body_start(struct http_pipe *p, const struct http_msg *m,
                          uint64_t max_body_bytes, bool is_response);

/* Appends the ready body bytes to the queued head when there is one, they
 * are at most `max` and the head buffer has room, so that both leave in one
 * write (one TLS record, one system call). The order of bytes is unchanged. */
void http_pipe_coalesce(struct http_pipe *p, uint32_t max);

/*
 * Validates and counts the input bytes that belong to the body, adding them
 * to `ready`. Returns 0, or the HTTP status of a framing error (chunked: 400,
 * 413, or 502 for responses). Until-close bodies end when the caller sees the
 * source's EOF and sets `done`.
 */
int http_pipe_frame(struct http_pipe *p);

/*
 * Sends the head, then the ready body bytes, to the non-blocking socket `fd`
 * (MSG_NOSIGNAL; MSG_MORE too once `done` when `fin_follows`: the caller then
 * must close or shut down the socket as soon as 1 is returned), adding the
 * bytes sent to *bytes when not NULL. Returns 1 when
 * everything queued was sent, 0 when the socket is full, -1 on an error with
 * errno set.
 */
int http_pipe_send(int fd, struct http_pipe *p, uint64_t *bytes);

struct tls_conn;

/*
 * The same over TLS: the head, then the ready body bytes, written with
 * tls_conn_write (one record or more each; no copy). Returns 1 when everything
 * queued was written, 0 when TLS must wait, with *want set to TLS_CONN_WANT_READ
 * or TLS_CONN_WANT_WRITE (repeat once the fd is ready for it: the same bytes are
 * still queued first), -1 on an error (errno EPROTO; tls_conn_reason says why).
 */
int http_pipe_send_tls(struct tls_conn *c, struct http_pipe *p, uint64_t *bytes,
                       int *want);

#endif
