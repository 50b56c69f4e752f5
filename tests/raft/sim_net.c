/*
 * sim_net: the simulated network. Messages are deep-copied when sent (the core's
 * pointers die at its next step), delayed by a random latency (so they reorder),
 * dropped or duplicated at random, and dropped across a cut link.
 */
#include "sim.h"

#include <stdlib.h>
#include <string.h>

void sim_msg_free_payload(struct raft_message *m)
{
    if (m->type == RAFT_MSG_APPEND_ENTRIES && m->u.append_entries.entries != NULL) {
        struct raft_entry *e = (struct raft_entry *)m->u.append_entries.entries;
        for (uint32_t i = 0; i < m->u.append_entries.n_entries; i++)
            free((void *)e[i].payload);
        free(e);
        m->u.append_entries.entries = NULL;
    } else if (m->type == RAFT_MSG_INSTALL_SNAPSHOT) {
        free((void *)m->u.install_snapshot.data);
        m->u.install_snapshot.data = NULL;
    }
}

int sim_msg_copy(struct raft_message *dst, const struct raft_message *src)
{
    *dst = *src;
    if (src->type == RAFT_MSG_APPEND_ENTRIES && src->u.append_entries.n_entries > 0) {
        uint32_t n = src->u.append_entries.n_entries;
        struct raft_entry *e = calloc(n, sizeof(*e));
        if (e == NULL)
            return -1;
        for (uint32_t i = 0; i < n; i++) {
            e[i] = src->u.append_entries.entries[i];
            e[i].payload = NULL;
            if (e[i].payload_len > 0) {
                uint8_t *p = malloc(e[i].payload_len);
                if (p == NULL)
                    return -1;
                memcpy(p, src->u.append_entries.entries[i].payload, e[i].payload_len);
                e[i].payload = p;
            }
        }
        dst->u.append_entries.entries = e;
    } else if (src->type == RAFT_MSG_APPEND_ENTRIES) {
        dst->u.append_entries.entries = NULL;
    } else if (src->type == RAFT_MSG_INSTALL_SNAPSHOT) {
        dst->u.install_snapshot.data = NULL;
        if (src->u.install_snapshot.data_len > 0) {
            uint8_t *p = malloc(src->u.install_snapshot.data_len);
            if (p == NULL)
                return -1;
            memcpy(p, src->u.install_snapshot.data, src->u.install_snapshot.data_len);
            dst->u.install_snapshot.data = p;
        }
    }
    return 0;
}

static void sim_msg_free(struct sim_msg *sm)
{
    if (sm->wire != NULL)
        free(sm->wire);
    else
        sim_msg_free_payload(&sm->m);
    free(sm);
}

/* Encodes the message as the transport would; a message the codec refuses is
 * an interface bug between the core and the codec. */
static int encode(struct sim *s, struct sim_msg *sm, const struct raft_message *m)
{
    char err[256] = "";
    size_t len = raft_codec_encoded_len(m), written = 0;
    if (len == 0) {
        sim_violation(s, "codec cannot encode a %s from %llu",
                      raft_message_type_name(m->type), (unsigned long long)m->from);
        return -1;
    }
    sm->wire = malloc(len);
    if (sm->wire == NULL)
        return -1;
    int rv = raft_codec_encode(m, sm->wire, len, &written, err, sizeof(err));
    if (rv != 0 || written != len) {
        sim_violation(s, "codec: encoding a %s failed: %s",
                      raft_message_type_name(m->type), err);
        return -1;
    }
    sm->m.type = m->type;
    sm->m.from = m->from;
    sm->m.to = m->to;
    sm->wire_len = len;
    return 0;
}

static void enqueue(struct sim *s, const struct raft_message *m, uint64_t delay_us)
{
    struct sim_msg *sm = calloc(1, sizeof(*sm));
    int rv = sm == NULL ? -1 : s->o.wire ? encode(s, sm, m) : sim_msg_copy(&sm->m, m);
    if (rv != 0) {
        sim_violation(s, "simulator out of memory or codec failure");
        if (sm != NULL)
            sim_msg_free(sm);
        return;
    }
    sm->deliver_us = s->now_us + delay_us;
    sm->seq = s->msg_seq++;
    struct sim_msg **pp = &s->net;
    while (*pp != NULL && ((*pp)->deliver_us < sm->deliver_us ||
                           ((*pp)->deliver_us == sm->deliver_us && (*pp)->seq < sm->seq)))
        pp = &(*pp)->next;
    sm->next = *pp;
    *pp = sm;
}

static uint64_t latency(struct sim *s)
{
    return sim_rand_range(s, s->o.latency_min_us, s->o.latency_max_us + 1);
}

void sim_inject(struct sim *s, const struct raft_message *m, uint64_t delay_us)
{
    enqueue(s, m, delay_us);
}

void sim_net_send(struct sim *s, const struct raft_message *m)
{
    unsigned a = (unsigned)m->from - 1, b = (unsigned)m->to - 1;

    s->stats.messages++;
    if (a >= s->n || b >= s->n || !s->link[a][b])
        return;
    if (s->o.loss_ppm > 0 && sim_rand_range(s, 0, 1000000) < s->o.loss_ppm)
        return;
    uint64_t d = latency(s);
    if (s->o.delay_ppm > 0 && sim_rand_range(s, 0, 1000000) < s->o.delay_ppm)
        d += sim_rand_range(s, 50000, 1000000);
    enqueue(s, m, d);
    if (s->o.dup_ppm > 0 && sim_rand_range(s, 0, 1000000) < s->o.dup_ppm)
        enqueue(s, m, latency(s) * 3);
}

void sim_net_free(struct sim *s)
{
    while (s->net != NULL) {
        struct sim_msg *sm = s->net;
        s->net = sm->next;
        sim_msg_free(sm);
    }
    raft_codec_decoder_free(&s->decoder);
}

void sim_net_deliver(struct sim *s)
{
    struct sim_msg *sm = s->net;
    s->net = sm->next;
    struct sim_node *nd = sim_node(s, sm->m.to);
    unsigned a = (unsigned)sm->m.from - 1, b = (unsigned)sm->m.to - 1;
    if (nd != NULL && nd->raft != NULL && a < s->n && s->link[a][b]) {
        struct raft_event ev = {.type = RAFT_EVENT_RECEIVE, .now_ms = s->now_us / 1000};
        ev.u.receive = sm->m;
        if (sm->wire != NULL) {
            char err[256] = "";
            int rv = raft_codec_decode(&s->decoder, sm->wire, sm->wire_len, &ev.u.receive,
                                       err, sizeof(err));
            if (rv != 0) {
                sim_violation(s, "codec: decoding a %s failed: %s",
                              raft_message_type_name(sm->m.type), err);
                sim_msg_free(sm);
                return;
            }
        }
        sim_node_step(s, sm->m.to, &ev);
    }
    sim_msg_free(sm);
}
