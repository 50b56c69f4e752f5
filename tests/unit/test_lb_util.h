/*
 * test_lb_util: helpers shared by the lb unit tests (server arrays, builds that
 * must succeed, keyed picks, a seeded generator). Header-only, test code only.
 */
#ifndef RAFTLB_TEST_LB_UTIL_H
#define RAFTLB_TEST_LB_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb/lb.h"

#define TL_MAX 1024

static char tl_names[TL_MAX][16];

/* n usable servers "s0".."s<n-1>" of weight w. */
static inline void tl_servers(struct lb_server *s, size_t n, uint32_t w)
{
    for (size_t i = 0; i < n; i++) {
        snprintf(tl_names[i], sizeof(tl_names[i]), "s%u", (unsigned)(i % TL_MAX));
        s[i].name = tl_names[i];
        s[i].weight = w;
        s[i].usable = true;
        s[i].backup = false;
    }
}

static inline void *tl_build(enum lb_algo algo, const struct lb_server *s, size_t n,
                             const struct lb_params *p)
{
    char err[256] = "";
    void *t = lb_ops_get(algo)->build(s, n, p, err, sizeof(err));
    if (t == NULL) {
        print_error("build failed: %s\n", err);
        fail();
    }
    return t;
}

static inline uint64_t tl_key(uint64_t i)
{
    char buf[32];
    int len = snprintf(buf, sizeof(buf), "/k/%llu", (unsigned long long)i);
    return lb_hash(buf, (size_t)len);
}

static inline int tl_pick_key(enum lb_algo algo, const void *t, uint64_t key_hash,
                              const uint32_t *load, const uint64_t *exclude)
{
    struct lb_pick in;
    memset(&in, 0, sizeof(in));
    in.key_hash = key_hash;
    in.has_key = true;
    in.load = load;
    in.exclude = exclude;
    return lb_ops_get(algo)->pick(t, &in).server;
}

static inline uint64_t tl_rand(uint64_t *state)
{
    *state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
    return *state ^ (*state >> 29);
}

#endif
