/* Delta transactions: build a commit (commitInfo first, then protocol and
 * metaData for a new table, then adds/removes), write it as the next version
 * with put-if-absent, and on a lost race check the winning commits for
 * conflicts (Serializable, as Spark/delta-rs) before retrying. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "format/delta_internal.h"
#include "lh/core/mem.h"
#include "lh/core/timeutil.h"
#include "lh/core/uuid.h"

struct lh_delta_txn {
    lh_storage *st;
    char *prefix;
    const lh_delta_snapshot *read;
    bool creating;
    lh_buf meta_lines; /* protocol + metaData lines: a new table, a metadata update */
    lh_strlist part_cols;
    int64_t checkpoint_interval;
    lh_buf file_lines; /* add/remove lines */
    size_t num_adds, num_removes;
    bool any_data_change;
    lh_strlist removed; /* decoded paths of removed files */
    lh_delta_map *reads; /* partitions read/replaced */
    size_t num_reads;
    bool read_all;
    bool explicit_read; /* read_partition called (not only implied by removes) */
    char *operation;
    lh_delta_map params;
    lh_delta_map info; /* extra commitInfo keys -> raw JSON */
    lh_delta_outcome outcome;
    int64_t landed; /* the version of a COMMITTED outcome */
};

lh_status lh_delta_check_writable(const lh_delta_snapshot *read, const char *prefix, lh_error *err)
{
    /* Writer protocol 2 = appendOnly and invariants; anything newer
     * (constraints, generated columns, CDF, deletion vectors, features) we
     * cannot honour. */
    const lh_delta_protocol *p = lh_delta_snapshot_protocol(read);
    if (p->min_writer_version > 2) {
        lh_buf features = LH_BUF_INIT;
        for (size_t i = 0; i < p->writer_features.len; i++)
            lh_buf_printf(&features, "%s%s", i ? ", " : " (features: ", p->writer_features.items[i]);
        /* A legacy protocol (writer version 3 to 6, no feature list) names
         * its features by its version: the ones versions 3..N bring (delta-rs
         * gives a table writer version 3 for a CHECK constraint, 4 for
         * delta.enableChangeDataFeed), so the refusal says which. */
        static const char *const LEGACY[] = {"checkConstraints", "changeDataFeed, generatedColumns",
                                             "columnMapping", "identityColumns"};
        for (int v = 3; !p->writer_features.len && v <= p->min_writer_version && v <= 6; v++)
            lh_buf_printf(&features, "%s%s", v > 3 ? ", " : " (features: ", LEGACY[v - 3]);
        if (features.len) lh_buf_append_byte(&features, ')');
        lh_status rc = lh_error_set(err, LH_ERR_UNSUPPORTED,
                                    "Delta table \"%s\" needs writer version %d%s; this writer supports 2",
                                    prefix ? prefix : "", p->min_writer_version,
                                    features.len ? features.data : "");
        lh_buf_free(&features);
        return rc;
    }
    const lh_delta_metadata *m = lh_delta_snapshot_metadata(read);
    if (m->schema_string && strstr(m->schema_string, "delta.invariants"))
        return lh_error_set(err, LH_ERR_UNSUPPORTED,
                            "Delta table \"%s\" has column invariants, not supported", prefix ? prefix : "");
    return LH_OK;
}

lh_status lh_delta_txn_new(lh_storage *st, const char *prefix, const lh_delta_snapshot *read,
                           lh_delta_txn **out, lh_error *err)
{
    if (read) LH_TRY(lh_delta_check_writable(read, prefix, err));
    lh_delta_txn *t = lh_calloc(1, sizeof *t);
    t->st = st;
    t->prefix = lh_strdup(prefix ? prefix : "");
    t->read = read;
    t->checkpoint_interval = LH_DELTA_CHECKPOINT_INTERVAL;
    if (read) {
        const char *ci = lh_delta_snapshot_config(read, "delta.checkpointInterval", NULL);
        if (ci && atoll(ci) > 0) t->checkpoint_interval = atoll(ci);
        const lh_delta_metadata *m = lh_delta_snapshot_metadata(read);
        for (size_t i = 0; i < m->partition_columns.len; i++)
            lh_strlist_push(&t->part_cols, m->partition_columns.items[i]);
    }
    *out = t;
    return LH_OK;
}

void lh_delta_txn_free(lh_delta_txn *t)
{
    if (!t) return;
    free(t->prefix);
    lh_buf_free(&t->meta_lines);
    lh_buf_free(&t->file_lines);
    lh_strlist_free(&t->part_cols);
    lh_strlist_free(&t->removed);
    for (size_t i = 0; i < t->num_reads; i++) lh_delta_map_free(&t->reads[i]);
    free(t->reads);
    free(t->operation);
    lh_delta_map_free(&t->params);
    lh_delta_map_free(&t->info);
    free(t);
}

static void json_kv_str(lh_buf *b, const char *key, const char *val)
{
    lh_buf_append_json_str(b, key, strlen(key));
    lh_buf_append_byte(b, ':');
    if (val)
        lh_buf_append_json_str(b, val, strlen(val));
    else
        lh_buf_append_str(b, "null");
}

lh_status lh_delta_txn_set_metadata(lh_delta_txn *t, const lh_delta_table_spec *spec,
                                    lh_error *err)
{
    if (t->read)
        return lh_error_set(err, LH_ERR_UNSUPPORTED, "changing the metadata of an existing table");
    if (t->creating) return lh_error_set(err, LH_ERR_INVALID, "metadata set twice");
    for (size_t i = 0; i < spec->num_partition_columns; i++) {
        bool known = false;
        for (size_t k = 0; k < spec->num_fields; k++)
            if (strcmp(spec->fields[k].name, spec->partition_columns[i]) == 0) known = true;
        if (!known)
            return lh_error_set(err, LH_ERR_INVALID, "partition column \"%s\" is not in the schema",
                                spec->partition_columns[i]);
    }
    lh_uuid u;
    LH_TRY(lh_uuid4_new(&u, err));
    char id[LH_UUID_STR_LEN + 1];
    lh_uuid_format(&u, id);

    lh_buf schema = LH_BUF_INIT;
    lh_buf_append_str(&schema, "{\"type\":\"struct\",\"fields\":[");
    for (size_t i = 0; i < spec->num_fields; i++) {
        const lh_delta_field *f = &spec->fields[i];
        if (i) lh_buf_append_byte(&schema, ',');
        lh_buf_append_byte(&schema, '{');
        json_kv_str(&schema, "name", f->name);
        lh_buf_append_byte(&schema, ',');
        if (f->type[0] == '{') { /* nested type given as JSON */
            lh_buf_append_str(&schema, "\"type\":");
            lh_buf_append_str(&schema, f->type);
        } else {
            json_kv_str(&schema, "type", f->type);
        }
        lh_buf_printf(&schema, ",\"nullable\":%s,\"metadata\":{}}", f->nullable ? "true" : "false");
    }
    lh_buf_append_str(&schema, "]}");

    lh_buf *b = &t->meta_lines;
    lh_buf_append_str(b, "{\"protocol\":{\"minReaderVersion\":1,\"minWriterVersion\":2}}\n");
    lh_buf_append_str(b, "{\"metaData\":{");
    json_kv_str(b, "id", id);
    lh_buf_append_byte(b, ',');
    json_kv_str(b, "name", spec->name);
    lh_buf_append_byte(b, ',');
    json_kv_str(b, "description", spec->description);
    lh_buf_append_str(b, ",\"format\":{\"provider\":\"parquet\",\"options\":{}},");
    json_kv_str(b, "schemaString", schema.data);
    lh_buf_append_str(b, ",\"partitionColumns\":[");
    for (size_t i = 0; i < spec->num_partition_columns; i++) {
        if (i) lh_buf_append_byte(b, ',');
        lh_buf_append_json_str(b, spec->partition_columns[i], strlen(spec->partition_columns[i]));
        lh_strlist_push(&t->part_cols, spec->partition_columns[i]);
    }
    lh_buf_printf(b, "],\"createdTime\":%" PRId64 ",\"configuration\":", lh_now_us() / 1000);
    lh_delta_map conf = {0};
    lh_delta_map_copy(&conf, spec->configuration, spec->num_configuration);
    lh_delta_map_to_json(&conf, b);
    const char *ci = lh_delta_map_get(&conf, "delta.checkpointInterval", NULL);
    if (ci && atoll(ci) > 0) t->checkpoint_interval = atoll(ci);
    lh_delta_map_free(&conf);
    lh_buf_append_str(b, "}}\n");
    lh_buf_free(&schema);
    t->creating = true;
    return LH_OK;
}

lh_status lh_delta_txn_update_metadata(lh_delta_txn *t, const char *schema_string,
                                       const lh_delta_kv *set, size_t n, lh_error *err)
{
    if (!t->read)
        return lh_error_set(err, LH_ERR_INVALID, "metadata update without a read snapshot");
    if (t->meta_lines.len) return lh_error_set(err, LH_ERR_INVALID, "metadata set twice");
    const lh_delta_metadata *m = lh_delta_snapshot_metadata(t->read);
    lh_delta_map conf = {0};
    lh_delta_map_copy(&conf, m->configuration.items, m->configuration.len);
    for (size_t i = 0; i < n; i++) {
        bool replaced = false;
        for (size_t k = 0; k < conf.len && !replaced; k++)
            if (strcmp(conf.items[k].key, set[i].key) == 0) {
                free((char *)conf.items[k].value);
                conf.items[k].value = set[i].value ? lh_strdup(set[i].value) : NULL;
                replaced = true;
            }
        if (!replaced) lh_delta_map_push(&conf, set[i].key, set[i].value);
    }
    lh_buf *b = &t->meta_lines;
    lh_buf_append_str(b, "{\"metaData\":{");
    json_kv_str(b, "id", m->id);
    lh_buf_append_byte(b, ',');
    json_kv_str(b, "name", m->name);
    lh_buf_append_byte(b, ',');
    json_kv_str(b, "description", m->description);
    lh_buf_append_str(b, ",\"format\":{\"provider\":\"parquet\",\"options\":{}},");
    json_kv_str(b, "schemaString", schema_string ? schema_string : m->schema_string);
    lh_buf_append_str(b, ",\"partitionColumns\":[");
    for (size_t i = 0; i < m->partition_columns.len; i++) {
        if (i) lh_buf_append_byte(b, ',');
        const char *c = m->partition_columns.items[i];
        lh_buf_append_json_str(b, c, strlen(c));
    }
    lh_buf_append_str(b, "]");
    if (m->created_time >= 0) lh_buf_printf(b, ",\"createdTime\":%" PRId64, m->created_time);
    lh_buf_append_str(b, ",\"configuration\":");
    lh_delta_map_to_json(&conf, b);
    lh_buf_append_str(b, "}}\n");
    const char *ci = lh_delta_map_get(&conf, "delta.checkpointInterval", NULL);
    if (ci && atoll(ci) > 0) t->checkpoint_interval = atoll(ci);
    lh_delta_map_free(&conf);
    /* files a concurrent commit added were written against the old
     * metadata: a conflict, whatever their partition */
    lh_delta_txn_read_partition(t, NULL, 0);
    return LH_OK;
}

lh_status lh_delta_schema_add_fields(const char *schema_string, const lh_delta_field *fields,
                                     size_t n, lh_buf *out, lh_error *err)
{
    json_error_t jerr;
    json_t *schema = json_loads(schema_string, 0, &jerr);
    json_t *list = schema ? json_object_get(schema, "fields") : NULL;
    if (!json_is_array(list)) {
        json_decref(schema);
        return lh_error_set(err, LH_ERR_CORRUPT, "Delta schemaString is not a struct type: %s",
                            schema ? "no fields" : jerr.text);
    }
    for (size_t i = 0; i < n; i++) {
        size_t k;
        json_t *f;
        json_array_foreach(list, k, f) {
            const char *name = json_string_value(json_object_get(f, "name"));
            if (name && strcmp(name, fields[i].name) == 0) {
                json_decref(schema);
                return lh_error_set(err, LH_ERR_INVALID, "the table already has a column \"%s\"",
                                    fields[i].name);
            }
        }
        json_t *type = fields[i].type[0] == '{' ? json_loads(fields[i].type, 0, &jerr)
                                                : json_string(fields[i].type);
        if (!type) {
            json_decref(schema);
            return lh_error_set(err, LH_ERR_INVALID, "column \"%s\": bad type %s", fields[i].name,
                                fields[i].type);
        }
        json_array_append_new(list, json_pack("{s:s, s:o, s:b, s:{}}", "name", fields[i].name,
                                              "type", type, "nullable", fields[i].nullable,
                                              "metadata"));
    }
    char *text = json_dumps(schema, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(schema);
    if (!text) lh_out_of_memory_for("a Delta schema");
    lh_buf_append_str(out, text);
    free(text);
    return LH_OK;
}

/* partitionValues JSON; "" is written as null (the protocol reads "" as null
 * for non-string types and writers emit null). */
static void pv_json(lh_buf *b, const lh_delta_kv *pv, size_t n)
{
    lh_buf_append_byte(b, '{');
    for (size_t i = 0; i < n; i++) {
        if (i) lh_buf_append_byte(b, ',');
        json_kv_str(b, pv[i].key, pv[i].value && *pv[i].value ? pv[i].value : NULL);
    }
    lh_buf_append_byte(b, '}');
}

lh_status lh_delta_txn_add(lh_delta_txn *t, const lh_delta_add *a, lh_error *err)
{
    lh_error kerr;
    if (lh_storage_check_key(a->path, &kerr) != LH_OK || strncmp(a->path, "_delta_log/", 11) == 0)
        return lh_error_set(err, LH_ERR_INVALID, "add: bad data file path \"%.200s\"", a->path);
    if (!t->read && !t->creating) {
        /* blind append without a snapshot: the partition columns are unknown here */
    } else {
        if (a->num_partition_values != t->part_cols.len)
            return lh_error_set(err, LH_ERR_INVALID, "add %s: %zu partition values for %zu partition columns",
                                a->path, a->num_partition_values, t->part_cols.len);
        for (size_t i = 0; i < a->num_partition_values; i++)
            if (!lh_strlist_contains(&t->part_cols, a->partition_values[i].key))
                return lh_error_set(err, LH_ERR_INVALID, "add %s: \"%s\" is not a partition column",
                                    a->path, a->partition_values[i].key);
    }
    if (a->stats) {
        json_t *j = json_loads(a->stats, 0, NULL);
        if (!json_is_object(j)) {
            json_decref(j);
            return lh_error_set(err, LH_ERR_INVALID, "add %s: stats is not a JSON object", a->path);
        }
        json_decref(j);
    }
    lh_buf *b = &t->file_lines;
    lh_buf_append_str(b, "{\"add\":{\"path\":");
    lh_buf enc = LH_BUF_INIT;
    lh_delta_path_encode(a->path, &enc);
    lh_buf_append_json_str(b, enc.data, enc.len);
    lh_buf_free(&enc);
    lh_buf_append_str(b, ",\"partitionValues\":");
    pv_json(b, a->partition_values, a->num_partition_values);
    lh_buf_printf(b, ",\"size\":%" PRId64 ",\"modificationTime\":%" PRId64 ",\"dataChange\":%s",
                  a->size, a->modification_time, a->data_change ? "true" : "false");
    if (a->stats) {
        lh_buf_append_str(b, ",");
        json_kv_str(b, "stats", a->stats);
    }
    lh_buf_append_str(b, "}}\n");
    t->num_adds++;
    if (a->data_change) t->any_data_change = true;
    return LH_OK;
}

static bool pv_equal_map(const lh_delta_map *a, const lh_delta_map *b)
{
    if (a->len != b->len) return false;
    for (size_t i = 0; i < a->len; i++) {
        bool found;
        const char *v = lh_delta_map_get(b, a->items[i].key, &found);
        const char *u = a->items[i].value;
        if (!found) return false;
        if (!u != !v || (u && strcmp(u, v) != 0)) return false;
    }
    return true;
}

lh_status lh_delta_txn_remove(lh_delta_txn *t, const lh_delta_file *f, bool data_change,
                              int64_t deletion_timestamp, lh_error *err)
{
    if (data_change && t->read &&
        strcmp(lh_delta_snapshot_config(t->read, "delta.appendOnly", "false"), "true") == 0)
        return lh_error_set(err, LH_ERR_INVALID, "Delta table \"%s\" is append-only (delta.appendOnly)",
                            t->prefix);
    if (lh_strlist_contains(&t->removed, f->path))
        return lh_error_set(err, LH_ERR_INVALID, "remove %s twice in one commit", f->path);
    if (!deletion_timestamp) deletion_timestamp = lh_now_us() / 1000;
    lh_buf *b = &t->file_lines;
    lh_buf_append_str(b, "{\"remove\":{");
    json_kv_str(b, "path", f->raw_path ? f->raw_path : f->path);
    lh_buf_printf(b, ",\"deletionTimestamp\":%" PRId64 ",\"dataChange\":%s", deletion_timestamp,
                  data_change ? "true" : "false");
    if (f->size >= 0) {
        lh_buf_append_str(b, ",\"extendedFileMetadata\":true,\"partitionValues\":");
        lh_delta_map_to_json(&f->partition_values, b);
        lh_buf_printf(b, ",\"size\":%" PRId64, f->size);
    }
    lh_buf_append_str(b, "}}\n");
    t->num_removes++;
    if (data_change) t->any_data_change = true;
    lh_strlist_push(&t->removed, f->path);
    /* The txn read this file's partition: concurrent adds there conflict. */
    for (size_t i = 0; i < t->num_reads; i++)
        if (pv_equal_map(&t->reads[i], &f->partition_values)) return LH_OK;
    if (f->partition_values.len == 0) {
        t->read_all = true; /* unpartitioned table: the txn read everything */
        return LH_OK;
    }
    bool explicit_read = t->explicit_read;
    lh_delta_txn_read_partition(t, f->partition_values.items, f->partition_values.len);
    t->explicit_read = explicit_read;
    return LH_OK;
}

void lh_delta_txn_read_partition(lh_delta_txn *t, const lh_delta_kv *values, size_t n)
{
    t->explicit_read = true;
    if (n == 0) {
        t->read_all = true;
        return;
    }
    t->reads = lh_realloc(t->reads, (t->num_reads + 1) * sizeof *t->reads);
    memset(&t->reads[t->num_reads], 0, sizeof *t->reads);
    lh_delta_map_copy(&t->reads[t->num_reads], values, n);
    t->num_reads++;
}

void lh_delta_txn_set_operation(lh_delta_txn *t, const char *operation,
                                const lh_delta_kv *params, size_t n)
{
    free(t->operation);
    t->operation = lh_strdup(operation);
    lh_delta_map_free(&t->params);
    lh_delta_map_copy(&t->params, params, n);
}

void lh_delta_txn_set_info_json(lh_delta_txn *t, const char *key, const char *json)
{
    lh_delta_map_push(&t->info, key, json);
}

/* ------------------------------------------------------------ conflicts */

static bool is_blind_append(const lh_delta_txn *t)
{
    return !t->creating && t->num_removes == 0 && t->num_reads == 0 && !t->read_all;
}

/* Only dataChange=false file actions (compaction): snapshot isolation. */
static bool snapshot_isolation(const lh_delta_txn *t)
{
    return !t->creating && !t->any_data_change && (t->num_adds + t->num_removes) > 0 &&
           !t->explicit_read;
}

/* Does a winner's add with partition values pv fall into what t read? */
static bool read_covers(const lh_delta_txn *t, const lh_delta_map *pv)
{
    if (t->read_all) return true;
    for (size_t i = 0; i < t->num_reads; i++) {
        const lh_delta_map *r = &t->reads[i];
        bool match = true;
        for (size_t k = 0; k < r->len && match; k++) {
            bool found;
            const char *v = lh_delta_map_get(pv, r->items[k].key, &found);
            const char *want = r->items[k].value;
            /* "" and null are the same partition */
            bool vnull = !v || !*v, wnull = !want || !*want;
            if (vnull != wnull || (!vnull && strcmp(v, want) != 0)) match = false;
        }
        if (match) return true;
    }
    return false;
}

typedef struct conflict_ctx {
    lh_delta_txn *t;
    int64_t version;
    char reason[512];
} conflict_ctx;

static lh_status conflict_action(void *vctx, lh_delta_action *a, lh_error *err)
{
    conflict_ctx *c = vctx;
    lh_delta_txn *t = c->t;
    (void)err;
    if (c->reason[0]) return LH_OK;
    switch (a->kind) {
    case LH_DA_METADATA:
        snprintf(c->reason, sizeof c->reason, "it changed the table metadata");
        break;
    case LH_DA_PROTOCOL:
        snprintf(c->reason, sizeof c->reason, "it changed the table protocol");
        break;
    case LH_DA_ADD:
        if (!snapshot_isolation(t) && !is_blind_append(t) && read_covers(t, &a->file->partition_values))
            snprintf(c->reason, sizeof c->reason,
                     "it added %.200s into a partition this transaction read", a->file->path);
        break;
    case LH_DA_REMOVE:
        if (lh_strlist_contains(&t->removed, a->file->path))
            snprintf(c->reason, sizeof c->reason, "it also removed %.200s", a->file->path);
        else if (t->read_all && a->file->data_change && !snapshot_isolation(t))
            snprintf(c->reason, sizeof c->reason,
                     "it removed %.200s from the table this transaction read", a->file->path);
        break;
    default:
        break;
    }
    return LH_OK;
}

static lh_status check_winner(lh_delta_txn *t, int64_t v, lh_error *err)
{
    char *key = lh_delta_commit_key(t->prefix, v);
    lh_buf data = LH_BUF_INIT;
    lh_status rc = lh_storage_read(t->st, key, &data, err);
    free(key);
    if (rc == LH_OK) {
        conflict_ctx c = {t, v, ""};
        rc = lh_delta_parse_commit(t->st, t->prefix, v, data.data ? data.data : "", data.len,
                                   conflict_action, &c, err);
        if (rc == LH_OK && c.reason[0])
            rc = lh_error_set(err, LH_ERR_CONFLICT,
                              "Delta commit to \"%s\" conflicts with concurrent version %" PRId64
                              ": %s", t->prefix, v, c.reason);
    }
    lh_buf_free(&data);
    return rc;
}

/* --------------------------------------------------------------- commit */

static void build_commit(const lh_delta_txn *t, int64_t read_version, lh_buf *out)
{
    lh_buf_append_str(out, "{\"commitInfo\":{");
    lh_buf_printf(out, "\"timestamp\":%" PRId64 ",", lh_now_us() / 1000);
    const char *op = t->operation;
    if (!op) op = t->creating && t->num_adds == 0 ? "CREATE TABLE" : "WRITE";
    json_kv_str(out, "operation", op);
    lh_buf_append_str(out, ",\"operationParameters\":");
    if (t->operation || t->params.len) {
        lh_delta_map_to_json(&t->params, out);
    } else if (t->creating) {
        lh_buf_append_str(out, "{\"mode\":\"ErrorIfExists\"}");
    } else {
        lh_buf_append_str(out, "{\"mode\":\"Append\"}");
    }
    if (read_version >= 0) lh_buf_printf(out, ",\"readVersion\":%" PRId64, read_version);
    lh_buf_printf(out, ",\"isolationLevel\":\"%s\",\"isBlindAppend\":%s",
                  snapshot_isolation(t) ? "SnapshotIsolation" : "Serializable",
                  is_blind_append(t) ? "true" : "false");
    lh_buf_append_str(out, ",\"engineInfo\":\"ftm-lakehouse-c:" LH_VERSION "\"");
    lh_buf_append_str(out, ",\"clientVersion\":\"ftm-lakehouse-c-" LH_VERSION "\"");
    for (size_t i = 0; i < t->info.len; i++) {
        lh_buf_append_byte(out, ',');
        lh_buf_append_json_str(out, t->info.items[i].key, strlen(t->info.items[i].key));
        lh_buf_append_byte(out, ':');
        lh_buf_append_str(out, t->info.items[i].value ? t->info.items[i].value : "null");
    }
    lh_buf_append_str(out, "}}\n");
    lh_buf_append(out, t->meta_lines.data, t->meta_lines.len);
    lh_buf_append(out, t->file_lines.data, t->file_lines.len);
    if (out->len && out->data[out->len - 1] == '\n') out->data[--out->len] = 0;
}

static void backoff(int attempt)
{
    /* per thread, and reseeded in a forked child so writers do not back off in step */
    static _Thread_local unsigned seed;
    static _Thread_local pid_t seeded_by;
    if (seeded_by != getpid()) {
        seeded_by = getpid();
        seed = (unsigned)(lh_now_us() ^ ((int64_t)seeded_by << 16));
    }
    int span = 2 * attempt + 4;
    long ms = (long)(rand_r(&seed) % (span > 50 ? 50 : span));
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

lh_status lh_delta_checkpoint_and_cleanup(lh_storage *st, const lh_delta_snapshot *s,
                                          size_t *deleted, lh_error *err)
{
    if (deleted) *deleted = 0;
    LH_TRY(lh_delta_checkpoint_write(st, s, err));
    int64_t keep = lh_delta_interval_ms(lh_delta_snapshot_config(s, "delta.logRetentionDuration", NULL),
                                        30LL * 86400000);
    return lh_delta_cleanup_log(st, lh_delta_snapshot_prefix(s), keep, lh_now_us() / 1000, deleted,
                                err);
}

static void maybe_checkpoint(lh_delta_txn *t, int64_t v)
{
    if ((v + 1) % t->checkpoint_interval != 0) return;
    lh_delta_snapshot *s = NULL;
    lh_error cerr;
    if (lh_delta_snapshot_load(t->st, t->prefix, v, &s, &cerr) != LH_OK) return;
    /* A failed checkpoint only costs readers time; the commit stands. The
     * cleanup after an automatic checkpoint is the one the table may turn
     * off (an explicit one is not, as in delta-rs). */
    if (strcmp(lh_delta_snapshot_config(s, "delta.enableExpiredLogCleanup", "true"), "false") == 0)
        (void)lh_delta_checkpoint_write(t->st, s, &cerr);
    else
        (void)lh_delta_checkpoint_and_cleanup(t->st, s, NULL, &cerr);
    lh_delta_snapshot_free(s);
}

/* After a put that failed other than by losing the race: is our commit in
 * the log all the same? Only our own bytes count as ours. The error stays
 * the put's, with what was found added. */
static void read_back(lh_delta_txn *t, const char *key, const lh_buf *body, int64_t next,
                      lh_error *err)
{
    bool ours = false;
    lh_error rerr;
    lh_status rc = lh_storage_holds(t->st, key, body->data, body->len, &ours, &rerr);
    if (rc == LH_OK && ours) {
        t->outcome = LH_DELTA_COMMITTED;
        t->landed = next;
        lh_error_suffix(err, " (commit %" PRId64 " of \"%s\" is in the log all the same)", next,
                        t->prefix);
    } else if (rc != LH_OK && rc != LH_ERR_NOT_FOUND) {
        t->outcome = LH_DELTA_OUTCOME_UNKNOWN;
        lh_error_suffix(err, " (whether commit %" PRId64 " of \"%s\" landed is unknown: %s)",
                        next, t->prefix, rerr.msg);
    }
}

lh_delta_outcome lh_delta_txn_outcome(const lh_delta_txn *t, int64_t *version)
{
    if (version) *version = t->outcome == LH_DELTA_COMMITTED ? t->landed : -1;
    return t->outcome;
}

lh_status lh_delta_txn_commit(lh_delta_txn *t, int64_t *version, lh_error *err)
{
    int64_t read_version;
    if (t->read) {
        read_version = lh_delta_snapshot_version(t->read);
    } else if (t->creating) {
        read_version = -1;
    } else {
        lh_status rc = lh_delta_latest_version(t->st, t->prefix, &read_version, err);
        if (rc != LH_OK) return rc;
    }
    int64_t next = read_version + 1;
    int64_t checked = read_version; /* winners up to here are known compatible */
    lh_buf body = LH_BUF_INIT;
    lh_status rc = LH_OK;
    for (int attempt = 1;; attempt++) {
        lh_buf_reset(&body);
        build_commit(t, read_version, &body);
        char *key = lh_delta_commit_key(t->prefix, next);
        rc = lh_storage_put_if_absent(t->st, key, body.data, body.len, err);
        if (rc == LH_OK) {
            free(key);
            *version = next;
            t->outcome = LH_DELTA_COMMITTED;
            t->landed = next;
            break;
        }
        if (rc != LH_ERR_EXISTS) {
            read_back(t, key, &body, next, err);
            free(key);
            break;
        }
        free(key);
        if (t->creating) {
            rc = lh_error_set(err, LH_ERR_EXISTS, "Delta table \"%s\" already exists", t->prefix);
            break;
        }
        int64_t latest;
        rc = lh_delta_latest_version(t->st, t->prefix, &latest, err);
        if (rc != LH_OK) break;
        if (latest < next) latest = next; /* listing lag: at least the one we lost to */
        for (int64_t v = checked + 1; v <= latest && rc == LH_OK; v++) rc = check_winner(t, v, err);
        if (rc != LH_OK) break;
        checked = latest;
        next = latest + 1;
        /* Blind appends cannot conflict (short of a metadata change), so they
         * keep trying longer than transactions that read data. */
        if (attempt >= (is_blind_append(t) ? LH_DELTA_MAX_RETRIES_APPEND : LH_DELTA_MAX_RETRIES)) {
            rc = lh_error_set(err, LH_ERR_CONFLICT,
                              "Delta commit to \"%s\" gave up after %d attempts (versions %" PRId64
                              "..%" PRId64 " were taken concurrently)",
                              t->prefix, attempt, read_version + 1, latest);
            break;
        }
        backoff(attempt);
    }
    lh_buf_free(&body);
    if (rc == LH_OK) maybe_checkpoint(t, *version);
    return rc;
}

lh_status lh_delta_create(lh_storage *st, const char *prefix, const lh_delta_table_spec *spec,
                          int64_t *version, lh_error *err)
{
    lh_delta_txn *t;
    LH_TRY(lh_delta_txn_new(st, prefix, NULL, &t, err));
    lh_status rc = lh_delta_txn_set_metadata(t, spec, err);
    if (rc == LH_OK) {
        lh_delta_txn_set_operation(t, "CREATE TABLE", NULL, 0);
        int64_t v = 0;
        rc = lh_delta_txn_commit(t, &v, err);
        if (version) *version = v;
    }
    lh_delta_txn_free(t);
    return rc;
}
