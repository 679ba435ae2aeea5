/* Delta log listing and replay into snapshots (latest or time travel). */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/delta_internal.h"
#include "lh/core/mem.h"

/* ---------------------------------------------------------------- listing */

static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9') return false;
    return true;
}

static void push_commit(lh_delta_listing *l, int64_t v)
{
    l->commits = lh_grow(l->commits, &l->cap_commits, l->num_commits + 1, sizeof *l->commits);
    l->commits[l->num_commits++] = v;
}

static lh_delta_ckpt_ref *ckpt_slot(lh_delta_listing *l, int64_t v, int parts)
{
    for (size_t i = 0; i < l->num_ckpts; i++)
        if (l->ckpts[i].version == v && l->ckpts[i].parts == parts) return &l->ckpts[i];
    l->ckpts = lh_grow(l->ckpts, &l->cap_ckpts, l->num_ckpts + 1, sizeof *l->ckpts);
    lh_delta_ckpt_ref *c = &l->ckpts[l->num_ckpts++];
    c->version = v;
    c->parts = parts;
    lh_strlist_init(&c->keys);
    for (int i = 0; i < parts; i++) lh_strlist_push_owned(&c->keys, NULL);
    return c;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int cmp_ckpt(const void *a, const void *b)
{
    const lh_delta_ckpt_ref *x = a, *y = b;
    if (x->version != y->version) return x->version < y->version ? -1 : 1;
    /* at equal versions prefer the classic single file (sorted last) */
    return y->parts - x->parts;
}

void lh_delta_listing_free(lh_delta_listing *l)
{
    free(l->commits);
    for (size_t i = 0; i < l->num_ckpts; i++) {
        for (size_t k = 0; k < l->ckpts[i].keys.len; k++) free(l->ckpts[i].keys.items[k]);
        free(l->ckpts[i].keys.items);
    }
    free(l->ckpts);
    memset(l, 0, sizeof *l);
}

/* "checkpoint.<uuid>.parquet" or ".json": a V2 checkpoint's name. */
static bool is_uuid_checkpoint(const char *rest)
{
    if (strncmp(rest, "checkpoint.", 11) != 0) return false;
    const char *u = rest + 11;
    for (int i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? u[i] != '-' : !isxdigit((unsigned char)u[i])) return false;
    }
    return strcmp(u + 36, ".parquet") == 0 || strcmp(u + 36, ".json") == 0;
}

lh_status lh_delta_list_log(lh_storage *st, const char *prefix, lh_delta_listing *l,
                            lh_error *err)
{
    memset(l, 0, sizeof *l);
    l->uuid_ckpt = -1;
    char *dir = lh_delta_key(prefix, "_delta_log");
    lh_strlist keys;
    lh_strlist_init(&keys);
    lh_status rc = lh_storage_list(st, dir, 0, &keys, err);
    size_t dn = strlen(dir);
    free(dir);
    if (rc != LH_OK) {
        lh_strlist_free(&keys);
        return rc;
    }
    for (size_t i = 0; i < keys.len; i++) {
        const char *name = keys.items[i] + dn + 1;
        size_t n = strlen(name);
        if (n < 25 || !all_digits(name, 20) || name[20] != '.') continue;
        int64_t v = strtoll(name, NULL, 10);
        const char *rest = name + 21;
        if (strcmp(rest, "json") == 0) {
            push_commit(l, v);
        } else if (strcmp(rest, "checkpoint.parquet") == 0) {
            lh_delta_ckpt_ref *c = ckpt_slot(l, v, 1);
            c->keys.items[0] = lh_strdup(keys.items[i]);
        } else if (strncmp(rest, "checkpoint.", 11) == 0 && strlen(rest) == 11 + 21 + 8 &&
                   all_digits(rest + 11, 10) && rest[21] == '.' && all_digits(rest + 22, 10) &&
                   strcmp(rest + 32, ".parquet") == 0) {
            long part = strtol(rest + 11, NULL, 10), parts = strtol(rest + 22, NULL, 10);
            if (part < 1 || parts < 1 || part > parts || parts > 100000) continue;
            lh_delta_ckpt_ref *c = ckpt_slot(l, v, (int)parts);
            free(c->keys.items[part - 1]);
            c->keys.items[part - 1] = lh_strdup(keys.items[i]);
        } else if (is_uuid_checkpoint(rest) && v > l->uuid_ckpt) {
            l->uuid_ckpt = v;
        }
    }
    lh_strlist_free(&keys);
    /* keep only complete checkpoints */
    size_t w = 0;
    for (size_t i = 0; i < l->num_ckpts; i++) {
        bool complete = true;
        for (size_t k = 0; k < l->ckpts[i].keys.len; k++)
            if (!l->ckpts[i].keys.items[k]) complete = false;
        if (complete) {
            l->ckpts[w++] = l->ckpts[i];
        } else {
            for (size_t k = 0; k < l->ckpts[i].keys.len; k++) free(l->ckpts[i].keys.items[k]);
            free(l->ckpts[i].keys.items);
        }
    }
    l->num_ckpts = w;
    if (l->num_commits) qsort(l->commits, l->num_commits, sizeof *l->commits, cmp_i64);
    if (l->num_ckpts) qsort(l->ckpts, l->num_ckpts, sizeof *l->ckpts, cmp_ckpt);
    return LH_OK;
}

static int64_t listing_latest(const lh_delta_listing *l)
{
    int64_t v = -1;
    if (l->num_commits) v = l->commits[l->num_commits - 1];
    if (l->num_ckpts && l->ckpts[l->num_ckpts - 1].version > v) v = l->ckpts[l->num_ckpts - 1].version;
    return v;
}

lh_status lh_delta_exists(lh_storage *st, const char *prefix, bool *exists, lh_error *err)
{
    lh_delta_listing l;
    LH_TRY(lh_delta_list_log(st, prefix, &l, err));
    *exists = listing_latest(&l) >= 0;
    lh_delta_listing_free(&l);
    return LH_OK;
}

lh_status lh_delta_latest_version(lh_storage *st, const char *prefix, int64_t *version,
                                  lh_error *err)
{
    lh_delta_listing l;
    LH_TRY(lh_delta_list_log(st, prefix, &l, err));
    *version = listing_latest(&l);
    lh_delta_listing_free(&l);
    if (*version < 0)
        return lh_error_set(err, LH_ERR_NOT_FOUND, "no Delta table at \"%s\"", prefix ? prefix : "");
    return LH_OK;
}

/* ---------------------------------------------------------------- filemap */

static lh_delta_file DELETED_SLOT;
#define DELETED (&DELETED_SLOT)

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static size_t fm_find(const lh_delta_filemap *m, const char *path)
{
    if (!m->cap) return SIZE_MAX;
    for (size_t i = hash_str(path) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        lh_delta_file *f = m->slots[i];
        if (!f) return SIZE_MAX;
        if (f != DELETED && strcmp(f->path, path) == 0) return i;
    }
}

static void fm_insert_raw(lh_delta_filemap *m, lh_delta_file *f)
{
    for (size_t i = hash_str(f->path) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        if (!m->slots[i] || m->slots[i] == DELETED) {
            m->slots[i] = f;
            return;
        }
    }
}

static void fm_put(lh_delta_filemap *m, lh_delta_file *f)
{
    size_t at = fm_find(m, f->path);
    if (at != SIZE_MAX) {
        lh_delta_file_free(m->slots[at]);
        m->slots[at] = f;
        return;
    }
    if ((m->used + 1) * 2 > m->cap) {
        /* grow, or just rehash away DELETED slots */
        size_t ncap = m->cap ? ((m->len + 1) * 4 > m->cap ? m->cap * 2 : m->cap) : 64;
        lh_delta_file **old = m->slots;
        size_t ocap = m->cap;
        m->slots = lh_calloc(ncap, sizeof *m->slots);
        m->cap = ncap;
        for (size_t i = 0; i < ocap; i++)
            if (old[i] && old[i] != DELETED) fm_insert_raw(m, old[i]);
        free(old);
        m->used = m->len;
    }
    fm_insert_raw(m, f);
    m->len++;
    m->used++;
}

static void fm_drop(lh_delta_filemap *m, const char *path)
{
    size_t at = fm_find(m, path);
    if (at == SIZE_MAX) return;
    lh_delta_file_free(m->slots[at]);
    m->slots[at] = DELETED;
    m->len--;
}

static void fm_free(lh_delta_filemap *m)
{
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i] && m->slots[i] != DELETED) lh_delta_file_free(m->slots[i]);
    free(m->slots);
    memset(m, 0, sizeof *m);
}

static int cmp_file(const void *a, const void *b)
{
    return strcmp((*(lh_delta_file *const *)a)->path, (*(lh_delta_file *const *)b)->path);
}

/* Move the map's files into a sorted array (the map keeps no references). */
static lh_delta_file **fm_sorted(lh_delta_filemap *m, size_t *n)
{
    lh_delta_file **arr = lh_malloc((m->len ? m->len : 1) * sizeof *arr);
    size_t k = 0;
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i] && m->slots[i] != DELETED) arr[k++] = m->slots[i];
    free(m->slots);
    memset(m, 0, sizeof *m);
    qsort(arr, k, sizeof *arr, cmp_file);
    *n = k;
    return arr;
}

void lh_delta_apply_add(lh_delta_snapshot *s, lh_delta_file *f)
{
    fm_drop(&s->tomb, f->path);
    fm_put(&s->live, f);
}

void lh_delta_apply_remove(lh_delta_snapshot *s, lh_delta_file *f)
{
    fm_drop(&s->live, f->path);
    fm_put(&s->tomb, f);
}

void lh_delta_apply_txn(lh_delta_snapshot *s, lh_delta_app_txn *t)
{
    /* a handful of apps per table at most: a linear search */
    for (size_t i = 0; i < s->num_txns; i++) {
        if (strcmp(s->txns[i].app_id, t->app_id) != 0) continue;
        free(t->app_id);
        s->txns[i].version = t->version;
        s->txns[i].last_updated = t->last_updated;
        t->app_id = NULL;
        return;
    }
    s->txns = lh_realloc(s->txns, (s->num_txns + 1) * sizeof *s->txns);
    s->txns[s->num_txns++] = *t;
    t->app_id = NULL;
}

/* ----------------------------------------------------------------- replay */

typedef struct replay_ctx {
    lh_delta_snapshot *s;
    int64_t version;
    bool last;
} replay_ctx;

static lh_status replay_action(void *vctx, lh_delta_action *a, lh_error *err)
{
    replay_ctx *c = vctx;
    lh_delta_snapshot *s = c->s;
    switch (a->kind) {
    case LH_DA_ADD:
        a->file->version = c->version;
        lh_delta_apply_add(s, a->file);
        a->file = NULL;
        break;
    case LH_DA_REMOVE:
        a->file->version = c->version;
        lh_delta_apply_remove(s, a->file);
        a->file = NULL;
        break;
    case LH_DA_METADATA:
        if (s->has_metadata) lh_delta_metadata_free(&s->metadata);
        s->metadata = a->metadata;
        s->has_metadata = true;
        a->kind = LH_DA_NONE;
        break;
    case LH_DA_PROTOCOL:
        if (s->has_protocol) lh_delta_protocol_free(&s->protocol);
        s->protocol = a->protocol;
        s->has_protocol = true;
        a->kind = LH_DA_NONE;
        break;
    case LH_DA_TXN:
        lh_delta_apply_txn(s, &a->txn);
        break;
    case LH_DA_UNTRACKED:
        s->untracked = true;
        break;
    case LH_DA_COMMIT_INFO:
        if (c->last) {
            free(s->commit_info);
            s->commit_info = json_dumps(a->commit_info, JSON_COMPACT);
            json_t *ts = json_object_get(a->commit_info, "timestamp");
            if (json_is_integer(ts)) s->timestamp = (int64_t)json_integer_value(ts);
        }
        break;
    default:
        break;
    }
    (void)err;
    return LH_OK;
}

static lh_status replay_commit(lh_delta_snapshot *s, int64_t v, bool last, lh_error *err)
{
    char *key = lh_delta_commit_key(s->prefix, v);
    lh_buf data = LH_BUF_INIT;
    lh_status rc = lh_storage_read(s->st, key, &data, err);
    free(key);
    if (rc == LH_OK) {
        replay_ctx c = {s, v, last};
        rc = lh_delta_parse_commit(s->st, s->prefix, v, data.data ? data.data : "", data.len,
                                   replay_action, &c, err);
    }
    lh_buf_free(&data);
    return rc;
}

static bool has_commit(const lh_delta_listing *l, int64_t v)
{
    if (!l->num_commits) return false;
    return bsearch(&v, l->commits, l->num_commits, sizeof *l->commits, cmp_i64) != NULL;
}

static void snapshot_reset(lh_delta_snapshot *s)
{
    fm_free(&s->live);
    fm_free(&s->tomb);
    if (s->has_metadata) lh_delta_metadata_free(&s->metadata);
    if (s->has_protocol) lh_delta_protocol_free(&s->protocol);
    s->has_metadata = s->has_protocol = false;
    s->untracked = false;
    for (size_t i = 0; i < s->num_txns; i++) free(s->txns[i].app_id);
    free(s->txns);
    s->txns = NULL;
    s->num_txns = 0;
    free(s->commit_info);
    s->commit_info = NULL;
    s->timestamp = -1;
}

static lh_status check_protocol(const lh_delta_snapshot *s, lh_error *err)
{
    const lh_delta_protocol *p = &s->protocol;
    if (p->min_reader_version == 2)
        return lh_error_set(err, LH_ERR_UNSUPPORTED,
                            "table needs reader version 2 (column mapping), not supported");
    if (p->min_reader_version > 3)
        return lh_error_set(err, LH_ERR_UNSUPPORTED, "table needs reader version %d, not supported",
                            p->min_reader_version);
    for (size_t i = 0; i < p->reader_features.len; i++) {
        const char *f = p->reader_features.items[i];
        if (strcmp(f, "timestampNtz") != 0 && strcmp(f, "vacuumProtocolCheck") != 0)
            return lh_error_set(err, LH_ERR_UNSUPPORTED, "table needs reader feature \"%s\", not supported", f);
    }
    return LH_OK;
}

static lh_status replay(lh_delta_snapshot *s, const lh_delta_listing *l, int64_t target,
                        lh_error *err)
{
    const lh_delta_ckpt_ref *ck = NULL;
    for (size_t i = l->num_ckpts; i-- > 0;)
        if (l->ckpts[i].version <= target) {
            ck = &l->ckpts[i];
            break;
        }
    int64_t start = 0;
    if (ck) {
        lh_status rc = lh_delta_checkpoint_load(s, ck, err);
        if (rc != LH_OK) {
            /* A broken checkpoint is survivable when every commit is still there. */
            bool all = true;
            for (int64_t v = 0; v <= target && all; v++) all = has_commit(l, v);
            if (!all) return lh_error_prefix(err, "checkpoint %020" PRId64, ck->version);
            snapshot_reset(s);
        } else {
            start = ck->version + 1;
        }
    }
    bool lost = start == 0 && !has_commit(l, 0) && target >= 0;
    if (lost && l->uuid_ckpt >= 0 && l->uuid_ckpt <= target)
        return lh_error_set(err, LH_ERR_UNSUPPORTED,
                            "version %" PRId64 " of Delta table \"%s\" needs its V2 checkpoint "
                            "at version %" PRId64 " (named by a UUID): reader feature "
                            "v2Checkpoint is not supported", target, s->prefix, l->uuid_ckpt);
    if (lost && l->num_commits && l->commits[0] > 0)
        return lh_error_set(err, LH_ERR_NOT_FOUND,
                            "version %" PRId64 " of Delta table \"%s\" is no longer available "
                            "(log starts at %020" PRId64 ".json, no checkpoint at or before it)",
                            target, s->prefix, l->commits[0]);
    for (int64_t v = start; v <= target; v++) {
        if (!has_commit(l, v))
            return lh_error_set(err, LH_ERR_CORRUPT, "Delta log of \"%s\" is missing commit %020" PRId64
                                ".json (versions must be contiguous)", s->prefix, v);
        LH_TRY(replay_commit(s, v, v == target, err));
    }
    if (!s->has_protocol)
        return lh_error_set(err, LH_ERR_CORRUPT, "Delta log of \"%s\" has no protocol action", s->prefix);
    if (!s->has_metadata)
        return lh_error_set(err, LH_ERR_CORRUPT, "Delta log of \"%s\" has no metaData action", s->prefix);
    return check_protocol(s, err);
}

lh_status lh_delta_snapshot_load(lh_storage *st, const char *prefix, int64_t version,
                                 lh_delta_snapshot **out, lh_error *err)
{
    *out = NULL;
    lh_delta_listing l;
    LH_TRY(lh_delta_list_log(st, prefix, &l, err));
    int64_t latest = listing_latest(&l);
    if (latest < 0) {
        lh_delta_listing_free(&l);
        return lh_error_set(err, LH_ERR_NOT_FOUND, "no Delta table at \"%s\"", prefix ? prefix : "");
    }
    int64_t target = version < 0 ? latest : version;
    if (target > latest) {
        lh_delta_listing_free(&l);
        return lh_error_set(err, LH_ERR_NOT_FOUND, "Delta table \"%s\" has no version %" PRId64
                            " (latest is %" PRId64 ")", prefix ? prefix : "", target, latest);
    }
    lh_delta_snapshot *s = lh_calloc(1, sizeof *s);
    s->st = st;
    s->prefix = lh_strdup(prefix ? prefix : "");
    s->version = target;
    s->timestamp = -1;
    s->metadata.created_time = -1;
    lh_status rc = replay(s, &l, target, err);
    lh_delta_listing_free(&l);
    if (rc != LH_OK) {
        lh_delta_snapshot_free(s);
        return rc;
    }
    s->files = fm_sorted(&s->live, &s->num_files);
    s->tombstones = fm_sorted(&s->tomb, &s->num_tombstones);
    *out = s;
    return LH_OK;
}

void lh_delta_snapshot_free(lh_delta_snapshot *s)
{
    if (!s) return;
    snapshot_reset(s);
    for (size_t i = 0; i < s->num_files; i++) lh_delta_file_free(s->files[i]);
    for (size_t i = 0; i < s->num_tombstones; i++) lh_delta_file_free(s->tombstones[i]);
    free(s->files);
    free(s->tombstones);
    free(s->prefix);
    free(s);
}

int64_t lh_delta_snapshot_version(const lh_delta_snapshot *s) { return s->version; }
const char *lh_delta_snapshot_prefix(const lh_delta_snapshot *s) { return s->prefix; }
const lh_delta_protocol *lh_delta_snapshot_protocol(const lh_delta_snapshot *s) { return &s->protocol; }
const lh_delta_metadata *lh_delta_snapshot_metadata(const lh_delta_snapshot *s) { return &s->metadata; }
size_t lh_delta_snapshot_num_app_txns(const lh_delta_snapshot *s) { return s->num_txns; }
const lh_delta_app_txn *lh_delta_snapshot_app_txn(const lh_delta_snapshot *s, size_t i)
{
    return &s->txns[i];
}
size_t lh_delta_snapshot_num_files(const lh_delta_snapshot *s) { return s->num_files; }
size_t lh_delta_snapshot_num_tombstones(const lh_delta_snapshot *s) { return s->num_tombstones; }
const char *lh_delta_snapshot_commit_info(const lh_delta_snapshot *s) { return s->commit_info; }
int64_t lh_delta_snapshot_timestamp(const lh_delta_snapshot *s) { return s->timestamp; }

const lh_delta_file *lh_delta_snapshot_file(const lh_delta_snapshot *s, size_t i)
{
    return i < s->num_files ? s->files[i] : NULL;
}

const lh_delta_file *lh_delta_snapshot_tombstone(const lh_delta_snapshot *s, size_t i)
{
    return i < s->num_tombstones ? s->tombstones[i] : NULL;
}

const lh_delta_file *lh_delta_snapshot_find(const lh_delta_snapshot *s, const char *path)
{
    size_t lo = 0, hi = s->num_files;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(s->files[mid]->path, path);
        if (c == 0) return s->files[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const char *lh_delta_snapshot_config(const lh_delta_snapshot *s, const char *key,
                                     const char *dflt)
{
    bool found;
    const char *v = lh_delta_map_get(&s->metadata.configuration, key, &found);
    return found && v ? v : dflt;
}

/* Only the commitInfo line is read: a commit whose other actions this
 * reader refuses (deletion vectors, ...) still tells its parameters. */
static char *commit_info_param(const char *data, size_t len, const char *key, int64_t *ts)
{
    size_t pos = 0, n;
    int line = 0;
    const char *start;
    *ts = -1;
    while (lh_delta_next_line(data, len, &pos, &line, &start, &n)) {
        json_t *obj = json_loadb(start, n, JSON_ALLOW_NUL, NULL); /* torn: skipped */
        json_t *info = json_object_get(obj, "commitInfo");
        char *value = NULL;
        if (info) {
            json_t *v = json_object_get(json_object_get(info, "operationParameters"), key);
            if (json_is_string(v)) value = lh_strdup(json_string_value(v));
            json_t *t = json_object_get(info, "timestamp");
            if (json_is_integer(t)) *ts = (int64_t)json_integer_value(t);
        }
        json_decref(obj);
        if (info) return value;
    }
    return NULL;
}

lh_status lh_delta_commit_param_ts(lh_storage *st, const char *prefix, int64_t version,
                                   const char *key, char **value, int64_t *timestamp,
                                   lh_error *err)
{
    *value = NULL;
    *timestamp = -1;
    char *ckey = lh_delta_commit_key(prefix, version);
    lh_buf data = LH_BUF_INIT;
    lh_status rc = lh_storage_read(st, ckey, &data, err);
    free(ckey);
    if (rc == LH_OK && data.len) *value = commit_info_param(data.data, data.len, key, timestamp);
    lh_buf_free(&data);
    return rc;
}

lh_status lh_delta_commit_param(lh_storage *st, const char *prefix, int64_t version,
                                const char *key, char **value, lh_error *err)
{
    int64_t ts;
    return lh_delta_commit_param_ts(st, prefix, version, key, value, &ts, err);
}
