"""Delta log interop: tables our C log writes are read by delta-rs (deltalake)
at every version, and tables delta-rs writes are replayed identically by ours
(same live files and partition values); concurrent writers and kill -9."""
import json
import os
import random
import signal
import subprocess
import time
import uuid
from datetime import datetime, timezone

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable, write_deltalake

import deltascan
from conftest import run, tool

SCHEMA = pa.schema([("id", pa.string()), ("ts", pa.timestamp("us", tz="UTC")), ("flag", pa.bool_())])
ORIGINS = ["a", "hello world/x=%+ü", None, "Serbia/srb%", "a<b>c|d}"]


def lhd(*args, **kw):
    return run([tool("lh-delta"), *args], **kw)


def snapshot(root, version=None):
    args = ["snapshot", root, "."] + ([str(version)] if version is not None else [])
    return json.loads(lhd(*args).stdout)


def ours(root, version=None):
    """{raw add.path: partitionValues} of our replay."""
    return {f["raw_path"]: f["pv"] for f in snapshot(root, version)["files"]}


def theirs(root, version=None):
    """{raw add.path: partitionValues} of delta-rs's replay."""
    dt = DeltaTable(str(root), version=version) if version is not None else DeltaTable(str(root))
    actions = pa.table(dt.get_add_actions(flatten=True)).to_pylist()
    pcols = dt.metadata().partition_columns
    return {a["path"]: {c: a[f"partition.{c}"] for c in pcols} for a in actions}


def rows(table):
    return sorted_rows(table.to_pylist())


def sorted_rows(items):
    return sorted(items, key=lambda r: json.dumps(r, default=str, sort_keys=True))


def make_rows(tag, n, origin):
    ts = datetime(2024, 8, 19, 9, 56, 41, 123456, tzinfo=timezone.utc)
    return [{"id": f"{tag}-{i}", "ts": ts if i % 2 else None, "flag": bool(i % 3), "origin": origin}
            for i in range(n)]


def stats_json(data):
    ids = [r["id"] for r in data]
    tss = [r["ts"] for r in data if r["ts"] is not None]
    fmt = lambda t: t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"
    mn = {"id": min(ids)}
    mx = {"id": max(ids)}
    if tss:
        mn["ts"], mx["ts"] = fmt(min(tss)), fmt(max(tss))
    return json.dumps({"numRecords": len(data), "minValues": mn, "maxValues": mx,
                       "nullCount": {"id": 0, "ts": len(data) - len(tss), "flag": 0}})


def write_data(root, origin, data, style="deltars"):
    """Write a parquet data file into the partition directory; returns the
    relative path, the partition values and the stats."""
    pv = f"origin={origin}" if origin is not None else "origin=\\N"
    d = lhd("partdir", style, pv).stdout.strip()
    rel = f"{d}/part-00000-{uuid.uuid4()}-c000.snappy.parquet"
    (root / d).mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pylist([{k: v for k, v in r.items() if k != "origin"} for r in data], SCHEMA)
    pq.write_table(table, root / rel)
    return {"path": rel, "pv": {"origin": origin}, "stats": stats_json(data)}


def commit(root, spec):
    return int(lhd("commit", root, ".", json.dumps(spec)).stdout)


def test_c_writes_deltars_reads(tmp_path):
    root = tmp_path / "t"
    assert lhd("create", root, ".", "id:string,ts:timestamp,flag:boolean,origin:string", "origin",
               "delta.checkpointInterval=1000").stdout.strip() == "0"
    live = {}  # rel path -> rows
    expected = {0: []}
    files = {}
    v = 0
    for i, origin in enumerate(ORIGINS):
        data = make_rows(f"f{i}", 3 + i, origin)
        add = write_data(root, origin, data, "hive" if i % 2 else "deltars")
        v = commit(root, {"adds": [add]})
        live[add["path"]] = data
        files[v] = dict(live)
    # a second file in "a", then overwrite partition "a"
    data = make_rows("a2", 2, "a")
    add = write_data(root, "a", data)
    v = commit(root, {"adds": [add]})
    live[add["path"]] = data
    files[v] = dict(live)
    data = make_rows("over", 4, "a")
    add = write_data(root, "a", data)
    v = commit(root, {"operation": "WRITE", "params": {"mode": "Overwrite", "predicate": "origin = 'a'"},
                      "remove_where": [{"origin": "a"}], "adds": [add]})
    live = {p: r for p, r in live.items() if r[0]["origin"] != "a"}
    live[add["path"]] = data
    files[v] = dict(live)
    # compaction of the null partition: dataChange=false on both sides
    data = make_rows("n2", 2, None)
    add = write_data(root, None, data)
    v = commit(root, {"adds": [add]})
    live[add["path"]] = data
    files[v] = dict(live)
    olds = [p for p, r in live.items() if r[0]["origin"] is None]
    merged = [r for p in olds for r in live[p]]
    add = write_data(root, None, merged)
    add["dataChange"] = False
    v = commit(root, {"operation": "OPTIMIZE", "remove_paths": olds,
                      "dataChange": False, "adds": [add]})
    for p in olds:
        del live[p]
    live[add["path"]] = merged
    files[v] = dict(live)

    assert DeltaTable(str(root)).version() == v
    for version in range(v + 1):
        dt = DeltaTable(str(root), version=version)
        want = [r for data in files.get(version, {}).values() for r in data]
        assert rows(dt.to_pyarrow_table()) == rows(pa.Table.from_pylist(want, dt.to_pyarrow_table().schema)) \
            if want else dt.to_pyarrow_table().num_rows == 0
        assert theirs(root, version) == ours(root, version)
        assert sorted(f["path"] for f in snapshot(root, version)["files"]) == sorted(files.get(version, {}))
        # DuckDB's delta extension reads the same rows at every version
        assert sorted_rows(deltascan.rows(root, version)) == sorted_rows(want)
    # stats are usable for skipping
    got = DeltaTable(str(root)).to_pyarrow_table(filters=[("id", "=", "over-1")])
    assert got.num_rows == 1
    meta = DeltaTable(str(root)).metadata()
    assert meta.partition_columns == ["origin"]
    assert meta.configuration == {"delta.checkpointInterval": "1000"}
    hist = DeltaTable(str(root)).history()
    assert hist[0]["operation"] == "OPTIMIZE"
    # delta-rs appends on top of our log, and we read its commit
    write_deltalake(str(root), deltars_table(root)("rs", 2, "a"), mode="append")
    assert theirs(root) == ours(root)


def deltars_table(root):
    schema = pa.schema([("id", pa.string()), ("ts", pa.timestamp("us", tz="UTC")), ("flag", pa.bool_()),
                        ("origin", pa.string())])
    return lambda tag, n, origin: pa.Table.from_pylist(make_rows(tag, n, origin), schema)


def test_deltars_writes_c_reads(tmp_path):
    root = tmp_path / "t"
    mk = deltars_table(root)
    write_deltalake(str(root), pa.concat_tables([mk("a", 3, o) for o in ORIGINS + [""]]), partition_by=["origin"])
    for i in range(3):
        write_deltalake(str(root), mk(f"b{i}", 2, ORIGINS[i % len(ORIGINS)]), mode="append")
    write_deltalake(str(root), mk("o", 2, "a"), mode="overwrite", predicate="origin = 'a'")
    dt = DeltaTable(str(root))
    dt.optimize.compact()
    dt = DeltaTable(str(root))
    # our vacuum agrees with delta-rs's dry run
    mine = set(json.loads(lhd("vacuum", root, ".", "0", "dry").stdout))
    theirs_dry = dt.vacuum(retention_hours=0, enforce_retention_duration=False, dry_run=True)
    assert mine == {p.replace(str(root) + "/", "") for p in theirs_dry} or mine == set(theirs_dry)
    dt.vacuum(retention_hours=0, enforce_retention_duration=False, dry_run=False)
    latest = DeltaTable(str(root)).version()
    assert snapshot(root)["version"] == latest
    for version in range(latest + 1):
        assert ours(root, version) == theirs(root, version), f"version {version}"
    snap = snapshot(root)
    assert snap["partitionColumns"] == ["origin"]
    assert [f["name"] for f in snap["fields"]] == ["id", "ts", "flag", "origin"]
    assert all(f["type"] for f in snap["fields"])
    for f in snap["files"]:
        assert (root / f["path"]).exists()
    assert json.loads(lhd("vacuum", root, ".", "0", "dry").stdout) == []


def test_checkpoints(tmp_path):
    root = tmp_path / "t"
    mk = deltars_table(root)
    write_deltalake(str(root), mk("c", 1, "a"), partition_by=["origin"])
    for i in range(104):
        write_deltalake(str(root), mk(f"c{i}", 1, ORIGINS[i % 3]), mode="append")
    write_deltalake(str(root), mk("o", 1, "a"), mode="overwrite", predicate="origin = 'a'")
    log = root / "_delta_log"
    assert (log / f"{99:020d}.checkpoint.parquet").exists()
    dt = DeltaTable(str(root))
    dt.create_checkpoint()
    latest = dt.version()
    assert ours(root) == theirs(root)
    for version in (98, 99, 100, latest):
        assert ours(root, version) == theirs(root, version)
    # Without the JSON commits before the checkpoint, it must be read.
    for v in range(latest + 1):
        (log / f"{v:020d}.json").unlink()
    proc = lhd("snapshot", root, ".", check=False)
    if proc.returncode != 0 and "unsupported" in proc.stderr:
        pytest.xfail("checkpoint reading needs the parquet reader: " + proc.stderr)
    assert proc.returncode == 0, proc.stderr
    assert {f["raw_path"]: f["pv"] for f in json.loads(proc.stdout)["files"]} == theirs(root)
    # The same checkpoint split into a (deprecated) multi-part checkpoint,
    # rewritten by pyarrow (parquet-cpp naming of the nested groups).
    single = log / f"{latest:020d}.checkpoint.parquet"
    table = pq.read_table(single)
    half = table.num_rows // 2
    pq.write_table(table.slice(0, half), log / f"{latest:020d}.checkpoint.{1:010d}.{2:010d}.parquet")
    pq.write_table(table.slice(half), log / f"{latest:020d}.checkpoint.{2:010d}.{2:010d}.parquet")
    single.unlink()
    (log / "_last_checkpoint").unlink()
    assert ours(root) == theirs(root)


def test_concurrent_appends(tmp_path):
    root = tmp_path / "t"
    lhd("create", root, ".", "id:string,ts:timestamp,flag:boolean,origin:string", "origin")
    paths = [[write_data(root, "x", make_rows(f"p{p}-{i}", 1, "x"))["path"] for i in range(50)] for p in range(4)]
    procs = [subprocess.Popen([str(tool("lh-delta")), "append-each", str(root), ".", '{"origin":"x"}', *ps],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for ps in paths]
    versions = []
    for p in procs:
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0, err
        versions += [int(x) for x in out.split()]
    assert sorted(versions) == list(range(1, 201))
    snap = snapshot(root)
    assert snap["version"] == 200 and len(snap["files"]) == 200
    dt = DeltaTable(str(root))
    assert dt.version() == 200
    assert dt.to_pyarrow_table().num_rows == 200
    assert ours(root) == theirs(root)


def test_kill_9_leaves_readable_table(tmp_path):
    root = tmp_path / "t"
    lhd("create", root, ".", "id:string,ts:timestamp,flag:boolean,origin:string", "origin")
    paths = [write_data(root, "k", make_rows(f"k{i}", 1, "k"))["path"] for i in range(120)]
    rng = random.Random(7)
    done = 0
    for round_ in range(6):
        batch = paths[done:done + 20]
        p = subprocess.Popen([str(tool("lh-delta")), "append-each", str(root), ".", '{"origin":"k"}', *batch],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(rng.uniform(0.01, 0.4))
        p.send_signal(signal.SIGKILL)
        p.communicate()
        done += 20
        # every visible commit is complete JSON
        for f in sorted((root / "_delta_log").glob("*.json")):
            for line in f.read_text().splitlines():
                json.loads(line)
        snap = snapshot(root)
        assert snap["version"] == DeltaTable(str(root)).version()
        assert ours(root) == theirs(root)
        assert DeltaTable(str(root)).to_pyarrow_table().num_rows == len(snap["files"])
    # the table still takes commits
    lhd("append-each", root, ".", '{"origin":"k"}', paths[-1])


def test_crafted_log_is_refused(tmp_path):
    root = tmp_path / "t"
    lhd("create", root, ".", "id:string,origin:string", "origin")
    for bad in ["../../etc/passwd", "/etc/passwd", "file:///etc/passwd", "s3://bucket/x.parquet", "a/%2E%2E/%2E%2E/x"]:
        line = json.dumps({"add": {"path": bad, "partitionValues": {"origin": "x"}, "size": 1,
                                   "modificationTime": 1, "dataChange": True}})
        (root / "_delta_log" / f"{1:020d}.json").write_text('{"commitInfo":{}}\n' + line)
        proc = lhd("snapshot", root, ".", check=False)
        assert proc.returncode == 1
        assert proc.stderr.startswith("corrupt:") and "00000000000000000001.json line 2" in proc.stderr, proc.stderr


def test_c_checkpoints_read_by_deltars(tmp_path):
    """Our checkpoints (every delta.checkpointInterval commits) are read by
    delta-rs, also once the JSON commits they cover are deleted."""
    root = tmp_path / "t"
    lhd("create", root, ".", "id:string,ts:timestamp,flag:boolean,origin:string", "origin",
        "delta.checkpointInterval=3")
    expected = []
    for i in range(8):
        origin = ORIGINS[i % len(ORIGINS)]
        data = make_rows(f"c{i}", 2, origin)
        commit(root, {"read": True, "adds": [write_data(root, origin, data)]})
        expected += data
    data = make_rows("over", 1, "a")
    v = commit(root, {"operation": "WRITE", "remove_where": [{"origin": "a"}],
                      "adds": [write_data(root, "a", data)]})
    expected = [r for r in expected if r["origin"] != "a"] + data
    log = root / "_delta_log"
    cps = sorted(p.name for p in log.glob("*.checkpoint.parquet"))
    assert cps == [f"{n:020d}.checkpoint.parquet" for n in (2, 5, 8)]
    assert json.loads((log / "_last_checkpoint").read_text())["version"] == 8
    assert v == 9
    for version in range(v + 1):
        assert ours(root, version) == theirs(root, version)
    for n in range(9):
        (log / f"{n:020d}.json").unlink()
    dt = DeltaTable(str(root))
    assert dt.version() == 9
    got = dt.to_pyarrow_table()
    assert rows(got) == rows(pa.Table.from_pylist(expected, got.schema))
    assert ours(root) == theirs(root)
    assert DeltaTable(str(root), version=8).to_pyarrow_table().num_rows == got.num_rows - 1 + 2 * 2
    assert dt.metadata().configuration == {"delta.checkpointInterval": "3"}
    # the checkpoint is plain parquet for other readers too
    assert pq.read_table(log / f"{8:020d}.checkpoint.parquet").num_rows >= 4


DRS_APPENDER = """
import sys, pyarrow as pa
from deltalake import write_deltalake
root, tag, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
schema = pa.schema([("id", pa.string()), ("ts", pa.timestamp("us", tz="UTC")), ("flag", pa.bool_()),
                    ("origin", pa.string())])
for i in range(n):
    write_deltalake(root, pa.Table.from_pylist([{"id": f"{tag}-{i}", "ts": None, "flag": True,
                                                 "origin": "x"}], schema), mode="append")
"""


def test_mixed_concurrent_writers(tmp_path):
    """Our writers and delta-rs writers append to one table at the same time."""
    import sys

    root = tmp_path / "t"
    lhd("create", root, ".", "id:string,ts:timestamp,flag:boolean,origin:string", "origin")
    ours_paths = [[write_data(root, "x", make_rows(f"c{p}-{i}", 1, "x"))["path"] for i in range(25)]
                  for p in range(2)]
    procs = [subprocess.Popen([str(tool("lh-delta")), "append-each", str(root), ".", '{"origin":"x"}', *ps],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for ps in ours_paths]
    procs += [subprocess.Popen([sys.executable, "-c", DRS_APPENDER, str(root), f"rs{p}", "25"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for p in range(2)]
    for p in procs:
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0, err
    snap = snapshot(root)
    assert snap["version"] == 100 and len(snap["files"]) == 100
    assert ours(root) == theirs(root)
    assert DeltaTable(str(root)).to_pyarrow_table().num_rows == 100


def test_checkpoint_replaces_a_hint_to_a_missing_checkpoint(tmp_path):
    """_last_checkpoint naming a checkpoint that is not there (a log cut
    back, restored) stops delta-rs opening the table; our checkpoint does
    not move a valid hint backwards, but replaces that one."""
    root = tmp_path / "t"
    lhd("create", root, ".", "id:string,origin:string", "origin")
    commit(root, {"adds": [write_data(root, "a", make_rows("h", 1, "a"))]})
    hint = root / "_delta_log" / "_last_checkpoint"
    hint.write_text('{"version":999,"size":3}')
    with pytest.raises(Exception):
        DeltaTable(str(root))
    lhd("checkpoint", root, ".")
    assert json.loads(hint.read_text())["version"] == 1
    assert ours(root) == theirs(root)
    # a hint to a newer checkpoint that exists stays
    commit(root, {"adds": [write_data(root, "a", make_rows("i", 1, "a"))]})
    lhd("checkpoint", root, ".")
    lhd("checkpoint", root, ".", "1")
    assert json.loads(hint.read_text())["version"] == 2


def test_deltars_checkpoint_empty_partition_value(tmp_path):
    """delta-rs keeps an empty-string partition value as "" in its
    checkpoints (null in its JSON commits) and reads both back as null; the
    replay must not depend on whether a checkpoint covers the file."""
    root = tmp_path / "t"
    mk = deltars_table(root)
    write_deltalake(str(root), pa.concat_tables([mk("e", 2, ""), mk("a", 2, "a")]), partition_by=["origin"])
    write_deltalake(str(root), mk("o", 1, "a"), mode="overwrite", predicate="origin = 'a'")
    before = ours(root)
    assert before == theirs(root) and None in [pv["origin"] for pv in before.values()]
    DeltaTable(str(root)).create_checkpoint()
    assert ours(root) == theirs(root) == before
    tomb = {t["raw_path"]: t["pv"] for t in snapshot(root)["tombstones"]}
    assert sorted(v["origin"] for v in tomb.values()) == ["a"]


def test_legacy_writer_versions_are_refused_by_feature(tmp_path):
    """delta-rs raises a table to writer version 3 for a CHECK constraint
    and 4 for delta.enableChangeDataFeed (legacy protocols: no feature
    list). Our writes are refused, naming the feature, not only the version."""
    root = tmp_path / "t"
    lhd("create", root, ".", "id:string,ts:timestamp,flag:boolean,origin:string", "origin")
    commit(root, {"adds": [write_data(root, "a", make_rows("a", 2, "a"))]})
    DeltaTable(str(root)).alter.add_constraint({"id_set": "id IS NOT NULL"})
    assert DeltaTable(str(root)).protocol().min_writer_version == 3
    spec = json.dumps({"read": True, "adds": [write_data(root, "a", make_rows("b", 1, "a"))]})
    proc = lhd("commit", root, ".", spec, check=False)
    assert proc.returncode != 0 and "writer version 3 (features: checkConstraints)" in proc.stderr, proc.stderr
    DeltaTable(str(root)).alter.set_table_properties({"delta.enableChangeDataFeed": "true"})
    assert DeltaTable(str(root)).protocol().min_writer_version == 4
    proc = lhd("commit", root, ".", spec, check=False)
    assert proc.returncode != 0 and "changeDataFeed" in proc.stderr, proc.stderr
    assert DeltaTable(str(root)).version() == 3


def test_checkpoint_keeps_app_txns_and_tags(tmp_path):
    """A streaming writer's txn identifiers (delta-rs app_transactions) and
    the tags other writers put on adds survive our checkpoint: delta-rs
    reads the same transaction version from it once the JSON commits
    before it are gone."""
    from deltalake import CommitProperties, Transaction

    root = tmp_path / "t"
    table = pa.table({"id": ["a"], "origin": ["x"]})
    for version, mode in ((5, "error"), (6, "append")):
        props = CommitProperties(app_transactions=[Transaction(app_id="stream", version=version,
                                                               last_updated=int(time.time() * 1000))])
        write_deltalake(str(root), table, partition_by=["origin"], mode=mode, commit_properties=props)
    data = sorted((root / "origin=x").glob("*.parquet"))[0]
    tagged = root / "origin=x" / "tagged.parquet"
    tagged.write_bytes(data.read_bytes())
    tags = {"INSERTION_TIME": "1700000000000000", "OPTIMIZE_TARGET_SIZE": "268435456"}
    add = {"path": "origin=x/tagged.parquet", "partitionValues": {"origin": "x"},
           "size": tagged.stat().st_size, "modificationTime": 1, "dataChange": True, "tags": tags}
    log = root / "_delta_log"
    (log / f"{2:020d}.json").write_text(json.dumps({"add": add}) + "\n")
    lhd("checkpoint", root, ".")
    assert (log / f"{2:020d}.checkpoint.parquet").exists()
    for v in range(3):
        (log / f"{v:020d}.json").unlink()
    snap = snapshot(root)
    assert snap["txns"] == {"stream": 6}
    assert [f.get("tags") for f in snap["files"] if f["path"] == "origin=x/tagged.parquet"] == [tags]
    dt = DeltaTable(str(root))
    assert dt.version() == 2 and dt.transaction_version("stream") == 6
    assert dt.to_pyarrow_table().num_rows == 3
    rows = pq.read_table(log / f"{2:020d}.checkpoint.parquet").column("add").to_pylist()
    assert [dict(r["tags"]) for r in rows if r and r["path"] == "origin=x/tagged.parquet"] == [tags]
