/* Job run records (jobs.h). */
#include "lh/repository/jobs.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lh/core/buf.h"
#include "lh/core/mem.h"
#include "lh/core/timeutil.h"
#include "lh/core/uuid.h"

struct lh_job {
    lh_storage *st;
    char *key;
    char *dataset, *type;
    char run_id[LH_UUID_STR_LEN + 1];
    int64_t started, stopped, last_updated; /* µs; INT64_MIN: none */
    int64_t pending, done, errors;
    bool running;
    char *exc; /* NULL: not stopped yet (JSON null) */
    json_t *fields;
};

void lh_job_format_duration(int64_t us, char *out, size_t n)
{
    if (us < 0) us = 0;
    const int64_t day = 86400LL * 1000000, hour = 3600LL * 1000000, minute = 60LL * 1000000;
    int64_t days = us / day, rest = us % day;
    int64_t h = rest / hour, m = rest % hour / minute, s = rest % minute;
    lh_buf b = LH_BUF_INIT;
    lh_buf_append_byte(&b, 'P');
    if (days) lh_buf_printf(&b, "%" PRId64 "D", days);
    if (rest || !days) {
        lh_buf_append_byte(&b, 'T');
        if (h) lh_buf_printf(&b, "%" PRId64 "H", h);
        if (m) lh_buf_printf(&b, "%" PRId64 "M", m);
        if (s || (!h && !m)) {
            lh_buf_printf(&b, "%" PRId64, s / 1000000);
            if (s % 1000000) {
                char frac[8];
                snprintf(frac, sizeof frac, "%06" PRId64, s % 1000000);
                size_t len = strlen(frac);
                while (len && frac[len - 1] == '0') frac[--len] = '\0';
                lh_buf_printf(&b, ".%s", frac);
            }
            lh_buf_append_byte(&b, 'S');
        }
    }
    snprintf(out, n, "%s", b.data);
    lh_buf_free(&b);
}

/* pydantic's form of an aware UTC datetime: "...T12:59:06.858922Z". */
static json_t *when(int64_t us)
{
    if (us == INT64_MIN) return json_null();
    char iso[LH_ISO_MAX];
    lh_time_format_iso_py(us, 1, iso);
    size_t n = strlen(iso);
    if (n > 6 && strcmp(iso + n - 6, "+00:00") == 0) strcpy(iso + n - 6, "Z");
    return json_string(iso);
}

static lh_status write_record(lh_job *j, lh_error *err)
{
    json_t *o = json_object();
    json_object_set_new(o, "run_id", json_string(j->run_id));
    json_object_set_new(o, "started", when(j->started));
    json_object_set_new(o, "stopped", when(j->stopped));
    json_object_set_new(o, "last_updated", when(j->last_updated));
    json_object_set_new(o, "pending", json_integer(j->pending));
    json_object_set_new(o, "done", json_integer(j->done));
    json_object_set_new(o, "errors", json_integer(j->errors));
    json_object_set_new(o, "running", json_boolean(j->running));
    json_object_set_new(o, "exc", j->exc ? json_string(j->exc) : json_null());
    char took[64];
    lh_job_format_duration(j->stopped != INT64_MIN ? j->stopped - j->started : 0, took,
                           sizeof took);
    json_object_set_new(o, "took", json_string(took));
    json_object_set_new(o, "dataset", json_string(j->dataset));
    const char *k;
    json_t *v;
    json_object_foreach(j->fields, k, v) json_object_set(o, k, v);
    json_object_set_new(o, "name", json_string(j->type));
    char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!text) lh_out_of_memory_for("a job record");
    lh_status rc = lh_storage_write(j->st, j->key, text, strlen(text), err);
    free(text);
    return rc;
}

lh_status lh_job_start(lh_storage *st, const char *dataset, const char *type, json_t *fields,
                       int64_t now_us, lh_job **out, lh_error *err)
{
    *out = NULL;
    lh_uuid u;
    lh_status rc = lh_uuid7_draft_new(now_us * 1000, &u, err);
    if (rc != LH_OK) {
        json_decref(fields);
        return rc;
    }
    lh_job *j = lh_calloc(1, sizeof *j);
    j->st = st;
    j->dataset = lh_strdup(dataset);
    j->type = lh_strdup(type);
    lh_uuid_format(&u, j->run_id);
    j->key = lh_asprintf("%s/jobs/runs/%s/%s.json", dataset, type, j->run_id);
    j->fields = fields ? fields : json_object();
    j->started = now_us;
    j->stopped = j->last_updated = INT64_MIN;
    j->running = true;
    rc = write_record(j, err);
    if (rc != LH_OK) {
        lh_error_prefix(err, "recording the %s run", type);
        lh_job_free(j);
        return rc;
    }
    *out = j;
    return LH_OK;
}

json_t *lh_job_fields(lh_job *j)
{
    return j->fields;
}

void lh_job_add_done(lh_job *j, int64_t n)
{
    j->done += n;
}

void lh_job_set_pending(lh_job *j, int64_t n)
{
    j->pending = n;
}

lh_status lh_job_save(lh_job *j, int64_t now_us, lh_error *err)
{
    j->last_updated = now_us;
    return write_record(j, err);
}

lh_status lh_job_stop(lh_job *j, const lh_error *failure, int64_t now_us, lh_error *err)
{
    j->running = false;
    j->stopped = now_us;
    free(j->exc);
    j->exc = lh_strdup(failure ? failure->msg : "None");
    return write_record(j, err);
}

void lh_job_free(lh_job *j)
{
    if (!j) return;
    json_decref(j->fields);
    free(j->exc);
    free(j->key);
    free(j->dataset);
    free(j->type);
    free(j);
}
