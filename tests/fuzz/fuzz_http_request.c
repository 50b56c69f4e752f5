/* fuzz_http_request: libFuzzer target for the request path: head parser,
 * chunked decoder and request rewriter over pipelined input. The input is also
 * fed split at a point derived from its first byte, and then one byte at a
 * time; every way must give the same outcome as the whole buffer.
 * Build: ./configure --enable-fuzz CC=clang; make tests/fuzz/fuzz_http_request */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_chunked.h"
#include "http/http_parser.h"
#include "http/http_rewrite.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NH 32

struct result {
    int rc;
    uint16_t status;
    uint32_t head_bytes;
    uint32_t nheaders;
    int body;
    uint64_t content_length;
    struct http_header h[NH];
};

/* Parse one head from buf[0, len), feeding it in two parts (at split) or
 * byte by byte (split == SIZE_MAX). */
static void parse_head(const char *buf, size_t len, size_t split,
                       const struct http_limits *lim, struct result *r,
                       struct http_msg *m)
{
    memset(r, 0, sizeof(*r));
    http_msg_init_request(m, r->h, NH);
    if (split == SIZE_MAX) {
        r->rc = HTTP_AGAIN;
        for (size_t at = 1; at <= len && r->rc == HTTP_AGAIN; at++)
            r->rc = http_parse_request(m, buf, at, lim);
        if (len == 0)
            r->rc = http_parse_request(m, buf, 0, lim);
    } else {
        r->rc = HTTP_AGAIN;
        if (split > 0 && split < len)
            r->rc = http_parse_request(m, buf, split, lim);
        if (r->rc == HTTP_AGAIN)
            r->rc = http_parse_request(m, buf, len, lim);
    }
    r->status = m->status;
    r->head_bytes = m->head_bytes;
    r->nheaders = m->nheaders;
    r->body = m->body;
    r->content_length = m->content_length;
    if (r->rc == HTTP_ERROR && (m->error == NULL || m->status < 400))
        abort();
}

static void same(const struct result *a, const struct result *b)
{
    if (a->rc != b->rc || a->status != b->status ||
        a->head_bytes != b->head_bytes || a->nheaders != b->nheaders ||
        a->body != b->body || a->content_length != b->content_length ||
        memcmp(a->h, b->h, a->nheaders * sizeof(a->h[0])) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char out[1 << 16];
    const char *buf = (const char *)data;
    size_t pos = 0;
    struct http_limits lim = {256, 2048, 24, 1 << 20};

    for (int n = 0; n < 8 && pos < size; n++) {
        struct http_msg m, m2;
        struct result whole, split, bytes;
        size_t len = size - pos;
        parse_head(buf + pos, len, SIZE_MAX - 1, &lim, &whole, &m);
        parse_head(buf + pos, len, data[pos] % (len + 1), &lim, &split, &m2);
        same(&whole, &split);
        if (len <= 4096) {
            parse_head(buf + pos, len, SIZE_MAX, &lim, &bytes, &m2);
            same(&whole, &bytes);
        }
        if (whole.rc != HTTP_OK)
            break;
        if (m.head_bytes > len || m.nheaders > NH)
            abort();
        for (uint32_t k = 0; k < m.nheaders; k++) {
            const struct http_header *h = &m.headers[k];
            if (h->name.off + h->name.len > m.head_bytes ||
                h->value.off + h->value.len > m.head_bytes || h->name.len == 0)
                abort();
        }
        size_t outn = 0;
        struct http_request_forward fwd = {"2001:db8::7", "https", n & 1, n & 2};
        if (http_rewrite_request(&m, buf + pos, &fwd, out, sizeof(out),
                                 &outn) != HTTP_OK)
            abort();
        /* what is forwarded must parse again, with the same framing */
        struct http_header h3[NH + 8];
        struct http_msg m3;
        http_msg_init_request(&m3, h3, NH + 8);
        int rc3 = http_parse_request(&m3, out, outn, NULL);
        if (rc3 != HTTP_OK || m3.body != m.body ||
            m3.content_length != m.content_length || m3.head_bytes != outn)
            abort();
        pos += m.head_bytes;
        if (m.body == HTTP_BODY_LENGTH) {
            if (size - pos < m.content_length)
                break;
            pos += (size_t)m.content_length;
        } else if (m.body == HTTP_BODY_CHUNKED) {
            struct http_chunked c, c2;
            struct http_chunk_ev ev, ev2;
            uint64_t total = 0, total2 = 0;
            size_t at = pos, at2 = pos;
            int rc, rc2;
            http_chunked_init(&c, lim.max_body_bytes, false);
            http_chunked_init(&c2, lim.max_body_bytes, false);
            do {
                rc = http_chunked_step(&c, buf + at, size - at, &ev);
                if (rc == HTTP_ERROR)
                    break;
                if (ev.consumed > size - at)
                    abort();
                at += ev.consumed;
                if (ev.kind == HTTP_CHUNK_EV_DATA)
                    total += ev.data_len;
            } while (rc == HTTP_OK && ev.kind != HTTP_CHUNK_EV_END);
            /* the same body in 3-byte pieces */
            do {
                size_t piece = size - at2 < 3 ? size - at2 : 3;
                rc2 = http_chunked_step(&c2, buf + at2, piece, &ev2);
                if (rc2 == HTTP_ERROR)
                    break;
                at2 += ev2.consumed;
                if (ev2.kind == HTTP_CHUNK_EV_DATA)
                    total2 += ev2.data_len;
                if (rc2 == HTTP_AGAIN && at2 >= size)
                    break;
            } while (ev2.kind != HTTP_CHUNK_EV_END);
            if ((rc == HTTP_ERROR) != (rc2 == HTTP_ERROR))
                abort();
            if (rc == HTTP_ERROR)
                break;
            if (rc == HTTP_AGAIN) {
                if (rc2 != HTTP_AGAIN || total != total2)
                    abort();
                break;
            }
            if (at != at2 || total != total2 || c.total_bytes != total)
                abort();
            pos = at;
        }
        if (!m.keep_alive)
            break;
    }
    return 0;
}
