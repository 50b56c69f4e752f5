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
