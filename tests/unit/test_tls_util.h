/*
 * test_tls_util: helpers shared by the tls unit tests (test_tls_util.c): a
 * temporary directory, certificates made with the openssl command, a collector
 * of reported messages, and frontends/servers built by hand. Test code only.
 */
#ifndef RAFTLB_TEST_TLS_UTIL_H
#define RAFTLB_TEST_TLS_UTIL_H

#include <stdbool.h>
#include <stddef.h>

#include "conf/conf.h"

#define TT_MSGS_MAX 16
struct tt_msgs {
    char msgs[TT_MSGS_MAX][600];
    size_t count;
};
int tt_setup_dir(void);
void tt_cleanup_dir(void);
const char *tt_path(const char *name);
int tt_make_ca(const char *name, const char *cn);
int tt_make_cert(const char *name, const char *cn, const char *san, const char *ca);
int tt_write_file(const char *name, const char *text);
int tt_concat(const char *out, const char *a, const char *b);
void tt_collect(void *arg, const char *msg);
void tt_frontend(struct conf_frontend *fe, struct conf_tls_cert *certs, size_t n,
                 const char *const *files, const int *lines);
void tt_server(struct conf_server *s, const char *addr, const char *ca, const char *sni,
               bool verify);

#endif
