/*
 * lb: the balancing algorithms, behind one small interface (a pure core).
 *
 * Every algorithm builds an immutable table from a list of servers and then answers
 * "which server for this request?" from that table, the request's key hash, and
 * what the caller passes in (in-flight counts, randomness, a sequence number). The
 * table is never written after build, so any number of worker threads may pick from
 * it at once without locks; the runtime rebuilds and swaps it when the server set, a
 * weight or a state changes.
 *
 * Must not: include ev.h, OpenSSL or socket headers; keep per-process random seeds
 * (identical inputs give identical tables on every instance of the tier); allocate
 * or block in pick().
 */
#ifndef RAFTLB_LB_H
#define RAFTLB_LB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Limits and defaults (validated by build(), which fails with a reason beyond them). */
#define LB_SERVERS_MAX               65535u     /* servers per table (indexes 0..65534) */
#define LB_MAGLEV_TABLE_SIZE_DEFAULT 65537u     /* prime, as in the Maglev paper */
#define LB_MAGLEV_TABLE_SIZE_MAX     16777259u  /* a prime just above 2^24 */
#define LB_RING_POINTS_DEFAULT       1280u      /* virtual nodes per unit of weight */
#define LB_RING_POINTS_TOTAL_MAX     (1u << 23) /* all points of one ring */

enum lb_algo {
    LB_ROUNDROBIN = 0, /* smooth weighted round robin */
    LB_LEASTCONN,      /* fewest in-flight relative to weight */
    LB_RANDOM2,        /* power of two random choices, weighted */
    LB_RING,           /* consistent hash ring, ketama-style virtual nodes */
    LB_MAGLEV,         /* Maglev lookup table (Eisenbud et al., NSDI 2016) */
    LB_ALGO_COUNT
};

/* One server as the balancer sees it; the index in the array is its identity. */
struct lb_server {
    const char *name; /* stable identity: placement on ring/maglev hashes it */
    uint32_t weight;  /* effective weight (after slow start); 0: never picked */
    bool usable;      /* up, not drained, not in maintenance, not ejected */
    bool backup;      /* picked only when no usable non-backup server exists */
};

struct lb_params {
    uint32_t maglev_table_size; /* prime; 0: default 65537 */
    uint32_t ring_points;       /* virtual nodes per unit of weight; 0: default */
    double balance_factor;      /* bounded-load cap factor (> 1), 0: off */
};

/* What one pick needs besides the table. Every pointer may be NULL. */
struct lb_pick {
    uint64_t key_hash;       /* lb_hash() of the request key, when has_key */
    bool has_key;            /* false: hashing algorithms fall back to round robin */
    uint64_t random;         /* fresh randomness from the caller (random2) */
    uint64_t sequence;       /* a counter the caller increments per pick */
    const uint32_t *load;    /* in-flight requests per server index; NULL: all 0 */
    const uint64_t *exclude; /* bitmap of server indexes not to pick (already
                                tried by this request); NULL: none. Bit i is
                                exclude[i / 64] >> (i % 64) & 1: (n + 63) / 64
                                words for n servers */
    uint64_t load_total;     /* sum of load[] over the usable servers, if the caller
                                keeps it; 0: summed from load[] when needed */
};

/* The outcome of a pick, with what the caller needs to count. */
struct lb_result {
    int server;    /* chosen server index, or -1: no usable server */
    bool fallback; /* a hashing algorithm had no key and used round robin */
    bool spilled;  /* bounded loads moved the key off its first choice */
};

struct lb_ops {
    const char *name;
    /* Builds a table for `n` servers. Returns NULL and writes a reason into `err`
     * on failure (allocation, bad parameter). Does not keep `servers`. */
    void *(*build)(const struct lb_server *servers, size_t n,
                   const struct lb_params *params, char *err, size_t errlen);
    /* Picks a server. Never allocates, never blocks, safe from many threads. */
    struct lb_result (*pick)(const void *table, const struct lb_pick *in);
    void (*destroy)(void *table);
};

/*
 * How each algorithm reads struct lb_pick (details in lb_<name>.h):
 *  roundrobin  sequence; exclude (walks on in the precomputed sequence)
 *  leastconn   load (NULL: round robin), sequence (rotates ties), exclude
 *  random2     random, load (NULL: one weighted draw), exclude
 *  ring/maglev key_hash + has_key (no key: round robin on sequence, fallback
 *              set), load + load_total when balance_factor > 0 (bounded
 *              loads; spilled set), exclude (walks on like a spill)
 * Servers of weight 0 are never picked; backups only when no other server is
 * usable. A server that is not usable is left out of the table at build time,
 * except by maglev, which keeps it (marked down) and walks past its slots, so
 * that its going down or coming back moves its own keys only.
 */

/* The operations of an algorithm; never NULL for a valid enum value. */
const struct lb_ops *lb_ops_get(enum lb_algo algo);

/* The greatest common divisor of a and b (a when b is 0). */
uint32_t lb_gcd(uint32_t a, uint32_t b);

/* A stable 64-bit hash of a key (same value on every platform and instance). */
uint64_t lb_hash(const void *data, size_t len);

#endif
