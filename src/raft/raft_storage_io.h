/*
 * raft_storage_io: the small table of file-system calls raft_storage goes through,
 * so that tests can inject ENOSPC, EIO and short writes. Each function behaves like
 * the POSIX call of the same name: -1 with errno set on failure. Not a general
 * file abstraction: only what the storage needs.
 */
#ifndef RAFTLB_RAFT_STORAGE_IO_H
#define RAFTLB_RAFT_STORAGE_IO_H

#include <stddef.h>
#include <sys/types.h>

struct raft_storage_io {
    int (*open)(void *ctx, const char *path, int flags, mode_t mode);
    int (*close)(void *ctx, int fd);
    ssize_t (*pread)(void *ctx, int fd, void *buf, size_t len, off_t off);
    ssize_t (*pwrite)(void *ctx, int fd, const void *buf, size_t len, off_t off);
    int (*fsync)(void *ctx, int fd);
    int (*fdatasync)(void *ctx, int fd);
    int (*ftruncate)(void *ctx, int fd, off_t len);
    int (*rename)(void *ctx, const char *from, const char *to);
    int (*unlink)(void *ctx, const char *path);
    void *ctx; /* passed to every call */
};

/* The real system calls (ctx unused). Static storage; never freed. */
const struct raft_storage_io *raft_storage_io_posix(void);

#endif
