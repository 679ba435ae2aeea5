/* Batch relay (relay.h): a condition variable hands one batch at a time
 * from the producer to the consumer thread. */
#include "lh/storage/relay.h"

#include <pthread.h>
#include <stdlib.h>

#include "lh/core/mem.h"

struct lh_relay {
    lh_relay_fn fn;
    void *ctx;
    bool threaded, started;
    pthread_t thread;
    pthread_mutex_t mu; /* guards what follows */
    pthread_cond_t cv;
    lh_stmt_batch slot; /* the batch in flight, or the empty spare */
    bool full, closing;
    lh_status rc; /* the consumer's first error */
    lh_error err;
};

static void *relay_main(void *arg)
{
    lh_relay *r = arg;
    for (;;) {
        pthread_mutex_lock(&r->mu);
        while (!r->full && !r->closing) pthread_cond_wait(&r->cv, &r->mu);
        if (!r->full) { /* closing, nothing left */
            pthread_mutex_unlock(&r->mu);
            return NULL;
        }
        bool failed = r->rc != LH_OK;
        pthread_mutex_unlock(&r->mu);

        lh_error err;
        lh_error_clear(&err);
        /* after a failure later batches are dropped: the producer learns of
         * the error at its next send */
        lh_status rc = failed ? LH_OK : r->fn(r->ctx, &r->slot, &err);
        lh_stmt_batch_clear(&r->slot);

        pthread_mutex_lock(&r->mu);
        if (rc != LH_OK) {
            r->rc = rc;
            r->err = err;
        }
        r->full = false;
        pthread_cond_broadcast(&r->cv);
        pthread_mutex_unlock(&r->mu);
    }
}

lh_relay *lh_relay_new(lh_relay_fn fn, void *ctx, bool threaded)
{
    lh_relay *r = lh_calloc(1, sizeof *r);
    r->fn = fn;
    r->ctx = ctx;
    r->threaded = threaded;
    r->rc = LH_OK;
    lh_stmt_batch_init(&r->slot);
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    return r;
}

lh_status lh_relay_send(lh_relay *r, lh_stmt_batch *b, lh_error *err)
{
    if (!b->len) return lh_relay_wait(r, err);
    if (r->threaded && !r->started) {
        if (pthread_create(&r->thread, NULL, relay_main, r) == 0) r->started = true;
        else r->threaded = false; /* no thread to be had: consume here */
    }
    if (!r->started) {
        if (r->rc != LH_OK) {
            *err = r->err;
            return r->rc;
        }
        lh_status rc = r->fn(r->ctx, b, err);
        lh_stmt_batch_clear(b);
        if (rc != LH_OK) {
            r->rc = rc;
            r->err = *err;
        }
        return rc;
    }
    pthread_mutex_lock(&r->mu);
    while (r->full) pthread_cond_wait(&r->cv, &r->mu);
    lh_status rc = r->rc;
    if (rc != LH_OK) {
        *err = r->err;
    } else {
        lh_stmt_batch spare = r->slot; /* empty: the consumer cleared it */
        r->slot = *b;
        *b = spare;
        r->full = true;
        pthread_cond_broadcast(&r->cv);
    }
    pthread_mutex_unlock(&r->mu);
    return rc;
}

lh_status lh_relay_wait(lh_relay *r, lh_error *err)
{
    pthread_mutex_lock(&r->mu);
    while (r->full) pthread_cond_wait(&r->cv, &r->mu);
    lh_status rc = r->rc;
    if (rc != LH_OK) *err = r->err;
    pthread_mutex_unlock(&r->mu);
    return rc;
}

void lh_relay_free(lh_relay *r)
{
    if (!r) return;
    if (r->started) {
        pthread_mutex_lock(&r->mu);
        r->closing = true;
        pthread_cond_broadcast(&r->cv);
        pthread_mutex_unlock(&r->mu);
        pthread_join(r->thread, NULL);
    }
    lh_stmt_batch_free(&r->slot);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
    free(r);
}
