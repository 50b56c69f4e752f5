/*
 * raftlb: the command line. Loads and checks the configuration, then hands over
 * to the runtime (src/net/runtime.c), which runs in the foreground until SIGTERM.
 * The only place that prints to stdout and chooses the exit status.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "net/runtime.h"
#include "tls/tls_ctx.h"
#include "util/log.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: raftlb -c FILE       run in the foreground with configuration FILE\n"
            "       raftlb -t -c FILE    check FILE: print every problem as FILE:LINE: "
            "message\n"
            "                            and exit 1, or print \"FILE: configuration OK\"\n"
            "       raftlb -V            print the version\n"
            "       raftlb -h            print this help\n"
            "signals: SIGHUP reloads FILE, SIGTERM drains and stops, SIGUSR1 reopens "
            "the log files\n");
}

static void report_stderr(void *arg, const char *msg)
{
    (void)arg;
    fprintf(stderr, "%s\n", msg);
}

int main(int argc, char **argv)
{
    const char *path = NULL;
    bool test = false;
    struct conf *conf = NULL;
    struct conf_diag diag = {0};
    char err[1024] = "";
    int opt;

    while ((opt = getopt(argc, argv, "c:thV")) != -1) {
        switch (opt) {
        case 'c':
            path = optarg;
            break;
        case 't':
            test = true;
            break;
        case 'V':
            printf("raftlb %s\n", PACKAGE_VERSION);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "raftlb: unexpected argument: %s\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    if (path == NULL) {
        fprintf(stderr, "raftlb: no configuration file (-c FILE)\n");
        usage(stderr);
        return 2;
    }
    if (conf_load(path, &conf, &diag) != 0) {
        for (size_t i = 0; i < diag.count; i++)
            fprintf(stderr, "%s\n", diag.msgs[i]);
        if (diag.count == 0)
            fprintf(stderr, "%s: cannot be loaded\n", path);
        conf_diag_free(&diag);
        return 1;
    }
    conf_diag_free(&diag);
    /* certificates, keys, CA files, cipher lists: what conf_load cannot see */
    if (tls_conf_check(conf, report_stderr, NULL) != 0) {
        if (!test)
            fprintf(stderr, "raftlb: not starting\n");
        conf_free(conf);
        return 1;
    }
    /* what this build can run: -t says what starting would say */
    if (runtime_check_supported(conf, report_stderr, NULL) != 0) {
        if (!test)
            fprintf(stderr, "raftlb: not starting\n");
        conf_free(conf);
        return 1;
    }
    if (test) {
        printf("%s: configuration OK\n", path);
        conf_free(conf);
        return 0;
    }
    if (runtime_run(path, conf, err, sizeof(err)) != 0) {
        fprintf(stderr, "raftlb: %s\n", err);
        log_shutdown();
        return 1;
    }
    log_shutdown();
    return 0;
}
