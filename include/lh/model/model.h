/* The FollowTheMoney model: schemata, their properties and the property
 * types, as the followthemoney release the reference was built with defines
 * them (embedded at build time from src/model/data/ftm-model.json, written by
 * scripts/gen-model).
 *
 * lh_model_get() returns the process-wide model: the embedded one (as
 * static data written at build time, so no process parses it), or the
 * one named by env LAKEHOUSE_FTM_MODEL (a JSON file of followthemoney's
 * model.to_dict() shape, or a folder of followthemoney YAML schema files).
 * A model is immutable once loaded and safe to share between threads.
 *
 * Semantics follow followthemoney: a schema's properties include everything
 * inherited from its ancestors (own definitions win) and the reverse "stub"
 * properties other schemata point at it; is_a is true for the schema itself
 * and every ancestor. */
#ifndef LH_MODEL_MODEL_H
#define LH_MODEL_MODEL_H

#include <stdbool.h>
#include <stddef.h>

#include "lh/core/error.h"

typedef struct lh_schema lh_schema;
typedef struct lh_model lh_model;

typedef struct lh_prop {
    const char *name;
    const char *qname;          /* "Schema:name" of the defining schema */
    const char *label;
    const char *type;           /* property type name: "name", "entity", "date", ... */
    const lh_schema *schema;    /* the schema defining it */
    const lh_schema *range;     /* entity properties: the schema pointed at, else NULL */
    const char *reverse;        /* name of the reverse property on range, or NULL */
    int max_length;
    bool stub;                  /* reverse side of an entity property: never written */
    bool matchable;
    bool hidden;
    bool deprecated;
} lh_prop;

struct lh_schema {
    const char *name;
    const char *label;
    const char *plural;
    bool abstract;
    bool matchable;
    bool hidden;
    bool generated;
    bool deprecated;
    const lh_schema **extends;       /* direct parents, in definition order */
    size_t n_extends;
    const lh_schema **schemata;      /* itself and every ancestor, sorted by name */
    size_t n_schemata;
    const lh_schema **descendants;   /* every schema extending it, sorted by name */
    size_t n_descendants;
    const char **caption;            /* own caption property names, in order */
    size_t n_caption;
    const char **featured;
    size_t n_featured;
    const char **required;
    size_t n_required;
    const lh_prop **props;           /* all properties incl. inherited, sorted by name */
    size_t n_props;
};

/* The process-wide model (loaded once, thread-safe). NULL with err filled
 * when LAKEHOUSE_FTM_MODEL names a model that does not load. */
const lh_model *lh_model_get(lh_error *err);

/* Load a model from path: a JSON file (model.to_dict() shape) or a folder of
 * followthemoney YAML schema files (property types then come from the
 * embedded model). Free with lh_model_free. */
lh_status lh_model_load(const char *path, lh_model **out, lh_error *err);
/* Load from JSON text of the model.to_dict() shape; origin names it in errors. */
lh_status lh_model_load_json(const char *text, size_t n, const char *origin, lh_model **out,
                             lh_error *err);
void lh_model_free(lh_model *m);

const char *lh_model_version(const lh_model *m);
size_t lh_model_schema_count(const lh_model *m);
const lh_schema *lh_model_schema_at(const lh_model *m, size_t i); /* sorted by name */
const lh_schema *lh_model_schema(const lh_model *m, const char *name); /* NULL if unknown */
size_t lh_model_type_count(const lh_model *m);
const char *lh_model_type_at(const lh_model *m, size_t i); /* type names, sorted */
/* The type whose group is group ("countries" -> "country"); NULL if none. */
const char *lh_model_group_type(const lh_model *m, const char *group);

bool lh_schema_is_a(const lh_schema *s, const char *parent);
/* A property of s by name, inherited ones included; NULL if unknown. */
const lh_prop *lh_schema_prop(const lh_schema *s, const char *name);

/* followthemoney model.common_schema: the more specific of a and b when one
 * is_a the other; LH_ERR_INVALID when they are unrelated. */
lh_status lh_model_common_schema(const lh_model *m, const lh_schema *a, const lh_schema *b,
                                 const lh_schema **out, lh_error *err);
/* The lenient merge the reference uses when aggregating stored statements:
 * common_schema, else the most specific common ancestor (the one with the
 * most direct parents, ties broken by name); NULL if none exists. */
const lh_schema *lh_model_merge_schema(const lh_model *m, const lh_schema *a,
                                       const lh_schema *b);

/* Type name of schema.prop as statements carry it: "id" for the entity id
 * pseudo-property, NULL with LH_ERR_INVALID for an unknown schema/prop. */
lh_status lh_model_prop_type(const lh_model *m, const char *schema, const char *prop,
                             const char **type, lh_error *err);

#endif
