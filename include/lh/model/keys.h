/* Derived keys of a statement, computed exactly as the reference does:
 * the statement id (followthemoney Statement.make_key), the shard partition
 * (ftm_lakehouse helpers/shards.py) and the bucket (ftmq get_schema_bucket). */
#ifndef LH_MODEL_KEYS_H
#define LH_MODEL_KEYS_H

#include <stdbool.h>

#include "lh/core/hash.h"
#include "lh/model/model.h"

/* The entity-id pseudo property: one checksum statement per entity. */
#define LH_BASE_ID "id"
/* Origin the reference stamps when none is given (ftmq DEFAULT_ORIGIN), and
 * the default of the bulk import commands (ftm_lakehouse cli BULK_ORIGIN). */
#define LH_DEFAULT_ORIGIN "default"
#define LH_BULK_ORIGIN "bulk"

/* SHA-1 hex of "{dataset}.{entity_id}.{prop}.{value}", with "@{lang}" after
 * the value when lang is not NULL and ".ext" at the end when external. The
 * caller drops lang for non-linguistic types first (lh_type_has_lang). */
void lh_statement_key(const char *dataset, const char *entity_id, const char *prop,
                      const char *value, const char *lang, bool external,
                      char out[LH_SHA1_HEX_LEN + 1]);

/* Whether statements of this property type keep their lang (followthemoney
 * NON_LANG_TYPE_NAMES: entity, date, checksum, email, phone, gender, mimetype,
 * topic, url, country, language, ip and the "id" pseudo type have none). */
bool lh_type_has_lang(const char *type);

#define LH_SHARD_MAX 16
/* Hex digits of a shard key for a shard count: that of shards-1 (1 for <= 16). */
int lh_shard_width(int shards);
/* "0" when shards <= 1, else int(sha1_hex(entity_id)[:8], 16) % shards as
 * zero-padded lowercase hex of lh_shard_width(shards) digits. */
void lh_shard_key(const char *entity_id, int shards, char out[LH_SHARD_MAX]);

/* Bucket of a schema: "page", "mention", "document", "interval" for schemata
 * that are (in that order of precedence) a Page, Mention, Document,
 * Interval; "thing" otherwise (and for NULL). */
const char *lh_schema_bucket(const lh_schema *s);

#endif
