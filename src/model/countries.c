/* Country names: the `values` map of the embedded model's country type and
 * its `territory_codes` and `territory_names` (rigour's territory lookup,
 * scripts/gen-model), copied into sorted tables on first use (the JSON tree
 * is released). */
#include "lh/model/countries.h"

#include <ctype.h>
#include <stdbool.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "lh/core/mem.h"

extern const unsigned char lh_model_embedded_json[];
extern const size_t lh_model_embedded_json_len;

/* A key (a code, or a normalised name) and the English name it labels. */
typedef struct entry {
    char *key;
    char *name;
} entry;

/* Sorted by key: the model's codes, rigour's identifiers, rigour's ASCII
 * names (the labels ftmq gives). */
typedef struct table {
    entry *items;
    size_t len;
} table;

static table g_model, g_codes, g_names;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static int by_key(const void *a, const void *b)
{
    return strcmp(((const entry *)a)->key, ((const entry *)b)->key);
}

static table table_of(json_t *map)
{
    table t = {lh_calloc(json_object_size(map) + 1, sizeof *t.items), 0};
    const char *key;
    json_t *name;
    json_object_foreach(map, key, name)
    {
        if (!json_is_string(name)) continue;
        t.items[t.len].key = lh_strdup(key);
        t.items[t.len++].name = lh_strdup(json_string_value(name));
    }
    qsort(t.items, t.len, sizeof *t.items, by_key);
    return t;
}

static const entry *find(const table *t, char *key)
{
    entry probe = {key, NULL};
    return bsearch(&probe, t->items, t->len, sizeof *t->items, by_key);
}

static void load(void)
{
    json_t *root =
        json_loadb((const char *)lh_model_embedded_json, lh_model_embedded_json_len, 0, NULL);
    json_t *values = json_object_get(json_object_get(json_object_get(root, "types"), "country"),
                                     "values");
    g_model = table_of(values);
    g_codes = table_of(json_object_get(root, "territory_codes"));
    g_names = table_of(json_object_get(root, "territory_names"));
    json_decref(root);
}

/* A name, normalised as rigour's normalize_territory_name does ASCII text:
 * lower case, `.()[],;:_-/'` dropped, any other non-alphanumeric a blank,
 * blanks squashed and trimmed. Text beyond ASCII is not looked up (rigour
 * transliterates it first). */
static const char *name_lookup(const char *text, size_t n)
{
    char *key = lh_malloc(n + 1);
    size_t k = 0;
    bool blank = false;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)text[i];
        if (ch >= 0x80) {
            free(key);
            return NULL;
        }
        if (strchr(".()[],;:_-/'", ch) && ch) continue;
        if (!isalnum(ch)) {
            blank = k > 0;
            continue;
        }
        if (blank) key[k++] = ' ';
        blank = false;
        key[k++] = (char)tolower(ch);
    }
    key[k] = '\0';
    const entry *hit = k ? find(&g_names, key) : NULL;
    free(key);
    return hit ? hit->name : NULL;
}

const char *lh_country_name(const char *code)
{
    pthread_once(&g_once, load);
    if (!code) return NULL;
    /* cleaned as rigour cleans an identifier: case, `_` as `-`, blanks */
    while (isspace((unsigned char)*code)) code++;
    size_t n = strlen(code);
    while (n && isspace((unsigned char)code[n - 1])) n--;
    char *key = lh_malloc(n + 1);
    for (size_t i = 0; i < n; i++)
        key[i] = code[i] == '_' ? '-' : (char)tolower((unsigned char)code[i]);
    key[n] = '\0';
    const entry *hit = find(&g_codes, key);
    if (!hit) hit = find(&g_model, key);
    free(key);
    return hit ? hit->name : name_lookup(code, n);
}

const char *lh_country_code(const char *text)
{
    pthread_once(&g_once, load);
    if (!text) return NULL;
    char *key = lh_strdup(text);
    for (char *p = key; *p; p++) *p = (char)tolower((unsigned char)*p);
    const entry *hit = find(&g_model, key);
    free(key);
    if (hit) return hit->key;
    for (size_t i = 0; i < g_model.len; i++) /* a name: rare, so a scan */
        if (strcasecmp(g_model.items[i].name, text) == 0) return g_model.items[i].key;
    return NULL;
}
