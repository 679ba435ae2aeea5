"""DuckDB's `delta` extension reading a Delta table, as an oracle.

The extension's wheel exists for DuckDB 1.4.4 only; the reference needs a
newer DuckDB in .venv. scripts/setup installs DuckDB 1.4.4 and the
extension into .deltascan, and each read runs in a process of its own with
that directory first on the path (two DuckDB versions cannot share one
process)."""
import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

LIB = Path(__file__).resolve().parents[2] / ".deltascan"

_SCRIPT = r"""
import glob, json, os, sys
import duckdb
root, version, lib = sys.argv[1:4]
ext = glob.glob(os.path.join(lib, "duckdb_ext", "extensions", "*", "*", "delta.duckdb_extension"))
assert duckdb.__version__ == "1.4.4" and ext, (duckdb.__version__, ext)
con = duckdb.connect()
con.execute("LOAD '%s'" % ext[0].replace("'", "''"))
opts = "TYPE delta" + ("" if version == "latest" else ", VERSION %d" % int(version))
con.execute("ATTACH '%s' AS t (%s)" % (root.replace("'", "''"), opts))
cols = [(r[0], r[1]) for r in con.execute("DESCRIBE t").fetchall()]
# timestamps as epoch microseconds: exact, and no time zone library needed
sel = ", ".join(('epoch_us("%s")' % n) if t.startswith("TIMESTAMP") else '"%s"' % n for n, t in cols)
rows = con.execute("SELECT %s FROM t" % sel).fetchall()
print(json.dumps({"columns": cols, "rows": rows}))
"""

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def rows(table, version=None):
    """The rows DuckDB's delta_scan reads from table (at version), as dicts;
    timestamps as UTC datetimes, like pyarrow's to_pylist."""
    if not (LIB / "duckdb").is_dir():
        raise RuntimeError(f"{LIB} is missing: run scripts/setup")
    env = dict(os.environ, PYTHONPATH=str(LIB))
    proc = subprocess.run([sys.executable, "-c", _SCRIPT, str(table),
                           "latest" if version is None else str(version), str(LIB)],
                          capture_output=True, text=True, env=env, timeout=300)
    if proc.returncode:
        raise RuntimeError(f"delta_scan of {table} failed: {proc.stderr.strip()[-2000:]}")
    out = json.loads(proc.stdout)
    names = [n for n, _ in out["columns"]]
    stamps = {n for n, t in out["columns"] if t.startswith("TIMESTAMP")}
    result = []
    for values in out["rows"]:
        row = dict(zip(names, values))
        for n in stamps:
            if row[n] is not None:
                row[n] = _EPOCH + timedelta(microseconds=row[n])
        result.append(row)
    return result
