/* The display name of an entity with several names, as followthemoney's
 * caption picks it (rigour's pick_name). */
#ifndef LH_MODEL_NAMES_H
#define LH_MODEL_NAMES_H

#include <stddef.h>

/* One of names (n of them, UTF-8) or NULL when none is usable (all blank):
 * the names' case-folded forms ranked by their weighted Levenshtein
 * similarity to the others (a mostly Latin name weighs up to twice a
 * name in another script), then within the winning form the most Latin,
 * best-cased, shortest, byte-wise first spelling; a single mostly-Latin
 * name among them wins outright. rigour also lets a Cyrillic, Greek, ...
 * name vote for its ASCII transliteration, which this does not do: in a
 * bag of names in several scripts it can pick another one. */
const char *lh_pick_name(const char *const *names, size_t n);

/* The Levenshtein distance of two UTF-8 strings in code points, over the
 * first 384 of each (rigour's cap), the one lh_pick_name ranks by. */
size_t lh_names_distance(const char *a, const char *b);

#endif
