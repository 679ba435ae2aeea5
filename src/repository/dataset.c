/* Datasets: config.yml, listing. */
#include "lh/repository/dataset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "lh/core/buf.h"
#include "lh/core/mem.h"

static char *config_key(const char *name)
{
    lh_buf b = LH_BUF_INIT;
    lh_buf_printf(&b, "%s/config.yml", name);
    return lh_buf_detach(&b, NULL);
}

static lh_status yaml_error(const char *key, const yaml_parser_t *parser, lh_error *err)
{
    return lh_error_set(err, LH_ERR_CORRUPT, "%s:%zu: %s", key, parser->problem_mark.line + 1,
                        parser->problem ? parser->problem : "malformed YAML");
}

/* Top-level scalar `key: value` pairs of a YAML mapping; nested values are
 * skipped. */
static lh_status parse_config(const char *key, const lh_buf *text, lh_dataset_config *cfg,
                              lh_error *err)
{
    yaml_parser_t parser;
    yaml_event_t ev;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text->data, text->len);
    int depth = 0;
    bool want_key = true;
    char *cur = NULL;
    lh_status rc = LH_OK;
    for (;;) {
        if (!yaml_parser_parse(&parser, &ev)) {
            rc = yaml_error(key, &parser, err);
            break;
        }
        yaml_event_type_t t = ev.type;
        if (t == YAML_MAPPING_START_EVENT || t == YAML_SEQUENCE_START_EVENT) {
            depth++;
            if (depth > 1) want_key = true;
        } else if (t == YAML_MAPPING_END_EVENT || t == YAML_SEQUENCE_END_EVENT) {
            depth--;
            if (depth == 1) {
                want_key = true;
                free(cur);
                cur = NULL;
            }
        } else if (t == YAML_SCALAR_EVENT && depth == 1) {
            const char *v = (const char *)ev.data.scalar.value;
            if (want_key) {
                free(cur);
                cur = lh_strdup(v);
                want_key = false;
            } else {
                if (strcmp(cur, "shards") == 0) {
                    char *end;
                    long s = strtol(v, &end, 10);
                    if (*end || s < 0 || s > 1 << 20)
                        rc = lh_error_set(err, LH_ERR_CORRUPT, "%s: shards: not a count: `%s`",
                                          key, v);
                    cfg->shards = (int)s;
                } else if (strcmp(cur, "name") == 0) {
                    free(cfg->name);
                    cfg->name = lh_strdup(v);
                }
                free(cur);
                cur = NULL;
                want_key = true;
            }
        }
        bool end = t == YAML_STREAM_END_EVENT;
        yaml_event_delete(&ev);
        if (end || rc != LH_OK) break;
    }
    free(cur);
    yaml_parser_delete(&parser);
    return rc;
}

lh_status lh_dataset_config_read(lh_storage *st, const char *name, lh_dataset_config *cfg,
                                 lh_error *err)
{
    memset(cfg, 0, sizeof *cfg);
    LH_TRY(lh_name_check(name, "dataset", false, err));
    char *key = config_key(name);
    lh_buf text = LH_BUF_INIT;
    lh_status rc = lh_storage_read(st, key, &text, err);
    if (rc == LH_ERR_NOT_FOUND) {
        rc = LH_OK;
    } else if (rc == LH_OK) {
        cfg->exists = true;
        rc = parse_config(key, &text, cfg, err);
    }
    if (!cfg->name) cfg->name = lh_strdup(name);
    lh_buf_free(&text);
    free(key);
    return rc;
}

/* The config.yml of a new dataset. */
static void new_config(lh_buf *yml, const char *name, int shards)
{
    lh_buf_printf(yml, "name: %s\nshards: %d\n", name, shards);
}

lh_status lh_dataset_check_shards(const lh_dataset_config *cfg, const char *name, int shards,
                                  lh_error *err)
{
    if (!cfg->exists || shards < 0 || shards == cfg->shards) return LH_OK;
    return lh_error_set(err, LH_ERR_CONFLICT,
                        "dataset `%s` has %d shards (config.yml), not %d: `maintenance shard "
                        "--shards %d` re-shards it", name, cfg->shards, shards, shards);
}

lh_status lh_dataset_name_check(const char *name, lh_error *err)
{
    LH_TRY(lh_name_check(name, "dataset", false, err));
    if (strcmp(name, "catalog") == 0 || strcmp(name, "default") == 0)
        return lh_error_set(err, LH_ERR_INVALID, "dataset name `%s` is reserved", name);
    /* FtM's rule (the slug of itself): runs of a-z and 0-9, one _ between */
    bool ok = true;
    for (const char *p = name; *p && ok; p++) {
        bool alnum = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9');
        ok = alnum || (*p == '_' && p > name && p[-1] != '_' && p[1]);
    }
    if (!ok)
        return lh_error_set(err, LH_ERR_INVALID,
                            "dataset name `%s`: only a-z, 0-9 and single underscores between "
                            "them, as FollowTheMoney names datasets", name);
    return LH_OK;
}

lh_status lh_dataset_ensure(lh_storage *st, const char *name, int shards,
                            lh_dataset_config *cfg, lh_error *err)
{
    /* Created by another process between the read and the put: read
     * again. Twice more at most: a key that is there but never reads
     * as a file (a folder in its place) would loop forever. */
    for (int attempt = 0;; attempt++) {
        LH_TRY(lh_dataset_config_read(st, name, cfg, err));
        if (cfg->exists) return lh_dataset_check_shards(cfg, name, shards, err);
        /* new names only: a dataset an older version made stays usable */
        LH_TRY(lh_dataset_name_check(name, err));
        cfg->shards = shards < 0 ? 0 : shards;
        lh_buf yml = LH_BUF_INIT;
        new_config(&yml, name, cfg->shards);
        char *key = config_key(name);
        lh_status rc = lh_storage_put_if_absent(st, key, yml.data, yml.len, err);
        lh_buf_free(&yml);
        if (rc == LH_ERR_EXISTS && attempt == 2)
            rc = lh_error_set(err, LH_ERR_CORRUPT, "%s is there but cannot be read as a file",
                              key);
        free(key);
        if (rc == LH_OK) cfg->exists = true;
        if (rc != LH_ERR_EXISTS) return rc;
        lh_dataset_config_free(cfg);
    }
}

static int emit_to_buf(void *ctx, unsigned char *data, size_t n)
{
    lh_buf_append(ctx, data, n);
    return 1;
}

static bool emit_scalar(yaml_emitter_t *em, const char *text)
{
    yaml_event_t ev;
    return yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)text, -1, 1, 1,
                                        YAML_PLAIN_SCALAR_STYLE) &&
           yaml_emitter_emit(em, &ev);
}

/* The YAML of text with the top-level `shards` set to count (added at the
 * end of the mapping when missing); every other event is re-emitted as
 * parsed. */
static lh_status with_shards(const char *key, const lh_buf *text, int count, lh_buf *out,
                             lh_error *err)
{
    yaml_parser_t parser;
    yaml_emitter_t em;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text->data, text->len);
    yaml_emitter_initialize(&em);
    yaml_emitter_set_output(&em, emit_to_buf, out);
    yaml_emitter_set_unicode(&em, 1);
    yaml_emitter_set_width(&em, -1);
    char num[16];
    snprintf(num, sizeof num, "%d", count);
    int depth = 0;
    bool want_key = true, replace_next = false, done = false;
    lh_status rc = LH_OK;
    for (;;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev)) {
            rc = yaml_error(key, &parser, err);
            break;
        }
        yaml_event_type_t t = ev.type;
        bool ok = true, end = t == YAML_STREAM_END_EVENT;
        if (t == YAML_DOCUMENT_START_EVENT && done) {
            yaml_event_delete(&ev);
            rc = lh_error_set(err, LH_ERR_CORRUPT, "%s: more than one YAML document", key);
            break;
        }
        if (depth == 0 && (t == YAML_SCALAR_EVENT || t == YAML_SEQUENCE_START_EVENT ||
                           t == YAML_ALIAS_EVENT)) {
            yaml_event_delete(&ev);
            rc = lh_error_set(err, LH_ERR_CORRUPT, "%s:%zu: not a mapping of settings", key,
                              parser.mark.line + 1);
            break;
        }
        if (replace_next) {
            replace_next = false;
            want_key = true;
            if (t != YAML_SCALAR_EVENT) {
                yaml_event_delete(&ev);
                rc = lh_error_set(err, LH_ERR_CORRUPT, "%s:%zu: shards: not a count", key,
                                  parser.mark.line + 1);
                break;
            }
            yaml_event_delete(&ev);
            ok = emit_scalar(&em, num);
        } else if (t == YAML_MAPPING_END_EVENT && depth == 1) {
            if (!done) ok = emit_scalar(&em, "shards") && emit_scalar(&em, num);
            done = true;
            depth--;
            ok = ok && yaml_emitter_emit(&em, &ev);
        } else {
            if (t == YAML_MAPPING_START_EVENT || t == YAML_SEQUENCE_START_EVENT) {
                if (depth == 1) want_key = !want_key; /* a nested value */
                depth++;
            } else if (t == YAML_MAPPING_END_EVENT || t == YAML_SEQUENCE_END_EVENT) {
                depth--;
                if (depth == 1) want_key = true;
            } else if ((t == YAML_SCALAR_EVENT || t == YAML_ALIAS_EVENT) && depth == 1) {
                if (want_key && t == YAML_SCALAR_EVENT &&
                    strcmp((const char *)ev.data.scalar.value, "shards") == 0) {
                    replace_next = true;
                    done = true;
                }
                want_key = !want_key;
            }
            ok = yaml_emitter_emit(&em, &ev); /* takes the event */
        }
        if (!ok) {
            rc = lh_error_set(err, LH_ERR_INTERNAL, "%s: YAML: %s", key,
                              em.problem ? em.problem : "cannot emit");
            break;
        }
        if (end) break;
    }
    yaml_emitter_delete(&em);
    yaml_parser_delete(&parser);
    if (rc == LH_OK && !done) { /* an empty file */
        lh_buf_reset(out);
        lh_buf_printf(out, "shards: %d\n", count);
    }
    return rc;
}

lh_status lh_dataset_set_shards(lh_storage *st, const char *name, int shards, lh_error *err)
{
    LH_TRY(lh_name_check(name, "dataset", false, err));
    char *key = config_key(name);
    lh_buf text = LH_BUF_INIT, out = LH_BUF_INIT;
    lh_status rc = lh_storage_read(st, key, &text, err);
    if (rc == LH_ERR_NOT_FOUND) {
        rc = LH_OK;
        new_config(&out, name, shards);
    } else if (rc == LH_OK) {
        rc = with_shards(key, &text, shards, &out, err);
    }
    if (rc == LH_OK) rc = lh_storage_write(st, key, out.data, out.len, err);
    lh_buf_free(&text);
    lh_buf_free(&out);
    free(key);
    return rc;
}

void lh_dataset_config_free(lh_dataset_config *cfg)
{
    free(cfg->name);
    cfg->name = NULL;
}

lh_status lh_dataset_list(lh_storage *st, lh_strlist *out, lh_error *err)
{
    lh_strlist dirs;
    lh_strlist_init(&dirs);
    lh_status rc = lh_storage_list(st, "", LH_LIST_DIRS, &dirs, err);
    for (size_t i = 0; rc == LH_OK && i < dirs.len; i++) {
        const char *d = dirs.items[i];
        size_t n = strlen(d);
        if (n < 2 || d[n - 1] != '/' || d[0] == '.' || d[0] == '_') continue;
        lh_buf probe = LH_BUF_INIT;
        bool cfg = false, table = false;
        lh_buf_printf(&probe, "%.*sconfig.yml", (int)n, d);
        rc = lh_storage_exists(st, probe.data, &cfg, err);
        lh_buf_reset(&probe);
        lh_buf_printf(&probe, "%.*sstatements/_delta_log", (int)n, d);
        if (rc == LH_OK && !cfg) {
            lh_strlist log;
            lh_strlist_init(&log);
            rc = lh_storage_list(st, probe.data, 0, &log, err);
            table = log.len > 0;
            lh_strlist_free(&log);
        }
        if (rc == LH_OK && (cfg || table)) lh_strlist_push_owned(out, lh_strndup(d, n - 1));
        lh_buf_free(&probe);
    }
    lh_strlist_free(&dirs);
    lh_strlist_sort(out);
    return rc;
}
