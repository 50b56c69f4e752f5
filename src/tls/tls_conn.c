/*
 * tls_conn: a non-blocking TLS connection over one fd (see tls_conn.h).
 * Maps SSL_get_error() to the few answers an event loop acts on and keeps the
 * OpenSSL error queue of the calling thread empty after every call. No libev, no
 * waiting, no printing; the fd stays the caller's.
 */
#define _POSIX_C_SOURCE 200809L

#include "tls/tls_conn.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>

static void set_reason(struct tls_conn *c, const char *a, const char *b)
{
    snprintf(c->reason, sizeof(c->reason), "%s%s", a, b);
}

/*
 * Turns the result `ret` of an SSL call into a status. `errno_after` is errno
 * right after the call; `in_data` says whether the handshake was done (an EOF
 * then is a close, not a failed handshake).
 */
static int classify(struct tls_conn *c, int ret, int errno_after, bool in_data)
{
    int e = SSL_get_error(c->ssl, ret);
    unsigned long err;
    const char *s;

    switch (e) {
    case SSL_ERROR_WANT_READ:
        return TLS_CONN_WANT_READ;
    case SSL_ERROR_WANT_WRITE:
        return TLS_CONN_WANT_WRITE;
    case SSL_ERROR_ZERO_RETURN:
        c->peer_closed = true;
        c->clean_close = true;
        ERR_clear_error();
        return TLS_CONN_CLOSED;
    case SSL_ERROR_SYSCALL:
        if (ERR_peek_error() != 0)
            break; /* described by the queue, below */
        c->fatal = true;
        if (errno_after != 0) {
            set_reason(c, "system error: ", strerror(errno_after));
            return TLS_CONN_ERROR;
        }
        goto eof;
    case SSL_ERROR_SSL:
        break;
    default:
        c->fatal = true;
        set_reason(c, "unexpected OpenSSL state", "");
        ERR_clear_error();
        return TLS_CONN_ERROR;
    }

    c->fatal = true;
    err = ERR_peek_error();
    if (ERR_GET_LIB(err) == ERR_LIB_SSL &&
        ERR_GET_REASON(err) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
        ERR_clear_error();
        goto eof;
    }
    if (ERR_GET_LIB(err) == ERR_LIB_SSL &&
        ERR_GET_REASON(err) == SSL_R_CERTIFICATE_VERIFY_FAILED) {
        long v = SSL_get_verify_result(c->ssl);
        set_reason(c, "certificate verify failed: ", X509_verify_cert_error_string(v));
    } else if (err == 0) {
        set_reason(c, "TLS failure without a reason", "");
    } else {
        s = ERR_reason_error_string(err);
        set_reason(c, s != NULL ? s : "unknown TLS error", "");
    }
    ERR_clear_error();
    return TLS_CONN_ERROR;

eof:
    if (in_data) {
        c->peer_closed = true;
        c->clean_close = false;
        set_reason(c, "the peer closed without close_notify", "");
        return TLS_CONN_CLOSED;
    }
    set_reason(c, "the peer closed the connection during the handshake", "");
    return TLS_CONN_ERROR;
}

static int start(struct tls_conn *c, SSL_CTX *ctx, int fd, char *err, size_t errlen)
{
    memset(c, 0, sizeof(*c));
    ERR_clear_error();
    c->ssl = SSL_new(ctx);
    if (c->ssl == NULL || SSL_set_fd(c->ssl, fd) != 1) {
        snprintf(err, errlen, "cannot create a TLS connection: %s",
                 ERR_reason_error_string(ERR_peek_error()) != NULL
                     ? ERR_reason_error_string(ERR_peek_error())
                     : "out of memory");
        ERR_clear_error();
        SSL_free(c->ssl);
        c->ssl = NULL;
        return -1;
    }
    return 0;
}

int tls_conn_start_server(struct tls_conn *c, const struct tls_server *srv, int fd,
                          char *err, size_t errlen)
{
    if (start(c, tls_server_ctx(srv), fd, err, errlen) != 0)
        return -1;
    SSL_set_accept_state(c->ssl);
    return 0;
}

int tls_conn_start_client(struct tls_conn *c, const struct tls_client *cli, int fd,
                          char *err, size_t errlen)
{
    if (start(c, tls_client_ctx(cli), fd, err, errlen) != 0)
        return -1;
    if (tls_client_prepare(cli, c->ssl, err, errlen) != 0) {
        SSL_free(c->ssl);
        c->ssl = NULL;
        return -1;
    }
    SSL_set_connect_state(c->ssl);
    return 0;
}

int tls_conn_handshake(struct tls_conn *c)
{
    int ret, saved;

    if (c->fatal)
        return TLS_CONN_ERROR;
    ERR_clear_error();
    errno = 0;
    ret = SSL_do_handshake(c->ssl);
    saved = errno;
    if (ret == 1) {
        if (!SSL_is_server(c->ssl))
            tls_client_keep_session(c->ssl);
        return TLS_CONN_DONE;
    }
    return classify(c, ret, saved, false);
}

ssize_t tls_conn_read(struct tls_conn *c, void *buf, size_t len)
{
    int ret, saved;

    if (c->fatal)
        return TLS_CONN_ERROR;
    if (c->peer_closed)
        return TLS_CONN_CLOSED;
    ERR_clear_error();
    errno = 0;
    ret = SSL_read(c->ssl, buf, len > INT_MAX ? INT_MAX : (int)len);
    saved = errno;
    if (ret > 0) {
        c->read_starved = false;
        return ret;
    }
    ret = classify(c, ret, saved, true);
    c->read_starved = ret == TLS_CONN_WANT_READ;
    return ret;
}

ssize_t tls_conn_write(struct tls_conn *c, const void *buf, size_t len)
{
    int ret, saved;

    if (c->fatal)
        return TLS_CONN_ERROR;
    ERR_clear_error();
    errno = 0;
    ret = SSL_write(c->ssl, buf, len > INT_MAX ? INT_MAX : (int)len);
    saved = errno;
    if (ret > 0)
        return ret;
    ret = classify(c, ret, saved, true);
    if (ret == TLS_CONN_CLOSED) { /* a close_notify, yet we were writing: cannot send */
        c->fatal = true;
        if (c->reason[0] == '\0')
            set_reason(c, "the peer closed the connection", "");
        return TLS_CONN_ERROR;
    }
    return ret;
}

bool tls_conn_pending(const struct tls_conn *c)
{
    if (c->ssl == NULL || c->fatal)
        return false;
    return SSL_pending(c->ssl) > 0 || (!c->read_starved && SSL_has_pending(c->ssl));
}

int tls_conn_shutdown(struct tls_conn *c)
{
    int ret, saved;

    if (c->ssl == NULL || c->fatal || !SSL_is_init_finished(c->ssl))
        return TLS_CONN_DONE;
    ERR_clear_error();
    errno = 0;
    ret = SSL_shutdown(c->ssl);
    saved = errno;
    if (ret >= 0) /* 0: our close_notify is sent, the peer's not awaited */
        return TLS_CONN_DONE;
    ret = classify(c, ret, saved, true);
    return ret == TLS_CONN_CLOSED ? TLS_CONN_DONE : ret;
}

void tls_conn_free(struct tls_conn *c)
{
    /* OpenSSL forgets the session of a connection freed without a close_notify
     * exchange. Only a failure should do that: a connection that merely ended
     * (idle timeout, bare EOF) keeps its session resumable. */
    if (c->ssl != NULL && !c->fatal && SSL_is_init_finished(c->ssl))
        SSL_set_shutdown(c->ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    SSL_free(c->ssl);
    c->ssl = NULL;
}

const char *tls_conn_reason(const struct tls_conn *c)
{
    return c->reason;
}

const char *tls_conn_version(const struct tls_conn *c)
{
    return SSL_get_version(c->ssl);
}

const char *tls_conn_cipher(const struct tls_conn *c)
{
    const char *s = SSL_get_cipher_name(c->ssl);
    return s != NULL ? s : "";
}

const char *tls_conn_alpn(struct tls_conn *c)
{
    const unsigned char *p = NULL;
    unsigned int len = 0;

    SSL_get0_alpn_selected(c->ssl, &p, &len);
    if (p == NULL || len >= sizeof(c->alpn))
        len = 0;
    if (len > 0)
        memcpy(c->alpn, p, len);
    c->alpn[len] = '\0';
    return c->alpn;
}

const char *tls_conn_sni(const struct tls_conn *c)
{
    return SSL_get_servername(c->ssl, TLSEXT_NAMETYPE_host_name);
}

bool tls_conn_resumed(const struct tls_conn *c)
{
    return SSL_session_reused(c->ssl) == 1;
}

bool tls_conn_clean_close(const struct tls_conn *c)
{
    return c->clean_close;
}

SSL *tls_conn_ssl(const struct tls_conn *c)
{
    return c->ssl;
}
