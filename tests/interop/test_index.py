"""index.json, `datasets` and the versioned files against the reference:
the same imports and configuration give the same dataset index (resources
included, with a public URL prefix) and the same dataset models; the
reference's model reads our index; unchanged content keeps its snapshot; a
configuration the reference refuses is named and changes nothing."""
import hashlib
import json
import os
from pathlib import Path

import pytest

from conftest import SHARED_DATA, ref_cli, run, tool

EU = SHARED_DATA / "eu_authorities.ftm.json"
META = """title: EU authorities
summary: Public bodies of the EU
publisher:
  name: DG X
  url: https://example.org/
  official: true
category: list
tags: [a, b]
version: "3"
deprecated: no
coverage:
  start: "2020-01-01"
  frequency: weekly
maintainer:
  name: Team
  country: de
  url: https://Data.Example.ORG:443
"""

# as someone writes it by hand: unknown keys, lax values, bare URLs
RAW = """name: somebody-else
title: Hand-written
unknown_key: dropped
url: HTTPS://Example.org
license: https://creativecommons.org/licenses/by/4.0/
tags:
  - one
  - two
entity_count: "12"
deprecated: "off"
publisher:
  name: P
  official: 1
  country: fr
  extra: dropped
coverage:
  countries: [de, fr]
storage:
  uri: s3://bucket/x
resources:
  - name: a.csv
    url: http://example.org:80/a.csv
    mime_type: text/csv
shards: 0
"""


def ours(lake: Path, dataset: str, *args, check=True, env=None):
    return run([tool("ftm-lakehouse"), "--uri", lake, "-d", dataset, *args], check=check,
               env=env)


def ref(lake: Path, dataset: str, *args, env=None):
    return ref_cli(["--uri", lake, "-d", dataset, *args], env=env)


def index_of(lake: Path, dataset: str) -> dict:
    index = json.loads((lake / dataset / "index.json").read_text())
    assert index.pop("uri") == f"file://{lake}/{dataset}"
    index["stats"]["countries"] = sorted(index["stats"]["countries"])  # a set there
    return index


def models(text: str) -> dict:
    out = {}
    for line in text.splitlines():
        if line.startswith("{"):
            model = json.loads(line)
            model.pop("uri")
            model["children"] = sorted(model["children"])
            out[model["name"]] = model
    return out


@pytest.fixture(scope="module")
def lakes(tmp_path_factory):
    """Every shared file imported and made by both CLIs; `eu_authorities`
    configured first, by each side's `configure`."""
    root = tmp_path_factory.mktemp("index")
    a, b = root / "ours", root / "ref"
    meta = root / "meta.yml"
    meta.write_text(META)
    for path in sorted(SHARED_DATA.glob("*.ftm.json")):
        ds = path.name.split(".")[0]
        ours(a, ds, "entities", "import", "-i", path)
        ref(b, ds, "entities", "import", "-i", path)
        if ds == "eu_authorities":
            ours(a, ds, "configure", "-c", meta)
            ref(b, ds, "configure", "-c", meta)
        ours(a, ds, "make")
        ref(b, ds, "make")
    return a, b


def test_same_index(lakes):
    a, b = lakes
    names = sorted(p.parent.name for p in b.glob("*/index.json"))
    assert names and names == sorted(p.parent.name for p in a.glob("*/index.json"))
    for ds in names:
        assert index_of(a, ds) == index_of(b, ds), ds
    eu = index_of(a, "eu_authorities")
    assert eu["title"] == "EU authorities" and eu["publisher"]["official"] is True
    assert eu["entity_count"] == 151 and eu["stats"]["things"]["total"] == 151


def test_the_reference_reads_our_index(lakes):
    from ftm_lakehouse.model.dataset import DatasetModel
    a, _ = lakes
    for path in a.glob("*/index.json"):
        model = DatasetModel.model_validate_json(path.read_text())
        assert model.name == path.parent.name and model.entity_count


def test_same_datasets(lakes):
    """`datasets` prints the reference's dataset models, whoever wrote the
    config.yml."""
    a, b = lakes
    for lake in (a, b):
        mine = models(run([tool("ftm-lakehouse"), "--uri", lake, "datasets"]).stdout)
        theirs = models(ref_cli(["--uri", lake, "datasets"]).stdout)
        assert mine == theirs and len(mine) == 4


def test_hand_written_config(tmp_path):
    """A config.yml written by hand reads as the reference's model reads it:
    defaults, lax values and normal URLs."""
    lake = tmp_path / "lake"
    (lake / "raw").mkdir(parents=True)
    (lake / "raw" / "config.yml").write_text(RAW)
    mine = models(run([tool("ftm-lakehouse"), "--uri", lake, "datasets"]).stdout)
    theirs = models(ref_cli(["--uri", lake, "datasets"]).stdout)
    assert mine == theirs
    raw = mine["raw"]
    assert raw["url"] == "https://example.org/" and raw["publisher"]["country_label"] == "France"
    assert raw["entity_count"] == 12 and raw["deprecated"] is False
    assert "unknown_key" not in raw and "extra" not in raw["publisher"]


def test_configure_as_the_reference(tmp_path):
    """The hand-written settings through each side's `configure`: the same
    model, and each side reads the config.yml the other wrote."""
    raw = tmp_path / "raw.yml"
    raw.write_text(RAW.replace("shards: 0\n", ""))
    out = {}
    for side in ("ours", "ref"):
        lake = tmp_path / side
        if side == "ours":
            printed = json.loads(ours(lake, "raw", "configure", "-c", raw).stdout)
        else:
            ref(lake, "raw", "configure", "-c", raw)
        out[side] = {"ours": models(run([tool("ftm-lakehouse"), "--uri", lake, "datasets"]).stdout),
                     "ref": models(ref_cli(["--uri", lake, "datasets"]).stdout)}
        assert out[side]["ours"] == out[side]["ref"]
    assert out["ours"]["ours"] == out["ref"]["ours"]
    printed.pop("uri")
    assert printed["publisher"]["country_label"] == "France" and printed["name"] == "raw"
    config = (tmp_path / "ours" / "raw" / "config.yml").read_text()
    assert "entity_count: 12" in config and "unknown_key" not in config
    versions = list((tmp_path / "ours" / "raw" / "versions").rglob("config.yml"))
    assert len(versions) == 1 and versions[0].read_text() == config


def test_configure_guards(tmp_path):
    """A value the model refuses, or a shard count other than the table's,
    is named (exit 3) and config.yml stays; `make -c` configures first."""
    lake = tmp_path / "lake"
    ours(lake, "eu", "entities", "import", "-i", EU)
    config = lake / "eu" / "config.yml"
    before = config.read_text()
    bad = tmp_path / "bad.yml"
    for text, names in [("version: 3\n", "`version`"), ("publisher: {country: Atlantis, name: x}\n",
                                                       "`publisher.country`"),
                        ("updated_at: soon\n", "`updated_at`"), ("shards: 8\n", "maintenance shard"),
                        ("title: [unclosed\n", "bad.yml:")]:
        bad.write_text(text)
        proc = ours(lake, "eu", "configure", "-c", bad, check=False)
        assert proc.returncode == 3, (text, proc.stderr)
        assert names in proc.stderr and str(bad) in proc.stderr
        assert config.read_text() == before
    # shards on a dataset without a table: its layout to be
    (tmp_path / "s.yml").write_text("shards: 4\n")
    assert json.loads(ours(lake, "new", "configure", "-c", tmp_path / "s.yml").stdout)["shards"] == 4
    ours(lake, "new", "entities", "import", "-i", EU)
    shards = {p.name for p in (lake / "new" / "statements").iterdir() if p.name.startswith("shard=")}
    assert len(shards) > 1 and shards <= {f"shard={i}" for i in range(4)}
    good = tmp_path / "good.yml"
    good.write_text("title: The EU\nupdated_at: 2024-01-01T10:00:00+02:00\n")
    ours(lake, "eu", "make", "-c", good)
    index = json.loads((lake / "eu" / "index.json").read_text())
    assert index["title"] == "The EU" and index["updated_at"] == "2024-01-01T08:00:00"
    # a codec configured: the exports take it (test_compression.py), its
    # name normalised as the reference's model normalises it
    (tmp_path / "z.yml").write_text("compression: gzip\n")
    proc = ours(lake, "eu", "export", "--force", "-c", tmp_path / "z.yml", check=False)
    assert proc.returncode == 2  # export takes no -c
    assert json.loads(ours(lake, "eu", "configure", "-c", tmp_path / "z.yml").stdout)["compression"] == "gz"
    ours(lake, "eu", "export", "--force")
    assert (lake / "eu" / "exports" / "statements.csv.gz").is_file()


def test_resources_with_a_public_prefix(tmp_path):
    """With LAKEHOUSE_PUBLIC_URL_PREFIX the index lists the export files as
    the reference lists its own (the checksums are of each side's files)."""
    env = {**os.environ, "LAKEHOUSE_PUBLIC_URL_PREFIX": "https://data.example.org/${dataset}/"}
    out = {}
    for side in ("ours", "ref"):
        lake = tmp_path / side
        if side == "ours":
            ours(lake, "eu", "entities", "import", "-i", EU)
            ours(lake, "eu", "make", env=env)
        else:
            ref(lake, "eu", "entities", "import", "-i", EU)
            ref(lake, "eu", "make", env={"LAKEHOUSE_PUBLIC_URL_PREFIX": env["LAKEHOUSE_PUBLIC_URL_PREFIX"]})
        resources = index_of(lake, "eu")["resources"]
        for res in resources:
            key = res["url"].removeprefix("https://data.example.org/eu/")
            data = (lake / "eu" / key).read_bytes()
            assert res.pop("checksum") == hashlib.sha256(data).hexdigest()
            assert res.pop("size") == len(data)
            assert len(res.pop("timestamp")) == 19  # seconds, no zone
        out[side] = resources
    assert [r["name"] for r in out["ours"]] == [
        "statements.csv", "entities.ftm.json", "parents.csv", "documents.csv",
        "documents.crawl.csv", "statistics.json"]
    assert out["ours"] == out["ref"]


def test_unchanged_content_keeps_its_snapshot(tmp_path):
    lake = tmp_path / "lake"
    ours(lake, "eu", "entities", "import", "-i", EU)
    ours(lake, "eu", "make")

    def snapshots(name):
        return sorted(p.parent.name for p in (lake / "eu" / "versions").rglob(name))

    first = snapshots("index.json")
    assert len(first) == 1 and len(snapshots("statistics.json")) == 1
    proc = ours(lake, "eu", "export", "--force")
    assert "wrote index.json" not in proc.stderr
    assert snapshots("index.json") == first and len(snapshots("statistics.json")) == 1
    snapshot = lake / "eu" / "versions" / first[0][:4] / first[0][4:6] / first[0] / "index.json"
    assert snapshot.read_bytes() == (lake / "eu" / "index.json").read_bytes()
    digest = hashlib.sha256(snapshot.read_bytes()).hexdigest()
    assert (lake / "eu" / "tags" / "lakehouse" / f"index.json-{digest}").is_file()
    # a change: a new snapshot of both
    more = tmp_path / "more.json"
    more.write_text(json.dumps({"id": "x1", "schema": "Person", "properties": {"name": ["X"]}}) + "\n")
    ours(lake, "eu", "entities", "import", "-i", more)
    assert "wrote index.json" in ours(lake, "eu", "make").stderr
    assert len(snapshots("index.json")) == 2 and len(snapshots("statistics.json")) == 2
    assert json.loads((lake / "eu" / "index.json").read_text())["entity_count"] == 152


@pytest.mark.parametrize("line, field", [("version: 3", "version"),
                                         ("tags: none", "tags"),
                                         ("content_type: films", "content_type"),
                                         ("publisher: DG X", "publisher")])
def test_bad_config_is_named(tmp_path, line, field):
    """A value of a type the reference's model refuses fails `make` and
    `datasets` naming config.yml and the field; the index stays as it was."""
    lake = tmp_path / "lake"
    ours(lake, "eu", "entities", "import", "-i", EU)
    ours(lake, "eu", "make")
    before = (lake / "eu" / "index.json").read_bytes()
    config = lake / "eu" / "config.yml"
    config.write_text(config.read_text() + line + "\n")
    proc = ours(lake, "eu", "export", "--force", check=False)
    assert proc.returncode == 5
    assert "eu/config.yml" in proc.stderr and f"`{field}`" in proc.stderr
    assert (lake / "eu" / "index.json").read_bytes() == before
    proc = run([tool("ftm-lakehouse"), "--uri", lake, "datasets"], check=False)
    assert proc.returncode == 5 and f"`{field}`" in proc.stderr


def test_malformed_config_names_the_line(tmp_path):
    lake = tmp_path / "lake"
    ours(lake, "eu", "entities", "import", "-i", EU)
    config = lake / "eu" / "config.yml"
    config.write_text(config.read_text() + "title: [unclosed\n")
    proc = run([tool("ftm-lakehouse"), "--uri", lake, "datasets"], check=False)
    assert proc.returncode == 5 and "eu/config.yml:" in proc.stderr


URLS = ["HTTPS://Example.org", 'http://example.org:80/a b/c?x=1 2&y="q"#frag ment',
        "https://example.org:8443/path/{x}/`y`/<z>?q='v'#f`g", "https://user:pw@Example.org/ä/ö?ü=1",
        "https://example.org/already%20encoded/%7Bx%7D", "https://example.org/a|b/c^d",
        "https://example.org?only=query", "https://example.org#only-frag"]


def test_urls_as_the_reference(tmp_path):
    """URLs as the reference's models normalise them (case, default ports,
    percent-encoding per part), in config.yml and in index.json's resources
    (a public prefix with a space and a port)."""
    lake = tmp_path / "lake"
    for i, url in enumerate(URLS):
        (lake / f"d{i}").mkdir(parents=True)
        (lake / f"d{i}" / "config.yml").write_text(f"name: d{i}\nurl: {json.dumps(url)}\n")
    mine = models(run([tool("ftm-lakehouse"), "--uri", lake, "datasets"]).stdout)
    theirs = models(ref_cli(["--uri", lake, "datasets"]).stdout)
    assert {k: m["url"] for k, m in mine.items()} == {k: m["url"] for k, m in theirs.items()}
    assert mine["d1"]["url"] == "http://example.org/a%20b/c?x=1%202&y=%22q%22#frag%20ment"
    env = {**os.environ, "LAKEHOUSE_PUBLIC_URL_PREFIX": "HTTPS://Data.Example.ORG:443/${dataset}/a b"}
    out = {}
    for side in ("ours", "ref"):
        root = tmp_path / side
        (ours if side == "ours" else ref)(root, "eu", "entities", "import", "-i", EU)
        (ours if side == "ours" else ref)(root, "eu", "make", env=env)
        out[side] = [r["url"] for r in index_of(root, "eu")["resources"]]
    assert out["ours"] == out["ref"]
    assert out["ours"][0] == "https://data.example.org/eu/a%20b/exports/statements.csv"
