/*
 * conf_internal: the state of one conf_load() call, shared by the reader
 * (conf_load.c), the key tables (conf_keys.c) and the cross-checks
 * (conf_validate.c). Not for use outside src/conf.
 */
#ifndef RAFTLB_CONF_INTERNAL_H
#define RAFTLB_CONF_INTERNAL_H

#include <stdbool.h>
#include <stdio.h>

#include "conf/conf.h"

enum conf_sect {
    CONF_SECT_NONE = 0, /* before the first section header */
    CONF_SECT_GLOBAL,
    CONF_SECT_FRONTEND,
    CONF_SECT_POOL,
    CONF_SECT_CLUSTER,
    CONF_SECT_ADMIN,
    CONF_SECT_SKIP, /* a bad or repeated header: its keys are not checked */
    CONF_SECT_COUNT
};

#define CONF_KEYS_MAX 32 /* keys of the largest section table */

/* Line of the first occurrence of each key of a section (0: not given), indexed
 * like the section's key table. */
struct conf_keylines {
    int line[CONF_KEYS_MAX];
};

struct conf_loader;
struct conf_key;

typedef int (*conf_key_set_fn)(struct conf_loader *L, const struct conf_key *k,
                               void *base, const char *value, char *err, size_t errlen);

/* One key of a section: its setter writes the value at `off` in the section's struct
 * and returns 0, or -1 with a message in err ("expected ..."); a setter that
 * reports its own messages (several per line) returns -2. */
struct conf_key {
    const char *name;
    conf_key_set_fn set;
    size_t off;
    uint64_t min, max;
    const char *const *names; /* enumerations */
    size_t name_count;
    bool repeatable;
};

struct conf_msg {
    int line;
    size_t seq;
    char *text;
};

struct conf_loader {
    const char *path;
    char *dir; /* directory of path with a trailing '/', or "" */
    struct conf *conf;
    FILE *fp;
    int lineno;
    char line[1024];
    enum conf_sect sect;
    size_t index;               /* of the current frontend or pool */
    struct conf_keylines *keys; /* of the current section */
    struct conf_keylines global_keys, cluster_keys, admin_keys;
    struct conf_keylines *fe_keys;   /* parallel to conf->frontends */
    struct conf_keylines *pool_keys; /* parallel to conf->pools */
    int global_line;
    struct conf_msg *msgs;
    size_t msg_count, msg_cap;
    bool oom;
};

/* Adds "PATH:LINE: message" (or "PATH: message" when line is 0). */
void conf_report(struct conf_loader *L, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The key table of a section kind, and the index of `name` in it (-1: none). */
const struct conf_key *conf_keys_of(enum conf_sect s, size_t *count);
int conf_key_index(enum conf_sect s, const char *name);
const char *conf_sect_name(enum conf_sect s);

/* Defaults of a new section, as documented in conf.h. 0 or -1 (out of memory). */
int conf_global_defaults(struct conf_global *g);
int conf_frontend_defaults(struct conf_frontend *f);
int conf_pool_defaults(struct conf_pool *p);
void conf_cluster_defaults(struct conf_cluster *c);

/* The cross-section checks, once the whole file is read. */
void conf_validate(struct conf_loader *L);

/* Joins a relative path to the directory of the configuration file; NULL: no memory. */
char *conf_resolve_path(const struct conf_loader *L, const char *path);

#endif
