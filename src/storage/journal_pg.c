/* PostgreSQL journal backend (placeholder until the libpq backend lands). */
#include "storage/journal_impl.h"

lh_status lh_journal_pg_open(const char *conninfo, lh_journal **out, lh_journal *proto,
                             lh_error *err)
{
    (void)conninfo;
    (void)proto;
    *out = NULL;
    return lh_error_set(err, LH_ERR_UNSUPPORTED, "postgresql journal not built yet");
}
