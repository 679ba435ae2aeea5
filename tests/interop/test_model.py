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


def lh_model(*args, input=None, env=None, check=True):
    import os

    full_env = dict(os.environ)
    full_env.update(env or {})
    return run([tool("lh-model"), *args], input=input, env=full_env, check=check)


def ref_schema(schema):
    return {
        "name": schema.name,
        "label": schema.label,
        "abstract": schema.abstract,
        "matchable": schema.matchable,
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
                "stub": prop.stub,
                "matchable": prop.matchable,
                "hidden": prop.hidden,
            }
            for name, prop in sorted(schema.properties.items())
        },
    }


def test_schemata_match_reference():
    out = lh_model("schemata").stdout.splitlines()
    ours = {d["name"]: d for d in map(json.loads, out)}
    assert sorted(ours) == sorted(model.schemata)
    for name, schema in model.schemata.items():
        assert ours[name] == ref_schema(schema), name


def random_text(rng):
    alphabet = "abcXYZ019 .-_@äöü€中文\t\"',\\/"
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))


def test_keys_match_reference():
    rng = random.Random(5)
    rows = []
    for data in SHARED_DATA.glob("*.ftm.json"):
        for line in data.read_text().splitlines()[:50]:
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
    out = lh_model("keys", *map(str, SHARDS), input=stdin).stdout.splitlines()
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
    ours = {d["name"]: d for d in map(json.loads, out.splitlines())}
    assert sorted(ours) == sorted(model.schemata)
    for name, schema in model.schemata.items():
        assert ours[name] == ref_schema(schema), name


def test_bad_override_fails_cleanly(tmp_path):
    bad = tmp_path / "model.json"
    bad.write_text("{not json")
    proc = lh_model("schemata", env={"LAKEHOUSE_FTM_MODEL": str(bad)}, check=False)
    assert proc.returncode == 1
    assert "LAKEHOUSE_FTM_MODEL" in proc.stderr and "model.json" in proc.stderr
