/* MIME types as the reference's documents export has them: guessed from a
 * file name by Python's mimetypes (its built-in tables, then the system's
 * mime.types files, as mimetypes reads them) and normalised by rigour
 * (`rigour.mime.normalize_mimetype`). Tables: scripts/gen-mime. */
#ifndef LH_REPOSITORY_MIME_H
#define LH_REPOSITORY_MIME_H

#include <stddef.h>

#define LH_MIME_DEFAULT "application/octet-stream"

/* The normal form of text (NULL or blank: LH_MIME_DEFAULT); caller frees. */
char *lh_mime_normalize(const char *text);
/* The normal type guessed from a file name's last two suffixes (`.tar.gz`),
 * LH_MIME_DEFAULT when there is none; caller frees. */
char *lh_mime_guess(const char *name);
/* The first of mimes that is not LH_MIME_DEFAULT once normalised, else the
 * guess from name: the reference's pick_mime; caller frees. */
char *lh_mime_pick(const char *const *mimes, size_t n, const char *name);

#endif
