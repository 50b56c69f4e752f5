/*
 * raft_snapshot: log compaction (dissertation chapter 5). The application takes a
 * snapshot of its state at an applied index; the core keeps it (to send to
 * followers that fell behind the compacted prefix) and drops the log up to that
 * index minus a trailing margin. Pure: the driver stores the snapshot.
 */
#include "raft/raft_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int raft_snapshot_store(struct raft *r, const struct raft_snapshot_meta *meta,
                        const uint8_t *data, size_t len)
{
    uint8_t *copy = NULL;
    if (len > 0) {
        copy = malloc(len);
        if (copy == NULL)
            return RAFT_ENOMEM;
        memcpy(copy, data, len);
    }
    free(r->snap_data);
    r->snap_data = copy;
    r->snap_len = len;
    r->snap_meta = *meta;
    return 0;
}

/* Contract: 0 < index <= applied index and index > the previous snapshot's;
 * `data` is the application's image at exactly `index`. The driver has stored
 * the snapshot itself; the update's compact_index tells storage what it may
 * drop. */
int raft_snapshot_take(struct raft *r, uint64_t index, const uint8_t *data, size_t len,
                       char *err, size_t errlen)
{
    struct raft_snapshot_meta meta;

    if (index == 0 || index > r->applied_index || index <= r->snap_meta.last_index ||
        index <= r->log.offset || (len > 0 && data == NULL)) {
        if (err != NULL && errlen > 0)
            snprintf(err, errlen, "raft: snapshot index %llu not in (%llu, applied %llu]",
                     (unsigned long long)index,
                     (unsigned long long)r->snap_meta.last_index,
                     (unsigned long long)r->applied_index);
        return RAFT_EINVAL;
    }
    memset(&meta, 0, sizeof(meta));
    meta.last_index = index;
    meta.last_term = raft_log_term_at(&r->log, index);
    if (raft_conf_at(r, index, &meta.conf, &meta.conf_index) != 0)
        return RAFT_ECORRUPT;
    int rv = raft_snapshot_store(r, &meta, data, len);
    if (rv != 0)
        return rv;
    if (index > r->opts.snapshot_trailing) {
        uint64_t upto = index - r->opts.snapshot_trailing;
        if (upto > r->log.offset) {
            raft_log_compact(&r->log, upto);
            r->compact_index = upto;
        }
    }
    return 0;
}
