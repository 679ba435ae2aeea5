/* TagStore: value format, get/set/delete, is_latest, tenants, bad input. */
#include <string.h>

#include "lh/core/buf.h"
#include "lh/core/mem.h"
#include "lh/core/storage.h"
#include "lh/core/timeutil.h"
#include "lh/storage/tags.h"
#include "test.h"

static char *tmp;
static lh_storage *st;

static void test_format(void)
{
    lh_error err;
    lh_tags *t = NULL;
    CHECK_OK(lh_tags_open(st, "ds", NULL, &t, &err), &err);
    if (!t) return;
    int64_t ts = 1714566896123456LL; /* 2024-05-01T12:34:56.123456Z */
    CHECK_OK(lh_tags_set(t, "statements/last_updated", ts, NULL, &err), &err);
    lh_buf b = LH_BUF_INIT;
    CHECK_OK(lh_storage_read(st, "ds/tags/lakehouse/statements/last_updated", &b, &err), &err);
    CHECK_STR(b.data, "\"2024-05-01T12:34:56.123456+00:00\"");
    lh_buf_reset(&b);
    CHECK_OK(lh_tags_set(t, "x", 1714566896000000LL, NULL, &err), &err);
    CHECK_OK(lh_storage_read(st, "ds/tags/lakehouse/x", &b, &err), &err);
    CHECK_STR(b.data, "\"2024-05-01T12:34:56+00:00\""); /* no zero fraction */
    lh_buf_free(&b);

    int64_t got = 0;
    bool found = false;
    CHECK_OK(lh_tags_get(t, "statements/last_updated", &got, &found, &err), &err);
    CHECK(found);
    CHECK_INT(got, ts);
    CHECK_OK(lh_tags_get(t, "missing/tag", &got, &found, &err), &err);
    CHECK(!found);

    int64_t stored = 0, before = lh_now_us();
    CHECK_OK(lh_tags_set(t, "now", LH_TAGS_NOW, &stored, &err), &err);
    CHECK(stored >= before && stored <= lh_now_us());
    CHECK_OK(lh_tags_get(t, "now", &got, &found, &err), &err);
    CHECK_INT(got, stored);

    /* naive values (the reference writes them for naive datetimes) read as UTC */
    const char *naive = "\"2024-01-02T03:04:05.123456\"";
    CHECK_OK(lh_storage_write(st, "ds/tags/lakehouse/naive", naive, strlen(naive), &err), &err);
    CHECK_OK(lh_tags_get(t, "naive", &got, &found, &err), &err);
    CHECK(found);
    CHECK_INT(got, 1704164645123456LL);

    const char *bad = "not json";
    CHECK_OK(lh_storage_write(st, "ds/tags/lakehouse/bad", bad, strlen(bad), &err), &err);
    CHECK_RC(lh_tags_get(t, "bad", &got, &found, &err), LH_ERR_CORRUPT);
    CHECK(strstr(err.msg, "ds/tags/lakehouse/bad") != NULL);
    const char *bad2 = "\"yesterday\"";
    CHECK_OK(lh_storage_write(st, "ds/tags/lakehouse/bad2", bad2, strlen(bad2), &err), &err);
    CHECK_RC(lh_tags_get(t, "bad2", &got, &found, &err), LH_ERR_CORRUPT);

    CHECK_OK(lh_tags_delete(t, "x", &err), &err);
    CHECK_OK(lh_tags_get(t, "x", &got, &found, &err), &err);
    CHECK(!found);
    CHECK_OK(lh_tags_delete(t, "x", &err), &err);

    CHECK_RC(lh_tags_set(t, "", 1, NULL, &err), LH_ERR_INVALID);
    CHECK_RC(lh_tags_set(t, "../escape", 1, NULL, &err), LH_ERR_INVALID);
    CHECK_RC(lh_tags_set(t, "a//b", 1, NULL, &err), LH_ERR_INVALID);
    char *k = lh_tags_key(t, "exports/statements.csv");
    CHECK_STR(k, "ds/tags/lakehouse/exports/statements.csv");
    free(k);
    lh_tags_free(t);
}

static void test_is_latest(void)
{
    lh_error err;
    lh_tags *t = NULL;
    CHECK_OK(lh_tags_open(st, "ds2", "tenant2", &t, &err), &err);
    if (!t) return;
    const char *deps[] = {"statements/last_updated", "archive/last_updated"};
    bool latest = true;
    CHECK_OK(lh_tags_is_latest(t, "exports/statements.csv", deps, 2, &latest, &err), &err);
    CHECK(!latest); /* key unset */
    CHECK_OK(lh_tags_set(t, "exports/statements.csv", 2000, NULL, &err), &err);
    CHECK_OK(lh_tags_is_latest(t, "exports/statements.csv", deps, 2, &latest, &err), &err);
    CHECK(!latest); /* no dependency set */
    CHECK_OK(lh_tags_set(t, "statements/last_updated", 1000, NULL, &err), &err);
    CHECK_OK(lh_tags_is_latest(t, "exports/statements.csv", deps, 2, &latest, &err), &err);
    CHECK(latest); /* unset deps are ignored */
    CHECK_OK(lh_tags_set(t, "archive/last_updated", 2000, NULL, &err), &err);
    CHECK_OK(lh_tags_is_latest(t, "exports/statements.csv", deps, 2, &latest, &err), &err);
    CHECK(!latest); /* equal is not newer */
    CHECK_OK(lh_tags_set(t, "exports/statements.csv", 2001, NULL, &err), &err);
    CHECK_OK(lh_tags_is_latest(t, "exports/statements.csv", deps, 2, &latest, &err), &err);
    CHECK(latest);
    bool exists = false;
    CHECK_OK(lh_storage_exists(st, "ds2/tags/tenant2/archive/last_updated", &exists, &err), &err);
    CHECK(exists);
    lh_tags_free(t);

    CHECK_OK(lh_tags_open(st, NULL, NULL, &t, &err), &err);
    if (t) {
        CHECK_OK(lh_tags_set(t, "root", 5, NULL, &err), &err);
        CHECK_OK(lh_storage_exists(st, "tags/lakehouse/root", &exists, &err), &err);
        CHECK(exists);
        lh_tags_free(t);
    }
    CHECK_RC(lh_tags_open(st, "ds", "a/b", &t, &err), LH_ERR_INVALID);
    CHECK_RC(lh_tags_open(st, "..", NULL, &t, &err), LH_ERR_INVALID);
}

int main(void)
{
    tmp = lh_test_tmpdir();
    lh_error err;
    if (lh_storage_open(tmp, &st, &err) != LH_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    RUN(test_format);
    RUN(test_is_latest);
    lh_storage_free(st);
    lh_test_rmtree(tmp);
    free(tmp);
    return lh_test_report();
}
