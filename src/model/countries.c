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

typedef struct country {
    char code[16];
    char *name;
} country;

static country *g_table;
static size_t g_len;
/* rigour's identifiers and ASCII names: the labels ftmq gives */
static country *g_terr;
static size_t g_terr_len;
typedef struct named {
    char *key; /* normalised */
    char *name;
} named;
static named *g_names;
static size_t g_names_len;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static int by_code(const void *a, const void *b)
{
    return strcmp(((const country *)a)->code, ((const country *)b)->code);
}

static country *table_of(json_t *map, size_t *len)
{
    country *table = lh_calloc(json_object_size(map) + 1, sizeof *table);
    *len = 0;
    const char *code;
    json_t *name;
    json_object_foreach(map, code, name)
    {
        if (!json_is_string(name) || strlen(code) >= sizeof table[0].code) continue;
        strcpy(table[*len].code, code);
        table[(*len)++].name = lh_strdup(json_string_value(name));
    }
    qsort(table, *len, sizeof *table, by_code);
    return table;
}

static int by_key(const void *a, const void *b)
{
    return strcmp(((const named *)a)->key, ((const named *)b)->key);
}

static void load_names(json_t *map)
{
    g_names = lh_calloc(json_object_size(map) + 1, sizeof *g_names);
    const char *key;
    json_t *name;
    json_object_foreach(map, key, name)
    {
        if (!json_is_string(name)) continue;
        g_names[g_names_len].key = lh_strdup(key);
        g_names[g_names_len++].name = lh_strdup(json_string_value(name));
    }
    qsort(g_names, g_names_len, sizeof *g_names, by_key);
}

static void load(void)
{
    json_t *root =
        json_loadb((const char *)lh_model_embedded_json, lh_model_embedded_json_len, 0, NULL);
    json_t *values = json_object_get(json_object_get(json_object_get(root, "types"), "country"),
                                     "values");
    g_table = table_of(values, &g_len);
    g_terr = table_of(json_object_get(root, "territory_codes"), &g_terr_len);
    load_names(json_object_get(root, "territory_names"));
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
    named probe = {key, NULL};
    named *hit = k ? bsearch(&probe, g_names, g_names_len, sizeof *g_names, by_key) : NULL;
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
    country key;
    if (n < sizeof key.code) {
        for (size_t i = 0; i < n; i++)
            key.code[i] = code[i] == '_' ? '-' : (char)tolower((unsigned char)code[i]);
        key.code[n] = '\0';
        country *hit = bsearch(&key, g_terr, g_terr_len, sizeof *g_terr, by_code);
        if (!hit) hit = bsearch(&key, g_table, g_len, sizeof *g_table, by_code);
        if (hit) return hit->name;
    }
    return name_lookup(code, n);
}

const char *lh_country_code(const char *text)
{
    pthread_once(&g_once, load);
    if (!text) return NULL;
    country key;
    size_t n = strlen(text);
    if (n < sizeof key.code) {
        for (size_t i = 0; i <= n; i++) key.code[i] = (char)tolower((unsigned char)text[i]);
        country *hit = bsearch(&key, g_table, g_len, sizeof *g_table, by_code);
        if (hit) return hit->code;
    }
    for (size_t i = 0; i < g_len; i++) /* a name: rare, so a scan */
        if (strcasecmp(g_table[i].name, text) == 0) return g_table[i].code;
    return NULL;
}
