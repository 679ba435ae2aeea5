"""`maintenance migrate` against the reference's: a statement table an older
version created (no `role` column, no table properties) is migrated the
same way by both sides (same commits, schema, configuration, checkpoint,
log cleanup and tags), each side reads and appends to the other's result,
and ours refuses to append to a table it has not migrated."""
import json
import os
import time
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import DeltaTable, write_deltalake

import refshim  # noqa: F401  (offline delta_scan for the reference)
from conftest import SHARED_DATA, ref_cli, run, tool
from ftm_lakehouse.model.statement import SHARDED_SCHEMA
from test_pstore import T0, canon, entity_statements

DS = "mig"
EU = SHARED_DATA / "eu_authorities.ftm.json"


def old_table(lake: Path, commits: int = 1, configuration=None):
    """The table as an older version wrote it: no role column, no table
    properties (but configuration), `commits` appends."""
    rows = entity_statements(EU, 30, "bulk", T0)
    schema = pa.schema([f for f in SHARDED_SCHEMA if f.name != "role"])
    for r in rows:
        r["shard"], r["dataset"] = "0", DS
        del r["role"]
    table = pa.Table.from_pylist(rows, schema=schema)
    for n in range(commits):
        part = table.slice(n * len(rows) // commits, len(rows) // commits)
        write_deltalake(str(lake / DS / "statements"), part, mode="append",
                        partition_by=["shard", "bucket", "origin"],
                        configuration=configuration if n == 0 else None)


def ours(lake: Path, *args, check=True, **kw):
    return run([tool("ftm-lakehouse"), "--uri", lake, *args], check=check, **kw)


def log_of(lake: Path) -> Path:
    return lake / DS / "statements" / "_delta_log"


def commits(lake: Path):
    """(operation, parameters) of every commit, oldest first."""
    out = []
    for path in sorted(log_of(lake).glob("*.json")):
        for line in path.read_text().splitlines():
            info = json.loads(line).get("commitInfo")
            if info:
                params = dict(info.get("operationParameters", {}))
                if "properties" in params:
                    params["properties"] = json.loads(params["properties"])
                out.append((info["operation"], params))
    return out


def rows(lake: Path):
    return canon(DeltaTable(str(lake / DS / "statements")).to_pyarrow_table().to_pylist())


def metadata(lake: Path):
    dt = DeltaTable(str(lake / DS / "statements"))
    m = dt.metadata()
    return dt.schema().to_json(), m.configuration, m.id, m.partition_columns, dt.version()


def tags(lake: Path):
    root = lake / DS / "tags"
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def test_migrate_an_old_table_like_the_reference(tmp_path):
    a, b = tmp_path / "ours", tmp_path / "ref"
    for lake in (a, b):
        old_table(lake)
    # ours reads the old table (role: none) and refuses to append to it
    before = ours(a, "-d", DS, "entities", "iterate").stdout
    assert len(before.splitlines()) == 30
    bad = ours(a, "-d", DS, "entities", "import", "-i", EU, check=False)
    assert bad.returncode != 0 and "no column `role`" in bad.stderr and "maintenance migrate" in bad.stderr
    assert DeltaTable(str(a / DS / "statements")).version() == 0
    check = ours(a, "-d", DS, "maintenance", "check")
    assert "note migration: the table has no column `role`" in check.stdout and "healthy" in check.stdout
    old_id = metadata(a)[2]

    res = ours(a, "-d", DS, "maintenance", "migrate")
    assert "migrate_parquet_add_role: role" in res.stderr
    assert "migration" not in ours(a, "-d", DS, "maintenance", "check").stdout
    ref_cli(["--uri", b, "-d", DS, "maintenance", "migrate"])
    schema_a, conf_a, id_a, parts_a, version_a = metadata(a)
    schema_b, conf_b, _, parts_b, version_b = metadata(b)
    assert schema_a == schema_b and conf_a == conf_b and parts_a == parts_b
    assert conf_a == {"delta.logRetentionDuration": "interval 1 days",
                      "delta.deletedFileRetentionDuration": "interval 1 hours"}
    assert id_a == old_id and version_a == version_b == 2
    assert commits(a) == commits(b)
    for lake in (a, b):  # a checkpoint at the last version, as the reference leaves
        assert json.loads((log_of(lake) / "_last_checkpoint").read_text())["version"] == 2
    assert sorted(p.name for p in log_of(a).iterdir()) == sorted(p.name for p in log_of(b).iterdir())
    mine, theirs = tags(a), tags(b)
    assert {t for t in theirs if "migrat" in t} == mine
    assert "lakehouse/migrations/migrate_parquet_add_role" in mine
    assert rows(a) == rows(b)
    # the run recorded as the reference records its own (jobs/runs/MigrateJob)
    runs = {lake: [json.loads(p.read_text())
                   for p in sorted((lake / DS / "jobs" / "runs" / "MigrateJob").glob("*.json"))]
            for lake in (a, b)}
    volatile = ("run_id", "started", "stopped", "took", "last_updated")
    assert [{k: v for k, v in r.items() if k not in volatile} for r in runs[a]] == \
        [{k: v for k, v in r.items() if k not in volatile} for r in runs[b]]
    assert len(runs[a]) == 1 and runs[a][0]["done"] >= 1 and runs[a][0]["pending"] == 0

    # nothing owed: no commit on either side, also forced, also across lakes
    res = ours(a, "-d", DS, "maintenance", "migrate")
    assert "no migration outstanding" in res.stderr
    ours(b, "-d", DS, "maintenance", "migrate", "--force")
    ref_cli(["--uri", a, "-d", DS, "maintenance", "migrate", "--force"])
    assert metadata(a)[4] == metadata(b)[4] == 2

    # an up-to-date table costs no fence (a merge or append may hold it) and
    # its operations/migrate/last_run stays, on both sides
    env = {**os.environ, "LAKEHOUSE_LOCK_MAX_RETRIES": "1", "LAKEHOUSE_LOCK_BACKOFF_MS": "1"}
    stamps = {}
    for lake in (a, b):
        (lake / DS / ".LOCK-MERGE").write_text("")
        stamps[lake] = (lake / DS / "tags" / "lakehouse" / "operations" / "migrate" / "last_run").read_text()
    time.sleep(0.01)
    ours(a, "-d", DS, "maintenance", "migrate", env=env)
    ref_cli(["--uri", b, "-d", DS, "maintenance", "migrate"], env=env)
    for lake in (a, b):
        assert (lake / DS / "tags" / "lakehouse" / "operations" / "migrate" / "last_run").read_text() == stamps[lake]
        (lake / DS / ".LOCK-MERGE").unlink()

    # both sides append to and read both migrated tables
    for lake in (a, b):
        ours(lake, "-d", DS, "entities", "import", "-i", EU, "--origin", "crawl")
        ref_cli(["--uri", lake, "-d", DS, "entities", "import", "-i", SHARED_DATA / "sanctions_zala.ftm.json"])
        mine = ours(lake, "-d", DS, "entities", "iterate").stdout
        theirs = ref_cli(["--uri", lake, "-d", DS, "entities", "iterate"]).stdout
        assert len(mine.splitlines()) == len(theirs.splitlines()) == 151 + 91
    assert sorted(r["id"] for r in rows(a)) == sorted(r["id"] for r in rows(b))


@pytest.mark.parametrize("auto_cleanup", [True, False])
def test_migrate_drops_the_expired_log_as_the_reference(tmp_path, auto_cleanup):
    """Commits older than the new log retention (a day) go, below the newest
    checkpoint that is that old too, on both sides alike (the checkpoint the
    migration writes is new: versions after the old one stay readable); the
    table reads the same after."""
    a, b = tmp_path / "ours", tmp_path / "ref"
    old = time.time() - 3 * 86400
    for lake in (a, b):
        # delta.enableExpiredLogCleanup=false turns off the cleanup after
        # automatic checkpoints only: migrate's explicit one runs anyway
        old_table(lake, commits=4,
                  configuration=None if auto_cleanup else {"delta.enableExpiredLogCleanup": "false"})
        DeltaTable(str(lake / DS / "statements")).create_checkpoint()  # at version 3
        for path in log_of(lake).iterdir():
            os.utime(path, (old, old))
    ours(a, "-d", DS, "maintenance", "migrate")
    ref_cli(["--uri", b, "-d", DS, "maintenance", "migrate"])
    names_a = sorted(p.name for p in log_of(a).iterdir())
    assert names_a == sorted(p.name for p in log_of(b).iterdir())
    assert "00000000000000000002.json" not in names_a
    assert {"00000000000000000003.json", "00000000000000000003.checkpoint.parquet",
            "00000000000000000005.checkpoint.parquet"} <= set(names_a)
    assert rows(a) == rows(b)
    assert len(ours(a, "-d", DS, "entities", "iterate").stdout.splitlines()) == 30


def test_migrate_all_and_usage(tmp_path):
    lake = tmp_path / "lake"
    old_table(lake)
    ours(lake, "-d", "fresh", "entities", "import", "-i", EU)  # created migrated
    fresh_version = DeltaTable(str(lake / "fresh" / "statements")).version()
    assert ours(lake, "-d", DS, "maintenance", "migrate", "--all", check=False).returncode == 2
    assert ours(lake, "maintenance", "migrate", check=False).returncode == 2
    assert ours(lake, "-d", DS, "maintenance", "migrate", "extra", check=False).returncode == 2
    res = ours(lake, "maintenance", "migrate", "--all")
    assert "mig: migration migrate_parquet_add_role: role" in res.stderr
    assert "fresh: migration migrate_parquet_add_role: nothing owed" in res.stderr
    assert DeltaTable(str(lake / "fresh" / "statements")).version() == fresh_version
    assert "no migration outstanding" in ours(lake, "maintenance", "migrate", "--all").stderr


def test_appends_to_a_table_with_columns_this_writer_does_not_know(tmp_path):
    """A newer writer's extra column: a nullable one reads NULL in our rows
    (delta-rs and the reference read the table) but merge, compact and
    re-shard refuse to rewrite its files (its values would go); a required
    one is refused by name before anything is written."""
    for nullable in (True, False):
        lake = tmp_path / f"nullable-{nullable}"
        rows = entity_statements(EU, 10, "bulk", T0)
        schema = pa.schema([*SHARDED_SCHEMA, pa.field("canonical_id", pa.string(), nullable=nullable)])
        for r in rows:
            r["shard"], r["dataset"], r["canonical_id"] = "0", DS, r["entity_id"]
        write_deltalake(str(lake / DS / "statements"), pa.Table.from_pylist(rows, schema=schema),
                        partition_by=["shard", "bucket", "origin"])
        res = ours(lake, "-d", DS, "entities", "import", "-i", SHARED_DATA / "sanctions_zala.ftm.json",
                   check=False)
        version = DeltaTable(str(lake / DS / "statements")).version()
        if nullable:
            assert res.returncode == 0, res.stderr
            table = DeltaTable(str(lake / DS / "statements")).to_pyarrow_table().to_pylist()
            base = {r["entity_id"] for r in rows}
            ours_rows = [r for r in table if r["entity_id"] not in base]
            assert ours_rows and all(r["canonical_id"] is None for r in ours_rows)
            assert len(ref_cli(["--uri", lake, "-d", DS, "entities", "iterate"]).stdout.splitlines()) == 10 + 91
            check = ours(lake, "-d", DS, "maintenance", "check").stdout
            assert "note schema: column `canonical_id` is unknown" in check and "healthy" in check
            # rewriting files would drop the column's values: refused, nothing changes
            before = DeltaTable(str(lake / DS / "statements")).version()
            for cmd in (["optimize"], ["merge"], ["compact"], ["shard", "--shards", "4"]):
                res = ours(lake, "-d", DS, "maintenance", *cmd, check=False)
                assert res.returncode != 0 and "column `canonical_id`" in res.stderr, (cmd, res.stderr)
            assert DeltaTable(str(lake / DS / "statements")).version() == before
            kept = DeltaTable(str(lake / DS / "statements")).to_pyarrow_table().to_pylist()
            assert sorted(r["canonical_id"] for r in kept if r["entity_id"] in base) == \
                sorted(r["entity_id"] for r in rows)
        else:
            assert res.returncode != 0 and "required column `canonical_id`" in res.stderr
            assert version == 0
            assert len(list((lake / DS / "statements").rglob("*.parquet"))) == 1
