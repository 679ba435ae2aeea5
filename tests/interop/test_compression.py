"""Compressed exports, as a dataset's `compression` asks (config.yml, any of
the reference's spellings): statements.csv, entities.ftm.json, the
documents exports and the diff files under the codec's suffix, the same
content as the reference's, index.json naming them; `entities stream` and
`statements stream` read them on both sides, whoever wrote them. LZ4,
which the reference reads only with an extra it lacks here, is checked
with the lz4 tool."""
import bz2
import csv
import gzip
import io
import json
import lzma
import os
import re
import subprocess
from pathlib import Path

import pytest
from backports import zstd

from conftest import ref_cli, run, tool
from test_documents import build, sha, write

OPEN = {"gz": gzip.decompress, "bz2": bz2.decompress, "xz": lzma.decompress,
        "zst": zstd.decompress}
PREFIX = "https://data.example.org/${dataset}/"


def ours(lake: Path, *args, env=None, check=True):
    return run([tool("ftm-lakehouse"), "--uri", lake, "-d", "docs", *args], env=env, check=check)


def ref(lake: Path, *args, env=None):
    return ref_cli(["--uri", lake, "-d", "docs", *args], env=env)


def artifacts(lake: Path) -> dict:
    """The export files (timestamps of diff files blanked) -> their path."""
    root = lake / "docs"
    out = {}
    for path in root.rglob("*"):
        rel = path.relative_to(root).as_posix()
        if not path.is_file() or rel.split("/")[0] in ("statements", "tags", "versions", "jobs"):
            continue
        if rel in ("config.yml", "index.json") or rel.endswith("statistics.json"):
            continue
        out[re.sub(r"\d{8}T\d{6,}Z?", "TS", rel)] = path
    return out


def content(name: str, data: bytes):
    """A file's content in a form both sides must agree on."""
    text = data.decode()
    if "entities.ftm.json" in name:  # entities, or diff entries: sets of JSON
        items = [json.loads(line) for line in text.splitlines()]
        for item in items:
            (item.get("entity") or item).pop("last_change", None)
            (item.get("entity") or item).pop("first_seen", None)
            (item.get("entity") or item).pop("last_seen", None)
        return sorted(json.dumps(i, sort_keys=True) for i in items)
    rows = list(csv.reader(io.StringIO(text, newline="")))
    # the new document's times are its import's, on each side its own
    volatile = {"updated_at", "first_seen", "last_seen"}
    keep = [i for i, col in enumerate(rows[0]) if col not in volatile] if rows else []
    return sorted(tuple(r[i] for i in keep if i < len(r)) for r in rows)


def make_twice(side: str, lake: Path, tmp: Path, codec: str):
    """The documents dataset with `compression: codec`, made; then a new
    document (seen now: in the diff window), made again (the diff files)."""
    (lake / "docs").mkdir(parents=True)
    (lake / "docs" / "config.yml").write_text(f"name: docs\ncompression: {codec}\n")
    env = {**os.environ, "LAKEHOUSE_PUBLIC_URL_PREFIX": PREFIX,
           "LAKEHOUSE_JOURNAL_URI": f"sqlite:///{lake}.db"}
    build(side, lake, tmp, env=env)
    new = write(tmp / "new.json", [{"id": "doc-new", "schema": "Pages", "properties": {
        "fileName": ["new.pdf"], "contentHash": [sha(900)], "parent": ["f-sub"]}}])
    args = ["entities", "import", "-i", new]
    if side == "ours":
        ours(lake, *args, env=env)
        return ours(lake, "make", env=env)
    ref(lake, *args, env=env)
    return ref(lake, "make", env=env)


@pytest.mark.parametrize("spelling,codec", [("gzip", "gz"), ("bz2", "bz2"), ("lzma", "xz"),
                                            ("zstd", "zst")])
def test_same_compressed_exports(tmp_path, spelling, codec):
    files, index = {}, {}
    for side in ("ours", "ref"):
        lake = tmp_path / side
        make_twice(side, lake, tmp_path, spelling)
        found = artifacts(lake)
        files[side] = {name: content(name, OPEN[codec](path.read_bytes()))
                       for name, path in found.items()}
        model = json.loads((lake / "docs" / "index.json").read_text())
        assert model["compression"] == codec
        index[side] = sorted((r["name"], r["url"], r["mime_type"]) for r in model["resources"])
        for res in model["resources"]:
            key = res["url"].removeprefix("https://data.example.org/docs/")
            assert res["size"] == (lake / "docs" / key).stat().st_size
    names = sorted(files["ours"])
    assert names == sorted(files["ref"])
    assert f"entities.ftm.json.{codec}" in names and f"exports/statements.csv.{codec}" in names
    assert f"diffs/entities.ftm.json/TS.delta.json.{codec}" in names
    assert f"diffs/exports/documents.csv/TS.diff.csv.{codec}" in names
    assert all(n.endswith("." + codec) for n in names), names
    for name in names:
        assert files["ours"][name] == files["ref"][name], name
    assert index["ours"] == index["ref"]
    assert ("statistics.json" in [n for n, _, _ in index["ours"]])
    assert (f"documents.csv.{codec}", f"https://data.example.org/docs/exports/documents.csv.{codec}",
            "text/csv") in index["ours"]


def test_each_streams_the_other(tmp_path):
    """`entities stream` and `statements stream` decompress the dataset's
    export on both sides, on lakes either side wrote."""
    outs = {}
    for writer in ("ours", "ref"):
        lake = tmp_path / writer
        make_twice(writer, lake, tmp_path, "zst")
        for reader in ("ours", "ref"):
            for what in ("entities", "statements"):
                proc = (ours(lake, what, "stream") if reader == "ours"
                        else ref(lake, what, "stream"))
                outs[(writer, reader, what)] = proc.stdout
        assert outs[(writer, "ours", "entities")] == outs[(writer, "ref", "entities")]
        assert outs[(writer, "ours", "statements")] == outs[(writer, "ref", "statements")]
        plain = zstd.decompress((lake / "docs" / "entities.ftm.json.zst").read_bytes()).decode()
        assert outs[(writer, "ours", "entities")] == plain and plain.count("\n") > 20


def test_lz4_and_refusals(tmp_path):
    """LZ4 frames the lz4 tool reads, the same content as a plain export; a
    codec the reference does not know is named; a truncated export is an
    error, not a shorter stream."""
    plain, packed = tmp_path / "plain", tmp_path / "lz4"
    for lake, codec in ((plain, None), (packed, "lz4frame")):
        (lake / "docs").mkdir(parents=True)
        if codec:
            (lake / "docs" / "config.yml").write_text(f"name: docs\ncompression: {codec}\n")
        build("ours", lake, tmp_path)
    for name in ("entities.ftm.json", "exports/statements.csv", "exports/documents.csv",
                 "exports/parents.csv"):
        data = subprocess.run(["lz4", "-dc", packed / "docs" / f"{name}.lz4"], check=True,
                              capture_output=True).stdout
        assert content(name, data) == content(name, (plain / "docs" / name).read_bytes()), name
    assert ours(packed, "entities", "stream").stdout == (plain / "docs" / "entities.ftm.json").read_text()
    # cut short: named, exit non-zero
    path = packed / "docs" / "entities.ftm.json.lz4"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    proc = ours(packed, "entities", "stream", check=False)
    assert proc.returncode != 0 and "entities.ftm.json.lz4" in proc.stderr and "truncated" in proc.stderr
    # a codec nobody knows: the config is named, nothing is exported
    (packed / "docs" / "config.yml").write_text("name: docs\ncompression: rar\n")
    before = path.read_bytes()
    proc = ours(packed, "export", "--force", check=False)
    assert proc.returncode != 0 and "`compression`" in proc.stderr and "config.yml" in proc.stderr
    assert path.read_bytes() == before


PACK = {"gz": gzip.compress, "bz2": bz2.compress, "xz": lzma.compress, "zst": zstd.compress,
        "lz4": lambda data: subprocess.run(["lz4", "-c"], input=data, capture_output=True,
                                           check=True).stdout}


def test_compressed_inputs_are_read_decompressed(tmp_path, shared_data):
    """`entities import` and `statements import` read gzip, bzip2, xz, zstd
    and LZ4 input as the plain file, told by its first bytes (the name
    says nothing: a piped stream has none); the reference reads plain input
    only. A truncated stream is a read error naming the file, nothing
    imported."""
    src = shared_data / "sanctions_zala.ftm.json"
    raw = src.read_bytes()

    def entities(lake):
        out = run([tool("ftm-lakehouse"), "--uri", lake, "-d", "z", "entities", "iterate"]).stdout
        return sorted(line for line in out.splitlines())

    def load(lake, *args, **kw):
        return run([tool("ftm-lakehouse"), "--uri", lake, "-d", "z", *args,
                    "--last-seen", "2025-01-01T00:00:00"], **kw)

    load(tmp_path / "plain", "entities", "import", "-i", src)
    want = entities(tmp_path / "plain")
    for name, pack in PACK.items():
        packed = tmp_path / f"in.json.{name}"
        packed.write_bytes(pack(raw))
        load(tmp_path / name, "entities", "import", "-i", packed)
        assert entities(tmp_path / name) == want, name
    # standard input, and a name that says nothing of the codec
    load(tmp_path / "stdin", "entities", "import", input=gzip.compress(raw), text=False)
    assert entities(tmp_path / "stdin") == want
    csv_in = tmp_path / "statements.bin"
    csv_in.write_bytes(zstd.compress(b"entity_id,prop,schema,value\r\ne1,name,Person,Ann\r\n"))
    load(tmp_path / "csv", "statements", "import", "-i", csv_in)
    assert '"name": ["Ann"]' in json.dumps(json.loads(entities(tmp_path / "csv")[0]))
    cut = tmp_path / "cut.json.gz"
    cut.write_bytes(gzip.compress(raw)[:5000])
    proc = load(tmp_path / "cut", "entities", "import", "-i", cut, check=False)
    assert proc.returncode == 1, proc.stderr
    assert "cut.json.gz" in proc.stderr and "ends inside a stream" in proc.stderr, proc.stderr
    assert not (tmp_path / "cut" / "z" / "statements").exists()


def test_piped_input_named_by_path_is_read_whole(tmp_path, shared_data):
    """-i naming a pipe (`-i <(zcat x.gz)`, `-i /dev/stdin`), plain or
    compressed, is read from its first byte: the bytes read to tell the codec
    cannot be sought back on a pipe. The first entity lost its first bytes
    (`bad JSON at column 28`), a gzip stream was read as plain text."""
    src = shared_data / "sanctions_zala.ftm.json"
    raw = src.read_bytes()
    for name, data in (("plain", raw), ("gz", gzip.compress(raw))):
        fifo = tmp_path / f"{name}.fifo"
        os.mkfifo(fifo)
        lake = tmp_path / name
        proc = subprocess.Popen([str(tool("ftm-lakehouse")), "--uri", str(lake), "-d", "z",
                                 "entities", "import", "-i", str(fifo)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            with open(fifo, "wb") as fh:
                fh.write(data)
        except BrokenPipeError:
            pass  # the import gave up early: its status says why
        out, errs = proc.communicate(timeout=120)
        assert proc.returncode == 0, errs
        got = run([tool("ftm-lakehouse"), "--uri", lake, "-d", "z", "entities", "iterate"]).stdout
        assert len(got.splitlines()) == 91, name
    lake = tmp_path / "devstdin"
    run([tool("ftm-lakehouse"), "--uri", lake, "-d", "z", "entities", "import", "-i", "/dev/stdin"],
        input=gzip.compress(raw), text=False)
    got = run([tool("ftm-lakehouse"), "--uri", lake, "-d", "z", "entities", "iterate"]).stdout
    assert len(got.splitlines()) == 91


def test_plain_input_that_starts_like_bzip2_is_plain(tmp_path):
    """Only a real bzip2 header (BZh, a level, a block or end magic) makes
    input bzip2: an id list or a YAML file starting with `BZh` is plain text
    (it was refused as `not a valid bzip2 stream`)."""
    lake = tmp_path / "lake"

    def cli(*args):
        return run([tool("ftm-lakehouse"), "--uri", lake, "-d", "z", *args])

    ents = tmp_path / "e.json"
    ents.write_text("".join(json.dumps({"id": i, "schema": "Person", "properties": {"name": [i]}})
                            + "\n" for i in ("BZh9", "BZhx", "other")))
    cli("entities", "import", "-i", ents)
    for ids in ("BZh9\n", "BZhx\r\n"):
        (tmp_path / "ids.txt").write_text(ids)
        cli("entities", "delete", "-i", tmp_path / "ids.txt")
    assert [json.loads(line)["id"] for line in cli("entities", "iterate").stdout.splitlines()] \
        == ["other"]
    (tmp_path / "meta.yml").write_text("BZh: 1\ntitle: Plain\n")
    assert json.loads(cli("configure", "-c", tmp_path / "meta.yml").stdout)["title"] == "Plain"
    packed = tmp_path / "in.bz2"  # real ones still are bzip2
    packed.write_bytes(bz2.compress(b"title: Packed\n"))
    assert json.loads(cli("configure", "-c", packed).stdout)["title"] == "Packed"
    packed.write_bytes(bz2.compress(b"other\n") + bz2.compress(b""))
    cli("entities", "delete", "-i", packed)
    assert cli("entities", "iterate").stdout == ""


def test_empty_input_imports_nothing(tmp_path):
    """Empty input, on standard input, through a pipe named by its path or
    as an empty compressed stream, is an import of nothing, as the
    reference's import of empty standard input is; it was handed to memcpy
    as a NULL buffer (the sanitizers stopped the import)."""
    lake = tmp_path / "lake"

    def cli(*args, **kw):
        return run([tool("ftm-lakehouse"), "--uri", lake, "-d", "z", *args], **kw)

    cli("entities", "import", input="")
    cli("entities", "import", "-i", "/dev/stdin", input="")
    for name, pack in PACK.items():
        packed = tmp_path / f"empty.json.{name}"
        packed.write_bytes(pack(b""))
        proc = cli("entities", "import", "-i", packed)
        assert "imported 0 entities" in proc.stderr, (name, proc.stderr)
    ref_cli(["--uri", tmp_path / "ref", "-d", "z", "entities", "import"], input="")
    assert cli("entities", "iterate").stdout == ""
