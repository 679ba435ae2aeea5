/* Delta transaction log: create, append, snapshot/time travel, overwrite and
 * compaction commits, conflicts and retries, path escaping, stats, crafted
 * logs, vacuum, concurrent writers. */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <utime.h>

#include "format/delta_internal.h"
#include "lh/core/mem.h"
#include "lh/core/timeutil.h"
#include "lh/format/delta.h"
#include "test.h"

static const lh_delta_field FIELDS[] = {
    {"id", "string", true}, {"ts", "timestamp", true}, {"flag", "boolean", true},
    {"origin", "string", true},
};
static const char *const PARTS[] = {"origin"};

static lh_storage *open_tmp(char **dir)
{
    *dir = lh_test_tmpdir();
    lh_storage *st = NULL;
    lh_error err;
    if (lh_storage_open(*dir, &st, &err) != LH_OK) {
        fprintf(stderr, "open: %s\n", err.msg);
        exit(2);
    }
    return st;
}

static void close_tmp(lh_storage *st, char *dir)
{
    lh_storage_free(st);
    lh_test_rmtree(dir);
    free(dir);
}

static void create_table(lh_storage *st, const char *prefix)
{
    lh_error err;
    lh_delta_kv conf[] = {{"delta.appendOnly", "false"}};
    lh_delta_table_spec spec = {FIELDS, 4, PARTS, 1, conf, 1, NULL, NULL};
    int64_t v = -1;
    CHECK_OK(lh_delta_create(st, prefix, &spec, &v, &err), &err);
    CHECK_INT(v, 0);
}

/* Append one file "origin=<o>/<name>" (data file content is irrelevant here). */
static int64_t append(lh_storage *st, const char *prefix, const lh_delta_snapshot *read,
                      const char *origin, const char *name, lh_status expect)
{
    lh_error err;
    lh_delta_txn *t;
    CHECK_OK(lh_delta_txn_new(st, prefix, read, &t, &err), &err);
    lh_delta_kv pv[] = {{"origin", origin}};
    lh_buf path = LH_BUF_INIT;
    lh_delta_partition_dir(pv, 1, LH_DELTA_ESCAPE_DELTARS, &path);
    lh_buf_printf(&path, "/%s", name);
    lh_delta_add a = {path.data, pv, 1, 100, 1700000000000, true,
                      "{\"numRecords\":1}"};
    CHECK_OK(lh_delta_txn_add(t, &a, &err), &err);
    int64_t v = -1;
    lh_status rc = lh_delta_txn_commit(t, &v, &err);
    if (rc != expect) fprintf(stderr, "append: %s\n", err.msg);
    CHECK_INT(rc, expect);
    lh_delta_txn_free(t);
    lh_buf_free(&path);
    return v;
}

static lh_delta_snapshot *load(lh_storage *st, const char *prefix, int64_t v)
{
    lh_error err;
    lh_delta_snapshot *s = NULL;
    CHECK_OK(lh_delta_snapshot_load(st, prefix, v, &s, &err), &err);
    return s;
}

static void test_create_append_snapshot(void)
{
    char *dir;
    lh_storage *st = open_tmp(&dir);
    lh_error err;
    bool exists = true;
    CHECK_OK(lh_delta_exists(st, "t", &exists, &err), &err);
    CHECK(!exists);
    lh_delta_snapshot *s = NULL;
    CHECK_RC(lh_delta_snapshot_load(st, "t", LH_DELTA_LATEST, &s, &err), LH_ERR_NOT_FOUND);
    create_table(st, "t");
    CHECK_OK(lh_delta_exists(st, "t", &exists, &err), &err);
    CHECK(exists);
    /* creating again loses the race for version 0 */
    lh_delta_table_spec spec = {FIELDS, 4, PARTS, 1, NULL, 0, NULL, NULL};
    CHECK_RC(lh_delta_create(st, "t", &spec, NULL, &err), LH_ERR_EXISTS);

    CHECK_INT(append(st, "t", NULL, "a", "f1.parquet", LH_OK), 1);
    CHECK_INT(append(st, "t", NULL, "hello world/x=%+ü", "f2.parquet", LH_OK), 2);
    CHECK_INT(append(st, "t", NULL, NULL, "f3.parquet", LH_OK), 3);
    int64_t latest = -1;
    CHECK_OK(lh_delta_latest_version(st, "t", &latest, &err), &err);
    CHECK_INT(latest, 3);

    s = load(st, "t", LH_DELTA_LATEST);
    CHECK_INT(lh_delta_snapshot_version(s), 3);
    const lh_delta_metadata *m = lh_delta_snapshot_metadata(s);
    CHECK_INT(m->num_fields, 4);
    CHECK_STR(m->fields[1].name, "ts");
    CHECK_STR(m->fields[1].type, "timestamp");
    CHECK_INT(m->partition_columns.len, 1);
    CHECK_STR(m->partition_columns.items[0], "origin");
    CHECK_STR(lh_delta_snapshot_config(s, "delta.appendOnly", NULL), "false");
    CHECK(strlen(m->id) == 36);
    CHECK(m->created_time > 0);
    CHECK_INT(lh_delta_snapshot_protocol(s)->min_reader_version, 1);
    CHECK_INT(lh_delta_snapshot_protocol(s)->min_writer_version, 2);
    CHECK_INT(lh_delta_snapshot_num_files(s), 3);
    const lh_delta_file *f = lh_delta_snapshot_find(s, "origin=a/f1.parquet");
    CHECK(f != NULL);
    if (f) {
        CHECK_STR(lh_delta_map_get(&f->partition_values, "origin", NULL), "a");
        CHECK_INT(f->size, 100);
        CHECK_INT(f->modification_time, 1700000000000);
        CHECK(f->data_change);
        CHECK_STR(f->stats, "{\"numRecords\":1}");
        CHECK_INT(f->version, 1);
    }
    f = lh_delta_snapshot_find(s, "origin=hello%20world%2Fx%3D%25%2B%C3%BC/f2.parquet");
    CHECK(f != NULL);
    if (f) {
        CHECK_STR(lh_delta_map_get(&f->partition_values, "origin", NULL), "hello world/x=%+ü");
        CHECK_STR(f->raw_path, "origin=hello%2520world%252Fx%253D%2525%252B%25C3%25BC/f2.parquet");
    }
    f = lh_delta_snapshot_find(s, "origin=__HIVE_DEFAULT_PARTITION__/f3.parquet");
    CHECK(f != NULL);
    bool found = false;
    if (f) CHECK(lh_delta_map_get(&f->partition_values, "origin", &found) == NULL && found);
    const char *ci = lh_delta_snapshot_commit_info(s);
    CHECK(ci && strstr(ci, "\"isBlindAppend\":true") && strstr(ci, "ftm-lakehouse-c-"));
    CHECK(lh_delta_snapshot_timestamp(s) > 0);
    lh_delta_snapshot_free(s);

    /* time travel */
    s = load(st, "t", 1);
    CHECK_INT(lh_delta_snapshot_num_files(s), 1);
    lh_delta_snapshot_free(s);
    s = load(st, "t", 0);
    CHECK_INT(lh_delta_snapshot_num_files(s), 0);
    lh_delta_snapshot_free(s);
    CHECK_RC(lh_delta_snapshot_load(st, "t", 9, &s, &err), LH_ERR_NOT_FOUND);

    /* commit 0 is commitInfo, protocol, metaData without a trailing newline */
    lh_buf b = LH_BUF_INIT;
    CHECK_OK(lh_storage_read(st, "t/_delta_log/00000000000000000000.json", &b, &err), &err);
    CHECK(lh_str_startswith(b.data, "{\"commitInfo\":{"));
    CHECK(strstr(b.data, "\"operation\":\"CREATE TABLE\"") != NULL);
    CHECK(strstr(b.data, "\n{\"protocol\":{\"minReaderVersion\":1,\"minWriterVersion\":2}}\n{\"metaData\":") != NULL);
    CHECK(b.data[b.len - 1] == '}');
    lh_buf_free(&b);
    close_tmp(st, dir);
}

/* Overwrite of a partition: remove + add in one commit; compaction with
 * dataChange=false. */
static void test_overwrite_and_compact(void)
{
    char *dir;
    lh_storage *st = open_tmp(&dir);
    lh_error err;
    create_table(st, "");
    append(st, "", NULL, "a", "a1.parquet", LH_OK);
    append(st, "", NULL, "a", "a2.parquet", LH_OK);
    append(st, "", NULL, "b", "b1.parquet", LH_OK);
    lh_delta_snapshot *s = load(st, "", LH_DELTA_LATEST);
    lh_delta_txn *t;
    CHECK_OK(lh_delta_txn_new(st, "", s, &t, &err), &err);
    for (size_t i = 0; i < lh_delta_snapshot_num_files(s); i++) {
        const lh_delta_file *f = lh_delta_snapshot_file(s, i);
        if (strcmp(lh_delta_map_get(&f->partition_values, "origin", NULL), "a") == 0)
            CHECK_OK(lh_delta_txn_remove(t, f, false, 0, &err), &err);
    }
    lh_delta_kv pv[] = {{"origin", "a"}};
    lh_delta_add a = {"origin=a/compacted.parquet", pv, 1, 500, 1700000000001, false, NULL};
    CHECK_OK(lh_delta_txn_add(t, &a, &err), &err);
    lh_delta_kv params[] = {{"targetSize", "104857600"}};
    lh_delta_txn_set_operation(t, "OPTIMIZE", params, 1);
    int64_t v;
    CHECK_OK(lh_delta_txn_commit(t, &v, &err), &err);
    CHECK_INT(v, 4);
    lh_delta_txn_free(t);
    lh_delta_snapshot_free(s);

    s = load(st, "", LH_DELTA_LATEST);
    CHECK_INT(lh_delta_snapshot_num_files(s), 2);
    CHECK(lh_delta_snapshot_find(s, "origin=a/compacted.parquet") != NULL);
    CHECK(!lh_delta_snapshot_find(s, "origin=a/compacted.parquet")->data_change);
    CHECK_INT(lh_delta_snapshot_num_tombstones(s), 2);
    CHECK_STR(lh_delta_snapshot_tombstone(s, 0)->path, "origin=a/a1.parquet");
    CHECK(lh_delta_snapshot_tombstone(s, 0)->deletion_timestamp > 0);
    CHECK_INT(lh_delta_snapshot_tombstone(s, 0)->size, 100);
    const char *ci = lh_delta_snapshot_commit_info(s);
    CHECK(ci && strstr(ci, "\"operation\":\"OPTIMIZE\"") && strstr(ci, "SnapshotIsolation") &&
          strstr(ci, "\"readVersion\":3"));
    lh_delta_snapshot_free(s);

    /* re-adding a removed path resurrects it (tombstone dropped) */
    append(st, "", NULL, "a", "a1.parquet", LH_OK);
    s = load(st, "", LH_DELTA_LATEST);
    CHECK_INT(lh_delta_snapshot_num_files(s), 3);
    CHECK_INT(lh_delta_snapshot_num_tombstones(s), 1);
    lh_delta_snapshot_free(s);
    close_tmp(st, dir);
}

static void test_conflicts(void)
{
    char *dir;
    lh_storage *st = open_tmp(&dir);
    lh_error err;
    create_table(st, "t");
    append(st, "t", NULL, "a", "a1.parquet", LH_OK);
    append(st, "t", NULL, "b", "b1.parquet", LH_OK);
    lh_delta_snapshot *s = load(st, "t", LH_DELTA_LATEST); /* v2 */

    /* two blind appends from the same read version: both land */
    CHECK_INT(append(st, "t", s, "a", "a2.parquet", LH_OK), 3);
    CHECK_INT(append(st, "t", s, "a", "a3.parquet", LH_OK), 4);

    /* overwrite of partition b read at v2: appends into a do not conflict */
    lh_delta_txn *t;
    CHECK_OK(lh_delta_txn_new(st, "t", s, &t, &err), &err);
    CHECK_OK(lh_delta_txn_remove(t, lh_delta_snapshot_find(s, "origin=b/b1.parquet"), true, 0, &err), &err);
    int64_t v;
    CHECK_OK(lh_delta_txn_commit(t, &v, &err), &err);
    CHECK_INT(v, 5);
    lh_delta_txn_free(t);

    /* overwrite of partition a read at v2 conflicts with the appends into a */
    CHECK_OK(lh_delta_txn_new(st, "t", s, &t, &err), &err);
    CHECK_OK(lh_delta_txn_remove(t, lh_delta_snapshot_find(s, "origin=a/a1.parquet"), true, 0, &err), &err);
    CHECK_RC(lh_delta_txn_commit(t, &v, &err), LH_ERR_CONFLICT);
    CHECK(strstr(err.msg, "version 3") != NULL);
    lh_delta_txn_free(t);

    /* compaction of b1 after the overwrite removed it: delete-delete */
    CHECK_OK(lh_delta_txn_new(st, "t", s, &t, &err), &err);
    CHECK_OK(lh_delta_txn_remove(t, lh_delta_snapshot_find(s, "origin=b/b1.parquet"), false, 0, &err), &err);
    lh_delta_kv pv[] = {{"origin", "b"}};
    lh_delta_add a = {"origin=b/c.parquet", pv, 1, 1, 1, false, NULL};
    CHECK_OK(lh_delta_txn_add(t, &a, &err), &err);
    CHECK_RC(lh_delta_txn_commit(t, &v, &err), LH_ERR_CONFLICT);
    CHECK(strstr(err.msg, "version 5") && strstr(err.msg, "also removed"));
    lh_delta_txn_free(t);

    /* compaction of a1 tolerates the concurrent appends into a */
    CHECK_OK(lh_delta_txn_new(st, "t", s, &t, &err), &err);
    CHECK_OK(lh_delta_txn_remove(t, lh_delta_snapshot_find(s, "origin=a/a1.parquet"), false, 0, &err), &err);
    lh_delta_kv pva[] = {{"origin", "a"}};
    lh_delta_add a2 = {"origin=a/c.parquet", pva, 1, 1, 1, false, NULL};
    CHECK_OK(lh_delta_txn_add(t, &a2, &err), &err);
    CHECK_OK(lh_delta_txn_commit(t, &v, &err), &err);
    CHECK_INT(v, 6);
    lh_delta_txn_free(t);

    /* an explicit read of an empty partition c conflicts with an add into c */
    CHECK_OK(lh_delta_txn_new(st, "t", s, &t, &err), &err);
    lh_delta_kv pvc[] = {{"origin", "c"}};
    lh_delta_txn_read_partition(t, pvc, 1);
    append(st, "t", NULL, "c", "c1.parquet", LH_OK);
    lh_delta_add a3 = {"origin=c/c2.parquet", pvc, 1, 1, 1, true, NULL};
    CHECK_OK(lh_delta_txn_add(t, &a3, &err), &err);
    CHECK_RC(lh_delta_txn_commit(t, &v, &err), LH_ERR_CONFLICT);
    lh_delta_txn_free(t);

    /* bad adds */
    CHECK_OK(lh_delta_txn_new(st, "t", s, &t, &err), &err);
    lh_delta_add bad = {"../x.parquet", pv, 1, 1, 1, true, NULL};
    CHECK_RC(lh_delta_txn_add(t, &bad, &err), LH_ERR_INVALID);
    lh_delta_add nopart = {"x.parquet", NULL, 0, 1, 1, true, NULL};
    CHECK_RC(lh_delta_txn_add(t, &nopart, &err), LH_ERR_INVALID);
    lh_delta_add badstats = {"x.parquet", pv, 1, 1, 1, true, "{oops"};
    CHECK_RC(lh_delta_txn_add(t, &badstats, &err), LH_ERR_INVALID);
    lh_delta_txn_free(t);

    lh_delta_snapshot_free(s);
    s = load(st, "t", LH_DELTA_LATEST);
    CHECK_INT(lh_delta_snapshot_version(s), 7);
    lh_delta_snapshot_free(s);
    close_tmp(st, dir);
}

static void test_escaping_and_stats(void)
{
    lh_buf b = LH_BUF_INIT;
    lh_delta_kv pv[] = {{"p", "A/A"}, {"q", "hello world"}, {"r", NULL}, {"s", ""}, {"u", "München"}};
    lh_delta_partition_dir(pv, 5, LH_DELTA_ESCAPE_HIVE, &b);
    CHECK_STR(b.data, "p=A%2FA/q=hello world/r=__HIVE_DEFAULT_PARTITION__/s=__HIVE_DEFAULT_PARTITION__/u=München");
    lh_buf_reset(&b);
    lh_delta_partition_dir(pv, 5, LH_DELTA_ESCAPE_DELTARS, &b);
    CHECK_STR(b.data, "p=A%2FA/q=hello%20world/r=__HIVE_DEFAULT_PARTITION__/s=__HIVE_DEFAULT_PARTITION__/u=M%C3%BCnchen");
    lh_buf_reset(&b);
    lh_delta_kv pv2[] = {{"x", "a=b%c:d'e"}, {"y", "a<b>c|d}+"}};
    lh_delta_partition_dir(pv2, 2, LH_DELTA_ESCAPE_HIVE, &b);
    CHECK_STR(b.data, "x=a%3Db%25c%3Ad%27e/y=a<b>c|d}+");
    lh_buf enc = LH_BUF_INIT;
    lh_delta_path_encode(b.data, &enc);
    CHECK_STR(enc.data, "x=a%253Db%2525c%253Ad%2527e/y=a%3Cb%3Ec%7Cd%7D%2B");
    lh_buf dec = LH_BUF_INIT;
    lh_error err;
    CHECK_OK(lh_delta_path_decode(enc.data, &dec, &err), &err);
    CHECK_STR(dec.data, b.data);
    lh_buf_reset(&dec);
    CHECK_OK(lh_delta_path_decode("a+b%20c", &dec, &err), &err);
    CHECK_STR(dec.data, "a+b c");
    lh_buf_reset(&dec);
    CHECK_RC(lh_delta_path_decode("a%2", &dec, &err), LH_ERR_CORRUPT);
    lh_buf_reset(&dec);
    CHECK_RC(lh_delta_path_decode("a%00b", &dec, &err), LH_ERR_CORRUPT);

    lh_buf_reset(&b);
    lh_delta_col_stats cols[] = {
        {"id", LH_DELTA_STAT_STRING, true, {.s = "a\"b"}, {.s = "zz"}, 0},
        {"ts", LH_DELTA_STAT_TIMESTAMP_US, true, {.i = 1724061401123456}, {.i = 1724061401999999}, 2},
        {"flag", LH_DELTA_STAT_BOOL, true, {.b = false}, {.b = true}, 0},
        {"n", LH_DELTA_STAT_LONG, true, {.i = -5}, {.i = 7}, 1},
        {"empty", LH_DELTA_STAT_STRING, false, {0}, {0}, 10},
    };
    lh_delta_stats_json(10, cols, 5, &b);
    CHECK_STR(b.data, "{\"numRecords\":10,\"minValues\":{\"id\":\"a\\\"b\",\"ts\":\"2024-08-19T09:56:41.123Z\","
                      "\"flag\":false,\"n\":-5},\"maxValues\":{\"id\":\"zz\",\"ts\":\"2024-08-19T09:56:41.999Z\","
                      "\"flag\":true,\"n\":7},\"nullCount\":{\"id\":0,\"ts\":2,\"flag\":0,\"n\":1,\"empty\":10}}");
    /* long strings: cut to 64 bytes like delta-rs */
    char a100[101], c65[70], f4[80];
    memset(a100, 'a', 100);
    a100[100] = 0;
    memset(c65, 'c', 63);
    strcpy(c65 + 63, "\xf4\x8f\xbf\xbfx"); /* U+10FFFF cannot be kept or incremented */
    memset(f4, 0, sizeof f4);
    for (int i = 0; i < 17; i++) strcat(f4, "\xf4\x8f\xbf\xbf"); /* no upper bound possible */
    lh_delta_col_stats lcols[] = {
        {"a", LH_DELTA_STAT_STRING, true, {.s = a100}, {.s = c65}, 0},
        {"b", LH_DELTA_STAT_STRING, true, {.s = "x"}, {.s = f4}, 0},
    };
    lh_buf_reset(&b);
    lh_delta_stats_json(1, lcols, 2, &b);
    char want[512];
    snprintf(want, sizeof want, "{\"numRecords\":1,\"minValues\":{\"a\":\"%.64s\",\"b\":\"x\"},"
             "\"maxValues\":{\"a\":\"%.62sd\"},\"nullCount\":{\"a\":0,\"b\":0}}", a100, c65);
    CHECK_STR(b.data, want);
    lh_buf_free(&b);
    lh_buf_free(&enc);
    lh_buf_free(&dec);
}

static void write_commit(lh_storage *st, const char *prefix, int64_t v, const char *body)
{
    lh_error err;
    char *key = lh_delta_commit_key(prefix, v);
    CHECK_OK(lh_storage_write(st, key, body, strlen(body), &err), &err);
    free(key);
}

#define PROTO "{\"protocol\":{\"minReaderVersion\":1,\"minWriterVersion\":2}}\n"
#define META                                                                                  \
    "{\"metaData\":{\"id\":\"x\",\"format\":{\"provider\":\"parquet\",\"options\":{}},"       \
    "\"schemaString\":\"{\\\"type\\\":\\\"struct\\\",\\\"fields\\\":[{\\\"name\\\":\\\"a\\\","   \
    "\\\"type\\\":\\\"string\\\",\\\"nullable\\\":true,\\\"metadata\\\":{}}]}\","                \
    "\"partitionColumns\":[],\"configuration\":{}}}\n"

static void test_crafted_logs(void)
{
    char *dir;
    lh_storage *st = open_tmp(&dir);
    lh_error err;
    lh_delta_snapshot *s = NULL;
    /* Spark style: trailing newline, blank lines, unknown actions and fields */
    write_commit(st, "t", 0, PROTO "\n" META "{\"txn\":{\"appId\":\"x\",\"version\":1}}\n"
                 "{\"add\":{\"path\":\"f%201.parquet\",\"partitionValues\":{},\"size\":1,"
                 "\"modificationTime\":2,\"dataChange\":true,\"tags\":null,\"novel\":[1]}}\n"
                 "{\"futureAction\":{}}\n");
    s = load(st, "t", LH_DELTA_LATEST);
    if (s) {
        CHECK_INT(lh_delta_snapshot_num_files(s), 1);
        CHECK_STR(lh_delta_snapshot_file(s, 0)->path, "f 1.parquet");
        CHECK(lh_delta_snapshot_commit_info(s) == NULL);
        CHECK_INT(lh_delta_snapshot_num_app_txns(s), 1);
        /* a domainMetadata action would be lost in a checkpoint of ours */
        s->untracked = true;
        CHECK_RC(lh_delta_checkpoint_write(st, s, &err), LH_ERR_UNSUPPORTED);
        lh_delta_snapshot_free(s);
        s = NULL;
    }
    const char *bad[] = {
        "{\"add\":{\"path\":\"/etc/passwd\",\"partitionValues\":{},\"size\":1,\"modificationTime\":1,\"dataChange\":true}}",
        "{\"add\":{\"path\":\"../x.parquet\",\"partitionValues\":{},\"size\":1,\"modificationTime\":1,\"dataChange\":true}}",
        "{\"add\":{\"path\":\"a/%2E%2E/%2E%2E/x\",\"partitionValues\":{},\"size\":1,\"modificationTime\":1,\"dataChange\":true}}",
        "{\"add\":{\"path\":\"s3://bucket/x.parquet\",\"partitionValues\":{},\"size\":1,\"modificationTime\":1,\"dataChange\":true}}",
        "{\"add\":{\"path\":\"file:///etc/x.parquet\",\"partitionValues\":{},\"size\":1,\"modificationTime\":1,\"dataChange\":true}}",
        "{\"add\":{\"path\":\"_delta_log/00000000000000000000.json\",\"partitionValues\":{},\"size\":1,\"modificationTime\":1,\"dataChange\":true}}",
        "{\"add\":{\"partitionValues\":{},\"size\":1}}",
        "{\"add\":{\"path\":\"x\",\"partitionValues\":{},\"size\":\"big\",\"modificationTime\":1,\"dataChange\":true}}",
        "{\"add\":",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char body[1024];
        snprintf(body, sizeof body, "{\"commitInfo\":{}}\n%s", bad[i]);
        write_commit(st, "t", 1, body);
        CHECK_RC(lh_delta_snapshot_load(st, "t", LH_DELTA_LATEST, &s, &err), LH_ERR_CORRUPT);
        CHECK(strstr(err.msg, "00000000000000000001.json line 2") != NULL);
        if (!strstr(err.msg, "line 2")) fprintf(stderr, "  case %zu: %s\n", i, err.msg);
        CHECK(s == NULL);
    }
    /* a colon after a non-scheme first segment is just a character */
    write_commit(st, "t", 1, "{\"add\":{\"path\":\"x=a:b/f.parquet\",\"partitionValues\":{},\"size\":1,"
                 "\"modificationTime\":1,\"dataChange\":true}}");
    s = load(st, "t", LH_DELTA_LATEST);
    if (s) CHECK(lh_delta_snapshot_find(s, "x=a:b/f.parquet") != NULL);
    lh_delta_snapshot_free(s);
    s = NULL;
    /* an absolute path inside the table is accepted and made relative */
    char *abs = lh_storage_local_path(st, "t/sub/f.parquet");
    char body[2048];
    snprintf(body, sizeof body, "{\"add\":{\"path\":\"file://%s\",\"partitionValues\":{},\"size\":1,"
             "\"modificationTime\":1,\"dataChange\":true}}\n"
             "{\"remove\":{\"path\":\"f%%201.parquet\",\"dataChange\":true}}", abs);
    free(abs);
    write_commit(st, "t", 1, body);
    s = load(st, "t", LH_DELTA_LATEST);
    if (s) {
        CHECK_INT(lh_delta_snapshot_num_files(s), 1);
        CHECK_STR(lh_delta_snapshot_file(s, 0)->path, "sub/f.parquet");
        CHECK_INT(lh_delta_snapshot_tombstone(s, 0)->size, -1);
        lh_delta_snapshot_free(s);
        s = NULL;
    }
    /* writer protocol and appendOnly are honoured */
    write_commit(st, "ao", 0, PROTO "{\"metaData\":{\"id\":\"x\",\"format\":{\"provider\":\"parquet\",\"options\":{}},"
                 "\"schemaString\":\"{\\\"type\\\":\\\"struct\\\",\\\"fields\\\":[]}\","
                 "\"partitionColumns\":[],\"configuration\":{\"delta.appendOnly\":\"true\"}}}\n"
                 "{\"add\":{\"path\":\"f.parquet\",\"partitionValues\":{},\"size\":1,\"modificationTime\":1,\"dataChange\":true}}");
    s = load(st, "ao", LH_DELTA_LATEST);
    if (s) {
        lh_delta_txn *t;
        CHECK_OK(lh_delta_txn_new(st, "ao", s, &t, &err), &err);
        CHECK_RC(lh_delta_txn_remove(t, lh_delta_snapshot_file(s, 0), true, 0, &err), LH_ERR_INVALID);
        CHECK_OK(lh_delta_txn_remove(t, lh_delta_snapshot_file(s, 0), false, 0, &err), &err);
        lh_delta_txn_free(t);
        lh_delta_snapshot_free(s);
        s = NULL;
    }
    write_commit(st, "w7", 0, "{\"protocol\":{\"minReaderVersion\":1,\"minWriterVersion\":7,\"writerFeatures\":[\"x\"]}}\n" META);
    s = load(st, "w7", LH_DELTA_LATEST);
    if (s) {
        lh_delta_txn *t = NULL;
        CHECK_RC(lh_delta_txn_new(st, "w7", s, &t, &err), LH_ERR_UNSUPPORTED);
        CHECK(t == NULL);
        lh_delta_snapshot_free(s);
        s = NULL;
    }
    /* versions must be contiguous */
    write_commit(st, "t", 3, "{\"commitInfo\":{}}");
    CHECK_RC(lh_delta_snapshot_load(st, "t", LH_DELTA_LATEST, &s, &err), LH_ERR_CORRUPT);
    CHECK(strstr(err.msg, "00000000000000000002.json") != NULL);
    /* the log's start cleaned up behind a V2 checkpoint named by a UUID:
     * the refusal names the feature, not a missing checkpoint */
    write_commit(st, "v2", 2, "{\"commitInfo\":{}}");
    CHECK_OK(lh_storage_write(st, "v2/_delta_log/00000000000000000001.checkpoint."
                              "3a0d65cd-4056-49b8-937b-95f9e3ee90e5.parquet", "x", 1, &err), &err);
    CHECK_RC(lh_delta_snapshot_load(st, "v2", LH_DELTA_LATEST, &s, &err), LH_ERR_UNSUPPORTED);
    CHECK(strstr(err.msg, "v2Checkpoint") && strstr(err.msg, "version 1 "));
    /* unsupported reader protocol */
    write_commit(st, "u", 0, "{\"protocol\":{\"minReaderVersion\":3,\"minWriterVersion\":7,"
                 "\"readerFeatures\":[\"deletionVectors\"],\"writerFeatures\":[]}}\n" META);
    CHECK_RC(lh_delta_snapshot_load(st, "u", LH_DELTA_LATEST, &s, &err), LH_ERR_UNSUPPORTED);
    CHECK(strstr(err.msg, "deletionVectors") != NULL);
    /* no metaData */
    write_commit(st, "w", 0, PROTO);
    CHECK_RC(lh_delta_snapshot_load(st, "w", LH_DELTA_LATEST, &s, &err), LH_ERR_CORRUPT);
    close_tmp(st, dir);
}

static void touch_old(lh_storage *st, const char *key, int64_t age_s)
{
    lh_error err;
    CHECK_OK(lh_storage_write(st, key, "x", 1, &err), &err);
    char *p = lh_storage_local_path(st, key);
    struct utimbuf tb;
    tb.actime = tb.modtime = time(NULL) - age_s;
    utime(p, &tb);
    free(p);
}

static void test_vacuum(void)
{
    char *dir;
    lh_storage *st = open_tmp(&dir);
    lh_error err;
    create_table(st, "t");
    append(st, "t", NULL, "a", "live.parquet", LH_OK);
    append(st, "t", NULL, "a", "gone.parquet", LH_OK);
    touch_old(st, "t/origin=a/live.parquet", 3600);
    touch_old(st, "t/origin=a/gone.parquet", 3600);
    touch_old(st, "t/origin=a/orphan.parquet", 3600);
    touch_old(st, "t/origin=a/fresh.parquet", 0);
    touch_old(st, "t/_hidden/x.parquet", 3600);
    /* Hadoop checksums: of a live file, of a removed one, of none */
    touch_old(st, "t/origin=a/.live.parquet.crc", 3600);
    touch_old(st, "t/origin=a/.gone.parquet.crc", 3600);
    touch_old(st, "t/origin=a/.x.crc", 3600);
    touch_old(st, "t/origin=a/.crc", 3600);
    touch_old(st, "t/_hidden/.x.parquet.crc", 3600);
    touch_old(st, "t/_delta_log/zzz", 3600);
    touch_old(st, "t/_delta_log/.00000000000000000000.json.crc", 3600);
    lh_delta_snapshot *s = load(st, "t", LH_DELTA_LATEST);
    lh_delta_txn *t;
    CHECK_OK(lh_delta_txn_new(st, "t", s, &t, &err), &err);
    CHECK_OK(lh_delta_txn_remove(t, lh_delta_snapshot_find(s, "origin=a/gone.parquet"), true, 0, &err), &err);
    int64_t v;
    CHECK_OK(lh_delta_txn_commit(t, &v, &err), &err);
    lh_delta_txn_free(t);
    lh_delta_snapshot_free(s);

    int64_t now = lh_now_us() / 1000;
    lh_strlist out;
    lh_strlist_init(&out);
    size_t n = 99;
    /* the tombstone of gone.parquet is younger than a 1 minute retention */
    CHECK_OK(lh_delta_vacuum(st, "t", 60000, now, true, &out, &n, &err), &err);
    CHECK_INT(n, 2);
    CHECK(lh_strlist_contains(&out, "origin=a/orphan.parquet"));
    CHECK(lh_strlist_contains(&out, "origin=a/.x.crc"));
    lh_strlist_free(&out);
    CHECK_OK(lh_delta_vacuum(st, "t", 0, now + 1, false, &out, &n, &err), &err);
    CHECK_INT(n, 5);
    CHECK(lh_strlist_contains(&out, "origin=a/gone.parquet"));
    CHECK(lh_strlist_contains(&out, "origin=a/.gone.parquet.crc"));
    CHECK(lh_strlist_contains(&out, "origin=a/orphan.parquet"));
    CHECK(lh_strlist_contains(&out, "origin=a/fresh.parquet"));
    lh_strlist_free(&out);
    bool ex;
    CHECK_OK(lh_storage_exists(st, "t/origin=a/live.parquet", &ex, &err), &err);
    CHECK(ex);
    CHECK_OK(lh_storage_exists(st, "t/origin=a/gone.parquet", &ex, &err), &err);
    CHECK(!ex);
    CHECK_OK(lh_storage_exists(st, "t/_hidden/x.parquet", &ex, &err), &err);
    CHECK(ex);
    CHECK_OK(lh_storage_exists(st, "t/origin=a/.x.crc", &ex, &err), &err);
    CHECK(!ex);
    const char *kept[] = {"t/origin=a/.live.parquet.crc", "t/origin=a/.crc", "t/_hidden/.x.parquet.crc",
                          "t/_delta_log/.00000000000000000000.json.crc"};
    for (size_t i = 0; i < sizeof kept / sizeof kept[0]; i++) {
        CHECK_OK(lh_storage_exists(st, kept[i], &ex, &err), &err);
        CHECK(ex);
    }
    CHECK_OK(lh_storage_exists(st, "t/_delta_log/zzz", &ex, &err), &err);
    CHECK(ex);
    /* a table this writer cannot write is not vacuumed either: its
     * features may reference files the listing cannot see as referenced */
    write_commit(st, "w7", 0, "{\"protocol\":{\"minReaderVersion\":3,\"minWriterVersion\":7,"
                 "\"readerFeatures\":[\"vacuumProtocolCheck\"],"
                 "\"writerFeatures\":[\"vacuumProtocolCheck\",\"inCommitTimestamp\"]}}\n" META);
    touch_old(st, "w7/orphan.parquet", 3600);
    CHECK_RC(lh_delta_vacuum(st, "w7", 0, now, false, NULL, &n, &err), LH_ERR_UNSUPPORTED);
    CHECK(strstr(err.msg, "vacuum") && strstr(err.msg, "inCommitTimestamp"));
    CHECK_INT(n, 0);
    CHECK_OK(lh_storage_exists(st, "w7/orphan.parquet", &ex, &err), &err);
    CHECK(ex);
    close_tmp(st, dir);
}

/* Several processes append concurrently: nothing is lost, versions are
 * contiguous. */
static void test_concurrent_appends(void)
{
    char *dir;
    lh_storage *st = open_tmp(&dir);
    create_table(st, "t");
    enum { PROCS = 4, EACH = 15 };
    pid_t pids[PROCS];
    for (int p = 0; p < PROCS; p++) {
        pids[p] = fork();
        if (pids[p] == 0) {
            lh_storage *cst;
            lh_error err;
            if (lh_storage_open(dir, &cst, &err) != LH_OK) _exit(3);
            int bad = 0;
            for (int i = 0; i < EACH; i++) {
                char name[64];
                snprintf(name, sizeof name, "p%d-%02d.parquet", p, i);
                lh_delta_snapshot *s = NULL;
                if (i % 2 && lh_delta_snapshot_load(cst, "t", LH_DELTA_LATEST, &s, &err) != LH_OK) bad++;
                lh_delta_txn *t;
                lh_delta_txn_new(cst, "t", s, &t, &err);
                lh_delta_kv pv[] = {{"origin", "x"}};
                char path[128];
                snprintf(path, sizeof path, "origin=x/%s", name);
                lh_delta_add a = {path, pv, 1, 1, 1, true, NULL};
                int64_t v;
                if (lh_delta_txn_add(t, &a, &err) != LH_OK || lh_delta_txn_commit(t, &v, &err) != LH_OK) {
                    fprintf(stderr, "child %d: %s\n", p, err.msg);
                    bad++;
                }
                lh_delta_txn_free(t);
                lh_delta_snapshot_free(s);
            }
            lh_storage_free(cst);
            _exit(bad ? 1 : 0);
        }
    }
    for (int p = 0; p < PROCS; p++) {
        int status = 0;
        waitpid(pids[p], &status, 0);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    lh_delta_snapshot *s = load(st, "t", LH_DELTA_LATEST);
    if (s) {
        CHECK_INT(lh_delta_snapshot_version(s), PROCS * EACH);
        CHECK_INT(lh_delta_snapshot_num_files(s), PROCS * EACH);
        lh_delta_snapshot_free(s);
    }
    close_tmp(st, dir);
}

/* Checkpoints written every delta.checkpointInterval commits replay like
 * the JSON commits they summarize, even once those commits are gone. */
static void test_checkpoint_roundtrip(void)
{
    char *dir;
    lh_storage *st = open_tmp(&dir);
    lh_error err;
    lh_delta_kv conf[] = {{"delta.checkpointInterval", "4"}};
    lh_delta_table_spec spec = {FIELDS, 4, PARTS, 1, conf, 1, "name", NULL};
    CHECK_OK(lh_delta_create(st, "t", &spec, NULL, &err), &err);
    const char *origins[] = {"a", NULL, "x/y z", "a", "b"};
    for (int i = 0; i < 5; i++) {
        lh_delta_snapshot *s = load(st, "t", LH_DELTA_LATEST);
        char name[32];
        snprintf(name, sizeof name, "f%d.parquet", i);
        append(st, "t", s, origins[i], name, LH_OK);
        lh_delta_snapshot_free(s);
    }
    /* v6: remove one file (a tombstone with partition values) */
    lh_delta_snapshot *s = load(st, "t", LH_DELTA_LATEST);
    lh_delta_txn *t;
    CHECK_OK(lh_delta_txn_new(st, "t", s, &t, &err), &err);
    CHECK_OK(lh_delta_txn_remove(t, lh_delta_snapshot_find(s, "origin=a/f0.parquet"), true, 0, &err), &err);
    int64_t v;
    CHECK_OK(lh_delta_txn_commit(t, &v, &err), &err);
    CHECK_INT(v, 6);
    lh_delta_txn_free(t);
    lh_delta_snapshot_free(s);
    bool ex = false;
    CHECK_OK(lh_storage_exists(st, "t/_delta_log/00000000000000000003.checkpoint.parquet", &ex, &err), &err);
    CHECK(ex);
    lh_delta_snapshot *want = load(st, "t", LH_DELTA_LATEST);
    CHECK_OK(lh_delta_checkpoint_write(st, want, &err), &err);
    lh_buf hint = LH_BUF_INIT;
    CHECK_OK(lh_storage_read(st, "t/_delta_log/_last_checkpoint", &hint, &err), &err);
    CHECK(hint.data && lh_str_startswith(hint.data, "{\"version\":6,\"size\":7,"));
    lh_buf_free(&hint);
    for (int i = 0; i <= 6; i++) {
        char *key = lh_delta_commit_key("t", i);
        CHECK_OK(lh_storage_delete(st, key, &err), &err);
        free(key);
    }
    s = load(st, "t", LH_DELTA_LATEST);
    if (s && want) {
        CHECK_INT(lh_delta_snapshot_version(s), 6);
        CHECK_INT(lh_delta_snapshot_num_files(s), lh_delta_snapshot_num_files(want));
        for (size_t i = 0; i < lh_delta_snapshot_num_files(want); i++) {
            const lh_delta_file *a = lh_delta_snapshot_file(want, i), *b = lh_delta_snapshot_file(s, i);
            CHECK_STR(b->path, a->path);
            CHECK_STR(b->raw_path, a->raw_path);
            CHECK_INT(b->size, a->size);
            CHECK_INT(b->modification_time, a->modification_time);
            CHECK_STR(b->stats, a->stats);
            CHECK_INT(b->partition_values.len, 1);
            const char *pa = lh_delta_map_get(&a->partition_values, "origin", NULL);
            const char *pb = lh_delta_map_get(&b->partition_values, "origin", NULL);
            CHECK(!pa == !pb && (!pa || strcmp(pa, pb) == 0));
        }
        CHECK_INT(lh_delta_snapshot_num_tombstones(s), 1);
        CHECK_STR(lh_delta_snapshot_tombstone(s, 0)->path, "origin=a/f0.parquet");
        CHECK_INT(lh_delta_snapshot_tombstone(s, 0)->size, 100);
        const lh_delta_metadata *m = lh_delta_snapshot_metadata(s), *mw = lh_delta_snapshot_metadata(want);
        CHECK_STR(m->id, mw->id);
        CHECK_STR(m->name, "name");
        CHECK(m->description == NULL);
        CHECK_STR(m->schema_string, mw->schema_string);
        CHECK_INT(m->num_fields, 4);
        CHECK_STR(m->partition_columns.items[0], "origin");
        CHECK_STR(lh_delta_snapshot_config(s, "delta.checkpointInterval", NULL), "4");
        CHECK_INT(m->created_time, mw->created_time);
        CHECK_INT(lh_delta_snapshot_protocol(s)->min_writer_version, 2);
    }
    lh_delta_snapshot_free(s);
    lh_delta_snapshot_free(want);
    /* the table keeps committing on top of the checkpoint */
    CHECK_INT(append(st, "t", NULL, "c", "g.parquet", LH_OK), 7);
    s = load(st, "t", LH_DELTA_LATEST);
    CHECK_INT(lh_delta_snapshot_num_files(s), 5);
    lh_delta_snapshot_free(s);
    /* time travel before the checkpoint is gone with the commits */
    CHECK_RC(lh_delta_snapshot_load(st, "t", 2, &s, &err), LH_ERR_NOT_FOUND);
    CHECK(strstr(err.msg, "no longer available") != NULL);
    close_tmp(st, dir);
}

static const lh_delta_app_txn *app_txn(const lh_delta_snapshot *s, const char *app)
{
    for (size_t i = 0; i < lh_delta_snapshot_num_app_txns(s); i++)
        if (strcmp(lh_delta_snapshot_app_txn(s, i)->app_id, app) == 0)
            return lh_delta_snapshot_app_txn(s, i);
    return NULL;
}

/* Other writers' txn identifiers (the newest per app) and add tags survive
 * a checkpoint of ours; expired identifiers go as the retention says. */
static void test_checkpoint_keeps_txns_and_tags(void)
{
    char *dir;
    lh_storage *st = open_tmp(&dir);
    lh_error err;
    write_commit(st, "t", 0, PROTO META
                 "{\"txn\":{\"appId\":\"stream\",\"version\":1,\"lastUpdated\":5}}\n"
                 "{\"add\":{\"path\":\"f.parquet\",\"partitionValues\":{},\"size\":1,"
                 "\"modificationTime\":2,\"dataChange\":true,"
                 "\"tags\":{\"INSERTION_TIME\":\"1700000000000000\",\"empty\":\"\"}}}\n"
                 "{\"add\":{\"path\":\"g.parquet\",\"partitionValues\":{},\"size\":1,"
                 "\"modificationTime\":2,\"dataChange\":true}}\n");
    char now[200];
    snprintf(now, sizeof now,
             "{\"txn\":{\"appId\":\"stream\",\"version\":3}}\n"
             "{\"txn\":{\"appId\":\"batch\",\"version\":7,\"lastUpdated\":%lld}}\n",
             (long long)(time(NULL) * 1000LL));
    write_commit(st, "t", 1, now);
    lh_delta_snapshot *s = load(st, "t", LH_DELTA_LATEST);
    if (!s) goto out;
    CHECK_INT(lh_delta_snapshot_num_app_txns(s), 2);
    CHECK_INT(app_txn(s, "stream")->version, 3);
    CHECK_INT(app_txn(s, "stream")->last_updated, -1);
    CHECK_INT(app_txn(s, "batch")->version, 7);
    CHECK_OK(lh_delta_checkpoint_write(st, s, &err), &err);
    lh_delta_snapshot_free(s);
    for (int i = 0; i <= 1; i++) {
        char *key = lh_delta_commit_key("t", i);
        CHECK_OK(lh_storage_delete(st, key, &err), &err);
        free(key);
    }
    s = load(st, "t", LH_DELTA_LATEST);
    if (!s) goto out;
    CHECK_INT(lh_delta_snapshot_num_app_txns(s), 2);
    CHECK_INT(app_txn(s, "stream")->version, 3);
    CHECK_INT(app_txn(s, "stream")->last_updated, -1);
    CHECK(app_txn(s, "batch")->last_updated > 5);
    const lh_delta_file *f = lh_delta_snapshot_find(s, "f.parquet");
    CHECK(f && f->tags.len == 2);
    if (f) CHECK_STR(lh_delta_map_get(&f->tags, "INSERTION_TIME", NULL), "1700000000000000");
    if (f) CHECK_STR(lh_delta_map_get(&f->tags, "empty", NULL), "");
    CHECK_INT(lh_delta_snapshot_find(s, "g.parquet")->tags.len, 0);
    lh_delta_snapshot_free(s);
    /* with a retention of a day, an identifier last updated in 1970 expires */
    write_commit(st, "t", 2,
                 "{\"txn\":{\"appId\":\"stream\",\"version\":4,\"lastUpdated\":5}}\n"
                 "{\"metaData\":{\"id\":\"x\",\"format\":{\"provider\":\"parquet\",\"options\":{}},"
                 "\"schemaString\":\"{\\\"type\\\":\\\"struct\\\",\\\"fields\\\":[]}\","
                 "\"partitionColumns\":[],\"configuration\":"
                 "{\"delta.setTransactionRetentionDuration\":\"interval 1 days\"}}}\n");
    s = load(st, "t", LH_DELTA_LATEST);
    if (!s) goto out;
    CHECK_INT(app_txn(s, "stream")->version, 4);
    CHECK_OK(lh_delta_checkpoint_write(st, s, &err), &err);
    lh_delta_snapshot_free(s);
    char *key = lh_delta_commit_key("t", 2);
    CHECK_OK(lh_storage_delete(st, key, &err), &err);
    free(key);
    s = load(st, "t", LH_DELTA_LATEST);
    if (s) {
        CHECK_INT(lh_delta_snapshot_version(s), 2);
        CHECK(app_txn(s, "stream") == NULL);
        CHECK(app_txn(s, "batch") != NULL);
    }
    lh_delta_snapshot_free(s);
out:
    close_tmp(st, dir);
}

static void age_log(lh_storage *st, const char *prefix, int64_t age_s)
{
    lh_error err;
    lh_strlist keys;
    lh_strlist_init(&keys);
    char *dir = lh_delta_key(prefix, "_delta_log");
    CHECK_OK(lh_storage_list(st, dir, 0, &keys, &err), &err);
    for (size_t i = 0; i < keys.len; i++) {
        char *p = lh_storage_local_path(st, keys.items[i]);
        struct utimbuf tb;
        tb.actime = tb.modtime = time(NULL) - age_s;
        utime(p, &tb);
        free(p);
    }
    lh_strlist_free(&keys);
    free(dir);
}

static void test_log_cleanup(void)
{
    char *dir;
    lh_storage *st = open_tmp(&dir);
    lh_error err;
    lh_delta_kv conf[] = {{"delta.checkpointInterval", "4"}};
    lh_delta_table_spec spec = {FIELDS, 4, PARTS, 1, conf, 1, NULL, NULL};
    CHECK_OK(lh_delta_create(st, "t", &spec, NULL, &err), &err);
    for (int i = 0; i < 9; i++) {
        lh_delta_snapshot *s = load(st, "t", LH_DELTA_LATEST);
        char name[32];
        snprintf(name, sizeof name, "f%d.parquet", i);
        append(st, "t", s, "a", name, LH_OK);
        lh_delta_snapshot_free(s);
    }
    /* checkpoints at 3 and 7; recent files are never cleaned */
    size_t n = 99;
    CHECK_OK(lh_delta_cleanup_log(st, "t", 3600000, lh_now_us() / 1000, &n, &err), &err);
    CHECK_INT(n, 0);
    /* expired commits go only below the newest checkpoint that is expired
     * too (as Spark and delta-rs): with 7 recent, that is 3 */
    age_log(st, "t", 7200);
    lh_buf good = LH_BUF_INIT;
    const char *ck = "t/_delta_log/00000000000000000007.checkpoint.parquet";
    CHECK_OK(lh_storage_read(st, ck, &good, &err), &err);
    CHECK_OK(lh_storage_write(st, ck, good.data, good.len, &err), &err); /* mtime now */
    CHECK_OK(lh_delta_cleanup_log(st, "t", 3600000, lh_now_us() / 1000, &n, &err), &err);
    CHECK_INT(n, 3); /* commits 0-2 */
    for (int64_t v = 3; v <= 8; v++) { /* every younger version reconstructible */
        lh_delta_snapshot *sv = load(st, "t", v);
        if (sv) CHECK_INT(lh_delta_snapshot_num_files(sv), v);
        lh_delta_snapshot_free(sv);
    }
    /* a broken newest checkpoint stops the cleanup */
    CHECK_OK(lh_storage_write(st, ck, "PAR1garbagePAR1", 15, &err), &err);
    age_log(st, "t", 7200);
    CHECK(lh_delta_cleanup_log(st, "t", 3600000, lh_now_us() / 1000, &n, &err) != LH_OK);
    CHECK(strstr(err.msg, "00000000000000000007") != NULL);
    CHECK_OK(lh_storage_write(st, ck, good.data, good.len, &err), &err);
    lh_buf_free(&good);
    /* Hadoop checksums (Spark) of log files: the covered ones go too */
    const char *sums[] = {"t/_delta_log/.00000000000000000002.json.crc",
                          "t/_delta_log/.00000000000000000003.checkpoint.parquet.crc",
                          "t/_delta_log/.00000000000000000008.json.crc", "t/_delta_log/._last_checkpoint.crc"};
    for (size_t i = 0; i < 4; i++) CHECK_OK(lh_storage_write(st, sums[i], "c", 1, &err), &err);
    age_log(st, "t", 7200);
    CHECK_OK(lh_delta_cleanup_log(st, "t", 3600000, lh_now_us() / 1000, &n, &err), &err);
    CHECK_INT(n, 7); /* commits 3-6, checkpoint 3 and the checksums of 2 and 3 */
    for (size_t i = 0; i < 4; i++) {
        bool ex;
        CHECK_OK(lh_storage_exists(st, sums[i], &ex, &err), &err);
        CHECK(ex == (i >= 2));
    }
    lh_delta_snapshot *s = load(st, "t", LH_DELTA_LATEST);
    if (s) {
        CHECK_INT(lh_delta_snapshot_version(s), 9);
        CHECK_INT(lh_delta_snapshot_num_files(s), 9);
    }
    lh_delta_snapshot_free(s);
    s = load(st, "t", 7);
    lh_delta_snapshot_free(s);
    CHECK_RC(lh_delta_snapshot_load(st, "t", 6, &s, &err), LH_ERR_NOT_FOUND);
    bool ex = false;
    CHECK_OK(lh_storage_exists(st, "t/_delta_log/00000000000000000007.json", &ex, &err), &err);
    CHECK(ex);
    CHECK_OK(lh_storage_exists(st, "t/_delta_log/_last_checkpoint", &ex, &err), &err);
    CHECK(ex);
    close_tmp(st, dir);
}

/* The cleanup after an automatic checkpoint (every checkpointInterval-th
 * commit) deletes the expired log, unless delta.enableExpiredLogCleanup is
 * "false"; lh_delta_checkpoint_and_cleanup, the explicit one, does anyway. */
static void test_auto_cleanup_flag(void)
{
    for (int flag = 0; flag < 2; flag++) {
        char *dir;
        lh_storage *st = open_tmp(&dir);
        lh_error err;
        lh_delta_kv conf[] = {{"delta.checkpointInterval", "2"},
                              {"delta.logRetentionDuration", "interval 1 hours"},
                              {"delta.enableExpiredLogCleanup", flag ? "false" : "true"}};
        lh_delta_table_spec spec = {FIELDS, 4, PARTS, 1, conf, 3, NULL, NULL};
        CHECK_OK(lh_delta_create(st, "t", &spec, NULL, &err), &err);
        char name[32];
        for (int i = 0; i < 5; i++) { /* versions 1-5, checkpoints at 1, 3, 5 */
            if (i == 3) age_log(st, "t", 7200); /* 0-3 expired, checkpoint 3 too */
            lh_delta_snapshot *s = load(st, "t", LH_DELTA_LATEST);
            snprintf(name, sizeof name, "f%d.parquet", i);
            append(st, "t", s, "a", name, LH_OK);
            lh_delta_snapshot_free(s);
        }
        bool first = false;
        const char *v0 = "t/_delta_log/00000000000000000000.json";
        CHECK_OK(lh_storage_exists(st, v0, &first, &err), &err);
        CHECK(first == (flag == 1)); /* kept only when the table turned cleanup off */
        if (flag) {
            lh_delta_snapshot *s = load(st, "t", LH_DELTA_LATEST);
            size_t n = 99;
            CHECK_OK(lh_delta_checkpoint_and_cleanup(st, s, &n, &err), &err);
            CHECK_INT(n, 4); /* commits 0-2 and checkpoint 1 */
            lh_delta_snapshot_free(s);
        }
        close_tmp(st, dir);
    }
}

/* ADD COLUMN / SET TBLPROPERTIES: the schema gains the field, the
 * configuration the keys (others kept), identity and partitioning stay; a
 * column the table has is refused; a concurrent add is a conflict. */
static void test_metadata_update(void)
{
    char *dir;
    lh_storage *st = open_tmp(&dir);
    lh_error err;
    create_table(st, "t");
    lh_delta_snapshot *s0 = load(st, "t", LH_DELTA_LATEST);
    const lh_delta_metadata *m0 = lh_delta_snapshot_metadata(s0);
    lh_buf schema = LH_BUF_INIT;
    const lh_delta_field role = {"role", "string", true};
    CHECK_RC(lh_delta_schema_add_fields(m0->schema_string, &FIELDS[0], 1, &schema, &err),
             LH_ERR_INVALID);
    CHECK(strstr(err.msg, "\"id\"") != NULL);
    lh_buf_reset(&schema);
    CHECK_OK(lh_delta_schema_add_fields(m0->schema_string, &role, 1, &schema, &err), &err);
    lh_delta_txn *t;
    CHECK_OK(lh_delta_txn_new(st, "t", s0, &t, &err), &err);
    lh_delta_kv set[] = {{"delta.logRetentionDuration", "interval 1 days"},
                         {"delta.appendOnly", "true"}};
    CHECK_OK(lh_delta_txn_update_metadata(t, schema.data, set, 2, &err), &err);
    lh_delta_txn_set_operation(t, "ADD COLUMN", NULL, 0);
    int64_t v = -1;
    CHECK_OK(lh_delta_txn_commit(t, &v, &err), &err);
    CHECK_INT(v, 1);
    lh_delta_txn_free(t);
    lh_delta_snapshot *s1 = load(st, "t", LH_DELTA_LATEST);
    if (s1) {
        const lh_delta_metadata *m1 = lh_delta_snapshot_metadata(s1);
        CHECK_INT(m1->num_fields, 5);
        CHECK(strcmp(m1->fields[4].name, "role") == 0 && m1->fields[4].nullable);
        CHECK(strcmp(m1->id, m0->id) == 0);
        CHECK(m1->created_time == m0->created_time);
        CHECK_INT(m1->partition_columns.len, 1);
        CHECK(strcmp(lh_delta_snapshot_config(s1, "delta.appendOnly", ""), "true") == 0);
        CHECK(strcmp(lh_delta_snapshot_config(s1, "delta.logRetentionDuration", ""),
                     "interval 1 days") == 0);
        CHECK_INT(m1->configuration.len, 2);
    }
    /* a writer added a file after s1 was read: the update conflicts */
    append(st, "t", s1, "a", "f1.parquet", LH_OK);
    CHECK_OK(lh_delta_txn_new(st, "t", s1, &t, &err), &err);
    CHECK_OK(lh_delta_txn_update_metadata(t, NULL, set, 1, &err), &err);
    CHECK_RC(lh_delta_txn_commit(t, &v, &err), LH_ERR_CONFLICT);
    CHECK(strstr(err.msg, "f1.parquet") != NULL);
    lh_delta_txn_free(t);
    lh_delta_snapshot_free(s1);
    lh_delta_snapshot_free(s0);
    lh_buf_free(&schema);
    close_tmp(st, dir);
}

/* One commit's operationParameters, read from its commitInfo line alone:
 * actions this reader refuses elsewhere (a deletion vector) and a torn
 * line do not hide it; no commitInfo or no such key is NULL; a missing
 * commit file is NOT_FOUND. */
static void test_commit_param(void)
{
    char *dir;
    lh_storage *st = open_tmp(&dir);
    lh_error err;
    write_commit(st, "t", 0, PROTO "\n" META);
    write_commit(st, "t", 1,
                 "{\"add\":{\"path\":\"a.parquet\",\"partitionValues\":{},\"size\":1,"
                 "\"modificationTime\":2,\"dataChange\":true,\"deletionVector\":{\"storageType\":"
                 "\"u\",\"pathOrInlineDv\":\"x\",\"offset\":1,\"sizeInBytes\":1,"
                 "\"cardinality\":1}}}\n{\"broken\n"
                 "{\"commitInfo\":{\"operation\":\"OPTIMIZE\",\"operationParameters\":"
                 "{\"lakehouse.shards\":\"8\",\"n\":3}}}\n");
    char *v = NULL;
    CHECK_OK(lh_delta_commit_param(st, "t", 1, "lakehouse.shards", &v, &err), &err);
    CHECK(v && strcmp(v, "8") == 0);
    free(v);
    CHECK_OK(lh_delta_commit_param(st, "t", 1, "n", &v, &err), &err); /* not a string */
    CHECK(v == NULL);
    CHECK_OK(lh_delta_commit_param(st, "t", 1, "other", &v, &err), &err);
    CHECK(v == NULL);
    CHECK_OK(lh_delta_commit_param(st, "t", 0, "lakehouse.shards", &v, &err), &err);
    CHECK(v == NULL);
    CHECK_RC(lh_delta_commit_param(st, "t", 2, "lakehouse.shards", &v, &err), LH_ERR_NOT_FOUND);
    CHECK(v == NULL);
    close_tmp(st, dir);
}

/* The outcome of a commit whose storage failed: before the commit file is
 * in place (its own fsync) nothing landed; after (the log directory's
 * fsync) the version is in the log although the commit reported an error. */
static void test_commit_outcome(void)
{
    char *dir;
    lh_storage *st = open_tmp(&dir);
    lh_error err;
    create_table(st, "t");
    const char *names[] = {"before.parquet", "after.parquet", "ok.parquet"};
    for (int nth = 1; nth <= 3; nth++) {
        lh_delta_txn *t;
        CHECK_OK(lh_delta_txn_new(st, "t", NULL, &t, &err), &err);
        CHECK_INT(lh_delta_txn_outcome(t, NULL), LH_DELTA_NOT_COMMITTED);
        lh_delta_kv pv[] = {{"origin", "a"}};
        lh_buf path = LH_BUF_INIT;
        lh_buf_printf(&path, "origin=a/%s", names[nth - 1]);
        lh_delta_add a = {path.data, pv, 1, 100, 1700000000000, true, NULL};
        CHECK_OK(lh_delta_txn_add(t, &a, &err), &err);
        int64_t before = -1, v = -1, landed = -2;
        CHECK_OK(lh_delta_latest_version(st, "t", &before, &err), &err);
        lh_storage_fault_fsync(nth, EIO);
        lh_status rc = lh_delta_txn_commit(t, &v, &err);
        lh_storage_fault_fsync(0, 0);
        lh_delta_outcome o = lh_delta_txn_outcome(t, &landed);
        if (nth == 1) {
            CHECK_RC(rc, LH_ERR_IO);
            CHECK_INT(o, LH_DELTA_NOT_COMMITTED);
            CHECK_INT(landed, -1);
        } else if (nth == 2) {
            CHECK_RC(rc, LH_ERR_IO);
            CHECK_INT(o, LH_DELTA_COMMITTED);
            CHECK_INT(landed, before + 1);
            CHECK(strstr(err.msg, "is in the log all the same") != NULL);
        } else {
            CHECK_OK(rc, &err);
            CHECK_INT(o, LH_DELTA_COMMITTED);
            CHECK_INT(landed, v);
        }
        lh_delta_txn_free(t);
        lh_buf_free(&path);
    }
    lh_delta_snapshot *s = load(st, "t", LH_DELTA_LATEST);
    CHECK_INT(lh_delta_snapshot_version(s), 2);
    CHECK(lh_delta_snapshot_find(s, "origin=a/before.parquet") == NULL);
    CHECK(lh_delta_snapshot_find(s, "origin=a/after.parquet") != NULL);
    CHECK(lh_delta_snapshot_find(s, "origin=a/ok.parquet") != NULL);
    lh_delta_snapshot_free(s);
    close_tmp(st, dir);
}

int main(void)
{
    RUN(test_create_append_snapshot);
    RUN(test_overwrite_and_compact);
    RUN(test_conflicts);
    RUN(test_escaping_and_stats);
    RUN(test_crafted_logs);
    RUN(test_vacuum);
    RUN(test_concurrent_appends);
    RUN(test_checkpoint_roundtrip);
    RUN(test_checkpoint_keeps_txns_and_tags);
    RUN(test_log_cleanup);
    RUN(test_metadata_update);
    RUN(test_auto_cleanup_flag);
    RUN(test_commit_param);
    RUN(test_commit_outcome);
    return lh_test_report();
}
