/* The process-wide model: the builtin one (static data written at build
 * time from the embedded JSON), or the one LAKEHOUSE_FTM_MODEL names. */
#include <pthread.h>
#include <stdlib.h>

#include "lh/model/model.h"
#include "model/model_internal.h"

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static const lh_model *g_model;
static lh_error g_err;

static void load_global(void)
{
    lh_error_clear(&g_err);
    const char *path = getenv("LAKEHOUSE_FTM_MODEL");
    if (path && *path) {
        lh_model *m = NULL;
        if (lh_model_load(path, &m, &g_err) != LH_OK)
            lh_error_prefix(&g_err, "LAKEHOUSE_FTM_MODEL");
        g_model = m;
        return;
    }
    g_model = &lh_model_builtin; /* built from the embedded JSON at build time */
}

const lh_model *lh_model_get(lh_error *err)
{
    pthread_once(&g_once, load_global);
    if (!g_model && err) *err = g_err;
    return g_model;
}

lh_status lh_model_load_embedded(lh_model **out, lh_error *err)
{
    return lh_model_load_json((const char *)lh_model_embedded_json, lh_model_embedded_json_len,
                              "embedded model", out, err);
}
