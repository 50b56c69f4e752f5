/* Unit tests of http_upgrade_websocket: which requests may become a WebSocket
 * tunnel and which have their Upgrade stripped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "http/http_upgrade.h"

#define NH 32

static bool decide(const char *raw)
{
    struct http_msg m;
    struct http_header h[NH];
    http_msg_init_request(&m, h, NH);
    assert_int_equal(http_parse_request(&m, raw, strlen(raw), NULL), HTTP_OK);
    return http_upgrade_websocket(&m, raw);
}

static void test_http_upgrade_websocket_accepted(void **state)
{
    (void)state;
    assert_true(decide("GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\n"
                       "Upgrade: websocket\r\n\r\n"));
    assert_true(decide("GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade:  WebSocket \r\n"
                       "Connection: keep-alive, upgrade\r\n\r\n"));
    assert_true(decide("GET /ws HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\n"
                       "Upgrade: WEBSOCKET\r\nContent-Length: 0\r\n\r\n"));
}

static void test_http_upgrade_other_tokens_refused(void **state)
{
    (void)state;
    assert_false(decide("GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\n"
                        "Upgrade: h2c\r\n\r\n"));
    assert_false(decide("GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\n"
                        "Upgrade: websocket, h2c\r\n\r\n"));
    assert_false(decide("GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\n"
                        "Upgrade: websocket\r\nUpgrade: h2c\r\n\r\n"));
    assert_false(decide("GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\n"
                        "Upgrade: websockets\r\n\r\n"));
    assert_false(decide("GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\n"
                        "Upgrade: websocket/13\r\n\r\n"));
}

static void test_http_upgrade_needs_connection_get_no_body(void **state)
{
    (void)state;
    /* no Connection: upgrade */
    assert_false(decide("GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n"));
    assert_false(decide("GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\n"
                        "Upgrade: websocket\r\n\r\n"));
    /* no Upgrade field */
    assert_false(decide("GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\n\r\n"));
    /* HTTP/1.0 never upgrades */
    assert_false(decide("GET / HTTP/1.0\r\nConnection: upgrade\r\n"
                        "Upgrade: websocket\r\n\r\n"));
    /* other methods, bodies */
    assert_false(decide("POST / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\n"
                        "Upgrade: websocket\r\nContent-Length: 0\r\n\r\n"));
    assert_false(decide("GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\n"
                        "Upgrade: websocket\r\nContent-Length: 5\r\n\r\n"));
    assert_false(decide("GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\n"
                        "Upgrade: websocket\r\nTransfer-Encoding: chunked\r\n\r\n"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_upgrade_websocket_accepted),
        cmocka_unit_test(test_http_upgrade_other_tokens_refused),
        cmocka_unit_test(test_http_upgrade_needs_connection_get_no_body),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
