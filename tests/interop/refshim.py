"""Run the Python reference (ftm-lakehouse 0.9.0) offline.

The reference reads its Delta tables through DuckDB's ``delta_scan``, which
DuckDB downloads as an extension at run time; this machine has no route to
the extension server and PyPI carries no build for DuckDB 1.5.x. Importing
this module replaces that one SQL fragment with an equivalent scan: the live
files of the table's current Delta snapshot (listed by deltalake, the same
log replay delta_scan performs) read with ``read_parquet``, with the
partition columns taken from the snapshot's partition values. Everything else
in the reference runs unchanged.

A lake on S3 is read the same way: DuckDB would need its httpfs extension
(also downloaded at run time) for s3:// paths, so the live files are fetched
from the same endpoint with pyarrow's S3 filesystem into a private cache
first (data files are immutable: a cached copy never goes stale), and the
reference's DuckDB S3 secret, which would load httpfs, is not created.
delta-rs and fsspec (s3fs) reach S3 directly.
"""
from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlparse

from deltalake import DeltaTable

import pyarrow as pa
import pyarrow.parquet as pq

import ftm_lakehouse.logic.parquet as lh_parquet
import ftm_lakehouse.storage.parquet as lh_storage_parquet
import ftmq.store.lake as ftmq_lake

_DUCK_TYPES = {"string": "VARCHAR", "boolean": "BOOLEAN", "timestamp": "TIMESTAMPTZ", "long": "BIGINT"}


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


_cache_dir = None


def _s3_filesystem():
    from pyarrow import fs

    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    kw = {}
    if endpoint:
        url = urlparse(endpoint)
        kw = {"endpoint_override": url.netloc, "scheme": url.scheme or "https"}
    return fs.S3FileSystem(access_key=os.environ.get("AWS_ACCESS_KEY_ID"),
                           secret_key=os.environ.get("AWS_SECRET_ACCESS_KEY"),
                           session_token=os.environ.get("AWS_SESSION_TOKEN"),
                           region=os.environ.get("AWS_REGION") or "us-east-1", **kw)


def _local(path: str) -> str:
    """A local path to read ``path`` (a local file, or an s3:// object)."""
    global _cache_dir
    if not path.startswith("s3://"):
        return path
    if _cache_dir is None:
        _cache_dir = tempfile.mkdtemp(prefix="lh-refshim-")
        atexit.register(shutil.rmtree, _cache_dir, True)
    local = Path(_cache_dir) / hashlib.sha1(path.encode()).hexdigest()
    if not local.exists():
        tmp = local.with_suffix(".part")
        with _s3_filesystem().open_input_stream(unquote(path[len("s3://"):])) as src, open(tmp, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        tmp.rename(local)
    return str(local)


def snapshot_scan_sql(table_uri: str) -> str:
    """A DuckDB relation equal to ``delta_scan(table_uri)`` at the latest version."""
    remote = table_uri.startswith("s3://")
    dt = DeltaTable(table_uri, storage_options=ftmq_lake.storage_options() if remote else None)
    fields = [(f.name, _DUCK_TYPES[f.type.type]) for f in dt.schema().fields]
    partition_cols = set(dt.metadata().partition_columns)
    adds = pa.table(dt.get_add_actions(flatten=True)).to_pylist()
    if not adds:
        cols = ", ".join(f"CAST(NULL AS {t}) AS \"{n}\"" for n, t in fields)
        return f"(SELECT {cols} WHERE false)"
    parts = []
    for add in adds:
        root = dt.table_uri.rstrip('/')
        if root.startswith("file://"):
            # the log's paths are percent-encoded (origin `a b` lives in
            # `origin=a%20b/`, logged as `origin=a%2520b/`): a plain path,
            # as DuckDB does not decode a file:// URI (pyarrow does)
            local = f"{unquote(urlparse(root).path)}/{unquote(add['path'])}"
        else:
            local = _local(f"{root}/{add['path']}")  # decodes the key
        # as delta_scan: a column the file predates (added to the table later) reads NULL
        in_file = set(pq.read_schema(local).names)
        cols = []
        for name, typ in fields:
            if name in partition_cols:
                value = add.get(f"partition.{name}")
                lit = "NULL" if value is None else _quote(str(value))
                cols.append(f"CAST({lit} AS {typ}) AS \"{name}\"")
            elif name not in in_file:
                cols.append(f"CAST(NULL AS {typ}) AS \"{name}\"")
            else:
                cols.append(f"\"{name}\"")
        parts.append(f"SELECT {', '.join(cols)} FROM read_parquet({_quote(local)})")
    return "(" + " UNION ALL BY NAME ".join(parts) + ")"


lh_parquet.delta_scan_sql = snapshot_scan_sql
# per-partition reads name the files themselves
_read_parquet_sql = lh_parquet.read_parquet_sql
lh_parquet.read_parquet_sql = lambda files: _read_parquet_sql([_local(f) for f in files])
ftmq_lake.default_view_sql = lambda dt: f"SELECT * FROM {snapshot_scan_sql(dt.table_uri)}"
# the scans above never hand DuckDB an s3:// path: no S3 secret (and no httpfs)
lh_storage_parquet.setup_duckdb_storage = lambda con=None: None
ftmq_lake.setup_duckdb_storage = lambda con=None: None
