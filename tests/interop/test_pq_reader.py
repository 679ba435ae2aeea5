"""lh-pqread reads parquet files written by pyarrow, deltalake (parquet-rs)
and DuckDB exactly as pyarrow reads them: every codec, page versions 1 and
2, dictionary on/off, the DELTA_* and BYTE_STREAM_SPLIT encodings,
timestamps in every unit and INT96, nulls, empty and long strings, 0 rows,
many row groups; and a Delta checkpoint's nested def/rep levels."""
import datetime as dt
import json
import math
import random
import struct

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from conftest import run, tool


# ---------------------------------------------------------------- helpers

def _flatten(table: pa.Table) -> pa.Table:
    while any(pa.types.is_struct(f.type) for f in table.schema):
        table = table.flatten()
    return table


def _f32(v):
    return struct.unpack("<f", struct.pack("<f", v))[0]


def _norm(v, typ):
    if v is None:
        return None
    if isinstance(v, float):
        if math.isnan(v):
            return "NaN"
        if math.isinf(v):
            return "Infinity" if v > 0 else "-Infinity"
        return _f32(v) if typ == pa.float32() else v
    if isinstance(v, str) and typ in (pa.float32(), pa.float64()):
        return v  # "NaN" / "Infinity" from our side
    return v


def expected_rows(path):
    """pyarrow's reading of path as JSON-like rows in lh-pqread's format."""
    table = _flatten(pq.read_table(path))
    cols = {}
    types = {}
    for name, col in zip(table.column_names, table.columns):
        t = col.type
        types[name] = t
        if pa.types.is_timestamp(t):
            raw = pc.cast(col, pa.int64()).to_pylist()
            mult = {"s": 1_000_000, "ms": 1000, "us": 1}.get(t.unit)
            vals = [None if v is None else (v // 1000 if mult is None else v * mult) for v in raw]
        elif pa.types.is_date32(t):
            vals = pc.cast(col, pa.int32()).to_pylist()
        elif pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
            vals = [None if v is None else "0x" + v.hex() for v in col.to_pylist()]
        else:
            vals = col.to_pylist()
        cols[name] = vals
    rows = [{k: _norm(cols[k][i], types[k]) for k in cols} for i in range(table.num_rows)]
    return rows, types


def lh_rows(path, *columns):
    out = run([tool("lh-pqread"), path, *columns]).stdout
    return [json.loads(line) for line in out.splitlines()]


def assert_same(path):
    want, types = expected_rows(path)
    got = lh_rows(path)
    got = [{k: _norm(v, types.get(k)) for k, v in row.items()} for row in got]
    assert len(got) == len(want), path
    for i, (g, w) in enumerate(zip(got, want)):
        assert g == w, f"{path} row {i}: {g} != {w}"


def sample_table(n=3000, seed=1):
    rnd = random.Random(seed)
    base = dt.datetime(2024, 3, 1, tzinfo=dt.timezone.utc)
    words = ["", "a", "Zürich", "東京", "emoji 🎉", "x" * 300, "line\nbreak \"q\" \\"]
    return pa.table({
        "s": pa.array([None if rnd.random() < 0.1 else rnd.choice(words) + str(rnd.randrange(50))
                       for _ in range(n)]),
        "uniq": pa.array([f"id-{i:08d}-{rnd.random():.6f}" for i in range(n)]),
        "i64": pa.array([None if rnd.random() < 0.05 else rnd.randrange(-2**62, 2**62)
                         for _ in range(n)], pa.int64()),
        "small": pa.array([rnd.randrange(-5, 100) for _ in range(n)], pa.int32()),
        "b": pa.array([None if rnd.random() < 0.2 else rnd.random() < 0.5 for _ in range(n)]),
        "f": pa.array([rnd.uniform(-1e6, 1e6) for _ in range(n)], pa.float32()),
        "d": pa.array([None if i % 17 == 0 else rnd.gauss(0, 1e9) for i in range(n)], pa.float64()),
        "ts": pa.array([None if i % 13 == 0 else base + dt.timedelta(microseconds=rnd.randrange(10**13))
                        for i in range(n)], pa.timestamp("us", tz="UTC")),
        "bin": pa.array([None if i % 11 == 0 else bytes([i % 256, 0, 255]) for i in range(n)], pa.binary()),
    })


# ---------------------------------------------------------------- pyarrow

CODECS = ["NONE", "SNAPPY", "ZSTD", "GZIP", "LZ4", "BROTLI"]


@pytest.fixture(scope="module")
def table():
    return sample_table()


@pytest.mark.parametrize("codec", CODECS)
@pytest.mark.parametrize("page_version", ["1.0", "2.0"])
@pytest.mark.parametrize("dictionary", [True, False])
def test_pyarrow_codecs_pages(tmp_path, table, codec, page_version, dictionary):
    path = tmp_path / "t.parquet"
    pq.write_table(table, path, compression=codec, data_page_version=page_version,
                   use_dictionary=dictionary, row_group_size=1200, data_page_size=8192)
    assert pq.ParquetFile(path).metadata.num_row_groups == 3
    assert_same(path)


@pytest.mark.parametrize("page_version", ["1.0", "2.0"])
def test_pyarrow_encodings(tmp_path, table, page_version):
    encs = {"s": "DELTA_BYTE_ARRAY", "uniq": "DELTA_LENGTH_BYTE_ARRAY", "i64": "DELTA_BINARY_PACKED",
            "small": "DELTA_BINARY_PACKED", "ts": "DELTA_BINARY_PACKED", "f": "BYTE_STREAM_SPLIT",
            "d": "BYTE_STREAM_SPLIT", "bin": "DELTA_BYTE_ARRAY", "b": "RLE"}
    path = tmp_path / "e.parquet"
    pq.write_table(table, path, compression="SNAPPY", use_dictionary=False, column_encoding=encs,
                   data_page_version=page_version, data_page_size=4096)
    md = pq.ParquetFile(path).metadata.row_group(0)
    used = {md.column(i).path_in_schema: md.column(i).encodings for i in range(md.num_columns)}
    assert "DELTA_BYTE_ARRAY" in used["s"] and "BYTE_STREAM_SPLIT" in used["d"]
    assert_same(path)
    # BYTE_STREAM_SPLIT for integers (pyarrow >= 17)
    path2 = tmp_path / "bss.parquet"
    pq.write_table(table.select(["i64", "small"]), path2, use_dictionary=False,
                   column_encoding={"i64": "BYTE_STREAM_SPLIT", "small": "BYTE_STREAM_SPLIT"},
                   data_page_version=page_version)
    assert_same(path2)


def test_pyarrow_timestamps(tmp_path):
    base = dt.datetime(1969, 12, 31, 23, 59, 59, 999999)  # negative epoch values too
    vals = [base + dt.timedelta(microseconds=37_000_123 * i) for i in range(500)] + [None]
    t = pa.table({
        "us": pa.array(vals, pa.timestamp("us")),
        "ms": pc.cast(pa.array(vals, pa.timestamp("us")), pa.timestamp("ms"), safe=False),
        "ns": pa.array(vals, pa.timestamp("ns", tz="UTC")),
        "s": pc.cast(pa.array(vals, pa.timestamp("us")), pa.timestamp("s"), safe=False),
        "day": pa.array([None if v is None else v.date() for v in vals], pa.date32()),
    })
    path = tmp_path / "ts.parquet"
    pq.write_table(t, path, version="2.6", coerce_timestamps=None)
    assert_same(path)
    # nanoseconds with a sub-microsecond part floor like Delta does
    t2 = pa.table({"ns": pa.array([-1, 1, 1999, -1001, 1_700_000_000_123_456_789], pa.timestamp("ns"))})
    p2 = tmp_path / "ns.parquet"
    pq.write_table(t2, p2, version="2.6")
    assert [r["ns"] for r in lh_rows(p2)] == [-1, 0, 1, -2, 1_700_000_000_123_456]
    p3 = tmp_path / "int96.parquet"
    pq.write_table(t, p3, use_deprecated_int96_timestamps=True)
    assert pq.ParquetFile(p3).schema.column(0).physical_type == "INT96"
    assert_same(p3)


def test_pyarrow_edge_cases(tmp_path):
    t = pa.table({
        "long": pa.array(["L" * 200_000, "", None, "é" * 70_000]),
        "allnull": pa.array([None, None, None, None], pa.string()),
        "allnull_i": pa.array([None] * 4, pa.int64()),
        "req": pa.array([1, 2, 3, 4], pa.int64()),
    }, schema=pa.schema([("long", pa.string()), ("allnull", pa.string()),
                         ("allnull_i", pa.int64()), pa.field("req", pa.int64(), nullable=False)]))
    for dictionary in (True, False):
        path = tmp_path / f"edge{dictionary}.parquet"
        pq.write_table(t, path, use_dictionary=dictionary, compression="ZSTD")
        assert_same(path)
    empty = tmp_path / "empty.parquet"
    pq.write_table(sample_table(10).slice(0, 0), empty)
    assert lh_rows(empty) == []
    many = tmp_path / "many.parquet"
    pq.write_table(sample_table(500, seed=3), many, row_group_size=7)
    assert pq.ParquetFile(many).metadata.num_row_groups == 72
    assert_same(many)
    # dictionary fallback to PLAIN in the middle of a chunk
    fb = tmp_path / "fallback.parquet"
    pq.write_table(sample_table(20000, seed=4).select(["uniq", "i64"]), fb,
                   dictionary_pagesize_limit=4096, data_page_size=2048)
    encs = pq.ParquetFile(fb).metadata.row_group(0).column(0).encodings
    assert "PLAIN" in encs and "RLE_DICTIONARY" in encs
    assert_same(fb)
    # column projection and lookup by dotted path
    got = lh_rows(fb, "i64")
    assert list(got[0].keys()) == ["i64"]


def test_pyarrow_nested_structs(tmp_path):
    t = pa.table({
        "st": pa.array([{"a": 1, "inner": {"x": "p"}}, None, {"a": None, "inner": None},
                        {"a": 4, "inner": {"x": None}}],
                       pa.struct([("a", pa.int64()), ("inner", pa.struct([("x", pa.string())]))])),
    })
    path = tmp_path / "st.parquet"
    pq.write_table(t, path)
    got = lh_rows(path)
    # pyarrow's flatten turns a null parent into null children; so do we
    assert got == [{"st.a": 1, "st.inner.x": "p"}, {"st.a": None, "st.inner.x": None},
                   {"st.a": None, "st.inner.x": None}, {"st.a": 4, "st.inner.x": None}]
    levels = [json.loads(x) for x in run([tool("lh-pqread"), "--levels", path, "st.inner.x"]).stdout.splitlines()]
    assert [x["d"] for x in levels] == [3, 0, 1, 2]


def test_corrupt_file_fails_cleanly(tmp_path, table):
    path = tmp_path / "c.parquet"
    pq.write_table(table, path, compression="SNAPPY")
    data = bytearray(path.read_bytes())
    md = pq.ParquetFile(path).metadata.row_group(0).column(2)
    off = md.data_page_offset
    data[off + 40: off + 60] = b"\xff" * 20
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(bytes(data))
    proc = run([tool("lh-pqread"), bad], check=False)
    assert proc.returncode == 1
    assert "[corrupt]" in proc.stderr and "row group 0, column i64" in proc.stderr
    (tmp_path / "trunc.parquet").write_bytes(bytes(data[: len(data) // 2]))
    proc = run([tool("lh-pqread"), tmp_path / "trunc.parquet"], check=False)
    assert proc.returncode == 1 and "[corrupt]" in proc.stderr


@pytest.mark.parametrize("page_version", ["1.0", "2.0"])
@pytest.mark.parametrize("dictionary", [True, False])
def test_page_checksums(tmp_path, table, page_version, dictionary):
    """Pages a writer checksummed (CRC32) are read when whole, and a byte
    flipped in one fails the read naming the column, where the flip alone
    (an uncompressed page of plain integers) would change a value unseen."""
    path = tmp_path / "crc.parquet"
    pq.write_table(table, path, compression="NONE", use_dictionary=dictionary,
                   data_page_version=page_version, write_page_checksum=True, row_group_size=1200)
    assert_same(path)
    md = pq.ParquetFile(path).metadata.row_group(1).column(2)  # i64, plain
    assert md.path_in_schema == "i64" and md.compression == "UNCOMPRESSED"
    data = bytearray(path.read_bytes())
    start = md.dictionary_page_offset if md.has_dictionary_page else md.data_page_offset
    last = start + md.total_compressed_size - 1  # a byte of the last data page's values
    data[last] ^= 0x10
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(bytes(data))
    # the oracle: the flip lands in a checksummed page, and only the checksum tells
    with pytest.raises(OSError, match="CRC"):
        pq.read_table(bad, page_checksum_verification=True)
    if not dictionary:  # (a dictionary page's last byte can be an index run's padding)
        assert not pq.read_table(bad).column("i64").equals(pq.read_table(path).column("i64"))
    proc = run([tool("lh-pqread"), bad], check=False)
    assert proc.returncode == 1, proc.stdout[-300:]
    assert "[corrupt]" in proc.stderr and "row group 1, column i64" in proc.stderr, proc.stderr
    assert "checksum does not match" in proc.stderr, proc.stderr
    # the other columns' pages are whole and still read
    rows = lh_rows(bad, "uniq")
    assert [r["uniq"] for r in rows] == pq.read_table(path).column("uniq").to_pylist()


# ---------------------------------------------------------------- DuckDB

@pytest.mark.parametrize("codec", ["zstd", "snappy", "gzip", "uncompressed", "lz4", "brotli"])
@pytest.mark.parametrize("version", ["V1", "V2"])
def test_duckdb(tmp_path, codec, version):
    import duckdb

    path = tmp_path / "d.parquet"
    con = duckdb.connect()
    con.execute(f"""
        COPY (SELECT i, 'str' || (i % 97) AS s,
                     CASE WHEN i % 5 = 0 THEN NULL ELSE md5(i::VARCHAR) END AS h,
                     (i * 1.25)::DOUBLE AS d, (i / 7)::FLOAT AS f, i % 3 = 0 AS b,
                     TIMESTAMP '2024-01-01' + INTERVAL (i) SECOND AS ts,
                     TIMESTAMPTZ '2020-06-01 00:00:00+00' + INTERVAL (i * 37) MINUTE AS tz,
                     DATE '2000-01-01' + i::INTEGER AS day,
                     CASE WHEN i % 10 = 1 THEN NULL ELSE i * 1000003 END AS big
              FROM range(20000) r(i))
        TO '{path}' (FORMAT parquet, COMPRESSION {codec}, PARQUET_VERSION {version},
                     ROW_GROUP_SIZE 6000)""")
    assert pq.ParquetFile(path).metadata.num_row_groups >= 3
    assert_same(path)


# ---------------------------------------------------------------- deltalake / parquet-rs

def _delta_table(tmp_path, commits=12):
    from deltalake import DeltaTable, write_deltalake

    uri = str(tmp_path / "tbl")
    for k in range(commits):
        n = 5 + k
        data = pa.table({
            "id": pa.array([f"e{k}-{i}" for i in range(n)]),
            "p": pa.array([None if i % 4 == 0 else f"part{i % 3}" for i in range(n)]),
            "v": pa.array([k * 100 + i for i in range(n)], pa.int64()),
            "ts": pa.array([dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(days=i)
                            for i in range(n)], pa.timestamp("us", tz="UTC")),
        })
        write_deltalake(uri, data, mode="append", partition_by=["p"])
    return DeltaTable(uri), uri


def test_deltalake_data_files(tmp_path):
    dtab, uri = _delta_table(tmp_path, commits=3)
    files = dtab.file_uris()
    assert files
    for f in files:
        path = f.replace("file://", "")
        assert_same(path)


def _levels(path, column):
    out = run([tool("lh-pqread"), "--levels", path, column]).stdout
    return [(x["d"], x["r"], x["v"]) for x in map(json.loads, out.splitlines())]


def test_delta_checkpoint_levels(tmp_path):
    import glob

    dtab, uri = _delta_table(tmp_path)
    dtab.create_checkpoint()
    cps = glob.glob(f"{uri}/_delta_log/*.checkpoint.parquet")
    assert len(cps) == 1
    cp = cps[0]
    rows = pq.read_table(cp).to_pylist()
    meta = {m["path"]: m for m in map(json.loads, run([tool("lh-pqread"), "--meta", cp]).stdout.splitlines())}
    # parquet-rs makes add.path / add.partitionValues required (Spark: optional);
    # the expected levels follow from the maximum levels either way
    assert meta["add.path"]["max_rep"] == 0 and meta["add.path"]["max_def"] in (1, 2)
    kd = meta["add.partitionValues.key_value.key"]["max_def"]
    vd = meta["add.partitionValues.key_value.value"]["max_def"]
    assert meta["add.partitionValues.key_value.key"]["max_rep"] == 1 and vd == kd + 1

    def flat(field):
        top = meta[f"add.{field}"]["max_def"]
        want = []
        for r in rows:
            add = r.get("add")
            if add is None:
                want.append((0, 0, None))
            elif add.get(field) is None:
                want.append((top - 1, 0, None))
            else:
                want.append((top, 0, add[field]))
        return want

    assert _levels(cp, "add.path") == flat("path")
    assert _levels(cp, "add.size") == flat("size")
    assert _levels(cp, "add.stats") == flat("stats")
    assert any(v is not None for _, _, v in _levels(cp, "add.stats"))
    assert sum(1 for d, _, _ in _levels(cp, "add.path") if d > 0) == len(dtab.file_uris())

    keys, values = [], []
    for r in rows:
        add = r.get("add")
        if add is None:
            keys.append((0, 0, None))
            values.append((0, 0, None))
            continue
        pv = add.get("partitionValues")
        if pv is None:
            keys.append((kd - 2, 0, None))
            values.append((kd - 2, 0, None))
            continue
        if len(pv) == 0:
            keys.append((kd - 1, 0, None))
            values.append((kd - 1, 0, None))
            continue
        for j, (k, v) in enumerate(pv):
            rep = 0 if j == 0 else 1
            keys.append((kd, rep, k))
            values.append((vd, rep, v) if v is not None else (kd, rep, None))
    assert _levels(cp, "add.partitionValues.key_value.key") == keys
    assert _levels(cp, "add.partitionValues.key_value.value") == values
    assert any(v[0] == kd for v in values), "expected a null partition value"


# ---------------------------------------------------------------- nested levels, every leaf

def _leaf_specs(field, prefix, nodes):
    """(dotted parquet path, node chain) for every leaf under an arrow field,
    following the standard 3-level LIST and MAP layouts."""
    name = prefix + field.name
    t = field.type
    if pa.types.is_struct(t):
        for ch in t:
            yield from _leaf_specs(ch, name + ".", nodes + [("struct", field.nullable, ch.name)])
    elif pa.types.is_map(t):
        yield from _leaf_specs(t.key_field.with_name("key"), name + ".key_value.",
                               nodes + [("map", field.nullable, "key")])
        yield from _leaf_specs(t.item_field.with_name("value"), name + ".key_value.",
                               nodes + [("map", field.nullable, "value")])
    elif pa.types.is_list(t) or pa.types.is_large_list(t):
        yield from _leaf_specs(t.value_field, name + ".list.", nodes + [("list", field.nullable, None)])
    else:
        yield name, nodes + [("leaf", field.nullable, None)]


def _leaf_value(v):
    if isinstance(v, dt.datetime):
        if v.tzinfo is None:
            v = v.replace(tzinfo=dt.timezone.utc)
        delta = v - dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
        return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds
    if isinstance(v, dt.date):
        return (v - dt.date(1970, 1, 1)).days
    if isinstance(v, bytes):
        return "0x" + v.hex()
    if isinstance(v, float):
        return _norm(v, pa.float64())
    return v


def _shred(v, nodes, d, r, depth, out):
    """Dremel shredding of one value along a node chain: appends (def, rep, value)."""
    kind, nullable, key = nodes[0]
    if v is None:
        out.append((d, r, None))
        return
    if nullable:
        d += 1
    if kind == "leaf":
        out.append((d, r, _leaf_value(v)))
    elif kind == "struct":
        _shred(v.get(key), nodes[1:], d, r, depth, out)
    else:
        items = v if kind == "list" else [kv[0] if key == "key" else kv[1] for kv in v]
        if not items:
            out.append((d, r, None))
        for j, item in enumerate(items):
            _shred(item, nodes[1:], d + 1, r if j == 0 else depth + 1, depth + 1, out)


def assert_levels_match(path, float32_leaves=()):
    table = pq.read_table(path)
    rows = table.to_pylist()
    meta = {m["path"]: m for m in map(json.loads, run([tool("lh-pqread"), "--meta", path]).stdout.splitlines())}
    checked = 0
    for field in table.schema:
        for leaf, nodes in _leaf_specs(field, "", []):
            assert leaf in meta, f"{leaf} not among {sorted(meta)}"
            want = []
            for row in rows:
                _shred(row[field.name], nodes, 0, 0, 0, want)
            got = _levels(path, leaf)
            if leaf in float32_leaves:
                got = [(d, r, None if v is None else _f32(v)) for d, r, v in got]
            assert got == want, f"{path}: {leaf}"
            checked += 1
    assert checked == len(meta)


def _nested_table(n=300, seed=5):
    rnd = random.Random(seed)

    def maybe(v, p=0.15):
        return None if rnd.random() < p else v

    return pa.table({
        "id": pa.array(range(n), pa.int64()),
        "ll": pa.array([maybe([maybe([maybe(rnd.randrange(100)) for _ in range(rnd.randrange(3))])
                               for _ in range(rnd.randrange(4))]) for _ in range(n)],
                       pa.list_(pa.list_(pa.int32()))),
        "ls": pa.array([maybe([maybe({"a": maybe(rnd.choice(["x", "", "yz"])), "b": rnd.random() < 0.5})
                               for _ in range(rnd.randrange(3))]) for _ in range(n)],
                       pa.list_(pa.struct([("a", pa.string()), ("b", pa.bool_())]))),
        "m": pa.array([maybe([(f"k{j}", maybe([rnd.randrange(9) for _ in range(rnd.randrange(3))]))
                              for j in range(rnd.randrange(4))]) for _ in range(n)],
                      pa.map_(pa.string(), pa.list_(pa.int64()))),
        "st": pa.array([maybe({"x": maybe(rnd.random()), "in": maybe({"deep": maybe(f"d{rnd.randrange(5)}")})})
                        for _ in range(n)],
                       pa.struct([("x", pa.float64()), ("in", pa.struct([("deep", pa.string())]))])),
        "req": pa.array([[rnd.randrange(5) for _ in range(rnd.randrange(3))] for _ in range(n)],
                        pa.list_(pa.field("item", pa.int64(), nullable=False))),
    })


@pytest.mark.parametrize("page_version", ["1.0", "2.0"])
@pytest.mark.parametrize("dictionary", [True, False])
def test_nested_levels_pyarrow(tmp_path, page_version, dictionary):
    path = tmp_path / "nested.parquet"
    pq.write_table(_nested_table(), path, data_page_version=page_version, use_dictionary=dictionary,
                   compression="SNAPPY", data_page_size=512, row_group_size=120)
    assert_levels_match(path)


def test_nested_levels_checkpoint(tmp_path):
    import glob

    from deltalake import DeltaTable, write_deltalake

    uri = str(tmp_path / "tbl")
    for k in range(6):
        data = pa.table({"id": [f"e{k}{i}" for i in range(4)], "p": [None, "a", "b", "a"],
                         "q": pa.array([k, k, k + 1, None], pa.int64())})
        write_deltalake(uri, data, mode="append", partition_by=["p", "q"],
                        configuration={"delta.appendOnly": "false"} if k == 0 else None)
    dtab = DeltaTable(uri)
    dtab.delete("id = 'e00'")
    DeltaTable(uri).create_checkpoint()
    cp = glob.glob(f"{uri}/_delta_log/*.checkpoint.parquet")[0]
    assert_levels_match(cp)
