/* Delta log helpers: string maps, action structs, schema parsing, log keys,
 * path encoding/resolution, partition directories and file statistics. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "format/delta_internal.h"
#include "lh/core/mem.h"
#include "lh/core/str.h"
#include "lh/core/timeutil.h"

/* ------------------------------------------------------------------ maps */

const char *lh_delta_map_get(const lh_delta_map *m, const char *key, bool *found)
{
    for (size_t i = 0; i < m->len; i++) {
        if (strcmp(m->items[i].key, key) == 0) {
            if (found) *found = true;
            return m->items[i].value;
        }
    }
    if (found) *found = false;
    return NULL;
}

void lh_delta_map_free(lh_delta_map *m)
{
    for (size_t i = 0; i < m->len; i++) {
        free((char *)m->items[i].key);
        free((char *)m->items[i].value);
    }
    free(m->items);
    m->items = NULL;
    m->len = 0;
}

void lh_delta_map_push(lh_delta_map *m, const char *key, const char *value)
{
    m->items = lh_realloc(m->items, (m->len + 1) * sizeof *m->items);
    m->items[m->len].key = lh_strdup(key);
    m->items[m->len].value = value ? lh_strdup(value) : NULL;
    m->len++;
}

void lh_delta_map_copy(lh_delta_map *dst, const lh_delta_kv *src, size_t n)
{
    for (size_t i = 0; i < n; i++) lh_delta_map_push(dst, src[i].key, src[i].value);
}

void lh_delta_pv_empty_to_null(lh_delta_map *pv)
{
    for (size_t i = 0; i < pv->len; i++) {
        lh_delta_kv *kv = &pv->items[i];
        if (kv->value && !*kv->value) {
            free((char *)kv->value);
            kv->value = NULL;
        }
    }
}

lh_status lh_delta_map_from_json(json_t *obj, lh_delta_map *m, const char *what, lh_error *err)
{
    if (!obj || json_is_null(obj)) return LH_OK;
    if (!json_is_object(obj)) return lh_error_set(err, LH_ERR_CORRUPT, "%s is not an object", what);
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v) {
        if (json_is_null(v)) {
            lh_delta_map_push(m, k, NULL);
        } else if (json_is_string(v)) {
            lh_delta_map_push(m, k, json_string_value(v));
        } else {
            /* Writers should not, but stay lenient: keep the JSON text. */
            char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
            lh_delta_map_push(m, k, text ? text : "");
            free(text);
        }
    }
    return LH_OK;
}

void lh_delta_map_to_json(const lh_delta_map *m, lh_buf *out)
{
    lh_buf_append_byte(out, '{');
    for (size_t i = 0; i < m->len; i++) {
        if (i) lh_buf_append_byte(out, ',');
        lh_buf_append_json_str(out, m->items[i].key, strlen(m->items[i].key));
        lh_buf_append_byte(out, ':');
        if (m->items[i].value)
            lh_buf_append_json_str(out, m->items[i].value, strlen(m->items[i].value));
        else
            lh_buf_append_str(out, "null");
    }
    lh_buf_append_byte(out, '}');
}

void lh_delta_file_free(lh_delta_file *f)
{
    if (!f) return;
    free(f->path);
    free(f->raw_path);
    lh_delta_map_free(&f->partition_values);
    free(f->stats);
    lh_delta_map_free(&f->tags);
    free(f);
}

const lh_delta_field *lh_delta_metadata_field(const lh_delta_metadata *m, const char *name)
{
    for (size_t i = 0; i < m->num_fields; i++)
        if (strcmp(m->fields[i].name, name) == 0) return &m->fields[i];
    return NULL;
}

void lh_delta_metadata_free(lh_delta_metadata *m)
{
    free(m->id);
    free(m->name);
    free(m->description);
    free(m->schema_string);
    for (size_t i = 0; i < m->num_fields; i++) {
        free((char *)m->fields[i].name);
        free((char *)m->fields[i].type);
    }
    free(m->fields);
    lh_strlist_free(&m->partition_columns);
    lh_delta_map_free(&m->configuration);
    memset(m, 0, sizeof *m);
    m->created_time = -1;
}

void lh_delta_protocol_free(lh_delta_protocol *p)
{
    lh_strlist_free(&p->reader_features);
    lh_strlist_free(&p->writer_features);
    memset(p, 0, sizeof *p);
}

lh_status lh_delta_metadata_parse_schema(lh_delta_metadata *m, lh_error *err)
{
    /* Databricks DLT writes a placeholder metaData without a schema first. */
    if (!m->schema_string) return LH_OK;
    json_error_t jerr;
    json_t *root = json_loads(m->schema_string, 0, &jerr);
    if (!root)
        return lh_error_set(err, LH_ERR_CORRUPT, "metaData.schemaString is not JSON: %s", jerr.text);
    lh_status rc = LH_OK;
    json_t *fields = json_object_get(root, "fields");
    if (!json_is_array(fields)) {
        rc = lh_error_set(err, LH_ERR_CORRUPT, "metaData.schemaString has no fields array");
        goto out;
    }
    size_t n = json_array_size(fields);
    m->fields = lh_calloc(n ? n : 1, sizeof *m->fields);
    for (size_t i = 0; i < n; i++) {
        json_t *f = json_array_get(fields, i);
        json_t *name = json_object_get(f, "name"), *type = json_object_get(f, "type");
        if (!json_is_string(name) || !type) {
            rc = lh_error_set(err, LH_ERR_CORRUPT, "metaData.schemaString field %zu has no name/type", i);
            goto out;
        }
        m->fields[i].name = lh_strdup(json_string_value(name));
        if (json_is_string(type)) {
            m->fields[i].type = lh_strdup(json_string_value(type));
        } else {
            char *t = json_dumps(type, JSON_COMPACT);
            m->fields[i].type = lh_strdup(t ? t : "");
            free(t);
        }
        json_t *nullable = json_object_get(f, "nullable");
        m->fields[i].nullable = !json_is_false(nullable);
        m->num_fields = i + 1;
    }
out:
    json_decref(root);
    return rc;
}

/* ------------------------------------------------------------------ keys */

char *lh_delta_key(const char *prefix, const char *rel)
{
    if (!prefix || !*prefix) return lh_strdup(rel);
    size_t n = strlen(prefix);
    return lh_asprintf("%.*s/%s", (int)(prefix[n - 1] == '/' ? n - 1 : n), prefix, rel);
}

char *lh_delta_commit_key(const char *prefix, int64_t version)
{
    char rel[64];
    snprintf(rel, sizeof rel, "_delta_log/%020" PRId64 ".json", version);
    return lh_delta_key(prefix, rel);
}

/* ----------------------------------------------------------------- paths */

static const char HEX[] = "0123456789ABCDEF";

static void pct(lh_buf *out, unsigned char c)
{
    char e[3] = {'%', HEX[c >> 4], HEX[c & 15]};
    lh_buf_append(out, e, 3);
}

void lh_delta_path_encode(const char *path, lh_buf *out)
{
    /* Hadoop Path.toUri() set, plus '+' (form decoders) and non-ASCII. */
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        unsigned char c = *p;
        if (c < 0x20 || c >= 0x7f || strchr(" `\"#%<>?[\\]^{|}+*", c))
            pct(out, c);
        else
            lh_buf_append_byte(out, c);
    }
}

lh_status lh_delta_path_decode(const char *raw, lh_buf *out, lh_error *err)
{
    for (const char *p = raw; *p; p++) {
        if (*p == '%') {
            int hi = lh_hex_value(p[1]), lo = hi >= 0 ? lh_hex_value(p[2]) : -1;
            if (hi < 0 || lo < 0)
                return lh_error_set(err, LH_ERR_CORRUPT, "bad percent escape in path \"%.200s\"", raw);
            lh_buf_append_byte(out, (uint8_t)(hi * 16 + lo));
            p += 2;
        } else {
            lh_buf_append_byte(out, (uint8_t)*p);
        }
    }
    if (!lh_utf8_valid(out->data ? out->data : "", out->len) || memchr(out->data ? out->data : "", 0, out->len))
        return lh_error_set(err, LH_ERR_CORRUPT, "path \"%.200s\" does not decode to UTF-8 text", raw);
    return LH_OK;
}

/* Strip "root/" from s if present; returns the remainder or NULL. */
static const char *strip_root(const char *s, const char *root)
{
    size_t n = strlen(root);
    while (n && root[n - 1] == '/') n--;
    if (strncmp(s, root, n) != 0 || s[n] != '/') return NULL;
    return s + n + 1;
}

lh_status lh_delta_resolve_path(lh_storage *st, const char *prefix, const char *raw,
                                char **out, lh_error *err)
{
    *out = NULL;
    lh_buf dec = LH_BUF_INIT;
    lh_status rc = lh_delta_path_decode(raw, &dec, err);
    if (rc != LH_OK) {
        lh_buf_free(&dec);
        return rc;
    }
    const char *rel = dec.data ? dec.data : "";
    /* RFC 3986 scheme: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":" */
    bool scheme = (rel[0] >= 'a' && rel[0] <= 'z') || (rel[0] >= 'A' && rel[0] <= 'Z');
    size_t k = 1;
    while (scheme && rel[k] && rel[k] != ':') {
        char c = rel[k++];
        scheme = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '+' || c == '-' || c == '.';
    }
    scheme = scheme && rel[k] == ':';
    if (scheme || rel[0] == '/') {
        /* Absolute: accept only when it points inside this table. */
        char *root_uri = lh_storage_key_uri(st, prefix ? prefix : "");
        size_t rn = strlen(root_uri);
        if (rn && root_uri[rn - 1] == '/') root_uri[rn - 1] = 0;
        char *root_local = lh_storage_local_path(st, prefix && *prefix ? prefix : "");
        const char *inside = strip_root(rel, root_uri);
        if (!inside && root_local && rel[0] == '/') inside = strip_root(rel, root_local);
        if (!inside && root_local && strncmp(rel, "file:", 5) == 0) {
            const char *p = rel + 5;
            while (p[0] == '/' && p[1] == '/') p++; /* file:/x, file:///x */
            inside = strip_root(p, root_local);
        }
        char *copy = inside ? lh_strdup(inside) : NULL;
        free(root_uri);
        free(root_local);
        if (!copy) {
            rc = lh_error_set(err, LH_ERR_CORRUPT, "path \"%.200s\" points outside the table", raw);
            lh_buf_free(&dec);
            return rc;
        }
        lh_buf_reset(&dec);
        lh_buf_append_str(&dec, copy);
        free(copy);
    }
    lh_error kerr;
    if (lh_storage_check_key(dec.data ? dec.data : "", &kerr) != LH_OK) {
        rc = lh_error_set(err, LH_ERR_CORRUPT, "unsafe path \"%.200s\": %s", raw, kerr.msg);
        lh_buf_free(&dec);
        return rc;
    }
    if (strncmp(dec.data, "_delta_log/", 11) == 0) {
        rc = lh_error_set(err, LH_ERR_CORRUPT, "path \"%.200s\" points into _delta_log", raw);
        lh_buf_free(&dec);
        return rc;
    }
    *out = lh_buf_detach(&dec, NULL);
    return LH_OK;
}

/* ------------------------------------------------------ partition paths */

static void escape_part(const char *s, lh_delta_escape style, lh_buf *out)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        unsigned char c = *p;
        bool enc;
        if (style == LH_DELTA_ESCAPE_DELTARS)
            enc = !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '.' || c == '_' || c == '~');
        else
            enc = c < 0x20 || c == 0x7f || strchr("\"#%'*/:=?\\{[]^", c) != NULL;
        if (enc)
            pct(out, c);
        else
            lh_buf_append_byte(out, c);
    }
}

void lh_delta_partition_dir(const lh_delta_kv *values, size_t n, lh_delta_escape style,
                            lh_buf *out)
{
    for (size_t i = 0; i < n; i++) {
        if (i) lh_buf_append_byte(out, '/');
        escape_part(values[i].key, style, out);
        lh_buf_append_byte(out, '=');
        if (!values[i].value || !*values[i].value)
            lh_buf_append_str(out, "__HIVE_DEFAULT_PARTITION__");
        else
            escape_part(values[i].value, style, out);
    }
}

/* ----------------------------------------------------------------- stats */

/* Longest prefix of s within LH_DELTA_STATS_STRING_PREFIX bytes that ends on
 * a character boundary. */
static size_t utf8_prefix(const char *s, size_t n)
{
    if (n <= LH_DELTA_STATS_STRING_PREFIX) return n;
    size_t k = LH_DELTA_STATS_STRING_PREFIX;
    while (k > 0 && ((unsigned char)s[k] & 0xC0) == 0x80) k--;
    return k;
}

/* Upper bound for a truncated max, as parquet-rs does: the prefix with its
 * last character incremented (dropping characters that cannot be). False
 * when no bound fits. */
static bool truncated_max(const char *s, size_t n, lh_buf *out)
{
    size_t k = utf8_prefix(s, n);
    if (k == n) {
        lh_buf_append(out, s, n);
        return true;
    }
    while (k > 0) {
        size_t start = k - 1;
        while (start > 0 && ((unsigned char)s[start] & 0xC0) == 0x80) start--;
        uint32_t cp;
        lh_utf8_decode(s + start, k - start, &cp);
        if (cp < 0x10FFFF) {
            cp = cp + 1 == 0xD800 ? 0xE000 : cp + 1;
            char enc[4];
            size_t en = lh_utf8_encode(cp, enc);
            if (start + en <= LH_DELTA_STATS_STRING_PREFIX) {
                lh_buf_append(out, s, start);
                lh_buf_append(out, enc, en);
                return true;
            }
        }
        k = start;
    }
    return false;
}

static void stat_value(const lh_delta_col_stats *c, const lh_delta_stat_value *v, bool is_max,
                       lh_buf *out)
{
    switch (c->kind) {
    case LH_DELTA_STAT_STRING: {
        const char *str = v->s ? v->s : "";
        size_t n = strlen(str);
        if (!is_max) {
            lh_buf_append_json_str(out, str, utf8_prefix(str, n));
        } else {
            lh_buf t = LH_BUF_INIT;
            truncated_max(str, n, &t); /* callers checked it fits */
            lh_buf_append_json_str(out, t.data ? t.data : "", t.len);
            lh_buf_free(&t);
        }
        break;
    }
    case LH_DELTA_STAT_TIMESTAMP_US: {
        /* delta-rs: UTC, millisecond precision, 'Z' (truncated towards -inf). */
        int64_t ms = v->i >= 0 ? v->i / 1000 : -((-v->i + 999) / 1000);
        char iso[LH_ISO_MAX];
        lh_time_format_iso(ms * 1000, iso); /* "...SS.ffffff" */
        size_t n = strlen(iso);
        if (n > 3) iso[n - 3] = 0; /* keep 3 fraction digits */
        lh_buf_printf(out, "\"%sZ\"", iso);
        break;
    }
    case LH_DELTA_STAT_BOOL:
        lh_buf_append_str(out, v->b ? "true" : "false");
        break;
    case LH_DELTA_STAT_LONG:
        lh_buf_printf(out, "%" PRId64, v->i);
        break;
    case LH_DELTA_STAT_DOUBLE:
        if (isfinite(v->d))
            lh_buf_printf(out, "%.17g", v->d);
        else
            lh_buf_append_str(out, "null");
        break;
    }
}

int64_t lh_delta_file_num_records(const lh_delta_file *f)
{
    if (!f->stats) return -1;
    json_t *root = json_loads(f->stats, 0, NULL);
    json_t *n = json_object_get(root, "numRecords");
    int64_t rows = json_is_integer(n) ? (int64_t)json_integer_value(n) : -1;
    json_decref(root);
    return rows;
}

void lh_delta_stats_json(int64_t num_records, const lh_delta_col_stats *cols, size_t n,
                         lh_buf *out)
{
    lh_buf_printf(out, "{\"numRecords\":%" PRId64, num_records);
    for (int which = 0; which < 2; which++) {
        lh_buf_append_str(out, which == 0 ? ",\"minValues\":{" : ",\"maxValues\":{");
        bool first = true;
        for (size_t i = 0; i < n; i++) {
            if (!cols[i].has_min_max) continue;
            if (which == 1 && cols[i].kind == LH_DELTA_STAT_STRING) {
                lh_buf t = LH_BUF_INIT;
                const char *str = cols[i].max.s ? cols[i].max.s : "";
                bool ok = truncated_max(str, strlen(str), &t);
                lh_buf_free(&t);
                if (!ok) continue; /* no valid upper bound within the prefix */
            }
            if (!first) lh_buf_append_byte(out, ',');
            first = false;
            lh_buf_append_json_str(out, cols[i].name, strlen(cols[i].name));
            lh_buf_append_byte(out, ':');
            stat_value(&cols[i], which == 0 ? &cols[i].min : &cols[i].max, which == 1, out);
        }
        lh_buf_append_byte(out, '}');
    }
    lh_buf_append_str(out, ",\"nullCount\":{");
    for (size_t i = 0; i < n; i++) {
        if (i) lh_buf_append_byte(out, ',');
        lh_buf_append_json_str(out, cols[i].name, strlen(cols[i].name));
        lh_buf_printf(out, ":%" PRId64, cols[i].null_count);
    }
    lh_buf_append_str(out, "}}");
}

/* ------------------------------------------------------------ intervals */

size_t lh_delta_checksum_of(const char *name)
{
    static const char suffix[] = ".crc";
    size_t len = strlen(name), sn = sizeof suffix - 1;
    if (name[0] != '.' || len <= 1 + sn || strcmp(name + len - sn, suffix) != 0) return 0;
    return len - 1 - sn;
}

int64_t lh_delta_interval_ms(const char *v, int64_t dflt)
{
    if (!v) return dflt;
    long long n = 0;
    char unit[32] = "";
    if (sscanf(v, "interval %lld %31s", &n, unit) != 2 || n < 0) return dflt;
    static const struct {
        const char *u;
        int64_t ms;
    } U[] = {
        {"millisecond", 1}, {"second", 1000}, {"minute", 60000}, {"hour", 3600000},
        {"day", 86400000}, {"week", 604800000},
    };
    for (size_t i = 0; i < sizeof U / sizeof *U; i++)
        if (strncmp(unit, U[i].u, strlen(U[i].u)) == 0) return n * U[i].ms;
    return dflt;
}
