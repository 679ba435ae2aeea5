/* QueueStore: CRUD work items at {dataset}/queue/{tenant}/{uuid7}.json, one
 * JSON object per item, ordered by key (UUIDv7: strictly increasing within a
 * process, by millisecond across processes). Item JSON, compact:
 *   {"action":"upsert","resource":"statements","payload":{...},
 *    "created_at":"2026-11-30T04:30:22.571799+00:00"}
 * action is "upsert" or "delete", resource "archive", "statements" or
 * "entities"; payload is any JSON value. The tenant defaults to "lakehouse".
 *
 * The Python side reads these with anystore's Queue over the same directory
 * (its get() parses any key's JSON). Its own put() names items by a bare
 * uuid7 string without ".json" (and its uuid7 layout differs, so its keys
 * do not interleave with ours by time); we read any key in the directory.
 *
 * Consumption is at-least-once: pop() returns the first item without
 * removing it, ack() deletes it. A consumer dying between the two leaves the
 * item for the next pop; concurrent consumers may see the same item. */
#ifndef LH_STORAGE_QUEUE_H
#define LH_STORAGE_QUEUE_H

#include <stdbool.h>
#include <stdint.h>

#include "lh/core/error.h"
#include "lh/core/storage.h"
#include "lh/core/str.h"

#define LH_QUEUE_TENANT "lakehouse"
#define LH_QUEUE_KEY_MAX 256

typedef struct lh_queue lh_queue;

typedef struct lh_queue_item {
    char key[LH_QUEUE_KEY_MAX]; /* name within the queue directory ("{uuid7}.json") */
    char *action;
    char *resource;
    char *payload;      /* compact JSON text; "null" when the item has none */
    int64_t created_at; /* µs UTC; LH_QUEUE_NO_TIME when absent */
} lh_queue_item;

#define LH_QUEUE_NO_TIME INT64_MIN

void lh_queue_item_free(lh_queue_item *it);

/* Queue of dataset (NULL or "" = storage root) for tenant (NULL = default).
 * The storage is borrowed and must outlive the queue. */
lh_status lh_queue_open(lh_storage *st, const char *dataset, const char *tenant, lh_queue **out,
                        lh_error *err);
void lh_queue_free(lh_queue *q);

/* Append an item; payload_json is JSON text (NULL = null), validated.
 * key_out (may be NULL) receives the item's key. */
lh_status lh_queue_put(lh_queue *q, const char *action, const char *resource,
                       const char *payload_json, char key_out[LH_QUEUE_KEY_MAX], lh_error *err);

/* Item keys in queue order. */
lh_status lh_queue_keys(lh_queue *q, lh_strlist *out, lh_error *err);
/* Read one item; LH_ERR_NOT_FOUND if gone, LH_ERR_CORRUPT names the key. */
lh_status lh_queue_get(lh_queue *q, const char *key, lh_queue_item *item, lh_error *err);
/* The first item, not removed: *found = false when the queue is empty. */
lh_status lh_queue_pop(lh_queue *q, lh_queue_item *item, bool *found, lh_error *err);
/* Remove an item after processing it (absent is fine). */
lh_status lh_queue_ack(lh_queue *q, const char *key, lh_error *err);

typedef lh_status (*lh_queue_fn)(void *ctx, const lh_queue_item *item, lh_error *err);
/* Every item in order, not removed. */
lh_status lh_queue_iterate(lh_queue *q, lh_queue_fn fn, void *ctx, lh_error *err);
/* pop, fn, ack until empty; stops at the first failing fn (that item stays).
 * *done (may be NULL) counts the acknowledged items. */
lh_status lh_queue_consume(lh_queue *q, lh_queue_fn fn, void *ctx, size_t *done, lh_error *err);

#endif
