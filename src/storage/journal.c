/* JournalStore front end: URI dispatch, the buffered writer and the flush
 * protocol (lock, rotate, drain segments oldest first, drop after success).
 * Backends live in journal_sqlite.c and journal_pg.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <string.h>
#include <unistd.h>

#include "lh/core/mem.h"
#include "lh/core/timeutil.h"
#include "lh/core/uuid.h"
#include "lh/model/keys.h"
#include "storage/journal_impl.h"

#define DEFAULT_BATCH 100000
#define DEFAULT_WRITE_BATCH 10000
#define DEFAULT_BUSY_MS 30000

const char *const lh_journal_col_names[JCOL_COUNT] = {
    "id", "entity_id", "dataset", "bucket", "origin", "source", "schema",
    "prop", "prop_type", "value", "original_value", "lang", "external",
    "first_seen", "last_seen", "fragment", "role", "deleted_at", "shard",
};

const char lh_journal_col_list[] =
    "\"id\", \"entity_id\", \"dataset\", \"bucket\", \"origin\", \"source\", \"schema\", "
    "\"prop\", \"prop_type\", \"value\", \"original_value\", \"lang\", \"external\", "
    "\"first_seen\", \"last_seen\", \"fragment\", \"role\", \"deleted_at\", \"shard\"";

void lh_journal_quote(lh_buf *b, const char *ident)
{
    lh_buf_append_byte(b, '"');
    lh_buf_append_str(b, ident);
    lh_buf_append_byte(b, '"');
}

void lh_journal_init_base(lh_journal *j, const lh_journal_ops *ops, lh_journal *proto)
{
    *j = *proto;
    j->ops = ops;
    memset(proto, 0, sizeof *proto);
}

void lh_journal_free_base(lh_journal *j)
{
    free(j->dataset);
    free(j->table);
    free(j->seg_prefix);
}

const char *lh_journal_table(const lh_journal *j)
{
    return j->table;
}

bool lh_journal_is_postgres(const lh_journal *j)
{
    return j->postgres;
}

bool lh_journal_is_memory(const lh_journal *j)
{
    return j->memory;
}

lh_status lh_journal_check_writable(lh_journal *j, lh_error *err)
{
    lh_status rc = j->ops->writable ? j->ops->writable(j, err) : LH_OK;
    if (rc != LH_OK) lh_error_prefix(err, "journal %s", j->table);
    return rc;
}

static bool starts_with_ci(const char *s, const char *p)
{
    return strncasecmp(s, p, strlen(p)) == 0;
}

/* Before this version read SQLAlchemy's URL as the reference does,
 * sqlite:///x/j.db named /x/j.db; now it names x/j.db in the working
 * directory. A setting written for the old reading would open a new, empty
 * journal and leave the rows waiting in the old one unflushed: refused
 * while only the absolute file is there. */
static lh_status check_not_moved(const char *uri, const char *path, lh_error *err)
{
    if (!*path || *path == '/' || strcmp(path, ":memory:") == 0) return LH_OK;
    if (access(path, F_OK) == 0 || errno != ENOENT) return LH_OK;
    char *abs = lh_asprintf("/%s", path);
    bool there = access(abs, F_OK) == 0;
    free(abs);
    if (!there) return LH_OK;
    return lh_error_set(err, LH_ERR_INVALID,
                        "journal %s names %s relative to the working directory (SQLAlchemy's "
                        "reading, the reference's), which does not exist, while /%s does: for "
                        "that file write sqlite:////%s",
                        uri, path, path, path);
}

lh_status lh_journal_open(const char *uri, const char *dataset, const lh_journal_options *opts,
                          lh_journal **out, lh_error *err)
{
    *out = NULL;
    if (!uri || !*uri) return lh_error_set(err, LH_ERR_INVALID, "journal: empty uri");
    /* The name becomes a quoted SQL identifier: no quotes, no control bytes. */
    size_t dlen = dataset ? strlen(dataset) : 0;
    if (dlen == 0 || !lh_utf8_valid(dataset, dlen))
        return lh_error_set(err, LH_ERR_INVALID, "journal: invalid dataset name \"%s\"",
                            dataset ? dataset : "");
    for (size_t i = 0; i < dlen; i++) {
        unsigned char c = (unsigned char)dataset[i];
        if (c < 0x20 || c == '"' || c == '/' || c == '\\')
            return lh_error_set(err, LH_ERR_INVALID,
                                "journal: dataset name \"%s\" has a forbidden character at %zu",
                                dataset, i);
    }
    lh_journal proto = {0};
    proto.dataset = lh_strdup(dataset);
    proto.table = lh_asprintf("journal_%s", dataset);
    proto.seg_prefix = lh_asprintf("journal_%s-seg-", dataset);
    proto.busy_ms = opts && opts->busy_timeout_ms > 0 ? opts->busy_timeout_ms : DEFAULT_BUSY_MS;
    proto.relaxed_sync = opts && opts->relaxed_sync;
    proto.shards = opts && opts->shards > 0 ? opts->shards : 0;
    proto.existing = opts && opts->existing;

    lh_status rc;
    if (starts_with_ci(uri, "postgresql://") || starts_with_ci(uri, "postgres://") ||
        starts_with_ci(uri, "postgresql+")) {
        /* Drop a SQLAlchemy driver suffix ("postgresql+psycopg://"). */
        const char *rest = strstr(uri, "://");
        char *conninfo = lh_asprintf("postgresql%s", rest);
        rc = lh_journal_pg_open(conninfo, out, &proto, err);
        free(conninfo);
    } else {
        const char *path = uri;
        char *decoded = NULL;
        if (starts_with_ci(uri, "sqlite+") || starts_with_ci(uri, "sqlite://")) {
            const char *rest = strstr(uri, "://");
            path = rest ? rest + 3 : uri;
            /* SQLAlchemy's URL, as the reference reads the same setting: the
             * host (always empty) ends at the third slash, so sqlite:///x.db
             * is x.db in the working directory and sqlite:////abs/x.db is
             * /abs/x.db. Taking the slash as part of the path opened /x.db,
             * a journal the reference never sees. */
            if (*path == '/') path++;
            /* The query is the driver's arguments (?timeout=30) and the
             * name is percent-decoded: both were taken into the file name,
             * another file than the reference's. */
            lh_buf name = LH_BUF_INIT;
            lh_percent_unquote(&name, path, strcspn(path, "?"));
            path = decoded = lh_buf_detach(&name, NULL);
            rc = check_not_moved(uri, path, err);
            if (rc != LH_OK) {
                free(decoded);
                lh_journal_free_base(&proto);
                return rc;
            }
        } else if (starts_with_ci(uri, "file://")) {
            path = uri + strlen("file://");
        } else if (strstr(uri, "://")) {
            rc = lh_error_set(err, LH_ERR_UNSUPPORTED, "journal: unsupported uri scheme in \"%s\"",
                              uri);
            lh_journal_free_base(&proto);
            return rc;
        }
        if (!*path) {
            free(decoded);
            lh_journal_free_base(&proto);
            return lh_error_set(err, LH_ERR_INVALID, "journal: uri \"%s\" has no path", uri);
        }
        rc = lh_journal_sqlite_open(path, out, &proto, err);
        free(decoded);
    }
    lh_journal_free_base(&proto);
    if (rc != LH_OK) lh_error_prefix(err, "journal %s", uri);
    return rc;
}

void lh_journal_free(lh_journal *j)
{
    if (j) j->ops->free(j);
}

/* A consumer calling back into the handle that feeds it would run inside
 * the scan's read transaction (and, on postgres, be rolled back with it). */
static lh_status not_busy(lh_journal *j, lh_error *err)
{
    if (!j->busy) return LH_OK;
    return lh_error_set(err, LH_ERR_INVALID,
                        "journal %s: handle used from inside its own flush/iterate consumer; "
                        "open a second handle",
                        j->table);
}

lh_status lh_journal_check_row(const lh_statement *s, size_t i, lh_error *err)
{
    const char *missing = NULL;
    if (!s->id) missing = "id";
    else if (!s->entity_id) missing = "entity_id";
    else if (!s->dataset) missing = "dataset";
    else if (!s->bucket) missing = "bucket";
    else if (!s->origin) missing = "origin";
    else if (!s->schema) missing = "schema";
    else if (!s->prop) missing = "prop";
    else if (!s->value) missing = "value";
    else if (s->first_seen == LH_TS_NULL) missing = "first_seen";
    else if (s->last_seen == LH_TS_NULL) missing = "last_seen";
    if (missing)
        return lh_error_set(err, LH_ERR_INVALID, "journal insert: row %zu (id %s): %s is NULL", i,
                            s->id ? s->id : "?", missing);
    return LH_OK;
}

lh_status lh_journal_insert(lh_journal *j, const lh_statement *rows, size_t n, lh_error *err)
{
    LH_TRY(not_busy(j, err));
    if (n == 0) return LH_OK;
    bool need_shards = false;
    for (size_t i = 0; i < n; i++) {
        LH_TRY(lh_journal_check_row(&rows[i], i, err));
        if (!rows[i].shard && j->shards > 0) need_shards = true;
    }
    /* Derive missing shards on a shallow copy; the caller's rows stay as given. */
    lh_statement *copy = NULL;
    char(*keys)[LH_SHARD_MAX] = NULL;
    if (need_shards) {
        copy = lh_malloc(n * sizeof *copy);
        keys = lh_malloc(n * sizeof *keys);
        const char *prev = NULL, *prev_entity = NULL;
        for (size_t i = 0; i < n; i++) {
            copy[i] = rows[i];
            if (copy[i].shard) continue;
            /* an entity's statements usually arrive together: hash once */
            if (prev_entity && strcmp(prev_entity, rows[i].entity_id) == 0) {
                copy[i].shard = prev;
                continue;
            }
            lh_shard_key(rows[i].entity_id, j->shards, keys[i]);
            copy[i].shard = prev = keys[i];
            prev_entity = rows[i].entity_id;
        }
        rows = copy;
    }
    lh_status rc = j->ops->insert(j, rows, n, err);
    if (rc != LH_OK) lh_error_prefix(err, "journal %s: insert of %zu rows", j->table, n);
    free(copy);
    free(keys);
    return rc;
}

void lh_journal_create_sql(lh_buf *b, const char *table, bool if_not_exists, const char *ts_type)
{
    lh_buf_append_str(b, if_not_exists ? "CREATE TABLE IF NOT EXISTS " : "CREATE TABLE ");
    lh_journal_quote(b, table);
    lh_buf_printf(b,
                  " (id TEXT NOT NULL, entity_id TEXT NOT NULL, dataset TEXT NOT NULL, "
                  "bucket TEXT NOT NULL, origin TEXT NOT NULL, source TEXT, "
                  "schema TEXT NOT NULL, prop TEXT NOT NULL, prop_type TEXT, "
                  "value TEXT NOT NULL, original_value TEXT, lang TEXT, "
                  "external BOOLEAN NOT NULL, first_seen %s NOT NULL, "
                  "last_seen %s NOT NULL, fragment TEXT NOT NULL, role TEXT, "
                  "deleted_at %s, shard TEXT)",
                  ts_type, ts_type, ts_type);
}

lh_status lh_journal_hand_over(lh_stmt_batch *batch, lh_journal_consumer fn, void *ctx,
                               lh_journal_flush_stats *stats, lh_error *err)
{
    int64_t n = (int64_t)batch->len; /* fn may take the rows */
    lh_status rc = fn(ctx, batch, err);
    stats->rows += n;
    stats->batches++;
    lh_stmt_batch_clear(batch);
    return rc;
}

void lh_journal_push_row(lh_stmt_batch *batch, const lh_journal_rowtext *r)
{
    lh_statement s = {
        .shard = r->v[JCOL_SHARD],
        .id = r->v[JCOL_ID],
        .entity_id = r->v[JCOL_ENTITY_ID],
        .canonical_id = r->v[JCOL_ENTITY_ID],
        .dataset = r->v[JCOL_DATASET],
        .bucket = r->v[JCOL_BUCKET],
        .origin = r->v[JCOL_ORIGIN],
        .source = r->v[JCOL_SOURCE],
        .schema = r->v[JCOL_SCHEMA],
        .prop = r->v[JCOL_PROP],
        .prop_type = r->v[JCOL_PROP_TYPE],
        .value = r->v[JCOL_VALUE],
        .original_value = r->v[JCOL_ORIGINAL_VALUE],
        .lang = r->v[JCOL_LANG],
        .external = r->external,
        .first_seen = r->first_seen,
        .last_seen = r->last_seen,
        .fragment = r->v[JCOL_FRAGMENT] ? r->v[JCOL_FRAGMENT] : "",
        .role = r->v[JCOL_ROLE],
        .deleted_at = r->deleted_at,
    };
    lh_stmt_batch_push(batch, &s);
}

/* ---- buffered writer ---- */

struct lh_journal_writer {
    lh_journal *j;
    size_t batch_size;
    lh_stmt_batch buf;
};

lh_journal_writer *lh_journal_writer_new(lh_journal *j, size_t batch_size)
{
    lh_journal_writer *w = lh_calloc(1, sizeof *w);
    w->j = j;
    w->batch_size = batch_size ? batch_size : DEFAULT_WRITE_BATCH;
    lh_stmt_batch_init(&w->buf);
    return w;
}

lh_status lh_journal_writer_flush(lh_journal_writer *w, lh_error *err)
{
    if (w->buf.len == 0) return LH_OK;
    LH_TRY(lh_journal_insert(w->j, w->buf.rows, w->buf.len, err));
    lh_stmt_batch_clear(&w->buf);
    return LH_OK;
}

lh_status lh_journal_writer_add(lh_journal_writer *w, const lh_statement *s, lh_error *err)
{
    LH_TRY(lh_journal_check_row(s, w->buf.len, err));
    lh_stmt_batch_push(&w->buf, s);
    if (w->buf.len >= w->batch_size) return lh_journal_writer_flush(w, err);
    return LH_OK;
}

size_t lh_journal_writer_pending(const lh_journal_writer *w)
{
    return w->buf.len;
}

void lh_journal_writer_free(lh_journal_writer *w)
{
    if (!w) return;
    lh_stmt_batch_free(&w->buf);
    free(w);
}

/* ---- flush, reads, clear ---- */

/* A fresh segment name: time-ordered like the reference's, plus 4 random hex
 * digits against a same-second rotation. */
static char *segment_name(lh_journal *j, lh_error *err)
{
    lh_uuid u;
    if (lh_uuid4_new(&u, err) != LH_OK) return NULL;
    char iso[LH_ISO_MAX];
    lh_time_format_iso(lh_now_us(), iso); /* 2024-05-01T12:34:56.123456 */
    char stamp[32];
    /* YYYYmmddTHHMMSS */
    snprintf(stamp, sizeof stamp, "%.4s%.2s%.2sT%.2s%.2s%.2s", iso, iso + 5, iso + 8, iso + 11,
             iso + 14, iso + 17);
    return lh_asprintf("%s%s%02x%02x", j->seg_prefix, stamp, u.b[0], u.b[1]);
}

/* The second a segment was rotated, from the stamp segment_name put at its
 * end ("YYYYmmddTHHMMSS" and 4 hex digits; read from the end, as a
 * server may cut a long name's start); false for a name of another form. */
static bool segment_time(const char *name, int64_t *us)
{
    size_t n = strlen(name);
    if (n < 19) return false;
    const char *s = name + n - 19;
    if (s[8] != 'T') return false;
    char iso[32];
    snprintf(iso, sizeof iso, "%.4s-%.2s-%.2sT%.2s:%.2s:%.2s", s, s + 4, s + 6, s + 9, s + 11,
             s + 13);
    lh_error ignore;
    return lh_time_parse_iso(iso, strlen(iso), us, &ignore) == LH_OK;
}

/* Drain every current segment, oldest first; each is dropped only after the
 * consumer accepted all of its rows. */
static lh_status drain_segments(lh_journal *j, const lh_journal_flush_opts *o, bool leftovers,
                                lh_journal_consumer fn, void *ctx, lh_journal_flush_stats *stats,
                                lh_error *err)
{
    lh_strlist segs;
    lh_strlist_init(&segs);
    lh_status rc = j->ops->segments(j, &segs, err);
    for (size_t i = 0; rc == LH_OK && i < segs.len; i++) {
        bool stored = false;
        int64_t rotated;
        /* A name postgres cut to 63 bytes lost its stamp's tail: it is the
         * same for every rotation within an hour or more (for the longest
         * dataset names, always), so a commit naming it may be another
         * segment's. Such a segment goes by the backend's key, unique while
         * it exists, and is searched in the whole log (its time is gone).
         * Without a key it was never looked up, and a segment committed
         * but not dropped was committed again. */
        char *key = NULL;
        bool timed = segment_time(segs.items[i], &rotated);
        if (!timed && j->ops->segment_key) {
            rc = j->ops->segment_key(j, segs.items[i], &key, err);
            rotated = 0;
        }
        const char *name = key ? key : segs.items[i];
        if (rc == LH_OK && leftovers && o->segment_stored && (timed || key))
            rc = o->segment_stored(ctx, name, rotated, &stored, err);
        if (rc == LH_OK && !stored)
            rc = j->ops->scan(j, segs.items[i], NULL, !o->unordered, o->batch_size, fn, ctx,
                              stats, err);
        if (rc == LH_OK && !stored && o->segment_done) rc = o->segment_done(ctx, name, err);
        free(key);
        if (rc != LH_OK) {
            lh_error_prefix(err, "journal %s: draining %s", j->table, segs.items[i]);
            break;
        }
        rc = j->ops->drop(j, segs.items[i], err);
        if (rc != LH_OK) {
            lh_error_prefix(err, "journal %s: %s", j->table,
                            stored || o->segment_done
                                ? "its rows are stored, but the segment stays (the next flush "
                                  "drops it unread)"
                                : "the segment stays");
            break;
        }
        stats->segments++;
    }
    lh_strlist_free(&segs);
    return rc;
}

lh_status lh_journal_flush(lh_journal *j, size_t batch_size, lh_journal_consumer fn, void *ctx,
                           lh_journal_flush_stats *stats, lh_error *err)
{
    lh_journal_flush_opts o = {.batch_size = batch_size};
    return lh_journal_flush_with(j, &o, fn, ctx, stats, err);
}

lh_status lh_journal_flush_with(lh_journal *j, const lh_journal_flush_opts *opts,
                                lh_journal_consumer fn, void *ctx,
                                lh_journal_flush_stats *stats, lh_error *err)
{
    lh_journal_flush_stats local = {0};
    if (!stats) stats = &local;
    memset(stats, 0, sizeof *stats);
    lh_journal_flush_opts o = *opts;
    if (!o.batch_size) o.batch_size = DEFAULT_BATCH;
    LH_TRY(not_busy(j, err));
    lh_status rc = j->ops->lock(j, err);
    if (rc != LH_OK) return lh_error_prefix(err, "journal %s: flush lock", j->table);
    j->busy = true;
    /* Leftovers of a failed or killed flush go first, before the rotation:
     * segment names only order by the second, so a fresh segment could
     * otherwise sort before an older one. */
    rc = drain_segments(j, &o, true, fn, ctx, stats, err);
    char *seg = NULL;
    if (rc == LH_OK && !(seg = segment_name(j, err))) rc = err ? err->code : LH_ERR_INTERNAL;
    bool rotated = false;
    if (rc == LH_OK) {
        rc = j->ops->rotate(j, seg, &rotated, err);
        if (rc != LH_OK) lh_error_prefix(err, "journal %s: rotate", j->table);
    }
    free(seg);
    if (rc == LH_OK && rotated) rc = drain_segments(j, &o, false, fn, ctx, stats, err);
    j->busy = false;
    j->ops->unlock(j);
    return rc;
}

/* The live table first, then the segments listed afterwards: a concurrent
 * rotation moves rows from live into a new segment, which this order sees
 * (perhaps twice) rather than missing. SQLite reads it all in one snapshot. */
static lh_status read_begin(lh_journal *j, lh_error *err)
{
    return j->ops->read_begin ? j->ops->read_begin(j, err) : LH_OK;
}

static void read_end(lh_journal *j)
{
    if (j->ops->read_end) j->ops->read_end(j);
}

lh_status lh_journal_count(lh_journal *j, int64_t *out, lh_error *err)
{
    *out = 0;
    LH_TRY(not_busy(j, err));
    LH_TRY(read_begin(j, err));
    int64_t n = 0;
    lh_strlist segs;
    lh_strlist_init(&segs);
    lh_status rc = j->ops->count(j, j->table, &n, err);
    if (rc == LH_OK) {
        *out += n;
        rc = j->ops->segments(j, &segs, err);
    }
    for (size_t i = 0; rc == LH_OK && i < segs.len; i++) {
        rc = j->ops->count(j, segs.items[i], &n, err);
        /* A segment dropped by a concurrent flush since the listing. */
        if (rc == LH_ERR_NOT_FOUND) {
            rc = LH_OK;
            n = 0;
        }
        *out += n;
    }
    lh_strlist_free(&segs);
    read_end(j);
    return rc;
}

static lh_status scan_all(lh_journal *j, const char *entity_ids, size_t batch_size,
                          lh_journal_consumer fn, void *ctx, lh_error *err)
{
    lh_journal_flush_stats st = {0};
    LH_TRY(not_busy(j, err));
    LH_TRY(read_begin(j, err));
    j->busy = true;
    lh_strlist segs;
    lh_strlist_init(&segs);
    lh_status rc = j->ops->scan(j, j->table, entity_ids, false, batch_size, fn, ctx, &st, err);
    if (rc == LH_OK) rc = j->ops->segments(j, &segs, err);
    for (size_t i = 0; rc == LH_OK && i < segs.len; i++) {
        rc = j->ops->scan(j, segs.items[i], entity_ids, false, batch_size, fn, ctx, &st, err);
        if (rc == LH_ERR_NOT_FOUND) rc = LH_OK; /* dropped meanwhile */
    }
    j->busy = false;
    lh_strlist_free(&segs);
    read_end(j);
    return rc;
}

lh_status lh_journal_iterate(lh_journal *j, size_t batch_size, lh_journal_consumer fn, void *ctx,
                             lh_error *err)
{
    return scan_all(j, NULL, batch_size ? batch_size : DEFAULT_BATCH, fn, ctx, err);
}

lh_status lh_journal_iterate_entities(lh_journal *j, const char *const *entity_ids, size_t n,
                                      lh_journal_consumer fn, void *ctx, lh_error *err)
{
    if (!n) return LH_OK;
    /* one JSON array parameter: the database filters (SQLite json_each,
     * PostgreSQL json_array_elements_text) in one scan per table */
    lh_buf ids = LH_BUF_INIT;
    lh_buf_append_byte(&ids, '[');
    for (size_t i = 0; i < n; i++) {
        if (!entity_ids[i]) {
            lh_buf_free(&ids);
            return lh_error_set(err, LH_ERR_INVALID, "journal: NULL entity_id");
        }
        if (i) lh_buf_append_byte(&ids, ',');
        lh_buf_append_json_str(&ids, entity_ids[i], strlen(entity_ids[i]));
    }
    lh_buf_append_byte(&ids, ']');
    lh_status rc = scan_all(j, ids.data, DEFAULT_BATCH, fn, ctx, err);
    lh_buf_free(&ids);
    return rc;
}

lh_status lh_journal_iterate_entity(lh_journal *j, const char *entity_id, lh_journal_consumer fn,
                                    void *ctx, lh_error *err)
{
    return lh_journal_iterate_entities(j, &entity_id, 1, fn, ctx, err);
}

lh_status lh_journal_clear(lh_journal *j, int64_t *deleted, lh_error *err)
{
    int64_t n = 0;
    if (deleted) *deleted = 0;
    LH_TRY(not_busy(j, err));
    LH_TRY(j->ops->lock(j, err));
    lh_status rc = lh_journal_count(j, &n, err);
    lh_strlist segs;
    lh_strlist_init(&segs);
    if (rc == LH_OK) rc = j->ops->segments(j, &segs, err);
    for (size_t i = 0; rc == LH_OK && i < segs.len; i++) rc = j->ops->drop(j, segs.items[i], err);
    if (rc == LH_OK) rc = j->ops->delete_live(j, err);
    lh_strlist_free(&segs);
    j->ops->unlock(j);
    if (rc == LH_OK && deleted) *deleted = n;
    return rc;
}
