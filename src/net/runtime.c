/*
 * runtime: see runtime.h.
 */
#include "config.h"

#include "net/runtime.h"

#include <errno.h>
#include <ev.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "health/health_mailbox.h"
#include "health/health_monitor.h"
#include "net/fd_limit.h"
#include "net/listen.h"
#include "net/route.h"
#include "net/session.h"
#include "net/worker.h"
#include "tls/tls_ctx.h"
#include "util/log.h"
#include "util/qsbr.h"

#define WORKERS_MAX 256
#define RECLAIM_INTERVAL_S 0.05
#define TICKET_ROTATE_S 3600.0 /* session ticket keys (see tls_ctx.h) */

/* One bind address of the configuration and its sockets, one per worker. */
struct bind {
    struct sockaddr_storage ss;
    socklen_t len;
    char text[sizeof(((struct conf_addr *)0)->text)];
    char frontend[CONF_NAME_MAX];
    bool http; /* its frontend's mode (listen_set_mode, in binds_post) */
    int *fds;  /* per worker; the workers own the sockets once posted */
};

struct runtime {
    struct ev_loop *loop;
    const char *path;
    struct conf *conf;
    struct worker_shared shared;
    struct route_counters counters;
    uint64_t generation;
    struct worker *workers;
    size_t nworkers;
    struct bind *binds;
    size_t nbinds;
    ev_signal sig_hup, sig_term, sig_int, sig_usr1;
    ev_async worker_exit;
    ev_timer reclaim;
    ev_timer grace;
    ev_timer rebuild; /* health changed: rebuild the snapshot (coalesced) */
    struct health_mailbox mbox;
    bool mbox_on;
    struct health_monitor *hm;
    struct tls_set *tls;  /* of conf; the snapshots borrow from it (route_set_tls) */
    ev_timer tickets;     /* rotates tls's ticket keys */
    bool draining;
};

int runtime_check_supported(const struct conf *conf, runtime_report_fn report, void *arg)
{
    char msg[512];
    int rc = 0;
    for (size_t i = 0; i < conf->frontend_count; i++) {
        const struct conf_frontend *f = &conf->frontends[i];
        if (session_ops_for_mode(f->mode) == NULL) {
            snprintf(msg, sizeof(msg),
                     "%s:%d: frontend %s: mode %s is not supported by this version of "
                     "raftlb",
                     conf->path, f->line, f->name, conf_mode_name(f->mode));
            report(arg, msg);
            rc = -1;
        }
        for (size_t b = 0; b < f->bind_count; b++)
            for (size_t j = 0; j <= i; j++) {
                const struct conf_frontend *g = &conf->frontends[j];
                size_t end = j == i ? b : g->bind_count;
                for (size_t c = 0; c < end; c++)
                    if (g->binds[c].len == f->binds[b].len &&
                        memcmp(&g->binds[c].ss, &f->binds[b].ss, f->binds[b].len) == 0) {
                        snprintf(msg, sizeof(msg),
                                 "%s:%d: frontend %s: bind %s is already used by "
                                 "frontend %s",
                                 conf->path, f->binds[b].line ? f->binds[b].line : f->line,
                                 f->name, f->binds[b].text, g->name);
                        report(arg, msg);
                        rc = -1;
                    }
            }
    }
    return rc;
}

static void report_to_log(void *arg, const char *msg)
{
    (void)arg;
    log_error("%s", msg);
}

static size_t workers_for(const struct conf *conf)
{
    long n = conf->global.workers;
    if (n == 0)
        n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        n = 1;
    if (n > WORKERS_MAX)
        n = WORKERS_MAX;
    return (size_t)n;
}

static bool same_addr(const struct sockaddr_storage *a, socklen_t alen,
                      const struct sockaddr_storage *b, socklen_t blen)
{
    if (a->ss_family != b->ss_family || alen != blen)
        return false;
    if (a->ss_family == AF_INET) {
        const struct sockaddr_in *x = (const void *)a, *y = (const void *)b;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    if (a->ss_family == AF_INET6) {
        const struct sockaddr_in6 *x = (const void *)a, *y = (const void *)b;
        return x->sin6_port == y->sin6_port &&
               memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0 &&
               x->sin6_scope_id == y->sin6_scope_id;
    }
    return memcmp(a, b, alen) == 0;
}

static void binds_free(struct bind *binds, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(binds[i].fds);
    free(binds);
}

/*
 * The bind set of `conf`: sockets of binds already in `old` are reused, the others
 * are opened (one per worker). On failure closes what it opened and returns -1.
 * `opened` tells, per new bind, whether its sockets are new.
 */
static int binds_make(struct runtime *rt, const struct conf *conf, struct bind **out,
                      size_t *out_n, char *err, size_t errlen)
{
    size_t n = 0, k = 0;
    struct bind *nb;
    bool *opened;

    for (size_t i = 0; i < conf->frontend_count; i++)
        n += conf->frontends[i].bind_count;
    nb = calloc(n ? n : 1, sizeof(*nb));
    opened = calloc(n ? n : 1, sizeof(*opened));
    if (nb == NULL || opened == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < conf->frontend_count; i++) {
        const struct conf_frontend *f = &conf->frontends[i];
        for (size_t b = 0; b < f->bind_count; b++, k++) {
            const struct conf_addr *a = &f->binds[b];
            struct bind *x = &nb[k];
            memcpy(&x->ss, &a->ss, sizeof(x->ss));
            x->len = a->len;
            snprintf(x->text, sizeof(x->text), "%s", a->text);
            snprintf(x->frontend, sizeof(x->frontend), "%s", f->name);
            x->http = f->mode == CONF_MODE_HTTP;
            x->fds = malloc(rt->nworkers * sizeof(int));
            if (x->fds == NULL) {
                snprintf(err, errlen, "out of memory");
                goto fail;
            }
            for (size_t o = 0; o < rt->nbinds; o++)
                if (same_addr(&rt->binds[o].ss, rt->binds[o].len, &x->ss, x->len)) {
                    memcpy(x->fds, rt->binds[o].fds, rt->nworkers * sizeof(int));
                    goto next;
                }
            for (size_t w = 0; w < rt->nworkers; w++)
                x->fds[w] = -1;
            opened[k] = true;
            for (size_t w = 0; w < rt->nworkers; w++) {
                char why[256];
                x->fds[w] = listen_open((const struct sockaddr *)&x->ss, x->len, why,
                                        sizeof(why));
                if (x->fds[w] == -1) {
                    snprintf(err, errlen, "%s:%d: frontend %s: cannot listen on %s: %s",
                             conf->path, a->line ? a->line : f->line, f->name, x->text,
                             why);
                    k++;
                    goto fail;
                }
            }
        next:;
        }
    }
    free(opened);
    *out = nb;
    *out_n = n;
    return 0;
fail:
    for (size_t i = 0; nb != NULL && i < k; i++)
        if (opened != NULL && opened[i] && nb[i].fds != NULL)
            for (size_t w = 0; w < rt->nworkers; w++)
                if (nb[i].fds[w] >= 0)
                    close(nb[i].fds[w]);
    if (nb != NULL)
        binds_free(nb, n);
    free(opened);
    return -1;
}

/* Tells every worker its listener set (the sockets of `rt->binds`), once that set
 * is the one in force: a reload that fails after binds_make leaves the sockets
 * it reused as they were. */
static void binds_post(struct runtime *rt)
{
    struct listener_spec *specs;

    /* on reused sockets too, in case a reload changed the mode */
    for (size_t i = 0; i < rt->nbinds; i++)
        for (size_t w = 0; w < rt->nworkers; w++)
            listen_set_mode(rt->binds[i].fds[w], rt->binds[i].http);
    specs = calloc(rt->nbinds ? rt->nbinds : 1, sizeof(*specs));
    if (specs == NULL) {
        log_error("out of memory: the workers keep their listeners");
        return;
    }
    for (size_t w = 0; w < rt->nworkers; w++) {
        for (size_t i = 0; i < rt->nbinds; i++) {
            specs[i].fd = rt->binds[i].fds[w];
            memcpy(specs[i].frontend, rt->binds[i].frontend, sizeof(specs[i].frontend));
            memcpy(specs[i].addr_text, rt->binds[i].text, sizeof(specs[i].addr_text));
        }
        if (worker_post_listeners(&rt->workers[w], specs, rt->nbinds) != 0)
            log_error("worker %zu: out of memory: it keeps its listeners", w);
    }
    free(specs);
}

static void route_free_cb(void *p)
{
    route_free(p);
}

/* Publishes `r` as the current snapshot; the old one goes to qsbr. */
static void publish(struct runtime *rt, struct route *r)
{
    struct route *old = atomic_exchange(&rt->shared.route, r);
    if (old != NULL) {
        qsbr_retire(&rt->shared.qsbr, old, route_free_cb);
        if (!ev_is_active(&rt->reclaim))
            ev_timer_start(rt->loop, &rt->reclaim);
    }
}

static void on_reclaim(struct ev_loop *loop, ev_timer *t, int revents)
{
    struct runtime *rt = t->data;
    (void)revents;
    if (qsbr_reclaim(&rt->shared.qsbr) == 0)
        ev_timer_stop(loop, t);
}

static void tls_set_free_cb(void *p)
{
    tls_set_free(p);
}

static struct tls_server *tls_frontend_of(void *set, size_t i)
{
    return tls_set_frontend(set, i);
}

static struct tls_client *tls_server_of(void *set, size_t pool, size_t i)
{
    return tls_set_server(set, pool, i);
}

/* Builds a snapshot of `conf` with what `hm` says about the servers and the TLS
 * contexts of `tls` (built from the same conf). */
static int build_route(struct runtime *rt, const struct conf *conf, struct health_monitor *hm,
                       struct tls_set *tls, uint64_t generation, struct route **out,
                       char *err, size_t errlen)
{
    size_t n = 0;
    const struct route_server_override *ov = NULL;
    if (hm != NULL)
        ov = health_monitor_overrides(hm, &n);
    if (route_build(conf, ov, n, &rt->counters, generation, out, err, errlen) != 0)
        return -1;
    route_set_tls(*out, tls, tls_frontend_of, tls_server_of);
    return 0;
}

/* Hourly: new session ticket keys for every TLS frontend (the old ones still
 * decrypt for one more period). */
static void on_tickets(struct ev_loop *loop, ev_timer *t, int revents)
{
    struct runtime *rt = t->data;
    (void)loop;
    (void)revents;
    if (tls_set_rotate_ticket_keys(rt->tls) != 0)
        log_error("TLS: cannot draw new session ticket keys; keeping the current ones");
}

static void health_changed(void *arg)
{
    struct runtime *rt = arg;
    if (!ev_is_active(&rt->rebuild)) {
        ev_timer_set(&rt->rebuild, 0., 0.);
        ev_timer_start(rt->loop, &rt->rebuild);
    }
}

static void on_rebuild(struct ev_loop *loop, ev_timer *t, int revents)
{
    struct runtime *rt = t->data;
    struct route *r = NULL;
    char err[768];
    (void)loop;
    (void)revents;
    if (rt->hm == NULL)
        return;
    if (build_route(rt, rt->conf, rt->hm, rt->tls, rt->generation + 1, &r, err,
                    sizeof(err)) != 0) {
        log_error("health: cannot rebuild the routing table: %s; retrying in 1 s", err);
        ev_timer_set(&rt->rebuild, 1., 0.);
        ev_timer_start(rt->loop, &rt->rebuild);
        return;
    }
    rt->generation++;
    publish(rt, r);
    /* requests waiting on a server that just went down move on at once */
    for (size_t w = 0; w < rt->nworkers; w++)
        worker_post_route_changed(&rt->workers[w]);
}

static void on_mailbox(struct ev_loop *loop, ev_async *a, int revents)
{
    struct runtime *rt = a->data;
    (void)loop;
    (void)revents;
    if (rt->hm != NULL)
        health_monitor_take(rt->hm, &rt->mbox);
}

/* Writes pid_file when set; 0, or -1 (logged) when it could not be written. */
static int write_pid_file(const struct conf *conf)
{
    FILE *f;
    if (conf->global.pid_file == NULL)
        return 0;
    f = fopen(conf->global.pid_file, "we");
    if (f == NULL) {
        log_warn("cannot write pid file %s: %s", conf->global.pid_file, strerror(errno));
        return -1;
    }
    fprintf(f, "%ld\n", (long)getpid());
    return fclose(f) == 0 ? 0 : -1;
}

/* A reload that changes pid_file: the new file is written and the old removed, so
 * that the one removed at exit is the one written. */
static void follow_pid_file(const struct conf *old, const struct conf *nc)
{
    const char *a = old->global.pid_file, *b = nc->global.pid_file;
    struct stat sa, sb;
    if ((a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0))
        return;
    if (write_pid_file(nc) != 0 || a == NULL)
        return; /* the old one still names this process */
    /* another spelling of the same file (a//b, a relative path) is kept */
    if (b != NULL && stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
        sa.st_ino == sb.st_ino)
        return;
    unlink(a);
}

/* What a reload changed in the pools' servers, one line each, so that a server
 * taken out of or put back into service by an edited file shows in the log as a
 * health change does. */
static void log_server_changes(const struct conf *old, const struct conf *nc)
{
    for (size_t p = 0; p < nc->pool_count; p++) {
        const struct conf_pool *np = &nc->pools[p];
        const struct conf_pool *op = conf_find_pool(old, np->name);
        for (size_t i = 0; i < np->server_count; i++) {
            const struct conf_server *ns = &np->servers[i];
            const struct conf_server *os = NULL;
            for (size_t j = 0; op != NULL && j < op->server_count; j++)
                if (strcmp(op->servers[j].name, ns->name) == 0)
                    os = &op->servers[j];
            if (os == NULL) {
                log_info("reload: server %s/%s added (%s, state %s)", np->name, ns->name,
                         ns->addr.text, conf_server_state_name(ns->state));
                continue;
            }
            if (os->state != ns->state)
                log_info("reload: server %s/%s state %s -> %s", np->name, ns->name,
                         conf_server_state_name(os->state),
                         conf_server_state_name(ns->state));
            if (os->weight != ns->weight)
                log_info("reload: server %s/%s weight %u -> %u", np->name, ns->name,
                         os->weight, ns->weight);
            if (strcmp(os->addr.text, ns->addr.text) != 0)
                log_info("reload: server %s/%s address %s -> %s", np->name, ns->name,
                         os->addr.text, ns->addr.text);
        }
        if (op != NULL && op->health != np->health)
            log_info("reload: pool %s health %s -> %s", np->name,
                     conf_health_name(op->health), conf_health_name(np->health));
    }
    for (size_t p = 0; p < old->pool_count; p++) {
        const struct conf_pool *op = &old->pools[p];
        const struct conf_pool *np = conf_find_pool(nc, op->name);
        if (np == NULL) {
            log_info("reload: pool %s removed", op->name);
            continue;
        }
        for (size_t j = 0; j < op->server_count; j++) {
            bool kept = false;
            for (size_t i = 0; i < np->server_count && !kept; i++)
                kept = strcmp(np->servers[i].name, op->servers[j].name) == 0;
            if (!kept)
                log_info("reload: server %s/%s removed", op->name, op->servers[j].name);
        }
    }
}

/* The open-files limit for max_connections (fd_limit), or a warning. */
static void raise_fd_limit(uint32_t max_connections)
{
    char msg[512];
    if (fd_limit_raise(max_connections, msg, sizeof(msg)) != 0)
        log_warn("%s", msg);
}

static void reload(struct runtime *rt)
{
    struct health_monitor *nhm = NULL;
    struct conf *nc = NULL;
    struct conf_diag diag = {0};
    struct bind *nb = NULL;
    size_t nn = 0;
    struct route *r = NULL;
    struct tls_set *ntls = NULL;
    char err[768];

    log_info("reload: reading %s", rt->path);
    if (conf_load(rt->path, &nc, &diag) != 0) {
        for (size_t i = 0; i < diag.count; i++)
            log_error("%s", diag.msgs[i]);
        log_error("reload: %s has errors; keeping the current configuration", rt->path);
        goto out;
    }
    if (runtime_check_supported(nc, report_to_log, NULL) != 0) {
        log_error("reload: keeping the current configuration");
        goto out;
    }
    /* certificates are read again: a renewed file on disk is served after SIGHUP */
    if (tls_set_new(nc, rt->tls, report_to_log, NULL, &ntls) != 0) {
        log_error("reload: TLS settings have errors; keeping the current configuration");
        goto out;
    }
    if (workers_for(nc) != rt->nworkers)
        log_warn("reload: a change of workers takes effect at the next restart; "
                 "keeping %zu", rt->nworkers);
    if (binds_make(rt, nc, &nb, &nn, err, sizeof(err)) != 0) {
        log_error("%s", err);
        log_error("reload: keeping the current configuration");
        goto out;
    }
    nhm = health_monitor_new(rt->loop, nc, &rt->counters, rt->hm, health_changed, rt, err,
                             sizeof(err));
    if (nhm == NULL ||
        build_route(rt, nc, nhm, ntls, rt->generation + 1, &r, err, sizeof(err)) != 0) {
        health_monitor_free(nhm);
        nhm = NULL;
        /* close the sockets opened for this attempt only */
        for (size_t i = 0; i < nn; i++) {
            bool old = false;
            for (size_t o = 0; o < rt->nbinds; o++)
                old = old || same_addr(&rt->binds[o].ss, rt->binds[o].len, &nb[i].ss,
                                       nb[i].len);
            if (!old)
                for (size_t w = 0; w < rt->nworkers; w++)
                    close(nb[i].fds[w]);
        }
        binds_free(nb, nn);
        log_error("reload: %s; keeping the current configuration", err);
        goto out;
    }
    if (log_configure(nc->global.error_log, nc->global.access_log,
                      (enum log_level)nc->global.log_level, err, sizeof(err)) != 0)
        log_error("reload: %s; the logs keep their destinations", err);
    rt->generation++;
    publish(rt, r);
    /* the old snapshot still points into the old set: retired after it, freed with
     * it; connections made from it hold their own SSL_CTX references */
    if (rt->tls != NULL)
        qsbr_retire(&rt->shared.qsbr, rt->tls, tls_set_free_cb);
    rt->tls = ntls;
    ntls = NULL;
    health_monitor_claim(nhm);
    health_monitor_free(rt->hm);
    rt->hm = nhm;
    raise_fd_limit(nc->global.max_connections);
    atomic_store(&rt->shared.max_conns, nc->global.max_connections);
    atomic_store(&rt->shared.poll_batch_us, nc->global.poll_batch_us);
    binds_free(rt->binds, rt->nbinds);
    rt->binds = nb;
    rt->nbinds = nn;
    binds_post(rt);
    follow_pid_file(rt->conf, nc);
    log_server_changes(rt->conf, nc);
    conf_free(rt->conf);
    rt->conf = nc;
    nc = NULL;
    log_info("reload: configuration loaded (generation %llu, %zu frontends, %zu pools)",
             (unsigned long long)rt->generation, rt->conf->frontend_count,
             rt->conf->pool_count);
out:
    tls_set_free(ntls);
    conf_diag_free(&diag);
    if (nc != NULL)
        conf_free(nc);
}

static void on_signal(struct ev_loop *loop, ev_signal *s, int revents)
{
    struct runtime *rt = s->data;
    (void)revents;
    if (s->signum == SIGUSR1) {
        char err[512];
        if (log_reopen(err, sizeof(err)) != 0)
            log_error("SIGUSR1: %s", err);
        else
            log_info("SIGUSR1: log files reopened");
        return;
    }
    if (s->signum == SIGHUP) {
        if (rt->draining)
            log_warn("SIGHUP ignored: shutting down");
        else
            reload(rt);
        return;
    }
    /* SIGTERM, SIGINT */
    if (rt->draining) {
        log_warn("second stop signal: closing every connection now");
        for (size_t w = 0; w < rt->nworkers; w++)
            worker_post_abort(&rt->workers[w]);
        return;
    }
    rt->draining = true;
    log_info("stopping: no new connections; waiting up to %u ms for open ones",
             rt->conf->global.grace_ms);
    for (size_t w = 0; w < rt->nworkers; w++)
        worker_post_drain(&rt->workers[w]);
    ev_timer_set(&rt->grace, rt->conf->global.grace_ms / 1000.0, 0.);
    ev_timer_start(loop, &rt->grace);
}

static void on_grace(struct ev_loop *loop, ev_timer *t, int revents)
{
    struct runtime *rt = t->data;
    (void)loop;
    (void)revents;
    log_warn("grace period over: closing the remaining connections");
    for (size_t w = 0; w < rt->nworkers; w++)
        worker_post_abort(&rt->workers[w]);
}

static void on_worker_exit(struct ev_loop *loop, ev_async *a, int revents)
{
    struct runtime *rt = a->data;
    (void)revents;
    if (atomic_load(&rt->shared.exited) == rt->nworkers)
        ev_break(loop, EVBREAK_ALL);
}

int runtime_run(const char *path, struct conf *conf, char *err, size_t errlen)
{
    struct runtime rt;
    struct route *r = NULL;
    size_t inited = 0;
    bool posted = false;
    int rc = -1;

    memset(&rt, 0, sizeof(rt));
    rt.path = path;
    rt.conf = conf;
    rt.nworkers = workers_for(conf);
    rt.loop = ev_default_loop(EVFLAG_AUTO);
    if (rt.loop == NULL) {
        snprintf(err, errlen, "cannot create the main event loop");
        goto out;
    }
    signal(SIGPIPE, SIG_IGN);
    if (log_configure(conf->global.error_log, conf->global.access_log,
                      (enum log_level)conf->global.log_level, err, errlen) != 0)
        goto out;
    raise_fd_limit(conf->global.max_connections);
    if (runtime_check_supported(conf, report_to_log, NULL) != 0) {
        snprintf(err, errlen, "%s: the configuration asks for what this build cannot run",
                 path);
        goto out;
    }
    if (tls_set_new(conf, NULL, report_to_log, NULL, &rt.tls) != 0) {
        snprintf(err, errlen, "%s: the TLS settings have errors (see the error log)", path);
        goto out;
    }
    atomic_init(&rt.shared.route, NULL);
    atomic_init(&rt.shared.conns, 0);
    atomic_init(&rt.shared.max_conns, conf->global.max_connections);
    atomic_init(&rt.shared.poll_batch_us, conf->global.poll_batch_us);
    atomic_init(&rt.shared.exited, 0);
    rt.shared.main_loop = rt.loop;
    rt.shared.main_async = &rt.worker_exit;
    if (qsbr_init(&rt.shared.qsbr, rt.nworkers) != 0) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    rt.workers = calloc(rt.nworkers, sizeof(*rt.workers));
    if (rt.workers == NULL) {
        snprintf(err, errlen, "out of memory");
        goto out_qsbr;
    }
    rt.shared.workers = rt.workers;
    rt.shared.nworkers = rt.nworkers;
    for (; inited < rt.nworkers; inited++)
        if (worker_init(&rt.workers[inited], inited, &rt.shared, err, errlen) != 0)
            goto out_workers;
    if (binds_make(&rt, conf, &rt.binds, &rt.nbinds, err, errlen) != 0)
        goto out_workers;
    if (health_mailbox_init(&rt.mbox, rt.loop, on_mailbox, &rt) != 0) {
        snprintf(err, errlen, "cannot set up the health mailbox");
        goto out_binds;
    }
    rt.mbox_on = true;
    rt.shared.health = &rt.mbox;
    ev_init(&rt.rebuild, on_rebuild);
    rt.rebuild.data = &rt;
    rt.hm = health_monitor_new(rt.loop, conf, &rt.counters, NULL, health_changed, &rt, err,
                               errlen);
    if (rt.hm == NULL)
        goto out_binds;
    health_monitor_claim(rt.hm);
    if (build_route(&rt, conf, rt.hm, rt.tls, ++rt.generation, &r, err, errlen) != 0)
        goto out_binds;
    atomic_store(&rt.shared.route, r);

    ev_async_init(&rt.worker_exit, on_worker_exit);
    rt.worker_exit.data = &rt;
    ev_async_start(rt.loop, &rt.worker_exit);
    ev_signal_init(&rt.sig_hup, on_signal, SIGHUP);
    ev_signal_init(&rt.sig_term, on_signal, SIGTERM);
    ev_signal_init(&rt.sig_int, on_signal, SIGINT);
    ev_signal_init(&rt.sig_usr1, on_signal, SIGUSR1);
    rt.sig_hup.data = rt.sig_term.data = rt.sig_int.data = rt.sig_usr1.data = &rt;
    ev_signal_start(rt.loop, &rt.sig_hup);
    ev_signal_start(rt.loop, &rt.sig_term);
    ev_signal_start(rt.loop, &rt.sig_int);
    ev_signal_start(rt.loop, &rt.sig_usr1);
    ev_init(&rt.reclaim, on_reclaim);
    rt.reclaim.repeat = RECLAIM_INTERVAL_S;
    rt.reclaim.data = &rt;
    ev_init(&rt.grace, on_grace);
    rt.grace.data = &rt;
    ev_timer_init(&rt.tickets, on_tickets, TICKET_ROTATE_S, TICKET_ROTATE_S);
    rt.tickets.data = &rt;
    ev_timer_start(rt.loop, &rt.tickets);

    binds_post(&rt);
    posted = true;
    for (size_t w = 0; w < rt.nworkers; w++)
        if (worker_start(&rt.workers[w], err, errlen) != 0) {
            log_error("%s", err);
            for (size_t v = 0; v < w; v++)
                worker_post_abort(&rt.workers[v]);
            atomic_fetch_add(&rt.shared.exited, (uint32_t)(rt.nworkers - w));
            if (w > 0)
                ev_run(rt.loop, 0);
            goto out_loop;
        }
    (void)write_pid_file(conf); /* logged; not a reason to stop */
    log_info("raftlb %s running: %zu workers, %zu frontends, %zu pools", PACKAGE_VERSION,
             rt.nworkers, conf->frontend_count, conf->pool_count);
    ev_run(rt.loop, 0);
    rc = 0;
    log_info("stopped");

out_loop:
    ev_signal_stop(rt.loop, &rt.sig_hup);
    ev_signal_stop(rt.loop, &rt.sig_term);
    ev_signal_stop(rt.loop, &rt.sig_int);
    ev_signal_stop(rt.loop, &rt.sig_usr1);
    ev_async_stop(rt.loop, &rt.worker_exit);
    ev_timer_stop(rt.loop, &rt.reclaim);
    ev_timer_stop(rt.loop, &rt.grace);
    ev_timer_stop(rt.loop, &rt.rebuild);
    ev_timer_stop(rt.loop, &rt.tickets);
    if (rt.conf->global.pid_file != NULL && rc == 0)
        unlink(rt.conf->global.pid_file);
out_binds:
    if (!posted)
        for (size_t i = 0; i < rt.nbinds; i++)
            for (size_t w = 0; w < rt.nworkers; w++)
                close(rt.binds[i].fds[w]);
    for (size_t w = 0; w < inited; w++)
        worker_fini(&rt.workers[w]);
    inited = 0;
    binds_free(rt.binds, rt.nbinds);
    health_monitor_free(rt.hm);
    rt.hm = NULL;
    if (rt.mbox_on)
        health_mailbox_fini(&rt.mbox);
out_workers:
    for (size_t w = 0; w < inited; w++)
        worker_fini(&rt.workers[w]);
    free(rt.workers);
    route_free(atomic_load(&rt.shared.route));
out_qsbr:
    qsbr_fini(&rt.shared.qsbr);
out:
    tls_set_free(rt.tls); /* after every snapshot that borrows from it */
    route_counters_free(&rt.counters);
    if (rt.loop != NULL)
        ev_loop_destroy(rt.loop);
    conf_free(rt.conf);
    return rc;
}
