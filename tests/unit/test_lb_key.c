/*
 * test_lb_key: finding the hash key: cookie values in a Cookie header, the path
 * and the uri parts of a request target, absolute-form targets keyed as their
 * origin-form.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "lb/lb.h"
#include "lb/lb_key.h"

static int cookie(const char *hdr, const char *name, char *out, size_t outlen)
{
    const char *v = NULL;
    size_t vlen = 0;
    if (lb_key_cookie(hdr, strlen(hdr), name, strlen(name), &v, &vlen) != 0)
        return -1;
    assert_true(v >= hdr && v + vlen <= hdr + strlen(hdr));
    assert_true(vlen < outlen);
    memcpy(out, v, vlen);
    out[vlen] = '\0';
    return 0;
}

static void test_lb_key_cookie_finds_each_pair(void **state)
{
    char v[64];
    (void)state;
    assert_int_equal(cookie("sid=abc; user=42; theme=dark", "sid", v, sizeof(v)), 0);
    assert_string_equal(v, "abc");
    assert_int_equal(cookie("sid=abc; user=42; theme=dark", "user", v, sizeof(v)), 0);
    assert_string_equal(v, "42");
    assert_int_equal(cookie("sid=abc; user=42; theme=dark", "theme", v, sizeof(v)), 0);
    assert_string_equal(v, "dark");
}

static void test_lb_key_cookie_tolerates_spaces_quotes_and_empty_pairs(void **state)
{
    char v[64];
    (void)state;
    assert_int_equal(cookie("  a = 1 ;;  b=\"quoted value\" ; c=", "b", v, sizeof(v)), 0);
    assert_string_equal(v, "quoted value");
    assert_int_equal(cookie("  a = 1 ;;  b=\"x\" ; c=", "a", v, sizeof(v)), 0);
    assert_string_equal(v, "1");
    assert_int_equal(cookie("a=1; c=", "c", v, sizeof(v)), 0);
    assert_string_equal(v, "");
    assert_int_equal(cookie("a=1; b==2", "b", v, sizeof(v)), 0);
    assert_string_equal(v, "=2");
}

static void test_lb_key_cookie_absent_or_prefix_is_not_found(void **state)
{
    char v[64];
    (void)state;
    assert_int_equal(cookie("session=abc; sid2=x", "sid", v, sizeof(v)), -1);
    assert_int_equal(cookie("", "sid", v, sizeof(v)), -1);
    assert_int_equal(cookie("sid", "sid", v, sizeof(v)), -1); /* no '=' */
    assert_int_equal(cookie("xsid=1", "sid", v, sizeof(v)), -1);
    assert_int_equal(cookie("SID=1", "sid", v, sizeof(v)), -1); /* names are exact */
    assert_int_equal(cookie("a=1", "", v, sizeof(v)), -1);
}

static void test_lb_key_cookie_first_occurrence_wins(void **state)
{
    char v[64];
    (void)state;
    assert_int_equal(cookie("id=first; id=second", "id", v, sizeof(v)), 0);
    assert_string_equal(v, "first");
}

static void test_lb_key_cookie_never_reads_past_len(void **state)
{
    /* the value stops at len even though the bytes go on */
    const char buf[] = "id=12345678";
    const char *v = NULL;
    size_t vlen = 0;
    (void)state;
    assert_int_equal(lb_key_cookie(buf, 5, "id", 2, &v, &vlen), 0);
    assert_int_equal(vlen, 2);
    assert_memory_equal(v, "12", 2);
    assert_int_equal(lb_key_cookie(buf, 2, "id", 2, &v, &vlen), -1);
    assert_int_equal(lb_key_cookie(NULL, 0, "id", 2, &v, &vlen), -1);
}

static void test_lb_key_path_and_uri_parts(void **state)
{
    (void)state;
    assert_int_equal(lb_key_path_len("/a/b?q=1", 8), 4);
    assert_int_equal(lb_key_path_len("/a/b#frag", 9), 4);
    assert_int_equal(lb_key_path_len("/a/b", 4), 4);
    assert_int_equal(lb_key_path_len("?x", 2), 0);
    assert_int_equal(lb_key_uri_len("/a/b?q=1#f", 10), 8);
    assert_int_equal(lb_key_uri_len("/a/b?q=1", 8), 8);
}

/* The key of a target as a NUL-terminated string. */
static void key_of(const char *target, bool uri, char *out, size_t cap)
{
    char scratch[64];
    const char *k = NULL;
    size_t n = uri ? lb_key_uri(target, strlen(target), scratch, sizeof(scratch), &k)
                   : lb_key_path(target, strlen(target), &k);
    assert_non_null(k);
    assert_true(n < cap);
    memcpy(out, k, n);
    out[n] = '\0';
}

static void test_lb_key_origin_form_keys_unchanged(void **state)
{
    static const char *const targets[] = {"/a/b?q=1", "/a/b#frag", "/", "/?x",
                                          "*", "//h/p?q", "/http://h/a", ""};
    (void)state;
    /* the keys of origin-form (and asterisk-form) targets are the bytes the
     * *_len helpers always gave: placements already made do not move */
    for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
        const char *t = targets[i], *k = NULL;
        size_t len = strlen(t);
        char scratch[64];
        assert_int_equal(lb_key_path(t, len, &k), lb_key_path_len(t, len));
        assert_ptr_equal(k, t);
        assert_int_equal(lb_key_uri(t, len, scratch, sizeof(scratch), &k),
                         lb_key_uri_len(t, len));
        assert_ptr_equal(k, t);
    }
}

static void test_lb_key_absolute_form_keyed_as_origin_form(void **state)
{
    /* {absolute-form target, the origin-form it is forwarded as} */
    static const char *const pairs[][2] = {
        {"http://host/a", "/a"},
        {"http://host:8080/a/b?q=1&r", "/a/b?q=1&r"},
        {"https://host/a?q", "/a?q"},
        {"HTTP://HOST/A?Q", "/A?Q"},
        {"http://[2001:db8::1]:81/v6", "/v6"},
        {"http://host", "/"},
        {"http://host/", "/"},
        {"http://host?x=1", "/?x=1"},
        {"HTTPS://Host:443?x", "/?x"},
        {"http://host/a#frag", "/a#frag"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        char a[128], o[128];
        for (int uri = 0; uri < 2; uri++) {
            key_of(pairs[i][0], uri, a, sizeof(a));
            key_of(pairs[i][1], uri, o, sizeof(o));
            if (strcmp(a, o) != 0)
                print_error("%s key of %s: \"%s\", of %s: \"%s\"\n",
                            uri ? "uri" : "path", pairs[i][0], a, pairs[i][1], o);
            assert_string_equal(a, o);
            assert_int_equal(lb_hash(a, strlen(a)), lb_hash(o, strlen(o)));
        }
    }
    char k[64];
    key_of("http://host/a/b?q=1", false, k, sizeof(k));
    assert_string_equal(k, "/a/b");
    key_of("http://host?q=1", false, k, sizeof(k));
    assert_string_equal(k, "/");
    key_of("http://host?q=1", true, k, sizeof(k));
    assert_string_equal(k, "/?q=1");
}

static void test_lb_key_uri_scratch_too_small(void **state)
{
    const char *t = "http://h?abc", *k = NULL;
    char scratch[4];
    (void)state;
    /* "/?abc" needs 5 bytes: the key falls back to the query in the target */
    assert_int_equal(lb_key_uri(t, strlen(t), scratch, sizeof(scratch), &k), 4);
    assert_ptr_equal(k, t + 8);
    assert_int_equal(lb_key_uri(t, strlen(t), NULL, 0, &k), 4);
    assert_ptr_equal(k, t + 8);
    char big[6];
    assert_int_equal(lb_key_uri(t, strlen(t), big, sizeof(big), &k), 5);
    assert_ptr_equal(k, big);
    assert_memory_equal(big, "/?abc", 5);
    /* never written past len either: a target cut before its query */
    assert_int_equal(lb_key_uri(t, 8, big, sizeof(big), &k), 1);
    assert_memory_equal(k, "/", 1);
    assert_int_equal(lb_key_path(t, 7, &k), 1); /* "http://": empty authority */
    assert_memory_equal(k, "/", 1);
    assert_int_equal(lb_key_path(t, 6, &k), 6); /* "http:/": not absolute */
    assert_ptr_equal(k, t);
}

static void test_lb_key_cookie_random_bytes_stay_in_bounds(void **state)
{
    /* arbitrary header bytes (the header comes from the network): any answer
     * points inside the given bytes, and nothing reads past them (ASan build) */
    uint64_t x = 88172645463325252ULL;
    (void)state;
    for (int round = 0; round < 20000; round++) {
        size_t len;
        char *hdr;
        const char *v = NULL;
        size_t vlen = 0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        len = (size_t)(x % 48);
        hdr = test_malloc(len ? len : 1);
        for (size_t i = 0; i < len; i++) {
            static const char alphabet[] = "ab=; \t\"";
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            hdr[i] = (x & 8) ? (char)(x >> 24) : alphabet[(x >> 8) % 7];
        }
        if (lb_key_cookie(hdr, len, "a", 1, &v, &vlen) == 0)
            assert_true(v >= hdr && v + vlen <= hdr + len);
        assert_true(lb_key_path_len(hdr, len) <= len);
        {
            /* keys of any bytes stay in the target, the scratch or "/" */
            char scratch[48];
            const char *k = NULL;
            size_t n = lb_key_path(hdr, len, &k);
            assert_true((k >= hdr && k + n <= hdr + len) ||
                        (n == 1 && k[0] == '/'));
            n = lb_key_uri(hdr, len, scratch, (size_t)(x % 49), &k);
            assert_true((k >= hdr && k + n <= hdr + len) ||
                        (k == scratch && n <= x % 49) || (n == 1 && k[0] == '/'));
        }
        test_free(hdr);
    }
}

static void test_lb_key_random_targets_stay_in_bounds(void **state)
{
    /* target-like bytes ("h:/?#" mostly): every key lies in the target, the
     * scratch or the constant "/", and an absolute-looking target's key never
     * keeps its "scheme://" */
    uint64_t x = 0x9E3779B97F4A7C15ULL;
    (void)state;
    for (int round = 0; round < 50000; round++) {
        static const char alphabet[] = "h:/?#aH1";
        char scratch[40];
        const char *k = NULL;
        size_t len, n, cap;
        char *t;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        len = (size_t)(x % 24);
        cap = (size_t)((x >> 32) % 41);
        t = test_malloc(len ? len : 1);
        for (size_t i = 0; i < len; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            t[i] = (x & 16) ? (char)(x >> 24) : alphabet[(x >> 8) % 8];
        }
        if (round % 4 == 0 && len >= 7)
            memcpy(t, "http://", 7);
        n = lb_key_path(t, len, &k);
        assert_true((k >= t && k + n <= t + len) || (n == 1 && k[0] == '/'));
        n = lb_key_uri(t, len, scratch, cap, &k);
        assert_true((k >= t && k + n <= t + len) || (k == scratch && n <= cap) ||
                    (n == 1 && k[0] == '/'));
        if (round % 4 == 0 && len >= 7)
            assert_true(k < t || k >= t + 7);
        test_free(t);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lb_key_cookie_finds_each_pair),
        cmocka_unit_test(test_lb_key_cookie_tolerates_spaces_quotes_and_empty_pairs),
        cmocka_unit_test(test_lb_key_cookie_absent_or_prefix_is_not_found),
        cmocka_unit_test(test_lb_key_cookie_first_occurrence_wins),
        cmocka_unit_test(test_lb_key_cookie_never_reads_past_len),
        cmocka_unit_test(test_lb_key_path_and_uri_parts),
        cmocka_unit_test(test_lb_key_origin_form_keys_unchanged),
        cmocka_unit_test(test_lb_key_absolute_form_keyed_as_origin_form),
        cmocka_unit_test(test_lb_key_uri_scratch_too_small),
        cmocka_unit_test(test_lb_key_cookie_random_bytes_stay_in_bounds),
        cmocka_unit_test(test_lb_key_random_targets_stay_in_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
