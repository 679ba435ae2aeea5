/* Parquet codecs (round trips, framing, corruption) and the split-block
 * bloom filter (sizing, membership, false-positive rate). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lh/core/buf.h"
#include "lh/core/mem.h"
#include "lh/format/pq_bloom.h"
#include "lh/format/pq_codec.h"
#include "test.h"

static const lh_pq_codec CODECS[] = {LH_PQ_UNCOMPRESSED, LH_PQ_SNAPPY, LH_PQ_GZIP, LH_PQ_BROTLI,
                                     LH_PQ_LZ4, LH_PQ_ZSTD, LH_PQ_LZ4_RAW};

static void roundtrip(lh_pq_codec c, const uint8_t *src, size_t n)
{
    lh_error err;
    lh_buf comp = LH_BUF_INIT;
    CHECK_OK(lh_pq_compress(c, 0, src, n, &comp, &err), &err);
    uint8_t *back = lh_malloc(n + 1);
    CHECK_OK(lh_pq_decompress(c, comp.data, comp.len, back, n, &err), &err);
    CHECK(n == 0 || memcmp(back, src, n) == 0);
    /* A wrong expected size is corruption, never an overflow. */
    if (n > 0 && c != LH_PQ_UNCOMPRESSED)
        CHECK_RC(lh_pq_decompress(c, comp.data, comp.len, back, n - 1, &err), LH_ERR_CORRUPT);
    if (comp.len > 4 && c != LH_PQ_UNCOMPRESSED)
        CHECK(lh_pq_decompress(c, comp.data, comp.len / 2, back, n, &err) != LH_OK);
    free(back);
    lh_buf_free(&comp);
}

static void test_codecs(void)
{
    size_t n = 300000;
    uint8_t *data = lh_malloc(n);
    uint64_t x = 88172645463325252ull;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        data[i] = (i % 1000) < 500 ? (uint8_t)('a' + i % 7) : (uint8_t)x;
    }
    for (size_t k = 0; k < sizeof CODECS / sizeof CODECS[0]; k++) {
        roundtrip(CODECS[k], data, n);
        roundtrip(CODECS[k], data, 1);
        roundtrip(CODECS[k], data, 0);
        CHECK(lh_pq_codec_name(CODECS[k]) != NULL);
    }
    CHECK_STR(lh_pq_codec_name(LH_PQ_LZ4_RAW), "LZ4_RAW");
    free(data);
}

static void test_lz4_framing(void)
{
    lh_error err;
    const char *msg = "hello hello hello hello parquet parquet";
    size_t n = strlen(msg);
    lh_buf hadoop = LH_BUF_INIT, raw = LH_BUF_INIT;
    CHECK_OK(lh_pq_compress(LH_PQ_LZ4, 0, msg, n, &hadoop, &err), &err);
    CHECK_OK(lh_pq_compress(LH_PQ_LZ4_RAW, 0, msg, n, &raw, &err), &err);
    CHECK_INT(hadoop.len, raw.len + 8);
    CHECK(memcmp(hadoop.data, "\0\0\0", 3) == 0 && (uint8_t)hadoop.data[3] == n);
    char back[64];
    /* Codec 5 also accepts a bare block (old parquet-cpp). */
    CHECK_OK(lh_pq_decompress(LH_PQ_LZ4, raw.data, raw.len, back, n, &err), &err);
    CHECK(memcmp(back, msg, n) == 0);
    /* Two Hadoop frames back to back. */
    lh_buf two = LH_BUF_INIT;
    CHECK_OK(lh_pq_compress(LH_PQ_LZ4, 0, msg, 10, &two, &err), &err);
    CHECK_OK(lh_pq_compress(LH_PQ_LZ4, 0, msg + 10, n - 10, &two, &err), &err);
    memset(back, 0, sizeof back);
    CHECK_OK(lh_pq_decompress(LH_PQ_LZ4, two.data, two.len, back, n, &err), &err);
    CHECK(memcmp(back, msg, n) == 0);
    lh_buf_free(&two);
    lh_buf_free(&hadoop);
    lh_buf_free(&raw);
}

static void test_gzip_members(void)
{
    lh_error err;
    lh_buf g = LH_BUF_INIT;
    CHECK_OK(lh_pq_compress(LH_PQ_GZIP, 0, "abc", 3, &g, &err), &err);
    CHECK((uint8_t)g.data[0] == 0x1f && (uint8_t)g.data[1] == 0x8b);
    CHECK_OK(lh_pq_compress(LH_PQ_GZIP, 9, "defg", 4, &g, &err), &err);
    char back[8];
    CHECK_OK(lh_pq_decompress(LH_PQ_GZIP, g.data, g.len, back, 7, &err), &err);
    CHECK(memcmp(back, "abcdefg", 7) == 0);
    CHECK_RC(lh_pq_decompress(LH_PQ_LZO, g.data, g.len, back, 7, &err), LH_ERR_UNSUPPORTED);
    lh_buf_free(&g);
}

/* Every byte of a zstd page is covered: a flipped bit anywhere in it (here
 * in every byte in turn, literals included) is corruption, never other
 * values (a flip in the frame header's flags may still give the page). Hex digests, as a page of statement ids, compress to raw
 * literals that decode to garbage silently without the frame checksum. */
static void test_zstd_pages_are_checked(void)
{
    lh_error err;
    char src[4096];
    const char *hex = "0123456789abcdef";
    uint64_t x = 88172645463325252ull;
    for (size_t i = 0; i < sizeof src; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        src[i] = hex[x & 15];
    }
    lh_buf comp = LH_BUF_INIT;
    CHECK_OK(lh_pq_compress(LH_PQ_ZSTD, 1, src, sizeof src, &comp, &err), &err);
    char *back = lh_malloc(sizeof src);
    size_t silent = 0, caught = 0;
    for (size_t i = 0; i < comp.len; i++) {
        comp.data[i] ^= 0x10;
        lh_status rc = lh_pq_decompress(LH_PQ_ZSTD, comp.data, comp.len, back, sizeof src, &err);
        caught += rc == LH_ERR_CORRUPT;
        silent += rc == LH_OK && memcmp(back, src, sizeof src) != 0;
        comp.data[i] ^= 0x10;
    }
    CHECK(silent == 0);
    CHECK(caught + 8 > comp.len);
    free(back);
    lh_buf_free(&comp);
}

static void test_bloom(void)
{
    CHECK_INT(lh_pq_bloom_size(10000, 0.01), 16384);
    CHECK_INT(lh_pq_bloom_size(100000, 0.01), 131072);
    CHECK_INT(lh_pq_bloom_size(1048576, 0.05), 1048576);
    CHECK_INT(lh_pq_bloom_size(0, 0.01), 32);
    CHECK_INT(lh_pq_bloom_size(1, 0.01), 32);
    CHECK(lh_pq_bloom_hash("", 0) == 0xEF46DB3751D8E999ull);

    lh_pq_bloom b;
    lh_pq_bloom_init(&b, lh_pq_bloom_size(10000, 0.01));
    char key[32];
    for (int i = 0; i < 10000; i++) {
        int n = snprintf(key, sizeof key, "value-%d", i);
        lh_pq_bloom_insert(&b, key, (size_t)n);
    }
    int missing = 0, fp = 0;
    for (int i = 0; i < 10000; i++) {
        int n = snprintf(key, sizeof key, "value-%d", i);
        if (!lh_pq_bloom_check(&b, key, (size_t)n)) missing++;
        n = snprintf(key, sizeof key, "other-%d", i);
        if (lh_pq_bloom_check(&b, key, (size_t)n)) fp++;
    }
    CHECK_INT(missing, 0);
    CHECK(fp < 300); /* ~1% expected */
    /* Each insert sets exactly one bit in each of the 8 words of one block. */
    lh_pq_bloom one;
    lh_pq_bloom_init(&one, 10);
    CHECK_INT(one.num_bytes, 32);
    lh_pq_bloom_insert(&one, "hello", 5);
    int bits = 0;
    for (size_t i = 0; i < one.num_bytes; i++) bits += __builtin_popcount(one.bits[i]);
    CHECK_INT(bits, 8);
    CHECK(lh_pq_bloom_check_bits(one.bits, 31, 0)); /* malformed size: conservative */
    lh_pq_bloom_free(&one);
    lh_pq_bloom_free(&b);
}

int main(void)
{
    RUN(test_codecs);
    RUN(test_lz4_framing);
    RUN(test_gzip_members);
    RUN(test_zstd_pages_are_checked);
    RUN(test_bloom);
    return lh_test_report();
}
