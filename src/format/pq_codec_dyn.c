/* snappy and brotli loaded on first use (pq_codec_dyn.h). */
#include "format/pq_codec_dyn.h"

#include <string.h>

#include "lh/core/dynlib.h"

lh_codec_dyn_api lh_codec_dyn;

#define LH_NAME(f) #f,
static const char *const SNAPPY[] = {LH_SNAPPY_FUNCS(LH_NAME)};
static const char *const BROTLIENC[] = {LH_BROTLIENC_FUNCS(LH_NAME)};
static const char *const BROTLIDEC[] = {LH_BROTLIDEC_FUNCS(LH_NAME)};
#undef LH_NAME
#define N(a) (sizeof a / sizeof *a)

static void *snappy_fns[N(SNAPPY)], *brotlienc_fns[N(BROTLIENC)], *brotlidec_fns[N(BROTLIDEC)];

#define LH_SET(f) memcpy(&lh_codec_dyn.p_##f, &fns[i++], sizeof fns[0]);
static lh_status snappy_loaded(void *const *fns, lh_error *err)
{
    size_t i = 0;
    LH_SNAPPY_FUNCS(LH_SET)
    return LH_OK;
}

static lh_status brotlienc_loaded(void *const *fns, lh_error *err)
{
    size_t i = 0;
    LH_BROTLIENC_FUNCS(LH_SET)
    return LH_OK;
}

static lh_status brotlidec_loaded(void *const *fns, lh_error *err)
{
    size_t i = 0;
    LH_BROTLIDEC_FUNCS(LH_SET)
    return LH_OK;
}
#undef LH_SET

lh_status lh_snappy_load(lh_error *err)
{
    static lh_dynlib_once once = LH_DYNLIB_ONCE_INIT;
    return lh_dynlib_load_once(&once, "libsnappy.so.1", "the SNAPPY parquet codec", SNAPPY,
                               snappy_fns, N(SNAPPY), snappy_loaded, err);
}

lh_status lh_brotli_enc_load(lh_error *err)
{
    static lh_dynlib_once once = LH_DYNLIB_ONCE_INIT;
    return lh_dynlib_load_once(&once, "libbrotlienc.so.1", "the BROTLI parquet codec", BROTLIENC,
                               brotlienc_fns, N(BROTLIENC), brotlienc_loaded, err);
}

lh_status lh_brotli_dec_load(lh_error *err)
{
    static lh_dynlib_once once = LH_DYNLIB_ONCE_INIT;
    return lh_dynlib_load_once(&once, "libbrotlidec.so.1", "the BROTLI parquet codec", BROTLIDEC,
                               brotlidec_fns, N(BROTLIDEC), brotlidec_loaded, err);
}
