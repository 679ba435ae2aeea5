/* The entities diff series of the exports (see diff.h). */
#include "lh/repository/diff.h"

#include <stdlib.h>
#include <string.h>

#include "lh/core/buf.h"
#include "lh/core/mem.h"
#include "lh/core/str.h"
#include "lh/core/timeutil.h"
#include "lh/storage/tags.h"

#define DRAIN_BYTES (1u << 20)

/* ---- a series' window ---- */

struct lh_diff_window {
    lh_storage *st;
    char *dataset, *series;
    char *state_key;  /* storage key of the state tag */
    int64_t now;
    int64_t version;  /* of the table at the start; -1: no table */
    bool active;      /* a window is open */
    int64_t since;    /* its start */
    lh_strlist pending; /* tombstoned in the window */
    bool sorted;
    bool *claimed;      /* met alive by the sweep */
};

static lh_status read_state(lh_diff_window *w, bool *found, int64_t *ts, int64_t *version,
                            lh_error *err)
{
    lh_buf text = LH_BUF_INIT;
    lh_status rc = lh_storage_read(w->st, w->state_key, &text, err);
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
                          w->state_key, (int)(text.len > 64 ? 64 : text.len), text.data);
    *version = v;
    lh_buf_free(&text);
    return rc;
}

lh_status lh_diff_window_open(lh_storage *st, const char *dataset, const char *series,
                              int64_t version, int64_t now_us, lh_diff_window **out,
                              lh_error *err)
{
    *out = NULL;
    lh_tags *tags = NULL;
    LH_TRY(lh_tags_open(st, dataset, NULL, &tags, err));
    lh_diff_window *w = lh_calloc(1, sizeof *w);
    w->st = st;
    w->dataset = lh_strdup(dataset);
    w->series = lh_strdup(series);
    lh_buf tag = LH_BUF_INIT;
    lh_buf_printf(&tag, "%s-current", series);
    w->state_key = lh_tags_key(tags, tag.data);
    lh_buf_free(&tag);
    lh_tags_free(tags);
    w->now = now_us;
    w->version = version;
    lh_strlist_init(&w->pending);
    bool found = false;
    int64_t since = 0, last_version = -1;
    lh_status rc = version >= 0 ? read_state(w, &found, &since, &last_version, err) : LH_OK;
    if (rc != LH_OK) {
        lh_diff_window_free(w);
        return rc;
    }
    w->active = found && last_version < version;
    w->since = since;
    *out = w;
    return LH_OK;
}

bool lh_diff_window_active(const lh_diff_window *w)
{
    return w->active;
}

int64_t lh_diff_window_since(const lh_diff_window *w)
{
    return w->since;
}

void lh_diff_window_pend(lh_diff_window *w, const char *entity_id)
{
    if (!w->active) return;
    lh_strlist_push(&w->pending, entity_id);
    w->sorted = false;
}

static int cmp_id(const void *key, const void *item)
{
    return strcmp(key, *(char *const *)item);
}

static void ready(lh_diff_window *w)
{
    if (w->sorted) return;
    lh_strlist_sort(&w->pending);
    lh_strlist_uniq(&w->pending);
    free(w->claimed);
    w->claimed = lh_calloc(w->pending.len ? w->pending.len : 1, sizeof *w->claimed);
    w->sorted = true;
}

const char *lh_diff_window_op(lh_diff_window *w, const lh_statement *rows, size_t n)
{
    if (!w->active || !n) return NULL;
    ready(w);
    bool touched = false;
    char **hit = w->pending.len ? bsearch(rows[0].entity_id, w->pending.items, w->pending.len,
                                          sizeof *w->pending.items, cmp_id)
                                : NULL;
    if (hit) {
        w->claimed[hit - w->pending.items] = true;
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
    bool changed = latest != INT64_MIN && latest >= w->since;
    if (!touched && !changed) return NULL;
    return least != INT64_MAX && least >= w->since ? "ADD" : "MOD";
}

const char *lh_diff_window_unclaimed(lh_diff_window *w, size_t *i)
{
    if (!w->active) return NULL;
    ready(w);
    while (*i < w->pending.len && w->claimed[*i]) (*i)++;
    return *i < w->pending.len ? w->pending.items[(*i)++] : NULL;
}

char *lh_diff_window_file(const lh_diff_window *w, const char *ext)
{
    char ts[LH_TS_COMPACT_MAX];
    lh_time_format_compact(w->now, ts);
    lh_buf key = LH_BUF_INIT;
    lh_buf_printf(&key, "%s/%s/%s%s", w->dataset, w->series, ts, ext);
    return lh_buf_detach(&key, NULL);
}

lh_status lh_diff_window_record(lh_diff_window *w, bool *recorded, lh_error *err)
{
    if (recorded) *recorded = false;
    if (w->version < 0) return LH_OK;
    char ts[LH_TS_COMPACT_MAX];
    lh_time_format_compact(w->now, ts);
    lh_buf state = LH_BUF_INIT;
    lh_buf_printf(&state, "%s:%lld", ts, (long long)w->version);
    lh_status rc = lh_storage_write(w->st, w->state_key, state.data, state.len, err);
    lh_buf_free(&state);
    if (recorded) *recorded = rc == LH_OK;
    return rc;
}

void lh_diff_window_free(lh_diff_window *w)
{
    if (!w) return;
    lh_strlist_free(&w->pending);
    free(w->claimed);
    free(w->state_key);
    free(w->series);
    free(w->dataset);
    free(w);
}

/* ---- the entities diff ---- */

struct lh_diff {
    lh_diff_window *w;
    lh_stream_codec codec;
    lh_storage_writer *out; /* opened with the first entry */
    lh_buf buf;
    lh_diff_counts counts;
};

lh_status lh_diff_open(lh_storage *st, const char *dataset, int64_t version, int64_t now_us,
                       lh_stream_codec codec, lh_diff **out, lh_error *err)
{
    *out = NULL;
    lh_diff *d = lh_calloc(1, sizeof *d);
    d->codec = codec;
    lh_status rc = lh_diff_window_open(st, dataset, LH_DIFF_ENTITIES_SERIES, version, now_us,
                                       &d->w, err);
    if (rc != LH_OK) {
        free(d);
        return rc;
    }
    *out = d;
    return LH_OK;
}

lh_diff_window *lh_diff_window_of(lh_diff *d)
{
    return d->w;
}

void lh_diff_pend(lh_diff *d, const lh_pstore_deleted_list *cands)
{
    for (size_t i = 0; lh_diff_window_active(d->w) && i < cands->len; i++)
        if (cands->items[i].deleted_at >= lh_diff_window_since(d->w))
            lh_diff_window_pend(d->w, cands->items[i].entity_id);
}

static lh_status drain(lh_diff *d, bool all, lh_error *err)
{
    if (!d->buf.len || (!all && d->buf.len < DRAIN_BYTES)) return LH_OK;
    if (!d->out) {
        char *key = lh_diff_window_file(d->w, ".delta.json");
        lh_status rc = lh_stream_writer_open(d->w->st, key, d->codec, &d->out, err);
        free(key);
        LH_TRY(rc);
    }
    lh_status rc = lh_storage_writer_write(d->out, d->buf.data, d->buf.len, err);
    lh_buf_reset(&d->buf);
    return rc;
}

static void envelope(lh_buf *b, const char *op, const char *json, size_t len)
{
    lh_buf_printf(b, "{\"op\":\"%s\",\"entity\":", op);
    lh_buf_append(b, json, len);
    lh_buf_append(b, "}\n", 2);
}

lh_status lh_diff_entity(lh_diff *d, const lh_statement *rows, size_t n, const char *json,
                         size_t len, lh_error *err)
{
    const char *op = lh_diff_window_op(d->w, rows, n);
    if (!op) return LH_OK;
    envelope(&d->buf, op, json, len);
    if (op[0] == 'A') d->counts.add++;
    else d->counts.mod++;
    return drain(d, false, err);
}

lh_status lh_diff_commit(lh_diff *d, lh_diff_counts *counts, lh_error *err)
{
    lh_status rc = LH_OK;
    lh_buf id = LH_BUF_INIT;
    size_t i = 0;
    const char *gone;
    while (rc == LH_OK && (gone = lh_diff_window_unclaimed(d->w, &i))) {
        lh_buf_reset(&id);
        lh_buf_append(&id, "{\"id\":", 6);
        lh_buf_append_json_str(&id, gone, strlen(gone));
        lh_buf_append_byte(&id, '}');
        envelope(&d->buf, "DEL", id.data, id.len);
        d->counts.del++;
        rc = drain(d, false, err);
    }
    lh_buf_free(&id);
    if (rc == LH_OK) rc = drain(d, true, err);
    if (rc == LH_OK && d->out) {
        rc = lh_storage_writer_commit(d->out, err);
        d->counts.written = rc == LH_OK;
    }
    if (rc == LH_OK) rc = lh_diff_window_record(d->w, &d->counts.recorded, err);
    if (counts) *counts = d->counts;
    return rc;
}

void lh_diff_free(lh_diff *d)
{
    if (!d) return;
    lh_storage_writer_free(d->out);
    lh_buf_free(&d->buf);
    lh_diff_window_free(d->w);
    free(d);
}
