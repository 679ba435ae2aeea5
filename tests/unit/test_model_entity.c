/* Explode / aggregate / statement IO: behaviour and failure paths. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lh/core/timeutil.h"
#include "lh/model/entity.h"
#include "lh/model/keys.h"
#include "lh/model/stmt_io.h"
#include "test.h"

static const lh_model *M;
static lh_explode_opts O = {.dataset = "ds", .origin = "bulk"};

static lh_status explode(const char *json, lh_stmt_batch *b, lh_error *err)
{
    return lh_entity_explode(M, json, strlen(json), &O, b, err);
}

static void test_explode_basic(void)
{
    lh_stmt_batch b;
    lh_stmt_batch_init(&b);
    lh_error err;
    CHECK_OK(explode("{\"id\": \"p1.sig\", \"schema\": \"Person\", \"last_change\": \"2024-05-01T10:00:00\","
                     " \"origin\": [\"crawl\"], \"properties\": {\"name\": [\"Alice\", \"Alice\", \"\"],"
                     " \"birthDate\": [\"1970\"], \"addressEntity\": [\"a1.x\", \"bad id\"]}}",
                     &b, &err), &err);
    CHECK_INT(b.len, 4); /* name, birthDate, addressEntity, id */
    if (b.len == 4) {
        char id[41];
        lh_statement_key("ds", "p1", "name", "Alice", NULL, false, id);
        CHECK_STR(b.rows[0].id, id);
        CHECK_STR(b.rows[0].entity_id, "p1");
        CHECK_STR(b.rows[0].origin, "crawl");
        CHECK_STR(b.rows[0].bucket, "thing");
        CHECK_STR(b.rows[0].prop_type, "name");
        CHECK_STR(b.rows[2].value, "a1");
        CHECK_STR(b.rows[3].prop, "id");
        CHECK_STR(b.rows[3].prop_type, "id");
        int64_t want;
        lh_time_parse_iso("2024-05-01T10:00:00", 19, &want, &err);
        CHECK(b.rows[3].first_seen == want && b.rows[3].last_seen == want);
        CHECK(b.rows[0].deleted_at == LH_TS_NULL);
        CHECK_STR(b.rows[0].fragment, "");
        CHECK(b.rows[0].role == NULL);
        CHECK(b.rows[0].shard == NULL);
        lh_stmt_batch_assign_shards(&b, 0, 32);
        char want_shard[LH_SHARD_MAX];
        lh_shard_key("p1", 32, want_shard);
        for (size_t i = 0; i < b.len; i++) CHECK_STR(b.rows[i].shard, want_shard);
    }
    lh_stmt_batch_free(&b);
}

static void expect_invalid(const char *json, const char *needle)
{
    lh_stmt_batch b;
    lh_stmt_batch_init(&b);
    lh_error err;
    lh_error_clear(&err);
    CHECK_RC(explode(json, &b, &err), LH_ERR_INVALID);
    CHECK_INT(b.len, 0); /* never half an entity */
    if (!strstr(err.msg, needle)) {
        fprintf(stderr, "  message \"%s\" lacks \"%s\"\n", err.msg, needle);
        CHECK(0);
    }
    lh_stmt_batch_free(&b);
}

static void test_explode_failures(void)
{
    expect_invalid("{\"id\": \"x\", \"schema\": ", "bad JSON");
    expect_invalid("[1, 2]", "expected a JSON object");
    expect_invalid("{\"schema\": \"Person\"}", "id: missing");
    expect_invalid("{\"id\": \"\", \"schema\": \"Person\"}", "id: missing");
    expect_invalid("{\"id\": \"bad id\", \"schema\": \"Person\"}", "id: invalid entity id");
    expect_invalid("{\"id\": \"x\"}", "schema: missing");
    expect_invalid("{\"id\": \"x\", \"schema\": \"Nope\"}", "schema: unknown schema Nope");
    expect_invalid("{\"id\": \"x\", \"schema\": \"Person\", \"properties\": {\"nope\": [\"v\"]}}",
                   "properties.nope: unknown property of Person");
    expect_invalid("{\"id\": \"x\", \"schema\": \"Person\", \"properties\": {\"name\": \"v\"}}",
                   "properties.name: expected a list");
    expect_invalid("{\"id\": \"x\", \"schema\": \"Person\", \"properties\": {\"name\": [\"a\", 5]}}",
                   "properties.name: expected string values");
    expect_invalid("{\"id\": \"x\", \"schema\": \"Person\", \"properties\": [1]}",
                   "properties: expected an object");
    expect_invalid("{\"id\": \"x\", \"schema\": \"Ownership\", \"properties\": {\"owner\": [\"x\"]}}",
                   "self-relationship");
    expect_invalid("{\"id\": \"x\", \"schema\": \"Person\", \"properties\": {\"ownershipOwner\": [\"y\"]}}",
                   "stub property");
    expect_invalid("{\"id\": \"x\", \"schema\": \"Person\", \"origin\": \"a/b\"}", "forbidden");
    expect_invalid("{\"id\": \"x\", \"schema\": \"Person\", \"origin\": \"..\"}", "traversal");
    expect_invalid("{\"id\": \"x\", \"schema\": \"Person\", \"last_change\": \"yesterday\"}",
                   "last_change");
    expect_invalid("{\"id\": \"x\", \"schema\": \"Person\", \"statements\": []}", "statements");
    /* skipping unknown properties, as the reference does */
    lh_explode_opts skip = O;
    skip.flags = LH_EXPLODE_SKIP_UNKNOWN;
    lh_stmt_batch b;
    lh_stmt_batch_init(&b);
    lh_error err;
    const char *j = "{\"id\": \"x\", \"schema\": \"Person\", \"properties\": {\"nope\": [\"v\"]}}";
    CHECK_OK(lh_entity_explode(M, j, strlen(j), &skip, &b, &err), &err);
    CHECK_INT(b.len, 1); /* just the id statement */
    lh_stmt_batch_free(&b);
}

static void test_lines_reader(void)
{
    char *dir = lh_test_tmpdir();
    char path[4096];
    snprintf(path, sizeof path, "%s/e.ftm.json", dir);
    FILE *f = fopen(path, "w");
    fputs("{\"id\": \"a\", \"schema\": \"Person\", \"properties\": {\"name\": [\"A\"]}}\n\n"
          "{\"id\": \"b\", \"schema\": \"Person\", \"properties\": {\"name\": [\"B\"]}}\r\n"
          "{\"id\": \"c\", \"schema\": \"Person\", \"properties\": {\"nmae\": [\"C\"]}}\n",
          f);
    fclose(f);
    f = fopen(path, "r");
    lh_line_reader *r = lh_line_reader_new(f, "e.ftm.json");
    lh_stmt_batch b;
    lh_stmt_batch_init(&b);
    lh_error err;
    CHECK_RC(lh_entities_explode_lines(M, r, &O, &b, &err), LH_ERR_INVALID);
    CHECK_STR(err.msg, "e.ftm.json:4: properties.nmae: unknown property of Person");
    CHECK_INT(b.len, 4); /* a and b complete, nothing of c */
    lh_stmt_batch_free(&b);
    lh_line_reader_free(r);
    fclose(f);
    lh_test_rmtree(dir);
    free(dir);
}

static void test_aggregate(void)
{
    lh_stmt_batch b;
    lh_stmt_batch_init(&b);
    lh_error err;
    lh_explode_opts o = O;
    lh_time_parse_iso("2024-01-02T03:04:05.5", 21, &o.now, &err);
    const char *e1 = "{\"id\": \"e1\", \"schema\": \"LegalEntity\", \"properties\": {\"name\": [\"Zed\", \"Abe\"]}}";
    const char *e2 = "{\"id\": \"e1\", \"schema\": \"Person\", \"origin\": \"o2\", \"properties\": {\"nationality\": [\"de\"]}}";
    CHECK_OK(lh_entity_explode(M, e1, strlen(e1), &o, &b, &err), &err);
    CHECK_OK(lh_entity_explode(M, e2, strlen(e2), &o, &b, &err), &err);
    lh_aggregator *a = lh_aggregator_new(M, 0);
    lh_buf out = LH_BUF_INIT;
    for (size_t i = 0; i < b.len; i++) CHECK_OK(lh_aggregator_add(a, &b.rows[i], &out, &err), &err);
    CHECK_INT(out.len, 0);
    CHECK_OK(lh_aggregator_finish(a, &out, &err), &err);
    CHECK_STR(out.data,
              "{\"id\":\"e1\",\"caption\":\"Abe\",\"schema\":\"Person\",\"properties\":{\"name\":"
              "[\"Abe\",\"Zed\"],\"nationality\":[\"de\"]},\"referents\":[],\"datasets\":[\"ds\"],"
              "\"origin\":[\"bulk\",\"o2\"],\"first_seen\":\"2024-01-02T03:04:05.500000+00:00\","
              "\"last_seen\":\"2024-01-02T03:04:05.500000+00:00\",\"last_change\":"
              "\"2024-01-02T03:04:05.500000+00:00\"}\n");
    CHECK_INT(lh_aggregator_count(a), 1);
    /* unrelated schemata without a common ancestor are an error */
    lh_buf_reset(&out);
    lh_statement s = b.rows[0];
    s.entity_id = "e9";
    CHECK_OK(lh_aggregator_add(a, &s, &out, &err), &err);
    s.schema = "Nope";
    CHECK_OK(lh_aggregator_add(a, &s, &out, &err), &err);
    CHECK_RC(lh_aggregator_finish(a, &out, &err), LH_ERR_INVALID);
    CHECK(strstr(err.msg, "e9") && strstr(err.msg, "Nope"));
    lh_buf_free(&out);
    lh_aggregator_free(a);
    lh_stmt_batch_free(&b);
}

/* An import without --last-seen stamps each entity when it is read (last
 * seen) and every row with the run's start (first seen), as the
 * reference's buffer does; an entity's last_change stands for both. */
static void test_explode_started(void)
{
    lh_stmt_batch b;
    lh_stmt_batch_init(&b);
    lh_error err;
    lh_explode_opts o = O;
    o.started = 1000;
    o.now = 2000;
    const char *e1 = "{\"id\": \"e1\", \"schema\": \"Person\", \"properties\": {\"name\": [\"A\"]}}";
    const char *e2 = "{\"id\": \"e2\", \"schema\": \"Person\", \"last_change\": \"2024-01-02\","
                     " \"properties\": {\"name\": [\"B\"]}}";
    CHECK_OK(lh_entity_explode(M, e1, strlen(e1), &o, &b, &err), &err);
    CHECK_INT(b.len, 2); /* name and the id row */
    for (size_t i = 0; i < 2; i++) {
        CHECK_INT(b.rows[i].first_seen, 1000);
        CHECK_INT(b.rows[i].last_seen, 2000);
    }
    CHECK_OK(lh_entity_explode(M, e2, strlen(e2), &o, &b, &err), &err);
    CHECK_INT(b.len, 4);
    int64_t lc;
    CHECK_OK(lh_time_parse_iso("2024-01-02", 10, &lc, &err), &err);
    for (size_t i = 2; i < 4; i++) {
        CHECK_INT(b.rows[i].first_seen, lc);
        CHECK_INT(b.rows[i].last_seen, lc);
    }
    /* started 0: first seen is now, as before */
    o.started = 0;
    CHECK_OK(lh_entity_explode(M, e1, strlen(e1), &o, &b, &err), &err);
    CHECK_INT(b.rows[4].first_seen, 2000);
    lh_stmt_batch_free(&b);
}

/* `entities iterate` (context order) is StatementEntity.to_dict: datasets and
 * origins come from the property statements only, so an origin that holds
 * just the id row is not listed and a bare entity has no dataset; the export
 * (EntityPayload) counts every row. */
static void test_aggregate_context_ignores_id_rows(void)
{
    lh_stmt_batch b;
    lh_stmt_batch_init(&b);
    lh_error err;
    lh_explode_opts o = O;
    lh_time_parse_iso("2024-01-02T03:04:05", 19, &o.now, &err);
    const char *in[] = {
        "{\"id\": \"e1\", \"schema\": \"Person\", \"origin\": \"o1\"}",
        "{\"id\": \"e1\", \"schema\": \"Person\", \"origin\": \"o2\", \"properties\": {\"name\": [\"A\"]}}",
        "{\"id\": \"e2\", \"schema\": \"Person\", \"origin\": \"o1\"}",
    };
    for (size_t i = 0; i < 3; i++) CHECK_OK(lh_entity_explode(M, in[i], strlen(in[i]), &o, &b, &err), &err);
    const char *want[] = {
        "{\"id\":\"e1\",\"caption\":\"A\",\"schema\":\"Person\",\"referents\":[],\"datasets\":[\"ds\"],"
        "\"origin\":[\"o2\"],\"first_seen\":\"2024-01-02T03:04:05+00:00\",\"last_seen\":"
        "\"2024-01-02T03:04:05+00:00\",\"last_change\":\"2024-01-02T03:04:05+00:00\","
        "\"properties\":{\"name\":[\"A\"]}}\n"
        "{\"id\":\"e2\",\"caption\":\"Person\",\"schema\":\"Person\",\"referents\":[],\"datasets\":[],"
        "\"last_change\":\"2024-01-02T03:04:05+00:00\",\"properties\":{}}\n",
        "{\"id\":\"e1\",\"caption\":\"A\",\"schema\":\"Person\",\"properties\":{\"name\":[\"A\"]},"
        "\"referents\":[],\"datasets\":[\"ds\"],\"origin\":[\"o1\",\"o2\"],\"first_seen\":"
        "\"2024-01-02T03:04:05+00:00\",\"last_seen\":\"2024-01-02T03:04:05+00:00\",\"last_change\":"
        "\"2024-01-02T03:04:05+00:00\"}\n"
        "{\"id\":\"e2\",\"caption\":\"Person\",\"schema\":\"Person\",\"properties\":{},\"referents\":[],"
        "\"datasets\":[\"ds\"],\"origin\":[\"o1\"],\"last_change\":\"2024-01-02T03:04:05+00:00\"}\n",
    };
    int flags[] = {LH_AGG_CONTEXT_ORDER, 0};
    for (size_t k = 0; k < 2; k++) {
        lh_aggregator *a = lh_aggregator_new(M, flags[k]);
        lh_buf out = LH_BUF_INIT;
        for (size_t i = 0; i < b.len; i++) CHECK_OK(lh_aggregator_add(a, &b.rows[i], &out, &err), &err);
        CHECK_OK(lh_aggregator_finish(a, &out, &err), &err);
        CHECK_STR(out.data, want[k]);
        lh_buf_free(&out);
        lh_aggregator_free(a);
    }
    lh_stmt_batch_free(&b);
}

static void test_stmt_json_roundtrip(void)
{
    lh_stmt_batch b, back;
    lh_stmt_batch_init(&b);
    lh_stmt_batch_init(&back);
    lh_error err;
    CHECK_OK(explode("{\"id\": \"q\", \"schema\": \"Company\", \"role\": \"r\", \"fragment\": [\"f\"],"
                     " \"properties\": {\"name\": [\"Q \\\"Ltd\\\"\\n\"]}}", &b, &err), &err);
    lh_buf out = LH_BUF_INIT;
    for (size_t i = 0; i < b.len; i++) lh_stmt_write_json(&out, &b.rows[i]);
    char *line = out.data;
    while (line && *line) {
        char *nl = strchr(line, '\n');
        CHECK_OK(lh_stmt_parse_json(line, (size_t)(nl - line), &back, &err), &err);
        line = nl + 1;
    }
    CHECK_INT(back.len, b.len);
    for (size_t i = 0; i < b.len && i < back.len; i++) {
        CHECK_STR(back.rows[i].id, b.rows[i].id);
        CHECK_STR(back.rows[i].value, b.rows[i].value);
        CHECK_STR(back.rows[i].role, "r");
        CHECK_STR(back.rows[i].fragment, "f");
        CHECK(back.rows[i].first_seen == b.rows[i].first_seen);
    }
    CHECK_RC(lh_stmt_parse_json("{\"id\": 1}", 9, &back, &err), LH_ERR_INVALID);
    CHECK(strstr(err.msg, "id") != NULL);
    lh_buf_reset(&out);
    lh_stmt_csv_header(&out, LH_CSV_LAKEHOUSE);
    lh_stmt_csv_row(&out, &b.rows[0], LH_CSV_LAKEHOUSE);
    CHECK(strstr(out.data, "\"Q \"\"Ltd\"\"\n\"") != NULL);
    CHECK(strstr(out.data, ",false,") != NULL);
    lh_buf_free(&out);
    lh_stmt_batch_free(&b);
    lh_stmt_batch_free(&back);
}

static void csv_case(const char *text, lh_status want, const char *needle, size_t rows)
{
    FILE *f = fmemopen((void *)text, strlen(text), "r");
    lh_stmt_csv_reader *r = lh_stmt_csv_reader_new(f, "s.csv");
    lh_stmt_batch b;
    lh_stmt_batch_init(&b);
    lh_error err;
    lh_error_clear(&err);
    bool got = true;
    lh_status rc = LH_OK;
    while (rc == LH_OK && got) rc = lh_stmt_csv_next(M, r, &O, &b, &got, &err);
    CHECK_RC(rc, want);
    CHECK_INT(b.len, rows);
    if (needle && !strstr(err.msg, needle)) {
        fprintf(stderr, "  message \"%s\" lacks \"%s\"\n", err.msg, needle);
        CHECK(0);
    }
    lh_stmt_batch_free(&b);
    lh_stmt_csv_reader_free(r);
    fclose(f);
}

static void test_csv_import(void)
{
    csv_case("entity_id,prop,schema,value\ne1,name,Person,\"a\nb\"\r\n\ne1,name,Person,c\n",
             LH_OK, NULL, 2);
    csv_case("", LH_ERR_INVALID, "empty", 0);
    csv_case("entity_id,schema,value\ne1,Person,a\n", LH_ERR_INVALID, "s.csv:1: prop: missing column", 0);
    csv_case("entity_id,prop,schema,value\ne1,name,Person,\"open\n", LH_ERR_INVALID,
             "s.csv:2: unterminated", 0);
    csv_case("entity_id,prop,schema\ne1,name,Nope\n", LH_ERR_INVALID, "s.csv:2: schema: unknown schema Nope", 0);
    csv_case("entity_id,prop,schema,first_seen\ne1,name,Person,soon\n", LH_ERR_INVALID,
             "s.csv:2: first_seen", 0);
    csv_case("entity_id,prop,schema,origin\ne1,name,Person,a/b\n", LH_ERR_INVALID, "origin", 0);
}

/* Deterministic mutations of valid input: every outcome is OK or INVALID,
 * a failure leaves the batch as it was, and nothing leaks or overreads. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void mutate(char *buf, size_t *n)
{
    static const char pool[] = "{}[]\",:\\.0aZ \n\r\x01\xc3\xff";
    int edits = 1 + (int)(rnd() % 4);
    for (int e = 0; e < edits && *n; e++) {
        size_t at = rnd() % *n;
        switch (rnd() % 3) {
        case 0: buf[at] = pool[rnd() % (sizeof pool - 1)]; break;
        case 1: memmove(buf + at, buf + at + 1, *n - at - 1); (*n)--; break;
        default: *n = at; break;
        }
    }
}

static void test_mutations(void)
{
    static const char *seeds[] = {
        "{\"id\": \"p1.sig\", \"schema\": \"Person\", \"last_change\": \"2024-05-01T10:00:00\","
        " \"origin\": [\"crawl\"], \"role\": \"r\", \"fragment\": \"f\", \"properties\": "
        "{\"name\": [\"Alice\", \"\u00e9\"], \"addressEntity\": [\"a1.x\"]}}",
        "{\"id\": \"o1\", \"schema\": \"Ownership\", \"properties\": {\"owner\": [\"p1\"],"
        " \"asset\": [\"c1\"], \"percentage\": [\"50\"]}}",
    };
    lh_stmt_batch b;
    lh_stmt_batch_init(&b);
    int ok = 0, invalid = 0;
    for (int i = 0; i < 4000; i++) {
        char buf[512];
        const char *seed = seeds[i % 2];
        size_t n = strlen(seed);
        memcpy(buf, seed, n);
        mutate(buf, &n);
        size_t before = b.len;
        lh_error err;
        lh_status rc = lh_entity_explode(M, buf, n, &O, &b, &err);
        if (rc == LH_OK) ok++;
        else if (rc == LH_ERR_INVALID && b.len == before) invalid++;
        else CHECK(0);
        if (b.len > 10000) lh_stmt_batch_clear(&b);
        /* the same bytes as a statement CSV body */
        char csv[700];
        int hn = snprintf(csv, sizeof csv, "entity_id,prop,schema,value,first_seen\n");
        memcpy(csv + hn, buf, n);
        FILE *f = fmemopen(csv, (size_t)hn + n, "r");
        lh_stmt_csv_reader *r = lh_stmt_csv_reader_new(f, "m.csv");
        bool got = true;
        while (got) {
            before = b.len;
            rc = lh_stmt_csv_next(M, r, &O, &b, &got, &err);
            if (rc != LH_OK) {
                CHECK(rc == LH_ERR_INVALID && b.len == before);
                break;
            }
        }
        lh_stmt_csv_reader_free(r);
        fclose(f);
    }
    CHECK(ok > 0 && invalid > 0);
    lh_stmt_batch_free(&b);
}

int main(void)
{
    lh_error err;
    M = lh_model_get(&err);
    if (!M) {
        fprintf(stderr, "model: %s\n", err.msg);
        return 1;
    }
    O.now = lh_now_us();
    RUN(test_explode_basic);
    RUN(test_explode_failures);
    RUN(test_lines_reader);
    RUN(test_aggregate);
    RUN(test_explode_started);
    RUN(test_aggregate_context_ignores_id_rows);
    RUN(test_stmt_json_roundtrip);
    RUN(test_csv_import);
    RUN(test_mutations);
    return lh_test_report();
}
