/* A partition file written on a thread of its own, fed batch by batch.
 * Double buffered: the caller fills one batch while the writer encodes the
 * other, so at most two batches are in memory. The writer's first error
 * stops the writing; the batches still sent are dropped and the error
 * comes back to the caller at the next send or at finish. */
#include <pthread.h>
#include <stdlib.h>

#include "lh/core/mem.h"
#include "pstore_internal.h"

/* A batch is sent at this many rows or arena bytes, whichever comes
 * first: big enough to amortise the hand-over, small enough that pages of
 * long text do not pile up. */
#define PIPE_ROWS 16384
#define PIPE_BYTES (32u << 20)

struct lh_part_pipe {
    lh_pstore *ps;
    char *prefix;
    bool data_change, threaded;
    lh_stmt_batch batches[2];
    int fill; /* the batch the caller appends to */
    lh_part_writer *pw; /* the writer's; the caller's again once joined */
    bool started;
    pthread_t thread;
    /* under mu */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int queued; /* the batch handed to the writer, or -1 */
    bool closing;
    lh_status wrc;
    lh_error werr;
};

static lh_status write_batch(lh_part_pipe *p, const lh_stmt_batch *b, lh_error *err)
{
    if (!b->len) return LH_OK;
    if (!p->pw)
        LH_TRY(lh_part_writer_open(p->ps, p->prefix, &b->rows[0], p->data_change, &p->pw, err));
    return lh_part_writer_add(p->pw, b->rows, b->len, err);
}

static void *writer_main(void *arg)
{
    lh_part_pipe *p = arg;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        while (p->queued < 0 && !p->closing) pthread_cond_wait(&p->cv, &p->mu);
        if (p->queued < 0) { /* closing and drained */
            pthread_mutex_unlock(&p->mu);
            return NULL;
        }
        lh_stmt_batch *b = &p->batches[p->queued];
        bool failed = p->wrc != LH_OK;
        pthread_mutex_unlock(&p->mu);

        lh_error err;
        lh_error_clear(&err);
        lh_status rc = failed ? LH_OK : write_batch(p, b, &err);
        lh_stmt_batch_clear(b);

        pthread_mutex_lock(&p->mu);
        if (rc != LH_OK) {
            p->wrc = rc;
            p->werr = err;
        }
        p->queued = -1;
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
    }
}

lh_part_pipe *lh_part_pipe_new(lh_pstore *ps, const char *prefix, bool data_change,
                               bool threaded)
{
    lh_part_pipe *p = lh_calloc(1, sizeof *p);
    p->ps = ps;
    p->prefix = lh_strdup(prefix);
    p->data_change = data_change;
    p->threaded = threaded;
    lh_stmt_batch_init(&p->batches[0]);
    lh_stmt_batch_init(&p->batches[1]);
    p->queued = -1;
    p->wrc = LH_OK;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    return p;
}

lh_stmt_batch *lh_part_pipe_batch(lh_part_pipe *p)
{
    return &p->batches[p->fill];
}

bool lh_part_pipe_full(const lh_part_pipe *p)
{
    const lh_stmt_batch *b = &p->batches[p->fill];
    return b->len >= PIPE_ROWS || b->arena.total >= PIPE_BYTES;
}

/* The writer's error, if any, into err. */
static lh_status writer_status(lh_part_pipe *p, lh_error *err)
{
    pthread_mutex_lock(&p->mu);
    lh_status rc = p->wrc;
    if (rc != LH_OK) *err = p->werr;
    pthread_mutex_unlock(&p->mu);
    return rc;
}

lh_status lh_part_pipe_send(lh_part_pipe *p, lh_error *err)
{
    lh_stmt_batch *b = &p->batches[p->fill];
    if (!b->len) return writer_status(p, err);
    if (!p->threaded) {
        lh_status rc = write_batch(p, b, err);
        lh_stmt_batch_clear(b);
        return rc;
    }
    if (!p->started) {
        if (pthread_create(&p->thread, NULL, writer_main, p) != 0) {
            /* no thread to be had: write here, as without `threaded` */
            p->threaded = false;
            return lh_part_pipe_send(p, err);
        }
        p->started = true;
    }
    pthread_mutex_lock(&p->mu);
    while (p->queued >= 0) pthread_cond_wait(&p->cv, &p->mu);
    lh_status rc = p->wrc;
    if (rc != LH_OK) {
        *err = p->werr;
        lh_stmt_batch_clear(b);
    } else {
        p->queued = p->fill;
        p->fill ^= 1; /* the other batch is free: the writer cleared it */
        pthread_cond_broadcast(&p->cv);
    }
    pthread_mutex_unlock(&p->mu);
    return rc;
}

/* Stop the writer thread after the batch in flight. */
static void join_writer(lh_part_pipe *p)
{
    if (!p->started) return;
    pthread_mutex_lock(&p->mu);
    p->closing = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->thread, NULL);
    p->started = false;
}

lh_status lh_part_pipe_finish(lh_part_pipe *p, lh_arena *arena, lh_delta_add *add,
                              bool *has_add, lh_error *err)
{
    *has_add = false;
    lh_status rc = lh_part_pipe_send(p, err);
    join_writer(p);
    if (rc == LH_OK) rc = writer_status(p, err);
    if (rc != LH_OK || !p->pw) return rc;
    LH_TRY(lh_part_writer_finish(p->pw, arena, add, err));
    *has_add = true;
    return LH_OK;
}

void lh_part_pipe_free(lh_part_pipe *p)
{
    if (!p) return;
    join_writer(p);
    lh_part_writer_free(p->pw);
    lh_stmt_batch_free(&p->batches[0]);
    lh_stmt_batch_free(&p->batches[1]);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p->prefix);
    free(p);
}
