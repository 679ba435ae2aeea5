"""bench/gen writes valid FtM: every value survives followthemoney's cleaning
unchanged, every reference points at a generated entity of the right schema,
output is deterministic, and the overlap mode re-emits and deletes earlier ids."""
import json
import subprocess
import sys

from followthemoney import model
from followthemoney.types import registry

from conftest import ROOT

GEN = ROOT / "bench" / "gen"


def gen(*args) -> bytes:
    return subprocess.run([sys.executable, GEN, *map(str, args)], check=True, capture_output=True).stdout


def parse(raw: bytes) -> list[dict]:
    return [json.loads(line) for line in raw.splitlines()]


def test_sample_is_valid_ftm():
    entities = parse(gen("--statements", 2000, "--seed", 7))
    by_id = {e["id"]: e for e in entities}
    assert len(by_id) == len(entities), "ids are unique"
    statements = sum(1 + sum(len(v) for v in e["properties"].values()) for e in entities)
    assert 2000 <= statements < 2600
    scripts = set()
    for data in entities:
        schema = model.get(data["schema"])
        assert schema is not None and not schema.abstract
        proxy = model.get_proxy(data, cleaned=False)
        for prop_name, values in data["properties"].items():
            prop = schema.get(prop_name)
            assert prop is not None, f"{schema.name}.{prop_name}"
            assert len(set(values)) == len(values), f"duplicate values in {prop_name}"
            assert sorted(proxy.get(prop)) == sorted(values), f"{schema.name}.{prop_name} changed by cleaning: {values}"
            if prop.type == registry.entity:
                for ref in values:
                    target = by_id.get(ref)
                    assert target is not None, f"{schema.name}.{prop_name} -> missing {ref}"
                    assert model.get(target["schema"]).is_a(prop.range), f"{prop_name} -> {target['schema']}"
            if prop.type == registry.name:
                for v in values:
                    for ch in v:
                        o = ord(ch)
                        scripts.add("cyrillic" if 0x400 <= o < 0x500 else "arabic" if 0x600 <= o < 0x700
                                    else "greek" if 0x370 <= o < 0x400 else "cjk" if o >= 0x3000
                                    else "latin" if ch.isalpha() else None)
    schemata = {e["schema"] for e in entities}
    assert {"Person", "Company", "Address", "Ownership", "Directorship", "Payment"} <= schemata
    assert {"latin", "cyrillic", "arabic", "cjk", "greek"} <= scripts


def test_documents_and_pages_carry_long_text():
    entities = parse(gen("--statements", 40000, "--seed", 3))
    pages = [e for e in entities if e["schema"] == "Page"]
    assert pages, "a 40k sample has pages"
    for page in pages:
        (text,) = page["properties"]["bodyText"]
        assert 2000 <= len(text) <= 21000
        assert model.get_proxy(page, cleaned=False).get("bodyText") == [text]
    docs = [e for e in entities if e["schema"] in ("Document", "Pages")]
    assert docs
    for doc in docs:  # the lakehouse's document export wants SHA-256 content hashes
        (content_hash,) = doc["properties"]["contentHash"]
        assert len(content_hash) == 64 and int(content_hash, 16) >= 0


def test_deterministic_and_seeded():
    a = gen("--statements", 3000, "--seed", 5)
    assert a == gen("--statements", 3000, "--seed", 5)
    assert a != gen("--statements", 3000, "--seed", 6)


def test_overlap_reemits_changes_and_deletes(tmp_path):
    base = {e["id"]: e for e in parse(gen("--statements", 5000, "--seed", 1))}
    deletes = tmp_path / "delete.txt"
    update = parse(gen("--overlap-of", "5000:1", "--seed", 2, "--statements", 1000,
                       "--share", 0.3, "--delete-share", 0.05, "--delete-ids", deletes))
    deleted = deletes.read_text().split()
    assert deleted and set(deleted) <= set(base)
    again = [e for e in update if e["id"] in base]
    new = [e for e in update if e["id"] not in base]
    assert 0.2 * len(base) < len(again) < 0.4 * len(base)
    assert new and not set(deleted) & {e["id"] for e in again}
    for e in again:
        assert e["schema"] == base[e["id"]]["schema"]
        assert e["properties"] != base[e["id"]]["properties"]
    known = set(base) | {e["id"] for e in update}
    for data in update:
        proxy = model.get_proxy(data, cleaned=False)
        for prop_name, values in data["properties"].items():
            assert sorted(proxy.get(prop_name)) == sorted(set(values)), f"{data['schema']}.{prop_name}"
        for prop, value in proxy.itervalues():
            if prop.type == registry.entity:
                assert value in known
