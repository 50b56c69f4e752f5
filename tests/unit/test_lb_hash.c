/*
 * test_lb_hash: lb_hash is XXH64 with seed 0, byte for byte, on any alignment.
 * The expected values were produced with the reference tool (`xxhsum -H64`).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "lb/lb.h"
#include "lb/lb_hash.h"

struct vector {
    const char *in;
    uint64_t want;
};

static const struct vector vectors[] = {
    {"", 0xef46db3751d8e999ULL},
    {"a", 0xd24ec4f1a98c6e5bULL},
    {"abc", 0x44bc2cf5ad770999ULL},
    {"/index.html?user=42", 0x4a5251908113a806ULL},
    {"0123456789abcdef0123456789abcdef0123456789", 0xa76190c3acf08a1cULL},
    {"The quick brown fox jumps over the lazy dog", 0x0b242d361fda71bcULL},
};

static void test_lb_hash_matches_xxh64_reference(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        uint64_t got = lb_hash(vectors[i].in, strlen(vectors[i].in));
        if (got != vectors[i].want)
            fail_msg("lb_hash(\"%s\") = %016llx, want %016llx", vectors[i].in,
                     (unsigned long long)got, (unsigned long long)vectors[i].want);
    }
}

static void test_lb_hash_same_on_every_alignment(void **state)
{
    char buf[128];
    const char *s = vectors[5].in;
    size_t len = strlen(s);
    (void)state;
    for (size_t off = 0; off < 16; off++) {
        memcpy(buf + off, s, len);
        assert_true(lb_hash(buf + off, len) == vectors[5].want);
    }
}

static void test_lb_hash_seed_zero_is_lb_hash_and_seeds_differ(void **state)
{
    (void)state;
    assert_true(lb_hash_seeded("abc", 3, 0) == lb_hash("abc", 3));
    assert_true(lb_hash_seeded("abc", 3, 1) != lb_hash("abc", 3));
    assert_true(lb_hash_seeded("abc", 3, 1) != lb_hash_seeded("abc", 3, 2));
}

static void test_lb_hash_every_length_is_distinct(void **state)
{
    /* lengths 0..100 cover the 32-byte stripes and the 8, 4 and 1 byte tails */
    char buf[101];
    uint64_t seen[101];
    (void)state;
    memset(buf, 'x', sizeof(buf));
    for (size_t len = 0; len <= 100; len++) {
        seen[len] = lb_hash(buf, len);
        for (size_t j = 0; j < len; j++)
            assert_true(seen[j] != seen[len]);
    }
}

static void test_lb_hash_mix64_is_a_fixed_bijection(void **state)
{
    (void)state;
    /* the avalanche of XXH64: 0 stays 0, anything else scatters */
    assert_true(lb_hash_mix64(0) == 0);
    assert_true(lb_hash_mix64(1) != 1);
    assert_true(lb_hash_mix64(1) != lb_hash_mix64(2));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lb_hash_matches_xxh64_reference),
        cmocka_unit_test(test_lb_hash_same_on_every_alignment),
        cmocka_unit_test(test_lb_hash_seed_zero_is_lb_hash_and_seeds_differ),
        cmocka_unit_test(test_lb_hash_every_length_is_distinct),
        cmocka_unit_test(test_lb_hash_mix64_is_a_fixed_bijection),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
