/* Model lookups (the model is built by model.c). */
#include <string.h>

#include "lh/model/model.h"
#include "model/model_internal.h"

/* ---- queries ---- */

const char *lh_model_version(const lh_model *m) { return m->version; }
size_t lh_model_schema_count(const lh_model *m) { return m->n_schemata; }

const lh_schema *lh_model_schema_at(const lh_model *m, size_t i)
{
    return i < m->n_schemata ? m->schemata[i] : NULL;
}

const lh_schema *lh_model_schema(const lh_model *m, const char *name)
{
    if (!name) return NULL;
    size_t lo = 0, hi = m->n_schemata;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(m->schemata[mid]->name, name);
        if (c == 0) return m->schemata[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

size_t lh_model_type_count(const lh_model *m) { return m->n_types; }

const char *lh_model_type_at(const lh_model *m, size_t i)
{
    return i < m->n_types ? m->types[i] : NULL;
}

const char *lh_model_group_type(const lh_model *m, const char *group)
{
    for (size_t i = 0; group && i < m->n_types; i++)
        if (m->type_group[i] && strcmp(m->type_group[i], group) == 0) return m->types[i];
    return NULL;
}


bool lh_schema_is_a(const lh_schema *s, const char *parent)
{
    if (!s || !parent) return false;
    size_t lo = 0, hi = s->n_schemata;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(s->schemata[mid]->name, parent);
        if (c == 0) return true;
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return false;
}

const lh_prop *lh_schema_prop(const lh_schema *s, const char *name)
{
    if (!s || !name) return NULL;
    size_t lo = 0, hi = s->n_props;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(s->props[mid]->name, name);
        if (c == 0) return s->props[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

lh_status lh_model_common_schema(const lh_model *m, const lh_schema *a, const lh_schema *b,
                                 const lh_schema **out, lh_error *err)
{
    (void)m;
    *out = NULL;
    if (!a) a = b;
    if (!b) b = a;
    if (!a) return lh_error_set(err, LH_ERR_INVALID, "invalid schema");
    if (lh_schema_is_a(a, b->name)) *out = a;
    else if (lh_schema_is_a(b, a->name)) *out = b;
    else
        return lh_error_set(err, LH_ERR_INVALID, "no common schema: %s and %s", a->name,
                            b->name);
    return LH_OK;
}

const lh_schema *lh_model_merge_schema(const lh_model *m, const lh_schema *a,
                                       const lh_schema *b)
{
    const lh_schema *out;
    if (!a || !b) return NULL;
    if (lh_model_common_schema(m, a, b, &out, NULL) == LH_OK) return out;
    const lh_schema *best = NULL;
    for (size_t i = 0; i < a->n_schemata; i++) {
        const lh_schema *c = a->schemata[i];
        if (c == a || c == b || !lh_schema_is_a(b, c->name)) continue;
        if (!best || c->n_extends > best->n_extends) best = c;
    }
    return best;
}

lh_status lh_model_prop_type(const lh_model *m, const char *schema, const char *prop,
                             const char **type, lh_error *err)
{
    *type = NULL;
    if (prop && !strcmp(prop, "id")) {
        *type = "id";
        return LH_OK;
    }
    const lh_schema *s = lh_model_schema(m, schema);
    if (!s) return lh_error_set(err, LH_ERR_INVALID, "schema: unknown schema %s", schema ? schema : "(null)");
    const lh_prop *p = lh_schema_prop(s, prop);
    if (!p)
        return lh_error_set(err, LH_ERR_INVALID, "prop: unknown property %s:%s", s->name,
                            prop ? prop : "(null)");
    *type = p->type;
    return LH_OK;
}
