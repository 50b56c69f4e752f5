/*
 * raft_storage: durable storage of one Raft server in a data directory: the log,
 * the hard state (term, vote) and the latest snapshot. Synchronous and blocking;
 * the cluster thread calls it off the worker loops. Not thread-safe: one caller.
 * It never prints: recovery findings come back as reports for the caller to log.
 *
 * Layout of data_dir (every integer little endian):
 *   LOCK                  flock()ed while open: a second opener is refused
 *   metadata              "RLBM" u32 version=1 u64 term u64 vote u32 crc32c(all before)
 *   snapshot              "RLBS" u32 version=1 u64 last_index u64 last_term
 *                         u64 conf_index u32 conf_len conf u64 data_len data
 *                         u32 crc32c(all before)
 *   log-<first index>     20 decimal digits; a 16-byte header "RLBL" u32 version=1
 *                         u64 first_index, then records:
 *       u32 hdr_crc       crc32c of the next 28 bytes (so a length is trusted only
 *                         when the header is intact)
 *       u32 rec_crc       crc32c of the next 24 bytes and the payload
 *       u32 payload_len   u32 type   u64 term   u64 index   payload
 * Segments hold consecutive indexes; the last one is open for appends and a new one
 * is started at the first batch boundary after it reaches segment_max_bytes.
 * metadata and snapshot are replaced atomically: write NAME.tmp, fsync, rename,
 * fsync the directory. A new segment is fsynced with its directory before use.
 *
 * Recovery at open:
 *   - a torn last record of the last segment is cut off and REPORTED: the file
 *     ends inside a record whose header checks out; or fewer bytes than a record
 *     header remain; or the header fails its CRC and every byte after it is zero;
 *     or the last record fails its CRC and ends exactly at the end of the file.
 *     A last segment too short for its header, or all zeros, is removed and reported.
 *   - anything else that does not check out (a bad CRC with data after it, a
 *     non-last segment with a torn end, an index gap or a term that goes down, a
 *     bad metadata or snapshot file) is an error naming the file and the offset:
 *     open() refuses, and no log, metadata or snapshot content is changed beyond
 *     the torn-tail cuts above. Never silently accepted.
 *   - leftover *.tmp files (a replacement interrupted before its rename) are
 *     removed and reported; the previous file is intact.
 *   - snapshot and log are reconciled as in Figure 13 ("InstallSnapshot", steps
 *     6-7): if the log holds the snapshot's last entry (same index and term), the
 *     entries after it are kept; otherwise the whole log is discarded (an install
 *     interrupted between writing the snapshot and resetting the log) and reported.
 *
 * Failure: the first write error (ENOSPC, EIO, a short write that cannot complete,
 * any other errno) puts the storage in a FAILED state: every later mutating call
 * returns RAFT_STORAGE_EFAILED with the original cause in err; reads still serve
 * everything acknowledged before. Nothing acknowledged is lost: an acknowledged
 * call had completed its fsync; a failed call's partial bytes are a torn tail that
 * the next open cuts. Recovering needs a restart (fsync errors may have dropped
 * dirty pages: retrying in place would be unsafe).
 */
#ifndef RAFTLB_RAFT_STORAGE_H
#define RAFTLB_RAFT_STORAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "raft/raft.h"
#include "raft/raft_storage_io.h"

/* Return codes (negative):
 *   EINVAL   a bad argument; the storage is unchanged
 *   ECORRUPT open: the directory holds data that does not check out; the node must
 *            not start
 *   EIO      an I/O error (EIO or another errno); the storage is FAILED
 *   ENOSPC   no space (ENOSPC, EDQUOT); the storage is FAILED
 *   EFAILED  an earlier write failed; the storage is read-only until restart
 *   ELOCKED  open: another process holds the directory */
#define RAFT_STORAGE_EINVAL   (-200)
#define RAFT_STORAGE_ECORRUPT (-201)
#define RAFT_STORAGE_EIO      (-202)
#define RAFT_STORAGE_ENOSPC   (-203)
#define RAFT_STORAGE_EFAILED  (-204)
#define RAFT_STORAGE_ENOMEM   (-205)
#define RAFT_STORAGE_ELOCKED  (-206)

struct raft_storage_options {
    const struct raft_storage_io *io; /* NULL: raft_storage_io_posix() */
    uint64_t segment_max_bytes;       /* 0: 8 MiB */
    uint32_t max_entry_bytes;         /* 0: 64 MiB; a longer record is corrupt and
                                         a longer append is refused */
};

struct raft_storage;

/* Opens (creating if needed, mode 0700) the directory `dir`, takes its lock and
 * loads it, with the recovery described above. On 0, *out is a new storage to be
 * released with raft_storage_close(). On error, *out is NULL and err names the
 * cause (and for RAFT_STORAGE_ECORRUPT the file and the byte offset). */
int raft_storage_open(const char *dir, const struct raft_storage_options *opts,
                      struct raft_storage **out, char *err, size_t errlen);

/* Releases everything. Writes nothing (every acknowledged write is already
 * durable). NULL is allowed. */
void raft_storage_close(struct raft_storage *s);

/* ---- reads: valid in every state, including FAILED ------------------------- */

/* What open() found and did, one line each ("log-...: torn record at offset N
 * cut ..."), for the caller to log. Valid until close. */
size_t raft_storage_report_count(const struct raft_storage *s);
const char *raft_storage_report(const struct raft_storage *s, size_t i);

struct raft_hard_state raft_storage_hard_state(const struct raft_storage *s);

/* The latest snapshot (meta and image), or NULL if none. Valid until the next
 * raft_storage_save_snapshot() or close. */
const struct raft_snapshot *raft_storage_snapshot(const struct raft_storage *s);

/* The entries after the snapshot, in order, contiguous, starting at the
 * snapshot's last_index + 1 (or 1); *n receives their count. Payloads are owned by
 * the storage: valid until the next mutating call or close. This is exactly what
 * raft_new() wants. */
const struct raft_entry *raft_storage_entries(const struct raft_storage *s, size_t *n);

/* The index of the last stored entry (or of the snapshot if the log is empty
 * after it), 0 if nothing is stored. */
uint64_t raft_storage_last_index(const struct raft_storage *s);

/* 0 while healthy; after a write error the code it returned (RAFT_STORAGE_ENOSPC
 * or RAFT_STORAGE_EIO), with a message naming the operation, file and errno in
 * raft_storage_failure() (empty while healthy). */
int raft_storage_failed(const struct raft_storage *s);
const char *raft_storage_failure(const struct raft_storage *s);

/* ---- writes: durable on return 0 ----------------------------------------- */

/* Appends n >= 1 consecutive entries (entries[i].index == entries[0].index + i).
 * Per the raft.h persistence contract, every stored entry with index >=
 * entries[0].index is first removed (raft_storage_truncate_suffix()). Requires
 * snapshot last_index < entries[0].index <= last_index + 1. Returns 0 once the
 * entries are on stable storage (written and fdatasync'ed); RAFT_STORAGE_EINVAL
 * for a bad argument (storage unchanged); ENOSPC/EIO on a write error (storage
 * FAILED); EFAILED if already failed. Payloads are copied. */
int raft_storage_append(struct raft_storage *s, const struct raft_entry *entries,
                        size_t n, char *err, size_t errlen);

/* Removes every stored entry with index >= from_index (follower log repair,
 * Figure 3.1 AppendEntries step 3). Whole later segments are unlinked, last first,
 * then the segment holding from_index is ftruncate'd and fsynced, then the
 * directory is fsynced: a crash in between leaves a valid prefix. from_index must
 * be > the snapshot's last_index; beyond the last index it is a no-op. */
int raft_storage_truncate_suffix(struct raft_storage *s, uint64_t from_index, char *err,
                                 size_t errlen);

/* Durably replaces term and vote (temp file, fsync, rename, fsync directory). */
int raft_storage_save_hard_state(struct raft_storage *s, const struct raft_hard_state *hs,
                                 char *err, size_t errlen);

/* Durably replaces the snapshot (temp file, fsync, rename, fsync directory) with
 * `meta` and data[0..len) (copied), then reconciles the log as at open: if the log
 * holds (meta->last_index, meta->last_term) the entries after it stay, otherwise
 * every segment is removed (an installed snapshot replaces the whole log, per the
 * raft.h contract). Entries up to last_index stay on disk until
 * raft_storage_compact(). meta->last_index must be >= the current snapshot's.
 * Driving the core (raft.h persistence contract):
 *   - RAFT_UPDATE_SNAPSHOT (a snapshot installed from the leader, which "replaces
 *     the WHOLE stored log"): save_snapshot, then
 *     raft_storage_truncate_suffix(s, meta->last_index + 1), then
 *     raft_storage_compact(s, meta->last_index). A crash between the calls leaves
 *     entries that match the snapshot (Figure 13 step 6), which is safe.
 *   - RAFT_EVENT_SNAPSHOT (a local snapshot of applied state): save_snapshot with
 *     raft_snapshot_meta(), then raft_storage_compact() when the update carries
 *     RAFT_UPDATE_COMPACT. */
int raft_storage_save_snapshot(struct raft_storage *s,
                               const struct raft_snapshot_meta *meta, const uint8_t *data,
                               size_t len, char *err, size_t errlen);

/* Removes the closed segments whose entries all have index <= min(up_to_index,
 * snapshot last_index), oldest first, then fsyncs the directory. The open
 * (last) segment is never removed. */
int raft_storage_compact(struct raft_storage *s, uint64_t up_to_index, char *err,
                         size_t errlen);

const char *raft_storage_strerror(int code);

#endif
