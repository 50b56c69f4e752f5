/* http_chunked: the chunked-body state machine (see http_chunked.h). Chunk data
 * is handed out in spans without touching its bytes; only chunk lines and
 * trailers are walked byte by byte, through the character-class table.
 *
 * Grammar (RFC 9112 §7.1, RFC 9110 §5.6):
 *   chunk      = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
 *   chunk-ext  = *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] )
 *   ext-val    = token / quoted-string
 *   last-chunk = 1*"0" [ chunk-ext ] CRLF, then trailer-section CRLF */
#include "http/http_chunked.h"

#include "http/http_chars.h"

enum cstate {
    CS_SIZE_START = 0,
    CS_SIZE,
    CS_SIZE_BWS,
    CS_EXT_NAME_START,
    CS_EXT_NAME,
    CS_EXT_AFTER_NAME,
    CS_EXT_VAL_START,
    CS_EXT_TOKEN,
    CS_EXT_QUOTED,
    CS_EXT_QUOTED_ESC,
    CS_EXT_AFTER_VAL,
    CS_LINE_LF,
    CS_DATA,
    CS_DATA_CR,
    CS_DATA_LF,
    CS_TRAILER_START,
    CS_TRAILER_NAME,
    CS_TRAILER_VALUE,
    CS_TRAILER_LF,
    CS_TRAILER_END_LF,
    CS_DONE,
    CS_ERROR,
    CS_COUNT
};

void http_chunked_init(struct http_chunked *c, uint64_t max_body_bytes,
                       bool is_response)
{
    *c = (struct http_chunked){0};
    c->state = CS_SIZE_START;
    c->max_body_bytes = max_body_bytes;
    c->is_response = is_response;
}

bool http_chunked_done(const struct http_chunked *c)
{
    return c->state == CS_DONE;
}

static int cfail(struct http_chunked *c, uint16_t status, const char *why)
{
    c->state = CS_ERROR;
    c->status = c->is_response ? 502 : status;
    c->error = why;
    return HTTP_ERROR;
}

static inline bool ows(char ch)
{
    return ch == ' ' || ch == '\t';
}

static inline unsigned hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return (unsigned)(ch - '0');
    return (unsigned)((ch | 0x20) - 'a' + 10);
}

/* qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text */
static inline bool qdtext(char ch)
{
    return HTTP_CH_IS(ch, HTTP_CH_FVCHAR) && ch != '"' && ch != '\\';
}

int http_chunked_step(struct http_chunked *c, const char *buf, size_t len,
                      struct http_chunk_ev *ev)
{
    size_t i = 0;

    ev->kind = HTTP_CHUNK_EV_NONE;
    ev->data_off = ev->data_len = 0;
    ev->chunk_size = 0;
    if (c->state == CS_ERROR)
        return HTTP_ERROR;
    while (i < len) {
        char ch = buf[i];

        if (c->state == CS_DATA) {
            size_t avail = len - i;
            size_t n = c->size < avail ? (size_t)c->size : avail;
            c->size -= n;
            if (c->size == 0)
                c->state = CS_DATA_CR;
            ev->kind = HTTP_CHUNK_EV_DATA;
            ev->data_off = i;
            ev->data_len = n;
            ev->consumed = i + n;
            return HTTP_OK;
        }
        if (c->state == CS_DONE) {
            ev->kind = HTTP_CHUNK_EV_END;
            ev->consumed = i;
            return HTTP_OK;
        }
        if (c->state < CS_DATA) {
            if (++c->line_bytes > HTTP_CHUNK_MAX_LINE_BYTES)
                return cfail(c, 400, "chunk line too long");
        } else if (c->state >= CS_TRAILER_START) {
            if (++c->line_bytes > HTTP_CHUNK_MAX_TRAILER_BYTES)
                return cfail(c, 431, "trailer section too large");
        }
        i++;
        switch (c->state) {
        case CS_SIZE_START:
            if (!HTTP_CH_IS(ch, HTTP_CH_HEX))
                return cfail(c, 400, "invalid chunk size");
            c->size = hexval(ch);
            c->digits = c->size != 0;
            c->state = CS_SIZE;
            break;
        case CS_SIZE:
            if (HTTP_CH_IS(ch, HTTP_CH_HEX)) {
                if (c->digits != 0 || ch != '0')
                    c->digits++;
                if (c->digits > 15)
                    return cfail(c, 400, "chunk size too large");
                c->size = (c->size << 4) | hexval(ch);
            } else if (ch == ';') {
                c->state = CS_EXT_NAME_START;
            } else if (ows(ch)) {
                c->state = CS_SIZE_BWS;
            } else if (ch == '\r') {
                c->state = CS_LINE_LF;
            } else {
                return cfail(c, 400, "invalid chunk size");
            }
            break;
        case CS_SIZE_BWS:
            if (ch == ';')
                c->state = CS_EXT_NAME_START;
            else if (!ows(ch))
                return cfail(c, 400, "invalid chunk size line");
            break;
        case CS_EXT_NAME_START:
            if (HTTP_CH_IS(ch, HTTP_CH_TCHAR))
                c->state = CS_EXT_NAME;
            else if (!ows(ch))
                return cfail(c, 400, "invalid chunk extension");
            break;
        case CS_EXT_NAME:
            if (HTTP_CH_IS(ch, HTTP_CH_TCHAR))
                break;
            if (ows(ch))
                c->state = CS_EXT_AFTER_NAME;
            else if (ch == '=')
                c->state = CS_EXT_VAL_START;
            else if (ch == ';')
                c->state = CS_EXT_NAME_START;
            else if (ch == '\r')
                c->state = CS_LINE_LF;
            else
                return cfail(c, 400, "invalid chunk extension");
            break;
        case CS_EXT_AFTER_NAME:
            if (ch == '=')
                c->state = CS_EXT_VAL_START;
            else if (ch == ';')
                c->state = CS_EXT_NAME_START;
            else if (ch == '\r')
                c->state = CS_LINE_LF;
            else if (!ows(ch))
                return cfail(c, 400, "invalid chunk extension");
            break;
        case CS_EXT_VAL_START:
            if (ch == '"')
                c->state = CS_EXT_QUOTED;
            else if (HTTP_CH_IS(ch, HTTP_CH_TCHAR))
                c->state = CS_EXT_TOKEN;
            else if (!ows(ch))
                return cfail(c, 400, "invalid chunk extension");
            break;
        case CS_EXT_TOKEN:
            if (HTTP_CH_IS(ch, HTTP_CH_TCHAR))
                break;
            if (ows(ch))
                c->state = CS_EXT_AFTER_VAL;
            else if (ch == ';')
                c->state = CS_EXT_NAME_START;
            else if (ch == '\r')
                c->state = CS_LINE_LF;
            else
                return cfail(c, 400, "invalid chunk extension");
            break;
        case CS_EXT_QUOTED:
            if (ch == '"')
                c->state = CS_EXT_AFTER_VAL;
            else if (ch == '\\')
                c->state = CS_EXT_QUOTED_ESC;
            else if (!qdtext(ch))
                return cfail(c, 400, "invalid chunk extension");
            break;
        case CS_EXT_QUOTED_ESC:
            if (!HTTP_CH_IS(ch, HTTP_CH_FVCHAR))
                return cfail(c, 400, "invalid chunk extension");
            c->state = CS_EXT_QUOTED;
            break;
        case CS_EXT_AFTER_VAL:
            if (ch == ';')
                c->state = CS_EXT_NAME_START;
            else if (ch == '\r')
                c->state = CS_LINE_LF;
            else if (!ows(ch))
                return cfail(c, 400, "invalid chunk extension");
            break;
        case CS_LINE_LF:
            if (ch != '\n')
                return cfail(c, 400, "bare CR in chunk line");
            c->line_bytes = 0;
            if (c->size == 0) {
                c->state = CS_TRAILER_START;
                break;
            }
            if (c->max_body_bytes != 0 &&
                c->size > c->max_body_bytes - c->total_bytes)
                return cfail(c, 413, "body too large");
            c->total_bytes += c->size;
            c->state = CS_DATA;
            ev->kind = HTTP_CHUNK_EV_SIZE;
            ev->chunk_size = c->size;
            ev->consumed = i;
            return HTTP_OK;
        case CS_DATA_CR:
            if (ch != '\r')
                return cfail(c, 400, "chunk data not followed by CRLF");
            c->state = CS_DATA_LF;
            break;
        case CS_DATA_LF:
            if (ch != '\n')
                return cfail(c, 400, "chunk data not followed by CRLF");
            c->state = CS_SIZE_START;
            c->line_bytes = 0;
            break;
        case CS_TRAILER_START:
            if (ch == '\r') {
                c->state = CS_TRAILER_END_LF;
            } else if (HTTP_CH_IS(ch, HTTP_CH_TCHAR)) {
                c->state = CS_TRAILER_NAME;
                c->has_trailers = true;
            } else {
                return cfail(c, 400, "invalid trailer field");
            }
            break;
        case CS_TRAILER_NAME:
            if (ch == ':')
                c->state = CS_TRAILER_VALUE;
            else if (!HTTP_CH_IS(ch, HTTP_CH_TCHAR))
                return cfail(c, 400, "invalid trailer field");
            break;
        case CS_TRAILER_VALUE:
            if (ch == '\r')
                c->state = CS_TRAILER_LF;
            else if (!HTTP_CH_IS(ch, HTTP_CH_FVCHAR))
                return cfail(c, 400, "invalid trailer field");
            break;
        case CS_TRAILER_LF:
            if (ch != '\n')
                return cfail(c, 400, "bare CR in trailer");
            c->state = CS_TRAILER_START;
            break;
        case CS_TRAILER_END_LF:
            if (ch != '\n')
                return cfail(c, 400, "bare CR in trailer");
            c->state = CS_DONE;
            ev->kind = HTTP_CHUNK_EV_END;
            ev->consumed = i;
            return HTTP_OK;
        default:
            return cfail(c, 400, "invalid chunked state");
        }
    }
    if (c->state == CS_DONE) {
        ev->kind = HTTP_CHUNK_EV_END;
        ev->consumed = i;
        return HTTP_OK;
    }
    ev->consumed = i;
    return HTTP_AGAIN;
}

void http_length_init(struct http_length_body *b, uint64_t content_length)
{
    b->left = content_length;
}

size_t http_length_take(struct http_length_body *b, size_t len)
{
    size_t n = b->left < len ? (size_t)b->left : len;
    b->left -= n;
    return n;
}

bool http_length_done(const struct http_length_body *b)
{
    return b->left == 0;
}
