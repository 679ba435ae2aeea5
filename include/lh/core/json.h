/* JSON text parsed with jansson, its errors said for people: the column,
 * and for a string holding a NUL character (jansson refuses "\u0000", as
 * we do: our strings end at NUL) the field that holds it. */
#ifndef LH_CORE_JSON_H
#define LH_CORE_JSON_H

#include <jansson.h>
#include <stddef.h>

#include "lh/core/error.h"

/* text[0..n) as a JSON value (jansson's flags; JSON_ALLOW_NUL is not
 * one), or NULL with LH_ERR_INVALID in err. The caller json_decref's. */
json_t *lh_json_parse(const char *text, size_t n, size_t flags, lh_error *err);

#endif
