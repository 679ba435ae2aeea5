/* YAML to JSON values, resolved as PyYAML's safe_load (yaml.h). */
#include "lh/core/yaml.h"

#include <errno.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "lh/core/mem.h"

#define MAX_DEPTH 64 /* nesting: a hostile file must not exhaust the stack */

typedef struct loader {
    yaml_parser_t p;
    const char *what;
    lh_error *err;
} loader;

static lh_status fail_at(loader *l, size_t line, const char *msg)
{
    return lh_error_set(l->err, LH_ERR_CORRUPT, "%s:%zu: %s", l->what, line + 1, msg);
}

static lh_status next(loader *l, yaml_event_t *ev)
{
    if (yaml_parser_parse(&l->p, ev)) return LH_OK;
    return fail_at(l, l->p.problem_mark.line, l->p.problem ? l->p.problem : "malformed YAML");
}

static bool one_of(const char *s, const char *const *words)
{
    for (; *words; words++)
        if (strcmp(s, *words) == 0) return true;
    return false;
}

/* Digits (of base) and underscores, at least one digit; the value without
 * the underscores into *v. */
static bool digits(const char *s, int base, long long *v)
{
    char buf[80];
    size_t n = 0;
    for (; *s; s++) {
        if (*s == '_') continue;
        if (n + 1 >= sizeof buf) return false;
        buf[n++] = *s;
    }
    buf[n] = 0;
    if (!n) return false;
    char *end;
    errno = 0;
    *v = strtoll(buf, &end, base);
    if (*end || errno) return false;
    for (size_t i = 0; i < n; i++) /* strtoll takes a sign or spaces: not here */
        if (buf[i] == '-' || buf[i] == '+' || buf[i] == ' ') return false;
    return true;
}

static json_t *as_int(const char *s)
{
    int sign = 1;
    if (*s == '-' || *s == '+') sign = *s++ == '-' ? -1 : 1;
    long long v;
    bool ok;
    if (s[0] == '0' && s[1] == 'x') ok = digits(s + 2, 16, &v);
    else if (s[0] == '0' && s[1] == 'b') ok = digits(s + 2, 2, &v);
    else if (s[0] == '0' && s[1]) ok = digits(s + 1, 8, &v); /* YAML 1.1: 012 is octal */
    else ok = (s[0] >= '1' && s[0] <= '9') || strcmp(s, "0") == 0 ? digits(s, 10, &v) : false;
    return ok ? json_integer(sign * v) : NULL;
}

/* [-+]? digits . digits? ([eE][-+]digits)?  or  . digits ...: PyYAML's
 * float wants the dot, and a sign on the exponent. */
static json_t *as_float(const char *s)
{
    const char *p = s;
    if (*p == '-' || *p == '+') p++;
    size_t before = strspn(p, "0123456789_");
    if (before && p[0] == '_') return NULL;
    p += before;
    if (*p != '.') return NULL;
    p++;
    size_t after = strspn(p, "0123456789_");
    if (!before && (!after || p[0] == '_')) return NULL;
    p += after;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p != '-' && *p != '+') return NULL;
        p++;
        size_t exp = strspn(p, "0123456789");
        if (!exp) return NULL;
        p += exp;
    }
    if (*p) return NULL;
    char buf[128];
    size_t n = 0;
    for (const char *q = s; *q && n + 1 < sizeof buf; q++)
        if (*q != '_') buf[n++] = *q;
    buf[n] = 0;
    return json_real(strtod(buf, NULL));
}

static json_t *scalar(const yaml_event_t *ev)
{
    const char *s = (const char *)ev->data.scalar.value;
    const char *tag = (const char *)ev->data.scalar.tag;
    bool plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    if (tag && strcmp(tag, YAML_STR_TAG) == 0) plain = false;
    if (!plain) return json_stringn(s, ev->data.scalar.length);
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL", NULL};
    static const char *const trues[] = {"yes", "Yes", "YES", "true", "True", "TRUE",
                                        "on",  "On",  "ON",  NULL};
    static const char *const falses[] = {"no",    "No",    "NO",  "false", "False",
                                         "FALSE", "off",   "Off", "OFF",   NULL};
    if (one_of(s, nulls)) return json_null();
    if (one_of(s, trues)) return json_true();
    if (one_of(s, falses)) return json_false();
    json_t *v = as_int(s);
    if (!v) v = as_float(s);
    /* .inf and .nan have no JSON form; dates and sexagesimals stay text */
    return v ? v : json_stringn(s, ev->data.scalar.length);
}

static lh_status node(loader *l, yaml_event_t *ev, int depth, json_t **out);

static lh_status collection(loader *l, bool mapping, size_t line, int depth, json_t **out)
{
    if (depth >= MAX_DEPTH) return fail_at(l, line, "nested too deeply");
    json_t *c = mapping ? json_object() : json_array();
    yaml_event_type_t end = mapping ? YAML_MAPPING_END_EVENT : YAML_SEQUENCE_END_EVENT;
    lh_status rc = LH_OK;
    for (;;) {
        yaml_event_t ev;
        if ((rc = next(l, &ev)) != LH_OK) break;
        if (ev.type == end) {
            yaml_event_delete(&ev);
            break;
        }
        char *key = NULL;
        if (mapping) {
            if (ev.type != YAML_SCALAR_EVENT) {
                rc = fail_at(l, ev.start_mark.line, "a mapping key that is not a scalar");
                yaml_event_delete(&ev);
                break;
            }
            key = lh_malloc(ev.data.scalar.length + 1);
            memcpy(key, ev.data.scalar.value, ev.data.scalar.length);
            key[ev.data.scalar.length] = 0;
            yaml_event_delete(&ev);
            if ((rc = next(l, &ev)) != LH_OK) {
                free(key);
                break;
            }
        }
        json_t *v = NULL;
        rc = node(l, &ev, depth + 1, &v);
        yaml_event_delete(&ev);
        if (rc == LH_OK) {
            if (mapping) json_object_set_new(c, key, v);
            else json_array_append_new(c, v);
        }
        free(key);
        if (rc != LH_OK) break;
    }
    if (rc != LH_OK) {
        json_decref(c);
        return rc;
    }
    *out = c;
    return LH_OK;
}

static lh_status node(loader *l, yaml_event_t *ev, int depth, json_t **out)
{
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        if (ev->data.scalar.anchor) break;
        *out = scalar(ev);
        return LH_OK;
    case YAML_SEQUENCE_START_EVENT:
        if (ev->data.sequence_start.anchor) break;
        return collection(l, false, ev->start_mark.line, depth, out);
    case YAML_MAPPING_START_EVENT:
        if (ev->data.mapping_start.anchor) break;
        return collection(l, true, ev->start_mark.line, depth, out);
    default: break;
    }
    return fail_at(l, ev->start_mark.line, "anchors and aliases are not supported");
}

/* After the first document's node: the stream must end with it, as
 * PyYAML's safe_load wants ("expected a single document"). */
static lh_status single_document(loader *l)
{
    for (;;) {
        yaml_event_t ev;
        LH_TRY(next(l, &ev));
        yaml_event_type_t t = ev.type;
        size_t line = ev.start_mark.line;
        yaml_event_delete(&ev);
        if (t == YAML_STREAM_END_EVENT) return LH_OK;
        if (t == YAML_DOCUMENT_START_EVENT)
            return fail_at(l, line, "expected a single document, found another");
    }
}

lh_status lh_yaml_load(const char *text, size_t len, const char *what, json_t **out,
                       lh_error *err)
{
    *out = NULL;
    loader l = {.what = what, .err = err};
    yaml_parser_initialize(&l.p);
    yaml_parser_set_input_string(&l.p, (const unsigned char *)text, len);
    lh_status rc = LH_OK;
    json_t *doc = NULL;
    for (;;) {
        yaml_event_t ev;
        if ((rc = next(&l, &ev)) != LH_OK) break;
        yaml_event_type_t t = ev.type;
        if (t == YAML_SCALAR_EVENT || t == YAML_SEQUENCE_START_EVENT ||
            t == YAML_MAPPING_START_EVENT || t == YAML_ALIAS_EVENT) {
            rc = node(&l, &ev, 0, &doc);
            yaml_event_delete(&ev);
            if (rc == LH_OK) rc = single_document(&l);
            break;
        }
        yaml_event_delete(&ev);
        if (t == YAML_STREAM_END_EVENT || t == YAML_DOCUMENT_END_EVENT) break;
    }
    yaml_parser_delete(&l.p);
    if (rc != LH_OK) {
        json_decref(doc);
        return rc;
    }
    *out = doc ? doc : json_null();
    return LH_OK;
}

/* ---- dump ---- */

/* Whether plain text would read back as something else than itself as a
 * string: a null, boolean or number here, or a date, time or sexagesimal
 * number in PyYAML (digits then '-' or ':'), or a value or merge key. */
static bool needs_quotes(const char *s, size_t n)
{
    yaml_event_t ev;
    memset(&ev, 0, sizeof ev);
    ev.data.scalar.value = (yaml_char_t *)s;
    ev.data.scalar.length = n;
    ev.data.scalar.style = YAML_PLAIN_SCALAR_STYLE;
    json_t *v = scalar(&ev);
    bool other = !json_is_string(v);
    json_decref(v);
    if (other || strlen(s) != n) return true;
    const char *p = s + (*s == '-' || *s == '+');
    if (*p >= '0' && *p <= '9' && strpbrk(p, "-:")) return true;
    return *s == '.' || !strcmp(s, "=") || !strcmp(s, "<<");
}

static int to_buf(void *ctx, unsigned char *data, size_t n)
{
    lh_buf_append(ctx, data, n);
    return 1;
}

static int emit_text(yaml_emitter_t *em, const char *s, size_t n, bool quoted)
{
    yaml_event_t ev;
    yaml_scalar_style_t style = quoted ? YAML_SINGLE_QUOTED_SCALAR_STYLE : YAML_ANY_SCALAR_STYLE;
    return yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s, (int)n, 1, 1, style) &&
           yaml_emitter_emit(em, &ev);
}

static int cmp_key(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int emit_value(yaml_emitter_t *em, json_t *v)
{
    yaml_event_t ev;
    char num[64];
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        size_t n = json_object_size(v), i = 0;
        const char **keys = lh_malloc((n ? n : 1) * sizeof *keys);
        const char *k;
        json_t *x;
        json_object_foreach(v, k, x) keys[i++] = k;
        qsort(keys, n, sizeof *keys, cmp_key);
        int ok = yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE) &&
                 yaml_emitter_emit(em, &ev);
        for (i = 0; ok && i < n; i++)
            ok = emit_text(em, keys[i], strlen(keys[i]), needs_quotes(keys[i], strlen(keys[i]))) &&
                 emit_value(em, json_object_get(v, keys[i]));
        free(keys);
        return ok && yaml_mapping_end_event_initialize(&ev) && yaml_emitter_emit(em, &ev);
    }
    case JSON_ARRAY: {
        int ok = yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
                                                      YAML_BLOCK_SEQUENCE_STYLE) &&
                 yaml_emitter_emit(em, &ev);
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x) if (ok) ok = emit_value(em, x);
        return ok && yaml_sequence_end_event_initialize(&ev) && yaml_emitter_emit(em, &ev);
    }
    case JSON_STRING: {
        const char *s = json_string_value(v);
        size_t n = json_string_length(v);
        return emit_text(em, s, n, needs_quotes(s, n));
    }
    case JSON_INTEGER:
        snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return emit_text(em, num, strlen(num), false);
    case JSON_REAL:
        snprintf(num, sizeof num, "%.17g", json_real_value(v));
        if (!strpbrk(num, ".en")) strcat(num, ".0"); /* PyYAML's float wants the dot */
        return emit_text(em, num, strlen(num), false);
    case JSON_TRUE: return emit_text(em, "true", 4, false);
    case JSON_FALSE: return emit_text(em, "false", 5, false);
    case JSON_NULL: return emit_text(em, "null", 4, false);
    }
    return 0;
}

lh_status lh_yaml_dump(json_t *v, lh_buf *out, lh_error *err)
{
    yaml_emitter_t em;
    yaml_event_t ev;
    yaml_emitter_initialize(&em);
    yaml_emitter_set_output(&em, to_buf, out);
    yaml_emitter_set_unicode(&em, 1);
    yaml_emitter_set_width(&em, -1);
    int ok = yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) &&
             yaml_emitter_emit(&em, &ev) &&
             yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1) &&
             yaml_emitter_emit(&em, &ev) && emit_value(&em, v) &&
             yaml_document_end_event_initialize(&ev, 1) && yaml_emitter_emit(&em, &ev) &&
             yaml_stream_end_event_initialize(&ev) && yaml_emitter_emit(&em, &ev);
    lh_status rc = ok ? LH_OK
                      : lh_error_set(err, LH_ERR_INTERNAL, "writing YAML: %s",
                                     em.problem ? em.problem : "libyaml failed");
    yaml_emitter_delete(&em);
    return rc;
}
