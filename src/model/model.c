/* FollowTheMoney model: built from a parsed model.to_dict()-shaped JSON tree
 * (the embedded model, a JSON override, or YAML files converted to the same
 * tree by model_yaml.c). Everything lives in one arena owned by the model. */
#include "lh/model/model.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <jansson.h>

#include "lh/core/buf.h"
#include "lh/core/mem.h"
#include "lh/core/str.h"
#include "model/model_internal.h"



/* Build-time scratch per schema: the parsed own properties and the names that
 * still need resolving. */
typedef struct build_schema {
    lh_schema *s;
    json_t *spec;
    lh_prop **own;
    size_t n_own, cap_own;
    int state; /* 0 unresolved, 1 ancestors in progress, 2 ancestors done, 3 props done */
} build_schema;

typedef struct builder {
    lh_model *m;
    const char *origin;
    build_schema *bs; /* same order as m->schemata */
    size_t n;
    bool yaml; /* YAML shape: absent property flags default from the type */
    lh_error *err;
} builder;

static int cmp_schema_ptr(const void *a, const void *b)
{
    const lh_schema *x = *(const lh_schema *const *)a, *y = *(const lh_schema *const *)b;
    return strcmp(x->name, y->name);
}

static int cmp_prop_ptr(const void *a, const void *b)
{
    const lh_prop *x = *(const lh_prop *const *)a, *y = *(const lh_prop *const *)b;
    return strcmp(x->name, y->name);
}

static const char *adup(lh_model *m, const char *s)
{
    return s ? lh_arena_strdup(&m->arena, s) : NULL;
}

/* followthemoney reads flags with as_bool: JSON true, or "true"/"yes"/"1"/"on". */
static bool spec_bool(json_t *spec, const char *key)
{
    json_t *v = json_object_get(spec, key);
    if (!v) return false;
    if (json_is_boolean(v)) return json_is_true(v);
    if (json_is_integer(v)) return json_integer_value(v) != 0;
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        return !strcasecmp(s, "true") || !strcasecmp(s, "yes") || !strcmp(s, "1") ||
               !strcasecmp(s, "on") || !strcasecmp(s, "t") || !strcasecmp(s, "y");
    }
    return false;
}

static const char *spec_str(json_t *spec, const char *key)
{
    json_t *v = json_object_get(spec, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static lh_status str_list(builder *b, json_t *spec, const char *key, const char *who,
                          const char ***out, size_t *n)
{
    json_t *v = json_object_get(spec, key);
    *out = NULL;
    *n = 0;
    if (!v || json_is_null(v)) return LH_OK;
    if (!json_is_array(v))
        return lh_error_set(b->err, LH_ERR_INVALID, "%s: schema %s: %s: expected a list",
                            b->origin, who, key);
    size_t len = json_array_size(v);
    const char **items = lh_arena_alloc(&b->m->arena, (len ? len : 1) * sizeof *items);
    for (size_t i = 0; i < len; i++) {
        json_t *it = json_array_get(v, i);
        if (!json_is_string(it))
            return lh_error_set(b->err, LH_ERR_INVALID,
                                "%s: schema %s: %s[%zu]: expected a string", b->origin, who,
                                key, i);
        items[i] = adup(b->m, json_string_value(it));
    }
    *out = items;
    *n = len;
    return LH_OK;
}

static build_schema *find_build(builder *b, const char *name)
{
    size_t lo = 0, hi = b->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(b->bs[mid].s->name, name);
        if (c == 0) return &b->bs[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

static lh_prop *own_prop(build_schema *bs, const char *name)
{
    for (size_t i = 0; i < bs->n_own; i++)
        if (!strcmp(bs->own[i]->name, name)) return bs->own[i];
    return NULL;
}

static void add_own(builder *b, build_schema *bs, lh_prop *p)
{
    bs->own = lh_grow(bs->own, &bs->cap_own, bs->n_own + 1, sizeof *bs->own);
    bs->own[bs->n_own++] = p;
    (void)b;
}

static bool type_index(const lh_model *m, const char *type, size_t *idx)
{
    const char **hit = bsearch(&type, m->types, m->n_types, sizeof *m->types, lh_str_ptr_cmp);
    if (hit && idx) *idx = (size_t)(hit - m->types);
    return hit != NULL;
}

static bool type_matchable(const lh_model *m, const char *type)
{
    size_t i;
    return type_index(m, type, &i) && m->type_matchable[i];
}

static int type_max_length(const lh_model *m, const char *type)
{
    size_t i;
    return type_index(m, type, &i) ? m->type_max_length[i] : 0;
}

/* The type registry: {name: {matchable, ...}}. */
static lh_status parse_types(builder *b, json_t *types)
{
    lh_model *m = b->m;
    if (!json_is_object(types))
        return lh_error_set(b->err, LH_ERR_INVALID, "%s: types: expected a mapping", b->origin);
    size_t n = json_object_size(types), i = 0;
    m->types = lh_arena_alloc(&m->arena, (n ? n : 1) * sizeof *m->types);
    m->type_matchable = lh_arena_alloc(&m->arena, (n ? n : 1) * sizeof *m->type_matchable);
    m->type_max_length = lh_arena_alloc(&m->arena, (n ? n : 1) * sizeof *m->type_max_length);
    m->type_group = lh_arena_alloc(&m->arena, (n ? n : 1) * sizeof *m->type_group);
    const char *name;
    json_t *spec;
    json_object_foreach(types, name, spec) m->types[i++] = adup(m, name);
    qsort(m->types, n, sizeof *m->types, lh_str_ptr_cmp);
    m->n_types = n;
    for (i = 0; i < n; i++) {
        json_t *spec_i = json_object_get(types, m->types[i]);
        m->type_matchable[i] = spec_bool(spec_i, "matchable");
        json_t *ml = json_object_get(spec_i, "maxLength");
        m->type_max_length[i] = json_is_integer(ml) ? (int)json_integer_value(ml) : 0;
        json_t *group = json_object_get(spec_i, "group");
        m->type_group[i] = json_is_string(group) ? adup(m, json_string_value(group)) : NULL;
    }
    return LH_OK;
}

static lh_status parse_props(builder *b, build_schema *bs)
{
    json_t *props = json_object_get(bs->spec, "properties");
    if (!props || json_is_null(props)) return LH_OK;
    if (!json_is_object(props))
        return lh_error_set(b->err, LH_ERR_INVALID, "%s: schema %s: properties: expected a mapping",
                            b->origin, bs->s->name);
    const char *pname;
    json_t *pspec;
    json_object_foreach(props, pname, pspec) {
        if (!json_is_object(pspec))
            return lh_error_set(b->err, LH_ERR_INVALID,
                                "%s: schema %s: property %s: expected a mapping", b->origin,
                                bs->s->name, pname);
        lh_prop *p = lh_arena_alloc(&b->m->arena, sizeof *p);
        memset(p, 0, sizeof *p);
        p->name = adup(b->m, pname);
        p->schema = bs->s;
        char *qn = lh_asprintf("%s:%s", bs->s->name, pname);
        p->qname = adup(b->m, qn);
        free(qn);
        const char *label = spec_str(pspec, "label");
        p->label = adup(b->m, label ? label : pname);
        const char *type = spec_str(pspec, "type");
        p->type = adup(b->m, type ? type : "string");
        if (!type_index(b->m, p->type, NULL))
            return lh_error_set(b->err, LH_ERR_INVALID, "%s: property %s: unknown type %s",
                                b->origin, p->qname, p->type);
        json_t *ml = json_object_get(pspec, "maxLength");
        /* followthemoney: maxLength or, when absent or 0, the type's */
        p->max_length = json_is_integer(ml) ? (int)json_integer_value(ml) : 0;
        if (p->max_length == 0) p->max_length = type_max_length(b->m, p->type);
        p->stub = spec_bool(pspec, "stub");
        p->hidden = spec_bool(pspec, "hidden");
        p->deprecated = spec_bool(pspec, "deprecated");
        /* A YAML property's matchable defaults to its type's; model.to_dict()
         * writes the flag only when it is set. */
        if (json_object_get(pspec, "matchable") || !b->yaml)
            p->matchable = spec_bool(pspec, "matchable");
        else
            p->matchable = type_matchable(b->m, p->type);
        json_t *rev = json_object_get(pspec, "reverse");
        if (json_is_string(rev)) p->reverse = adup(b->m, json_string_value(rev));
        else if (json_is_object(rev) && spec_str(rev, "name"))
            p->reverse = adup(b->m, spec_str(rev, "name"));
        add_own(b, bs, p);
    }
    return LH_OK;
}

/* Ancestors of one schema, depth-first, detecting cycles. */
static lh_status resolve_ancestors(builder *b, build_schema *bs)
{
    if (bs->state == 2) return LH_OK;
    if (bs->state == 1)
        return lh_error_set(b->err, LH_ERR_INVALID, "%s: schema %s: circular extends",
                            b->origin, bs->s->name);
    bs->state = 1;
    lh_schema *s = bs->s;
    const lh_schema **anc = NULL;
    size_t n = 0, cap = 0;
    anc = lh_grow(anc, &cap, 1, sizeof *anc);
    anc[n++] = s;
    for (size_t i = 0; i < s->n_extends; i++) {
        build_schema *pb = find_build(b, s->extends[i]->name);
        lh_status rc = resolve_ancestors(b, pb);
        if (rc != LH_OK) {
            free(anc);
            return rc;
        }
        for (size_t j = 0; j < pb->s->n_schemata; j++) {
            const lh_schema *a = pb->s->schemata[j];
            bool seen = false;
            for (size_t k = 0; k < n && !seen; k++) seen = anc[k] == a;
            if (!seen) {
                anc = lh_grow(anc, &cap, n + 1, sizeof *anc);
                anc[n++] = a;
            }
        }
    }
    qsort(anc, n, sizeof *anc, cmp_schema_ptr);
    s->schemata = lh_arena_alloc(&b->m->arena, n * sizeof *anc);
    memcpy(s->schemata, anc, n * sizeof *anc);
    s->n_schemata = n;
    free(anc);
    bs->state = 2;
    return LH_OK;
}

/* YAML models declare reverse properties inline ({name, label, hidden}); the
 * JSON shape already carries them as stub properties of the range schema.
 * Either way, make sure the stub exists. */
static lh_status add_reverse_stubs(builder *b)
{
    for (size_t i = 0; i < b->n; i++) {
        build_schema *bs = &b->bs[i];
        json_t *props = json_object_get(bs->spec, "properties");
        for (size_t j = 0; j < bs->n_own; j++) {
            lh_prop *p = bs->own[j];
            json_t *pspec = json_object_get(props, p->name);
            const char *range = spec_str(pspec, "range");
            if (strcmp(p->type, "entity") != 0 || !range) continue;
            build_schema *rb = find_build(b, range);
            if (!rb)
                return lh_error_set(b->err, LH_ERR_INVALID, "%s: property %s: unknown range %s",
                                    b->origin, p->qname, range);
            p->range = rb->s;
            json_t *rev = json_object_get(pspec, "reverse");
            if (!json_is_object(rev) || !p->reverse) continue;
            /* Already defined there (own or, once resolved, inherited)? */
            if (own_prop(rb, p->reverse)) continue;
            bool inherited = false;
            for (size_t k = 0; k < rb->s->n_schemata && !inherited; k++) {
                build_schema *ab = find_build(b, rb->s->schemata[k]->name);
                inherited = own_prop(ab, p->reverse) != NULL;
            }
            if (inherited) continue;
            lh_prop *r = lh_arena_alloc(&b->m->arena, sizeof *r);
            memset(r, 0, sizeof *r);
            r->name = p->reverse;
            char *qn = lh_asprintf("%s:%s", rb->s->name, r->name);
            r->qname = adup(b->m, qn);
            free(qn);
            const char *label = spec_str(rev, "label");
            r->label = adup(b->m, label ? label : r->name);
            r->type = adup(b->m, "entity");
            r->schema = rb->s;
            r->range = bs->s;
            r->reverse = p->name;
            r->stub = true;
            r->hidden = json_object_get(rev, "hidden") ? spec_bool(rev, "hidden") : p->hidden;
            r->matchable = type_matchable(b->m, "entity");
            r->max_length = type_max_length(b->m, "entity");
            add_own(b, rb, r);
        }
    }
    /* Stubs of the JSON shape name their range too. */
    for (size_t i = 0; i < b->n; i++) {
        build_schema *bs = &b->bs[i];
        json_t *props = json_object_get(bs->spec, "properties");
        for (size_t j = 0; j < bs->n_own; j++) {
            lh_prop *p = bs->own[j];
            if (p->range) continue;
            const char *range = spec_str(json_object_get(props, p->name), "range");
            if (!range) continue;
            build_schema *rb = find_build(b, range);
            if (!rb)
                return lh_error_set(b->err, LH_ERR_INVALID, "%s: property %s: unknown range %s",
                                    b->origin, p->qname, range);
            p->range = rb->s;
        }
    }
    return LH_OK;
}

/* All properties of a schema, as followthemoney resolves them: its own,
 * then each parent's full set in extends order, a name taken first winning. */
static void resolve_props(builder *b, build_schema *bs)
{
    if (bs->state == 3) return;
    lh_prop **all = NULL;
    size_t n = 0, cap = 0;
    for (size_t j = 0; j < bs->n_own; j++) {
        all = lh_grow(all, &cap, n + 1, sizeof *all);
        all[n++] = bs->own[j];
    }
    if (n) qsort(all, n, sizeof *all, cmp_prop_ptr);
    size_t sorted = n;
    for (size_t e = 0; e < bs->s->n_extends; e++) {
        build_schema *pb = find_build(b, bs->s->extends[e]->name);
        resolve_props(b, pb);
        for (size_t j = 0; j < pb->s->n_props; j++) {
            const lh_prop *p = pb->s->props[j];
            bool taken = false;
            for (size_t k = sorted; k < n && !taken; k++) taken = !strcmp(all[k]->name, p->name);
            if (!taken && sorted)
                taken = bsearch(&p, all, sorted, sizeof *all, cmp_prop_ptr) != NULL;
            if (taken) continue;
            all = lh_grow(all, &cap, n + 1, sizeof *all);
            all[n++] = (lh_prop *)p;
        }
        if (n) qsort(all, n, sizeof *all, cmp_prop_ptr);
        sorted = n;
    }
    bs->s->props = lh_arena_alloc(&b->m->arena, (n ? n : 1) * sizeof *all);
    if (n) memcpy(bs->s->props, all, n * sizeof *all);
    bs->s->n_props = n;
    free(all);
    bs->state = 3;
}

static lh_status check_schema_refs(builder *b, build_schema *bs)
{
    lh_schema *s = bs->s;
    const char **lists[3] = {s->caption, s->featured, s->required};
    size_t counts[3] = {s->n_caption, s->n_featured, s->n_required};
    const char *names[3] = {"caption", "featured", "required"};
    for (int l = 0; l < 3; l++)
        for (size_t i = 0; i < counts[l]; i++)
            if (!lh_schema_prop(s, lists[l][i]))
                return lh_error_set(b->err, LH_ERR_INVALID,
                                    "%s: schema %s: %s: unknown property %s", b->origin,
                                    s->name, names[l], lists[l][i]);
    return LH_OK;
}

static lh_status build(builder *b, json_t *root)
{
    lh_model *m = b->m;
    json_t *schemata = json_object_get(root, "schemata");
    if (!json_is_object(schemata))
        return lh_error_set(b->err, LH_ERR_INVALID, "%s: schemata: expected a mapping", b->origin);
    const char *ver = spec_str(root, "version");
    m->version = adup(m, ver ? ver : "unknown");
    LH_TRY(parse_types(b, json_object_get(root, "types")));

    b->n = json_object_size(schemata);
    b->bs = lh_calloc(b->n ? b->n : 1, sizeof *b->bs);
    m->schemata = lh_arena_alloc(&m->arena, (b->n ? b->n : 1) * sizeof *m->schemata);
    m->n_schemata = b->n;
    size_t i = 0;
    const char *name;
    json_t *spec;
    json_object_foreach(schemata, name, spec) {
        if (!json_is_object(spec))
            return lh_error_set(b->err, LH_ERR_INVALID, "%s: schema %s: expected a mapping",
                                b->origin, name);
        lh_schema *s = lh_arena_alloc(&m->arena, sizeof *s);
        memset(s, 0, sizeof *s);
        s->name = adup(m, name);
        m->schemata[i++] = s;
    }
    qsort(m->schemata, m->n_schemata, sizeof *m->schemata, cmp_schema_ptr);
    for (i = 0; i < b->n; i++) {
        lh_schema *s = m->schemata[i];
        build_schema *bs = &b->bs[i];
        bs->s = s;
        bs->spec = json_object_get(schemata, s->name);
        const char *label = spec_str(bs->spec, "label");
        s->label = adup(m, label ? label : s->name);
        const char *plural = spec_str(bs->spec, "plural");
        s->plural = adup(m, plural ? plural : s->label);
        s->abstract = spec_bool(bs->spec, "abstract");
        s->matchable = spec_bool(bs->spec, "matchable");
        s->hidden = spec_bool(bs->spec, "hidden");
        s->generated = spec_bool(bs->spec, "generated");
        s->deprecated = spec_bool(bs->spec, "deprecated");
        LH_TRY(str_list(b, bs->spec, "caption", s->name, &s->caption, &s->n_caption));
        LH_TRY(str_list(b, bs->spec, "featured", s->name, &s->featured, &s->n_featured));
        LH_TRY(str_list(b, bs->spec, "required", s->name, &s->required, &s->n_required));
    }
    for (i = 0; i < b->n; i++) {
        build_schema *bs = &b->bs[i];
        const char **ext;
        size_t next;
        LH_TRY(str_list(b, bs->spec, "extends", bs->s->name, &ext, &next));
        bs->s->extends = lh_arena_alloc(&m->arena, (next ? next : 1) * sizeof(lh_schema *));
        for (size_t e = 0; e < next; e++) {
            build_schema *pb = find_build(b, ext[e]);
            if (!pb)
                return lh_error_set(b->err, LH_ERR_INVALID, "%s: schema %s: unknown extends %s",
                                    b->origin, bs->s->name, ext[e]);
            bs->s->extends[e] = pb->s;
        }
        bs->s->n_extends = next;
        LH_TRY(parse_props(b, bs));
    }
    for (i = 0; i < b->n; i++) LH_TRY(resolve_ancestors(b, &b->bs[i]));
    LH_TRY(add_reverse_stubs(b));
    for (i = 0; i < b->n; i++) resolve_props(b, &b->bs[i]);
    /* Descendants: every schema is a descendant of each of its ancestors. */
    size_t *counts = lh_calloc(b->n ? b->n : 1, sizeof *counts);
    for (i = 0; i < b->n; i++)
        for (size_t j = 0; j < m->schemata[i]->n_schemata; j++)
            if (m->schemata[i]->schemata[j] != m->schemata[i])
                counts[find_build(b, m->schemata[i]->schemata[j]->name) - b->bs]++;
    for (i = 0; i < b->n; i++) {
        m->schemata[i]->descendants =
            lh_arena_alloc(&m->arena, (counts[i] ? counts[i] : 1) * sizeof(lh_schema *));
        m->schemata[i]->n_descendants = 0;
    }
    free(counts);
    for (i = 0; i < b->n; i++) /* i ascends by name, so each list comes out sorted */
        for (size_t j = 0; j < m->schemata[i]->n_schemata; j++) {
            lh_schema *a = (lh_schema *)m->schemata[i]->schemata[j];
            if (a != m->schemata[i]) a->descendants[a->n_descendants++] = m->schemata[i];
        }
    for (i = 0; i < b->n; i++) LH_TRY(check_schema_refs(b, &b->bs[i]));
    return LH_OK;
}

lh_status lh_model_build(json_t *root, const char *origin, bool yaml, lh_model **out,
                         lh_error *err)
{
    *out = NULL;
    lh_model *m = lh_calloc(1, sizeof *m);
    lh_arena_init(&m->arena, 64 * 1024);
    builder b = {.m = m, .origin = origin, .yaml = yaml, .err = err};
    lh_status rc = build(&b, root);
    for (size_t i = 0; i < b.n; i++) free(b.bs[i].own);
    free(b.bs);
    if (rc != LH_OK) {
        lh_model_free(m);
        return rc;
    }
    *out = m;
    return LH_OK;
}

lh_status lh_model_load_json(const char *text, size_t n, const char *origin, lh_model **out,
                             lh_error *err)
{
    *out = NULL;
    json_error_t jerr;
    json_t *root = json_loadb(text, n, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return lh_error_set(err, LH_ERR_INVALID, "%s:%d: %s", origin, jerr.line, jerr.text);
    if (!json_is_object(root)) {
        json_decref(root);
        return lh_error_set(err, LH_ERR_INVALID, "%s: expected a JSON object", origin);
    }
    lh_status rc = lh_model_build(root, origin, false, out, err);
    json_decref(root);
    return rc;
}

lh_status lh_model_load(const char *path, lh_model **out, lh_error *err)
{
    *out = NULL;
    struct stat st;
    if (stat(path, &st) != 0) return lh_error_errno(err, LH_ERR_NOT_FOUND, errno, "%s", path);
    if (S_ISDIR(st.st_mode)) {
        json_t *root = NULL;
        LH_TRY(lh_model_yaml_dir(path, &root, err));
        lh_status rc = lh_model_build(root, path, true, out, err);
        json_decref(root);
        return rc;
    }
    lh_buf buf = LH_BUF_INIT;
    FILE *f = fopen(path, "rb");
    if (!f) return lh_error_errno(err, LH_ERR_IO, errno, "open %s", path);
    char chunk[65536];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) lh_buf_append(&buf, chunk, got);
    bool bad = ferror(f);
    fclose(f);
    if (bad) {
        lh_buf_free(&buf);
        return lh_error_set(err, LH_ERR_IO, "read %s", path);
    }
    lh_status rc = lh_model_load_json(buf.data ? buf.data : "", buf.len, path, out, err);
    lh_buf_free(&buf);
    return rc;
}

void lh_model_free(lh_model *m)
{
    if (!m) return;
    lh_arena_free(&m->arena);
    free(m);
}

