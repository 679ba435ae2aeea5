/* QueueStore: item format, order, pop/ack (at-least-once), consume, foreign
 * keys, bad input. */
#include <jansson.h>
#include <string.h>

#include "lh/core/buf.h"
#include "lh/core/mem.h"
#include "lh/core/storage.h"
#include "lh/core/timeutil.h"
#include "lh/storage/queue.h"
#include "test.h"

static char *tmp;
static lh_storage *st;

static void test_put_format(void)
{
    lh_error err;
    lh_queue *q = NULL;
    CHECK_OK(lh_queue_open(st, "ds", NULL, &q, &err), &err);
    if (!q) return;
    char key[LH_QUEUE_KEY_MAX];
    int64_t before = lh_now_us();
    CHECK_OK(lh_queue_put(q, "upsert", "statements", "{\"entity_ids\": [\"a\", \"b\"], \"n\": 1}",
                          key, &err),
             &err);
    CHECK_INT(strlen(key), 36 + 5);
    CHECK(lh_str_endswith(key, ".json"));
    CHECK(key[14] == '7'); /* version nibble */
    char *full = lh_asprintf("ds/queue/lakehouse/%s", key);
    lh_buf b = LH_BUF_INIT;
    CHECK_OK(lh_storage_read(st, full, &b, &err), &err);
    CHECK(strncmp(b.data,
                  "{\"action\":\"upsert\",\"resource\":\"statements\",\"payload\":"
                  "{\"entity_ids\":[\"a\",\"b\"],\"n\":1},\"created_at\":\"",
                  95) == 0);
    CHECK(lh_str_endswith(b.data, "+00:00\"}"));
    lh_buf_free(&b);
    free(full);

    lh_queue_item it;
    CHECK_OK(lh_queue_get(q, key, &it, &err), &err);
    CHECK_STR(it.action, "upsert");
    CHECK_STR(it.resource, "statements");
    CHECK_STR(it.payload, "{\"entity_ids\":[\"a\",\"b\"],\"n\":1}");
    CHECK(it.created_at >= before - 1000 && it.created_at <= lh_now_us());
    lh_queue_item_free(&it);

    CHECK_OK(lh_queue_put(q, "delete", "archive", NULL, key, &err), &err);
    CHECK_OK(lh_queue_get(q, key, &it, &err), &err);
    CHECK_STR(it.payload, "null");
    lh_queue_item_free(&it);
    CHECK_OK(lh_queue_put(q, "delete", "entities", "\"ü\"", key, &err), &err);
    CHECK_OK(lh_queue_get(q, key, &it, &err), &err);
    CHECK_STR(it.payload, "\"ü\"");
    lh_queue_item_free(&it);

    CHECK_RC(lh_queue_put(q, "create", "statements", NULL, NULL, &err), LH_ERR_INVALID);
    CHECK_RC(lh_queue_put(q, "upsert", "files", NULL, NULL, &err), LH_ERR_INVALID);
    CHECK_RC(lh_queue_put(q, "upsert", "archive", "{broken", NULL, &err), LH_ERR_INVALID);
    CHECK_RC(lh_queue_get(q, "nope.json", &it, &err), LH_ERR_NOT_FOUND);
    CHECK_RC(lh_queue_get(q, "../x", &it, &err), LH_ERR_INVALID);
    lh_queue_free(q);
}

typedef struct seen {
    lh_strlist payloads;
    int fail_at;
    int calls;
} seen;

static lh_status record(void *ctx, const lh_queue_item *it, lh_error *err)
{
    seen *s = ctx;
    if (s->calls++ == s->fail_at) return lh_error_set(err, LH_ERR_IO, "consumer died");
    lh_strlist_push(&s->payloads, it->payload);
    return LH_OK;
}

static void test_order_pop_ack(void)
{
    lh_error err;
    lh_queue *q = NULL;
    CHECK_OK(lh_queue_open(st, "ds", "t2", &q, &err), &err);
    if (!q) return;
    char payload[32];
    for (int i = 0; i < 50; i++) {
        snprintf(payload, sizeof payload, "%d", i);
        CHECK_OK(lh_queue_put(q, "upsert", "entities", payload, NULL, &err), &err);
    }
    lh_strlist keys;
    lh_strlist_init(&keys);
    CHECK_OK(lh_queue_keys(q, &keys, &err), &err);
    CHECK_INT(keys.len, 50);
    seen s = {.fail_at = -1};
    lh_strlist_init(&s.payloads);
    CHECK_OK(lh_queue_iterate(q, record, &s, &err), &err);
    CHECK_INT(s.payloads.len, 50);
    bool ordered = true;
    for (size_t i = 0; i < s.payloads.len; i++)
        if (atoi(s.payloads.items[i]) != (int)i) ordered = false;
    CHECK(ordered);
    lh_strlist_free(&s.payloads);

    /* pop without ack: the item stays */
    lh_queue_item it;
    bool found = false;
    CHECK_OK(lh_queue_pop(q, &it, &found, &err), &err);
    CHECK(found);
    CHECK_STR(it.payload, "0");
    lh_queue_item_free(&it);
    CHECK_OK(lh_queue_pop(q, &it, &found, &err), &err);
    CHECK_STR(it.payload, "0");
    CHECK_OK(lh_queue_ack(q, it.key, &err), &err);
    lh_queue_item_free(&it);
    CHECK_OK(lh_queue_pop(q, &it, &found, &err), &err);
    CHECK_STR(it.payload, "1");
    lh_queue_item_free(&it);

    /* consume stops at a failing consumer; that item stays first */
    seen c = {.fail_at = 3};
    lh_strlist_init(&c.payloads);
    size_t done = 0;
    CHECK_RC(lh_queue_consume(q, record, &c, &done, &err), LH_ERR_IO);
    CHECK_INT(done, 3);
    CHECK_OK(lh_queue_pop(q, &it, &found, &err), &err);
    CHECK_STR(it.payload, "4");
    lh_queue_item_free(&it);
    c.fail_at = -1;
    CHECK_OK(lh_queue_consume(q, record, &c, &done, &err), &err);
    CHECK_INT(done, 46);
    CHECK_INT(c.payloads.len, 49);
    CHECK_OK(lh_queue_pop(q, &it, &found, &err), &err);
    CHECK(!found);
    lh_strlist_free(&c.payloads);
    lh_strlist_free(&keys);

    /* an item the Python queue wrote: bare uuid key, no created_at */
    const char *py = "{\"action\":\"delete\",\"resource\":\"archive\",\"payload\":[1,2]}";
    CHECK_OK(lh_storage_write(st, "ds/queue/t2/06b0cfbd-e930-7c38-8000-ef08294e98fd", py,
                              strlen(py), &err),
             &err);
    CHECK_OK(lh_queue_pop(q, &it, &found, &err), &err);
    CHECK(found);
    CHECK_STR(it.key, "06b0cfbd-e930-7c38-8000-ef08294e98fd");
    CHECK_STR(it.payload, "[1,2]");
    CHECK(it.created_at == LH_QUEUE_NO_TIME);
    CHECK_OK(lh_queue_ack(q, it.key, &err), &err);
    lh_queue_item_free(&it);
    const char *junk = "[1]";
    CHECK_OK(lh_storage_write(st, "ds/queue/t2/junk", junk, strlen(junk), &err), &err);
    CHECK_RC(lh_queue_pop(q, &it, &found, &err), LH_ERR_CORRUPT);
    CHECK(strstr(err.msg, "junk") != NULL);
    lh_queue_free(q);
    CHECK_RC(lh_queue_open(st, "ds", "", &q, &err), LH_ERR_INVALID);
}

int main(void)
{
    tmp = lh_test_tmpdir();
    lh_error err;
    if (lh_storage_open(tmp, &st, &err) != LH_OK) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    RUN(test_put_format);
    RUN(test_order_pop_ack);
    lh_storage_free(st);
    lh_test_rmtree(tmp);
    free(tmp);
    return lh_test_report();
}
