/* Model internals shared by model.c and model_yaml.c. */
#ifndef LH_MODEL_MODEL_INTERNAL_H
#define LH_MODEL_MODEL_INTERNAL_H

#include <stdbool.h>

#include <jansson.h>

#include "lh/core/buf.h"

#include "lh/model/model.h"

/* Everything lives in the arena; the model is immutable once built. */
struct lh_model {
    lh_arena arena;
    const char *version;
    lh_schema **schemata; /* sorted by name */
    size_t n_schemata;
    const char **types; /* sorted */
    bool *type_matchable;
    int *type_max_length;
    const char **type_group; /* "countries" for country; NULL when none */
    size_t n_types;
};

/* Build a model from a model.to_dict()-shaped tree (yaml: property flags
 * default the YAML way). */
lh_status lh_model_build(json_t *root, const char *origin, bool yaml, lh_model **out,
                         lh_error *err);
/* Read every YAML file under dir into {"schemata": {...}, "types": <embedded>}. */
lh_status lh_model_yaml_dir(const char *dir, json_t **out, lh_error *err);
/* The embedded model, freshly loaded (not the process-wide instance). */
lh_status lh_model_load_embedded(lh_model **out, lh_error *err);

/* The embedded model as static data, written at build time from the same
 * JSON by tools/model_codegen.c: what lh_model_get hands out by default. */
extern const lh_model lh_model_builtin;

extern const unsigned char lh_model_embedded_json[];
extern const size_t lh_model_embedded_json_len;

#endif
