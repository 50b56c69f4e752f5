/*
 * conf_addr: turns "HOST:PORT" text of the configuration into a socket address.
 *
 * Accepted: "192.0.2.1:80", "[2001:db8::1]:80", "*:80" (any IPv4 address, only
 * where CONF_ADDR_WILDCARD is given, i.e. for bind), and "name.example:80", resolved
 * once, at load time, with getaddrinfo() (the first result is kept). The port is
 * numeric, 1..65535. Lives in the I/O library (it may resolve names); it never
 * prints.
 */
#ifndef RAFTLB_CONF_ADDR_H
#define RAFTLB_CONF_ADDR_H

#include <stddef.h>

#include "conf/conf.h"

enum {
    CONF_ADDR_WILDCARD = 1 << 0, /* "*:PORT", "0.0.0.0:PORT" and "[::]:PORT" allowed */
};

/* Parses `text` into *out (its text copied into out->text). Returns 0, or -1 with
 * a message in err saying what was expected. */
int conf_addr_parse(const char *text, int flags, struct conf_addr *out, char *err,
                    size_t errlen);

/* True when both addresses have the same family, address and port. */
int conf_addr_equal(const struct conf_addr *a, const struct conf_addr *b);

#endif
