/* Whole-file codecs for export files, the ones the reference's datasets
 * can ask for (`compression` in config.yml, anystore's CompressKind): gzip,
 * bzip2, xz, zstd and LZ4 frames. A compressing writer wraps a storage
 * writer; a decoder turns the compressed bytes back, chunk by chunk. */
#ifndef LH_CORE_STREAM_CODEC_H
#define LH_CORE_STREAM_CODEC_H

#include <stdbool.h>
#include <stddef.h>

#include "lh/core/buf.h"
#include "lh/core/error.h"
#include "lh/core/storage.h"

typedef enum lh_stream_codec {
    LH_STREAM_PLAIN = 0,
    LH_STREAM_GZ,
    LH_STREAM_BZ2,
    LH_STREAM_XZ,
    LH_STREAM_ZST,
    LH_STREAM_LZ4,
} lh_stream_codec;

/* The codec a name means, as the reference reads it: its own names (gz,
 * bz2, xz, zst, lz4), the usual aliases (gzip, bzip2, bz, lzma, zstd,
 * zstandard, lz4frame), any case, a leading dot and surrounding blanks
 * ignored. False when the name means none. */
bool lh_stream_codec_parse(const char *name, lh_stream_codec *out);

/* The codec's own name, which is also the file suffix after the dot
 * ("zst"); NULL for LH_STREAM_PLAIN. */
const char *lh_stream_codec_name(lh_stream_codec c);

/* Append the codec's file suffix (".zst") to a key; nothing for PLAIN. */
void lh_stream_codec_key(lh_buf *key, lh_stream_codec c);

/* Open key plus the codec's suffix for writing through the codec. */
lh_status lh_stream_writer_open(lh_storage *st, const char *key, lh_stream_codec c,
                                lh_storage_writer **out, lh_error *err);

/* A writer whose bytes are compressed with c into inner, which it owns
 * from here on (freed with it, also on failure). Commit ends the stream
 * and commits inner; free without commit discards both. PLAIN hands back
 * inner itself. LH_ERR_UNSUPPORTED when the codec's library is missing. */
lh_status lh_stream_writer_wrap(lh_storage_writer *inner, lh_stream_codec c,
                                lh_storage_writer **out, lh_error *err);

/* Decompression of one file fed in chunks: emit gets the plain bytes as
 * they come. Concatenated streams (members, frames) are read one after the
 * other, and what follows the last one as Python's readers take it: zeros
 * after a gzip member are padding, anything after a complete bzip2 or xz
 * stream that does not start another is ignored; other trailing bytes are
 * an error. */
typedef struct lh_stream_decoder lh_stream_decoder;
typedef lh_status (*lh_stream_emit_fn)(void *ctx, const void *data, size_t n, lh_error *err);

lh_status lh_stream_decoder_new(lh_stream_codec c, const char *what, lh_stream_decoder **out,
                                lh_error *err);
lh_status lh_stream_decoder_feed(lh_stream_decoder *d, const void *data, size_t n,
                                 lh_stream_emit_fn emit, void *ctx, lh_error *err);
/* After the last chunk: LH_ERR_CORRUPT when the data ends inside a stream. */
lh_status lh_stream_decoder_finish(lh_stream_decoder *d, lh_error *err);
void lh_stream_decoder_free(lh_stream_decoder *d);

#endif
