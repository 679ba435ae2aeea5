/* A batch consumer on a thread of its own: the producer fills the next
 * batch of statements while the consumer handles the one before. One batch
 * is in flight; it is taken by swapping, nothing is copied. The consumer's
 * first error stops it: later sends return that error, as does wait. */
#ifndef LH_STORAGE_RELAY_H
#define LH_STORAGE_RELAY_H

#include "lh/core/error.h"
#include "lh/model/statement.h"

/* Handles one batch (on the relay's thread, one call at a time, in order).
 * The batch is the relay's: fn may reorder it; it is cleared afterwards. */
typedef lh_status (*lh_relay_fn)(void *ctx, lh_stmt_batch *batch, lh_error *err);

typedef struct lh_relay lh_relay;

/* threaded false (or no thread to be had): fn runs inside send. */
lh_relay *lh_relay_new(lh_relay_fn fn, void *ctx, bool threaded);
/* Hand over b's rows; b comes back empty (its capacity swapped for the
 * relay's spare). Waits while a batch is in flight. An empty b is not sent. */
lh_status lh_relay_send(lh_relay *r, lh_stmt_batch *b, lh_error *err);
/* Wait until the batch in flight is handled; the consumer's error, if any.
 * After LH_OK every batch sent has been accepted. */
lh_status lh_relay_wait(lh_relay *r, lh_error *err);
/* Wait, stop the thread, free. */
void lh_relay_free(lh_relay *r);

#endif
