/* Unit tests of raft_codec: a round trip of every message type, stream reassembly,
 * and one test per kind of malformed frame. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "raft/raft_codec.h"

static const uint8_t payload_a[] = "set web1 drain";
static const uint8_t payload_b[] = {0x00, 0xff, 0x10};
static const uint8_t snap_data[] = "backend-state image";

static struct raft_entry sample_entries[3];

static struct raft_message sample(enum raft_message_type type)
{
    struct raft_message m;
    memset(&m, 0, sizeof(m));
    m.type = type;
    m.from = 1;
    m.to = 0x0102030405060708ull;
    m.term = 77;
    switch (type) {
    case RAFT_MSG_REQUEST_VOTE:
        m.u.request_vote.last_log_index = 1000;
        m.u.request_vote.last_log_term = 76;
        m.u.request_vote.pre_vote = true;
        m.u.request_vote.leader_transfer = true;
        break;
    case RAFT_MSG_REQUEST_VOTE_RESULT:
        m.u.request_vote_result.vote_granted = true;
        m.u.request_vote_result.pre_vote = false;
        break;
    case RAFT_MSG_APPEND_ENTRIES:
        sample_entries[0] = (struct raft_entry){76, 1001, RAFT_ENTRY_NORMAL, payload_a,
                                                sizeof(payload_a)};
        sample_entries[1] = (struct raft_entry){77, 1002, RAFT_ENTRY_NOOP, NULL, 0};
        sample_entries[2] = (struct raft_entry){77, 1003, RAFT_ENTRY_CONFIG, payload_b,
                                                sizeof(payload_b)};
        m.u.append_entries.prev_log_index = 1000;
        m.u.append_entries.prev_log_term = 76;
        m.u.append_entries.leader_commit = 999;
        m.u.append_entries.entries = sample_entries;
        m.u.append_entries.n_entries = 3;
        break;
    case RAFT_MSG_APPEND_ENTRIES_RESULT:
        m.u.append_entries_result.success = false;
        m.u.append_entries_result.last_index = 5;
        m.u.append_entries_result.rejected_index = 9;
        m.u.append_entries_result.hint_index = 4;
        m.u.append_entries_result.hint_term = UINT64_MAX;
        break;
    case RAFT_MSG_INSTALL_SNAPSHOT:
        m.u.install_snapshot.meta.last_index = 500;
        m.u.install_snapshot.meta.last_term = 70;
        m.u.install_snapshot.meta.conf_index = 3;
        m.u.install_snapshot.meta.conf.n_servers = 3;
        m.u.install_snapshot.meta.conf.servers[0] = (struct raft_server){1, RAFT_VOTER};
        m.u.install_snapshot.meta.conf.servers[1] = (struct raft_server){2, RAFT_VOTER};
        m.u.install_snapshot.meta.conf.servers[2] = (struct raft_server){9, RAFT_LEARNER};
        m.u.install_snapshot.data = snap_data;
        m.u.install_snapshot.data_len = sizeof(snap_data);
        break;
    case RAFT_MSG_INSTALL_SNAPSHOT_RESULT:
        m.u.install_snapshot_result.last_index = 500;
        break;
    default:
        break;
    }
    return m;
}

static void assert_entries_equal(const struct raft_entry *a, const struct raft_entry *b,
                                 uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        assert_int_equal(a[i].term, b[i].term);
        assert_int_equal(a[i].index, b[i].index);
        assert_int_equal(a[i].type, b[i].type);
        assert_int_equal(a[i].payload_len, b[i].payload_len);
        if (a[i].payload_len)
            assert_memory_equal(a[i].payload, b[i].payload, a[i].payload_len);
    }
}

static void assert_messages_equal(const struct raft_message *a,
                                  const struct raft_message *b)
{
    assert_int_equal(a->type, b->type);
    assert_int_equal(a->from, b->from);
    assert_int_equal(a->to, b->to);
    assert_int_equal(a->term, b->term);
    switch (a->type) {
    case RAFT_MSG_REQUEST_VOTE:
        assert_int_equal(a->u.request_vote.last_log_index,
                         b->u.request_vote.last_log_index);
        assert_int_equal(a->u.request_vote.last_log_term,
                         b->u.request_vote.last_log_term);
        assert_int_equal(a->u.request_vote.pre_vote, b->u.request_vote.pre_vote);
        assert_int_equal(a->u.request_vote.leader_transfer,
                         b->u.request_vote.leader_transfer);
        break;
    case RAFT_MSG_REQUEST_VOTE_RESULT:
        assert_int_equal(a->u.request_vote_result.vote_granted,
                         b->u.request_vote_result.vote_granted);
        assert_int_equal(a->u.request_vote_result.pre_vote,
                         b->u.request_vote_result.pre_vote);
        break;
    case RAFT_MSG_APPEND_ENTRIES:
        assert_int_equal(a->u.append_entries.prev_log_index,
                         b->u.append_entries.prev_log_index);
        assert_int_equal(a->u.append_entries.prev_log_term,
                         b->u.append_entries.prev_log_term);
        assert_int_equal(a->u.append_entries.leader_commit,
                         b->u.append_entries.leader_commit);
        assert_int_equal(a->u.append_entries.n_entries, b->u.append_entries.n_entries);
        assert_entries_equal(a->u.append_entries.entries, b->u.append_entries.entries,
                             a->u.append_entries.n_entries);
        break;
    case RAFT_MSG_APPEND_ENTRIES_RESULT: {
        const struct raft_append_entries_result *x = &a->u.append_entries_result;
        const struct raft_append_entries_result *y = &b->u.append_entries_result;
        assert_int_equal(x->success, y->success);
        assert_int_equal(x->last_index, y->last_index);
        assert_int_equal(x->rejected_index, y->rejected_index);
        assert_int_equal(x->hint_index, y->hint_index);
        assert_int_equal(x->hint_term, y->hint_term);
        break;
    }
    case RAFT_MSG_INSTALL_SNAPSHOT: {
        const struct raft_install_snapshot *x = &a->u.install_snapshot;
        const struct raft_install_snapshot *y = &b->u.install_snapshot;
        assert_int_equal(x->meta.last_index, y->meta.last_index);
        assert_int_equal(x->meta.last_term, y->meta.last_term);
        assert_int_equal(x->meta.conf_index, y->meta.conf_index);
        assert_int_equal(x->meta.conf.n_servers, y->meta.conf.n_servers);
        for (uint32_t i = 0; i < x->meta.conf.n_servers; i++) {
            assert_int_equal(x->meta.conf.servers[i].id, y->meta.conf.servers[i].id);
            assert_int_equal(x->meta.conf.servers[i].role, y->meta.conf.servers[i].role);
        }
        assert_int_equal(x->data_len, y->data_len);
        assert_memory_equal(x->data, y->data, x->data_len);
        break;
    }
    case RAFT_MSG_INSTALL_SNAPSHOT_RESULT:
        assert_int_equal(a->u.install_snapshot_result.last_index,
                         b->u.install_snapshot_result.last_index);
        break;
    default:
        break;
    }
}

/* Encodes `m` into a fresh buffer; *len receives its size. */
static uint8_t *encode(const struct raft_message *m, size_t *len)
{
    char err[256] = "";
    size_t n = raft_codec_encoded_len(m);
    assert_true(n >= RAFT_CODEC_HEADER_BYTES);
    uint8_t *buf = malloc(n + 64);
    assert_non_null(buf);
    assert_int_equal(raft_codec_encode(m, buf, n + 64, len, err, sizeof(err)), 0);
    assert_int_equal(*len, n);
    return buf;
}

static int decode(const uint8_t *buf, size_t len, struct raft_message *out, char *err,
                  size_t errlen)
{
    static struct raft_codec_decoder d;
    raft_codec_decoder_free(&d);
    raft_codec_decoder_init(
        &d, &(struct raft_codec_limits){.max_frame_bytes = 1 << 20, .max_entries = 100});
    int rv = raft_codec_decode(&d, buf, len, out, err, errlen);
    return rv;
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void test_raft_codec_round_trip_every_type(void **state)
{
    (void)state;
    for (int t = 0; t < RAFT_MSG_TYPE_COUNT; t++) {
        struct raft_message m = sample((enum raft_message_type)t), out;
        size_t len;
        char err[256] = "";
        uint8_t *buf = encode(&m, &len);
        assert_int_equal(buf[5], t);
        int rv = decode(buf, len, &out, err, sizeof(err));
        if (rv != 0)
            fail_msg("type %d: %s", t, err);
        assert_messages_equal(&m, &out);
        free(buf);
    }
}

static void test_raft_codec_round_trip_empty_bodies(void **state)
{
    (void)state;
    struct raft_message m = sample(RAFT_MSG_APPEND_ENTRIES), out;
    m.u.append_entries.n_entries = 0; /* a heartbeat */
    m.u.append_entries.entries = NULL;
    size_t len;
    char err[256];
    uint8_t *buf = encode(&m, &len);
    assert_int_equal(len, RAFT_CODEC_HEADER_BYTES + 28);
    assert_int_equal(decode(buf, len, &out, err, sizeof(err)), 0);
    assert_messages_equal(&m, &out);
    assert_null(out.u.append_entries.entries);
    free(buf);

    m = sample(RAFT_MSG_INSTALL_SNAPSHOT);
    m.u.install_snapshot.data = NULL;
    m.u.install_snapshot.data_len = 0;
    m.u.install_snapshot.meta.conf.n_servers = 0;
    buf = encode(&m, &len);
    assert_int_equal(decode(buf, len, &out, err, sizeof(err)), 0);
    assert_messages_equal(&m, &out);
    free(buf);
}

/* The fixed layout of the header, byte by byte (the documented wire format). */
static void test_raft_codec_header_layout(void **state)
{
    (void)state;
    struct raft_message m = sample(RAFT_MSG_TIMEOUT_NOW);
    size_t len;
    uint8_t *buf = encode(&m, &len);
    /* clang-format off */
    static const uint8_t want[RAFT_CODEC_HEADER_BYTES] = {
        'R', 'L', 'B', 'R', 1, RAFT_MSG_TIMEOUT_NOW, 0, 0, 36, 0, 0, 0, /* header */
        1, 0, 0, 0, 0, 0, 0, 0,                                         /* from */
        8, 7, 6, 5, 4, 3, 2, 1,                                         /* to */
        77, 0, 0, 0, 0, 0, 0, 0};                                       /* term */
    /* clang-format on */
    assert_int_equal(len, RAFT_CODEC_HEADER_BYTES);
    assert_memory_equal(buf, want, sizeof(want));
    free(buf);
}

/* Two frames back to back, offered one byte more at a time, as TCP may. */
static void test_raft_codec_peek_reassembles_stream(void **state)
{
    (void)state;
    struct raft_message a = sample(RAFT_MSG_APPEND_ENTRIES);
    struct raft_message b = sample(RAFT_MSG_REQUEST_VOTE);
    size_t la, lb, flen;
    uint8_t *fa = encode(&a, &la), *fb = encode(&b, &lb);
    uint8_t *stream = malloc(la + lb);
    memcpy(stream, fa, la);
    memcpy(stream + la, fb, lb);
    char err[256];
    size_t start = 0;
    int frames = 0;
    for (size_t have = 0; have <= la + lb; have++) {
        int rv = raft_codec_frame_peek(NULL, stream + start, have - start, &flen, err,
                                       sizeof(err));
        if (rv == RAFT_CODEC_AGAIN) {
            if (have - start >= RAFT_CODEC_PEEK_BYTES)
                assert_int_equal(flen, frames == 0 ? la : lb);
            else
                assert_int_equal(flen, 0);
            continue;
        }
        assert_int_equal(rv, 0);
        struct raft_message out;
        assert_int_equal(decode(stream + start, flen, &out, err, sizeof(err)), 0);
        assert_messages_equal(frames == 0 ? &a : &b, &out);
        start += flen;
        frames++;
    }
    assert_int_equal(frames, 2);
    assert_int_equal(raft_codec_frame_peek(NULL, NULL, 0, &flen, err, sizeof(err)),
                     RAFT_CODEC_AGAIN);
    assert_int_equal(start, la + lb);
    free(stream);
    free(fa);
    free(fb);
}

static void test_raft_codec_truncated_at_every_length(void **state)
{
    (void)state;
    for (int t = 0; t < RAFT_MSG_TYPE_COUNT; t++) {
        struct raft_message m = sample((enum raft_message_type)t), out;
        size_t len, flen;
        char err[256];
        uint8_t *buf = encode(&m, &len);
        for (size_t n = 0; n < len; n++) {
            assert_int_equal(decode(buf, n, &out, err, sizeof(err)),
                             RAFT_CODEC_ETRUNCATED);
            assert_int_equal(raft_codec_frame_peek(NULL, buf, n, &flen, err, sizeof(err)),
                             RAFT_CODEC_AGAIN);
        }
        free(buf);
    }
}

static void test_raft_codec_rejects_bad_magic(void **state)
{
    (void)state;
    struct raft_message m = sample(RAFT_MSG_REQUEST_VOTE), out;
    size_t len, flen;
    char err[256] = "";
    uint8_t *buf = encode(&m, &len);
    buf[0] = 'G'; /* "GET / HTTP/1.1" sent to the cluster port */
    assert_int_equal(decode(buf, len, &out, err, sizeof(err)), RAFT_CODEC_EMAGIC);
    assert_non_null(strstr(err, "magic"));
    /* refused on the very first byte, without waiting for more */
    assert_int_equal(raft_codec_frame_peek(NULL, buf, 1, &flen, err, sizeof(err)),
                     RAFT_CODEC_EMAGIC);
    free(buf);
}

static void test_raft_codec_rejects_bad_version(void **state)
{
    (void)state;
    struct raft_message m = sample(RAFT_MSG_REQUEST_VOTE), out;
    size_t len;
    char err[256] = "";
    uint8_t *buf = encode(&m, &len);
    buf[4] = 2;
    assert_int_equal(decode(buf, len, &out, err, sizeof(err)), RAFT_CODEC_EVERSION);
    assert_non_null(strstr(err, "version 2"));
    buf[4] = 0;
    assert_int_equal(decode(buf, len, &out, err, sizeof(err)), RAFT_CODEC_EVERSION);
    free(buf);
}

static void test_raft_codec_rejects_unknown_type(void **state)
{
    (void)state;
    struct raft_message m = sample(RAFT_MSG_TIMEOUT_NOW), out;
    size_t len;
    char err[256] = "";
    uint8_t *buf = encode(&m, &len);
    buf[5] = RAFT_MSG_TYPE_COUNT;
    assert_int_equal(decode(buf, len, &out, err, sizeof(err)), RAFT_CODEC_ETYPE);
    buf[5] = 0xff;
    assert_int_equal(decode(buf, len, &out, err, sizeof(err)), RAFT_CODEC_ETYPE);
    assert_non_null(strstr(err, "255"));
    free(buf);
}

static void test_raft_codec_rejects_reserved_flags_and_tag(void **state)
{
    (void)state;
    struct raft_message m = sample(RAFT_MSG_TIMEOUT_NOW), out;
    size_t len;
    char err[256] = "";
    uint8_t *buf = encode(&m, &len);
    buf[6] = 1;
    assert_int_equal(decode(buf, len, &out, err, sizeof(err)), RAFT_CODEC_EFIELD);
    buf[6] = 0;
    buf[7] = 32; /* an HMAC tag this version cannot verify */
    assert_int_equal(decode(buf, len, &out, err, sizeof(err)), RAFT_CODEC_EFIELD);
    assert_non_null(strstr(err, "authentication"));
    free(buf);
}

static void test_raft_codec_rejects_total_below_header(void **state)
{
    (void)state;
    struct raft_message m = sample(RAFT_MSG_TIMEOUT_NOW), out;
    size_t len, flen;
    char err[256] = "";
    uint8_t *buf = encode(&m, &len);
    for (uint32_t total = 0; total < RAFT_CODEC_HEADER_BYTES; total++) {
        put32(buf + 8, total);
        assert_int_equal(decode(buf, len, &out, err, sizeof(err)), RAFT_CODEC_ELENGTH);
        assert_int_equal(raft_codec_frame_peek(NULL, buf, 12, &flen, err, sizeof(err)),
                         RAFT_CODEC_ELENGTH);
    }
    free(buf);
}

static void test_raft_codec_rejects_total_over_maximum(void **state)
{
    (void)state;
    struct raft_message m = sample(RAFT_MSG_TIMEOUT_NOW);
    size_t len, flen;
    char err[256] = "";
    uint8_t *buf = encode(&m, &len);
    put32(buf + 8, UINT32_MAX); /* a hostile length: must not be waited for */
    assert_int_equal(raft_codec_frame_peek(NULL, buf, len, &flen, err, sizeof(err)),
                     RAFT_CODEC_ETOOBIG);
    assert_non_null(strstr(err, "maximum"));
    struct raft_codec_limits lim = {.max_frame_bytes = 100};
    put32(buf + 8, 101);
    assert_int_equal(raft_codec_frame_peek(&lim, buf, len, &flen, err, sizeof(err)),
                     RAFT_CODEC_ETOOBIG);
    put32(buf + 8, 100);
    assert_int_equal(raft_codec_frame_peek(&lim, buf, len, &flen, err, sizeof(err)),
                     RAFT_CODEC_AGAIN);
    assert_int_equal(flen, 100);
    free(buf);
}

static void test_raft_codec_rejects_trailing_bytes(void **state)
{
    (void)state;
    struct raft_message m = sample(RAFT_MSG_REQUEST_VOTE), out;
    size_t len;
    char err[256] = "";
    uint8_t *buf = encode(&m, &len);
    /* after the frame */
    assert_int_equal(decode(buf, len + 1, &out, err, sizeof(err)), RAFT_CODEC_ETRAILING);
    /* inside the frame: total_len claims one byte more than the body uses */
    buf[len] = 0;
    put32(buf + 8, (uint32_t)len + 1);
    assert_int_equal(decode(buf, len + 1, &out, err, sizeof(err)), RAFT_CODEC_ETRAILING);
    assert_non_null(strstr(err, "left over"));
    free(buf);
}

static void test_raft_codec_rejects_body_shorter_than_type_needs(void **state)
{
    (void)state;
    for (int t = 0; t < RAFT_MSG_TYPE_COUNT; t++) {
        if (t == RAFT_MSG_TIMEOUT_NOW)
            continue;
        struct raft_message m = sample((enum raft_message_type)t), out;
        size_t len;
        char err[256];
        uint8_t *buf = encode(&m, &len);
        put32(buf + 8, (uint32_t)len - 1); /* a consistent but short frame */
        int rv = decode(buf, len - 1, &out, err, sizeof(err));
        assert_true(rv == RAFT_CODEC_ELENGTH || rv == RAFT_CODEC_EFIELD);
        free(buf);
    }
}

/* AppendEntries body offsets: 36 prev_log_index, 44 prev_log_term,
 * 52 leader_commit, 60 n_entries, 64 first entry (term, index, type at 80,
 * payload_len at 81, payload at 85). */
static void test_raft_codec_rejects_entry_count_over_frame(void **state)
{
    (void)state;
    struct raft_message m = sample(RAFT_MSG_APPEND_ENTRIES), out;
    size_t len;
    char err[256] = "";
    uint8_t *buf = encode(&m, &len);
    put32(buf + 60, 50); /* under max_entries (100) but cannot fit */
    assert_int_equal(decode(buf, len, &out, err, sizeof(err)), RAFT_CODEC_ELENGTH);
    assert_non_null(strstr(err, "cannot fit"));
    put32(buf + 60, 101);
    assert_int_equal(decode(buf, len, &out, err, sizeof(err)), RAFT_CODEC_ETOOBIG);
    put32(buf + 60, UINT32_MAX);
    assert_int_equal(decode(buf, len, &out, err, sizeof(err)), RAFT_CODEC_ETOOBIG);
    free(buf);
}

static void test_raft_codec_rejects_payload_length_over_frame(void **state)
{
    (void)state;
    struct raft_message m = sample(RAFT_MSG_APPEND_ENTRIES), out;
    size_t len;
    char err[256] = "";
    uint8_t *buf = encode(&m, &len);
    put32(buf + 81, UINT32_MAX);
    assert_int_equal(decode(buf, len, &out, err, sizeof(err)), RAFT_CODEC_ELENGTH);
    assert_non_null(strstr(err, "payload"));
    put32(buf + 81, (uint32_t)len);
    assert_int_equal(decode(buf, len, &out, err, sizeof(err)), RAFT_CODEC_ELENGTH);
    free(buf);
}

static void test_raft_codec_rejects_bad_field_values(void **state)
{
    (void)state;
    struct raft_message m = sample(RAFT_MSG_APPEND_ENTRIES), out;
    size_t len;
    char err[256] = "";
    uint8_t *buf = encode(&m, &len);
    buf[80] = RAFT_ENTRY_TYPE_COUNT;
    assert_int_equal(decode(buf, len, &out, err, sizeof(err)), RAFT_CODEC_EFIELD);
    assert_non_null(strstr(err, "unknown type"));
    free(buf);

    m = sample(RAFT_MSG_REQUEST_VOTE);
    buf = encode(&m, &len);
    buf[len - 1] = 4; /* unknown flag bit */
    assert_int_equal(decode(buf, len, &out, err, sizeof(err)), RAFT_CODEC_EFIELD);
    free(buf);

    m = sample(RAFT_MSG_APPEND_ENTRIES_RESULT);
    buf = encode(&m, &len);
    buf[36] = 2; /* success is a boolean */
    assert_int_equal(decode(buf, len, &out, err, sizeof(err)), RAFT_CODEC_EFIELD);
    free(buf);

    /* InstallSnapshot configuration at 60 (u32 len) + 64: n_servers, then id/role */
    m = sample(RAFT_MSG_INSTALL_SNAPSHOT);
    buf = encode(&m, &len);
    uint8_t *conf = buf + 64;
    memcpy(conf + 4 + 9, conf + 4, 9); /* duplicate server id */
    assert_int_equal(decode(buf, len, &out, err, sizeof(err)), RAFT_CODEC_EFIELD);
    assert_non_null(strstr(err, "install_snapshot"));
    free(buf);

    buf = encode(&m, &len);
    put32(buf + 64, RAFT_CONFIGURATION_MAX + 1); /* inconsistent with conf_len */
    assert_int_equal(decode(buf, len, &out, err, sizeof(err)), RAFT_CODEC_EFIELD);
    put32(buf + 60, UINT32_MAX); /* conf_len overruns the frame */
    assert_int_equal(decode(buf, len, &out, err, sizeof(err)), RAFT_CODEC_ELENGTH);
    free(buf);
}

/* Every single-byte change of every sample either decodes to a message that
 * re-encodes to the same bytes, or is refused with a code and a message. */
static void test_raft_codec_single_byte_mutations(void **state)
{
    (void)state;
    for (int t = 0; t < RAFT_MSG_TYPE_COUNT; t++) {
        struct raft_message m = sample((enum raft_message_type)t), out;
        size_t len, wlen;
        uint8_t *buf = encode(&m, &len);
        uint8_t *again = malloc(len);
        for (size_t i = 0; i < len; i++) {
            for (int bit = 0; bit < 8; bit++) {
                char err[256] = "";
                buf[i] ^= (uint8_t)(1u << bit);
                int rv = decode(buf, len, &out, err, sizeof(err));
                if (rv == 0) {
                    assert_int_equal(
                        raft_codec_encode(&out, again, len, &wlen, err, sizeof(err)), 0);
                    assert_int_equal(wlen, len);
                    assert_memory_equal(again, buf, len);
                } else {
                    assert_true(rv < 0 && rv != RAFT_CODEC_AGAIN);
                    assert_true(err[0] != '\0');
                }
                buf[i] ^= (uint8_t)(1u << bit);
            }
        }
        free(again);
        free(buf);
    }
}

static void test_raft_codec_encode_errors(void **state)
{
    (void)state;
    struct raft_message m = sample(RAFT_MSG_APPEND_ENTRIES);
    uint8_t buf[64];
    size_t written;
    char err[256] = "";
    assert_int_equal(raft_codec_encode(&m, buf, sizeof(buf), &written, err, sizeof(err)),
                     RAFT_CODEC_ETRUNCATED);
    m.type = RAFT_MSG_TYPE_COUNT;
    assert_int_equal(raft_codec_encoded_len(&m), 0);
    assert_int_equal(raft_codec_encode(&m, buf, sizeof(buf), &written, err, sizeof(err)),
                     RAFT_CODEC_EINVAL);
    struct raft_entry bad = {1, 1, RAFT_ENTRY_TYPE_COUNT, NULL, 0};
    m = sample(RAFT_MSG_APPEND_ENTRIES);
    m.u.append_entries.entries = &bad;
    m.u.append_entries.n_entries = 1;
    assert_int_equal(raft_codec_encode(&m, buf, sizeof(buf), &written, err, sizeof(err)),
                     RAFT_CODEC_EINVAL);
    assert_string_equal(raft_codec_strerror(RAFT_CODEC_AGAIN), "need more bytes");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_raft_codec_round_trip_every_type),
        cmocka_unit_test(test_raft_codec_round_trip_empty_bodies),
        cmocka_unit_test(test_raft_codec_header_layout),
        cmocka_unit_test(test_raft_codec_peek_reassembles_stream),
        cmocka_unit_test(test_raft_codec_truncated_at_every_length),
        cmocka_unit_test(test_raft_codec_rejects_bad_magic),
        cmocka_unit_test(test_raft_codec_rejects_bad_version),
        cmocka_unit_test(test_raft_codec_rejects_unknown_type),
        cmocka_unit_test(test_raft_codec_rejects_reserved_flags_and_tag),
        cmocka_unit_test(test_raft_codec_rejects_total_below_header),
        cmocka_unit_test(test_raft_codec_rejects_total_over_maximum),
        cmocka_unit_test(test_raft_codec_rejects_trailing_bytes),
        cmocka_unit_test(test_raft_codec_rejects_body_shorter_than_type_needs),
        cmocka_unit_test(test_raft_codec_rejects_entry_count_over_frame),
        cmocka_unit_test(test_raft_codec_rejects_payload_length_over_frame),
        cmocka_unit_test(test_raft_codec_rejects_bad_field_values),
        cmocka_unit_test(test_raft_codec_single_byte_mutations),
        cmocka_unit_test(test_raft_codec_encode_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
