/* Parquet page codecs. Each codec maps a whole page body to one compressed
 * block (no framing), except LZ4 (5), which uses Hadoop framing on write
 * and accepts both Hadoop framing and a bare block on read. */
#include "lh/format/pq_codec.h"

#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <lz4.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "format/pq_codec_dyn.h"
#include "lh/core/mem.h"

const char *lh_pq_codec_name(lh_pq_codec codec)
{
    switch (codec) {
    case LH_PQ_UNCOMPRESSED: return "UNCOMPRESSED";
    case LH_PQ_SNAPPY: return "SNAPPY";
    case LH_PQ_GZIP: return "GZIP";
    case LH_PQ_LZO: return "LZO";
    case LH_PQ_BROTLI: return "BROTLI";
    case LH_PQ_LZ4: return "LZ4";
    case LH_PQ_ZSTD: return "ZSTD";
    case LH_PQ_LZ4_RAW: return "LZ4_RAW";
    }
    return NULL;
}

static lh_status gzip_compress(int level, const void *src, size_t n, lh_buf *out, lh_error *err)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    /* windowBits 15 + 16 selects the gzip (RFC 1952) wrapper. */
    if (deflateInit2(&zs, level > 0 ? level : Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
                     Z_DEFAULT_STRATEGY) != Z_OK)
        return lh_error_set(err, LH_ERR_INTERNAL, "gzip: deflateInit2 failed");
    uLong bound = deflateBound(&zs, (uLong)n);
    lh_buf_reserve(out, bound);
    zs.next_in = (Bytef *)src;
    zs.avail_in = (uInt)n;
    zs.next_out = (Bytef *)out->data + out->len;
    zs.avail_out = (uInt)bound;
    int rc = deflate(&zs, Z_FINISH);
    size_t produced = bound - zs.avail_out;
    deflateEnd(&zs);
    if (rc != Z_STREAM_END) return lh_error_set(err, LH_ERR_INTERNAL, "gzip: deflate failed (%d)", rc);
    out->len += produced;
    out->data[out->len] = 0;
    return LH_OK;
}

/* Accepts several concatenated gzip members (some writers emit them). */
static lh_status gzip_decompress(const void *src, size_t n, void *dst, size_t dst_len, lh_error *err)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 15 + 16) != Z_OK)
        return lh_error_set(err, LH_ERR_INTERNAL, "gzip: inflateInit2 failed");
    zs.next_in = (Bytef *)src;
    zs.avail_in = (uInt)n;
    zs.next_out = dst;
    zs.avail_out = (uInt)dst_len;
    lh_status st = LH_OK;
    for (;;) {
        int rc = inflate(&zs, Z_FINISH);
        if (rc == Z_STREAM_END) {
            if (zs.avail_in == 0) break;
            if (inflateReset(&zs) != Z_OK) {
                st = lh_error_set(err, LH_ERR_CORRUPT, "gzip: cannot reset for next member");
                break;
            }
            continue;
        }
        st = lh_error_set(err, LH_ERR_CORRUPT, "gzip: %s (inflate %d)",
                          zs.msg ? zs.msg : "truncated or oversized stream", rc);
        break;
    }
    size_t got = dst_len - zs.avail_out;
    inflateEnd(&zs);
    if (st == LH_OK && got != dst_len)
        st = lh_error_set(err, LH_ERR_CORRUPT, "gzip: decompressed %zu bytes, expected %zu", got,
                          dst_len);
    return st;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Hadoop framing: [u32 BE raw len][u32 BE compressed len][block]...; true only
 * when every frame is consistent and the output is exactly filled. */
static bool lz4_hadoop_try(const uint8_t *s, size_t n, uint8_t *dst, size_t dst_len)
{
    size_t in = 0, outp = 0;
    while (in < n) {
        if (n - in < 8) return false;
        uint32_t raw = be32(s + in), comp = be32(s + in + 4);
        in += 8;
        if (comp > n - in || raw > dst_len - outp || comp > INT_MAX || raw > INT_MAX) return false;
        int got = LZ4_decompress_safe((const char *)s + in, (char *)dst + outp, (int)comp, (int)raw);
        if (got < 0 || (uint32_t)got != raw) return false;
        in += comp;
        outp += raw;
    }
    return outp == dst_len;
}

/* One zstd context per thread, reused: ZSTD_compress/ZSTD_decompress set
 * up and tear down a context (hundreds of KB) on every page. Freed at
 * thread exit. */
static pthread_key_t g_zstd_key;
static pthread_once_t g_zstd_once = PTHREAD_ONCE_INIT;

typedef struct zstd_ctxs {
    ZSTD_CCtx *c;
    ZSTD_DCtx *d;
} zstd_ctxs;

static void zstd_ctxs_free(void *p)
{
    zstd_ctxs *z = p;
    ZSTD_freeCCtx(z->c);
    ZSTD_freeDCtx(z->d);
    free(z);
}

static void zstd_key_init(void)
{
    pthread_key_create(&g_zstd_key, zstd_ctxs_free);
}

static zstd_ctxs *zstd_ctxs_get(void)
{
    pthread_once(&g_zstd_once, zstd_key_init);
    zstd_ctxs *z = pthread_getspecific(g_zstd_key);
    if (!z) {
        z = lh_calloc(1, sizeof *z);
        pthread_setspecific(g_zstd_key, z);
    }
    return z;
}

static ZSTD_CCtx *zstd_cctx(void)
{
    zstd_ctxs *z = zstd_ctxs_get();
    if (!z->c) {
        if (!(z->c = ZSTD_createCCtx())) lh_out_of_memory_for("a zstd compression context");
        /* A page's frame carries a checksum of its content, which every
         * zstd decoder verifies: a flipped bit in a page is then an error
         * at read (and in `maintenance check`), never a wrong value. Parquet
         * itself checks nothing unless page CRCs are written, and a zstd
         * frame without one decodes garbage in its literals silently. */
        ZSTD_CCtx_setParameter(z->c, ZSTD_c_checksumFlag, 1);
    }
    return z->c;
}

static ZSTD_DCtx *zstd_dctx(void)
{
    zstd_ctxs *z = zstd_ctxs_get();
    if (!z->d && !(z->d = ZSTD_createDCtx())) lh_out_of_memory_for("a zstd decompression context");
    return z->d;
}

lh_status lh_pq_compress(lh_pq_codec codec, int level, const void *src, size_t n, lh_buf *out,
                         lh_error *err)
{
    switch (codec) {
    case LH_PQ_UNCOMPRESSED:
        lh_buf_append(out, src, n);
        return LH_OK;
    case LH_PQ_SNAPPY: {
        LH_TRY(lh_snappy_load(err));
        size_t cap = snappy_max_compressed_length(n);
        lh_buf_reserve(out, cap);
        if (snappy_compress(src, n, out->data + out->len, &cap) != SNAPPY_OK)
            return lh_error_set(err, LH_ERR_INTERNAL, "snappy: compress failed");
        out->len += cap;
        out->data[out->len] = 0;
        return LH_OK;
    }
    case LH_PQ_GZIP:
        return gzip_compress(level, src, n, out, err);
    case LH_PQ_ZSTD: {
        size_t cap = ZSTD_compressBound(n);
        lh_buf_reserve(out, cap);
        ZSTD_CCtx *cctx = zstd_cctx();
        size_t r = ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level ? level : 3);
        if (!ZSTD_isError(r)) r = ZSTD_compress2(cctx, out->data + out->len, cap, src, n);
        if (ZSTD_isError(r))
            return lh_error_set(err, LH_ERR_INTERNAL, "zstd: %s", ZSTD_getErrorName(r));
        out->len += r;
        out->data[out->len] = 0;
        return LH_OK;
    }
    case LH_PQ_LZ4_RAW:
    case LH_PQ_LZ4: {
        if (n > LZ4_MAX_INPUT_SIZE)
            return lh_error_set(err, LH_ERR_INVALID, "lz4: page of %zu bytes too large", n);
        int cap = LZ4_compressBound((int)n);
        size_t hdr = codec == LH_PQ_LZ4 ? 8 : 0;
        lh_buf_reserve(out, (size_t)cap + hdr);
        char *p = out->data + out->len + hdr;
        int r = LZ4_compress_default(src, p, (int)n, cap);
        if (r <= 0 && n > 0) return lh_error_set(err, LH_ERR_INTERNAL, "lz4: compress failed");
        if (hdr) {
            uint8_t *h = (uint8_t *)out->data + out->len;
            uint32_t a = (uint32_t)n, b = (uint32_t)r;
            h[0] = a >> 24; h[1] = a >> 16; h[2] = a >> 8; h[3] = a;
            h[4] = b >> 24; h[5] = b >> 16; h[6] = b >> 8; h[7] = b;
        }
        out->len += hdr + (size_t)r;
        out->data[out->len] = 0;
        return LH_OK;
    }
    case LH_PQ_BROTLI: {
        LH_TRY(lh_brotli_enc_load(err));
        size_t cap = BrotliEncoderMaxCompressedSize(n);
        if (cap == 0) cap = n + 1024;
        lh_buf_reserve(out, cap);
        int q = level > 0 && level <= 11 ? level : 1;
        if (!BrotliEncoderCompress(q, BROTLI_DEFAULT_WINDOW, BROTLI_MODE_GENERIC, n, src, &cap,
                                   (uint8_t *)out->data + out->len))
            return lh_error_set(err, LH_ERR_INTERNAL, "brotli: compress failed");
        out->len += cap;
        out->data[out->len] = 0;
        return LH_OK;
    }
    case LH_PQ_LZO:
        break;
    }
    return lh_error_set(err, LH_ERR_UNSUPPORTED, "parquet codec %d not supported for writing",
                        (int)codec);
}

lh_status lh_pq_decompress(lh_pq_codec codec, const void *src, size_t n, void *dst,
                           size_t dst_len, lh_error *err)
{
    switch (codec) {
    case LH_PQ_UNCOMPRESSED:
        if (n != dst_len)
            return lh_error_set(err, LH_ERR_CORRUPT,
                                "uncompressed page: %zu bytes, expected %zu", n, dst_len);
        if (n) memcpy(dst, src, n);
        return LH_OK;
    case LH_PQ_SNAPPY: {
        LH_TRY(lh_snappy_load(err));
        size_t ulen;
        if (snappy_uncompressed_length(src, n, &ulen) != SNAPPY_OK)
            return lh_error_set(err, LH_ERR_CORRUPT, "snappy: bad length header");
        if (ulen != dst_len)
            return lh_error_set(err, LH_ERR_CORRUPT, "snappy: %zu bytes, expected %zu", ulen,
                                dst_len);
        size_t got = dst_len;
        if (snappy_uncompress(src, n, dst, &got) != SNAPPY_OK || got != dst_len)
            return lh_error_set(err, LH_ERR_CORRUPT, "snappy: corrupt block");
        return LH_OK;
    }
    case LH_PQ_GZIP:
        return gzip_decompress(src, n, dst, dst_len, err);
    case LH_PQ_ZSTD: {
        size_t r = ZSTD_decompressDCtx(zstd_dctx(), dst, dst_len, src, n);
        if (ZSTD_isError(r))
            return lh_error_set(err, LH_ERR_CORRUPT, "zstd: %s", ZSTD_getErrorName(r));
        if (r != dst_len)
            return lh_error_set(err, LH_ERR_CORRUPT, "zstd: %zu bytes, expected %zu", r, dst_len);
        return LH_OK;
    }
    case LH_PQ_LZ4:
        if (lz4_hadoop_try(src, n, dst, dst_len)) return LH_OK;
        /* Old parquet-cpp wrote a bare block under codec 5. */
        /* fall through */
    case LH_PQ_LZ4_RAW: {
        if (n > INT_MAX || dst_len > INT_MAX)
            return lh_error_set(err, LH_ERR_CORRUPT, "lz4: page too large");
        int r = LZ4_decompress_safe(src, dst, (int)n, (int)dst_len);
        if (r < 0 || (size_t)r != dst_len)
            return lh_error_set(err, LH_ERR_CORRUPT, "lz4: corrupt block (%d of %zu bytes)", r,
                                dst_len);
        return LH_OK;
    }
    case LH_PQ_BROTLI: {
        LH_TRY(lh_brotli_dec_load(err));
        size_t got = dst_len;
        if (BrotliDecoderDecompress(n, src, &got, dst) != BROTLI_DECODER_RESULT_SUCCESS ||
            got != dst_len)
            return lh_error_set(err, LH_ERR_CORRUPT, "brotli: corrupt stream or wrong size");
        return LH_OK;
    }
    case LH_PQ_LZO:
        break;
    }
    return lh_error_set(err, LH_ERR_UNSUPPORTED, "parquet codec %d (%s) not supported", (int)codec,
                        lh_pq_codec_name(codec) ? lh_pq_codec_name(codec) : "unknown");
}
