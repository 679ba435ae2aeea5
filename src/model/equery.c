/* Entity filters in the Aleph param grammar (equery.h). */
#include "lh/model/equery.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lh/core/buf.h"
#include "lh/core/mem.h"
#include "lh/core/str.h"

typedef enum field_kind {
    F_SCHEMA, F_SCHEMATA, F_DATASET, F_ID, F_CANONICAL_ID, F_PROP, F_GROUP
} field_kind;
typedef enum op { OP_EQ, OP_GTE, OP_GT, OP_LTE, OP_LT, OP_LIKE, OP_ILIKE, OP_STARTS, OP_ENDS } op;
typedef enum mode { M_FILTER, M_EXCLUDE, M_EMPTY } mode;

static const char *const OP_NAMES[] = {"", "gte", "gt", "lte", "lt", "like", "ilike", "startswith",
                                       "endswith"};

typedef struct leaf {
    mode mode;
    op op;
    field_kind kind;
    char *field;   /* property name, or the group's property type */
    lh_strlist values; /* OP_EQ: any of them; else one */
    int bound_set; /* leaves sharing it hold of one row together; -1: none */
} leaf;

struct lh_equery {
    const lh_model *m;
    leaf *leaves;
    size_t n;
    lh_strlist schemata; /* pushdown: names of a positive schema/schemata leaf */
    bool has_schemata;
};

static void leaf_free(leaf *l)
{
    free(l->field);
    lh_strlist_free(&l->values);
}

void lh_equery_free(lh_equery *q)
{
    if (!q) return;
    for (size_t i = 0; i < q->n; i++) leaf_free(&q->leaves[i]);
    free(q->leaves);
    lh_strlist_free(&q->schemata);
    free(q);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Python's urllib.parse.unquote: %XX decoded, a malformed escape kept as
 * it is, `+` kept. */
static char *unquote(const char *s, size_t n)
{
    lh_buf b = LH_BUF_INIT;
    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (s[i] == '%' && i + 2 < n && (hi = hexval(s[i + 1])) >= 0 &&
            (lo = hexval(s[i + 2])) >= 0) {
            lh_buf_append_byte(&b, (char)(hi * 16 + lo));
            i += 2;
        } else {
            lh_buf_append_byte(&b, s[i]);
        }
    }
    return lh_buf_detach(&b, NULL);
}

static const char *const REFUSED[] = {"sort", "limit", "offset", "facet", "facet_sort", "select"};

/* The field of a filter key: its kind and, for properties and groups, the
 * property name or the group's type. */
static lh_status resolve_field(const lh_model *m, const char *key, const char *field,
                               field_kind *kind, char **name, lh_error *err)
{
    static const struct {
        const char *name;
        field_kind kind;
    } META[] = {
        /* the reference's meta fields, with Aleph's aliases */
        {"id", F_ID},
        {"_id", F_ID},
        {"entity_id", F_ID},
        {"canonical_id", F_CANONICAL_ID},
        {"dataset", F_DATASET},
        {"datasets", F_DATASET},
        {"collection_id", F_DATASET},
        {"collections", F_DATASET},
        {"schema", F_SCHEMA},
        {"schemata", F_SCHEMATA},
    };
    *name = NULL;
    for (size_t i = 0; i < sizeof META / sizeof *META; i++)
        if (strcmp(field, META[i].name) == 0) {
            *kind = META[i].kind;
            return LH_OK;
        }
    if (lh_str_startswith(field, "properties.")) {
        const char *prop = field + strlen("properties.");
        for (size_t i = 0; i < lh_model_schema_count(m); i++)
            if (lh_schema_prop(lh_model_schema_at(m, i), prop)) {
                *kind = F_PROP;
                *name = lh_strdup(prop);
                return LH_OK;
            }
        return lh_error_set(err, LH_ERR_INVALID, "query: `%s`: no schema has a property `%s`",
                            key, prop);
    }
    if (lh_str_startswith(field, "group.")) {
        const char *type = lh_model_group_type(m, field + strlen("group."));
        if (!type)
            return lh_error_set(err, LH_ERR_INVALID,
                                "query: `%s`: no property type has the group `%s`", key,
                                field + strlen("group."));
        *kind = F_GROUP;
        *name = lh_strdup(type);
        return LH_OK;
    }
    if (lh_str_startswith(field, "context.") || strcmp(field, "year") == 0)
        return lh_error_set(err, LH_ERR_INVALID, "query: `%s`: `%s` filters are not supported here",
                            key, field);
    return lh_error_set(err, LH_ERR_INVALID,
                        "query: `%s`: unknown field `%s` (expected properties.NAME, group.NAME, id, "
                        "entity_id, canonical_id, dataset, schema or schemata)", key, field);
}

/* A schema leaf compared for equality, and every schemata leaf, names
 * schemata of the model (as the reference checks them). */
static lh_status check_schema_names(const lh_model *m, const char *key, const leaf *l,
                                    lh_error *err)
{
    if (l->kind == F_SCHEMATA && l->op != OP_EQ)
        return lh_error_set(err, LH_ERR_INVALID, "query: `%s`: schemata takes names only", key);
    if ((l->kind != F_SCHEMA && l->kind != F_SCHEMATA) || l->op != OP_EQ) return LH_OK;
    for (size_t i = 0; i < l->values.len; i++)
        if (!lh_model_schema(m, l->values.items[i]))
            return lh_error_set(err, LH_ERR_INVALID, "query: `%s`: unknown schema `%s`", key,
                                l->values.items[i]);
    return LH_OK;
}

/* The mode a filter key starts with, and *rest after it; false when the
 * key is not a filter. */
static bool key_mode(const char *key, mode *m, const char **rest)
{
    static const struct {
        const char *prefix;
        mode mode;
    } MODES[] = {{"filter:", M_FILTER}, {"exclude:", M_EXCLUDE}, {"empty:", M_EMPTY}};
    for (size_t i = 0; i < sizeof MODES / sizeof *MODES; i++)
        if (lh_str_startswith(key, MODES[i].prefix)) {
            *m = MODES[i].mode;
            *rest = key + strlen(MODES[i].prefix);
            return true;
        }
    return false;
}

/* One filter `key` (its mode, and rest after the mode's prefix) with its
 * values (in order of appearance) into a leaf. */
static lh_status parse_leaf(lh_equery *q, const char *key, mode m, const char *rest,
                            const lh_strlist *values, leaf *l, lh_error *err)
{
    memset(l, 0, sizeof *l);
    lh_strlist_init(&l->values);
    l->bound_set = -1;
    l->mode = m;
    for (int o = OP_GTE; o <= OP_ENDS; o++) {
        size_t k = strlen(OP_NAMES[o]);
        if (strncmp(rest, OP_NAMES[o], k) == 0 && rest[k] == ':') {
            l->op = (op)o;
            rest += k + 1;
            break;
        }
    }
    LH_TRY(resolve_field(q->m, key, rest, &l->kind, &l->field, err));
    for (size_t i = 0; i < values->len; i++)
        if (l->op == OP_EQ || i == 0) lh_strlist_push(&l->values, values->items[i]);
    if (l->mode == M_EMPTY && l->kind != F_PROP && l->kind != F_GROUP)
        return lh_error_set(err, LH_ERR_INVALID,
                            "query: `%s`: empty: takes a property or a group here", key);
    LH_TRY(check_schema_names(q->m, key, l, err));
    /* ASCII case folding only: the reference lowers Unicode */
    if (l->op == OP_ILIKE)
        for (const char *c = l->values.items[0]; *c; c++)
            if ((unsigned char)*c >= 0x80)
                return lh_error_set(err, LH_ERR_INVALID,
                                    "query: `%s`: ilike takes ASCII text only here", key);
    return LH_OK;
}

/* Pushdown: the rows' schemata of a positive schema or schemata leaf. */
static void note_schemata(lh_equery *q, const leaf *l)
{
    if (q->has_schemata || l->mode != M_FILTER || l->op != OP_EQ) return;
    if (l->kind != F_SCHEMA && l->kind != F_SCHEMATA) return;
    q->has_schemata = true;
    for (size_t i = 0; i < l->values.len; i++) {
        const lh_schema *s = lh_model_schema(q->m, l->values.items[i]);
        lh_strlist_push(&q->schemata, s->name);
        if (l->kind != F_SCHEMATA) continue;
        for (size_t d = 0; d < s->n_descendants; d++)
            if (!s->descendants[d]->abstract) lh_strlist_push(&q->schemata, s->descendants[d]->name);
    }
}

static bool is_bound(op o)
{
    return o == OP_GTE || o == OP_GT || o == OP_LTE || o == OP_LT;
}

/* Whether b is a positive leaf on a's property or group. */
static bool positive_on_field(const leaf *a, const leaf *b)
{
    return b->mode == M_FILTER && b->kind == a->kind && strcmp(b->field, a->field) == 0;
}

/* ftmq's co-reference: positive bounds on one property or group, and no
 * other positive leaf on it, hold of one row together. */
static void group_bounds(lh_equery *q)
{
    for (size_t i = 0; i < q->n; i++) {
        leaf *a = &q->leaves[i];
        if (a->mode != M_FILTER || (a->kind != F_PROP && a->kind != F_GROUP) || a->bound_set >= 0)
            continue;
        bool all_bounds = true;
        size_t same = 0;
        for (size_t j = 0; j < q->n; j++) {
            if (!positive_on_field(a, &q->leaves[j])) continue;
            same++;
            all_bounds = all_bounds && is_bound(q->leaves[j].op);
        }
        if (same < 2 || !all_bounds) continue;
        for (size_t j = 0; j < q->n; j++)
            if (positive_on_field(a, &q->leaves[j])) q->leaves[j].bound_set = (int)i;
    }
}

/* The query string split into keys, each with its values in order. */
typedef struct params {
    lh_strlist keys;
    lh_strlist *values;
} params;

static void params_free(params *p)
{
    for (size_t i = 0; i < p->keys.len; i++) lh_strlist_free(&p->values[i]);
    free(p->values);
    lh_strlist_free(&p->keys);
}

static void params_split(const char *text, params *p)
{
    lh_strlist_init(&p->keys);
    p->values = NULL;
    for (const char *s = text; *s;) {
        const char *end = strchr(s, '&');
        size_t len = end ? (size_t)(end - s) : strlen(s);
        if (len) {
            const char *eq = memchr(s, '=', len);
            size_t klen = eq ? (size_t)(eq - s) : len;
            char *key = lh_strndup(s, klen);
            char *val = eq ? unquote(eq + 1, len - klen - 1) : lh_strdup("");
            size_t k = 0;
            while (k < p->keys.len && strcmp(p->keys.items[k], key) != 0) k++;
            if (k == p->keys.len) {
                lh_strlist_push_owned(&p->keys, key);
                p->values = lh_realloc(p->values, p->keys.len * sizeof *p->values);
                lh_strlist_init(&p->values[k]);
            } else {
                free(key);
            }
            lh_strlist_push_owned(&p->values[k], val);
        }
        s += len + (end ? 1 : 0);
    }
}

static lh_status refused_key(const char *key, lh_error *err)
{
    for (size_t i = 0; i < sizeof REFUSED / sizeof *REFUSED; i++)
        if (strcmp(key, REFUSED[i]) == 0)
            return lh_error_set(err, LH_ERR_INVALID,
                                "query: `%s` is not supported here (filters only: filter:, "
                                "exclude:, empty:)", key);
    if (lh_str_startswith(key, "metric:") || lh_str_startswith(key, "facet_size:"))
        return lh_error_set(err, LH_ERR_INVALID, "query: `%s`: aggregations are not supported here",
                            key);
    return lh_error_set(err, LH_ERR_INVALID,
                        "query: unknown parameter `%s` (expected filter:, exclude: or empty:)", key);
}

lh_status lh_equery_parse(const lh_model *m, const char *text, lh_equery **out, lh_error *err)
{
    *out = NULL;
    lh_equery *q = lh_calloc(1, sizeof *q);
    q->m = m;
    lh_strlist_init(&q->schemata);
    params p;
    params_split(text ? text : "", &p);
    q->leaves = lh_calloc(p.keys.len ? p.keys.len : 1, sizeof *q->leaves);
    lh_status rc = LH_OK;
    for (size_t i = 0; rc == LH_OK && i < p.keys.len; i++) {
        const char *key = p.keys.items[i], *rest;
        mode m;
        if (!key_mode(key, &m, &rest)) {
            rc = refused_key(key, err);
            break;
        }
        rc = parse_leaf(q, key, m, rest, &p.values[i], &q->leaves[q->n], err);
        q->n++; /* freed with the query either way */
        if (rc == LH_OK) note_schemata(q, &q->leaves[q->n - 1]);
    }
    params_free(&p);
    if (rc != LH_OK) {
        lh_equery_free(q);
        return rc;
    }
    group_bounds(q);
    *out = q;
    return LH_OK;
}

/* ---- evaluation ---- */

static bool contains_fold(const char *hay, const char *needle, bool fold)
{
    if (!fold) return strstr(hay, needle) != NULL;
    size_t n = strlen(needle);
    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0) return true;
    return !n;
}

static bool value_ok(const leaf *l, const char *v)
{
    if (!v) return false;
    const char *want = l->values.len ? l->values.items[0] : "";
    switch (l->op) {
    case OP_EQ:
        for (size_t i = 0; i < l->values.len; i++)
            if (strcmp(v, l->values.items[i]) == 0) return true;
        return false;
    case OP_GTE: return strcmp(v, want) >= 0;
    case OP_GT: return strcmp(v, want) > 0;
    case OP_LTE: return strcmp(v, want) <= 0;
    case OP_LT: return strcmp(v, want) < 0;
    case OP_LIKE: return contains_fold(v, want, false);
    case OP_ILIKE: return contains_fold(v, want, true);
    case OP_STARTS: return lh_str_startswith(v, want);
    case OP_ENDS: {
        size_t a = strlen(v), b = strlen(want);
        return a >= b && memcmp(v + a - b, want, b) == 0;
    }
    }
    return false;
}

static bool schema_in(const lh_equery *q, const leaf *l, const char *schema)
{
    if (l->kind == F_SCHEMA || l->op != OP_EQ) return value_ok(l, schema);
    const lh_schema *s = lh_model_schema(q->m, schema);
    for (size_t i = 0; i < l->values.len; i++) {
        if (strcmp(schema, l->values.items[i]) == 0) return true;
        if (s && !s->abstract && lh_schema_is_a(s, l->values.items[i])) return true;
    }
    return false;
}

/* Whether row r is one of the leaf's field (its property or group). */
static bool of_field(const leaf *l, const lh_statement *r)
{
    if (l->kind == F_PROP) return strcmp(r->prop, l->field) == 0;
    return r->prop_type && strcmp(r->prop_type, l->field) == 0;
}

static bool row_ok(const lh_equery *q, const leaf *l, const lh_statement *r)
{
    switch (l->kind) {
    case F_SCHEMA:
    case F_SCHEMATA: return schema_in(q, l, r->schema);
    case F_DATASET: return value_ok(l, r->dataset);
    case F_ID: return value_ok(l, r->entity_id);
    case F_CANONICAL_ID: return value_ok(l, r->canonical_id);
    case F_PROP:
    case F_GROUP: return of_field(l, r) && (l->mode == M_EMPTY || value_ok(l, r->value));
    }
    return false;
}

bool lh_equery_match(const lh_equery *q, const lh_statement *rows, size_t n)
{
    for (size_t i = 0; i < q->n; i++) {
        const leaf *l = &q->leaves[i];
        if (l->bound_set >= 0 && l->bound_set != (int)i) continue; /* checked with its set */
        bool any = false;
        for (size_t r = 0; r < n && !any; r++) {
            if (l->bound_set < 0) {
                any = row_ok(q, l, &rows[r]);
                continue;
            }
            any = true;
            for (size_t j = 0; j < q->n && any; j++)
                if (q->leaves[j].bound_set == (int)i) any = row_ok(q, &q->leaves[j], &rows[r]);
        }
        if (l->mode == M_FILTER ? !any : any) return false;
    }
    return true;
}

bool lh_equery_match_cb(const void *ctx, const lh_statement *rows, size_t n)
{
    return lh_equery_match(ctx, rows, n);
}

bool lh_equery_value_row(const lh_equery *q, const char **prop, const char **prop_type,
                         const char **value)
{
    *prop = *prop_type = *value = NULL;
    for (size_t i = 0; i < q->n; i++) {
        const leaf *l = &q->leaves[i];
        if (l->mode != M_FILTER || l->op != OP_EQ || l->values.len != 1) continue;
        if (l->kind != F_PROP && l->kind != F_GROUP) continue;
        *(l->kind == F_PROP ? prop : prop_type) = l->field;
        *value = l->values.items[0];
        return true;
    }
    return false;
}

const char *const *lh_equery_schemata(const lh_equery *q, size_t *n)
{
    *n = q->schemata.len;
    return q->has_schemata ? (const char *const *)q->schemata.items : NULL;
}
