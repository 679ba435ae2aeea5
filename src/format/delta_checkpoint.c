/* Reading V1 checkpoints (classic single file and multi-part): every row
 * holds exactly one action in one of the top-level struct columns (add,
 * remove, metaData, protocol, ...). Records are assembled from the leaf
 * columns with their definition/repetition levels; leaves are looked up by
 * dotted path, maps and lists by prefix so that Spark (parquet-mr) and
 * delta-rs (parquet-rs) naming of the inner groups both work. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format/delta_internal.h"
#include "lh/core/mem.h"
#include "lh/format/pq_reader.h"

typedef struct ccol {
    int file_leaf; /* -1: absent from this file (treated as null) */
    int leaf;      /* file_leaf, or -1 while the current chunk is all null */
    int16_t max_def, max_rep;
    int16_t entry_def; /* repeated leaves: def level at which an element exists */
    lh_pq_column col;
    size_t lpos, vpos; /* level and value cursors within the row group */
} ccol;

enum {
    A_PATH, A_PV_K, A_PV_V, A_SIZE, A_MTIME, A_DC, A_STATS, A_DV, A_TAG_K, A_TAG_V,
    R_PATH, R_DTS, R_DC, R_PV_K, R_PV_V, R_SIZE,
    M_ID, M_NAME, M_DESC, M_SCHEMA, M_PCOLS, M_CTIME, M_CONF_K, M_CONF_V,
    P_MINR, P_MINW, P_RF, P_WF, T_APPID, T_VERSION, T_LASTUPD, X_DOMAIN,
    NCOLS
};

/* Leaf paths; "prefix.*N" = the N-th leaf under the prefix (map key/value,
 * list element). */
static const char *const COLS[NCOLS] = {
    "add.path", "add.partitionValues.*0", "add.partitionValues.*1", "add.size",
    "add.modificationTime", "add.dataChange", "add.stats", "add.deletionVector.*0",
    "add.tags.*0", "add.tags.*1",
    "remove.path", "remove.deletionTimestamp", "remove.dataChange", "remove.partitionValues.*0",
    "remove.partitionValues.*1", "remove.size",
    "metaData.id", "metaData.name", "metaData.description", "metaData.schemaString",
    "metaData.partitionColumns.*0", "metaData.createdTime", "metaData.configuration.*0",
    "metaData.configuration.*1",
    "protocol.minReaderVersion", "protocol.minWriterVersion", "protocol.readerFeatures.*0",
    "protocol.writerFeatures.*0", "txn.appId", "txn.version", "txn.lastUpdated",
    "domainMetadata.domain",
};

static int find_leaf(const lh_pq_reader *r, const char *spec)
{
    const char *star = strstr(spec, ".*");
    if (!star) return lh_pq_reader_find(r, spec);
    size_t pn = (size_t)(star - spec) + 1; /* prefix including the dot */
    int nth = atoi(star + 2);
    for (size_t i = 0; i < lh_pq_reader_num_leaves(r); i++) {
        const lh_pq_leaf *l = lh_pq_reader_leaf(r, i);
        if (strncmp(l->path, spec, pn) == 0 && nth-- == 0) return (int)i;
    }
    return -1;
}

/* Flat leaf: def level of the current row (-1 if the column is absent);
 * *vi = value index when the value is non-null. */
static int flat_next(ccol *c, size_t *vi)
{
    if (c->leaf < 0) return -1;
    int def = c->max_def;
    if (c->col.def_levels) {
        if (c->lpos >= c->col.num_levels) return -1;
        def = c->col.def_levels[c->lpos];
    }
    c->lpos++;
    if (def == c->max_def) *vi = c->vpos++;
    return def;
}

static char *str_at(const ccol *c, size_t vi)
{
    const lh_pq_column *col = &c->col;
    return lh_strndup(col->bytes.data + col->offsets[vi], col->offsets[vi + 1] - col->offsets[vi]);
}

static int64_t int_at(const ccol *c, size_t vi)
{
    if (c->col.type == LH_PQ_INT32) return ((const int32_t *)c->col.values)[vi];
    if (c->col.type == LH_PQ_INT64) return ((const int64_t *)c->col.values)[vi];
    if (c->col.type == LH_PQ_BOOLEAN) return ((const uint8_t *)c->col.values)[vi];
    return 0;
}

static char *flat_str(ccol *c)
{
    size_t vi = 0;
    return flat_next(c, &vi) == c->max_def && c->leaf >= 0 ? str_at(c, vi) : NULL;
}

static bool flat_int(ccol *c, int64_t *out)
{
    size_t vi = 0;
    if (flat_next(c, &vi) != c->max_def || c->leaf < 0) return false;
    *out = int_at(c, vi);
    return true;
}

/* Repeated leaf: the [from, to) level range of the current row. */
static void rep_range(ccol *c, size_t *from, size_t *to)
{
    *from = *to = c->lpos;
    if (c->leaf < 0 || c->lpos >= c->col.num_levels) return;
    size_t p = c->lpos + 1;
    while (p < c->col.num_levels && c->col.rep_levels[p] != 0) p++;
    *to = c->lpos = p;
}

/* Map row: keys k and values v share their level structure. */
static void map_row(ccol *k, ccol *v, lh_delta_map *out)
{
    size_t kf, kt, vf, vt;
    rep_range(k, &kf, &kt);
    rep_range(v, &vf, &vt);
    for (size_t i = kf; i < kt; i++) {
        int16_t kd = k->col.def_levels ? k->col.def_levels[i] : k->max_def;
        if (kd < k->entry_def) continue; /* null or empty map */
        char *key = kd == k->max_def ? str_at(k, k->vpos++) : NULL;
        char *val = NULL;
        size_t j = vf + (i - kf);
        if (v->leaf >= 0 && j < vt) {
            int16_t vd = v->col.def_levels ? v->col.def_levels[j] : v->max_def;
            if (vd == v->max_def) val = str_at(v, v->vpos++);
        }
        if (key) lh_delta_map_push(out, key, val);
        free(key);
        free(val);
    }
}

static void list_row(ccol *e, lh_strlist *out)
{
    size_t f, t;
    rep_range(e, &f, &t);
    for (size_t i = f; i < t; i++) {
        int16_t d = e->col.def_levels ? e->col.def_levels[i] : e->max_def;
        if (d == e->max_def) lh_strlist_push_owned(out, str_at(e, e->vpos++));
    }
}

static lh_status load_row_group(lh_delta_snapshot *s, lh_pq_reader *r, size_t rg, ccol *cols,
                                int64_t version, lh_error *err)
{
    const lh_pq_row_group *g;
    LH_TRY(lh_pq_reader_row_group(r, rg, &g, err));
    for (int i = 0; i < NCOLS; i++) {
        cols[i].lpos = cols[i].vpos = 0;
        cols[i].leaf = cols[i].file_leaf;
        if (cols[i].leaf < 0) continue;
        /* A chunk whose statistics say it is all null reads like an absent
         * column; skipping it also spares the reader an empty value copy. */
        const lh_pq_column_meta *cm = &g->columns[cols[i].leaf].meta_data;
        const lh_pq_statistics *st = &cm->statistics;
        if (cm->has_statistics && st->has_null_count && st->null_count == cm->num_values) {
            cols[i].leaf = -1;
            continue;
        }
        LH_TRY(lh_pq_reader_read_column(r, rg, (size_t)cols[i].leaf, &cols[i].col, err));
    }
    int64_t nrows = lh_pq_reader_row_group_rows(r, rg);
    for (int64_t row = 0; row < nrows; row++) {
        size_t vi = 0;
        /* add */
        int add_def = cols[A_PATH].leaf >= 0 ? flat_next(&cols[A_PATH], &vi) : -1;
        char *apath = add_def == cols[A_PATH].max_def ? str_at(&cols[A_PATH], vi) : NULL;
        lh_delta_map apv = {0};
        map_row(&cols[A_PV_K], &cols[A_PV_V], &apv);
        /* delta-rs writes an empty-string partition value as "" here (null in
         * its JSON commits): read as null, as from a commit */
        lh_delta_pv_empty_to_null(&apv);
        int64_t asize = -1, amtime = 0, adc = 0;
        flat_int(&cols[A_SIZE], &asize);
        flat_int(&cols[A_MTIME], &amtime);
        flat_int(&cols[A_DC], &adc);
        char *astats = flat_str(&cols[A_STATS]);
        int dv_def = flat_next(&cols[A_DV], &vi);
        lh_delta_map atags = {0};
        map_row(&cols[A_TAG_K], &cols[A_TAG_V], &atags);
        /* remove */
        int rm_def = flat_next(&cols[R_PATH], &vi);
        char *rpath = rm_def == cols[R_PATH].max_def && cols[R_PATH].leaf >= 0 ? str_at(&cols[R_PATH], vi) : NULL;
        int64_t rdts = -1, rdc = 0, rsize = -1;
        flat_int(&cols[R_DTS], &rdts);
        flat_int(&cols[R_DC], &rdc);
        lh_delta_map rpv = {0};
        map_row(&cols[R_PV_K], &cols[R_PV_V], &rpv);
        lh_delta_pv_empty_to_null(&rpv);
        flat_int(&cols[R_SIZE], &rsize);
        /* metaData */
        char *mid = flat_str(&cols[M_ID]);
        char *mname = flat_str(&cols[M_NAME]);
        char *mdesc = flat_str(&cols[M_DESC]);
        char *mschema = flat_str(&cols[M_SCHEMA]);
        lh_strlist pcols;
        lh_strlist_init(&pcols);
        list_row(&cols[M_PCOLS], &pcols);
        int64_t ctime = -1;
        flat_int(&cols[M_CTIME], &ctime);
        lh_delta_map conf = {0};
        map_row(&cols[M_CONF_K], &cols[M_CONF_V], &conf);
        /* protocol */
        int64_t minr = -1, minw = -1;
        bool has_proto = flat_int(&cols[P_MINR], &minr);
        flat_int(&cols[P_MINW], &minw);
        lh_strlist rf, wf;
        lh_strlist_init(&rf);
        lh_strlist_init(&wf);
        list_row(&cols[P_RF], &rf);
        list_row(&cols[P_WF], &wf);
        lh_delta_app_txn txn = {flat_str(&cols[T_APPID]), -1, -1};
        bool has_txn_version = flat_int(&cols[T_VERSION], &txn.version);
        flat_int(&cols[T_LASTUPD], &txn.last_updated);
        if (flat_next(&cols[X_DOMAIN], &vi) == cols[X_DOMAIN].max_def && cols[X_DOMAIN].leaf >= 0)
            s->untracked = true;

        char where[96];
        snprintf(where, sizeof where, "checkpoint %020" PRId64 " row %" PRId64, version, row);
        lh_status rc = LH_OK;
        if (apath) {
            if (dv_def >= 2)
                rc = lh_error_set(err, LH_ERR_UNSUPPORTED, "%s: deletion vectors are not supported", where);
            lh_delta_file *f = lh_calloc(1, sizeof *f);
            f->raw_path = apath;
            apath = NULL;
            f->partition_values = apv;
            memset(&apv, 0, sizeof apv);
            f->size = asize;
            f->modification_time = amtime;
            f->data_change = adc != 0;
            f->stats = astats;
            astats = NULL;
            f->tags = atags;
            memset(&atags, 0, sizeof atags);
            f->deletion_timestamp = -1;
            f->version = version;
            if (rc == LH_OK) rc = lh_delta_resolve_path(s->st, s->prefix, f->raw_path, &f->path, err);
            if (rc == LH_OK) {
                lh_delta_apply_add(s, f);
            } else {
                lh_delta_file_free(f);
            }
        } else if (rpath) {
            lh_delta_file *f = lh_calloc(1, sizeof *f);
            f->raw_path = rpath;
            rpath = NULL;
            f->partition_values = rpv;
            memset(&rpv, 0, sizeof rpv);
            f->size = rsize;
            f->deletion_timestamp = rdts;
            f->data_change = rdc != 0;
            f->version = version;
            rc = lh_delta_resolve_path(s->st, s->prefix, f->raw_path, &f->path, err);
            if (rc == LH_OK) {
                lh_delta_apply_remove(s, f);
            } else {
                lh_delta_file_free(f);
            }
        } else if (mid) {
            if (s->has_metadata) lh_delta_metadata_free(&s->metadata);
            lh_delta_metadata *m = &s->metadata;
            memset(m, 0, sizeof *m);
            m->id = mid;
            m->name = mname;
            m->description = mdesc;
            m->schema_string = mschema;
            mid = mname = mdesc = mschema = NULL;
            m->partition_columns = pcols;
            lh_strlist_init(&pcols);
            m->configuration = conf;
            memset(&conf, 0, sizeof conf);
            m->created_time = ctime;
            s->has_metadata = true;
            rc = lh_delta_metadata_parse_schema(m, err);
        } else if (has_proto) {
            if (s->has_protocol) lh_delta_protocol_free(&s->protocol);
            s->protocol.min_reader_version = (int)minr;
            s->protocol.min_writer_version = (int)minw;
            s->protocol.reader_features = rf;
            s->protocol.writer_features = wf;
            lh_strlist_init(&rf);
            lh_strlist_init(&wf);
            s->has_protocol = true;
        } else if (txn.app_id) {
            if (has_txn_version)
                lh_delta_apply_txn(s, &txn);
            else
                rc = lh_error_set(err, LH_ERR_CORRUPT, "txn of \"%s\" has no version", txn.app_id);
        }
        free(txn.app_id);
        free(apath);
        free(astats);
        free(rpath);
        lh_delta_map_free(&apv);
        lh_delta_map_free(&atags);
        lh_delta_map_free(&rpv);
        free(mid);
        free(mname);
        free(mdesc);
        free(mschema);
        lh_strlist_free(&pcols);
        lh_delta_map_free(&conf);
        lh_strlist_free(&rf);
        lh_strlist_free(&wf);
        if (rc != LH_OK) return lh_error_prefix(err, "%s", where);
    }
    return LH_OK;
}

static lh_status load_part(lh_delta_snapshot *s, const char *key, int64_t version, lh_error *err)
{
    lh_pq_reader *r;
    LH_TRY(lh_pq_reader_open(s->st, key, &r, err));
    ccol cols[NCOLS];
    for (int i = 0; i < NCOLS; i++) {
        memset(&cols[i], 0, sizeof cols[i]);
        lh_pq_column_init(&cols[i].col);
        cols[i].leaf = cols[i].file_leaf = find_leaf(r, COLS[i]);
        if (cols[i].leaf >= 0) {
            const lh_pq_leaf *l = lh_pq_reader_leaf(r, (size_t)cols[i].leaf);
            cols[i].max_def = l->max_def;
            cols[i].max_rep = l->max_rep;
            bool optional = l->element->has_repetition && l->element->repetition == LH_PQ_OPTIONAL;
            cols[i].entry_def = (int16_t)(l->max_def - (optional ? 1 : 0));
        }
    }
    lh_status rc = LH_OK;
    if (cols[A_PATH].leaf < 0 && cols[M_ID].leaf < 0)
        rc = lh_error_set(err, LH_ERR_CORRUPT, "%s: not a Delta checkpoint (no add/metaData columns)", key);
    for (size_t rg = 0; rc == LH_OK && rg < lh_pq_reader_num_row_groups(r); rg++)
        rc = load_row_group(s, r, rg, cols, version, err);
    for (int i = 0; i < NCOLS; i++) lh_pq_column_free(&cols[i].col);
    lh_pq_reader_free(r);
    return rc;
}

lh_status lh_delta_checkpoint_load(lh_delta_snapshot *s, const lh_delta_ckpt_ref *c,
                                   lh_error *err)
{
    for (size_t i = 0; i < c->keys.len; i++) LH_TRY(load_part(s, c->keys.items[i], c->version, err));
    return LH_OK;
}
