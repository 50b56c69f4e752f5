/*
 * runtime: the main thread of a running raftlb. It owns the configuration, the
 * listening sockets (opened here, handed to the workers), the routing snapshots
 * (built and published here, freed through qsbr), the TLS contexts (a tls_set
 * built at start and at each reload, retired through qsbr with the snapshots that
 * borrow from it; ticket keys rotated hourly) and the workers. Signals are
 * handled only here, in the main loop: SIGHUP reloads, SIGTERM/SIGINT drain and
 * exit, SIGUSR1 re-opens the log files.
 *
 * Must not: run on the request path; exit the process (main() decides).
 */
#ifndef RAFTLB_NET_RUNTIME_H
#define RAFTLB_NET_RUNTIME_H

#include <stddef.h>

#include "conf/conf.h"

/* Called once per problem with a "FILE:LINE: message" text. */
typedef void (*runtime_report_fn)(void *arg, const char *msg);

/*
 * Checks that this build can run `conf` (beyond what conf_load validates): every
 * frontend's mode has a session type, TLS is asked for only where it runs (mode =
 * tcp frontends and servers of pools no mode = http frontend uses: HTTP mode has
 * no TLS yet), no bind address is used twice. Reports every problem; returns 0
 * when there is none, else -1. The certificates themselves are checked by
 * tls_conf_check()/tls_set_new().
 */
int runtime_check_supported(const struct conf *conf, runtime_report_fn report, void *arg);

/*
 * Runs raftlb in the foreground on `conf`, loaded from `path`, until SIGTERM or
 * SIGINT has drained it. Takes ownership of `conf`. Returns 0 after a clean stop,
 * or -1 when it could not start (the reason is in err and in the error log).
 */
int runtime_run(const char *path, struct conf *conf, char *err, size_t errlen);

#endif
