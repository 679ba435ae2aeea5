"""Differential tests of the FtM model layer against the Python reference:
the resolved model, statement keys (id, shard, bucket), explode and
aggregate. The reference functions are called directly."""
import json
import random

import pytest
from followthemoney import Statement, model
from ftm_lakehouse.helpers.shards import entity_shard
from ftmq.store.lake import get_schema_bucket

from conftest import SHARED_DATA, run, tool

SHARDS = [0, 1, 8, 32, 4096]


def lines(text):
    """JSON lines split on "\n" only (str.splitlines also splits on U+2028,
    form feeds and more, which JSON strings may carry raw)."""
    return [line for line in text.split("\n") if line]


def lh_model(*args, input=None, env=None, check=True):
    import os

    full_env = dict(os.environ)
    full_env.update(env or {})
    return run([tool("lh-model"), *args], input=input, env=full_env, check=check)


def lh_model_bytes(*args, input: str):
    """Raw stdout: text mode would turn a "\r" inside a CSV field into "\n"."""
    return run([tool("lh-model"), *args], input=input.encode(), text=False).stdout


def ref_schema(schema):
    return {
        "name": schema.name,
        "label": schema.label,
        "plural": schema.plural,
        "abstract": schema.abstract,
        "matchable": schema.matchable,
        "hidden": schema.hidden,
        "generated": schema.generated,
        "deprecated": schema.deprecated,
        "bucket": get_schema_bucket(schema.name),
        "extends": list(schema._extends),
        "schemata": sorted(s.name for s in schema.schemata),
        "descendants": sorted(s.name for s in schema.descendants),
        "caption": list(schema.caption),
        "featured": list(schema.featured),
        "required": list(schema.required),
        "properties": {
            name: {
                "qname": prop.qname,
                "type": prop.type.name,
                "range": prop.range.name if prop.range else None,
                "reverse": prop.reverse.name if prop.reverse else None,
                "label": prop.label,
                "max_length": prop.max_length,
                "stub": prop.stub,
                "matchable": prop.matchable,
                "hidden": prop.hidden,
                "deprecated": prop.deprecated,
            }
            for name, prop in sorted(schema.properties.items())
        },
    }


def test_schemata_match_reference():
    out = lines(lh_model("schemata").stdout)
    ours = {d["name"]: d for d in map(json.loads, out)}
    assert sorted(ours) == sorted(model.schemata)
    for name, schema in model.schemata.items():
        assert ours[name] == ref_schema(schema), name


def test_types_match_reference():
    from followthemoney.types import registry

    assert lines(lh_model("types").stdout) == sorted(t.name for t in registry.types)


def random_text(rng):
    alphabet = "abcXYZ019 .-_@äöü€中文\t\"',\\/\x08\x0c\x1f\x7f\u2028\r\n💥"
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))


def test_keys_match_reference():
    rng = random.Random(5)
    rows = []
    for data in SHARED_DATA.glob("*.ftm.json"):
        for line in lines(data.read_text())[:50]:
            ent = json.loads(line)
            for prop, values in ent.get("properties", {}).items():
                for value in values:
                    rows.append(["ds", ent["id"], prop, value, None, False])
    for _ in range(300):
        lang = rng.choice([None, "eng", "deu", ""])
        rows.append(
            [random_text(rng), random_text(rng) or "x", random_text(rng) or "p",
             random_text(rng), lang, rng.random() < 0.3]
        )
    stdin = "".join(json.dumps(r) + "\n" for r in rows)
    out = lines(lh_model("keys", *map(str, SHARDS), input=stdin).stdout)
    assert len(out) == len(rows)
    for row, line in zip(rows, out):
        got = json.loads(line)
        dataset, entity_id, prop, value, lang, external = row
        assert got["id"] == Statement.make_key(
            dataset, entity_id, prop, value, external, lang=lang
        ), row
        assert got["shards"] == [entity_shard(entity_id, s) for s in SHARDS], row


def test_yaml_folder_override_matches_reference():
    """The followthemoney YAML schema folder itself, loaded at runtime."""
    import followthemoney
    from pathlib import Path

    folder = Path(followthemoney.__file__).parent / "schema"
    out = lh_model("schemata", env={"LAKEHOUSE_FTM_MODEL": str(folder)}).stdout
    ours = {d["name"]: d for d in map(json.loads, lines(out))}
    assert sorted(ours) == sorted(model.schemata)
    for name, schema in model.schemata.items():
        assert ours[name] == ref_schema(schema), name


def test_bad_override_fails_cleanly(tmp_path):
    bad = tmp_path / "model.json"
    bad.write_text("{not json")
    proc = lh_model("schemata", env={"LAKEHOUSE_FTM_MODEL": str(bad)}, check=False)
    assert proc.returncode == 1
    assert "LAKEHOUSE_FTM_MODEL" in proc.stderr and "model.json" in proc.stderr


# ---- explode / aggregate / csv ----

from datetime import datetime, timezone  # noqa: E402

NOW = datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
DATASET = "test_ds"
ROW_KEYS = [
    "id", "entity_id", "dataset", "bucket", "origin", "source", "schema", "prop",
    "prop_type", "value", "original_value", "lang", "external", "first_seen",
    "last_seen", "fragment", "role", "deleted_at",
]


def ref_explode(path, origin="bulk", override=False, role=None):
    """What `ftm-lakehouse entities import` packs for a file (safe path)."""
    from ftm_lakehouse.cli.io import _extract_fragment, _extract_origin, _extract_role
    from ftm_lakehouse.logic.entities.buffer import EntityBuffer
    from ftmq.io import smart_read_proxies

    buf = EntityBuffer(DATASET, origin, last_seen=NOW, max_rows=10**9, role=role)
    for item in smart_read_proxies(str(path)):
        buf.add_entity(
            item,
            origin=origin if override else _extract_origin(item),
            fragment=_extract_fragment(item),
            role=_extract_role(item),
        )
    rows = buf.flush_table(NOW).to_pylist()
    for row in rows:
        for key in ("first_seen", "last_seen", "deleted_at"):
            if row[key] is not None:
                row[key] = row[key].isoformat()
    return rows


def our_explode(path, *extra):
    out = lh_model(
        "explode", "--dataset", DATASET, "--now", NOW.isoformat(), "--skip-unknown",
        *extra, str(path),
    ).stdout
    return [json.loads(line) for line in lines(out)]


def dedupe(rows):
    """The buffer's row identity: (id, origin, fragment, role), last wins."""
    out = {}
    for row in rows:
        out[(row["id"], row["origin"], row["fragment"], row["role"])] = row
    return out


def assert_same_rows(ours, ref):
    ours, ref = dedupe(ours), dedupe(ref)
    assert set(ours) == set(ref)
    for key, row in ref.items():
        assert {k: ours[key][k] for k in ROW_KEYS} == {k: row[k] for k in ROW_KEYS}, key


def ref_aggregate(rows):
    import orjson
    from ftm_lakehouse.logic.entities.aggregate import aggregate_unsafe

    rows = sorted(rows, key=lambda r: r["entity_id"])
    return b"".join(
        orjson.dumps(p.to_dict(), option=orjson.OPT_APPEND_NEWLINE)
        for p in aggregate_unsafe(iter(rows), DATASET)
    ).decode()


def random_entities(seed=5):
    rng = random.Random(seed)
    entities = []
    for name, schema in sorted(model.schemata.items()):
        if schema.abstract:
            continue
        for n in range(2):
            ent = {"id": f"{name.lower()}-{n}", "schema": name, "properties": {}}
            if rng.random() < 0.3:
                ent["id"] += ".sig" + str(n)
            if rng.random() < 0.1:
                ent["id"] = " " + ent["id"] + "\t"
            if rng.random() < 0.3:  # context the import ignores
                ent["first_seen"] = "2020-01-01T00:00:00"
                ent["last_seen"] = "2021-01-01T00:00:00"
                ent["datasets"] = ["elsewhere"]
                ent["caption"] = "Whatever"
                ent["referents"] = ["old-id"]
            for prop in schema.properties.values():
                if prop.stub or rng.random() < 0.6:
                    continue
                values = []
                for _ in range(rng.randint(1, 3)):
                    if prop.type.name == "entity":
                        values.append(rng.choice(
                            ["other-1", "other-2.ns", " padded ", "bad id!", "x" * 3, ""]))
                    else:
                        values.append(rng.choice([
                            random_text(rng), "", "dup", "dup", " spaced ", "Ünï",
                        ]))
                ent["properties"][prop.name] = values
            if rng.random() < 0.3:
                ent["last_change"] = "2023-05-06T07:08:09"
            if rng.random() < 0.3:
                ent["origin"] = rng.choice(["crawl", ["one"], ["a", "b"]])
            if rng.random() < 0.2:
                ent["fragment"] = "frag"
            if rng.random() < 0.2:
                ent["role"] = ["editor"]
            entities.append(ent)
    return entities


DATA_FILES = sorted(SHARED_DATA.glob("*.ftm.json"))


@pytest.fixture(params=[p.name for p in DATA_FILES] + ["random"])
def entity_file(request, tmp_path):
    if request.param == "random":
        path = tmp_path / "random.ftm.json"
        path.write_text("".join(json.dumps(e) + "\n" for e in random_entities()))
        return path
    return SHARED_DATA / request.param


def test_explode_matches_reference(entity_file):
    assert_same_rows(our_explode(entity_file), ref_explode(entity_file))


def test_explode_origin_override_and_role(tmp_path):
    path = tmp_path / "e.ftm.json"
    path.write_text("".join(json.dumps(e) + "\n" for e in random_entities(7)))
    ours = our_explode(path, "--origin", "cli", "--override-origin", "--role", "me")
    assert_same_rows(ours, ref_explode(path, origin="cli", override=True, role="me"))


def test_aggregate_matches_reference(entity_file):
    rows = our_explode(entity_file)
    stdin = "".join(json.dumps(r) + "\n" for r in rows)
    ours = lh_model("aggregate", "-", input=stdin).stdout
    assert ours == ref_aggregate(ref_explode(entity_file))


def test_csv_matches_reference(entity_file, tmp_path):
    import io

    import pyarrow as pa
    import pyarrow.csv as pacsv
    from followthemoney.statement.serialize import CSVStatementWriter
    from ftm_lakehouse.model.statement import STATEMENT_CSV_COLUMNS, statement_csv_header

    rows = our_explode(entity_file)
    stdin = "".join(json.dumps(r) + "\n" for r in rows)
    # lakehouse export: DuckDB renders the seen columns as text, pyarrow writes
    cols = {c: [r.get(c) if c != "canonical_id" else r["entity_id"] for r in rows]
            for c in STATEMENT_CSV_COLUMNS}
    table = pa.table({c: pa.array(v, pa.bool_() if c == "external" else pa.string())
                      for c, v in cols.items()})
    buf = io.BytesIO()
    pacsv.write_csv(table, buf, pacsv.WriteOptions(include_header=False))
    expected = statement_csv_header() + buf.getvalue()
    assert lh_model_bytes("csv", "lakehouse", "-", input=stdin) == expected
    # followthemoney statement CSV
    text = io.StringIO(newline="")
    writer = CSVStatementWriter(text)
    for r in rows:
        writer.write(Statement(
            entity_id=r["entity_id"], prop=r["prop"], schema=r["schema"], value=r["value"],
            dataset=r["dataset"], lang=r["lang"], original_value=r["original_value"],
            first_seen=r["first_seen"], last_seen=r["last_seen"], external=r["external"],
            origin=r["origin"], id=r["id"],
        ))
    writer.close()
    assert lh_model_bytes("csv", "ftm", "-", input=stdin) == text.getvalue().encode()


def ref_import_csv(path, origin="bulk", override=False, role=None):
    """What `ftm-lakehouse statements import` packs for a statement CSV."""
    from ftm_lakehouse.logic.entities.buffer import EntityBuffer
    from ftm_lakehouse.model.statement import read_csv_statements

    buf = EntityBuffer(DATASET, origin, last_seen=NOW, max_rows=10**9, role=role)
    for stmt in read_csv_statements(str(path)):
        buf.add_statement(stmt, origin=origin if override else stmt.origin,
                          fragment=stmt.fragment, role=stmt.role)
    rows = buf.flush_table(NOW).to_pylist()
    for row in rows:
        for key in ("first_seen", "last_seen", "deleted_at"):
            if row[key] is not None:
                row[key] = row[key].isoformat()
    return rows


def our_import_csv(path, *extra):
    out = lh_model("import-csv", "--dataset", DATASET, "--now", NOW.isoformat(),
                   *extra, str(path)).stdout
    return [json.loads(line) for line in lines(out)]


def test_statement_csv_import_roundtrip(entity_file, tmp_path):
    rows = our_explode(entity_file)
    stdin = "".join(json.dumps(r) + "\n" for r in rows)
    for flavor in ("lakehouse", "ftm"):
        path = tmp_path / f"{flavor}.csv"
        path.write_bytes(lh_model_bytes("csv", flavor, "-", input=stdin))
        assert_same_rows(our_import_csv(path), ref_import_csv(path))


def test_statement_csv_import_fields(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text(
        'entity_id,prop,schema,value,lang,original_value,external,first_seen,last_seen,'
        'origin,fragment,role,dataset,id\n'
        'e1,name,Person,"Mr ""X""\nY",eng,orig,TRUE,2024-01-01T00:00:00,,o1,f,r,other,zzz\n'
        'e1,birthDate,Person,1970,deu,1970,1,,2023-01-01T00:00:00+02:00,,,,other,\n'
        'e2,name,Company,,,,false,2025-01-01T00:00:00,2024-01-01T00:00:00,,,,,\n'
    )
    # (a row without entity_id is skipped, as the reference's --unsafe path
    # does; its safe path would store an empty entity id)
    assert_same_rows(our_import_csv(path), ref_import_csv(path))
    assert_same_rows(our_import_csv(path, "--origin", "cli", "--override-origin", "--role", "me"),
                     ref_import_csv(path, origin="cli", override=True, role="me"))
    bad = tmp_path / "bad.csv"
    bad.write_text("entity_id,prop,schema,value\ne1,name,Person,a\ne1,nope,Person,b\n")
    proc = lh_model("import-csv", "--dataset", DATASET, str(bad), check=False)
    assert proc.returncode == 1 and "bad.csv:3:" in proc.stderr and "Person:nope" in proc.stderr


# ---- end to end: the reference CLI's own import and export ----


def read_parquet_rows(root):
    import pyarrow.parquet as pq

    rows = []
    for path in sorted(root.rglob("*.parquet")):
        # hive partition columns live in the path, not the file
        parts = dict(seg.split("=", 1) for seg in path.relative_to(root).parts[:-1])
        assert parts["shard"] == "0"
        for row in pq.read_table(path, partitioning=None).to_pylist():
            row.update({k: v for k, v in parts.items() if k != "shard"})
            for key in ("first_seen", "last_seen", "deleted_at"):
                if row[key] is not None:
                    row[key] = row[key].isoformat()
            rows.append(row)
    return rows


def test_reference_cli_import_and_export(entity_file, tmp_path):
    """`ftm-lakehouse entities import` + `export` against our explode,
    shard, aggregate and statement CSV."""
    from conftest import ref_cli

    lake = tmp_path / "lake"
    env = {"LAKEHOUSE_URI": str(lake), "LAKEHOUSE_JOURNAL_URI": f"sqlite:///{tmp_path}/j.db"}
    stamp = NOW.replace(tzinfo=None).isoformat()
    ref_cli(["-d", DATASET, "entities", "import", "-i", entity_file, "--last-seen", stamp],
            env=env)
    ours = our_explode(entity_file, "--origin", "bulk")
    assert_same_rows(ours, read_parquet_rows(lake / DATASET / "statements"))
    if entity_file.name == "random.ftm.json":
        return  # the export validates document fields random values do not meet
    ref_cli(["-d", DATASET, "export"], env=env)
    stdin = "".join(json.dumps(r) + "\n" for r in ours)
    entities = lh_model("aggregate", "-", input=stdin).stdout
    exported = (lake / DATASET / "entities.ftm.json").read_text()
    assert sorted(lines(entities)) == sorted(lines(exported))
    # statements.csv: header, then one line per live statement, any order
    csv = lh_model_bytes("csv", "lakehouse", "-", input="".join(
        json.dumps(r) + "\n" for r in dedupe(ours).values()))
    ref_csv = (lake / DATASET / "exports" / "statements.csv").read_bytes()
    ours_head, _, ours_body = csv.partition(b"\n")
    ref_head, _, ref_body = ref_csv.partition(b"\n")
    assert ours_head == ref_head
    if b"\r" not in ref_body and b'\n"' not in ref_body:  # one record per line
        assert sorted(ours_body.split(b"\n")) == sorted(ref_body.split(b"\n"))
    else:
        assert len(ours_body) == len(ref_body)


def test_reference_cli_statements_import_and_shards(tmp_path):
    """`ftm-lakehouse statements import` of our statement CSV, then
    `maintenance shard`: rows and the shard each entity lands in."""
    from conftest import ref_cli

    src = SHARED_DATA / "donations.ftm.json"
    rows = our_explode(src)
    csv = tmp_path / "s.csv"
    csv.write_bytes(lh_model_bytes("csv", "lakehouse", "-",
                                   input="".join(json.dumps(r) + "\n" for r in rows)))
    lake = tmp_path / "lake"
    env = {"LAKEHOUSE_URI": str(lake), "LAKEHOUSE_JOURNAL_URI": f"sqlite:///{tmp_path}/j.db"}
    stamp = NOW.replace(tzinfo=None).isoformat()
    ref_cli(["-d", DATASET, "statements", "import", "-i", csv, "--origin", "csvimp",
             "--last-seen", stamp], env=env)
    ours = our_import_csv(csv, "--origin", "csvimp")
    assert_same_rows(ours, read_parquet_rows(lake / DATASET / "statements"))
    for shards in (8, 32):
        ref_cli(["-d", DATASET, "maintenance", "shard", "--shards", str(shards)], env=env)
        import pyarrow.parquet as pq
        from deltalake import DeltaTable
        from pathlib import Path
        from urllib.parse import unquote

        root = lake / DATASET / "statements"
        placed = {}
        for uri in DeltaTable(str(root)).file_uris():  # live files only
            path = Path(unquote(uri.removeprefix("file://")))
            shard = path.relative_to(root).parts[0].split("=", 1)[1]
            for eid in pq.read_table(path, columns=["entity_id"]).column(0).to_pylist():
                placed[eid] = shard
        stdin = "".join(json.dumps(["d", eid, "p", "v", None, False]) + "\n" for eid in placed)
        got = [json.loads(line)["shards"][0] for line in lines(
            lh_model("keys", str(shards), input=stdin).stdout)]
        assert got == list(placed.values())


@pytest.mark.parametrize("name", [p.name for p in DATA_FILES])
def test_context_order_matches_reference_iterate(name, tmp_path):
    """`entities iterate` shape: same keys in the same order and the same
    content; values compared as sets (the reference prints set order), and
    captions except where the reference picks among several names."""
    from conftest import ref_cli

    src = SHARED_DATA / name
    env = {"LAKEHOUSE_URI": str(tmp_path / "lake"),
           "LAKEHOUSE_JOURNAL_URI": f"sqlite:///{tmp_path}/j.db"}
    stamp = NOW.replace(tzinfo=None).isoformat()
    ref_cli(["-d", DATASET, "entities", "import", "-i", src, "--last-seen", stamp], env=env)
    ref = [json.loads(x) for x in lines(ref_cli(["-d", DATASET, "entities", "iterate"],
                                                env=env).stdout)]
    stdin = "".join(json.dumps(r) + "\n" for r in our_explode(src))
    ours = {e["id"]: e for e in map(json.loads, lines(
        lh_model("aggregate", "--context-order", "-", input=stdin).stdout))}
    assert sorted(ours) == sorted(e["id"] for e in ref)
    for e in ref:
        o = ours[e["id"]]
        assert list(o) == list(e)
        for key, value in e.items():
            if key == "properties":
                assert o[key] == {k: sorted(v) for k, v in value.items()}
            elif key == "caption":
                schema = model.get(e["schema"])
                first = next((p for p in schema.caption if p in e["properties"]), None)
                names = first and schema.properties[first].type.name == "name" \
                    and len(e["properties"][first]) > 1
                if not names:
                    assert o[key] == value, e["id"]
            else:
                assert o[key] == (sorted(value) if isinstance(value, list) else value)
