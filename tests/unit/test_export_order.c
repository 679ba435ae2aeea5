/* Sorted and sliced entity output (lh_export_entities_ordered): a memory
 * budget of a few KiB spills hundreds of sorted runs, which must merge to
 * exactly the in-memory order, with few files open at a time. */
#include <sys/resource.h>

#include "lh/core/storage.h"
#include "lh/repository/export.h"
#include "lh/storage/parquet_store.h"
#include "test.h"

#define T0 (1700000000LL * 1000000LL)
#define ENTITIES 3000

static void add(lh_stmt_batch *b, const char *ent, const char *prop, const char *type,
                const char *value)
{
    char id[256];
    snprintf(id, sizeof id, "%s.%s.%s", ent, prop, value);
    lh_statement s = {0};
    s.id = id;
    s.entity_id = ent;
    s.dataset = "test";
    s.bucket = "thing";
    s.origin = "bulk";
    s.schema = "Payment";
    s.prop = prop;
    s.prop_type = type;
    s.value = value;
    s.first_seen = s.last_seen = T0;
    s.deleted_at = LH_TS_NULL;
    s.fragment = "";
    lh_stmt_batch_push(b, &s);
}

/* The entities in order into a string (owned by the caller). */
static char *ordered(lh_pstore *ps, const lh_equery_order *o, size_t budget, uint64_t *n)
{
    lh_error err;
    const lh_model *m = lh_model_get(&err);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    CHECK(f != NULL);
    CHECK_OK(lh_export_entities_ordered(ps, m, NULL, 0, o, budget, f, NULL, NULL, n, &err), &err);
    fclose(f);
    return text;
}

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

static void test_spilled_runs_merge_in_order(void)
{
    char *dir = lh_test_tmpdir();
    lh_storage *st = NULL;
    lh_error err;
    CHECK_OK(lh_storage_open(dir, &st, &err), &err);
    lh_pstore_opts opts;
    lh_pstore_opts_init(&opts);
    opts.shards = 4;
    lh_pstore *ps = NULL;
    CHECK_OK(lh_pstore_open(st, "test", &opts, &ps, &err), &err);
    lh_stmt_batch b;
    lh_stmt_batch_init(&b);
    char ent[32], name[32], amount[32];
    for (int i = 0; i < ENTITIES; i++) {
        snprintf(ent, sizeof ent, "e%05d", i);
        snprintf(name, sizeof name, "name %05d", (i * 7919) % ENTITIES); /* shuffled */
        snprintf(amount, sizeof amount, "%d.5", (i * 104729) % 1000);
        add(&b, ent, "id", "id", ent);
        add(&b, ent, "purpose", "text", name);
        if (i % 10) add(&b, ent, "amount", "number", amount); /* a tenth without */
    }
    CHECK_OK(lh_pstore_append(ps, &b, &err), &err);
    lh_stmt_batch_free(&b);

    /* few files may be open: without merging runs, over 200 would be */
    struct rlimit was, low;
    CHECK(getrlimit(RLIMIT_NOFILE, &was) == 0);
    const lh_equery_order orders[] = {
        {.sort_prop = "purpose", .limit = -1},
        {.sort_prop = "amount", .descending = true, .numeric = true, .limit = -1},
        {.sort_prop = "purpose", .limit = 7, .offset = 2990},
        {.limit = 100, .offset = 5},
    };
    for (size_t k = 0; k < sizeof orders / sizeof *orders; k++) {
        uint64_t n_mem = 0, n_disk = 0;
        char *in_memory = ordered(ps, &orders[k], 1u << 30, &n_mem);
        low = was;
        low.rlim_cur = 100; /* MAX_RUNS (64) runs, the store, stdio */
        CHECK(setrlimit(RLIMIT_NOFILE, &low) == 0);
        char *spilled = ordered(ps, &orders[k], 4096, &n_disk);
        CHECK(setrlimit(RLIMIT_NOFILE, &was) == 0);
        CHECK_STR(spilled, in_memory);
        CHECK(n_mem == n_disk && n_mem == count_lines(in_memory));
        uint64_t want = orders[k].limit < 0 ? ENTITIES : (uint64_t)orders[k].limit;
        if (orders[k].offset + want > ENTITIES) want = ENTITIES - orders[k].offset;
        CHECK(n_mem == want);
        free(in_memory);
        free(spilled);
    }
    /* in order: by purpose the first is "name 00000", by amount the
     * greatest first and the ones without an amount last */
    uint64_t n;
    char *by_name = ordered(ps, &orders[0], 4096, &n);
    CHECK(strstr(by_name, "name 00000") < strstr(by_name, "name 00001"));
    free(by_name);
    char *by_amount = ordered(ps, &orders[1], 4096, &n);
    double prev = 1e9;
    size_t with = 0;
    for (const char *p = by_amount; (p = strstr(p, "\"amount\":[\"")); p++, with++) {
        double x = atof(p + strlen("\"amount\":[\""));
        CHECK(x <= prev);
        prev = x;
    }
    CHECK(with == ENTITIES - ENTITIES / 10);
    const char *last = strrchr(by_amount, '{');
    CHECK(last && !strstr(last, "amount"));
    free(by_amount);

    lh_pstore_free(ps);
    lh_storage_free(st);
    lh_test_rmtree(dir);
    free(dir);
}

int main(void)
{
    RUN(test_spilled_runs_merge_in_order);
    return lh_test_report();
}
