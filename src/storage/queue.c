/* QueueStore: one JSON object per item under queue/{tenant}/ (see queue.h). */
#include "lh/storage/queue.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "lh/core/buf.h"
#include "lh/core/mem.h"
#include "lh/core/timeutil.h"
#include "lh/core/uuid.h"

struct lh_queue {
    lh_storage *st;
    char *prefix; /* "{dataset}/queue/{tenant}/" */
};

static const char *const ACTIONS[] = {"upsert", "delete", NULL};
static const char *const RESOURCES[] = {"archive", "statements", "entities", NULL};

static bool one_of(const char *s, const char *const *set)
{
    for (; s && *set; set++)
        if (strcmp(s, *set) == 0) return true;
    return false;
}

static lh_status check_segment(const char *what, const char *s, lh_error *err)
{
    if (!s || !*s || strchr(s, '/'))
        return lh_error_set(err, LH_ERR_INVALID, "queue: invalid %s \"%s\"", what, s ? s : "");
    return lh_storage_check_key(s, err);
}

lh_status lh_queue_open(lh_storage *st, const char *dataset, const char *tenant, lh_queue **out,
                        lh_error *err)
{
    *out = NULL;
    if (!tenant) tenant = LH_QUEUE_TENANT;
    LH_TRY(check_segment("tenant", tenant, err));
    if (dataset && *dataset) LH_TRY(check_segment("dataset", dataset, err));
    lh_queue *q = lh_calloc(1, sizeof *q);
    q->st = st;
    q->prefix = dataset && *dataset ? lh_asprintf("%s/queue/%s/", dataset, tenant)
                                    : lh_asprintf("queue/%s/", tenant);
    *out = q;
    return LH_OK;
}

void lh_queue_free(lh_queue *q)
{
    if (!q) return;
    free(q->prefix);
    free(q);
}

void lh_queue_item_free(lh_queue_item *it)
{
    if (!it) return;
    free(it->action);
    free(it->resource);
    free(it->payload);
    it->action = it->resource = it->payload = NULL;
}

lh_status lh_queue_put(lh_queue *q, const char *action, const char *resource,
                       const char *payload_json, char key_out[LH_QUEUE_KEY_MAX], lh_error *err)
{
    if (!one_of(action, ACTIONS))
        return lh_error_set(err, LH_ERR_INVALID, "queue: action \"%s\" is not upsert or delete",
                            action ? action : "");
    if (!one_of(resource, RESOURCES))
        return lh_error_set(err, LH_ERR_INVALID,
                            "queue: resource \"%s\" is not archive, statements or entities",
                            resource ? resource : "");
    json_t *payload;
    if (payload_json) {
        json_error_t je;
        payload = json_loads(payload_json, JSON_DECODE_ANY, &je);
        if (!payload)
            return lh_error_set(err, LH_ERR_INVALID, "queue: payload is not JSON (line %d: %s)",
                                je.line, je.text);
    } else {
        payload = json_null();
    }
    lh_uuid u;
    lh_status rc = lh_uuid7_new(&u, err);
    if (rc != LH_OK) {
        json_decref(payload);
        return rc;
    }
    char id[LH_UUID_STR_LEN + 1];
    lh_uuid_format(&u, id);
    char iso[LH_ISO_MAX];
    lh_time_format_iso_py(lh_now_us(), 1, iso);

    json_t *obj = json_object();
    json_object_set_new(obj, "action", json_string(action));
    json_object_set_new(obj, "resource", json_string(resource));
    json_object_set_new(obj, "payload", payload);
    json_object_set_new(obj, "created_at", json_string(iso));
    char *text = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(obj);
    if (!text) return lh_error_set(err, LH_ERR_INTERNAL, "queue: cannot serialize item");

    char *key = lh_asprintf("%s%s.json", q->prefix, id);
    /* put-if-absent: a uuid7 clash with another process must not overwrite. */
    rc = lh_storage_put_if_absent(q->st, key, text, strlen(text), err);
    if (rc != LH_OK) lh_error_prefix(err, "queue put %s", key);
    else if (key_out) snprintf(key_out, LH_QUEUE_KEY_MAX, "%s.json", id);
    free(text);
    free(key);
    return rc;
}

lh_status lh_queue_keys(lh_queue *q, lh_strlist *out, lh_error *err)
{
    lh_strlist all;
    lh_strlist_init(&all);
    lh_status rc = lh_storage_list(q->st, q->prefix, 0, &all, err);
    if (rc == LH_OK) {
        size_t plen = strlen(q->prefix);
        for (size_t i = 0; i < all.len; i++)
            if (strncmp(all.items[i], q->prefix, plen) == 0 && all.items[i][plen])
                lh_strlist_push(out, all.items[i] + plen);
        lh_strlist_sort(out);
    } else {
        lh_error_prefix(err, "queue: listing %s", q->prefix);
    }
    lh_strlist_free(&all);
    return rc;
}

static char *dup_str(json_t *obj, const char *field)
{
    json_t *v = json_object_get(obj, field);
    return json_is_string(v) ? lh_strdup(json_string_value(v)) : NULL;
}

lh_status lh_queue_get(lh_queue *q, const char *key, lh_queue_item *item, lh_error *err)
{
    memset(item, 0, sizeof *item);
    item->created_at = LH_QUEUE_NO_TIME;
    if (!key || !*key || strchr(key, '/') || strlen(key) >= LH_QUEUE_KEY_MAX)
        return lh_error_set(err, LH_ERR_INVALID, "queue: invalid item key \"%s\"", key ? key : "");
    char *full = lh_asprintf("%s%s", q->prefix, key);
    lh_buf b = LH_BUF_INIT;
    lh_status rc = lh_storage_read(q->st, full, &b, err);
    if (rc != LH_OK) {
        lh_error_prefix(err, "queue item %s", full);
        goto out;
    }
    json_error_t je;
    json_t *obj = json_loadb(b.data, b.len, 0, &je);
    if (!json_is_object(obj)) {
        json_decref(obj);
        rc = lh_error_set(err, LH_ERR_CORRUPT, "queue item %s: not a JSON object (%s)", full,
                          je.text);
        goto out;
    }
    snprintf(item->key, sizeof item->key, "%s", key);
    item->action = dup_str(obj, "action");
    item->resource = dup_str(obj, "resource");
    json_t *p = json_object_get(obj, "payload");
    item->payload = p ? json_dumps(p, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER)
                      : lh_strdup("null");
    json_t *c = json_object_get(obj, "created_at");
    if (json_is_string(c)) {
        int64_t us;
        lh_error e2;
        if (lh_time_parse_iso(json_string_value(c), json_string_length(c), &us, &e2) == LH_OK)
            item->created_at = us;
    }
    json_decref(obj);
out:
    lh_buf_free(&b);
    free(full);
    return rc;
}

lh_status lh_queue_pop(lh_queue *q, lh_queue_item *item, bool *found, lh_error *err)
{
    *found = false;
    memset(item, 0, sizeof *item);
    lh_strlist keys;
    lh_strlist_init(&keys);
    lh_status rc = lh_queue_keys(q, &keys, err);
    for (size_t i = 0; rc == LH_OK && i < keys.len; i++) {
        rc = lh_queue_get(q, keys.items[i], item, err);
        if (rc == LH_ERR_NOT_FOUND) { /* acked by another consumer meanwhile */
            rc = LH_OK;
            continue;
        }
        if (rc == LH_OK) *found = true;
        break;
    }
    lh_strlist_free(&keys);
    return rc;
}

lh_status lh_queue_ack(lh_queue *q, const char *key, lh_error *err)
{
    if (!key || !*key || strchr(key, '/'))
        return lh_error_set(err, LH_ERR_INVALID, "queue: invalid item key \"%s\"", key ? key : "");
    char *full = lh_asprintf("%s%s", q->prefix, key);
    lh_status rc = lh_storage_delete(q->st, full, err);
    free(full);
    return rc;
}

lh_status lh_queue_iterate(lh_queue *q, lh_queue_fn fn, void *ctx, lh_error *err)
{
    lh_strlist keys;
    lh_strlist_init(&keys);
    lh_status rc = lh_queue_keys(q, &keys, err);
    for (size_t i = 0; rc == LH_OK && i < keys.len; i++) {
        lh_queue_item it;
        rc = lh_queue_get(q, keys.items[i], &it, err);
        if (rc == LH_ERR_NOT_FOUND) {
            rc = LH_OK;
            continue;
        }
        if (rc == LH_OK) rc = fn(ctx, &it, err);
        lh_queue_item_free(&it);
    }
    lh_strlist_free(&keys);
    return rc;
}

lh_status lh_queue_consume(lh_queue *q, lh_queue_fn fn, void *ctx, size_t *done, lh_error *err)
{
    if (done) *done = 0;
    for (;;) {
        lh_queue_item it;
        bool found;
        LH_TRY(lh_queue_pop(q, &it, &found, err));
        if (!found) return LH_OK;
        lh_status rc = fn(ctx, &it, err);
        if (rc == LH_OK) rc = lh_queue_ack(q, it.key, err);
        lh_queue_item_free(&it);
        if (rc != LH_OK) return rc;
        if (done) (*done)++;
    }
}
