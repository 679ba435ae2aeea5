/* The `--rql` grammar: pyrql's Resource Query Language read as ftmq's
 * Query.from_rql reads it, into the filter tree of equery.c.
 *
 * pyrql's grammar, as its parser accepts it: QUERY is AND-lists joined by
 * `,`; an AND-list is operators joined by `&`; an operator is a group
 * `(a|b|...)` (only `|` inside parentheses), a comparison `field=value` or
 * `field=op=value`, or a call `name(arg,...)`. Values: `true`, `false`,
 * `null`, typed `string:`/`number:`/`boolean:` (and others), arrays
 * `(a,b)`, numbers (converted: `007` is 7, `1.50` is 1.5), else strings of
 * letters, digits, ` -:._~@!*+$` and %XX escapes (each decoded alone).
 * Whitespace before a token is skipped; inside a string it is kept. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "equery_int.h"
#include "lh/core/buf.h"
#include "lh/core/mem.h"

typedef enum rkind { R_STR, R_INT, R_FLOAT, R_BOOL, R_NULL, R_ARRAY, R_CALL } rkind;

/* A parsed RQL term: a scalar (text is its Python str()), an array or a
 * call (name, args); [from, to) is its span in the query text. */
typedef struct rterm {
    rkind kind;
    char *text;
    struct rterm **args;
    size_t n;
    size_t from, to;
} rterm;

typedef struct rparser {
    const char *s;
    size_t pos;
    size_t fail_pos; /* the furthest position a token was expected at */
    char expected[16];
    lh_error *err;
    bool refused; /* err is set: stop, no syntax error */
    int depth;    /* of groups, calls and arrays: bounds the recursion */
} rparser;

enum { MAX_DEPTH = 256 };

static void *refuse(rparser *p, const char *msg, const char *arg)
{
    if (!p->refused) lh_error_set(p->err, LH_ERR_INVALID, msg, arg);
    p->refused = true;
    return NULL;
}

static void term_free(rterm *t)
{
    if (!t) return;
    for (size_t i = 0; i < t->n; i++) term_free(t->args[i]);
    free(t->args);
    free(t->text);
    free(t);
}

static rterm *term_new(rkind kind, char *text, size_t from)
{
    rterm *t = lh_calloc(1, sizeof *t);
    t->kind = kind;
    t->text = text;
    t->from = from;
    return t;
}

static void term_add(rterm *t, rterm *arg)
{
    t->args = lh_realloc(t->args, (t->n + 1) * sizeof *t->args);
    t->args[t->n++] = arg;
}

static void expect(rparser *p, const char *what)
{
    if (p->pos >= p->fail_pos) {
        p->fail_pos = p->pos;
        snprintf(p->expected, sizeof p->expected, "%s", what);
    }
}

/* pyparsing skips these before every token */
static const char *skip_blank(const char *s)
{
    while (*s && strchr(" \t\n\r", *s)) s++;
    return s;
}

static void skip_ws(rparser *p)
{
    p->pos = (size_t)(skip_blank(p->s + p->pos) - p->s);
}

static bool punct(rparser *p, char c)
{
    skip_ws(p);
    if (p->s[p->pos] == c) {
        p->pos++;
        return true;
    }
    char what[4] = {'\'', c, '\'', '\0'};
    expect(p, what);
    return false;
}

static bool ident_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '$';
}

/* pyparsing's identifier: [A-Za-z_][A-Za-z0-9_]*; its length at pos. */
static size_t name_len(const char *s)
{
    if (!isalpha((unsigned char)s[0]) && s[0] != '_') return 0;
    size_t n = 1;
    while (isalnum((unsigned char)s[n]) || s[n] == '_') n++;
    return n;
}

/* A keyword at s: the word, then no identifier character. */
static bool keyword(const char *s, const char *word)
{
    size_t n = strlen(word);
    return strncmp(s, word, n) == 0 && !ident_char(s[n]);
}

/* The string token at s: its length, and (out non-NULL) its decoded text.
 * Non-ASCII bytes are taken as letters (pyparsing takes Unicode letters
 * and digits only). An escape of a byte above 0x7f decodes, alone, to
 * U+FFFD as Python's unquote does. *nul: an escape decoded to NUL. */
static size_t string_len(const char *s, lh_buf *out, bool *nul)
{
    size_t i = 0;
    for (;;) {
        unsigned char c = (unsigned char)s[i];
        if (c == '%' && lh_hex_value(s[i + 1]) >= 0 && lh_hex_value(s[i + 2]) >= 0) {
            int v = lh_hex_value(s[i + 1]) * 16 + lh_hex_value(s[i + 2]);
            if (out && v >= 0x80) lh_buf_append(out, "\xef\xbf\xbd", 3);
            else if (out) lh_buf_append_byte(out, (char)v);
            if (v == 0 && nul) *nul = true;
            i += 3;
        } else if (c && (isalnum(c) || c >= 0x80 || strchr("-:._~ @!*+$", c))) {
            if (out) lh_buf_append_byte(out, (char)c);
            i++;
        } else {
            return i;
        }
    }
}

static size_t exponent_len(const char *s)
{
    if (s[0] != 'e' && s[0] != 'E') return 0;
    size_t k = 1;
    if (s[k] == '+' || s[k] == '-') k++;
    if (!isdigit((unsigned char)s[k])) return 0;
    while (isdigit((unsigned char)s[k])) k++;
    return k;
}

/* pyparsing_common.number at s (sci_real | real | signed_integer, first
 * match): its length, 0 for none; *is_float for the real forms. */
static size_t number_len(const char *s, bool *is_float)
{
    size_t i = (s[0] == '+' || s[0] == '-') ? 1 : 0, d0 = i;
    while (isdigit((unsigned char)s[i])) i++;
    bool digits = i > d0;
    size_t e;
    if (digits && (e = exponent_len(s + i))) {
        *is_float = true;
        return i + e;
    }
    size_t j = 0;
    if (digits && s[i] == '.') j = i + 1;
    else if (!digits && s[i] == '.' && isdigit((unsigned char)s[i + 1])) j = i + 1;
    if (j) {
        while (isdigit((unsigned char)s[j])) j++;
        *is_float = true;
        return j + exponent_len(s + j);
    }
    *is_float = false;
    return digits ? i : 0;
}

/* Python's str(int(text)) for an integer literal. */
static char *int_text(const char *s, size_t n)
{
    bool neg = s[0] == '-';
    size_t i = (s[0] == '+' || s[0] == '-') ? 1 : 0;
    while (i + 1 < n && s[i] == '0') i++;
    lh_buf b = LH_BUF_INIT;
    if (neg && !(n - i == 1 && s[i] == '0')) lh_buf_append_byte(&b, '-');
    lh_buf_append(&b, s + i, n - i);
    return lh_buf_detach(&b, NULL);
}

/* Python's repr(float(text)): the shortest digits that read back as the
 * same double, in exponent form when the exponent is below -4 or above
 * 15, else positional with at least one fractional digit. */
static char *float_text(const char *s, size_t n)
{
    char *lit = lh_strndup(s, n);
    double x = strtod(lit, NULL);
    free(lit);
    if (isinf(x)) return lh_strdup(x < 0 ? "-inf" : "inf");
    char buf[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*e", prec - 1, x);
        if (strtod(buf, NULL) == x) break;
    }
    /* buf: [-]d[.ddd]e[+-]XX */
    bool neg = buf[0] == '-';
    char digits[24];
    size_t nd = 0;
    const char *p = buf + neg;
    for (; *p && *p != 'e'; p++)
        if (isdigit((unsigned char)*p)) digits[nd++] = *p;
    int exp10 = atoi(p + 1);
    while (nd > 1 && digits[nd - 1] == '0') nd--;
    int decpt = exp10 + 1; /* digits before the point */
    lh_buf b = LH_BUF_INIT;
    if (neg) lh_buf_append_byte(&b, '-');
    if (decpt > 16 || decpt < -3) {
        lh_buf_append_byte(&b, digits[0]);
        if (nd > 1) {
            lh_buf_append_byte(&b, '.');
            lh_buf_append(&b, digits + 1, nd - 1);
        }
        lh_buf_printf(&b, "e%c%02d", exp10 < 0 ? '-' : '+', abs(exp10));
    } else if (decpt <= 0) {
        lh_buf_append(&b, "0.", 2);
        for (int i = 0; i < -decpt; i++) lh_buf_append_byte(&b, '0');
        lh_buf_append(&b, digits, nd);
    } else {
        for (int i = 0; i < decpt; i++) lh_buf_append_byte(&b, (size_t)i < nd ? digits[i] : '0');
        lh_buf_append_byte(&b, '.');
        if ((size_t)decpt < nd) lh_buf_append(&b, digits + decpt, nd - (size_t)decpt);
        else lh_buf_append_byte(&b, '0');
    }
    return lh_buf_detach(&b, NULL);
}

static rterm *parse_value(rparser *p);

/* A number or a string, the longer (a tie to the number, as pyparsing's Or). */
static rterm *number_or_string(rparser *p, const char *at, size_t from)
{
    bool is_float = false, nul = false;
    size_t nl = number_len(at, &is_float), sl = string_len(at, NULL, NULL);
    if (!sl) {
        expect(p, "a value");
        return NULL;
    }
    p->pos += sl;
    if (nl == sl)
        return term_new(is_float ? R_FLOAT : R_INT, is_float ? float_text(at, nl) : int_text(at, nl),
                        from);
    lh_buf b = LH_BUF_INIT;
    string_len(at, &b, &nul);
    if (nul) {
        lh_buf_free(&b);
        return refuse(p, "rql: %s (a NUL byte) in a value is not supported", "%00");
    }
    return term_new(R_STR, lh_buf_detach(&b, NULL), from);
}

/* A typed value `kind:...`, NULL (pos kept) when it does not parse as one
 * (pyparsing then reads the text as a plain value). */
static rterm *typed_value(rparser *p, const char *at, size_t from)
{
    static const char *const UNSUPPORTED[] = {"date", "datetime", "epoch", "uuid", "decimal"};
    for (size_t i = 0; i < sizeof UNSUPPORTED / sizeof *UNSUPPORTED; i++)
        if (keyword(at, UNSUPPORTED[i]) && at[strlen(UNSUPPORTED[i])] == ':')
            return refuse(p, "rql: typed values `%s:` are not supported here (string:, number:, "
                             "boolean:)", UNSUPPORTED[i]);
    if (keyword(at, "boolean") && at[7] == ':') {
        const char *v = skip_blank(at + 8);
        bool t = keyword(v, "true");
        if (t || keyword(v, "false")) {
            p->pos = (size_t)(v - p->s) + (t ? 4 : 5);
            return term_new(R_BOOL, lh_strdup(t ? "True" : "False"), from);
        }
    }
    if (keyword(at, "number") && at[6] == ':') {
        bool is_float = false;
        const char *v = skip_blank(at + 7);
        size_t nl = number_len(v, &is_float);
        if (nl) {
            p->pos = (size_t)(v - p->s) + nl;
            return term_new(is_float ? R_FLOAT : R_INT,
                            is_float ? float_text(v, nl) : int_text(v, nl), from);
        }
    }
    if (keyword(at, "string") && at[6] == ':') {
        bool nul = false;
        const char *v = skip_blank(at + 7);
        lh_buf b = LH_BUF_INIT;
        size_t sl = string_len(v, &b, &nul);
        if (nul) {
            lh_buf_free(&b);
            return refuse(p, "rql: %s (a NUL byte) in a value is not supported", "%00");
        }
        if (sl) {
            p->pos = (size_t)(v - p->s) + sl;
            return term_new(R_STR, lh_buf_detach(&b, NULL), from);
        }
        lh_buf_free(&b);
    }
    return NULL;
}

static rterm *parse_value_at(rparser *p);

static rterm *nested(rparser *p, rterm *(*parse)(rparser *))
{
    if (p->depth >= MAX_DEPTH)
        return refuse(p, "rql: nested deeper than %s levels", "256");
    p->depth++;
    rterm *t = parse(p);
    p->depth--;
    return t;
}

static rterm *parse_value(rparser *p)
{
    return nested(p, parse_value_at);
}

/* Items separated by `,` up to `)`, added to t (freed on failure). */
static rterm *parse_items(rparser *p, rterm *t, rterm *(*item)(rparser *))
{
    do {
        rterm *v = item(p);
        if (!v) {
            term_free(t);
            return NULL;
        }
        term_add(t, v);
    } while (punct(p, ','));
    if (!punct(p, ')')) {
        term_free(t);
        return NULL;
    }
    t->to = p->pos;
    return t;
}

static rterm *parse_value_at(rparser *p)
{
    skip_ws(p);
    size_t from = p->pos;
    const char *at = p->s + p->pos;
    rterm *t = typed_value(p, at, from);
    if (t) t->to = p->pos;
    if (t || p->refused) return t;
    if (*at == '(') {
        p->pos++;
        return parse_items(p, term_new(R_ARRAY, NULL, from), parse_value);
    }
    static const struct {
        const char *word, *text;
        rkind kind;
    } WORDS[] = {{"true", "True", R_BOOL}, {"false", "False", R_BOOL}, {"null", NULL, R_NULL}};
    for (size_t i = 0; i < sizeof WORDS / sizeof *WORDS; i++)
        if (keyword(at, WORDS[i].word)) {
            p->pos += strlen(WORDS[i].word);
            t = term_new(WORDS[i].kind, WORDS[i].text ? lh_strdup(WORDS[i].text) : NULL, from);
            t->to = p->pos;
            return t;
        }
    t = number_or_string(p, at, from);
    if (t) t->to = p->pos;
    return t;
}

static rterm *parse_operator_at(rparser *p);

static rterm *parse_operator(rparser *p)
{
    return nested(p, parse_operator_at);
}

static rterm *call_of(const char *name, size_t n, size_t from)
{
    return term_new(R_CALL, lh_strndup(name, n), from);
}

/* A list of items joined by sep, as one call named name when there are
 * several. */
static rterm *parse_joined(rparser *p, char sep, const char *name, rterm *(*item)(rparser *))
{
    skip_ws(p);
    size_t from = p->pos;
    rterm *first = item(p);
    if (!first) return NULL;
    rterm *all = NULL;
    for (;;) {
        size_t before = p->pos;
        if (!punct(p, sep)) break;
        rterm *next = item(p);
        if (!next) {
            if (p->refused) break;
            p->pos = before;
            break;
        }
        if (!all) {
            all = call_of(name, strlen(name), from);
            term_add(all, first);
        }
        term_add(all, next);
    }
    rterm *t = all ? all : first;
    if (p->refused) {
        term_free(t);
        return NULL;
    }
    t->to = p->pos;
    return t;
}

/* `(a|b|...)`: pyparsing tries `|` first and then needs the `)`. */
static rterm *parse_group(rparser *p)
{
    size_t from = p->pos;
    if (!punct(p, '(')) return NULL;
    rterm *t = parse_joined(p, '|', "or", parse_operator);
    if (!t || !punct(p, ')')) {
        term_free(t);
        return NULL;
    }
    t->from = from;
    t->to = p->pos;
    return t;
}

/* `field=value` or FIQL's `field=op=value`. */
static rterm *parse_comparison(rparser *p)
{
    size_t from = p->pos;
    rterm *field = parse_value(p);
    if (!field || !punct(p, '=')) {
        term_free(field);
        return NULL;
    }
    size_t before = p->pos;
    skip_ws(p);
    const char *op = p->s + p->pos;
    size_t opn = name_len(op);
    p->pos += opn;
    if (!opn || !punct(p, '=')) {
        p->pos = before;
        opn = 0;
    }
    rterm *value = parse_value(p);
    if (!value) {
        term_free(field);
        return NULL;
    }
    rterm *t = opn ? call_of(op, opn, from) : call_of("eq", 2, from);
    term_add(t, field);
    term_add(t, value);
    t->to = p->pos;
    return t;
}

static rterm *parse_call(rparser *p);

/* A call's argument: a call, else a value. */
static rterm *parse_argument(rparser *p)
{
    size_t at = p->pos;
    rterm *arg = nested(p, parse_call);
    if (arg || p->refused) return arg;
    p->pos = at;
    return parse_value(p);
}

/* `name(arg,...)`, an argument a call or a value. */
static rterm *parse_call(rparser *p)
{
    skip_ws(p);
    size_t from = p->pos;
    const char *name = p->s + p->pos;
    size_t n = name_len(name);
    if (!n) {
        expect(p, "an operator");
        return NULL;
    }
    p->pos += n;
    if (!punct(p, '(')) return NULL;
    if (n == 4 && strncmp(name, "sort", 4) == 0)
        return refuse(p, "rql: `%s` is not supported here (filters only)", "sort");
    rterm *call = call_of(name, n, from);
    size_t before = p->pos;
    skip_ws(p);
    if (p->s[p->pos] == ')') {
        p->pos++;
        call->to = p->pos;
        return call;
    }
    p->pos = before;
    return parse_items(p, call, parse_argument);
}

/* pyparsing's MatchFirst: a group, a comparison, a call. */
static rterm *parse_operator_at(rparser *p)
{
    skip_ws(p);
    size_t start = p->pos;
    rterm *(*const ways[])(rparser *) = {parse_group, parse_comparison, parse_call};
    for (size_t i = 0; i < sizeof ways / sizeof *ways; i++) {
        p->pos = start;
        rterm *t = ways[i](p);
        if (t || p->refused) return t;
    }
    return NULL;
}

static rterm *parse_and_list(rparser *p)
{
    return parse_joined(p, '&', "and", parse_operator);
}

/* ---- the tree, as ftmq's rql_to_expr builds it ---- */

static char *span(const char *text, const rterm *t)
{
    return lh_asprintf("rql: `%.*s`", (int)(t->to - t->from), text + t->from);
}

static bool is_scalar(const rterm *t)
{
    return t->kind == R_STR || t->kind == R_INT || t->kind == R_FLOAT || t->kind == R_BOOL;
}

/* A comparison's values: a scalar, or for in / out an array of them. */
static lh_status leaf_values(const char *ctx, const rterm *v, bool list, bool strip_stars,
                             lh_strlist *out, lh_error *err)
{
    if (v->kind == R_NULL)
        return lh_error_set(err, LH_ERR_INVALID, "%s: null values are not supported here", ctx);
    if (v->kind == R_CALL)
        return lh_error_set(err, LH_ERR_INVALID, "%s: a value, not an operator, is expected",
                            ctx);
    if (v->kind == R_ARRAY && !list)
        return lh_error_set(err, LH_ERR_INVALID, "%s: an array is a value of in() and out() only",
                            ctx);
    const rterm *const *vals = v->kind == R_ARRAY ? (const rterm *const *)v->args : &v;
    size_t n = v->kind == R_ARRAY ? v->n : 1;
    for (size_t i = 0; i < n; i++) {
        if (!is_scalar(vals[i]))
            return lh_error_set(err, LH_ERR_INVALID, "%s: the array takes plain values only", ctx);
        if (!strip_stars || vals[i]->kind != R_STR) {
            lh_strlist_push(out, vals[i]->text);
            continue;
        }
        /* RQL's wildcard; ftmq's like / ilike match substrings anyway */
        lh_buf b = LH_BUF_INIT;
        for (const char *c = vals[i]->text; *c; c++)
            if (*c != '*') lh_buf_append_byte(&b, *c);
        lh_strlist_push_owned(out, lh_buf_detach(&b, NULL));
    }
    return LH_OK;
}

static lh_status to_leaf(const lh_model *m, const char *text, const rterm *t, eq_node **out,
                         lh_error *err)
{
    static const struct {
        const char *name;
        eq_op op;
        bool list;
    } OPS[] = {{"eq", OP_EQ, false},  {"ne", OP_NE, false},     {"lt", OP_LT, false},
               {"le", OP_LTE, false}, {"gt", OP_GT, false},     {"ge", OP_GTE, false},
               {"in", OP_EQ, true},   {"out", OP_NE, true},     {"like", OP_LIKE, false},
               {"ilike", OP_ILIKE, false}, {"contains", OP_LIKE, false}};
    static const char *const AGGREGATES[] = {"sum", "min", "max", "mean", "count", "aggregate",
                                             "select"};
    char *ctx = span(text, t);
    lh_status rc = LH_OK;
    size_t o = 0;
    while (o < sizeof OPS / sizeof *OPS && strcmp(OPS[o].name, t->text) != 0) o++;
    if (o == sizeof OPS / sizeof *OPS) {
        rc = lh_error_set(err, LH_ERR_INVALID, "%s: unsupported RQL operator `%s`", ctx, t->text);
        for (size_t a = 0; a < sizeof AGGREGATES / sizeof *AGGREGATES; a++)
            if (strcmp(t->text, AGGREGATES[a]) == 0)
                rc = lh_error_set(err, LH_ERR_INVALID,
                                  "%s: `%s` is not supported here (filters only)", ctx, t->text);
    } else if (t->n != 2) {
        /* the reference reads the first two and drops the rest unread */
        rc = lh_error_set(err, LH_ERR_INVALID, "%s: `%s` takes a field and a value%s", ctx,
                          t->text, OPS[o].list ? " (an array: in(field,(a,b)))" : "");
    } else if (t->args[0]->kind != R_STR) {
        rc = lh_error_set(err, LH_ERR_INVALID, "%s: the field must be a name", ctx);
    }
    lh_strlist vals;
    lh_strlist_init(&vals);
    if (rc == LH_OK)
        rc = leaf_values(ctx, t->args[1], OPS[o].list, OPS[o].op == OP_LIKE || OPS[o].op == OP_ILIKE,
                         &vals, err);
    eq_leaf *l = NULL;
    if (rc == LH_OK)
        rc = eq_leaf_new(m, ctx, t->args[0]->text, true, OPS[o].op, OPS[o].list, &vals, &l, err);
    lh_strlist_free(&vals);
    free(ctx);
    if (rc == LH_OK) *out = eq_node_of_leaf(l);
    return rc;
}

static lh_status to_node(const lh_model *m, const char *text, const rterm *t, eq_node **out,
                         lh_error *err);

/* The nodes of terms [0, n) combined under one connector. */
static lh_status to_group(const lh_model *m, const char *text, rterm *const *terms, size_t n,
                          bool or, eq_node **out, lh_error *err)
{
    *out = NULL;
    eq_item *items = lh_calloc(n ? n : 1, sizeof *items);
    lh_status rc = LH_OK;
    size_t k = 0;
    for (; rc == LH_OK && k < n; k++) rc = to_node(m, text, terms[k], &items[k].node, err);
    if (rc == LH_OK) *out = eq_combine(or, items, n);
    else
        for (size_t i = 0; i < k; i++) eq_node_free(items[i].node);
    free(items);
    return rc;
}

static lh_status to_node(const lh_model *m, const char *text, const rterm *t, eq_node **out,
                         lh_error *err)
{
    *out = NULL;
    if (t->kind != R_CALL) {
        char *ctx = span(text, t);
        lh_status rc = lh_error_set(err, LH_ERR_INVALID, "%s: an operator is expected", ctx);
        free(ctx);
        return rc;
    }
    bool or = strcmp(t->text, "or") == 0;
    if (or || strcmp(t->text, "and") == 0) {
        if (!t->n) {
            char *ctx = span(text, t);
            lh_status rc = lh_error_set(err, LH_ERR_INVALID, "%s: empty group", ctx);
            free(ctx);
            return rc;
        }
        return to_group(m, text, t->args, t->n, or, out, err);
    }
    if (strcmp(t->text, "not") == 0) {
        if (t->n != 1) {
            /* the reference negates the first and drops the rest unread */
            char *ctx = span(text, t);
            lh_status rc = lh_error_set(err, LH_ERR_INVALID,
                                        "%s: not() takes one operator (not(and(a,b)) for several)",
                                        ctx);
            free(ctx);
            return rc;
        }
        LH_TRY(to_node(m, text, t->args[0], out, err));
        (*out)->negated = !(*out)->negated;
        return LH_OK;
    }
    return to_leaf(m, text, t, out, err);
}

lh_status lh_equery_parse_rql(const lh_model *m, const char *text, lh_equery **out, lh_error *err)
{
    *out = NULL;
    if (!text || !*text) {
        *out = eq_query_new(m, NULL);
        return LH_OK;
    }
    rparser p = {.s = text, .err = err};
    rterm *t = parse_joined(&p, ',', "and", parse_and_list);
    if (t) {
        skip_ws(&p);
        if (p.s[p.pos]) {
            expect(&p, "the end");
            term_free(t);
            t = NULL;
        }
    }
    if (!t) {
        if (p.refused) return LH_ERR_INVALID;
        return lh_error_set(err, LH_ERR_INVALID, "rql: syntax error at character %zu of `%s`: %s "
                            "expected", p.fail_pos + 1, text, *p.expected ? p.expected : "a value");
    }
    /* a top-level and() is the filter list: empty, no filter */
    bool top_and = strcmp(t->text ? t->text : "", "and") == 0 && t->kind == R_CALL;
    eq_node *root = NULL;
    lh_status rc = top_and ? to_group(m, text, t->args, t->n, false, &root, err)
                           : to_node(m, text, t, &root, err);
    term_free(t);
    if (rc != LH_OK) return rc;
    *out = eq_query_new(m, root);
    return LH_OK;
}
