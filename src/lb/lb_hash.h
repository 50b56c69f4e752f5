/*
 * lb_hash: the one hash function of the balancers, fixed for ever.
 *
 * lb_hash() (declared in lb.h) is XXH64 with seed 0, written here from the public
 * specification, reading its input as little-endian on every platform. So the
 * same key hashes to the same 64-bit value on every instance of a tier, on any
 * CPU, and an operator can reproduce it: `printf %s KEY | xxhsum -H64`.
 * Ring points and Maglev permutations use the seeded form below.
 *
 * Must not: change (every placement in a deployed tier depends on it), use a
 * per-process seed, or allocate.
 */
#ifndef RAFTLB_LB_HASH_H
#define RAFTLB_LB_HASH_H

#include <stddef.h>
#include <stdint.h>

/* XXH64 of `len` bytes at `data` with `seed`; `data` may be NULL when len is 0. */
uint64_t lb_hash_seeded(const void *data, size_t len, uint64_t seed);

/* A bijective 64-bit mixer (the XXH64 avalanche), to derive a second value from a
 * first one, e.g. random2's second choice from the caller's randomness. */
uint64_t lb_hash_mix64(uint64_t x);

#endif
