/*
 * Unit tests of tls/tls_ctx: loading certificate/key pairs with the exact
 * "FILE:LINE: message" of each problem, cipher lists and protocol floors,
 * certificate choice by SNI name (exact, one-label wildcard, CN without SAN,
 * fallback to the first), client contexts (names, CA files) and the validation of
 * a whole configuration. Certificates are made with the openssl command in a
 * temporary directory (exit 77 when the command is absent). Handshakes are in
 * test_tls_conn.c.
 */
#define _POSIX_C_SOURCE 200809L

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tls/tls_ctx.h"

#include "test_tls_util.h"

static struct tt_msgs msgs;
static struct conf_frontend fe;
static struct conf_tls_cert certs[8];

static int reset(void **state)
{
    (void)state;
    memset(&msgs, 0, sizeof(msgs));
    return 0;
}

/* Builds frontend "web" from pairs of file names and expects failure with exactly
 * the given messages. */
static void expect_failure(const char *const *files, size_t n, const int *lines,
                           const char *const *expected, size_t expected_count)
{
    struct tls_server *srv = (struct tls_server *)1;

    tt_frontend(&fe, certs, n, files, lines);
    assert_int_equal(tls_server_new(&fe, "conf.ini", NULL, tt_collect, &msgs, &srv), -1);
    assert_null(srv);
    for (size_t i = 0; i < expected_count && i < msgs.count; i++)
        assert_string_equal(msgs.msgs[i], expected[i]);
    assert_int_equal(msgs.count, expected_count);
}

static char *fmt(const char *f, const char *a, const char *b)
{
    static char bufs[8][1024];
    static unsigned next;
    char *out = bufs[next++ % 8];
    snprintf(out, sizeof(bufs[0]), f, a, b);
    return out;
}

static void test_tls_ctx_loads_every_pair(void **state)
{
    static const char *const files[] = {"a.pem", "a.key", "b.pem",  "b.key",
                                        "w.pem", "w.key", "cn.pem", "cn.key"};
    static const int lines[] = {10, 12, 14, 16};
    struct tls_server *srv = NULL;
    (void)state;

    tt_frontend(&fe, certs, 4, files, lines);
    assert_int_equal(tls_server_new(&fe, "conf.ini", NULL, tt_collect, &msgs, &srv), 0);
    assert_int_equal(msgs.count, 0);
    assert_non_null(srv);
    assert_non_null(tls_server_ctx(srv));
    assert_int_equal(SSL_CTX_get_min_proto_version(tls_server_ctx(srv)), TLS1_2_VERSION);
    tls_server_free(srv);
}

static void test_tls_ctx_sni_choice(void **state)
{
    /* a: a.example.com + IP; b: b.example.com, www.b.example.com; w: *.w.example.com
     * and exact.w.example.com is b2's; cn: no SAN, CN cn.example.com */
    static const char *const files[] = {"a.pem", "a.key",  "b.pem",  "b.key",  "w.pem",
                                        "w.key", "cn.pem", "cn.key", "b2.pem", "b2.key"};
    static const int lines[] = {10, 12, 14, 16, 18};
    struct tls_server *srv = NULL;
    (void)state;

    tt_frontend(&fe, certs, 5, files, lines);
    assert_int_equal(tls_server_new(&fe, "conf.ini", NULL, tt_collect, &msgs, &srv), 0);
    assert_int_equal(tls_server_cert_for(srv, "a.example.com"), 0);
    assert_int_equal(tls_server_cert_for(srv, "b.example.com"), 1);
    assert_int_equal(tls_server_cert_for(srv, "WWW.B.Example.COM"), 1);
    assert_int_equal(tls_server_cert_for(srv, "b.example.com."), 1);
    assert_int_equal(tls_server_cert_for(srv, "x.w.example.com"), 2);
    /* an exact name wins over an earlier wildcard */
    assert_int_equal(tls_server_cert_for(srv, "exact.w.example.com"), 4);
    /* a wildcard covers one label only */
    assert_int_equal(tls_server_cert_for(srv, "y.x.w.example.com"), 0);
    assert_int_equal(tls_server_cert_for(srv, "w.example.com"), 0);
    assert_int_equal(tls_server_cert_for(srv, ".w.example.com"), 0);
    /* the CN counts only when there is no SAN: cn.pem has none, a.pem's CN is
     * also in its SAN, b2's CN (cn-ignored.example.com) is not */
    assert_int_equal(tls_server_cert_for(srv, "cn.example.com"), 3);
    assert_int_equal(tls_server_cert_for(srv, "cn-ignored.example.com"), 0);
    assert_int_equal(tls_server_cert_for(srv, "unknown.example.org"), 0);
    assert_int_equal(tls_server_cert_for(srv, ""), 0);
    tls_server_free(srv);
}

static void test_tls_ctx_missing_cert_file(void **state)
{
    static const char *const files[] = {"a.pem", "a.key", "nope.pem", "b.key"};
    static const int lines[] = {10, 12};
    const char *expected[] = {fmt("conf.ini:12: frontend web: cannot load certificate "
                                  "%s: No such file or directory",
                                  tt_path("nope.pem"), NULL)};
    (void)state;
    expect_failure(files, 2, lines, expected, 1);
}

static void test_tls_ctx_missing_key_file(void **state)
{
    static const char *const files[] = {"a.pem", "nope.key"};
    static const int lines[] = {12};
    const char *expected[] = {fmt("conf.ini:12: frontend web: cannot load private key "
                                  "%s: No such file or directory",
                                  tt_path("nope.key"), NULL)};
    (void)state;
    expect_failure(files, 1, lines, expected, 1);
}

static void test_tls_ctx_key_does_not_match(void **state)
{
    static const char *const files[] = {"a.pem", "b.key"};
    static const int lines[] = {12};
    const char *expected[] = {fmt("conf.ini:12: frontend web: private key %s does not "
                                  "match certificate %s",
                                  tt_path("b.key"), tt_path("a.pem"))};
    (void)state;
    expect_failure(files, 1, lines, expected, 1);
}

static void test_tls_ctx_garbage_pem(void **state)
{
    static const char *const files[] = {"garbage.pem", "a.key", "a.pem", "garbage.pem",
                                        "broken.pem",  "a.key", "a.pem", "a.pem"};
    static const int lines[] = {5, 7, 9, 11};
    const char *expected[] = {
        fmt("conf.ini:5: frontend web: cannot load certificate %s: no PEM certificate "
            "found",
            tt_path("garbage.pem"), NULL),
        fmt("conf.ini:7: frontend web: cannot load private key %s: no PEM private key "
            "found",
            tt_path("garbage.pem"), NULL),
        fmt("conf.ini:9: frontend web: cannot load certificate %s: bad base64 decode",
            tt_path("broken.pem"), NULL),
        fmt("conf.ini:11: frontend web: cannot load private key %s: no usable "
            "unencrypted "
            "private key (unsupported)",
            tt_path("a.pem"), NULL),
    };
    (void)state;
    expect_failure(files, 4, lines, expected, 4);
}

static void test_tls_ctx_broken_chain(void **state)
{
    static const char *const files[] = {"abroken.pem", "a.key"};
    static const int lines[] = {8};
    const char *expected[] = {
        fmt("conf.ini:8: frontend web: cannot load the chain in certificate %s: bad "
            "base64 "
            "decode",
            tt_path("abroken.pem"), NULL),
    };
    (void)state;
    expect_failure(files, 1, lines, expected, 1);
}

static void test_tls_ctx_every_problem_reported(void **state)
{
    static const char *const files[] = {"nope.pem", "a.key", "a.pem",
                                        "a.key",    "b.pem", "a.key"};
    static const int lines[] = {10, 12, 14};
    const char *expected[] = {
        fmt("conf.ini:10: frontend web: cannot load certificate %s: No such file or "
            "directory",
            tt_path("nope.pem"), NULL),
        fmt("conf.ini:14: frontend web: private key %s does not match certificate %s",
            tt_path("a.key"), tt_path("b.pem")),
        "conf.ini:3: frontend web: tls_ciphers 'NOPE' selects no usable cipher",
    };
    (void)state;
    fe.tls_ciphers = NULL;
    tt_frontend(&fe, certs, 3, files, lines);
    fe.tls_ciphers = "NOPE";
    {
        struct tls_server *srv = NULL;
        assert_int_equal(tls_server_new(&fe, "conf.ini", NULL, tt_collect, &msgs, &srv),
                         -1);
        assert_null(srv);
    }
    assert_int_equal(msgs.count, 3);
    for (size_t i = 0; i < 3; i++)
        assert_string_equal(msgs.msgs[i], expected[i]);
}

/* Builds frontend "web" with a.pem and the given tls_ciphers / tls_min_version. */
static int build_with(const char *ciphers, const char *min_version,
                      struct tls_server **srv)
{
    static const char *const files[] = {"a.pem", "a.key"};
    static const int lines[] = {12};

    tt_frontend(&fe, certs, 1, files, lines);
    fe.tls_ciphers = (char *)ciphers;
    fe.tls_min_version = (char *)min_version;
    return tls_server_new(&fe, "conf.ini", NULL, tt_collect, &msgs, srv);
}

static void test_tls_ctx_bad_cipher_list(void **state)
{
    struct tls_server *srv = NULL;
    (void)state;

    assert_int_equal(build_with("NOT-A-CIPHER:ALSO-NOT", "1.2", &srv), -1);
    assert_int_equal(msgs.count, 1);
    assert_string_equal(msgs.msgs[0], "conf.ini:3: frontend web: tls_ciphers "
                                      "'NOT-A-CIPHER:ALSO-NOT' selects no usable cipher");
    memset(&msgs, 0, sizeof(msgs));
    assert_int_equal(build_with("TLS_NOT_A_SUITE", "1.3", &srv), -1);
    assert_int_equal(msgs.count, 1);
    assert_string_equal(msgs.msgs[0], "conf.ini:3: frontend web: tls_ciphers "
                                      "'TLS_NOT_A_SUITE' selects no usable cipher");
}

static bool has_cipher(SSL_CTX *ctx, const char *name)
{
    STACK_OF(SSL_CIPHER) *sk = SSL_CTX_get_ciphers(ctx);
    for (int i = 0; i < sk_SSL_CIPHER_num(sk); i++)
        if (strcmp(SSL_CIPHER_get_name(sk_SSL_CIPHER_value(sk, i)), name) == 0)
            return true;
    return false;
}

static void test_tls_ctx_cipher_lists(void **state)
{
    struct tls_server *srv = NULL;
    (void)state;

    /* the default: modern TLS 1.2 suites only, TLS 1.3 defaults */
    assert_int_equal(build_with(NULL, NULL, &srv), 0);
    assert_true(has_cipher(tls_server_ctx(srv), "ECDHE-ECDSA-AES128-GCM-SHA256"));
    assert_true(has_cipher(tls_server_ctx(srv), "ECDHE-RSA-CHACHA20-POLY1305"));
    assert_true(has_cipher(tls_server_ctx(srv), "TLS_AES_256_GCM_SHA384"));
    assert_false(has_cipher(tls_server_ctx(srv), "AES128-SHA"));
    assert_false(has_cipher(tls_server_ctx(srv), "ECDHE-RSA-AES128-SHA"));
    assert_false(has_cipher(tls_server_ctx(srv), "DHE-RSA-AES128-GCM-SHA256"));
    tls_server_free(srv);

    /* an override, split between the two protocol versions */
    assert_int_equal(
        build_with("ECDHE-ECDSA-AES256-GCM-SHA384:TLS_CHACHA20_POLY1305_SHA256", "1.2",
                   &srv),
        0);
    assert_true(has_cipher(tls_server_ctx(srv), "ECDHE-ECDSA-AES256-GCM-SHA384"));
    assert_false(has_cipher(tls_server_ctx(srv), "ECDHE-ECDSA-AES128-GCM-SHA256"));
    assert_true(has_cipher(tls_server_ctx(srv), "TLS_CHACHA20_POLY1305_SHA256"));
    assert_false(has_cipher(tls_server_ctx(srv), "TLS_AES_256_GCM_SHA384"));
    tls_server_free(srv);
    assert_int_equal(msgs.count, 0);
}

static void test_tls_ctx_min_version(void **state)
{
    struct tls_server *srv = NULL;
    (void)state;

    assert_int_equal(build_with(NULL, "1.3", &srv), 0);
    assert_int_equal(SSL_CTX_get_min_proto_version(tls_server_ctx(srv)), TLS1_3_VERSION);
    tls_server_free(srv);
    assert_int_equal(build_with(NULL, NULL, &srv), 0);
    assert_int_equal(SSL_CTX_get_min_proto_version(tls_server_ctx(srv)), TLS1_2_VERSION);
    tls_server_free(srv);
    assert_int_equal(build_with(NULL, "1.1", &srv), -1);
    assert_int_equal(msgs.count, 1);
    assert_string_equal(
        msgs.msgs[0],
        "conf.ini:3: frontend web: tls_min_version must be 1.2 or 1.3, not '1.1'");
}

static void test_tls_ctx_client_names(void **state)
{
    struct conf_pool pool;
    struct conf_server s;
    struct tls_client *cli = NULL;
    (void)state;

    memset(&pool, 0, sizeof(pool));
    snprintf(pool.name, sizeof(pool.name), "app");
    tt_server(&s, "web.local:8443", "ca", NULL, true);
    assert_int_equal(tls_client_new(&pool, &s, "conf.ini", tt_collect, &msgs, &cli), 0);
    assert_string_equal(tls_client_name(cli), "web.local");
    assert_int_equal(SSL_CTX_get_verify_mode(tls_client_ctx(cli)), SSL_VERIFY_PEER);
    tls_client_free(cli);

    tt_server(&s, "[::1]:443", NULL, NULL, true); /* the system store */
    assert_int_equal(tls_client_new(&pool, &s, "conf.ini", tt_collect, &msgs, &cli), 0);
    assert_string_equal(tls_client_name(cli), "::1");
    tls_client_free(cli);

    tt_server(&s, "127.0.0.1:443", "ca", "api.example.com", false);
    assert_int_equal(tls_client_new(&pool, &s, "conf.ini", tt_collect, &msgs, &cli), 0);
    assert_string_equal(tls_client_name(cli), "api.example.com");
    assert_int_equal(SSL_CTX_get_verify_mode(tls_client_ctx(cli)), SSL_VERIFY_NONE);
    tls_client_free(cli);
    assert_int_equal(msgs.count, 0);
}

static void test_tls_ctx_client_bad_ca_file(void **state)
{
    struct conf_pool pool;
    struct conf_server s;
    struct tls_client *cli = (struct tls_client *)1;
    (void)state;

    memset(&pool, 0, sizeof(pool));
    snprintf(pool.name, sizeof(pool.name), "app");
    tt_server(&s, "web.local:8443", "nope", NULL, true);
    assert_int_equal(tls_client_new(&pool, &s, "conf.ini", tt_collect, &msgs, &cli), -1);
    assert_null(cli);
    tt_server(&s, "web.local:8443", "garbage", NULL, true);
    assert_int_equal(tls_client_new(&pool, &s, "conf.ini", tt_collect, &msgs, &cli), -1);
    assert_int_equal(msgs.count, 2);
    assert_string_equal(msgs.msgs[0],
                        fmt("conf.ini:7: pool app: server web1: cannot load CA "
                            "file %s: No such file or directory",
                            tt_path("nope.pem"), NULL));
    assert_string_equal(msgs.msgs[1],
                        fmt("conf.ini:7: pool app: server web1: cannot load CA "
                            "file %s: no certificate or crl found",
                            tt_path("garbage.pem"), NULL));
}

/* A whole configuration: a good frontend, a bad one, a plain one, a good and a
 * bad TLS server and a plain server; every problem is reported and nothing kept. */
static void test_tls_ctx_conf_check(void **state)
{
    static const char *const good_files[] = {"a.pem", "a.key"};
    static const char *const bad_files[] = {"a.pem", "b.key"};
    static const int good_lines[] = {4};
    static const int bad_lines[] = {9};
    struct conf_tls_cert good_certs[1], bad_certs[1];
    struct conf_frontend fes[3];
    struct conf_server servers[3];
    struct conf_pool pool;
    struct conf conf;
    struct tls_set *set = NULL;
    (void)state;

    tt_frontend(&fes[0], good_certs, 1, good_files, good_lines);
    tt_frontend(&fes[1], bad_certs, 1, bad_files, bad_lines);
    snprintf(fes[1].name, sizeof(fes[1].name), "api");
    memset(&fes[2], 0, sizeof(fes[2]));
    snprintf(fes[2].name, sizeof(fes[2].name), "plain");
    memset(&pool, 0, sizeof(pool));
    snprintf(pool.name, sizeof(pool.name), "app");
    tt_server(&servers[0], "127.0.0.1:9001", "ca", NULL, true);
    tt_server(&servers[1], "127.0.0.1:9002", "nope", NULL, true);
    snprintf(servers[1].name, sizeof(servers[1].name), "web2");
    servers[1].line = 21;
    memset(&servers[2], 0, sizeof(servers[2]));
    pool.servers = servers;
    pool.server_count = 3;
    memset(&conf, 0, sizeof(conf));
    conf.path = "conf.ini";
    conf.frontends = fes;
    conf.frontend_count = 3;
    conf.pools = &pool;
    conf.pool_count = 1;

    assert_int_equal(tls_conf_check(&conf, tt_collect, &msgs), 2);
    assert_int_equal(msgs.count, 2);
    assert_string_equal(msgs.msgs[0], fmt("conf.ini:9: frontend api: private key %s does "
                                          "not match certificate %s",
                                          tt_path("b.key"), tt_path("a.pem")));
    assert_string_equal(msgs.msgs[1],
                        fmt("conf.ini:21: pool app: server web2: cannot load "
                            "CA file %s: No such file or directory",
                            tt_path("nope.pem"), NULL));
    assert_int_equal(tls_set_new(&conf, NULL, tt_collect, &msgs, &set), -1);
    assert_null(set);

    /* fixed: valid, and the set has exactly the TLS parts */
    conf.frontend_count = 1;
    servers[1].tls = false;
    memset(&msgs, 0, sizeof(msgs));
    assert_int_equal(tls_conf_check(&conf, tt_collect, &msgs), 0);
    assert_int_equal(msgs.count, 0);
    conf.frontend_count = 3;
    fes[1].cert_count = 0;
    assert_int_equal(tls_set_new(&conf, NULL, tt_collect, &msgs, &set), 0);
    assert_non_null(tls_set_frontend(set, 0));
    assert_null(tls_set_frontend(set, 1));
    assert_null(tls_set_frontend(set, 2));
    assert_null(tls_set_frontend(set, 3));
    assert_non_null(tls_set_server(set, 0, 0));
    assert_null(tls_set_server(set, 0, 1));
    assert_null(tls_set_server(set, 0, 2));
    assert_null(tls_set_server(set, 1, 0));
    assert_int_equal(tls_set_rotate_ticket_keys(set), 0);
    tls_set_free(set);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_tls_ctx_loads_every_pair, reset),
        cmocka_unit_test_setup(test_tls_ctx_sni_choice, reset),
        cmocka_unit_test_setup(test_tls_ctx_missing_cert_file, reset),
        cmocka_unit_test_setup(test_tls_ctx_missing_key_file, reset),
        cmocka_unit_test_setup(test_tls_ctx_key_does_not_match, reset),
        cmocka_unit_test_setup(test_tls_ctx_garbage_pem, reset),
        cmocka_unit_test_setup(test_tls_ctx_broken_chain, reset),
        cmocka_unit_test_setup(test_tls_ctx_every_problem_reported, reset),
        cmocka_unit_test_setup(test_tls_ctx_bad_cipher_list, reset),
        cmocka_unit_test_setup(test_tls_ctx_cipher_lists, reset),
        cmocka_unit_test_setup(test_tls_ctx_min_version, reset),
        cmocka_unit_test_setup(test_tls_ctx_client_names, reset),
        cmocka_unit_test_setup(test_tls_ctx_client_bad_ca_file, reset),
        cmocka_unit_test_setup(test_tls_ctx_conf_check, reset),
    };
    int rc = tt_setup_dir();

    if (rc != 0) {
        fprintf(stderr, rc == 77 ? "openssl command not found: skipped\n"
                                 : "cannot create a temporary directory\n");
        return rc == 77 ? 77 : 1;
    }
    if (tt_make_ca("ca", "Test CA") != 0 ||
        tt_make_cert("a", "a.example.com", "DNS:a.example.com,IP:127.0.0.1", "ca") != 0 ||
        tt_make_cert("b", "b.example.com", "DNS:b.example.com,DNS:www.b.example.com",
                     "ca") != 0 ||
        tt_make_cert("w", "wild", "DNS:*.w.example.com", "ca") != 0 ||
        tt_make_cert("cn", "cn.example.com", NULL, "ca") != 0 ||
        tt_make_cert("b2", "cn-ignored.example.com", "DNS:exact.w.example.com", "ca") !=
            0 ||
        tt_write_file("garbage.pem", "this is not PEM at all\n") != 0 ||
        tt_write_file("broken.pem", "-----BEGIN CERTIFICATE-----\n!!!not base64!!!\n"
                                    "-----END CERTIFICATE-----\n") != 0 ||
        tt_concat("abroken.pem", "a.pem", "broken.pem") != 0) {
        fprintf(stderr, "cannot make the test certificates\n");
        tt_cleanup_dir();
        return 1;
    }
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    tt_cleanup_dir();
    return rc;
}
