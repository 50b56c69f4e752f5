/* http_parser: resumable, zero-copy parser of HTTP/1.1 request and response heads
 * (RFC 9112 §2-§7, RFC 9110 §5-§7). Bytes in, a parsed head or an error status
 * out; "need more" when the buffer ends before the head does.
 *
 * Pure: no allocation, no I/O, no ev.h/OpenSSL/socket headers.
 *
 * Zero copy: every field of the result is a span (offset, length) into the
 * caller's buffer, counted from the first byte the caller passes. Ownership and
 * what the caller must keep:
 *   - The caller owns the buffer. Between calls for the same head it may grow or
 *     move it, but bytes [0, len) already passed must stay unchanged and stay at
 *     the same offsets. Spans stay meaningful for as long as those bytes do.
 *   - The caller owns the header array given to http_msg_init_*; the parser only
 *     fills it.
 *   - The head ends at msg->head_bytes; the body (if any) starts there. Leading
 *     empty lines (CRLF) before a request line are skipped and are part of
 *     head_bytes.
 *
 * Policy (strict, chosen so that nothing ambiguous is ever forwarded): bare LF,
 * bare CR, obs-fold, whitespace before a colon, NUL/CTL/DEL in a field, CL with
 * TE, differing Content-Lengths, any Transfer-Encoding other than exactly
 * "chunked", TE in HTTP/1.0, a missing/duplicate/invalid Host in HTTP/1.1 and
 * any malformed start line are refused. See http_parser.c for the reasons. */
#ifndef RAFTLB_HTTP_PARSER_H
#define RAFTLB_HTTP_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Return codes shared by the HTTP pure modules. */
enum {
    HTTP_OK = 0,
    HTTP_AGAIN = -1,  /* the buffer ended first: call again with more bytes */
    HTTP_ERROR = -2,  /* invalid input: msg->status and msg->error say why */
    HTTP_ENOSPC = -3, /* output buffer too small (rewriter) */
};

enum http_method {
    HTTP_METHOD_OTHER = 0, /* any other token: forwarded as is */
    HTTP_METHOD_GET,
    HTTP_METHOD_HEAD,
    HTTP_METHOD_POST,
    HTTP_METHOD_PUT,
    HTTP_METHOD_DELETE,
    HTTP_METHOD_OPTIONS,
    HTTP_METHOD_TRACE,
    HTTP_METHOD_CONNECT,
    HTTP_METHOD_PATCH,
    HTTP_METHOD_COUNT
};

/* Header fields the proxy interprets; every other name is HTTP_HDR_OTHER. */
enum http_hdr {
    HTTP_HDR_OTHER = 0,
    HTTP_HDR_HOST,
    HTTP_HDR_CONTENT_LENGTH,
    HTTP_HDR_TRANSFER_ENCODING,
    HTTP_HDR_CONNECTION,
    HTTP_HDR_KEEP_ALIVE,
    HTTP_HDR_PROXY_CONNECTION,
    HTTP_HDR_TE,
    HTTP_HDR_TRAILER,
    HTTP_HDR_UPGRADE,
    HTTP_HDR_EXPECT,
    HTTP_HDR_X_FORWARDED_FOR,
    HTTP_HDR_X_FORWARDED_PROTO,
    HTTP_HDR_FORWARDED,
    HTTP_HDR_COUNT
};

/* How the body of a message is delimited (RFC 9112 §6.3). */
enum http_body {
    HTTP_BODY_NONE = 0, /* no body */
    HTTP_BODY_LENGTH,   /* exactly msg->content_length bytes */
    HTTP_BODY_CHUNKED,  /* chunked: feed it through struct http_chunked */
    HTTP_BODY_CLOSE,    /* response only: until the server closes */
    HTTP_BODY_TUNNEL,   /* response only: 101 or 2xx to CONNECT, raw bytes both ways */
    HTTP_BODY_COUNT
};

struct http_span {
    uint32_t off;
    uint32_t len;
};

struct http_header {
    struct http_span name;
    struct http_span value; /* without leading and trailing OWS */
    enum http_hdr id;
};

/* Limits; a zero field means "use the default" (see http_limits_default). */
struct http_limits {
    uint32_t max_request_line_bytes; /* longer: 414 (responses: 502) */
    uint32_t max_head_bytes;         /* whole head longer: 431 (responses: 502) */
    uint32_t max_headers;            /* more fields: 431 (responses: 502) */
    uint64_t max_body_bytes;         /* 0 = unlimited; larger body: 413 */
};

#define HTTP_DEFAULT_MAX_REQUEST_LINE_BYTES 8192u
#define HTTP_DEFAULT_MAX_HEAD_BYTES 32768u
#define HTTP_DEFAULT_MAX_HEADERS 100u
#define HTTP_MAX_LEADING_EMPTY_LINES 8u

struct http_msg {
    /* --- resumable scan state (private) --- */
    uint32_t scan_off;   /* next byte to look at */
    uint32_t line_start; /* offset of the line being scanned */
    uint32_t lines;      /* complete lines seen, start line included */
    bool is_response;
    bool in_start_line;
    uint8_t empty_lines; /* empty lines skipped before the request line */

    /* --- results, valid after HTTP_OK --- */
    uint32_t start_off;  /* first byte of the start line */
    uint32_t head_bytes; /* bytes of the head, final CRLF included */
    uint8_t version_minor; /* 0 or 1 (HTTP/1.2+ is handled as 1.1) */

    /* request */
    enum http_method method;
    struct http_span method_name;
    struct http_span target;
    bool idempotent;     /* RFC 9110 §9.2.2 */
    bool absolute_form;  /* target is "http(s)://authority..." */
    bool asterisk_form;
    struct http_span authority; /* absolute-form: the authority of the target */
    int host_index;      /* index into headers of Host, -1 if none */
    bool expect_continue;
    bool upgrade;        /* Upgrade requested (Upgrade + Connection: upgrade) */

    /* response */
    enum http_method req_method; /* method of the request being answered */
    bool req_upgrade;            /* that request asked for an upgrade */
    uint16_t status_code;
    struct http_span reason;
    bool interim;                /* 1xx other than 101: another head follows */

    /* both */
    struct http_header *headers; /* caller-owned array */
    uint32_t headers_cap;
    uint32_t nheaders;
    enum http_body body;
    uint64_t content_length; /* for HTTP_BODY_LENGTH; also a HEAD/304 value */
    bool has_content_length;
    bool has_transfer_encoding;
    bool keep_alive;         /* the connection may carry another message */
    bool conn_close;         /* Connection: close was present */
    bool conn_keep_alive;    /* Connection: keep-alive was present */
    bool conn_has_other;     /* Connection names other fields (hop-by-hop) */

    /* --- error, valid after HTTP_ERROR --- */
    uint16_t status;     /* status to answer: 400, 413, 414, 431, 501, 505, 502 */
    const char *error;   /* short static reason */
};

/* Fill *lim with the defaults; used for zero fields of a caller's limits. */
void http_limits_default(struct http_limits *lim);

/* Prepare msg to parse one request head. headers/cap: caller-owned storage
 * for the fields (cap bounds the field count together with max_headers). */
void http_msg_init_request(struct http_msg *msg, struct http_header *headers,
                           uint32_t cap);

/* Prepare msg to parse the response to a request made with req_method;
 * req_upgrade says whether that request asked for an Upgrade (a 101 is only
 * valid then). */
void http_msg_init_response(struct http_msg *msg, struct http_header *headers,
                            uint32_t cap, enum http_method req_method,
                            bool req_upgrade);

/* Parse a request head from buf[0, len). Call again with the same msg and a
 * longer buffer after HTTP_AGAIN (see the ownership rules above); work already
 * done is not repeated. lim may be NULL for the defaults.
 * Returns HTTP_OK (head complete, results filled), HTTP_AGAIN, or HTTP_ERROR
 * with msg->status (400/413/414/431/501/505) and msg->error set. */
int http_parse_request(struct http_msg *msg, const char *buf, size_t len,
                       const struct http_limits *lim);

/* Same for a response head. Errors carry status 502 (the proxy's answer to the
 * client when a backend misbehaves). An interim 1xx (not 101) returns HTTP_OK
 * with msg->interim set: re-init and parse the next head after head_bytes. */
int http_parse_response(struct http_msg *msg, const char *buf, size_t len,
                        const struct http_limits *lim);

/* Header lookup helpers. */
int http_msg_find(const struct http_msg *msg, enum http_hdr id, int from);

/* Case-insensitive comparison of a span with a NUL-terminated lowercase word. */
bool http_span_eq_lower(const char *buf, struct http_span s, const char *lower);

const char *http_method_name(enum http_method m);
const char *http_status_reason(unsigned status);

#endif
