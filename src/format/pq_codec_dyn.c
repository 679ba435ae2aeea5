/* snappy and brotli loaded on first use (pq_codec_dyn.h). */
#include "format/pq_codec_dyn.h"

#include "lh/core/dynlib.h"

lh_codec_dyn_api lh_codec_dyn;

#define LH_NAME(f) #f,
static const char *const SNAPPY[] = {LH_SNAPPY_FUNCS(LH_NAME)};
static const char *const BROTLIENC[] = {LH_BROTLIENC_FUNCS(LH_NAME)};
static const char *const BROTLIDEC[] = {LH_BROTLIDEC_FUNCS(LH_NAME)};
#undef LH_NAME
#define N(a) (sizeof a / sizeof *a)

lh_status lh_snappy_load(lh_error *err)
{
    static lh_dynlib_once once = LH_DYNLIB_ONCE_INIT;
    return lh_dynlib_load_once(&once, "libsnappy.so.1", "the SNAPPY parquet codec", SNAPPY,
                               N(SNAPPY), &lh_codec_dyn.snappy, sizeof lh_codec_dyn.snappy, NULL,
                               err);
}

lh_status lh_brotli_enc_load(lh_error *err)
{
    static lh_dynlib_once once = LH_DYNLIB_ONCE_INIT;
    return lh_dynlib_load_once(&once, "libbrotlienc.so.1", "the BROTLI parquet codec", BROTLIENC,
                               N(BROTLIENC), &lh_codec_dyn.brotlienc,
                               sizeof lh_codec_dyn.brotlienc, NULL, err);
}

lh_status lh_brotli_dec_load(lh_error *err)
{
    static lh_dynlib_once once = LH_DYNLIB_ONCE_INIT;
    return lh_dynlib_load_once(&once, "libbrotlidec.so.1", "the BROTLI parquet codec", BROTLIDEC,
                               N(BROTLIDEC), &lh_codec_dyn.brotlidec,
                               sizeof lh_codec_dyn.brotlidec, NULL, err);
}
