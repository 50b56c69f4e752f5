/* Unit tests of the chunked-body decoder and the Content-Length counter:
 * decoded data, events, strict chunk lines, limits, and resumability at every
 * split point of a body. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http/http_chunked.h"

struct decoded {
    int rc;           /* HTTP_OK (END), HTTP_AGAIN or HTTP_ERROR */
    uint16_t status;
    char data[4096];
    size_t data_len;
    size_t end;       /* offset just after the body when rc == HTTP_OK */
    int chunks;
};

/* Decode raw fed in pieces of at most `piece` bytes (0: all at once). */
static struct decoded decode(const char *raw, size_t len, size_t piece,
                             uint64_t max_body)
{
    struct decoded d;
    struct http_chunked c;
    struct http_chunk_ev ev;
    size_t pos = 0;

    memset(&d, 0, sizeof(d));
    http_chunked_init(&c, max_body, false);
    d.rc = HTTP_AGAIN;
    while (pos < len) {
        size_t n = len - pos;
        if (piece != 0 && n > piece)
            n = piece;
        int rc = http_chunked_step(&c, raw + pos, n, &ev);
        if (rc == HTTP_ERROR) {
            d.rc = rc;
            d.status = c.status;
            return d;
        }
        assert_true(ev.consumed <= n);
        if (rc == HTTP_AGAIN) {
            assert_int_equal(ev.consumed, n);
            pos += n;
            continue;
        }
        if (ev.kind == HTTP_CHUNK_EV_DATA) {
            assert_true(ev.data_off + ev.data_len == ev.consumed);
            assert_true(d.data_len + ev.data_len <= sizeof(d.data));
            memcpy(d.data + d.data_len, raw + pos + ev.data_off, ev.data_len);
            d.data_len += ev.data_len;
        } else if (ev.kind == HTTP_CHUNK_EV_SIZE) {
            d.chunks++;
        }
        pos += ev.consumed;
        if (ev.kind == HTTP_CHUNK_EV_END) {
            d.rc = HTTP_OK;
            d.end = pos;
            assert_true(http_chunked_done(&c));
            return d;
        }
    }
    return d;
}

static void expect_body(const char *raw, const char *data, int chunks)
{
    struct decoded d = decode(raw, strlen(raw), 0, 0);
    if (d.rc != HTTP_OK)
        print_error("for %s: rc %d status %d\n", raw, d.rc, d.status);
    assert_int_equal(d.rc, HTTP_OK);
    assert_int_equal(d.data_len, strlen(data));
    assert_memory_equal(d.data, data, d.data_len);
    assert_int_equal(d.chunks, chunks);
}

static void expect_bad(const char *raw)
{
    struct decoded d = decode(raw, strlen(raw), 0, 0);
    if (d.rc != HTTP_ERROR)
        print_error("accepted: %s\n", raw);
    assert_int_equal(d.rc, HTTP_ERROR);
    assert_int_equal(d.status, 400);
}

static void test_http_chunked_decodes_bodies(void **state)
{
    (void)state;
    expect_body("0\r\n\r\n", "", 0);
    expect_body("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", "hello world", 2);
    expect_body("A\r\n0123456789\r\n000\r\n\r\n", "0123456789", 1);
    expect_body("0005\r\nhello\r\n0\r\n\r\n", "hello", 1);
    expect_body("5;a;b=c;d=\"x \\\" ; y\"\r\nhello\r\n0;done=1\r\n\r\n",
                "hello", 1);
    expect_body("5 ; a = b\r\nhello\r\n0\r\n\r\n", "hello", 1);
    expect_body("5\r\nhello\r\n0\r\nVary: *\r\nX:POST / HTTP/1.1\r\n\r\n",
                "hello", 1);
}

static void test_http_chunked_largest_size_and_overflow(void **state)
{
    (void)state;
    /* 15 significant hex digits are allowed (2^60 - 1) ... */
    struct decoded d = decode("0fffffffffffffff\r\nab", 20, 0, 0);
    assert_int_equal(d.rc, HTTP_AGAIN);
    assert_int_equal(d.chunks, 1);
    assert_int_equal(d.data_len, 2);
    /* ... 16 are not, nor anything that would wrap */
    expect_bad("1000000000000000\r\n");
    expect_bad("10000000000000000\r\nabc\r\n0\r\n\r\n");
    expect_bad("fffffffffffffffff\r\n");
}

static void test_http_chunked_rejects_malformed_lines(void **state)
{
    (void)state;
    const char *bad[] = {
        "\r\n\r\n",                      /* empty size */
        "z\r\n",                         /* not hex */
        "+5\r\nhello\r\n0\r\n\r\n",      /* sign */
        "0x5\r\nhello\r\n0\r\n\r\n",     /* 0x */
        "0_2e\r\n\r\n",                  /* underscore */
        " 5\r\nhello\r\n0\r\n\r\n",      /* leading space */
        "a \r\n0123456789\r\n0\r\n\r\n", /* trailing space */
        "2 erf\r\naa\r\n0\r\n\r\n",      /* junk without ; */
        "2;\r\naa\r\n0\r\n\r\n",         /* bare ; */
        "5;bad[=x\r\nhello\r\n0\r\n\r\n",/* invalid token */
        "5;a=\"abc\r\nhello\r\n",        /* unbalanced quote */
        "5;a=\r\nhello\r\n",             /* missing value */
        "2;a=b\r\rXX\r\n",               /* bare CR */
        "5\nhello\r\n0\r\n\r\n",         /* bare LF after size */
        "5;\nhello\r\n",                 /* bare LF after ; */
        "a\r\n0123456789\n0\r\n\r\n",    /* data + bare LF */
        "5\r\nABCDE0\r\n\r\n",           /* no CRLF after data */
        "5\r\nhelloXX\r\n0\r\n\r\n",     /* spill */
        "5\r\nhello\r\n0\n\n",           /* last chunk bare LF */
        "3\r\nfoo\r\n\r\n",              /* missing last chunk */
        "5\r\nhello\r\n0\r\nX-T : v\r\n\r\n", /* trailer space */
        "5\r\nhello\r\n0\r\nXX\r\n\r\n",      /* trailer no colon */
        "0\r\n v\r\n\r\n",                    /* trailer fold */
        "0\r\nX: a\x01\r\n\r\n",              /* trailer CTL */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_bad(bad[i]);
    const char nul[] = "5;\0ext\r\nhello\r\n0\r\n\r\n";
    struct decoded d = decode(nul, sizeof(nul) - 1, 0, 0);
    assert_int_equal(d.rc, HTTP_ERROR);
}

static void test_http_chunked_end_leaves_next_message(void **state)
{
    (void)state;
    const char *raw = "3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\n";
    struct decoded d = decode(raw, strlen(raw), 0, 0);
    assert_int_equal(d.rc, HTTP_OK);
    assert_int_equal(d.end, strlen("3\r\nabc\r\n0\r\n\r\n"));
}

static void test_http_chunked_resumable_at_every_split(void **state)
{
    (void)state;
    const char *raws[] = {
        "5;ext=\"q\\\"x\"\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n"
        "0\r\nT: v\r\n\r\nNEXT",
        "5\r\nhello\r\n5 x\r\n",
    };
    for (size_t r = 0; r < 2; r++) {
        const char *raw = raws[r];
        size_t len = strlen(raw);
        struct decoded whole = decode(raw, len, 0, 0);
        for (size_t piece = 1; piece <= len; piece++) {
            struct decoded part = decode(raw, len, piece, 0);
            assert_int_equal(part.rc, whole.rc);
            assert_int_equal(part.status, whole.status);
            assert_int_equal(part.data_len, whole.data_len);
            assert_memory_equal(part.data, whole.data, whole.data_len);
            assert_int_equal(part.end, whole.end);
        }
    }
}

static void test_http_chunked_body_limit(void **state)
{
    (void)state;
    const char *raw = "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
    struct decoded d = decode(raw, strlen(raw), 0, 11);
    assert_int_equal(d.rc, HTTP_OK);
    d = decode(raw, strlen(raw), 0, 10);
    assert_int_equal(d.rc, HTTP_ERROR);
    assert_int_equal(d.status, 413);
    /* a response error is a 502 */
    struct http_chunked c;
    struct http_chunk_ev ev;
    http_chunked_init(&c, 0, true);
    assert_int_equal(http_chunked_step(&c, "x\r\n", 3, &ev), HTTP_ERROR);
    assert_int_equal(c.status, 502);
    /* an error is sticky */
    assert_int_equal(http_chunked_step(&c, "0\r\n\r\n", 5, &ev), HTTP_ERROR);
}

static void test_http_chunked_line_limit(void **state)
{
    (void)state;
    static char raw[HTTP_CHUNK_MAX_LINE_BYTES + 64];
    memset(raw, 0, sizeof(raw));
    strcpy(raw, "5;a=");
    memset(raw + 4, 'x', HTTP_CHUNK_MAX_LINE_BYTES);
    struct decoded d = decode(raw, strlen(raw), 0, 0);
    assert_int_equal(d.rc, HTTP_ERROR);
    assert_int_equal(d.status, 400);
}

static void test_http_chunked_length_counter(void **state)
{
    (void)state;
    struct http_length_body b;
    http_length_init(&b, 10);
    assert_false(http_length_done(&b));
    assert_int_equal(http_length_take(&b, 4), 4);
    assert_int_equal(http_length_take(&b, 100), 6);
    assert_true(http_length_done(&b));
    assert_int_equal(http_length_take(&b, 5), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_chunked_decodes_bodies),
        cmocka_unit_test(test_http_chunked_largest_size_and_overflow),
        cmocka_unit_test(test_http_chunked_rejects_malformed_lines),
        cmocka_unit_test(test_http_chunked_end_leaves_next_message),
        cmocka_unit_test(test_http_chunked_resumable_at_every_split),
        cmocka_unit_test(test_http_chunked_body_limit),
        cmocka_unit_test(test_http_chunked_line_limit),
        cmocka_unit_test(test_http_chunked_length_counter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
