/*
 * raft_codec: encoder and bounds-checked decoder of Raft frames (layout of the
 * header in raft_codec.h). Body layouts, little endian:
 *
 *   REQUEST_VOTE            u64 last_log_index, u64 last_log_term,
 *                           u8 flags (bit 0 pre_vote, bit 1 leader_transfer)
 *   REQUEST_VOTE_RESULT     u8 flags (bit 0 vote_granted, bit 1 pre_vote)
 *   APPEND_ENTRIES          u64 prev_log_index, u64 prev_log_term, u64 leader_commit,
 *                           u32 n_entries, then per entry:
 *                           u64 term, u64 index, u8 type, u32 payload_len, payload
 *   APPEND_ENTRIES_RESULT   u8 success (0|1), u64 last_index, u64 rejected_index,
 *                           u64 hint_index, u64 hint_term
 *   INSTALL_SNAPSHOT        u64 last_index, u64 last_term, u64 conf_index,
 *                           u32 conf_len, conf (raft_configuration_encode()),
 *                           u32 data_len, data
 *   INSTALL_SNAPSHOT_RESULT u64 last_index
 *   TIMEOUT_NOW             (empty)
 *
 * Every length read from the input is checked against the bytes that remain in
 * the frame before it is used, and counts are checked against both the remaining
 * bytes and the configured maximum before anything is allocated. Unknown flag bits
 * and non-0/1 booleans are rejected so that decode(encode(m)) == m and
 * encode(decode(b)) == b hold for every accepted frame.
 */
#include "raft/raft_codec.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_MAX_FRAME_BYTES (64u * 1024 * 1024)
#define DEFAULT_MAX_ENTRIES     65536u
#define ENTRY_HEADER_BYTES      21 /* u64 term, u64 index, u8 type, u32 payload_len */

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

/* ---- little-endian helpers -------------------------------------------------- */

static void put_u8(uint8_t **p, uint8_t v)
{
    *(*p)++ = v;
}

static void put_u32(uint8_t **p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        (*p)[i] = (uint8_t)(v >> (8 * i));
    *p += 4;
}

static void put_u64(uint8_t **p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        (*p)[i] = (uint8_t)(v >> (8 * i));
    *p += 8;
}

static uint32_t load_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static uint64_t load_u64(const uint8_t *p)
{
    return (uint64_t)load_u32(p) | (uint64_t)load_u32(p + 4) << 32;
}

/* A cursor over the body of one frame: never reads past `end`. */
struct reader {
    const uint8_t *p;
    const uint8_t *end;
    const char *what; /* the field being read, for the error message */
};

static size_t reader_left(const struct reader *r)
{
    return (size_t)(r->end - r->p);
}

static int get_bytes(struct reader *r, size_t n, const uint8_t **out, char *err,
                     size_t errlen)
{
    if (reader_left(r) < n) {
        seterr(err, errlen, "%s: needs %zu bytes, %zu left in the frame", r->what, n,
               reader_left(r));
        return RAFT_CODEC_ELENGTH;
    }
    *out = r->p;
    r->p += n;
    return 0;
}

static int get_u8(struct reader *r, uint8_t *v, char *err, size_t errlen)
{
    const uint8_t *b;
    int rv = get_bytes(r, 1, &b, err, errlen);
    if (rv == 0)
        *v = b[0];
    return rv;
}

static int get_u32(struct reader *r, uint32_t *v, char *err, size_t errlen)
{
    const uint8_t *b;
    int rv = get_bytes(r, 4, &b, err, errlen);
    if (rv == 0)
        *v = load_u32(b);
    return rv;
}

static int get_u64(struct reader *r, uint64_t *v, char *err, size_t errlen)
{
    const uint8_t *b;
    int rv = get_bytes(r, 8, &b, err, errlen);
    if (rv == 0)
        *v = load_u64(b);
    return rv;
}

static int get_bool(struct reader *r, bool *v, char *err, size_t errlen)
{
    uint8_t b;
    int rv = get_u8(r, &b, err, errlen);
    if (rv != 0)
        return rv;
    if (b > 1) {
        seterr(err, errlen, "%s: boolean byte is %u, must be 0 or 1", r->what, b);
        return RAFT_CODEC_EFIELD;
    }
    *v = b == 1;
    return 0;
}

#define TRY(expr)                                                                        \
    do {                                                                                 \
        rv = (expr);                                                                     \
        if (rv != 0)                                                                     \
            goto fail;                                                                   \
    } while (0)

/* ---- limits, errors -------------------------------------------------------- */

static void limits_resolve(const struct raft_codec_limits *in,
                           struct raft_codec_limits *out)
{
    out->max_frame_bytes =
        in && in->max_frame_bytes ? in->max_frame_bytes : DEFAULT_MAX_FRAME_BYTES;
    out->max_entries = in && in->max_entries ? in->max_entries : DEFAULT_MAX_ENTRIES;
}

const char *raft_codec_strerror(int code)
{
    switch (code) {
    case 0:
        return "ok";
    case RAFT_CODEC_AGAIN:
        return "need more bytes";
    case RAFT_CODEC_EMAGIC:
        return "bad magic";
    case RAFT_CODEC_EVERSION:
        return "unsupported version";
    case RAFT_CODEC_ETYPE:
        return "unknown message type";
    case RAFT_CODEC_ELENGTH:
        return "inconsistent length";
    case RAFT_CODEC_ETOOBIG:
        return "over the configured maximum";
    case RAFT_CODEC_ETRUNCATED:
        return "truncated frame";
    case RAFT_CODEC_ETRAILING:
        return "trailing bytes";
    case RAFT_CODEC_EFIELD:
        return "invalid field";
    case RAFT_CODEC_ENOMEM:
        return "out of memory";
    case RAFT_CODEC_EINVAL:
        return "message cannot be encoded";
    default:
        return "unknown error";
    }
}

void raft_codec_decoder_init(struct raft_codec_decoder *d,
                             const struct raft_codec_limits *limits)
{
    memset(d, 0, sizeof(*d));
    limits_resolve(limits, &d->limits);
}

void raft_codec_decoder_free(struct raft_codec_decoder *d)
{
    free(d->entries);
    d->entries = NULL;
    d->entries_cap = 0;
}

/* ---- header ------------------------------------------------------------------ */

int raft_codec_frame_peek(const struct raft_codec_limits *limits, const uint8_t *buf,
                          size_t len, size_t *frame_len, char *err, size_t errlen)
{
    struct raft_codec_limits lim;
    limits_resolve(limits, &lim);
    *frame_len = 0;
    if (len == 0)
        return RAFT_CODEC_AGAIN;
    /* Check what is there as early as possible so a stream of garbage is refused
     * on its first bytes rather than after waiting for a length. */
    static const uint8_t magic[4] = {0x52, 0x4C, 0x42, 0x52};
    size_t m = len < 4 ? len : 4;
    if (memcmp(buf, magic, m) != 0) {
        seterr(err, errlen, "frame header: bad magic (not a raftlb Raft frame)");
        return RAFT_CODEC_EMAGIC;
    }
    if (len > 4 && buf[4] != RAFT_CODEC_VERSION) {
        seterr(err, errlen, "frame header: version %u, this node speaks version %u",
               buf[4], RAFT_CODEC_VERSION);
        return RAFT_CODEC_EVERSION;
    }
    if (len > 5 && buf[5] >= RAFT_MSG_TYPE_COUNT) {
        seterr(err, errlen, "frame header: unknown message type %u", buf[5]);
        return RAFT_CODEC_ETYPE;
    }
    if (len > 6 && buf[6] != 0) {
        seterr(err, errlen, "frame header: flags 0x%02x, version 1 defines none", buf[6]);
        return RAFT_CODEC_EFIELD;
    }
    if (len > 7 && buf[7] != 0) {
        seterr(err, errlen,
               "frame header: authentication tag of %u bytes, version 1 has none",
               buf[7]);
        return RAFT_CODEC_EFIELD;
    }
    if (len < RAFT_CODEC_PEEK_BYTES)
        return RAFT_CODEC_AGAIN;
    uint32_t total = load_u32(buf + 8);
    if (total < RAFT_CODEC_HEADER_BYTES) {
        seterr(err, errlen, "frame header: total length %u is below the %u-byte header",
               total, RAFT_CODEC_HEADER_BYTES);
        return RAFT_CODEC_ELENGTH;
    }
    if (total > lim.max_frame_bytes) {
        seterr(err, errlen, "frame header: total length %u exceeds the maximum %u", total,
               lim.max_frame_bytes);
        return RAFT_CODEC_ETOOBIG;
    }
    *frame_len = total;
    return len < total ? RAFT_CODEC_AGAIN : 0;
}

/* ---- decode ------------------------------------------------------------------- */

static int decode_entries(struct raft_codec_decoder *d, struct reader *r,
                          struct raft_append_entries *ae, char *err, size_t errlen)
{
    int rv;
    uint32_t n;
    r->what = "append_entries n_entries";
    TRY(get_u32(r, &n, err, errlen));
    if (n > d->limits.max_entries) {
        seterr(err, errlen, "append_entries: %u entries exceed the maximum %u", n,
               d->limits.max_entries);
        return RAFT_CODEC_ETOOBIG;
    }
    if ((uint64_t)n * ENTRY_HEADER_BYTES > reader_left(r)) {
        seterr(err, errlen,
               "append_entries: %u entries cannot fit in the %zu bytes left in the frame",
               n, reader_left(r));
        return RAFT_CODEC_ELENGTH;
    }
    if (n > d->entries_cap) {
        struct raft_entry *e = realloc(d->entries, (size_t)n * sizeof(*e));
        if (e == NULL) {
            seterr(err, errlen, "append_entries: no memory for %u entries", n);
            return RAFT_CODEC_ENOMEM;
        }
        d->entries = e;
        d->entries_cap = n;
    }
    for (uint32_t i = 0; i < n; i++) {
        struct raft_entry *e = &d->entries[i];
        uint8_t type;
        uint32_t plen;
        r->what = "append_entries entry header";
        TRY(get_u64(r, &e->term, err, errlen));
        TRY(get_u64(r, &e->index, err, errlen));
        TRY(get_u8(r, &type, err, errlen));
        TRY(get_u32(r, &plen, err, errlen));
        if (type >= RAFT_ENTRY_TYPE_COUNT) {
            seterr(err, errlen, "append_entries: entry %u has unknown type %u", i, type);
            return RAFT_CODEC_EFIELD;
        }
        e->type = (enum raft_entry_type)type;
        r->what = "append_entries entry payload";
        TRY(get_bytes(r, plen, &e->payload, err, errlen));
        e->payload_len = plen;
        if (plen == 0)
            e->payload = NULL;
    }
    ae->entries = n ? d->entries : NULL;
    ae->n_entries = n;
    return 0;
fail:
    return rv;
}

static int decode_snapshot_meta(struct reader *r, struct raft_snapshot_meta *meta,
                                char *err, size_t errlen)
{
    int rv;
    uint32_t conf_len;
    const uint8_t *conf;
    char cerr[128] = "";
    r->what = "install_snapshot meta";
    TRY(get_u64(r, &meta->last_index, err, errlen));
    TRY(get_u64(r, &meta->last_term, err, errlen));
    TRY(get_u64(r, &meta->conf_index, err, errlen));
    r->what = "install_snapshot configuration";
    TRY(get_u32(r, &conf_len, err, errlen));
    TRY(get_bytes(r, conf_len, &conf, err, errlen));
    if (raft_configuration_decode(&meta->conf, conf, conf_len, cerr, sizeof(cerr)) != 0) {
        seterr(err, errlen, "install_snapshot: %s", cerr);
        return RAFT_CODEC_EFIELD;
    }
    return 0;
fail:
    return rv;
}

int raft_codec_decode(struct raft_codec_decoder *d, const uint8_t *buf, size_t len,
                      struct raft_message *msg, char *err, size_t errlen)
{
    int rv;
    size_t frame_len;
    rv = raft_codec_frame_peek(&d->limits, buf, len, &frame_len, err, errlen);
    if (rv == RAFT_CODEC_AGAIN) {
        if (frame_len)
            seterr(err, errlen, "frame of %zu bytes truncated to %zu", frame_len, len);
        else
            seterr(err, errlen, "%zu bytes cannot hold a frame header", len);
        return RAFT_CODEC_ETRUNCATED;
    }
    if (rv != 0)
        return rv;
    if (len > frame_len) {
        seterr(err, errlen, "%zu bytes after the %zu-byte frame", len - frame_len,
               frame_len);
        return RAFT_CODEC_ETRAILING;
    }

    memset(msg, 0, sizeof(*msg));
    msg->type = (enum raft_message_type)buf[5];
    struct reader r = {buf + 12, buf + frame_len, "message header"};
    TRY(get_u64(&r, &msg->from, err, errlen));
    TRY(get_u64(&r, &msg->to, err, errlen));
    TRY(get_u64(&r, &msg->term, err, errlen));

    switch (msg->type) {
    case RAFT_MSG_REQUEST_VOTE: {
        struct raft_request_vote *rq = &msg->u.request_vote;
        uint8_t flags;
        r.what = "request_vote";
        TRY(get_u64(&r, &rq->last_log_index, err, errlen));
        TRY(get_u64(&r, &rq->last_log_term, err, errlen));
        TRY(get_u8(&r, &flags, err, errlen));
        if (flags & ~3u) {
            seterr(err, errlen, "request_vote: unknown flag bits 0x%02x", flags);
            return RAFT_CODEC_EFIELD;
        }
        rq->pre_vote = flags & 1;
        rq->leader_transfer = (flags & 2) != 0;
        break;
    }
    case RAFT_MSG_REQUEST_VOTE_RESULT: {
        uint8_t flags;
        r.what = "request_vote_result";
        TRY(get_u8(&r, &flags, err, errlen));
        if (flags & ~3u) {
            seterr(err, errlen, "request_vote_result: unknown flag bits 0x%02x", flags);
            return RAFT_CODEC_EFIELD;
        }
        msg->u.request_vote_result.vote_granted = flags & 1;
        msg->u.request_vote_result.pre_vote = (flags & 2) != 0;
        break;
    }
    case RAFT_MSG_APPEND_ENTRIES: {
        struct raft_append_entries *ae = &msg->u.append_entries;
        r.what = "append_entries";
        TRY(get_u64(&r, &ae->prev_log_index, err, errlen));
        TRY(get_u64(&r, &ae->prev_log_term, err, errlen));
        TRY(get_u64(&r, &ae->leader_commit, err, errlen));
        TRY(decode_entries(d, &r, ae, err, errlen));
        break;
    }
    case RAFT_MSG_APPEND_ENTRIES_RESULT: {
        struct raft_append_entries_result *ar = &msg->u.append_entries_result;
        r.what = "append_entries_result";
        TRY(get_bool(&r, &ar->success, err, errlen));
        TRY(get_u64(&r, &ar->last_index, err, errlen));
        TRY(get_u64(&r, &ar->rejected_index, err, errlen));
        TRY(get_u64(&r, &ar->hint_index, err, errlen));
        TRY(get_u64(&r, &ar->hint_term, err, errlen));
        break;
    }
    case RAFT_MSG_INSTALL_SNAPSHOT: {
        struct raft_install_snapshot *is = &msg->u.install_snapshot;
        uint32_t data_len;
        TRY(decode_snapshot_meta(&r, &is->meta, err, errlen));
        r.what = "install_snapshot data";
        TRY(get_u32(&r, &data_len, err, errlen));
        TRY(get_bytes(&r, data_len, &is->data, err, errlen));
        is->data_len = data_len;
        if (data_len == 0)
            is->data = NULL;
        break;
    }
    case RAFT_MSG_INSTALL_SNAPSHOT_RESULT:
        r.what = "install_snapshot_result";
        TRY(get_u64(&r, &msg->u.install_snapshot_result.last_index, err, errlen));
        break;
    case RAFT_MSG_TIMEOUT_NOW:
        break;
    default: /* excluded by raft_codec_frame_peek() */
        seterr(err, errlen, "unknown message type %d", (int)msg->type);
        return RAFT_CODEC_ETYPE;
    }
    if (reader_left(&r) != 0) {
        seterr(err, errlen, "%s: %zu bytes left over at the end of the body",
               raft_message_type_name(msg->type), reader_left(&r));
        return RAFT_CODEC_ETRAILING;
    }
    return 0;
fail:
    return rv;
}

/* ---- encode ------------------------------------------------------------------- */

static uint64_t body_len(const struct raft_message *msg)
{
    switch (msg->type) {
    case RAFT_MSG_REQUEST_VOTE:
        return 17;
    case RAFT_MSG_REQUEST_VOTE_RESULT:
        return 1;
    case RAFT_MSG_APPEND_ENTRIES: {
        const struct raft_append_entries *ae = &msg->u.append_entries;
        uint64_t n = 28;
        if (ae->n_entries && ae->entries == NULL)
            return UINT64_MAX;
        for (uint32_t i = 0; i < ae->n_entries; i++) {
            if (ae->entries[i].payload_len > UINT32_MAX ||
                (unsigned)ae->entries[i].type >= RAFT_ENTRY_TYPE_COUNT ||
                (ae->entries[i].payload_len && ae->entries[i].payload == NULL))
                return UINT64_MAX;
            n += ENTRY_HEADER_BYTES + (uint64_t)ae->entries[i].payload_len;
        }
        return n;
    }
    case RAFT_MSG_APPEND_ENTRIES_RESULT:
        return 33;
    case RAFT_MSG_INSTALL_SNAPSHOT: {
        const struct raft_install_snapshot *is = &msg->u.install_snapshot;
        if (is->meta.conf.n_servers > RAFT_CONFIGURATION_MAX || is->data_len > UINT32_MAX)
            return UINT64_MAX;
        return 24 + 4 + raft_configuration_encoded_len(&is->meta.conf) + 4 +
               (uint64_t)is->data_len;
    }
    case RAFT_MSG_INSTALL_SNAPSHOT_RESULT:
        return 8;
    case RAFT_MSG_TIMEOUT_NOW:
        return 0;
    default:
        return UINT64_MAX;
    }
}

size_t raft_codec_encoded_len(const struct raft_message *msg)
{
    uint64_t b = body_len(msg);
    if (b > UINT32_MAX - RAFT_CODEC_HEADER_BYTES)
        return 0;
    return (size_t)(b + RAFT_CODEC_HEADER_BYTES);
}

int raft_codec_encode(const struct raft_message *msg, uint8_t *buf, size_t cap,
                      size_t *written, char *err, size_t errlen)
{
    size_t total = raft_codec_encoded_len(msg);
    *written = 0;
    if (total == 0) {
        seterr(err, errlen,
               "message of type %d cannot be encoded (unknown message "
               "or entry type, bad configuration or over 4 GiB)",
               (int)msg->type);
        return RAFT_CODEC_EINVAL;
    }
    if (cap < total) {
        seterr(err, errlen, "encoding needs %zu bytes, buffer holds %zu", total, cap);
        return RAFT_CODEC_ETRUNCATED;
    }
    uint8_t *p = buf;
    put_u32(&p, RAFT_CODEC_MAGIC);
    put_u8(&p, RAFT_CODEC_VERSION);
    put_u8(&p, (uint8_t)msg->type);
    put_u8(&p, 0); /* flags */
    put_u8(&p, 0); /* tag_len */
    put_u32(&p, (uint32_t)total);
    put_u64(&p, msg->from);
    put_u64(&p, msg->to);
    put_u64(&p, msg->term);
    switch (msg->type) {
    case RAFT_MSG_REQUEST_VOTE: {
        const struct raft_request_vote *rq = &msg->u.request_vote;
        put_u64(&p, rq->last_log_index);
        put_u64(&p, rq->last_log_term);
        put_u8(&p, (uint8_t)((rq->pre_vote ? 1 : 0) | (rq->leader_transfer ? 2 : 0)));
        break;
    }
    case RAFT_MSG_REQUEST_VOTE_RESULT: {
        const struct raft_request_vote_result *rr = &msg->u.request_vote_result;
        put_u8(&p, (uint8_t)((rr->vote_granted ? 1 : 0) | (rr->pre_vote ? 2 : 0)));
        break;
    }
    case RAFT_MSG_APPEND_ENTRIES: {
        const struct raft_append_entries *ae = &msg->u.append_entries;
        put_u64(&p, ae->prev_log_index);
        put_u64(&p, ae->prev_log_term);
        put_u64(&p, ae->leader_commit);
        put_u32(&p, ae->n_entries);
        for (uint32_t i = 0; i < ae->n_entries; i++) {
            const struct raft_entry *e = &ae->entries[i];
            put_u64(&p, e->term);
            put_u64(&p, e->index);
            put_u8(&p, (uint8_t)e->type);
            put_u32(&p, (uint32_t)e->payload_len);
            if (e->payload_len) {
                memcpy(p, e->payload, e->payload_len);
                p += e->payload_len;
            }
        }
        break;
    }
    case RAFT_MSG_APPEND_ENTRIES_RESULT: {
        const struct raft_append_entries_result *ar = &msg->u.append_entries_result;
        put_u8(&p, ar->success ? 1 : 0);
        put_u64(&p, ar->last_index);
        put_u64(&p, ar->rejected_index);
        put_u64(&p, ar->hint_index);
        put_u64(&p, ar->hint_term);
        break;
    }
    case RAFT_MSG_INSTALL_SNAPSHOT: {
        const struct raft_install_snapshot *is = &msg->u.install_snapshot;
        size_t clen = raft_configuration_encoded_len(&is->meta.conf);
        put_u64(&p, is->meta.last_index);
        put_u64(&p, is->meta.last_term);
        put_u64(&p, is->meta.conf_index);
        put_u32(&p, (uint32_t)clen);
        if (raft_configuration_encode(&is->meta.conf, p, clen) < 0) {
            seterr(err, errlen, "install_snapshot: configuration does not encode");
            return RAFT_CODEC_EINVAL;
        }
        p += clen;
        put_u32(&p, (uint32_t)is->data_len);
        if (is->data_len) {
            memcpy(p, is->data, is->data_len);
            p += is->data_len;
        }
        break;
    }
    case RAFT_MSG_INSTALL_SNAPSHOT_RESULT:
        put_u64(&p, msg->u.install_snapshot_result.last_index);
        break;
    case RAFT_MSG_TIMEOUT_NOW:
        break;
    default:
        return RAFT_CODEC_EINVAL;
    }
    *written = (size_t)(p - buf);
    return 0;
}
