/* The reference's dataset model from config.yml (dataset_model.h). */
#include "lh/repository/dataset_model.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <ctype.h>

#include "lh/core/buf.h"
#include "lh/core/mem.h"
#include "lh/core/str.h"
#include "lh/core/stream_codec.h"
#include "lh/core/timeutil.h"
#include "lh/core/yaml.h"
#include "lh/model/countries.h"
#include "lh/storage/versions.h"
#include "lh/storage/parquet_store.h"
#include "lh/repository/dataset.h"

typedef enum kind {
    TEXT,     /* text */
    URL,      /* text, normalised as pydantic's HttpUrl */
    DATETIME, /* a point in time: "YYYY-MM-DDTHH:MM:SS" in UTC, as serialize_dt writes it */
    DATE,     /* FtM's date: YYYY, YYYY-MM, YYYY-MM-DD or a date and time, kept */
    COUNTRY,  /* a country code (or English name), lower case */
    COUNTRIES, /* list of COUNTRY */
    CHOICE,   /* text, one of arg's words */
    CODEC,    /* an export codec, any of its spellings: its own name */
    COUNT,    /* integer ("3" taken) */
    FLAG,     /* boolean (pydantic's lax forms taken) */
    TEXTS,    /* list of text */
    LIST,     /* list of anything */
    MAPPING,  /* free-form mapping */
    MODEL,    /* a nested model: arg */
    MODELS,   /* list of arg */
    COMPUTED, /* set by the model's compute hook */
} kind;

typedef struct model_def model_def;

typedef struct field {
    const char *name;
    kind kind;
    const void *arg;  /* model_def for MODEL(S), NULL-terminated words for CHOICE */
    const char *dflt; /* NULL: null (or required: no default); "[]", "{}", "false",
                       * "true", "0", "model" (arg's defaults), else that text */
    bool required;
} field;

struct model_def {
    const field *fields;
    size_t n;
    void (*compute)(json_t *obj);
};

#define DEF(fields, compute) {fields, sizeof fields / sizeof *fields, compute}

static void publisher_label(json_t *obj)
{
    const char *code = json_string_value(json_object_get(obj, "country"));
    const char *label = code ? lh_country_name(code) : NULL;
    json_object_set_new(obj, "country_label", label ? json_string(label) : json_null());
}

static void resource_label(json_t *obj)
{
    static const char *const labels[][2] = {
        {"text/csv", "Comma-separated table"},
        {"application/json+ftm", "FollowTheMoney Entities"},
        {"application/json", "JavaScript Object Notation"},
    };
    const char *mime = json_string_value(json_object_get(obj, "mime_type"));
    const char *label = NULL;
    for (size_t i = 0; mime && i < sizeof labels / sizeof *labels; i++)
        if (strcmp(mime, labels[i][0]) == 0) label = labels[i][1];
    json_object_set_new(obj, "mime_type_label", label ? json_string(label) : json_null());
}

/* followthemoney.dataset's DataPublisher, DataCoverage, DataResource */
static const field PUBLISHER[] = {
    {"name", TEXT, NULL, NULL, true},  {"url", URL, NULL, NULL, false},
    {"name_en", TEXT, NULL, NULL, false}, {"acronym", TEXT, NULL, NULL, false},
    {"description", TEXT, NULL, NULL, false}, {"country", COUNTRY, NULL, NULL, false},
    {"official", FLAG, NULL, "false", false}, {"logo_url", URL, NULL, NULL, false},
    {"country_label", COMPUTED, NULL, NULL, false},
};
static const model_def PUBLISHER_DEF = DEF(PUBLISHER, publisher_label);
static const char *const FREQUENCIES[] = {"unknown", "never",    "hourly",   "daily",
                                          "weekly",  "monthly",  "annually", NULL};
static const field COVERAGE[] = {
    {"start", DATE, NULL, NULL, false},       {"end", DATE, NULL, NULL, false},
    {"countries", COUNTRIES, NULL, "[]", false},
    {"frequency", CHOICE, FREQUENCIES, "unknown", false},
    {"schedule", TEXT, NULL, NULL, false},
};
static const model_def COVERAGE_DEF = DEF(COVERAGE, NULL);
static const field RESOURCE[] = {
    {"name", TEXT, NULL, NULL, true},       {"url", URL, NULL, NULL, false},
    {"checksum", TEXT, NULL, NULL, false},  {"timestamp", DATETIME, NULL, NULL, false},
    {"mime_type", TEXT, NULL, NULL, false}, {"title", TEXT, NULL, NULL, false},
    {"size", COUNT, NULL, NULL, false},     {"mime_type_label", COMPUTED, NULL, NULL, false},
};
static const model_def RESOURCE_DEF = DEF(RESOURCE, resource_label);
/* ftmq's DatasetStats and Schemata */
static const field SCHEMATA[] = {
    {"total", COUNT, NULL, "0", false},
    {"countries", LIST, NULL, "[]", false},
    {"schemata", LIST, NULL, "[]", false},
};
static const model_def SCHEMATA_DEF = DEF(SCHEMATA, NULL);
static const field STATS[] = {
    {"things", MODEL, &SCHEMATA_DEF, "model", false},
    {"intervals", MODEL, &SCHEMATA_DEF, "model", false},
    {"entity_count", COUNT, NULL, "0", false},
    {"start", TEXT, NULL, NULL, false},
    {"end", TEXT, NULL, NULL, false},
    {"countries", TEXTS, NULL, "[]", false},
};
static const model_def STATS_DEF = DEF(STATS, NULL);
/* anystore's StoreModel */
static const char *const SERIALIZATIONS[] = {"auto", "raw", "pickle", "json", NULL};
static const field STORE[] = {
    {"uri", TEXT, NULL, NULL, true},
    {"serialization_mode", CHOICE, SERIALIZATIONS, "auto", false},
    {"serialization_func", TEXT, NULL, NULL, false},
    {"deserialization_func", TEXT, NULL, NULL, false},
    {"model", TEXT, NULL, NULL, false},
    {"raise_on_nonexist", FLAG, NULL, "true", false},
    {"store_none_values", FLAG, NULL, "true", false},
    {"default_ttl", COUNT, NULL, "0", false},
    {"backend_config", MAPPING, NULL, "{}", false},
};
static const model_def STORE_DEF = DEF(STORE, NULL);
static const char *const CONTENT_TYPES[] = {"documents", "structured", "mixed", NULL};
/* the dataset: ftmq's Dataset and ftm-lakehouse's DatasetModel, in
 * pydantic's field order; name, title and uri are set by the loader */
static const field DATASET[] = {
    {"name", TEXT, NULL, NULL, false},         {"title", TEXT, NULL, NULL, false},
    {"license", URL, NULL, NULL, false},       {"summary", TEXT, NULL, NULL, false},
    {"description", TEXT, NULL, NULL, false},  {"url", URL, NULL, NULL, false},
    {"updated_at", DATETIME, NULL, NULL, false}, {"last_export", DATETIME, NULL, NULL, false},
    {"entity_count", COUNT, NULL, NULL, false}, {"thing_count", COUNT, NULL, NULL, false},
    {"version", TEXT, NULL, NULL, false},      {"category", TEXT, NULL, NULL, false},
    {"tags", TEXTS, NULL, "[]", false},        {"publisher", MODEL, &PUBLISHER_DEF, NULL, false},
    {"coverage", MODEL, &COVERAGE_DEF, NULL, false},
    {"resources", MODELS, &RESOURCE_DEF, "[]", false},
    {"children", TEXTS, NULL, "[]", false},    {"deprecation", TEXT, NULL, NULL, false},
    {"deprecated", FLAG, NULL, "false", false}, {"prefix", TEXT, NULL, NULL, false},
    {"maintainer", MODEL, &PUBLISHER_DEF, NULL, false},
    {"stats", MODEL, &STATS_DEF, "model", false},
    {"git_repo", TEXT, NULL, NULL, false},
    {"content_type", CHOICE, CONTENT_TYPES, NULL, false},
    {"uri", TEXT, NULL, NULL, false},          {"storage", MODEL, &STORE_DEF, NULL, false},
    {"public_url_prefix", URL, NULL, NULL, false}, {"shards", COUNT, NULL, "0", false},
    {"compression", CODEC, NULL, NULL, false},
};
static const model_def DATASET_DEF = DEF(DATASET, NULL);

static json_t *build(const model_def *def, json_t *in, const char *path, lh_buf *problem);

static json_t *default_of(const field *f)
{
    const char *d = f->dflt;
    if (!d) return json_null();
    if (!strcmp(d, "[]")) return json_array();
    if (!strcmp(d, "{}")) return json_object();
    if (!strcmp(d, "false")) return json_false();
    if (!strcmp(d, "true")) return json_true();
    if (!strcmp(d, "0")) return json_integer(0);
    if (!strcmp(d, "model")) {
        lh_buf unused = LH_BUF_INIT;
        json_t *v = build(f->arg, NULL, "", &unused);
        lh_buf_free(&unused);
        return v;
    }
    return json_string(d);
}

/* pydantic's lax bool strings */
static int flag_text(const char *s)
{
    static const char *const yes[] = {"t", "true", "y", "yes", "on", "1"};
    static const char *const no[] = {"f", "false", "n", "no", "off", "0"};
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++) {
        if (strcasecmp(s, yes[i]) == 0) return 1;
        if (strcasecmp(s, no[i]) == 0) return 0;
    }
    return -1;
}

/* Percent-encoding of the part after the host as the WHATWG URL parser
 * (pydantic's HttpUrl) does it: controls, non-ASCII bytes and the part's
 * own set (path: space " < > ` { }; query: space " < > '; fragment:
 * space " < > `); existing escapes stay. */
static void append_encoded(lh_buf *b, const char *rest)
{
    enum { PATH, QUERY, FRAGMENT } part = PATH;
    for (const unsigned char *p = (const unsigned char *)rest; *p; p++) {
        if (part == PATH && *p == '?') part = QUERY;
        else if (part != FRAGMENT && *p == '#') part = FRAGMENT;
        bool enc = *p <= 0x20 || *p >= 0x7F || *p == '"' || *p == '<' || *p == '>';
        if (part == PATH) enc = enc || *p == '`' || *p == '{' || *p == '}';
        else if (part == QUERY) enc = enc || *p == '\'';
        else enc = enc || *p == '`';
        if (enc) lh_buf_printf(b, "%%%02X", *p);
        else lh_buf_append_byte(b, (char)*p);
    }
}

/* HttpUrl's normal form: scheme and host lower case, the default port
 * dropped, an empty path made "/", the rest percent-encoded. */
static json_t *normal_url(const char *s)
{
    const char *sep = strstr(s, "://");
    if (!sep) return NULL;
    size_t scheme = (size_t)(sep - s);
    const char *host = sep + 3;
    size_t hlen = strcspn(host, "/?#");
    if (!scheme || !hlen) return NULL;
    /* as pydantic's HttpUrl: http(s), a host, a port of up to 65535 */
    if (!(scheme == 4 && !strncasecmp(s, "http", 4)) && !(scheme == 5 && !strncasecmp(s, "https", 5)))
        return NULL;
    for (size_t i = 0; i < hlen; i++)
        if ((unsigned char)host[i] <= ' ' || strchr("<>\"{}|\\^`", host[i])) return NULL;
    const char *last_colon = NULL;
    for (size_t i = 0; i < hlen; i++)
        if (host[i] == ':') last_colon = host + i;
        else if (host[i] == '@' || host[i] == ']') last_colon = NULL;
    if (last_colon) {
        size_t plen = hlen - (size_t)(last_colon + 1 - host);
        long port = 0;
        for (size_t i = 0; i < plen; i++) {
            if (!isdigit((unsigned char)last_colon[1 + i])) return NULL;
            port = port * 10 + (last_colon[1 + i] - '0');
            if (port > 65535) return NULL;
        }
    }
    lh_buf b = LH_BUF_INIT;
    for (size_t i = 0; i < scheme; i++) lh_buf_append_byte(&b, (char)tolower((unsigned char)s[i]));
    lh_buf_append_str(&b, "://");
    size_t at = hlen;
    for (size_t i = 0; i < hlen; i++)
        if (host[i] == '@') at = i;
    size_t start = at < hlen ? at + 1 : 0;
    lh_buf_append(&b, host, start);
    const char *colon = memchr(host + start, ':', hlen - start);
    size_t name_end = colon ? (size_t)(colon - host) : hlen;
    for (size_t i = start; i < name_end; i++)
        lh_buf_append_byte(&b, (char)tolower((unsigned char)host[i]));
    if (colon) {
        bool http = b.len >= 7 && !strncmp(b.data, "http://", 7);
        bool https = b.len >= 8 && !strncmp(b.data, "https://", 8);
        const char *port = colon + 1;
        size_t plen = hlen - (size_t)(port - host);
        bool dflt = (http && plen == 2 && !strncmp(port, "80", 2)) ||
                    (https && plen == 3 && !strncmp(port, "443", 3));
        if (!dflt) lh_buf_append(&b, colon, plen + 1);
    }
    const char *rest = host + hlen;
    if (*rest != '/') lh_buf_append_byte(&b, '/');
    append_encoded(&b, rest);
    json_t *v = json_string(b.data);
    lh_buf_free(&b);
    return v;
}

char *lh_dataset_model_url(const char *url)
{
    json_t *v = normal_url(url);
    char *out = lh_strdup(v ? json_string_value(v) : url);
    json_decref(v);
    return out;
}

/* FtM's date forms: YYYY, YYYY-MM, YYYY-MM-DD, then a time as ISO-8601
 * has it */
static bool ftm_date(const char *s)
{
    size_t n = strlen(s);
    static const char shape[] = "dddd-dd-dd";
    if (n != 4 && n != 7 && n < 10) return false;
    for (size_t i = 0; i < n && i < 10; i++)
        if (shape[i] == 'd' ? !isdigit((unsigned char)s[i]) : s[i] != '-') return false;
    if (n == 4) return true;
    if (n == 7) return (s[5] == '0' && s[6] >= '1') || (s[5] == '1' && s[6] <= '2');
    int64_t us;
    lh_error e2;
    return lh_time_parse_iso(s, n, &us, &e2) == LH_OK;
}

/* f's value from in (a new reference): coerced as the reference coerces
 * it, or NULL with what was expected in problem. */
static json_t *value_of(const field *f, json_t *x, const char *path, lh_buf *problem)
{
    if (!x || json_is_null(x)) {
        if (f->required) {
            lh_buf_printf(problem, "`%s%s` is required", path, f->name);
            return NULL;
        }
        /* a null list or model with a default takes it, as pydantic's do */
        return f->dflt && (!x || f->kind != TEXT) ? default_of(f) : json_null();
    }
    const char *want = NULL;
    switch (f->kind) {
    case CODEC: {
        lh_stream_codec c;
        if (json_is_string(x) && lh_stream_codec_parse(json_string_value(x), &c))
            return json_string(lh_stream_codec_name(c));
        want = "a compression codec (gz, bz2, xz, zst or lz4)";
        break;
    }
    case TEXT:
    case URL:
    case CHOICE:
        if (!json_is_string(x)) {
            want = "text";
            break;
        }
        if (f->kind == URL) {
            json_t *u = normal_url(json_string_value(x));
            if (u) return u;
            want = "a URL";
        } else if (f->kind == CHOICE) {
            const char *const *w = f->arg;
            while (*w && strcmp(*w, json_string_value(x))) w++;
            if (!*w) want = "one of the reference's choices";
        }
        break;
    case DATETIME: {
        int64_t us = 0;
        lh_error e2;
        if (json_is_integer(x)) us = (int64_t)json_integer_value(x) * 1000000;
        else if (!json_is_string(x) ||
                 lh_time_parse_iso(json_string_value(x), json_string_length(x), &us, &e2) != LH_OK) {
            want = "a date and time";
            break;
        }
        char iso[LH_ISO_MAX];
        us -= ((us % 1000000) + 1000000) % 1000000; /* whole seconds */
        lh_time_format_iso_py(us, 0, iso);
        return json_string(iso);
    }
    case DATE:
        if (json_is_string(x) && ftm_date(json_string_value(x))) return json_incref(x);
        want = "a date";
        break;
    case COUNTRY: {
        const char *code = json_is_string(x) ? lh_country_code(json_string_value(x)) : NULL;
        if (code) return json_string(code);
        want = "a country code";
        break;
    }
    case COUNT:
        if (json_is_integer(x)) return json_incref(x);
        if (json_is_string(x)) {
            const char *s = json_string_value(x);
            char *end;
            long long n = strtoll(s, &end, 10);
            if (*s && !*end) return json_integer(n);
        }
        want = "an integer";
        break;
    case FLAG:
        if (json_is_boolean(x)) return json_incref(x);
        if (json_is_integer(x) && (json_integer_value(x) == 0 || json_integer_value(x) == 1))
            return json_boolean(json_integer_value(x));
        if (json_is_string(x) && flag_text(json_string_value(x)) >= 0)
            return json_boolean(flag_text(json_string_value(x)));
        want = "true or false";
        break;
    case TEXTS:
    case COUNTRIES:
    case LIST:
    case MODELS: {
        if (!json_is_array(x)) {
            want = "a list";
            break;
        }
        json_t *out = json_array();
        size_t i;
        json_t *item;
        json_array_foreach(x, i, item)
        {
            json_t *v = NULL;
            if (f->kind == MODELS) {
                lh_buf sub = LH_BUF_INIT;
                lh_buf_printf(&sub, "%s%s.%zu.", path, f->name, i);
                v = build(f->arg, item, sub.data, problem);
                lh_buf_free(&sub);
            } else if (f->kind == TEXTS && !json_is_string(item)) {
                lh_buf_printf(problem, "`%s%s`: expected a list of text", path, f->name);
            } else if (f->kind == COUNTRIES) {
                const char *code =
                    json_is_string(item) ? lh_country_code(json_string_value(item)) : NULL;
                if (code) v = json_string(code);
                else lh_buf_printf(problem, "`%s%s`: expected a list of country codes", path,
                                   f->name);
            } else {
                v = json_incref(item);
            }
            if (!v) {
                json_decref(out);
                return NULL;
            }
            json_array_append_new(out, v);
        }
        return out;
    }
    case MAPPING:
        if (json_is_object(x)) return json_incref(x);
        want = "a mapping";
        break;
    case MODEL: {
        lh_buf sub = LH_BUF_INIT;
        lh_buf_printf(&sub, "%s%s.", path, f->name);
        json_t *v = build(f->arg, x, sub.data, problem);
        lh_buf_free(&sub);
        return v;
    }
    case COMPUTED: return json_null();
    }
    if (want) {
        lh_buf_printf(problem, "`%s%s`: expected %s", path, f->name, want);
        return NULL;
    }
    return json_incref(x);
}

/* def's fields from in (NULL: defaults), in order; unknown keys dropped */
static json_t *build(const model_def *def, json_t *in, const char *path, lh_buf *problem)
{
    if (in && !json_is_object(in)) {
        lh_buf_printf(problem, "`%.*s`: expected a mapping", (int)(strlen(path) - 1), path);
        return NULL;
    }
    json_t *obj = json_object();
    for (size_t i = 0; i < def->n; i++) {
        const field *f = &def->fields[i];
        json_t *v = value_of(f, in ? json_object_get(in, f->name) : NULL, path, problem);
        if (!v) {
            json_decref(obj);
            return NULL;
        }
        json_object_set_new(obj, f->name, v);
    }
    if (def->compute) def->compute(obj);
    return obj;
}

static lh_status read_config(lh_storage *st, const char *key, json_t **out, lh_error *err)
{
    lh_buf text = LH_BUF_INIT;
    lh_status rc = lh_storage_read(st, key, &text, err);
    *out = NULL;
    if (rc == LH_ERR_NOT_FOUND) rc = LH_OK;
    else if (rc == LH_OK) rc = lh_yaml_load(text.data, text.len, key, out, err);
    lh_buf_free(&text);
    if (rc == LH_OK && *out && !json_is_object(*out) && !json_is_null(*out)) {
        json_decref(*out);
        *out = NULL;
        rc = lh_error_set(err, LH_ERR_CORRUPT, "%s: not a mapping of settings", key);
    }
    return rc;
}

lh_status lh_dataset_model_load(lh_storage *st, const char *name, json_t **out,
                                lh_error *err)
{
    *out = NULL;
    LH_TRY(lh_name_check(name, "dataset", false, err));
    lh_buf key = LH_BUF_INIT, problem = LH_BUF_INIT;
    lh_buf_printf(&key, "%s/config.yml", name);
    json_t *config = NULL;
    lh_status rc = read_config(st, key.data, &config, err);
    json_t *model = rc == LH_OK ? build(&DATASET_DEF, json_is_object(config) ? config : NULL, "",
                                        &problem)
                                : NULL;
    if (rc == LH_OK && !model)
        rc = lh_error_set(err, LH_ERR_CORRUPT, "%s: %s", key.data, problem.data);
    if (model) {
        json_object_set_new(model, "name", json_string(name));
        json_t *title = json_object_get(model, "title");
        if (!json_is_string(title) || !json_string_length(title))
            json_object_set_new(model, "title", json_string(name));
        char *uri = lh_storage_key_uri(st, name);
        json_object_set_new(model, "uri", json_string(uri));
        free(uri);
    }
    json_decref(config);
    lh_buf_free(&key);
    lh_buf_free(&problem);
    *out = model;
    return rc;
}

/* banal's clean_dict: nulls out of objects and lists, recursively */
static void drop_nulls(json_t *v)
{
    if (json_is_object(v)) {
        const char *k;
        json_t *x;
        void *tmp;
        json_object_foreach_safe(v, tmp, k, x)
        {
            if (json_is_null(x)) json_object_del(v, k);
            else drop_nulls(x);
        }
    } else if (json_is_array(v)) {
        for (size_t i = json_array_size(v); i-- > 0;) {
            json_t *x = json_array_get(v, i);
            if (json_is_null(x)) json_array_remove(v, i);
            else drop_nulls(x);
        }
    }
}

/* anystore's pass over an object before banal's: empty strings and
 * objects cleaned to nothing become nulls */
static void clean_object(json_t *obj)
{
    const char *k;
    json_t *x;
    void *tmp;
    json_object_foreach_safe(obj, tmp, k, x)
    {
        if (json_is_object(x)) {
            clean_object(x);
            if (!json_object_size(x)) json_object_del(obj, k);
        } else if (json_is_null(x) || (json_is_string(x) && !json_string_length(x))) {
            json_object_del(obj, k);
        }
    }
}

void lh_dataset_model_clean(json_t *obj)
{
    if (!json_is_object(obj)) return;
    clean_object(obj);
    drop_nulls(obj);
}

lh_status lh_dataset_configure(lh_storage *st, const char *name, const char *text, size_t len,
                               const char *what, bool has_table, int64_t now_us, json_t **out,
                               lh_error *err)
{
    if (out) *out = NULL;
    json_t *doc = NULL, *given = NULL, *model = NULL;
    lh_buf problem = LH_BUF_INIT, yml = LH_BUF_INIT;
    lh_status rc = lh_yaml_load(text, len, what, &doc, err);
    if (rc == LH_ERR_CORRUPT) rc = err->code = LH_ERR_INVALID; /* the user's input, not the lake */
    if (rc == LH_OK && !json_is_object(doc) && !json_is_null(doc))
        rc = lh_error_set(err, LH_ERR_INVALID, "%s: not a mapping of settings", what);
    if (rc == LH_OK) {
        given = build(&DATASET_DEF, json_is_object(doc) ? doc : NULL, "", &problem);
        if (!given) rc = lh_error_set(err, LH_ERR_INVALID, "%s: %s", what, problem.data);
    }
    if (rc == LH_OK) rc = lh_dataset_model_load(st, name, &model, err);
    if (rc == LH_OK) { /* a new dataset: a name the reference takes */
        lh_buf key = LH_BUF_INIT;
        lh_buf_printf(&key, "%s/config.yml", name);
        bool exists = false;
        rc = lh_storage_exists(st, key.data, &exists, err);
        lh_buf_free(&key);
        if (rc == LH_OK && !exists) rc = lh_dataset_name_check(name, err);
    }
    const char *k;
    json_t *x;
    if (rc == LH_OK) {
        json_t *shards = json_object_get(doc, "shards");
        json_int_t want = json_integer_value(json_object_get(given, "shards"));
        json_int_t have = json_integer_value(json_object_get(model, "shards"));
        /* every later command reads the count: one out of range would lock
         * the dataset out, this command too */
        if (shards && (want < 0 || want > LH_PSTORE_MAX_RESHARD))
            rc = lh_error_set(err, LH_ERR_INVALID, "%s: shards: %lld is not a count from 0 to %d",
                              what, (long long)want, LH_PSTORE_MAX_RESHARD);
        else if (shards && has_table && want != have)
            rc = lh_error_set(err, LH_ERR_INVALID,
                              "%s: dataset `%s` has %lld shards and a table: `maintenance shard "
                              "--shards %lld` re-shards it",
                              what, name, (long long)have, (long long)want);
    }
    if (rc == LH_OK) {
        /* only what the document sets: the reference's exclude_unset */
        json_object_foreach(doc, k, x)
        {
            json_t *v = json_object_get(given, k);
            /* storage (an external lake) is the reference's to ignore too */
            if (v && strcmp(k, "name") && strcmp(k, "uri") && strcmp(k, "storage"))
                json_object_set(model, k, v);
        }
        lh_dataset_model_clean(model);
        rc = lh_yaml_dump(model, &yml, err);
    }
    if (rc == LH_OK)
        rc = lh_versions_put(st, name, "config.yml", yml.data, yml.len, now_us, NULL, err);
    if (rc == LH_OK && out) *out = json_incref(model);
    json_decref(doc);
    json_decref(given);
    json_decref(model);
    lh_buf_free(&problem);
    lh_buf_free(&yml);
    return rc;
}

lh_stream_codec lh_dataset_model_codec(const json_t *model)
{
    lh_stream_codec c = LH_STREAM_PLAIN;
    const char *name = json_string_value(json_object_get(model, "compression"));
    if (!name || !lh_stream_codec_parse(name, &c)) return LH_STREAM_PLAIN;
    return c;
}
