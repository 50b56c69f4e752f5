/*
 * Unit tests of tls/tls_conn with the contexts of tls/tls_ctx: real handshakes
 * in-process over a socketpair, both ends non-blocking, driven by a poll() loop
 * that honours each WANT_READ/WANT_WRITE. Covers certificate choice by SNI
 * (seen from the client), ALPN, protocol floors, ticket resumption and key
 * rotation, reload (ticket keys carried over, old contexts outliving their set),
 * client-side verification, a 1 MB echo with partial writes, and closes.
 * Certificates are made with the openssl command (exit 77 when it is absent).
 */
#define _POSIX_C_SOURCE 200809L

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/x509.h>

#include "tls/tls_conn.h"
#include "tls/tls_ctx.h"

#include "test_tls_util.h"

#define LOOP_MAX 20000
#define POLL_MS  3000

static struct tt_msgs msgs;
static struct conf_tls_cert certs[8];
static struct conf_frontend fe;
static struct conf_pool pool;
static struct conf_server server;
static bool no_tickets; /* connect_once's clients take no tickets (SSL_OP_NO_TICKET) */

/* One connected pair: client side c, server side s. */
struct pair {
    int cfd, sfd;
    struct tls_conn c, s;
    int cst, sst; /* last handshake status of each side */
};

static void nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    assert_int_not_equal(fl, -1);
    assert_int_equal(fcntl(fd, F_SETFL, fl | O_NONBLOCK), 0);
}

/* The frontend "web" (mode http, min 1.2) with a, b, w in this order. */
static struct tls_server *make_server(const char *min_version, enum conf_mode mode)
{
    static const char *const files[] = {"a.pem", "a.key", "b.pem",
                                        "b.key", "w.pem", "w.key"};
    static const int lines[] = {10, 12, 14};
    struct tls_server *srv = NULL;

    tt_frontend(&fe, certs, 3, files, lines);
    fe.tls_min_version = (char *)min_version;
    fe.mode = mode;
    assert_int_equal(tls_server_new(&fe, "conf.ini", NULL, tt_collect, &msgs, &srv), 0);
    return srv;
}

static struct tls_client *make_client(const char *addr, const char *ca, const char *sni,
                                      bool verify)
{
    struct tls_client *cli = NULL;

    memset(&pool, 0, sizeof(pool));
    snprintf(pool.name, sizeof(pool.name), "app");
    tt_server(&server, addr, ca, sni, verify);
    assert_int_equal(tls_client_new(&pool, &server, "conf.ini", tt_collect, &msgs, &cli),
                     0);
    return cli;
}

/* A socketpair with both TLS ends started; nothing exchanged yet. */
static void pair_open(struct pair *p, struct tls_server *srv, struct tls_client *cli)
{
    int fds[2];
    char err[200];

    memset(p, 0, sizeof(*p));
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    p->cfd = fds[0];
    p->sfd = fds[1];
    nonblock(p->cfd);
    nonblock(p->sfd);
    assert_int_equal(tls_conn_start_client(&p->c, cli, p->cfd, err, sizeof(err)), 0);
    assert_int_equal(tls_conn_start_server(&p->s, srv, p->sfd, err, sizeof(err)), 0);
    p->cst = p->sst = TLS_CONN_WANT_WRITE;
}

static void pair_close(struct pair *p)
{
    tls_conn_free(&p->c);
    tls_conn_free(&p->s);
    close(p->cfd);
    close(p->sfd);
}

static bool wants(int st)
{
    return st == TLS_CONN_WANT_READ || st == TLS_CONN_WANT_WRITE;
}

static short events_of(int st)
{
    return st == TLS_CONN_WANT_READ ? POLLIN : st == TLS_CONN_WANT_WRITE ? POLLOUT : 0;
}

/*
 * Runs both handshakes until each side is DONE or ERROR, waiting with poll() for
 * exactly what each side asked for. A side that fails stops writing (SHUT_WR) so
 * that its peer sees the end instead of waiting forever.
 */
static void handshake(struct pair *p)
{
    bool cshut = false, sshut = false;

    for (int i = 0; i < LOOP_MAX; i++) {
        struct pollfd pfd[2];
        int n;

        if (wants(p->cst))
            p->cst = tls_conn_handshake(&p->c);
        if (wants(p->sst))
            p->sst = tls_conn_handshake(&p->s);
        if (p->cst == TLS_CONN_ERROR && !cshut)
            cshut = shutdown(p->cfd, SHUT_WR) == 0;
        if (p->sst == TLS_CONN_ERROR && !sshut)
            sshut = shutdown(p->sfd, SHUT_WR) == 0;
        if (!wants(p->cst) && !wants(p->sst))
            return;
        pfd[0] = (struct pollfd){.fd = wants(p->cst) ? p->cfd : -1,
                                 .events = events_of(p->cst)};
        pfd[1] = (struct pollfd){.fd = wants(p->sst) ? p->sfd : -1,
                                 .events = events_of(p->sst)};
        n = poll(pfd, 2, POLL_MS);
        if (n <= 0)
            fail_msg("handshake stalled: client %d, server %d", p->cst, p->sst);
    }
    fail_msg("handshake did not end");
}

/* Both sides must complete. */
static void handshake_ok(struct pair *p)
{
    handshake(p);
    if (p->cst != TLS_CONN_DONE || p->sst != TLS_CONN_DONE)
        fail_msg("handshake failed: client %d (%s), server %d (%s)", p->cst,
                 tls_conn_reason(&p->c), p->sst, tls_conn_reason(&p->s));
}

/* Moves `len` bytes from one side to the other through tls_conn_write/read. */
static void transfer(struct tls_conn *from, int ffd, struct tls_conn *to, int tfd,
                     const char *data, size_t len)
{
    char buf[256];
    size_t sent = 0, got = 0;

    assert_true(len <= sizeof(buf));
    for (int i = 0; i < LOOP_MAX && got < len; i++) {
        struct pollfd pfd[2] = {{.fd = -1}, {.fd = -1}};
        ssize_t n;
        bool progress = false;

        if (sent < len) {
            n = tls_conn_write(from, data + sent, len - sent);
            if (n > 0) {
                sent += (size_t)n;
                progress = true;
            } else if (wants((int)n)) {
                pfd[0] = (struct pollfd){.fd = ffd, .events = events_of((int)n)};
            } else {
                fail_msg("write: %zd %s", n, tls_conn_reason(from));
            }
        }
        n = tls_conn_read(to, buf + got, len - got);
        if (n > 0) {
            got += (size_t)n;
            progress = true;
        } else if (wants((int)n)) {
            pfd[1] = (struct pollfd){.fd = tfd, .events = events_of((int)n)};
        } else {
            fail_msg("read: %zd %s", n, tls_conn_reason(to));
        }
        if (!progress && poll(pfd, 2, POLL_MS) <= 0)
            fail_msg("transfer stalled");
    }
    assert_int_equal(got, len);
    assert_memory_equal(buf, data, len);
}

/* After a handshake: one message each way, so that TLS 1.3 tickets get read. */
static void exchange(struct pair *p)
{
    transfer(&p->s, p->sfd, &p->c, p->cfd, "hello from server", 17);
    transfer(&p->c, p->cfd, &p->s, p->sfd, "hello from client", 17);
}

static void assert_peer_cn(const struct pair *p, const char *cn)
{
    X509 *peer = SSL_get1_peer_certificate(tls_conn_ssl(&p->c));
    char subject[256];

    assert_non_null(peer);
    X509_NAME_oneline(X509_get_subject_name(peer), subject, sizeof(subject));
    X509_free(peer);
    assert_string_equal(subject, cn);
}

static int reset(void **state)
{
    (void)state;
    memset(&msgs, 0, sizeof(msgs));
    no_tickets = false;
    return 0;
}

/* ---- certificate choice ----------------------------------------------------------- */

static void sni_case(const char *sni, const char *expected_subject)
{
    struct tls_server *srv = make_server("1.2", CONF_MODE_HTTP);
    struct tls_client *cli = make_client("127.0.0.1:443", NULL, sni, false);
    struct pair p;

    pair_open(&p, srv, cli);
    handshake_ok(&p);
    assert_peer_cn(&p, expected_subject);
    if (sni != NULL) {
        assert_non_null(tls_conn_sni(&p.s));
        assert_string_equal(tls_conn_sni(&p.s), sni);
        assert_string_equal(tls_conn_sni(&p.c), sni);
    } else {
        assert_null(tls_conn_sni(&p.s));
    }
    exchange(&p);
    pair_close(&p);
    tls_client_free(cli);
    tls_server_free(srv);
}

static void test_tls_conn_sni_picks_cert(void **state)
{
    (void)state;
    sni_case("b.example.com", "/CN=b.example.com");
    sni_case("www.b.example.com", "/CN=b.example.com");
    sni_case("a.example.com", "/CN=a.example.com");
}

static void test_tls_conn_sni_wildcard(void **state)
{
    (void)state;
    sni_case("x.w.example.com", "/CN=wild");
    /* one label only: falls back to the first certificate */
    sni_case("y.x.w.example.com", "/CN=a.example.com");
}

static void test_tls_conn_no_sni_first_cert(void **state)
{
    (void)state;
    /* an IP address is never sent as SNI */
    sni_case(NULL, "/CN=a.example.com");
    sni_case("unknown.example.org", "/CN=a.example.com");
}

/* ---- ALPN and versions ------------------------------------------------------------ */

static void alpn_case(enum conf_mode mode, const unsigned char *offer, unsigned offer_len,
                      const char *expected)
{
    struct tls_server *srv = make_server("1.2", mode);
    struct tls_client *cli = make_client("127.0.0.1:443", NULL, NULL, false);
    struct pair p;

    pair_open(&p, srv, cli);
    if (offer != NULL)
        assert_int_equal(SSL_set_alpn_protos(tls_conn_ssl(&p.c), offer, offer_len), 0);
    handshake_ok(&p);
    assert_string_equal(tls_conn_alpn(&p.s), expected);
    assert_string_equal(tls_conn_alpn(&p.c), expected);
    pair_close(&p);
    tls_client_free(cli);
    tls_server_free(srv);
}

static void test_tls_conn_alpn(void **state)
{
    static const unsigned char h2_h11[] = "\x02h2\x08http/1.1";
    static const unsigned char h11[] = "\x08http/1.1";
    static const unsigned char h2[] = "\x02h2";
    (void)state;

    alpn_case(CONF_MODE_HTTP, h2_h11, sizeof(h2_h11) - 1, "http/1.1");
    alpn_case(CONF_MODE_HTTP, h11, sizeof(h11) - 1, "http/1.1");
    alpn_case(CONF_MODE_HTTP, NULL, 0, "");             /* no ALPN: accepted */
    alpn_case(CONF_MODE_HTTP, h2, sizeof(h2) - 1, "");  /* h2 only: no answer */
    alpn_case(CONF_MODE_TCP, h11, sizeof(h11) - 1, ""); /* tcp frontends: no ALPN */
}

static void test_tls_conn_versions(void **state)
{
    struct tls_server *srv12 = make_server("1.2", CONF_MODE_HTTP);
    struct tls_server *srv13 = make_server("1.3", CONF_MODE_HTTP);
    struct tls_client *cli = make_client("127.0.0.1:443", NULL, NULL, false);
    struct pair p;
    SSL *ssl;
    (void)state;

    /* the defaults: TLS 1.3 */
    pair_open(&p, srv12, cli);
    handshake_ok(&p);
    assert_string_equal(tls_conn_version(&p.s), "TLSv1.3");
    assert_string_equal(tls_conn_version(&p.c), "TLSv1.3");
    assert_string_not_equal(tls_conn_cipher(&p.s), "");
    pair_close(&p);

    /* a TLS 1.2 client of a 1.2 server */
    pair_open(&p, srv12, cli);
    assert_int_equal(SSL_set_max_proto_version(tls_conn_ssl(&p.c), TLS1_2_VERSION), 1);
    handshake_ok(&p);
    assert_string_equal(tls_conn_version(&p.s), "TLSv1.2");
    assert_true(strncmp(tls_conn_cipher(&p.s), "ECDHE-ECDSA-", 12) == 0);
    assert_non_null(strstr(tls_default_ciphers, tls_conn_cipher(&p.s)));
    pair_close(&p);

    /* a TLS 1.1 client (its own floor lowered to let it try) is refused */
    pair_open(&p, srv12, cli);
    ssl = tls_conn_ssl(&p.c);
    SSL_set_security_level(ssl, 0);
    assert_int_equal(SSL_set_cipher_list(ssl, "DEFAULT:@SECLEVEL=0"), 1);
    assert_int_equal(SSL_set_min_proto_version(ssl, TLS1_1_VERSION), 1);
    assert_int_equal(SSL_set_max_proto_version(ssl, TLS1_1_VERSION), 1);
    handshake(&p);
    assert_int_equal(p.sst, TLS_CONN_ERROR);
    assert_int_equal(p.cst, TLS_CONN_ERROR);
    assert_string_equal(tls_conn_reason(&p.s), "unsupported protocol");
    assert_string_equal(tls_conn_reason(&p.c), "tlsv1 alert protocol version");
    pair_close(&p);

    /* a 1.3-only server refuses a client that stops at 1.2 ... */
    pair_open(&p, srv13, cli);
    assert_int_equal(SSL_set_max_proto_version(tls_conn_ssl(&p.c), TLS1_2_VERSION), 1);
    handshake(&p);
    assert_int_equal(p.sst, TLS_CONN_ERROR);
    assert_int_equal(p.cst, TLS_CONN_ERROR);
    assert_string_equal(tls_conn_reason(&p.s), "unsupported protocol");
    pair_close(&p);

    /* ... and accepts 1.3 */
    pair_open(&p, srv13, cli);
    handshake_ok(&p);
    assert_string_equal(tls_conn_version(&p.s), "TLSv1.3");
    pair_close(&p);

    tls_client_free(cli);
    tls_server_free(srv12);
    tls_server_free(srv13);
}

/* ---- session tickets -------------------------------------------------------------- */

/* One connection offering `sess` (NULL: whatever the client context remembers);
 * returns whether it was resumed, and the session it ended with in *out. */
static bool connect_once(struct tls_server *srv, struct tls_client *cli, int max_version,
                         SSL_SESSION *sess, SSL_SESSION **out)
{
    struct pair p;
    bool resumed;

    pair_open(&p, srv, cli);
    if (max_version != 0)
        assert_int_equal(SSL_set_max_proto_version(tls_conn_ssl(&p.c), max_version), 1);
    if (sess != NULL)
        assert_int_equal(SSL_set_session(tls_conn_ssl(&p.c), sess), 1);
    if (no_tickets)
        SSL_set_options(tls_conn_ssl(&p.c), SSL_OP_NO_TICKET);
    handshake_ok(&p);
    exchange(&p);
    resumed = tls_conn_resumed(&p.c);
    assert_int_equal(resumed, tls_conn_resumed(&p.s));
    if (out != NULL)
        *out = SSL_get1_session(tls_conn_ssl(&p.c));
    pair_close(&p);
    return resumed;
}

/*
 * Each client context remembers its last session. TLS 1.3 tickets are single-use
 * on the client side (OpenSSL marks a ticket used once as not resumable), so the
 * "old ticket" is held by a second client, cli_b, that does not use it until the
 * end.
 */
static void ticket_case(int max_version)
{
    struct tls_server *srv = make_server("1.2", CONF_MODE_HTTP);
    struct tls_client *cli_a = make_client("127.0.0.1:443", NULL, "b.example.com", false);
    struct tls_client *cli_b = make_client("127.0.0.1:443", NULL, "b.example.com", false);
    SSL_SESSION *first = NULL;

    /* full handshakes: each client gets a ticket under the first key */
    assert_false(connect_once(srv, cli_a, max_version, NULL, &first));
    assert_non_null(first);
    assert_true(SSL_SESSION_is_resumable(first));
    SSL_SESSION_free(first);
    assert_false(connect_once(srv, cli_b, max_version, NULL, NULL));
    /* resumption through the client context's memory */
    assert_true(connect_once(srv, cli_a, max_version, NULL, NULL));
    /* one rotation: a ticket under the previous key is still accepted (and cli_a
     * gets a new one under the current key) */
    assert_int_equal(tls_server_rotate_ticket_keys(srv), 0);
    assert_true(connect_once(srv, cli_a, max_version, NULL, NULL));
    /* a second rotation: cli_b's ticket, under the first key, is refused and a
     * full handshake is made; cli_a's, under the previous key, still works */
    assert_int_equal(tls_server_rotate_ticket_keys(srv), 0);
    assert_false(connect_once(srv, cli_b, max_version, NULL, NULL));
    assert_true(connect_once(srv, cli_a, max_version, NULL, NULL));
    /* cli_b got a fresh ticket from that full handshake */
    assert_true(connect_once(srv, cli_b, max_version, NULL, NULL));
    tls_client_free(cli_a);
    tls_client_free(cli_b);
    tls_server_free(srv);
}

static void test_tls_conn_ticket_resumption_tls13(void **state)
{
    (void)state;
    ticket_case(0);
}

static void test_tls_conn_ticket_resumption_tls12(void **state)
{
    (void)state;
    ticket_case(TLS1_2_VERSION);
}

/* Tickets of another server context (other keys) are not accepted. */
static void test_tls_conn_ticket_of_other_keys(void **state)
{
    struct tls_server *srv1 = make_server("1.2", CONF_MODE_HTTP);
    struct tls_server *srv2 = make_server("1.2", CONF_MODE_HTTP);
    struct tls_client *cli = make_client("127.0.0.1:443", NULL, NULL, false);
    SSL_SESSION *s1 = NULL;
    (void)state;

    assert_false(connect_once(srv1, cli, 0, NULL, &s1));
    assert_false(connect_once(srv2, cli, 0, s1, NULL));
    assert_true(connect_once(srv1, cli, 0, s1, NULL));
    SSL_SESSION_free(s1);
    tls_client_free(cli);
    tls_server_free(srv1);
    tls_server_free(srv2);
}

/* ---- session-ID cache ------------------------------------------------------------- */

static unsigned int id_length(const SSL_SESSION *sess)
{
    unsigned int len;
    SSL_SESSION_get_id(sess, &len);
    return len;
}

/* TLS 1.2 clients that take no tickets resume by session ID: under a name of the
 * certificate the session was made with only, and across a reload that keeps
 * tls_session_cache. Only their sessions are kept: not those of TLS 1.2 clients
 * that take tickets, nor TLS 1.3 ones. */
static void test_tls_conn_session_id_resumption(void **state)
{
    struct tls_server *srv = make_server("1.2", CONF_MODE_HTTP);
    struct tls_server *reloaded = NULL, *resized = NULL;
    struct tls_client *cli_a = make_client("127.0.0.1:443", NULL, "a.example.com", false);
    struct tls_client *cli_b = make_client("127.0.0.1:443", NULL, "b.example.com", false);
    struct tls_client *cli_t = make_client("127.0.0.1:443", NULL, "b.example.com", false);
    SSL_SESSION *sb = NULL, *st = NULL;
    (void)state;

    /* clients that take tickets leave nothing in the cache, whatever the version */
    assert_false(connect_once(srv, cli_t, 0, NULL, NULL));
    assert_true(connect_once(srv, cli_t, 0, NULL, NULL));
    assert_false(connect_once(srv, cli_t, TLS1_2_VERSION, NULL, &st));
    assert_true(SSL_SESSION_has_ticket(st));
    assert_int_equal(tls_server_cached_sessions(srv), 0);

    no_tickets = true;
    /* st offered without its ticket: a full handshake */
    assert_false(connect_once(srv, cli_t, TLS1_2_VERSION, st, NULL));
    assert_int_equal(tls_server_cached_sessions(srv), 1); /* that one is kept */
    assert_false(connect_once(srv, cli_b, TLS1_2_VERSION, NULL, &sb));
    assert_false(SSL_SESSION_has_ticket(sb));
    assert_int_equal(id_length(sb), 32);
    assert_int_equal(tls_server_cached_sessions(srv), 2);
    assert_true(connect_once(srv, cli_b, TLS1_2_VERSION, sb, NULL));
    /* b.example.com's session offered for a.example.com: a full handshake, and the
     * session is still good for b */
    assert_false(connect_once(srv, cli_a, TLS1_2_VERSION, sb, NULL));
    assert_true(connect_once(srv, cli_b, TLS1_2_VERSION, sb, NULL));

    /* a reload keeps the cache when its size is the same, not otherwise */
    assert_int_equal(tls_server_new(&fe, "conf.ini", srv, tt_collect, &msgs, &reloaded),
                     0);
    fe.tls_session_cache = 10;
    assert_int_equal(tls_server_new(&fe, "conf.ini", srv, tt_collect, &msgs, &resized),
                     0);
    tls_server_free(srv);
    assert_true(connect_once(reloaded, cli_b, TLS1_2_VERSION, sb, NULL));
    assert_false(connect_once(resized, cli_b, TLS1_2_VERSION, sb, NULL));
    assert_int_equal(tls_server_cached_sessions(resized), 1);

    SSL_SESSION_free(sb);
    SSL_SESSION_free(st);
    tls_server_free(reloaded);
    tls_server_free(resized);
    tls_client_free(cli_a);
    tls_client_free(cli_b);
    tls_client_free(cli_t);
}

/* A reload that reorders the certificates: a session (by ticket, TLS 1.3 and 1.2,
 * or by ID) made under a.example.com's certificate, offered for b.example.com,
 * whose certificate now has a.example.com's old place, gets a full handshake. */
static void test_tls_conn_resumption_follows_certificates_not_places(void **state)
{
    static const char *const swapped[] = {"b.pem", "b.key", "a.pem", "a.key",
                                          "w.pem", "w.key"};
    static const int lines[] = {10, 12, 14};
    static struct conf_tls_cert certs2[3];
    struct conf_frontend fe2;
    struct tls_server *srv = make_server("1.2", CONF_MODE_HTTP);
    struct tls_server *reloaded = NULL;
    struct tls_client *cli_a = make_client("127.0.0.1:443", NULL, "a.example.com", false);
    struct tls_client *cli_b = make_client("127.0.0.1:443", NULL, "b.example.com", false);
    SSL_SESSION *s13 = NULL, *s12 = NULL, *sid = NULL;
    (void)state;

    assert_false(connect_once(srv, cli_a, 0, NULL, &s13));
    assert_false(connect_once(srv, cli_a, TLS1_2_VERSION, NULL, &s12));
    no_tickets = true;
    assert_false(connect_once(srv, cli_a, TLS1_2_VERSION, NULL, &sid));
    no_tickets = false;
    tt_frontend(&fe2, certs2, 3, swapped, lines);
    assert_int_equal(tls_server_new(&fe2, "conf.ini", srv, tt_collect, &msgs, &reloaded),
                     0);
    /* still good for a.example.com, wherever its certificate now is */
    assert_true(connect_once(reloaded, cli_a, TLS1_2_VERSION, s12, NULL));
    /* not for b.example.com, now at a's old place */
    assert_false(connect_once(reloaded, cli_b, 0, s13, NULL));
    assert_false(connect_once(reloaded, cli_b, TLS1_2_VERSION, s12, NULL));
    no_tickets = true;
    assert_false(connect_once(reloaded, cli_b, TLS1_2_VERSION, sid, NULL));
    assert_true(connect_once(reloaded, cli_a, TLS1_2_VERSION, sid, NULL));
    SSL_SESSION_free(s13);
    SSL_SESSION_free(s12);
    SSL_SESSION_free(sid);
    tls_server_free(srv);
    tls_server_free(reloaded);
    tls_client_free(cli_a);
    tls_client_free(cli_b);
}

/* tls_session_cache = 0: TLS 1.2 ServerHellos carry no session ID to resume. */
static void test_tls_conn_session_cache_off(void **state)
{
    struct tls_server *srv = make_server("1.2", CONF_MODE_HTTP);
    struct tls_server *off = NULL;
    struct tls_client *cli = make_client("127.0.0.1:443", NULL, "b.example.com", false);
    SSL_SESSION *s = NULL;
    (void)state;

    fe.tls_session_cache = 0;
    assert_int_equal(tls_server_new(&fe, "conf.ini", srv, tt_collect, &msgs, &off), 0);
    no_tickets = true;
    assert_false(connect_once(off, cli, TLS1_2_VERSION, NULL, &s));
    assert_int_equal(id_length(s), 0);
    assert_false(connect_once(off, cli, TLS1_2_VERSION, s, NULL));
    assert_int_equal(tls_server_cached_sessions(off), 0);
    /* tickets still work */
    no_tickets = false;
    assert_false(connect_once(off, cli, TLS1_2_VERSION, NULL, NULL));
    assert_true(connect_once(off, cli, TLS1_2_VERSION, NULL, NULL));
    SSL_SESSION_free(s);
    tls_server_free(srv);
    tls_server_free(off);
    tls_client_free(cli);
}

/* ---- reload ----------------------------------------------------------------------- */

static void one_frontend_conf(struct conf *conf, struct conf_frontend *f)
{
    static const char *const files[] = {"a.pem", "a.key"};
    static const int lines[] = {4};
    static struct conf_tls_cert c[1];

    tt_frontend(f, c, 1, files, lines);
    memset(conf, 0, sizeof(*conf));
    conf->path = "conf.ini";
    conf->frontends = f;
    conf->frontend_count = 1;
}

/* A set built with the previous one keeps its tickets valid; a fresh one does not. */
static void test_tls_conn_reload_keeps_ticket_keys(void **state)
{
    struct conf conf;
    struct conf_frontend f;
    struct tls_set *old = NULL, *carried = NULL, *fresh = NULL;
    struct tls_client *cli = make_client("127.0.0.1:443", NULL, NULL, false);
    SSL_SESSION *s1 = NULL;
    (void)state;

    one_frontend_conf(&conf, &f);
    assert_int_equal(tls_set_new(&conf, NULL, tt_collect, &msgs, &old), 0);
    assert_false(connect_once(tls_set_frontend(old, 0), cli, 0, NULL, &s1));
    assert_int_equal(tls_set_new(&conf, old, tt_collect, &msgs, &carried), 0);
    assert_int_equal(tls_set_new(&conf, NULL, tt_collect, &msgs, &fresh), 0);
    tls_set_free(old);
    assert_true(connect_once(tls_set_frontend(carried, 0), cli, 0, s1, NULL));
    assert_false(connect_once(tls_set_frontend(fresh, 0), cli, 0, s1, NULL));
    SSL_SESSION_free(s1);
    tls_set_free(carried);
    tls_set_free(fresh);
    tls_client_free(cli);
}

/* Connections keep working after their server and client objects are freed in the
 * middle of the handshake (a reload publishing a new set). */
static void test_tls_conn_outlives_its_set(void **state)
{
    struct tls_server *srv = make_server("1.2", CONF_MODE_HTTP);
    struct tls_client *cli = make_client("127.0.0.1:443", NULL, "b.example.com", false);
    struct pair p;
    (void)state;

    pair_open(&p, srv, cli);
    p.cst = tls_conn_handshake(&p.c); /* the ClientHello is out */
    assert_int_equal(p.cst, TLS_CONN_WANT_READ);
    tls_server_free(srv);
    tls_client_free(cli);
    handshake_ok(&p);
    assert_peer_cn(&p, "/CN=b.example.com"); /* SNI data of the freed set still used */
    exchange(&p);
    pair_close(&p);
}

/* ---- verification of servers ------------------------------------------------------ */

static void verify_case(const char *ca, const char *sni, bool verify,
                        const char *client_error)
{
    struct tls_server *srv = make_server("1.2", CONF_MODE_HTTP);
    struct tls_client *cli = make_client("127.0.0.1:443", ca, sni, verify);
    struct pair p;

    pair_open(&p, srv, cli);
    handshake(&p);
    if (client_error == NULL) {
        if (p.cst != TLS_CONN_DONE || p.sst != TLS_CONN_DONE)
            fail_msg("handshake failed: %s / %s", tls_conn_reason(&p.c),
                     tls_conn_reason(&p.s));
        if (verify)
            assert_int_equal(SSL_get_verify_result(tls_conn_ssl(&p.c)), X509_V_OK);
        exchange(&p);
    } else {
        assert_int_equal(p.cst, TLS_CONN_ERROR);
        assert_int_equal(p.sst, TLS_CONN_ERROR);
        assert_string_equal(tls_conn_reason(&p.c), client_error);
    }
    pair_close(&p);
    tls_client_free(cli);
    tls_server_free(srv);
}

static void test_tls_conn_verify_right_ca(void **state)
{
    (void)state;
    verify_case("ca", "a.example.com", true, NULL);
    verify_case("ca", "b.example.com", true, NULL);
    verify_case("ca", "x.w.example.com", true, NULL);
    /* no SNI: the address 127.0.0.1 is checked against the IP in a.pem's SAN */
    verify_case("ca", NULL, true, NULL);
}

static void test_tls_conn_verify_wrong_ca(void **state)
{
    (void)state;
    verify_case("ca2", "a.example.com", true,
                "certificate verify failed: unable to get local issuer certificate");
    /* no ca=: the system store, which does not know the test CA */
    verify_case(NULL, "a.example.com", true,
                "certificate verify failed: unable to get local issuer certificate");
    /* the same with verification off: accepted */
    verify_case("ca2", "a.example.com", false, NULL);
}

static void test_tls_conn_verify_wrong_name(void **state)
{
    (void)state;
    /* unknown name: the server falls back to a.pem, which does not cover it */
    verify_case("ca", "other.example.com", true,
                "certificate verify failed: hostname mismatch");
    /* a wildcard covers one label only, on the client side too */
    verify_case("ca", "y.x.w.example.com", true,
                "certificate verify failed: hostname mismatch");
}

/* No SNI for an address: the IP is checked against the certificate's IP entries. */
static void test_tls_conn_verify_ip_address(void **state)
{
    struct tls_server *srv = make_server("1.2", CONF_MODE_HTTP);
    struct tls_client *good = make_client("127.0.0.1:8443", "ca", NULL, true);
    struct tls_client *bad = make_client("127.0.0.2:8443", "ca", NULL, true);
    struct pair p;
    (void)state;

    pair_open(&p, srv, good);
    handshake_ok(&p);
    assert_null(tls_conn_sni(&p.c));
    pair_close(&p);
    pair_open(&p, srv, bad);
    handshake(&p);
    assert_int_equal(p.cst, TLS_CONN_ERROR);
    assert_string_equal(tls_conn_reason(&p.c),
                        "certificate verify failed: IP address mismatch");
    pair_close(&p);
    tls_client_free(good);
    tls_client_free(bad);
    tls_server_free(srv);
}

/* A certificate file holding the chain: every certificate of it is sent. */
static void test_tls_conn_sends_chain(void **state)
{
    static const char *const files[] = {"afull.pem", "a.key"};
    static const int lines[] = {10};
    struct tls_server *srv = NULL;
    struct tls_client *cli = make_client("127.0.0.1:443", "ca", "a.example.com", true);
    struct pair p;
    (void)state;

    tt_frontend(&fe, certs, 1, files, lines);
    assert_int_equal(tls_server_new(&fe, "conf.ini", NULL, tt_collect, &msgs, &srv), 0);
    pair_open(&p, srv, cli);
    handshake_ok(&p);
    assert_int_equal(sk_X509_num(SSL_get_peer_cert_chain(tls_conn_ssl(&p.c))), 2);
    pair_close(&p);
    tls_client_free(cli);
    tls_server_free(srv);
}

/* ---- threads ---------------------------------------------------------------------- */

/* Workers share one tls_server and one tls_client while the keys rotate: each
 * thread makes connections (half of them resumed through the shared client
 * memory) and counts failures; no cmocka call in the threads. */
struct worker_arg {
    struct tls_server *srv;
    struct tls_client *cli;
    int done, failed, resumed;
};

#define THREADS          4
#define CONNS_PER_THREAD 25

static int quiet_handshake(struct pair *p)
{
    for (int i = 0; i < LOOP_MAX; i++) {
        struct pollfd pfd[2];

        if (wants(p->cst))
            p->cst = tls_conn_handshake(&p->c);
        if (wants(p->sst))
            p->sst = tls_conn_handshake(&p->s);
        if (!wants(p->cst) && !wants(p->sst))
            return p->cst == TLS_CONN_DONE && p->sst == TLS_CONN_DONE ? 0 : -1;
        if (p->cst == TLS_CONN_ERROR || p->sst == TLS_CONN_ERROR)
            return -1;
        pfd[0] = (struct pollfd){.fd = wants(p->cst) ? p->cfd : -1,
                                 .events = events_of(p->cst)};
        pfd[1] = (struct pollfd){.fd = wants(p->sst) ? p->sfd : -1,
                                 .events = events_of(p->sst)};
        if (poll(pfd, 2, POLL_MS) <= 0)
            return -1;
    }
    return -1;
}

static void *worker(void *varg)
{
    struct worker_arg *a = varg;

    for (int i = 0; i < CONNS_PER_THREAD; i++) {
        struct pair p;
        int fds[2];
        char err[200], buf[8];
        ssize_t n = 0;

        memset(&p, 0, sizeof(p));
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) {
            a->failed++;
            continue;
        }
        p.cfd = fds[0];
        p.sfd = fds[1];
        fcntl(p.cfd, F_SETFL, O_NONBLOCK);
        fcntl(p.sfd, F_SETFL, O_NONBLOCK);
        if (tls_conn_start_client(&p.c, a->cli, p.cfd, err, sizeof(err)) != 0 ||
            tls_conn_start_server(&p.s, a->srv, p.sfd, err, sizeof(err)) != 0) {
            a->failed++;
            pair_close(&p);
            continue;
        }
        p.cst = p.sst = TLS_CONN_WANT_WRITE;
        if (quiet_handshake(&p) != 0) {
            a->failed++;
        } else {
            /* one byte so that TLS 1.3 tickets reach the client memory (an empty
             * socket buffer takes it at once) */
            if (tls_conn_write(&p.s, "x", 1) == 1) {
                for (int k = 0; k < 100; k++) {
                    struct pollfd pfd = {.fd = p.cfd, .events = POLLIN};
                    n = tls_conn_read(&p.c, buf, sizeof(buf));
                    if (n != TLS_CONN_WANT_READ || poll(&pfd, 1, POLL_MS) <= 0)
                        break;
                }
            }
            a->failed += n != 1;
            a->resumed += tls_conn_resumed(&p.c);
            a->done++;
        }
        pair_close(&p);
    }
    return NULL;
}

static void test_tls_conn_threads_share_contexts(void **state)
{
    struct tls_server *srv = make_server("1.2", CONF_MODE_HTTP);
    struct tls_client *cli = make_client("127.0.0.1:443", NULL, "b.example.com", false);
    struct worker_arg args[THREADS];
    pthread_t tids[THREADS];
    int resumed = 0;
    (void)state;

    for (int i = 0; i < THREADS; i++) {
        args[i] = (struct worker_arg){.srv = srv, .cli = cli};
        assert_int_equal(pthread_create(&tids[i], NULL, worker, &args[i]), 0);
    }
    for (int i = 0; i < 20; i++) {
        assert_int_equal(tls_server_rotate_ticket_keys(srv), 0);
        nanosleep(&(struct timespec){.tv_nsec = 1000 * 1000}, NULL);
    }
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_join(tids[i], NULL), 0);
        assert_int_equal(args[i].failed, 0);
        assert_int_equal(args[i].done, CONNS_PER_THREAD);
        resumed += args[i].resumed;
    }
    assert_true(resumed > 0);
    tls_client_free(cli);
    tls_server_free(srv);
}

/* ---- data and closes -------------------------------------------------------------- */

/* 1 MB client -> server -> client through small socket buffers: partial writes and
 * WANT_WRITE are exercised; every byte must come back in order. */
static void test_tls_conn_echo_1mb(void **state)
{
    enum { TOTAL = 1 << 20, CHUNK = 256 * 1024 };
    struct tls_server *srv = make_server("1.2", CONF_MODE_TCP);
    struct tls_client *cli = make_client("127.0.0.1:443", NULL, NULL, false);
    unsigned char *src = malloc(TOTAL), *dst = malloc(TOTAL);
    unsigned char mid[64 * 1024];
    size_t sent = 0, back = 0, mid_len = 0, mid_off = 0;
    unsigned partial = 0, want_write = 0;
    int small = 32768;
    struct pair p;
    (void)state;

    assert_non_null(src);
    assert_non_null(dst);
    for (size_t i = 0; i < TOTAL; i++)
        src[i] = (unsigned char)(i * 7 + (i >> 11));
    pair_open(&p, srv, cli);
    assert_int_equal(setsockopt(p.cfd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
    assert_int_equal(setsockopt(p.sfd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
    handshake_ok(&p);

    for (int i = 0; i < 200000 && back < TOTAL; i++) {
        short cev = 0, sev = 0;
        bool progress = false;
        ssize_t n;

        /* the client writes until the socket is full; a retry after WANT_* passes
         * the same bytes again */
        while (sent < TOTAL) {
            size_t want = TOTAL - sent < CHUNK ? TOTAL - sent : CHUNK;
            n = tls_conn_write(&p.c, src + sent, want);
            if (n > 0) {
                partial += (size_t)n < want;
                sent += (size_t)n;
                progress = true;
            } else if (wants((int)n)) {
                want_write += n == TLS_CONN_WANT_WRITE;
                cev |= events_of((int)n);
                break;
            } else {
                fail_msg("client write: %s", tls_conn_reason(&p.c));
            }
        }
        if (mid_len == 0) { /* server reads */
            n = tls_conn_read(&p.s, mid, sizeof(mid));
            if (n > 0) {
                mid_len = (size_t)n;
                mid_off = 0;
                progress = true;
            } else if (wants((int)n)) {
                sev |= events_of((int)n);
            } else {
                fail_msg("server read: %zd %s", n, tls_conn_reason(&p.s));
            }
        }
        if (mid_len > 0) { /* server echoes */
            n = tls_conn_write(&p.s, mid + mid_off, mid_len - mid_off);
            if (n > 0) {
                mid_off += (size_t)n;
                if (mid_off == mid_len)
                    mid_len = 0;
                progress = true;
            } else if (wants((int)n)) {
                sev |= events_of((int)n);
            } else {
                fail_msg("server write: %s", tls_conn_reason(&p.s));
            }
        }
        n = tls_conn_read(&p.c, dst + back, TOTAL - back); /* client reads back */
        if (n > 0) {
            back += (size_t)n;
            progress = true;
        } else if (wants((int)n)) {
            cev |= events_of((int)n);
        } else {
            fail_msg("client read: %zd %s", n, tls_conn_reason(&p.c));
        }
        if (!progress) {
            struct pollfd pfd[2] = {{.fd = p.cfd, .events = cev},
                                    {.fd = p.sfd, .events = sev}};
            if (poll(pfd, 2, POLL_MS) <= 0)
                fail_msg("echo stalled at %zu sent, %zu back", sent, back);
        }
    }
    assert_int_equal(sent, TOTAL);
    assert_int_equal(back, TOTAL);
    assert_memory_equal(src, dst, TOTAL);
    assert_true(partial > 0);
    assert_true(want_write > 0);
    assert_false(tls_conn_pending(&p.c));
    pair_close(&p);
    free(src);
    free(dst);
    tls_client_free(cli);
    tls_server_free(srv);
}

/* Reads on `c` until something other than WANT_READ, waiting for the fd. */
static ssize_t read_until_end(struct tls_conn *c, int fd)
{
    char buf[64];
    ssize_t n;

    for (int i = 0; i < LOOP_MAX; i++) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        n = tls_conn_read(c, buf, sizeof(buf));
        if (n != TLS_CONN_WANT_READ)
            return n;
        if (poll(&pfd, 1, POLL_MS) <= 0)
            fail_msg("read stalled");
    }
    fail_msg("read did not end");
    return 0;
}

static void test_tls_conn_clean_shutdown(void **state)
{
    struct tls_server *srv = make_server("1.2", CONF_MODE_HTTP);
    struct tls_client *cli = make_client("127.0.0.1:443", NULL, NULL, false);
    struct pair p;
    (void)state;

    pair_open(&p, srv, cli);
    handshake_ok(&p);
    exchange(&p);
    assert_int_equal(tls_conn_shutdown(&p.c), TLS_CONN_DONE);
    assert_int_equal(read_until_end(&p.s, p.sfd), TLS_CONN_CLOSED);
    assert_true(tls_conn_clean_close(&p.s));
    assert_string_equal(tls_conn_reason(&p.s), "");
    assert_int_equal(tls_conn_read(&p.s, (char[8]){0}, 8), TLS_CONN_CLOSED);
    /* the server answers with its own close_notify */
    assert_int_equal(tls_conn_shutdown(&p.s), TLS_CONN_DONE);
    assert_int_equal(read_until_end(&p.c, p.cfd), TLS_CONN_CLOSED);
    assert_true(tls_conn_clean_close(&p.c));
    pair_close(&p);
    tls_client_free(cli);
    tls_server_free(srv);
}

static void test_tls_conn_bare_eof(void **state)
{
    struct tls_server *srv = make_server("1.2", CONF_MODE_HTTP);
    struct tls_client *cli = make_client("127.0.0.1:443", NULL, NULL, false);
    struct pair p;
    (void)state;

    pair_open(&p, srv, cli);
    handshake_ok(&p);
    exchange(&p);
    assert_int_equal(shutdown(p.cfd, SHUT_WR), 0); /* no close_notify */
    assert_int_equal(read_until_end(&p.s, p.sfd), TLS_CONN_CLOSED);
    assert_false(tls_conn_clean_close(&p.s));
    assert_string_equal(tls_conn_reason(&p.s), "the peer closed without close_notify");
    assert_int_equal(tls_conn_shutdown(&p.s), TLS_CONN_DONE); /* nothing to do */
    pair_close(&p);

    /* an EOF in the middle of the handshake is an error */
    pair_open(&p, srv, cli);
    assert_int_equal(shutdown(p.cfd, SHUT_WR), 0);
    p.cst = TLS_CONN_DONE; /* the client never speaks */
    handshake(&p);
    assert_int_equal(p.sst, TLS_CONN_ERROR);
    assert_string_equal(tls_conn_reason(&p.s),
                        "the peer closed the connection during the handshake");
    pair_close(&p);

    /* garbage instead of a ClientHello */
    pair_open(&p, srv, cli);
    assert_int_equal(write(p.cfd, "GET / HTTP/1.1\r\n\r\n", 18), 18);
    p.cst = TLS_CONN_DONE;
    handshake(&p);
    assert_int_equal(p.sst, TLS_CONN_ERROR);
    assert_string_equal(tls_conn_reason(&p.s), "http request");
    pair_close(&p);
    tls_client_free(cli);
    tls_server_free(srv);
}

/* A pair of a TLS 1.2 client without tickets, offering `sess` (may be NULL), after
 * its handshake and one message each way. */
static void pair_by_id(struct pair *p, struct tls_server *srv, struct tls_client *cli,
                       SSL_SESSION *sess)
{
    pair_open(p, srv, cli);
    assert_int_equal(SSL_set_max_proto_version(tls_conn_ssl(&p->c), TLS1_2_VERSION), 1);
    SSL_set_options(tls_conn_ssl(&p->c), SSL_OP_NO_TICKET);
    if (sess != NULL)
        assert_int_equal(SSL_set_session(tls_conn_ssl(&p->c), sess), 1);
    handshake_ok(p);
    exchange(p);
}

/* A session kept by ID outlives a connection that the client closed without
 * close_notify (most do, and TLS 1.1 and later allow resuming after it), not one
 * that failed (RFC 5246 §7.2.2: a fatal alert forgets the session). */
static void test_tls_conn_session_id_end_of_connection(void **state)
{
    static const unsigned char forged[] = "\x17\x03\x03\x00\x20"
                                          "0123456789abcdef0123456789abcdef";
    struct tls_server *srv = make_server("1.2", CONF_MODE_HTTP);
    struct tls_client *cli = make_client("127.0.0.1:443", NULL, "b.example.com", false);
    SSL_SESSION *s;
    struct pair p;
    (void)state;

    pair_by_id(&p, srv, cli, NULL);
    s = SSL_get1_session(tls_conn_ssl(&p.c));
    assert_int_equal(shutdown(p.cfd, SHUT_WR), 0); /* no close_notify */
    assert_int_equal(read_until_end(&p.s, p.sfd), TLS_CONN_CLOSED);
    assert_false(tls_conn_clean_close(&p.s));
    pair_close(&p);
    assert_int_equal(tls_server_cached_sessions(srv), 1);

    pair_by_id(&p, srv, cli, s);
    assert_true(tls_conn_resumed(&p.s));
    /* a record the client did not make: bad_record_mac */
    assert_int_equal(write(p.cfd, forged, sizeof(forged) - 1),
                     (ssize_t)sizeof(forged) - 1);
    assert_int_equal(read_until_end(&p.s, p.sfd), TLS_CONN_ERROR);
    pair_close(&p);
    assert_int_equal(tls_server_cached_sessions(srv), 0);

    pair_by_id(&p, srv, cli, s);
    assert_false(tls_conn_resumed(&p.s));
    pair_close(&p);
    SSL_SESSION_free(s);
    tls_client_free(cli);
    tls_server_free(srv);
}

/*
 * Contexts read ahead: one read(2) takes every record the socket holds, and
 * tls_conn_pending() then reports the records OpenSSL holds undecrypted (the fd
 * is no longer readable for them), but not part of a record that needs more.
 */
static void test_tls_conn_read_ahead_pending(void **state)
{
    struct tls_server *srv = make_server("1.2", CONF_MODE_HTTP);
    struct tls_client *cli = make_client("127.0.0.1:443", NULL, NULL, false);
    struct pollfd pfd;
    struct pair p;
    char buf[16], raw[256];
    ssize_t n;
    (void)state;

    pair_open(&p, srv, cli);
    handshake_ok(&p);
    exchange(&p);
    assert_false(tls_conn_pending(&p.s));
    assert_int_equal(tls_conn_write(&p.c, "first", 5), 5);
    assert_int_equal(tls_conn_write(&p.c, "second", 6), 6); /* a record each */
    assert_int_equal(tls_conn_read(&p.s, buf, 5), 5);
    assert_memory_equal(buf, "first", 5);
    pfd = (struct pollfd){.fd = p.sfd, .events = POLLIN};
    assert_int_equal(poll(&pfd, 1, 0), 0); /* both records left the socket */
    assert_true(tls_conn_pending(&p.s));
    assert_int_equal(tls_conn_read(&p.s, buf, sizeof(buf)), 6);
    assert_memory_equal(buf, "second", 6);
    assert_false(tls_conn_pending(&p.s));
    assert_int_equal(tls_conn_read(&p.s, buf, sizeof(buf)), TLS_CONN_WANT_READ);

    /* a record delivered but for its last byte: a read wants more, and no
     * read is promised before the fd is readable again */
    assert_int_equal(tls_conn_write(&p.c, "third", 5), 5);
    n = read(p.sfd, raw, sizeof(raw)); /* the record's bytes, taken off the wire */
    assert_true(n > 5);
    assert_int_equal(write(p.cfd, raw, (size_t)n - 1), n - 1);
    assert_int_equal(tls_conn_read(&p.s, buf, sizeof(buf)), TLS_CONN_WANT_READ);
    assert_false(tls_conn_pending(&p.s));
    assert_int_equal(write(p.cfd, raw + n - 1, 1), 1);
    assert_int_equal(tls_conn_read(&p.s, buf, sizeof(buf)), 5);
    assert_memory_equal(buf, "third", 5);
    assert_false(tls_conn_pending(&p.s));
    pair_close(&p);
    tls_client_free(cli);
    tls_server_free(srv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_tls_conn_sni_picks_cert, reset),
        cmocka_unit_test_setup(test_tls_conn_sni_wildcard, reset),
        cmocka_unit_test_setup(test_tls_conn_no_sni_first_cert, reset),
        cmocka_unit_test_setup(test_tls_conn_alpn, reset),
        cmocka_unit_test_setup(test_tls_conn_versions, reset),
        cmocka_unit_test_setup(test_tls_conn_ticket_resumption_tls13, reset),
        cmocka_unit_test_setup(test_tls_conn_ticket_resumption_tls12, reset),
        cmocka_unit_test_setup(test_tls_conn_ticket_of_other_keys, reset),
        cmocka_unit_test_setup(test_tls_conn_session_id_resumption, reset),
        cmocka_unit_test_setup(test_tls_conn_session_cache_off, reset),
        cmocka_unit_test_setup(test_tls_conn_resumption_follows_certificates_not_places,
                               reset),
        cmocka_unit_test_setup(test_tls_conn_reload_keeps_ticket_keys, reset),
        cmocka_unit_test_setup(test_tls_conn_outlives_its_set, reset),
        cmocka_unit_test_setup(test_tls_conn_verify_right_ca, reset),
        cmocka_unit_test_setup(test_tls_conn_verify_wrong_ca, reset),
        cmocka_unit_test_setup(test_tls_conn_verify_wrong_name, reset),
        cmocka_unit_test_setup(test_tls_conn_verify_ip_address, reset),
        cmocka_unit_test_setup(test_tls_conn_sends_chain, reset),
        cmocka_unit_test_setup(test_tls_conn_threads_share_contexts, reset),
        cmocka_unit_test_setup(test_tls_conn_echo_1mb, reset),
        cmocka_unit_test_setup(test_tls_conn_clean_shutdown, reset),
        cmocka_unit_test_setup(test_tls_conn_bare_eof, reset),
        cmocka_unit_test_setup(test_tls_conn_session_id_end_of_connection, reset),
        cmocka_unit_test_setup(test_tls_conn_read_ahead_pending, reset),
    };
    int rc;

    signal(SIGPIPE, SIG_IGN); /* as the runtime does */
    rc = tt_setup_dir();
    if (rc != 0) {
        fprintf(stderr, rc == 77 ? "openssl command not found: skipped\n"
                                 : "cannot create a temporary directory\n");
        return rc == 77 ? 77 : 1;
    }
    if (tt_make_ca("ca", "Test CA") != 0 || tt_make_ca("ca2", "Other CA") != 0 ||
        tt_make_cert("a", "a.example.com", "DNS:a.example.com,IP:127.0.0.1", "ca") != 0 ||
        tt_make_cert("b", "b.example.com", "DNS:b.example.com,DNS:www.b.example.com",
                     "ca") != 0 ||
        tt_make_cert("w", "wild", "DNS:*.w.example.com", "ca") != 0 ||
        tt_concat("afull.pem", "a.pem", "ca.pem") != 0) {
        fprintf(stderr, "cannot make the test certificates\n");
        tt_cleanup_dir();
        return 1;
    }
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    tt_cleanup_dir();
    return rc;
}
