/* Unit tests of the head rewriter: exact bytes of the request head sent to a
 * backend and of the response head sent to a client. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http/http_rewrite.h"

#define NH 64

static void check_request(const char *raw, const struct http_request_forward *fwd,
                          const char *want)
{
    struct http_msg m;
    struct http_header h[NH];
    char out[4096];
    size_t n = 0;

    http_msg_init_request(&m, h, NH);
    assert_int_equal(http_parse_request(&m, raw, strlen(raw), NULL), HTTP_OK);
    assert_int_equal(http_rewrite_request(&m, raw, fwd, out, sizeof(out), &n),
                     HTTP_OK);
    if (n != strlen(want) || memcmp(out, want, n) != 0)
        print_error("got:\n%.*s\nwant:\n%s\n", (int)n, out, want);
    assert_int_equal(n, strlen(want));
    assert_memory_equal(out, want, n);
    /* the output is itself a valid request that parses to the same framing */
    struct http_msg m2;
    struct http_header h2[NH];
    http_msg_init_request(&m2, h2, NH);
    assert_int_equal(http_parse_request(&m2, out, n, NULL), HTTP_OK);
    assert_int_equal(m2.body, m.body);
    assert_int_equal(m2.content_length, m.content_length);
    /* every shorter buffer is refused, never overrun */
    for (size_t cap = 0; cap < n; cap += 7) {
        size_t n2 = 0;
        assert_int_equal(http_rewrite_request(&m, raw, fwd, out, cap, &n2),
                         HTTP_ENOSPC);
    }
}

static void test_http_rewrite_request_basic(void **state)
{
    (void)state;
    struct http_request_forward fwd = {"192.0.2.7", "http", true, false};
    check_request("GET /a?b=1 HTTP/1.1\r\nHost: example.test\r\n"
                  "User-Agent:\tcurl/8 \r\nAccept: */*\r\n\r\n",
                  &fwd,
                  "GET /a?b=1 HTTP/1.1\r\nHost: example.test\r\n"
                  "User-Agent: curl/8\r\nAccept: */*\r\n"
                  "X-Forwarded-For: 192.0.2.7\r\nX-Forwarded-Proto: http\r\n"
                  "Forwarded: for=192.0.2.7;proto=http\r\n\r\n");
}

static void test_http_rewrite_request_hop_by_hop_removed(void **state)
{
    (void)state;
    struct http_request_forward fwd = {"192.0.2.7", "https", false, false};
    check_request("POST /p HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, X-Hop"
                  "\r\nKeep-Alive: 300\r\nProxy-Connection: close\r\nTE: trailers"
                  "\r\nTrailer: X\r\nUpgrade: h2c\r\nX-Hop: secret\r\n"
                  "Content-Length: 3\r\nX-Keep: 1\r\n\r\nabc",
                  &fwd,
                  "POST /p HTTP/1.1\r\nHost: h\r\nTrailer: X\r\nX-Keep: 1\r\n"
                  "Content-Length: 3\r\nConnection: close\r\n"
                  "X-Forwarded-For: 192.0.2.7\r\nX-Forwarded-Proto: https\r\n"
                  "Forwarded: for=192.0.2.7;proto=https\r\n\r\n");
}

static void test_http_rewrite_request_framing_reemitted(void **state)
{
    (void)state;
    struct http_request_forward fwd = {"192.0.2.7", "http", true, false};
    check_request("PUT / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding:  Chunked \r\n"
                  "\r\n",
                  &fwd,
                  "PUT / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n"
                  "X-Forwarded-For: 192.0.2.7\r\nX-Forwarded-Proto: http\r\n"
                  "Forwarded: for=192.0.2.7;proto=http\r\n\r\n");
    /* a collapsed duplicate, and a Content-Length named by Connection */
    check_request("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 005, 5\r\n"
                  "Connection: Content-Length\r\nContent-Length: 5\r\n\r\nhello",
                  &fwd,
                  "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n"
                  "X-Forwarded-For: 192.0.2.7\r\nX-Forwarded-Proto: http\r\n"
                  "Forwarded: for=192.0.2.7;proto=http\r\n\r\n");
}

static void test_http_rewrite_request_forwarded_appended(void **state)
{
    (void)state;
    struct http_request_forward fwd = {"2001:db8::1", "https", true, false};
    check_request("GET / HTTP/1.0\r\nX-Forwarded-For: 10.0.0.1\r\n"
                  "X-Forwarded-Proto: gopher\r\nForwarded: for=10.0.0.1\r\n"
                  "X-Forwarded-For: 10.0.0.2, 10.0.0.3\r\n"
                  "Connection: keep-alive\r\n\r\n",
                  &fwd,
                  "GET / HTTP/1.0\r\nConnection: keep-alive\r\n"
                  "X-Forwarded-For: 10.0.0.1, 10.0.0.2, 10.0.0.3, 2001:db8::1\r\n"
                  "X-Forwarded-Proto: https\r\n"
                  "Forwarded: for=10.0.0.1, for=\"[2001:db8::1]\";proto=https"
                  "\r\n\r\n");
}

static void test_http_rewrite_request_upgrade(void **state)
{
    (void)state;
    const char *raw = "GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
                      "Connection: Upgrade\r\nSec-WebSocket-Key: k\r\n\r\n";
    struct http_request_forward tunnel = {"192.0.2.7", "http", true, true};
    check_request(raw, &tunnel,
                  "GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
                  "Sec-WebSocket-Key: k\r\nConnection: upgrade\r\n"
                  "X-Forwarded-For: 192.0.2.7\r\nX-Forwarded-Proto: http\r\n"
                  "Forwarded: for=192.0.2.7;proto=http\r\n\r\n");
    struct http_request_forward plain = {"192.0.2.7", "http", true, false};
    check_request(raw, &plain,
                  "GET /ws HTTP/1.1\r\nHost: h\r\nSec-WebSocket-Key: k\r\n"
                  "X-Forwarded-For: 192.0.2.7\r\nX-Forwarded-Proto: http\r\n"
                  "Forwarded: for=192.0.2.7;proto=http\r\n\r\n");
}

#define XF "X-Forwarded-For: 192.0.2.7\r\nX-Forwarded-Proto: http\r\n" \
           "Forwarded: for=192.0.2.7;proto=http\r\n\r\n"

/* RFC 9112 §3.2.1-§3.2.2: an absolute-form target goes to the origin as
 * origin-form, its authority being the Host. */
static void test_http_rewrite_request_absolute_form(void **state)
{
    (void)state;
    struct http_request_forward fwd = {"192.0.2.7", "http", true, false};
    /* path and query; the Host (equal to the authority) kept as it is */
    check_request("GET http://a.example/p/q?x=1&y HTTP/1.1\r\nAccept: */*\r\n"
                  "Host: a.example\r\n\r\n",
                  &fwd,
                  "GET /p/q?x=1&y HTTP/1.1\r\nAccept: */*\r\nHost: a.example\r\n"
                  XF);
    /* path without query, with a port */
    check_request("GET http://a.example:8080/p HTTP/1.1\r\n"
                  "Host: a.example:8080\r\n\r\n",
                  &fwd,
                  "GET /p HTTP/1.1\r\nHost: a.example:8080\r\n" XF);
    /* an empty path is "/" (RFC 3986 §6.2.3) */
    check_request("GET http://a.example HTTP/1.1\r\nHost: a.example\r\n\r\n",
                  &fwd, "GET / HTTP/1.1\r\nHost: a.example\r\n" XF);
    /* query only: "/?x=1" */
    check_request("GET http://a.example?x=1 HTTP/1.1\r\nHost: a.example\r\n\r\n",
                  &fwd, "GET /?x=1 HTTP/1.1\r\nHost: a.example\r\n" XF);
    check_request("GET http://a.example:8080?hail=all HTTP/1.1\r\n"
                  "Host: a.example:8080\r\n\r\n",
                  &fwd, "GET /?hail=all HTTP/1.1\r\nHost: a.example:8080\r\n" XF);
    /* the root path itself */
    check_request("GET http://a.example/ HTTP/1.1\r\nHost: a.example\r\n\r\n",
                  &fwd, "GET / HTTP/1.1\r\nHost: a.example\r\n" XF);
    /* https scheme; IPv6 literal authority */
    check_request("POST https://a.example/s HTTP/1.1\r\nHost: a.example\r\n"
                  "Content-Length: 2\r\n\r\nhi",
                  &fwd,
                  "POST /s HTTP/1.1\r\nHost: a.example\r\nContent-Length: 2\r\n"
                  XF);
    check_request("GET http://[2001:db8::1]:81/v6 HTTP/1.1\r\n"
                  "Host: [2001:db8::1]:81\r\n\r\n",
                  &fwd, "GET /v6 HTTP/1.1\r\nHost: [2001:db8::1]:81\r\n" XF);
    /* scheme and host are case-insensitive; the client's Host text is kept */
    check_request("GET HTTPS://A.Example/Case HTTP/1.1\r\nHost: a.example\r\n\r\n",
                  &fwd, "GET /Case HTTP/1.1\r\nHost: a.example\r\n" XF);
    check_request("GET HtTp://A.EXAMPLE HTTP/1.1\r\nHost: A.EXAMPLE\r\n\r\n",
                  &fwd, "GET / HTTP/1.1\r\nHost: A.EXAMPLE\r\n" XF);
}

static void test_http_rewrite_request_absolute_form_adds_host(void **state)
{
    (void)state;
    struct http_request_forward fwd = {"192.0.2.7", "http", true, false};
    /* HTTP/1.0 without Host: the authority becomes the Host, first */
    check_request("GET http://a.example:8080/p?q HTTP/1.0\r\nAccept: */*\r\n\r\n",
                  &fwd,
                  "GET /p?q HTTP/1.0\r\nHost: a.example:8080\r\nAccept: */*\r\n"
                  "Connection: keep-alive\r\n" XF);
    check_request("GET HTTP://A.Example HTTP/1.0\r\n\r\n", &fwd,
                  "GET / HTTP/1.0\r\nHost: A.Example\r\n"
                  "Connection: keep-alive\r\n" XF);
    /* HTTP/1.0 with a Host: kept, none added */
    check_request("GET http://a.example/p HTTP/1.0\r\nHost: A.EXAMPLE\r\n\r\n",
                  &fwd,
                  "GET /p HTTP/1.0\r\nHost: A.EXAMPLE\r\n"
                  "Connection: keep-alive\r\n" XF);
    /* HTTP/1.0 origin-form without Host: no Host invented */
    check_request("GET /p HTTP/1.0\r\n\r\n", &fwd,
                  "GET /p HTTP/1.0\r\nConnection: keep-alive\r\n" XF);
}

static void test_http_rewrite_request_other_forms_unchanged(void **state)
{
    (void)state;
    struct http_request_forward fwd = {"192.0.2.7", "http", true, false};
    check_request("OPTIONS * HTTP/1.1\r\nHost: a.example\r\n\r\n", &fwd,
                  "OPTIONS * HTTP/1.1\r\nHost: a.example\r\n" XF);
    /* an origin-form path that looks like a URI stays as it is */
    check_request("GET //a.example/p HTTP/1.1\r\nHost: h\r\n\r\n", &fwd,
                  "GET //a.example/p HTTP/1.1\r\nHost: h\r\n" XF);
    /* an absolute-form WebSocket upgrade keeps its upgrade fields */
    struct http_request_forward tunnel = {"192.0.2.7", "http", true, true};
    check_request("GET http://h/ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
                  "Connection: Upgrade\r\n\r\n",
                  &tunnel,
                  "GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
                  "Connection: upgrade\r\n" XF);
}

static void test_http_rewrite_request_absolute_form_enospc(void **state)
{
    (void)state;
    /* the added "/" and Host count against the buffer too */
    const char *raw = "GET http://a.example?x HTTP/1.0\r\n\r\n";
    struct http_request_forward fwd = {"192.0.2.7", "http", true, false};
    struct http_msg m;
    struct http_header h[NH];
    char out[512];
    size_t n = 0, n2 = 0;

    http_msg_init_request(&m, h, NH);
    assert_int_equal(http_parse_request(&m, raw, strlen(raw), NULL), HTTP_OK);
    assert_true(m.absolute_form);
    assert_int_equal(m.host_index, -1);
    assert_int_equal(http_rewrite_request(&m, raw, &fwd, out, sizeof(out), &n),
                     HTTP_OK);
    for (size_t cap = 0; cap < n; cap++)
        assert_int_equal(http_rewrite_request(&m, raw, &fwd, out, cap, &n2),
                         HTTP_ENOSPC);
}

static void check_response(const char *raw, enum http_method meth, bool upg,
                           const struct http_response_forward *fwd,
                           const char *want)
{
    struct http_msg m;
    struct http_header h[NH];
    char out[4096];
    size_t n = 0;

    http_msg_init_response(&m, h, NH, meth, upg);
    assert_int_equal(http_parse_response(&m, raw, strlen(raw), NULL), HTTP_OK);
    assert_int_equal(http_rewrite_response(&m, raw, fwd, out, sizeof(out), &n),
                     HTTP_OK);
    if (n != strlen(want) || memcmp(out, want, n) != 0)
        print_error("got:\n%.*s\nwant:\n%s\n", (int)n, out, want);
    assert_int_equal(n, strlen(want));
    assert_memory_equal(out, want, n);
    size_t n2;
    assert_int_equal(http_rewrite_response(&m, raw, fwd, out, n - 1, &n2),
                     HTTP_ENOSPC);
}

static void test_http_rewrite_response(void **state)
{
    (void)state;
    struct http_response_forward keep11 = {true, 1};
    struct http_response_forward keep10 = {true, 0};
    struct http_response_forward close11 = {false, 1};

    check_response("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close, "
                   "X-Hop\r\nX-Hop: 1\r\nKeep-Alive: 5\r\nServer: s\r\n\r\n",
                   HTTP_METHOD_GET, false, &keep11,
                   "HTTP/1.1 200 OK\r\nServer: s\r\nContent-Length: 5\r\n\r\n");
    check_response("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                   HTTP_METHOD_GET, false, &close11,
                   "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                   "Connection: close\r\n\r\n");
    check_response("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n",
                   HTTP_METHOD_GET, false, &keep10,
                   "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n"
                   "Connection: keep-alive\r\n\r\n");
    /* until-close bodies force a close */
    check_response("HTTP/1.1 200 OK\r\nServer: s\r\n\r\n", HTTP_METHOD_GET,
                   false, &keep11,
                   "HTTP/1.1 200 OK\r\nServer: s\r\nConnection: close\r\n\r\n");
    /* HEAD and 304 keep their length; 204 drops it */
    check_response("HTTP/1.1 200 OK\r\nContent-Length: 42\r\n\r\n",
                   HTTP_METHOD_HEAD, false, &keep11,
                   "HTTP/1.1 200 OK\r\nContent-Length: 42\r\n\r\n");
    check_response("HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n",
                   HTTP_METHOD_GET, false, &keep11,
                   "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n");
    check_response("HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n",
                   HTTP_METHOD_GET, false, &keep11,
                   "HTTP/1.1 204 No Content\r\n\r\n");
    check_response("HTTP/1.1 100 Continue\r\n\r\n", HTTP_METHOD_POST, false,
                   &close11, "HTTP/1.1 100 Continue\r\n\r\n");
    check_response("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\nSec-WebSocket-Accept: a\r\n\r\n",
                   HTTP_METHOD_GET, true, &keep11,
                   "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                   "Sec-WebSocket-Accept: a\r\nConnection: upgrade\r\n\r\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_rewrite_request_basic),
        cmocka_unit_test(test_http_rewrite_request_hop_by_hop_removed),
        cmocka_unit_test(test_http_rewrite_request_framing_reemitted),
        cmocka_unit_test(test_http_rewrite_request_forwarded_appended),
        cmocka_unit_test(test_http_rewrite_request_upgrade),
        cmocka_unit_test(test_http_rewrite_request_absolute_form),
        cmocka_unit_test(test_http_rewrite_request_absolute_form_adds_host),
        cmocka_unit_test(test_http_rewrite_request_other_forms_unchanged),
        cmocka_unit_test(test_http_rewrite_request_absolute_form_enospc),
        cmocka_unit_test(test_http_rewrite_response),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
