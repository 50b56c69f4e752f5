/*
 * Unit tests of tls/sess_cache: stored blobs come back with their tags, a put under
 * a known ID replaces it, the least recently used entry (a get counts as a use)
 * leaves first when full, removal, the limits on IDs and blobs, and a fill far
 * beyond the capacity checked against a reference model.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "tls/sess_cache.h"

/* A 32-byte ID made from n, as OpenSSL's are: the same length every time. */
static const unsigned char *id_of(unsigned n)
{
    static unsigned char id[SESS_CACHE_ID_MAX];
    memset(id, 0xa5, sizeof(id));
    memcpy(id, &n, sizeof(n));
    return id;
}

static void put(struct sess_cache *c, unsigned n, const char *text)
{
    assert_int_equal(sess_cache_put(c, id_of(n), SESS_CACHE_ID_MAX, n,
                                    (const unsigned char *)text, strlen(text)),
                     0);
}

/* The blob stored under n as a string, or NULL; checks the tag on the way. */
static const char *get(struct sess_cache *c, unsigned n)
{
    static char out[SESS_CACHE_BLOB_MAX + 1];
    uint32_t tag = 0;
    size_t len = sess_cache_get(c, id_of(n), SESS_CACHE_ID_MAX, &tag,
                                (unsigned char *)out, SESS_CACHE_BLOB_MAX);
    if (len == 0)
        return NULL;
    assert_int_equal(tag, n);
    out[len] = '\0';
    return out;
}

static void test_sess_cache_put_get(void **state)
{
    struct sess_cache *c = sess_cache_new(4);
    (void)state;
    assert_non_null(c);
    assert_int_equal(sess_cache_capacity(c), 4);
    put(c, 1, "one");
    put(c, 2, "two");
    assert_string_equal(get(c, 1), "one");
    assert_string_equal(get(c, 2), "two");
    assert_null(get(c, 3));
    /* same ID, new blob and tag: replaced, not added */
    put(c, 1, "uno");
    assert_int_equal(sess_cache_count(c), 2);
    assert_string_equal(get(c, 1), "uno");
    /* IDs of other lengths are other IDs */
    assert_int_equal(
        sess_cache_get(c, id_of(1), 8, &(uint32_t){0}, (unsigned char[8]){0}, 8), 0);
    sess_cache_free(c);
}

static void test_sess_cache_least_recently_used_leaves(void **state)
{
    struct sess_cache *c = sess_cache_new(3);
    (void)state;
    put(c, 1, "a");
    put(c, 2, "b");
    put(c, 3, "c");
    assert_non_null(get(c, 1)); /* 2 is now the least recently used */
    put(c, 4, "d");
    assert_int_equal(sess_cache_count(c), 3);
    assert_null(get(c, 2));
    assert_non_null(get(c, 1));
    assert_non_null(get(c, 3));
    assert_non_null(get(c, 4));
    /* a replacement counts as a use too */
    put(c, 1, "a2"); /* order, oldest first: 3 4 1 */
    put(c, 5, "e");
    assert_null(get(c, 3));
    assert_string_equal(get(c, 1), "a2");
    sess_cache_free(c);
}

static void test_sess_cache_remove(void **state)
{
    struct sess_cache *c = sess_cache_new(8);
    (void)state;
    put(c, 1, "a");
    put(c, 2, "b");
    assert_true(sess_cache_remove(c, id_of(1), SESS_CACHE_ID_MAX));
    assert_false(sess_cache_remove(c, id_of(1), SESS_CACHE_ID_MAX));
    assert_null(get(c, 1));
    assert_string_equal(get(c, 2), "b");
    assert_int_equal(sess_cache_count(c), 1);
    assert_true(sess_cache_remove(c, id_of(2), SESS_CACHE_ID_MAX));
    assert_int_equal(sess_cache_count(c), 0);
    put(c, 3, "c"); /* the list is usable after being emptied */
    assert_string_equal(get(c, 3), "c");
    sess_cache_free(c);
}

static void test_sess_cache_limits(void **state)
{
    static unsigned char big[SESS_CACHE_BLOB_MAX + 1];
    unsigned char id[SESS_CACHE_ID_MAX + 1] = {1};
    unsigned char small[4];
    uint32_t tag;
    struct sess_cache *c = sess_cache_new(2);
    (void)state;

    assert_null(sess_cache_new(0));
    assert_int_equal(sess_cache_put(c, id, 0, 0, big, 10), -1);
    assert_int_equal(sess_cache_put(c, id, SESS_CACHE_ID_MAX + 1, 0, big, 10), -1);
    assert_int_equal(sess_cache_put(c, id, 4, 0, big, 0), -1);
    assert_int_equal(sess_cache_put(c, id, 4, 0, big, SESS_CACHE_BLOB_MAX + 1), -1);
    assert_int_equal(sess_cache_count(c), 0);
    assert_int_equal(sess_cache_put(c, id, 4, 7, big, SESS_CACHE_BLOB_MAX), 0);
    /* a blob larger than the caller's room is not returned (nor cut) */
    assert_int_equal(sess_cache_get(c, id, 4, &tag, small, sizeof(small)), 0);
    assert_int_equal(sess_cache_get(c, id, 0, &tag, big, sizeof(big)), 0);
    assert_int_equal(sess_cache_get(c, id, 4, &tag, big, sizeof(big)),
                     SESS_CACHE_BLOB_MAX);
    assert_int_equal(tag, 7);
    sess_cache_free(c);
    sess_cache_free(NULL);
}

/* 20,000 random puts, gets and removes of 400 IDs into a cache of 100, against a
 * model that keeps each ID's blob and last use and evicts the least recent: the
 * cache must answer every get and remove as the model does. */
static void test_sess_cache_against_model(void **state)
{
    enum { IDS = 400, CAP = 100, STEPS = 20000 };
    static long last_use[IDS]; /* 0: absent */
    static char blob[IDS][16];
    struct sess_cache *c = sess_cache_new(CAP);
    size_t present = 0;
    uint64_t rng = 42;
    (void)state;

    for (long step = 1; step <= STEPS; step++) {
        unsigned n, op;
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        n = (unsigned)(rng >> 33) % IDS;
        op = (unsigned)(rng >> 20) % 10;
        if (op < 5) {
            if (last_use[n] == 0) {
                if (present == CAP) {
                    unsigned lru = IDS;
                    for (unsigned i = 0; i < IDS; i++)
                        if (last_use[i] != 0 &&
                            (lru == IDS || last_use[i] < last_use[lru]))
                            lru = i;
                    last_use[lru] = 0;
                    present--;
                }
                present++;
            }
            snprintf(blob[n], sizeof(blob[n]), "s%ld", step);
            put(c, n, blob[n]);
            last_use[n] = step;
        } else if (op < 9) {
            const char *got = get(c, n);
            if (last_use[n] != 0) {
                assert_non_null(got);
                assert_string_equal(got, blob[n]);
                last_use[n] = step;
            } else {
                assert_null(got);
            }
        } else {
            assert_int_equal(sess_cache_remove(c, id_of(n), SESS_CACHE_ID_MAX),
                             last_use[n] != 0);
            if (last_use[n] != 0)
                present--;
            last_use[n] = 0;
        }
        assert_int_equal(sess_cache_count(c), present);
    }
    assert_int_equal(present, CAP); /* the run did fill it */
    sess_cache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sess_cache_put_get),
        cmocka_unit_test(test_sess_cache_least_recently_used_leaves),
        cmocka_unit_test(test_sess_cache_remove),
        cmocka_unit_test(test_sess_cache_limits),
        cmocka_unit_test(test_sess_cache_against_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
