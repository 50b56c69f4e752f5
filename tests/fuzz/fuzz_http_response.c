/* fuzz_http_response: libFuzzer target for the response head parser and
 * rewriter. The first input byte chooses the request method and whether an
 * upgrade was asked for; the rest is the response, also fed split at a
 * data-derived point and byte by byte, which must give the same outcome.
 * Build: ./configure --enable-fuzz CC=clang; make tests/fuzz/fuzz_http_response */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_chunked.h"
#include "http/http_parser.h"
#include "http/http_rewrite.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NH 32

static int parse(struct http_msg *m, struct http_header *h, const char *buf,
                 size_t len, size_t split, enum http_method meth, bool upg)
{
    int rc = HTTP_AGAIN;
    http_msg_init_response(m, h, NH, meth, upg);
    if (split == SIZE_MAX) {
        for (size_t at = 1; at <= len && rc == HTTP_AGAIN; at++)
            rc = http_parse_response(m, buf, at, NULL);
        return rc;
    }
    if (split > 0 && split < len)
        rc = http_parse_response(m, buf, split, NULL);
    if (rc == HTTP_AGAIN)
        rc = http_parse_response(m, buf, len, NULL);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char out[1 << 16];
    if (size < 1)
        return 0;
    enum http_method meth = (enum http_method)(data[0] % HTTP_METHOD_COUNT);
    bool upg = (data[0] & 0x80) != 0;
    const char *buf = (const char *)data + 1;
    size_t len = size - 1;
    struct http_msg a, b;
    struct http_header ha[NH], hb[NH];

    int ra = parse(&a, ha, buf, len, len, meth, upg);
    int rb = parse(&b, hb, buf, len, len ? data[1] % len : 0, meth, upg);
    if (ra != rb || a.status != b.status || a.head_bytes != b.head_bytes ||
        a.body != b.body || a.nheaders != b.nheaders ||
        memcmp(ha, hb, a.nheaders * sizeof(ha[0])) != 0)
        abort();
    if (len <= 4096) {
        rb = parse(&b, hb, buf, len, SIZE_MAX, meth, upg);
        if (ra != rb || a.status != b.status || a.head_bytes != b.head_bytes ||
            a.body != b.body)
            abort();
    }
    if (ra == HTTP_ERROR && a.status != 502)
        abort();
    if (ra != HTTP_OK)
        return 0;
    if (a.body == HTTP_BODY_NONE && !(meth == HTTP_METHOD_HEAD ||
                                      a.status_code < 200 ||
                                      a.status_code == 204 ||
                                      a.status_code == 304))
        abort();
    size_t n = 0;
    struct http_response_forward fwd = {(data[0] & 1) != 0, (data[0] >> 1) & 1};
    if (http_rewrite_response(&a, buf, &fwd, out, sizeof(out), &n) != HTTP_OK)
        abort();
    /* the rewritten head parses again with the same framing */
    struct http_msg c;
    struct http_header hc[NH + 4];
    http_msg_init_response(&c, hc, NH + 4, meth, upg);
    if (http_parse_response(&c, out, n, NULL) != HTTP_OK || c.body != a.body ||
        c.head_bytes != n)
        abort();
    if (a.body == HTTP_BODY_CHUNKED) {
        struct http_chunked ch;
        struct http_chunk_ev ev;
        size_t at = a.head_bytes;
        http_chunked_init(&ch, 0, true);
        while (at <= len) {
            int rc = http_chunked_step(&ch, buf + at, len - at, &ev);
            if (rc == HTTP_ERROR) {
                if (ch.status != 502)
                    abort();
                break;
            }
            at += ev.consumed;
            if (rc == HTTP_AGAIN || ev.kind == HTTP_CHUNK_EV_END)
                break;
        }
    }
    return 0;
}
