/* The dataset model of the reference (its DatasetModel: ftmq's Dataset
 * and the lakehouse fields) as JSON, read from `{name}/config.yml`: what
 * `datasets` prints and `index.json` publishes. */
#ifndef LH_REPOSITORY_DATASET_MODEL_H
#define LH_REPOSITORY_DATASET_MODEL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "lh/core/error.h"
#include "lh/core/storage.h"
#include "lh/core/stream_codec.h"

/* Every field in the reference's order: config.yml's values (a missing
 * file or field takes the default: title = name, empty lists, zero
 * statistics, shards 0, the rest null), unknown keys dropped as the
 * reference drops them, name and uri (the dataset's location) set.
 * LH_ERR_CORRUPT names config.yml and the field when a value has a type
 * the reference refuses. *out: a new reference. */
lh_status lh_dataset_model_load(lh_storage *st, const char *name, json_t **out,
                                lh_error *err);

/* The codec the model's `compression` asks exports to be written with
 * (LH_STREAM_PLAIN when none); the loader has checked its name. */
lh_stream_codec lh_dataset_model_codec(const json_t *model);

/* A URL as the reference's models hold one (pydantic's HttpUrl): scheme
 * and host in lower case, the scheme's default port dropped, a path of at
 * least "/", the rest percent-encoded as the URL standard encodes it. Not
 * a URL: a copy as it is. The caller frees. */
char *lh_dataset_model_url(const char *url);

/* As the reference cleans a model it writes (anystore's clean_dict): nulls
 * and empty strings go, objects cleaned to nothing go, lists stay (their
 * null items go). */
void lh_dataset_model_clean(json_t *obj);

/* Merge the settings of a YAML document (text, named what in errors) into
 * `{name}/config.yml` as the reference's `configure` does: each field the
 * document sets (name, uri and storage aside, as the reference sets them
 * aside; unknown keys ignored), validated as
 * the model validates it, replaces the stored one, and the whole model,
 * cleaned, is written back as YAML through the versions store
 * (versions.h). A shard count other than the stored one is refused
 * (LH_ERR_INVALID) when the dataset has a table (has_table): `maintenance
 * shard` re-shards. *out (may be NULL): the model written. */
lh_status lh_dataset_configure(lh_storage *st, const char *name, const char *text, size_t len,
                               const char *what, bool has_table, int64_t now_us, json_t **out,
                               lh_error *err);

#endif
