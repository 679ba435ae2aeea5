/* Fold entity-ordered statements into FtM entity JSON lines, as the
 * reference's EntityPayload.to_dict (the entities.ftm.json export) does. */
#include <stdlib.h>
#include <string.h>

#include "lh/core/mem.h"
#include "lh/core/str.h"
#include "lh/core/timeutil.h"
#include "lh/model/entity.h"
#include "lh/model/keys.h"
#include "lh/model/names.h"

typedef struct pv {
    const char *prop;
    const char *value;
    const char *id;   /* statement id, for the context-order caption */
    const char *lang; /* NULL: none; for the context-order caption */
} pv;

struct lh_aggregator {
    const lh_model *m;
    int flags;
    lh_arena arena; /* strings of the current entity */
    char *id;       /* current entity, NULL before the first statement */
    lh_strlist schemata, datasets, origins, roles, referents; /* unsorted, with dups */
    pv *props;
    size_t n_props, cap_props;
    int64_t first_seen, last_seen, last_change; /* LH_TS_NULL = none */
    size_t count;
};

lh_aggregator *lh_aggregator_new(const lh_model *m, int flags)
{
    lh_aggregator *a = lh_calloc(1, sizeof *a);
    a->m = m;
    a->flags = flags;
    lh_arena_init(&a->arena, 16 * 1024);
    lh_strlist_init(&a->schemata);
    lh_strlist_init(&a->datasets);
    lh_strlist_init(&a->origins);
    lh_strlist_init(&a->roles);
    lh_strlist_init(&a->referents);
    a->first_seen = a->last_seen = a->last_change = LH_TS_NULL;
    return a;
}

static void reset(lh_aggregator *a)
{
    lh_strlist *lists[] = {&a->schemata, &a->datasets, &a->origins, &a->roles, &a->referents};
    for (size_t i = 0; i < 5; i++) {
        lh_strlist_free(lists[i]);
        lh_strlist_init(lists[i]);
    }
    a->n_props = 0;
    a->id = NULL;
    lh_arena_reset(&a->arena);
    a->first_seen = a->last_seen = a->last_change = LH_TS_NULL;
}

void lh_aggregator_free(lh_aggregator *a)
{
    if (!a) return;
    reset(a);
    free(a->props);
    lh_arena_free(&a->arena);
    free(a);
}

size_t lh_aggregator_count(const lh_aggregator *a) { return a->count; }

static void push_unique(lh_strlist *l, const char *s)
{
    /* Few distinct values per entity (datasets, origins): linear is fine. */
    if (!lh_strlist_contains(l, s)) lh_strlist_push(l, s);
}

static int cmp_pv(const void *x, const void *y)
{
    const pv *a = x, *b = y;
    int c = strcmp(a->prop, b->prop);
    return c ? c : strcmp(a->value, b->value);
}

static int cmp_pv_id(const void *x, const void *y)
{
    const pv *a = *(const pv *const *)x, *b = *(const pv *const *)y;
    if (!a->id || !b->id) return (b->id == NULL) - (a->id == NULL);
    return strcmp(a->id, b->id);
}

/* rigour's pick_lang_name, as followthemoney's StatementEntity.caption
 * runs it on a name property's statements: the English ones first, then
 * those of no language, "mul" or a language of rigour's PREFERRED_LANGS,
 * then all; one value per statement, so a name stated in two languages
 * weighs twice (pick_name counts it twice). NULL when no tier gives one. */
static const char *pick_lang_name(const pv *const *stmts, size_t n)
{
    static const char *const PREFERRED[] = {
        "eng", "spa", "fra", "por", "deu", "nld", "ita", "tur", "pol", "ron", "ces",
        "srp", "hrv", "dan", "nor", "rus", "ukr", "ara", "fas", "urd", "zho", "mul"};
    const char **values = lh_malloc(n * sizeof *values);
    const char *picked = NULL;
    for (int tier = 0; tier < 3 && !picked; tier++) {
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            const char *lang = stmts[i]->lang;
            bool take = tier == 2;
            if (tier == 0) take = lang && !strcmp(lang, "eng");
            for (size_t j = 0; tier == 1 && !take && j < sizeof PREFERRED / sizeof *PREFERRED; j++)
                take = !lang || !strcmp(lang, PREFERRED[j]);
            if (take) values[k++] = stmts[i]->value;
        }
        if (k) picked = lh_pick_name(values, k);
    }
    free(values);
    return picked;
}

static void put_str(lh_buf *out, const char *s)
{
    lh_buf_append_json_str(out, s, strlen(s));
}

static void put_list(lh_buf *out, const char *key, lh_strlist *l)
{
    lh_strlist_sort(l);
    lh_buf_printf(out, ",\"%s\":[", key);
    for (size_t i = 0; i < l->len; i++) {
        if (i) lh_buf_append_byte(out, ',');
        put_str(out, l->items[i]);
    }
    lh_buf_append_byte(out, ']');
}

static void put_ts(lh_buf *out, const char *key, int64_t ts)
{
    if (ts == LH_TS_NULL) return;
    char iso[LH_ISO_MAX];
    lh_time_format_iso_py(ts, 1, iso);
    lh_buf_printf(out, ",\"%s\":\"%s\"", key, iso);
}

static void put_props(lh_buf *out, lh_aggregator *a)
{
    lh_buf_append_str(out, ",\"properties\":{");
    const char *prev = NULL;
    for (size_t i = 0; i < a->n_props; i++) {
        const pv *p = &a->props[i];
        if (prev && !strcmp(prev, p->prop) && !strcmp(a->props[i - 1].value, p->value))
            continue; /* duplicate value */
        if (!prev || strcmp(prev, p->prop)) {
            if (prev) lh_buf_append_str(out, "],");
            put_str(out, p->prop);
            lh_buf_append_str(out, ":[");
        } else {
            lh_buf_append_byte(out, ',');
        }
        put_str(out, p->value);
        prev = p->prop;
    }
    if (prev) lh_buf_append_byte(out, ']');
    lh_buf_append_byte(out, '}');
}

static lh_status emit(lh_aggregator *a, lh_buf *out, lh_error *err)
{
    if (!a->id) return LH_OK;
    /* Schema: the most specific of all the statements carry (lenient merge). */
    lh_strlist_sort(&a->schemata);
    const lh_schema *schema = NULL;
    for (size_t i = 0; i < a->schemata.len; i++) {
        const lh_schema *s = lh_model_schema(a->m, a->schemata.items[i]);
        if (!s)
            return lh_error_set(err, LH_ERR_INVALID, "entity %s: schema: unknown schema %s",
                                a->id, a->schemata.items[i]);
        const lh_schema *merged = schema ? lh_model_merge_schema(a->m, schema, s) : s;
        if (!merged)
            return lh_error_set(err, LH_ERR_INVALID, "entity %s: schema: no common ancestor of %s and %s",
                                a->id, schema->name, s->name);
        schema = merged;
    }
    if (a->n_props) qsort(a->props, a->n_props, sizeof *a->props, cmp_pv);
    /* Caption: the first caption property with values; the export takes its
     * smallest value, StatementEntity (context order) the value of its
     * smallest statement id, or of several names the one rigour's
     * pick_name picks (followthemoney's caption). */
    const char *caption = NULL;
    bool context = a->flags & LH_AGG_CONTEXT_ORDER;
    for (size_t c = 0; c < schema->n_caption && !caption; c++) {
        const lh_prop *cp = lh_schema_prop(schema, schema->caption[c]);
        bool names = context && cp && !strcmp(cp->type, "name");
        const pv *best = NULL;
        size_t first = 0, count = 0;
        for (size_t i = 0; i < a->n_props; i++) {
            const pv *p = &a->props[i];
            if (strcmp(p->prop, schema->caption[c]) != 0) continue;
            if (!best) first = i;
            count++;
            if (!best) best = p;
            else if (!context) break; /* sorted: the first is the smallest value */
            else if (p->id && best->id && strcmp(p->id, best->id) < 0) best = p;
        }
        if (best && names && count > 1) {
            /* StatementEntity keeps a set of statements (by id): a value
             * in two languages is two of them, a row repeated is one */
            const pv **stmts = lh_malloc(count * sizeof *stmts);
            for (size_t i = 0; i < count; i++) stmts[i] = &a->props[first + i];
            qsort(stmts, count, sizeof *stmts, cmp_pv_id);
            size_t k = 0;
            for (size_t i = 0; i < count; i++)
                if (!k || !stmts[i]->id || !stmts[k - 1]->id || strcmp(stmts[i]->id, stmts[k - 1]->id))
                    stmts[k++] = stmts[i];
            if (k > 1) caption = pick_lang_name(stmts, k);
            free(stmts);
        }
        if (best && !caption) caption = best->value;
    }
    if (!caption) caption = schema->label;

    lh_buf_append_str(out, "{\"id\":");
    put_str(out, a->id);
    lh_buf_append_str(out, ",\"caption\":");
    put_str(out, caption);
    lh_buf_append_str(out, ",\"schema\":");
    put_str(out, schema->name);
    if (!context) put_props(out, a);
    put_list(out, "referents", &a->referents);
    put_list(out, "datasets", &a->datasets);
    if (a->origins.len) put_list(out, "origin", &a->origins);
    if (a->roles.len && !context) put_list(out, "role", &a->roles);
    put_ts(out, "first_seen", a->first_seen);
    put_ts(out, "last_seen", a->last_seen);
    put_ts(out, "last_change", a->last_change);
    if (context) put_props(out, a);
    lh_buf_append_str(out, "}\n");
    a->count++;
    return LH_OK;
}

lh_status lh_aggregator_add(lh_aggregator *a, const lh_statement *s, lh_buf *out, lh_error *err)
{
    if (!s->entity_id || !s->schema || !s->prop || !s->value || !s->dataset)
        return lh_error_set(err, LH_ERR_INVALID,
                            "statement %s: missing entity_id, schema, prop, value or dataset",
                            s->id ? s->id : "(no id)");
    if (!a->id || strcmp(a->id, s->entity_id) != 0) {
        lh_status rc = emit(a, out, err);
        reset(a);
        if (rc != LH_OK) return rc;
        a->id = lh_arena_strdup(&a->arena, s->entity_id);
    }
    push_unique(&a->schemata, s->schema);
    bool base = !strcmp(s->prop, LH_BASE_ID);
    /* StatementEntity (context order) keeps id rows apart from its property
     * statements, and takes datasets and origins from the latter only: an
     * entity bare in one origin does not list it there. The export counts
     * every row. */
    if (!base || !(a->flags & LH_AGG_CONTEXT_ORDER)) {
        push_unique(&a->datasets, s->dataset);
        if (s->origin && *s->origin) push_unique(&a->origins, s->origin);
    }
    if (s->role && *s->role) push_unique(&a->roles, s->role);
    if (base) {
        if (s->first_seen != LH_TS_NULL && (a->last_change == LH_TS_NULL || s->first_seen > a->last_change))
            a->last_change = s->first_seen;
        return LH_OK;
    }
    a->props = lh_grow(a->props, &a->cap_props, a->n_props + 1, sizeof *a->props);
    a->props[a->n_props].prop = lh_arena_strdup(&a->arena, s->prop);
    a->props[a->n_props].value = lh_arena_strdup(&a->arena, s->value);
    a->props[a->n_props].id = s->id ? lh_arena_strdup(&a->arena, s->id) : NULL;
    /* "" is no language, as NULL */
    a->props[a->n_props].lang = s->lang && *s->lang ? lh_arena_strdup(&a->arena, s->lang) : NULL;
    a->n_props++;
    if (s->first_seen != LH_TS_NULL && (a->first_seen == LH_TS_NULL || s->first_seen < a->first_seen))
        a->first_seen = s->first_seen;
    if (s->last_seen != LH_TS_NULL && (a->last_seen == LH_TS_NULL || s->last_seen > a->last_seen))
        a->last_seen = s->last_seen;
    return LH_OK;
}

lh_status lh_aggregator_finish(lh_aggregator *a, lh_buf *out, lh_error *err)
{
    lh_status rc = emit(a, out, err);
    reset(a);
    return rc;
}
