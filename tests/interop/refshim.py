"""Run the Python reference (ftm-lakehouse 0.9.0) offline.

The reference reads its Delta tables through DuckDB's ``delta_scan``, which
DuckDB downloads as an extension at run time; this machine has no route to
the extension server and PyPI carries no build for DuckDB 1.5.x. Importing
this module replaces that one SQL fragment with an equivalent scan: the live
files of the table's current Delta snapshot (listed by deltalake, the same
log replay delta_scan performs) read with ``read_parquet``, with the
partition columns taken from the snapshot's partition values. Everything else
in the reference runs unchanged.
"""
from __future__ import annotations

from deltalake import DeltaTable

import pyarrow as pa

import ftm_lakehouse.logic.parquet as lh_parquet
import ftmq.store.lake as ftmq_lake

_DUCK_TYPES = {"string": "VARCHAR", "boolean": "BOOLEAN", "timestamp": "TIMESTAMPTZ", "long": "BIGINT"}


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def snapshot_scan_sql(table_uri: str) -> str:
    """A DuckDB relation equal to ``delta_scan(table_uri)`` at the latest version."""
    dt = DeltaTable(table_uri)
    fields = [(f.name, _DUCK_TYPES[f.type.type]) for f in dt.schema().fields]
    partition_cols = set(dt.metadata().partition_columns)
    adds = pa.table(dt.get_add_actions(flatten=True)).to_pylist()
    if not adds:
        cols = ", ".join(f"CAST(NULL AS {t}) AS \"{n}\"" for n, t in fields)
        return f"(SELECT {cols} WHERE false)"
    parts = []
    for add in adds:
        path = f"{dt.table_uri.rstrip('/')}/{add['path']}"
        cols = []
        for name, typ in fields:
            if name in partition_cols:
                value = add.get(f"partition.{name}")
                lit = "NULL" if value is None else _quote(str(value))
                cols.append(f"CAST({lit} AS {typ}) AS \"{name}\"")
            else:
                cols.append(f"\"{name}\"")
        parts.append(f"SELECT {', '.join(cols)} FROM read_parquet({_quote(path)})")
    return "(" + " UNION ALL BY NAME ".join(parts) + ")"


lh_parquet.delta_scan_sql = snapshot_scan_sql
ftmq_lake.default_view_sql = lambda dt: f"SELECT * FROM {snapshot_scan_sql(dt.table_uri)}"
