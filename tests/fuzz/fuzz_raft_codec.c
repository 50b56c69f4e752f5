/*
 * fuzz_raft_codec: libFuzzer target for the Raft frame codec. Every input is fed to
 * raft_codec_frame_peek() and raft_codec_decode(); an input that decodes is
 * re-encoded, and the encoding must be byte-identical to the input (the format has
 * exactly one encoding per message) and decode again to an equal message. Any
 * mismatch aborts, which libFuzzer reports as a crash.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "raft/raft_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int entries_equal(const struct raft_entry *a, const struct raft_entry *b,
                         uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        if (a[i].term != b[i].term || a[i].index != b[i].index ||
            a[i].type != b[i].type || a[i].payload_len != b[i].payload_len)
            return 0;
        if (a[i].payload_len && memcmp(a[i].payload, b[i].payload, a[i].payload_len))
            return 0;
    }
    return 1;
}

static int meta_equal(const struct raft_snapshot_meta *x,
                      const struct raft_snapshot_meta *y)
{
    if (x->last_index != y->last_index || x->last_term != y->last_term ||
        x->conf_index != y->conf_index || x->conf.n_servers != y->conf.n_servers)
        return 0;
    for (uint32_t i = 0; i < x->conf.n_servers; i++)
        if (x->conf.servers[i].id != y->conf.servers[i].id ||
            x->conf.servers[i].role != y->conf.servers[i].role)
            return 0;
    return 1;
}

static int messages_equal(const struct raft_message *a, const struct raft_message *b)
{
    if (a->type != b->type || a->from != b->from || a->to != b->to || a->term != b->term)
        return 0;
    switch (a->type) {
    case RAFT_MSG_REQUEST_VOTE: {
        const struct raft_request_vote *x = &a->u.request_vote;
        const struct raft_request_vote *y = &b->u.request_vote;
        return x->last_log_index == y->last_log_index &&
               x->last_log_term == y->last_log_term && x->pre_vote == y->pre_vote &&
               x->leader_transfer == y->leader_transfer;
    }
    case RAFT_MSG_REQUEST_VOTE_RESULT:
        return a->u.request_vote_result.vote_granted ==
                   b->u.request_vote_result.vote_granted &&
               a->u.request_vote_result.pre_vote == b->u.request_vote_result.pre_vote;
    case RAFT_MSG_APPEND_ENTRIES: {
        const struct raft_append_entries *x = &a->u.append_entries;
        const struct raft_append_entries *y = &b->u.append_entries;
        return x->prev_log_index == y->prev_log_index &&
               x->prev_log_term == y->prev_log_term &&
               x->leader_commit == y->leader_commit && x->n_entries == y->n_entries &&
               entries_equal(x->entries, y->entries, x->n_entries);
    }
    case RAFT_MSG_APPEND_ENTRIES_RESULT: {
        const struct raft_append_entries_result *x = &a->u.append_entries_result;
        const struct raft_append_entries_result *y = &b->u.append_entries_result;
        return x->success == y->success && x->last_index == y->last_index &&
               x->rejected_index == y->rejected_index && x->hint_index == y->hint_index &&
               x->hint_term == y->hint_term;
    }
    case RAFT_MSG_INSTALL_SNAPSHOT: {
        const struct raft_install_snapshot *x = &a->u.install_snapshot;
        const struct raft_install_snapshot *y = &b->u.install_snapshot;
        return meta_equal(&x->meta, &y->meta) && x->data_len == y->data_len &&
               (x->data_len == 0 || memcmp(x->data, y->data, x->data_len) == 0);
    }
    case RAFT_MSG_INSTALL_SNAPSHOT_RESULT:
        return a->u.install_snapshot_result.last_index ==
               b->u.install_snapshot_result.last_index;
    case RAFT_MSG_TIMEOUT_NOW:
        return 1;
    default:
        return 0;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct raft_codec_limits lim = {.max_frame_bytes = 1u << 20, .max_entries = 4096};
    struct raft_codec_decoder d1, d2;
    struct raft_message m1, m2;
    char err[256];
    size_t frame_len;

    /* Stream view: a frame found by peek must decode the same way as a whole. */
    int prv = raft_codec_frame_peek(&lim, data, size, &frame_len, err, sizeof(err));
    raft_codec_decoder_init(&d1, &lim);
    raft_codec_decoder_init(&d2, &lim);
    int rv = raft_codec_decode(&d1, data, size, &m1, err, sizeof(err));
    if (rv == 0 && (prv != 0 || frame_len != size))
        abort();
    if (rv == 0) {
        size_t n = raft_codec_encoded_len(&m1), written;
        uint8_t *buf = malloc(n ? n : 1);
        if (n != size || buf == NULL)
            abort();
        if (raft_codec_encode(&m1, buf, n, &written, err, sizeof(err)) != 0 ||
            written != size || memcmp(buf, data, size) != 0)
            abort();
        if (raft_codec_decode(&d2, buf, written, &m2, err, sizeof(err)) != 0 ||
            !messages_equal(&m1, &m2))
            abort();
        free(buf);
    }
    raft_codec_decoder_free(&d1);
    raft_codec_decoder_free(&d2);
    return 0;
}
