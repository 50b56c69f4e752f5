/* http_chunked: resumable validator/decoder of chunked bodies (RFC 9112 §7.1)
 * and a counter for Content-Length bodies. It passes data through: the caller
 * forwards the bytes it consumed (all of them validated) and learns where the
 * chunk data lies, where chunks begin and where the body, trailers included,
 * ends. Pure: no allocation, no I/O.
 *
 * Strict on chunk lines: bare LF, bare CR, whitespace before the size or after
 * it without ';', a bare ';', an invalid extension, sizes over 15 significant
 * hex digits, a missing CRLF after the data and malformed trailer fields are
 * all refused.
 *
 * For the proxy's request path: to refuse a bad body before any byte of its
 * request reaches a backend (what the conformance corpus checks), run the
 * decoder over every body byte already buffered before forwarding the head;
 * only bytes that arrive later are streamed as they are validated. */
#ifndef RAFTLB_HTTP_CHUNKED_H
#define RAFTLB_HTTP_CHUNKED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http/http_parser.h"

#define HTTP_CHUNK_MAX_LINE_BYTES 4096u
#define HTTP_CHUNK_MAX_TRAILER_BYTES 16384u

enum http_chunk_ev_kind {
    HTTP_CHUNK_EV_NONE = 0, /* only with HTTP_AGAIN */
    HTTP_CHUNK_EV_SIZE,     /* a chunk header ended: ev->chunk_size (> 0) */
    HTTP_CHUNK_EV_DATA,     /* chunk data at buf[data_off, data_off + data_len) */
    HTTP_CHUNK_EV_END,      /* last chunk and trailers done: body complete */
    HTTP_CHUNK_EV_COUNT
};

struct http_chunk_ev {
    enum http_chunk_ev_kind kind;
    size_t consumed; /* bytes of buf used, always; forward exactly these */
    size_t data_off;
    size_t data_len;
    uint64_t chunk_size;
};

struct http_chunked {
    uint8_t state;
    uint8_t digits;        /* significant hex digits of the size */
    bool is_response;      /* errors are 502 instead of 400/413 */
    bool has_trailers;
    uint32_t line_bytes;   /* bytes of the current chunk line / trailer section */
    uint64_t size;         /* size being parsed, then bytes left in the chunk */
    uint64_t total_bytes;  /* decoded body bytes so far */
    uint64_t max_body_bytes; /* 0 = unlimited */
    uint16_t status;       /* after HTTP_ERROR */
    const char *error;
};

/* Start decoding a chunked body. max_body_bytes 0 means unlimited (pass the
 * http_limits value used for the head). */
void http_chunked_init(struct http_chunked *c, uint64_t max_body_bytes,
                       bool is_response);

/* Consume bytes from buf[0, len) up to the next event. Returns HTTP_OK with
 * *ev filled (ev->consumed <= len; call again with the rest), HTTP_AGAIN when
 * all len bytes were consumed without an event, or HTTP_ERROR with c->status
 * (400, 413; 502 for responses) and c->error. After HTTP_CHUNK_EV_END the
 * bytes after ev->consumed belong to the next message. */
int http_chunked_step(struct http_chunked *c, const char *buf, size_t len,
                      struct http_chunk_ev *ev);

bool http_chunked_done(const struct http_chunked *c);

/* Content-Length body: how many of len available bytes belong to the body. */
struct http_length_body {
    uint64_t left;
};

void http_length_init(struct http_length_body *b, uint64_t content_length);
size_t http_length_take(struct http_length_body *b, size_t len);
bool http_length_done(const struct http_length_body *b);

#endif
