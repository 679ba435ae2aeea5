/* followthemoney YAML schema folders (LAKEHOUSE_FTM_MODEL=<dir>): each file is
 * a mapping of schema name -> definition. Files are converted into the JSON
 * tree model.c builds from; scalars follow YAML 1.1 safe_load typing for the
 * plain style (booleans, integers, null), quoted scalars stay strings. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <yaml.h>

#include "lh/core/mem.h"
#include "lh/core/str.h"
#include "model/model_internal.h"

static json_t *plain_scalar(const char *s, size_t n)
{
    static const char *const yes[] = {"true", "yes", "on", "y"};
    static const char *const no[] = {"false", "no", "off", "n"};
    if (n == 0 || !strcmp(s, "~") || !strcasecmp(s, "null")) return json_null();
    for (size_t i = 0; i < 4; i++) {
        if (!strcasecmp(s, yes[i])) return json_true();
        if (!strcasecmp(s, no[i])) return json_false();
    }
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (*end == '\0' && errno == 0 && (s[0] != '0' || n == 1)) return json_integer(v);
    return json_stringn(s, n);
}

static json_t *convert(yaml_document_t *doc, yaml_node_t *node, int depth)
{
    if (!node || depth > 64) return NULL;
    switch (node->type) {
    case YAML_SCALAR_NODE: {
        const char *s = (const char *)node->data.scalar.value;
        size_t n = node->data.scalar.length;
        if (node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) return plain_scalar(s, n);
        return json_stringn(s, n);
    }
    case YAML_SEQUENCE_NODE: {
        json_t *arr = json_array();
        for (yaml_node_item_t *it = node->data.sequence.items.start;
             it < node->data.sequence.items.top; it++) {
            json_t *v = convert(doc, yaml_document_get_node(doc, *it), depth + 1);
            if (!v) {
                json_decref(arr);
                return NULL;
            }
            json_array_append_new(arr, v);
        }
        return arr;
    }
    case YAML_MAPPING_NODE: {
        json_t *obj = json_object();
        for (yaml_node_pair_t *p = node->data.mapping.pairs.start;
             p < node->data.mapping.pairs.top; p++) {
            yaml_node_t *k = yaml_document_get_node(doc, p->key);
            json_t *v = convert(doc, yaml_document_get_node(doc, p->value), depth + 1);
            if (!k || k->type != YAML_SCALAR_NODE || !v) {
                json_decref(v);
                json_decref(obj);
                return NULL;
            }
            json_object_set_new(obj, (const char *)k->data.scalar.value, v);
        }
        return obj;
    }
    default:
        return NULL;
    }
}

static lh_status load_file(const char *path, json_t *schemata, lh_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) return lh_error_errno(err, LH_ERR_IO, errno, "open %s", path);
    yaml_parser_t parser;
    yaml_document_t doc;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_file(&parser, f);
    lh_status rc = LH_OK;
    if (!yaml_parser_load(&parser, &doc)) {
        rc = lh_error_set(err, LH_ERR_INVALID, "%s:%zu: %s", path, parser.problem_mark.line + 1,
                          parser.problem ? parser.problem : "YAML error");
        yaml_parser_delete(&parser);
        fclose(f);
        return rc;
    }
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    json_t *tree = root ? convert(&doc, root, 0) : NULL;
    if (!json_is_object(tree)) {
        rc = lh_error_set(err, LH_ERR_INVALID, "%s: model file is not a mapping", path);
    } else {
        const char *name;
        json_t *spec;
        json_object_foreach(tree, name, spec) {
            if (json_object_get(schemata, name)) {
                rc = lh_error_set(err, LH_ERR_INVALID, "%s: schema %s defined twice", path, name);
                break;
            }
            json_object_set(schemata, name, spec);
        }
    }
    json_decref(tree);
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    fclose(f);
    return rc;
}

static lh_status walk(const char *dir, json_t *schemata, int depth, lh_error *err)
{
    if (depth > 16) return lh_error_set(err, LH_ERR_INVALID, "%s: folders nested too deep", dir);
    DIR *d = opendir(dir);
    if (!d) return lh_error_errno(err, LH_ERR_IO, errno, "open %s", dir);
    lh_strlist names;
    lh_strlist_init(&names);
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.') lh_strlist_push(&names, e->d_name);
    closedir(d);
    lh_strlist_sort(&names); /* deterministic duplicate reports */
    lh_status rc = LH_OK;
    for (size_t i = 0; i < names.len && rc == LH_OK; i++) {
        char *path = lh_asprintf("%s/%s", dir, names.items[i]);
        struct stat st;
        if (stat(path, &st) != 0) rc = lh_error_errno(err, LH_ERR_IO, errno, "stat %s", path);
        else if (S_ISDIR(st.st_mode)) rc = walk(path, schemata, depth + 1, err);
        else if (lh_str_endswith(path, ".yml") || lh_str_endswith(path, ".yaml"))
            rc = load_file(path, schemata, err);
        free(path);
    }
    lh_strlist_free(&names);
    return rc;
}

lh_status lh_model_yaml_dir(const char *dir, json_t **out, lh_error *err)
{
    *out = NULL;
    json_t *schemata = json_object();
    lh_status rc = walk(dir, schemata, 0, err);
    if (rc != LH_OK) {
        json_decref(schemata);
        return rc;
    }
    json_error_t jerr;
    json_t *embedded = json_loadb((const char *)lh_model_embedded_json,
                                  lh_model_embedded_json_len, 0, &jerr);
    if (!embedded) {
        json_decref(schemata);
        return lh_error_set(err, LH_ERR_INTERNAL, "embedded model: %s", jerr.text);
    }
    json_t *root = json_object();
    json_object_set_new(root, "schemata", schemata);
    json_object_set(root, "types", json_object_get(embedded, "types"));
    json_object_set_new(root, "version", json_string("custom"));
    json_decref(embedded);
    *out = root;
    return LH_OK;
}
