/*
 * raft_storage: segmented, checksummed Raft log, hard state and snapshot files in
 * one directory (format and recovery rules in raft_storage.h). Everything that
 * changes the disk goes through struct raft_storage_io; directory listing, fstat,
 * mkdir and flock are called directly (reads and set-up, not under test).
 *
 * Memory: the entries after the snapshot and the snapshot image are kept in
 * memory (the core is given them at start and compaction keeps the log short), so
 * reads never touch the disk and keep working in the FAILED state.
 */
#include "config.h"

#include "raft/raft_storage.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "raft/raft_crc32c.h"

#define META_MAGIC                0x4D424C52u /* "RLBM" */
#define SNAP_MAGIC                0x53424C52u /* "RLBS" */
#define SEG_MAGIC                 0x4C424C52u /* "RLBL" */
#define FORMAT_VERSION            1u
#define META_BYTES                28
#define SNAP_HEADER_BYTES         36 /* magic .. conf_len */
#define SEG_HEADER_BYTES          16
#define REC_HEADER_BYTES          32
#define DEFAULT_SEGMENT_MAX_BYTES (8u * 1024 * 1024)
#define DEFAULT_MAX_ENTRY_BYTES   (64u * 1024 * 1024)
#define SEG_NAME_LEN              24 /* "log-" + 20 digits */

struct segment {
    uint64_t first_index;
    uint64_t last_index; /* first_index - 1 while empty */
    uint64_t size_bytes;
    char name[SEG_NAME_LEN + 1];
};

struct raft_storage {
    char *dir;
    const struct raft_storage_io *io;
    uint64_t segment_max_bytes;
    uint32_t max_entry_bytes;
    int lock_fd;
    int seg_fd; /* the last segment, open for appends; -1 if none */

    struct raft_hard_state hs;
    bool has_snapshot;
    struct raft_snapshot snap; /* snap.data owned (snap_data) */
    uint8_t *snap_data;

    struct segment *segs;
    size_t n_segs, segs_cap;

    /* entries[i] has index first_index + i; payloads owned; offsets[i] is the
     * record's offset in its segment. */
    struct raft_entry *entries;
    uint64_t *offsets;
    size_t n_entries, entries_cap;
    uint64_t first_index;

    char **reports;
    size_t n_reports;

    int failed;
    char failure[320];
};

/* ---- small helpers -------------------------------------------------------------- */

static void seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
    if (err == NULL || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static uint64_t get_u64(const uint8_t *p)
{
    return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

static char *path_join(const struct raft_storage *s, const char *name)
{
    size_t n = strlen(s->dir) + 1 + strlen(name) + 1;
    char *p = malloc(n);
    if (p != NULL)
        snprintf(p, n, "%s/%s", s->dir, name);
    return p;
}

static void add_report(struct raft_storage *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void add_report(struct raft_storage *s, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    char **r = realloc(s->reports, (s->n_reports + 1) * sizeof(*r));
    if (r == NULL)
        return; /* a report lost to OOM; the recovery itself went through */
    s->reports = r;
    s->reports[s->n_reports] = strdup(buf);
    if (s->reports[s->n_reports] != NULL)
        s->n_reports++;
}

/* Enters the FAILED state after a write error and returns its code. The message
 * names the operation; errno is read by the caller before anything can clobber it. */
static int storage_fail(struct raft_storage *s, int errnum, char *err, size_t errlen,
                        const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int storage_fail(struct raft_storage *s, int errnum, char *err, size_t errlen,
                        const char *fmt, ...)
{
    char what[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    s->failed =
        (errnum == ENOSPC || errnum == EDQUOT) ? RAFT_STORAGE_ENOSPC : RAFT_STORAGE_EIO;
    snprintf(s->failure, sizeof(s->failure), "%s: %s; storage is read-only until restart",
             what, errnum ? strerror(errnum) : "short write");
    seterr(err, errlen, "%s", s->failure);
    return s->failed;
}

static int check_failed(const struct raft_storage *s, char *err, size_t errlen)
{
    if (!s->failed)
        return 0;
    seterr(err, errlen, "storage failed earlier, refusing writes: %s", s->failure);
    return RAFT_STORAGE_EFAILED;
}

/* Writes all of buf at off, continuing after short writes. Returns 0 or the errno
 * (EIO if the device stops accepting bytes without one). */
static int write_all(const struct raft_storage *s, int fd, const uint8_t *buf, size_t len,
                     uint64_t off)
{
    while (len > 0) {
        ssize_t n = s->io->pwrite(s->io->ctx, fd, buf, len, (off_t)off);
        if (n == -1)
            return errno ? errno : EIO;
        if (n == 0)
            return EIO;
        buf += n;
        len -= (size_t)n;
        off += (uint64_t)n;
    }
    return 0;
}

static int fsync_dir(const struct raft_storage *s)
{
    int fd = s->io->open(s->io->ctx, s->dir, O_RDONLY | O_DIRECTORY, 0);
    if (fd == -1)
        return errno;
    int e = s->io->fsync(s->io->ctx, fd) == -1 ? errno : 0;
    s->io->close(s->io->ctx, fd);
    return e;
}

/* Reads a whole file into a fresh buffer. Returns 0, ENOENT, or another errno. */
static int read_file(const struct raft_storage *s, const char *path, uint8_t **out,
                     size_t *len)
{
    int e = 0;
    uint8_t *buf = NULL;
    struct stat st;
    int fd = s->io->open(s->io->ctx, path, O_RDONLY, 0);
    if (fd == -1)
        return errno;
    if (fstat(fd, &st) == -1) {
        e = errno;
        goto fail;
    }
    buf = malloc(st.st_size > 0 ? (size_t)st.st_size : 1);
    if (buf == NULL) {
        e = ENOMEM;
        goto fail;
    }
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t n =
            s->io->pread(s->io->ctx, fd, buf + got, (size_t)st.st_size - got, (off_t)got);
        if (n == -1) {
            e = errno;
            goto fail;
        }
        if (n == 0)
            break; /* shrank under us: use what is there */
        got += (size_t)n;
    }
    s->io->close(s->io->ctx, fd);
    *out = buf;
    *len = got;
    return 0;
fail:
    free(buf);
    s->io->close(s->io->ctx, fd);
    return e;
}

/* Replaces dir/name atomically with the concatenation of pieces: name.tmp is
 * written and fsynced, renamed over name, and the directory fsynced. Returns 0 or
 * an errno; on error name is untouched (and name.tmp may remain, removed at the
 * next open). */
static int write_atomic(const struct raft_storage *s, const char *name,
                        const uint8_t *const *pieces, const size_t *lens, size_t n_pieces)
{
    char tmp_name[64];
    int e = 0, fd = -1;
    snprintf(tmp_name, sizeof(tmp_name), "%s.tmp", name);
    char *tmp = path_join(s, tmp_name), *dst = path_join(s, name);
    if (tmp == NULL || dst == NULL) {
        e = ENOMEM;
        goto fail;
    }
    fd = s->io->open(s->io->ctx, tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd == -1) {
        e = errno;
        goto fail;
    }
    uint64_t off = 0;
    for (size_t i = 0; i < n_pieces; i++) {
        if ((e = write_all(s, fd, pieces[i], lens[i], off)) != 0)
            goto fail;
        off += lens[i];
    }
    if (s->io->fsync(s->io->ctx, fd) == -1) {
        e = errno;
        goto fail;
    }
    s->io->close(s->io->ctx, fd);
    fd = -1;
    if (s->io->rename(s->io->ctx, tmp, dst) == -1) {
        e = errno;
        goto fail;
    }
    e = fsync_dir(s);
    goto out;
fail:
    if (fd != -1)
        s->io->close(s->io->ctx, fd);
    if (tmp != NULL)
        s->io->unlink(s->io->ctx, tmp); /* best effort; open() removes it otherwise */
out:
    free(tmp);
    free(dst);
    return e;
}

/* ---- in-memory log -------------------------------------------------------- */

static uint64_t mem_last_index(const struct raft_storage *s)
{
    return s->first_index + s->n_entries - 1;
}

static int mem_push(struct raft_storage *s, const struct raft_entry *e, uint64_t off)
{
    if (s->n_entries == s->entries_cap) {
        size_t cap = s->entries_cap ? s->entries_cap * 2 : 64;
        struct raft_entry *ne = realloc(s->entries, cap * sizeof(*ne));
        if (ne == NULL)
            return -1;
        s->entries = ne;
        uint64_t *no = realloc(s->offsets, cap * sizeof(*no));
        if (no == NULL)
            return -1;
        s->offsets = no;
        s->entries_cap = cap;
    }
    uint8_t *p = NULL;
    if (e->payload_len) {
        p = malloc(e->payload_len);
        if (p == NULL)
            return -1;
        memcpy(p, e->payload, e->payload_len);
    }
    struct raft_entry *d = &s->entries[s->n_entries];
    *d = *e;
    d->payload = p;
    s->offsets[s->n_entries] = off;
    s->n_entries++;
    return 0;
}

/* Drops entries with index >= from (from >= first_index). */
static void mem_truncate(struct raft_storage *s, uint64_t from)
{
    while (s->n_entries > 0 && mem_last_index(s) >= from) {
        s->n_entries--;
        free((void *)s->entries[s->n_entries].payload);
    }
}

/* Drops entries with index <= upto and makes upto + 1 the first index. */
static void mem_drop_prefix(struct raft_storage *s, uint64_t upto)
{
    size_t k = 0;
    while (k < s->n_entries && s->entries[k].index <= upto) {
        free((void *)s->entries[k].payload);
        k++;
    }
    memmove(s->entries, s->entries + k, (s->n_entries - k) * sizeof(*s->entries));
    memmove(s->offsets, s->offsets + k, (s->n_entries - k) * sizeof(*s->offsets));
    s->n_entries -= k;
    s->first_index = upto + 1;
}

static void mem_clear(struct raft_storage *s, uint64_t first_index)
{
    mem_truncate(s, 0);
    s->first_index = first_index;
}

/* ---- encoding ------------------------------------------------------------------- */

static void encode_record_header(uint8_t *h, const struct raft_entry *e)
{
    put_u32(h + 8, (uint32_t)e->payload_len);
    put_u32(h + 12, (uint32_t)e->type);
    put_u64(h + 16, e->term);
    put_u64(h + 24, e->index);
    uint32_t rc = raft_crc32c(0, h + 8, REC_HEADER_BYTES - 8);
    rc = raft_crc32c(rc, e->payload, e->payload_len);
    put_u32(h + 4, rc);
    put_u32(h, raft_crc32c(0, h + 4, REC_HEADER_BYTES - 4));
}

static void encode_meta(uint8_t *b, const struct raft_hard_state *hs)
{
    put_u32(b, META_MAGIC);
    put_u32(b + 4, FORMAT_VERSION);
    put_u64(b + 8, hs->term);
    put_u64(b + 16, hs->vote);
    put_u32(b + 24, raft_crc32c(0, b, 24));
}

/* ---- segments ----------------------------------------------------------------- */

static void segment_name(char *out, uint64_t first_index)
{
    snprintf(out, SEG_NAME_LEN + 1, "log-%020" PRIu64, first_index);
}

/* Parses "log-" + exactly 20 digits. */
static bool segment_parse_name(const char *name, uint64_t *first_index)
{
    if (strncmp(name, "log-", 4) != 0 || strlen(name) != SEG_NAME_LEN)
        return false;
    uint64_t v = 0;
    for (const char *p = name + 4; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        uint64_t d = (uint64_t)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *first_index = v;
    return v > 0;
}

static int segs_push(struct raft_storage *s, uint64_t first_index)
{
    if (s->n_segs == s->segs_cap) {
        size_t cap = s->segs_cap ? s->segs_cap * 2 : 8;
        struct segment *n = realloc(s->segs, cap * sizeof(*n));
        if (n == NULL)
            return -1;
        s->segs = n;
        s->segs_cap = cap;
    }
    struct segment *g = &s->segs[s->n_segs++];
    memset(g, 0, sizeof(*g));
    g->first_index = first_index;
    g->last_index = first_index - 1;
    segment_name(g->name, first_index);
    return 0;
}

static int cmp_segs(const void *a, const void *b)
{
    const struct segment *x = a, *y = b;
    return x->first_index < y->first_index ? -1 : x->first_index > y->first_index;
}

static void close_seg_fd(struct raft_storage *s)
{
    if (s->seg_fd != -1)
        s->io->close(s->io->ctx, s->seg_fd);
    s->seg_fd = -1;
}

/* Unlinks segments [from, n_segs), last first. Returns 0 or an errno. The caller
 * fsyncs the directory. */
static int segs_unlink_from(struct raft_storage *s, size_t from)
{
    while (s->n_segs > from) {
        struct segment *g = &s->segs[s->n_segs - 1];
        char *p = path_join(s, g->name);
        if (p == NULL)
            return ENOMEM;
        close_seg_fd(s); /* it belongs to the last segment, removed first */
        int e = s->io->unlink(s->io->ctx, p) == -1 ? errno : 0;
        free(p);
        if (e != 0 && e != ENOENT)
            return e;
        s->n_segs--;
    }
    return 0;
}

/* Opens the last segment for appends if it is not open yet. */
static int open_last_segment(struct raft_storage *s)
{
    if (s->seg_fd != -1 || s->n_segs == 0)
        return 0;
    char *p = path_join(s, s->segs[s->n_segs - 1].name);
    if (p == NULL)
        return ENOMEM;
    s->seg_fd = s->io->open(s->io->ctx, p, O_RDWR, 0);
    int e = s->seg_fd == -1 ? errno : 0;
    free(p);
    return e;
}

/* Creates segment log-<first_index>: header written and fsynced, directory fsynced,
 * before any record goes in. Returns 0 or an errno. */
static int segment_create(struct raft_storage *s, uint64_t first_index)
{
    uint8_t h[SEG_HEADER_BYTES];
    char name[SEG_NAME_LEN + 1];
    int e = 0;
    segment_name(name, first_index);
    char *p = path_join(s, name);
    if (p == NULL)
        return ENOMEM;
    close_seg_fd(s);
    int fd = s->io->open(s->io->ctx, p, O_RDWR | O_CREAT | O_EXCL, 0600);
    free(p);
    if (fd == -1)
        return errno;
    put_u32(h, SEG_MAGIC);
    put_u32(h + 4, FORMAT_VERSION);
    put_u64(h + 8, first_index);
    if ((e = write_all(s, fd, h, sizeof(h), 0)) != 0)
        goto fail;
    if (s->io->fsync(s->io->ctx, fd) == -1) {
        e = errno;
        goto fail;
    }
    if ((e = fsync_dir(s)) != 0)
        goto fail;
    if (segs_push(s, first_index) != 0) {
        e = ENOMEM;
        goto fail;
    }
    s->segs[s->n_segs - 1].size_bytes = SEG_HEADER_BYTES;
    s->seg_fd = fd;
    return 0;
fail:
    s->io->close(s->io->ctx, fd);
    return e;
}

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

/* Loads one segment file. `last` says whether it is the last segment (where a torn
 * tail is possible). `expect` is the index its first record must carry (0: any,
 * for the first segment). Returns 0 or a RAFT_STORAGE_* code with err set.
 * *cut_at receives the offset to truncate the file to (0: no cut). */
static int segment_load(struct raft_storage *s, struct segment *g, bool last,
                        uint64_t expect, uint64_t *prev_term, uint64_t *cut_at, char *err,
                        size_t errlen)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    int rv = 0;
    char *p = path_join(s, g->name);
    *cut_at = 0;
    if (p == NULL)
        return RAFT_STORAGE_ENOMEM;
    int e = read_file(s, p, &buf, &len);
    free(p);
    if (e != 0) {
        seterr(err, errlen, "%s/%s: cannot read: %s", s->dir, g->name, strerror(e));
        return e == ENOMEM ? RAFT_STORAGE_ENOMEM : RAFT_STORAGE_EIO;
    }
    if (len < SEG_HEADER_BYTES || get_u32(buf) != SEG_MAGIC ||
        get_u32(buf + 4) != FORMAT_VERSION || get_u64(buf + 8) != g->first_index) {
        if (last && (len < SEG_HEADER_BYTES || all_zero(buf, len))) {
            /* creation interrupted before its header was durable: a torn segment */
            g->size_bytes = len;
            *cut_at = UINT64_MAX; /* remove the file */
            goto out;
        }
        seterr(err, errlen,
               "%s/%s: offset 0: bad segment header (magic, version or first index "
               "%" PRIu64 " does not match)",
               s->dir, g->name, g->first_index);
        rv = RAFT_STORAGE_ECORRUPT;
        goto out;
    }
    if (expect != 0 && g->first_index != expect) {
        seterr(err, errlen,
               "%s/%s: offset 0: gap in the log: this segment starts at index %" PRIu64
               ", the previous one ends at %" PRIu64,
               s->dir, g->name, g->first_index, expect - 1);
        rv = RAFT_STORAGE_ECORRUPT;
        goto out;
    }
    size_t off = SEG_HEADER_BYTES;
    uint64_t index = g->first_index;
    while (off < len) {
        size_t left = len - off;
        const uint8_t *h = buf + off;
        const char *why = NULL;
        bool torn = false;
        if (left < REC_HEADER_BYTES) {
            why = "record header cut short by the end of the file";
            torn = true;
        } else if (get_u32(h) != raft_crc32c(0, h + 4, REC_HEADER_BYTES - 4)) {
            why = "record header checksum mismatch";
            torn = all_zero(h + REC_HEADER_BYTES, left - REC_HEADER_BYTES);
        } else {
            uint32_t plen = get_u32(h + 8);
            if (plen > s->max_entry_bytes) {
                why = "record length over the maximum entry size";
            } else if ((uint64_t)plen > left - REC_HEADER_BYTES) {
                why = "record cut short by the end of the file";
                torn = true;
            } else {
                uint32_t rc = raft_crc32c(0, h + 8, REC_HEADER_BYTES - 8);
                rc = raft_crc32c(rc, h + REC_HEADER_BYTES, plen);
                if (rc != get_u32(h + 4)) {
                    why = "record checksum mismatch";
                    torn = (uint64_t)plen == left - REC_HEADER_BYTES;
                }
            }
        }
        if (why == NULL) {
            struct raft_entry ent;
            ent.payload_len = get_u32(h + 8);
            uint32_t type = get_u32(h + 12);
            ent.term = get_u64(h + 16);
            ent.index = get_u64(h + 24);
            ent.payload = h + REC_HEADER_BYTES;
            if (type >= RAFT_ENTRY_TYPE_COUNT)
                why = "unknown entry type";
            else if (ent.index != index)
                why = "index out of sequence";
            else if (ent.term < *prev_term)
                why = "term lower than the previous entry's";
            if (why != NULL) {
                seterr(err, errlen,
                       "%s/%s: offset %zu: %s (index %" PRIu64 ", expected %" PRIu64
                       ", term %" PRIu64 ", type %u); refusing to start",
                       s->dir, g->name, off, why, ent.index, index, ent.term, type);
                rv = RAFT_STORAGE_ECORRUPT;
                goto out;
            }
            ent.type = (enum raft_entry_type)type;
            if (s->n_entries == 0)
                s->first_index = ent.index;
            if (mem_push(s, &ent, off) != 0) {
                seterr(err, errlen, "%s/%s: out of memory", s->dir, g->name);
                rv = RAFT_STORAGE_ENOMEM;
                goto out;
            }
            *prev_term = ent.term;
            index++;
            off += REC_HEADER_BYTES + ent.payload_len;
            continue;
        }
        if (!last || !torn) {
            seterr(err, errlen,
                   "%s/%s: offset %zu: %s at index %" PRIu64
                   " with %zu bytes after it%s; "
                   "the log is corrupt, refusing to start",
                   s->dir, g->name, off, why, index, left,
                   last ? "" : " in a segment that is not the last");
            rv = RAFT_STORAGE_ECORRUPT;
            goto out;
        }
        add_report(s,
                   "%s/%s: torn tail: %s at offset %zu (index %" PRIu64 "); %zu bytes "
                   "of an unacknowledged write cut off",
                   s->dir, g->name, why, off, index, left);
        *cut_at = off;
        break;
    }
    g->last_index = index - 1;
    g->size_bytes = *cut_at ? *cut_at : len;
out:
    free(buf);
    return rv;
}

/* ---- metadata and snapshot files --------------------------------------------- */

static int load_metadata(struct raft_storage *s, char *err, size_t errlen)
{
    uint8_t *b = NULL;
    size_t len = 0;
    int rv = 0;
    char *p = path_join(s, "metadata");
    if (p == NULL)
        return RAFT_STORAGE_ENOMEM;
    int e = read_file(s, p, &b, &len);
    if (e == ENOENT) {
        s->hs.term = 0;
        s->hs.vote = 0;
        goto out;
    }
    if (e != 0) {
        seterr(err, errlen, "%s: cannot read: %s", p, strerror(e));
        rv = e == ENOMEM ? RAFT_STORAGE_ENOMEM : RAFT_STORAGE_EIO;
        goto out;
    }
    if (len != META_BYTES || get_u32(b) != META_MAGIC ||
        get_u32(b + 4) != FORMAT_VERSION || get_u32(b + 24) != raft_crc32c(0, b, 24)) {
        seterr(err, errlen,
               "%s: offset 0: %zu bytes that are not a valid metadata file (size, "
               "magic, version or checksum); refusing to start",
               p, len);
        rv = RAFT_STORAGE_ECORRUPT;
        goto out;
    }
    s->hs.term = get_u64(b + 8);
    s->hs.vote = get_u64(b + 16);
out:
    free(b);
    free(p);
    return rv;
}

static int load_snapshot(struct raft_storage *s, char *err, size_t errlen)
{
    uint8_t *b = NULL;
    size_t len = 0;
    int rv = 0;
    const char *why = NULL;
    size_t at = 0;
    char *p = path_join(s, "snapshot");
    if (p == NULL)
        return RAFT_STORAGE_ENOMEM;
    int e = read_file(s, p, &b, &len);
    if (e == ENOENT)
        goto out;
    if (e != 0) {
        seterr(err, errlen, "%s: cannot read: %s", p, strerror(e));
        rv = e == ENOMEM ? RAFT_STORAGE_ENOMEM : RAFT_STORAGE_EIO;
        goto out;
    }
    if (len < SNAP_HEADER_BYTES + 8 + 4) {
        why = "too short";
        goto bad;
    }
    if (get_u32(b) != SNAP_MAGIC || get_u32(b + 4) != FORMAT_VERSION) {
        why = "bad magic or version";
        goto bad;
    }
    if (get_u32(b + len - 4) != raft_crc32c(0, b, len - 4)) {
        why = "checksum mismatch";
        at = len - 4;
        goto bad;
    }
    uint32_t conf_len = get_u32(b + 32);
    at = 32;
    if ((uint64_t)conf_len > len - (SNAP_HEADER_BYTES + 8 + 4)) {
        why = "configuration length overruns the file";
        goto bad;
    }
    char cerr[128];
    at = SNAP_HEADER_BYTES;
    if (raft_configuration_decode(&s->snap.meta.conf, b + SNAP_HEADER_BYTES, conf_len,
                                  cerr, sizeof(cerr)) != 0) {
        why = cerr;
        goto bad;
    }
    at = SNAP_HEADER_BYTES + conf_len;
    uint64_t data_len = get_u64(b + at);
    if (data_len != len - (SNAP_HEADER_BYTES + conf_len + 8 + 4)) {
        why = "data length does not match the file size";
        goto bad;
    }
    s->snap.meta.last_index = get_u64(b + 8);
    s->snap.meta.last_term = get_u64(b + 16);
    s->snap.meta.conf_index = get_u64(b + 24);
    s->snap_data = malloc(data_len ? data_len : 1);
    if (s->snap_data == NULL) {
        rv = RAFT_STORAGE_ENOMEM;
        seterr(err, errlen, "%s: out of memory", p);
        goto out;
    }
    memcpy(s->snap_data, b + at + 8, data_len);
    s->snap.data = s->snap_data;
    s->snap.data_len = data_len;
    s->has_snapshot = true;
    goto out;
bad:
    seterr(err, errlen,
           "%s: offset %zu: not a valid snapshot file: %s; refusing to start", p, at,
           why);
    rv = RAFT_STORAGE_ECORRUPT;
out:
    free(b);
    free(p);
    return rv;
}

/* ---- open / close ---------------------------------------------------------------- */

static int list_dir(struct raft_storage *s, char *err, size_t errlen)
{
    DIR *d = opendir(s->dir);
    if (d == NULL) {
        seterr(err, errlen, "%s: cannot list: %s", s->dir, strerror(errno));
        return RAFT_STORAGE_EIO;
    }
    struct dirent *de;
    int rv = 0;
    while ((de = readdir(d)) != NULL) {
        uint64_t first;
        size_t n = strlen(de->d_name);
        if (n > 4 && strcmp(de->d_name + n - 4, ".tmp") == 0) {
            char *p = path_join(s, de->d_name);
            if (p != NULL && s->io->unlink(s->io->ctx, p) == 0)
                add_report(s,
                           "%s: removed an interrupted replacement (the previous "
                           "file is intact)",
                           p);
            free(p);
        } else if (segment_parse_name(de->d_name, &first)) {
            if (segs_push(s, first) != 0) {
                rv = RAFT_STORAGE_ENOMEM;
                seterr(err, errlen, "%s: out of memory", s->dir);
                break;
            }
        }
    }
    closedir(d);
    if (s->n_segs > 1)
        qsort(s->segs, s->n_segs, sizeof(*s->segs), cmp_segs);
    return rv;
}

static int load_log(struct raft_storage *s, char *err, size_t errlen)
{
    uint64_t prev_term = 0;
    for (size_t i = 0; i < s->n_segs; i++) {
        struct segment *g = &s->segs[i];
        bool last = i + 1 == s->n_segs;
        uint64_t cut_at;
        uint64_t expect = i == 0 ? 0 : s->segs[i - 1].last_index + 1;
        int rv = segment_load(s, g, last, expect, &prev_term, &cut_at, err, errlen);
        if (rv != 0)
            return rv;
        if (!last && g->last_index < g->first_index) {
            seterr(err, errlen,
                   "%s/%s: offset %d: a segment with no entries before the last one; "
                   "refusing to start",
                   s->dir, g->name, SEG_HEADER_BYTES);
            return RAFT_STORAGE_ECORRUPT;
        }
        if (cut_at == 0)
            continue;
        char *p = path_join(s, g->name);
        int e = 0;
        if (p == NULL)
            return RAFT_STORAGE_ENOMEM;
        if (cut_at == UINT64_MAX) {
            add_report(s,
                       "%s: segment of %" PRIu64 " bytes has no complete header (its "
                       "creation was interrupted); removed",
                       p, g->size_bytes);
            if (s->io->unlink(s->io->ctx, p) == -1 || (e = fsync_dir(s)) != 0)
                e = e ? e : errno;
            s->n_segs--;
        } else {
            int fd = s->io->open(s->io->ctx, p, O_RDWR, 0);
            if (fd == -1)
                e = errno;
            else {
                if (s->io->ftruncate(s->io->ctx, fd, (off_t)cut_at) == -1 ||
                    s->io->fsync(s->io->ctx, fd) == -1)
                    e = errno;
                s->io->close(s->io->ctx, fd);
            }
        }
        if (e != 0) {
            seterr(err, errlen, "%s: cannot cut the torn tail: %s", p, strerror(e));
            free(p);
            return e == ENOSPC ? RAFT_STORAGE_ENOSPC : RAFT_STORAGE_EIO;
        }
        free(p);
    }
    return 0;
}

/* Whether the stored log holds the entry (index, term): either in memory, or as
 * the entry just before it (the snapshot, whose term is `before_term`). */
static bool log_holds(const struct raft_storage *s, uint64_t index, uint64_t term,
                      uint64_t before_term)
{
    if (index == s->first_index - 1)
        return term == before_term;
    if (index >= s->first_index && index <= mem_last_index(s))
        return s->entries[index - s->first_index].term == term;
    return false;
}

/* Figure 13 steps 6-7 on the stored log, after the snapshot changed or at open:
 * keep the entries after the snapshot's last entry if the log `holds` it,
 * otherwise drop every segment. Returns 0, -1 (at open: a gap between snapshot
 * and log, err set) or an errno (segments unlinked so far stay unlinked: a
 * removal from the end, safe). */
static int reconcile_with_snapshot(struct raft_storage *s, bool holds, bool at_open,
                                   char *err, size_t errlen)
{
    const struct raft_snapshot_meta *m = &s->snap.meta;
    if (holds) {
        mem_drop_prefix(s, m->last_index);
        return 0;
    }
    if (at_open && s->n_entries > 0 && s->first_index > m->last_index + 1) {
        seterr(err, errlen,
               "%s: gap between the snapshot (last index %" PRIu64 ") and the log "
               "(first index %" PRIu64 "); refusing to start",
               s->dir, m->last_index, s->first_index);
        return -1;
    }
    size_t n_segs = s->n_segs;
    if (at_open && n_segs > 0)
        add_report(s,
                   "%s: the log does not hold the snapshot's last entry (index %" PRIu64
                   ", term %" PRIu64 "): removed %zu segments (an interrupted "
                   "snapshot install)",
                   s->dir, m->last_index, m->last_term, n_segs);
    mem_clear(s, m->last_index + 1);
    int e = segs_unlink_from(s, 0);
    if (e == 0 && n_segs > 0)
        e = fsync_dir(s);
    return e;
}

int raft_storage_open(const char *dir, const struct raft_storage_options *opts,
                      struct raft_storage **out, char *err, size_t errlen)
{
    int rv = 0;
    *out = NULL;
    struct raft_storage *s = calloc(1, sizeof(*s));
    if (s == NULL || (s->dir = strdup(dir)) == NULL) {
        seterr(err, errlen, "out of memory");
        free(s);
        return RAFT_STORAGE_ENOMEM;
    }
    s->io = opts && opts->io ? opts->io : raft_storage_io_posix();
    s->segment_max_bytes = opts && opts->segment_max_bytes ? opts->segment_max_bytes
                                                           : DEFAULT_SEGMENT_MAX_BYTES;
    s->max_entry_bytes =
        opts && opts->max_entry_bytes ? opts->max_entry_bytes : DEFAULT_MAX_ENTRY_BYTES;
    s->lock_fd = -1;
    s->seg_fd = -1;
    s->first_index = 1;

    if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
        seterr(err, errlen, "%s: cannot create: %s", dir, strerror(errno));
        rv = errno == ENOSPC ? RAFT_STORAGE_ENOSPC : RAFT_STORAGE_EIO;
        goto fail;
    }
    char *lock = path_join(s, "LOCK");
    if (lock == NULL) {
        rv = RAFT_STORAGE_ENOMEM;
        goto fail;
    }
    s->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    free(lock);
    if (s->lock_fd == -1) {
        seterr(err, errlen, "%s/LOCK: cannot open: %s", dir, strerror(errno));
        rv = RAFT_STORAGE_EIO;
        goto fail;
    }
    if (flock(s->lock_fd, LOCK_EX | LOCK_NB) == -1) {
        seterr(err, errlen, "%s: in use by another process (LOCK is held)", dir);
        rv = RAFT_STORAGE_ELOCKED;
        goto fail;
    }
    if ((rv = list_dir(s, err, errlen)) != 0 ||
        (rv = load_metadata(s, err, errlen)) != 0 ||
        (rv = load_snapshot(s, err, errlen)) != 0 || (rv = load_log(s, err, errlen)) != 0)
        goto fail;
    if (s->has_snapshot) {
        /* At open the log may start right after the snapshot (appended after an
         * install reset it): that entry "before" is the snapshot itself. */
        bool holds = log_holds(s, s->snap.meta.last_index, s->snap.meta.last_term,
                               s->snap.meta.last_term);
        int e = reconcile_with_snapshot(s, holds, true, err, errlen);
        if (e == -1) {
            rv = RAFT_STORAGE_ECORRUPT;
            goto fail;
        }
        if (e != 0) {
            seterr(err, errlen, "%s: cannot remove the superseded log: %s", dir,
                   strerror(e));
            rv = e == ENOSPC ? RAFT_STORAGE_ENOSPC : RAFT_STORAGE_EIO;
            goto fail;
        }
    } else if (s->n_entries > 0 && s->first_index != 1) {
        seterr(err, errlen,
               "%s/%s: the log starts at index %" PRIu64 " but there is no snapshot; "
               "refusing to start",
               dir, s->segs[0].name, s->first_index);
        rv = RAFT_STORAGE_ECORRUPT;
        goto fail;
    }
    if (s->n_segs > 0 &&
        s->segs[s->n_segs - 1].last_index + 1 != raft_storage_last_index(s) + 1) {
        seterr(err, errlen,
               "%s/%s: the last segment ends at index %" PRIu64 " but the log's last "
               "index is %" PRIu64 "; refusing to start",
               dir, s->segs[s->n_segs - 1].name, s->segs[s->n_segs - 1].last_index,
               raft_storage_last_index(s));
        rv = RAFT_STORAGE_ECORRUPT;
        goto fail;
    }
    *out = s;
    return 0;
fail:
    raft_storage_close(s);
    return rv;
}

void raft_storage_close(struct raft_storage *s)
{
    if (s == NULL)
        return;
    close_seg_fd(s);
    if (s->lock_fd != -1)
        close(s->lock_fd); /* releases the flock */
    mem_truncate(s, 0);
    free(s->entries);
    free(s->offsets);
    free(s->segs);
    free(s->snap_data);
    for (size_t i = 0; i < s->n_reports; i++)
        free(s->reports[i]);
    free(s->reports);
    free(s->dir);
    free(s);
}

/* ---- reads ------------------------------------------------------------------------ */

size_t raft_storage_report_count(const struct raft_storage *s)
{
    return s->n_reports;
}

const char *raft_storage_report(const struct raft_storage *s, size_t i)
{
    return i < s->n_reports ? s->reports[i] : NULL;
}

struct raft_hard_state raft_storage_hard_state(const struct raft_storage *s)
{
    return s->hs;
}

const struct raft_snapshot *raft_storage_snapshot(const struct raft_storage *s)
{
    return s->has_snapshot ? &s->snap : NULL;
}

const struct raft_entry *raft_storage_entries(const struct raft_storage *s, size_t *n)
{
    *n = s->n_entries;
    return s->n_entries ? s->entries : NULL;
}

uint64_t raft_storage_last_index(const struct raft_storage *s)
{
    return s->first_index + s->n_entries - 1;
}

int raft_storage_failed(const struct raft_storage *s)
{
    return s->failed;
}

const char *raft_storage_failure(const struct raft_storage *s)
{
    return s->failure;
}

const char *raft_storage_strerror(int code)
{
    switch (code) {
    case 0:
        return "ok";
    case RAFT_STORAGE_EINVAL:
        return "invalid argument";
    case RAFT_STORAGE_ECORRUPT:
        return "corrupt data directory";
    case RAFT_STORAGE_EIO:
        return "I/O error";
    case RAFT_STORAGE_ENOSPC:
        return "no space left";
    case RAFT_STORAGE_EFAILED:
        return "storage failed earlier";
    case RAFT_STORAGE_ENOMEM:
        return "out of memory";
    case RAFT_STORAGE_ELOCKED:
        return "data directory in use";
    default:
        return "unknown error";
    }
}

/* ---- writes ------------------------------------------------------------------------ */

/* Truncation proper, without the argument checks. Returns 0 or a failure code. */
static int do_truncate(struct raft_storage *s, uint64_t from, char *err, size_t errlen)
{
    size_t keep = s->n_segs;
    while (keep > 0 && s->segs[keep - 1].first_index >= from)
        keep--;
    bool unlinked = keep < s->n_segs;
    int e = segs_unlink_from(s, keep);
    if (e != 0)
        return storage_fail(s, e, err, errlen,
                            "%s: removing segments from index %" PRIu64, s->dir, from);
    if (keep > 0 && s->segs[keep - 1].last_index >= from) {
        struct segment *g = &s->segs[keep - 1];
        uint64_t off = s->offsets[from - s->first_index];
        if ((e = open_last_segment(s)) != 0 ||
            (s->io->ftruncate(s->io->ctx, s->seg_fd, (off_t)off) == -1 && (e = errno)) ||
            (s->io->fsync(s->io->ctx, s->seg_fd) == -1 && (e = errno)))
            return storage_fail(s, e ? e : EIO, err, errlen,
                                "%s/%s: truncating at offset %" PRIu64 " (index %" PRIu64
                                ")",
                                s->dir, g->name, off, from);
        g->size_bytes = off;
        g->last_index = from - 1;
    }
    if (unlinked && (e = fsync_dir(s)) != 0)
        return storage_fail(s, e, err, errlen, "%s: fsync of the directory", s->dir);
    mem_truncate(s, from);
    return 0;
}

int raft_storage_truncate_suffix(struct raft_storage *s, uint64_t from_index, char *err,
                                 size_t errlen)
{
    int rv = check_failed(s, err, errlen);
    if (rv != 0)
        return rv;
    if (from_index < s->first_index) {
        seterr(err, errlen,
               "truncate from index %" PRIu64 ": at or below the snapshot (first "
               "index %" PRIu64 ")",
               from_index, s->first_index);
        return RAFT_STORAGE_EINVAL;
    }
    if (from_index > raft_storage_last_index(s))
        return 0;
    return do_truncate(s, from_index, err, errlen);
}

int raft_storage_append(struct raft_storage *s, const struct raft_entry *entries,
                        size_t n, char *err, size_t errlen)
{
    int rv = check_failed(s, err, errlen);
    uint8_t *buf = NULL;
    if (rv != 0)
        return rv;
    if (n == 0 || entries == NULL) {
        seterr(err, errlen, "append: no entries");
        return RAFT_STORAGE_EINVAL;
    }
    uint64_t first = entries[0].index;
    if (first < s->first_index || first > raft_storage_last_index(s) + 1) {
        seterr(err, errlen,
               "append: first index %" PRIu64 " outside [%" PRIu64 ", %" PRIu64 "]",
               first, s->first_index, raft_storage_last_index(s) + 1);
        return RAFT_STORAGE_EINVAL;
    }
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        const struct raft_entry *e = &entries[i];
        if (e->index != first + i || (unsigned)e->type >= RAFT_ENTRY_TYPE_COUNT ||
            e->payload_len > s->max_entry_bytes || (e->payload_len && !e->payload) ||
            (i > 0 && e->term < entries[i - 1].term)) {
            seterr(err, errlen,
                   "append: entry %zu (index %" PRIu64 ") is out of sequence, has a "
                   "bad type or payload, or a lower term than its predecessor",
                   i, e->index);
            return RAFT_STORAGE_EINVAL;
        }
        total += REC_HEADER_BYTES + e->payload_len;
    }
    if (first <= raft_storage_last_index(s)) {
        if ((rv = do_truncate(s, first, err, errlen)) != 0)
            return rv;
    }
    uint64_t prev_term = s->n_entries ? s->entries[s->n_entries - 1].term
                                      : (s->has_snapshot ? s->snap.meta.last_term : 0);
    if (entries[0].term < prev_term) {
        seterr(err, errlen,
               "append: term %" PRIu64 " below the previous entry's %" PRIu64,
               entries[0].term, prev_term);
        return RAFT_STORAGE_EINVAL;
    }
    int e = 0;
    if (s->n_segs == 0 || s->segs[s->n_segs - 1].size_bytes >= s->segment_max_bytes) {
        if ((e = segment_create(s, first)) != 0)
            return storage_fail(s, e, err, errlen,
                                "%s: creating segment for index %" PRIu64, s->dir, first);
    } else if ((e = open_last_segment(s)) != 0) {
        return storage_fail(s, e, err, errlen, "%s/%s: opening for append", s->dir,
                            s->segs[s->n_segs - 1].name);
    }
    struct segment *g = &s->segs[s->n_segs - 1];
    buf = malloc(total);
    if (buf == NULL) {
        seterr(err, errlen, "append: out of memory for %zu bytes", total);
        return RAFT_STORAGE_ENOMEM;
    }
    uint8_t *p = buf;
    for (size_t i = 0; i < n; i++) {
        encode_record_header(p, &entries[i]);
        if (entries[i].payload_len)
            memcpy(p + REC_HEADER_BYTES, entries[i].payload, entries[i].payload_len);
        p += REC_HEADER_BYTES + entries[i].payload_len;
    }
    uint64_t off = g->size_bytes;
    if ((e = write_all(s, s->seg_fd, buf, total, off)) != 0 ||
        (s->io->fdatasync(s->io->ctx, s->seg_fd) == -1 && (e = errno ? errno : EIO))) {
        rv = storage_fail(s, e, err, errlen,
                          "%s/%s: appending indexes %" PRIu64 "..%" PRIu64
                          " at offset %" PRIu64,
                          s->dir, g->name, first, first + n - 1, off);
        goto out;
    }
    /* Durable. Record it in memory; an allocation failure here cannot un-write
     * the entries, so the storage stops rather than diverging from the disk. */
    for (size_t i = 0; i < n; i++) {
        if (mem_push(s, &entries[i], off) != 0) {
            rv = storage_fail(s, ENOMEM, err, errlen, "append: recording index %" PRIu64,
                              entries[i].index);
            goto out;
        }
        off += REC_HEADER_BYTES + entries[i].payload_len;
    }
    g->size_bytes = off;
    g->last_index = first + n - 1;
out:
    free(buf);
    return rv;
}

int raft_storage_save_hard_state(struct raft_storage *s, const struct raft_hard_state *hs,
                                 char *err, size_t errlen)
{
    int rv = check_failed(s, err, errlen);
    if (rv != 0)
        return rv;
    uint8_t b[META_BYTES];
    encode_meta(b, hs);
    const uint8_t *pieces[1] = {b};
    size_t lens[1] = {sizeof(b)};
    int e = write_atomic(s, "metadata", pieces, lens, 1);
    if (e != 0)
        return storage_fail(s, e, err, errlen,
                            "%s/metadata: saving term %" PRIu64 " vote %" PRIu64, s->dir,
                            hs->term, hs->vote);
    s->hs = *hs;
    return 0;
}

int raft_storage_save_snapshot(struct raft_storage *s,
                               const struct raft_snapshot_meta *meta, const uint8_t *data,
                               size_t len, char *err, size_t errlen)
{
    int rv = check_failed(s, err, errlen);
    if (rv != 0)
        return rv;
    if (meta->last_index == 0 || (len && data == NULL) ||
        (s->has_snapshot && meta->last_index < s->snap.meta.last_index)) {
        seterr(err, errlen,
               "save_snapshot: last index %" PRIu64 " is 0, older than the "
               "stored snapshot's, or data is missing",
               meta->last_index);
        return RAFT_STORAGE_EINVAL;
    }
    uint8_t head[SNAP_HEADER_BYTES + 4 + RAFT_CONFIGURATION_MAX * 9];
    size_t conf_len = raft_configuration_encoded_len(&meta->conf);
    if (meta->conf.n_servers > RAFT_CONFIGURATION_MAX ||
        raft_configuration_encode(&meta->conf, head + SNAP_HEADER_BYTES,
                                  sizeof(head) - SNAP_HEADER_BYTES) < 0) {
        seterr(err, errlen, "save_snapshot: configuration does not encode");
        return RAFT_STORAGE_EINVAL;
    }
    bool holds = log_holds(s, meta->last_index, meta->last_term,
                           s->has_snapshot ? s->snap.meta.last_term : 0);
    uint8_t *copy = malloc(len ? len : 1);
    if (copy == NULL) {
        seterr(err, errlen, "save_snapshot: out of memory for %zu bytes", len);
        return RAFT_STORAGE_ENOMEM;
    }
    if (len)
        memcpy(copy, data, len);
    put_u32(head, SNAP_MAGIC);
    put_u32(head + 4, FORMAT_VERSION);
    put_u64(head + 8, meta->last_index);
    put_u64(head + 16, meta->last_term);
    put_u64(head + 24, meta->conf_index);
    put_u32(head + 32, (uint32_t)conf_len);
    uint8_t dlen[8], crc[4];
    put_u64(dlen, len);
    uint32_t c = raft_crc32c(0, head, SNAP_HEADER_BYTES + conf_len);
    c = raft_crc32c(c, dlen, 8);
    c = raft_crc32c(c, data, len);
    put_u32(crc, c);
    const uint8_t *pieces[4] = {head, dlen, data, crc};
    size_t lens[4] = {SNAP_HEADER_BYTES + conf_len, 8, len, 4};
    int e = write_atomic(s, "snapshot", pieces, lens, 4);
    if (e != 0) {
        free(copy);
        return storage_fail(s, e, err, errlen,
                            "%s/snapshot: saving the snapshot at index %" PRIu64, s->dir,
                            meta->last_index);
    }
    free(s->snap_data);
    s->snap_data = copy;
    s->snap.meta = *meta;
    s->snap.data = copy;
    s->snap.data_len = len;
    s->has_snapshot = true;
    if ((e = reconcile_with_snapshot(s, holds, false, err, errlen)) != 0)
        return storage_fail(
            s, e, err, errlen,
            "%s: removing the log replaced by the snapshot at index %" PRIu64, s->dir,
            meta->last_index);
    return 0;
}

int raft_storage_compact(struct raft_storage *s, uint64_t up_to_index, char *err,
                         size_t errlen)
{
    int rv = check_failed(s, err, errlen);
    if (rv != 0)
        return rv;
    uint64_t limit = s->has_snapshot ? s->snap.meta.last_index : 0;
    if (up_to_index < limit)
        limit = up_to_index;
    size_t k = 0;
    while (k + 1 < s->n_segs && s->segs[k].last_index <= limit)
        k++;
    for (size_t i = 0; i < k; i++) {
        char *p = path_join(s, s->segs[i].name);
        if (p == NULL)
            return storage_fail(s, ENOMEM, err, errlen, "compact");
        int e = s->io->unlink(s->io->ctx, p) == -1 ? errno : 0;
        free(p);
        if (e != 0 && e != ENOENT) {
            memmove(s->segs, s->segs + i, (s->n_segs - i) * sizeof(*s->segs));
            s->n_segs -= i;
            return storage_fail(s, e, err, errlen, "%s/%s: removing a compacted segment",
                                s->dir, s->segs[0].name);
        }
    }
    if (k == 0)
        return 0;
    memmove(s->segs, s->segs + k, (s->n_segs - k) * sizeof(*s->segs));
    s->n_segs -= k;
    int e = fsync_dir(s);
    if (e != 0)
        return storage_fail(s, e, err, errlen, "%s: fsync of the directory", s->dir);
    return 0;
}
