/* Explode one FtM entity JSON object into statements, following the
 * reference's safe import path (make_entity -> Namespace().apply ->
 * StatementEntity -> EntityBuffer.add_entity). See lh/model/entity.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "lh/core/hash.h"
#include "lh/core/json.h"
#include "lh/core/mem.h"
#include "lh/core/str.h"
#include "lh/core/timeutil.h"
#include "lh/model/entity.h"
#include "lh/model/keys.h"

typedef struct pending {
    const lh_prop *prop;
    const char *value;
    char id[LH_SHA1_HEX_LEN + 1];
} pending;

typedef struct explode_ctx {
    const lh_model *m;
    const lh_explode_opts *o;
    const lh_schema *schema;
    char *entity_id;
    lh_arena *arena; /* scratch for this entity */
    pending *rows;
    size_t n, cap;
    lh_error *err;
} explode_ctx;

/* Python's str.strip() for the characters an id could carry around it. */
static void strip_ws(const char **s, size_t *n)
{
    static const char ws[] = " \t\n\v\f\r\x1c\x1d\x1e\x1f";
    while (*n && memchr(ws, (*s)[0], sizeof ws - 1)) (*s)++, (*n)--;
    while (*n && memchr(ws, (*s)[*n - 1], sizeof ws - 1)) (*n)--;
}

static bool is_alnum(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* followthemoney EntityType.REGEX: ^[0-9a-zA-Z]([0-9a-zA-Z.-]*[0-9a-zA-Z])?$ */
static bool valid_entity_id(const char *s, size_t n)
{
    if (n == 0 || !is_alnum(s[0]) || !is_alnum(s[n - 1])) return false;
    for (size_t i = 1; i + 1 < n; i++)
        if (!is_alnum(s[i]) && s[i] != '.' && s[i] != '-') return false;
    return true;
}

/* Namespace().sign(): trim, validate, drop the signature after the last '.'.
 * NULL if the id is not valid. */
static char *plain_id(lh_arena *a, const char *s, size_t n)
{
    strip_ws(&s, &n);
    if (!valid_entity_id(s, n)) return NULL;
    const char *dot = NULL;
    for (size_t i = 0; i < n; i++)
        if (s[i] == '.') dot = s + i;
    if (dot) n = (size_t)(dot - s);
    return lh_arena_strndup(a, s, n);
}

/* Rows are collected with repeats; explode() drops them by statement id. */
static void add_row(explode_ctx *c, const lh_prop *p, const char *value)
{
    c->rows = lh_grow(c->rows, &c->cap, c->n + 1, sizeof *c->rows);
    pending *r = &c->rows[c->n++];
    r->prop = p;
    r->value = value;
    lh_statement_key(c->o->dataset, c->entity_id, p->name, value, NULL, false, r->id);
}

/* One raw value of a property: the reference fails on anything but a string
 * in a property list, so do we. (A NUL inside one is refused by
 * lh_json_parse already, naming the field.) */
static lh_status check_string(explode_ctx *c, const lh_prop *p, json_t *v)
{
    if (!json_is_string(v))
        return lh_error_set(c->err, LH_ERR_INVALID, "properties.%s: expected string values",
                            p->name);
    return LH_OK;
}

/* Plain values go in as they are; empty strings are dropped. */
static lh_status add_value(explode_ctx *c, const lh_prop *p, json_t *v)
{
    LH_TRY(check_string(c, p, v));
    if (json_string_length(v) == 0) return LH_OK;
    add_row(c, p, lh_arena_strdup(c->arena, json_string_value(v)));
    return LH_OK;
}

/* Entity references: get_entity_id + Namespace().sign + the entity type's
 * clean_text (pattern, no self-reference). Invalid references are dropped. */
static lh_status add_ref(explode_ctx *c, const lh_prop *p, json_t *v)
{
    LH_TRY(check_string(c, p, v));
    const char *s = json_string_value(v);
    char *ref = plain_id(c->arena, s, strlen(s));
    if (!ref || !valid_entity_id(ref, strlen(ref))) return LH_OK;
    if (p->stub)
        return lh_error_set(c->err, LH_ERR_INVALID,
                            "properties.%s: stub property (%s) cannot be written", p->name,
                            p->qname);
    if (!strcmp(ref, c->entity_id))
        return lh_error_set(c->err, LH_ERR_INVALID, "properties.%s: self-relationship (%s): %s",
                            p->name, c->schema->name, ref);
    add_row(c, p, ref);
    return LH_OK;
}

/* banal ensure_list + single_string: a string, or a list of exactly one;
 * NULL when absent, null or a list of another length. The reference takes
 * str() of anything else (a null in a list becomes "None"): refused. */
static lh_status single_string(explode_ctx *c, json_t *obj, const char *key, const char **out)
{
    *out = NULL;
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) return LH_OK;
    if (json_is_array(v)) {
        if (json_array_size(v) != 1) return LH_OK;
        v = json_array_get(v, 0);
    }
    if (!json_is_string(v))
        return lh_error_set(c->err, LH_ERR_INVALID, "%s: expected a string", key);
    *out = json_string_value(v);
    return LH_OK;
}

lh_status lh_origin_check(const char *origin, lh_error *err)
{
    return lh_name_check(origin, "origin", true, err);
}

/* (id, position) pairs: sorting them finds repeats in n log n. */
typedef struct id_pos {
    const char *id;
    size_t pos;
} id_pos;

static int cmp_id_pos(const void *a, const void *b)
{
    const id_pos *x = a, *y = b;
    int c = strcmp(x->id, y->id);
    return c ? c : (x->pos > y->pos) - (x->pos < y->pos);
}

static lh_status explode(explode_ctx *c, json_t *obj, lh_stmt_batch *batch)
{
    const lh_explode_opts *o = c->o;
    json_t *jid = json_object_get(obj, "id");
    const char *raw_id = NULL;
    char num[64];
    if (json_is_string(jid)) raw_id = json_string_value(jid);
    else if (json_is_integer(jid) && json_integer_value(jid) != 0) {
        snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(jid));
        raw_id = num;
    } else if (jid && !json_is_null(jid) && !json_is_false(jid) && !json_is_integer(jid))
        return lh_error_set(c->err, LH_ERR_INVALID, "id: expected a string");
    if (!raw_id || !*raw_id) return lh_error_set(c->err, LH_ERR_INVALID, "id: missing");
    json_t *jschema = json_object_get(obj, "schema");
    if (!jschema || json_is_null(jschema))
        return lh_error_set(c->err, LH_ERR_INVALID, "schema: missing");
    if (!json_is_string(jschema))
        return lh_error_set(c->err, LH_ERR_INVALID, "schema: expected a string");
    c->schema = lh_model_schema(c->m, json_string_value(jschema));
    if (!c->schema)
        return lh_error_set(c->err, LH_ERR_INVALID, "schema: unknown schema %s",
                            json_string_value(jschema));
    c->entity_id = plain_id(c->arena, raw_id, strlen(raw_id));
    if (!c->entity_id)
        return lh_error_set(c->err, LH_ERR_INVALID, "id: invalid entity id `%s`", raw_id);
    if (json_object_get(obj, "statements"))
        return lh_error_set(c->err, LH_ERR_INVALID,
                            "statements: embedded statements are not supported, import them as statements");

    json_t *props = json_object_get(obj, "properties");
    if (props && !json_is_null(props) && !json_is_object(props))
        return lh_error_set(c->err, LH_ERR_INVALID, "properties: expected an object");
    const char *pname;
    json_t *values;
    json_object_foreach(props, pname, values) {
        const lh_prop *p = lh_schema_prop(c->schema, pname);
        if (!p) {
            if (o->flags & LH_EXPLODE_SKIP_UNKNOWN) {
                lh_explode_skipped *sk = o->skipped;
                if (sk && !sk->properties++)
                    snprintf(sk->first, sizeof sk->first, "%s.%s", c->schema->name, pname);
                continue;
            }
            return lh_error_set(c->err, LH_ERR_INVALID, "properties.%s: unknown property of %s",
                                pname, c->schema->name);
        }
        if (!json_is_array(values))
            return lh_error_set(c->err, LH_ERR_INVALID, "properties.%s: expected a list", pname);
        bool ref = !strcmp(p->type, "entity");
        size_t i;
        json_t *v;
        json_array_foreach(values, i, v) LH_TRY(ref ? add_ref(c, p, v) : add_value(c, p, v));
    }

    /* Timestamps: the entity's last_change, else the caller's now (first
     * seen when the run started, if the caller says so). */
    int64_t seen = o->now, first = o->started ? o->started : o->now;
    json_t *lc = json_object_get(obj, "last_change");
    if (lc && !json_is_null(lc)) {
        if (!json_is_string(lc))
            return lh_error_set(c->err, LH_ERR_INVALID, "last_change: expected a string");
        if (json_string_length(lc)) {
            lh_error terr;
            if (lh_time_parse_iso(json_string_value(lc), json_string_length(lc), &seen, &terr) != LH_OK)
                return lh_error_set(c->err, LH_ERR_INVALID, "last_change: %s", terr.msg);
            first = seen;
        }
    }
    const char *origin = NULL, *fragment = NULL, *role = NULL;
    if (!o->override_origin) LH_TRY(single_string(c, obj, "origin", &origin));
    /* an empty origin is refused, as the reference's (an empty fragment or
     * role is none) */
    if (!origin) origin = o->origin ? o->origin : LH_DEFAULT_ORIGIN;
    if (lh_origin_check(origin, c->err) != LH_OK) return c->err->code;
    LH_TRY(single_string(c, obj, "fragment", &fragment));
    LH_TRY(single_string(c, obj, "role", &role));
    if (!role || !*role) role = o->role;

    /* Repeated (prop, value) pairs share an id: keep the first of each. */
    bool *dup = lh_arena_alloc(c->arena, (c->n ? c->n : 1) * sizeof *dup);
    id_pos *order = lh_arena_alloc(c->arena, (c->n ? c->n : 1) * sizeof *order);
    for (size_t i = 0; i < c->n; i++) {
        order[i] = (id_pos){c->rows[i].id, i};
        dup[i] = false;
    }
    if (c->n) qsort(order, c->n, sizeof *order, cmp_id_pos);
    for (size_t i = 1; i < c->n; i++) dup[order[i].pos] = !strcmp(order[i].id, order[i - 1].id);
    /* Checksum statement over the sorted distinct ids. */
    lh_sha1_ctx *h = lh_sha1_new();
    lh_sha1_update(h, c->schema->name, strlen(c->schema->name));
    for (size_t i = 0; i < c->n; i++)
        if (!dup[order[i].pos]) lh_sha1_update(h, order[i].id, LH_SHA1_HEX_LEN);
    char checksum[LH_SHA1_HEX_LEN + 1], base_id[LH_SHA1_HEX_LEN + 1];
    lh_sha1_final_hex(h, checksum);
    lh_sha1_free(h);
    lh_statement_key(o->dataset, c->entity_id, LH_BASE_ID, checksum, NULL, false, base_id);

    lh_statement s = {0};
    s.entity_id = c->entity_id;
    s.canonical_id = c->entity_id;
    s.dataset = o->dataset;
    s.bucket = lh_schema_bucket(c->schema);
    s.origin = origin;
    s.schema = c->schema->name;
    s.first_seen = first;
    s.last_seen = seen;
    s.fragment = fragment ? fragment : "";
    s.role = role;
    s.deleted_at = LH_TS_NULL;
    for (size_t i = 0; i < c->n; i++) {
        if (dup[i]) continue;
        s.id = c->rows[i].id;
        s.prop = c->rows[i].prop->name;
        s.prop_type = c->rows[i].prop->type;
        s.value = c->rows[i].value;
        lh_stmt_batch_push(batch, &s);
    }
    s.id = base_id;
    s.prop = LH_BASE_ID;
    s.prop_type = LH_BASE_ID;
    s.value = checksum;
    lh_stmt_batch_push(batch, &s);
    return LH_OK;
}

lh_status lh_entity_explode(const lh_model *m, const char *text, size_t n,
                            const lh_explode_opts *opts, lh_stmt_batch *batch, lh_error *err)
{
    if (!opts || !opts->dataset || !*opts->dataset)
        return lh_error_set(err, LH_ERR_INVALID, "explode: no target dataset");
    json_t *obj = lh_json_parse(text, n, 0, err);
    if (!obj) return LH_ERR_INVALID;
    if (!json_is_object(obj)) {
        json_decref(obj);
        return lh_error_set(err, LH_ERR_INVALID, "expected a JSON object");
    }
    lh_arena arena;
    lh_arena_init(&arena, 16 * 1024);
    explode_ctx c = {.m = m, .o = opts, .arena = &arena, .err = err};
    lh_status rc = explode(&c, obj, batch);
    free(c.rows);
    lh_arena_free(&arena);
    json_decref(obj);
    return rc;
}
