/* A partition file written on the relay's thread (relay.h), fed batch by
 * batch: the caller fills one batch while the other is encoded and
 * compressed. The part writer is opened with the first row and touched
 * only by the relay's thread until lh_relay_wait returned. */
#include <stdlib.h>

#include "lh/core/mem.h"
#include "lh/storage/relay.h"
#include "pstore_internal.h"

/* A batch is sent at this many rows or arena bytes, whichever comes
 * first: big enough to amortise the hand-over, small enough that pages of
 * long text do not pile up. */
#define PIPE_ROWS 16384
#define PIPE_BYTES (32u << 20)

struct lh_part_pipe {
    lh_pstore *ps;
    char *prefix;
    bool data_change;
    lh_part_writer *pw;
    lh_relay *relay;
    lh_stmt_batch fill; /* the batch the caller appends to */
};

static lh_status write_batch(void *ctx, lh_stmt_batch *b, lh_error *err)
{
    lh_part_pipe *p = ctx;
    if (!p->pw)
        LH_TRY(lh_part_writer_open(p->ps, p->prefix, &b->rows[0], p->data_change, &p->pw, err));
    return lh_part_writer_add(p->pw, b->rows, b->len, err);
}

lh_part_pipe *lh_part_pipe_new(lh_pstore *ps, const char *prefix, bool data_change,
                               bool threaded)
{
    lh_part_pipe *p = lh_calloc(1, sizeof *p);
    p->ps = ps;
    p->prefix = lh_strdup(prefix);
    p->data_change = data_change;
    p->relay = lh_relay_new(write_batch, p, threaded);
    lh_stmt_batch_init(&p->fill);
    return p;
}

lh_stmt_batch *lh_part_pipe_batch(lh_part_pipe *p)
{
    return &p->fill;
}

bool lh_part_pipe_full(const lh_part_pipe *p)
{
    return p->fill.len >= PIPE_ROWS || lh_stmt_batch_bytes(&p->fill) >= PIPE_BYTES;
}

lh_status lh_part_pipe_send(lh_part_pipe *p, lh_error *err)
{
    return lh_relay_send(p->relay, &p->fill, err);
}

lh_status lh_part_pipe_finish(lh_part_pipe *p, lh_arena *arena, lh_delta_add *add,
                              bool *has_add, lh_error *err)
{
    *has_add = false;
    LH_TRY(lh_relay_send(p->relay, &p->fill, err));
    LH_TRY(lh_relay_wait(p->relay, err));
    if (!p->pw) return LH_OK;
    LH_TRY(lh_part_writer_finish(p->pw, arena, add, err));
    *has_add = true;
    return LH_OK;
}

void lh_part_pipe_free(lh_part_pipe *p)
{
    if (!p) return;
    lh_relay_free(p->relay); /* joins: pw is ours again */
    lh_part_writer_free(p->pw);
    lh_stmt_batch_free(&p->fill);
    free(p->prefix);
    free(p);
}
