/* lh-journal: drive the JournalStore from interop tests.
 *
 *   lh-journal URI DATASET insert [BATCH] < statements.jsonl
 *   lh-journal URI DATASET flush [BATCH] [FAIL_AFTER]   (rows as JSON lines)
 *   lh-journal URI DATASET iterate | count | clear
 *   lh-journal URI DATASET entity ENTITY_ID
 *
 * Statement JSON: the journal column names plus "shard"; timestamps
 * ISO-8601 (written back in Python's aware isoformat); absent/null = NULL.
 * flush with FAIL_AFTER=N fails the consumer at batch N (exit 3). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lh/core/timeutil.h"
#include "lh/storage/journal.h"

static const char *jstr(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static int64_t jts(json_t *o, const char *k)
{
    const char *s = jstr(o, k);
    int64_t us = LH_TS_NULL;
    lh_error e;
    if (s && lh_time_parse_iso(s, strlen(s), &us, &e) != LH_OK) {
        fprintf(stderr, "lh-journal: bad timestamp %s: %s\n", k, s);
        exit(2);
    }
    return us;
}

static void set_str(json_t *o, const char *k, const char *v)
{
    json_object_set_new(o, k, v ? json_string(v) : json_null());
}

static void set_ts(json_t *o, const char *k, int64_t us)
{
    if (us == LH_TS_NULL) {
        json_object_set_new(o, k, json_null());
        return;
    }
    char iso[LH_ISO_MAX];
    lh_time_format_iso_py(us, 1, iso);
    json_object_set_new(o, k, json_string(iso));
}

static lh_status print_rows(void *ctx, const lh_stmt_batch *b, lh_error *err)
{
    int *fail_after = ctx;
    if (*fail_after == 0) return lh_error_set(err, LH_ERR_IO, "consumer failed on purpose");
    if (*fail_after > 0) (*fail_after)--;
    for (size_t i = 0; i < b->len; i++) {
        const lh_statement *s = &b->rows[i];
        json_t *o = json_object();
        set_str(o, "shard", s->shard);
        set_str(o, "id", s->id);
        set_str(o, "entity_id", s->entity_id);
        set_str(o, "dataset", s->dataset);
        set_str(o, "bucket", s->bucket);
        set_str(o, "origin", s->origin);
        set_str(o, "source", s->source);
        set_str(o, "schema", s->schema);
        set_str(o, "prop", s->prop);
        set_str(o, "prop_type", s->prop_type);
        set_str(o, "value", s->value);
        set_str(o, "original_value", s->original_value);
        set_str(o, "lang", s->lang);
        json_object_set_new(o, "external", json_boolean(s->external));
        set_ts(o, "first_seen", s->first_seen);
        set_ts(o, "last_seen", s->last_seen);
        set_str(o, "fragment", s->fragment);
        set_str(o, "role", s->role);
        set_ts(o, "deleted_at", s->deleted_at);
        char *line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
        puts(line);
        free(line);
        json_decref(o);
    }
    return LH_OK;
}

static int insert(lh_journal *j, size_t batch)
{
    lh_journal_writer *w = lh_journal_writer_new(j, batch);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    lh_error err;
    int rc = 0;
    while (rc == 0 && (n = getline(&line, &cap, stdin)) > 0) {
        json_error_t je;
        json_t *o = json_loadb(line, (size_t)n, 0, &je);
        if (!o) {
            fprintf(stderr, "lh-journal: bad JSON: %s\n", je.text);
            rc = 2;
            break;
        }
        lh_statement s = {
            .shard = jstr(o, "shard"),
            .id = jstr(o, "id"),
            .entity_id = jstr(o, "entity_id"),
            .dataset = jstr(o, "dataset"),
            .bucket = jstr(o, "bucket"),
            .origin = jstr(o, "origin"),
            .source = jstr(o, "source"),
            .schema = jstr(o, "schema"),
            .prop = jstr(o, "prop"),
            .prop_type = jstr(o, "prop_type"),
            .value = jstr(o, "value"),
            .original_value = jstr(o, "original_value"),
            .lang = jstr(o, "lang"),
            .external = json_is_true(json_object_get(o, "external")),
            .first_seen = jts(o, "first_seen"),
            .last_seen = jts(o, "last_seen"),
            .fragment = jstr(o, "fragment") ? jstr(o, "fragment") : "",
            .role = jstr(o, "role"),
            .deleted_at = jts(o, "deleted_at"),
        };
        if (lh_journal_writer_add(w, &s, &err) != LH_OK) {
            fprintf(stderr, "lh-journal: %s\n", err.msg);
            rc = 1;
        }
        json_decref(o);
    }
    if (rc == 0 && lh_journal_writer_flush(w, &err) != LH_OK) {
        fprintf(stderr, "lh-journal: %s\n", err.msg);
        rc = 1;
    }
    free(line);
    lh_journal_writer_free(w);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: lh-journal URI DATASET insert|flush|iterate|count|clear|entity\n");
        return 2;
    }
    lh_error err;
    lh_journal *j = NULL;
    if (lh_journal_open(argv[1], argv[2], NULL, &j, &err) != LH_OK) {
        fprintf(stderr, "lh-journal: %s\n", err.msg);
        return 1;
    }
    const char *cmd = argv[3];
    int rc = 0, fail_after = -1;
    lh_status st = LH_OK;
    if (strcmp(cmd, "insert") == 0) {
        rc = insert(j, argc > 4 ? (size_t)atol(argv[4]) : 0);
    } else if (strcmp(cmd, "flush") == 0) {
        if (argc > 5) fail_after = atoi(argv[5]);
        lh_journal_flush_stats stats;
        st = lh_journal_flush(j, argc > 4 ? (size_t)atol(argv[4]) : 0, print_rows, &fail_after,
                              &stats, &err);
        if (st == LH_OK)
            fprintf(stderr, "flushed %lld rows in %lld batches from %d segments\n",
                    (long long)stats.rows, (long long)stats.batches, stats.segments);
        else rc = 3;
    } else if (strcmp(cmd, "iterate") == 0) {
        st = lh_journal_iterate(j, 0, print_rows, &fail_after, &err);
    } else if (strcmp(cmd, "entity") == 0 && argc > 4) {
        st = lh_journal_iterate_entity(j, argv[4], print_rows, &fail_after, &err);
    } else if (strcmp(cmd, "count") == 0) {
        int64_t n = 0;
        if ((st = lh_journal_count(j, &n, &err)) == LH_OK) printf("%lld\n", (long long)n);
    } else if (strcmp(cmd, "clear") == 0) {
        int64_t n = 0;
        if ((st = lh_journal_clear(j, &n, &err)) == LH_OK) printf("%lld\n", (long long)n);
    } else {
        fprintf(stderr, "lh-journal: unknown command %s\n", cmd);
        rc = 2;
    }
    if (st != LH_OK) {
        fprintf(stderr, "lh-journal: %s\n", err.msg);
        if (!rc) rc = 1;
    }
    lh_journal_free(j);
    return rc;
}
