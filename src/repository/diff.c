/* The entities diff series of the exports (see diff.h). */
#include "lh/repository/diff.h"

#include <stdlib.h>
#include <string.h>

#include "lh/core/buf.h"
#include "lh/core/mem.h"
#include "lh/core/str.h"
#include "lh/core/timeutil.h"
#include "lh/storage/tags.h"

#define STATE_TAG LH_DIFF_ENTITIES_SERIES "-current"
#define DRAIN_BYTES (1u << 20)

struct lh_diff {
    lh_storage *st;
    char *dataset;
    char *state_key; /* storage key of the state tag */
    int64_t now;
    int64_t version;  /* of the table at the start; -1: no table */
    bool active;      /* a window is open */
    int64_t since;    /* its start */
    lh_strlist pending; /* tombstoned in the window, sorted */
    bool *claimed;      /* met alive by the sweep */
    lh_storage_writer *w; /* opened with the first entry */
    lh_buf buf;
    lh_diff_counts counts;
};

static lh_status read_state(lh_diff *d, bool *found, int64_t *ts, int64_t *version,
                            lh_error *err)
{
    lh_buf text = LH_BUF_INIT;
    lh_status rc = lh_storage_read(d->st, d->state_key, &text, err);
    *found = rc == LH_OK;
    if (rc == LH_ERR_NOT_FOUND) {
        lh_buf_free(&text);
        return LH_OK;
    }
    if (rc != LH_OK) {
        lh_buf_free(&text);
        return rc;
    }
    /* "{ts}:{version}" */
    const char *colon = memchr(text.data, ':', text.len);
    char *end = NULL;
    long long v = -1;
    lh_error e2;
    if (colon) v = strtoll(colon + 1, &end, 10);
    if (!colon || v < 0 || end == colon + 1 || end != text.data + text.len ||
        lh_time_parse_compact(text.data, (size_t)(colon - text.data), ts, &e2) != LH_OK)
        rc = lh_error_set(err, LH_ERR_CORRUPT,
                          "%s: not a diff state \"{YYYYmmddTHHMMSSffffffZ}:{version}\": "
                          "\"%.*s\" (delete the tag to start the series anew)",
                          d->state_key, (int)(text.len > 64 ? 64 : text.len), text.data);
    *version = v;
    lh_buf_free(&text);
    return rc;
}

lh_status lh_diff_open(lh_pstore *ps, lh_storage *st, const char *dataset, int64_t now_us,
                       lh_diff **out, lh_error *err)
{
    *out = NULL;
    lh_tags *tags = NULL;
    LH_TRY(lh_tags_open(st, dataset, NULL, &tags, err));
    lh_diff *d = lh_calloc(1, sizeof *d);
    d->st = st;
    d->dataset = lh_strdup(dataset);
    d->state_key = lh_tags_key(tags, STATE_TAG);
    lh_tags_free(tags);
    d->now = now_us;
    lh_strlist_init(&d->pending);
    lh_status rc = lh_pstore_version(ps, &d->version, err);
    bool found = false;
    int64_t since = 0, last_version = -1;
    if (rc == LH_OK && d->version >= 0) rc = read_state(d, &found, &since, &last_version, err);
    if (rc == LH_OK && found && last_version < d->version) {
        d->active = true;
        d->since = since;
        rc = lh_pstore_deleted_entity_ids(ps, since, &d->pending, err);
        d->claimed = lh_calloc(d->pending.len ? d->pending.len : 1, sizeof *d->claimed);
    }
    if (rc != LH_OK) {
        lh_diff_free(d);
        return rc;
    }
    *out = d;
    return LH_OK;
}

bool lh_diff_active(const lh_diff *d)
{
    return d->active;
}

static lh_status drain(lh_diff *d, bool all, lh_error *err)
{
    if (!d->buf.len || (!all && d->buf.len < DRAIN_BYTES)) return LH_OK;
    if (!d->w) {
        char ts[LH_TS_COMPACT_MAX];
        lh_time_format_compact(d->now, ts);
        lh_buf key = LH_BUF_INIT;
        lh_buf_printf(&key, "%s/%s/%s.delta.json", d->dataset, LH_DIFF_ENTITIES_SERIES, ts);
        lh_status rc = lh_storage_writer_open(d->st, key.data, &d->w, err);
        lh_buf_free(&key);
        LH_TRY(rc);
    }
    lh_status rc = lh_storage_writer_write(d->w, d->buf.data, d->buf.len, err);
    lh_buf_reset(&d->buf);
    return rc;
}

static void envelope(lh_buf *b, const char *op, const char *json, size_t len)
{
    lh_buf_printf(b, "{\"op\":\"%s\",\"entity\":", op);
    lh_buf_append(b, json, len);
    lh_buf_append(b, "}\n", 2);
}

static int cmp_id(const void *key, const void *item)
{
    return strcmp(key, *(char *const *)item);
}

lh_status lh_diff_entity(lh_diff *d, const lh_statement *rows, size_t n, const char *json,
                         size_t len, lh_error *err)
{
    if (!d->active || !n) return LH_OK;
    bool touched = false;
    char **hit = d->pending.len ? bsearch(rows[0].entity_id, d->pending.items, d->pending.len,
                                          sizeof *d->pending.items, cmp_id)
                                : NULL;
    if (hit) {
        d->claimed[hit - d->pending.items] = true;
        touched = true;
    }
    /* first_seen over every statement, the `id` rows too: a bare entity
     * that just gained properties is a MOD, not an ADD */
    int64_t least = INT64_MAX, latest = INT64_MIN;
    for (size_t i = 0; i < n; i++) {
        if (rows[i].first_seen == LH_TS_NULL) continue;
        if (rows[i].first_seen < least) least = rows[i].first_seen;
        if (rows[i].first_seen > latest) latest = rows[i].first_seen;
    }
    bool changed = latest != INT64_MIN && latest >= d->since;
    if (!touched && !changed) return LH_OK;
    bool added = least != INT64_MAX && least >= d->since;
    envelope(&d->buf, added ? "ADD" : "MOD", json, len);
    if (added) d->counts.add++;
    else d->counts.mod++;
    return drain(d, false, err);
}

lh_status lh_diff_commit(lh_diff *d, lh_diff_counts *counts, lh_error *err)
{
    lh_status rc = LH_OK;
    if (d->active) {
        lh_buf id = LH_BUF_INIT;
        for (size_t i = 0; rc == LH_OK && i < d->pending.len; i++) {
            if (d->claimed[i]) continue;
            lh_buf_reset(&id);
            lh_buf_append(&id, "{\"id\":", 6);
            lh_buf_append_json_str(&id, d->pending.items[i], strlen(d->pending.items[i]));
            lh_buf_append_byte(&id, '}');
            envelope(&d->buf, "DEL", id.data, id.len);
            d->counts.del++;
            rc = drain(d, false, err);
        }
        lh_buf_free(&id);
        if (rc == LH_OK) rc = drain(d, true, err);
        if (rc == LH_OK && d->w) {
            rc = lh_storage_writer_commit(d->w, err);
            d->counts.written = rc == LH_OK;
        }
    }
    if (rc == LH_OK && d->version >= 0) {
        char ts[LH_TS_COMPACT_MAX];
        lh_time_format_compact(d->now, ts);
        lh_buf state = LH_BUF_INIT;
        lh_buf_printf(&state, "%s:%lld", ts, (long long)d->version);
        rc = lh_storage_write(d->st, d->state_key, state.data, state.len, err);
        lh_buf_free(&state);
        d->counts.recorded = rc == LH_OK;
    }
    if (counts) *counts = d->counts;
    return rc;
}

void lh_diff_free(lh_diff *d)
{
    if (!d) return;
    lh_storage_writer_free(d->w);
    lh_buf_free(&d->buf);
    lh_strlist_free(&d->pending);
    free(d->claimed);
    free(d->state_key);
    free(d->dataset);
    free(d);
}
