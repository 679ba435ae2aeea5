/* Parquet page compression codecs over the Debian libraries (snappy, zstd,
 * zlib, lz4, brotli). */
#ifndef LH_FORMAT_PQ_CODEC_H
#define LH_FORMAT_PQ_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "lh/core/buf.h"
#include "lh/core/error.h"
#include "lh/format/pq_meta.h"

/* Append the compressed form of src to out. level: codec level, 0 = default. */
lh_status lh_pq_compress(lh_pq_codec codec, int level, const void *src, size_t n,
                         lh_buf *out, lh_error *err);

/* Decompress src into dst, which must receive exactly dst_len bytes (the
 * page's uncompressed size); anything else is LH_ERR_CORRUPT. */
lh_status lh_pq_decompress(lh_pq_codec codec, const void *src, size_t n, void *dst,
                           size_t dst_len, lh_error *err);

/* "SNAPPY", "ZSTD", ...; NULL for unknown. */
const char *lh_pq_codec_name(lh_pq_codec codec);

#endif
