/*
 * conf_load: reads a configuration file with inih and collects every problem.
 *
 * inih (Debian's libinih) calls the handler without line numbers, glues indented
 * lines onto the previous value, limits lines to INI_MAX_LINE and does not report
 * section headers. So the lines go through our own reader first: it counts them,
 * rejects over-long lines and lines that are neither "key = value", a comment nor a
 * section header, parses section headers itself, and strips leading blanks, which
 * makes indentation insignificant (there are no continuation lines in raftlb: an
 * indented "key = value" is an ordinary key). inih then only splits "key = value"
 * and removes inline "; comments"; its handler runs right after the reader returned
 * the line, so `lineno` is the key's line.
 *
 * Must not: print, exit, or keep a partial configuration on failure.
 */
#define _POSIX_C_SOURCE 200809L

#include "conf/conf_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf/conf_value.h"

void conf_report(struct conf_loader *L, int line, const char *fmt, ...)
{
    char msg[768];
    char *text;
    va_list ap;
    int n;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (L->msg_count == L->msg_cap) {
        size_t cap = L->msg_cap ? 2 * L->msg_cap : 16;
        struct conf_msg *m = realloc(L->msgs, cap * sizeof(*m));
        if (m == NULL) {
            L->oom = true;
            return;
        }
        L->msgs = m;
        L->msg_cap = cap;
    }
    n = line > 0 ? snprintf(NULL, 0, "%s:%d: %s", L->path, line, msg)
                 : snprintf(NULL, 0, "%s: %s", L->path, msg);
    text = malloc((size_t)n + 1);
    if (text == NULL) {
        L->oom = true;
        return;
    }
    if (line > 0)
        snprintf(text, (size_t)n + 1, "%s:%d: %s", L->path, line, msg);
    else
        snprintf(text, (size_t)n + 1, "%s: %s", L->path, msg);
    L->msgs[L->msg_count].line = line;
    L->msgs[L->msg_count].seq = L->msg_count;
    L->msgs[L->msg_count].text = text;
    L->msg_count++;
}

char *conf_resolve_path(const struct conf_loader *L, const char *path)
{
    size_t a, b;
    char *out;

    if (path[0] == '/' || L->dir[0] == '\0')
        return strdup(path);
    a = strlen(L->dir);
    b = strlen(path);
    out = malloc(a + b + 1);
    if (out == NULL)
        return NULL;
    memcpy(out, L->dir, a);
    memcpy(out + a, path, b + 1);
    return out;
}

static const char *const sect_types[] = {"global", "frontend", "pool", "cluster",
                                         "admin"};

static int add_frontend(struct conf_loader *L, const char *name, int line)
{
    struct conf *c = L->conf;
    size_t n = c->frontend_count;
    struct conf_frontend *f = realloc(c->frontends, (n + 1) * sizeof(*f));
    struct conf_keylines *k;

    if (f == NULL)
        return -1;
    c->frontends = f;
    k = realloc(L->fe_keys, (n + 1) * sizeof(*k));
    if (k == NULL)
        return -1;
    L->fe_keys = k;
    memset(&f[n], 0, sizeof(f[n]));
    memset(&k[n], 0, sizeof(k[n]));
    c->frontend_count++;
    if (conf_frontend_defaults(&f[n]) != 0)
        return -1;
    strcpy(f[n].name, name);
    f[n].line = line;
    L->index = n;
    L->keys = &k[n];
    return 0;
}

static int add_pool(struct conf_loader *L, const char *name, int line)
{
    struct conf *c = L->conf;
    size_t n = c->pool_count;
    struct conf_pool *p = realloc(c->pools, (n + 1) * sizeof(*p));
    struct conf_keylines *k;

    if (p == NULL)
        return -1;
    c->pools = p;
    k = realloc(L->pool_keys, (n + 1) * sizeof(*k));
    if (k == NULL)
        return -1;
    L->pool_keys = k;
    memset(&p[n], 0, sizeof(p[n]));
    memset(&k[n], 0, sizeof(k[n]));
    c->pool_count++;
    if (conf_pool_defaults(&p[n]) != 0)
        return -1;
    strcpy(p[n].name, name);
    p[n].line = line;
    L->index = n;
    L->keys = &k[n];
    return 0;
}

/* Handles "[type]" or "[type NAME]" at `p` (leading blanks removed). */
static void section_header(struct conf_loader *L, char *p)
{
    char *close = strchr(p, ']');
    char *type, *name, *rest, *end;
    int kind = -1, line = L->lineno;
    char err[256];

    L->sect = CONF_SECT_SKIP;
    L->keys = NULL;
    if (close == NULL) {
        conf_report(L, line, "section header without ']'");
        return;
    }
    rest = close + 1;
    while (*rest == ' ' || *rest == '\t')
        rest++;
    if (*rest != '\0' && *rest != ';' && *rest != '#') {
        conf_report(L, line, "unexpected text after ']': '%s'", rest);
        return;
    }
    *close = '\0';
    type = p + 1;
    while (*type == ' ' || *type == '\t')
        type++;
    end = type;
    while (*end && *end != ' ' && *end != '\t')
        end++;
    name = end;
    while (*name == ' ' || *name == '\t')
        name++;
    *end = '\0';
    end = name;
    while (*end && *end != ' ' && *end != '\t')
        end++;
    rest = end;
    while (*rest == ' ' || *rest == '\t')
        rest++;
    *end = '\0';
    if (*rest != '\0') {
        conf_report(L, line, "a section header is [TYPE] or [TYPE NAME], got extra '%s'",
                    rest);
        return;
    }
    for (size_t i = 0; i < sizeof(sect_types) / sizeof(sect_types[0]); i++)
        if (strcmp(type, sect_types[i]) == 0)
            kind = (int)i + CONF_SECT_GLOBAL;
    if (*type == '\0') {
        conf_report(L, line, "empty section header []");
        return;
    }
    if (kind < 0) {
        const char *near = conf_value_suggest(type, sect_types, 5);
        if (near != NULL)
            conf_report(L, line, "unknown section '%s' (did you mean '%s'?)", type, near);
        else
            conf_report(
                L, line,
                "unknown section '%s' (expected global, frontend NAME, pool NAME, "
                "cluster or admin)",
                type);
        return;
    }
    if (kind == CONF_SECT_FRONTEND || kind == CONF_SECT_POOL) {
        if (*name == '\0') {
            conf_report(L, line, "section [%s] needs a name: [%s NAME]", type, type);
            return;
        }
        if (conf_value_name(name, CONF_NAME_MAX, err, sizeof(err)) != 0) {
            conf_report(L, line, "[%s]: %s", type, err);
            return;
        }
        if (kind == CONF_SECT_FRONTEND) {
            for (size_t i = 0; i < L->conf->frontend_count; i++)
                if (strcmp(L->conf->frontends[i].name, name) == 0) {
                    conf_report(L, line, "duplicate frontend '%s' (first at line %d)",
                                name, L->conf->frontends[i].line);
                    return;
                }
            if (add_frontend(L, name, line) != 0) {
                L->oom = true;
                return;
            }
        } else {
            for (size_t i = 0; i < L->conf->pool_count; i++)
                if (strcmp(L->conf->pools[i].name, name) == 0) {
                    conf_report(L, line, "duplicate pool '%s' (first at line %d)", name,
                                L->conf->pools[i].line);
                    return;
                }
            if (add_pool(L, name, line) != 0) {
                L->oom = true;
                return;
            }
        }
        L->sect = (enum conf_sect)kind;
        return;
    }
    if (*name != '\0') {
        conf_report(L, line, "section [%s] takes no name, got '%s'", type, name);
        return;
    }
    {
        int *first = kind == CONF_SECT_GLOBAL    ? &L->global_line
                     : kind == CONF_SECT_CLUSTER ? &L->conf->cluster.line
                                                 : &L->conf->admin.line;
        if (*first != 0) {
            conf_report(L, line, "section [%s] repeated (first at line %d)", type,
                        *first);
            return;
        }
        *first = line;
    }
    if (kind == CONF_SECT_GLOBAL) {
        L->keys = &L->global_keys;
    } else if (kind == CONF_SECT_CLUSTER) {
        L->conf->cluster.enabled = true;
        L->keys = &L->cluster_keys;
    } else {
        L->conf->admin.enabled = true;
        L->keys = &L->admin_keys;
    }
    L->sect = (enum conf_sect)kind;
}

/* inih's reader callback (fgets semantics): returns the next line, cleaned as the
 * file comment says, or NULL at the end of the file. */
static char *read_line(char *str, int num, void *stream)
{
    struct conf_loader *L = stream;
    size_t len = 0, max = num > 2 ? (size_t)num - 2 : 0;
    bool any = false, nul = false;
    char *p, *q;
    int c;

    while ((c = getc(L->fp)) != EOF) {
        any = true;
        if (c == '\n')
            break;
        if (c == '\0')
            nul = true;
        if (len < sizeof(L->line) - 1)
            L->line[len] = (char)c;
        len++;
    }
    if (!any)
        return NULL;
    L->lineno++;
    if (len > 0 && len < sizeof(L->line) && L->line[len - 1] == '\r')
        len--;
    L->line[len < sizeof(L->line) ? len : sizeof(L->line) - 1] = '\0';
    strcpy(str, "\n");
    if (nul) {
        conf_report(L, L->lineno, "line contains a NUL byte");
        return str;
    }
    p = L->line;
    if (L->lineno == 1 && memcmp(p, "\xEF\xBB\xBF", 3) == 0) {
        p += 3;
        len -= 3;
    }
    if (len > max) {
        conf_report(L, L->lineno, "line too long (%zu characters, at most %zu)", len,
                    max);
        return str;
    }
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p == '\0' || *p == ';' || *p == '#')
        return str;
    if (*p == '[') {
        section_header(L, p);
        return str;
    }
    /* Where inih will split the line: the first '=' or ':', unless a "; comment"
     * (a ';' after a blank) comes first. */
    for (q = p; *q; q++) {
        if (*q == '=' || *q == ':')
            break;
        if (*q == ';' && q > p && (q[-1] == ' ' || q[-1] == '\t')) {
            q = p + strlen(p);
            break;
        }
    }
    if (*q != '=') {
        conf_report(L, L->lineno,
                    "expected 'key = value', '[section]' or a comment, got '%s'", p);
        return str;
    }
    if (q == p) {
        conf_report(L, L->lineno, "a key name is missing before '='");
        return str;
    }
    snprintf(str, (size_t)num, "%s\n", p);
    return str;
}

static void show_section(const struct conf_loader *L, char *buf, size_t len)
{
    if (L->sect == CONF_SECT_FRONTEND)
        snprintf(buf, len, "[frontend %s]", L->conf->frontends[L->index].name);
    else if (L->sect == CONF_SECT_POOL)
        snprintf(buf, len, "[pool %s]", L->conf->pools[L->index].name);
    else
        snprintf(buf, len, "[%s]", conf_sect_name(L->sect));
}

static void *section_base(struct conf_loader *L)
{
    switch (L->sect) {
    case CONF_SECT_GLOBAL:
        return &L->conf->global;
    case CONF_SECT_FRONTEND:
        return &L->conf->frontends[L->index];
    case CONF_SECT_POOL:
        return &L->conf->pools[L->index];
    case CONF_SECT_CLUSTER:
        return &L->conf->cluster;
    case CONF_SECT_ADMIN:
        return &L->conf->admin;
    default:
        return NULL;
    }
}

static void unknown_key(struct conf_loader *L, const char *name)
{
    const char *cands[CONF_KEYS_MAX];
    const struct conf_key *keys;
    const char *near;
    char where[CONF_NAME_MAX + 16];
    size_t n;

    keys = conf_keys_of(L->sect, &n);
    for (size_t i = 0; i < n; i++)
        cands[i] = keys[i].name;
    show_section(L, where, sizeof(where));
    near = conf_value_suggest(name, cands, n);
    if (near != NULL) {
        conf_report(L, L->lineno, "unknown key '%s' in %s (did you mean '%s'?)", name,
                    where, near);
        return;
    }
    for (int s = CONF_SECT_GLOBAL; s <= CONF_SECT_ADMIN; s++) {
        if (s != (int)L->sect && conf_key_index((enum conf_sect)s, name) >= 0) {
            conf_report(L, L->lineno, "unknown key '%s' in %s (it belongs in [%s%s])",
                        name, where, conf_sect_name((enum conf_sect)s),
                        s == CONF_SECT_FRONTEND || s == CONF_SECT_POOL ? " NAME" : "");
            return;
        }
    }
    /* A near miss of a key of another section ("timeout_clinet" in a pool). */
    for (int s = CONF_SECT_GLOBAL; s <= CONF_SECT_ADMIN; s++) {
        if (s == (int)L->sect)
            continue;
        keys = conf_keys_of((enum conf_sect)s, &n);
        for (size_t i = 0; i < n; i++)
            cands[i] = keys[i].name;
        near = conf_value_suggest(name, cands, n);
        if (near != NULL) {
            conf_report(L, L->lineno,
                        "unknown key '%s' in %s (did you mean '%s' of [%s%s]?)", name,
                        where, near, conf_sect_name((enum conf_sect)s),
                        s == CONF_SECT_FRONTEND || s == CONF_SECT_POOL ? " NAME" : "");
            return;
        }
    }
    conf_report(L, L->lineno, "unknown key '%s' in %s", name, where);
}

static int on_key(void *user, const char *section, const char *name, const char *value)
{
    struct conf_loader *L = user;
    const struct conf_key *keys;
    char err[512];
    size_t n;
    int i, rc;

    (void)section;
    if (L->sect == CONF_SECT_SKIP)
        return 1;
    if (L->sect == CONF_SECT_NONE) {
        conf_report(L, L->lineno, "key '%s' comes before any [section]", name);
        return 1;
    }
    i = conf_key_index(L->sect, name);
    if (i < 0) {
        unknown_key(L, name);
        return 1;
    }
    keys = conf_keys_of(L->sect, &n);
    if (L->keys->line[i] != 0 && !keys[i].repeatable) {
        conf_report(L, L->lineno, "key '%s' repeated (first at line %d)", name,
                    L->keys->line[i]);
        return 1;
    }
    if (L->keys->line[i] == 0)
        L->keys->line[i] = L->lineno;
    err[0] = '\0';
    rc = keys[i].set(L, &keys[i], section_base(L), value, err, sizeof(err));
    if (rc == -1)
        conf_report(L, L->lineno, "%s: %s", name, err);
    return 1;
}

static int msg_cmp(const void *a, const void *b)
{
    const struct conf_msg *x = a, *y = b;

    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void free_strs(char **a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(a[i]);
}

void conf_free(struct conf *c)
{
    if (c == NULL)
        return;
    free(c->path);
    free(c->global.error_log);
    free(c->global.access_log);
    free(c->global.pid_file);
    for (size_t i = 0; i < c->frontend_count; i++) {
        struct conf_frontend *f = &c->frontends[i];
        free(f->binds);
        for (size_t j = 0; j < f->cert_count; j++) {
            free(f->certs[j].cert_file);
            free(f->certs[j].key_file);
        }
        free(f->certs);
        free(f->tls_ciphers);
        free(f->tls_min_version);
    }
    free(c->frontends);
    for (size_t i = 0; i < c->pool_count; i++) {
        struct conf_pool *p = &c->pools[i];
        char *s[] = {p->health_method, p->health_path, p->health_host, p->health_body};
        free_strs(s, 4);
        for (size_t j = 0; j < p->server_count; j++) {
            free(p->servers[j].tls_ca_file);
            free(p->servers[j].tls_sni);
        }
        free(p->servers);
    }
    free(c->pools);
    {
        struct conf_cluster *k = &c->cluster;
        char *s[] = {k->data_dir, k->secret_file, k->vip, k->on_leader, k->on_follower};
        free_strs(s, 5);
        free(k->peers);
    }
    free(c->admin.token_file);
    free(c);
}

void conf_diag_free(struct conf_diag *diag)
{
    if (diag == NULL)
        return;
    free_strs(diag->msgs, diag->count);
    free(diag->msgs);
    diag->msgs = NULL;
    diag->count = 0;
}

/* Moves the messages, sorted by line, into diag. Returns -1 if none could be
 * given (out of memory). */
static int move_msgs(struct conf_loader *L, struct conf_diag *diag)
{
    char **msgs;

    qsort(L->msgs, L->msg_count, sizeof(*L->msgs), msg_cmp);
    msgs = malloc((L->msg_count ? L->msg_count : 1) * sizeof(*msgs));
    if (msgs == NULL)
        return -1;
    for (size_t i = 0; i < L->msg_count; i++) {
        msgs[i] = L->msgs[i].text;
        L->msgs[i].text = NULL;
    }
    diag->msgs = msgs;
    diag->count = L->msg_count;
    return 0;
}

static int init_loader(struct conf_loader *L, const char *path)
{
    const char *slash = strrchr(path, '/');
    size_t dlen = slash ? (size_t)(slash - path) + 1 : 0;

    memset(L, 0, sizeof(*L));
    L->path = path;
    L->dir = malloc(dlen + 1);
    L->conf = calloc(1, sizeof(*L->conf));
    if (L->dir == NULL || L->conf == NULL)
        return -1;
    memcpy(L->dir, path, dlen);
    L->dir[dlen] = '\0';
    L->conf->path = strdup(path);
    if (L->conf->path == NULL || conf_global_defaults(&L->conf->global) != 0)
        return -1;
    conf_cluster_defaults(&L->conf->cluster);
    return 0;
}

int conf_load(const char *path, struct conf **out, struct conf_diag *diag)
{
    struct conf_loader L;
    struct stat st;
    int rc = -1, ini_rc, fd;

    *out = NULL;
    if (init_loader(&L, path) != 0) {
        L.oom = true;
        goto done;
    }
    /* O_NONBLOCK: opening a FIFO must not wait for a writer. */
    fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd == -1) {
        conf_report(&L, 0, "cannot open: %s", strerror(errno));
        goto done;
    }
    if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
        conf_report(&L, 0, "not a regular file");
        close(fd);
        goto done;
    }
    L.fp = fdopen(fd, "r");
    if (L.fp == NULL) {
        close(fd);
        L.oom = true;
        goto done;
    }
    errno = 0;
    ini_rc = ini_parse_stream(read_line, &L, on_key, &L);
    if (ferror(L.fp)) {
        conf_report(&L, 0, "read error after line %d: %s", L.lineno, strerror(errno));
        goto done;
    }
    if (ini_rc == -2)
        L.oom = true;
    else if (ini_rc > 0 && L.msg_count == 0)
        conf_report(&L, ini_rc, "syntax error");
    if (!L.oom)
        conf_validate(&L);
done:
    if (L.fp != NULL)
        fclose(L.fp);
    if (L.oom)
        conf_report(&L, 0, "out of memory");
    if (L.msg_count == 0 && !L.oom) {
        *out = L.conf;
        L.conf = NULL;
        rc = 0;
    } else if (move_msgs(&L, diag) != 0) {
        rc = -1;
    }
    for (size_t i = 0; i < L.msg_count; i++)
        free(L.msgs[i].text);
    free(L.msgs);
    free(L.fe_keys);
    free(L.pool_keys);
    free(L.dir);
    conf_free(L.conf);
    return rc;
}

const struct conf_pool *conf_find_pool(const struct conf *conf, const char *name)
{
    for (size_t i = 0; i < conf->pool_count; i++)
        if (strcmp(conf->pools[i].name, name) == 0)
            return &conf->pools[i];
    return NULL;
}
