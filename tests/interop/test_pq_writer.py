"""Files written by the C parquet writer (lh-pqwrite) read back by pyarrow,
DuckDB and parquet-rs (through deltalake's query engine): values, statistics,
bloom filters, dictionary fallback, codecs, row groups, edge cases."""
import json
import random
import uuid

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from conftest import SHARED_DATA, run, tool

KINDS = ["string", "timestamp", "bool", "int64", "int32", "double"]
CODECS = ["UNCOMPRESSED", "SNAPPY", "GZIP", "ZSTD", "LZ4_RAW", "BROTLI", "LZ4"]
TRUNC = 64  # writer default for string statistics


def write(path, spec, rows, *opts, stdin_rows=True):
    spec_s = ",".join(f"{n}:{k}:{f}" for n, k, f in spec)
    data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows) if stdin_rows else ""
    proc = run([tool("lh-pqwrite"), *opts, path, spec_s], input=data)
    return json.loads(proc.stdout)


def as_python(table):
    """Column lists with timestamps as integer microseconds."""
    out = {}
    for name in table.column_names:
        col = table.column(name)
        if pa.types.is_timestamp(col.type):
            col = col.cast(pa.int64())
        out[name] = col.to_pylist()
    return out


def expected_columns(spec, rows):
    return {n: [r[i] for r in rows] for i, (n, _, _) in enumerate(spec)}


def sort_key(kind, v):
    if kind == "string":
        return v.encode("utf-8")
    return v


def check_stats(path, spec, rows, rg_bounds=None):
    """Chunk statistics as pyarrow reports them against values computed here
    (rg_bounds None: row group boundaries as the file says)."""
    md = pq.ParquetFile(path).metadata
    if rg_bounds is None:
        rg_bounds, lo = [], 0
        for g in range(md.num_row_groups):
            rg_bounds.append((lo, lo + md.row_group(g).num_rows))
            lo += md.row_group(g).num_rows
        assert lo == len(rows)
    assert md.num_row_groups == len(rg_bounds)
    for g, (lo, hi) in enumerate(rg_bounds):
        rg = md.row_group(g)
        assert rg.num_rows == hi - lo
        for i, (name, kind, flags) in enumerate(spec):
            col = rg.column(i)
            if "s" not in flags:
                assert not col.is_stats_set or not col.statistics.has_min_max
                continue
            vals = [r[i] for r in rows[lo:hi]]
            present = [v for v in vals if v is not None]
            st = col.statistics
            assert st.null_count == len(vals) - len(present), name
            if kind == "double":
                present = [v for v in present if v == v]
            if not present:
                assert not st.has_min_max
                continue
            mn = min(present, key=lambda v: sort_key(kind, v))
            mx = max(present, key=lambda v: sort_key(kind, v))
            smin, smax = st.min, st.max
            if kind == "timestamp":
                smin, smax = pa.scalar(smin).cast(pa.int64()).as_py(), pa.scalar(smax).cast(pa.int64()).as_py()
            if kind == "string" and len(mn.encode()) > TRUNC:
                assert mn.encode().startswith(smin.encode()) and len(smin.encode()) <= TRUNC
            else:
                assert smin == mn, name
            if kind == "string" and len(mx.encode()) > TRUNC:
                assert smax.encode() >= mx.encode()[:TRUNC] and len(smax.encode()) <= TRUNC
                assert smax.encode() > mx.encode()
            else:
                assert smax == mx, name


def read_duck(path):
    con = duckdb.connect()
    return con.sql(f"select * from read_parquet('{path}')").to_arrow_table()


DELTA_TYPES = {"string": "string", "timestamp": "timestamp", "bool": "boolean",
               "int64": "long", "int32": "integer", "double": "double"}


def read_parquet_rs(path, spec):
    """Read through deltalake (parquet-rs + DataFusion): wrap the file in a
    one-file Delta table."""
    import os
    from deltalake import DeltaTable, QueryBuilder

    table_dir = os.path.dirname(path)
    name = os.path.basename(path)
    os.makedirs(os.path.join(table_dir, "_delta_log"), exist_ok=True)
    schema = {"type": "struct", "fields": [
        {"name": n, "type": DELTA_TYPES[k], "nullable": "r" not in f, "metadata": {}}
        for n, k, f in spec]}
    actions = [
        {"protocol": {"minReaderVersion": 1, "minWriterVersion": 2}},
        {"metaData": {"id": str(uuid.uuid4()), "format": {"provider": "parquet", "options": {}},
                      "schemaString": json.dumps(schema), "partitionColumns": [],
                      "configuration": {}, "createdTime": 0}},
        {"add": {"path": name, "partitionValues": {}, "size": os.path.getsize(path),
                 "modificationTime": 0, "dataChange": True}},
    ]
    with open(os.path.join(table_dir, "_delta_log", "00000000000000000000.json"), "w") as f:
        f.write("".join(json.dumps(a) + "\n" for a in actions))
    dt = DeltaTable(table_dir)
    cols = ", ".join(f'"{n}"' for n, _, _ in spec)
    reader = QueryBuilder().register("t", dt).execute(f"select {cols} from t")
    return pa.table(reader.read_all())


def check_all_readers(path, spec, rows, parquet_rs=True):
    want = expected_columns(spec, rows)
    got = as_python(pq.read_table(path))
    assert got == want
    assert as_python(read_duck(path)) == want
    if parquet_rs:
        t = read_parquet_rs(path, spec)
        assert t.num_rows == len(rows)
        # DataFusion may scan row groups in parallel: compare as multisets.
        got = as_python(t)
        names = [n for n, _, _ in spec]

        def rowset(cols):
            return sorted(zip(*(cols[n] for n in names)), key=repr)
        assert rowset(got) == rowset(want)


# ---- data generators ----

ALPHABET = ["a", "b", "z", "é", "ß", "中", "文", "😀", "\u0000", "\n", "\"", "\\", " ", "ÿ", "\uffff"]


def rand_string(rnd, maxlen=30):
    n = rnd.choice([0, 0, 1, 2, 5, rnd.randint(0, maxlen)])
    return "".join(rnd.choice(ALPHABET) for _ in range(n))


def rand_value(rnd, kind, nullable, pool=None):
    if nullable and rnd.random() < 0.15:
        return None
    if pool is not None and rnd.random() < 0.7:
        return rnd.choice(pool)
    if kind == "string":
        return rand_string(rnd)
    if kind == "timestamp":
        return rnd.randint(-2**40, 2**52)
    if kind == "bool":
        return rnd.random() < 0.5
    if kind == "int64":
        return rnd.choice([rnd.randint(-2**63, 2**63 - 1), rnd.randint(-5, 5)])
    if kind == "int32":
        return rnd.choice([rnd.randint(-2**31, 2**31 - 1), rnd.randint(-5, 5)])
    if kind == "double":
        return rnd.choice([rnd.uniform(-1e9, 1e9), 0.0, -0.0, 1.5, float(rnd.randint(-3, 3))])
    raise AssertionError(kind)


STATEMENT_SPEC = [(n, "string", "sd") for n in (
    "shard", "id", "entity_id", "dataset", "bucket", "origin", "source", "schema", "prop",
    "prop_type", "value", "original_value", "lang")] + [
    ("external", "bool", "rs"),
    ("first_seen", "timestamp", "rsd"),
    ("last_seen", "timestamp", "rsd"),
    ("fragment", "string", "rsd"),
    ("role", "string", "sd"),
    ("deleted_at", "timestamp", "sd"),
]


def statement_rows(n, seed=1):
    rnd = random.Random(seed)
    rows = []
    for i in range(n):
        ent = f"ent-{rnd.randint(0, n // 5)}"
        row = [f"{rnd.randint(0, 255):02x}", uuid.UUID(int=rnd.getrandbits(128)).hex, ent,
               "test_dataset", "default", rnd.choice(["crawl", "import", None]),
               rnd.choice([None, "src"]), rnd.choice(["Person", "Company", "LegalEntity"]),
               rnd.choice(["name", "country", "birthDate", "alias"]),
               rnd.choice(["name", "country", "date"]), rand_string(rnd, 60) or "x",
               rnd.choice([None, rand_string(rnd)]), rnd.choice([None, "eng", "deu"]),
               rnd.random() < 0.3,
               1700000000000000 + rnd.randint(0, 10**12), 1700000000000000 + rnd.randint(0, 10**12),
               rnd.choice(["", "f1"]), rnd.choice([None, "admin"]),
               rnd.choice([None, None, None, 1710000000000000 + i])]
        rows.append(row)
    assert len(row) == len(STATEMENT_SPEC) == 19
    return rows


# ---- tests ----

@pytest.mark.parametrize("codec", CODECS)
def test_statement_schema_every_codec(tmp_path, codec):
    rows = statement_rows(3000)
    path = str(tmp_path / "stmts.parquet")
    out = write(path, STATEMENT_SPEC, rows, "--codec", codec, "--rg-rows", "1000",
                "--page-size", "4096")
    assert out == {"rows": 3000, "row_groups": 3}
    # DuckDB has no Hadoop-framed LZ4 (codec 5, deprecated; never written by us by default).
    if codec == "LZ4":
        assert as_python(pq.read_table(path)) == expected_columns(STATEMENT_SPEC, rows)
    else:
        check_all_readers(path, STATEMENT_SPEC, rows)
    check_stats(path, STATEMENT_SPEC, rows, [(0, 1000), (1000, 2000), (2000, 3000)])
    md = pq.ParquetFile(path).metadata
    arrow_names = {"LZ4_RAW": "LZ4", "LZ4": "UNKNOWN"}  # as pyarrow 25 names them
    assert md.row_group(0).column(0).compression == arrow_names.get(codec, codec)
    sch = pq.read_schema(path)
    assert sch.field("deleted_at").type == pa.timestamp("us", tz="UTC")
    assert sch.field("deleted_at").nullable
    assert not sch.field("external").nullable


@pytest.mark.parametrize("seed", range(int(__import__("os").environ.get("LH_PQ_SEEDS", "12"))))
def test_random_schemas(tmp_path, seed):
    rnd = random.Random(seed)
    spec = []
    for c in range(rnd.randint(1, 9)):
        kind = rnd.choice(KINDS)
        flags = "".join(f for f in "rdsb" if rnd.random() < 0.5)
        spec.append((f"c{c}_{kind}", kind, flags))
    n = rnd.choice([1, 2, 7, 100, 2500])
    pools = {i: [rand_value(rnd, k, False) for _ in range(rnd.choice([1, 3, 40]))]
             for i, (_, k, _) in enumerate(spec)}
    rows = [[rand_value(rnd, k, "r" not in f, pools[i] if rnd.random() < 0.5 else None)
             for i, (_, k, f) in enumerate(spec)] for _ in range(n)]
    rg_rows = rnd.choice([0, 1, 33, 1000])
    opts = ["--codec", rnd.choice(CODECS[:-1]), "--page-size", str(rnd.choice([64, 1000, 0])),
            "--dict-size", str(rnd.choice([16, 200, 0]))]
    if rg_rows:
        opts += ["--rg-rows", str(rg_rows)]
    rg_bytes = rnd.choice([0, 0, 3000])
    if rg_bytes:
        opts += ["--rg-bytes", str(rg_bytes)]
    path = str(tmp_path / "r.parquet")
    out = write(path, spec, rows, *opts)
    assert out["rows"] == n
    check_all_readers(path, spec, rows, parquet_rs=seed % 3 == 0)
    if rg_bytes:
        check_stats(path, spec, rows)
    else:
        size = rg_rows or 1000000
        check_stats(path, spec, rows, [(lo, min(lo + size, n)) for lo in range(0, n, size)])


def test_row_group_byte_limit(tmp_path):
    rows = [[f"{k:06d}" * 50, k] for k in range(2000)]
    spec = [("s", "string", "s"), ("n", "int64", "rs")]
    path = str(tmp_path / "rgb.parquet")
    out = write(path, spec, rows, "--rg-bytes", "100000")
    assert 5 <= out["row_groups"] <= 12  # ~600 KB of values, 100 KB groups
    check_all_readers(path, spec, rows)
    check_stats(path, spec, rows)


def test_long_values_and_truncated_stats(tmp_path):
    big = "x" * (1 << 20) + "é" * 1000
    bigger = "y" * (3 << 20)
    rows = [[big, 1], [None, 2], ["", 3], [bigger, 4], ["short", 5]]
    spec = [("s", "string", "sdb"), ("n", "int64", "rs")]
    path = str(tmp_path / "long.parquet")
    write(path, spec, rows, "--codec", "ZSTD")
    check_all_readers(path, spec, rows)
    check_stats(path, spec, rows, [(0, 5)])
    st = pq.ParquetFile(path).metadata.row_group(0).column(0).statistics
    assert st.min == "" and st.max == "y" * 63 + "z"
    # Untruncated statistics on request.
    write(path, spec, rows, "--trunc", str(1 << 30))
    st = pq.ParquetFile(path).metadata.row_group(0).column(0).statistics
    assert st.max == bigger


def test_zero_rows(tmp_path):
    spec = [("s", "string", "sdb"), ("t", "timestamp", "s"), ("b", "bool", "r")]
    path = str(tmp_path / "empty.parquet")
    assert write(path, spec, []) == {"rows": 0, "row_groups": 0}
    t = pq.read_table(path)
    assert t.num_rows == 0 and t.column_names == ["s", "t", "b"]
    assert read_duck(path).num_rows == 0


def test_all_null_chunk(tmp_path):
    spec = [("s", "string", "sdb"), ("d", "double", "sd"), ("t", "timestamp", "sd")]
    rows = [[None, None, None]] * 50
    path = str(tmp_path / "nulls.parquet")
    write(path, spec, rows)
    check_all_readers(path, spec, rows)
    check_stats(path, spec, rows, [(0, 50)])


def gen_expected(spec, n, runs=1, cycle=0):
    """The rows lh-pqwrite --gen [--runs runs] [--cycle cycle] produces (see
    gen_value in tests/tools/pqwrite.c)."""
    cols = {}
    for j, (name, kind, flags) in enumerate(spec):
        def val(i):
            if "r" not in flags and (i + j) % 17 == 0:
                return None
            if kind == "string":
                k = i // runs % cycle if cycle else i // runs
                return f"s{j}-{k * 7919 % 100003}"
            if kind == "timestamp":
                return 1700000000000000 + i * 1000003
            if kind == "int64":
                return i * 3 - 1000000
            if kind == "int32":
                return i % 65536 - 32768
            if kind == "double":
                return i * 0.5
            return i % 3 == 0
        cols[name] = [val(i) for i in range(n)]
    return cols


def test_million_rows(tmp_path):
    n = 1_000_000
    spec = [("s", "string", "dsb"), ("t", "timestamp", "rds"), ("b", "bool", "rs"),
            ("n", "int64", "s"), ("i", "int32", "ds"), ("d", "double", "s")]
    path = str(tmp_path / "big.parquet")
    spec_s = ",".join(f"{a}:{b}:{c}" for a, b, c in spec)
    out = json.loads(run([tool("lh-pqwrite"), "--gen", str(n), "--rg-rows", "400000",
                          path, spec_s]).stdout)
    assert out == {"rows": n, "row_groups": 3}
    want = gen_expected(spec, n)
    assert as_python(pq.read_table(path)) == want
    con = duckdb.connect()
    got = con.sql(f"select count(*), count(s), count(distinct s), sum(n), min(t), max(i) "
                  f"from read_parquet('{path}')").fetchone()
    present = [v for v in want["s"] if v is not None]
    assert got[0] == n and got[1] == len(present) and got[2] == len(set(present))
    assert got[3] == sum(v for v in want["n"] if v is not None)
    md = pq.ParquetFile(path).metadata
    assert md.row_group(0).column(0).statistics.null_count == sum(
        1 for v in want["s"][:400000] if v is None)


def test_bloom_filters(tmp_path):
    rnd = random.Random(5)
    words = sorted({rand_string(rnd, 12) for _ in range(3000)})
    ints = [rnd.randint(-2**62, 2**62) for _ in range(3000)]
    rows = [[w, ints[k], ints[k] % 2**31, ints[k] / 7] for k, w in enumerate(words)]
    spec = [("w", "string", "b"), ("n", "int64", "db"), ("i", "int32", "b"), ("d", "double", "b")]
    path = str(tmp_path / "bloom.parquet")
    write(path, spec, rows, "--rg-rows", "1000", "--fpp", "0.01")
    check_all_readers(path, spec, rows)
    md = pq.ParquetFile(path).metadata
    for g in range(md.num_row_groups):
        assert md.row_group(g).column(0).to_dict()["bloom_filter_offset"] is not None
    con = duckdb.connect()

    def excluded(col, value):
        lit = "'" + value.replace("'", "''") + "'" if isinstance(value, str) else repr(value)
        res = con.sql(f"select row_group_id, bloom_filter_excludes from "
                      f"parquet_bloom_probe('{path}', '{col}', {lit})").fetchall()
        return {g: ex for g, ex in res}

    for k in range(0, len(rows), 97):
        g = k // 1000
        w = rows[k][0]
        if "\u0000" not in w:
            assert excluded("w", w)[g] is False
        assert excluded("n", rows[k][1])[g] is False
        assert excluded("i", rows[k][2])[g] is False
        assert excluded("d", rows[k][3])[g] is False
    # absent values are mostly excluded (fpp 1%)
    hits = sum(1 for k in range(200) for g, ex in excluded("w", f"absent-{k}").items() if not ex)
    assert hits < 20
    hits = sum(1 for k in range(200) for g, ex in excluded("n", 2**63 - 1 - k).items() if not ex)
    assert hits < 20
    # The filters stay valid filters when queried with predicates.
    assert con.sql(f"select count(*) from read_parquet('{path}') where n = {rows[10][1]}").fetchone()[0] == 1


def test_dictionary_fallback(tmp_path):
    rows = [[f"value-{k:05d}", k % 7] for k in range(5000)]
    spec = [("s", "string", "ds"), ("k", "int64", "ds")]
    path = str(tmp_path / "fb.parquet")
    write(path, spec, rows, "--dict-size", "1000", "--page-size", "2048")
    check_all_readers(path, spec, rows)
    check_stats(path, spec, rows, [(0, 5000)])
    col = pq.ParquetFile(path).metadata.row_group(0).column(0)
    assert set(col.encodings) == {"PLAIN", "RLE", "RLE_DICTIONARY"}
    assert col.has_dictionary_page
    # the small-cardinality column stays fully dictionary encoded
    col = pq.ParquetFile(path).metadata.row_group(0).column(1)
    assert col.has_dictionary_page and "RLE_DICTIONARY" in col.encodings


def test_footer_metadata(tmp_path):
    spec = [("s", "string", "")]
    path = str(tmp_path / "kv.parquet")
    write(path, spec, [["a"]], "--kv", "origin=test", "--kv", "empty=", "--created-by", "me version 1")
    md = pq.ParquetFile(path).metadata
    assert md.metadata[b"origin"] == b"test"
    assert md.metadata[b"empty"] == b""
    assert md.created_by == "me version 1"
    assert md.num_rows == 1


# ---- nested (Delta checkpoint shaped) ----

def T(kind):
    return ("leaf", kind)


def struct(*fields):
    return ("struct", list(fields))


def map_(v="string"):
    return ("map", v)


def list_(elem="string"):
    return ("list", elem)


CKPT = [
    ("txn", struct(("appId", T("string")), ("version", T("int64")), ("lastUpdated", T("int64")))),
    ("add", struct(("path", T("string")), ("partitionValues", map_()), ("size", T("int64")),
                   ("modificationTime", T("int64")), ("dataChange", T("bool")),
                   ("stats", T("string")), ("tags", map_()),
                   ("deletionVector", struct(("storageType", T("string")),
                                             ("pathOrInlineDv", T("string")),
                                             ("offset", T("int32")),
                                             ("sizeInBytes", T("int32")),
                                             ("cardinality", T("int64")))),
                   ("baseRowId", T("int64")), ("defaultRowCommitVersion", T("int64")))),
    ("remove", struct(("path", T("string")), ("deletionTimestamp", T("int64")),
                      ("dataChange", T("bool")), ("extendedFileMetadata", T("bool")),
                      ("partitionValues", map_()), ("size", T("int64")))),
    ("metaData", struct(("id", T("string")), ("name", T("string")), ("description", T("string")),
                        ("format", struct(("provider", T("string")), ("options", map_()))),
                        ("schemaString", T("string")), ("partitionColumns", list_()),
                        ("configuration", map_()), ("createdTime", T("int64")))),
    ("protocol", struct(("minReaderVersion", T("int32")), ("minWriterVersion", T("int32")),
                        ("readerFeatures", list_()), ("writerFeatures", list_()))),
    ("domainMetadata", struct(("domain", T("string")), ("configuration", T("string")),
                              ("removed", T("bool")))),
]


def nodes_of(fields, out=None):
    """lh-pqwrite --nested schema nodes for (name, type) fields, all optional,
    MAP/LIST in the standard 3-level form."""
    out = [] if out is None else out
    for name, (tag, arg) in fields:
        if tag == "leaf":
            out.append({"name": name, "kind": arg, "flags": "s"})
        elif tag == "struct":
            out.append({"name": name, "children": len(arg)})
            nodes_of(arg, out)
        elif tag == "map":
            out += [{"name": name, "children": 1, "ann": "map"},
                    {"name": "key_value", "children": 2, "rep": "repeated"},
                    {"name": "key", "kind": "string", "rep": "required", "flags": "d"},
                    {"name": "value", "kind": arg, "flags": "d"}]
        elif tag == "list":
            out += [{"name": name, "children": 1, "ann": "list"},
                    {"name": "list", "children": 1, "rep": "repeated"},
                    {"name": "element", "kind": arg}]
    return out


def write_nested(path, fields, records, *opts):
    lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    proc = run([tool("lh-pqwrite"), "--nested", "1", *opts, path, json.dumps(nodes_of(fields))],
               input=lines)
    return json.loads(proc.stdout)


def normalize(fields, rec):
    """A JSON record as pyarrow's to_pylist shows it (maps as (k, v) lists,
    missing fields None)."""
    out = {}
    for name, (tag, arg) in fields:
        v = rec.get(name) if rec is not None else None
        if v is None:
            out[name] = None
        elif tag == "struct":
            out[name] = normalize(arg, v)
        elif tag == "map":
            out[name] = list(v.items())
        else:
            out[name] = v
    return out


def rand_action(rnd):
    s = lambda: rand_string(rnd, 20)
    # jansson (the driver's JSON parser) rejects NUL in object keys
    key = lambda: s().replace("\u0000", "0")
    pv = lambda: {key(): rnd.choice([None, s()]) for _ in range(rnd.choice([0, 0, 1, 3]))}
    kind = rnd.choice(["add", "add", "add", "remove", "txn", "metaData", "protocol", "domainMetadata"])
    if kind == "add":
        a = {"path": s() or "p", "partitionValues": pv(), "size": rnd.randint(0, 2**40),
             "modificationTime": rnd.randint(0, 2**45), "dataChange": False,
             "stats": rnd.choice([None, json.dumps({"numRecords": rnd.randint(0, 99)})])}
        if rnd.random() < 0.3:
            a["tags"] = pv()
        if rnd.random() < 0.2:
            a["deletionVector"] = {"storageType": "u", "pathOrInlineDv": s(), "offset": rnd.choice([None, 1]),
                                   "sizeInBytes": 36, "cardinality": 2}
        return {"add": a}
    if kind == "remove":
        return {"remove": {"path": s() or "p", "deletionTimestamp": rnd.randint(0, 2**45),
                           "dataChange": True, "extendedFileMetadata": rnd.choice([None, True]),
                           "partitionValues": pv(), "size": rnd.choice([None, 5])}}
    if kind == "txn":
        return {"txn": {"appId": s(), "version": rnd.randint(0, 9), "lastUpdated": None}}
    if kind == "metaData":
        return {"metaData": {"id": str(uuid.UUID(int=rnd.getrandbits(128))), "name": None,
                             "description": rnd.choice([None, s()]),
                             "format": {"provider": "parquet", "options": pv()},
                             "schemaString": "{}", "partitionColumns": [s() for _ in range(rnd.randint(0, 3))],
                             "configuration": pv(), "createdTime": rnd.randint(0, 2**45)}}
    if kind == "protocol":
        feats = rnd.choice([None, [], ["deletionVectors"], ["a", "b", "c"]])
        return {"protocol": {"minReaderVersion": 3, "minWriterVersion": 7,
                             "readerFeatures": feats, "writerFeatures": feats}}
    return {"domainMetadata": {"domain": s(), "configuration": "{}", "removed": False}}


@pytest.mark.parametrize("seed", range(4))
def test_nested_checkpoint_shape(tmp_path, seed):
    rnd = random.Random(seed)
    records = [rand_action(rnd) for _ in range(rnd.choice([1, 50, 3000]))]
    path = str(tmp_path / "ckpt.parquet")
    opts = ["--rg-rows", "700", "--page-size", "2000", "--dict-size", "300",
            "--codec", rnd.choice(["SNAPPY", "ZSTD", "UNCOMPRESSED"])]
    assert write_nested(path, CKPT, records, *opts)["rows"] == len(records)
    want = [normalize(CKPT, r) for r in records]
    assert pq.read_table(path).to_pylist() == want
    # DuckDB: maps come back as dicts
    got = duckdb.connect().sql(f"select add, protocol, metaData from read_parquet('{path}')").fetchall()
    for (add, proto, meta), rec in zip(got, records):
        if "add" in rec:
            assert add["path"] == rec["add"]["path"]
            assert add["partitionValues"] == rec["add"]["partitionValues"]
        else:
            assert add is None
        if "protocol" in rec:
            assert proto["readerFeatures"] == rec["protocol"]["readerFeatures"]
        if "metaData" in rec:
            assert meta["partitionColumns"] == rec["metaData"]["partitionColumns"]
            assert meta["configuration"] == rec["metaData"]["configuration"]


def test_checkpoint_read_by_delta_rs(tmp_path):
    """A checkpoint written by lh-pqwrite replaces the JSON log for delta-rs
    (parquet-rs reads our nested file)."""
    import os
    from deltalake import DeltaTable, write_deltalake

    table = str(tmp_path / "t")
    for k in range(3):
        write_deltalake(table, pa.table({"x": [k, k + 10], "p": ["a", "b"]}), mode="append",
                        partition_by=["p"])
    log = os.path.join(table, "_delta_log")
    actions = []
    for v in range(3):
        with open(os.path.join(log, f"{v:020d}.json")) as f:
            actions += [json.loads(line) for line in f if line.strip()]
    records = []
    for a in actions:
        if "protocol" in a or "metaData" in a:
            records.append(a)
        elif "add" in a:
            add = dict(a["add"], dataChange=False)
            records.append({"add": add})
    path = os.path.join(log, f"{2:020d}.checkpoint.parquet")
    write_nested(path, CKPT, records, "--page-index", "1")
    with open(os.path.join(log, "_last_checkpoint"), "w") as f:
        json.dump({"version": 2, "size": len(records)}, f)
    before = sorted(DeltaTable(table).file_uris())
    for v in range(3):
        os.remove(os.path.join(log, f"{v:020d}.json"))
    dt = DeltaTable(table)
    assert dt.version() == 2
    assert sorted(dt.file_uris()) == before
    t = pa.table(QueryBuilder_read(dt))
    assert sorted(t.column("x").to_pylist()) == [0, 1, 2, 10, 11, 12]


def QueryBuilder_read(dt):
    from deltalake import QueryBuilder
    return QueryBuilder().register("t", dt).execute("select x, p from t").read_all()


# ---- random nested schemas ----

def rand_type(rnd, depth=0):
    req = rnd.random() < 0.3
    r = rnd.random()
    if depth >= 3 or r < 0.45:
        return ("leaf", rnd.choice(KINDS), req)
    if r < 0.65:
        return ("struct", [(f"f{k}", rand_type(rnd, depth + 1)) for k in range(rnd.randint(1, 3))], req)
    if r < 0.85:
        return ("list", rand_type(rnd, depth + 1), req)
    return ("map", rand_type(rnd, depth + 1), req)


def type_nodes(name, t, out):
    tag, arg, req = t
    rep = "required" if req else "optional"
    if tag == "leaf":
        out.append({"name": name, "kind": arg, "rep": rep, "flags": "ds"})
    elif tag == "struct":
        out.append({"name": name, "children": len(arg), "rep": rep})
        for fname, ft in arg:
            type_nodes(fname, ft, out)
    elif tag == "list":
        out += [{"name": name, "children": 1, "ann": "list", "rep": rep},
                {"name": "list", "children": 1, "rep": "repeated"}]
        type_nodes("element", arg, out)
    else:
        out += [{"name": name, "children": 1, "ann": "map", "rep": rep},
                {"name": "key_value", "children": 2, "rep": "repeated"},
                {"name": "key", "kind": "string", "rep": "required", "flags": "d"}]
        type_nodes("value", arg, out)
    return out


def rand_nested_value(rnd, t):
    tag, arg, req = t
    if not req and rnd.random() < 0.2:
        return None
    if tag == "leaf":
        return rand_value(rnd, arg, False)
    if tag == "struct":
        return {f: rand_nested_value(rnd, ft) for f, ft in arg}
    if tag == "list":
        return [rand_nested_value(rnd, arg) for _ in range(rnd.choice([0, 1, 1, 2, 5]))]
    keys = {rand_string(rnd, 6).replace("\u0000", "0") for _ in range(rnd.choice([0, 1, 3]))}
    return {k: rand_nested_value(rnd, arg) for k in keys}


def expect_nested(t, v):
    """The value as pyarrow's to_pylist returns it."""
    import datetime
    tag, arg, req = t
    if v is None:
        return None
    if tag == "leaf":
        if arg == "timestamp":
            return datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc) + datetime.timedelta(microseconds=v)
        return v
    if tag == "struct":
        return {f: expect_nested(ft, v.get(f)) for f, ft in arg}
    if tag == "list":
        return [expect_nested(arg, x) for x in v]
    return [(k, expect_nested(arg, x)) for k, x in v.items()]


@pytest.mark.parametrize("seed", range(int(__import__("os").environ.get("LH_PQ_SEEDS", "12"))))
def test_random_nested(tmp_path, seed):
    rnd = random.Random(1000 + seed)
    fields = [(f"c{k}", rand_type(rnd)) for k in range(rnd.randint(1, 4))]
    nodes = []
    for name, t in fields:
        type_nodes(name, t, nodes)
    n = rnd.choice([1, 10, 400])
    records = [{name: rand_nested_value(rnd, t) for name, t in fields} for _ in range(n)]
    for r in records:  # a missing key is the same as null
        for name in list(r):
            if r[name] is None and rnd.random() < 0.5:
                del r[name]
    path = str(tmp_path / "nested.parquet")
    lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    opts = ["--rg-rows", str(rnd.choice([7, 1000])), "--page-size", str(rnd.choice([100, 0])),
            "--dict-size", str(rnd.choice([50, 0])), "--page-index", str(rnd.choice([0, 1]))]
    out = json.loads(run([tool("lh-pqwrite"), "--nested", "1", *opts, path, json.dumps(nodes)],
                         input=lines).stdout)
    assert out["rows"] == n
    want = [{name: expect_nested(t, r.get(name)) for name, t in fields} for r in records]
    assert pq.read_table(path).to_pylist() == want
    got = duckdb.connect().sql(f"select count(*) from read_parquet('{path}')").fetchone()[0]
    assert got == n


# ---- page index ----

def thrift_struct(buf, pos):
    """Minimal Thrift compact decoder: struct at pos -> ({field id: value}, end)."""
    def varint(p):
        v = shift = 0
        while True:
            b = buf[p]
            p += 1
            v |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return v, p

    def zz(v):
        return (v >> 1) ^ -(v & 1)

    def value(t, p):
        if t in (1, 2):
            return t == 1, p
        if t == 3:
            return buf[p], p + 1
        if t in (4, 5, 6):
            v, p = varint(p)
            return zz(v), p
        if t == 7:
            return buf[p:p + 8], p + 8
        if t == 8:
            n, p = varint(p)
            return bytes(buf[p:p + n]), p + n
        if t in (9, 10):
            h = buf[p]
            p += 1
            n, et = h >> 4, h & 15
            if n == 15:
                n, p = varint(p)
            out = []
            for _ in range(n):
                if et in (1, 2):
                    out.append(buf[p] == 1)
                    p += 1
                else:
                    v, p = value(et, p)
                    out.append(v)
            return out, p
        if t == 12:
            return thrift_struct(buf, p)
        raise AssertionError(f"thrift type {t}")

    out, last = {}, 0
    while True:
        h = buf[pos]
        pos += 1
        if h == 0:
            return out, pos
        t, delta = h & 15, h >> 4
        if delta:
            fid = last + delta
        else:
            v, pos = varint(pos)
            fid = zz(v)
        last = fid
        out[fid], pos = value(t, pos)


@pytest.mark.parametrize("runs,cycle", [(1, 0), (997, 0), (1, 613)])
def test_page_index(tmp_path, runs, cycle):
    """--page-index: OffsetIndex locations point at the data page headers,
    first_row_index follows the rows, ColumnIndex bounds and null counts agree
    with the chunk statistics; DataFusion (parquet-rs, page pruning on)
    answers point and range queries correctly. runs=997: strings repeat in
    runs that cross page and row-group boundaries (the writer skips the
    dictionary lookup for a repeat), and every value reads back. cycle=613:
    a string recurs in later pages of its chunk (the writer bounds a
    dictionary entry once per page)."""
    import struct as st

    n = 100_000
    spec = [("s", "string", "dsb"), ("t", "timestamp", "rds"), ("b", "bool", "rs"),
            ("n", "int64", "s"), ("i", "int32", "ds"), ("d", "double", "s")]
    path = str(tmp_path / "pi.parquet")
    spec_s = ",".join(f"{a}:{b}:{c}" for a, b, c in spec)
    run([tool("lh-pqwrite"), "--gen", str(n), "--rg-rows", "40000", "--page-size", "4096",
         "--page-index", "1", "--codec", "ZSTD", "--runs", str(runs), "--cycle", str(cycle),
         path, spec_s])
    data = open(path, "rb").read()
    md = pq.ParquetFile(path).metadata
    want = gen_expected(spec, n, runs, cycle)
    base = 0
    for g in range(md.num_row_groups):
        rg = md.row_group(g)
        for c, (name, kind, flags) in enumerate(spec):
            col = rg.column(c)
            assert col.has_offset_index
            assert col.has_column_index == ("s" in flags)
            d = col.to_dict()
            # locate the index structs through our own footer fields
            foot_len = st.unpack("<I", data[-8:-4])[0]
            fmeta, _ = thrift_struct(data, len(data) - 8 - foot_len)
            chunk = fmeta[4][g][1][c]
            oi, _ = thrift_struct(data, chunk[4])
            pages = oi[1]
            assert pages[0][1] == d["data_page_offset"]
            rows = 0
            for k, p in enumerate(pages):
                hdr, body = thrift_struct(data, p[1])
                assert hdr[1] == 0  # DATA_PAGE
                assert body - p[1] + hdr[3] == p[2]  # header + compressed size
                if k + 1 < len(pages):
                    assert pages[k + 1][1] == p[1] + p[2]
                assert p[3] == rows
                rows += hdr[5][1]
            assert rows == rg.num_rows
            if "s" not in flags:
                continue
            ci, _ = thrift_struct(data, chunk[6])
            assert len(ci[1]) == len(ci[2]) == len(ci[3]) == len(ci[5]) == len(pages)
            assert sum(ci[5]) == col.statistics.null_count
            vals = want[name][base:base + rg.num_rows]
            # per page bounds against the values of the page's rows
            for k, p in enumerate(pages):
                end = pages[k + 1][3] if k + 1 < len(pages) else rg.num_rows
                present = [v for v in vals[p[3]:end] if v is not None]
                assert ci[1][k] == (not present)
                assert ci[5][k] == end - p[3] - len(present)
                if not present:
                    continue
                fmt = {"timestamp": "<q", "int64": "<q", "int32": "<i", "double": "<d"}.get(kind)
                if kind == "string":
                    lo, hi = ci[2][k].decode(), ci[3][k].decode()
                    assert lo == min(present, key=str.encode) and hi == max(present, key=str.encode)
                elif kind == "bool":
                    assert ci[2][k] == bytes([min(present)]) and ci[3][k] == bytes([max(present)])
                else:
                    assert st.unpack(fmt, ci[2][k])[0] == min(present)
                    assert st.unpack(fmt, ci[3][k])[0] == max(present)
            if name in ("t", "n"):
                assert ci[4] == 1  # ASCENDING
        base += rg.num_rows
    # parquet-rs with page pruning
    check_all_readers(path, spec, [list(r) for r in zip(*(want[a] for a, _, _ in spec))])
    import os
    from deltalake import DeltaTable, QueryBuilder
    dt = DeltaTable(os.path.dirname(path))
    for lo, hi in [(1000, 1005), (39990, 40010), (77777, 77777), (99990, 99999)]:
        a, b = lo * 3 - 1000000, hi * 3 - 1000000  # gen_value's n (some rows null)
        q = f"select count(*) as c, min(s) as m from t where n between {a} and {b}"
        got = pa.table(QueryBuilder().register("t", dt).execute(q).read_all()).to_pylist()[0]
        exp = [(want["n"][k], want["s"][k]) for k in range(lo, hi + 1) if want["n"][k] is not None]
        assert got["c"] == len(exp)
        strs = [s for _, s in exp if s is not None]
        assert got["m"] == (min(strs) if strs else None)
        ts = want["t"][lo]
        q = f"select count(*) as c from t where t = to_timestamp_micros({ts})"
        got = pa.table(QueryBuilder().register("t", dt).execute(q).read_all()).to_pylist()[0]
        assert got["c"] == 1


def test_a_flipped_bit_in_a_page_is_caught_by_every_reader(tmp_path):
    """Our zstd pages carry their frame's checksum: a bit flipped in a
    stored page (a dictionary page of statement ids, which compress to raw
    literals) fails ours, pyarrow and DuckDB alike, where it used to read
    back as other values; `maintenance check` names the file."""
    lake = tmp_path / "lake"
    run([tool("ftm-lakehouse"), "--uri", lake, "-d", "zala", "entities", "import",
         "-i", SHARED_DATA / "sanctions_zala.ftm.json"])
    path = max(lake.rglob("*.parquet"), key=lambda p: p.stat().st_size)
    col = pq.ParquetFile(path).metadata.row_group(0).column(0)
    assert col.path_in_schema == "id" and col.compression == "ZSTD"
    start = col.dictionary_page_offset or col.data_page_offset
    data = bytearray(path.read_bytes())
    at = start + col.total_compressed_size // 2
    data[at] ^= 0x04
    path.write_bytes(bytes(data))
    with pytest.raises(Exception, match="checksum"):
        pq.read_table(path)
    with pytest.raises(Exception, match="(?i)zstd"):
        duckdb.sql(f"SELECT count(DISTINCT id) FROM read_parquet('{path}')").fetchall()
    proc = run([tool("ftm-lakehouse"), "--uri", lake, "-d", "zala", "maintenance", "check"],
               check=False)
    assert proc.returncode == 5, proc.stdout + proc.stderr
    assert path.name in proc.stdout and "checksum" in proc.stdout
