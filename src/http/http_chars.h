/* http_chars: character classes of HTTP/1.1 (RFC 9110 §5.6.2, RFC 3986) as one
 * 256-entry lookup table, so that the parsers test a byte with one load and one
 * mask instead of a chain of comparisons. Pure data; no I/O. */
#ifndef RAFTLB_HTTP_CHARS_H
#define RAFTLB_HTTP_CHARS_H

#include <stdint.h>

enum {
    HTTP_CH_TCHAR = 0x01,   /* token character */
    HTTP_CH_FVCHAR = 0x02,  /* field-vchar, SP or HTAB: allowed inside a field value */
    HTTP_CH_TARGET = 0x04,  /* pchar, '/', '?' or '%': origin-form target bytes */
    HTTP_CH_HEX = 0x08,     /* HEXDIG */
    HTTP_CH_REGNAME = 0x10, /* reg-name byte: unreserved, sub-delims or '%' */
    HTTP_CH_DIGIT = 0x20,   /* DIGIT */
};

extern const uint8_t http_char_class[256];

#define HTTP_CH_IS(c, cls) ((http_char_class[(uint8_t)(c)] & (cls)) != 0)

#endif
