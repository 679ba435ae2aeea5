"""The documents exports (documents.csv, documents.crawl.csv, parents.csv)
against the reference's: folder paths (nested, unknown parents, a cycle,
several parents), file names and MIME types guessed and normalised as
Python's mimetypes and rigour do, sizes, crawl scope; a public URL prefix;
documents the reference cannot export are left out and counted."""
import csv
import hashlib
import io
import json
import os
import sys
from pathlib import Path

import pytest

from conftest import ROOT, ref_cli, run, tool

LAST_SEEN = "2025-06-01T00:00:00+00:00"
NAMES = ["report.pdf", "archive.tar.gz", "NOTES.TXT", "bundle.tgz", "README", ".hidden",
         "a.b:c", "photo.JPG", "x.unknownext", "data.csv.gz", "trailing.", "multi.part.docx",
         "page.HTML", "mail.eml", "sheet.xlsx", "dir/inner.png", "spaced name, with comma.txt"]
MIMES = [[], ["application/octet-stream"], ["Application/PDF; charset=x"],
         ["text/plain; x=a/b"], ["garbage"], ["", "image/png"], ["application/x-unknown"]]


def sha(i: int) -> str:
    return hashlib.sha256(str(i).encode()).hexdigest()


def entities() -> list:
    out = [
        {"id": "f-root", "schema": "Folder", "properties": {"fileName": ["root"]}},
        {"id": "f-sub", "schema": "Folder", "properties": {"fileName": ["sub"], "parent": ["f-root"]}},
        {"id": "f-orphan", "schema": "Folder", "properties": {"fileName": ["orphan"], "parent": ["f-gone"]}},
        {"id": "f-a", "schema": "Folder", "properties": {"fileName": ["a"], "parent": ["f-b"]}},
        {"id": "f-b", "schema": "Folder", "properties": {"fileName": ["b"], "parent": ["f-a"]}},
        {"id": "f-pkg", "schema": "Package", "properties": {"fileName": ["pkg.zip"], "parent": ["f-sub"]}},
        {"id": "f-noname", "schema": "Folder", "properties": {"parent": ["f-root"]}},
    ]
    parents = [[], ["f-root"], ["f-sub"], ["f-gone"], ["f-a"], ["f-pkg"], ["f-noname"],
               ["f-root", "f-sub"]]
    schemata = ["Pages", "PlainText", "Image", "Document", "Table", "HyperText", "Email"]
    for i, name in enumerate(NAMES):
        props = {"fileName": [name], "contentHash": [sha(i)]}
        if MIMES[i % len(MIMES)]:
            props["mimeType"] = MIMES[i % len(MIMES)]
        if i % 3:
            props["fileSize"] = [str(1000 + i) if i % 5 else " 4_5 "]
        if parents[i % len(parents)]:
            props["parent"] = parents[i % len(parents)]
        out.append({"id": f"doc-{i}", "schema": schemata[i % len(schemata)], "properties": props})
    # no fileName: named by its caption (title), then by its schema
    out.append({"id": "doc-titled", "schema": "Pages", "properties": {"title": ["A title"],
                                                                    "contentHash": [sha(100)]}})
    out.append({"id": "doc-bare", "schema": "Document", "properties": {"contentHash": [sha(101)]}})
    # no contentHash: not a document of the export; a Person: nothing at all
    out.append({"id": "doc-nohash", "schema": "Pages", "properties": {"fileName": ["n.pdf"]}})
    out.append({"id": "p1", "schema": "Person", "properties": {"name": ["Ann"]}})
    return out


def write(path: Path, items: list) -> Path:
    path.write_text("".join(json.dumps(e) + "\n" for e in items))
    return path


def rows(path: Path) -> list:
    text = path.read_bytes().decode()
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    return sorted(tuple(r) for r in csv.reader(io.StringIO(text, newline="")))


def build(side: str, lake: Path, tmp: Path, env=None):
    ents = entities()
    crawl = write(tmp / "crawl.json", [e for e in ents if e["id"] in ("doc-1", "doc-2", "f-sub")])
    bulk = write(tmp / "bulk.json", ents)
    for path, origin in ((bulk, "bulk"), (crawl, "crawl")):
        args = ["entities", "import", "-i", path, "--origin", origin, "--last-seen", LAST_SEEN]
        if side == "ours":
            run([tool("ftm-lakehouse"), "--uri", lake, "-d", "docs", *args])
        else:
            ref_cli(["--uri", lake, "-d", "docs", *args])
    if side == "ours":
        return run([tool("ftm-lakehouse"), "--uri", lake, "-d", "docs", "make"], env=env)
    return ref_cli(["--uri", lake, "-d", "docs", "make"], env=env)


@pytest.mark.parametrize("prefix", [None, "https://data.example.org/${dataset}/"])
def test_same_documents(tmp_path, prefix):
    env = dict(os.environ)
    if prefix:
        env["LAKEHOUSE_PUBLIC_URL_PREFIX"] = prefix
    out = {}
    for side in ("ours", "ref"):
        lake = tmp_path / side
        proc = build(side, lake, tmp_path, env=env)
        exports = lake / "docs" / "exports"
        out[side] = {name: rows(exports / name)
                     for name in ("documents.csv", "documents.crawl.csv", "parents.csv")}
        if side == "ours":
            assert "exported 19 documents (2 from crawl) in 9 folders" in proc.stderr
    assert out["ours"] == out["ref"]
    docs = out["ours"]["documents.csv"]
    assert ("id", "checksum", "name", "mimetype", "path", "size", "updated_at",
            "public_url") in docs
    assert len(out["ours"]["documents.crawl.csv"]) == 3  # the header and two documents
    assert ("f-sub", "sub", "root/sub") in out["ours"]["parents.csv"]


def test_documents_left_out_are_counted(tmp_path):
    """A contentHash that is not a SHA-256 or a fileSize that is not an
    integer stops the reference's export; ours leaves the document out."""
    lake = tmp_path / "lake"
    src = write(tmp_path / "bad.json", [
        {"id": "ok", "schema": "Pages", "properties": {"fileName": ["a.pdf"], "contentHash": [sha(1)]}},
        {"id": "sha1", "schema": "Pages", "properties": {"contentHash": ["a" * 40]}},
        {"id": "upper", "schema": "Pages", "properties": {"contentHash": [sha(2).upper()]}},
        {"id": "size", "schema": "Pages", "properties": {"contentHash": [sha(3)], "fileSize": ["1.5"]}},
    ])
    run([tool("ftm-lakehouse"), "--uri", lake, "-d", "docs", "entities", "import", "-i", src])
    proc = run([tool("ftm-lakehouse"), "--uri", lake, "-d", "docs", "make"])
    assert "warning: 3 documents left out" in proc.stderr
    ids = [r[0] for r in rows(lake / "docs" / "exports" / "documents.csv")]
    assert sorted(ids) == ["id", "ok"]


def test_structured_dataset_has_empty_documents(tmp_path):
    """No documents: the three files carry their headers only, as the
    reference's do."""
    lake = tmp_path / "lake"
    src = write(tmp_path / "p.json", [{"id": "p1", "schema": "Person", "properties": {"name": ["A"]}}])
    run([tool("ftm-lakehouse"), "--uri", lake, "-d", "d", "entities", "import", "-i", src])
    run([tool("ftm-lakehouse"), "--uri", lake, "-d", "d", "make"])
    exports = lake / "d" / "exports"
    assert (exports / "documents.csv").read_bytes() == \
        b"id,checksum,name,mimetype,path,size,updated_at,public_url\r\n"
    assert (exports / "documents.crawl.csv").read_bytes() == \
        b"id,checksum,name,mimetype,path,size,updated_at,public_url\r\n"
    assert (exports / "parents.csv").read_bytes() == b"id,name,path\r\n"


def diff_rows(lake: Path, scope: str) -> list:
    files = sorted((lake / "docs" / "diffs" / "exports" / scope).glob("*.diff.csv"))
    assert len(files) == 1, files
    return rows(files[0])


def test_same_document_diffs(tmp_path):
    """A second make after new, changed and deleted documents: each scope's
    diff (diffs/exports/documents.csv/{ts}.diff.csv and the crawl one) as the
    reference writes it, whichever side wrote the first export."""
    ents = {e["id"]: e for e in entities()}
    new = [{"id": "doc-new", "schema": "Pages",
            "properties": {"fileName": ["new.pdf"], "contentHash": [sha(500)], "parent": ["f-sub"]}}]
    changed = dict(ents["doc-1"])
    changed["properties"] = {**changed["properties"], "title": ["Now with a title"]}
    second = write(tmp_path / "second.json", new + [changed])
    crawl_new = write(tmp_path / "crawl-new.json", [
        {"id": "doc-crawl", "schema": "Image",
         "properties": {"fileName": ["c.png"], "contentHash": [sha(501)]}}])
    gone = tmp_path / "gone.txt"
    gone.write_text("doc-2\ndoc-4\n")  # doc-2 is also of origin crawl
    results = {}
    for sides in (("ours", "ours"), ("ref", "ref"), ("ours", "ref"), ("ref", "ours")):
        lake = tmp_path / "-".join(sides)
        build(sides[0], lake, tmp_path)
        env = {**os.environ, "LAKEHOUSE_JOURNAL_URI": f"sqlite:///{lake}.db"}
        for path, origin in ((second, "bulk"), (crawl_new, "crawl")):
            args = ["entities", "import", "-i", path, "--origin", origin]
            if sides[1] == "ours":
                run([tool("ftm-lakehouse"), "--uri", lake, "-d", "docs", *args], env=env)
            else:
                ref_cli(["--uri", lake, "-d", "docs", *args], env=env)
        if sides[1] == "ours":
            run([tool("ftm-lakehouse"), "--uri", lake, "-d", "docs", "entities", "delete", "-i", gone],
                env=env)
            run([tool("ftm-lakehouse"), "--uri", lake, "-d", "docs", "make"], env=env)
        else:
            run([sys.executable, ROOT / "bench" / "ref_driver.py", "--uri", lake, "-d", "docs",
                 "delete", "--ids", gone], env=env)
            ref_cli(["--uri", lake, "-d", "docs", "make"], env=env)
        # updated_at (last_change) is the run's own: the rest must agree
        results[sides] = {scope: sorted(r[:7] + r[8:] for r in diff_rows(lake, scope)
                                        if r[0] != "op")
                          for scope in ("documents.csv", "documents.crawl.csv")}
    first = results[("ours", "ours")]
    assert all(r == first for r in results.values()), results
    ops = sorted((r[0], r[1]) for r in first["documents.csv"])
    assert ("ADD", "doc-new") in ops and ("MOD", "doc-1") in ops and ("ADD", "doc-crawl") in ops
    assert ("DEL", "doc-2") in ops and ("DEL", "doc-4") in ops
    crawl_ops = sorted((r[0], r[1]) for r in first["documents.crawl.csv"])
    assert crawl_ops == [("ADD", "doc-crawl"), ("DEL", "doc-2"), ("MOD", "doc-1")]
