/*
 * conf_keys: the keys of each section, their value types, ranges and defaults.
 *
 * Each key has a setter that parses one value into the section's struct. Files
 * named by tls_cert, tls_key, token_file, secret_file and ca= must be readable when
 * the configuration is loaded; hooks must be executable. A relative path is taken
 * relative to the directory of the configuration file.
 */
#define _POSIX_C_SOURCE 200809L

#include "conf/conf_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf/conf_addr.h"
#include "conf/conf_names.h"
#include "conf/conf_value.h"
#include "lb/lb.h"

_Static_assert(sizeof(enum conf_balance) == sizeof(int), "enums are stored as int");

#define U32(ptr)    (*(uint32_t *)(ptr))
#define AT(base, k) ((char *)(base) + (k)->off)

static int set_duration(struct conf_loader *L, const struct conf_key *k, void *base,
                        const char *v, char *err, size_t errlen)
{
    uint32_t ms;

    (void)L;
    if (conf_value_duration(v, (uint32_t)k->min, (uint32_t)k->max, &ms, err, errlen) != 0)
        return -1;
    U32(AT(base, k)) = ms;
    return 0;
}

static int set_bool(struct conf_loader *L, const struct conf_key *k, void *base,
                    const char *v, char *err, size_t errlen)
{
    (void)L;
    return conf_value_bool(v, (bool *)AT(base, k), err, errlen);
}

static int set_u32(struct conf_loader *L, const struct conf_key *k, void *base,
                   const char *v, char *err, size_t errlen)
{
    uint64_t x;

    (void)L;
    if (conf_value_uint(v, k->min, k->max, &x, err, errlen) != 0)
        return -1;
    U32(AT(base, k)) = (uint32_t)x;
    return 0;
}

static int set_maglev_size(struct conf_loader *L, const struct conf_key *k, void *base,
                           const char *v, char *err, size_t errlen)
{
    uint64_t x;

    (void)L;
    if (conf_value_uint(v, k->min, k->max, &x, err, errlen) != 0)
        return -1;
    if (!conf_value_is_prime(x)) {
        snprintf(err, errlen, "%s is not a prime number (e.g. 65537, 131071, 1000003)",
                 v);
        return -1;
    }
    U32(AT(base, k)) = (uint32_t)x;
    return 0;
}

static int set_size32(struct conf_loader *L, const struct conf_key *k, void *base,
                      const char *v, char *err, size_t errlen)
{
    uint64_t x;

    (void)L;
    if (conf_value_size(v, k->min, k->max, &x, err, errlen) != 0)
        return -1;
    U32(AT(base, k)) = (uint32_t)x;
    return 0;
}

static int set_size64(struct conf_loader *L, const struct conf_key *k, void *base,
                      const char *v, char *err, size_t errlen)
{
    uint64_t x;

    (void)L;
    if (conf_value_size(v, k->min, k->max, &x, err, errlen) != 0)
        return -1;
    memcpy(AT(base, k), &x, sizeof(x));
    return 0;
}

static int set_enum(struct conf_loader *L, const struct conf_key *k, void *base,
                    const char *v, char *err, size_t errlen)
{
    int x;

    (void)L;
    if (conf_value_enum(v, k->names, k->name_count, &x, err, errlen) != 0)
        return -1;
    memcpy(AT(base, k), &x, sizeof(x));
    return 0;
}

static int replace_str(struct conf_loader *L, void *slot, char *s)
{
    char **p = slot;

    if (s == NULL) {
        L->oom = true;
        return -2;
    }
    free(*p);
    *p = s;
    return 0;
}

static int need_value(const char *v, char *err, size_t errlen)
{
    if (*v == '\0') {
        snprintf(err, errlen, "a value is missing");
        return -1;
    }
    return 0;
}

static int set_string(struct conf_loader *L, const struct conf_key *k, void *base,
                      const char *v, char *err, size_t errlen)
{
    if (need_value(v, err, errlen) != 0)
        return -1;
    return replace_str(L, AT(base, k), strdup(v));
}

static int set_enum_string(struct conf_loader *L, const struct conf_key *k, void *base,
                           const char *v, char *err, size_t errlen)
{
    int x;

    if (conf_value_enum(v, k->names, k->name_count, &x, err, errlen) != 0)
        return -1;
    return replace_str(L, AT(base, k), strdup(v));
}

/* Checks that `path` is a readable regular file (mode R_OK) or an executable one
 * (X_OK). */
static int check_file(const char *path, int mode, char *err, size_t errlen)
{
    struct stat st;

    if (stat(path, &st) == -1) {
        snprintf(err, errlen, "cannot %s '%s': %s", mode == R_OK ? "read" : "execute",
                 path, strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "'%s' is not a regular file", path);
        return -1;
    }
    if (mode == R_OK) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd == -1) {
            snprintf(err, errlen, "cannot read '%s': %s", path, strerror(errno));
            return -1;
        }
        close(fd);
    } else if (access(path, X_OK) == -1) {
        snprintf(err, errlen, "cannot execute '%s': %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* Resolves v against the configuration's directory into *out (owned by the caller)
 * and, for mode R_OK or X_OK, checks the file. */
static int resolve_file(struct conf_loader *L, const char *v, int mode, char **out,
                        char *err, size_t errlen)
{
    char *p;

    *out = NULL;
    if (need_value(v, err, errlen) != 0)
        return -1;
    p = conf_resolve_path(L, v);
    if (p == NULL) {
        L->oom = true;
        return -2;
    }
    if (mode != F_OK && check_file(p, mode, err, errlen) != 0) {
        free(p);
        return -1;
    }
    *out = p;
    return 0;
}

static int set_path(struct conf_loader *L, const struct conf_key *k, void *base,
                    const char *v, char *err, size_t errlen)
{
    char *p;
    int rc = resolve_file(L, v, (int)k->min, &p, err, errlen);

    if (rc != 0)
        return rc;
    return replace_str(L, AT(base, k), p);
}

/* error_log, access_log: stderr | syslog | off (access_log only) | a path. */
static int set_log(struct conf_loader *L, const struct conf_key *k, void *base,
                   const char *v, char *err, size_t errlen)
{
    if (need_value(v, err, errlen) != 0)
        return -1;
    if (strcmp(v, "stderr") == 0 || strcmp(v, "syslog") == 0 ||
        (k->max == 1 && strcmp(v, "off") == 0))
        return replace_str(L, AT(base, k), strdup(v));
    if (strcmp(v, "off") == 0) {
        snprintf(err, errlen,
                 "the error log cannot be off (use stderr, syslog or a path)");
        return -1;
    }
    return set_path(L, k, base, v, err, errlen);
}

static int set_addr(struct conf_loader *L, const struct conf_key *k, void *base,
                    const char *v, char *err, size_t errlen)
{
    (void)L;
    return conf_addr_parse(v, CONF_ADDR_WILDCARD, (struct conf_addr *)AT(base, k), err,
                           errlen) == 0
               ? 0
               : -1;
}

static int set_bind(struct conf_loader *L, const struct conf_key *k, void *base,
                    const char *v, char *err, size_t errlen)
{
    struct conf_frontend *f = base;
    struct conf_addr a, *b;

    (void)k;
    if (conf_addr_parse(v, CONF_ADDR_WILDCARD, &a, err, errlen) != 0)
        return -1;
    for (size_t i = 0; i < f->bind_count; i++)
        if (conf_addr_equal(&f->binds[i], &a)) {
            snprintf(err, errlen, "'%s' is already bound by this frontend", v);
            return -1;
        }
    b = realloc(f->binds, (f->bind_count + 1) * sizeof(*b));
    if (b == NULL) {
        L->oom = true;
        return -2;
    }
    f->binds = b;
    a.line = L->lineno;
    b[f->bind_count++] = a;
    return 0;
}

static int set_name(struct conf_loader *L, const struct conf_key *k, void *base,
                    const char *v, char *err, size_t errlen)
{
    (void)L;
    if (conf_value_name(v, CONF_NAME_MAX, err, errlen) != 0)
        return -1;
    strcpy(AT(base, k), v);
    return 0;
}

/* tls_cert and tls_key pair up in order: the n-th tls_cert with the n-th tls_key. */
static int set_tls_file(struct conf_loader *L, const struct conf_key *k, void *base,
                        const char *v, char *err, size_t errlen)
{
    struct conf_frontend *f = base;
    bool is_cert = strcmp(k->name, "tls_cert") == 0;
    struct conf_tls_cert *c;
    char *p;
    size_t i;
    int rc = resolve_file(L, v, R_OK, &p, err, errlen);

    /* A file that cannot be read still takes its place in the pairing, so that its
     * partner is not reported as unpaired too; the load fails anyway. */
    if (rc == -1 && *v != '\0')
        p = strdup(v);
    if (rc == -2 || (rc == -1 && *v == '\0'))
        return rc;
    if (p == NULL) {
        L->oom = true;
        return -2;
    }
    for (i = 0; i < f->cert_count; i++)
        if ((is_cert ? f->certs[i].cert_file : f->certs[i].key_file) == NULL)
            break;
    if (i == f->cert_count) {
        c = realloc(f->certs, (f->cert_count + 1) * sizeof(*c));
        if (c == NULL) {
            free(p);
            L->oom = true;
            return -2;
        }
        f->certs = c;
        memset(&c[i], 0, sizeof(c[i]));
        c[i].line = L->lineno;
        f->cert_count++;
    }
    if (is_cert)
        f->certs[i].cert_file = p;
    else
        f->certs[i].key_file = p;
    return rc;
}

static int set_balance_factor(struct conf_loader *L, const struct conf_key *k, void *base,
                              const char *v, char *err, size_t errlen)
{
    double x;

    (void)L;
    if (conf_value_double(v, 0.0, 100.0, &x, err, errlen) != 0)
        return -1;
    if (x != 0.0 && x <= 1.0) {
        snprintf(err, errlen,
                 "expected 0 (off) or a number above 1 such as 1.25, got '%s'", v);
        return -1;
    }
    memcpy(AT(base, k), &x, sizeof(x));
    return 0;
}

/* hash_key = source | uri | path | header:NAME | cookie:NAME */
static int set_hash_key(struct conf_loader *L, const struct conf_key *k, void *base,
                        const char *v, char *err, size_t errlen)
{
    struct conf_pool *p = base;
    const char *colon = strchr(v, ':');
    char kind[16];
    int x;

    (void)L;
    (void)k;
    if (colon == NULL) {
        if (conf_value_enum(v, conf_hash_key_names, 3, &x, err, errlen) != 0) {
            snprintf(err, errlen,
                     "expected source, uri, path, header:NAME or cookie:NAME, got '%s'",
                     v);
            return -1;
        }
        p->hash_key = (enum conf_hash_key)x;
        p->hash_key_name[0] = '\0';
        return 0;
    }
    if ((size_t)(colon - v) >= sizeof(kind))
        goto bad;
    memcpy(kind, v, (size_t)(colon - v));
    kind[colon - v] = '\0';
    if (strcmp(kind, "header") == 0)
        x = CONF_HASH_HEADER;
    else if (strcmp(kind, "cookie") == 0)
        x = CONF_HASH_COOKIE;
    else
        goto bad;
    /* Header and cookie names are RFC 9110 tokens; the name rules cover the common
     * ones and keep the value printable. */
    if (conf_value_name(colon + 1, CONF_NAME_MAX, err, errlen) != 0) {
        char inner[256];
        snprintf(inner, sizeof(inner), "%s", err);
        snprintf(err, errlen, "%s:NAME: %s", kind, inner);
        return -1;
    }
    p->hash_key = (enum conf_hash_key)x;
    strcpy(p->hash_key_name, colon + 1);
    return 0;
bad:
    snprintf(err, errlen,
             "expected source, uri, path, header:NAME or cookie:NAME, got '%s'", v);
    return -1;
}

static int set_health_expect(struct conf_loader *L, const struct conf_key *k, void *base,
                             const char *v, char *err, size_t errlen)
{
    struct conf_pool *p = base;

    (void)L;
    (void)k;
    return conf_value_status_ranges(v, p->health_expect_lo, p->health_expect_hi, 8,
                                    &p->health_expect_count, err, errlen);
}

static int set_retry_on_status(struct conf_loader *L, const struct conf_key *k, void *base,
                               const char *v, char *err, size_t errlen)
{
    struct conf_pool *p = base;

    (void)L;
    (void)k;
    if (strcmp(v, "none") == 0) {
        p->retry_status_count = 0;
        return 0;
    }
    if (conf_value_status_ranges(v, p->retry_status_lo, p->retry_status_hi, 8,
                                 &p->retry_status_count, err, errlen) == 0)
        return 0;
    snprintf(err, errlen,
             "expected status codes and ranges such as 500,502-504, or none, got '%s'", v);
    return -1;
}

static int set_health_method(struct conf_loader *L, const struct conf_key *k, void *base,
                             const char *v, char *err, size_t errlen)
{
    size_t n = strlen(v);

    if (n == 0 || n > 16 || strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != n) {
        snprintf(err, errlen,
                 "expected an HTTP method in capitals such as GET or HEAD, "
                 "got '%s'",
                 v);
        return -1;
    }
    return replace_str(L, AT(base, k), strdup(v));
}

static bool printable_no_space(const char *v)
{
    for (; *v; v++)
        if ((unsigned char)*v <= 0x20 || (unsigned char)*v >= 0x7f)
            return false;
    return true;
}

static int set_health_path(struct conf_loader *L, const struct conf_key *k, void *base,
                           const char *v, char *err, size_t errlen)
{
    if (v[0] != '/' || !printable_no_space(v)) {
        snprintf(err, errlen,
                 "expected a path starting with '/' without spaces, got '%s'", v);
        return -1;
    }
    return replace_str(L, AT(base, k), strdup(v));
}

static int set_health_host(struct conf_loader *L, const struct conf_key *k, void *base,
                           const char *v, char *err, size_t errlen)
{
    if (*v == '\0' || !printable_no_space(v)) {
        snprintf(err, errlen, "expected a host name without spaces, got '%s'", v);
        return -1;
    }
    return replace_str(L, AT(base, k), strdup(v));
}

/* vip = ADDRESS/PREFIX dev INTERFACE */
static int set_vip(struct conf_loader *L, const struct conf_key *k, void *base,
                   const char *v, char *err, size_t errlen)
{
    char addr[64], dev[8], ifname[32], extra[2];
    unsigned prefix;
    unsigned char buf[16];
    int family;

    if (sscanf(v, "%63[^/]/%u %7s %31s %1s", addr, &prefix, dev, ifname, extra) != 4 ||
        strcmp(dev, "dev") != 0)
        goto bad;
    family = strchr(addr, ':') ? AF_INET6 : AF_INET;
    if (inet_pton(family, addr, buf) != 1 || prefix > (family == AF_INET ? 32u : 128u) ||
        strlen(ifname) > 15)
        goto bad;
    return replace_str(L, AT(base, k), strdup(v));
bad:
    snprintf(err, errlen,
             "expected ADDRESS/PREFIX dev INTERFACE such as "
             "'192.0.2.10/24 dev eth0', got '%s'",
             v);
    return -1;
}

static const char *const server_opts[] = {"weight", "slowstart",  "maxconn", "backup",
                                          "check",  "check_port", "tls",     "verify",
                                          "ca",     "sni",        "state"};
static const char *const server_states[] = {"ready", "drain", "maint"};
enum { N_SERVER_OPTS = sizeof(server_opts) / sizeof(server_opts[0]) };

/* One option of a server line into *s; `seen` marks the options already given. */
static int server_option(struct conf_loader *L, struct conf_server *s, char *opt,
                         bool *seen, char *err, size_t errlen)
{
    char *eq = strchr(opt, '=');
    const char *val = eq ? eq + 1 : NULL;
    uint64_t x;
    uint32_t ms;
    int i;

    if (eq != NULL)
        *eq = '\0';
    for (i = 0; i < N_SERVER_OPTS; i++)
        if (strcmp(opt, server_opts[i]) == 0)
            break;
    if (i == N_SERVER_OPTS) {
        const char *near = conf_value_suggest(opt, server_opts, N_SERVER_OPTS);
        if (near != NULL)
            snprintf(err, errlen, "unknown option '%s' (did you mean '%s'?)", opt, near);
        else
            snprintf(err, errlen,
                     "unknown option '%s' (expected weight, slowstart, maxconn, backup, "
                     "check, check_port, tls, verify, ca, sni or state)",
                     opt);
        return -1;
    }
    if (seen[i]) {
        snprintf(err, errlen, "option '%s' repeated", opt);
        return -1;
    }
    seen[i] = true;
    if (val == NULL && strcmp(opt, "backup") != 0 && strcmp(opt, "tls") != 0) {
        snprintf(err, errlen, "option '%s' needs a value: %s=...", opt, opt);
        return -1;
    }
    if (val != NULL && *val == '\0') {
        snprintf(err, errlen, "option '%s' has an empty value", opt);
        return -1;
    }
    {
        char inner[400];
        int rc = 0;
        switch (i) {
        case 0:
            /* a bad value keeps the default: one error, not a second about it */
            rc = conf_value_uint(val, 0, 256, &x, inner, sizeof(inner));
            if (rc == 0)
                s->weight = (uint32_t)x;
            break;
        case 1:
            rc = conf_value_duration(val, 0, 3600000, &ms, inner, sizeof(inner));
            s->slowstart_ms = ms;
            break;
        case 2:
            rc = conf_value_uint(val, 0, 1000000, &x, inner, sizeof(inner));
            s->max_conns = (uint32_t)x;
            break;
        case 3:
            s->backup = true;
            if (val != NULL)
                rc = conf_value_bool(val, &s->backup, inner, sizeof(inner));
            break;
        case 4:
            rc = conf_value_bool(val, &s->check, inner, sizeof(inner));
            break;
        case 5:
            rc = conf_value_uint(val, 1, 65535, &x, inner, sizeof(inner));
            s->check_port = (uint16_t)x;
            break;
        case 6:
            s->tls = true;
            if (val != NULL)
                rc = conf_value_bool(val, &s->tls, inner, sizeof(inner));
            break;
        case 7:
            rc = conf_value_bool(val, &s->tls_verify, inner, sizeof(inner));
            break;
        case 8: {
            char *p;
            rc = resolve_file(L, val, R_OK, &p, inner, sizeof(inner));
            if (rc == -2)
                return -2;
            if (rc == 0)
                s->tls_ca_file = p;
            break;
        }
        case 9:
            if (!printable_no_space(val) || strlen(val) > 253) {
                snprintf(inner, sizeof(inner), "expected a host name, got '%s'", val);
                rc = -1;
                break;
            }
            s->tls_sni = strdup(val);
            if (s->tls_sni == NULL) {
                L->oom = true;
                return -2;
            }
            break;
        case 10: {
            int st = 0;
            rc = conf_value_enum(val, server_states, 3, &st, inner, sizeof(inner));
            s->state = (enum conf_server_state)st;
            break;
        }
        }
        if (rc != 0) {
            snprintf(err, errlen, "%s: %s", opt, inner);
            return -1;
        }
    }
    return 0;
}

static void server_free(struct conf_server *s)
{
    free(s->tls_ca_file);
    free(s->tls_sni);
}

/* server = NAME HOST:PORT [option ...]: reports each problem of the line itself. */
static int set_server(struct conf_loader *L, const struct conf_key *k, void *base,
                      const char *v, char *err, size_t errlen)
{
    struct conf_pool *p = base;
    struct conf_server s, *arr;
    char buf[256], *tok[32], *save = NULL;
    bool seen[N_SERVER_OPTS] = {false};
    size_t n = 0;
    bool bad = false;

    (void)k;
    snprintf(buf, sizeof(buf), "%s", v);
    for (char *t = strtok_r(buf, " \t", &save); t != NULL;
         t = strtok_r(NULL, " \t", &save)) {
        if (n == sizeof(tok) / sizeof(tok[0])) {
            snprintf(err, errlen, "more than %zu options",
                     sizeof(tok) / sizeof(tok[0]) - 2);
            return -1;
        }
        tok[n++] = t;
    }
    if (n < 2) {
        snprintf(err, errlen, "expected 'NAME HOST:PORT [option ...]', got '%s'", v);
        return -1;
    }
    memset(&s, 0, sizeof(s));
    s.weight = 1;
    s.check = true;
    s.tls_verify = true;
    s.line = L->lineno;
    if (conf_value_name(tok[0], CONF_NAME_MAX, err, errlen) != 0)
        return -1;
    snprintf(s.name, sizeof(s.name), "%s", tok[0]);
    for (size_t i = 0; i < p->server_count; i++)
        if (strcmp(p->servers[i].name, s.name) == 0) {
            conf_report(L, L->lineno,
                        "duplicate server '%s' in pool '%s' (first at line %d)", s.name,
                        p->name, p->servers[i].line);
            return -2;
        }
    if (conf_addr_parse(tok[1], 0, &s.addr, err, errlen) != 0) {
        char inner[400];
        snprintf(inner, sizeof(inner), "%s", err);
        conf_report(L, L->lineno, "server %s: %s", s.name, inner);
        bad = true;
    }
    for (size_t i = 2; i < n; i++) {
        int rc = server_option(L, &s, tok[i], seen, err, errlen);
        if (rc == -2) {
            server_free(&s);
            return -2;
        }
        if (rc != 0) {
            char inner[400];
            snprintf(inner, sizeof(inner), "%s", err);
            conf_report(L, L->lineno, "server %s: %s", s.name, inner);
            bad = true;
        }
    }
    /* verify, ca and sni need tls or health = https: checked with the pool */
    s.tls_options = seen[7] || seen[8] || seen[9];
    /* Kept even when an option was bad, so that a later line with the same name is
     * reported as a duplicate. The configuration is not used anyway. */
    arr = realloc(p->servers, (p->server_count + 1) * sizeof(*arr));
    if (arr == NULL) {
        server_free(&s);
        L->oom = true;
        return -2;
    }
    p->servers = arr;
    arr[p->server_count++] = s;
    return bad ? -2 : 0;
}

/* peers = ID@HOST:PORT, ID@HOST:PORT, ... (repeatable: each line adds peers). */
static int set_peers(struct conf_loader *L, const struct conf_key *k, void *base,
                     const char *v, char *err, size_t errlen)
{
    struct conf_cluster *c = base;
    char buf[256], *save = NULL;
    int rc = 0;

    (void)k;
    snprintf(buf, sizeof(buf), "%s", v);
    if (strspn(buf, " \t,") == strlen(buf)) {
        snprintf(err, errlen, "expected ID@HOST:PORT, ID@HOST:PORT, ..., got '%s'", v);
        return -1;
    }
    for (char *t = strtok_r(buf, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save)) {
        struct conf_peer peer, *arr;
        char *at, *end;
        char inner[400];

        while (*t == ' ' || *t == '\t')
            t++;
        end = t + strlen(t);
        while (end > t && (end[-1] == ' ' || end[-1] == '\t'))
            *--end = '\0';
        memset(&peer, 0, sizeof(peer));
        at = strchr(t, '@');
        if (at == NULL) {
            conf_report(L, L->lineno, "peers: expected ID@HOST:PORT, got '%s'", t);
            rc = -2;
            continue;
        }
        *at = '\0';
        if (conf_value_name(t, CONF_NAME_MAX, inner, sizeof(inner)) != 0) {
            conf_report(L, L->lineno, "peers: %s", inner);
            rc = -2;
            continue;
        }
        if (conf_addr_parse(at + 1, 0, &peer.addr, inner, sizeof(inner)) != 0) {
            conf_report(L, L->lineno, "peers: %s: %s", t, inner);
            rc = -2;
            continue;
        }
        strcpy(peer.id, t);
        {
            bool dup = false;
            for (size_t i = 0; i < c->peer_count && !dup; i++) {
                if (strcmp(c->peers[i].id, peer.id) == 0) {
                    conf_report(L, L->lineno, "peers: duplicate peer id '%s'", peer.id);
                    dup = true;
                } else if (conf_addr_equal(&c->peers[i].addr, &peer.addr)) {
                    conf_report(L, L->lineno, "peers: %s and %s have the same address %s",
                                c->peers[i].id, peer.id, peer.addr.text);
                    dup = true;
                }
            }
            if (dup) {
                rc = -2;
                continue;
            }
        }
        arr = realloc(c->peers, (c->peer_count + 1) * sizeof(*arr));
        if (arr == NULL) {
            L->oom = true;
            return -2;
        }
        c->peers = arr;
        arr[c->peer_count++] = peer;
    }
    return rc;
}

#define KEY(sname, fn, field, lo, hi)                                                    \
    {                                                                                    \
        .name = sname, .set = fn, .off = offsetof(TYPE, field), .min = lo, .max = hi     \
    }
#define KEYR(sname, fn, field)                                                           \
    {                                                                                    \
        .name = sname, .set = fn, .off = offsetof(TYPE, field), .repeatable = true       \
    }
#define KEYE(sname, field, arr)                                                          \
    {                                                                                    \
        .name = sname, .set = set_enum, .off = offsetof(TYPE, field), .names = arr,      \
        .name_count = sizeof(arr) / sizeof(arr[0])                                       \
    }
#define SEC  1000u
#define MIN  (60u * SEC)
#define HOUR (60u * MIN)

static const char *const tls_versions[] = {"1.2", "1.3"};

#define TYPE struct conf_global
static const struct conf_key global_keys[] = {
    KEY("workers", set_u32, workers, 0, 1024),
    KEY("max_connections", set_u32, max_connections, 1, 10000000),
    KEY("poll_batch_us", set_u32, poll_batch_us, 0, 1000),
    KEYE("log_level", log_level, conf_log_level_names),
    KEY("error_log", set_log, error_log, F_OK, 0),
    KEY("access_log", set_log, access_log, F_OK, 1),
    KEY("grace", set_duration, grace_ms, 0, HOUR),
    KEY("pid_file", set_path, pid_file, F_OK, 0),
};
#undef TYPE

#define TYPE struct conf_frontend
static const struct conf_key frontend_keys[] = {
    KEYR("bind", set_bind, binds),
    KEYE("mode", mode, conf_mode_names),
    KEY("pool", set_name, pool_name, 0, 0),
    KEYR("tls_cert", set_tls_file, certs),
    KEYR("tls_key", set_tls_file, certs),
    KEY("tls_ciphers", set_string, tls_ciphers, 0, 0),
    {.name = "tls_min_version",
     .set = set_enum_string,
     .off = offsetof(TYPE, tls_min_version),
     .names = tls_versions,
     .name_count = 2},
    KEY("timeout_client", set_duration, timeout_client_ms, 1, 24 * HOUR),
    KEY("timeout_http_request", set_duration, timeout_http_request_ms, 1, HOUR),
    KEY("timeout_http_keepalive", set_duration, timeout_http_keepalive_ms, 1, HOUR),
    KEY("timeout_tunnel", set_duration, timeout_tunnel_ms, 1, 24 * HOUR),
    KEY("timeout_tls_handshake", set_duration, timeout_tls_handshake_ms, 1, HOUR),
    KEY("tls_session_cache", set_u32, tls_session_cache, 0, 1000000),
    KEY("max_keepalive_requests", set_u32, max_keepalive_requests, 1, 10000000),
    KEY("max_body_bytes", set_size64, max_body_bytes, 0, 1ull << 40),
    KEY("max_header_bytes", set_size32, max_header_bytes, 1024, 1024 * 1024),
    KEY("max_headers", set_u32, max_headers, 1, 1000),
};
#undef TYPE

#define TYPE struct conf_pool
static const struct conf_key pool_keys[] = {
    KEYE("balance", balance, conf_balance_names),
    KEY("hash_key", set_hash_key, hash_key, 0, 0),
    KEY("balance_factor", set_balance_factor, balance_factor, 0, 0),
    KEY("maglev_table_size", set_maglev_size, maglev_table_size, 7, 16777213),
    KEY("ring_points", set_u32, ring_points, 1, 10000),
    KEY("retries", set_u32, retries, 0, 10),
    KEY("retry_on_status", set_retry_on_status, retry_status_lo, 0, 0),
    KEY("retry_on_timeout", set_bool, retry_on_timeout, 0, 0),
    KEY("timeout_connect", set_duration, timeout_connect_ms, 1, HOUR),
    KEY("timeout_server", set_duration, timeout_server_ms, 1, 24 * HOUR),
    KEY("timeout_server_idle", set_duration, timeout_server_idle_ms, 1, HOUR),
    KEY("timeout_queue", set_duration, timeout_queue_ms, 0, HOUR),
    KEYE("health", health, conf_health_names),
    KEY("health_method", set_health_method, health_method, 0, 0),
    KEY("health_path", set_health_path, health_path, 0, 0),
    KEY("health_host", set_health_host, health_host, 0, 0),
    KEY("health_body", set_string, health_body, 0, 0),
    KEY("health_expect", set_health_expect, health_expect_lo, 0, 0),
    KEY("health_interval", set_duration, health_interval_ms, 10, HOUR),
    KEY("health_fast_interval", set_duration, health_fast_interval_ms, 10, HOUR),
    KEY("health_timeout", set_duration, health_timeout_ms, 10, HOUR),
    KEY("rise", set_u32, rise, 1, 100),
    KEY("fall", set_u32, fall, 1, 100),
    KEY("eject_after", set_u32, eject_after, 0, 1000),
    KEY("eject_time", set_duration, eject_time_ms, 100, HOUR),
    KEY("max_ejected_percent", set_u32, max_ejected_percent, 0, 100),
    KEYR("server", set_server, servers),
};
#undef TYPE

#define TYPE struct conf_cluster
static const struct conf_key cluster_keys[] = {
    KEY("node_id", set_name, node_id, 0, 0),
    KEY("bind", set_addr, bind, 0, 0),
    KEYR("peers", set_peers, peers),
    KEY("data_dir", set_path, data_dir, F_OK, 0),
    KEY("secret_file", set_path, secret_file, R_OK, 0),
    KEY("heartbeat_interval", set_duration, heartbeat_interval_ms, 1, 10 * SEC),
    KEY("election_timeout", set_duration, election_timeout_ms, 10, MIN),
    KEY("vip", set_vip, vip, 0, 0),
    KEY("on_leader", set_path, on_leader, X_OK, 0),
    KEY("on_follower", set_path, on_follower, X_OK, 0),
};
#undef TYPE

#define TYPE struct conf_admin
static const struct conf_key admin_keys[] = {
    KEY("bind", set_addr, bind, 0, 0),
    KEY("token_file", set_path, token_file, R_OK, 0),
};
#undef TYPE

_Static_assert(sizeof(pool_keys) / sizeof(pool_keys[0]) <= CONF_KEYS_MAX,
               "CONF_KEYS_MAX");
_Static_assert(sizeof(frontend_keys) / sizeof(frontend_keys[0]) <= CONF_KEYS_MAX,
               "CONF_KEYS_MAX");

const struct conf_key *conf_keys_of(enum conf_sect s, size_t *count)
{
#define RET(t)                                                                           \
    do {                                                                                 \
        *count = sizeof(t) / sizeof((t)[0]);                                             \
        return t;                                                                        \
    } while (0)
    switch (s) {
    case CONF_SECT_GLOBAL:
        RET(global_keys);
    case CONF_SECT_FRONTEND:
        RET(frontend_keys);
    case CONF_SECT_POOL:
        RET(pool_keys);
    case CONF_SECT_CLUSTER:
        RET(cluster_keys);
    case CONF_SECT_ADMIN:
        RET(admin_keys);
    default:
        *count = 0;
        return NULL;
    }
#undef RET
}

int conf_key_index(enum conf_sect s, const char *name)
{
    size_t n;
    const struct conf_key *k = conf_keys_of(s, &n);

    for (size_t i = 0; i < n; i++)
        if (strcmp(k[i].name, name) == 0)
            return (int)i;
    return -1;
}

const char *conf_sect_name(enum conf_sect s)
{
    static const char *const names[CONF_SECT_COUNT] = {
        "(none)", "global", "frontend", "pool", "cluster", "admin", "(skipped)"};
    return (unsigned)s < CONF_SECT_COUNT ? names[s] : "?";
}

int conf_global_defaults(struct conf_global *g)
{
    g->workers = 0;
    g->max_connections = 100000;
    g->poll_batch_us = 100;
    g->log_level = CONF_LOG_INFO;
    g->error_log = strdup("stderr");
    g->access_log = strdup("stderr");
    g->grace_ms = 30 * SEC;
    g->pid_file = NULL;
    return g->error_log && g->access_log ? 0 : -1;
}

int conf_frontend_defaults(struct conf_frontend *f)
{
    f->mode = CONF_MODE_HTTP;
    f->tls_min_version = strdup("1.2");
    f->timeout_client_ms = 30 * SEC;
    f->timeout_http_request_ms = 10 * SEC;
    f->timeout_http_keepalive_ms = 5 * SEC;
    f->timeout_tunnel_ms = HOUR;
    f->timeout_tls_handshake_ms = 10 * SEC;
    f->tls_session_cache = 20000;
    f->max_keepalive_requests = 1000;
    f->max_body_bytes = 0;
    f->max_header_bytes = 64 * 1024;
    f->max_headers = 100;
    return f->tls_min_version ? 0 : -1;
}

int conf_pool_defaults(struct conf_pool *p)
{
    p->balance = CONF_BALANCE_ROUNDROBIN;
    p->hash_key = CONF_HASH_URI; /* or source, set by validation for tcp frontends */
    p->balance_factor = 1.25;
    p->maglev_table_size = 65537;
    p->ring_points = LB_RING_POINTS_DEFAULT;
    p->retries = 2;
    p->retry_status_lo[0] = 500;
    p->retry_status_hi[0] = 500;
    p->retry_status_lo[1] = 502;
    p->retry_status_hi[1] = 504;
    p->retry_status_count = 2;
    p->retry_on_timeout = true;
    p->timeout_connect_ms = 2 * SEC;
    p->timeout_server_ms = 30 * SEC;
    p->timeout_server_idle_ms = 4 * SEC;
    p->health = CONF_HEALTH_NONE;
    p->health_method = strdup("GET");
    p->health_path = strdup("/");
    p->health_expect_lo[0] = 200;
    p->health_expect_hi[0] = 399;
    p->health_expect_count = 1;
    p->health_interval_ms = SEC;
    p->health_fast_interval_ms = 0; /* interval / 4, set by validation */
    p->health_timeout_ms = 500;
    p->rise = 2;
    p->fall = 3;
    p->eject_after = 5;
    p->eject_time_ms = 10 * SEC;
    p->max_ejected_percent = 50;
    return p->health_method && p->health_path ? 0 : -1;
}

void conf_cluster_defaults(struct conf_cluster *c)
{
    c->heartbeat_interval_ms = 50;
    c->election_timeout_ms = 300;
}
