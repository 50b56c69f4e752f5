/* test_http_conformance: runs the external HTTP/1.1 conformance corpus
 * (../shared/conformance/http1-requests.jsonl, or $RAFTLB_CONFORMANCE_DIR)
 * through the pure parser, chunked decoder and request rewriter, without
 * sockets, the way the proxy's request path uses them:
 *
 *   for each pipelined request: parse the head; validate the body that is in
 *   the buffer (Content-Length or chunked); only a request whose head and body
 *   are valid and complete is "forwarded" (rewritten head + body bytes); an
 *   error stops the connection (the proxy answers the status and closes); so
 *   does a request that does not keep the connection alive.
 *
 * The verdicts follow run_http1.py: reject = an error status before anything
 * was forwarded; accept = exactly n requests forwarded, with the listed body
 * lengths, each passing the runner's wire checks (re-implemented here), none
 * containing a forbidden string, and a close when expect_close is set.
 * Exit 77 (skip) only if RAFTLB_CONFORMANCE_DIR is unset and the file absent. */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http/http_chunked.h"
#include "http/http_parser.h"
#include "http/http_rewrite.h"

#ifndef CONFORMANCE_DEFAULT_DIR
#define CONFORMANCE_DEFAULT_DIR "../shared/conformance"
#endif

/* ------------------------------------------------------------------ JSON */

#define MAX_LIST 16

struct vec {
    char id[128];
    char expect[16];
    unsigned char *raw;
    size_t raw_len;
    long forwarded;
    long body_lengths[MAX_LIST];
    int n_body_lengths; /* -1: absent/null */
    int expect_close;
    char *must_not[MAX_LIST];
    int n_must_not;
};

struct jp {
    const char *s;
    int err;
};

static void ws(struct jp *p)
{
    while (*p->s == ' ' || *p->s == '\t' || *p->s == '\n' || *p->s == '\r')
        p->s++;
}

/* Parse a JSON string; every code point must be <= 0xFF (ISO-8859-1 bytes). */
static unsigned char *jstr(struct jp *p, size_t *len)
{
    ws(p);
    if (*p->s != '"') {
        p->err = 1;
        return NULL;
    }
    p->s++;
    size_t cap = 64, n = 0;
    unsigned char *out = malloc(cap);
    while (*p->s && *p->s != '"') {
        unsigned c = (unsigned char)*p->s++;
        if (c == '\\') {
            char e = *p->s++;
            switch (e) {
            case 'n': c = '\n'; break;
            case 'r': c = '\r'; break;
            case 't': c = '\t'; break;
            case 'b': c = '\b'; break;
            case 'f': c = '\f'; break;
            case '/': c = '/'; break;
            case '\\': c = '\\'; break;
            case '"': c = '"'; break;
            case 'u': {
                char hex[5] = {0};
                memcpy(hex, p->s, 4);
                p->s += 4;
                c = (unsigned)strtoul(hex, NULL, 16);
                break;
            }
            default: p->err = 1; break;
            }
        } else if (c >= 0x80) {
            /* UTF-8 in the file: decode 2-byte sequences (U+0080..U+00FF). */
            unsigned c2 = (unsigned char)*p->s++;
            c = ((c & 0x1F) << 6) | (c2 & 0x3F);
        }
        if (c > 0xFF)
            p->err = 1;
        if (n + 1 >= cap)
            out = realloc(out, cap *= 2);
        out[n++] = (unsigned char)c;
    }
    if (*p->s != '"')
        p->err = 1;
    else
        p->s++;
    out[n] = 0;
    *len = n;
    return out;
}

static void jskip_value(struct jp *p);

static void jskip_value(struct jp *p)
{
    size_t n;
    ws(p);
    if (*p->s == '"') {
        free(jstr(p, &n));
    } else if (*p->s == '[') {
        p->s++;
        ws(p);
        while (*p->s && *p->s != ']') {
            jskip_value(p);
            ws(p);
            if (*p->s == ',')
                p->s++;
            ws(p);
        }
        p->s++;
    } else {
        while (*p->s && *p->s != ',' && *p->s != '}' && *p->s != ']')
            p->s++;
    }
}

static int parse_vec(const char *line, struct vec *v)
{
    struct jp p = {line, 0};
    memset(v, 0, sizeof(*v));
    v->n_body_lengths = -1;
    ws(&p);
    if (*p.s++ != '{')
        return -1;
    for (;;) {
        size_t kn, n;
        ws(&p);
        if (*p.s == '}')
            break;
        unsigned char *key = jstr(&p, &kn);
        ws(&p);
        if (p.err || *p.s++ != ':') {
            free(key);
            return -1;
        }
        ws(&p);
        if (strcmp((char *)key, "id") == 0 || strcmp((char *)key, "expect") == 0) {
            unsigned char *s = jstr(&p, &n);
            char *dst = key[0] == 'i' ? v->id : v->expect;
            size_t cap = key[0] == 'i' ? sizeof(v->id) : sizeof(v->expect);
            snprintf(dst, cap, "%s", (char *)s);
            free(s);
        } else if (strcmp((char *)key, "raw") == 0) {
            v->raw = jstr(&p, &v->raw_len);
        } else if (strcmp((char *)key, "forwarded_requests") == 0) {
            v->forwarded = strtol(p.s, (char **)&p.s, 10);
        } else if (strcmp((char *)key, "expect_close") == 0) {
            v->expect_close = strncmp(p.s, "true", 4) == 0;
            jskip_value(&p);
        } else if (strcmp((char *)key, "body_lengths") == 0 && *p.s == '[') {
            p.s++;
            v->n_body_lengths = 0;
            for (;;) {
                ws(&p);
                if (*p.s == ']') {
                    p.s++;
                    break;
                }
                if (v->n_body_lengths < MAX_LIST)
                    v->body_lengths[v->n_body_lengths++] =
                        strtol(p.s, (char **)&p.s, 10);
                ws(&p);
                if (*p.s == ',')
                    p.s++;
            }
        } else if (strcmp((char *)key, "forwarded_must_not_contain") == 0 &&
                   *p.s == '[') {
            p.s++;
            for (;;) {
                ws(&p);
                if (*p.s == ']') {
                    p.s++;
                    break;
                }
                unsigned char *s = jstr(&p, &n);
                if (v->n_must_not < MAX_LIST)
                    v->must_not[v->n_must_not++] = (char *)s;
                else
                    free(s);
                ws(&p);
                if (*p.s == ',')
                    p.s++;
            }
        } else {
            jskip_value(&p);
        }
        free(key);
        ws(&p);
        if (*p.s == ',')
            p.s++;
        if (p.err)
            return -1;
    }
    return v->raw != NULL && v->id[0] && v->expect[0] ? 0 : -1;
}

static void free_vec(struct vec *v)
{
    free(v->raw);
    for (int i = 0; i < v->n_must_not; i++)
        free(v->must_not[i]);
}

/* ------------------------------------------- the runner's wire checks, in C */

static int tchar(unsigned char c)
{
    return isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int ci_prefix(const char *a, size_t an, const char *lw)
{
    size_t n = strlen(lw);
    if (an != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (tolower((unsigned char)a[i]) != lw[i])
            return 0;
    return 1;
}

/* Strict chunked check as in run_http1.py parse_chunked; returns decoded
 * length or -1. */
static long wire_chunked(const char *b, size_t n, size_t *end)
{
    size_t pos = 0;
    long total = 0;
    for (;;) {
        const char *eol = NULL;
        for (size_t i = pos; i + 1 < n; i++)
            if (b[i] == '\r' && b[i + 1] == '\n') {
                eol = b + i;
                break;
            }
        if (!eol)
            return -1;
        size_t ll = (size_t)(eol - (b + pos)), k = 0;
        while (k < ll && isxdigit((unsigned char)b[pos + k]))
            k++;
        if (k == 0 || k > 16)
            return -1;
        size_t j = k;
        while (j < ll && (b[pos + j] == ' ' || b[pos + j] == '\t'))
            j++;
        if (j < ll && b[pos + j] != ';')
            return -1;
        if (j == ll && j != k)
            return -1;
        for (size_t q = pos; q < pos + ll; q++)
            if (b[q] == '\r' || b[q] == '\n' || b[q] == 0)
                return -1;
        char hex[17] = {0};
        memcpy(hex, b + pos, k);
        unsigned long sz = strtoul(hex, NULL, 16);
        pos += ll + 2;
        if (sz == 0) {
            /* trailers up to CRLFCRLF starting at pos-2 */
            for (size_t i = pos - 2; i + 3 < n; i++)
                if (memcmp(b + i, "\r\n\r\n", 4) == 0) {
                    *end = i + 4;
                    return total;
                }
            return -1;
        }
        if (pos + sz + 2 > n || b[pos + sz] != '\r' || b[pos + sz + 1] != '\n')
            return -1;
        total += (long)sz;
        pos += sz + 2;
    }
}

/* Check one forwarded request (head + body in w[0, n)); returns the decoded
 * body length or -1 with *why set. */
static long wire_check(const char *w, size_t n, const char **why)
{
    const char *hend = NULL;
    for (size_t i = 0; i + 3 < n; i++)
        if (memcmp(w + i, "\r\n\r\n", 4) == 0) {
            hend = w + i;
            break;
        }
    if (!hend)
        return *why = "no end of head", -1;
    size_t hl = (size_t)(hend - w);
    for (size_t i = 0; i < hl; i++) {
        if (w[i] == 0)
            return *why = "NUL in head", -1;
        if (w[i] == '\r' && w[i + 1] != '\n')
            return *why = "bare CR", -1;
        if (w[i] == '\n' && (i == 0 || w[i - 1] != '\r'))
            return *why = "bare LF", -1;
    }
    /* request line: token SP target(0x21-0x7e,0x80-0xff)+ SP HTTP/1.d */
    size_t i = 0;
    while (i < hl && tchar((unsigned char)w[i]))
        i++;
    if (i == 0 || w[i] != ' ')
        return *why = "bad method", -1;
    size_t t = ++i;
    while (i < hl && (unsigned char)w[i] > 0x20 && w[i] != 0x7f)
        i++;
    if (i == t || w[i] != ' ')
        return *why = "bad target", -1;
    i++;
    int minor;
    if (strncmp(w + i, "HTTP/1.", 7) != 0 || !isdigit((unsigned char)w[i + 7]) ||
        w[i + 8] != '\r')
        return *why = "bad version", -1;
    minor = w[i + 7] - '0';
    i += 10;
    int ncl = 0, nte = 0, nhost = 0;
    long cl = -1;
    int te_chunked = 0;
    while (i < hl + 2) {
        const char *eol = strstr(w + i, "\r\n");
        size_t ll = (size_t)(eol - (w + i));
        const char *ln = w + i;
        if (ln[0] == ' ' || ln[0] == '\t')
            return *why = "obs-fold", -1;
        size_t k = 0;
        while (k < ll && tchar((unsigned char)ln[k]))
            k++;
        if (k == 0 || k >= ll || ln[k] != ':')
            return *why = "bad field line", -1;
        size_t vs = k + 1, ve = ll;
        while (vs < ve && (ln[vs] == ' ' || ln[vs] == '\t'))
            vs++;
        while (ve > vs && (ln[ve - 1] == ' ' || ln[ve - 1] == '\t'))
            ve--;
        if (ci_prefix(ln, k, "content-length")) {
            ncl++;
            if (ve == vs)
                return *why = "empty CL", -1;
            for (size_t q = vs; q < ve; q++)
                if (!isdigit((unsigned char)ln[q]))
                    return *why = "CL not 1*DIGIT", -1;
            cl = strtol(ln + vs, NULL, 10);
        } else if (ci_prefix(ln, k, "transfer-encoding")) {
            nte++;
            if (!ci_prefix(ln + vs, ve - vs, "chunked"))
                return *why = "TE is not exactly chunked", -1;
            te_chunked = 1;
        } else if (ci_prefix(ln, k, "host")) {
            nhost++;
        }
        i += ll + 2;
    }
    if (ncl > 1)
        return *why = "several Content-Length", -1;
    if (ncl && nte)
        return *why = "both CL and TE", -1;
    if (nte > 1)
        return *why = "several TE", -1;
    if (nte && minor == 0)
        return *why = "TE in HTTP/1.0", -1;
    if (nhost > 1)
        return *why = "several Host", -1;
    size_t body = hl + 4;
    if (te_chunked) {
        size_t end = 0;
        long len = wire_chunked(w + body, n - body, &end);
        if (len < 0)
            return *why = "malformed chunked body", -1;
        if (body + end != n)
            return *why = "bytes after the chunked body", -1;
        return len;
    }
    long len = cl < 0 ? 0 : cl;
    if (body + (size_t)len != n)
        return *why = "body length differs from Content-Length", -1;
    return len;
}

/* --------------------------------------------------------- the simulation */

struct outcome {
    int forwarded;
    long bodies[MAX_LIST];
    int error_status; /* 0: no error */
    const char *error;
    int closed;       /* connection ends (error or no keep-alive) */
    int incomplete;   /* the proxy would still be waiting for bytes */
    const char *wire_issue;
    int must_not_hit;
};

static int contains_ci(const char *hay, size_t n, const char *needle)
{
    size_t m = strlen(needle);
    for (size_t i = 0; i + m <= n; i++) {
        size_t k = 0;
        while (k < m && tolower((unsigned char)hay[i + k]) ==
                            tolower((unsigned char)needle[k]))
            k++;
        if (k == m)
            return 1;
    }
    return 0;
}

/* With RAFTLB_CONFORMANCE_DUMP=DIR, append what would be forwarded for each
 * vector to DIR/<id>, so that run_http1.py's own parser can re-check it. */
static void dump_wire(const char *id, const char *wire, size_t n)
{
    const char *dir = getenv("RAFTLB_CONFORMANCE_DUMP");
    char path[4096];
    if (dir == NULL)
        return;
    snprintf(path, sizeof(path), "%s/%s", dir, id);
    FILE *f = fopen(path, "ab");
    if (f == NULL)
        return;
    fwrite(wire, 1, n, f);
    fclose(f);
}

static void simulate(const struct vec *v, struct outcome *o)
{
    const char *raw = (const char *)v->raw;
    size_t len = v->raw_len, pos = 0;
    struct http_header hdrs[128];
    static char wire[1 << 18];
    memset(o, 0, sizeof(*o));

    while (pos < len) {
        struct http_msg m;
        http_msg_init_request(&m, hdrs, 128);
        int rc = http_parse_request(&m, raw + pos, len - pos, NULL);
        if (rc == HTTP_AGAIN) {
            o->incomplete = 1;
            return;
        }
        if (rc == HTTP_ERROR) {
            o->error_status = m.status;
            o->error = m.error;
            o->closed = 1;
            return;
        }
        const char *b = raw + pos;
        size_t body_start = m.head_bytes, body_end = body_start;
        long decoded = 0;
        if (m.body == HTTP_BODY_LENGTH) {
            if (len - pos - body_start < m.content_length) {
                o->incomplete = 1;
                return;
            }
            body_end = body_start + (size_t)m.content_length;
            decoded = (long)m.content_length;
        } else if (m.body == HTTP_BODY_CHUNKED) {
            struct http_chunked c;
            struct http_chunk_ev ev;
            http_chunked_init(&c, 0, false);
            size_t at = body_start;
            for (;;) {
                rc = http_chunked_step(&c, b + at, len - pos - at, &ev);
                if (rc == HTTP_ERROR) {
                    o->error_status = c.status;
                    o->error = c.error;
                    o->closed = 1;
                    return;
                }
                if (rc == HTTP_AGAIN) {
                    o->incomplete = 1;
                    return;
                }
                if (ev.kind == HTTP_CHUNK_EV_DATA)
                    decoded += (long)ev.data_len;
                at += ev.consumed;
                if (ev.kind == HTTP_CHUNK_EV_END)
                    break;
            }
            body_end = at;
        }
        struct http_request_forward fwd = {"192.0.2.7", "http", true, false};
        size_t hl;
        rc = http_rewrite_request(&m, b, &fwd, wire, sizeof(wire), &hl);
        assert_int_equal(rc, HTTP_OK);
        assert_true(hl + (body_end - body_start) <= sizeof(wire));
        memcpy(wire + hl, b + body_start, body_end - body_start);
        size_t wn = hl + (body_end - body_start);
        const char *why = NULL;
        long wl = wire_check(wire, wn, &why);
        if (wl < 0 && !o->wire_issue)
            o->wire_issue = why;
        if (wl >= 0 && wl != decoded && !o->wire_issue)
            o->wire_issue = "decoded length differs on the wire";
        for (int k = 0; k < v->n_must_not; k++)
            if (contains_ci(wire, hl, v->must_not[k]))
                o->must_not_hit = 1;
        dump_wire(v->id, wire, wn);
        if (o->forwarded < MAX_LIST)
            o->bodies[o->forwarded] = decoded;
        o->forwarded++;
        pos += body_end;
        if (!m.keep_alive) {
            o->closed = 1;
            return;
        }
    }
}

static int judge_reject(const struct outcome *o)
{
    return o->forwarded == 0 && o->error_status >= 400;
}

static int judge_accept(const struct vec *v, const struct outcome *o,
                        char *why, size_t wn)
{
    if (o->forwarded < v->forwarded) {
        snprintf(why, wn, "forwarded %d of %ld (%s%d %s)", o->forwarded,
                 v->forwarded, o->incomplete ? "incomplete " : "",
                 o->error_status, o->error ? o->error : "");
        return 0;
    }
    if (o->forwarded != v->forwarded) {
        snprintf(why, wn, "forwarded %d, expected %ld", o->forwarded,
                 v->forwarded);
        return 0;
    }
    if (o->wire_issue) {
        snprintf(why, wn, "wire check: %s", o->wire_issue);
        return 0;
    }
    for (int k = 0; k < v->n_body_lengths && k < o->forwarded && k < MAX_LIST; k++)
        if (o->bodies[k] != v->body_lengths[k]) {
            snprintf(why, wn, "body %d length %ld, expected %ld", k,
                     o->bodies[k], v->body_lengths[k]);
            return 0;
        }
    if (o->must_not_hit) {
        snprintf(why, wn, "forwarded a forbidden string");
        return 0;
    }
    if (v->expect_close && !o->closed) {
        snprintf(why, wn, "connection not closed");
        return 0;
    }
    return 1;
}

static char *vectors_path;

static void test_http_conformance_corpus(void **state)
{
    (void)state;
    FILE *f = fopen(vectors_path, "r");
    assert_non_null(f);
    size_t cap = 1 << 20;
    char *line = malloc(cap);
    int total = 0, passed = 0, accepted = 0, rejected = 0;
    while (fgets(line, (int)cap, f) != NULL) {
        if (line[0] == '\n' || line[0] == 0)
            continue;
        struct vec v;
        struct outcome o;
        char why[256] = "";
        assert_int_equal(parse_vec(line, &v), 0);
        simulate(&v, &o);
        int ok;
        int rej = judge_reject(&o);
        if (strcmp(v.expect, "reject") == 0) {
            ok = rej;
            if (!ok)
                snprintf(why, sizeof(why), "forwarded %d, status %d%s",
                         o.forwarded, o.error_status,
                         o.incomplete ? ", waiting for bytes" : "");
        } else if (strcmp(v.expect, "accept") == 0) {
            ok = judge_accept(&v, &o, why, sizeof(why));
        } else {
            ok = rej || judge_accept(&v, &o, why, sizeof(why));
        }
        if (rej)
            rejected++;
        else
            accepted++;
        total++;
        if (ok)
            passed++;
        else
            print_error("FAIL %s [%s]: %s\n", v.id, v.expect, why);
        if (getenv("RAFTLB_CONFORMANCE_VERBOSE"))
            print_message("%-40s %-6s -> %s %d %s\n", v.id, v.expect,
                          rej ? "rejected" : "accepted", o.error_status,
                          o.error ? o.error : "");
        free_vec(&v);
    }
    free(line);
    fclose(f);
    print_message("conformance: %d vectors, %d passed (%d rejected, %d "
                  "accepted)\n", total, passed, rejected, accepted);
    assert_int_equal(total, 221);
    assert_int_equal(passed, total);
}

int main(void)
{
    const char *dir = getenv("RAFTLB_CONFORMANCE_DIR");
    static char path[4096];
    snprintf(path, sizeof(path), "%s/http1-requests.jsonl",
             dir ? dir : CONFORMANCE_DEFAULT_DIR);
    vectors_path = path;
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        if (dir == NULL) {
            fprintf(stderr, "skip: %s not found\n", path);
            return 77;
        }
        fprintf(stderr, "cannot open %s\n", path);
        return 1;
    }
    fclose(f);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_conformance_corpus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
