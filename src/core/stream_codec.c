/* Whole-file codecs (stream_codec.h). gzip, zstd and LZ4 come from the
 * libraries the parquet codecs link already; bzip2 and xz are loaded on
 * first use, as no other command needs them. The settings are those of
 * Python's writers, which the reference uses: gzip level 9 with mtime 0 and
 * no name (the OS byte "unknown"), bzip2 level 9, xz preset 6 with CRC64,
 * zstd level 3, LZ4 frames with default preferences. */
#include "lh/core/stream_codec.h"

#include <bzlib.h>
#include <lz4frame.h>
#include <lzma.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>
#include <zstd.h>

#include "lh/core/buf.h"
#include "lh/core/dynlib.h"
#include "lh/core/mem.h"

/* ---- bzip2 and xz, loaded on first use ---- */

#define BZ2_FUNCS(X)                                                                             \
    X(BZ2_bzCompressInit) X(BZ2_bzCompress) X(BZ2_bzCompressEnd) X(BZ2_bzDecompressInit)         \
    X(BZ2_bzDecompress) X(BZ2_bzDecompressEnd)
#define XZ_FUNCS(X) X(lzma_easy_encoder) X(lzma_auto_decoder) X(lzma_code) X(lzma_end)
#define MEMBER(f) __typeof__(f) *p_##f;
static struct { BZ2_FUNCS(MEMBER) } bz2_api;
static struct { XZ_FUNCS(MEMBER) } xz_api;
#undef MEMBER
#define NAME(f) #f,
static const char *const BZ2_NAMES[] = {BZ2_FUNCS(NAME)};
static const char *const XZ_NAMES[] = {XZ_FUNCS(NAME)};
#undef NAME

static lh_status load(lh_stream_codec c, lh_error *err)
{
    static lh_dynlib_once bz2_once = LH_DYNLIB_ONCE_INIT, xz_once = LH_DYNLIB_ONCE_INIT;
    if (c == LH_STREAM_BZ2)
        return lh_dynlib_load_once(&bz2_once, "libbz2.so.1.0", "bzip2-compressed exports",
                                   BZ2_NAMES, sizeof BZ2_NAMES / sizeof *BZ2_NAMES, &bz2_api,
                                   sizeof bz2_api, NULL, err);
    if (c == LH_STREAM_XZ)
        return lh_dynlib_load_once(&xz_once, "liblzma.so.5", "xz-compressed exports", XZ_NAMES,
                                   sizeof XZ_NAMES / sizeof *XZ_NAMES, &xz_api, sizeof xz_api,
                                   NULL, err);
    return LH_OK;
}

/* ---- names ---- */

static const char *const NAMES[] = {NULL, "gz", "bz2", "xz", "zst", "lz4"};

static const struct {
    const char *alias;
    lh_stream_codec codec;
} ALIASES[] = {{"gzip", LH_STREAM_GZ},   {"bzip2", LH_STREAM_BZ2},    {"bz", LH_STREAM_BZ2},
               {"lzma", LH_STREAM_XZ},   {"zstd", LH_STREAM_ZST},     {"zstandard", LH_STREAM_ZST},
               {"lz4frame", LH_STREAM_LZ4}};

bool lh_stream_codec_parse(const char *name, lh_stream_codec *out)
{
    if (!name) return false;
    while (*name == ' ' || *name == '\t' || *name == '\n' || *name == '\r') name++;
    size_t n = strlen(name);
    while (n && (name[n - 1] == ' ' || name[n - 1] == '\t' || name[n - 1] == '\n' ||
                 name[n - 1] == '\r'))
        n--;
    while (n && *name == '.') name++, n--;
    for (int c = LH_STREAM_GZ; c <= LH_STREAM_LZ4; c++)
        if (strlen(NAMES[c]) == n && strncasecmp(name, NAMES[c], n) == 0) {
            *out = (lh_stream_codec)c;
            return true;
        }
    for (size_t i = 0; i < sizeof ALIASES / sizeof *ALIASES; i++)
        if (strlen(ALIASES[i].alias) == n && strncasecmp(name, ALIASES[i].alias, n) == 0) {
            *out = ALIASES[i].codec;
            return true;
        }
    return false;
}

const char *lh_stream_codec_name(lh_stream_codec c)
{
    return c > LH_STREAM_PLAIN && c <= LH_STREAM_LZ4 ? NAMES[c] : NULL;
}

void lh_stream_codec_key(lh_buf *key, lh_stream_codec c)
{
    const char *name = lh_stream_codec_name(c);
    if (name) lh_buf_printf(key, ".%s", name);
}

/* ---- one codec's state, either direction ---- */

#define OUT_STEP (256u << 10)
#define LZ4_PIECE (1u << 20) /* input per LZ4F_compressUpdate: bounds its output buffer */

typedef struct engine {
    lh_stream_codec codec;
    bool encode;
    bool ready;     /* the library's state is initialised */
    bool in_stream; /* decoding: inside a stream (member, frame); LZ4 encoding: header out */
    bool restart;   /* decoding: a stream ended, the next needs a fresh state */
    unsigned streams_done; /* decoding: complete streams so far */
    bool stream_made;      /* decoding: the current stream gave output */
    bool trailing;  /* decoding: the rest is not a stream, and ignored (Python's rule) */
    z_stream z;
    gz_header gz_head;
    bz_stream bz;
    lzma_stream xz;
    ZSTD_CCtx *zc;
    ZSTD_DCtx *zd;
    LZ4F_cctx *lc;
    LZ4F_dctx *ld;
    const char *what;
} engine;

static void engine_end(engine *e)
{
    if (!e->ready) return;
    switch (e->codec) {
    case LH_STREAM_GZ: e->encode ? deflateEnd(&e->z) : inflateEnd(&e->z); break;
    case LH_STREAM_BZ2:
        e->encode ? bz2_api.p_BZ2_bzCompressEnd(&e->bz) : bz2_api.p_BZ2_bzDecompressEnd(&e->bz);
        break;
    case LH_STREAM_XZ: xz_api.p_lzma_end(&e->xz); break;
    case LH_STREAM_ZST: ZSTD_freeCCtx(e->zc); ZSTD_freeDCtx(e->zd); break;
    case LH_STREAM_LZ4: LZ4F_freeCompressionContext(e->lc); LZ4F_freeDecompressionContext(e->ld); break;
    default: break;
    }
    e->ready = false;
}

static lh_status fail(const engine *e, lh_status code, const char *detail, lh_error *err)
{
    return lh_error_set(err, code, "%s: %s %s: %s", e->what, NAMES[e->codec],
                        e->encode ? "compression" : "data", detail);
}

/* (Re)start the library's state: once for an encoder, per stream for the
 * decoders that cannot run on into a next stream by themselves. */
static lh_status engine_begin(engine *e, lh_error *err)
{
    engine_end(e);
    int rc = 0;
    switch (e->codec) {
    case LH_STREAM_GZ:
        memset(&e->z, 0, sizeof e->z);
        if (e->encode) {
            rc = deflateInit2(&e->z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
            /* zlib reads the header when it writes it: it lives in e */
            memset(&e->gz_head, 0, sizeof e->gz_head);
            e->gz_head.os = 255; /* as Python's gzip: "unknown" */
            if (rc == Z_OK) rc = deflateSetHeader(&e->z, &e->gz_head);
        } else {
            rc = inflateInit2(&e->z, 15 + 16);
        }
        if (rc != Z_OK) return fail(e, LH_ERR_INTERNAL, "cannot start zlib", err);
        break;
    case LH_STREAM_BZ2:
        memset(&e->bz, 0, sizeof e->bz);
        rc = e->encode ? bz2_api.p_BZ2_bzCompressInit(&e->bz, 9, 0, 0)
                       : bz2_api.p_BZ2_bzDecompressInit(&e->bz, 0, 0);
        if (rc != BZ_OK) return fail(e, LH_ERR_INTERNAL, "cannot start libbz2", err);
        break;
    case LH_STREAM_XZ: {
        lzma_stream init = LZMA_STREAM_INIT;
        e->xz = init;
        lzma_ret r = e->encode ? xz_api.p_lzma_easy_encoder(&e->xz, 6, LZMA_CHECK_CRC64)
                               : xz_api.p_lzma_auto_decoder(&e->xz, UINT64_MAX, 0);
        if (r != LZMA_OK) return fail(e, LH_ERR_INTERNAL, "cannot start liblzma", err);
        break;
    }
    case LH_STREAM_ZST:
        e->zc = e->encode ? ZSTD_createCCtx() : NULL;
        e->zd = e->encode ? NULL : ZSTD_createDCtx();
        if (e->encode ? !e->zc || ZSTD_isError(ZSTD_CCtx_setParameter(
                                      e->zc, ZSTD_c_compressionLevel, ZSTD_CLEVEL_DEFAULT))
                      : !e->zd) {
            ZSTD_freeCCtx(e->zc);
            ZSTD_freeDCtx(e->zd);
            return fail(e, LH_ERR_INTERNAL, "cannot start libzstd", err);
        }
        break;
    case LH_STREAM_LZ4:
        e->lc = NULL;
        e->ld = NULL;
        if (LZ4F_isError(e->encode ? LZ4F_createCompressionContext(&e->lc, LZ4F_VERSION)
                                   : LZ4F_createDecompressionContext(&e->ld, LZ4F_VERSION))) {
            LZ4F_freeCompressionContext(e->lc);
            LZ4F_freeDecompressionContext(e->ld);
            return fail(e, LH_ERR_INTERNAL, "cannot start liblz4", err);
        }
        break;
    default: return fail(e, LH_ERR_INTERNAL, "no such codec", err);
    }
    e->ready = true;
    return LH_OK;
}

/* ---- encoding ---- */

/* Compress in[0..n) (finish: and end the stream), appending to out. */
static lh_status encode(engine *e, const uint8_t *in, size_t n, bool finish, lh_buf *out,
                        lh_error *err)
{
    switch (e->codec) {
    case LH_STREAM_GZ:
        e->z.next_in = (Bytef *)in;
        e->z.avail_in = (uInt)n; /* callers write well below 4 GiB at a time */
        for (;;) {
            lh_buf_reserve(out, OUT_STEP);
            e->z.next_out = (Bytef *)out->data + out->len;
            e->z.avail_out = OUT_STEP;
            int rc = deflate(&e->z, finish ? Z_FINISH : Z_NO_FLUSH);
            out->len += OUT_STEP - e->z.avail_out;
            if (rc == Z_STREAM_END) return LH_OK;
            if (rc != Z_OK && rc != Z_BUF_ERROR) return fail(e, LH_ERR_INTERNAL, "deflate failed", err);
            if (!finish && e->z.avail_in == 0 && e->z.avail_out > 0) return LH_OK;
        }
    case LH_STREAM_BZ2:
        e->bz.next_in = (char *)in;
        e->bz.avail_in = (unsigned)n;
        for (;;) {
            lh_buf_reserve(out, OUT_STEP);
            e->bz.next_out = out->data + out->len;
            e->bz.avail_out = OUT_STEP;
            int rc = bz2_api.p_BZ2_bzCompress(&e->bz, finish ? BZ_FINISH : BZ_RUN);
            out->len += OUT_STEP - e->bz.avail_out;
            if (rc == BZ_STREAM_END) return LH_OK;
            if (rc != BZ_RUN_OK && rc != BZ_FINISH_OK) return fail(e, LH_ERR_INTERNAL, "failed", err);
            if (!finish && e->bz.avail_in == 0) return LH_OK;
        }
    case LH_STREAM_XZ:
        e->xz.next_in = in;
        e->xz.avail_in = n;
        for (;;) {
            lh_buf_reserve(out, OUT_STEP);
            e->xz.next_out = (uint8_t *)out->data + out->len;
            e->xz.avail_out = OUT_STEP;
            lzma_ret rc = xz_api.p_lzma_code(&e->xz, finish ? LZMA_FINISH : LZMA_RUN);
            out->len += OUT_STEP - e->xz.avail_out;
            if (rc == LZMA_STREAM_END) return LH_OK;
            if (rc != LZMA_OK) return fail(e, LH_ERR_INTERNAL, "failed", err);
            if (!finish && e->xz.avail_in == 0 && e->xz.avail_out > 0) return LH_OK;
        }
    case LH_STREAM_ZST: {
        ZSTD_inBuffer ib = {in, n, 0};
        for (;;) {
            lh_buf_reserve(out, OUT_STEP);
            ZSTD_outBuffer ob = {out->data + out->len, OUT_STEP, 0};
            size_t left = ZSTD_compressStream2(e->zc, &ob, &ib, finish ? ZSTD_e_end : ZSTD_e_continue);
            out->len += ob.pos;
            if (ZSTD_isError(left)) return fail(e, LH_ERR_INTERNAL, ZSTD_getErrorName(left), err);
            if (finish ? left == 0 : ib.pos == ib.size) return LH_OK;
        }
    }
    case LH_STREAM_LZ4: {
        LZ4F_preferences_t prefs;
        memset(&prefs, 0, sizeof prefs);
        if (!e->in_stream) { /* the frame header, before the first bytes */
            lh_buf_reserve(out, LZ4F_HEADER_SIZE_MAX);
            size_t r = LZ4F_compressBegin(e->lc, out->data + out->len, LZ4F_HEADER_SIZE_MAX, &prefs);
            if (LZ4F_isError(r)) return fail(e, LH_ERR_INTERNAL, LZ4F_getErrorName(r), err);
            out->len += r;
            e->in_stream = true;
        }
        while (n) {
            size_t piece = n < LZ4_PIECE ? n : LZ4_PIECE;
            size_t cap = LZ4F_compressBound(piece, &prefs);
            lh_buf_reserve(out, cap);
            size_t r = LZ4F_compressUpdate(e->lc, out->data + out->len, cap, in, piece, NULL);
            if (LZ4F_isError(r)) return fail(e, LH_ERR_INTERNAL, LZ4F_getErrorName(r), err);
            out->len += r;
            in += piece;
            n -= piece;
        }
        if (finish) {
            size_t cap = LZ4F_compressBound(0, &prefs);
            lh_buf_reserve(out, cap);
            size_t r = LZ4F_compressEnd(e->lc, out->data + out->len, cap, NULL);
            if (LZ4F_isError(r)) return fail(e, LH_ERR_INTERNAL, LZ4F_getErrorName(r), err);
            out->len += r;
        }
        return LH_OK;
    }
    default: return fail(e, LH_ERR_INTERNAL, "no such codec", err);
    }
}

typedef struct stream_writer {
    lh_storage_writer base;
    lh_storage_writer *inner;
    engine e;
    lh_buf out; /* compressed bytes not yet handed to inner */
} stream_writer;

static lh_status sw_drain(stream_writer *w, size_t keep_below, lh_error *err)
{
    if (w->out.len < keep_below || !w->out.len) return LH_OK;
    lh_status rc = lh_storage_writer_write(w->inner, w->out.data, w->out.len, err);
    lh_buf_reset(&w->out);
    return rc;
}

static lh_status sw_write(lh_storage_writer *base, const void *data, size_t n, lh_error *err)
{
    stream_writer *w = (stream_writer *)base;
    LH_TRY(encode(&w->e, data, n, false, &w->out, err));
    return sw_drain(w, OUT_STEP, err);
}

static lh_status sw_commit(lh_storage_writer *base, bool if_absent, lh_error *err)
{
    stream_writer *w = (stream_writer *)base;
    LH_TRY(encode(&w->e, NULL, 0, true, &w->out, err));
    LH_TRY(sw_drain(w, 0, err));
    return if_absent ? lh_storage_writer_commit_if_absent(w->inner, err)
                     : lh_storage_writer_commit(w->inner, err);
}

static void sw_abort(lh_storage_writer *base)
{
    stream_writer *w = (stream_writer *)base;
    engine_end(&w->e);
    lh_storage_writer_free(w->inner);
    lh_buf_free(&w->out);
    free(w->base.key);
    free(w);
}

lh_status lh_stream_writer_wrap(lh_storage_writer *inner, lh_stream_codec c,
                                lh_storage_writer **out, lh_error *err)
{
    *out = NULL;
    if (c == LH_STREAM_PLAIN) {
        *out = inner;
        return LH_OK;
    }
    stream_writer *w = lh_calloc(1, sizeof *w);
    w->base.write = sw_write;
    w->base.commit = sw_commit;
    w->base.abort = sw_abort;
    w->base.key = lh_strdup(inner->key);
    w->inner = inner;
    w->e.codec = c;
    w->e.encode = true;
    w->e.what = w->base.key;
    lh_status rc = load(c, err);
    if (rc == LH_OK) rc = engine_begin(&w->e, err);
    if (rc != LH_OK) {
        sw_abort(&w->base);
        return rc;
    }
    *out = &w->base;
    return LH_OK;
}

/* ---- decoding ---- */

struct lh_stream_decoder {
    engine e;
    char *what;
    uint8_t *out;
};

lh_status lh_stream_decoder_new(lh_stream_codec c, const char *what, lh_stream_decoder **out,
                                lh_error *err)
{
    *out = NULL;
    lh_stream_decoder *d = lh_calloc(1, sizeof *d);
    d->what = lh_strdup(what ? what : "input");
    d->e.codec = c;
    d->e.what = d->what;
    d->out = lh_malloc(OUT_STEP);
    lh_status rc = c == LH_STREAM_PLAIN ? LH_OK : load(c, err);
    if (rc == LH_OK && c != LH_STREAM_PLAIN) rc = engine_begin(&d->e, err);
    if (rc != LH_OK) {
        lh_stream_decoder_free(d);
        return rc;
    }
    *out = d;
    return LH_OK;
}

/* One step: consume some of in (*used), produce some output (*made);
 * *ended when a stream ended in this step. */
static lh_status decode_step(engine *e, const uint8_t *in, size_t n, size_t *used,
                             uint8_t *out, size_t *made, bool *ended, lh_error *err)
{
    *ended = false;
    switch (e->codec) {
    case LH_STREAM_GZ: {
        e->z.next_in = (Bytef *)in;
        e->z.avail_in = (uInt)(n > UINT32_MAX ? UINT32_MAX : n);
        e->z.next_out = out;
        e->z.avail_out = OUT_STEP;
        uInt avail = e->z.avail_in;
        int rc = inflate(&e->z, Z_NO_FLUSH);
        *used = avail - e->z.avail_in;
        *made = OUT_STEP - e->z.avail_out;
        if (rc == Z_STREAM_END) *ended = true;
        else if (rc != Z_OK && rc != Z_BUF_ERROR)
            return fail(e, LH_ERR_CORRUPT, e->z.msg ? e->z.msg : "inflate failed", err);
        return LH_OK;
    }
    case LH_STREAM_BZ2: {
        unsigned avail = (unsigned)(n > UINT32_MAX ? UINT32_MAX : n);
        e->bz.next_in = (char *)in;
        e->bz.avail_in = avail;
        e->bz.next_out = (char *)out;
        e->bz.avail_out = OUT_STEP;
        int rc = bz2_api.p_BZ2_bzDecompress(&e->bz);
        *used = avail - e->bz.avail_in;
        *made = OUT_STEP - e->bz.avail_out;
        if (rc == BZ_STREAM_END) *ended = true;
        else if (rc != BZ_OK) return fail(e, LH_ERR_CORRUPT, "not a valid bzip2 stream", err);
        return LH_OK;
    }
    case LH_STREAM_XZ: {
        e->xz.next_in = in;
        e->xz.avail_in = n;
        e->xz.next_out = out;
        e->xz.avail_out = OUT_STEP;
        lzma_ret rc = xz_api.p_lzma_code(&e->xz, LZMA_RUN);
        *used = n - e->xz.avail_in;
        *made = OUT_STEP - e->xz.avail_out;
        if (rc == LZMA_STREAM_END) *ended = true;
        else if (rc != LZMA_OK && rc != LZMA_BUF_ERROR)
            return fail(e, LH_ERR_CORRUPT, "not a valid xz stream", err);
        return LH_OK;
    }
    case LH_STREAM_ZST: {
        ZSTD_inBuffer ib = {in, n, 0};
        ZSTD_outBuffer ob = {out, OUT_STEP, 0};
        size_t r = ZSTD_decompressStream(e->zd, &ob, &ib);
        *used = ib.pos;
        *made = ob.pos;
        if (ZSTD_isError(r)) return fail(e, LH_ERR_CORRUPT, ZSTD_getErrorName(r), err);
        *ended = r == 0;
        return LH_OK;
    }
    case LH_STREAM_LZ4: {
        size_t src = n, dst = OUT_STEP;
        size_t r = LZ4F_decompress(e->ld, out, &dst, in, &src, NULL);
        *used = src;
        *made = dst;
        if (LZ4F_isError(r)) return fail(e, LH_ERR_CORRUPT, LZ4F_getErrorName(r), err);
        *ended = r == 0; /* the context starts the next frame by itself */
        return LH_OK;
    }
    default: return fail(e, LH_ERR_INTERNAL, "no such codec", err);
    }
}

lh_status lh_stream_decoder_feed(lh_stream_decoder *d, const void *data, size_t n,
                                 lh_stream_emit_fn emit, void *ctx, lh_error *err)
{
    engine *e = &d->e;
    if (e->codec == LH_STREAM_PLAIN) return n ? emit(ctx, data, n, err) : LH_OK;
    const uint8_t *in = data;
    for (;;) {
        if (e->trailing) return LH_OK;
        if (n && !e->in_stream && e->streams_done && e->codec == LH_STREAM_GZ) {
            /* as Python's gzip: zeros may pad a file after a member */
            while (n && !*in) in++, n--;
            if (!n) return LH_OK;
        }
        if (n && !e->in_stream) {
            /* gzip, bzip2 and xz: a fresh state for each further stream */
            if (e->restart) LH_TRY(engine_begin(e, err));
            e->restart = false;
            e->in_stream = true;
            e->stream_made = false;
        }
        size_t used = 0, made = 0;
        bool ended = false;
        lh_status rc = decode_step(e, in, n, &used, d->out, &made, &ended, err);
        if (rc != LH_OK && e->streams_done && !e->stream_made &&
            (e->codec == LH_STREAM_BZ2 || e->codec == LH_STREAM_XZ)) {
            /* as Python's bz2 and lzma readers: what follows a complete
             * stream and does not start another is ignored */
            e->trailing = true;
            e->in_stream = false;
            return LH_OK;
        }
        LH_TRY(rc);
        in += used;
        n -= used;
        if (made) {
            e->stream_made = true;
            LH_TRY(emit(ctx, d->out, made, err));
        }
        if (ended) {
            e->in_stream = false;
            e->streams_done++;
            e->restart = e->codec == LH_STREAM_GZ || e->codec == LH_STREAM_BZ2 ||
                         e->codec == LH_STREAM_XZ;
        }
        /* done with this chunk once it is consumed and the output did not
         * fill up (a full buffer may leave more to take out); a stream that
         * ended has given all it had: bzip2 refuses to be asked again */
        if (!n && (made < OUT_STEP || ended)) return LH_OK;
        if (!used && !made && !ended) return fail(e, LH_ERR_CORRUPT, "decoder made no progress", err);
    }
}

lh_status lh_stream_decoder_finish(lh_stream_decoder *d, lh_error *err)
{
    engine *e = &d->e;
    if (e->in_stream)
        return fail(e, LH_ERR_CORRUPT, "the data ends inside a stream (truncated file?)", err);
    return LH_OK;
}

void lh_stream_decoder_free(lh_stream_decoder *d)
{
    if (!d) return;
    engine_end(&d->e);
    free(d->out);
    free(d->what);
    free(d);
}

lh_status lh_stream_writer_open(lh_storage *st, const char *key, lh_stream_codec c,
                                lh_storage_writer **out, lh_error *err)
{
    *out = NULL;
    lh_buf k = LH_BUF_INIT;
    lh_buf_append_str(&k, key);
    lh_stream_codec_key(&k, c);
    lh_storage_writer *inner = NULL;
    lh_status rc = lh_storage_writer_open(st, k.data, &inner, err);
    lh_buf_free(&k);
    return rc == LH_OK ? lh_stream_writer_wrap(inner, c, out, err) : rc;
}
