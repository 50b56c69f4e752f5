/*
 * tls_ctx: the OpenSSL contexts of raftlb, built from the configuration.
 *
 * A struct tls_server is the TLS side of one frontend: one SSL_CTX holding every
 * tls_cert/tls_key pair of the frontend, the protocol floor (tls_min_version), the
 * cipher lists, ALPN (http/1.1 for mode = http), certificate selection by SNI,
 * session tickets encrypted with our own keys, rotated by the caller, and a bounded
 * session-ID cache (tls_session_cache) for TLS 1.2 clients that take no tickets.
 * A struct tls_client is the TLS side of one `server = ... tls` line: an SSL_CTX
 * that verifies the server (on by default) and the name to send and check.
 * A struct tls_set holds both for a whole struct conf; tls_conf_check() builds and
 * drops one to validate the TLS settings (raftlb -t, reload).
 *
 * This module never touches sockets, never prints, never reads a clock, and never
 * keeps a pointer into the struct conf it was built from: a set outlives a reload.
 * Every problem is passed to the caller's report callback as "FILE:LINE: message".
 *
 * Ownership. An SSL_CTX is reference counted and everything its callbacks need
 * (certificates for SNI, ticket keys, the client's session cache) is attached to it
 * and freed with its last reference. tls_server_free()/tls_client_free()/
 * tls_set_free() drop the builder's reference only; every SSL made from them (see
 * tls_conn) holds its own, so a reload may build a new set, publish it, and free the
 * old set at once while connections made from the old set keep working until they
 * end. All functions below are thread-safe on a built object: workers share one set.
 */
#ifndef RAFTLB_TLS_CTX_H
#define RAFTLB_TLS_CTX_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/ssl.h>

#include "conf/conf.h"

/* Receives one "FILE:LINE: message" (no newline); `msg` is valid during the call. */
typedef void (*tls_report_fn)(void *arg, const char *msg);

struct tls_server;
struct tls_client;
struct tls_set;

/* The cipher list used when tls_ciphers is not set: ECDHE with AES-GCM or
 * ChaCha20-Poly1305 for TLS 1.2; TLS 1.3 keeps OpenSSL's default suites. */
extern const char tls_default_ciphers[];

/*
 * Builds the server context of frontend `fe` (which must have cert_count > 0).
 * `conf_path` prefixes every message. When `prev` is not NULL (the same frontend in
 * the configuration being replaced), its current and previous ticket keys are
 * copied, so that tickets issued before a reload are still accepted, and its
 * session-ID cache is shared when tls_session_cache has not changed; otherwise
 * fresh keys are drawn from RAND_bytes and the cache starts empty.
 * tls_ciphers: entries named TLS_* set the TLS 1.3 suites, the others the TLS 1.2
 * cipher list; a part left empty keeps its default. A list that selects nothing
 * is reported on the frontend's line (struct conf_frontend has no line per key).
 * Returns 0 and stores a new object in *out, or -1 after reporting at least one
 * problem (every problem found is reported, not only the first).
 */
int tls_server_new(const struct conf_frontend *fe, const char *conf_path,
                   const struct tls_server *prev, tls_report_fn report, void *arg,
                   struct tls_server **out);

/* Drops the builder's reference (see Ownership); NULL is allowed. */
void tls_server_free(struct tls_server *srv);

/*
 * Ticket keys: the current key encrypts new tickets; the current and the previous
 * decrypt (a ticket under the previous key is accepted and replaced by a new one).
 * tls_server_rotate_ticket_keys() makes the current key previous and draws a new
 * current one, so a ticket is honoured for between one and two rotation periods.
 * The caller drives it from its own timer (one rotation every hour is usual);
 * set the timer once per set, not per worker. Independently of the keys, OpenSSL
 * refuses a session older than the context's timeout (SSL_CTX_get_timeout: 7200 s
 * by default), so rotating more slowly than hourly gains nothing.
 * Returns 0, or -1 if RAND_bytes failed (the keys are then unchanged).
 */
int tls_server_rotate_ticket_keys(struct tls_server *srv);

/* The index (into fe->certs) of the certificate served for SNI name `host`: exact
 * names first, then one-label wildcards (*.example.com), both in configuration
 * order; 0 when none matches. For logs and tests; the handshake does the same. */
size_t tls_server_cert_for(const struct tls_server *srv, const char *host);

/* The number of sessions in the session-ID cache (0 when there is none). */
size_t tls_server_cached_sessions(const struct tls_server *srv);

/* The context to make SSL objects from (borrowed; SSL_new takes its own reference).
 * tls_conn_start_server() is the usual way to use it. */
SSL_CTX *tls_server_ctx(const struct tls_server *srv);

/*
 * Builds the client context for `s`, a server of `pool` with s->tls set.
 * Verification (s->tls_verify, on by default) uses s->tls_ca_file or, when NULL,
 * the system default store, and checks the name: s->tls_sni when set, else the
 * host part of the address (an IP address is checked against the certificate's IP
 * addresses and is never sent as SNI). The SNI sent is that same name.
 * The context remembers the last resumable session it saw, and tls_conn offers it
 * on the next connection to the same server (resumption to servers).
 * Returns 0 and stores *out, or -1 after reporting the problems.
 */
int tls_client_new(const struct conf_pool *pool, const struct conf_server *s,
                   const char *conf_path, tls_report_fn report, void *arg,
                   struct tls_client **out);

void tls_client_free(struct tls_client *cli);

SSL_CTX *tls_client_ctx(const struct tls_client *cli);

/*
 * Prepares a new client SSL made from tls_client_ctx(cli): SNI, the name or address
 * to verify, and the remembered session if any. Used by tls_conn_start_client().
 * Returns 0, or -1 with a reason in err.
 */
int tls_client_prepare(const struct tls_client *cli, SSL *ssl, char *err, size_t errlen);

/* After a client handshake on an SSL made from a tls_client's context: remembers
 * its session if resumable (TLS 1.2 renews tickets without OpenSSL's new-session
 * callback; TLS 1.3 tickets arrive later and are caught by that callback). Does
 * nothing for other SSLs. Called by tls_conn_handshake(). */
void tls_client_keep_session(SSL *ssl);

/* The name sent as SNI and verified, or the IP address verified (never NULL). */
const char *tls_client_name(const struct tls_client *cli);

/*
 * The TLS side of a whole configuration: a tls_server for every frontend with
 * tls_cert, a tls_client for every server with tls. `prev` (may be NULL) is the set
 * being replaced: ticket keys of frontends with the same name are carried over.
 * Returns 0 and *out (possibly holding nothing when no TLS is configured), or -1
 * after reporting every problem.
 */
int tls_set_new(const struct conf *conf, const struct tls_set *prev, tls_report_fn report,
                void *arg, struct tls_set **out);
void tls_set_free(struct tls_set *set);

/* By index into conf->frontends / conf->pools[pool].servers of the conf the set was
 * built from; NULL when that frontend or server has no TLS. Borrowed from the set. */
struct tls_server *tls_set_frontend(const struct tls_set *set, size_t frontend);
struct tls_client *tls_set_server(const struct tls_set *set, size_t pool, size_t server);

/* Rotates the ticket keys of every frontend of the set; 0, or -1 if any failed. */
int tls_set_rotate_ticket_keys(struct tls_set *set);

/*
 * Validates the TLS settings of `conf` (files readable, keys matching, cipher
 * lists, CA files) by building a set and dropping it; keeps nothing. Returns the
 * number of problems reported (0: valid).
 */
int tls_conf_check(const struct conf *conf, tls_report_fn report, void *arg);

#endif
