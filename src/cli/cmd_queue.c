/* ftm-lakehouse queue put | list | pop | ack | count */
#include <string.h>

#include "cli_store.h"
#include "lh/core/timeutil.h"
#include "lh/storage/queue.h"

static const char HELP[] =
    "Usage: ftm-lakehouse -d DATASET queue COMMAND [ARGS]\n"
    "\n"
    "The dataset's CRUD mutation queue: items at\n"
    "{dataset}/queue/lakehouse/{uuid7}.json, consumed in order.\n"
    "\n"
    "Commands:\n"
    "  put ACTION RESOURCE [JSON]  Append an item (ACTION upsert|delete,\n"
    "                              RESOURCE archive|statements|entities)\n"
    "  list                        Print every item as a JSON line, in order\n"
    "  pop                         Print the first item (not removed; exit 1 if empty)\n"
    "  ack KEY                     Remove a processed item\n"
    "  count                       Print the number of items\n";

static int with_queue(lh_cli *cli, lh_queue **q)
{
    lh_error err;
    const char *ds;
    lh_storage *st;
    if (lh_cli_dataset(cli, &ds, &err) != LH_OK || lh_cli_storage(cli, &st, &err) != LH_OK ||
        lh_queue_open(st, ds, NULL, q, &err) != LH_OK)
        return lh_cli_fail(cli, &err);
    return -1;
}

/* A JSON string, or null for a field the item lacks: anystore's Queue
 * stores any JSON object, so a foreign producer's item may have no action
 * or resource (lh_queue_get leaves them NULL). */
static void append_str_or_null(lh_buf *b, const char *s)
{
    if (s) lh_buf_append_json_str(b, s, strlen(s));
    else lh_buf_append_str(b, "null");
}

static void print_item(const lh_queue_item *it)
{
    lh_buf line = LH_BUF_INIT;
    lh_buf_append_str(&line, "{\"key\": ");
    lh_buf_append_json_str(&line, it->key, strlen(it->key));
    lh_buf_append_str(&line, ", \"action\": ");
    append_str_or_null(&line, it->action);
    lh_buf_append_str(&line, ", \"resource\": ");
    append_str_or_null(&line, it->resource);
    lh_buf_printf(&line, ", \"payload\": %s, \"created_at\": ", it->payload ? it->payload : "null");
    if (it->created_at == LH_QUEUE_NO_TIME) {
        lh_buf_append_str(&line, "null");
    } else {
        char iso[LH_ISO_MAX];
        lh_time_format_iso_py(it->created_at, 1, iso);
        lh_buf_printf(&line, "\"%s\"", iso);
    }
    lh_buf_append_str(&line, "}\n");
    fputs(line.data, stdout);
    lh_buf_free(&line);
}

static lh_status print_fn(void *ctx, const lh_queue_item *it, lh_error *err)
{
    (*(size_t *)ctx)++;
    print_item(it);
    return LH_OK;
}

static int cmd_put(lh_cli *cli, int argc, char **argv)
{
    if (argc < 3 || argc > 4) return lh_cli_usage_error(cli, "expected ACTION RESOURCE [JSON]");
    lh_queue *q;
    int u = with_queue(cli, &q);
    if (u >= 0) return u;
    lh_error err;
    char key[LH_QUEUE_KEY_MAX];
    lh_status rc = lh_queue_put(q, argv[1], argv[2], argc == 4 ? argv[3] : NULL, key, &err);
    lh_queue_free(q);
    if (rc != LH_OK) return lh_cli_fail(cli, &err);
    printf("%s\n", key);
    return 0;
}

static int cmd_list(lh_cli *cli, int argc, char **argv)
{
    if (argc != 1) return lh_cli_usage_error(cli, "unexpected argument `%s`", argv[1]);
    lh_queue *q;
    int u = with_queue(cli, &q);
    if (u >= 0) return u;
    lh_error err;
    size_t n = 0;
    lh_status rc = lh_queue_iterate(q, print_fn, &n, &err);
    lh_queue_free(q);
    return rc == LH_OK ? 0 : lh_cli_fail(cli, &err);
}

static int cmd_pop(lh_cli *cli, int argc, char **argv)
{
    if (argc != 1) return lh_cli_usage_error(cli, "unexpected argument `%s`", argv[1]);
    lh_queue *q;
    int u = with_queue(cli, &q);
    if (u >= 0) return u;
    lh_error err;
    lh_queue_item it;
    memset(&it, 0, sizeof it);
    bool found = false;
    lh_status rc = lh_queue_pop(q, &it, &found, &err);
    if (rc == LH_OK && found) print_item(&it);
    lh_queue_item_free(&it);
    lh_queue_free(q);
    if (rc != LH_OK) return lh_cli_fail(cli, &err);
    return found ? 0 : 1;
}

static int cmd_ack(lh_cli *cli, int argc, char **argv)
{
    if (argc != 2) return lh_cli_usage_error(cli, "expected KEY");
    lh_queue *q;
    int u = with_queue(cli, &q);
    if (u >= 0) return u;
    lh_error err;
    lh_status rc = lh_queue_ack(q, argv[1], &err);
    lh_queue_free(q);
    return rc == LH_OK ? 0 : lh_cli_fail(cli, &err);
}

static int cmd_count(lh_cli *cli, int argc, char **argv)
{
    if (argc != 1) return lh_cli_usage_error(cli, "unexpected argument `%s`", argv[1]);
    lh_queue *q;
    int u = with_queue(cli, &q);
    if (u >= 0) return u;
    lh_error err;
    lh_strlist keys;
    lh_strlist_init(&keys);
    lh_status rc = lh_queue_keys(q, &keys, &err);
    if (rc == LH_OK) printf("%zu\n", keys.len);
    lh_strlist_free(&keys);
    lh_queue_free(q);
    return rc == LH_OK ? 0 : lh_cli_fail(cli, &err);
}

static const lh_cmd CMDS[] = {
    {"put", cmd_put, NULL, false},   {"list", cmd_list, NULL, false},   {"pop", cmd_pop, NULL, false},
    {"ack", cmd_ack, NULL, false},   {"count", cmd_count, NULL, false}, {NULL, NULL, NULL, false},
};

int lh_cmd_queue(lh_cli *cli, int argc, char **argv)
{
    return lh_cli_dispatch(cli, argv[0], HELP, CMDS, argc, argv);
}
