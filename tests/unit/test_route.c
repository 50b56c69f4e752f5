/*
 * Unit tests of net/route: snapshots built from a configuration, picks through
 * the pool's balancer, server overrides (down, weight), and in-flight counters
 * shared by successive snapshots.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "net/route.h"

static struct conf_server servers[3];
static struct conf_pool pool;
static struct conf_frontend frontend;
static struct conf conf;

static void set_addr(struct conf_addr *a, uint16_t port)
{
    struct sockaddr_in *sin = (struct sockaddr_in *)&a->ss;
    memset(a, 0, sizeof(*a));
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a->len = sizeof(*sin);
    snprintf(a->text, sizeof(a->text), "127.0.0.1:%u", port);
}

static int setup(void **state)
{
    (void)state;
    memset(servers, 0, sizeof(servers));
    memset(&pool, 0, sizeof(pool));
    memset(&frontend, 0, sizeof(frontend));
    memset(&conf, 0, sizeof(conf));
    for (int i = 0; i < 3; i++) {
        snprintf(servers[i].name, sizeof(servers[i].name), "s%d", i + 1);
        set_addr(&servers[i].addr, (uint16_t)(9001 + i));
        servers[i].weight = 1;
    }
    snprintf(pool.name, sizeof(pool.name), "app");
    pool.balance = CONF_BALANCE_ROUNDROBIN;
    pool.retries = 2;
    pool.timeout_connect_ms = 2000;
    pool.timeout_server_ms = 30000;
    pool.servers = servers;
    pool.server_count = 3;
    snprintf(frontend.name, sizeof(frontend.name), "web");
    snprintf(frontend.pool_name, sizeof(frontend.pool_name), "app");
    frontend.mode = CONF_MODE_TCP;
    frontend.timeout_client_ms = 5000;
    conf.pools = &pool;
    conf.pool_count = 1;
    conf.frontends = &frontend;
    conf.frontend_count = 1;
    return 0;
}

static void test_route_build_copies_the_configuration(void **state)
{
    struct route_counters reg = {0};
    struct route *r = NULL;
    char err[256];
    (void)state;
    assert_int_equal(route_build(&conf, NULL, 0, &reg, 7, &r, err, sizeof(err)), 0);
    assert_int_equal(r->generation, 7);
    const struct route_frontend *fe = route_find_frontend(r, "web");
    assert_non_null(fe);
    assert_ptr_equal(fe->pool, route_find_pool(r, "app"));
    assert_int_equal(fe->timeout_client_ms, 5000);
    assert_int_equal(fe->pool->server_count, 3);
    assert_string_equal(fe->pool->servers[2].name, "s3");
    assert_string_equal(fe->pool->servers[2].addr_text, "127.0.0.1:9003");
    assert_int_equal(fe->pool->retries, 2);
    assert_null(route_find_frontend(r, "nope"));
    assert_null(route_find_pool(r, "nope"));
    route_free(r);
    route_counters_free(&reg);
}

static void test_route_pick_round_robin_covers_every_server(void **state)
{
    struct route_counters reg = {0};
    struct route *r = NULL;
    char err[256];
    int seen[3] = {0};
    (void)state;
    assert_int_equal(route_build(&conf, NULL, 0, &reg, 1, &r, err, sizeof(err)), 0);
    struct route_pool *p = route_find_pool(r, "app");
    for (int i = 0; i < 30; i++) {
        int s = route_pick(p, NULL, 0, false, 0);
        assert_in_range(s, 0, 2);
        seen[s]++;
    }
    assert_int_equal(seen[0], 10);
    assert_int_equal(seen[1], 10);
    assert_int_equal(seen[2], 10);
    /* excluding two leaves the third */
    uint64_t ex = (1u << 0) | (1u << 2);
    for (int i = 0; i < 5; i++)
        assert_int_equal(route_pick(p, &ex, 0, false, 0), 1);
    ex = 7;
    assert_int_equal(route_pick(p, &ex, 0, false, 0), -1);
    route_free(r);
    route_counters_free(&reg);
}

static void test_route_overrides_take_servers_out(void **state)
{
    struct route_counters reg = {0};
    struct route *r = NULL;
    char err[256];
    struct route_server_override ov[] = {
        {"app", "s1", ROUTE_SERVER_DOWN, -1},
        {"app", "s3", ROUTE_SERVER_UP, 0}, /* weight 0: never picked */
    };
    (void)state;
    assert_int_equal(route_build(&conf, ov, 2, &reg, 1, &r, err, sizeof(err)), 0);
    struct route_pool *p = route_find_pool(r, "app");
    assert_int_equal(p->servers[0].state, ROUTE_SERVER_DOWN);
    assert_int_equal(p->servers[2].weight, 0);
    for (int i = 0; i < 10; i++)
        assert_int_equal(route_pick(p, NULL, 0, false, 0), 1);
    route_free(r);

    struct route_server_override all_down[] = {
        {"app", "s1", ROUTE_SERVER_DOWN, -1},
        {"app", "s2", ROUTE_SERVER_MAINT, -1},
        {"app", "s3", ROUTE_SERVER_DRAIN, -1},
    };
    assert_int_equal(route_build(&conf, all_down, 3, &reg, 2, &r, err, sizeof(err)), 0);
    assert_int_equal(route_pick(route_find_pool(r, "app"), NULL, 0, false, 0), -1);
    route_free(r);
    route_counters_free(&reg);
}

static void test_route_counters_survive_a_new_snapshot(void **state)
{
    struct route_counters reg = {0};
    struct route *r1 = NULL, *r2 = NULL;
    char err[256];
    (void)state;
    assert_int_equal(route_build(&conf, NULL, 0, &reg, 1, &r1, err, sizeof(err)), 0);
    struct route_counter *c = r1->pools[0].servers[1].counter;
    atomic_fetch_add(&c->inflight, 3);
    /* a new snapshot with the servers in another order keeps counting */
    struct conf_server tmp = servers[0];
    servers[0] = servers[1];
    servers[1] = tmp;
    assert_int_equal(route_build(&conf, NULL, 0, &reg, 2, &r2, err, sizeof(err)), 0);
    assert_string_equal(r2->pools[0].servers[0].name, "s2");
    assert_ptr_equal(r2->pools[0].servers[0].counter, c);
    assert_int_equal(atomic_load(&r2->pools[0].servers[0].counter->inflight), 3);
    route_free(r1);
    route_free(r2);
    route_counters_free(&reg);
}

static void test_route_leastconn_reads_the_counters(void **state)
{
    struct route_counters reg = {0};
    struct route *r = NULL;
    char err[256];
    (void)state;
    pool.balance = CONF_BALANCE_LEASTCONN;
    assert_int_equal(route_build(&conf, NULL, 0, &reg, 1, &r, err, sizeof(err)), 0);
    struct route_pool *p = route_find_pool(r, "app");
    assert_true(p->needs_load);
    atomic_store(&p->servers[0].counter->inflight, 5);
    atomic_store(&p->servers[1].counter->inflight, 1);
    atomic_store(&p->servers[2].counter->inflight, 5);
    for (int i = 0; i < 5; i++)
        assert_int_equal(route_pick(p, NULL, 0, false, (uint64_t)i * 7919), 1);
    route_free(r);
    route_counters_free(&reg);
}

/* A request's earlier attempts are left out; with every server tried, none. */
static void test_route_pick_untried_leaves_out_tried_servers(void **state)
{
    struct route_counters reg = {0};
    struct route *r = NULL;
    struct route_counter *tried[3];
    char err[256];
    (void)state;
    assert_int_equal(route_build(&conf, NULL, 0, &reg, 1, &r, err, sizeof(err)), 0);
    struct route_pool *p = route_find_pool(r, "app");
    tried[0] = p->servers[0].counter;
    tried[1] = p->servers[2].counter;
    for (int i = 0; i < 10; i++)
        assert_int_equal(route_pick_untried(p, tried, 2, 0, false, (uint64_t)i), 1);
    tried[2] = p->servers[1].counter;
    assert_int_equal(route_pick_untried(p, tried, 3, 0, false, 0), -1);
    /* nothing tried yet: any server */
    int seen = 0;
    for (int i = 0; i < 6; i++)
        seen |= 1 << route_pick_untried(p, tried, 0, 0, false, (uint64_t)i);
    assert_int_equal(seen, 7);
    route_free(r);
    route_counters_free(&reg);
}

/* A server at its maxconn is left out until a request ends; with every usable
 * server full the pick says so; a retry's exclusions still hold. */
static void test_route_pick_skips_servers_at_maxconn(void **state)
{
    struct route_counters reg = {0};
    struct route *r = NULL;
    struct route_counter *tried[1];
    char err[256];
    (void)state;
    pool.servers[0].max_conns = 2;
    pool.servers[2].max_conns = 1;
    assert_int_equal(route_build(&conf, NULL, 0, &reg, 1, &r, err, sizeof(err)), 0);
    struct route_pool *p = route_find_pool(r, "app");
    assert_true(p->has_max_conns);
    atomic_store(&p->servers[0].counter->inflight, 2);
    atomic_store(&p->servers[2].counter->inflight, 1);
    for (int i = 0; i < 9; i++) /* server 1 has no limit */
        assert_int_equal(route_pick(p, NULL, 0, false, (uint64_t)i), 1);
    tried[0] = p->servers[1].counter;
    assert_int_equal(route_pick_untried(p, tried, 1, 0, false, 0), ROUTE_PICK_FULL);
    atomic_store(&p->servers[0].counter->inflight, 1); /* one of its requests ended */
    assert_int_equal(route_pick_untried(p, tried, 1, 0, false, 0), 0);
    route_free(r);

    /* every server has a limit and is full: ROUTE_PICK_FULL, not "none usable" */
    pool.servers[1].max_conns = 3;
    assert_int_equal(route_build(&conf, NULL, 0, &reg, 2, &r, err, sizeof(err)), 0);
    p = route_find_pool(r, "app");
    atomic_store(&p->servers[0].counter->inflight, 2);
    atomic_store(&p->servers[1].counter->inflight, 3);
    assert_int_equal(route_pick(p, NULL, 0, false, 0), ROUTE_PICK_FULL);
    route_free(r);
    route_counters_free(&reg);
}

/* Backups take over from primaries that are all excluded: tried by a request
 * already, or at their maxconn; never while a primary is left. */
static void test_route_pick_falls_back_to_backups(void **state)
{
    struct route_counters reg = {0};
    struct route *r = NULL;
    struct route_counter *tried[2];
    char err[256];
    (void)state;
    servers[2].backup = true;
    servers[1].max_conns = 1;
    assert_int_equal(route_build(&conf, NULL, 0, &reg, 1, &r, err, sizeof(err)), 0);
    struct route_pool *p = route_find_pool(r, "app");
    assert_non_null(p->backup_table);
    for (int i = 0; i < 6; i++) /* primaries only while one is left */
        assert_int_not_equal(route_pick(p, NULL, 0, false, (uint64_t)i), 2);
    tried[0] = p->servers[0].counter;
    for (int i = 0; i < 4; i++)
        assert_int_equal(route_pick_untried(p, tried, 1, 0, false, (uint64_t)i), 1);
    tried[1] = p->servers[1].counter;
    assert_int_equal(route_pick_untried(p, tried, 2, 0, false, 0), 2);
    atomic_store(&p->servers[1].counter->inflight, 1); /* s2 full, s1 tried */
    assert_int_equal(route_pick_untried(p, tried, 1, 0, false, 0), 2);
    route_free(r);
    route_counters_free(&reg);
}

/* Room: a usable server without maxconn, or one below it; servers down,
 * drained or of weight 0 do not count. */
static void test_route_pool_has_room(void **state)
{
    struct route_counters reg = {0};
    struct route *r = NULL;
    char err[256];
    struct route_server_override ov[] = {
        {"app", "s2", ROUTE_SERVER_DRAIN, -1},
        {"app", "s3", ROUTE_SERVER_UP, 0},
    };
    (void)state;
    servers[0].max_conns = 2;
    assert_int_equal(route_build(&conf, ov, 2, &reg, 1, &r, err, sizeof(err)), 0);
    struct route_pool *p = route_find_pool(r, "app");
    assert_true(route_pool_has_room(p));
    atomic_store(&p->servers[0].counter->inflight, 1);
    assert_true(route_pool_has_room(p));
    atomic_store(&p->servers[0].counter->inflight, 2);
    assert_false(route_pool_has_room(p)); /* s2 drained, s3 weight 0 */
    assert_int_equal(route_pick(p, NULL, 0, false, 0), ROUTE_PICK_FULL);
    route_free(r);
    /* without overrides s2 has no maxconn: always room */
    assert_int_equal(route_build(&conf, NULL, 0, &reg, 2, &r, err, sizeof(err)), 0);
    assert_true(route_pool_has_room(route_find_pool(r, "app")));
    route_free(r);
    route_counters_free(&reg);
}

/* With consistent hashing, a key goes to the same backup whether its primaries
 * are all excluded (the backup-only table) or all down (the main table, rebuilt
 * with the backups alone): a key does not move between the two fallbacks. */
static void backups_place_keys_alike(enum conf_balance balance)
{
    struct route_counters reg = {0};
    struct route *up = NULL, *down = NULL;
    struct route_counter *tried[1];
    char err[256];
    struct route_server_override ov[] = {{"app", "s1", ROUTE_SERVER_DOWN, -1}};
    int at[3] = {0, 0, 0};
    pool.balance = balance;
    pool.hash_key = CONF_HASH_URI;
    pool.maglev_table_size = 1009;
    pool.ring_points = 160;
    pool.balance_factor = 0;
    servers[1].backup = true;
    servers[2].backup = true;
    assert_int_equal(route_build(&conf, NULL, 0, &reg, 1, &up, err, sizeof(err)), 0);
    assert_int_equal(route_build(&conf, ov, 1, &reg, 2, &down, err, sizeof(err)), 0);
    struct route_pool *pu = route_find_pool(up, "app"), *pd = route_find_pool(down, "app");
    assert_non_null(pu->backup_table);
    assert_null(pd->backup_table);
    tried[0] = pu->servers[0].counter;
    for (uint64_t k = 0; k < 500; k++) {
        uint64_t key = k * 0x9E3779B97F4A7C15ull;
        int a = route_pick_untried(pu, tried, 1, key, true, 0);
        int b = route_pick(pd, NULL, key, true, 0);
        assert_true(a == 1 || a == 2);
        assert_int_equal(a, b);
        at[a]++;
    }
    assert_true(at[1] > 100 && at[2] > 100); /* both backups take keys */
    route_free(up);
    route_free(down);
    route_counters_free(&reg);
}

static void test_route_backups_place_keys_alike_maglev(void **state)
{
    (void)state;
    backups_place_keys_alike(CONF_BALANCE_MAGLEV);
}

static void test_route_backups_place_keys_alike_ring(void **state)
{
    (void)state;
    backups_place_keys_alike(CONF_BALANCE_RING);
}

static void test_route_build_fails_on_unknown_pool(void **state)
{
    struct route_counters reg = {0};
    struct route *r = (struct route *)&reg; /* must be reset to NULL */
    char err[256] = "";
    (void)state;
    snprintf(frontend.pool_name, sizeof(frontend.pool_name), "missing");
    assert_int_equal(route_build(&conf, NULL, 0, &reg, 1, &r, err, sizeof(err)), -1);
    assert_null(r);
    assert_non_null(strstr(err, "missing"));
    route_counters_free(&reg);
}

/* hash_key = source: the address decides, not the port; other families have no key. */
static void test_route_source_key(void **state)
{
    struct sockaddr_storage a, b, c, d, u;
    struct sockaddr_in *a4 = (struct sockaddr_in *)&a, *b4 = (struct sockaddr_in *)&b,
                       *c4 = (struct sockaddr_in *)&c;
    struct sockaddr_in6 *d6 = (struct sockaddr_in6 *)&d;
    uint64_t ha, hb, hc, hd, hu = 1;
    (void)state;
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    memset(&c, 0, sizeof(c));
    memset(&d, 0, sizeof(d));
    memset(&u, 0, sizeof(u));
    a4->sin_family = b4->sin_family = c4->sin_family = AF_INET;
    inet_pton(AF_INET, "127.0.0.1", &a4->sin_addr);
    inet_pton(AF_INET, "127.0.0.1", &b4->sin_addr);
    inet_pton(AF_INET, "127.0.0.2", &c4->sin_addr);
    a4->sin_port = htons(40000);
    b4->sin_port = htons(40001);
    d6->sin6_family = AF_INET6;
    inet_pton(AF_INET6, "::1", &d6->sin6_addr);
    u.ss_family = AF_UNIX;
    assert_true(route_source_key(&a, &ha));
    assert_true(route_source_key(&b, &hb));
    assert_true(route_source_key(&c, &hc));
    assert_true(route_source_key(&d, &hd));
    assert_int_equal(ha, hb);
    assert_true(ha != hc);
    assert_true(hd != ha && hd != 0);
    assert_false(route_source_key(&u, &hu));
    assert_int_equal(hu, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_route_build_copies_the_configuration, setup),
        cmocka_unit_test_setup(test_route_pick_round_robin_covers_every_server, setup),
        cmocka_unit_test_setup(test_route_overrides_take_servers_out, setup),
        cmocka_unit_test_setup(test_route_counters_survive_a_new_snapshot, setup),
        cmocka_unit_test_setup(test_route_leastconn_reads_the_counters, setup),
        cmocka_unit_test_setup(test_route_pick_untried_leaves_out_tried_servers, setup),
        cmocka_unit_test_setup(test_route_pick_skips_servers_at_maxconn, setup),
        cmocka_unit_test_setup(test_route_pick_falls_back_to_backups, setup),
        cmocka_unit_test_setup(test_route_pool_has_room, setup),
        cmocka_unit_test_setup(test_route_backups_place_keys_alike_maglev, setup),
        cmocka_unit_test_setup(test_route_backups_place_keys_alike_ring, setup),
        cmocka_unit_test_setup(test_route_build_fails_on_unknown_pool, setup),
        cmocka_unit_test(test_route_source_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
