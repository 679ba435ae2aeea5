/* Country names for ISO codes, from the FtM model's `country` type (the
 * names ftmq's statistics label countries with). */
#ifndef LH_MODEL_COUNTRIES_H
#define LH_MODEL_COUNTRIES_H

/* English name of code (case-insensitive), or NULL if the model has none. */
const char *lh_country_name(const char *code);

/* The model's code for a code (any case) or an English country name (any
 * case), or NULL: a narrow form of the FtM country type's cleaning. */
const char *lh_country_code(const char *text);

#endif
