/* Country names: the `values` map of the embedded model's country type,
 * copied into a sorted table on first use (the JSON tree is released). */
#include "lh/model/countries.h"

#include <ctype.h>
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
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static int by_code(const void *a, const void *b)
{
    return strcmp(((const country *)a)->code, ((const country *)b)->code);
}

static void load(void)
{
    json_t *root =
        json_loadb((const char *)lh_model_embedded_json, lh_model_embedded_json_len, 0, NULL);
    json_t *values = json_object_get(json_object_get(json_object_get(root, "types"), "country"),
                                     "values");
    g_table = lh_calloc(json_object_size(values) + 1, sizeof *g_table);
    const char *code;
    json_t *name;
    json_object_foreach(values, code, name)
    {
        if (!json_is_string(name) || strlen(code) >= sizeof g_table[0].code) continue;
        strcpy(g_table[g_len].code, code);
        g_table[g_len++].name = lh_strdup(json_string_value(name));
    }
    qsort(g_table, g_len, sizeof *g_table, by_code);
    json_decref(root);
}

const char *lh_country_name(const char *code)
{
    pthread_once(&g_once, load);
    if (!code) return NULL;
    country key;
    size_t n = strlen(code);
    if (n >= sizeof key.code) return NULL;
    for (size_t i = 0; i <= n; i++) key.code[i] = (char)tolower((unsigned char)code[i]);
    country *hit = bsearch(&key, g_table, g_len, sizeof *g_table, by_code);
    return hit ? hit->name : NULL;
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
