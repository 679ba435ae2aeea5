/* Dataset statistics as ftmq computes them over its statement view:
 * distinct entities per schema and per country value (prop_type country),
 * split into Things and Intervals by the row's schema; the date range is the
 * min/max of every date-typed value. */
#include "lh/repository/stats.h"

#include <stdlib.h>
#include <string.h>

#include "lh/core/mem.h"
#include "lh/model/countries.h"

typedef struct counter {
    char *key;
    int64_t count;
} counter;

typedef struct counts {
    counter *items;
    size_t len, cap;
} counts;

static void bump(counts *c, const char *key)
{
    for (size_t i = 0; i < c->len; i++)
        if (strcmp(c->items[i].key, key) == 0) {
            c->items[i].count++;
            return;
        }
    if (c->len == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 32;
        c->items = lh_realloc(c->items, c->cap * sizeof *c->items);
    }
    c->items[c->len].key = lh_strdup(key);
    c->items[c->len++].count = 1;
}

static void counts_free(counts *c)
{
    for (size_t i = 0; i < c->len; i++) free(c->items[i].key);
    free(c->items);
}

/* The reference lists schemata and countries by name. */
static int by_key(const void *a, const void *b)
{
    return strcmp(((const counter *)a)->key, ((const counter *)b)->key);
}

typedef struct lh_stats stats;
struct lh_stats {
    const lh_model *m;
    counts things, intervals, things_c, intervals_c;
    int64_t entities;
    char *start, *end;
    lh_strlist seen; /* per-entity distinct keys */
};

/* Count key once for this entity. */
static void once(stats *s, counts *c, const char *tag, const char *key)
{
    lh_buf k = LH_BUF_INIT;
    lh_buf_printf(&k, "%s\x1f%s", tag, key);
    if (!lh_strlist_contains(&s->seen, k.data)) {
        lh_strlist_push(&s->seen, k.data);
        bump(c, key);
    }
    lh_buf_free(&k);
}

lh_status lh_stats_add(void *ctx, const lh_statement *rows, size_t n, lh_error *err)
{
    (void)err;
    stats *s = ctx;
    s->entities++;
    lh_strlist_free(&s->seen);
    lh_strlist_init(&s->seen);
    /* the entity counts once, under its schema (the rows' merged, as the
     * reference's entity has it) */
    const lh_schema *schema = NULL;
    for (size_t i = 0; i < n; i++) {
        const lh_schema *sc = lh_model_schema(s->m, rows[i].schema);
        if (sc) schema = schema ? lh_model_merge_schema(s->m, schema, sc) : sc;
        if (!schema) schema = sc;
    }
    bool thing = schema && lh_schema_is_a(schema, "Thing");
    bool interval = schema && lh_schema_is_a(schema, "Interval");
    if (thing) once(s, &s->things, "t", schema->name);
    if (interval) once(s, &s->intervals, "i", schema->name);
    for (size_t i = 0; i < n; i++) {
        const lh_statement *r = &rows[i];
        bool country = r->prop_type && strcmp(r->prop_type, "country") == 0;
        if (thing && country) once(s, &s->things_c, "tc", r->value);
        if (interval && country) once(s, &s->intervals_c, "ic", r->value);
        const lh_prop *prop = schema ? lh_schema_prop(schema, r->prop) : NULL;
        /* the coverage of what is shown: hidden dates (processedAt) aside */
        if (r->prop_type && strcmp(r->prop_type, "date") == 0 && !(prop && prop->hidden)) {
            if (!s->start || strcmp(r->value, s->start) < 0) {
                free(s->start);
                s->start = lh_strdup(r->value);
            }
            if (!s->end || strcmp(r->value, s->end) > 0) {
                free(s->end);
                s->end = lh_strdup(r->value);
            }
        }
    }
    return LH_OK;
}

static void json_str(lh_buf *out, const char *s)
{
    lh_buf_append_json_str(out, s, strlen(s));
}

static void emit_schemata(stats *s, counts *schemata, counts *countries, lh_buf *out)
{
    if (schemata->len) qsort(schemata->items, schemata->len, sizeof(counter), by_key);
    if (countries->len) qsort(countries->items, countries->len, sizeof(counter), by_key);
    int64_t total = 0;
    for (size_t i = 0; i < schemata->len; i++) total += schemata->items[i].count;
    lh_buf_printf(out, "{\"total\":%lld,\"countries\":[", (long long)total);
    for (size_t i = 0; i < countries->len; i++) {
        const char *code = countries->items[i].key;
        const char *label = lh_country_name(code);
        lh_buf_append_str(out, i ? ",{\"code\":" : "{\"code\":");
        json_str(out, code);
        lh_buf_printf(out, ",\"count\":%lld,\"label\":", (long long)countries->items[i].count);
        json_str(out, label ? label : code);
        lh_buf_append_byte(out, '}');
    }
    lh_buf_append_str(out, "],\"schemata\":[");
    for (size_t i = 0; i < schemata->len; i++) {
        const lh_schema *sc = lh_model_schema(s->m, schemata->items[i].key);
        lh_buf_append_str(out, i ? ",{\"name\":" : "{\"name\":");
        json_str(out, schemata->items[i].key);
        lh_buf_printf(out, ",\"count\":%lld,\"label\":", (long long)schemata->items[i].count);
        json_str(out, sc && sc->label ? sc->label : schemata->items[i].key);
        lh_buf_append_str(out, ",\"plural\":");
        json_str(out, sc && sc->plural ? sc->plural : schemata->items[i].key);
        lh_buf_append_byte(out, '}');
    }
    lh_buf_append_str(out, "]}");
}

lh_stats *lh_stats_new(const lh_model *m)
{
    stats *s = lh_calloc(1, sizeof *s);
    s->m = m;
    lh_strlist_init(&s->seen);
    return s;
}

void lh_stats_emit(lh_stats *s, lh_buf *out)
{
    lh_buf_append_str(out, "{\"things\":");
    emit_schemata(s, &s->things, &s->things_c, out);
    lh_buf_append_str(out, ",\"intervals\":");
    emit_schemata(s, &s->intervals, &s->intervals_c, out);
    lh_buf_printf(out, ",\"entity_count\":%lld", (long long)s->entities);
    /* the reference leaves unset dates out */
    if (s->start) {
        lh_buf_append_str(out, ",\"start\":");
        json_str(out, s->start);
    }
    if (s->end) {
        lh_buf_append_str(out, ",\"end\":");
        json_str(out, s->end);
    }
    /* the union of both country sets, sorted (the reference's order is a
     * Python set's); compact separators, as the reference writes the file */
    lh_strlist all;
    lh_strlist_init(&all);
    for (size_t i = 0; i < s->things_c.len; i++) lh_strlist_push(&all, s->things_c.items[i].key);
    for (size_t i = 0; i < s->intervals_c.len; i++)
        if (!lh_strlist_contains(&all, s->intervals_c.items[i].key))
            lh_strlist_push(&all, s->intervals_c.items[i].key);
    lh_strlist_sort(&all);
    lh_buf_append_str(out, ",\"countries\":[");
    for (size_t i = 0; i < all.len; i++) {
        if (i) lh_buf_append_byte(out, ',');
        json_str(out, all.items[i]);
    }
    lh_buf_append_str(out, "]}");
    lh_strlist_free(&all);
}

void lh_stats_free(lh_stats *s)
{
    if (!s) return;
    counts_free(&s->things);
    counts_free(&s->intervals);
    counts_free(&s->things_c);
    counts_free(&s->intervals_c);
    free(s->start);
    free(s->end);
    lh_strlist_free(&s->seen);
    free(s);
}

int64_t lh_stats_entities(const lh_stats *s)
{
    return s->entities;
}
