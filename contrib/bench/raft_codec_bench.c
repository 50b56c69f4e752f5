/*
 * raft_codec_bench: encode and decode speed of AppendEntries frames carrying 1 and
 * 64 entries of 128-byte payloads. Prints messages/s and MB/s (10^6 bytes of frame)
 * per case; a benchmark, never a test. Usage: raft_codec_bench [seconds-per-case]
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "raft/raft_codec.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static volatile uint64_t sink;

static int run(uint32_t n_entries, double seconds)
{
    static uint8_t payload[128];
    struct raft_entry *entries = calloc(n_entries, sizeof(*entries));
    if (entries == NULL)
        return 1;
    for (size_t i = 0; i < sizeof(payload); i++)
        payload[i] = (uint8_t)i;
    for (uint32_t i = 0; i < n_entries; i++)
        entries[i] =
            (struct raft_entry){7, 1001 + i, RAFT_ENTRY_NORMAL, payload, sizeof(payload)};
    struct raft_message m = {
        .type = RAFT_MSG_APPEND_ENTRIES, .from = 1, .to = 2, .term = 7};
    m.u.append_entries.prev_log_index = 1000;
    m.u.append_entries.prev_log_term = 7;
    m.u.append_entries.leader_commit = 999;
    m.u.append_entries.entries = entries;
    m.u.append_entries.n_entries = n_entries;

    size_t len = raft_codec_encoded_len(&m), written;
    uint8_t *buf = malloc(len);
    char err[256];
    struct raft_codec_decoder d;
    raft_codec_decoder_init(&d, NULL);
    if (buf == NULL)
        return 1;

    /* encode */
    uint64_t n = 0;
    double t0 = now_s(), t1;
    do {
        for (int k = 0; k < 1000; k++) {
            if (raft_codec_encode(&m, buf, len, &written, err, sizeof(err)) != 0) {
                fprintf(stderr, "encode: %s\n", err);
                return 1;
            }
            sink += buf[written - 1];
        }
        n += 1000;
        t1 = now_s();
    } while (t1 - t0 < seconds);
    double enc_s = t1 - t0;
    uint64_t enc_n = n;

    /* decode */
    struct raft_message out;
    n = 0;
    t0 = now_s();
    do {
        for (int k = 0; k < 1000; k++) {
            if (raft_codec_decode(&d, buf, len, &out, err, sizeof(err)) != 0) {
                fprintf(stderr, "decode: %s\n", err);
                return 1;
            }
            sink += out.u.append_entries.n_entries;
        }
        n += 1000;
        t1 = now_s();
    } while (t1 - t0 < seconds);
    double dec_s = t1 - t0;

    printf("AppendEntries %2u x 128 B, frame %5zu B: encode %10.0f msg/s %8.1f MB/s | "
           "decode %10.0f msg/s %8.1f MB/s\n",
           n_entries, len, (double)enc_n / enc_s,
           (double)enc_n * (double)len / enc_s / 1e6, (double)n / dec_s,
           (double)n * (double)len / dec_s / 1e6);
    raft_codec_decoder_free(&d);
    free(buf);
    free(entries);
    return 0;
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 2.0;
    if (seconds <= 0 || seconds > 60) {
        fprintf(stderr, "usage: %s [seconds-per-case, 0 < s <= 60]\n", argv[0]);
        return 2;
    }
    if (run(1, seconds) || run(64, seconds))
        return 1;
    return 0;
}
