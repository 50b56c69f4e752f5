/*
 * raft_storage_io: the POSIX implementation of struct raft_storage_io. EINTR is
 * retried here so the storage code sees only real failures.
 */
#include "config.h"

#include "raft/raft_storage_io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

static int posix_open(void *ctx, const char *path, int flags, mode_t mode)
{
    (void)ctx;
    int fd;
    do
        fd = open(path, flags | O_CLOEXEC, mode);
    while (fd == -1 && errno == EINTR);
    return fd;
}

static int posix_close(void *ctx, int fd)
{
    (void)ctx;
    return close(fd); /* never retried: the descriptor is gone either way */
}

static ssize_t posix_pread(void *ctx, int fd, void *buf, size_t len, off_t off)
{
    (void)ctx;
    ssize_t n;
    do
        n = pread(fd, buf, len, off);
    while (n == -1 && errno == EINTR);
    return n;
}

static ssize_t posix_pwrite(void *ctx, int fd, const void *buf, size_t len, off_t off)
{
    (void)ctx;
    ssize_t n;
    do
        n = pwrite(fd, buf, len, off);
    while (n == -1 && errno == EINTR);
    return n;
}

static int posix_fsync(void *ctx, int fd)
{
    (void)ctx;
    return fsync(fd);
}

static int posix_fdatasync(void *ctx, int fd)
{
    (void)ctx;
    return fdatasync(fd);
}

static int posix_ftruncate(void *ctx, int fd, off_t len)
{
    (void)ctx;
    int rv;
    do
        rv = ftruncate(fd, len);
    while (rv == -1 && errno == EINTR);
    return rv;
}

static int posix_rename(void *ctx, const char *from, const char *to)
{
    (void)ctx;
    return rename(from, to);
}

static int posix_unlink(void *ctx, const char *path)
{
    (void)ctx;
    return unlink(path);
}

static const struct raft_storage_io posix_io = {
    posix_open,      posix_close,     posix_pread,  posix_pwrite, posix_fsync,
    posix_fdatasync, posix_ftruncate, posix_rename, posix_unlink, NULL,
};

const struct raft_storage_io *raft_storage_io_posix(void)
{
    return &posix_io;
}
