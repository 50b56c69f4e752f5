/*
 * sim_storage: the simulated disk of one node. An update's writes are queued as a
 * pending (unsynced) write and become durable after a random disk latency, in
 * order; only then are the update's messages sent and RAFT_EVENT_PERSISTED fed
 * back (the raft.h contract). A crash loses every pending write, or with `tear`
 * keeps the hard state and a random prefix of the first one's entries (a torn
 * write whose checksummed tail is discarded on reload). A write can be made to
 * fail, which halts the node (fail-stop) until the simulator restarts it.
 */
#include "sim.h"

#include <stdlib.h>
#include <string.h>

struct sim_write {
    struct sim_write *next;
    uint64_t done_us;
    bool has_hs;
    struct raft_hard_state hs;
    bool has_snap;
    struct raft_snapshot_meta snap_meta;
    uint8_t *snap_data;
    size_t snap_len;
    struct raft_entry *entries;
    size_t n_entries;
    struct raft_message *msgs;
    size_t n_msgs;
    bool report;
    uint64_t report_index, report_term;
};

static void free_entries(struct raft_entry *e, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free((void *)e[i].payload);
    free(e);
}

static void write_free(struct sim_write *w)
{
    free(w->snap_data);
    free_entries(w->entries, w->n_entries);
    for (size_t i = 0; i < w->n_msgs; i++)
        sim_msg_free_payload(&w->msgs[i]);
    free(w->msgs);
    free(w);
}

static int copy_entry(struct raft_entry *dst, const struct raft_entry *src)
{
    *dst = *src;
    dst->payload = NULL;
    if (src->payload_len > 0) {
        uint8_t *p = malloc(src->payload_len);
        if (p == NULL)
            return -1;
        memcpy(p, src->payload, src->payload_len);
        dst->payload = p;
    }
    return 0;
}

int sim_storage_submit(struct sim *s, struct sim_node *nd, const struct raft_update *up)
{
    bool persist =
        up->flags & (RAFT_UPDATE_HARD_STATE | RAFT_UPDATE_ENTRIES | RAFT_UPDATE_SNAPSHOT);
    if (!persist && up->n_messages == 0)
        return 0;
    struct sim_write *w = calloc(1, sizeof(*w));
    if (w == NULL)
        return -1;
    if (up->flags & RAFT_UPDATE_HARD_STATE) {
        w->has_hs = true;
        w->hs = up->hard_state;
    }
    if (up->flags & RAFT_UPDATE_SNAPSHOT) {
        w->has_snap = true;
        w->snap_meta = up->snapshot->meta;
        if (up->snapshot->data_len > 0) {
            w->snap_data = malloc(up->snapshot->data_len);
            if (w->snap_data == NULL)
                goto fail;
            memcpy(w->snap_data, up->snapshot->data, up->snapshot->data_len);
            w->snap_len = up->snapshot->data_len;
        }
        w->report = true;
        w->report_index = up->snapshot->meta.last_index;
        w->report_term = up->snapshot->meta.last_term;
    }
    if (up->n_entries > 0) {
        w->entries = calloc(up->n_entries, sizeof(*w->entries));
        if (w->entries == NULL)
            goto fail;
        for (size_t i = 0; i < up->n_entries; i++) {
            if (copy_entry(&w->entries[i], &up->entries[i]) != 0)
                goto fail;
            w->n_entries = i + 1;
        }
        w->report = true;
        w->report_index = up->entries[up->n_entries - 1].index;
        w->report_term = up->entries[up->n_entries - 1].term;
    }
    if (up->n_messages > 0) {
        w->msgs = calloc(up->n_messages, sizeof(*w->msgs));
        if (w->msgs == NULL)
            goto fail;
        for (size_t i = 0; i < up->n_messages; i++) {
            if (sim_msg_copy(&w->msgs[i], &up->messages[i]) != 0)
                goto fail;
            w->n_msgs = i + 1;
        }
    }
    uint64_t done = s->now_us;
    if (persist)
        done += sim_rand_range(s, s->o.disk_min_us, s->o.disk_max_us + 1);
    if (nd->pending_tail != NULL && nd->pending_tail->done_us > done)
        done = nd->pending_tail->done_us;
    w->done_us = done;
    if (nd->pending_tail != NULL)
        nd->pending_tail->next = w;
    else
        nd->pending_head = w;
    nd->pending_tail = w;
    return 0;
fail:
    write_free(w);
    return -1;
}

uint64_t sim_storage_next_us(const struct sim_node *nd)
{
    return nd->pending_head != NULL ? nd->pending_head->done_us : UINT64_MAX;
}

static void disk_truncate(struct sim_disk *d, uint64_t from)
{
    while (d->n_entries > 0 && d->entries[d->n_entries - 1].index >= from) {
        d->n_entries--;
        free((void *)d->entries[d->n_entries].payload);
    }
}

static int disk_append(struct sim_disk *d, const struct raft_entry *e)
{
    struct raft_entry *ne = realloc(d->entries, (d->n_entries + 1) * sizeof(*ne));
    if (ne == NULL)
        return -1;
    d->entries = ne;
    return copy_entry(&d->entries[d->n_entries++], e) == 0 ? 0 : -1;
}

static void disk_set_snapshot(struct sim_disk *d, const struct raft_snapshot_meta *m,
                              const uint8_t *data, size_t len, bool drop_log)
{
    free(d->snap_data);
    d->snap_data = NULL;
    if (len > 0) {
        d->snap_data = malloc(len);
        if (d->snap_data != NULL)
            memcpy(d->snap_data, data, len);
    }
    d->snap_len = d->snap_data != NULL ? len : 0;
    d->snap_meta = *m;
    if (drop_log)
        disk_truncate(d, 0);
}

static uint64_t disk_term_at(const struct sim_disk *d, uint64_t index, bool *known)
{
    *known = true;
    if (index == 0)
        return 0;
    for (size_t i = d->n_entries; i > 0; i--)
        if (d->entries[i - 1].index == index)
            return d->entries[i - 1].term;
    if (index == d->snap_meta.last_index)
        return d->snap_meta.last_term;
    *known = false;
    return 0;
}

/* Applies the first `n_entries` entries of a write (all of it unless torn). */
static void disk_apply(struct sim *s, struct sim_node *nd, const struct sim_write *w,
                       size_t n_entries, bool with_snap)
{
    struct sim_disk *d = &nd->disk;
    if (w->has_hs)
        d->hs = w->hs;
    if (w->has_snap && with_snap)
        disk_set_snapshot(d, &w->snap_meta, w->snap_data, w->snap_len, true);
    if (w->n_entries > 0) {
        disk_truncate(d, w->entries[0].index);
        bool known;
        uint64_t prev = disk_term_at(d, w->entries[0].index - 1, &known);
        sim_inv_durable(s, nd, w->entries, n_entries, prev, known);
        for (size_t i = 0; i < n_entries; i++)
            disk_append(d, &w->entries[i]);
    }
}

void sim_storage_save_snapshot(struct sim_node *nd, const struct raft_snapshot_meta *m,
                               const uint8_t *data, size_t len)
{
    disk_set_snapshot(&nd->disk, m, data, len, false);
}

void sim_storage_compact(struct sim_node *nd, uint64_t index)
{
    struct sim_disk *d = &nd->disk;
    size_t drop = 0;
    while (drop < d->n_entries && d->entries[drop].index <= index)
        free((void *)d->entries[drop++].payload);
    memmove(d->entries, d->entries + drop, (d->n_entries - drop) * sizeof(*d->entries));
    d->n_entries -= drop;
}

bool sim_storage_complete(struct sim *s, struct sim_node *nd)
{
    struct sim_write *w = nd->pending_head;
    if (w == NULL || w->done_us > s->now_us || nd->raft == NULL)
        return false;
    nd->pending_head = w->next;
    if (nd->pending_head == NULL)
        nd->pending_tail = NULL;
    bool persist = w->has_hs || w->has_snap || w->n_entries > 0;
    if (persist && nd->fail_next_write) {
        /* The write failed: nothing of it is durable, nothing is sent. */
        nd->fail_next_write = false;
        write_free(w);
        struct raft_event ev = {.type = RAFT_EVENT_PERSIST_FAILED,
                                .now_ms = s->now_us / 1000};
        sim_node_step(s, nd->id, &ev);
        sim_crash(s, nd->id, false);
        nd->restart_at_us = s->now_us + sim_rand_range(s, 50000, 500000);
        return true;
    }
    disk_apply(s, nd, w, w->n_entries, true);
    for (size_t i = 0; i < w->n_msgs; i++) {
        const struct raft_message *m = &w->msgs[i];
        if (m->type == RAFT_MSG_REQUEST_VOTE_RESULT &&
            m->u.request_vote_result.vote_granted && !m->u.request_vote_result.pre_vote)
            sim_inv_vote(s, m->from, m->term, m->to);
        if (m->type == RAFT_MSG_INSTALL_SNAPSHOT)
            s->stats.snapshots_sent++;
        if (m->type == RAFT_MSG_APPEND_ENTRIES_RESULT &&
            m->u.append_entries_result.success)
            sim_inv_ack(s, nd, m);
        if (m->type == RAFT_MSG_APPEND_ENTRIES || m->type == RAFT_MSG_INSTALL_SNAPSHOT ||
            m->type == RAFT_MSG_TIMEOUT_NOW)
            sim_inv_leader(s, m->from, m->term);
        sim_net_send(s, m);
    }
    bool report = w->report;
    struct raft_event ev = {.type = RAFT_EVENT_PERSISTED, .now_ms = s->now_us / 1000};
    ev.u.persisted.index = w->report_index;
    ev.u.persisted.term = w->report_term;
    write_free(w);
    if (report)
        sim_node_step(s, nd->id, &ev);
    return true;
}

void sim_storage_crash(struct sim *s, struct sim_node *nd, bool tear)
{
    struct sim_write *w = nd->pending_head;
    if (tear && w != NULL && (w->has_hs || w->n_entries > 0)) {
        size_t keep = w->n_entries > 0 && !w->has_snap
                          ? (size_t)sim_rand_range(s, 0, w->n_entries)
                          : 0;
        disk_apply(s, nd, w, keep, false);
    }
    while (nd->pending_head != NULL) {
        w = nd->pending_head;
        nd->pending_head = w->next;
        write_free(w);
    }
    nd->pending_tail = NULL;
}

void sim_disk_free(struct sim_disk *d)
{
    free(d->snap_data);
    free_entries(d->entries, d->n_entries);
    memset(d, 0, sizeof(*d));
}
