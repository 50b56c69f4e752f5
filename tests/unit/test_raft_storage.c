/* Unit tests of raft_storage: round trips, restarts, segment rotation, suffix
 * truncation, torn tails at every byte, corruption that must refuse to start,
 * ENOSPC/EIO/short-write injection, atomic metadata, snapshots and compaction.
 * Every test works in its own directory under /tmp and removes it. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "raft/raft_storage.h"

/* ---- fault injection --------------------------------------------------------- */

enum fault_op {
    OP_NONE = 0,
    OP_PREAD,
    OP_PWRITE,
    OP_FDATASYNC,
    OP_FSYNC,
    OP_RENAME,
    OP_UNLINK,
    OP_COUNT
};

struct fault {
    enum fault_op op;
    int countdown; /* fail the op when this many calls of it have passed */
    int errnum;
    size_t max_write; /* if > 0, every pwrite writes at most this many bytes */
    int calls[OP_COUNT];
};

static struct fault g_fault;
static struct raft_storage_io g_io;

static bool fault_hit(enum fault_op op)
{
    g_fault.calls[op]++;
    if (g_fault.op != op)
        return false;
    if (g_fault.countdown-- > 0)
        return false;
    errno = g_fault.errnum;
    return true;
}

static int f_open(void *c, const char *p, int fl, mode_t m)
{
    return raft_storage_io_posix()->open(c, p, fl, m);
}
static int f_close(void *c, int fd)
{
    return raft_storage_io_posix()->close(c, fd);
}
static ssize_t f_pread(void *c, int fd, void *b, size_t n, off_t o)
{
    return fault_hit(OP_PREAD) ? -1 : raft_storage_io_posix()->pread(c, fd, b, n, o);
}
static ssize_t f_pwrite(void *c, int fd, const void *b, size_t n, off_t o)
{
    if (fault_hit(OP_PWRITE)) {
        /* a realistic ENOSPC: half the bytes land, then the error */
        if (n > 1) {
            ssize_t w = raft_storage_io_posix()->pwrite(c, fd, b, n / 2, o);
            if (w > 0) {
                g_fault.op = OP_PWRITE;
                g_fault.countdown = 0;
                return w;
            }
        }
        return -1;
    }
    if (g_fault.max_write && n > g_fault.max_write)
        n = g_fault.max_write;
    return raft_storage_io_posix()->pwrite(c, fd, b, n, o);
}
static int f_fsync(void *c, int fd)
{
    return fault_hit(OP_FSYNC) ? -1 : raft_storage_io_posix()->fsync(c, fd);
}
static int f_fdatasync(void *c, int fd)
{
    return fault_hit(OP_FDATASYNC) ? -1 : raft_storage_io_posix()->fdatasync(c, fd);
}
static int f_ftruncate(void *c, int fd, off_t l)
{
    return raft_storage_io_posix()->ftruncate(c, fd, l);
}
static int f_rename(void *c, const char *a, const char *b)
{
    return fault_hit(OP_RENAME) ? -1 : raft_storage_io_posix()->rename(c, a, b);
}
static int f_unlink(void *c, const char *p)
{
    return fault_hit(OP_UNLINK) ? -1 : raft_storage_io_posix()->unlink(c, p);
}

static void fault_arm(enum fault_op op, int after_calls, int errnum)
{
    memset(&g_fault, 0, sizeof(g_fault));
    g_fault.op = op;
    g_fault.countdown = after_calls;
    g_fault.errnum = errnum;
}

/* ---- fixtures ------------------------------------------------------------------- */

struct ctx {
    char dir[64];
    struct raft_storage_options opts;
    char err[512];
};

static int setup(void **state)
{
    struct ctx *c = calloc(1, sizeof(*c));
    strcpy(c->dir, "/tmp/raftlb-storage-XXXXXX");
    if (mkdtemp(c->dir) == NULL)
        return -1;
    memset(&g_fault, 0, sizeof(g_fault));
    g_io = (struct raft_storage_io){f_open,      f_close,     f_pread,  f_pwrite, f_fsync,
                                    f_fdatasync, f_ftruncate, f_rename, f_unlink, NULL};
    c->opts.io = &g_io;
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    struct ctx *c = *state;
    DIR *d = opendir(c->dir);
    struct dirent *de;
    char p[600];
    while (d && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        snprintf(p, sizeof(p), "%s/%s", c->dir, de->d_name);
        unlink(p);
    }
    if (d)
        closedir(d);
    rmdir(c->dir);
    free(c);
    return 0;
}

static struct raft_storage *open_ok(struct ctx *c)
{
    struct raft_storage *s = NULL;
    int rv = raft_storage_open(c->dir, &c->opts, &s, c->err, sizeof(c->err));
    if (rv != 0)
        fail_msg("open: %d %s", rv, c->err);
    return s;
}

/* The payload of entry i: deterministic and of varying length. */
static size_t payload_of(uint64_t index, uint64_t term, uint8_t *buf)
{
    size_t n = (size_t)(index * 7 % 50);
    for (size_t k = 0; k < n; k++)
        buf[k] = (uint8_t)(index * 31 + term + k);
    return n;
}

static uint8_t g_payloads[64][64];

static void append_range(struct ctx *c, struct raft_storage *s, uint64_t from,
                         uint64_t to, uint64_t term, size_t batch)
{
    for (uint64_t i = from; i <= to;) {
        struct raft_entry e[64];
        size_t n = 0;
        for (; n < batch && i <= to; n++, i++) {
            e[n].index = i;
            e[n].term = term;
            e[n].type = i % 5 == 0 ? RAFT_ENTRY_NOOP : RAFT_ENTRY_NORMAL;
            e[n].payload_len = payload_of(i, term, g_payloads[n]);
            e[n].payload = g_payloads[n];
        }
        int rv = raft_storage_append(s, e, n, c->err, sizeof(c->err));
        if (rv != 0)
            fail_msg("append at %llu: %d %s", (unsigned long long)e[0].index, rv, c->err);
    }
}

/* Checks that s holds exactly indexes from..to, terms by `term_of`. */
static void check_entries(struct raft_storage *s, uint64_t from, uint64_t to,
                          uint64_t (*term_of)(uint64_t))
{
    size_t n;
    const struct raft_entry *e = raft_storage_entries(s, &n);
    assert_int_equal(n, to >= from ? to - from + 1 : 0);
    for (size_t k = 0; k < n; k++) {
        uint8_t want[64];
        uint64_t idx = from + k, term = term_of(idx);
        assert_int_equal(e[k].index, idx);
        assert_int_equal(e[k].term, term);
        assert_int_equal(e[k].type, idx % 5 == 0 ? RAFT_ENTRY_NOOP : RAFT_ENTRY_NORMAL);
        size_t len = payload_of(idx, term, want);
        assert_int_equal(e[k].payload_len, len);
        if (len)
            assert_memory_equal(e[k].payload, want, len);
    }
    assert_int_equal(raft_storage_last_index(s), to >= from ? to : from - 1);
}

static uint64_t term1(uint64_t i)
{
    (void)i;
    return 1;
}

static int count_segments(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;
    while ((de = readdir(d)) != NULL)
        n += strncmp(de->d_name, "log-", 4) == 0;
    closedir(d);
    return n;
}

static void seg_path(const struct ctx *c, uint64_t first, char *out, size_t len)
{
    snprintf(out, len, "%s/log-%020llu", c->dir, (unsigned long long)first);
}

static off_t file_size(const char *p)
{
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    return st.st_size;
}

static void flip_byte(const char *p, off_t off)
{
    int fd = open(p, O_RDWR);
    uint8_t b;
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, &b, 1, off), 1);
    b ^= 0x5a;
    assert_int_equal(pwrite(fd, &b, 1, off), 1);
    close(fd);
}

/* ---- tests ------------------------------------------------------------------------ */

static void test_raft_storage_empty_dir_opens_empty(void **state)
{
    struct ctx *c = *state;
    struct raft_storage *s = open_ok(c);
    struct raft_hard_state hs = raft_storage_hard_state(s);
    size_t n;
    assert_int_equal(hs.term, 0);
    assert_int_equal(hs.vote, 0);
    assert_null(raft_storage_snapshot(s));
    assert_null(raft_storage_entries(s, &n));
    assert_int_equal(n, 0);
    assert_int_equal(raft_storage_last_index(s), 0);
    assert_int_equal(raft_storage_report_count(s), 0);
    raft_storage_close(s);
}

static void test_raft_storage_round_trip_and_restart(void **state)
{
    struct ctx *c = *state;
    struct raft_storage *s = open_ok(c);
    append_range(c, s, 1, 10, 1, 1);
    append_range(c, s, 11, 40, 1, 7);
    struct raft_hard_state hs = {.term = 3, .vote = 2};
    assert_int_equal(raft_storage_save_hard_state(s, &hs, c->err, sizeof(c->err)), 0);
    check_entries(s, 1, 40, term1);
    raft_storage_close(s);

    s = open_ok(c);
    check_entries(s, 1, 40, term1);
    hs = raft_storage_hard_state(s);
    assert_int_equal(hs.term, 3);
    assert_int_equal(hs.vote, 2);
    assert_int_equal(raft_storage_report_count(s), 0);
    append_range(c, s, 41, 45, 1, 5); /* appends continue after a restart */
    raft_storage_close(s);
    s = open_ok(c);
    check_entries(s, 1, 45, term1);
    raft_storage_close(s);
}

static void test_raft_storage_segments_rotate_at_size_limit(void **state)
{
    struct ctx *c = *state;
    c->opts.segment_max_bytes = 256;
    struct raft_storage *s = open_ok(c);
    append_range(c, s, 1, 60, 1, 2);
    raft_storage_close(s);
    int segs = count_segments(c->dir);
    assert_true(segs >= 8);
    s = open_ok(c);
    check_entries(s, 1, 60, term1);
    raft_storage_close(s);
}

static uint64_t term_repaired(uint64_t i)
{
    return i < 12 ? 1 : 2;
}

static void test_raft_storage_truncate_suffix_and_repair(void **state)
{
    struct ctx *c = *state;
    c->opts.segment_max_bytes = 256;
    struct raft_storage *s = open_ok(c);
    append_range(c, s, 1, 40, 1, 3);
    int before = count_segments(c->dir);
    /* follower log repair: entries from 12 on were never committed */
    assert_int_equal(raft_storage_truncate_suffix(s, 12, c->err, sizeof(c->err)), 0);
    check_entries(s, 1, 11, term1);
    assert_true(count_segments(c->dir) < before);
    assert_int_equal(raft_storage_truncate_suffix(s, 100, c->err, sizeof(c->err)), 0);
    append_range(c, s, 12, 30, 2, 4);
    raft_storage_close(s);
    s = open_ok(c);
    check_entries(s, 1, 30, term_repaired);
    /* an append that overlaps truncates first (raft.h persistence contract) */
    append_range(c, s, 25, 26, 3, 2);
    size_t n;
    const struct raft_entry *e = raft_storage_entries(s, &n);
    assert_int_equal(n, 26);
    assert_int_equal(e[24].term, 3);
    raft_storage_close(s);
    s = open_ok(c);
    e = raft_storage_entries(s, &n);
    assert_int_equal(n, 26);
    assert_int_equal(e[25].term, 3);
    assert_int_equal(e[23].term, 2);
    /* truncating everything leaves an empty log that accepts index 1 again */
    assert_int_equal(raft_storage_truncate_suffix(s, 1, c->err, sizeof(c->err)), 0);
    assert_int_equal(count_segments(c->dir), 0);
    append_range(c, s, 1, 3, 4, 3);
    raft_storage_close(s);
    s = open_ok(c);
    assert_int_equal(raft_storage_last_index(s), 3);
    raft_storage_close(s);
}

/* Crash during the last append, at every byte: the file ends anywhere inside the
 * last record. The first four entries were acknowledged and must survive; the
 * partial fifth is cut and reported. */
static void test_raft_storage_torn_tail_at_every_offset(void **state)
{
    struct ctx *c = *state;
    char seg[600];
    seg_path(c, 1, seg, sizeof(seg));
    struct raft_storage *s = open_ok(c);
    append_range(c, s, 1, 4, 1, 4);
    off_t acked = file_size(seg);
    append_range(c, s, 5, 5, 1, 1);
    raft_storage_close(s);
    off_t full = file_size(seg);
    int fd = open(seg, O_RDONLY);
    uint8_t *record = malloc((size_t)(full - acked));
    assert_int_equal(pread(fd, record, (size_t)(full - acked), acked), full - acked);
    close(fd);
    assert_true(full - acked > 32);

    for (off_t cut = acked; cut < full; cut++) {
        for (int zero_fill = 0; zero_fill < 2; zero_fill++) {
            /* rebuild the tail: the record's first bytes, then nothing or zeros
             * up to the full size (a file extended before its data landed) */
            fd = open(seg, O_RDWR);
            assert_int_equal(ftruncate(fd, acked), 0);
            assert_int_equal(pwrite(fd, record, (size_t)(cut - acked), acked),
                             cut - acked);
            if (zero_fill)
                assert_int_equal(ftruncate(fd, full), 0);
            close(fd);
            s = open_ok(c);
            check_entries(s, 1, 4, term1);
            assert_int_equal(raft_storage_report_count(s), cut > acked || zero_fill);
            if (cut > acked || zero_fill)
                assert_non_null(strstr(raft_storage_report(s, 0), "torn tail"));
            raft_storage_close(s);
            assert_int_equal(file_size(seg), acked); /* cut, durably */
        }
    }
    /* and the log goes on after a cut */
    s = open_ok(c);
    append_range(c, s, 5, 6, 1, 2);
    raft_storage_close(s);
    s = open_ok(c);
    check_entries(s, 1, 6, term1);
    raft_storage_close(s);
    free(record);
}

static void test_raft_storage_corrupt_middle_refuses_to_start(void **state)
{
    struct ctx *c = *state;
    char seg[600];
    seg_path(c, 1, seg, sizeof(seg));
    struct raft_storage *s = open_ok(c);
    append_range(c, s, 1, 6, 1, 1);
    raft_storage_close(s);
    off_t size = file_size(seg);
    /* every byte of the segment except the last record's: header, records 1..5 */
    struct raft_storage *s2 = open_ok(c);
    size_t n;
    const struct raft_entry *e = raft_storage_entries(s2, &n);
    off_t last_record = size - 32 - (off_t)e[5].payload_len;
    raft_storage_close(s2);
    for (off_t off = 0; off < last_record; off++) {
        flip_byte(seg, off);
        int rv = raft_storage_open(c->dir, &c->opts, &s, c->err, sizeof(c->err));
        if (rv != RAFT_STORAGE_ECORRUPT)
            fail_msg("offset %lld: open returned %d (%s)", (long long)off, rv, c->err);
        assert_null(s);
        assert_non_null(strstr(c->err, "log-00000000000000000001"));
        assert_non_null(strstr(c->err, "offset"));
        flip_byte(seg, off);
        assert_int_equal(file_size(seg), size); /* nothing was cut */
    }
    s = open_ok(c);
    check_entries(s, 1, 6, term1);
    raft_storage_close(s);
}

static void test_raft_storage_corrupt_non_last_segment_refuses(void **state)
{
    struct ctx *c = *state;
    c->opts.segment_max_bytes = 200;
    char seg[600];
    struct raft_storage *s = open_ok(c);
    append_range(c, s, 1, 30, 1, 1);
    raft_storage_close(s);
    assert_true(count_segments(c->dir) >= 3);
    /* a torn-looking end of the first segment is corruption, not a torn tail */
    seg_path(c, 1, seg, sizeof(seg));
    off_t size = file_size(seg);
    flip_byte(seg, size - 1);
    assert_int_equal(raft_storage_open(c->dir, &c->opts, &s, c->err, sizeof(c->err)),
                     RAFT_STORAGE_ECORRUPT);
    assert_non_null(strstr(c->err, "not the last"));
    flip_byte(seg, size - 1);
    assert_int_equal(truncate(seg, size - 3), 0);
    assert_int_equal(raft_storage_open(c->dir, &c->opts, &s, c->err, sizeof(c->err)),
                     RAFT_STORAGE_ECORRUPT);
    assert_non_null(strstr(c->err, "log-00000000000000000001"));
}

static void test_raft_storage_gap_between_segments_refuses(void **state)
{
    struct ctx *c = *state;
    c->opts.segment_max_bytes = 200;
    struct raft_storage *s = open_ok(c);
    append_range(c, s, 1, 30, 1, 1);
    raft_storage_close(s);
    /* remove the second segment */
    DIR *d = opendir(c->dir);
    struct dirent *de;
    char names[64][64];
    int n = 0;
    while ((de = readdir(d)) != NULL)
        if (strncmp(de->d_name, "log-", 4) == 0 && n < 64)
            snprintf(names[n++], 64, "%.60s", de->d_name);
    closedir(d);
    qsort(names, (size_t)n, 64, (int (*)(const void *, const void *))strcmp);
    assert_true(n >= 3);
    char p[600];
    snprintf(p, sizeof(p), "%s/%s", c->dir, names[1]);
    assert_int_equal(unlink(p), 0);
    assert_int_equal(raft_storage_open(c->dir, &c->opts, &s, c->err, sizeof(c->err)),
                     RAFT_STORAGE_ECORRUPT);
    assert_non_null(strstr(c->err, "gap"));
    assert_non_null(strstr(c->err, names[2]));
}

static void test_raft_storage_corrupt_metadata_refuses(void **state)
{
    struct ctx *c = *state;
    char p[600];
    struct raft_storage *s = open_ok(c);
    struct raft_hard_state hs = {7, 3};
    assert_int_equal(raft_storage_save_hard_state(s, &hs, c->err, sizeof(c->err)), 0);
    raft_storage_close(s);
    snprintf(p, sizeof(p), "%s/metadata", c->dir);
    for (off_t off = 0; off < 28; off++) {
        flip_byte(p, off);
        assert_int_equal(raft_storage_open(c->dir, &c->opts, &s, c->err, sizeof(c->err)),
                         RAFT_STORAGE_ECORRUPT);
        assert_non_null(strstr(c->err, "metadata"));
        flip_byte(p, off);
    }
    assert_int_equal(truncate(p, 20), 0);
    assert_int_equal(raft_storage_open(c->dir, &c->opts, &s, c->err, sizeof(c->err)),
                     RAFT_STORAGE_ECORRUPT);
}

/* A crash between writing metadata.tmp and renaming it: the old metadata rules. */
static void test_raft_storage_metadata_atomic_across_crash(void **state)
{
    struct ctx *c = *state;
    struct raft_storage *s = open_ok(c);
    struct raft_hard_state hs = {5, 1};
    assert_int_equal(raft_storage_save_hard_state(s, &hs, c->err, sizeof(c->err)), 0);
    /* the rename fails: the call fails, storage stops, the old state stays */
    fault_arm(OP_RENAME, 0, EIO);
    struct raft_hard_state hs2 = {6, 2};
    assert_int_equal(raft_storage_save_hard_state(s, &hs2, c->err, sizeof(c->err)),
                     RAFT_STORAGE_EIO);
    assert_int_equal(raft_storage_hard_state(s).term, 5);
    raft_storage_close(s);
    memset(&g_fault, 0, sizeof(g_fault));
    /* the crash leaves a complete, newer temp file behind, and a torn one */
    char p[600];
    snprintf(p, sizeof(p), "%s/metadata.tmp", c->dir);
    FILE *f = fopen(p, "wb");
    fwrite("RLBM\1\0\0\0\6\0\0\0", 1, 12, f);
    fclose(f);
    s = open_ok(c);
    hs = raft_storage_hard_state(s);
    assert_int_equal(hs.term, 5);
    assert_int_equal(hs.vote, 1);
    assert_int_equal(raft_storage_report_count(s), 1);
    assert_non_null(strstr(raft_storage_report(s, 0), "metadata.tmp"));
    assert_int_equal(access(p, F_OK), -1);
    raft_storage_close(s);
}

/* ENOSPC half way through an append's write: the call fails naming the cause,
 * the storage refuses every later write, reads still work, and a reopen finds
 * every acknowledged entry. */
static void test_raft_storage_enospc_stops_writes_keeps_acknowledged(void **state)
{
    struct ctx *c = *state;
    struct raft_storage *s = open_ok(c);
    append_range(c, s, 1, 20, 1, 4);
    fault_arm(OP_PWRITE, 0, ENOSPC);
    struct raft_entry e = {1, 21, RAFT_ENTRY_NORMAL, g_payloads[0], 40};
    assert_int_equal(raft_storage_append(s, &e, 1, c->err, sizeof(c->err)),
                     RAFT_STORAGE_ENOSPC);
    assert_non_null(strstr(c->err, "No space left on device"));
    assert_non_null(strstr(c->err, "log-00000000000000000001"));
    assert_int_equal(raft_storage_failed(s), RAFT_STORAGE_ENOSPC);
    assert_non_null(strstr(raft_storage_failure(s), "No space"));
    memset(&g_fault, 0, sizeof(g_fault)); /* space is back: still refused */
    assert_int_equal(raft_storage_append(s, &e, 1, c->err, sizeof(c->err)),
                     RAFT_STORAGE_EFAILED);
    assert_non_null(strstr(c->err, "No space"));
    struct raft_hard_state hs = {9, 9};
    assert_int_equal(raft_storage_save_hard_state(s, &hs, c->err, sizeof(c->err)),
                     RAFT_STORAGE_EFAILED);
    assert_int_equal(raft_storage_truncate_suffix(s, 5, c->err, sizeof(c->err)),
                     RAFT_STORAGE_EFAILED);
    check_entries(s, 1, 20, term1); /* reads work */
    raft_storage_close(s);

    s = open_ok(c);
    check_entries(s, 1, 20, term1);
    assert_int_equal(raft_storage_report_count(s), 1); /* the half record was cut */
    assert_non_null(strstr(raft_storage_report(s, 0), "torn tail"));
    append_range(c, s, 21, 22, 1, 2);
    raft_storage_close(s);
}

static void test_raft_storage_eio_on_fdatasync_fails_stop(void **state)
{
    struct ctx *c = *state;
    struct raft_storage *s = open_ok(c);
    append_range(c, s, 1, 10, 1, 5);
    fault_arm(OP_FDATASYNC, 0, EIO);
    struct raft_entry e = {1, 11, RAFT_ENTRY_NORMAL, g_payloads[0], 10};
    assert_int_equal(raft_storage_append(s, &e, 1, c->err, sizeof(c->err)),
                     RAFT_STORAGE_EIO);
    assert_non_null(strstr(c->err, "Input/output error"));
    assert_int_equal(raft_storage_failed(s), RAFT_STORAGE_EIO);
    assert_int_equal(raft_storage_last_index(s), 10); /* not acknowledged */
    assert_int_equal(raft_storage_append(s, &e, 1, c->err, sizeof(c->err)),
                     RAFT_STORAGE_EFAILED);
    raft_storage_close(s);
    memset(&g_fault, 0, sizeof(g_fault));
    s = open_ok(c);
    size_t n;
    raft_storage_entries(s, &n);
    assert_true(n == 10 || n == 11); /* the unacknowledged one may have landed */
    raft_storage_close(s);
}

static void test_raft_storage_eio_on_snapshot_and_segment_creation(void **state)
{
    struct ctx *c = *state;
    c->opts.segment_max_bytes = 100;
    struct raft_storage *s = open_ok(c);
    append_range(c, s, 1, 5, 1, 5);
    /* segment rotation: the new segment's fsync fails */
    fault_arm(OP_FSYNC, 0, EIO);
    struct raft_entry e = {1, 6, RAFT_ENTRY_NORMAL, NULL, 0};
    assert_int_equal(raft_storage_append(s, &e, 1, c->err, sizeof(c->err)),
                     RAFT_STORAGE_EIO);
    assert_non_null(strstr(c->err, "creating segment"));
    raft_storage_close(s);
    memset(&g_fault, 0, sizeof(g_fault));
    s = open_ok(c);
    check_entries(s, 1, 5, term1);
    /* the snapshot's temp-file fsync fails: the old (absent) snapshot stays */
    struct raft_snapshot_meta meta = {.last_index = 3, .last_term = 1, .conf_index = 1};
    meta.conf.n_servers = 1;
    meta.conf.servers[0].id = 1;
    fault_arm(OP_FSYNC, 0, ENOSPC);
    assert_int_equal(raft_storage_save_snapshot(s, &meta, (const uint8_t *)"img", 3,
                                                c->err, sizeof(c->err)),
                     RAFT_STORAGE_ENOSPC);
    assert_null(raft_storage_snapshot(s));
    raft_storage_close(s);
    memset(&g_fault, 0, sizeof(g_fault));
    s = open_ok(c);
    assert_null(raft_storage_snapshot(s));
    check_entries(s, 1, 5, term1);
    raft_storage_close(s);
}

static void test_raft_storage_short_writes_are_completed(void **state)
{
    struct ctx *c = *state;
    g_fault.max_write = 7;
    struct raft_storage *s = open_ok(c);
    append_range(c, s, 1, 25, 1, 5);
    struct raft_hard_state hs = {2, 1};
    assert_int_equal(raft_storage_save_hard_state(s, &hs, c->err, sizeof(c->err)), 0);
    raft_storage_close(s);
    assert_true(g_fault.calls[OP_PWRITE] > 100);
    g_fault.max_write = 0;
    s = open_ok(c);
    check_entries(s, 1, 25, term1);
    assert_int_equal(raft_storage_hard_state(s).term, 2);
    raft_storage_close(s);
}

static uint64_t term_after_snapshot(uint64_t i)
{
    return i <= 25 ? 1 : 2;
}

static void test_raft_storage_snapshot_compact_reopen(void **state)
{
    struct ctx *c = *state;
    c->opts.segment_max_bytes = 256;
    struct raft_storage *s = open_ok(c);
    append_range(c, s, 1, 25, 1, 1);
    append_range(c, s, 26, 40, 2, 3);
    int before = count_segments(c->dir);
    struct raft_snapshot_meta meta = {.last_index = 25, .last_term = 1, .conf_index = 1};
    meta.conf.n_servers = 2;
    meta.conf.servers[0] = (struct raft_server){1, RAFT_VOTER};
    meta.conf.servers[1] = (struct raft_server){2, RAFT_LEARNER};
    static const uint8_t image[] = "routing table at 25";
    assert_int_equal(raft_storage_save_snapshot(s, &meta, image, sizeof(image), c->err,
                                                sizeof(c->err)),
                     0);
    check_entries(s, 26, 40, term_after_snapshot);    /* entries after it stay */
    assert_int_equal(count_segments(c->dir), before); /* until compaction */
    assert_int_equal(raft_storage_compact(s, 25, c->err, sizeof(c->err)), 0);
    int after = count_segments(c->dir);
    assert_true(after < before);
    raft_storage_close(s);

    s = open_ok(c);
    const struct raft_snapshot *snap = raft_storage_snapshot(s);
    assert_non_null(snap);
    assert_int_equal(snap->meta.last_index, 25);
    assert_int_equal(snap->meta.last_term, 1);
    assert_int_equal(snap->meta.conf_index, 1);
    assert_int_equal(snap->meta.conf.n_servers, 2);
    assert_int_equal(snap->meta.conf.servers[1].id, 2);
    assert_int_equal(snap->meta.conf.servers[1].role, RAFT_LEARNER);
    assert_int_equal(snap->data_len, sizeof(image));
    assert_memory_equal(snap->data, image, sizeof(image));
    check_entries(s, 26, 40, term_after_snapshot);
    assert_int_equal(raft_storage_report_count(s), 0);
    /* truncation below the snapshot is refused, above it works */
    assert_int_equal(raft_storage_truncate_suffix(s, 20, c->err, sizeof(c->err)),
                     RAFT_STORAGE_EINVAL);
    assert_int_equal(raft_storage_failed(s), 0);
    assert_int_equal(raft_storage_truncate_suffix(s, 26, c->err, sizeof(c->err)), 0);
    assert_int_equal(raft_storage_last_index(s), 25);
    append_range(c, s, 26, 28, 2, 3);
    raft_storage_close(s);
    s = open_ok(c);
    check_entries(s, 26, 28, term_after_snapshot);
    raft_storage_close(s);
}

/* An installed snapshot the log does not match replaces the whole log. */
static void test_raft_storage_installed_snapshot_replaces_log(void **state)
{
    struct ctx *c = *state;
    struct raft_storage *s = open_ok(c);
    append_range(c, s, 1, 10, 1, 10);
    struct raft_snapshot_meta meta = {.last_index = 20, .last_term = 3, .conf_index = 1};
    meta.conf.n_servers = 1;
    meta.conf.servers[0].id = 1;
    assert_int_equal(
        raft_storage_save_snapshot(s, &meta, NULL, 0, c->err, sizeof(c->err)), 0);
    size_t n;
    raft_storage_entries(s, &n);
    assert_int_equal(n, 0);
    assert_int_equal(raft_storage_last_index(s), 20);
    assert_int_equal(count_segments(c->dir), 0);
    struct raft_entry e = {3, 21, RAFT_ENTRY_NORMAL, NULL, 0};
    assert_int_equal(raft_storage_append(s, &e, 1, c->err, sizeof(c->err)), 0);
    raft_storage_close(s);
    s = open_ok(c);
    const struct raft_entry *got = raft_storage_entries(s, &n);
    assert_int_equal(n, 1);
    assert_int_equal(got[0].index, 21);
    assert_int_equal(raft_storage_snapshot(s)->meta.last_index, 20);
    raft_storage_close(s);
}

/* A crash after the installed snapshot's rename but before the old log is
 * removed: open finishes the job and says so. */
static void test_raft_storage_interrupted_install_finished_at_open(void **state)
{
    struct ctx *c = *state;
    struct raft_storage *s = open_ok(c);
    append_range(c, s, 1, 10, 1, 10);
    struct raft_snapshot_meta meta = {.last_index = 8, .last_term = 2, .conf_index = 1};
    meta.conf.n_servers = 1;
    meta.conf.servers[0].id = 1;
    fault_arm(OP_UNLINK, 0, EIO);
    assert_int_equal(
        raft_storage_save_snapshot(s, &meta, NULL, 0, c->err, sizeof(c->err)),
        RAFT_STORAGE_EIO);
    raft_storage_close(s);
    memset(&g_fault, 0, sizeof(g_fault));
    assert_int_equal(count_segments(c->dir), 1);
    s = open_ok(c);
    size_t n;
    raft_storage_entries(s, &n);
    assert_int_equal(n, 0);
    assert_int_equal(raft_storage_last_index(s), 8);
    assert_int_equal(raft_storage_report_count(s), 1);
    assert_non_null(strstr(raft_storage_report(s, 0), "does not hold"));
    assert_int_equal(count_segments(c->dir), 0);
    raft_storage_close(s);
}

static void test_raft_storage_corrupt_snapshot_refuses(void **state)
{
    struct ctx *c = *state;
    struct raft_storage *s = open_ok(c);
    append_range(c, s, 1, 5, 1, 5);
    struct raft_snapshot_meta meta = {.last_index = 5, .last_term = 1, .conf_index = 1};
    meta.conf.n_servers = 1;
    meta.conf.servers[0].id = 1;
    assert_int_equal(raft_storage_save_snapshot(s, &meta, (const uint8_t *)"abcdef", 6,
                                                c->err, sizeof(c->err)),
                     0);
    raft_storage_close(s);
    char p[600];
    snprintf(p, sizeof(p), "%s/snapshot", c->dir);
    off_t size = file_size(p);
    for (off_t off = 0; off < size; off++) {
        flip_byte(p, off);
        assert_int_equal(raft_storage_open(c->dir, &c->opts, &s, c->err, sizeof(c->err)),
                         RAFT_STORAGE_ECORRUPT);
        assert_non_null(strstr(c->err, "snapshot"));
        flip_byte(p, off);
    }
    s = open_ok(c);
    assert_int_equal(raft_storage_snapshot(s)->data_len, 6);
    raft_storage_close(s);
}

static void test_raft_storage_unreadable_file_refuses_to_start(void **state)
{
    struct ctx *c = *state;
    struct raft_storage *s = open_ok(c);
    append_range(c, s, 1, 5, 1, 5);
    struct raft_hard_state hs = {1, 1};
    assert_int_equal(raft_storage_save_hard_state(s, &hs, c->err, sizeof(c->err)), 0);
    raft_storage_close(s);
    for (int k = 0; k < 2; k++) { /* the metadata, then the segment */
        fault_arm(OP_PREAD, k, EIO);
        assert_int_equal(raft_storage_open(c->dir, &c->opts, &s, c->err, sizeof(c->err)),
                         RAFT_STORAGE_EIO);
        assert_null(s);
        assert_non_null(strstr(c->err, k == 0 ? "metadata" : "log-00000000000000000001"));
        assert_non_null(strstr(c->err, "Input/output error"));
    }
    memset(&g_fault, 0, sizeof(g_fault));
    s = open_ok(c);
    check_entries(s, 1, 5, term1);
    raft_storage_close(s);
}

/* A crash while a new segment's header was being written leaves a short file. */
static void test_raft_storage_torn_segment_creation_is_removed(void **state)
{
    struct ctx *c = *state;
    char p[600];
    struct raft_storage *s = open_ok(c);
    append_range(c, s, 1, 5, 1, 5);
    raft_storage_close(s);
    seg_path(c, 6, p, sizeof(p));
    FILE *f = fopen(p, "wb");
    fwrite("RLBL\1\0", 1, 6, f);
    fclose(f);
    s = open_ok(c);
    check_entries(s, 1, 5, term1);
    assert_int_equal(raft_storage_report_count(s), 1);
    assert_non_null(strstr(raft_storage_report(s, 0), "no complete header"));
    assert_int_equal(access(p, F_OK), -1);
    append_range(c, s, 6, 7, 1, 2);
    raft_storage_close(s);
    s = open_ok(c);
    check_entries(s, 1, 7, term1);
    raft_storage_close(s);
}

static void test_raft_storage_second_open_is_locked_out(void **state)
{
    struct ctx *c = *state;
    struct raft_storage *s = open_ok(c), *s2 = NULL;
    assert_int_equal(raft_storage_open(c->dir, &c->opts, &s2, c->err, sizeof(c->err)),
                     RAFT_STORAGE_ELOCKED);
    assert_null(s2);
    raft_storage_close(s);
    s2 = open_ok(c);
    raft_storage_close(s2);
}

static void test_raft_storage_append_rejects_bad_arguments(void **state)
{
    struct ctx *c = *state;
    struct raft_storage *s = open_ok(c);
    append_range(c, s, 1, 3, 2, 3);
    struct raft_entry e[2] = {{2, 5, RAFT_ENTRY_NORMAL, NULL, 0},
                              {2, 6, RAFT_ENTRY_NORMAL, NULL, 0}};
    assert_int_equal(raft_storage_append(s, e, 1, c->err, sizeof(c->err)),
                     RAFT_STORAGE_EINVAL); /* gap */
    e[0].index = 4;
    e[1].index = 7;
    assert_int_equal(raft_storage_append(s, e, 2, c->err, sizeof(c->err)),
                     RAFT_STORAGE_EINVAL); /* not consecutive */
    e[1].index = 5;
    e[0].term = 1;
    assert_int_equal(raft_storage_append(s, e, 1, c->err, sizeof(c->err)),
                     RAFT_STORAGE_EINVAL); /* term goes down */
    e[0].term = 2;
    e[0].type = RAFT_ENTRY_TYPE_COUNT;
    assert_int_equal(raft_storage_append(s, e, 1, c->err, sizeof(c->err)),
                     RAFT_STORAGE_EINVAL);
    assert_int_equal(raft_storage_failed(s), 0);
    e[0].type = RAFT_ENTRY_NORMAL;
    assert_int_equal(raft_storage_append(s, e, 2, c->err, sizeof(c->err)), 0);
    assert_int_equal(raft_storage_last_index(s), 5);
    raft_storage_close(s);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_raft_storage_empty_dir_opens_empty),
        T(test_raft_storage_round_trip_and_restart),
        T(test_raft_storage_segments_rotate_at_size_limit),
        T(test_raft_storage_truncate_suffix_and_repair),
        T(test_raft_storage_torn_tail_at_every_offset),
        T(test_raft_storage_corrupt_middle_refuses_to_start),
        T(test_raft_storage_corrupt_non_last_segment_refuses),
        T(test_raft_storage_gap_between_segments_refuses),
        T(test_raft_storage_corrupt_metadata_refuses),
        T(test_raft_storage_metadata_atomic_across_crash),
        T(test_raft_storage_enospc_stops_writes_keeps_acknowledged),
        T(test_raft_storage_eio_on_fdatasync_fails_stop),
        T(test_raft_storage_eio_on_snapshot_and_segment_creation),
        T(test_raft_storage_short_writes_are_completed),
        T(test_raft_storage_snapshot_compact_reopen),
        T(test_raft_storage_installed_snapshot_replaces_log),
        T(test_raft_storage_interrupted_install_finished_at_open),
        T(test_raft_storage_corrupt_snapshot_refuses),
        T(test_raft_storage_unreadable_file_refuses_to_start),
        T(test_raft_storage_torn_segment_creation_is_removed),
        T(test_raft_storage_second_open_is_locked_out),
        T(test_raft_storage_append_rejects_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
