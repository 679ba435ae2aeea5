"""ParquetStore interop: the same statements through the Python reference's
ParquetStore and through ours (lh-pstore), then each side reads both lakes.
Tables must agree row for row: live view, raw rows, partition values and
layout; Delta logs must be readable by deltalake."""
import json
import random
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable, write_deltalake

import deltascan
import refshim  # noqa: F401  (offline delta_scan for the reference)
from conftest import SHARED_DATA, run, tool
from followthemoney import model
from followthemoney.proxy import EntityProxy
from followthemoney.statement import Statement
from ftm_lakehouse.model.statement import JOURNAL_SCHEMA
from ftm_lakehouse.storage.parquet import ParquetStore
from ftmq.store.lake import get_schema_bucket

DATASET = "interop"
T0 = datetime(2025, 3, 1, 12, 0, 0, tzinfo=timezone.utc)
COLUMNS = [f.name for f in JOURNAL_SCHEMA]


def entity_statements(path: Path, limit: int, origin: str, seen: datetime):
    rows = []
    with open(path) as fh:
        for n, line in enumerate(fh):
            if n >= limit:
                break
            proxy = EntityProxy.from_dict(json.loads(line))
            for stmt in Statement.from_entity(proxy, DATASET):
                rows.append(
                    {
                        "id": None,
                        "entity_id": proxy.id,
                        "dataset": DATASET,
                        "bucket": get_schema_bucket(proxy.schema.name),
                        "origin": origin,
                        "source": None,
                        "schema": proxy.schema.name,
                        "prop": stmt.prop,
                        "prop_type": stmt.prop_type,
                        "value": stmt.value,
                        "original_value": stmt.original_value,
                        "lang": stmt.lang,
                        "external": False,
                        "first_seen": seen,
                        "last_seen": seen,
                        "fragment": "",
                        "role": None,
                        "deleted_at": None,
                    }
                )
    for row in rows:
        row["id"] = Statement.make_key(DATASET, row["entity_id"], row["prop"], row["value"], False)
    return rows


def to_json(row):
    out = {}
    for key, value in row.items():
        out[key] = value.isoformat() if isinstance(value, datetime) else value
    return json.dumps(out)


def ours(lake: Path, shards: int, *args, stdin=None):
    return run([tool("lh-pstore"), lake, DATASET, shards, *args], input=stdin).stdout


def ours_append(lake: Path, shards: int, rows):
    ours(lake, shards, "append", stdin="\n".join(to_json(r) for r in rows) + "\n")


def ref_append(lake: Path, shards: int, rows):
    store = ParquetStore(str(lake / DATASET), DATASET, shards=shards)
    store.append(pa.Table.from_pylist(rows, schema=JOURNAL_SCHEMA))


def norm(value):
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat()
    return value


def key_of(row):
    return (row["entity_id"], row["id"], row.get("role") or "", row["last_seen"] or "",
            row["deleted_at"] or "", row.get("first_seen") or "", row.get("origin") or "")


def canon(rows):
    out = [{k: norm(v) for k, v in r.items() if k in COLUMNS or k == "shard"} for r in rows]
    for r in out:
        for k in ("first_seen", "last_seen", "deleted_at"):
            if r.get(k):
                r[k] = datetime.fromisoformat(r[k]).astimezone(timezone.utc).isoformat()
    return sorted(out, key=key_of)


def ours_dump(lake: Path, shards: int, raw=False):
    text = ours(lake, shards, "dump", *(["raw"] if raw else []))
    return canon([json.loads(line) for line in text.splitlines()])


def ref_dump(lake: Path, shards: int):
    store = ParquetStore(str(lake / DATASET), DATASET, shards=shards)
    rows = []
    for stmt in store.query_statements():
        d = stmt.to_dict()
        d["deleted_at"] = None
        d["shard"] = None
        rows.append(d)
    return rows


def delta_rows(lake: Path):
    dt = DeltaTable(str(lake / DATASET / "statements"))
    return canon(dt.to_pyarrow_table().to_pylist())


def duckdb_delta_rows(lake: Path):
    """The same table through DuckDB's delta extension (delta_scan)."""
    return canon(deltascan.rows(lake / DATASET / "statements"))


def comparable(rows, fields=("id", "entity_id", "prop", "value", "schema", "origin", "first_seen", "last_seen")):
    out = []
    for r in rows:
        item = []
        for f in fields:
            v = r.get(f)
            if f in ("first_seen", "last_seen") and v:
                v = datetime.fromisoformat(str(v)).astimezone(timezone.utc).isoformat() if isinstance(v, str) else norm(v)
            item.append(v)
        out.append(tuple(item))
    return sorted(out)


@pytest.mark.parametrize("shards", [0, 8])
def test_same_statements_same_table(tmp_path, shards):
    rows = entity_statements(SHARED_DATA / "sanctions_zala.ftm.json", 300, "bulk", T0)
    assert len(rows) > 500
    a, b = tmp_path / "ours", tmp_path / "ref"
    ours_append(a, shards, rows)
    ref_append(b, shards, rows)
    # physical rows, partition values included, as delta-rs reads them
    assert delta_rows(a) == delta_rows(b)
    assert duckdb_delta_rows(a) == delta_rows(a)
    # same layout: table path and partition directories
    dirs_a = sorted(p.parent.relative_to(a) for p in a.rglob("*.parquet"))
    dirs_b = sorted(p.parent.relative_to(b) for p in b.rglob("*.parquet"))
    assert sorted(set(dirs_a)) == sorted(set(dirs_b))
    # each side reads the other's lake the same
    assert ours_dump(a, shards) == ours_dump(b, shards)
    assert comparable(ref_dump(a, shards)) == comparable(ref_dump(b, shards))
    assert comparable(ref_dump(a, shards)) == comparable(ours_dump(a, shards))


def test_merge_semantics_agree(tmp_path):
    rng = random.Random(7)
    base = entity_statements(SHARED_DATA / "eu_authorities.ftm.json", 200, "bulk", T0)
    later = T0 + timedelta(days=3)
    again = []
    for row in rng.sample(base, len(base) // 3):  # re-seen later: first_seen folds
        again.append({**row, "first_seen": later, "last_seen": later})
    now = datetime.now(timezone.utc)
    old = now - timedelta(days=90)
    for row in rng.sample(base, 20):  # deleted recently: tombstone within grace
        again.append({**row, "first_seen": now, "last_seen": now, "deleted_at": now})
    for row in rng.sample(base, 20):  # deleted long ago: reaped by merge
        # a tombstone's last_seen is at least the row's it shadows (producer rule)
        again.append({**row, "first_seen": old, "last_seen": later + timedelta(days=1), "deleted_at": old})
    other = entity_statements(SHARED_DATA / "eu_authorities.ftm.json", 50, "crawl", later)
    for lake, append in ((tmp_path / "ours", ours_append), (tmp_path / "ref", ref_append)):
        append(lake, 4, base)
        append(lake, 4, again)
        append(lake, 4, other)
    a, b = tmp_path / "ours", tmp_path / "ref"
    live_before = ours_dump(a, 4)
    assert live_before == ours_dump(b, 4)
    assert comparable(ref_dump(a, 4)) == comparable(live_before)
    # merge on each side with its own engine
    ours(a, 4, "merge")
    ParquetStore(str(b / DATASET), DATASET, shards=4).merge()
    # each merge leaves a checkpoint at its last version (read from here on)
    for lake in (a, b):
        log = lake / DATASET / "statements" / "_delta_log"
        hint = json.loads((log / "_last_checkpoint").read_text())
        assert hint["version"] == DeltaTable(str(lake / DATASET / "statements")).version()
        assert (log / f"{hint['version']:020d}.checkpoint.parquet").exists()
    # identical physical tables after merge (tombstones within grace kept)
    assert delta_rows(a) == delta_rows(b)
    assert duckdb_delta_rows(a) == delta_rows(a)
    # reads unchanged by merge
    assert ours_dump(a, 4) == live_before
    assert comparable(ref_dump(a, 4)) == comparable(live_before)
    # the other side merges a lake the first one wrote: idempotent
    ParquetStore(str(a / DATASET), DATASET, shards=4).merge(force=True)
    ours(b, 4, "merge", "force")
    assert delta_rows(a) == delta_rows(b)


def test_vacuum_compact_and_reference_append_on_our_lake(tmp_path):
    rows = entity_statements(SHARED_DATA / "parteispenden.ftm.json", 100, "bulk", T0)
    lake = tmp_path / "lake"
    half = len(rows) // 2
    ours_append(lake, 0, rows[:half])
    ref_append(lake, 0, rows[half:])  # the reference appends to our table
    ours_append(lake, 0, rows[:10])
    ours(lake, 0, "compact")
    assert comparable(ours_dump(lake, 0)) == comparable(ref_dump(lake, 0))
    ours(lake, 0, "merge")
    assert int(ours(lake, 0, "vacuum").strip()) > 0
    dt = DeltaTable(str(lake / DATASET / "statements"))
    root = lake / DATASET / "statements"
    live = {str(Path(uri.removeprefix("file://"))) for uri in dt.file_uris()}
    on_disk = {str(p) for p in root.rglob("*.parquet") if "_delta_log" not in p.parts}
    assert on_disk == live
    assert duckdb_delta_rows(lake) == delta_rows(lake)
    assert len(ours_dump(lake, 0)) == len({r["id"] for r in rows})


def test_fragments_and_roles_merge_like_the_reference(tmp_path):
    """Fragment supersession (the newest emission of a (prop, fragment, role)
    group replaces older values) and role-separated rows, both sides."""
    rows = []
    later = T0 + timedelta(days=1)
    for e in range(20):
        ent = f"doc{e:02d}"
        for when, texts in ((T0, ["old a", "old b"]), (later, ["new a"])):
            for text in texts:
                rows.append({
                    "id": Statement.make_key(DATASET, ent, "bodyText", text, False),
                    "entity_id": ent, "dataset": DATASET, "bucket": "page", "origin": "crawl",
                    "source": None, "schema": "Page", "prop": "bodyText", "prop_type": "text",
                    "value": text, "original_value": None, "lang": None, "external": False,
                    "first_seen": when, "last_seen": when, "fragment": f"p{e % 3}",
                    "role": None, "deleted_at": None,
                })
        for role, when in ((None, T0), ("analyst", later), (None, later)):
            person = f"person{e:02d}"
            rows.append({
                "id": Statement.make_key(DATASET, person, "name", "Jane", False),
                "entity_id": person, "dataset": DATASET, "bucket": "thing", "origin": "crawl",
                "source": None, "schema": "Person", "prop": "name", "prop_type": "name",
                "value": "Jane", "original_value": None, "lang": None, "external": False,
                "first_seen": when, "last_seen": when, "fragment": "", "role": role,
                "deleted_at": None,
            })
    a, b = tmp_path / "ours", tmp_path / "ref"
    ours_append(a, 0, rows)
    ref_append(b, 0, rows)
    live = ours_dump(a, 0)
    assert live == ours_dump(b, 0)
    assert comparable(ref_dump(a, 0)) == comparable(live)
    assert sorted(r["value"] for r in live if r["entity_id"] == "doc00" and r["prop"] == "bodyText") == ["new a"]
    assert len([r for r in live if r["entity_id"] == "person00"]) == 2  # one per role
    ours(a, 0, "merge")
    ParquetStore(str(b / DATASET), DATASET, shards=0).merge()
    assert delta_rows(a) == delta_rows(b)
    assert ours_dump(a, 0) == live


def test_reads_of_optional_columns_other_writers_make(tmp_path):
    """delta-rs from a schema whose columns are all nullable: the parquet
    columns are optional (with definition levels) though never null there;
    full and pruned reads take them (a lookup once refused them)."""
    lake = tmp_path / "lake"
    ours_append(lake, 4, entity_statements(SHARED_DATA / "eu_authorities.ftm.json", 40, "bulk", T0))
    # the statements as ours wrote them, shard included
    table = DeltaTable(str(lake / DATASET / "statements")).to_pyarrow_table()
    rows = table.to_pylist()
    shutil.rmtree(lake / DATASET / "statements")
    table = table.cast(pa.schema([f.with_nullable(True) for f in table.schema]))
    write_deltalake(str(lake / DATASET / "statements"), table, partition_by=["shard", "bucket", "origin"])
    some = pq.ParquetFile(next((lake / DATASET / "statements").rglob("*.parquet")))
    assert some.schema.column(some.schema_arrow.get_field_index("entity_id")).max_definition_level == 1
    live = ours_dump(lake, 4)
    assert len(live) == len(rows)
    for eid in sorted({r["entity_id"] for r in rows})[::5]:
        got = [json.loads(line) for line in ours(lake, 4, "entity", eid).splitlines()]
        assert canon(got) == [r for r in live if r["entity_id"] == eid] != []



def test_column_another_writer_retyped(tmp_path):
    """delta-rs rewrites the table with `external` as a string (schema_mode
    "overwrite"): reads name the file and column (they once crashed on the
    missing booleans) and appends are refused, as delta-rs refuses the
    reference's, rather than writing booleans under a string column."""
    import pyarrow.compute as pc

    lake = tmp_path / "lake"
    rows = entity_statements(SHARED_DATA / "eu_authorities.ftm.json", 5, "bulk", T0)
    ours_append(lake, 1, rows)
    root = str(lake / DATASET / "statements")
    table = DeltaTable(root).to_pyarrow_table()
    i = table.schema.get_field_index("external")
    table = table.set_column(i, pa.field("external", pa.string()), pc.cast(table.column("external"), pa.string()))
    write_deltalake(root, table, mode="overwrite", schema_mode="overwrite", partition_by=["shard", "bucket", "origin"])
    version = DeltaTable(root).version()
    read = run([tool("lh-pstore"), lake, DATASET, 1, "dump"], check=False)
    assert read.returncode == 1 and "column external is not a boolean" in read.stderr, read.stderr
    assert ".parquet" in read.stderr
    append = run([tool("lh-pstore"), lake, DATASET, 1, "append"], check=False,
                 input="\n".join(to_json(r) for r in rows) + "\n")
    assert append.returncode != 0 and "column `external` of type string, not boolean" in append.stderr, append.stderr
    assert DeltaTable(root).version() == version

def last_commit_info(lake: Path):
    log = lake / DATASET / "statements" / "_delta_log"
    last = sorted(log.glob("*.json"))[-1]
    for line in last.read_text().splitlines():
        action = json.loads(line)
        if "commitInfo" in action:
            return action["commitInfo"]
    raise AssertionError(f"no commitInfo in {last}")


def test_delete_origin_like_the_reference(tmp_path):
    """delete_origin on both sides, on each side's own lake and on the
    other's: the same rows go, in one DELETE commit of the same shape, no
    commit when the origin has no rows; a quote in the origin is refused."""
    later = T0 + timedelta(days=2)
    bulk = entity_statements(SHARED_DATA / "eu_authorities.ftm.json", 60, "bulk", T0)
    # the first 20 entities again from a crawl: those span two origins
    crawl = entity_statements(SHARED_DATA / "eu_authorities.ftm.json", 20, "crawl", later)
    extra = entity_statements(SHARED_DATA / "sanctions_zala.ftm.json", 40, "extra", later)
    a, b = tmp_path / "ours", tmp_path / "ref"
    for lake, append in ((a, ours_append), (b, ref_append)):
        append(lake, 4, bulk)
        append(lake, 4, crawl)
        append(lake, 4, extra)
    ref = ParquetStore(str(b / DATASET), DATASET, shards=4)
    assert int(ours(a, 4, "delete-origin", "crawl")) == ref.delete_origin("crawl") == len(crawl)
    assert delta_rows(a) == delta_rows(b)
    assert duckdb_delta_rows(a) == delta_rows(a)
    assert {r["origin"] for r in delta_rows(a)} == {"bulk", "extra"}
    mine, theirs = last_commit_info(a), last_commit_info(b)
    assert mine["operation"] == theirs["operation"] == "DELETE"
    assert mine["operationParameters"] == theirs["operationParameters"] == {"predicate": "origin = 'crawl'"}
    for key in ("num_added_files", "num_removed_files", "num_deleted_rows", "num_copied_rows"):
        assert mine["operationMetrics"][key] == theirs["operationMetrics"][key], key
    # the entities that spanned both origins keep their bulk rows
    assert comparable(ref_dump(a, 4)) == comparable(ours_dump(a, 4)) == comparable(ref_dump(b, 4))
    fields = ("id", "entity_id", "prop", "value", "origin")
    assert comparable(ours_dump(a, 4), fields) == comparable(canon(bulk + extra), fields)
    # nothing to drop: no commit on either side
    va, vb = DeltaTable(str(a / DATASET / "statements")).version(), ref.version
    assert int(ours(a, 4, "delete-origin", "crawl")) == ref.delete_origin("crawl") == 0
    assert int(ours(a, 4, "delete-origin", "nowhere")) == 0
    assert DeltaTable(str(a / DATASET / "statements")).version() == va and ref.version == vb
    # each side drops an origin from the other's lake
    assert int(ours(b, 4, "delete-origin", "extra")) == len(extra)
    assert ParquetStore(str(a / DATASET), DATASET, shards=4).delete_origin("extra") == len(extra)
    assert delta_rows(a) == delta_rows(b)
    assert {r["origin"] for r in delta_rows(b)} == {"bulk"}
    # the removed files stay until vacuum, which deletes them
    assert int(ours(a, 4, "vacuum").strip()) > 0
    on_disk = {p.parent.name for p in (a / DATASET / "statements").rglob("*.parquet")
               if "_delta_log" not in p.parts}
    assert on_disk == {"origin=bulk"}
    proc = run([tool("lh-pstore"), a, DATASET, 4, "delete-origin", "it's"], check=False)
    assert proc.returncode != 0 and "quote" in proc.stderr
    assert delta_rows(a) == delta_rows(b)


def test_delete_origin_counts_rows_of_files_without_stats(tmp_path):
    """A writer may leave an add's stats out: the count comes from the
    file's footer then."""
    lake = tmp_path / "lake"
    rows = entity_statements(SHARED_DATA / "eu_authorities.ftm.json", 30, "crawl", T0)
    ours_append(lake, 4, rows)
    log = lake / DATASET / "statements" / "_delta_log"
    for commit in sorted(log.glob("*.json")):
        actions = [json.loads(line) for line in commit.read_text().splitlines()]
        for action in actions:
            action.get("add", {}).pop("stats", None)
        commit.write_text("".join(json.dumps(x) + "\n" for x in actions))
    assert all("stats" not in a.get("add", {}) for c in log.glob("*.json")
               for a in map(json.loads, c.read_text().splitlines()))
    assert int(ours(lake, 4, "delete-origin", "crawl")) == len(rows)
    assert delta_rows(lake) == []


def test_null_counts_in_our_stats_let_readers_filter_nulls(tmp_path):
    """Columns our files carry no parquet statistics for (source, role,
    deleted_at, ...) get no nullCount in the add's stats: a count of 0 told
    delta-rs the file had no nulls, and `deleted_at IS NULL` (the live view)
    skipped every file we wrote, merged or not."""
    import pyarrow.dataset as pads
    from deltalake import QueryBuilder

    lake = tmp_path / "lake"
    rows = entity_statements(SHARED_DATA / "eu_authorities.ftm.json", 40, "bulk", T0)
    ours_append(lake, 4, rows)
    table = lake / DATASET / "statements"

    def count(column):
        dt = DeltaTable(str(table))
        # delta-rs's query engine and its pyarrow dataset both prune by the stats
        sql = QueryBuilder().register("t", dt).execute(f"SELECT count(*) AS n FROM t WHERE {column} IS NULL")
        n = pa.table(sql.read_all()).column("n")[0].as_py()
        assert dt.to_pyarrow_dataset().to_table(filter=pads.field(column).is_null()).num_rows == n
        return n

    for _ in range(2):  # as appended, then as merged
        for column in ("deleted_at", "role", "source", "original_value", "lang"):
            assert count(column) == sum(r[column] is None for r in rows), column
        ours(lake, 4, "merge", "force")


def test_check_names_null_counts_older_writers_got_wrong(tmp_path):
    """Files our writers made before the null counts were fixed say 0 nulls
    for columns full of them: `maintenance check` names such a file (exit
    5) and `optimize --force` rewrites it with the right counts."""
    lake = tmp_path / "lake"
    cli = [tool("ftm-lakehouse"), "--uri", lake, "-d", "eu"]
    run([*cli, "entities", "import", "-i", SHARED_DATA / "eu_authorities.ftm.json"])
    assert run([*cli, "maintenance", "check"]).returncode == 0
    # the log as the older writer left it
    commit = next((lake / "eu" / "statements" / "_delta_log").glob("*.json"))
    actions = [json.loads(line) for line in commit.read_text().splitlines()]
    for action in actions:
        if "add" in action:
            stats = json.loads(action["add"]["stats"])
            stats["nullCount"] = {k: 0 for k in stats["nullCount"]}
            action["add"]["stats"] = json.dumps(stats)
    commit.write_text("".join(json.dumps(a) + "\n" for a in actions))
    live = DeltaTable(str(lake / "eu" / "statements")).to_pyarrow_dataset()
    import pyarrow.dataset as pads
    assert live.to_table(filter=pads.field("deleted_at").is_null()).num_rows == 0  # the harm
    proc = run([*cli, "maintenance", "check"], check=False)
    assert proc.returncode == 5 and "stats-null-count" in proc.stdout, proc.stdout
    assert "`maintenance optimize --force`" in proc.stdout
    run([*cli, "maintenance", "optimize", "--force"])
    assert run([*cli, "maintenance", "check"]).returncode == 0
    live = DeltaTable(str(lake / "eu" / "statements")).to_pyarrow_dataset()
    assert live.to_table(filter=pads.field("deleted_at").is_null()).num_rows == \
        live.count_rows() > 0


@pytest.mark.parametrize("cmd", ["merge", "compact"])
def test_rewrite_refused_by_a_writer_feature_writes_nothing(tmp_path, cmd):
    """A table delta-rs gave a writer feature we cannot honour (change data
    feed here) is refused before any file is rewritten: the refused commit
    left a full copy of the rewritten partitions behind, orphans that our
    vacuum (refusing the same table) could not delete either."""
    from deltalake import TableFeatures

    rows = entity_statements(SHARED_DATA / "parteispenden.ftm.json", 40, "bulk", T0)
    lake = tmp_path / "lake"
    ours_append(lake, 0, rows[:20])
    ours_append(lake, 0, rows[20:])
    root = lake / DATASET / "statements"
    DeltaTable(str(root)).alter.add_feature(TableFeatures.ChangeDataFeed, allow_protocol_versions_increase=True)
    before = sorted(p for p in root.rglob("*.parquet") if "_delta_log" not in p.parts)
    proc = run([tool("lh-pstore"), lake, DATASET, 0, cmd], check=False)
    assert proc.returncode != 0 and "changeDataFeed" in proc.stderr, proc.stderr
    assert sorted(p for p in root.rglob("*.parquet") if "_delta_log" not in p.parts) == before
