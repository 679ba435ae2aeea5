/* Streaming parquet writer (see pq_writer.h): pages, chunks, row groups,
 * rows and the footer. Layout: "PAR1", row groups (per chunk: [dictionary
 * page] data pages), bloom filters of every chunk, [column indexes, offset
 * indexes], footer, footer length, "PAR1". Data pages are V1 with RLE
 * repetition/definition levels; values are RLE_DICTIONARY with a PLAIN
 * dictionary page, or PLAIN after the dictionary outgrew its limit. */
#include "lh/format/pq_writer.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "lh/core/mem.h"
#include "lh/format/pq_bloom.h"
#include "lh/format/pq_codec.h"
#include "pq_writer_int.h"

static lh_status sink_write(lh_pq_writer *w, const void *p, size_t n, lh_error *err)
{
    lh_status st = lh_storage_writer_write(w->sink, p, n, err);
    if (st != LH_OK) w->failed = true;
    return st;
}

static uint64_t sink_off(const lh_pq_writer *w)
{
    return lh_storage_writer_offset(w->sink);
}

static lh_status start(lh_pq_writer *w, lh_error *err)
{
    if (w->started) return LH_OK;
    w->started = true;
    return sink_write(w, "PAR1", 4, err);
}

/* Encode, compress and append the current page of column c to its chunk. */
static lh_status flush_page(lh_pq_writer *w, lh_pq_wcol *c, lh_error *err)
{
    if (c->page_levels == 0) return LH_OK;
    lh_pq_encoding enc;
    size_t levels, values = c->page_values;
    lh_pq_wcol_page_body(c, &w->body, &enc, &levels);
    lh_buf_reset(&w->comp);
    LH_TRY(lh_pq_compress(w->o.codec, w->o.level, w->body.data, w->body.len, &w->comp, err));
    if (w->body.len > INT32_MAX || w->comp.len > INT32_MAX)
        return lh_error_set(err, LH_ERR_INVALID, "parquet writer: column %s: page too large",
                            c->spec.name);
    lh_pq_page_header h;
    lh_pq_page_header_init(&h);
    h.type = LH_PQ_DATA_PAGE;
    h.uncompressed_page_size = (int32_t)w->body.len;
    h.compressed_page_size = (int32_t)w->comp.len;
    h.has_data_page_header = true;
    h.data_page_header.num_values = (int32_t)levels;
    h.data_page_header.encoding = enc;
    h.data_page_header.definition_level_encoding = LH_PQ_ENC_RLE;
    h.data_page_header.repetition_level_encoding = LH_PQ_ENC_RLE;
    size_t at = c->chunk.len;
    lh_pq_page_header_write(&h, &c->chunk);
    c->chunk_uncomp += (int64_t)(c->chunk.len - at + w->body.len);
    lh_buf_append(&c->chunk, w->comp.data, w->comp.len);
    if (c->page_index)
        lh_pq_wcol_index_page(c, (int64_t)at, (int32_t)(c->chunk.len - at), values,
                              w->o.stats_truncate_len);
    c->num_values += (int64_t)levels;
    if (enc == LH_PQ_ENC_PLAIN) c->pages_plain++;
    else c->pages_dict++;
    return LH_OK;
}

static void add_encoding(lh_pq_column_meta *m, lh_pq_encoding e)
{
    for (size_t i = 0; i < m->num_encodings; i++)
        if (m->encodings[i] == e) return;
    m->encodings[m->num_encodings++] = e;
}

static void add_enc_stat(lh_pq_column_meta *m, lh_pq_page_type t, lh_pq_encoding e, int32_t n)
{
    if (n <= 0) return;
    m->encoding_stats[m->num_encoding_stats++] = (lh_pq_page_encoding_stats){t, e, n};
}

/* Write column c's chunk of the current row group; fill its metadata. */
static lh_status write_chunk(lh_pq_writer *w, lh_pq_wcol *c, size_t rg, lh_pq_column_chunk *cc,
                             lh_error *err)
{
    LH_TRY(flush_page(w, c, err));
    lh_pq_column_meta *m = &cc->meta_data;
    int64_t chunk_start = (int64_t)sink_off(w);
    int64_t dict_uncomp = 0, dict_comp = 0;
    bool has_dict = c->pages_dict > 0;
    if (has_dict) {
        if (c->dict_plain.len > INT32_MAX)
            return lh_error_set(err, LH_ERR_INVALID, "dictionary page too large");
        lh_buf_reset(&w->comp);
        LH_TRY(lh_pq_compress(w->o.codec, w->o.level, c->dict_plain.data, c->dict_plain.len,
                              &w->comp, err));
        lh_pq_page_header h;
        lh_pq_page_header_init(&h);
        h.type = LH_PQ_DICTIONARY_PAGE;
        h.uncompressed_page_size = (int32_t)c->dict_plain.len;
        h.compressed_page_size = (int32_t)w->comp.len;
        h.has_dictionary_page_header = true;
        h.dictionary_page_header.num_values = (int32_t)c->dict_n;
        h.dictionary_page_header.encoding = LH_PQ_ENC_PLAIN;
        lh_buf_reset(&w->hdr);
        lh_pq_page_header_write(&h, &w->hdr);
        LH_TRY(sink_write(w, w->hdr.data, w->hdr.len, err));
        LH_TRY(sink_write(w, w->comp.data, w->comp.len, err));
        dict_uncomp = (int64_t)(w->hdr.len + c->dict_plain.len);
        dict_comp = (int64_t)(w->hdr.len + w->comp.len);
    }
    int64_t data_off = (int64_t)sink_off(w);
    LH_TRY(sink_write(w, c->chunk.data, c->chunk.len, err));

    cc->file_offset = chunk_start;
    cc->has_meta_data = true;
    m->type = c->type;
    m->encodings = lh_calloc(3, sizeof *m->encodings);
    if (has_dict || c->pages_plain) add_encoding(m, LH_PQ_ENC_PLAIN);
    add_encoding(m, LH_PQ_ENC_RLE);
    if (has_dict) add_encoding(m, LH_PQ_ENC_RLE_DICTIONARY);
    m->path_in_schema = lh_calloc(c->path_len, sizeof *m->path_in_schema);
    for (size_t i = 0; i < c->path_len; i++) m->path_in_schema[i] = lh_strdup(c->path[i]);
    m->path_len = c->path_len;
    m->codec = w->o.codec;
    m->num_values = c->num_values;
    m->total_uncompressed_size = dict_uncomp + c->chunk_uncomp;
    m->total_compressed_size = dict_comp + (int64_t)c->chunk.len;
    m->data_page_offset = data_off;
    if (has_dict) {
        m->has_dictionary_page_offset = true;
        m->dictionary_page_offset = chunk_start;
    }
    if (c->spec.statistics) {
        m->has_statistics = true;
        lh_pq_wcol_stats(c, w->o.stats_truncate_len, &m->statistics);
    }
    m->encoding_stats = lh_calloc(3, sizeof *m->encoding_stats);
    add_enc_stat(m, LH_PQ_DICTIONARY_PAGE, LH_PQ_ENC_PLAIN, has_dict ? 1 : 0);
    add_enc_stat(m, LH_PQ_DATA_PAGE, LH_PQ_ENC_RLE_DICTIONARY, c->pages_dict);
    add_enc_stat(m, LH_PQ_DATA_PAGE, LH_PQ_ENC_PLAIN, c->pages_plain);

    if (c->spec.bloom_filter && c->type != LH_PQ_BOOLEAN) {
        /* Sized from the chunk's exact distinct count; written at finish. */
        w->blooms = lh_grow(w->blooms, &w->blooms_cap, w->nblooms + 1, sizeof *w->blooms);
        lh_pq_pending_bloom *pb = &w->blooms[w->nblooms++];
        pb->rg = rg;
        pb->col = (size_t)(c - w->cols);
        double fpp = c->spec.bloom_fpp > 0 && c->spec.bloom_fpp < 1 ? c->spec.bloom_fpp : 0.01;
        lh_pq_bloom_init(&pb->bloom, lh_pq_bloom_size(c->hset_n, fpp));
        for (size_t i = 0; i < c->hset_cap; i++)
            if (c->hset[i]) lh_pq_bloom_insert_hash(&pb->bloom, c->hset[i]);
        if (c->hset_zero) lh_pq_bloom_insert_hash(&pb->bloom, 0);
    }
    if (c->page_index) {
        /* Moved out to be written at finish, with absolute offsets. */
        w->indexes = lh_grow(w->indexes, &w->indexes_cap, w->nindexes + 1, sizeof *w->indexes);
        lh_pq_pending_index *pi = &w->indexes[w->nindexes++];
        pi->rg = rg;
        pi->col = (size_t)(c - w->cols);
        pi->has_column_index = c->spec.statistics;
        if (pi->has_column_index) lh_pq_wcol_index_finish(c);
        for (size_t i = 0; i < c->oidx.num_pages; i++) c->oidx.pages[i].offset += data_off;
        pi->cidx = c->cidx;
        pi->oidx = c->oidx;
        memset(&c->cidx, 0, sizeof c->cidx);
        memset(&c->oidx, 0, sizeof c->oidx);
    }
    lh_pq_wcol_reset_chunk(c);
    return LH_OK;
}

static lh_status flush_row_group(lh_pq_writer *w, lh_error *err)
{
    if (w->rg_rows == 0) return LH_OK;
    LH_TRY(start(w, err));
    w->meta.row_groups = lh_grow(w->meta.row_groups, &w->rg_cap, w->meta.num_row_groups + 1,
                                 sizeof *w->meta.row_groups);
    size_t ri = w->meta.num_row_groups++;
    lh_pq_row_group *rg = &w->meta.row_groups[ri];
    memset(rg, 0, sizeof *rg);
    rg->columns = lh_calloc(w->ncols ? w->ncols : 1, sizeof *rg->columns);
    rg->num_columns = w->ncols;
    rg->num_rows = (int64_t)w->rg_rows;
    rg->ordinal = ri <= INT16_MAX ? (int16_t)ri : -1;
    rg->has_file_offset = rg->has_total_compressed_size = true;
    rg->file_offset = (int64_t)sink_off(w);
    for (size_t i = 0; i < w->ncols; i++) {
        lh_status st = write_chunk(w, &w->cols[i], ri, &rg->columns[i], err);
        if (st != LH_OK) {
            w->failed = true;
            return lh_error_prefix(err, "parquet writer: row group %zu, column %s", ri,
                                   w->cols[i].spec.name);
        }
        rg->total_byte_size += rg->columns[i].meta_data.total_uncompressed_size;
        rg->total_compressed_size += rg->columns[i].meta_data.total_compressed_size;
    }
    w->meta.num_rows += (int64_t)w->rg_rows;
    w->rg_rows = 0;
    return LH_OK;
}

/* Record one entry; handles the dictionary fallback. */
static lh_status put_entry(lh_pq_writer *w, lh_pq_wcol *c, int def, int rep, const lh_pq_value *v,
                           lh_error *err)
{
    bool fell_back;
    lh_pq_wcol_add(c, def, rep, v, w->o.dict_page_size, &fell_back);
    if (fell_back) {
        /* The dictionary is full: close its page, continue PLAIN. */
        lh_status st = flush_page(w, c, err);
        if (st != LH_OK) {
            w->failed = true;
            return st;
        }
        c->dict_mode = false;
        lh_pq_wcol_add(c, def, rep, v, w->o.dict_page_size, &fell_back);
    }
    return LH_OK;
}

static lh_status check_open(const lh_pq_writer *w, lh_error *err)
{
    if (w->finished || w->failed)
        return lh_error_set(err, LH_ERR_INVALID, "parquet writer: write after %s",
                            w->finished ? "finish" : "a failure");
    return LH_OK;
}

static unsigned long long row_no(const lh_pq_writer *w)
{
    return (unsigned long long)w->meta.num_rows + w->rg_rows;
}

/* A non-null value of column c in row number row fits a page. */
static lh_status value_ok(const lh_pq_wcol *c, const lh_pq_value *v, unsigned long long row,
                          lh_error *err)
{
    if (c->spec.kind == LH_PQK_STRING && v->v.s.len > LH_PQ_MAX_VALUE_LEN)
        return lh_error_set(err, LH_ERR_INVALID,
                            "parquet writer: row %llu, column %s: value of %zu bytes too long",
                            row, c->spec.name, v->v.s.len);
    return LH_OK;
}

void lh_pq_writer_poison(lh_pq_writer *w)
{
    w->failed = true;
}

static lh_status put_checked(lh_pq_writer *w, size_t leaf, int def, int rep,
                             const lh_pq_value *v, lh_error *err);

/* Errors leave the row half-written, so they make the writer unusable. */
lh_status lh_pq_writer_put(lh_pq_writer *w, size_t leaf, int def, int rep,
                           const lh_pq_value *v, lh_error *err)
{
    lh_status st = put_checked(w, leaf, def, rep, v, err);
    if (st != LH_OK) w->failed = true;
    return st;
}

static lh_status put_checked(lh_pq_writer *w, size_t leaf, int def, int rep,
                             const lh_pq_value *v, lh_error *err)
{
    LH_TRY(check_open(w, err));
    if (leaf >= w->ncols)
        return lh_error_set(err, LH_ERR_INVALID, "parquet writer: no leaf %zu", leaf);
    lh_pq_wcol *c = &w->cols[leaf];
    if (def < 0 || def > c->max_def || rep < 0 || rep > c->max_rep)
        return lh_error_set(err, LH_ERR_INVALID,
                            "parquet writer: row %llu, column %s: levels def %d rep %d out of range "
                            "(max %d, %d)", row_no(w), c->spec.name, def, rep, c->max_def, c->max_rep);
    if ((c->row_entries == 0) != (rep == 0))
        return lh_error_set(err, LH_ERR_INVALID,
                            "parquet writer: row %llu, column %s: rep level %d %s", row_no(w),
                            c->spec.name, rep,
                            rep ? "on the row's first entry" : "0 inside a row (call end_row)");
    if (def == c->max_def) LH_TRY(value_ok(c, v, row_no(w), err));
    return put_entry(w, c, def, rep, v, err);
}

/* After a row boundary: flush column c's page when it is full. */
static lh_status page_check(lh_pq_writer *w, lh_pq_wcol *c, lh_error *err)
{
    if (lh_pq_wcol_page_estimate(c) < w->o.data_page_size &&
        c->page_levels < w->o.data_page_rows)
        return LH_OK;
    lh_status st = flush_page(w, c, err);
    if (st != LH_OK) w->failed = true;
    return st;
}

/* n more rows are complete: flush the row group at its row or byte limit. */
static lh_status rows_done(lh_pq_writer *w, size_t n, lh_error *err)
{
    w->rg_rows += n;
    if (w->rg_rows >= w->o.row_group_rows) return flush_row_group(w, err);
    /* The byte limit is approximate anyway: sum the buffers every 64 rows. */
    if ((w->rg_rows & 63) == 0 || w->rg_rows < 64) {
        size_t buffered = 0;
        for (size_t i = 0; i < w->ncols; i++) buffered += lh_pq_wcol_buffered(&w->cols[i]);
        if (buffered >= w->o.row_group_bytes) return flush_row_group(w, err);
    }
    return LH_OK;
}

lh_status lh_pq_writer_end_row(lh_pq_writer *w, lh_error *err)
{
    LH_TRY(check_open(w, err));
    for (size_t i = 0; i < w->ncols; i++)
        if (w->cols[i].row_entries == 0) {
            w->failed = true;
            return lh_error_set(err, LH_ERR_INVALID, "parquet writer: row %llu: no entry for column %s",
                                row_no(w), w->cols[i].spec.name);
        }
    for (size_t i = 0; i < w->ncols; i++) {
        lh_pq_wcol *c = &w->cols[i];
        c->row_entries = 0;
        c->chunk_rows++;
        if (c->fallback_pending) {
            lh_status st = flush_page(w, c, err);
            if (st != LH_OK) {
                w->failed = true;
                return st;
            }
            c->dict_mode = c->fallback_pending = false;
        }
        LH_TRY(page_check(w, c, err));
    }
    return rows_done(w, 1, err);
}

/* Check one flat row before any of it is recorded; row is its number. */
static lh_status row_ok(const lh_pq_writer *w, const lh_pq_value *vals, unsigned long long row,
                        lh_error *err)
{
    for (size_t i = 0; i < w->ncols; i++) {
        const lh_pq_wcol *c = &w->cols[i];
        if (vals[i].is_null && c->max_def == 0)
            return lh_error_set(err, LH_ERR_INVALID,
                                "parquet writer: row %llu: NULL in required column %s", row,
                                c->spec.name);
        if (!vals[i].is_null) LH_TRY(value_ok(c, &vals[i], row, err));
        if (c->row_entries)
            return lh_error_set(err, LH_ERR_INVALID, "parquet writer: append inside a row");
    }
    return LH_OK;
}

lh_status lh_pq_writer_append(lh_pq_writer *w, const lh_pq_value *vals, lh_error *err)
{
    LH_TRY(check_open(w, err));
    if (w->nested)
        return lh_error_set(err, LH_ERR_INVALID, "parquet writer: append on a nested schema");
    LH_TRY(row_ok(w, vals, row_no(w), err));
    for (size_t i = 0; i < w->ncols; i++) {
        lh_pq_wcol *c = &w->cols[i];
        LH_TRY(put_entry(w, c, vals[i].is_null ? 0 : c->max_def, 0, &vals[i], err));
    }
    return lh_pq_writer_end_row(w, err);
}

/* Rows [0, n) of a valid batch, column by column, ending where
 * lh_pq_writer_end_row would check the row group (so the file is the one
 * row-at-a-time appends write). */
static lh_status append_span(lh_pq_writer *w, const lh_pq_value *vals, size_t n, lh_error *err)
{
    for (size_t i = 0; i < w->ncols; i++) {
        lh_pq_wcol *c = &w->cols[i];
        const lh_pq_value *v = vals + i;
        for (size_t r = 0; r < n; r++, v += w->ncols) {
            LH_TRY(put_entry(w, c, v->is_null ? 0 : c->max_def, 0, v, err));
            c->row_entries = 0;
            c->chunk_rows++;
            LH_TRY(page_check(w, c, err));
        }
    }
    return rows_done(w, n, err);
}

lh_status lh_pq_writer_append_rows(lh_pq_writer *w, const lh_pq_value *vals, size_t n,
                                   size_t *done, lh_error *err)
{
    size_t dummy;
    if (!done) done = &dummy;
    *done = 0;
    LH_TRY(check_open(w, err));
    if (w->nested)
        return lh_error_set(err, LH_ERR_INVALID, "parquet writer: append on a nested schema");
    size_t valid = 0;
    lh_status bad = LH_OK;
    for (; valid < n; valid++)
        if ((bad = row_ok(w, vals + valid * w->ncols, row_no(w) + valid, err)) != LH_OK) break;
    while (*done < valid) {
        /* up to the next row where end_row checks the byte limit, and never
         * past the row limit */
        size_t span = 1;
        if (w->rg_rows >= 64) span = 64 - (w->rg_rows & 63);
        size_t to_limit = w->o.row_group_rows > w->rg_rows ? w->o.row_group_rows - w->rg_rows : 1;
        if (span > to_limit) span = to_limit;
        if (span > valid - *done) span = valid - *done;
        LH_TRY(append_span(w, vals + *done * w->ncols, span, err));
        *done += span;
    }
    return bad;
}

void lh_pq_writer_add_kv(lh_pq_writer *w, const char *key, const char *value)
{
    size_t n = w->meta.num_key_value_metadata;
    w->meta.key_value_metadata =
        lh_realloc(w->meta.key_value_metadata, (n + 1) * sizeof *w->meta.key_value_metadata);
    w->meta.key_value_metadata[n].key = lh_strdup(key);
    w->meta.key_value_metadata[n].value = value ? lh_strdup(value) : NULL;
    w->meta.num_key_value_metadata = n + 1;
}

static lh_status write_blooms(lh_pq_writer *w, lh_error *err)
{
    for (size_t i = 0; i < w->nblooms; i++) {
        lh_pq_pending_bloom *pb = &w->blooms[i];
        lh_pq_column_meta *m = &w->meta.row_groups[pb->rg].columns[pb->col].meta_data;
        lh_pq_bloom_header bh = {.num_bytes = (int32_t)pb->bloom.num_bytes};
        lh_buf_reset(&w->hdr);
        lh_pq_bloom_header_write(&bh, &w->hdr);
        m->has_bloom_filter = true;
        m->bloom_filter_offset = (int64_t)sink_off(w);
        m->bloom_filter_length = (int32_t)(w->hdr.len + pb->bloom.num_bytes);
        LH_TRY(sink_write(w, w->hdr.data, w->hdr.len, err));
        LH_TRY(sink_write(w, pb->bloom.bits, pb->bloom.num_bytes, err));
        lh_pq_bloom_free(&pb->bloom);
    }
    w->nblooms = 0;
    return LH_OK;
}

/* All ColumnIndex structs, then all OffsetIndex structs (PageIndex.md). */
static lh_status write_indexes(lh_pq_writer *w, lh_error *err)
{
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < w->nindexes; i++) {
            lh_pq_pending_index *pi = &w->indexes[i];
            lh_pq_column_chunk *cc = &w->meta.row_groups[pi->rg].columns[pi->col];
            lh_buf_reset(&w->hdr);
            if (pass == 0) {
                if (!pi->has_column_index) continue;
                lh_pq_column_index_write(&pi->cidx, &w->hdr);
                cc->has_column_index = true;
                cc->column_index_offset = (int64_t)sink_off(w);
                cc->column_index_length = (int32_t)w->hdr.len;
            } else {
                lh_pq_offset_index_write(&pi->oidx, &w->hdr);
                cc->has_offset_index = true;
                cc->offset_index_offset = (int64_t)sink_off(w);
                cc->offset_index_length = (int32_t)w->hdr.len;
            }
            LH_TRY(sink_write(w, w->hdr.data, w->hdr.len, err));
        }
    }
    return LH_OK;
}

static void free_indexes(lh_pq_writer *w)
{
    for (size_t i = 0; i < w->nindexes; i++) {
        lh_pq_column_index_free(&w->indexes[i].cidx);
        lh_pq_offset_index_free(&w->indexes[i].oidx);
    }
    free(w->indexes);
    w->indexes = NULL;
    w->nindexes = w->indexes_cap = 0;
}

lh_status lh_pq_writer_finish(lh_pq_writer *w, lh_error *err)
{
    if (w->finished) return LH_OK;
    if (w->failed)
        return lh_error_set(err, LH_ERR_INVALID, "parquet writer: finish after a failure");
    for (size_t i = 0; i < w->ncols; i++)
        if (w->cols[i].row_entries)
            return lh_error_set(err, LH_ERR_INVALID, "parquet writer: finish inside a row");
    LH_TRY(start(w, err));
    LH_TRY(flush_row_group(w, err));
    LH_TRY(write_blooms(w, err));
    LH_TRY(write_indexes(w, err));
    free_indexes(w);
    lh_buf_reset(&w->hdr);
    lh_pq_file_meta_write(&w->meta, &w->hdr);
    if (w->hdr.len > UINT32_MAX)
        return lh_error_set(err, LH_ERR_INVALID, "parquet writer: footer too large");
    lh_buf_append_u32le(&w->hdr, (uint32_t)w->hdr.len);
    lh_buf_append(&w->hdr, "PAR1", 4);
    LH_TRY(sink_write(w, w->hdr.data, w->hdr.len, err));
    w->finished = true;
    return LH_OK;
}

const lh_pq_file_meta *lh_pq_writer_meta(const lh_pq_writer *w)
{
    return &w->meta;
}

uint64_t lh_pq_writer_rows(const lh_pq_writer *w)
{
    return (uint64_t)w->meta.num_rows + w->rg_rows;
}

void lh_pq_writer_free(lh_pq_writer *w)
{
    if (!w) return;
    for (size_t i = 0; i < w->ncols; i++) lh_pq_wcol_free(&w->cols[i]);
    free(w->cols);
    for (size_t i = 0; i < w->nblooms; i++) lh_pq_bloom_free(&w->blooms[i].bloom);
    free(w->blooms);
    free_indexes(w);
    lh_pq_file_meta_free(&w->meta);
    lh_buf_free(&w->body);
    lh_buf_free(&w->comp);
    lh_buf_free(&w->hdr);
    free(w);
}
