/* The documents exports (documents.h). */
#include "lh/repository/documents.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lh/core/buf.h"
#include "lh/core/hash.h"
#include "lh/core/mem.h"
#include "lh/core/timeutil.h"
#include "lh/repository/mime.h"

static const char DOC_HEADER[] = "id,checksum,name,mimetype,path,size,updated_at,public_url\r\n";
static const char DIFF_HEADER[] =
    "op,id,checksum,name,mimetype,path,size,updated_at,public_url\r\n";
/* the documents scopes: every origin, and the crawl */
enum { ALL, CRAWL, NSCOPES };
static const char *const SCOPE_FILE[NSCOPES] = {"documents.csv", "documents.crawl.csv"};
static const char *const SCOPE_SERIES[NSCOPES] = {"diffs/exports/documents.csv",
                                                  "diffs/exports/documents.crawl.csv"};
static const char PARENT_HEADER[] = "id,name,path\r\n";

/* ---- the folder tree: ids in first-seen order, as a Python dict ---- */

typedef struct folder {
    char *id, *name, *parent; /* parent: the first, or NULL */
    char *path;               /* resolved */
} folder;

typedef struct tree {
    folder *items;
    size_t len, cap;
    uint32_t *slots; /* index + 1, open addressing */
    size_t nslots;
} tree;

static size_t slot_of(const tree *t, const char *id)
{
    size_t mask = t->nslots - 1, j = (size_t)lh_xxh64(id, strlen(id), 0) & mask;
    while (t->slots[j] && strcmp(t->items[t->slots[j] - 1].id, id) != 0) j = (j + 1) & mask;
    return j;
}

static folder *tree_get(const tree *t, const char *id)
{
    if (!id || !t->nslots) return NULL;
    uint32_t s = t->slots[slot_of(t, id)];
    return s ? &t->items[s - 1] : NULL;
}

static void tree_put(tree *t, const char *id, const char *name, const char *parent)
{
    if ((t->len + 1) * 2 > t->nslots) {
        size_t n = t->nslots ? t->nslots * 2 : 1024;
        free(t->slots);
        t->slots = lh_calloc(n, sizeof *t->slots);
        t->nslots = n;
        for (size_t i = 0; i < t->len; i++) t->slots[slot_of(t, t->items[i].id)] = (uint32_t)i + 1;
    }
    size_t j = slot_of(t, id);
    folder *f;
    if (t->slots[j]) { /* again: the new name and parent, the old place */
        f = &t->items[t->slots[j] - 1];
        free(f->name);
        free(f->parent);
    } else {
        if (t->len == t->cap) t->items = lh_grow(t->items, &t->cap, t->len + 1, sizeof *t->items);
        f = &t->items[t->len++];
        memset(f, 0, sizeof *f);
        f->id = lh_strdup(id);
        t->slots[j] = (uint32_t)t->len;
    }
    f->name = lh_strdup(name);
    f->parent = parent ? lh_strdup(parent) : NULL;
}

/* A folder's path by walking up, stopping at a cycle: for the folders of
 * a cycle, each on its own. */
static char *walk_path(const tree *t, const folder *start)
{
    lh_strlist seen;
    lh_strlist_init(&seen);
    const char *parts[4096];
    size_t n = 0;
    for (const folder *f = start; f && n < sizeof parts / sizeof *parts; f = tree_get(t, f->parent)) {
        if (lh_strlist_contains(&seen, f->id)) break;
        lh_strlist_push(&seen, f->id);
        parts[n++] = f->name;
    }
    lh_buf b = LH_BUF_INIT;
    for (size_t i = n; i-- > 0;) {
        lh_buf_append_str(&b, parts[i]);
        if (i) lh_buf_append_byte(&b, '/');
    }
    lh_strlist_free(&seen);
    return lh_buf_detach(&b, NULL);
}

/* FolderTree.paths: climb from each folder to a resolved ancestor or a
 * root, then resolve the climbed chain top-down; each folder walked once. */
static void tree_resolve(tree *t)
{
    folder **chain = lh_malloc((t->len ? t->len : 1) * sizeof *chain);
    for (size_t i = 0; i < t->len; i++) {
        size_t n = 0;
        folder *cur = &t->items[i];
        bool cycle = false;
        while (cur && !cur->path) {
            for (size_t k = 0; k < n && !cycle; k++) cycle = chain[k] == cur;
            if (cycle) break;
            chain[n++] = cur;
            cur = tree_get(t, cur->parent);
        }
        if (cycle) {
            for (size_t k = 0; k < n; k++) chain[k]->path = walk_path(t, chain[k]);
            continue;
        }
        const char *prefix = cur ? cur->path : NULL;
        for (size_t k = n; k-- > 0;) {
            lh_buf b = LH_BUF_INIT;
            if (prefix) lh_buf_printf(&b, "%s/", prefix);
            lh_buf_append_str(&b, chain[k]->name);
            chain[k]->path = lh_buf_detach(&b, NULL);
            prefix = chain[k]->path;
        }
    }
    free(chain);
}

static void tree_free(tree *t)
{
    for (size_t i = 0; i < t->len; i++) {
        free(t->items[i].id);
        free(t->items[i].name);
        free(t->items[i].parent);
        free(t->items[i].path);
    }
    free(t->items);
    free(t->slots);
}

/* ---- the export ---- */

struct lh_docs {
    lh_storage *st;
    lh_stream_codec codec;
    char *dataset;
    const lh_model *m;
    char *public_prefix;
    tree folders;
    FILE *staged; /* one JSON line per document */
    lh_diff_window *win[NSCOPES];
    lh_docs_counts counts;
};

lh_status lh_docs_open(lh_storage *st, const char *dataset, const lh_model *m,
                       const char *public_prefix, int64_t version, int64_t now_us,
                       lh_stream_codec codec, lh_docs **out, lh_error *err)
{
    *out = NULL;
    FILE *staged = tmpfile();
    if (!staged)
        return lh_error_errno(err, LH_ERR_IO, errno, "a temporary file for the documents export");
    lh_docs *d = lh_calloc(1, sizeof *d);
    d->staged = staged;
    for (int k = 0; k < NSCOPES; k++) {
        lh_status rc = lh_diff_window_open(st, dataset, SCOPE_SERIES[k], version, now_us,
                                           &d->win[k], err);
        if (rc != LH_OK) {
            lh_docs_free(d);
            return rc;
        }
    }
    d->st = st;
    d->codec = codec;
    d->dataset = lh_strdup(dataset);
    d->m = m;
    if (public_prefix) d->public_prefix = lh_strdup(public_prefix);
    *out = d;
    return LH_OK;
}

bool lh_docs_since(const lh_docs *d, int64_t *since)
{
    bool any = false;
    for (int k = 0; k < NSCOPES; k++) {
        if (!lh_diff_window_active(d->win[k])) continue;
        int64_t s = lh_diff_window_since(d->win[k]);
        if (!any || s < *since) *since = s;
        any = true;
    }
    return any;
}

static bool document_schema(const lh_model *m, const char *name)
{
    const lh_schema *s = lh_model_schema(m, name);
    return s && lh_schema_is_a(s, "Document") && strcmp(name, "Folder") != 0;
}

void lh_docs_pend(lh_docs *d, const lh_pstore_deleted_list *cands)
{
    /* a scope claims its tombstoned documents: a contentHash among the
     * tombstones, a document schema, the scope's origin */
    for (size_t i = 0; i < cands->len; i++) {
        const lh_pstore_deleted *c = &cands->items[i];
        bool doc = false;
        for (size_t k = 0; k < c->schemata.len && !doc; k++)
            doc = document_schema(d->m, c->schemata.items[k]);
        if (!c->content_hash || !doc) continue;
        for (int k = 0; k < NSCOPES; k++) {
            if (!lh_diff_window_active(d->win[k]) ||
                c->deleted_at < lh_diff_window_since(d->win[k]))
                continue;
            if (k == CRAWL && !lh_strlist_contains(&c->origins, "crawl")) continue;
            lh_diff_window_pend(d->win[k], c->entity_id);
        }
    }
}

/* The top-level "schema" of an entity line, without parsing it: inside a
 * JSON string a quote is escaped, so `"schema":"` is the key. */
static bool line_schema(const char *json, size_t len, char *out, size_t cap)
{
    static const char key[] = "\"schema\":\"";
    const char *end = json + len;
    for (const char *p = json; p + sizeof key - 1 < end; p++) {
        if (memcmp(p, key, sizeof key - 1) != 0) continue;
        const char *s = p + sizeof key - 1, *q = memchr(s, '"', (size_t)(end - s));
        if (!q || (size_t)(q - s) >= cap) return false;
        memcpy(out, s, (size_t)(q - s));
        out[q - s] = 0;
        return true;
    }
    return false;
}

static const char *first_value(json_t *props, const char *prop)
{
    return json_string_value(json_array_get(json_object_get(props, prop), 0));
}

/* get_filename: the first fileName, else the caption, else the schema */
static const char *file_name(json_t *e, json_t *props)
{
    const char *v = first_value(props, "fileName");
    if (v) return v;
    v = json_string_value(json_object_get(e, "caption"));
    if (v && *v) return v;
    v = json_string_value(json_object_get(e, "schema"));
    return v ? v : "";
}

static bool sha256_hex(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f'))) return false;
    return n == 64;
}

/* Python's int() of a string: blanks around, a sign, digits with single
 * underscores between them */
static bool py_int(const char *s, long long *v)
{
    while (isspace((unsigned char)*s)) s++;
    char buf[32];
    size_t n = 0;
    if (*s == '+' || *s == '-') buf[n++] = *s++;
    bool digit = false;
    for (; *s && !isspace((unsigned char)*s); s++) {
        if (*s == '_' && digit && isdigit((unsigned char)s[1])) continue;
        if (!isdigit((unsigned char)*s) || n + 1 >= sizeof buf) return false;
        buf[n++] = *s;
        digit = true;
    }
    while (isspace((unsigned char)*s)) s++;
    if (!digit || *s) return false;
    buf[n] = 0;
    errno = 0;
    *v = strtoll(buf, NULL, 10);
    return errno == 0;
}

/* last_change as pydantic's JSON has a datetime: "Z" for UTC, a fraction
 * only when there is one */
static json_t *updated_at(json_t *e)
{
    const char *s = json_string_value(json_object_get(e, "last_change"));
    int64_t us;
    lh_error e2;
    if (!s || lh_time_parse_iso(s, strlen(s), &us, &e2) != LH_OK) return json_null();
    char iso[LH_ISO_MAX];
    lh_time_format_iso_py(us, 0, iso);
    const char *time = strlen(s) > 10 ? s + 10 : ""; /* after the date */
    bool aware = strpbrk(time, "Z+-") != NULL;
    return json_sprintf("%s%s", iso, aware ? "Z" : "");
}

static bool has_origin(json_t *e, const char *origin)
{
    size_t i;
    json_t *o;
    json_array_foreach(json_object_get(e, "origin"), i, o)
    {
        if (json_is_string(o) && strcmp(json_string_value(o), origin) == 0) return true;
    }
    return false;
}

static lh_status stage_document(lh_docs *d, json_t *e, json_t *props, const lh_statement *rows,
                                size_t n, lh_error *err)
{
    const char *id = json_string_value(json_object_get(e, "id"));
    const char *checksum = first_value(props, "contentHash");
    const char *size_text = first_value(props, "fileSize");
    long long size = 0;
    if (!id || !checksum || !sha256_hex(checksum) || (size_text && !py_int(size_text, &size))) {
        d->counts.skipped++;
        return LH_OK;
    }
    const char *name = file_name(e, props);
    json_t *mimes = json_object_get(props, "mimeType");
    size_t nm = json_array_size(mimes);
    const char **list = lh_malloc((nm ? nm : 1) * sizeof *list);
    for (size_t i = 0; i < nm; i++) {
        list[i] = json_string_value(json_array_get(mimes, i));
        if (!list[i]) list[i] = "";
    }
    char *mime = lh_mime_pick(list, nm, name);
    free(list);
    json_t *url = json_null();
    if (d->public_prefix)
        url = json_sprintf("%s/archive/%.2s/%.2s/%.2s/%s/blob", d->public_prefix, checksum,
                           checksum + 2, checksum + 4, checksum);
    json_t *parents = json_object_get(props, "parent");
    parents = json_is_array(parents) ? json_incref(parents) : json_array();
    bool crawl = has_origin(e, "crawl");
    /* each scope's diff op, taken (and its pending id claimed) now */
    const char *op_all = lh_diff_window_op(d->win[ALL], rows, n);
    const char *op_crawl = crawl ? lh_diff_window_op(d->win[CRAWL], rows, n) : NULL;
    json_t *rec = json_pack("[s,s,s,s,I,o,o,o,b,o,o]", id, checksum, name, mime, (json_int_t)size,
                            updated_at(e), url, parents, crawl,
                            op_all ? json_string(op_all) : json_null(),
                            op_crawl ? json_string(op_crawl) : json_null());
    free(mime);
    if (!rec) return lh_error_set(err, LH_ERR_INTERNAL, "staging document `%s`", id);
    char *line = json_dumps(rec, JSON_COMPACT);
    json_decref(rec);
    if (!line) lh_out_of_memory_for("a staged document");
    lh_status rc = LH_OK;
    if (fputs(line, d->staged) == EOF || fputc('\n', d->staged) == EOF)
        rc = lh_error_errno(err, LH_ERR_IO, errno, "staging the documents export");
    free(line);
    d->counts.documents++;
    if (crawl) d->counts.crawl_documents++;
    const char *ops[NSCOPES] = {op_all, op_crawl};
    for (int k = 0; k < NSCOPES; k++)
        if (ops[k]) d->counts.ops[k][strcmp(ops[k], "ADD") == 0 ? 0 : 1]++;
    return rc;
}

lh_status lh_docs_entity(lh_docs *d, const lh_statement *rows, size_t n, const char *json,
                         size_t len, lh_error *err)
{
    char schema_name[128];
    if (!line_schema(json, len, schema_name, sizeof schema_name)) return LH_OK;
    const lh_schema *s = lh_model_schema(d->m, schema_name);
    if (!s) return LH_OK;
    bool is_folder = lh_schema_is_a(s, "Folder");
    bool is_document = document_schema(d->m, schema_name);
    if (!is_folder && !is_document) return LH_OK;
    json_error_t je;
    json_t *e = json_loadb(json, len, 0, &je);
    if (!e) return lh_error_set(err, LH_ERR_INTERNAL, "an exported entity does not parse: %s", je.text);
    json_t *props = json_object_get(e, "properties");
    lh_status rc = LH_OK;
    const char *id = json_string_value(json_object_get(e, "id"));
    if (is_folder && id) tree_put(&d->folders, id, file_name(e, props), first_value(props, "parent"));
    if (is_document && first_value(props, "contentHash"))
        rc = stage_document(d, e, props, rows, n, err);
    json_decref(e);
    return rc;
}

/* A field as Python's csv writes it (QUOTE_MINIMAL) */
static void csv_field(lh_buf *b, const char *s)
{
    if (!s) return;
    if (!strpbrk(s, ",\"\r\n")) {
        lh_buf_append_str(b, s);
        return;
    }
    lh_buf_append_csv_quoted(b, s);
}

typedef struct csv_out {
    lh_storage_writer *w;
    lh_buf buf;
    bool started; /* a diff: its header is out */
} csv_out;

static lh_status csv_open(lh_docs *d, const char *name, const char *header, csv_out *o,
                          lh_error *err)
{
    lh_buf key = LH_BUF_INIT;
    lh_buf_printf(&key, "%s/exports/%s", d->dataset, name);
    o->buf = (lh_buf)LH_BUF_INIT;
    lh_status rc = lh_stream_writer_open(d->st, key.data, d->codec, &o->w, err);
    lh_buf_free(&key);
    if (rc == LH_OK) lh_buf_append_str(&o->buf, header);
    return rc;
}

static lh_status csv_drain(csv_out *o, bool all, lh_error *err)
{
    if (!o->w || !o->buf.len || (!all && o->buf.len < (1u << 20))) return LH_OK;
    lh_status rc = lh_storage_writer_write(o->w, o->buf.data, o->buf.len, err);
    lh_buf_reset(&o->buf);
    return rc;
}

/* A diff file opens with its first row: a window without changes leaves
 * none. */
static lh_status diff_drain(lh_docs *d, int k, csv_out *o, bool all, lh_error *err)
{
    if (!o->buf.len || (!all && o->buf.len < (1u << 20))) return LH_OK;
    if (!o->w) {
        char *key = lh_diff_window_file(d->win[k], ".diff.csv");
        lh_status rc = lh_stream_writer_open(d->st, key, d->codec, &o->w, err);
        free(key);
        LH_TRY(rc);
    }
    return csv_drain(o, all, err);
}

static void doc_row(lh_buf *b, json_t *rec, const char *path)
{
    for (size_t i = 0; i < 8; i++) {
        if (i) lh_buf_append_byte(b, ',');
        if (i == 4) { /* path */
            csv_field(b, path);
            continue;
        }
        json_t *v = json_array_get(rec, i < 4 ? i : i - 1);
        if (json_is_integer(v)) lh_buf_printf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        else csv_field(b, json_string_value(v));
    }
    lh_buf_append_str(b, "\r\n");
}

/* Every staged document: a row per parent folder with a path, else one
 * without, into documents.csv (and documents.crawl.csv when in scope). */
static void diff_row(csv_out *o, json_t *op, json_t *rec, const char *path)
{
    if (!json_is_string(op)) return;
    if (!o->buf.len && !o->started) lh_buf_append_str(&o->buf, DIFF_HEADER);
    o->started = true;
    lh_buf_append_str(&o->buf, json_string_value(op));
    lh_buf_append_byte(&o->buf, ',');
    doc_row(&o->buf, rec, path);
}

static lh_status write_documents(lh_docs *d, csv_out *all, csv_out *crawl, csv_out *diffs,
                                 lh_error *err)
{
    if (fflush(d->staged) != 0 || fseek(d->staged, 0, SEEK_SET) != 0)
        return lh_error_errno(err, LH_ERR_IO, errno, "reading the staged documents");
    char *line = NULL;
    size_t cap = 0;
    lh_status rc = LH_OK;
    while (rc == LH_OK && getline(&line, &cap, d->staged) > 0) {
        json_error_t je;
        json_t *rec = json_loads(line, 0, &je);
        if (!rec) {
            rc = lh_error_set(err, LH_ERR_INTERNAL, "a staged document does not parse");
            break;
        }
        bool in_crawl = json_is_true(json_array_get(rec, 8));
        size_t rows = 0, i;
        json_t *p;
        json_array_foreach(json_array_get(rec, 7), i, p)
        {
            folder *f = tree_get(&d->folders, json_string_value(p));
            if (!f) continue;
            doc_row(&all->buf, rec, f->path);
            diff_row(&diffs[ALL], json_array_get(rec, 9), rec, f->path);
            if (in_crawl) {
                doc_row(&crawl->buf, rec, f->path);
                diff_row(&diffs[CRAWL], json_array_get(rec, 10), rec, f->path);
            }
            rows++;
        }
        if (!rows) {
            doc_row(&all->buf, rec, NULL);
            diff_row(&diffs[ALL], json_array_get(rec, 9), rec, NULL);
            if (in_crawl) {
                doc_row(&crawl->buf, rec, NULL);
                diff_row(&diffs[CRAWL], json_array_get(rec, 10), rec, NULL);
            }
        }
        json_decref(rec);
        rc = csv_drain(all, false, err);
        if (rc == LH_OK) rc = csv_drain(crawl, false, err);
        for (int k = 0; rc == LH_OK && k < NSCOPES; k++) rc = diff_drain(d, k, &diffs[k], false, err);
    }
    free(line);
    if (rc == LH_OK && ferror(d->staged))
        rc = lh_error_errno(err, LH_ERR_IO, errno, "reading the staged documents");
    return rc;
}

lh_status lh_docs_commit(lh_docs *d, lh_docs_counts *counts, lh_error *err)
{
    tree_resolve(&d->folders);
    csv_out parents = {0}, all = {0}, crawl = {0};
    lh_status rc = csv_open(d, "parents.csv", PARENT_HEADER, &parents, err);
    for (size_t i = 0; rc == LH_OK && i < d->folders.len; i++) {
        const folder *f = &d->folders.items[i];
        csv_field(&parents.buf, f->id);
        lh_buf_append_byte(&parents.buf, ',');
        csv_field(&parents.buf, f->name);
        lh_buf_append_byte(&parents.buf, ',');
        csv_field(&parents.buf, f->path);
        lh_buf_append_str(&parents.buf, "\r\n");
        rc = csv_drain(&parents, false, err);
    }
    if (rc == LH_OK) rc = csv_open(d, SCOPE_FILE[ALL], DOC_HEADER, &all, err);
    if (rc == LH_OK) rc = csv_open(d, SCOPE_FILE[CRAWL], DOC_HEADER, &crawl, err);
    csv_out diffs[NSCOPES] = {{0}};
    if (rc == LH_OK) rc = write_documents(d, &all, &crawl, diffs, err);
    /* the DELs: tombstoned documents of the scope the sweep did not meet */
    for (int k = 0; rc == LH_OK && k < NSCOPES; k++) {
        size_t i = 0;
        const char *gone;
        while (rc == LH_OK && (gone = lh_diff_window_unclaimed(d->win[k], &i))) {
            if (!diffs[k].started) lh_buf_append_str(&diffs[k].buf, DIFF_HEADER);
            diffs[k].started = true;
            lh_buf_append_str(&diffs[k].buf, "DEL,");
            csv_field(&diffs[k].buf, gone);
            lh_buf_append_str(&diffs[k].buf, ",,,,,,,\r\n");
            d->counts.diff_rows++;
            d->counts.ops[k][2]++;
            rc = diff_drain(d, k, &diffs[k], false, err);
        }
    }
    csv_out *outs[] = {&parents, &all, &crawl, &diffs[ALL], &diffs[CRAWL]};
    for (size_t i = 0; i < 5; i++) {
        if (rc == LH_OK && i >= 3) rc = diff_drain(d, (int)i - 3, outs[i], true, err);
        if (rc == LH_OK) rc = csv_drain(outs[i], true, err);
        if (rc == LH_OK && outs[i]->w) rc = lh_storage_writer_commit(outs[i]->w, err);
    }
    /* the states once every file is in place */
    for (int k = 0; rc == LH_OK && k < NSCOPES; k++) rc = lh_diff_window_record(d->win[k], NULL, err);
    for (size_t i = 0; i < 5; i++) {
        lh_storage_writer_free(outs[i]->w);
        lh_buf_free(&outs[i]->buf);
    }
    d->counts.folders = d->folders.len;
    if (counts) *counts = d->counts;
    return rc;
}

void lh_docs_free(lh_docs *d)
{
    if (!d) return;
    tree_free(&d->folders);
    if (d->staged) fclose(d->staged);
    for (int k = 0; k < NSCOPES; k++) lh_diff_window_free(d->win[k]);
    free(d->public_prefix);
    free(d->dataset);
    free(d);
}
