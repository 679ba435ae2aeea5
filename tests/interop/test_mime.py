"""MIME guesses and normal forms against the ones the reference's
documents export uses (ftm_lakehouse.helpers.file: Python's mimetypes with
the system's mime.types, rigour's normalize_mimetype), over every suffix
mimetypes knows, in both cases, with encodings and odd names."""
import mimetypes

from ftm_lakehouse.helpers.file import _guess_suffix_mime, guess_mime, normalize_mime
from rigour.mime.mappings import REPLACE

from conftest import run, tool


def ours(mode: str, lines: list) -> list:
    out = run([tool("lh-mime"), mode], input="\n".join(lines) + "\n").stdout
    return out.split("\n")[:-1]


def names() -> list:
    mimetypes.init()
    exts = set(mimetypes.types_map) | set(mimetypes.common_types)
    out = []
    for ext in sorted(exts):
        for e in (ext, ext.upper()):
            out += [f"file{e}", f"a.b{e}", f"x{e}.gz", f"x{e}.Z", f"{e}", f"dir/sub{e}"]
    out += ["README", "trailing.", ".hidden", "..double", "a..b", "a.b:c", "x.tgz", "x.TGZ",
            "x.svgz", "x.tar.bz2", "x.tbz2", "x.gz", "x.GZ", "archive.tar.gz", "dir/", "",
            "a/b/c.pdf", "name with spaces.docx", "x.unknown", "x.pdf.unknown", "ünïcödé.txt"]
    return out


def test_guesses_as_the_reference():
    given = names()
    assert ours("guess", given) == [guess_mime(n) for n in given]
    assert len(given) > 1000


def test_normal_forms_as_the_reference():
    given = sorted(REPLACE) + [k.upper() for k in REPLACE] + [
        "application/pdf", " Application/PDF ", "text/plain; charset=utf-8", "text/plain; x=a/b",
        "garbage", "", "a/", "/b", "a/b/c", "text/html;", "IMAGE/JPEG ; q=1", "multipart/x ; y",
        "application/vnd.ms-excel", "x-unknown/unknown", "  ", "a /b", "a/ b"]
    assert ours("normalize", given) == [normalize_mime(m) for m in given]
    assert _guess_suffix_mime("") == ours("guess", ["x"])[0]
