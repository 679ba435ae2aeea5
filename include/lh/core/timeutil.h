/* Time: microseconds since the Unix epoch, UTC, and ISO-8601 text. */
#ifndef LH_CORE_TIMEUTIL_H
#define LH_CORE_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>
#include "lh/core/error.h"

#define LH_ISO_MAX 40

int64_t lh_now_us(void);      /* wall clock */
int64_t lh_monotonic_us(void);

/* "2024-05-01T12:34:56.123456" (no zone suffix, always 6 fraction digits),
 * the form Python's datetime.isoformat() gives a naive UTC value with µs. */
void lh_time_format_iso(int64_t us, char out[LH_ISO_MAX]);
/* Same with an explicit "+00:00" suffix, Python's form for aware UTC values;
 * fraction omitted when zero, as isoformat() does. */
void lh_time_format_iso_py(int64_t us, int aware, char out[LH_ISO_MAX]);

/* Parse ISO-8601: date, optional time ('T' or ' '), optional fraction (up to
 * 9 digits, truncated to µs), optional 'Z' or ±HH:MM / ±HHMM offset (converted
 * to UTC; no offset means UTC). */
lh_status lh_time_parse_iso(const char *s, size_t n, int64_t *us, lh_error *err);

/* "20240501T123456123456Z": the reference's file-name timestamp (Python
 * strftime "%Y%m%dT%H%M%S%fZ", UTC), for diff files and series states. */
#define LH_TS_COMPACT_MAX 24
void lh_time_format_compact(int64_t us, char out[LH_TS_COMPACT_MAX]);
/* Parse that form (1 to 6 fraction digits, as strptime's %f takes them). */
lh_status lh_time_parse_compact(const char *s, size_t n, int64_t *us, lh_error *err);

/* Days since epoch <-> civil date (proleptic Gregorian). */
int64_t lh_days_from_civil(int64_t y, unsigned m, unsigned d);
void lh_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d);

#endif
