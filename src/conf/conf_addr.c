/*
 * conf_addr: "HOST:PORT" to struct sockaddr_storage, with errors a user can act on.
 * Resolves host names with getaddrinfo() (blocking; called only while loading).
 */
#define _POSIX_C_SOURCE 200809L

#include "conf/conf_addr.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int all_digits(const char *s)
{
    if (*s == '\0')
        return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return 0;
    return 1;
}

static int looks_numeric_v4(const char *s)
{
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || *s == '.'))
            return 0;
    return 1;
}

static int valid_host_name(const char *s)
{
    size_t len = strlen(s);

    if (len == 0 || len > 253 || s[0] == '-' || s[0] == '.')
        return 0;
    for (; *s; s++) {
        char c = *s;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '-' || c == '.'))
            return 0;
    }
    return 1;
}

static void set_port(struct conf_addr *out, unsigned port)
{
    if (out->ss.ss_family == AF_INET)
        ((struct sockaddr_in *)&out->ss)->sin_port = htons((uint16_t)port);
    else
        ((struct sockaddr_in6 *)&out->ss)->sin6_port = htons((uint16_t)port);
}

static int is_any(const struct conf_addr *a)
{
    if (a->ss.ss_family == AF_INET)
        return ((const struct sockaddr_in *)&a->ss)->sin_addr.s_addr == htonl(INADDR_ANY);
    return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)&a->ss)->sin6_addr);
}

int conf_addr_parse(const char *text, int flags, struct conf_addr *out, char *err,
                    size_t errlen)
{
    char host[256];
    const char *colon, *port_s;
    size_t hlen;
    unsigned long port = 0;
    int bracket = 0;

    memset(out, 0, sizeof(*out));
    if (strlen(text) >= sizeof(out->text) || strlen(text) == 0)
        goto syntax;
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (close == NULL || close[1] != ':')
            goto syntax;
        hlen = (size_t)(close - text - 1);
        if (hlen == 0 || hlen >= sizeof(host))
            goto syntax;
        memcpy(host, text + 1, hlen);
        host[hlen] = '\0';
        port_s = close + 2;
        bracket = 1;
    } else {
        colon = strrchr(text, ':');
        if (colon == NULL)
            goto syntax;
        if (memchr(text, ':', (size_t)(colon - text)) != NULL) {
            snprintf(err, errlen,
                     "an IPv6 address goes in brackets, e.g. [::1]:80, got '%s'", text);
            return -1;
        }
        hlen = (size_t)(colon - text);
        if (hlen == 0 || hlen >= sizeof(host))
            goto syntax;
        memcpy(host, text, hlen);
        host[hlen] = '\0';
        port_s = colon + 1;
    }
    if (!all_digits(port_s) || strlen(port_s) > 5 ||
        (port = strtoul(port_s, NULL, 10)) < 1 || port > 65535) {
        if (all_digits(port_s))
            snprintf(err, errlen, "port %s out of range (1-65535) in '%s'", port_s, text);
        else
            snprintf(err, errlen, "expected a numeric port after ':' in '%s'", text);
        return -1;
    }

    if (bracket) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&out->ss;
        if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1) {
            snprintf(err, errlen, "bad IPv6 address '%s' in '%s'", host, text);
            return -1;
        }
        s6->sin6_family = AF_INET6;
        out->len = sizeof(*s6);
    } else if (strcmp(host, "*") == 0) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&out->ss;
        if (!(flags & CONF_ADDR_WILDCARD)) {
            snprintf(err, errlen, "'*' (any address) is only for bind, got '%s'", text);
            return -1;
        }
        s4->sin_family = AF_INET;
        s4->sin_addr.s_addr = htonl(INADDR_ANY);
        out->len = sizeof(*s4);
    } else if (looks_numeric_v4(host)) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&out->ss;
        if (inet_pton(AF_INET, host, &s4->sin_addr) != 1) {
            snprintf(err, errlen, "bad IPv4 address '%s' in '%s'", host, text);
            return -1;
        }
        s4->sin_family = AF_INET;
        out->len = sizeof(*s4);
    } else {
        struct addrinfo hints, *res = NULL;
        int rc;

        if (!valid_host_name(host)) {
            snprintf(err, errlen, "bad host name '%s' in '%s'", host, text);
            return -1;
        }
        memset(&hints, 0, sizeof(hints));
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        rc = getaddrinfo(host, NULL, &hints, &res);
        if (rc != 0 || res == NULL) {
            snprintf(err, errlen, "cannot resolve '%s': %s", host,
                     rc != 0 ? gai_strerror(rc) : "no address");
            if (res != NULL)
                freeaddrinfo(res);
            return -1;
        }
        memcpy(&out->ss, res->ai_addr, res->ai_addrlen);
        out->len = res->ai_addrlen;
        freeaddrinfo(res);
    }
    set_port(out, (unsigned)port);
    if (!(flags & CONF_ADDR_WILDCARD) && is_any(out)) {
        snprintf(err, errlen, "'%s' is the any-address; give a host to connect to", text);
        return -1;
    }
    memcpy(out->text, text, strlen(text) + 1);
    return 0;
syntax:
    snprintf(err, errlen, "expected HOST:PORT, [IPV6]:PORT or *:PORT, got '%s'", text);
    return -1;
}

int conf_addr_equal(const struct conf_addr *a, const struct conf_addr *b)
{
    if (a->ss.ss_family != b->ss.ss_family)
        return 0;
    if (a->ss.ss_family == AF_INET) {
        const struct sockaddr_in *x = (const void *)&a->ss, *y = (const void *)&b->ss;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    if (a->ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *x = (const void *)&a->ss, *y = (const void *)&b->ss;
        return x->sin6_port == y->sin6_port &&
               memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
    }
    return 0;
}
