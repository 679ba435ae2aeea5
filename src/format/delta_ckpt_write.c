/* Writing classic V1 checkpoints. The project's parquet writer is flat, so
 * this file carries a small nested writer of its own for the fixed
 * checkpoint schema: one row group, one uncompressed V1 data page per column,
 * PLAIN values, RLE levels, null counts in the chunk statistics. Column and
 * group names follow delta-rs (parquet-rs): MAP key_value{key, value}, LIST
 * list{element}. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/delta_internal.h"
#include "lh/core/mem.h"
#include "lh/core/timeutil.h"
#include "lh/format/pq_meta.h"

enum { G = -1 };                     /* group marker in node.type */
enum { ANN_NONE, ANN_STR, ANN_MAP, ANN_LIST };

typedef struct node {
    const char *name;
    lh_pq_repetition rep;
    int nchild;
    int type; /* lh_pq_type or G */
    int ann;
} node;

#define REQ LH_PQ_REQUIRED
#define OPT LH_PQ_OPTIONAL
#define REP LH_PQ_REPEATED
#define STR(n, r) {n, r, 0, LH_PQ_BYTE_ARRAY, ANN_STR}
#define MAPKV(n, r) {n, r, 1, G, ANN_MAP}, {"key_value", REP, 2, G, ANN_NONE}, STR("key", REQ), STR("value", OPT)

static const node SCHEMA[] = {
    {"schema", REQ, 5, G, ANN_NONE},
    {"txn", OPT, 3, G, ANN_NONE},
    STR("appId", REQ), {"version", REQ, 0, LH_PQ_INT64, 0}, {"lastUpdated", OPT, 0, LH_PQ_INT64, 0},
    {"add", OPT, 7, G, ANN_NONE},
    STR("path", REQ), MAPKV("partitionValues", REQ), {"size", REQ, 0, LH_PQ_INT64, 0},
    {"modificationTime", REQ, 0, LH_PQ_INT64, 0}, {"dataChange", REQ, 0, LH_PQ_BOOLEAN, 0},
    STR("stats", OPT), MAPKV("tags", OPT),
    {"remove", OPT, 6, G, ANN_NONE},
    STR("path", REQ), {"deletionTimestamp", OPT, 0, LH_PQ_INT64, 0},
    {"dataChange", REQ, 0, LH_PQ_BOOLEAN, 0}, {"extendedFileMetadata", OPT, 0, LH_PQ_BOOLEAN, 0},
    MAPKV("partitionValues", OPT), {"size", OPT, 0, LH_PQ_INT64, 0},
    {"metaData", OPT, 8, G, ANN_NONE},
    STR("id", REQ), STR("name", OPT), STR("description", OPT),
    {"format", REQ, 2, G, ANN_NONE}, STR("provider", REQ), MAPKV("options", REQ),
    STR("schemaString", REQ),
    {"partitionColumns", REQ, 1, G, ANN_LIST}, {"list", REP, 1, G, ANN_NONE}, STR("element", REQ),
    {"createdTime", OPT, 0, LH_PQ_INT64, 0},
    MAPKV("configuration", REQ),
    {"protocol", OPT, 2, G, ANN_NONE},
    {"minReaderVersion", REQ, 0, LH_PQ_INT32, 0}, {"minWriterVersion", REQ, 0, LH_PQ_INT32, 0},
};
#define NNODES (sizeof SCHEMA / sizeof *SCHEMA)

/* Leaf indexes in depth-first order. */
enum {
    T_APPID, T_VERSION, T_LASTUPD,
    A_PATH, A_PVK, A_PVV, A_SIZE, A_MTIME, A_DC, A_STATS, A_TAGK, A_TAGV,
    R_PATH, R_DTS, R_DC, R_EFM, R_PVK, R_PVV, R_SIZE,
    M_ID, M_NAME, M_DESC, M_PROVIDER, M_OPTK, M_OPTV, M_SCHEMA, M_PCOL, M_CTIME, M_CONFK, M_CONFV,
    P_MINR, P_MINW,
    NLEAVES
};
static const int STRUCT_START[] = {T_APPID, A_PATH, R_PATH, M_ID, P_MINR, NLEAVES};

typedef struct wleaf {
    lh_pq_type type;
    int16_t max_def, max_rep;
    char *path[6];
    size_t path_len;
    int16_t *def, *rep;
    size_t n, cap;
    lh_buf vals;
    size_t nvals;
} wleaf;

static void lv(wleaf *L, int def, int rep)
{
    if (L->n == L->cap) {
        L->cap = L->cap ? L->cap * 2 : 64;
        L->def = lh_realloc(L->def, L->cap * sizeof *L->def);
        L->rep = lh_realloc(L->rep, L->cap * sizeof *L->rep);
    }
    L->def[L->n] = (int16_t)def;
    L->rep[L->n] = (int16_t)rep;
    L->n++;
}

static void v_str(wleaf *L, const char *s)
{
    size_t n = strlen(s);
    lh_buf_append_u32le(&L->vals, (uint32_t)n);
    lh_buf_append(&L->vals, s, n);
    L->nvals++;
}

static void v_i64(wleaf *L, int64_t v)
{
    lh_buf_append_u64le(&L->vals, (uint64_t)v);
    L->nvals++;
}

static void v_i32(wleaf *L, int32_t v)
{
    lh_buf_append_u32le(&L->vals, (uint32_t)v);
    L->nvals++;
}

static void v_bool(wleaf *L, bool b)
{
    if (L->nvals % 8 == 0) lh_buf_append_byte(&L->vals, 0);
    if (b) L->vals.data[L->vals.len - 1] |= (char)(1u << (L->nvals % 8));
    L->nvals++;
}

/* Helpers for one present struct at definition level 1. */
static void f_str(wleaf *L, int base, const char *s, int rep)
{
    if (s) {
        lv(L, L->max_def, rep);
        v_str(L, s);
    } else {
        lv(L, base, rep); /* optional string absent */
    }
}

static void f_opt_i64(wleaf *L, bool present, int64_t v)
{
    if (present) {
        lv(L, 2, 0);
        v_i64(L, v);
    } else {
        lv(L, 1, 0);
    }
}

/* Map present at definition level base (empty map = base). */
static void f_map(wleaf *K, wleaf *V, int base, const lh_delta_map *m)
{
    if (!m || m->len == 0) {
        lv(K, base, 0);
        lv(V, base, 0);
        return;
    }
    for (size_t j = 0; j < m->len; j++) {
        int rep = j ? 1 : 0;
        lv(K, base + 1, rep);
        v_str(K, m->items[j].key);
        if (m->items[j].value) {
            lv(V, base + 2, rep);
            v_str(V, m->items[j].value);
        } else {
            lv(V, base + 1, rep);
        }
    }
}

static void null_structs(wleaf *L, int except)
{
    for (int s = 0; s < 5; s++) {
        if (s == except) continue;
        for (int i = STRUCT_START[s]; i < STRUCT_START[s + 1]; i++) lv(&L[i], 0, 0);
    }
}

static void row_add(wleaf *L, const lh_delta_file *f)
{
    null_structs(L, 1);
    f_str(&L[A_PATH], 1, f->raw_path, 0);
    f_map(&L[A_PVK], &L[A_PVV], 1, &f->partition_values);
    lv(&L[A_SIZE], 1, 0);
    v_i64(&L[A_SIZE], f->size);
    lv(&L[A_MTIME], 1, 0);
    v_i64(&L[A_MTIME], f->modification_time);
    lv(&L[A_DC], 1, 0);
    v_bool(&L[A_DC], false); /* checkpoints rearrange, they change no data */
    f_str(&L[A_STATS], 1, f->stats, 0);
    if (f->tags.len) {
        f_map(&L[A_TAGK], &L[A_TAGV], 2, &f->tags);
    } else {
        lv(&L[A_TAGK], 1, 0);
        lv(&L[A_TAGV], 1, 0);
    }
}

static void row_txn(wleaf *L, const lh_delta_app_txn *t)
{
    null_structs(L, 0);
    f_str(&L[T_APPID], 1, t->app_id, 0);
    lv(&L[T_VERSION], 1, 0);
    v_i64(&L[T_VERSION], t->version);
    f_opt_i64(&L[T_LASTUPD], t->last_updated >= 0, t->last_updated);
}

static void row_remove(wleaf *L, const lh_delta_file *f)
{
    null_structs(L, 2);
    bool ext = f->size >= 0;
    f_str(&L[R_PATH], 1, f->raw_path, 0);
    f_opt_i64(&L[R_DTS], f->deletion_timestamp >= 0, f->deletion_timestamp);
    lv(&L[R_DC], 1, 0);
    v_bool(&L[R_DC], false);
    lv(&L[R_EFM], 2, 0);
    v_bool(&L[R_EFM], ext);
    if (ext) {
        f_map(&L[R_PVK], &L[R_PVV], 2, &f->partition_values);
    } else {
        lv(&L[R_PVK], 1, 0);
        lv(&L[R_PVV], 1, 0);
    }
    f_opt_i64(&L[R_SIZE], ext, f->size);
}

static void row_metadata(wleaf *L, const lh_delta_metadata *m)
{
    null_structs(L, 3);
    f_str(&L[M_ID], 1, m->id, 0);
    f_str(&L[M_NAME], 1, m->name, 0);
    f_str(&L[M_DESC], 1, m->description, 0);
    f_str(&L[M_PROVIDER], 1, "parquet", 0);
    f_map(&L[M_OPTK], &L[M_OPTV], 1, NULL);
    f_str(&L[M_SCHEMA], 1, m->schema_string, 0);
    if (m->partition_columns.len == 0) lv(&L[M_PCOL], 1, 0);
    for (size_t j = 0; j < m->partition_columns.len; j++) {
        lv(&L[M_PCOL], 2, j ? 1 : 0);
        v_str(&L[M_PCOL], m->partition_columns.items[j]);
    }
    f_opt_i64(&L[M_CTIME], m->created_time >= 0, m->created_time);
    f_map(&L[M_CONFK], &L[M_CONFV], 1, &m->configuration);
}

static void row_protocol(wleaf *L, const lh_delta_protocol *p)
{
    null_structs(L, 4);
    lv(&L[P_MINR], 1, 0);
    v_i32(&L[P_MINR], p->min_reader_version);
    lv(&L[P_MINW], 1, 0);
    v_i32(&L[P_MINW], p->min_writer_version);
}

/* RLE/bit-packed hybrid with RLE runs only, prefixed by its u32 length. */
static void rle_levels(const int16_t *lv_, size_t n, int16_t max, lh_buf *out)
{
    int width = 0;
    while ((1 << width) <= max) width++;
    size_t bytes = (size_t)(width + 7) / 8;
    size_t len_at = out->len;
    lh_buf_append_u32le(out, 0);
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && lv_[j] == lv_[i]) j++;
        uint64_t hdr = (uint64_t)(j - i) << 1;
        while (hdr >= 0x80) {
            lh_buf_append_byte(out, (uint8_t)(hdr | 0x80));
            hdr >>= 7;
        }
        lh_buf_append_byte(out, (uint8_t)hdr);
        for (size_t b = 0; b < bytes; b++) lh_buf_append_byte(out, (uint8_t)((uint16_t)lv_[i] >> (8 * b)));
        i = j;
    }
    uint32_t len = (uint32_t)(out->len - len_at - 4);
    memcpy(out->data + len_at, &len, 4); /* little-endian hosts only, as the rest of the project */
}

static void schema_elements(lh_pq_file_meta *fm, wleaf *L)
{
    fm->num_schema = NNODES;
    fm->schema = lh_calloc(NNODES, sizeof *fm->schema);
    /* walk to compute leaf levels and paths */
    struct { int remaining; int16_t def, rep; const char *name; } stack[8];
    int depth = 0, leaf = 0;
    for (size_t i = 0; i < NNODES; i++) {
        const node *n = &SCHEMA[i];
        lh_pq_schema_element *e = &fm->schema[i];
        e->name = lh_strdup(n->name);
        e->has_repetition = i > 0;
        e->repetition = n->rep;
        e->num_children = n->nchild;
        e->converted_type = LH_PQ_CT_NONE;
        e->field_id = -1;
        if (n->ann == ANN_STR) {
            e->converted_type = LH_PQ_CT_UTF8;
            e->logical.kind = LH_PQ_LT_STRING;
        } else if (n->ann == ANN_MAP) {
            e->converted_type = LH_PQ_CT_MAP;
            e->logical.kind = LH_PQ_LT_MAP;
        } else if (n->ann == ANN_LIST) {
            e->converted_type = LH_PQ_CT_LIST;
            e->logical.kind = LH_PQ_LT_LIST;
        }
        int16_t def = depth ? stack[depth - 1].def : 0, rep = depth ? stack[depth - 1].rep : 0;
        if (i > 0 && n->rep != REQ) def++;
        if (n->rep == REP) rep++;
        if (n->type != G) {
            e->has_type = true;
            e->type = (lh_pq_type)n->type;
            wleaf *w = &L[leaf++];
            w->type = e->type;
            w->max_def = def;
            w->max_rep = rep;
            for (int d = 1; d < depth; d++) w->path[w->path_len++] = (char *)stack[d].name;
            w->path[w->path_len++] = (char *)n->name;
        } else {
            stack[depth].remaining = n->nchild;
            stack[depth].def = def;
            stack[depth].rep = rep;
            stack[depth].name = n->name;
            depth++;
            continue;
        }
        /* pop finished groups */
        while (depth > 0 && --stack[depth - 1].remaining == 0) {
            depth--;
        }
    }
}

static void leaves_free(wleaf *L)
{
    for (int i = 0; i < NLEAVES; i++) {
        free(L[i].def);
        free(L[i].rep);
        lh_buf_free(&L[i].vals);
    }
}

/* Serialize the columns into a parquet file in out. */
static void build_file(lh_pq_file_meta *fm, wleaf *L, int64_t rows, lh_buf *out)
{
    lh_buf_append(out, "PAR1", 4);
    fm->version = 1;
    fm->num_rows = rows;
    fm->created_by = lh_strdup("ftm-lakehouse-c version " LH_VERSION);
    fm->num_row_groups = 1;
    fm->row_groups = lh_calloc(1, sizeof *fm->row_groups);
    lh_pq_row_group *rg = &fm->row_groups[0];
    rg->num_columns = NLEAVES;
    rg->columns = lh_calloc(NLEAVES, sizeof *rg->columns);
    rg->num_rows = rows;
    rg->ordinal = 0;
    rg->has_file_offset = rg->has_total_compressed_size = true;
    rg->file_offset = 4;
    lh_buf body = LH_BUF_INIT, hdr = LH_BUF_INIT;
    for (int i = 0; i < NLEAVES; i++) {
        wleaf *w = &L[i];
        lh_buf_reset(&body);
        lh_buf_reset(&hdr);
        if (w->max_rep > 0) rle_levels(w->rep, w->n, w->max_rep, &body);
        if (w->max_def > 0) rle_levels(w->def, w->n, w->max_def, &body);
        lh_buf_append(&body, w->vals.data, w->vals.len);
        lh_pq_page_header ph;
        lh_pq_page_header_init(&ph);
        ph.type = LH_PQ_DATA_PAGE;
        ph.uncompressed_page_size = ph.compressed_page_size = (int32_t)body.len;
        ph.has_data_page_header = true;
        ph.data_page_header.num_values = (int32_t)w->n;
        ph.data_page_header.encoding = LH_PQ_ENC_PLAIN;
        ph.data_page_header.definition_level_encoding = LH_PQ_ENC_RLE;
        ph.data_page_header.repetition_level_encoding = LH_PQ_ENC_RLE;
        lh_pq_page_header_write(&ph, &hdr);
        lh_pq_page_header_free(&ph);

        lh_pq_column_chunk *cc = &rg->columns[i];
        lh_pq_column_meta *m = &cc->meta_data;
        cc->file_offset = (int64_t)out->len;
        cc->has_meta_data = true;
        m->type = w->type;
        m->encodings = lh_calloc(2, sizeof *m->encodings);
        m->encodings[0] = LH_PQ_ENC_PLAIN;
        m->encodings[1] = LH_PQ_ENC_RLE;
        m->num_encodings = 2;
        m->path_in_schema = lh_calloc(w->path_len, sizeof *m->path_in_schema);
        for (size_t k = 0; k < w->path_len; k++) m->path_in_schema[k] = lh_strdup(w->path[k]);
        m->path_len = w->path_len;
        m->codec = LH_PQ_UNCOMPRESSED;
        m->num_values = (int64_t)w->n;
        m->total_uncompressed_size = m->total_compressed_size = (int64_t)(hdr.len + body.len);
        m->data_page_offset = (int64_t)out->len;
        m->has_statistics = true;
        lh_pq_statistics_init(&m->statistics);
        m->statistics.has_null_count = true;
        m->statistics.null_count = (int64_t)(w->n - w->nvals);
        rg->total_byte_size += m->total_uncompressed_size;
        rg->total_compressed_size += m->total_compressed_size;
        lh_buf_append(out, hdr.data, hdr.len);
        lh_buf_append(out, body.data, body.len);
    }
    lh_buf_free(&body);
    lh_buf_free(&hdr);
    size_t footer_at = out->len;
    lh_pq_file_meta_write(fm, out);
    lh_buf_append_u32le(out, (uint32_t)(out->len - footer_at));
    lh_buf_append(out, "PAR1", 4);
}

/* delta.deletedFileRetentionDuration, default one week. */
static int64_t tombstone_retention_ms(const lh_delta_snapshot *s)
{
    return lh_delta_interval_ms(lh_delta_snapshot_config(s, "delta.deletedFileRetentionDuration", NULL),
                                7LL * 86400000);
}

/* The key of version's checkpoint: its one file, or the first of its
 * parts (the protocol's multi-part names). */
static char *checkpoint_key(const char *prefix, int64_t version, int64_t parts)
{
    char rel[96];
    if (parts > 1)
        snprintf(rel, sizeof rel, "_delta_log/%020" PRId64 ".checkpoint.0000000001.%010" PRId64
                 ".parquet", version, parts);
    else
        snprintf(rel, sizeof rel, "_delta_log/%020" PRId64 ".checkpoint.parquet", version);
    return lh_delta_key(prefix, rel);
}

lh_status lh_delta_checkpoint_write(lh_storage *st, const lh_delta_snapshot *s, lh_error *err)
{
    const lh_delta_protocol *p = &s->protocol;
    if (p->min_reader_version > 1 || p->min_writer_version > 6)
        return lh_error_set(err, LH_ERR_UNSUPPORTED,
                            "checkpoints for protocol (%d,%d) are not supported",
                            p->min_reader_version, p->min_writer_version);
    if (p->reader_features.len || p->writer_features.len || s->untracked || !s->metadata.schema_string)
        return lh_error_set(err, LH_ERR_UNSUPPORTED,
                            "checkpoint of \"%s\": the log has table features or domainMetadata "
                            "actions this writer does not carry", s->prefix);
    wleaf L[NLEAVES];
    memset(L, 0, sizeof L);
    lh_pq_file_meta fm;
    lh_pq_file_meta_init(&fm);
    schema_elements(&fm, L);
    int64_t rows = 0;
    row_protocol(L, &s->protocol);
    row_metadata(L, &s->metadata);
    rows += 2;
    int64_t now_ms = lh_now_us() / 1000;
    /* Without (an understood) delta.setTransactionRetentionDuration app ids
     * never expire. */
    int64_t txn_keep_ms = lh_delta_interval_ms(
        lh_delta_snapshot_config(s, "delta.setTransactionRetentionDuration", NULL), -1);
    int64_t txn_cutoff = txn_keep_ms >= 0 ? now_ms - txn_keep_ms : INT64_MIN;
    for (size_t i = 0; i < s->num_txns; i++) {
        const lh_delta_app_txn *t = &s->txns[i];
        if (t->last_updated >= 0 && t->last_updated < txn_cutoff) continue;
        row_txn(L, t);
        rows++;
    }
    for (size_t i = 0; i < s->num_files; i++, rows++) row_add(L, s->files[i]);
    int64_t cutoff = now_ms - tombstone_retention_ms(s);
    for (size_t i = 0; i < s->num_tombstones; i++) {
        const lh_delta_file *f = s->tombstones[i];
        if (f->deletion_timestamp >= 0 && f->deletion_timestamp <= cutoff) continue;
        row_remove(L, f);
        rows++;
    }
    lh_buf file = LH_BUF_INIT;
    build_file(&fm, L, rows, &file);
    leaves_free(L);
    lh_pq_file_meta_free(&fm);

    char *key = checkpoint_key(s->prefix, s->version, 1);
    lh_status rc = lh_storage_write(st, key, file.data, file.len, err);
    free(key);
    size_t file_len = file.len;
    lh_buf_free(&file);
    if (rc != LH_OK) return rc;

    /* _last_checkpoint is a hint: never move it backwards. */
    char *hint_key = lh_delta_key(s->prefix, "_delta_log/_last_checkpoint");
    lh_buf old = LH_BUF_INIT;
    if (lh_storage_read(st, hint_key, &old, NULL) == LH_OK) {
        json_t *j = json_loadb(old.data ? old.data : "", old.len, 0, NULL);
        json_t *v = json_object_get(j, "version"), *parts = json_object_get(j, "parts");
        bool newer = json_is_integer(v) && json_integer_value(v) > s->version;
        if (newer) {
            /* a hint naming a checkpoint that is not there (a log cut back
             * or restored) stops delta-rs from opening the table: replace
             * it; a concurrent writer writes its checkpoint before its hint */
            char *ck = checkpoint_key(s->prefix, json_integer_value(v),
                                      json_is_integer(parts) ? json_integer_value(parts) : 1);
            lh_stat cst;
            lh_error serr;
            if (lh_storage_stat(st, ck, &cst, &serr) == LH_ERR_NOT_FOUND) newer = false;
            free(ck);
        }
        json_decref(j);
        if (newer) {
            lh_buf_free(&old);
            free(hint_key);
            return LH_OK;
        }
    }
    lh_buf_free(&old);
    lh_buf hint = LH_BUF_INIT;
    lh_buf_printf(&hint, "{\"version\":%" PRId64 ",\"size\":%" PRId64 ",\"sizeInBytes\":%zu,\"numOfAddFiles\":%zu}",
                  s->version, rows, file_len, s->num_files);
    rc = lh_storage_write(st, hint_key, hint.data, hint.len, err);
    lh_buf_free(&hint);
    free(hint_key);
    return rc;
}

lh_status lh_delta_cleanup_log(lh_storage *st, const char *prefix, int64_t retention_ms,
                               int64_t now_ms, size_t *deleted, lh_error *err)
{
    if (deleted) *deleted = 0;
    lh_delta_listing l;
    LH_TRY(lh_delta_list_log(st, prefix, &l, err));
    int64_t cutoff = now_ms - retention_ms;
    /* The boundary is the newest checkpoint that is itself expired, as
     * Spark and delta-rs draw it: every version younger than the retention
     * stays reconstructible (from that checkpoint on), for time travel and
     * for a reader that listed the log before a newer checkpoint. */
    const lh_delta_ckpt_ref *bound = NULL;
    for (size_t i = l.num_ckpts; i-- > 0 && !bound;) {
        lh_stat cst;
        if (lh_storage_stat(st, l.ckpts[i].keys.items[0], &cst, NULL) == LH_OK &&
            cst.mtime_ms <= cutoff)
            bound = &l.ckpts[i];
    }
    if (!bound) {
        lh_delta_listing_free(&l);
        return LH_OK; /* nothing may go without an expired checkpoint covering it */
    }
    int64_t until = bound->version;
    /* The checkpoint must replay on its own before anything it covers goes
     * (a snapshot load would quietly fall back to the JSON commits). */
    lh_delta_snapshot *s = lh_calloc(1, sizeof *s);
    s->st = st;
    s->prefix = lh_strdup(prefix ? prefix : "");
    s->timestamp = -1;
    lh_status rc = lh_delta_checkpoint_load(s, bound, err);
    if (rc == LH_OK && (!s->has_protocol || !s->has_metadata))
        rc = lh_error_set(err, LH_ERR_CORRUPT, "no protocol or metaData in it");
    lh_delta_snapshot_free(s);
    lh_delta_listing_free(&l);
    if (rc != LH_OK) return lh_error_prefix(err, "log cleanup: checkpoint %020" PRId64, until);
    char *dir = lh_delta_key(prefix, "_delta_log");
    lh_strlist keys;
    lh_strlist_init(&keys);
    rc = lh_storage_list(st, dir, 0, &keys, err);
    size_t dn = strlen(dir);
    for (size_t i = 0; rc == LH_OK && i < keys.len; i++) {
        const char *name = keys.items[i] + dn + 1;
        /* Hadoop's checksum of a log file (".N.json.crc", written by Spark)
         * goes with the version it checks */
        bool checksum = lh_delta_checksum_of(name) > 0;
        if (checksum) name++;
        bool digits = strlen(name) > 21 && name[20] == '.';
        for (int k = 0; digits && k < 20; k++) digits = name[k] >= '0' && name[k] <= '9';
        if (!digits) continue; /* _last_checkpoint, _sidecars/, foreign files */
        const char *rest = name + 21;
        if (!checksum && strcmp(rest, "json") != 0 && strcmp(rest, "crc") != 0 &&
            strncmp(rest, "checkpoint.", 11) != 0)
            continue;
        if (strtoll(name, NULL, 10) >= until) continue;
        lh_stat fst;
        if (lh_storage_stat(st, keys.items[i], &fst, NULL) != LH_OK || fst.mtime_ms > cutoff) continue;
        rc = lh_storage_delete(st, keys.items[i], err);
        if (rc == LH_OK && deleted) (*deleted)++;
    }
    lh_strlist_free(&keys);
    free(dir);
    return rc;
}

lh_status lh_delta_delete_log(lh_storage *st, const char *prefix, lh_error *err)
{
    /* The checkpoint of the newest version, written when missing, is the
     * table on its own: kept to the last, it keeps every state before its
     * delete whole. Deleted in listing order, the log lost commits from its
     * middle (a gap no reader replays) or its newest ones first (an older
     * version replayed as if it were the table). */
    int64_t keep = -1;
    lh_delta_snapshot *s = NULL;
    lh_error serr;
    if (lh_delta_snapshot_load(st, prefix, LH_DELTA_LATEST, &s, &serr) == LH_OK) {
        int64_t version = lh_delta_snapshot_version(s);
        lh_delta_listing l;
        bool have = false;
        if (lh_delta_list_log(st, prefix, &l, &serr) == LH_OK) {
            have = l.num_ckpts && l.ckpts[l.num_ckpts - 1].version == version;
            lh_delta_listing_free(&l);
        }
        lh_status crc = have ? LH_OK : lh_delta_checkpoint_write(st, s, &serr);
        lh_delta_snapshot_free(s);
        if (crc == LH_OK) keep = version;
        /* a table this module cannot checkpoint goes oldest first; a write
         * that failed has deleted nothing yet */
        else if (crc != LH_ERR_UNSUPPORTED) {
            if (!err) return crc;
            *err = serr;
            return lh_error_prefix(err, "checkpoint before deleting the log");
        }
    }
    char *dir = lh_delta_key(prefix, "_delta_log");
    lh_strlist keys, last;
    lh_strlist_init(&keys);
    lh_strlist_init(&last);
    /* sorted: the zero-padded versions oldest first, _last_checkpoint after */
    lh_status rc = lh_storage_list(st, dir, 0, &keys, err);
    size_t dn = strlen(dir);
    for (size_t i = 0; rc == LH_OK && i < keys.len; i++) {
        const char *name = keys.items[i] + dn + 1;
        if (keep >= 0 && strlen(name) > 21 && name[20] == '.' &&
            strncmp(name + 21, "checkpoint.", 11) == 0 && strtoll(name, NULL, 10) == keep) {
            lh_strlist_push(&last, keys.items[i]);
            continue;
        }
        rc = lh_storage_delete(st, keys.items[i], err);
    }
    for (size_t i = 0; rc == LH_OK && i < last.len; i++) rc = lh_storage_delete(st, last.items[i], err);
    lh_strlist_free(&last);
    lh_strlist_free(&keys);
    free(dir);
    return rc;
}
