/*
 * tls_conn: one TLS connection over a non-blocking socket, server or client side.
 *
 * A thin adaptor over an SSL that turns OpenSSL's results into what an event loop
 * needs: "done", "wait until the fd is readable", "wait until it is writable",
 * "closed" or "error" with a reason fit for a log line. It never waits, never
 * touches libev, never closes or shuts down the fd (the caller owns it), and never
 * prints. The session code drives it from its own watchers.
 *
 * Contract (applies to every call returning TLS_CONN_WANT_*):
 *   TLS_CONN_WANT_READ:  wait until the fd is readable (EV_READ), then make the
 *                        SAME call again (handshake, read, write or shutdown).
 *   TLS_CONN_WANT_WRITE: wait until the fd is writable (EV_WRITE), then make the
 *                        same call again.
 * Either can come from any call: a read may need to write (a TLS 1.3 key update
 * answer) and a write may need to read. A write repeated after WANT_* must pass the
 * same bytes again (at least as many; the buffer may have moved).
 * Data can stay buffered inside OpenSSL after a successful read while the fd has
 * nothing more: keep reading until TLS_CONN_WANT_READ (or check tls_conn_pending())
 * before waiting for EV_READ.
 * SIGPIPE must be ignored by the process (the runtime does): OpenSSL writes with
 * write(2).
 *
 * A struct tls_conn is meant to be embedded in the session; its fields are private.
 * Threads: one connection is used by one thread at a time.
 *
 * A session's life, server side (client side: tls_conn_start_client on the
 * connected or connecting fd, the rest the same):
 *   tls_conn_start_server(&s->tls, tls_set_frontend(set, fe_index), fd, err, len);
 *   arm a timer of timeout_tls_handshake_ms; on each readiness event:
 *     st = tls_conn_handshake(&s->tls)   DONE: stop the timer, start relaying;
 *                                        WANT_*: wait as above; ERROR: log
 *                                        tls_conn_reason(), tls_conn_free, close.
 *   relay with tls_conn_read/tls_conn_write instead of read(2)/write(2);
 *   at the end: tls_conn_shutdown (once; a WANT_* may be retried or ignored when
 *   closing anyway), tls_conn_free, then close(fd).
 */
#ifndef RAFTLB_TLS_CONN_H
#define RAFTLB_TLS_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <openssl/ssl.h>

#include "tls/tls_ctx.h"

enum tls_conn_status {
    TLS_CONN_DONE = 0,       /* handshake complete / close_notify sent */
    TLS_CONN_ERROR = -1,     /* fatal: see tls_conn_reason(); only tls_conn_free() next */
    TLS_CONN_WANT_READ = -2, /* wait for EV_READ, then repeat the call */
    TLS_CONN_WANT_WRITE = -3, /* wait for EV_WRITE, then repeat the call */
    TLS_CONN_CLOSED = -4,     /* read: the peer closed (see tls_conn_clean_close()) */
};

struct tls_conn {
    SSL *ssl;
    bool fatal;        /* a fatal error happened: no shutdown, nothing more */
    bool peer_closed;  /* the peer's close_notify (or a bare EOF) was read */
    bool clean_close;  /* ... and it was a close_notify */
    bool read_starved; /* the last read wanted bytes the fd had not given yet */
    char alpn[32];
    char reason[200];
};

/*
 * Prepares `c` (any content) to accept a TLS connection on `fd` with the
 * context of `srv`; no I/O is done. The SSL holds its own reference on the
 * context, so `srv` may be freed (reload) while the connection lives.
 * Returns 0, or -1 with a reason in err (and `c` needs no tls_conn_free()).
 */
int tls_conn_start_server(struct tls_conn *c, const struct tls_server *srv, int fd,
                          char *err, size_t errlen);

/*
 * Prepares `c` to connect over `fd` (already connected, or connecting: the
 * handshake's first WANT_WRITE then doubles as the connect wait) to the server of
 * `cli`: SNI, name verification and session resumption are set by the tls_client.
 * Returns 0, or -1 with a reason in err.
 */
int tls_conn_start_client(struct tls_conn *c, const struct tls_client *cli, int fd,
                          char *err, size_t errlen);

/* One step of the handshake: TLS_CONN_DONE, _WANT_READ, _WANT_WRITE or _ERROR.
 * The caller bounds the whole handshake with its timer (timeout_tls_handshake_ms). */
int tls_conn_handshake(struct tls_conn *c);

/*
 * Reads up to len (> 0) bytes of application data. Returns the count (> 0), or
 * TLS_CONN_WANT_READ / _WANT_WRITE, TLS_CONN_CLOSED when the peer has closed (a
 * close_notify, or a bare EOF: tls_conn_clean_close() tells which), or
 * TLS_CONN_ERROR. The handshake must be DONE first.
 */
ssize_t tls_conn_read(struct tls_conn *c, void *buf, size_t len);

/*
 * Writes up to len (> 0) bytes; may write fewer (one TLS record or more): returns
 * the count written (> 0), or TLS_CONN_WANT_READ / _WANT_WRITE (nothing reported
 * as written: repeat with the same bytes), or TLS_CONN_ERROR.
 */
ssize_t tls_conn_write(struct tls_conn *c, const void *buf, size_t len);

/*
 * True when a read may return data without the fd being readable: decrypted
 * bytes, or (contexts read ahead, one read(2) per batch of records) records
 * OpenSSL took from the fd and has not decrypted yet, unless the last read
 * found only part of a record there.
 */
bool tls_conn_pending(const struct tls_conn *c);

/*
 * Sends our close_notify (does not wait for the peer's). TLS_CONN_DONE when sent
 * (or when there is nothing to do: after an error, or before any handshake),
 * _WANT_WRITE / _WANT_READ to be repeated, or _ERROR. The caller then shuts the
 * fd down or closes it.
 */
int tls_conn_shutdown(struct tls_conn *c);

/* Releases the SSL (not the fd). `c` may be started again afterwards. The session
 * stays resumable (client side: offered again by the tls_client) unless the
 * connection failed with TLS_CONN_ERROR. */
void tls_conn_free(struct tls_conn *c);

/* Why the last call returned TLS_CONN_ERROR (or a bare close); "" if nothing. */
const char *tls_conn_reason(const struct tls_conn *c);

/* After the handshake: "TLSv1.3", "TLSv1.2". */
const char *tls_conn_version(const struct tls_conn *c);
/* The cipher suite name, e.g. "TLS_AES_256_GCM_SHA384". */
const char *tls_conn_cipher(const struct tls_conn *c);
/* The negotiated ALPN protocol ("http/1.1"), "" when none. */
const char *tls_conn_alpn(struct tls_conn *c);
/* The SNI name (server side: what the client sent; client side: what we sent);
 * NULL when none. */
const char *tls_conn_sni(const struct tls_conn *c);
/* Whether the handshake resumed a session (ticket). */
bool tls_conn_resumed(const struct tls_conn *c);
/* Whether TLS_CONN_CLOSED came with a close_notify (false: a bare EOF, which a
 * framed protocol such as HTTP/1.1 with a length may tolerate). */
bool tls_conn_clean_close(const struct tls_conn *c);

/* The underlying SSL, for what this adaptor does not cover (borrowed). */
SSL *tls_conn_ssl(const struct tls_conn *c);

#endif
