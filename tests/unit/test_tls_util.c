/*
 * Helpers shared by the tls unit tests (compiled into each of them): a temporary
 * directory, certificates made with the openssl command, a collector of reported
 * messages, and frontends/servers built by hand. Test code only.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/conf.h"

#include "test_tls_util.h"

static char dir[256];

int tt_setup_dir(void)
{
    const char *tmp = getenv("TMPDIR");

    if (system("openssl version >/dev/null 2>&1") != 0)
        return 77;
    snprintf(dir, sizeof(dir), "%s/raftlb-tls-XXXXXX", tmp != NULL ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL)
        return -1;
    return 0;
}

void tt_cleanup_dir(void)
{
    char cmd[300];

    if (dir[0] == '\0')
        return;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
    dir[0] = '\0';
}

const char *tt_path(const char *name)
{
    static char bufs[8][400];
    static unsigned next;
    char *b = bufs[next++ % 8];

    snprintf(b, sizeof(bufs[0]), "%s/%s", dir, name);
    return b;
}

static int run(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    return system(cmd) == 0 ? 0 : -1;
}

int tt_make_ca(const char *name, const char *cn)
{
    return run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
               "-days 2 -subj '/CN=%s' -keyout '%s/%s.key' -out '%s/%s.pem' "
               "-addext basicConstraints=critical,CA:TRUE "
               "-addext keyUsage=critical,keyCertSign,cRLSign >/dev/null 2>&1",
               cn, dir, name, dir, name);
}

int tt_make_cert(const char *name, const char *cn, const char *san, const char *ca)
{
    char san_opt[600] = "";
    char ca_opt[600] = "";

    if (san != NULL)
        snprintf(san_opt, sizeof(san_opt), "-addext 'subjectAltName=%s'", san);
    if (ca != NULL)
        snprintf(ca_opt, sizeof(ca_opt), "-CA '%s/%s.pem' -CAkey '%s/%s.key'", dir, ca,
                 dir, ca);
    return run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
               "-days 2 -subj '/CN=%s' -keyout '%s/%s.key' -out '%s/%s.pem' %s %s "
               ">/dev/null 2>&1",
               cn, dir, name, dir, name, san_opt, ca_opt);
}

int tt_write_file(const char *name, const char *text)
{
    FILE *f = fopen(tt_path(name), "w");

    if (f == NULL)
        return -1;
    fputs(text, f);
    return fclose(f) == 0 ? 0 : -1;
}

/* out = a followed by b (a certificate and its chain) */
int tt_concat(const char *out, const char *a, const char *b)
{
    return run("cat '%s/%s' '%s/%s' > '%s/%s'", dir, a, dir, b, dir, out);
}

void tt_collect(void *arg, const char *msg)
{
    struct tt_msgs *m = arg;

    if (m->count < TT_MSGS_MAX)
        snprintf(m->msgs[m->count], sizeof(m->msgs[0]), "%s", msg);
    m->count++;
}

void tt_frontend(struct conf_frontend *fe, struct conf_tls_cert *certs, size_t n,
                 const char *const *files, const int *lines)
{
    memset(fe, 0, sizeof(*fe));
    snprintf(fe->name, sizeof(fe->name), "web");
    fe->mode = CONF_MODE_HTTP;
    fe->line = 3;
    fe->tls_min_version = "1.2";
    fe->timeout_tls_handshake_ms = 10000;
    fe->tls_session_cache = 20000;
    for (size_t i = 0; i < n; i++) {
        /* files[2i] and files[2i+1]: names in the temporary directory; the
         * slots rotate so that a few frontends can live side by side */
        static char paths[32][2][400];
        static unsigned next;
        char(*p)[400] = paths[next++ % 32];
        snprintf(p[0], sizeof(p[0]), "%s/%s", dir, files[2 * i]);
        snprintf(p[1], sizeof(p[1]), "%s/%s", dir, files[2 * i + 1]);
        certs[i].cert_file = p[0];
        certs[i].key_file = p[1];
        certs[i].line = lines[i];
    }
    fe->certs = certs;
    fe->cert_count = n;
}

void tt_server(struct conf_server *s, const char *addr, const char *ca, const char *sni,
               bool verify)
{
    static char ca_file[8][400];
    static unsigned next;

    memset(s, 0, sizeof(*s));
    snprintf(s->name, sizeof(s->name), "web1");
    snprintf(s->addr.text, sizeof(s->addr.text), "%s", addr);
    s->weight = 1;
    s->tls = true;
    s->tls_verify = verify;
    if (ca != NULL) {
        char *b = ca_file[next++ % 8];
        snprintf(b, sizeof(ca_file[0]), "%s/%s.pem", dir, ca);
        s->tls_ca_file = b;
    }
    s->tls_sni = (char *)sni;
    s->line = 7;
}
