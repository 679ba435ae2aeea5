/* Entity filters as ftmq's Expr trees (equery.h): leaves, the tree, its
 * evaluation over one entity's rows, pushdowns and the JSON form. */
#include "lh/model/equery.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "equery_int.h"
#include "lh/core/buf.h"
#include "lh/core/str.h"
#include "lh/core/mem.h"

/* ---- leaves ---- */

void eq_leaf_free(eq_leaf *l)
{
    if (!l) return;
    free(l->key);
    free(l->field);
    lh_strlist_free(&l->values);
    free(l);
}

/* The reference's statement-table columns `context.NAME` names: the text
 * ones by their place in a row, `external` as EXTERNAL. Its timestamps
 * compare as DuckDB casts text in the session's time zone: refused. */
#define EXTERNAL SIZE_MAX
static const struct {
    const char *name;
    size_t offset;
} CONTEXT[] = {
    {"shard", offsetof(lh_statement, shard)},
    {"id", offsetof(lh_statement, id)},
    {"entity_id", offsetof(lh_statement, entity_id)},
    {"dataset", offsetof(lh_statement, dataset)},
    {"bucket", offsetof(lh_statement, bucket)},
    {"origin", offsetof(lh_statement, origin)},
    {"source", offsetof(lh_statement, source)},
    {"schema", offsetof(lh_statement, schema)},
    {"prop", offsetof(lh_statement, prop)},
    {"prop_type", offsetof(lh_statement, prop_type)},
    {"value", offsetof(lh_statement, value)},
    {"original_value", offsetof(lh_statement, original_value)},
    {"lang", offsetof(lh_statement, lang)},
    {"fragment", offsetof(lh_statement, fragment)},
    {"role", offsetof(lh_statement, role)},
    {"external", EXTERNAL},
};

static lh_status resolve_context(const char *ctx, const char *name, eq_leaf *l, lh_error *err)
{
    for (size_t i = 0; i < sizeof CONTEXT / sizeof *CONTEXT; i++)
        if (strcmp(name, CONTEXT[i].name) == 0) {
            l->kind = F_CONTEXT;
            l->column = CONTEXT[i].offset;
            l->key = lh_strdup(name);
            return LH_OK;
        }
    if (!strcmp(name, "first_seen") || !strcmp(name, "last_seen") || !strcmp(name, "deleted_at"))
        return lh_error_set(err, LH_ERR_INVALID, "%s: `context.%s` filters are not supported here "
                            "(--changed-since filters by time)", ctx, name);
    return lh_error_set(err, LH_ERR_INVALID, "%s: unknown context column `%s`", ctx, name);
}

/* banal's as_bool, as the reference reads a value for a boolean column. */
static bool as_bool(const char *v)
{
    static const char *const TRUEISH[] = {"1", "yes", "y", "t", "true", "on", "enabled"};
    while (*v == ' ' || (*v >= '\t' && *v <= '\r')) v++;
    size_t n = strlen(v);
    while (n && (v[n - 1] == ' ' || (v[n - 1] >= '\t' && v[n - 1] <= '\r'))) n--;
    for (size_t i = 0; i < sizeof TRUEISH / sizeof *TRUEISH; i++)
        if (strlen(TRUEISH[i]) == n && strncasecmp(v, TRUEISH[i], n) == 0) return true;
    return false;
}

bool eq_prop_known(const lh_model *m, const char *prop, bool *numeric)
{
    bool known = false;
    if (numeric) *numeric = false;
    for (size_t i = 0; i < lh_model_schema_count(m); i++) {
        const lh_prop *p = lh_schema_prop(lh_model_schema_at(m, i), prop);
        if (!p) continue;
        known = true;
        if (!numeric) break;
        *numeric = *numeric || strcmp(p->type, "number") == 0;
    }
    return known;
}

/* The field of a leaf: its kind, ftmq's key and, for properties and
 * groups, the property name or the group's type. */
static lh_status resolve_field(const lh_model *m, const char *ctx, const char *field,
                               bool bare_props, eq_leaf *l, lh_error *err)
{
    static const struct {
        const char *name, *key;
        eq_field kind;
    } META[] = {
        /* the reference's meta fields, with Aleph's aliases */
        {"id", "id", F_ID},
        {"_id", "id", F_ID},
        {"entity_id", "entity_id", F_ENTITY_ID},
        {"canonical_id", "canonical_id", F_CANONICAL_ID},
        {"dataset", "dataset", F_DATASET},
        {"datasets", "dataset", F_DATASET},
        {"collection_id", "dataset", F_DATASET},
        {"collections", "dataset", F_DATASET},
        {"schema", "schema", F_SCHEMA},
        {"schemata", "schemata", F_SCHEMATA},
    };
    for (size_t i = 0; i < sizeof META / sizeof *META; i++)
        if (strcmp(field, META[i].name) == 0) {
            l->kind = META[i].kind;
            l->key = lh_strdup(META[i].key);
            return LH_OK;
        }
    if (lh_str_startswith(field, "group.")) {
        const char *group = field + strlen("group.");
        const char *type = lh_model_group_type(m, group);
        if (!type)
            return lh_error_set(err, LH_ERR_INVALID, "%s: no property type has the group `%s`",
                                ctx, group);
        l->kind = F_GROUP;
        l->key = lh_strdup(group);
        l->field = lh_strdup(type);
        return LH_OK;
    }
    if (lh_str_startswith(field, "context."))
        return resolve_context(ctx, field + strlen("context."), l, err);
    if (strcmp(field, "year") == 0)
        return lh_error_set(err, LH_ERR_INVALID, "%s: `%s` filters are not supported here", ctx,
                            field);
    const char *prop = lh_str_startswith(field, "properties.") ? field + strlen("properties.")
                       : bare_props ? field : NULL;
    if (!prop)
        return lh_error_set(err, LH_ERR_INVALID,
                            "%s: unknown field `%s` (expected properties.NAME, group.NAME, id, "
                            "entity_id, canonical_id, dataset, schema or schemata)", ctx, field);
    if (!eq_prop_known(m, prop, NULL))
        return lh_error_set(err, LH_ERR_INVALID, "%s: no schema has a property `%s`", ctx, prop);
    l->kind = F_PROP;
    l->key = lh_strdup(prop);
    l->field = lh_strdup(prop);
    return LH_OK;
}

/* The reference's checks of a leaf's comparator and values. */
static lh_status check_leaf(const lh_model *m, const char *ctx, const eq_leaf *l, lh_error *err)
{
    bool names = l->op == OP_EQ || l->op == OP_NE;
    if (l->kind == F_SCHEMATA && !names)
        return lh_error_set(err, LH_ERR_INVALID, "%s: schemata takes names only", ctx);
    if ((l->kind == F_SCHEMA || l->kind == F_SCHEMATA) && names)
        for (size_t i = 0; i < l->values.len; i++)
            if (!lh_model_schema(m, l->values.items[i]))
                return lh_error_set(err, LH_ERR_INVALID, "%s: unknown schema `%s`", ctx,
                                    l->values.items[i]);
    if (l->kind == F_CONTEXT && l->column == EXTERNAL && !names)
        return lh_error_set(err, LH_ERR_INVALID, "%s: `context.external` compares for equality only",
                            ctx);
    bool emptiable = l->kind == F_PROP || l->kind == F_GROUP ||
                     (l->kind == F_CONTEXT && l->column != EXTERNAL);
    if (l->op == OP_EMPTY && !emptiable)
        return lh_error_set(err, LH_ERR_INVALID,
                            "%s: empty: takes a property, a group or a context column here", ctx);
    /* ASCII case folding only: the reference lowers Unicode */
    if (l->op == OP_ILIKE)
        for (const char *c = l->values.items[0]; *c; c++)
            if ((unsigned char)*c >= 0x80)
                return lh_error_set(err, LH_ERR_INVALID, "%s: ilike takes ASCII text only here",
                                    ctx);
    return LH_OK;
}

lh_status eq_leaf_new(const lh_model *m, const char *ctx, const char *field, bool bare_props,
                      eq_op op, bool list, const lh_strlist *values, eq_leaf **out,
                      lh_error *err)
{
    eq_leaf *l = lh_calloc(1, sizeof *l);
    l->op = op;
    l->list = list;
    lh_strlist_init(&l->values);
    for (size_t i = 0; i < values->len; i++) lh_strlist_push(&l->values, values->items[i]);
    if (list) { /* a set: sorted, each once (one_of searches it) */
        lh_strlist_sort(&l->values);
        size_t k = 0;
        for (size_t i = 0; i < l->values.len; i++) {
            if (k && strcmp(l->values.items[k - 1], l->values.items[i]) == 0) free(l->values.items[i]);
            else l->values.items[k++] = l->values.items[i];
        }
        l->values.len = k;
    }
    lh_status rc = resolve_field(m, ctx, field, bare_props, l, err);
    if (rc == LH_OK) rc = check_leaf(m, ctx, l, err);
    if (rc != LH_OK) {
        eq_leaf_free(l);
        l = NULL;
    }
    *out = l;
    return rc;
}

/* ---- the tree ---- */

void eq_node_free(eq_node *n)
{
    if (!n) return;
    for (size_t i = 0; i < n->n; i++) {
        eq_leaf_free(n->items[i].leaf);
        eq_node_free(n->items[i].node);
    }
    free(n->items);
    free(n->bound_set);
    free(n);
}

static char *item_text(const eq_item *it);

static const char *const OP_NAMES[] = {"eq", "not", "gte", "gt", "lte", "lt", "like", "ilike",
                                       "startswith", "endswith", "null"};
static const char FAMILY[] = {'M', 'M', 'M', 'M', 'M', 'M', 'P', 'G', 'C'};

static void leaf_json(const eq_leaf *l, lh_buf *out)
{
    const char *op = l->list ? (l->op == OP_EQ ? "in" : "not_in") : OP_NAMES[l->op];
    lh_buf_printf(out, "{\"leaf\":{\"t\":\"%c\",\"f\":", FAMILY[l->kind]);
    lh_buf_append_json_str(out, l->key, strlen(l->key));
    lh_buf_printf(out, ",\"op\":\"%s\",\"v\":", op);
    if (l->op == OP_EMPTY) {
        lh_buf_append(out, "true", 4);
    } else if (l->list) {
        lh_buf_append_byte(out, '[');
        for (size_t i = 0; i < l->values.len; i++) {
            if (i) lh_buf_append_byte(out, ',');
            lh_buf_append_json_str(out, l->values.items[i], strlen(l->values.items[i]));
        }
        lh_buf_append_byte(out, ']');
    } else {
        lh_buf_append_json_str(out, l->values.items[0], strlen(l->values.items[0]));
    }
    lh_buf_append(out, "}}", 2);
}

/* ftmq's to_dict, children in byte order of their JSON (ftmq orders them
 * by hash: a canonical order either way). */
static void node_json(const eq_node *n, lh_buf *out)
{
    char **kids = lh_calloc(n->n ? n->n : 1, sizeof *kids);
    for (size_t i = 0; i < n->n; i++) kids[i] = item_text(&n->items[i]);
    qsort(kids, n->n, sizeof *kids, lh_str_ptr_cmp);
    lh_buf_printf(out, "{\"%s\":[", n->or ? "or" : "and");
    for (size_t i = 0; i < n->n; i++) {
        if (i) lh_buf_append_byte(out, ',');
        lh_buf_append(out, kids[i], strlen(kids[i]));
        free(kids[i]);
    }
    free(kids);
    lh_buf_append_byte(out, ']');
    if (n->negated) lh_buf_append(out, ",\"not\":true", 11);
    lh_buf_append_byte(out, '}');
}

/* A child as its JSON text, the form children are compared and ordered in. */
static char *item_text(const eq_item *it)
{
    lh_buf b = LH_BUF_INIT;
    if (it->leaf) leaf_json(it->leaf, &b);
    else node_json(it->node, &b);
    return lh_buf_detach(&b, NULL);
}

/* Append it to n unless an equal child is there (then it is freed). */
static void add_item(eq_node *n, eq_item it, lh_strlist *seen)
{
    char *text = item_text(&it);
    if (lh_strlist_contains(seen, text)) {
        free(text);
        eq_leaf_free(it.leaf);
        eq_node_free(it.node);
        return;
    }
    lh_strlist_push_owned(seen, text);
    n->items = lh_realloc(n->items, (n->n + 1) * sizeof *n->items);
    n->items[n->n++] = it;
}

eq_node *eq_node_new(bool or, eq_item *items, size_t n)
{
    if (!n) return NULL;
    eq_node *out = lh_calloc(1, sizeof *out);
    out->or = or;
    lh_strlist seen;
    lh_strlist_init(&seen);
    for (size_t i = 0; i < n; i++) {
        eq_node *c = items[i].node;
        if (c && !c->negated && c->or == or) {
            for (size_t j = 0; j < c->n; j++) add_item(out, c->items[j], &seen);
            c->n = 0;
            eq_node_free(c);
        } else {
            add_item(out, items[i], &seen);
        }
    }
    lh_strlist_free(&seen);
    return out;
}

eq_node *eq_combine(bool or, eq_item *items, size_t n)
{
    return n == 1 ? items[0].node : eq_node_new(or, items, n);
}

eq_node *eq_node_of_leaf(eq_leaf *l)
{
    eq_item it = {.leaf = l};
    return eq_node_new(false, &it, 1);
}

static bool is_bound(eq_op o)
{
    return o == OP_GTE || o == OP_GT || o == OP_LTE || o == OP_LT;
}

static bool same_field(const eq_leaf *a, const eq_leaf *b)
{
    return a->kind == b->kind && strcmp(a->key, b->key) == 0;
}

static bool row_scoped(const eq_leaf *l)
{
    /* an absence holds of the entity, not of a row */
    return (l->kind == F_DATASET || l->kind == F_CONTEXT) && l->op != OP_EMPTY;
}

/* Whether the AND node's leaves on a's field are several and all bounds
 * (then they hold of one row), or a is the only one (split: false). */
static bool field_joins(const eq_node *n, const eq_leaf *a, size_t *same)
{
    bool all_bounds = true;
    *same = 0;
    for (size_t j = 0; j < n->n; j++) {
        const eq_leaf *b = n->items[j].leaf;
        if (!b || !same_field(a, b)) continue;
        ++*same;
        all_bounds = all_bounds && is_bound(b->op);
    }
    return *same == 1 || all_bounds;
}

/* ftmq's co-reference in each AND node: bounds on one property or group
 * hold of one row together; so do all leaves on the statement row's own
 * columns (dataset, context.*) whose field is not split (several leaves
 * that are not all bounds each hold of some row of their own). */
static void group_bounds(eq_node *n)
{
    n->bound_set = lh_malloc((n->n ? n->n : 1) * sizeof *n->bound_set);
    for (size_t i = 0; i < n->n; i++) n->bound_set[i] = -1;
    int row_set = -1;
    for (size_t i = 0; i < n->n; i++) {
        if (n->items[i].node) {
            group_bounds(n->items[i].node);
            continue;
        }
        const eq_leaf *a = n->items[i].leaf;
        if (n->or || n->bound_set[i] >= 0) continue;
        size_t same;
        if (row_scoped(a)) {
            if (!field_joins(n, a, &same)) continue;
            if (row_set < 0) row_set = (int)i;
            n->bound_set[i] = row_set;
            continue;
        }
        if (a->kind != F_PROP && a->kind != F_GROUP) continue;
        if (!field_joins(n, a, &same) || same < 2) continue;
        for (size_t j = 0; j < n->n; j++)
            if (n->items[j].leaf && same_field(a, n->items[j].leaf)) n->bound_set[j] = (int)i;
    }
}

/* Pushdown: the rows' schemata of a positive schema or schemata leaf of
 * the top conjunction (every match has a row of one of them). */
static void note_schemata(lh_equery *q, const eq_leaf *l)
{
    if (q->has_schemata || l->op != OP_EQ) return;
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

/* The leaf children every match satisfies: those of a plain conjunction. */
static const eq_node *top_conjunction(const lh_equery *q)
{
    return q->root && !q->root->or && !q->root->negated ? q->root : NULL;
}

lh_equery *eq_query_new(const lh_model *m, eq_node *root)
{
    lh_equery *q = lh_calloc(1, sizeof *q);
    q->m = m;
    q->root = root;
    q->limit = -1;
    lh_strlist_init(&q->schemata);
    if (root) group_bounds(root);
    const eq_node *top = top_conjunction(q);
    for (size_t i = 0; top && i < top->n; i++)
        if (top->items[i].leaf) note_schemata(q, top->items[i].leaf);
    return q;
}

void lh_equery_free(lh_equery *q)
{
    if (!q) return;
    eq_node_free(q->root);
    lh_strlist_free(&q->schemata);
    free(q->sort_prop);
    free(q);
}

void lh_equery_describe(const lh_equery *q, lh_buf *out)
{
    if (q->root) node_json(q->root, out);
    else lh_buf_append(out, "null", 4);
}

/* ---- evaluation ---- */

static char ascii_lower(unsigned char c)
{
    return (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
}

/* Whether h starts with the (ASCII) needle, compared as DuckDB's lower()
 * sees text: ASCII letters case-blind, and the only two other letters
 * whose lower case is ASCII, U+0130 (Turkish dotted I) as i and U+212A
 * (Kelvin sign) as k. */
static bool starts_fold(const char *h, const char *needle)
{
    for (; *needle; needle++) {
        char want = ascii_lower((unsigned char)*needle);
        const unsigned char *u = (const unsigned char *)h;
        if (u[0] == 0xC4 && u[1] == 0xB0) {
            if (want != 'i') return false;
            h += 2;
        } else if (u[0] == 0xE2 && u[1] == 0x84 && u[2] == 0xAA) {
            if (want != 'k') return false;
            h += 3;
        } else {
            if (!*h || ascii_lower(u[0]) != want) return false;
            h++;
        }
    }
    return true;
}

static bool contains_fold(const char *hay, const char *needle, bool fold)
{
    if (!fold) return strstr(hay, needle) != NULL;
    if (!*needle) return true;
    for (; *hay; hay++)
        if (starts_fold(hay, needle)) return true;
    return false;
}

/* v is one of the leaf's values (a set is sorted: searched). */
static bool one_of(const eq_leaf *l, const char *v)
{
    if (l->values.len > 4)
        return bsearch(&v, l->values.items, l->values.len, sizeof *l->values.items, lh_str_ptr_cmp);
    for (size_t i = 0; i < l->values.len; i++)
        if (strcmp(v, l->values.items[i]) == 0) return true;
    return false;
}

static bool value_ok(const eq_leaf *l, const char *v)
{
    if (!v) return false;
    const char *want = l->values.len ? l->values.items[0] : "";
    switch (l->op) {
    case OP_EQ: return one_of(l, v);
    case OP_NE: return !one_of(l, v);
    case OP_GTE: return strcmp(v, want) >= 0;
    case OP_GT: return strcmp(v, want) > 0;
    case OP_LTE: return strcmp(v, want) <= 0;
    case OP_LT: return strcmp(v, want) < 0;
    case OP_LIKE: return contains_fold(v, want, false);
    case OP_ILIKE: return contains_fold(v, want, true);
    case OP_STARTS: return lh_str_startswith(v, want);
    case OP_ENDS: return lh_str_endswith(v, want);
    case OP_EMPTY: return true;
    }
    return false;
}

/* Whether schema is one of a schemata leaf's: a name, or a non-abstract
 * descendant of one. */
static bool is_one_of_schemata(const lh_model *m, const eq_leaf *l, const char *schema)
{
    const lh_schema *s = lh_model_schema(m, schema);
    for (size_t i = 0; i < l->values.len; i++) {
        if (strcmp(schema, l->values.items[i]) == 0) return true;
        if (s && !s->abstract && lh_schema_is_a(s, l->values.items[i])) return true;
    }
    return false;
}

/* A schema / schemata leaf negated (not, not_in) holds of an entity with
 * no row of those schemata (the reference's anti-join); every other leaf,
 * and empty's complement, of an entity with some row matching row_ok. */
static bool absence_test(const eq_leaf *l)
{
    return l->op == OP_EMPTY || ((l->kind == F_SCHEMA || l->kind == F_SCHEMATA) && l->op == OP_NE);
}

static bool row_ok(const lh_model *m, const eq_leaf *l, const lh_statement *r)
{
    bool absent = absence_test(l);
    switch (l->kind) {
    case F_SCHEMA: return absent ? one_of(l, r->schema) : value_ok(l, r->schema);
    case F_SCHEMATA: return is_one_of_schemata(m, l, r->schema);
    case F_DATASET: return value_ok(l, r->dataset);
    case F_ID:
    case F_ENTITY_ID: return value_ok(l, r->entity_id);
    case F_CANONICAL_ID: return value_ok(l, r->canonical_id);
    case F_PROP: return strcmp(r->prop, l->field) == 0 && (absent || value_ok(l, r->value));
    case F_GROUP:
        return r->prop_type && strcmp(r->prop_type, l->field) == 0 &&
               (absent || value_ok(l, r->value));
    case F_CONTEXT:
        if (l->column == EXTERNAL) {
            /* the values as booleans; eq / in: one of them, ne / out: none */
            bool any = false;
            for (size_t i = 0; i < l->values.len; i++) any = any || as_bool(l->values.items[i]) == r->external;
            return any != (l->op == OP_NE);
        }
        /* a NULL column matches nothing, as in SQL; empty: a row with a
         * value is what the entity must lack, a value being anything not
         * NULL as the reference's IS NOT NULL: "" too, and the fragment
         * always (stored "" when a statement has none, never NULL) */
        const char *v = *(const char *const *)((const char *)r + l->column);
        if (l->op == OP_EMPTY) return v || l->column == offsetof(lh_statement, fragment);
        return value_ok(l, v);
    }
    return false;
}

static bool node_holds(const lh_model *m, const eq_node *n, const lh_statement *rows, size_t nr);

/* Leaf i of AND node n, with the leaves of its bound set: some row holds of
 * them all (none, for an absence test). */
static bool leaf_holds(const lh_model *m, const eq_node *n, size_t i, const lh_statement *rows,
                       size_t nr)
{
    const eq_leaf *l = n->items[i].leaf;
    int set = n->bound_set[i];
    bool any = false;
    for (size_t r = 0; r < nr && !any; r++) {
        if (set < 0) {
            any = row_ok(m, l, &rows[r]);
            continue;
        }
        any = true;
        for (size_t j = 0; j < n->n && any; j++)
            if (n->bound_set[j] == set) any = row_ok(m, n->items[j].leaf, &rows[r]);
    }
    return absence_test(l) ? !any : any;
}

static bool node_holds(const lh_model *m, const eq_node *n, const lh_statement *rows, size_t nr)
{
    bool result = !n->or;
    for (size_t i = 0; i < n->n; i++) {
        bool holds;
        if (n->items[i].node) {
            holds = node_holds(m, n->items[i].node, rows, nr);
        } else {
            if (n->bound_set[i] >= 0 && n->bound_set[i] != (int)i) continue; /* with its set */
            holds = leaf_holds(m, n, i, rows, nr);
        }
        if (holds == n->or) {
            result = n->or;
            break;
        }
    }
    return n->negated ? !result : result;
}

bool lh_equery_match(const lh_equery *q, const lh_statement *rows, size_t n)
{
    return !q->root || node_holds(q->m, q->root, rows, n);
}

bool lh_equery_match_cb(const void *ctx, const lh_statement *rows, size_t n)
{
    return lh_equery_match(ctx, rows, n);
}

bool lh_equery_value_row(const lh_equery *q, const char **prop, const char **prop_type,
                         const char **value)
{
    *prop = *prop_type = *value = NULL;
    const eq_node *top = top_conjunction(q);
    for (size_t i = 0; top && i < top->n; i++) {
        const eq_leaf *l = top->items[i].leaf;
        if (!l || l->op != OP_EQ || l->values.len != 1) continue;
        if (l->kind != F_PROP && l->kind != F_GROUP) continue;
        *(l->kind == F_PROP ? prop : prop_type) = l->field;
        *value = l->values.items[0];
        return true;
    }
    return false;
}

const char *const *lh_equery_ids(const lh_equery *q, size_t *n)
{
    *n = 0;
    const eq_node *top = top_conjunction(q);
    for (size_t i = 0; top && i < top->n; i++) {
        const eq_leaf *l = top->items[i].leaf;
        if (!l || l->op != OP_EQ || !l->values.len) continue;
        if (l->kind != F_ID && l->kind != F_ENTITY_ID) continue;
        *n = l->values.len;
        return (const char *const *)l->values.items;
    }
    return NULL;
}

const char *const *lh_equery_schemata(const lh_equery *q, size_t *n)
{
    *n = q->schemata.len;
    return q->has_schemata ? (const char *const *)q->schemata.items : NULL;
}

bool lh_equery_order_of(const lh_equery *q, lh_equery_order *out)
{
    out->sort_prop = q->sort_prop;
    out->descending = q->sort_desc;
    out->numeric = q->sort_numeric;
    out->limit = q->limit;
    out->offset = q->offset;
    return q->ordered;
}

/* A run of digits at *v, DuckDB's `_` allowed between two of them, into
 * out; *v is moved past it. Leading zeros are dropped when skip_zeros;
 * beyond cap digits, false unless cut (then the rest is dropped). */
static bool digit_run(const char **v, char *out, size_t cap, size_t *n, bool skip_zeros, bool cut)
{
    *n = 0;
    const char *p = *v;
    while ((*p >= '0' && *p <= '9') || (*p == '_' && p > *v && p[-1] >= '0' && p[-1] <= '9' &&
                                          p[1] >= '0' && p[1] <= '9')) {
        if (*p != '_' && !(skip_zeros && *n == 0 && *p == '0')) {
            if (*n == cap && !cut) return false;
            if (*n < cap) out[(*n)++] = *p;
        }
        p++;
    }
    bool any = p > *v;
    *v = p;
    if (skip_zeros && any && *n == 0) out[(*n)++] = '0'; /* all zeros: one */
    return true;
}

static bool is_space(char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

bool lh_equery_numeric(const char *v, int64_t *milli)
{
    enum { CAP = 256 };
    char ip[CAP], fp[CAP], ep[8];
    size_t ni = 0, nf = 0, ne = 0;
    while (is_space(*v)) v++;
    bool neg = *v == '-';
    if (*v == '+' || *v == '-') v++;
    /* the integer part's leading zeros count for nothing; past a few
     * hundred, the fraction's digits can no longer round its thousandths */
    if (!digit_run(&v, ip, CAP, &ni, true, false)) return false;
    if (*v == '.') {
        v++;
        digit_run(&v, fp, CAP, &nf, false, true);
    }
    if (!ni && !nf) return false;
    bool has_exp = *v == 'e' || *v == 'E';
    int exp10 = 0;
    if (has_exp) {
        v++;
        bool eneg = *v == '-';
        if (*v == '+' || *v == '-') v++;
        if (!digit_run(&v, ep, sizeof ep - 1, &ne, false, false) || !ne) return false;
        ep[ne] = '\0';
        exp10 = eneg ? -atoi(ep) : atoi(ep);
    }
    while (is_space(*v)) v++;
    if (*v) return false;
    /* the significant digits: leading zeros of the integer part dropped */
    size_t lead = 0;
    while (lead < ni && ip[lead] == '0') lead++;
    char digits[2 * CAP];
    size_t nd = ni - lead;
    memcpy(digits, ip + lead, nd);
    /* DuckDB reads an exponent's mantissa as a DECIMAL(18,3) first: at most
     * 15 integer digits, 18 digits in all (the rest cut) */
    if (has_exp && nd > 15) return false;
    size_t keep_frac = has_exp && nd + nf > 18 ? 18 - nd : nf;
    memcpy(digits + nd, fp, keep_frac);
    nd += keep_frac;
    exp10 -= (int)keep_frac;
    /* thousandths: digits * 10^(exp10 + 3), dropped digits rounded half up */
    int shift = exp10 + 3;
    size_t keep = shift >= 0 ? nd : (size_t)(-shift) >= nd ? 0 : nd - (size_t)(-shift);
    size_t sig = 0; /* leading zeros of a fraction do not count */
    while (sig < keep && digits[sig] == '0') sig++;
    if (keep > sig && keep - sig + (shift > 0 ? (size_t)shift : 0) > 18) return false;
    int64_t x = 0;
    for (size_t i = sig; i < keep; i++) x = x * 10 + (digits[i] - '0');
    for (int i = 0; i < shift && x; i++) x *= 10;
    if (shift < 0 && keep < nd && (size_t)(-shift) <= nd && digits[keep] >= '5') x++;
    if (x > 999999999999999999LL) return false;
    *milli = neg ? -x : x;
    return true;
}
