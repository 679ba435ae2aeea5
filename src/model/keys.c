/* Statement id, shard and bucket: byte-exact with the Python reference. */
#include "lh/model/keys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void lh_statement_key(const char *dataset, const char *entity_id, const char *prop,
                      const char *value, const char *lang, bool external,
                      char out[LH_SHA1_HEX_LEN + 1])
{
    lh_sha1_ctx *c = lh_sha1_new();
    lh_sha1_update(c, dataset, strlen(dataset));
    lh_sha1_update(c, ".", 1);
    lh_sha1_update(c, entity_id, strlen(entity_id));
    lh_sha1_update(c, ".", 1);
    lh_sha1_update(c, prop, strlen(prop));
    lh_sha1_update(c, ".", 1);
    lh_sha1_update(c, value, strlen(value));
    if (lang) {
        lh_sha1_update(c, "@", 1);
        lh_sha1_update(c, lang, strlen(lang));
    }
    if (external) lh_sha1_update(c, ".ext", 4);
    lh_sha1_final_hex(c, out);
    lh_sha1_free(c);
}

bool lh_type_has_lang(const char *type)
{
    static const char *const non_lang[] = {"entity",   "date",  "checksum", "email", "phone",
                                           "gender",   "mimetype", "topic", "url",   "country",
                                           "language", "ip",    "id"};
    if (!type) return true;
    for (size_t i = 0; i < sizeof non_lang / sizeof *non_lang; i++)
        if (!strcmp(type, non_lang[i])) return false;
    return true;
}

int lh_shard_width(int shards)
{
    if (shards <= 1) return 1;
    int bits = 0;
    for (unsigned v = (unsigned)(shards - 1); v; v >>= 1) bits++;
    int w = (bits + 3) / 4;
    return w < 1 ? 1 : w;
}

void lh_shard_key(const char *entity_id, int shards, char out[LH_SHARD_MAX])
{
    if (shards <= 1) {
        strcpy(out, "0");
        return;
    }
    char hex[LH_SHA1_HEX_LEN + 1];
    lh_sha1_hex(entity_id, strlen(entity_id), hex);
    hex[8] = '\0';
    unsigned long v = strtoul(hex, NULL, 16) % (unsigned long)shards;
    snprintf(out, LH_SHARD_MAX, "%0*lx", lh_shard_width(shards), v);
}

const char *lh_schema_bucket(const lh_schema *s)
{
    if (lh_schema_is_a(s, "Page")) return "page";
    if (lh_schema_is_a(s, "Mention")) return "mention";
    if (lh_schema_is_a(s, "Document")) return "document";
    if (lh_schema_is_a(s, "Interval")) return "interval";
    return "thing";
}
