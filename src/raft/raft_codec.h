/*
 * raft_codec: the wire format of Raft messages between raftlb nodes. Pure: bytes in,
 * struct raft_message out, and back; no sockets, no clocks, no printing. The cluster
 * transport reads frames off TCP with raft_codec_frame_peek() and decodes them with
 * raft_codec_decode(); nothing here trusts a length read from the input.
 *
 * Frame (all integers little endian, fixed width):
 *
 *   offset size  field
 *   0      4     magic      "RLBR" (0x52 0x4C 0x42 0x52)
 *   4      1     version    RAFT_CODEC_VERSION (1)
 *   5      1     type       enum raft_message_type
 *   6      1     flags      0 in version 1 (reserved)
 *   7      1     tag_len    0 in version 1: length of an authentication tag that
 *                           follows the body (room for the transport's HMAC over
 *                           header+body with the cluster secret_file; see below)
 *   8      4     total_len  the whole frame: header + body + tag
 *   12     8     from       \
 *   20     8     to          > common to every message type
 *   28     8     term       /
 *   36     ...   body       per type, see raft_codec.c
 *   ...    tag_len  tag
 *
 * Authentication is the transport's job and not implemented here: a later version
 * may set tag_len (e.g. 32 for HMAC-SHA256) and the transport verifies the tag
 * before decoding. This codec rejects any tag_len or flags other than 0, so a
 * version-1 decoder never silently ignores an authenticated frame it cannot check.
 */
#ifndef RAFTLB_RAFT_CODEC_H
#define RAFTLB_RAFT_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "raft/raft.h"

#define RAFT_CODEC_MAGIC        0x52424C52u /* "RLBR" read as a little-endian u32 */
#define RAFT_CODEC_VERSION      1
#define RAFT_CODEC_HEADER_BYTES 36 /* fixed header including from/to/term */
#define RAFT_CODEC_PEEK_BYTES   12 /* enough to know a frame's total length */

/* Return codes. 0 is success; every other code is negative. RAFT_CODEC_AGAIN is
 * not an error: the input is a valid prefix and more bytes are needed.
 *   AGAIN      need more bytes (stream reassembly)
 *   EMAGIC     not a raftlb Raft frame
 *   EVERSION   unsupported version
 *   ETYPE      unknown message type
 *   ELENGTH    total_len or an inner length is inconsistent with the frame
 *              (below the header, or overrunning the frame)
 *   ETOOBIG    total_len or an entry count exceeds the configured maximum
 *   ETRUNCATED the buffer ends before the frame does
 *   ETRAILING  bytes left over inside the frame, or after it where exactly one
 *              frame was expected
 *   EFIELD     a field holds an invalid value (flag bits, boolean, entry type,
 *              configuration, reserved header bytes)
 *   EINVAL     encode: a message that cannot be encoded */
#define RAFT_CODEC_AGAIN      (-100)
#define RAFT_CODEC_EMAGIC     (-101)
#define RAFT_CODEC_EVERSION   (-102)
#define RAFT_CODEC_ETYPE      (-103)
#define RAFT_CODEC_ELENGTH    (-104)
#define RAFT_CODEC_ETOOBIG    (-105)
#define RAFT_CODEC_ETRUNCATED (-106)
#define RAFT_CODEC_ETRAILING  (-107)
#define RAFT_CODEC_EFIELD     (-108)
#define RAFT_CODEC_ENOMEM     (-109)
#define RAFT_CODEC_EINVAL     (-110)

/* Limits applied while decoding. Zero fields take the defaults. */
struct raft_codec_limits {
    uint32_t max_frame_bytes; /* default 64 MiB */
    uint32_t max_entries;     /* per AppendEntries, default 65536 */
};

/* A reusable decoder. It owns the array of entries it hands out; payloads and
 * snapshot data point INTO THE INPUT BUFFER (no copy). A decoded message is
 * therefore valid until the next raft_codec_decode() on the same decoder, until
 * raft_codec_decoder_free(), or until the input buffer changes, whichever comes
 * first. */
struct raft_codec_decoder {
    struct raft_codec_limits limits;
    struct raft_entry *entries;
    uint32_t entries_cap;
};

/* Initialises `d` with `limits` (NULL: defaults). Never fails; allocates nothing. */
void raft_codec_decoder_init(struct raft_codec_decoder *d,
                             const struct raft_codec_limits *limits);
void raft_codec_decoder_free(struct raft_codec_decoder *d);

/* Examines the start of a byte stream. On 0, *frame_len is the size of the first
 * frame and buf holds all of it. Returns RAFT_CODEC_AGAIN when buf is a valid
 * prefix too short to hold the frame (*frame_len then holds the total length once
 * RAFT_CODEC_PEEK_BYTES are available, else 0): read more and call again. Returns
 * EMAGIC, EVERSION, ETYPE, EFIELD, ELENGTH or ETOOBIG (with detail in err) for a
 * header that can never become valid: the stream must be closed. */
int raft_codec_frame_peek(const struct raft_codec_limits *limits, const uint8_t *buf,
                          size_t len, size_t *frame_len, char *err, size_t errlen);

/* Decodes exactly one frame occupying all of buf[0..len). Fills `msg` (entries
 * and payloads borrowed as described at struct raft_codec_decoder). Returns 0, or:
 * ETRUNCATED when len is shorter than the frame, ETRAILING when longer or when the
 * body has bytes left over, and the header errors of raft_codec_frame_peek(),
 * ELENGTH/ETOOBIG/EFIELD for a bad body, ENOMEM. On error `msg` is unspecified. */
int raft_codec_decode(struct raft_codec_decoder *d, const uint8_t *buf, size_t len,
                      struct raft_message *msg, char *err, size_t errlen);

/* The exact frame size raft_codec_encode() produces for `msg`, or 0 when the
 * message cannot be encoded (unknown message or entry type, a payload pointer that
 * is NULL with a non-zero length, too many bytes for a u32 length). */
size_t raft_codec_encoded_len(const struct raft_message *msg);

/* Encodes `msg` into buf[0..cap). On 0, *written is the frame length. Returns
 * EINVAL (unknown type or entry type, a configuration that does not encode, a
 * frame over 4 GiB) or ETRUNCATED when cap is too small; buf is then unspecified. */
int raft_codec_encode(const struct raft_message *msg, uint8_t *buf, size_t cap,
                      size_t *written, char *err, size_t errlen);

/* A short static name for a return code ("need more bytes", "bad magic", ...). */
const char *raft_codec_strerror(int code);

#endif
