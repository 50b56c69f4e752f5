/*
 * tls_ctx: OpenSSL contexts built from the configuration (see tls_ctx.h).
 *
 * One SSL_CTX per TLS frontend: the first certificate is the context's own, the
 * others are kept beside it and installed on a connection by the certificate
 * callback when the client's SNI names them. One SSL_CTX per TLS server line.
 * What the callbacks need lives in the context's ex_data and is freed with the
 * context, so that no SSL can outlive the data it uses. No sockets, no printing.
 */
#define _POSIX_C_SOURCE 200809L

#include "tls/tls_ctx.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "tls/sess_cache.h"

const char tls_default_ciphers[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

#define TICKET_NAME_BYTES 16
#define TICKET_AES_BYTES  32 /* AES-256-CBC */
#define TICKET_HMAC_BYTES 32 /* HMAC-SHA256 */

struct ticket_key {
    unsigned char name[TICKET_NAME_BYTES];
    unsigned char aes[TICKET_AES_BYTES];
    unsigned char hmac[TICKET_HMAC_BYTES];
};

/* One tls_cert/tls_key pair, and the names it answers for. */
struct cert_entry {
    X509 *leaf;
    EVP_PKEY *key;
    STACK_OF(X509) * chain;
    char **names; /* subjectAltName DNS names, or the CN when there is none */
    size_t name_count;
    uint32_t id;  /* the first bytes of its SHA-256: the same across reloads */
};

/* A frontend's session-ID cache, shared by the contexts of successive reloads
 * (as the ticket keys are carried over) and freed with the last of them. */
struct sess_store {
    pthread_mutex_t lock; /* guards cache */
    atomic_uint refs;
    struct sess_cache *cache;
};

/* Attached to a server SSL_CTX (ex_data), freed with it. */
struct server_data {
    pthread_mutex_t lock; /* guards the ticket keys */
    struct ticket_key cur, prev;
    bool has_prev;
    struct cert_entry *certs;
    size_t cert_count;
    struct sess_store *sessions; /* NULL: tls_session_cache = 0 */
};

/* Attached to a client SSL_CTX (ex_data), freed with it. */
struct client_data {
    pthread_mutex_t lock; /* guards last */
    SSL_SESSION *last;    /* the last resumable session, offered to the next conn */
    char name[256];       /* the SNI/verified name, or an IP address */
    bool name_is_ip;
    bool verify;
};

struct tls_server {
    SSL_CTX *ctx;
};

struct tls_client {
    SSL_CTX *ctx;
};

struct tls_set {
    size_t frontend_count;
    struct tls_server **frontends;
    char (*frontend_names)[CONF_NAME_MAX];
    size_t pool_count;
    size_t *server_counts;
    struct tls_client ***servers;
};

/* ---- reporting -------------------------------------------------------------------- */

struct reporter {
    tls_report_fn fn;
    void *arg;
    const char *path;
    int count;
};

static void say(struct reporter *r, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void say(struct reporter *r, int line, const char *fmt, ...)
{
    char msg[1024];
    char full[1400];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (line > 0)
        snprintf(full, sizeof(full), "%s:%d: %s", r->path, line, msg);
    else
        snprintf(full, sizeof(full), "%s: %s", r->path, msg);
    r->count++;
    if (r->fn != NULL)
        r->fn(r->arg, full);
}

/* The first OpenSSL reason of the error queue, then clears the queue. `no_pem`
 * (if not NULL) replaces PEM's "no start line": the file holds no such block. */
static const char *ssl_reason(const char *no_pem, char *buf, size_t len)
{
    unsigned long e = ERR_peek_error();
    const char *s;

    if (e == 0) {
        snprintf(buf, len, "unknown error");
    } else if (ERR_GET_LIB(e) == ERR_LIB_PEM &&
               ERR_GET_REASON(e) == PEM_R_NO_START_LINE && no_pem != NULL) {
        snprintf(buf, len, "%s", no_pem);
    } else {
        s = ERR_reason_error_string(e);
        snprintf(buf, len, "%s", s != NULL ? s : "unknown error");
    }
    ERR_clear_error();
    return buf;
}

/* ---- ex_data indexes -------------------------------------------------------------- */

static int server_idx = -1;
static int client_idx = -1;
static int hello_idx = -1; /* SSL: 1 + the certificate its ClientHello's SNI picks */
static pthread_once_t idx_once = PTHREAD_ONCE_INIT;

static void cert_entry_clear(struct cert_entry *e)
{
    X509_free(e->leaf);
    EVP_PKEY_free(e->key);
    sk_X509_pop_free(e->chain, X509_free);
    for (size_t i = 0; i < e->name_count; i++)
        free(e->names[i]);
    free(e->names);
    memset(e, 0, sizeof(*e));
}

static void sess_store_release(struct sess_store *st)
{
    if (st == NULL || atomic_fetch_sub(&st->refs, 1) != 1)
        return;
    sess_cache_free(st->cache);
    pthread_mutex_destroy(&st->lock);
    free(st);
}

static void server_data_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx,
                             long argl, void *argp)
{
    struct server_data *d = ptr;
    (void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
    if (d == NULL)
        return;
    sess_store_release(d->sessions);
    for (size_t i = 0; i < d->cert_count; i++)
        cert_entry_clear(&d->certs[i]);
    free(d->certs);
    OPENSSL_cleanse(&d->cur, sizeof(d->cur));
    OPENSSL_cleanse(&d->prev, sizeof(d->prev));
    pthread_mutex_destroy(&d->lock);
    free(d);
}

static void client_data_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx,
                             long argl, void *argp)
{
    struct client_data *d = ptr;
    (void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
    if (d == NULL)
        return;
    SSL_SESSION_free(d->last);
    pthread_mutex_destroy(&d->lock);
    free(d);
}

static void idx_init(void)
{
    server_idx = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, server_data_free);
    client_idx = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, client_data_free);
    hello_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

static bool idx_ready(void)
{
    pthread_once(&idx_once, idx_init);
    return server_idx >= 0 && client_idx >= 0 && hello_idx >= 0;
}

static struct server_data *server_data_of(const SSL *ssl)
{
    return SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), server_idx);
}

/* ---- certificates ----------------------------------------------------------------- */

static int no_password(char *buf, int size, int rwflag, void *u)
{
    (void)buf, (void)size, (void)rwflag, (void)u;
    return -1; /* encrypted keys are not supported: never prompt */
}

static int add_name(struct cert_entry *e, const unsigned char *s, int len)
{
    char **names;
    char *copy;

    if (len <= 0 || memchr(s, '\0', (size_t)len) != NULL)
        return 0; /* not a usable host name: ignored */
    names = realloc(e->names, (e->name_count + 1) * sizeof(*names));
    if (names == NULL)
        return -1;
    e->names = names;
    copy = malloc((size_t)len + 1);
    if (copy == NULL)
        return -1;
    memcpy(copy, s, (size_t)len);
    copy[len] = '\0';
    e->names[e->name_count++] = copy;
    return 0;
}

/* Fills e->names from the subjectAltName DNS entries, or the CN if there are none. */
static int collect_names(struct cert_entry *e)
{
    GENERAL_NAMES *sans = X509_get_ext_d2i(e->leaf, NID_subject_alt_name, NULL, NULL);
    int rc = 0;

    if (sans != NULL) {
        for (int i = 0; i < sk_GENERAL_NAME_num(sans) && rc == 0; i++) {
            const GENERAL_NAME *g = sk_GENERAL_NAME_value(sans, i);
            if (g->type == GEN_DNS)
                rc = add_name(e, ASN1_STRING_get0_data(g->d.dNSName),
                              ASN1_STRING_length(g->d.dNSName));
        }
        GENERAL_NAMES_free(sans);
    }
    if (rc == 0 && e->name_count == 0) {
        const X509_NAME *subj = X509_get_subject_name(e->leaf);
        int pos = X509_NAME_get_index_by_NID(subj, NID_commonName, -1);
        if (pos >= 0) {
            const ASN1_STRING *cn =
                X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, pos));
            rc = add_name(e, ASN1_STRING_get0_data(cn), ASN1_STRING_length(cn));
        }
    }
    ERR_clear_error();
    return rc;
}

/* A PEM file read whole (certificates and keys are small). */
struct pem_file {
    char *text;
    BIO *bio;
};

#define PEM_FILE_MAX (1024 * 1024)

static void pem_close(struct pem_file *f)
{
    BIO_free(f->bio);
    free(f->text);
    memset(f, 0, sizeof(*f));
}

/* Reads `path` into f; reports "cannot load WHAT PATH: ..." and returns -1 when
 * the file cannot be read or holds no PEM block at all. */
static int pem_open(struct reporter *r, int line, const char *fe, const char *what,
                    const char *path, struct pem_file *f)
{
    FILE *fp = fopen(path, "r");
    size_t len;

    memset(f, 0, sizeof(*f));
    if (fp == NULL) {
        say(r, line, "frontend %s: cannot load %s %s: %s", fe, what, path,
            strerror(errno));
        return -1;
    }
    f->text = malloc(PEM_FILE_MAX + 1);
    if (f->text == NULL) {
        fclose(fp);
        say(r, line, "frontend %s: cannot load %s %s: out of memory", fe, what, path);
        return -1;
    }
    len = fread(f->text, 1, PEM_FILE_MAX + 1, fp);
    if (ferror(fp)) {
        say(r, line, "frontend %s: cannot load %s %s: %s", fe, what, path,
            strerror(errno));
        fclose(fp);
        pem_close(f);
        return -1;
    }
    fclose(fp);
    if (len > PEM_FILE_MAX) {
        say(r, line, "frontend %s: cannot load %s %s: larger than 1 MiB", fe, what, path);
        pem_close(f);
        return -1;
    }
    f->text[len] = '\0';
    if (strstr(f->text, "-----BEGIN ") == NULL) {
        say(r, line, "frontend %s: cannot load %s %s: no PEM %s found", fe, what, path,
            what);
        pem_close(f);
        return -1;
    }
    f->bio = BIO_new_mem_buf(f->text, (int)len);
    if (f->bio == NULL) {
        say(r, line, "frontend %s: cannot load %s %s: out of memory", fe, what, path);
        pem_close(f);
        return -1;
    }
    return 0;
}

/* Loads one tls_cert/tls_key pair into e; reports and returns -1 on any problem. */
static int load_pair(struct reporter *r, const struct conf_frontend *fe,
                     const struct conf_tls_cert *c, struct cert_entry *e)
{
    struct pem_file f;
    char why[256];
    X509 *x;
    unsigned long err;
    int rc = 0;

    ERR_clear_error();
    if (pem_open(r, c->line, fe->name, "certificate", c->cert_file, &f) != 0)
        return -1;
    e->leaf = PEM_read_bio_X509_AUX(f.bio, NULL, no_password, NULL);
    if (e->leaf == NULL) {
        say(r, c->line, "frontend %s: cannot load certificate %s: %s", fe->name,
            c->cert_file, ssl_reason("no PEM certificate found", why, sizeof(why)));
        pem_close(&f);
        return -1;
    }
    e->chain = sk_X509_new_null();
    if (e->chain == NULL) {
        pem_close(&f);
        say(r, c->line, "frontend %s: out of memory", fe->name);
        return -1;
    }
    /* The rest of the file is the chain, up to the end of the PEM blocks. */
    while ((x = PEM_read_bio_X509(f.bio, NULL, no_password, NULL)) != NULL) {
        if (!sk_X509_push(e->chain, x)) {
            X509_free(x);
            pem_close(&f);
            say(r, c->line, "frontend %s: out of memory", fe->name);
            return -1;
        }
    }
    err = ERR_peek_last_error();
    if (err != 0 && !(ERR_GET_LIB(err) == ERR_LIB_PEM &&
                      ERR_GET_REASON(err) == PEM_R_NO_START_LINE)) {
        say(r, c->line, "frontend %s: cannot load the chain in certificate %s: %s",
            fe->name, c->cert_file, ssl_reason(NULL, why, sizeof(why)));
        rc = -1;
    }
    ERR_clear_error();
    pem_close(&f);

    if (pem_open(r, c->line, fe->name, "private key", c->key_file, &f) != 0)
        return -1;
    e->key = PEM_read_bio_PrivateKey(f.bio, NULL, no_password, NULL);
    pem_close(&f);
    if (e->key == NULL) {
        /* OpenSSL's decoders say little more than "unsupported" here */
        say(r, c->line,
            "frontend %s: cannot load private key %s: no usable unencrypted private key "
            "(%s)",
            fe->name, c->key_file, ssl_reason(NULL, why, sizeof(why)));
        return -1;
    }
    if (X509_check_private_key(e->leaf, e->key) != 1) {
        ERR_clear_error();
        say(r, c->line, "frontend %s: private key %s does not match certificate %s",
            fe->name, c->key_file, c->cert_file);
        return -1;
    }
    if (collect_names(e) != 0) {
        say(r, c->line, "frontend %s: out of memory", fe->name);
        return -1;
    }
    {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int mdlen = 0;
        if (X509_digest(e->leaf, EVP_sha256(), md, &mdlen) != 1 || mdlen < 4) {
            ERR_clear_error();
            say(r, c->line, "frontend %s: cannot hash certificate %s", fe->name,
                c->cert_file);
            return -1;
        }
        e->id = (uint32_t)md[0] << 24 | (uint32_t)md[1] << 16 | (uint32_t)md[2] << 8 |
                md[3];
    }
    return rc;
}

/* "*.example.com" matches exactly one more label: a.example.com, not example.com
 * nor b.a.example.com. Case-insensitive. */
static bool name_matches(const char *pattern, const char *host, bool wildcard)
{
    if (pattern[0] == '*' && pattern[1] == '.') {
        const char *dot = strchr(host, '.');
        if (!wildcard || dot == NULL || dot == host)
            return false;
        return strcasecmp(dot + 1, pattern + 2) == 0;
    }
    return !wildcard && strcasecmp(pattern, host) == 0;
}

/* Index of the certificate for `host`: exact names first, then wildcards, both in
 * configuration order; 0 (the first certificate) when none matches. */
static size_t pick_cert(const struct server_data *d, const char *host)
{
    char name[256];
    size_t len = strlen(host);

    if (len == 0 || len >= sizeof(name))
        return 0;
    memcpy(name, host, len + 1);
    if (name[len - 1] == '.')
        name[len - 1] = '\0'; /* an absolute name */
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < d->cert_count; i++)
            for (size_t j = 0; j < d->certs[i].name_count; j++)
                if (name_matches(d->certs[i].names[j], name, pass == 1))
                    return i;
    return 0;
}

/* Called by OpenSSL when it is about to choose the server certificate. */
static int cert_cb(SSL *ssl, void *arg)
{
    struct server_data *d = server_data_of(ssl);
    const char *host = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    const struct cert_entry *e;
    size_t i;

    (void)arg;
    if (d == NULL || host == NULL)
        return 1;
    i = pick_cert(d, host);
    if (i == 0)
        return 1; /* the context's own certificate */
    e = &d->certs[i];
    SSL_certs_clear(ssl); /* else a first certificate of another key type could win */
    return SSL_use_cert_and_key(ssl, e->leaf, e->key, e->chain, 1) == 1 ? 1 : 0;
}

/* ALPN for HTTP frontends: http/1.1 if the client offers it; a client that offers
 * only other protocols gets no ALPN answer (and will speak HTTP/1.1 or leave). */
static int alpn_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                   const unsigned char *in, unsigned int inlen, void *arg)
{
    static const char h11[] = "http/1.1";
    unsigned int i = 0;

    (void)ssl, (void)arg;
    while (i < inlen) {
        unsigned int n = in[i];
        if (n == 0 || i + 1 + n > inlen)
            break;
        if (n == sizeof(h11) - 1 && memcmp(in + i + 1, h11, n) == 0) {
            *out = in + i + 1;
            *outlen = (unsigned char)n;
            return SSL_TLSEXT_ERR_OK;
        }
        i += 1 + n;
    }
    return SSL_TLSEXT_ERR_NOACK;
}

/* ---- session tickets -------------------------------------------------------------- */

static int new_ticket_key(struct ticket_key *k)
{
    if (RAND_bytes(k->name, sizeof(k->name)) != 1 ||
        RAND_bytes(k->aes, sizeof(k->aes)) != 1 ||
        RAND_bytes(k->hmac, sizeof(k->hmac)) != 1) {
        ERR_clear_error();
        return -1;
    }
    return 0;
}

/*
 * The ticket key callback (SSL_CTX_set_tlsext_ticket_key_evp_cb): encrypts with the
 * current key; decrypts with the current (1) or the previous key (2: accept and
 * issue a new ticket); 0 when the key is unknown, which makes a full handshake.
 * TLS 1.3 clients use a ticket once (RFC 8446 C.4; OpenSSL clients enforce it), and
 * OpenSSL sends a ticket after a resumption only when asked to renew: so TLS 1.3
 * always gets 2, or every other connection would be a full handshake.
 */
static int ticket_cb(SSL *ssl, unsigned char key_name[16], unsigned char *iv,
                     EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc)
{
    struct server_data *d = server_data_of(ssl);
    struct ticket_key k;
    OSSL_PARAM params[3];
    char digest[] = "SHA256";
    int found = 0;
    int ret = -1;

    if (d == NULL)
        return -1;
    pthread_mutex_lock(&d->lock);
    if (enc || memcmp(key_name, d->cur.name, TICKET_NAME_BYTES) == 0) {
        k = d->cur;
        found = 1;
    } else if (d->has_prev && memcmp(key_name, d->prev.name, TICKET_NAME_BYTES) == 0) {
        k = d->prev;
        found = 2;
    }
    pthread_mutex_unlock(&d->lock);
    if (found == 0)
        return 0;

    params[0] =
        OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, k.hmac, sizeof(k.hmac));
    params[1] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0);
    params[2] = OSSL_PARAM_construct_end();
    if (enc) {
        memcpy(key_name, k.name, TICKET_NAME_BYTES);
        if (RAND_bytes(iv, EVP_CIPHER_get_iv_length(EVP_aes_256_cbc())) == 1 &&
            EVP_EncryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, k.aes, iv) == 1 &&
            EVP_MAC_CTX_set_params(hctx, params) == 1)
            ret = 1;
    } else {
        if (EVP_DecryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, k.aes, iv) == 1 &&
            EVP_MAC_CTX_set_params(hctx, params) == 1)
            ret = SSL_version(ssl) >= TLS1_3_VERSION ? 2 : found;
    }
    OPENSSL_cleanse(&k, sizeof(k));
    return ret;
}

/* ---- resumption under the right name ---------------------------------------------- *
 * RFC 6066 §3: a server MUST NOT resume a session for a different server name. A
 * client that offers the ticket of a.test while asking for b.test would otherwise be
 * answered as a.test, with no certificate at all (OpenSSL resumes it: no name is
 * kept with a TLS 1.3 session, and at the time a ticket is decrypted the SNI is not
 * known yet). So with several certificates each ticket carries the identity of the
 * certificate its session was made with (a hash of it, not its index, which a
 * reload may give to another certificate), the ClientHello's SNI is looked at before
 * any ticket, and a ticket made for another certificate gets a full handshake (with
 * the right certificate) and a new ticket. Tickets of one certificate's several
 * names resume across them, as the same certificate proves each. */

/* Before anything else of a ClientHello: the certificate its SNI picks. */
static int client_hello_cb(SSL *ssl, int *alert, void *arg)
{
    struct server_data *d = server_data_of(ssl);
    const unsigned char *p;
    size_t len, idx = 0;
    char host[256];

    (void)alert, (void)arg;
    /* server_name: a 2-byte list length, then type 0 (host_name), 2-byte length */
    if (d != NULL && d->cert_count > 1 &&
        SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &p, &len) == 1 &&
        len >= 5 && (size_t)((p[0] << 8) | p[1]) == len - 2 &&
        p[2] == TLSEXT_NAMETYPE_host_name) {
        size_t n = (size_t)((p[3] << 8) | p[4]);
        if (n > 0 && n < sizeof(host) && n <= len - 5) {
            memcpy(host, p + 5, n);
            host[n] = '\0';
            idx = pick_cert(d, host);
        }
    }
    SSL_set_ex_data(ssl, hello_idx, (void *)(uintptr_t)(idx + 1));
    return SSL_CLIENT_HELLO_SUCCESS;
}

/* The certificate this handshake's SNI picks (client_hello_cb). */
static uint32_t hello_cert(const SSL *ssl)
{
    uintptr_t v = (uintptr_t)SSL_get_ex_data(ssl, hello_idx);
    return v > 0 ? (uint32_t)(v - 1) : 0;
}

/* The identity (cert_entry.id) of the certificate this handshake's SNI picks. */
static uint32_t hello_cert_id(const SSL *ssl)
{
    const struct server_data *d = server_data_of(ssl);
    uint32_t i = hello_cert(ssl);
    return d != NULL && i < d->cert_count ? d->certs[i].id : 0;
}

/* A ticket is about to be made: it carries its certificate's identity. */
static int ticket_made_cb(SSL *ssl, void *arg)
{
    uint32_t idx = hello_cert_id(ssl);
    unsigned char b[4] = {(unsigned char)(idx >> 24), (unsigned char)(idx >> 16),
                          (unsigned char)(idx >> 8), (unsigned char)idx};
    (void)arg;
    return SSL_SESSION_set1_ticket_appdata(SSL_get0_session(ssl), b, sizeof(b));
}

/* A ticket was decrypted (or was empty, or could not be): OpenSSL's own answers,
 * except for a ticket made for another certificate (see above). */
static SSL_TICKET_RETURN ticket_read_cb(SSL *ssl, SSL_SESSION *sess,
                                        const unsigned char *keyname, size_t keyname_len,
                                        SSL_TICKET_STATUS status, void *arg)
{
    void *data;
    size_t len;

    (void)keyname, (void)keyname_len, (void)arg;
    switch (status) {
    case SSL_TICKET_SUCCESS:
    case SSL_TICKET_SUCCESS_RENEW:
        if (SSL_SESSION_get0_ticket_appdata(sess, &data, &len) == 1 && len == 4) {
            const unsigned char *b = data;
            uint32_t idx = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
                           (uint32_t)b[2] << 8 | b[3];
            if (idx != hello_cert_id(ssl))
                return SSL_TICKET_RETURN_IGNORE_RENEW;
        }
        return status == SSL_TICKET_SUCCESS ? SSL_TICKET_RETURN_USE
                                            : SSL_TICKET_RETURN_USE_RENEW;
    case SSL_TICKET_EMPTY:
    case SSL_TICKET_NO_DECRYPT:
        return SSL_TICKET_RETURN_IGNORE_RENEW;
    case SSL_TICKET_NONE: /* not passed to this callback; no ticket to send either */
        return SSL_TICKET_RETURN_IGNORE;
    default:
        return SSL_TICKET_RETURN_ABORT;
    }
}

/* ---- session-ID cache ------------------------------------------------------------- *
 * For TLS 1.2 clients that take no tickets (Java 8, some embedded stacks): their
 * sessions are kept by ID in a bounded cache (sess_cache, least recently used out),
 * serialised, with the identity of their certificate so that, as with tickets, a
 * session resumes only under a name of that certificate. OpenSSL gives no session
 * ID to a TLS 1.2 session that gets a ticket, so only those of clients without
 * tickets come here. OpenSSL's own cache is off: because of our ticket key callback
 * it would keep every TLS 1.3 session too. OpenSSL still checks what comes back
 * (its age against the context's timeout, the session ID context, the cipher). */

/* A new TLS 1.2 session with an ID (its client takes no tickets): into the cache. */
static int sess_new_cb(SSL *ssl, SSL_SESSION *sess)
{
    struct server_data *d = server_data_of(ssl);
    unsigned char buf[SESS_CACHE_BLOB_MAX], *p = buf;
    const unsigned char *id;
    unsigned int id_len;
    int len;

    if (d == NULL || d->sessions == NULL ||
        SSL_SESSION_get_protocol_version(sess) >= TLS1_3_VERSION)
        return 0; /* TLS 1.3 resumes by tickets only */
    id = SSL_SESSION_get_id(sess, &id_len);
    if (id_len == 0)
        return 0;
    len = i2d_SSL_SESSION(sess, NULL);
    if (len <= 0 || len > (int)sizeof(buf) || i2d_SSL_SESSION(sess, &p) != len) {
        ERR_clear_error();
        return 0;
    }
    pthread_mutex_lock(&d->sessions->lock);
    sess_cache_put(d->sessions->cache, id, id_len, hello_cert_id(ssl), buf, (size_t)len);
    pthread_mutex_unlock(&d->sessions->lock);
    OPENSSL_cleanse(buf, (size_t)len);
    return 0; /* no reference kept: the cache holds a copy */
}

/* A ClientHello offers session `id`: the session, if kept for this certificate. */
static SSL_SESSION *sess_get_cb(SSL *ssl, const unsigned char *id, int id_len, int *copy)
{
    struct server_data *d = server_data_of(ssl);
    unsigned char buf[SESS_CACHE_BLOB_MAX];
    const unsigned char *p = buf;
    SSL_SESSION *sess = NULL;
    uint32_t cert = 0;
    size_t len;

    *copy = 0; /* what we return is OpenSSL's */
    if (d == NULL || d->sessions == NULL || id_len <= 0)
        return NULL;
    pthread_mutex_lock(&d->sessions->lock);
    len = sess_cache_get(d->sessions->cache, id, (size_t)id_len, &cert, buf, sizeof(buf));
    pthread_mutex_unlock(&d->sessions->lock);
    if (len > 0 && cert == hello_cert_id(ssl)) {
        sess = d2i_SSL_SESSION(NULL, &p, (long)len);
        if (sess == NULL)
            ERR_clear_error();
    }
    OPENSSL_cleanse(buf, len);
    return sess;
}

/*
 * OpenSSL drops a session: expired, or its connection failed (a fatal alert). It
 * also does so when the client closed TCP without close_notify, which OpenSSL 3
 * reports as a fatal error; since TLS 1.1 that is no reason to forget a session
 * (RFC 5246 §7.2.1), most clients close that way, and HAProxy keeps such sessions.
 * So that case, recognised by the error OpenSSL has just queued in this thread,
 * keeps its entry.
 */
static void sess_remove_cb(SSL_CTX *ctx, SSL_SESSION *sess)
{
    struct server_data *d = SSL_CTX_get_ex_data(ctx, server_idx);
    unsigned long e = ERR_peek_last_error();
    const unsigned char *id;
    unsigned int id_len;

    if (d == NULL || d->sessions == NULL)
        return;
    if (ERR_GET_LIB(e) == ERR_LIB_SSL &&
        ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
        return;
    id = SSL_SESSION_get_id(sess, &id_len);
    pthread_mutex_lock(&d->sessions->lock);
    sess_cache_remove(d->sessions->cache, id, id_len);
    pthread_mutex_unlock(&d->sessions->lock);
}

/* The cache of a frontend with tls_session_cache = `capacity`: the previous
 * context's when it has one of that size, else a new one; NULL when out of memory. */
static struct sess_store *sess_store_for(const struct server_data *prev, size_t capacity)
{
    struct sess_store *st;

    if (prev != NULL && prev->sessions != NULL &&
        sess_cache_capacity(prev->sessions->cache) == capacity) {
        atomic_fetch_add(&prev->sessions->refs, 1);
        return prev->sessions;
    }
    st = calloc(1, sizeof(*st));
    if (st == NULL)
        return NULL;
    st->cache = sess_cache_new(capacity);
    if (st->cache == NULL || pthread_mutex_init(&st->lock, NULL) != 0) {
        sess_cache_free(st->cache);
        free(st);
        return NULL;
    }
    atomic_init(&st->refs, 1);
    return st;
}

int tls_server_rotate_ticket_keys(struct tls_server *srv)
{
    struct server_data *d = SSL_CTX_get_ex_data(srv->ctx, server_idx);
    struct ticket_key k;

    if (new_ticket_key(&k) != 0)
        return -1;
    pthread_mutex_lock(&d->lock);
    d->prev = d->cur;
    d->has_prev = true;
    d->cur = k;
    pthread_mutex_unlock(&d->lock);
    OPENSSL_cleanse(&k, sizeof(k));
    return 0;
}

/* ---- server context --------------------------------------------------------------- */

/* Splits a tls_ciphers value into the TLS 1.3 suites (TLS_*) and the rest. */
static int split_ciphers(const char *list, char **tls13, char **tls12)
{
    size_t n = strlen(list) + 1;
    char *copy = strdup(list);
    char *save = NULL;

    *tls13 = calloc(1, n);
    *tls12 = calloc(1, n);
    if (copy == NULL || *tls13 == NULL || *tls12 == NULL) {
        free(copy);
        return -1;
    }
    for (char *tok = strtok_r(copy, ": ,", &save); tok != NULL;
         tok = strtok_r(NULL, ": ,", &save)) {
        char *dst = strncmp(tok, "TLS_", 4) == 0 ? *tls13 : *tls12;
        if (*dst != '\0')
            strcat(dst, ":");
        strcat(dst, tok);
    }
    free(copy);
    return 0;
}

static int set_ciphers(struct reporter *r, const struct conf_frontend *fe, SSL_CTX *ctx)
{
    char *tls13 = NULL, *tls12 = NULL;
    char why[256];
    int rc = 0;

    if (fe->tls_ciphers == NULL) {
        if (SSL_CTX_set_cipher_list(ctx, tls_default_ciphers) != 1) {
            say(r, fe->line, "frontend %s: the built-in cipher list is refused: %s",
                fe->name, ssl_reason(NULL, why, sizeof(why)));
            return -1;
        }
        return 0;
    }
    if (split_ciphers(fe->tls_ciphers, &tls13, &tls12) != 0) {
        say(r, fe->line, "frontend %s: out of memory", fe->name);
        rc = -1;
        goto done;
    }
    ERR_clear_error();
    if (SSL_CTX_set_cipher_list(ctx, *tls12 != '\0' ? tls12 : tls_default_ciphers) != 1 ||
        (*tls13 != '\0' && SSL_CTX_set_ciphersuites(ctx, tls13) != 1)) {
        ERR_clear_error();
        say(r, fe->line, "frontend %s: tls_ciphers '%s' selects no usable cipher",
            fe->name, fe->tls_ciphers);
        rc = -1;
    }
done:
    free(tls13);
    free(tls12);
    return rc;
}

static SSL_CTX *new_ctx(const SSL_METHOD *method)
{
    SSL_CTX *ctx = SSL_CTX_new(method);

    if (ctx == NULL)
        return NULL;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
    /* Partial writes and a moving write buffer: tls_conn's callers pass the unsent
     * tail of their buffers; released buffers keep idle connections small. */
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
                              SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                              SSL_MODE_RELEASE_BUFFERS);
    /* one read(2) takes every record the socket holds, not a header and then
     * its body: a system call less per request (tls_conn_pending() knows) */
    SSL_CTX_set_read_ahead(ctx, 1);
    return ctx;
}

int tls_server_new(const struct conf_frontend *fe, const char *conf_path,
                   const struct tls_server *prev, tls_report_fn report, void *arg,
                   struct tls_server **out)
{
    struct reporter r = {report, arg, conf_path, 0};
    static const unsigned char sid_ctx[] = "raftlb";
    struct tls_server *srv = NULL;
    struct server_data *d = NULL;
    SSL_CTX *ctx = NULL;
    SSL_CTX *scratch = NULL;
    char why[256];
    int min_version = TLS1_2_VERSION;

    *out = NULL;
    if (!idx_ready()) {
        say(&r, fe->line, "frontend %s: cannot initialise OpenSSL", fe->name);
        return -1;
    }
    if (fe->cert_count == 0) {
        say(&r, fe->line, "frontend %s: no tls_cert to serve", fe->name);
        return -1;
    }
    if (fe->tls_min_version != NULL && strcmp(fe->tls_min_version, "1.3") == 0)
        min_version = TLS1_3_VERSION;
    else if (fe->tls_min_version != NULL && strcmp(fe->tls_min_version, "1.2") != 0)
        say(&r, fe->line, "frontend %s: tls_min_version must be 1.2 or 1.3, not '%s'",
            fe->name, fe->tls_min_version);

    srv = calloc(1, sizeof(*srv));
    d = calloc(1, sizeof(*d));
    ctx = new_ctx(TLS_server_method());
    if (srv == NULL || d == NULL || ctx == NULL ||
        pthread_mutex_init(&d->lock, NULL) != 0) {
        free(d);
        d = NULL;
        say(&r, fe->line, "frontend %s: out of memory", fe->name);
        goto fail;
    }
    if (SSL_CTX_set_ex_data(ctx, server_idx, d) != 1) { /* from now on ctx owns d */
        pthread_mutex_destroy(&d->lock);
        free(d);
        d = NULL;
        say(&r, fe->line, "frontend %s: out of memory", fe->name);
        goto fail;
    }
    srv->ctx = ctx;

    d->certs = calloc(fe->cert_count, sizeof(*d->certs));
    if (d->certs == NULL) {
        say(&r, fe->line, "frontend %s: out of memory", fe->name);
        goto fail;
    }
    d->cert_count = fe->cert_count;
    scratch = SSL_CTX_new(TLS_server_method());
    if (scratch == NULL) {
        say(&r, fe->line, "frontend %s: out of memory", fe->name);
        goto fail;
    }
    for (size_t i = 0; i < fe->cert_count; i++) {
        const struct conf_tls_cert *c = &fe->certs[i];
        struct cert_entry *e = &d->certs[i];
        if (load_pair(&r, fe, c, e) != 0)
            continue;
        /* The same checks OpenSSL makes when the pair is installed (key size under
         * the security level, ...), now rather than at the first handshake. */
        if (SSL_CTX_use_cert_and_key(i == 0 ? ctx : scratch, e->leaf, e->key, e->chain,
                                     1) != 1)
            say(&r, c->line, "frontend %s: certificate %s cannot be used: %s", fe->name,
                c->cert_file, ssl_reason(NULL, why, sizeof(why)));
    }

    SSL_CTX_set_min_proto_version(ctx, min_version);
    set_ciphers(&r, fe, ctx);
    SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1);
    SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticket_cb);
    if (fe->cert_count > 1) {
        SSL_CTX_set_cert_cb(ctx, cert_cb, NULL);
        SSL_CTX_set_session_ticket_cb(ctx, ticket_made_cb, ticket_read_cb, NULL);
    }
    if (fe->cert_count > 1 || fe->tls_session_cache > 0)
        SSL_CTX_set_client_hello_cb(ctx, client_hello_cb, NULL);
    if (fe->tls_session_cache > 0) {
        d->sessions = sess_store_for(
            prev != NULL ? SSL_CTX_get_ex_data(prev->ctx, server_idx) : NULL,
            fe->tls_session_cache);
        if (d->sessions == NULL)
            say(&r, fe->line, "frontend %s: out of memory", fe->name);
        /* no internal store, so nothing for OpenSSL to flush every 255 handshakes */
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER |
                                                SSL_SESS_CACHE_NO_INTERNAL |
                                                SSL_SESS_CACHE_NO_AUTO_CLEAR);
        SSL_CTX_sess_set_new_cb(ctx, sess_new_cb);
        SSL_CTX_sess_set_get_cb(ctx, sess_get_cb);
        SSL_CTX_sess_set_remove_cb(ctx, sess_remove_cb);
    } else {
        /* tickets only: TLS 1.2 ServerHellos carry no session ID */
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    }
    if (fe->mode == CONF_MODE_HTTP)
        SSL_CTX_set_alpn_select_cb(ctx, alpn_cb, NULL);

    if (prev != NULL) {
        struct server_data *p = SSL_CTX_get_ex_data(prev->ctx, server_idx);
        pthread_mutex_lock(&p->lock);
        d->cur = p->cur;
        d->prev = p->prev;
        d->has_prev = p->has_prev;
        pthread_mutex_unlock(&p->lock);
    } else if (new_ticket_key(&d->cur) != 0) {
        say(&r, fe->line, "frontend %s: cannot draw session ticket keys", fe->name);
    }
    if (r.count > 0)
        goto fail;
    SSL_CTX_free(scratch);
    ERR_clear_error();
    *out = srv;
    return 0;

fail:
    SSL_CTX_free(scratch);
    SSL_CTX_free(ctx);
    free(srv);
    ERR_clear_error();
    return -1;
}

void tls_server_free(struct tls_server *srv)
{
    if (srv == NULL)
        return;
    SSL_CTX_free(srv->ctx);
    free(srv);
}

size_t tls_server_cached_sessions(const struct tls_server *srv)
{
    struct server_data *d = SSL_CTX_get_ex_data(srv->ctx, server_idx);
    size_t n = 0;

    if (d->sessions != NULL) {
        pthread_mutex_lock(&d->sessions->lock);
        n = sess_cache_count(d->sessions->cache);
        pthread_mutex_unlock(&d->sessions->lock);
    }
    return n;
}

SSL_CTX *tls_server_ctx(const struct tls_server *srv)
{
    return srv->ctx;
}

/* ---- client context --------------------------------------------------------------- */

/* Called with each new client session (TLS 1.3: after the handshake, per ticket). */
static int new_session_cb(SSL *ssl, SSL_SESSION *sess)
{
    struct client_data *d = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), client_idx);
    SSL_SESSION *old;

    if (d == NULL || !SSL_SESSION_is_resumable(sess))
        return 0;
    pthread_mutex_lock(&d->lock);
    old = d->last;
    d->last = sess;
    pthread_mutex_unlock(&d->lock);
    SSL_SESSION_free(old);
    return 1; /* we keep the reference */
}

/* The host part of "host:port", "[v6]:port" or "v4:port". */
static void host_of(const char *text, char *host, size_t len)
{
    const char *end;

    if (text[0] == '[') {
        text++;
        end = strchr(text, ']');
    } else {
        end = strrchr(text, ':');
    }
    if (end == NULL)
        end = text + strlen(text);
    snprintf(host, len, "%.*s", (int)(end - text), text);
}

int tls_client_new(const struct conf_pool *pool, const struct conf_server *s,
                   const char *conf_path, tls_report_fn report, void *arg,
                   struct tls_client **out)
{
    struct reporter r = {report, arg, conf_path, 0};
    struct tls_client *cli = NULL;
    struct client_data *d = NULL;
    SSL_CTX *ctx = NULL;
    unsigned char ipbuf[16];
    char why[256];

    *out = NULL;
    if (!idx_ready()) {
        say(&r, s->line, "pool %s: server %s: cannot initialise OpenSSL", pool->name,
            s->name);
        return -1;
    }
    cli = calloc(1, sizeof(*cli));
    d = calloc(1, sizeof(*d));
    ctx = new_ctx(TLS_client_method());
    if (cli == NULL || d == NULL || ctx == NULL ||
        pthread_mutex_init(&d->lock, NULL) != 0) {
        free(d);
        d = NULL;
        say(&r, s->line, "pool %s: server %s: out of memory", pool->name, s->name);
        goto fail;
    }
    if (SSL_CTX_set_ex_data(ctx, client_idx, d) != 1) {
        pthread_mutex_destroy(&d->lock);
        free(d);
        d = NULL;
        say(&r, s->line, "pool %s: server %s: out of memory", pool->name, s->name);
        goto fail;
    }
    cli->ctx = ctx;

    if (s->tls_sni != NULL)
        snprintf(d->name, sizeof(d->name), "%s", s->tls_sni);
    else
        host_of(s->addr.text, d->name, sizeof(d->name));
    d->name_is_ip = inet_pton(AF_INET, d->name, ipbuf) == 1 ||
                    inet_pton(AF_INET6, d->name, ipbuf) == 1;
    d->verify = s->tls_verify;

    if (s->tls_ca_file != NULL) {
        FILE *fp = fopen(s->tls_ca_file, "r");
        if (fp == NULL) {
            say(&r, s->line, "pool %s: server %s: cannot load CA file %s: %s", pool->name,
                s->name, s->tls_ca_file, strerror(errno));
        } else {
            fclose(fp);
            ERR_clear_error();
            if (SSL_CTX_load_verify_file(ctx, s->tls_ca_file) != 1)
                say(&r, s->line, "pool %s: server %s: cannot load CA file %s: %s",
                    pool->name, s->name, s->tls_ca_file,
                    ssl_reason("no PEM certificate found", why, sizeof(why)));
        }
    } else if (s->tls_verify && SSL_CTX_set_default_verify_paths(ctx) != 1) {
        say(&r, s->line, "pool %s: server %s: cannot load the system CA store: %s",
            pool->name, s->name, ssl_reason(NULL, why, sizeof(why)));
    }
    SSL_CTX_set_verify(ctx, s->tls_verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT |
                                            SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx, new_session_cb);
    if (r.count > 0)
        goto fail;
    ERR_clear_error();
    *out = cli;
    return 0;

fail:
    SSL_CTX_free(ctx);
    free(cli);
    ERR_clear_error();
    return -1;
}

void tls_client_free(struct tls_client *cli)
{
    if (cli == NULL)
        return;
    SSL_CTX_free(cli->ctx);
    free(cli);
}

SSL_CTX *tls_client_ctx(const struct tls_client *cli)
{
    return cli->ctx;
}

const char *tls_client_name(const struct tls_client *cli)
{
    const struct client_data *d = SSL_CTX_get_ex_data(cli->ctx, client_idx);
    return d->name;
}

int tls_client_prepare(const struct tls_client *cli, SSL *ssl, char *err, size_t errlen)
{
    struct client_data *d = SSL_CTX_get_ex_data(cli->ctx, client_idx);
    int ok = 1;

    if (!d->name_is_ip && d->name[0] != '\0')
        ok = SSL_set_tlsext_host_name(ssl, d->name);
    if (ok == 1 && d->verify) {
        if (d->name_is_ip) {
            ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), d->name);
        } else {
            SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
            ok = SSL_set1_host(ssl, d->name);
        }
    }
    if (ok != 1) {
        ERR_clear_error();
        snprintf(err, errlen, "cannot set the server name '%s'", d->name);
        return -1;
    }
    pthread_mutex_lock(&d->lock);
    if (d->last != NULL)
        ok = SSL_set_session(ssl, d->last);
    pthread_mutex_unlock(&d->lock);
    if (ok != 1) {
        ERR_clear_error(); /* not fatal: a full handshake */
    }
    return 0;
}

void tls_client_keep_session(SSL *ssl)
{
    struct client_data *d = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), client_idx);
    SSL_SESSION *sess, *old;

    if (d == NULL)
        return;
    sess = SSL_get1_session(ssl);
    if (sess == NULL || !SSL_SESSION_is_resumable(sess)) {
        SSL_SESSION_free(sess);
        return;
    }
    pthread_mutex_lock(&d->lock);
    old = d->last;
    d->last = sess;
    pthread_mutex_unlock(&d->lock);
    SSL_SESSION_free(old);
}

/* ---- a whole configuration -------------------------------------------------------- */

static const struct tls_server *prev_frontend(const struct tls_set *prev,
                                              const char *name)
{
    if (prev == NULL)
        return NULL;
    for (size_t i = 0; i < prev->frontend_count; i++)
        if (prev->frontends[i] != NULL && strcmp(prev->frontend_names[i], name) == 0)
            return prev->frontends[i];
    return NULL;
}

int tls_set_new(const struct conf *conf, const struct tls_set *prev, tls_report_fn report,
                void *arg, struct tls_set **out)
{
    struct reporter r = {report, arg, conf->path, 0};
    struct tls_set *set = calloc(1, sizeof(*set));
    bool failed = false;

    *out = NULL;
    if (set == NULL)
        goto oom;
    set->frontend_count = conf->frontend_count;
    set->frontends = calloc(conf->frontend_count + 1, sizeof(*set->frontends));
    set->frontend_names = calloc(conf->frontend_count + 1, sizeof(*set->frontend_names));
    set->pool_count = conf->pool_count;
    set->server_counts = calloc(conf->pool_count + 1, sizeof(*set->server_counts));
    set->servers = calloc(conf->pool_count + 1, sizeof(*set->servers));
    if (set->frontends == NULL || set->frontend_names == NULL ||
        set->server_counts == NULL || set->servers == NULL)
        goto oom;
    for (size_t i = 0; i < conf->frontend_count; i++) {
        const struct conf_frontend *fe = &conf->frontends[i];
        snprintf(set->frontend_names[i], CONF_NAME_MAX, "%s", fe->name);
        if (fe->cert_count == 0)
            continue;
        if (tls_server_new(fe, conf->path, prev_frontend(prev, fe->name), report, arg,
                           &set->frontends[i]) != 0)
            failed = true;
    }
    for (size_t p = 0; p < conf->pool_count; p++) {
        const struct conf_pool *pool = &conf->pools[p];
        set->servers[p] = calloc(pool->server_count + 1, sizeof(*set->servers[p]));
        if (set->servers[p] == NULL)
            goto oom;
        set->server_counts[p] = pool->server_count;
        for (size_t s = 0; s < pool->server_count; s++) {
            if (!pool->servers[s].tls)
                continue;
            if (tls_client_new(pool, &pool->servers[s], conf->path, report, arg,
                               &set->servers[p][s]) != 0)
                failed = true;
        }
    }
    if (failed) {
        tls_set_free(set);
        return -1;
    }
    *out = set;
    return 0;

oom:
    say(&r, 0, "out of memory while building the TLS contexts");
    tls_set_free(set);
    return -1;
}

void tls_set_free(struct tls_set *set)
{
    if (set == NULL)
        return;
    if (set->frontends != NULL)
        for (size_t i = 0; i < set->frontend_count; i++)
            tls_server_free(set->frontends[i]);
    if (set->servers != NULL) {
        for (size_t p = 0; p < set->pool_count; p++) {
            if (set->servers[p] == NULL)
                continue;
            for (size_t s = 0; s < set->server_counts[p]; s++)
                tls_client_free(set->servers[p][s]);
            free(set->servers[p]);
        }
    }
    free(set->frontends);
    free(set->frontend_names);
    free(set->server_counts);
    free(set->servers);
    free(set);
}

struct tls_server *tls_set_frontend(const struct tls_set *set, size_t frontend)
{
    return frontend < set->frontend_count ? set->frontends[frontend] : NULL;
}

struct tls_client *tls_set_server(const struct tls_set *set, size_t pool, size_t server)
{
    if (pool >= set->pool_count || server >= set->server_counts[pool])
        return NULL;
    return set->servers[pool][server];
}

int tls_set_rotate_ticket_keys(struct tls_set *set)
{
    int rc = 0;
    for (size_t i = 0; i < set->frontend_count; i++)
        if (set->frontends[i] != NULL &&
            tls_server_rotate_ticket_keys(set->frontends[i]) != 0)
            rc = -1;
    return rc;
}

struct counter {
    tls_report_fn fn;
    void *arg;
    int count;
};

static void count_report(void *arg, const char *msg)
{
    struct counter *c = arg;
    c->count++;
    if (c->fn != NULL)
        c->fn(c->arg, msg);
}

int tls_conf_check(const struct conf *conf, tls_report_fn report, void *arg)
{
    struct counter c = {report, arg, 0};
    struct tls_set *set = NULL;

    if (tls_set_new(conf, NULL, count_report, &c, &set) == 0)
        tls_set_free(set);
    else if (c.count == 0)
        c.count = 1; /* cannot happen: every failure is reported */
    return c.count;
}

size_t tls_server_cert_for(const struct tls_server *srv, const char *host)
{
    const struct server_data *d = SSL_CTX_get_ex_data(srv->ctx, server_idx);
    return pick_cert(d, host);
}
