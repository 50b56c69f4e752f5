/*
 * test_health_probe_http: the probe request bytes, and the classification of
 * responses fed whole and byte by byte: status ranges, 1xx skipped, body text in
 * Content-Length, chunked and close-delimited bodies (split anywhere), early
 * close, garbage, and the body search limit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <cmocka.h>

#include "health/health_probe_http.h"

static void test_health_probe_http_request_bytes(void **state)
{
    char buf[256], err[128];
    size_t len = 0;
    const char *want = "GET /healthz?full=1 HTTP/1.1\r\n"
                       "Host: app.internal:8080\r\n"
                       "User-Agent: raftlb-health\r\n"
                       "Accept: */*\r\n"
                       "Connection: close\r\n"
                       "\r\n";
    assert_int_equal(health_http_request("GET", "/healthz?full=1", "app.internal:8080",
                                         buf, sizeof(buf), &len, err, sizeof(err)),
                     0);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(buf, want, len);

    /* defaults: GET / ; IPv6 literal host */
    assert_int_equal(health_http_request(NULL, NULL, "[::1]:9001", buf, sizeof(buf), &len,
                                         err, sizeof(err)),
                     0);
    assert_true(strncmp(buf, "GET / HTTP/1.1\r\nHost: [::1]:9001\r\n", 34) == 0);
    assert_int_equal(health_http_request("HEAD", "/", "127.0.0.1", buf, sizeof(buf), &len,
                                         err, sizeof(err)),
                     0);
    assert_true(strncmp(buf, "HEAD / HTTP/1.1\r\n", 17) == 0);
}

static void test_health_probe_http_request_rejects_bad_fields(void **state)
{
    char buf[256], err[128];
    size_t len = 0;
    static const char *const bad_methods[] = {"", "G T", "GET\r\n", "GE(T", "CONNECT"};
    static const char *const bad_paths[] = {"",      "healthz", "/a b",     "/a\r\nX: y",
                                            "/\x7f", "/#frag",  "/\xc3\xa9"};
    static const char *const bad_hosts[] = {"", "a b", "a\r\nX: y", "a/b", "user@host"};

    for (size_t i = 0; i < sizeof(bad_methods) / sizeof(bad_methods[0]); i++)
        assert_int_equal(health_http_request(bad_methods[i], "/", "h", buf, sizeof(buf),
                                             &len, err, sizeof(err)),
                         -EINVAL);
    for (size_t i = 0; i < sizeof(bad_paths) / sizeof(bad_paths[0]); i++)
        assert_int_equal(health_http_request("GET", bad_paths[i], "h", buf, sizeof(buf),
                                             &len, err, sizeof(err)),
                         -EINVAL);
    for (size_t i = 0; i < sizeof(bad_hosts) / sizeof(bad_hosts[0]); i++)
        assert_int_equal(health_http_request("GET", "/", bad_hosts[i], buf, sizeof(buf),
                                             &len, err, sizeof(err)),
                         -EINVAL);
    assert_int_equal(
        health_http_request("GET", "/", NULL, buf, sizeof(buf), &len, err, sizeof(err)),
        -EINVAL);
    assert_non_null(strstr(err, "Host"));
    assert_int_equal(
        health_http_request("GET", "/", "h", buf, 40, &len, err, sizeof(err)), -ENOSPC);
}

/* Feeds `resp` whole, then once more byte by byte as a growing buffer, and checks
 * that both give the same verdict and that nothing is decided too early. */
static struct health_result classify(const struct health_expect *e, const char *method,
                                     const char *resp, size_t len, bool eof)
{
    struct health_http_resp *r = malloc(sizeof(*r));
    struct health_result whole, step;
    int rc;

    assert_non_null(r);
    health_http_resp_init(r, method, e);
    rc = health_http_resp_feed(r, resp, len, eof, &whole);
    assert_int_equal(rc, 0);

    health_http_resp_init(r, method, e);
    rc = -EAGAIN;
    for (size_t n = 0; n <= len && rc == -EAGAIN; n++)
        rc = health_http_resp_feed(r, resp, n, eof && n == len, &step);
    assert_int_equal(rc, 0);
    assert_int_equal(step.outcome, whole.outcome);
    assert_int_equal(step.status, whole.status);
    /* the verdict sticks */
    assert_int_equal(health_http_resp_feed(r, resp, len, true, &step), 0);
    assert_int_equal(step.outcome, whole.outcome);
    free(r);
    return whole;
}

#define S(lit) (lit), (sizeof(lit) - 1)

static void test_health_probe_http_status_against_expect(void **state)
{
    struct health_expect dflt = {.count = 0};
    struct health_expect only204 = {.lo = {204}, .hi = {204}, .count = 1};
    struct health_result r;

    r = classify(&dflt, NULL, S("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"), false);
    assert_int_equal(r.outcome, HEALTH_OUTCOME_OK);
    assert_int_equal(r.status, 200);
    r = classify(&dflt, NULL, S("HTTP/1.1 301 Moved\r\nLocation: /x\r\n\r\n"), false);
    assert_int_equal(r.outcome, HEALTH_OUTCOME_OK);
    r = classify(&dflt, NULL, S("HTTP/1.1 503 Service Unavailable\r\n\r\n"), false);
    assert_int_equal(r.outcome, HEALTH_OUTCOME_BAD_STATUS);
    assert_int_equal(r.status, 503);
    r = classify(&only204, NULL, S("HTTP/1.0 200 OK\r\n\r\n"), false);
    assert_int_equal(r.outcome, HEALTH_OUTCOME_BAD_STATUS);
    r = classify(&only204, NULL, S("HTTP/1.1 204 No Content\r\n\r\n"), false);
    assert_int_equal(r.outcome, HEALTH_OUTCOME_OK);
    assert_int_equal(r.status, 204);
}

static void test_health_probe_http_skips_interim_responses(void **state)
{
    struct health_expect dflt = {.count = 0};
    struct health_result r;
    r = classify(
        &dflt, NULL,
        S("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
          "HTTP/1.1 200 OK\r\n\r\n"),
        false);
    assert_int_equal(r.outcome, HEALTH_OUTCOME_OK);
    assert_int_equal(r.status, 200);
    r = classify(&dflt, NULL,
                 S("HTTP/1.1 100 A\r\n\r\nHTTP/1.1 100 A\r\n\r\nHTTP/1.1 100 A\r\n\r\n"
                   "HTTP/1.1 100 A\r\n\r\nHTTP/1.1 100 A\r\n\r\nHTTP/1.1 200 OK\r\n\r\n"),
                 false);
    assert_int_equal(r.outcome, HEALTH_OUTCOME_BAD_RESPONSE);
}

static void test_health_probe_http_invalid_and_closed(void **state)
{
    struct health_expect dflt = {.count = 0};
    struct health_result r;
    r = classify(&dflt, NULL, S("SSH-2.0-OpenSSH_9.2\r\n"), false);
    assert_int_equal(r.outcome, HEALTH_OUTCOME_BAD_RESPONSE);
    r = classify(&dflt, NULL, S("HTTQ"), false);
    assert_int_equal(r.outcome, HEALTH_OUTCOME_BAD_RESPONSE);
    r = classify(&dflt, NULL, S("HTTP/1.1 200 OK\r\nX: a\r\nbad header\r\n\r\n"), false);
    assert_int_equal(r.outcome, HEALTH_OUTCOME_BAD_RESPONSE);
    r = classify(&dflt, NULL, S("HTTP/1.1 2000 OK\r\n\r\n"), false);
    assert_int_equal(r.outcome, HEALTH_OUTCOME_BAD_RESPONSE);
    r = classify(&dflt, NULL, "", 0, true);
    assert_int_equal(r.outcome, HEALTH_OUTCOME_CLOSED);
    r = classify(&dflt, NULL, S("HTTP/1.1 200 OK\r\nServer: x\r\n"), true);
    assert_int_equal(r.outcome, HEALTH_OUTCOME_CLOSED);
    assert_int_equal(r.status, 0);
    /* a head larger than the limit */
    {
        size_t n = HEALTH_HTTP_HEAD_MAX + 100;
        char *big = malloc(n);
        struct health_http_resp *st = malloc(sizeof(*st));
        assert_non_null(big);
        assert_non_null(st);
        memcpy(big, "HTTP/1.1 200 OK\r\nX: ", 20);
        memset(big + 20, 'a', n - 20);
        health_http_resp_init(st, NULL, &dflt);
        assert_int_equal(health_http_resp_feed(st, big, n, false, &r), 0);
        assert_int_equal(r.outcome, HEALTH_OUTCOME_BAD_RESPONSE);
        free(st);
        free(big);
    }
}

static void test_health_probe_http_body_in_length_body(void **state)
{
    struct health_expect e = {.count = 0, .body = "\"status\":\"UP\""};
    struct health_result r;
    r = classify(&e, NULL,
                 S("HTTP/1.1 200 OK\r\nContent-Length: 15\r\n\r\n{\"status\":\"UP\"}"),
                 false);
    assert_int_equal(r.outcome, HEALTH_OUTCOME_OK);
    r = classify(&e, NULL,
                 S("HTTP/1.1 200 OK\r\nContent-Length: 17\r\n\r\n{\"status\":\"DOWN\"}"),
                 false);
    assert_int_equal(r.outcome, HEALTH_OUTCOME_BODY_MISMATCH);
    assert_int_equal(r.status, 200);
    /* text after the declared length is not part of the body */
    r = classify(&e, NULL,
                 S("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}\"status\":\"UP\""),
                 false);
    assert_int_equal(r.outcome, HEALTH_OUTCOME_BODY_MISMATCH);
    /* closed before the declared length */
    r = classify(&e, NULL, S("HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n{\"sta"),
                 true);
    assert_int_equal(r.outcome, HEALTH_OUTCOME_CLOSED);
    /* status is decided before the body */
    r = classify(&e, NULL, S("HTTP/1.1 500 Oops\r\nContent-Length: 15\r\n\r\n"), false);
    assert_int_equal(r.outcome, HEALTH_OUTCOME_BAD_STATUS);
}

static void test_health_probe_http_body_in_chunked_body(void **state)
{
    struct health_expect e = {.count = 0, .body = "database ok"};
    struct health_result r;
    /* the text is split across two chunks */
    r = classify(&e, NULL,
                 S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                   "7\r\ndatabas\r\n4\r\ne ok\r\n0\r\n\r\n"),
                 false);
    assert_int_equal(r.outcome, HEALTH_OUTCOME_OK);
    r = classify(&e, NULL,
                 S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                   "7\r\ndatabas\r\n3\r\ne o\r\n0\r\n\r\n"),
                 false);
    assert_int_equal(r.outcome, HEALTH_OUTCOME_BODY_MISMATCH);
    /* chunk framing is not body text */
    r = classify(&e, NULL,
                 S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                   "b;x=\"database ok\"\r\nhello world\r\n0\r\n\r\n"),
                 false);
    assert_int_equal(r.outcome, HEALTH_OUTCOME_BODY_MISMATCH);
    r = classify(&e, NULL,
                 S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"), false);
    assert_int_equal(r.outcome, HEALTH_OUTCOME_BAD_RESPONSE);
    r = classify(&e, NULL,
                 S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel"),
                 true);
    assert_int_equal(r.outcome, HEALTH_OUTCOME_CLOSED);
}

static void test_health_probe_http_body_until_close(void **state)
{
    struct health_expect e = {.count = 0, .body = "pong"};
    struct health_result r;
    r = classify(&e, NULL, S("HTTP/1.0 200 OK\r\n\r\nping pong"), true);
    assert_int_equal(r.outcome, HEALTH_OUTCOME_OK);
    r = classify(&e, NULL, S("HTTP/1.0 200 OK\r\n\r\nping pon"), true);
    assert_int_equal(r.outcome, HEALTH_OUTCOME_BODY_MISMATCH);
    /* no body at all (204, or a HEAD probe) cannot hold the text */
    r = classify(&e, NULL, S("HTTP/1.1 204 No Content\r\n\r\n"), false);
    assert_int_equal(r.outcome, HEALTH_OUTCOME_BODY_MISMATCH);
    r = classify(&e, "HEAD", S("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n"), false);
    assert_int_equal(r.outcome, HEALTH_OUTCOME_BODY_MISMATCH);
}

static void test_health_probe_http_body_search_is_bounded(void **state)
{
    struct health_expect e = {.count = 0, .body = "NEEDLE"};
    size_t head = 19, n = head + HEALTH_HTTP_BODY_MAX + 100;
    char *buf = malloc(n);
    struct health_http_resp *st = malloc(sizeof(*st));
    struct health_result r;

    assert_non_null(buf);
    assert_non_null(st);
    memcpy(buf, "HTTP/1.0 200 OK\r\n\r\n", head);
    memset(buf + head, '.', n - head);
    /* just inside the limit: found */
    memcpy(buf + head + HEALTH_HTTP_BODY_MAX - 6, "NEEDLE", 6);
    health_http_resp_init(st, NULL, &e);
    assert_int_equal(health_http_resp_feed(st, buf, n, false, &r), 0);
    assert_int_equal(r.outcome, HEALTH_OUTCOME_OK);
    /* straddling the limit: not searched, and decided without waiting for close */
    memset(buf + head, '.', n - head);
    memcpy(buf + head + HEALTH_HTTP_BODY_MAX - 3, "NEEDLE", 6);
    health_http_resp_init(st, NULL, &e);
    assert_int_equal(health_http_resp_feed(st, buf, n, false, &r), 0);
    assert_int_equal(r.outcome, HEALTH_OUTCOME_BODY_MISMATCH);
    free(st);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_health_probe_http_request_bytes),
        cmocka_unit_test(test_health_probe_http_request_rejects_bad_fields),
        cmocka_unit_test(test_health_probe_http_status_against_expect),
        cmocka_unit_test(test_health_probe_http_skips_interim_responses),
        cmocka_unit_test(test_health_probe_http_invalid_and_closed),
        cmocka_unit_test(test_health_probe_http_body_in_length_body),
        cmocka_unit_test(test_health_probe_http_body_in_chunked_body),
        cmocka_unit_test(test_health_probe_http_body_until_close),
        cmocka_unit_test(test_health_probe_http_body_search_is_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
