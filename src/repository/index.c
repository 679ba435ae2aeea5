/* The dataset index (index.h). */
#include "lh/repository/index.h"

#include <jansson.h>
#include <string.h>

#include "lh/core/hash.h"
#include "lh/core/mem.h"
#include "lh/core/timeutil.h"
#include "lh/repository/dataset_model.h"
#include "lh/storage/versions.h"

/* The export files, in the reference's order of its streamed artifacts. */
static const struct artifact {
    const char *key;
    const char *mime, *label;
    bool compressed; /* takes the dataset's codec (and its suffix) */
} ARTIFACTS[] = {
    {"exports/statements.csv", "text/csv", "Comma-separated table", true},
    {"entities.ftm.json", "application/json+ftm", "FollowTheMoney Entities", true},
    {"exports/parents.csv", "text/csv", "Comma-separated table", true},
    {"exports/documents.csv", "text/csv", "Comma-separated table", true},
    {"exports/documents.crawl.csv", "text/csv", "Comma-separated table", true},
    {"exports/statistics.json", "application/json", "JavaScript Object Notation", false},
};

/* string.Template.safe_substitute of `$dataset` / `${dataset}` */
static char *fill_prefix(const char *tpl, const char *dataset)
{
    lh_buf b = LH_BUF_INIT;
    for (const char *p = tpl; *p;) {
        if (strncmp(p, "${dataset}", 10) == 0) {
            lh_buf_append_str(&b, dataset);
            p += 10;
        } else if (strncmp(p, "$dataset", 8) == 0 &&
                   !((p[8] >= 'a' && p[8] <= 'z') || (p[8] >= 'A' && p[8] <= 'Z') ||
                     (p[8] >= '0' && p[8] <= '9') || p[8] == '_')) {
            lh_buf_append_str(&b, dataset);
            p += 8;
        } else if (strncmp(p, "$$", 2) == 0) {
            lh_buf_append_byte(&b, '$');
            p += 2;
        } else {
            lh_buf_append_byte(&b, *p++);
        }
    }
    return lh_buf_detach(&b, NULL);
}

static lh_status file_sha256(lh_storage *st, const char *key, uint64_t size,
                             char out[LH_SHA256_HEX_LEN + 1], lh_error *err)
{
    lh_storage_reader *r = NULL;
    LH_TRY(lh_storage_reader_open(st, key, &r, err));
    lh_sha256_ctx *c = lh_sha256_new();
    enum { CHUNK = 1 << 20 };
    char *buf = lh_malloc(CHUNK);
    lh_status rc = LH_OK;
    for (uint64_t off = 0; rc == LH_OK && off < size;) {
        size_t n = size - off < CHUNK ? (size_t)(size - off) : CHUNK;
        rc = lh_storage_reader_pread(r, off, buf, n, err);
        if (rc == LH_OK) lh_sha256_update(c, buf, n);
        off += n;
    }
    if (rc == LH_OK) lh_sha256_final_hex(c, out);
    free(buf);
    lh_sha256_free(c);
    lh_storage_reader_free(r);
    return rc;
}

static lh_status resources(lh_storage *st, const char *dataset, const char *prefix,
                           lh_stream_codec codec, json_t *out, lh_error *err)
{
    for (size_t i = 0; i < sizeof ARTIFACTS / sizeof *ARTIFACTS; i++) {
        const struct artifact *a = &ARTIFACTS[i];
        lh_buf rel = LH_BUF_INIT, key = LH_BUF_INIT;
        lh_buf_append_str(&rel, a->key);
        if (a->compressed) lh_stream_codec_key(&rel, codec);
        lh_buf_printf(&key, "%s/%s", dataset, rel.data);
        lh_stat info;
        lh_status rc = lh_storage_stat(st, key.data, &info, err);
        char sha[LH_SHA256_HEX_LEN + 1];
        if (rc == LH_OK) rc = file_sha256(st, key.data, info.size, sha, err);
        if (rc == LH_OK) {
            char when[LH_ISO_MAX];
            lh_time_format_iso_py(info.mtime_ms / 1000 * 1000000, 0, when); /* seconds */
            const char *slash = strrchr(rel.data, '/');
            json_t *res = json_object();
            json_object_set_new(res, "name", json_string(slash ? slash + 1 : rel.data));
            /* a URL of the reference's model: normalised as it normalises one */
            char *raw = lh_asprintf("%s/%s", prefix, rel.data), *url = lh_dataset_model_url(raw);
            json_object_set_new(res, "url", json_string(url));
            free(raw);
            free(url);
            json_object_set_new(res, "checksum", json_string(sha));
            json_object_set_new(res, "timestamp", json_string(when));
            json_object_set_new(res, "mime_type", json_string(a->mime));
            json_object_set_new(res, "size", json_integer((json_int_t)info.size));
            json_object_set_new(res, "mime_type_label", json_string(a->label));
            json_array_append_new(out, res);
        }
        lh_buf_free(&key);
        lh_buf_free(&rel);
        if (rc == LH_ERR_NOT_FOUND) continue; /* not written: not published */
        LH_TRY(rc);
    }
    return LH_OK;
}

/* entity_count, thing_count and stats from exports/statistics.json */
static lh_status apply_stats(lh_storage *st, const char *dataset, json_t *model, lh_error *err)
{
    lh_buf key = LH_BUF_INIT, text = LH_BUF_INIT;
    lh_buf_printf(&key, "%s/exports/statistics.json", dataset);
    lh_status rc = lh_storage_read(st, key.data, &text, err);
    if (rc == LH_OK) {
        json_error_t je;
        json_t *stats = json_loadb(text.data, text.len, 0, &je);
        json_t *count = stats ? json_object_get(stats, "entity_count") : NULL;
        json_t *things = stats ? json_object_get(json_object_get(stats, "things"), "total") : NULL;
        if (!json_is_integer(count) || !json_is_integer(things)) {
            rc = lh_error_set(err, LH_ERR_CORRUPT,
                              "%s: not the statistics of a dataset (entity_count, things.total)",
                              key.data);
        } else {
            json_object_set(model, "entity_count", count);
            json_object_set(model, "thing_count", things);
            json_object_set(model, "stats", stats);
        }
        json_decref(stats);
    } else if (rc == LH_ERR_NOT_FOUND) {
        rc = LH_OK;
    }
    lh_buf_free(&key);
    lh_buf_free(&text);
    return rc;
}

char *lh_index_prefix(json_t *model, const char *dataset, const char *setting)
{
    const char *own = json_string_value(json_object_get(model, "public_url_prefix"));
    char *prefix = own && *own             ? lh_strdup(own)
                   : setting && *setting ? fill_prefix(setting, dataset)
                                         : NULL;
    size_t n = prefix ? strlen(prefix) : 0;
    while (n && prefix[n - 1] == '/') prefix[--n] = 0;
    return prefix;
}

lh_status lh_index_build(lh_storage *st, const char *dataset, const json_t *model,
                         const char *setting, lh_buf *out, lh_error *err)
{
    json_t *index = json_deep_copy(model);
    if (!index) lh_out_of_memory_for("the dataset index");
    char *prefix = lh_index_prefix(index, dataset, setting);
    json_t *res = json_array();
    lh_status rc =
        prefix ? resources(st, dataset, prefix, lh_dataset_model_codec(model), res, err) : LH_OK;
    json_object_set_new(index, "resources", res);
    if (rc == LH_OK) rc = apply_stats(st, dataset, index, err);
    if (rc == LH_OK) {
        lh_dataset_model_clean(index);
        char *text = json_dumps(index, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (!text) lh_out_of_memory_for("the dataset index");
        lh_buf_append_str(out, text);
        lh_buf_append_byte(out, '\n');
        free(text);
    }
    free(prefix);
    json_decref(index);
    return rc;
}

lh_status lh_index_write(lh_storage *st, const char *dataset, const json_t *model,
                         const char *setting, int64_t now_us, bool *written, lh_error *err)
{
    lh_buf text = LH_BUF_INIT;
    lh_status rc = lh_index_build(st, dataset, model, setting, &text, err);
    if (rc == LH_OK)
        rc = lh_versions_put(st, dataset, "index.json", text.data, text.len, now_us, written, err);
    lh_buf_free(&text);
    return rc;
}
