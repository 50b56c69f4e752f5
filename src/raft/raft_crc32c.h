/*
 * raft_crc32c: CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum
 * of every stored log record, metadata and snapshot file. Pure C, slice-by-8 over
 * tables built once; no I/O, no allocation. Thread-safe: the tables are built
 * once, under pthread_once, on first use.
 */
#ifndef RAFTLB_RAFT_CRC32C_H
#define RAFTLB_RAFT_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Continues a CRC-32C over `len` bytes of `buf`. Start with crc = 0; the result
 * of one call may be passed as `crc` to the next to checksum data in pieces:
 * raft_crc32c(raft_crc32c(0, a, n), b, m) == raft_crc32c(0, a||b, n + m).
 * "123456789" gives 0xE3069283. */
uint32_t raft_crc32c(uint32_t crc, const void *buf, size_t len);

#endif
