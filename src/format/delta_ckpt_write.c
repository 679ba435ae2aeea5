/* Writing V1 checkpoints needs a nested parquet writer. */
#include "format/delta_internal.h"

lh_status lh_delta_checkpoint_write(lh_storage *st, const lh_delta_snapshot *s, lh_error *err)
{
    (void)st;
    (void)s;
    return lh_error_set(err, LH_ERR_UNSUPPORTED, "writing checkpoints needs a nested parquet writer");
}
