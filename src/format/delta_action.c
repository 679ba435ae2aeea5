/* Parsing Delta log actions from JSON commit files into structs. Unknown
 * actions and fields are ignored (protocol evolution); malformed or unsafe
 * ones are LH_ERR_CORRUPT naming the commit version and line. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/delta_internal.h"
#include "lh/core/mem.h"

static char *opt_str(json_t *v)
{
    return json_is_string(v) ? lh_strdup(json_string_value(v)) : NULL;
}

/* Messages of the helpers name the field; parse_* prefix them with `where`. */
static lh_status get_i64(json_t *obj, const char *key, bool required, int64_t dflt, int64_t *out,
                         lh_error *err)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) {
        if (required) return lh_error_set(err, LH_ERR_CORRUPT, "missing %s", key);
        *out = dflt;
        return LH_OK;
    }
    if (json_is_integer(v)) {
        *out = (int64_t)json_integer_value(v);
    } else if (json_is_real(v)) {
        *out = (int64_t)json_real_value(v);
    } else {
        return lh_error_set(err, LH_ERR_CORRUPT, "%s is not a number", key);
    }
    return LH_OK;
}

static lh_status parse_file(lh_storage *st, const char *prefix, json_t *o, bool is_add,
                            lh_delta_file **out, const char *where, lh_error *err)
{
    const char *what = is_add ? "add" : "remove";
    if (!json_is_object(o)) return lh_error_set(err, LH_ERR_CORRUPT, "%s: %s is not an object", where, what);
    json_t *path = json_object_get(o, "path");
    if (!json_is_string(path) || !*json_string_value(path))
        return lh_error_set(err, LH_ERR_CORRUPT, "%s: %s.path missing", where, what);
    lh_delta_file *f = lh_calloc(1, sizeof *f);
    f->size = -1;
    f->deletion_timestamp = -1;
    f->raw_path = lh_strdup(json_string_value(path));
    lh_status rc = lh_delta_resolve_path(st, prefix, f->raw_path, &f->path, err);
    if (rc == LH_OK)
        rc = lh_delta_map_from_json(json_object_get(o, "partitionValues"), &f->partition_values,
                                    "partitionValues", err);
    /* The protocol reads "" as a null partition value (delta-rs writes "" for
     * an empty string and reads it back as null). */
    if (rc == LH_OK) lh_delta_pv_empty_to_null(&f->partition_values);
    if (rc == LH_OK) rc = get_i64(o, "size", is_add, -1, &f->size, err);
    if (rc == LH_OK) rc = get_i64(o, "modificationTime", false, 0, &f->modification_time, err);
    if (rc == LH_OK && !is_add)
        rc = get_i64(o, "deletionTimestamp", false, -1, &f->deletion_timestamp, err);
    if (rc == LH_OK) {
        json_t *dc = json_object_get(o, "dataChange");
        f->data_change = !json_is_false(dc);
        f->stats = opt_str(json_object_get(o, "stats"));
        if (is_add) rc = lh_delta_map_from_json(json_object_get(o, "tags"), &f->tags, "tags", err);
    }
    if (rc == LH_OK) {
        json_t *dv = json_object_get(o, "deletionVector");
        if (dv && !json_is_null(dv))
            rc = lh_error_set(err, LH_ERR_UNSUPPORTED, "deletion vectors are not supported");
    }
    if (rc != LH_OK) {
        lh_error_prefix(err, "%s: %s", where, what);
        lh_delta_file_free(f);
        return rc;
    }
    *out = f;
    return LH_OK;
}

static lh_status parse_txn(json_t *o, lh_delta_app_txn *t, const char *where, lh_error *err)
{
    memset(t, 0, sizeof *t);
    if (!json_is_object(o)) return lh_error_set(err, LH_ERR_CORRUPT, "%s: txn is not an object", where);
    json_t *app = json_object_get(o, "appId");
    if (!json_is_string(app)) return lh_error_set(err, LH_ERR_CORRUPT, "%s: txn.appId missing", where);
    if (get_i64(o, "version", true, 0, &t->version, err) != LH_OK ||
        get_i64(o, "lastUpdated", false, -1, &t->last_updated, err) != LH_OK)
        return lh_error_prefix(err, "%s: txn", where);
    t->app_id = lh_strdup(json_string_value(app));
    return LH_OK;
}

static lh_status parse_strlist(json_t *arr, lh_strlist *l, const char *what, const char *where,
                               lh_error *err)
{
    if (!arr || json_is_null(arr)) return LH_OK;
    if (!json_is_array(arr)) return lh_error_set(err, LH_ERR_CORRUPT, "%s: %s is not an array", where, what);
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        if (!json_is_string(v))
            return lh_error_set(err, LH_ERR_CORRUPT, "%s: %s[%zu] is not a string", where, what, i);
        lh_strlist_push(l, json_string_value(v));
    }
    return LH_OK;
}

static lh_status parse_metadata(json_t *o, lh_delta_metadata *m, const char *where, lh_error *err)
{
    memset(m, 0, sizeof *m);
    m->created_time = -1;
    if (!json_is_object(o)) return lh_error_set(err, LH_ERR_CORRUPT, "%s: metaData is not an object", where);
    m->id = opt_str(json_object_get(o, "id"));
    m->name = opt_str(json_object_get(o, "name"));
    m->description = opt_str(json_object_get(o, "description"));
    m->schema_string = opt_str(json_object_get(o, "schemaString"));
    lh_status rc = get_i64(o, "createdTime", false, -1, &m->created_time, err);
    if (rc == LH_OK)
        rc = parse_strlist(json_object_get(o, "partitionColumns"), &m->partition_columns,
                           "partitionColumns", where, err);
    if (rc == LH_OK)
        rc = lh_delta_map_from_json(json_object_get(o, "configuration"), &m->configuration,
                                    "configuration", err);
    if (rc == LH_OK && !m->id) rc = lh_error_set(err, LH_ERR_CORRUPT, "%s: metaData.id missing", where);
    if (rc == LH_OK) rc = lh_delta_metadata_parse_schema(m, err);
    if (rc != LH_OK && !strstr(err->msg, where)) lh_error_prefix(err, "%s", where);
    return rc;
}

static lh_status parse_protocol(json_t *o, lh_delta_protocol *p, const char *where, lh_error *err)
{
    memset(p, 0, sizeof *p);
    if (!json_is_object(o)) return lh_error_set(err, LH_ERR_CORRUPT, "%s: protocol is not an object", where);
    int64_t r = 0, w = 0;
    if (get_i64(o, "minReaderVersion", true, 0, &r, err) != LH_OK ||
        get_i64(o, "minWriterVersion", true, 0, &w, err) != LH_OK)
        return lh_error_prefix(err, "%s: protocol", where);
    p->min_reader_version = (int)r;
    p->min_writer_version = (int)w;
    LH_TRY(parse_strlist(json_object_get(o, "readerFeatures"), &p->reader_features,
                         "readerFeatures", where, err));
    return parse_strlist(json_object_get(o, "writerFeatures"), &p->writer_features,
                         "writerFeatures", where, err);
}

void lh_delta_action_clear(lh_delta_action *a)
{
    lh_delta_file_free(a->file);
    if (a->kind == LH_DA_METADATA) lh_delta_metadata_free(&a->metadata);
    if (a->kind == LH_DA_PROTOCOL) lh_delta_protocol_free(&a->protocol);
    free(a->txn.app_id);
    memset(a, 0, sizeof *a);
}

lh_status lh_delta_parse_action(lh_storage *st, const char *prefix, json_t *obj,
                                lh_delta_action *a, const char *where, lh_error *err)
{
    memset(a, 0, sizeof *a);
    if (!json_is_object(obj)) return lh_error_set(err, LH_ERR_CORRUPT, "%s: action is not an object", where);
    json_t *v;
    lh_status rc = LH_OK;
    if ((v = json_object_get(obj, "add"))) {
        a->kind = LH_DA_ADD;
        rc = parse_file(st, prefix, v, true, &a->file, where, err);
    } else if ((v = json_object_get(obj, "remove"))) {
        a->kind = LH_DA_REMOVE;
        rc = parse_file(st, prefix, v, false, &a->file, where, err);
    } else if ((v = json_object_get(obj, "metaData"))) {
        a->kind = LH_DA_METADATA;
        rc = parse_metadata(v, &a->metadata, where, err);
    } else if ((v = json_object_get(obj, "protocol"))) {
        a->kind = LH_DA_PROTOCOL;
        rc = parse_protocol(v, &a->protocol, where, err);
    } else if ((v = json_object_get(obj, "txn"))) {
        a->kind = LH_DA_TXN;
        rc = parse_txn(v, &a->txn, where, err);
    } else if (json_object_get(obj, "domainMetadata")) {
        a->kind = LH_DA_UNTRACKED;
    } else if ((v = json_object_get(obj, "commitInfo"))) {
        a->kind = LH_DA_COMMIT_INFO;
        a->commit_info = v;
    }
    if (rc != LH_OK) lh_delta_action_clear(a);
    return rc;
}

bool lh_delta_next_line(const char *data, size_t len, size_t *pos, int *line,
                        const char **start, size_t *n)
{
    while (*pos < len) {
        *start = data + *pos;
        const char *nl = memchr(*start, '\n', len - *pos);
        *n = nl ? (size_t)(nl - *start) : len - *pos;
        *pos += *n + (nl ? 1 : 0);
        (*line)++;
        size_t k = 0;
        while (k < *n && ((*start)[k] == ' ' || (*start)[k] == '\t' || (*start)[k] == '\r')) k++;
        if (k < *n) return true; /* else an empty line */
    }
    return false;
}

lh_status lh_delta_parse_commit(lh_storage *st, const char *prefix, int64_t version,
                                const char *data, size_t len, lh_delta_action_fn fn, void *ctx,
                                lh_error *err)
{
    size_t pos = 0, n;
    int line = 0;
    const char *start;
    while (lh_delta_next_line(data, len, &pos, &line, &start, &n)) {
        char where[96];
        snprintf(where, sizeof where, "commit %020" PRId64 ".json line %d", version, line);
        json_error_t jerr;
        json_t *obj = json_loadb(start, n, JSON_ALLOW_NUL, &jerr);
        if (!obj) return lh_error_set(err, LH_ERR_CORRUPT, "%s: invalid JSON: %s", where, jerr.text);
        lh_delta_action a;
        lh_status rc = lh_delta_parse_action(st, prefix, obj, &a, where, err);
        if (rc == LH_OK) rc = fn(ctx, &a, err);
        lh_delta_action_clear(&a);
        json_decref(obj);
        if (rc != LH_OK) return rc;
    }
    return LH_OK;
}
