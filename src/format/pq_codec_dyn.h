/* snappy and brotli, loaded on first use (lh/core/dynlib.h): our statement
 * files are zstd, so a command that never meets a snappy or brotli page
 * (a lookup in our lake) does not pay for loading them, ~1 ms per process
 * (snappy brings libstdc++). pq_codec.c calls them by their own names,
 * which this header points at the loaded functions. */
#ifndef LH_FORMAT_PQ_CODEC_DYN_H
#define LH_FORMAT_PQ_CODEC_DYN_H

#include <brotli/decode.h>
#include <brotli/encode.h>
#include <snappy-c.h>

#include "lh/core/error.h"

#define LH_SNAPPY_FUNCS(X)                                                                       \
    X(snappy_compress) X(snappy_uncompress) X(snappy_max_compressed_length)                      \
    X(snappy_uncompressed_length)
#define LH_BROTLIENC_FUNCS(X) X(BrotliEncoderCompress) X(BrotliEncoderMaxCompressedSize)
#define LH_BROTLIDEC_FUNCS(X) X(BrotliDecoderDecompress)

/* one struct per library: each is filled when its library loads */
#define LH_CODEC_DYN_MEMBER(f) __typeof__(f) *p_##f;
typedef struct lh_codec_dyn_api {
    struct { LH_SNAPPY_FUNCS(LH_CODEC_DYN_MEMBER) } snappy;
    struct { LH_BROTLIENC_FUNCS(LH_CODEC_DYN_MEMBER) } brotlienc;
    struct { LH_BROTLIDEC_FUNCS(LH_CODEC_DYN_MEMBER) } brotlidec;
} lh_codec_dyn_api;
#undef LH_CODEC_DYN_MEMBER

extern lh_codec_dyn_api lh_codec_dyn;

/* Load the library once per process; every call returns that outcome (a
 * clear error naming the codec when the library is missing). */
lh_status lh_snappy_load(lh_error *err);
lh_status lh_brotli_enc_load(lh_error *err);
lh_status lh_brotli_dec_load(lh_error *err);

#define snappy_compress (lh_codec_dyn.snappy.p_snappy_compress)
#define snappy_uncompress (lh_codec_dyn.snappy.p_snappy_uncompress)
#define snappy_max_compressed_length (lh_codec_dyn.snappy.p_snappy_max_compressed_length)
#define snappy_uncompressed_length (lh_codec_dyn.snappy.p_snappy_uncompressed_length)
#define BrotliEncoderCompress (lh_codec_dyn.brotlienc.p_BrotliEncoderCompress)
#define BrotliEncoderMaxCompressedSize (lh_codec_dyn.brotlienc.p_BrotliEncoderMaxCompressedSize)
#define BrotliDecoderDecompress (lh_codec_dyn.brotlidec.p_BrotliDecoderDecompress)

#endif
