"""Spark (delta-spark) and our engine on one Delta table, both ways:
Spark reads every version of a table we wrote (a merge's checkpoint and a
compaction included) and turns on features we must refuse to write
(deletion vectors, change data feed); Spark writes to our table (a table
property, appends with INT96 timestamps, a checkpoint of its own, OPTIMIZE,
a copy-on-write DELETE and UPDATE), its old commits are cleaned up, and we
read, look up, compact, merge, append, vacuum and `make` on top of what
Spark left, the reference agreeing."""
import json
import random
import shutil
import time
from datetime import datetime, timedelta, timezone

import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable

import spark
from ftm_lakehouse.storage.parquet import ParquetStore
from test_pstore import (
    DATASET, SHARED_DATA, T0, canon, comparable, delta_rows, entity_statements, ours, ours_append, ours_dump,
    ref_dump, to_json,
)
from conftest import ref_cli, run, tool
from test_cli import entity_set, norm_stats, ours as cli

ODD_ORIGIN = "crawl 2024:#1%é"
pytestmark = pytest.mark.skipif(not (spark.LIB / "pyspark").is_dir(), reason=".spark missing: run scripts/setup")


def table_path(lake):
    return lake / DATASET / "statements"


def delta_rows_at(lake, version):
    return canon(DeltaTable(str(table_path(lake)), version=version).to_pyarrow_table().to_pylist())


def workload():
    """A first import, a second one re-seeing a third of it (first_seen
    folds) with recent and long-past tombstones, and a second origin."""
    rng = random.Random(11)
    base = entity_statements(SHARED_DATA / "eu_authorities.ftm.json", 150, "bulk", T0)
    later = T0 + timedelta(days=3)
    again = [{**r, "first_seen": later, "last_seen": later} for r in rng.sample(base, len(base) // 3)]
    now = datetime.now(timezone.utc).replace(microsecond=0)
    old = now - timedelta(days=90)
    again += [{**r, "first_seen": now, "last_seen": now, "deleted_at": now} for r in rng.sample(base, 15)]
    again += [{**r, "first_seen": old, "last_seen": later + timedelta(days=1), "deleted_at": old}
              for r in rng.sample(base, 15)]
    other = entity_statements(SHARED_DATA / "parteispenden.ftm.json", 60, "crawl", later)
    return base, again, other


def with_shards(tmp_path, name, rows, shards):
    """rows with the `shard` partition value our engine gives them (Spark
    appends need it spelled out)."""
    scratch = tmp_path / name
    ours_append(scratch, shards, rows)
    shard_of = {r["id"]: r["shard"] for r in delta_rows(scratch)}
    return [{**r, "shard": shard_of[r["id"]]} for r in rows]


def test_spark_reads_every_version_we_wrote(tmp_path):
    base, again, other = workload()
    lake = tmp_path / "ours"
    ours_append(lake, 4, base)    # v0
    ours_append(lake, 4, again)   # v1
    ours(lake, 4, "merge")        # ends with a checkpoint
    ours_append(lake, 4, other)   # a commit after the checkpoint
    # an origin partition paths must escape (Hive-style in the directory
    # name, URI-encoded in the log); the reference cannot read it back (it
    # encodes the path twice), so only Spark and ours look at it
    odd = [{**r, "origin": ODD_ORIGIN} for r in other[:40]]
    ours_append(lake, 4, odd)
    ours(lake, 4, "compact")      # dataChange=false rewrites
    path = str(table_path(lake))
    log = table_path(lake) / "_delta_log"
    checkpoint = json.loads((log / "_last_checkpoint").read_text())["version"]
    latest_version = DeltaTable(path).version()
    assert (log / f"{checkpoint:020d}.checkpoint.parquet").exists() and checkpoint < latest_version
    dv_lake = tmp_path / "dv"
    shutil.copytree(lake, dv_lake)
    dv_path = str(table_path(dv_lake))
    odd_lake = tmp_path / "odd"
    shutil.copytree(lake, odd_lake)
    odd_file = tmp_path / "odd.jsonl"
    spark.write_rows(odd_file, with_shards(tmp_path, "scratch", [{**r, "origin": ODD_ORIGIN} for r in base[:60]], 4))
    cdf_lake = tmp_path / "cdf"
    shutil.copytree(lake, cdf_lake)
    cdf_path = str(table_path(cdf_lake))
    victim = other[0]["entity_id"]
    latest, first, second, detail, history, _, _, _, _ = spark.session([
        {"op": "read", "path": path},
        {"op": "read", "path": path, "version": 0},
        {"op": "read", "path": path, "version": 1},
        {"op": "sql", "path": path, "query": "DESCRIBE DETAIL {table}"},
        {"op": "sql", "path": path, "query": "DESCRIBE HISTORY {table}"},
        # a copy where Spark deletes with deletion vectors (a newer protocol)
        {"op": "sql", "path": dv_path,
         "query": "ALTER TABLE {table} SET TBLPROPERTIES ('delta.enableDeletionVectors' = 'true')"},
        {"op": "sql", "path": dv_path, "query": f"DELETE FROM {{table}} WHERE entity_id = '{victim}'"},
        # a copy where Spark writes into partitions of an escaped origin
        {"op": "append", "path": str(table_path(odd_lake)), "rows_file": str(odd_file)},
        # a copy with the change data feed on (a writer feature only)
        {"op": "sql", "path": cdf_path,
         "query": "ALTER TABLE {table} SET TBLPROPERTIES ('delta.enableChangeDataFeed' = 'true')"},
    ])
    assert canon(latest["rows"]) == delta_rows(lake)
    assert canon(first["rows"]) == delta_rows_at(lake, 0)
    assert canon(second["rows"]) == delta_rows_at(lake, 1)
    assert len(latest["rows"]) == len(delta_rows(lake)) > len(base)
    types = {name: (kind, nullable) for name, kind, nullable in latest["schema"]}
    assert types["first_seen"] == ("timestamp", False)
    assert types["deleted_at"] == ("timestamp", True)
    assert types["external"] == ("boolean", False)
    assert types["id"] == ("string", False)
    assert detail[0]["partitionColumns"] == ["shard", "bucket", "origin"]
    assert detail[0]["numFiles"] == len(DeltaTable(path).file_uris())
    assert sorted(h["version"] for h in history) == list(range(latest_version + 1))
    assert {r["origin"] for r in latest["rows"]} == {"bulk", "crawl", ODD_ORIGIN}
    # Spark's files in escaped partition directories: read and looked up
    spark_odd = delta_rows(odd_lake)
    assert len(spark_odd) == len(delta_rows(lake)) + 60
    assert ours_dump(odd_lake, 4, raw=True) == spark_odd
    eid = base[0]["entity_id"]
    rows = [json.loads(line) for line in ours(odd_lake, 4, "entity", eid).splitlines()]
    assert ODD_ORIGIN in {r["origin"] for r in rows}
    assert canon(rows) == [r for r in ours_dump(odd_lake, 4) if r["entity_id"] == eid]
    # deletion vectors: refused with the feature named, reads and writes
    # alike (ignoring them would resurrect deleted rows); nothing written
    dv_version = DeltaTable(dv_path).version()
    for args, stdin in ((("dump",), None), (("append",), to_json(base[0]) + "\n"), (("merge",), None)):
        proc = run([tool("lh-pstore"), dv_lake, DATASET, 4, *args], input=stdin, check=False)
        assert proc.returncode != 0 and "deletion vectors are not supported" in proc.stderr, (args, proc.stderr)
    assert DeltaTable(dv_path).version() == dv_version
    assert not (dv_lake / DATASET / "statements" / ".LOCK").exists()
    # change data feed: we read, but do not write what we cannot record
    cdf_version = DeltaTable(cdf_path).version()
    files = sorted(table_path(cdf_lake).rglob("*.parquet"))
    assert ours_dump(cdf_lake, 4) == ours_dump(lake, 4)
    proc = run([tool("lh-pstore"), cdf_lake, DATASET, 4, "append"], input=to_json(base[0]) + "\n", check=False)
    assert proc.returncode != 0 and "needs writer version" in proc.stderr, proc.stderr
    assert DeltaTable(cdf_path).version() == cdf_version
    assert sorted(table_path(cdf_lake).rglob("*.parquet")) == files


def test_we_read_merge_and_append_on_what_spark_wrote(tmp_path):
    base, again, other = workload()
    shards = 4
    lake = tmp_path / "lake"
    ours_append(lake, shards, base)
    path = str(table_path(lake))
    log = table_path(lake) / "_delta_log"
    shard_of = {r["id"]: r["shard"] for r in delta_rows(lake)}
    again_file, other_file = tmp_path / "again.jsonl", tmp_path / "other.jsonl"
    spark.write_rows(again_file, [{**r, "shard": shard_of[r["id"]]} for r in again])
    spark.write_rows(other_file, with_shards(tmp_path, "scratch", other, shards))
    ours_version = DeltaTable(path).version()
    spark.session([
        # a property ours must carry on: Spark checkpoints every 2 commits
        {"op": "sql", "path": path,
         "query": "ALTER TABLE {table} SET TBLPROPERTIES ('delta.checkpointInterval' = '2', 'lh.test' = 'kept')"},
        {"op": "append", "path": path, "rows_file": str(again_file)},
        {"op": "append", "path": path, "rows_file": str(other_file)},
        {"op": "sql", "path": path, "query": "OPTIMIZE {table}"},  # rewrites, dataChange=false
        # duplicates, for merge, with the legacy INT96 timestamps
        {"op": "conf", "key": "spark.sql.parquet.outputTimestampType", "value": "INT96"},
        {"op": "append", "path": path, "rows_file": str(other_file)},
    ])
    spark_version = DeltaTable(path).version()
    assert spark_version == ours_version + 5
    commit = [json.loads(line) for line in (log / f"{spark_version - 1:020d}.json").read_text().splitlines()]
    assert commit[0]["commitInfo"]["operation"] == "OPTIMIZE"
    assert any("remove" in a and not a["remove"]["dataChange"] for a in commit)
    # Spark's log cleanup: the commits its newest checkpoint covers may go
    checkpoint = json.loads((log / "_last_checkpoint").read_text())["version"]
    assert ours_version < checkpoint <= spark_version
    assert (log / f"{checkpoint:020d}.checkpoint.parquet").exists()
    for v in range(checkpoint):
        (log / f"{v:020d}.json").unlink(missing_ok=True)
    spark_written = delta_rows(lake)
    assert len(spark_written) == len(base) + len(again) + 2 * len(other)
    # our reads of Spark's table: raw rows and the live view (the reference agrees)
    assert ours_dump(lake, shards, raw=True) == spark_written
    live = ours_dump(lake, shards)
    assert comparable(ref_dump(lake, shards)) == comparable(live)
    # the last append's timestamps are INT96, pruned by no statistics
    newest = [a["add"]["path"] for a in map(json.loads, (log / f"{spark_version:020d}.json").read_text().splitlines())
              if "add" in a]
    written = pq.ParquetFile(table_path(lake) / newest[0])
    assert written.schema.column(written.schema_arrow.get_field_index("first_seen")).physical_type == "INT96"
    since = T0 + timedelta(days=2)
    expected = sorted({r["entity_id"] for r in spark_written
                       if datetime.fromisoformat(r["first_seen"]) >= since
                       or (r["deleted_at"] and datetime.fromisoformat(r["deleted_at"]) >= since)})
    assert sorted(ours(lake, shards, "changed", since.isoformat()).split()) == expected
    # lookups prune by Spark's statistics (truncated strings) and ours
    for eid in sorted({r["entity_id"] for r in again + other})[::7]:
        rows = [json.loads(line) for line in ours(lake, shards, "entity", eid).splitlines()]
        assert canon(rows) == [r for r in live if r["entity_id"] == eid] != []
    # merge on each side from the same Spark-written state
    ref_lake = tmp_path / "ref"
    shutil.copytree(lake, ref_lake)
    # our compaction of Spark's files changes no row
    compacted = tmp_path / "compacted"
    shutil.copytree(lake, compacted)
    ours(compacted, shards, "compact")
    assert delta_rows(compacted) == spark_written
    assert len(DeltaTable(str(table_path(compacted))).file_uris()) < len(DeltaTable(path).file_uris())
    ours(lake, shards, "merge")
    ParquetStore(str(ref_lake / DATASET), DATASET, shards=shards).merge()
    assert delta_rows(lake) == delta_rows(ref_lake)
    assert ours_dump(lake, shards) == live
    # the table property Spark set survives our commits
    meta = DeltaTable(path).metadata().configuration
    assert meta.get("lh.test") == "kept" and meta.get("delta.checkpointInterval") == "2"
    # our append after the merge, then Spark reads what we left
    merged = DeltaTable(path).version()
    ours_append(lake, shards, [{**r, "last_seen": r["last_seen"] + timedelta(days=9)} for r in base[:20]])
    assert DeltaTable(path).version() == merged + 1
    # our vacuum drops the files Spark wrote and the merge replaced, with
    # the checksum files Spark's Hadoop filesystem put beside them
    ours(lake, shards, "vacuum")
    root = table_path(lake)
    live = {uri.removeprefix("file://") for uri in DeltaTable(path).file_uris()}
    on_disk = {str(p) for p in root.rglob("*.parquet") if "_delta_log" not in p.parts}
    assert on_disk == live
    assert not [p for p in root.rglob(".*.crc") if "_delta_log" not in p.parts]
    (after,) = spark.session([{"op": "read", "path": path}])
    assert canon(after["rows"]) == delta_rows(lake)


def test_make_after_spark_rewrites_our_lake(tmp_path):
    """The whole CLI flow over a lake Spark rewrote: a copy-on-write DELETE
    and an UPDATE (removes and adds with dataChange=true), then `make` on
    each side gives the same exports."""
    ds, lake = "eu_authorities", tmp_path / "ours"
    cli(lake, ds, "entities", "import", "-i", SHARED_DATA / f"{ds}.ftm.json", "--last-seen",
        "2025-06-01T00:00:00+00:00")
    path = str(lake / ds / "statements")
    before = DeltaTable(path).to_pyarrow_table().num_rows
    spark.session([
        {"op": "sql", "path": path, "query": "DELETE FROM {table} WHERE prop = 'weakAlias'"},
        {"op": "sql", "path": path,
         "query": "UPDATE {table} SET last_seen = timestamp'2025-07-01 00:00:00' WHERE prop = 'website'"},
    ])
    rows = DeltaTable(path).to_pyarrow_table().to_pylist()
    assert 0 < len(rows) < before and not [r for r in rows if r["prop"] == "weakAlias"]
    ops = [json.loads(line)["commitInfo"]["operation"]
           for f in sorted((lake / ds / "statements" / "_delta_log").glob("*.json"))
           for line in f.read_text().splitlines()[:1]]
    assert ops[-2:] == ["DELETE", "UPDATE"]
    ref_lake = tmp_path / "ref"
    shutil.copytree(lake, ref_lake)
    cli(lake, ds, "make")
    ref_cli(["--uri", ref_lake, "-d", ds, "make"])
    a, b = lake / ds, ref_lake / ds
    assert entity_set((a / "entities.ftm.json").read_text()) == entity_set((b / "entities.ftm.json").read_text())
    ours_csv = (a / "exports" / "statements.csv").read_text().splitlines()
    ref_csv = (b / "exports" / "statements.csv").read_text().splitlines()
    assert ours_csv[0] == ref_csv[0] and sorted(ours_csv) == sorted(ref_csv)
    assert not [line for line in ours_csv if ",weakAlias," in line]
    assert norm_stats(json.loads((a / "exports" / "statistics.json").read_text())) == norm_stats(
        json.loads((b / "exports" / "statistics.json").read_text()))


def test_spark_and_ours_append_at_once(tmp_path):
    """Both engines append to one table at the same time: Delta's
    put-if-absent commits (a hard link here, a rename without overwrite in
    Spark) make each retry on the other's versions; no commit, row or file
    is lost and the log stays one sequence."""
    rows = with_shards(tmp_path, "scratch",
                       entity_statements(SHARED_DATA / "donations.ftm.json", 400, "bulk", T0), 4)
    chunks = [rows[i::40] for i in range(40)]
    plain = [[{k: v for k, v in r.items() if k != "shard"} for r in c] for c in chunks]
    lake = tmp_path / "lake"
    ours_append(lake, 4, plain[0])
    path = str(table_path(lake))
    log = table_path(lake) / "_delta_log"
    files = []
    for i, chunk in enumerate(chunks[1:9]):
        files.append(tmp_path / f"spark{i}.jsonl")
        spark.write_rows(files[-1], chunk)
    started = spark.start([{"op": "append", "path": path, "rows_file": str(f)} for f in files])

    def commits():
        return [json.loads(f.read_text().splitlines()[0])["commitInfo"] for f in sorted(log.glob("*.json"))]

    def engines():
        return [c.get("engineInfo", "") for c in commits()]

    deadline = time.monotonic() + 600
    while not any("Spark" in e for e in engines()) and started[0].poll() is None:
        assert time.monotonic() < deadline, "Spark never committed"
        time.sleep(0.1)
    for chunk in plain[9:]:  # ours, while Spark goes on
        ours_append(lake, 4, chunk)
        time.sleep(0.2)
    spark.finish(started)
    made = engines()
    assert sum("Spark" in e for e in made) == 8
    # the creation, the first append, then ours beside Spark
    assert sum("ftm-lakehouse-c" in e for e in made) == 2 + len(plain) - 9
    assert len(made) == DeltaTable(path).version() + 1
    # the two really raced: a Spark commit landed versions after the one it read
    assert any("Spark" in c.get("engineInfo", "") and v > c["readVersion"] + 1 for v, c in enumerate(commits()))
    table = delta_rows(lake)
    assert sorted(r["id"] for r in table) == sorted(r["id"] for r in rows)
    assert ours_dump(lake, 4, raw=True) == table
