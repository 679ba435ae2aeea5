#include "lh/core/uuid.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "lh/core/str.h"
#include "lh/core/timeutil.h"

static lh_status random_bytes(void *dst, size_t n, lh_error *err)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom((char *)dst + got, n - got, 0);
        if (r < 0) {
            if (errno == EINTR) continue;
            return lh_error_errno(err, LH_ERR_IO, errno, "getrandom");
        }
        got += (size_t)r;
    }
    return LH_OK;
}

/* Monotonic state: last millisecond and the 12-bit counter within it (RFC
 * 9562 method 1). Not thread-safe by design: callers serialize. */
static int64_t last_ms = -1;
static uint16_t seq;

lh_status lh_uuid7_new(lh_uuid *out, lh_error *err)
{
    LH_TRY(random_bytes(out->b, sizeof out->b, err));
    int64_t ms = lh_now_us() / 1000;
    if (ms <= last_ms) {
        ms = last_ms;
        if (++seq > 0x0FFF) { /* counter exhausted: borrow the next ms */
            ms++;
            seq = 0;
        }
    } else {
        seq = (uint16_t)(((out->b[6] & 0x07) << 8) | out->b[7]); /* random start, leaves headroom */
    }
    last_ms = ms;
    for (int i = 0; i < 6; i++) out->b[i] = (uint8_t)(ms >> (40 - 8 * i));
    out->b[6] = (uint8_t)(0x70 | ((seq >> 8) & 0x0F));
    out->b[7] = (uint8_t)seq;
    out->b[8] = (uint8_t)(0x80 | (out->b[8] & 0x3F));
    return LH_OK;
}

/* The draft layout's state: the last (t1, t2, t3) and the counter. */
static uint64_t draft_last[3];
static uint16_t draft_seq;

lh_status lh_uuid7_draft_new(int64_t ns, lh_uuid *out, lh_error *err)
{
    LH_TRY(random_bytes(out->b, sizeof out->b, err));
    const uint64_t sixteen_secs = 16000000000ull;
    uint64_t t = (uint64_t)ns;
    uint64_t t1 = t / sixteen_secs, rest1 = t % sixteen_secs;
    uint64_t t2 = (rest1 << 16) / sixteen_secs, rest2 = (rest1 << 16) % sixteen_secs;
    uint64_t t3 = ((rest2 << 12) / sixteen_secs) | (7u << 12);
    if (t1 == draft_last[0] && t2 == draft_last[1] && t3 == draft_last[2]) {
        if (draft_seq < 0x3FFF) draft_seq++;
    } else {
        draft_last[0] = t1;
        draft_last[1] = t2;
        draft_last[2] = t3;
        draft_seq = 0;
    }
    uint64_t t4 = (2u << 14) | draft_seq;
    for (int i = 0; i < 4; i++) out->b[i] = (uint8_t)(t1 >> (24 - 8 * i));
    out->b[4] = (uint8_t)(t2 >> 8);
    out->b[5] = (uint8_t)t2;
    out->b[6] = (uint8_t)(t3 >> 8);
    out->b[7] = (uint8_t)t3;
    out->b[8] = (uint8_t)(t4 >> 8);
    out->b[9] = (uint8_t)t4; /* b[10..16): random */
    return LH_OK;
}

lh_status lh_uuid4_new(lh_uuid *out, lh_error *err)
{
    LH_TRY(random_bytes(out->b, sizeof out->b, err));
    out->b[6] = (uint8_t)(0x40 | (out->b[6] & 0x0F));
    out->b[8] = (uint8_t)(0x80 | (out->b[8] & 0x3F));
    return LH_OK;
}

void lh_uuid_format(const lh_uuid *u, char out[LH_UUID_STR_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out[o++] = '-';
        out[o++] = hex[u->b[i] >> 4];
        out[o++] = hex[u->b[i] & 15];
    }
    out[o] = '\0';
}

lh_status lh_uuid_parse(const char *s, lh_uuid *out, lh_error *err)
{
    if (strlen(s) != LH_UUID_STR_LEN) goto bad;
    size_t o = 0;
    for (size_t i = 0; i < LH_UUID_STR_LEN;) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-') goto bad;
            i++;
            continue;
        }
        int hi = lh_hex_value(s[i]), lo = lh_hex_value(s[i + 1]);
        if (hi < 0 || lo < 0) goto bad;
        out->b[o++] = (uint8_t)(hi << 4 | lo);
        i += 2;
    }
    return LH_OK;
bad:
    return lh_error_set(err, LH_ERR_INVALID, "not a UUID: \"%.64s\"", s);
}

int64_t lh_uuid7_ms(const lh_uuid *u)
{
    int64_t ms = 0;
    for (int i = 0; i < 6; i++) ms = (ms << 8) | u->b[i];
    return ms;
}
