/* Unit tests of raft_crc32c: the standard check values and incremental use. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "raft/raft_crc32c.h"

/* Bit-at-a-time reference, independent of the tables. */
static uint32_t crc_reference(const uint8_t *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    }
    return ~c;
}

static void test_raft_crc32c_check_value(void **state)
{
    (void)state;
    assert_int_equal(raft_crc32c(0, "123456789", 9), 0xE3069283u);
    assert_int_equal(raft_crc32c(0, "", 0), 0);
    assert_int_equal(raft_crc32c(0, "a", 1), 0xC1D04330u);
}

/* RFC 3720 (iSCSI) appendix B.4 vectors. */
static void test_raft_crc32c_rfc3720_vectors(void **state)
{
    (void)state;
    uint8_t buf[48];
    memset(buf, 0, 32);
    assert_int_equal(raft_crc32c(0, buf, 32), 0x8A9136AAu);
    memset(buf, 0xFF, 32);
    assert_int_equal(raft_crc32c(0, buf, 32), 0x62A8AB43u);
    for (int i = 0; i < 32; i++)
        buf[i] = (uint8_t)i;
    assert_int_equal(raft_crc32c(0, buf, 32), 0x46DD794Eu);
    for (int i = 0; i < 32; i++)
        buf[i] = (uint8_t)(31 - i);
    assert_int_equal(raft_crc32c(0, buf, 32), 0x113FDB5Cu);
    static const uint8_t iscsi[48] = {
        0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
        0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18, 0x28, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
    assert_int_equal(raft_crc32c(0, iscsi, 48), 0xD9963A56u);
}

/* Every length and alignment 0..300 against the reference, whole and in pieces. */
static void test_raft_crc32c_matches_reference_and_chains(void **state)
{
    (void)state;
    uint8_t buf[320];
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)(i * 131 + 7);
    for (size_t off = 0; off < 8; off++) {
        for (size_t n = 0; n + off <= 300; n++) {
            uint32_t want = crc_reference(buf + off, n);
            assert_int_equal(raft_crc32c(0, buf + off, n), want);
            size_t cut = n / 3;
            assert_int_equal(
                raft_crc32c(raft_crc32c(0, buf + off, cut), buf + off + cut, n - cut),
                want);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_raft_crc32c_check_value),
        cmocka_unit_test(test_raft_crc32c_rfc3720_vectors),
        cmocka_unit_test(test_raft_crc32c_matches_reference_and_chains),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
