"""Write the parquet fuzz seed corpus (tests/fuzz/corpus/pq/): small files
from pyarrow and DuckDB covering codecs, page versions, encodings, nulls,
timestamps and nested columns. Also used by tests/unit/test_pq_reader.c.

    .venv/bin/python tests/fuzz/gen_corpus.py
"""
import datetime as dt
import os
import sys

import pyarrow as pa
import pyarrow.parquet as pq

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "pq")


def flat_table(n=20):
    ts = [dt.datetime(2024, 1, 2, 3, 4, 5, 123456) + dt.timedelta(seconds=37 * i) for i in range(n)]
    return pa.table({
        "s": pa.array([None if i % 5 == 3 else ("" if i % 7 == 1 else f"v{i % 6}é") for i in range(n)]),
        "i64": pa.array([None if i % 4 == 2 else i * 1000003 - 5 for i in range(n)], pa.int64()),
        "i32": pa.array([i - 7 for i in range(n)], pa.int32()),
        "b": pa.array([None if i % 6 == 0 else i % 3 == 0 for i in range(n)]),
        "f": pa.array([i / 3 for i in range(n)], pa.float32()),
        "d": pa.array([i * 1.5 - 2 for i in range(n)], pa.float64()),
        "ts": pa.array(ts, pa.timestamp("us", tz="UTC")),
    })


def write(name, table, **kw):
    pq.write_table(table, os.path.join(OUT, name), **kw)


def main():
    os.makedirs(OUT, exist_ok=True)
    t = flat_table()
    # the unit test relies on these two
    write("plain_v1.parquet", t, compression="NONE", use_dictionary=False)
    write("dict_v1.parquet", t, compression="NONE", use_dictionary=True)
    write("dict_v2.parquet", t, compression="NONE", use_dictionary=True, data_page_version="2.0")
    for codec in ["SNAPPY", "ZSTD", "GZIP", "LZ4", "BROTLI"]:
        write(f"codec_{codec.lower()}.parquet", t, compression=codec)
        write(f"codec_{codec.lower()}_v2.parquet", t, compression=codec, data_page_version="2.0")
    write("delta.parquet", t, compression="NONE", use_dictionary=False, column_encoding={
        "s": "DELTA_BYTE_ARRAY", "i64": "DELTA_BINARY_PACKED", "i32": "DELTA_BINARY_PACKED",
        "f": "BYTE_STREAM_SPLIT", "d": "BYTE_STREAM_SPLIT", "ts": "DELTA_BINARY_PACKED"})
    write("dlba.parquet", t.select(["s"]), compression="NONE", use_dictionary=False,
          column_encoding={"s": "DELTA_LENGTH_BYTE_ARRAY"}, data_page_version="2.0")
    ts = t.column("ts")
    write("ts_units.parquet", pa.table({
        "ms": ts.cast(pa.timestamp("ms", tz="UTC"), safe=False),
        "ns": ts.cast(pa.timestamp("ns")),
    }), compression="NONE", coerce_timestamps=None, version="2.6")
    write("int96.parquet", pa.table({"ts": ts}), compression="NONE",
          use_deprecated_int96_timestamps=True)
    write("rowgroups.parquet", t, compression="SNAPPY", row_group_size=6, data_page_size=64)
    write("empty.parquet", t.slice(0, 0), compression="NONE")
    write("page_index.parquet", flat_table(60), compression="SNAPPY", row_group_size=25,
          data_page_size=64, write_batch_size=4, write_page_index=True)
    nested = pa.table({
        "id": pa.array([1, 2, 3, 4]),
        "tags": pa.array([["a", "b"], [], None, ["c", None]], pa.list_(pa.string())),
        "m": pa.array([[("k1", "x")], None, [], [("k2", None), ("k3", "z")]],
                      pa.map_(pa.string(), pa.string())),
        "st": pa.array([{"a": 1, "b": "p"}, None, {"a": None, "b": "q"}, {"a": 4, "b": None}],
                       pa.struct([("a", pa.int64()), ("b", pa.string())])),
    })
    # bloom filters on strings and ints, two row groups with disjoint ranges
    bt = pa.table({"name": [f"name{i}" for i in range(40)], "num": pa.array(range(40), pa.int64())})
    write("bloom.parquet", bt, compression="NONE", row_group_size=20,
          bloom_filter_options={"name": {"ndv": 64, "fpp": 0.01}, "num": {"ndv": 64, "fpp": 0.01}})
    write("nested.parquet", nested, compression="NONE")
    write("nested_v2.parquet", nested, compression="ZSTD", data_page_version="2.0")
    checkpoint()
    try:
        import duckdb
    except ImportError:
        return
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT i, 'str' || (i % 7) AS s, "
                "CASE WHEN i % 3 = 0 THEN NULL ELSE i * 1.25 END AS d, "
                "TIMESTAMP '2024-01-01' + INTERVAL (i) MINUTE AS ts FROM range(30) r(i)")
    for codec in ["zstd", "snappy", "uncompressed"]:
        path = os.path.join(OUT, f"duckdb_{codec}.parquet")
        con.execute(f"COPY t TO '{path}' (FORMAT parquet, COMPRESSION {codec})")
    path = os.path.join(OUT, "duckdb_bloom.parquet")
    con.execute(f"COPY (SELECT 'str' || (i % 50) AS s, i % 40 AS k FROM range(300) r(i)) "
                f"TO '{path}' (FORMAT parquet)")
    path = os.path.join(OUT, "duckdb_v2.parquet")
    con.execute(f"COPY t TO '{path}' (FORMAT parquet, PARQUET_VERSION V2)")


def checkpoint():
    """A Delta checkpoint by deltalake (parquet-rs): nested structs, maps, lists."""
    import glob
    import shutil
    import tempfile

    try:
        from deltalake import DeltaTable, write_deltalake
    except ImportError:
        return
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(3):
            data = pa.table({"id": [f"e{k}{i}" for i in range(3)],
                             "p": [None, "a", "b"], "v": pa.array([k, k + 1, k + 2], pa.int64())})
            write_deltalake(tmp, data, mode="append", partition_by=["p"])
        DeltaTable(tmp).create_checkpoint()
        cp = glob.glob(f"{tmp}/_delta_log/*.checkpoint.parquet")[0]
        shutil.copy(cp, os.path.join(OUT, "delta_checkpoint.parquet"))


if __name__ == "__main__":
    sys.exit(main())
