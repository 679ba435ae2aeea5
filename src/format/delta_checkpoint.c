/* Delta checkpoints. Reading needs the nested parquet reader and writing a
 * nested parquet writer; until they exist both report LH_ERR_UNSUPPORTED, so
 * snapshots replay JSON commits only. */
#include <inttypes.h>

#include "format/delta_internal.h"

lh_status lh_delta_checkpoint_load(lh_delta_snapshot *s, const lh_delta_ckpt_ref *c,
                                   lh_error *err)
{
    (void)s;
    return lh_error_set(err, LH_ERR_UNSUPPORTED,
                        "reading checkpoint %020" PRId64 " needs the parquet reader", c->version);
}

lh_status lh_delta_checkpoint_write(lh_storage *st, const lh_delta_snapshot *s, lh_error *err)
{
    (void)st;
    (void)s;
    return lh_error_set(err, LH_ERR_UNSUPPORTED, "writing checkpoints needs a nested parquet writer");
}
