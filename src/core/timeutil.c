#include "lh/core/timeutil.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t lh_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t lh_monotonic_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Howard Hinnant's civil-date algorithms. */
int64_t lh_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

void lh_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static void split(int64_t us, int64_t *days, int64_t *sec_of_day, int64_t *frac)
{
    int64_t secs = us / 1000000;
    *frac = us % 1000000;
    if (*frac < 0) {
        *frac += 1000000;
        secs--;
    }
    *days = secs / 86400;
    *sec_of_day = secs % 86400;
    if (*sec_of_day < 0) {
        *sec_of_day += 86400;
        (*days)--;
    }
}

static char *put_digits(char *p, int64_t v, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return p + width;
}

static void format(int64_t us, int always_frac, const char *suffix, char out[LH_ISO_MAX])
{
    int64_t days, sod, frac, y;
    unsigned m, d;
    split(us, &days, &sod, &frac);
    lh_civil_from_days(days, &y, &m, &d);
    if (y < 0 || y > 9999) { /* rare: let printf spell the sign and width */
        int n = snprintf(out, LH_ISO_MAX, "%04lld-%02u-%02uT%02d:%02d:%02d", (long long)y, m, d,
                         (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60));
        if (n < 0) n = 0;
        if (always_frac || frac)
            n += snprintf(out + n, (size_t)(LH_ISO_MAX - n), ".%06lld", (long long)frac);
        snprintf(out + n, (size_t)(LH_ISO_MAX - n), "%s", suffix);
        return;
    }
    /* exports format a timestamp per statement: digits by hand, not printf */
    char *p = put_digits(out, y, 4);
    *p++ = '-';
    p = put_digits(p, m, 2);
    *p++ = '-';
    p = put_digits(p, d, 2);
    *p++ = 'T';
    p = put_digits(p, sod / 3600, 2);
    *p++ = ':';
    p = put_digits(p, sod / 60 % 60, 2);
    *p++ = ':';
    p = put_digits(p, sod % 60, 2);
    if (always_frac || frac) {
        *p++ = '.';
        p = put_digits(p, frac, 6);
    }
    size_t k = strlen(suffix);
    memcpy(p, suffix, k + 1);
}

void lh_time_format_iso(int64_t us, char out[LH_ISO_MAX])
{
    format(us, 1, "", out);
}

void lh_time_format_iso_py(int64_t us, int aware, char out[LH_ISO_MAX])
{
    format(us, 0, aware ? "+00:00" : "", out);
}

static int digits(const char *s, size_t n, size_t *pos, int count, int *val)
{
    int v = 0;
    for (int i = 0; i < count; i++) {
        if (*pos >= n || s[*pos] < '0' || s[*pos] > '9') return 0;
        v = v * 10 + (s[(*pos)++] - '0');
    }
    *val = v;
    return 1;
}

static int days_in_month(int y, int mo)
{
    static const int DAYS[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return mo == 2 && leap ? 29 : DAYS[mo - 1];
}

lh_status lh_time_parse_iso(const char *s, size_t n, int64_t *us, lh_error *err)
{
    size_t p = 0;
    int y, mo, d, h = 0, mi = 0, se = 0;
    int64_t frac = 0;
    if (!digits(s, n, &p, 4, &y) || p >= n || s[p++] != '-' || !digits(s, n, &p, 2, &mo) ||
        p >= n || s[p++] != '-' || !digits(s, n, &p, 2, &d))
        goto bad;
    /* as Python's fromisoformat: a real day of years 1 to 9999 */
    if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo)) goto bad;
    if (p < n && (s[p] == 'T' || s[p] == ' ')) {
        p++;
        if (!digits(s, n, &p, 2, &h) || p >= n || s[p++] != ':' || !digits(s, n, &p, 2, &mi))
            goto bad;
        if (p < n && s[p] == ':') {
            p++;
            if (!digits(s, n, &p, 2, &se)) goto bad;
            if (p < n && (s[p] == '.' || s[p] == ',')) {
                p++;
                int nd = 0;
                while (p < n && s[p] >= '0' && s[p] <= '9') {
                    if (nd < 6) frac = frac * 10 + (s[p] - '0');
                    nd++;
                    p++;
                }
                if (nd == 0 || nd > 9) goto bad;
                for (int i = nd; i < 6; i++) frac *= 10;
            }
        }
        if (h > 23 || mi > 59 || se > 59) goto bad;
    }
    int64_t offset_s = 0;
    if (p < n && (s[p] == 'Z' || s[p] == 'z')) {
        p++;
    } else if (p < n && (s[p] == '+' || s[p] == '-')) {
        int sign = s[p++] == '-' ? -1 : 1, oh, om = 0;
        if (!digits(s, n, &p, 2, &oh)) goto bad;
        if (p < n && s[p] == ':') p++;
        if (p < n && !digits(s, n, &p, 2, &om)) goto bad;
        offset_s = sign * (oh * 3600 + om * 60);
        if (oh * 3600 + om * 60 >= 86400) goto bad; /* Python: less than a day */
    }
    if (p != n) goto bad;
    int64_t days = lh_days_from_civil(y, (unsigned)mo, (unsigned)d);
    *us = ((days * 86400 + h * 3600 + mi * 60 + se) - offset_s) * 1000000 + frac;
    return LH_OK;
bad:
    return lh_error_set(err, LH_ERR_INVALID, "not an ISO-8601 timestamp: \"%.*s\"",
                        (int)(n > 64 ? 64 : n), s);
}

void lh_time_format_compact(int64_t us, char out[LH_TS_COMPACT_MAX])
{
    char iso[LH_ISO_MAX];
    lh_time_format_iso(us, iso); /* 2024-05-01T12:34:56.123456 */
    size_t n = 0;
    for (const char *p = iso; *p && n < LH_TS_COMPACT_MAX - 2; p++)
        if (*p >= '0' && *p <= '9') out[n++] = *p;
        else if (*p == 'T') out[n++] = 'T';
    out[n++] = 'Z';
    out[n] = 0;
}

lh_status lh_time_parse_compact(const char *s, size_t n, int64_t *us, lh_error *err)
{
    /* YYYYmmddTHHMMSS then 1..6 fraction digits, then Z */
    char iso[LH_ISO_MAX];
    size_t nd = 0;
    if (n < 17 || n > 22 || s[8] != 'T' || s[n - 1] != 'Z') goto bad;
    for (size_t i = 0; i < n - 1; i++)
        if (i != 8 && (s[i] < '0' || s[i] > '9')) goto bad;
    nd = n - 16;
    snprintf(iso, sizeof iso, "%.4s-%.2s-%.2sT%.2s:%.2s:%.2s.%.*s", s, s + 4, s + 6, s + 9,
             s + 11, s + 13, (int)nd, s + 15);
    return lh_time_parse_iso(iso, strlen(iso), us, err);
bad:
    return lh_error_set(err, LH_ERR_INVALID, "not a YYYYmmddTHHMMSSffffffZ timestamp: \"%.*s\"",
                        (int)(n > 64 ? 64 : n), s);
}
