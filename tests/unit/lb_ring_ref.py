#!/usr/bin/env python3
"""Reference model of raftlb's consistent hash ring (src/lb/lb_ring.c), written
from the placement rule in src/lb/lb_ring.h, not from the C code: XXH64 from its
specification, every point generated and sorted, a key placed by bisection
(first point >= the top 32 bits of the key's hash, ties to the server first in
name order, wrapping). It shares no code with the C build and is not run by
`make check`; it produced the owners pinned in test_lb_ring.c.

    python3 tests/unit/lb_ring_ref.py pinned
        the owners pinned by test_lb_ring_known_placement_is_pinned
    python3 tests/unit/lb_ring_ref.py picks N P W KEYS
        the owner (server index) of keys /k/0 .. /k/KEYS-1 on servers
        s0 .. s<N-1> of weight W with P points per unit of weight
"""
import bisect
import sys

M64 = (1 << 64) - 1
P1, P2, P3, P4, P5 = (0x9E3779B185EBCA87, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9,
                      0x85EBCA77C2B2AE63, 0x27D4EB2F165667C5)


def rotl(x, r):
    return ((x << r) | (x >> (64 - r))) & M64


def xxh64(data, seed=0):
    """XXH64 (xxHash specification, 64-bit variant)."""
    n = len(data)
    p = 0

    def rd64(i):
        return int.from_bytes(data[i:i + 8], "little")

    def rnd(acc, inp):
        acc = (acc + inp * P2) & M64
        return (rotl(acc, 31) * P1) & M64

    if n >= 32:
        v = [(seed + P1 + P2) & M64, (seed + P2) & M64, seed, (seed - P1) & M64]
        while p <= n - 32:
            for j in range(4):
                v[j] = rnd(v[j], rd64(p + 8 * j))
            p += 32
        h = (rotl(v[0], 1) + rotl(v[1], 7) + rotl(v[2], 12) + rotl(v[3], 18)) & M64
        for j in range(4):
            h ^= rnd(0, v[j])
            h = (h * P1 + P4) & M64
    else:
        h = (seed + P5) & M64
    h = (h + n) & M64
    while n - p >= 8:
        h ^= rnd(0, rd64(p))
        h = (rotl(h, 27) * P1 + P4) & M64
        p += 8
    if n - p >= 4:
        h ^= (int.from_bytes(data[p:p + 4], "little") * P1) & M64
        h = (rotl(h, 23) * P2 + P3) & M64
        p += 4
    while p < n:
        h ^= (data[p] * P5) & M64
        h = (rotl(h, 11) * P1) & M64
        p += 1
    h ^= h >> 33
    h = (h * P2) & M64
    h ^= h >> 29
    h = (h * P3) & M64
    h ^= h >> 32
    return h


WY_ADD = 0xA0761D6478BD642F
WY_XOR = 0xE7037ED1A0B428DB


def wy_top32(z):
    prod = z * (z ^ WY_XOR)
    return (((prod >> 64) ^ (prod & M64)) >> 32) & 0xFFFFFFFF


def strata_bits(pk):
    """log2 of the largest power of two <= pk, at most 10."""
    m = 0
    while m < 10 and (2 << m) <= pk:
        m += 1
    return m


def bitrev(x, nbits):
    y = 0
    for _ in range(nbits):
        y = (y << 1) | (x & 1)
        x >>= 1
    return y


def ring(servers, per_weight):
    """servers: [(name, weight)] of the active set. Returns the sorted list of
    (position, owner), owner = place of the server in name (byte) order, and
    the names in that order."""
    active = sorted((name.encode(), w) for name, w in servers if w > 0)
    pts = []
    for k, (name, w) in enumerate(active):
        h = xxh64(name)
        pk = per_weight * w
        m = strata_bits(pk)
        for r in range(pk):
            x = wy_top32((h + (r + 1) * WY_ADD) & M64)
            s = bitrev(r % (1 << m), m)
            pos = ((s << (32 - m)) | (x >> m)) & 0xFFFFFFFF
            pts.append((pos, k))
    pts.sort()
    return pts, [n.decode() for n, _ in active]


def owner(pts, key_hash):
    i = bisect.bisect_left(pts, (key_hash >> 32, 0))
    return pts[i % len(pts)][1]


def picks(n, per_weight, weights, keys):
    servers = [("s%d" % i, weights[i]) for i in range(n)]
    pts, names = ring(servers, per_weight)
    out = []
    for i in range(keys):
        o = owner(pts, xxh64(b"/k/%d" % i))
        out.append(int(names[o][1:]))  # back to the caller's index s<i>
    return out


if __name__ == "__main__":
    if sys.argv[1] == "pinned":
        print("160 points, s0..s4:", picks(5, 160, [1] * 5, 8))
        print("100 points, s0..s5 weights 1,2,3,1,1,4:", picks(6, 100, [1, 2, 3, 1, 1, 4], 8))
        print("1 point, s0..s2:", picks(3, 1, [1, 1, 1], 8))
    else:
        n, p, w, k = (int(a) for a in sys.argv[2:6])
        print(" ".join(str(x) for x in picks(n, p, [w] * n, k)))
