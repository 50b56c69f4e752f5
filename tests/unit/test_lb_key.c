/*
 * test_lb_key: finding the hash key: cookie values in a Cookie header, the path
 * and the uri parts of a request target.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

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
        test_free(hdr);
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
        cmocka_unit_test(test_lb_key_cookie_random_bytes_stay_in_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
