/* YAML documents (config.yml) as JSON values, read as the reference reads
 * them (PyYAML's safe_load): plain scalars resolve to null (~, null, empty),
 * booleans (true/false, yes/no, on/off in their three spellings), integers
 * and floats; quoted scalars and everything else are strings (dates stay
 * strings). Anchors and aliases are refused. Key order is kept. */
#ifndef LH_CORE_YAML_H
#define LH_CORE_YAML_H

#include <jansson.h>
#include <stddef.h>

#include "lh/core/buf.h"
#include "lh/core/error.h"

/* The first document of text (an empty one is null) into *out (caller
 * json_decref's); LH_ERR_CORRUPT names what and the line when it does not
 * parse. */
lh_status lh_yaml_load(const char *text, size_t len, const char *what, json_t **out,
                       lh_error *err);

/* v as a block-style YAML document (keys sorted, as PyYAML's dump sorts
 * them) appended to out; text that would read back as another type
 * (numbers, booleans, null, dates) is quoted, so lh_yaml_load and PyYAML
 * read back v. */
lh_status lh_yaml_dump(json_t *v, lh_buf *out, lh_error *err);

#endif
