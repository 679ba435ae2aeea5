/* The `-q` grammar: ftmq's Aleph params (`filter:schema=Person&...`) into
 * a filter tree, as ftmq's params_to_expr builds it. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "equery_int.h"
#include "lh/core/buf.h"
#include "lh/core/mem.h"

/* Python's urllib.parse.unquote of s[0..n): %XX decoded, bytes that are
 * not UTF-8 replaced by U+FFFD, a malformed escape kept, `+` kept; *nul
 * set when an escape decodes to NUL (which would end the value early
 * here). */
static char *unquote(const char *s, size_t n, bool *nul)
{
    lh_buf b = LH_BUF_INIT;
    lh_percent_unquote(&b, s, n);
    /* s has no NUL of its own: one in b came from an escape */
    *nul = *nul || (b.len && memchr(b.data, 0, b.len));
    lh_buf text = LH_BUF_INIT;
    lh_utf8_append_replaced(&text, b.data ? b.data : "", b.len);
    lh_buf_free(&b);
    return lh_buf_detach(&text, NULL);
}

typedef enum mode { M_FILTER, M_EXCLUDE, M_EMPTY } mode;

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

/* One filter key (its mode, rest after the mode's prefix) with its values
 * (in order of appearance) into ftmq's node: `filter:OP:FIELD=V`, a key
 * given twice an `in`, `exclude:` the node negated (entities without the
 * field kept), `empty:` a null leaf. */
static lh_status parse_param(const lh_model *m, const char *key, mode md, const char *rest,
                             const lh_strlist *values, eq_node **out, lh_error *err)
{
    static const struct {
        const char *name;
        eq_op op;
    } OPS[] = {{"gte", OP_GTE},     {"gt", OP_GT},       {"lte", OP_LTE},
               {"lt", OP_LT},       {"like", OP_LIKE},   {"ilike", OP_ILIKE},
               {"startswith", OP_STARTS}, {"endswith", OP_ENDS}};
    eq_op op = md == M_EMPTY ? OP_EMPTY : OP_EQ;
    bool explicit_op = false;
    for (size_t o = 0; o < sizeof OPS / sizeof *OPS; o++) {
        size_t k = strlen(OPS[o].name);
        if (strncmp(rest, OPS[o].name, k) == 0 && rest[k] == ':') {
            explicit_op = true;
            if (md != M_EMPTY) op = OPS[o].op;
            rest += k + 1;
            break;
        }
    }
    bool list = op == OP_EQ && !explicit_op && values->len > 1;
    lh_strlist vals;
    lh_strlist_init(&vals);
    for (size_t i = 0; i < values->len && (list || i == 0); i++)
        lh_strlist_push(&vals, values->items[i]);
    char *ctx = lh_asprintf("query: `%s`", key);
    eq_leaf *l = NULL;
    lh_status rc = eq_leaf_new(m, ctx, rest, false, op, list, &vals, &l, err);
    free(ctx);
    lh_strlist_free(&vals);
    if (rc != LH_OK) return rc;
    *out = eq_node_of_leaf(l);
    if (md == M_EXCLUDE) (*out)->negated = true;
    return LH_OK;
}

/* The query string split into keys, each with its values in order. */
typedef struct params {
    lh_strlist keys;
    lh_strlist *values;
    char *nul_key; /* the first key whose value decodes a NUL, or NULL */
} params;

static void params_free(params *p)
{
    for (size_t i = 0; i < p->keys.len; i++) lh_strlist_free(&p->values[i]);
    free(p->values);
    lh_strlist_free(&p->keys);
    free(p->nul_key);
}

static void params_split(const char *text, params *p)
{
    lh_strlist_init(&p->keys);
    p->values = NULL;
    p->nul_key = NULL;
    for (const char *s = text; *s;) {
        const char *end = strchr(s, '&');
        size_t len = end ? (size_t)(end - s) : strlen(s);
        if (len) {
            const char *eq = memchr(s, '=', len);
            size_t klen = eq ? (size_t)(eq - s) : len;
            char *key = lh_strndup(s, klen);
            bool nul = false;
            char *val = eq ? unquote(eq + 1, len - klen - 1, &nul) : lh_strdup("");
            if (nul && !p->nul_key) p->nul_key = lh_strdup(key);
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

/* limit= and offset=: a count, as Python's int() reads one (blanks
 * around it, a sign, `_` between digits; an empty value is none); a
 * negative one is refused. */
static lh_status parse_count(const char *key, const char *v, int64_t *out, lh_error *err)
{
    if (!*v) return LH_OK;
    const char *p = v;
    while (isspace((unsigned char)*p)) p++;
    bool neg = *p == '-';
    if (*p == '+' || *p == '-') p++;
    uint64_t n = 0;
    bool digits = false, overflow = false;
    for (; *p; p++) {
        if (*p >= '0' && *p <= '9') {
            overflow = overflow || n > (uint64_t)(INT64_MAX - 9) / 10;
            n = n * 10 + (uint64_t)(*p - '0');
            digits = true;
        } else if (!(*p == '_' && digits && p[1] >= '0' && p[1] <= '9')) {
            break;
        }
    }
    while (isspace((unsigned char)*p)) p++;
    if (!digits || *p || overflow || (neg && n))
        return lh_error_set(err, LH_ERR_INVALID, "query: `%s`: `%s` is not a count", key, v);
    *out = (int64_t)n;
    return LH_OK;
}

/* sort=properties.NAME[:desc] (ftmq sorts by other fields too, but by a
 * row of the property named so: none, so only by id). */
static lh_status parse_sort(const lh_model *m, lh_equery *q, const char *v, lh_error *err)
{
    if (!*v) return LH_OK;
    const char *colon = strchr(v, ':');
    size_t n = colon ? (size_t)(colon - v) : strlen(v);
    char *field = lh_strndup(v, n);
    const char *prop = lh_str_startswith(field, "properties.") ? field + strlen("properties.") : NULL;
    bool known = prop && eq_prop_known(m, prop, &q->sort_numeric);
    lh_status rc = LH_OK;
    if (!prop)
        rc = lh_error_set(err, LH_ERR_INVALID, "query: `sort`: sorts by properties.NAME here, not "
                          "`%s`", field);
    else if (!known)
        rc = lh_error_set(err, LH_ERR_INVALID, "query: `sort`: no schema has a property `%s`", prop);
    else
        q->sort_prop = lh_strdup(prop);
    q->sort_desc = colon && strcmp(colon + 1, "desc") == 0;
    free(field);
    return rc;
}

/* sort, limit, offset: ftmq's order and slice of the matches. */
static lh_status parse_order(const lh_model *m, lh_equery *q, const params *p, lh_error *err)
{
    static const char *const KEYS[] = {"sort", "limit", "offset"};
    for (size_t k = 0; k < p->keys.len; k++)
        for (size_t i = 0; i < 3; i++) {
            if (strcmp(p->keys.items[k], KEYS[i]) != 0) continue;
            if (p->values[k].len > 1)
                return lh_error_set(err, LH_ERR_INVALID, "query: `%s` takes a single value",
                                    KEYS[i]);
            const char *v = p->values[k].items[0];
            if (i == 0) LH_TRY(parse_sort(m, q, v, err));
            else LH_TRY(parse_count(KEYS[i], v, i == 1 ? &q->limit : &q->offset, err));
        }
    q->ordered = q->sort_prop || q->limit >= 0 || q->offset > 0;
    return LH_OK;
}

static bool is_order_key(const char *key)
{
    return !strcmp(key, "sort") || !strcmp(key, "limit") || !strcmp(key, "offset");
}

static lh_status refused_key(const char *key, lh_error *err)
{
    static const char *const REFUSED[] = {"facet", "facet_sort", "select"};
    for (size_t i = 0; i < sizeof REFUSED / sizeof *REFUSED; i++)
        if (strcmp(key, REFUSED[i]) == 0)
            return lh_error_set(err, LH_ERR_INVALID,
                                "query: `%s` is not supported here (filters, sort, limit and "
                                "offset only)", key);
    if (lh_str_startswith(key, "metric:") || lh_str_startswith(key, "facet_size:"))
        return lh_error_set(err, LH_ERR_INVALID, "query: `%s`: aggregations are not supported here",
                            key);
    return lh_error_set(err, LH_ERR_INVALID,
                        "query: unknown parameter `%s` (expected filter:, exclude: or empty:)", key);
}

lh_status lh_equery_parse(const lh_model *m, const char *text, lh_equery **out, lh_error *err)
{
    *out = NULL;
    params p;
    params_split(text ? text : "", &p);
    if (p.nul_key) {
        lh_status rc = lh_error_set(err, LH_ERR_INVALID,
                                    "query: `%s`: %%00 (a NUL byte) in a value is not supported",
                                    p.nul_key);
        params_free(&p);
        return rc;
    }
    eq_item *items = lh_calloc(p.keys.len ? p.keys.len : 1, sizeof *items);
    size_t n = 0;
    lh_status rc = LH_OK;
    for (size_t i = 0; rc == LH_OK && i < p.keys.len; i++) {
        const char *key = p.keys.items[i], *rest;
        mode md;
        if (is_order_key(key)) continue;
        if (!key_mode(key, &md, &rest)) rc = refused_key(key, err);
        else if ((rc = parse_param(m, key, md, rest, &p.values[i], &items[n].node, err)) == LH_OK)
            n++;
    }
    if (rc != LH_OK) {
        for (size_t i = 0; i < n; i++) eq_node_free(items[i].node);
        free(items);
        params_free(&p);
        return rc;
    }
    lh_equery *q = eq_query_new(m, eq_combine(false, items, n));
    free(items);
    rc = parse_order(m, q, &p, err);
    params_free(&p);
    if (rc != LH_OK) {
        lh_equery_free(q);
        return rc;
    }
    *out = q;
    return LH_OK;
}
