/*
 * health_expect: what an HTTP probe response must look like to pass.
 *
 * The status must fall in one of the inclusive ranges of `health_expect` (the
 * configuration parser turns "200,204,300-399" into ranges; this module only
 * matches), and when `health_body` is set the body must contain it, byte for byte.
 *
 * Must not: allocate, include ev.h, OpenSSL or socket headers.
 */
#ifndef RAFTLB_HEALTH_EXPECT_H
#define RAFTLB_HEALTH_EXPECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HEALTH_EXPECT_RANGES_MAX 8
#define HEALTH_EXPECT_DEFAULT_LO 200 /* with no range configured: 200-399 */
#define HEALTH_EXPECT_DEFAULT_HI 399

struct health_expect {
    uint16_t lo[HEALTH_EXPECT_RANGES_MAX]; /* inclusive bounds, lo[i] <= hi[i] */
    uint16_t hi[HEALTH_EXPECT_RANGES_MAX];
    size_t count;     /* 0: the default range 200-399 */
    const char *body; /* substring the body must hold; NULL
                         or "": any body. Not owned. */
};

/* True when `status` is in one of the ranges (or in 200-399 when count is 0). A
 * count above HEALTH_EXPECT_RANGES_MAX is read as the maximum. */
bool health_expect_status(const struct health_expect *e, unsigned status);

/* True when `needle` (NUL-terminated) occurs in body[0..len); an empty or NULL
 * needle is found in any body. Binary-safe for the body. */
bool health_body_contains(const char *body, size_t len, const char *needle);

#endif
