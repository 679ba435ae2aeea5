/* Country names: for every identifier rigour's territory lookup takes
 * (ISO and other codes, alpha-3, Wikidata ids: the labels ftmq's statistics
 * give), and the FtM model's `country` type. */
#ifndef LH_MODEL_COUNTRIES_H
#define LH_MODEL_COUNTRIES_H

/* English name of code (case, `_` for `-` and surrounding blanks ignored,
 * as rigour cleans one), or NULL for none (rigour also takes names, in many
 * languages: those are not known here). */
const char *lh_country_name(const char *code);

/* The model's code for a code (any case) or an English country name (any
 * case), or NULL: a narrow form of the FtM country type's cleaning. */
const char *lh_country_code(const char *text);

#endif
