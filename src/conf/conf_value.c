/*
 * conf_value: parsers of single configuration values and the spelling helpers of
 * the diagnostics. Pure (libraftlb_core.a): no I/O, no allocation, no locale.
 */
#include "conf/conf_value.h"

#include <stdio.h>
#include <string.h>

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static char to_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static bool eq_nocase(const char *a, const char *b)
{
    while (*a && *b && to_lower(*a) == to_lower(*b)) {
        a++;
        b++;
    }
    return *a == '\0' && *b == '\0';
}

/* Reads the leading decimal digits of s into *v (saturating at UINT64_MAX, which
 * every caller rejects as out of range). Returns the number of digits read. */
static size_t read_digits(const char *s, uint64_t *v)
{
    size_t i = 0;
    uint64_t x = 0;

    for (; is_digit(s[i]); i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (x > (UINT64_MAX - d) / 10)
            x = UINT64_MAX;
        else
            x = x * 10 + d;
    }
    *v = x;
    return i;
}

static uint64_t mul_sat(uint64_t a, uint64_t b)
{
    if (a != 0 && b > UINT64_MAX / a)
        return UINT64_MAX;
    return a * b;
}

void conf_value_format_duration(uint32_t ms, char *buf, size_t len)
{
    if (ms != 0 && ms % 3600000u == 0)
        snprintf(buf, len, "%uh", ms / 3600000u);
    else if (ms != 0 && ms % 60000u == 0)
        snprintf(buf, len, "%um", ms / 60000u);
    else if (ms != 0 && ms % 1000u == 0)
        snprintf(buf, len, "%us", ms / 1000u);
    else
        snprintf(buf, len, "%ums", ms);
}

void conf_value_format_size(uint64_t bytes, char *buf, size_t len)
{
    const uint64_t k = 1024;

    if (bytes != 0 && bytes % (k * k * k) == 0)
        snprintf(buf, len, "%llug", (unsigned long long)(bytes / (k * k * k)));
    else if (bytes != 0 && bytes % (k * k) == 0)
        snprintf(buf, len, "%llum", (unsigned long long)(bytes / (k * k)));
    else if (bytes != 0 && bytes % k == 0)
        snprintf(buf, len, "%lluk", (unsigned long long)(bytes / k));
    else
        snprintf(buf, len, "%llu", (unsigned long long)bytes);
}

int conf_value_duration(const char *s, uint32_t min_ms, uint32_t max_ms, uint32_t *out,
                        char *err, size_t errlen)
{
    uint64_t v, mult;
    size_t n = read_digits(s, &v);
    const char *unit = s + n;
    char lo[32], hi[32];

    if (*s == '\0') {
        snprintf(err, errlen,
                 "expected a duration such as 500ms, 2s, 1m or 1h, got nothing");
        return -1;
    }
    if (n == 0)
        goto bad;
    if (*unit == '\0') {
        if (v != 0) {
            snprintf(err, errlen, "'%s' has no unit (write %sms or %ss)", s, s, s);
            return -1;
        }
        mult = 0;
    } else if (strcmp(unit, "ms") == 0) {
        mult = 1;
    } else if (strcmp(unit, "s") == 0) {
        mult = 1000;
    } else if (strcmp(unit, "m") == 0) {
        mult = 60000;
    } else if (strcmp(unit, "h") == 0) {
        mult = 3600000;
    } else {
        goto bad;
    }
    v = mul_sat(v, mult);
    if (v < min_ms || v > max_ms) {
        conf_value_format_duration(min_ms, lo, sizeof(lo));
        conf_value_format_duration(max_ms, hi, sizeof(hi));
        snprintf(err, errlen, "expected a duration from %s to %s, got '%s'", lo, hi, s);
        return -1;
    }
    *out = (uint32_t)v;
    return 0;
bad:
    snprintf(err, errlen, "expected a duration such as 500ms, 2s, 1m or 1h, got '%s'", s);
    return -1;
}

int conf_value_size(const char *s, uint64_t min, uint64_t max, uint64_t *out, char *err,
                    size_t errlen)
{
    uint64_t v, mult = 1;
    size_t n = read_digits(s, &v);
    const char *unit = s + n;
    char lo[32], hi[32];

    if (n == 0)
        goto bad;
    if (*unit != '\0') {
        if (unit[1] != '\0')
            goto bad;
        switch (to_lower(*unit)) {
        case 'k':
            mult = 1024;
            break;
        case 'm':
            mult = 1024 * 1024;
            break;
        case 'g':
            mult = 1024 * 1024 * 1024;
            break;
        default:
            goto bad;
        }
    }
    v = mul_sat(v, mult);
    if (v < min || v > max) {
        conf_value_format_size(min, lo, sizeof(lo));
        conf_value_format_size(max, hi, sizeof(hi));
        snprintf(err, errlen, "expected a size from %s to %s, got '%s'", lo, hi, s);
        return -1;
    }
    *out = v;
    return 0;
bad:
    snprintf(err, errlen, "expected a size such as 512, 16k, 1m or 1g, got '%s'", s);
    return -1;
}

int conf_value_bool(const char *s, bool *out, char *err, size_t errlen)
{
    static const char *const yes[] = {"on", "yes", "true", "1"};
    static const char *const no[] = {"off", "no", "false", "0"};

    for (size_t i = 0; i < 4; i++) {
        if (eq_nocase(s, yes[i])) {
            *out = true;
            return 0;
        }
        if (eq_nocase(s, no[i])) {
            *out = false;
            return 0;
        }
    }
    snprintf(err, errlen, "expected on/off, yes/no, true/false or 1/0, got '%s'", s);
    return -1;
}

int conf_value_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out, char *err,
                    size_t errlen)
{
    uint64_t v;
    size_t n = read_digits(s, &v);

    if (n == 0 || s[n] != '\0' || v < min || v > max) {
        snprintf(err, errlen, "expected a whole number from %llu to %llu, got '%s'",
                 (unsigned long long)min, (unsigned long long)max, s);
        return -1;
    }
    *out = v;
    return 0;
}

int conf_value_double(const char *s, double min, double max, double *out, char *err,
                      size_t errlen)
{
    /* Written by hand rather than with strtod(), which follows the locale and
     * accepts "inf", "nan" and hexadecimal. */
    uint64_t ip, fp = 0;
    size_t n = read_digits(s, &ip), m = 0;
    double v, scale = 1.0;

    if (n == 0 || n > 9)
        goto bad;
    if (s[n] == '.') {
        m = read_digits(s + n + 1, &fp);
        if (m == 0 || m > 9 || s[n + 1 + m] != '\0')
            goto bad;
    } else if (s[n] != '\0') {
        goto bad;
    }
    for (size_t i = 0; i < m; i++)
        scale *= 10.0;
    v = (double)ip + (double)fp / scale;
    if (v < min || v > max)
        goto bad;
    *out = v;
    return 0;
bad:
    snprintf(err, errlen, "expected a number from %g to %g, got '%s'", min, max, s);
    return -1;
}

int conf_value_status_ranges(const char *s, uint16_t *lo, uint16_t *hi, size_t cap,
                             size_t *count, char *err, size_t errlen)
{
    const char *p = s;
    size_t k = 0;

    if (*p == '\0')
        goto bad;
    for (;;) {
        uint64_t a, b;
        size_t n;

        while (*p == ' ' || *p == '\t')
            p++;
        n = read_digits(p, &a);
        if (n == 0)
            goto bad;
        p += n;
        b = a;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '-') {
            p++;
            while (*p == ' ' || *p == '\t')
                p++;
            n = read_digits(p, &b);
            if (n == 0)
                goto bad;
            p += n;
            while (*p == ' ' || *p == '\t')
                p++;
        }
        if (a < 100 || b > 599 || a > b) {
            snprintf(err, errlen,
                     "status codes go from 100 to 599 and a range from low to high, "
                     "got '%s'",
                     s);
            return -1;
        }
        if (k == cap) {
            snprintf(err, errlen, "at most %zu status ranges, got '%s'", cap, s);
            return -1;
        }
        lo[k] = (uint16_t)a;
        hi[k] = (uint16_t)b;
        k++;
        if (*p == '\0')
            break;
        if (*p != ',')
            goto bad;
        p++;
    }
    *count = k;
    return 0;
bad:
    snprintf(err, errlen,
             "expected status codes such as 200-399 or 200,204,300-399, got '%s'", s);
    return -1;
}

int conf_value_enum(const char *s, const char *const *names, size_t n, int *out,
                    char *err, size_t errlen)
{
    const char *near;
    size_t off;

    for (size_t i = 0; i < n; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = (int)i;
            return 0;
        }
    }
    off = (size_t)snprintf(err, errlen, "expected ");
    for (size_t i = 0; i < n && off < errlen; i++)
        off += (size_t)snprintf(err + off, errlen - off, "%s%s", names[i],
                                i + 2 < n    ? ", "
                                : i + 2 == n ? " or "
                                             : "");
    if (off < errlen)
        off += (size_t)snprintf(err + off, errlen - off, ", got '%s'", s);
    near = conf_value_suggest(s, names, n);
    if (near != NULL && off < errlen)
        snprintf(err + off, errlen - off, " (did you mean '%s'?)", near);
    return -1;
}

int conf_value_name(const char *s, size_t max_len, char *err, size_t errlen)
{
    size_t len = strlen(s);

    if (len == 0) {
        snprintf(err, errlen, "a name is missing");
        return -1;
    }
    if (len >= max_len) {
        snprintf(err, errlen, "name '%.20s...' is longer than %zu characters", s,
                 max_len - 1);
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!(is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              c == '_' || c == '-' || c == '.')) {
            snprintf(err, errlen,
                     "name '%s' may hold only letters, digits, '_', '-' and '.'", s);
            return -1;
        }
    }
    return 0;
}

unsigned conf_value_edit_distance(const char *a, const char *b)
{
    /* Optimal string alignment distance: insertions, deletions, substitutions and
     * transpositions of two neighbours ("wrokers") each cost 1. Three rows. */
    unsigned r0[256], r1[256], r2[256];
    unsigned *prev2 = r0, *prev = r1, *cur = r2;
    size_t la = strlen(a), lb = strlen(b);

    if (la > 255)
        la = 255;
    if (lb > 255)
        lb = 255;
    for (size_t j = 0; j <= lb; j++)
        prev[j] = (unsigned)j;
    for (size_t i = 1; i <= la; i++) {
        unsigned *t;
        cur[0] = (unsigned)i;
        for (size_t j = 1; j <= lb; j++) {
            unsigned best = prev[j - 1] + (a[i - 1] != b[j - 1]);
            if (prev[j] + 1 < best)
                best = prev[j] + 1;
            if (cur[j - 1] + 1 < best)
                best = cur[j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                prev2[j - 2] + 1 < best)
                best = prev2[j - 2] + 1;
            cur[j] = best;
        }
        t = prev2;
        prev2 = prev;
        prev = cur;
        cur = t;
    }
    return prev[lb];
}

const char *conf_value_suggest(const char *s, const char *const *candidates, size_t n)
{
    unsigned limit = strlen(s) > 4 ? 2 : 1;
    unsigned best = limit + 1;
    const char *found = NULL;
    bool word = false;

    /* Numbers ("1.1" for a TLS version) are not misspellings of anything. */
    for (const char *p = s; *p; p++)
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))
            word = true;
    if (!word)
        return NULL;

    for (size_t i = 0; i < n; i++) {
        unsigned d = conf_value_edit_distance(s, candidates[i]);
        if (d < best) {
            best = d;
            found = candidates[i];
        }
    }
    return found;
}

bool conf_value_is_prime(uint64_t n)
{
    if (n < 2)
        return false;
    if (n % 2 == 0)
        return n == 2;
    for (uint64_t d = 3; d <= n / d; d += 2)
        if (n % d == 0)
            return false;
    return true;
}
