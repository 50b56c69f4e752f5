/*
 * health_expect: status-range and body-substring matching of probe responses
 * (see health_expect.h).
 */
#include "health/health_expect.h"

#include <string.h>

bool health_expect_status(const struct health_expect *e, unsigned status)
{
    size_t n = e->count < HEALTH_EXPECT_RANGES_MAX ? e->count : HEALTH_EXPECT_RANGES_MAX;
    size_t i;

    if (n == 0)
        return status >= HEALTH_EXPECT_DEFAULT_LO && status <= HEALTH_EXPECT_DEFAULT_HI;
    for (i = 0; i < n; i++)
        if (status >= e->lo[i] && status <= e->hi[i])
            return true;
    return false;
}

bool health_body_contains(const char *body, size_t len, const char *needle)
{
    size_t m, i;

    if (needle == NULL || needle[0] == '\0')
        return true;
    m = strlen(needle);
    if (body == NULL || m > len)
        return false;
    for (i = 0; i + m <= len; i++) {
        const char *p = memchr(body + i, needle[0], len - m + 1 - i);
        if (p == NULL)
            return false;
        i = (size_t)(p - body);
        if (memcmp(p, needle, m) == 0)
            return true;
    }
    return false;
}
