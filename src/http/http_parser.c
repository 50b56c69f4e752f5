/* http_parser: the HTTP/1.1 request and response head parser (see http_parser.h).
 *
 * How it works: a resumable scan (memchr for LF) finds the end of the head and
 * enforces the size limits early, remembering where it stopped; once the blank
 * line has arrived, one validating pass over the head fills the result. Bytes
 * are classified through the http_char_class table; no allocation, no callbacks.
 *
 * Must not: allocate, print, or accept anything two HTTP implementations could
 * frame differently (the request-smuggling family, RFC 9112 §11.2). */
#include "http/http_parser.h"

#include <string.h>

#include "http/http_chars.h"

static int fail(struct http_msg *m, uint16_t status, const char *why)
{
    /* A backend's bad response is answered to the client as 502. */
    m->status = m->is_response ? 502 : status;
    m->error = why;
    return HTTP_ERROR;
}

void http_limits_default(struct http_limits *lim)
{
    lim->max_request_line_bytes = HTTP_DEFAULT_MAX_REQUEST_LINE_BYTES;
    lim->max_head_bytes = HTTP_DEFAULT_MAX_HEAD_BYTES;
    lim->max_headers = HTTP_DEFAULT_MAX_HEADERS;
    lim->max_body_bytes = 0;
}

static void msg_init(struct http_msg *m, struct http_header *headers, uint32_t cap)
{
    memset(m, 0, sizeof(*m));
    m->in_start_line = true;
    m->headers = headers;
    m->headers_cap = cap;
    m->host_index = -1;
}

void http_msg_init_request(struct http_msg *m, struct http_header *headers,
                           uint32_t cap)
{
    msg_init(m, headers, cap);
}

void http_msg_init_response(struct http_msg *m, struct http_header *headers,
                            uint32_t cap, enum http_method req_method,
                            bool req_upgrade)
{
    msg_init(m, headers, cap);
    m->is_response = true;
    m->req_method = req_method;
    m->req_upgrade = req_upgrade;
}

static void limits_resolve(struct http_limits *out, const struct http_limits *in)
{
    http_limits_default(out);
    if (in == NULL)
        return;
    if (in->max_request_line_bytes != 0)
        out->max_request_line_bytes = in->max_request_line_bytes;
    if (in->max_head_bytes != 0)
        out->max_head_bytes = in->max_head_bytes;
    if (in->max_headers != 0)
        out->max_headers = in->max_headers;
    out->max_body_bytes = in->max_body_bytes;
}

static inline bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static inline char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
}

/* Case-insensitive equality of b[0, n) with a lowercase word of length n. */
static bool eq_lower(const char *b, size_t n, const char *word, size_t wn)
{
    if (n != wn)
        return false;
    for (size_t i = 0; i < n; i++)
        if (lower(b[i]) != word[i])
            return false;
    return true;
}

bool http_span_eq_lower(const char *buf, struct http_span s, const char *word)
{
    return eq_lower(buf + s.off, s.len, word, strlen(word));
}

/* Find the end of the head. Resumes at m->scan_off. Every LF must follow a CR
 * (bare LF is refused: RFC 9112 §2.2 allows, not requires, accepting it, and a
 * proxy that accepts it must normalise; refusing is the safe choice).
 *
 * The checks run in the same order whether a line arrives whole or in pieces
 * (size limits first, then line syntax), so that every split of the input
 * gives the same status: a resumable parser must not answer differently
 * depending on how TCP segmented the bytes. */
static int scan_head(struct http_msg *m, const char *buf, size_t len,
                     const struct http_limits *lim)
{
    size_t pos = m->scan_off;

    if (len > UINT32_MAX)
        len = UINT32_MAX;
    while (pos < len) {
        if (m->in_start_line && pos == m->line_start && !m->is_response &&
            buf[pos] != '\r' && !HTTP_CH_IS(buf[pos], HTTP_CH_TCHAR))
            return fail(m, 400, "invalid request line");
        const char *lf = memchr(buf + pos, '\n', len - pos);
        if (lf == NULL) {
            pos = len;
            break;
        }
        size_t p = (size_t)(lf - buf);
        size_t ls = m->line_start;
        bool cr = p > ls && buf[p - 1] == '\r';
        size_t linelen = p - ls - (cr ? 1 : 0);
        bool skip = m->in_start_line && !m->is_response && linelen == 0;
        if (!skip) {
            if (m->in_start_line && linelen > lim->max_request_line_bytes)
                return fail(m, 414, "request line too long");
            if (p + 1 - m->start_off > lim->max_head_bytes)
                return m->in_start_line
                           ? fail(m, 414, "request line too long")
                           : fail(m, 431, "header section too large");
        }
        if (!cr)
            return fail(m, 400, "bare LF");
        if (skip) {
            if (++m->empty_lines > HTTP_MAX_LEADING_EMPTY_LINES)
                return fail(m, 400, "too many empty lines");
            m->line_start = m->start_off = (uint32_t)(p + 1);
            pos = p + 1;
            continue;
        }
        if (m->in_start_line) {
            m->in_start_line = false;
            m->lines = 1;
        } else {
            if (linelen == 0) {
                m->head_bytes = (uint32_t)(p + 1);
                m->scan_off = (uint32_t)(p + 1);
                return HTTP_OK;
            }
            if (m->lines++ > lim->max_headers || m->lines - 1 > m->headers_cap)
                return fail(m, 431, "too many header fields");
        }
        m->line_start = (uint32_t)(p + 1);
        pos = p + 1;
    }
    m->scan_off = (uint32_t)pos;
    if (m->in_start_line) {
        size_t pend = len - m->line_start;
        if (pend > 0 && buf[len - 1] == '\r')
            pend--;
        if (pend > lim->max_request_line_bytes)
            return fail(m, 414, "request line too long");
    }
    if (len - m->start_off > lim->max_head_bytes)
        return m->in_start_line ? fail(m, 414, "request line too long")
                                : fail(m, 431, "header section too large");
    return HTTP_AGAIN;
}

static enum http_method method_lookup(const char *b, size_t n)
{
#define M(str, id)                                                             \
    if (n == sizeof(str) - 1 && memcmp(b, str, n) == 0)                        \
        return id;
    switch (n) {
    case 3:
        M("GET", HTTP_METHOD_GET)
        M("PUT", HTTP_METHOD_PUT)
        break;
    case 4:
        M("POST", HTTP_METHOD_POST)
        M("HEAD", HTTP_METHOD_HEAD)
        break;
    case 5:
        M("PATCH", HTTP_METHOD_PATCH)
        M("TRACE", HTTP_METHOD_TRACE)
        break;
    case 6:
        M("DELETE", HTTP_METHOD_DELETE)
        break;
    case 7:
        M("OPTIONS", HTTP_METHOD_OPTIONS)
        M("CONNECT", HTTP_METHOD_CONNECT)
        break;
    default:
        break;
    }
#undef M
    return HTTP_METHOD_OTHER;
}

static const char *const method_names[HTTP_METHOD_COUNT] = {
    [HTTP_METHOD_OTHER] = "",          [HTTP_METHOD_GET] = "GET",
    [HTTP_METHOD_HEAD] = "HEAD",       [HTTP_METHOD_POST] = "POST",
    [HTTP_METHOD_PUT] = "PUT",         [HTTP_METHOD_DELETE] = "DELETE",
    [HTTP_METHOD_OPTIONS] = "OPTIONS", [HTTP_METHOD_TRACE] = "TRACE",
    [HTTP_METHOD_CONNECT] = "CONNECT", [HTTP_METHOD_PATCH] = "PATCH",
};

const char *http_method_name(enum http_method m)
{
    return (unsigned)m < HTTP_METHOD_COUNT ? method_names[m] : "";
}

const char *http_status_reason(unsigned status)
{
    switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 204: return "No Content";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 417: return "Expectation Failed";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
    }
}

static enum http_hdr header_lookup(const char *b, size_t n)
{
#define H(str, id)                                                             \
    if (eq_lower(b, n, str, sizeof(str) - 1))                                  \
        return id;
    switch (n) {
    case 2:
        H("te", HTTP_HDR_TE)
        break;
    case 4:
        H("host", HTTP_HDR_HOST)
        break;
    case 6:
        H("expect", HTTP_HDR_EXPECT)
        break;
    case 7:
        H("trailer", HTTP_HDR_TRAILER)
        H("upgrade", HTTP_HDR_UPGRADE)
        break;
    case 9:
        H("forwarded", HTTP_HDR_FORWARDED)
        break;
    case 10:
        H("connection", HTTP_HDR_CONNECTION)
        H("keep-alive", HTTP_HDR_KEEP_ALIVE)
        break;
    case 14:
        H("content-length", HTTP_HDR_CONTENT_LENGTH)
        break;
    case 15:
        H("x-forwarded-for", HTTP_HDR_X_FORWARDED_FOR)
        break;
    case 16:
        H("proxy-connection", HTTP_HDR_PROXY_CONNECTION)
        break;
    case 17:
        H("transfer-encoding", HTTP_HDR_TRANSFER_ENCODING)
        H("x-forwarded-proto", HTTP_HDR_X_FORWARDED_PROTO)
        break;
    default:
        break;
    }
#undef H
    return HTTP_HDR_OTHER;
}

/* pct-encoded = "%" HEXDIG HEXDIG; b[i] is '%' and b[0, n) is the span. */
static bool pct_ok(const char *b, size_t i, size_t n)
{
    return i + 2 < n && HTTP_CH_IS(b[i + 1], HTTP_CH_HEX) &&
           HTTP_CH_IS(b[i + 2], HTTP_CH_HEX);
}

/* path-abempty [ "?" query ] (or absolute-path): pchar, '/', '?' and valid
 * pct-encoding only. '#', '"', '|', raw non-ASCII and CTLs are refused. */
static bool path_query_ok(const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!HTTP_CH_IS(b[i], HTTP_CH_TARGET))
            return false;
        if (b[i] == '%' && !pct_ok(b, i, n))
            return false;
    }
    return true;
}

/* uri-host [ ":" port ] (RFC 9110 §7.2, RFC 3986 §3.2.2). An empty host is
 * refused: the proxy cannot route it. With need_port, the port must be present
 * and non-empty (authority-form of CONNECT). */
static bool hostport_ok(const char *b, size_t n, bool need_port)
{
    size_t i = 0;

    if (n == 0)
        return false;
    if (b[0] == '[') {
        for (i = 1; i < n && b[i] != ']'; i++)
            if (!HTTP_CH_IS(b[i], HTTP_CH_HEX) && b[i] != ':' && b[i] != '.')
                return false;
        if (i >= n || i == 1)
            return false;
        i++;
    } else {
        for (; i < n && b[i] != ':'; i++) {
            if (!HTTP_CH_IS(b[i], HTTP_CH_REGNAME))
                return false;
            if (b[i] == '%' && !pct_ok(b, i, n))
                return false;
        }
        if (i == 0)
            return false;
    }
    if (i == n)
        return !need_port;
    if (b[i] != ':')
        return false;
    i++;
    if (need_port && i == n)
        return false;
    for (; i < n; i++)
        if (!HTTP_CH_IS(b[i], HTTP_CH_DIGIT))
            return false;
    return true;
}

/* Validate the request-target by its form (RFC 9112 §3.2). */
static int target_check(struct http_msg *m, const char *buf)
{
    const char *t = buf + m->target.off;
    size_t n = m->target.len;

    if (m->method == HTTP_METHOD_CONNECT) {
        if (!hostport_ok(t, n, true))
            return fail(m, 400, "CONNECT needs an authority-form target");
        return fail(m, 501, "CONNECT is not supported");
    }
    if (n == 1 && t[0] == '*') {
        if (m->method != HTTP_METHOD_OPTIONS)
            return fail(m, 400, "asterisk-form is only for OPTIONS");
        m->asterisk_form = true;
        return HTTP_OK;
    }
    if (t[0] == '/') {
        if (!path_query_ok(t, n))
            return fail(m, 400, "invalid request target");
        return HTTP_OK;
    }
    /* absolute-form: only the http and https schemes make sense here. */
    size_t s = 0;
    while (s < n && t[s] != ':')
        s++;
    if (!(eq_lower(t, s, "http", 4) || eq_lower(t, s, "https", 5)) ||
        n - s < 3 || t[s + 1] != '/' || t[s + 2] != '/')
        return fail(m, 400, "invalid request target");
    size_t a = s + 3, e = a;
    while (e < n && t[e] != '/' && t[e] != '?')
        e++;
    if (!hostport_ok(t + a, e - a, false))
        return fail(m, 400, "invalid authority in request target");
    if (!path_query_ok(t + e, n - e))
        return fail(m, 400, "invalid request target");
    m->absolute_form = true;
    m->authority.off = (uint32_t)(m->target.off + a);
    m->authority.len = (uint32_t)(e - a);
    return HTTP_OK;
}

/* Parse "HTTP/" DIGIT "." DIGIT at b[0, n). Returns 0, or the status. */
static int version_parse(struct http_msg *m, const char *b, size_t n)
{
    if (n != 8 || memcmp(b, "HTTP/", 5) != 0 ||
        !HTTP_CH_IS(b[5], HTTP_CH_DIGIT) || b[6] != '.' ||
        !HTTP_CH_IS(b[7], HTTP_CH_DIGIT))
        return 400;
    if (b[5] != '1')
        return 505;
    m->version_minor = b[7] == '0' ? 0 : 1;
    return 0;
}

static int request_line_parse(struct http_msg *m, const char *b, size_t s,
                              size_t e)
{
    size_t i = s;
    int st;

    while (i < e && HTTP_CH_IS(b[i], HTTP_CH_TCHAR))
        i++;
    if (i == s || i >= e || b[i] != ' ')
        return fail(m, 400, "invalid method");
    m->method_name.off = (uint32_t)s;
    m->method_name.len = (uint32_t)(i - s);
    m->method = method_lookup(b + s, i - s);
    size_t t = ++i;
    while (i < e && b[i] != ' ')
        i++;
    if (i == t || i >= e)
        return fail(m, 400, "invalid request line");
    m->target.off = (uint32_t)t;
    m->target.len = (uint32_t)(i - t);
    i++;
    st = version_parse(m, b + i, e - i);
    if (st != 0)
        return fail(m, (uint16_t)st, st == 505 ? "unsupported HTTP version"
                                              : "invalid HTTP version");
    switch (m->method) {
    case HTTP_METHOD_GET:
    case HTTP_METHOD_HEAD:
    case HTTP_METHOD_PUT:
    case HTTP_METHOD_DELETE:
    case HTTP_METHOD_OPTIONS:
    case HTTP_METHOD_TRACE:
        m->idempotent = true;
        break;
    default:
        m->idempotent = false;
        break;
    }
    return target_check(m, b);
}

static int status_line_parse(struct http_msg *m, const char *b, size_t s,
                             size_t e)
{
    size_t i = s;

    if (e - s < 12 || version_parse(m, b + s, 8) != 0 || b[s + 8] != ' ')
        return fail(m, 502, "invalid status line");
    i = s + 9;
    for (size_t k = 0; k < 3; k++)
        if (!HTTP_CH_IS(b[i + k], HTTP_CH_DIGIT))
            return fail(m, 502, "invalid status code");
    m->status_code = (uint16_t)((b[i] - '0') * 100 + (b[i + 1] - '0') * 10 +
                                (b[i + 2] - '0'));
    if (m->status_code < 100)
        return fail(m, 502, "invalid status code");
    i += 3;
    if (i < e) {
        if (b[i] != ' ')
            return fail(m, 502, "invalid status line");
        i++;
    }
    m->reason.off = (uint32_t)i;
    for (; i < e; i++)
        if (!HTTP_CH_IS(b[i], HTTP_CH_FVCHAR))
            return fail(m, 502, "invalid reason phrase");
    m->reason.len = (uint32_t)(e - m->reason.off);
    return HTTP_OK;
}

/* Walk the comma-separated elements of a list value, trimming OWS. Calls
 * nothing: returns the next element at (*es, *en), advances *pos; false at the
 * end. Empty elements are reported (en == 0) so that callers can refuse them. */
static bool list_next(const char *b, size_t end, size_t *pos, size_t *es,
                      size_t *en)
{
    size_t i = *pos;
    if (i > end)
        return false;
    while (i < end && is_ows(b[i]))
        i++;
    size_t s = i;
    while (i < end && b[i] != ',')
        i++;
    size_t e = i;
    while (e > s && is_ows(b[e - 1]))
        e--;
    *es = s;
    *en = e - s;
    *pos = i + 1;
    return true;
}

/* Content-Length = 1*DIGIT, possibly as a list of identical values
 * (RFC 9110 §8.6: a recipient may collapse identical duplicates). */
static int content_length_parse(struct http_msg *m, const char *b,
                                const struct http_header *h,
                                const struct http_limits *lim)
{
    size_t pos = h->value.off, end = h->value.off + h->value.len, es, en;
    bool any = false;

    while (list_next(b, end, &pos, &es, &en)) {
        uint64_t v = 0;
        if (en == 0)
            return fail(m, 400, "invalid Content-Length");
        for (size_t i = 0; i < en; i++) {
            char c = b[es + i];
            uint64_t d;
            if (!HTTP_CH_IS(c, HTTP_CH_DIGIT))
                return fail(m, 400, "invalid Content-Length");
            d = (uint64_t)(c - '0');
            if (v > ((UINT64_MAX >> 1) - d) / 10) /* at most INT64_MAX */
                return fail(m, 400, "Content-Length too large");
            v = v * 10 + d;
        }
        if (m->has_content_length && v != m->content_length)
            return fail(m, 400, "conflicting Content-Length values");
        m->has_content_length = true;
        m->content_length = v;
        any = true;
    }
    if (!any)
        return fail(m, 400, "invalid Content-Length");
    if (!m->is_response && lim->max_body_bytes != 0 &&
        m->content_length > lim->max_body_bytes)
        return fail(m, 413, "body too large");
    return HTTP_OK;
}

/* Transfer-Encoding: the only coding the proxy passes is a single "chunked"
 * (RFC 9112 §6.1). State across several TE fields lives in *te_state:
 * bit 0 = last element was chunked, bit 1 = chunked seen, bit 2 = other coding. */
static int transfer_encoding_parse(struct http_msg *m, const char *b,
                                   const struct http_header *h, unsigned *te)
{
    size_t pos = h->value.off, end = h->value.off + h->value.len, es, en;

    m->has_transfer_encoding = true;
    while (list_next(b, end, &pos, &es, &en)) {
        if (en == 0)
            return fail(m, 400, "empty Transfer-Encoding element");
        for (size_t i = 0; i < en; i++)
            if (!HTTP_CH_IS(b[es + i], HTTP_CH_TCHAR))
                return fail(m, 400, "invalid Transfer-Encoding");
        if (*te & 2)
            return fail(m, 400, "chunked is not the final transfer coding");
        if (eq_lower(b + es, en, "chunked", 7))
            *te |= 3;
        else
            *te = (*te & ~1u) | 4u;
    }
    return HTTP_OK;
}

/* Connection options (RFC 9110 §7.6.1). */
static void connection_parse(struct http_msg *m, const char *b,
                             const struct http_header *h, bool *upg)
{
    size_t pos = h->value.off, end = h->value.off + h->value.len, es, en;

    while (list_next(b, end, &pos, &es, &en)) {
        if (en == 0)
            continue;
        if (eq_lower(b + es, en, "close", 5))
            m->conn_close = true;
        else if (eq_lower(b + es, en, "keep-alive", 10))
            m->conn_keep_alive = true;
        else if (eq_lower(b + es, en, "upgrade", 7))
            *upg = true;
        else
            m->conn_has_other = true;
    }
}

/* Return the offset of the first byte at or after i that may not appear in a
 * field value (the CR ending the line, at the latest; end bounds the reads).
 * Eight bytes at a time while none is a control byte or DEL: values are most
 * of a head, so this loop is the parser's hot spot. */
static size_t value_span_end(const char *b, size_t i, size_t end)
{
    const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;

    while (i + 8 <= end) {
        uint64_t v;
        memcpy(&v, b + i, 8);
        uint64_t lt20 = (v - ones * 0x20) & ~v & high;
        uint64_t x7f = v ^ (ones * 0x7f);
        uint64_t eq7f = (x7f - ones) & ~x7f & high;
        if ((lt20 | eq7f) != 0)
            break;
        i += 8;
    }
    while (HTTP_CH_IS(b[i], HTTP_CH_FVCHAR))
        i++;
    return i;
}

/* Validate the field lines between the start line and the blank line, and
 * record them. Every line is known to end in CRLF (scan_head); a CR inside a
 * line, NUL, CTL or DEL fails the character-class tests. */
static int fields_parse(struct http_msg *m, const char *b, size_t i,
                        size_t end)
{
    while (i < end) {
        if (is_ows(b[i]))
            return fail(m, 400, "obs-fold or whitespace-led field line");
        size_t ns = i;
        while (HTTP_CH_IS(b[i], HTTP_CH_TCHAR))
            i++;
        if (b[i] != ':') {
            if (i > ns && is_ows(b[i]))
                return fail(m, 400, "whitespace after a field name (before a colon, or none)");
            return fail(m, 400, "invalid field name");
        }
        if (i == ns)
            return fail(m, 400, "empty field name");
        size_t nl = i - ns;
        i++;
        while (is_ows(b[i]))
            i++;
        size_t vs = i;
        i = value_span_end(b, i, end);
        if (b[i] != '\r' || b[i + 1] != '\n')
            return fail(m, 400, b[i] == '\r' ? "bare CR in field"
                                             : "invalid character in field");
        size_t ve = i;
        while (ve > vs && is_ows(b[ve - 1]))
            ve--;
        i += 2;
        if (m->nheaders >= m->headers_cap)
            return fail(m, 431, "too many header fields");
        struct http_header *h = &m->headers[m->nheaders++];
        h->name.off = (uint32_t)ns;
        h->name.len = (uint32_t)nl;
        h->value.off = (uint32_t)vs;
        h->value.len = (uint32_t)(ve - vs);
        h->id = header_lookup(b + ns, nl);
    }
    return HTTP_OK;
}

/* Interpret the fields that decide framing and connection handling. */
static int fields_interpret(struct http_msg *m, const char *b,
                            const struct http_limits *lim, unsigned *te,
                            bool *conn_upgrade, bool *has_upgrade)
{
    int rc;

    for (uint32_t k = 0; k < m->nheaders; k++) {
        const struct http_header *h = &m->headers[k];
        switch (h->id) {
        case HTTP_HDR_HOST:
            if (m->is_response)
                break;
            if (m->host_index >= 0)
                return fail(m, 400, "duplicate Host");
            if (!hostport_ok(b + h->value.off, h->value.len, false))
                return fail(m, 400, "invalid Host");
            m->host_index = (int)k;
            break;
        case HTTP_HDR_CONTENT_LENGTH:
            rc = content_length_parse(m, b, h, lim);
            if (rc != HTTP_OK)
                return rc;
            break;
        case HTTP_HDR_TRANSFER_ENCODING:
            rc = transfer_encoding_parse(m, b, h, te);
            if (rc != HTTP_OK)
                return rc;
            break;
        case HTTP_HDR_CONNECTION:
            connection_parse(m, b, h, conn_upgrade);
            break;
        case HTTP_HDR_UPGRADE:
            *has_upgrade = true;
            break;
        case HTTP_HDR_EXPECT:
            if (!m->is_response && eq_lower(b + h->value.off, h->value.len,
                                             "100-continue", 12))
                m->expect_continue = true;
            break;
        default:
            break;
        }
    }
    return HTTP_OK;
}

static int request_finish(struct http_msg *m, const char *b,
                          const struct http_limits *lim)
{
    unsigned te = 0;
    bool conn_upgrade = false, has_upgrade = false;
    int rc = fields_interpret(m, b, lim, &te, &conn_upgrade, &has_upgrade);

    if (rc != HTTP_OK)
        return rc;
    if (m->version_minor == 1 && m->host_index < 0)
        return fail(m, 400, "missing Host");
    if (m->absolute_form && m->host_index >= 0) {
        /* RFC 9112 §3.2.2 says to ignore Host here; refusing a mismatch
         * instead keeps Host and target from ever disagreeing downstream. */
        const struct http_header *h = &m->headers[m->host_index];
        const char *hv = b + h->value.off, *av = b + m->authority.off;
        bool same = h->value.len == m->authority.len;
        for (uint32_t i = 0; same && i < h->value.len; i++)
            same = lower(hv[i]) == lower(av[i]);
        if (!same)
            return fail(m, 400, "Host differs from the target authority");
    }
    if (m->has_transfer_encoding) {
        /* RFC 9112 §6.1: CL with TE may be a smuggling attempt; §6.3: a TE
         * without a final chunked in a request is a 400; HTTP/1.0 has no TE. */
        if (m->has_content_length)
            return fail(m, 400, "both Content-Length and Transfer-Encoding");
        if (m->version_minor == 0)
            return fail(m, 400, "Transfer-Encoding in HTTP/1.0");
        if (!(te & 1))
            return fail(m, 400, "chunked is not the final transfer coding");
        if (te & 4)
            return fail(m, 501, "unsupported transfer coding");
        m->body = HTTP_BODY_CHUNKED;
    } else if (m->has_content_length) {
        m->body = HTTP_BODY_LENGTH;
    } else {
        m->body = HTTP_BODY_NONE;
    }
    if (m->version_minor == 1)
        m->keep_alive = !m->conn_close;
    else
        m->keep_alive = m->conn_keep_alive && !m->conn_close;
    m->upgrade = m->version_minor == 1 && has_upgrade && conn_upgrade;
    /* RFC 9110 §10.1.1: a 100-continue from an HTTP/1.0 client is ignored. */
    if (m->version_minor == 0)
        m->expect_continue = false;
    return HTTP_OK;
}

static int response_finish(struct http_msg *m, const char *b,
                           const struct http_limits *lim)
{
    unsigned te = 0;
    bool conn_upgrade = false, has_upgrade = false;
    int rc = fields_interpret(m, b, lim, &te, &conn_upgrade, &has_upgrade);
    unsigned st = m->status_code;

    if (rc != HTTP_OK)
        return rc;
    if (m->version_minor == 1)
        m->keep_alive = !m->conn_close;
    else
        m->keep_alive = m->conn_keep_alive && !m->conn_close;
    if (m->has_transfer_encoding && m->has_content_length)
        return fail(m, 502, "both Content-Length and Transfer-Encoding");
    if (m->has_transfer_encoding && te != 3)
        return fail(m, 502, "unsupported transfer coding in response");
    /* RFC 9112 §6.1: HTTP/1.0 has no Transfer-Encoding; such a message's
     * framing is faulty: it is processed, and its connection closed after it */
    if (m->has_transfer_encoding && m->version_minor == 0)
        m->keep_alive = false;
    if (st == 101) {
        if (!m->req_upgrade || !has_upgrade)
            return fail(m, 502, "unexpected 101 response");
        m->body = HTTP_BODY_TUNNEL;
        m->keep_alive = false;
        return HTTP_OK;
    }
    if (st < 200) {
        m->interim = true;
        m->body = HTTP_BODY_NONE;
        return HTTP_OK;
    }
    if (m->req_method == HTTP_METHOD_CONNECT && st < 300) {
        m->body = HTTP_BODY_TUNNEL;
        m->keep_alive = false;
        return HTTP_OK;
    }
    if (m->req_method == HTTP_METHOD_HEAD || st == 204 || st == 304) {
        m->body = HTTP_BODY_NONE;
        return HTTP_OK;
    }
    if (m->has_transfer_encoding) {
        m->body = HTTP_BODY_CHUNKED;
    } else if (m->has_content_length) {
        m->body = HTTP_BODY_LENGTH;
    } else {
        m->body = HTTP_BODY_CLOSE;
        m->keep_alive = false;
    }
    return HTTP_OK;
}

static int parse_common(struct http_msg *m, const char *buf, size_t len,
                        const struct http_limits *lim_in)
{
    struct http_limits lim;
    int rc;

    if (m->status != 0)
        return HTTP_ERROR;
    if (m->head_bytes != 0)
        return HTTP_OK;
    limits_resolve(&lim, lim_in);
    rc = scan_head(m, buf, len, &lim);
    if (rc != HTTP_OK) {
        if (rc == HTTP_AGAIN)
            m->head_bytes = 0;
        return rc;
    }
    /* The whole head is in buf[start_off, head_bytes): validate it. */
    size_t s = m->start_off;
    const char *cr = memchr(buf + s, '\r', m->head_bytes - s);
    size_t e = (size_t)(cr - buf);
    int ok;
    if (m->is_response)
        ok = status_line_parse(m, buf, s, e);
    else
        ok = request_line_parse(m, buf, s, e);
    /* A CR inside the start line that is not the line end is a bare CR. */
    if (ok == HTTP_OK && buf[e + 1] != '\n')
        ok = fail(m, 400, "bare CR in start line");
    if (ok == HTTP_OK)
        ok = fields_parse(m, buf, e + 2, m->head_bytes - 2);
    if (ok == HTTP_OK)
        ok = m->is_response ? response_finish(m, buf, &lim)
                            : request_finish(m, buf, &lim);
    if (ok != HTTP_OK) {
        m->head_bytes = 0;
        return ok;
    }
    return HTTP_OK;
}

int http_parse_request(struct http_msg *m, const char *buf, size_t len,
                       const struct http_limits *lim)
{
    return parse_common(m, buf, len, lim);
}

int http_parse_response(struct http_msg *m, const char *buf, size_t len,
                        const struct http_limits *lim)
{
    return parse_common(m, buf, len, lim);
}

int http_msg_find(const struct http_msg *m, enum http_hdr id, int from)
{
    for (uint32_t k = from < 0 ? 0 : (uint32_t)from; k < m->nheaders; k++)
        if (m->headers[k].id == id)
            return (int)k;
    return -1;
}
