/* lh-queue: drive the QueueStore from interop tests.
 *
 *   lh-queue ROOT DATASET TENANT put ACTION RESOURCE [PAYLOAD_JSON]  (prints the key)
 *   lh-queue ROOT DATASET TENANT list      (items as JSON lines, in order)
 *   lh-queue ROOT DATASET TENANT pop       (first item, not removed; exit 4 if empty)
 *   lh-queue ROOT DATASET TENANT ack KEY
 *   lh-queue ROOT DATASET TENANT consume   (print and ack every item)
 *
 * TENANT "-" = the default tenant. Printed items:
 * {"key":..,"action":..,"resource":..,"payload":..,"created_at":ISO|null} */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lh/core/timeutil.h"
#include "lh/storage/queue.h"

static lh_status print_item(void *ctx, const lh_queue_item *it, lh_error *err)
{
    (void)ctx;
    json_t *o = json_object();
    json_object_set_new(o, "key", json_string(it->key));
    json_object_set_new(o, "action", it->action ? json_string(it->action) : json_null());
    json_object_set_new(o, "resource", it->resource ? json_string(it->resource) : json_null());
    json_t *p = json_loads(it->payload, JSON_DECODE_ANY, NULL);
    json_object_set_new(o, "payload", p ? p : json_null());
    if (it->created_at != LH_QUEUE_NO_TIME) {
        char iso[LH_ISO_MAX];
        lh_time_format_iso_py(it->created_at, 1, iso);
        json_object_set_new(o, "created_at", json_string(iso));
    } else {
        json_object_set_new(o, "created_at", json_null());
    }
    char *line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    puts(line);
    free(line);
    json_decref(o);
    return LH_OK;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: lh-queue ROOT DATASET TENANT put|list|pop|ack|consume ...\n");
        return 2;
    }
    lh_error err;
    lh_storage *st = NULL;
    lh_queue *q = NULL;
    if (lh_storage_open(argv[1], &st, &err) != LH_OK ||
        lh_queue_open(st, argv[2], strcmp(argv[3], "-") ? argv[3] : NULL, &q, &err) != LH_OK) {
        fprintf(stderr, "lh-queue: %s\n", err.msg);
        lh_storage_free(st);
        return 1;
    }
    const char *cmd = argv[4];
    lh_status rc = LH_OK;
    int code = 0;
    if (strcmp(cmd, "put") == 0 && argc >= 7) {
        char key[LH_QUEUE_KEY_MAX];
        rc = lh_queue_put(q, argv[5], argv[6], argc > 7 ? argv[7] : NULL, key, &err);
        if (rc == LH_OK) puts(key);
    } else if (strcmp(cmd, "list") == 0) {
        rc = lh_queue_iterate(q, print_item, NULL, &err);
    } else if (strcmp(cmd, "pop") == 0) {
        lh_queue_item it;
        bool found;
        rc = lh_queue_pop(q, &it, &found, &err);
        if (rc == LH_OK && found) print_item(NULL, &it, &err);
        else if (rc == LH_OK) code = 4;
        lh_queue_item_free(&it);
    } else if (strcmp(cmd, "ack") == 0 && argc >= 6) {
        rc = lh_queue_ack(q, argv[5], &err);
    } else if (strcmp(cmd, "consume") == 0) {
        rc = lh_queue_consume(q, print_item, NULL, NULL, &err);
    } else {
        fprintf(stderr, "lh-queue: bad command %s\n", cmd);
        code = 2;
    }
    if (rc != LH_OK) {
        fprintf(stderr, "lh-queue: %s\n", err.msg);
        code = 1;
    }
    lh_queue_free(q);
    lh_storage_free(st);
    return code;
}
