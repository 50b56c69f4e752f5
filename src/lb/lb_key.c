/*
 * lb_key: hash-key extraction from already-parsed request parts (see lb_key.h).
 */
#include <string.h>

#include "lb/lb_key.h"

static int is_ows(char c)
{
    return c == ' ' || c == '\t';
}

int lb_key_cookie(const char *hdr, size_t len, const char *name, size_t name_len,
                  const char **val, size_t *val_len)
{
    size_t i = 0;

    if (hdr == NULL || name == NULL || name_len == 0)
        return -1;
    while (i < len) {
        size_t ns, ne, vs, ve, end;
        end = i;
        while (end < len && hdr[end] != ';')
            end++;
        ns = i;
        while (ns < end && is_ows(hdr[ns]))
            ns++;
        ne = ns;
        while (ne < end && hdr[ne] != '=')
            ne++;
        if (ne < end) { /* a pair with '=' */
            vs = ne + 1;
            while (ne > ns && is_ows(hdr[ne - 1]))
                ne--;
            if (ne - ns == name_len && memcmp(hdr + ns, name, name_len) == 0) {
                while (vs < end && is_ows(hdr[vs]))
                    vs++;
                ve = end;
                while (ve > vs && is_ows(hdr[ve - 1]))
                    ve--;
                if (ve - vs >= 2 && hdr[vs] == '"' && hdr[ve - 1] == '"') {
                    vs++;
                    ve--;
                }
                *val = hdr + vs;
                *val_len = ve - vs;
                return 0;
            }
        }
        i = end + 1;
    }
    return -1;
}

size_t lb_key_path_len(const char *target, size_t len)
{
    size_t i;
    for (i = 0; i < len; i++)
        if (target[i] == '?' || target[i] == '#')
            break;
    return i;
}

size_t lb_key_uri_len(const char *target, size_t len)
{
    size_t i;
    for (i = 0; i < len; i++)
        if (target[i] == '#')
            break;
    return i;
}

/* Where the origin-form part of an absolute-form target starts: after
 * "scheme://authority" (RFC 3986 section 3), at the first '/', '?' or '#'.
 * 0 for a target that is not "scheme://...". */
static size_t origin_off(const char *t, size_t len)
{
    size_t i = 0;

    if (len == 0 || !((t[0] >= 'a' && t[0] <= 'z') || (t[0] >= 'A' && t[0] <= 'Z')))
        return 0;
    while (i < len && ((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= 'A' && t[i] <= 'Z') ||
                       (t[i] >= '0' && t[i] <= '9') || t[i] == '+' || t[i] == '-' ||
                       t[i] == '.'))
        i++;
    if (len - i < 3 || t[i] != ':' || t[i + 1] != '/' || t[i + 2] != '/')
        return 0;
    for (i += 3; i < len; i++)
        if (t[i] == '/' || t[i] == '?' || t[i] == '#')
            break;
    return i;
}

static const char root[] = "/";

size_t lb_key_path(const char *target, size_t len, const char **key)
{
    size_t off = origin_off(target, len);
    size_t n = lb_key_path_len(target + off, len - off);

    if (off != 0 && n == 0) {
        *key = root;
        return 1;
    }
    *key = target + off;
    return n;
}

size_t lb_key_uri(const char *target, size_t len, char *scratch, size_t scratch_cap,
                  const char **key)
{
    size_t off = origin_off(target, len);
    const char *u = target + off;
    size_t n = lb_key_uri_len(u, len - off);

    *key = u;
    if (off == 0 || (n > 0 && u[0] == '/'))
        return n;
    if (n == 0) {
        *key = root;
        return 1;
    }
    if (scratch != NULL && scratch_cap > n) { /* "?q" -> "/?q" */
        scratch[0] = '/';
        memcpy(scratch + 1, u, n);
        *key = scratch;
        return n + 1;
    }
    return n;
}
