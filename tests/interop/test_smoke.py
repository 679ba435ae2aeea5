"""The oracles are importable at the pinned versions."""


def test_oracles_import():
    import deltalake  # noqa: F401
    import duckdb  # noqa: F401
    import followthemoney  # noqa: F401
    import ftm_lakehouse  # noqa: F401
    import pyarrow  # noqa: F401


def test_demo(tmp_path):
    """scripts/demo, the README's first command after setup, runs the main
    job to the end (exit 0) and shows statistics and three people."""
    import json
    import subprocess

    from conftest import ROOT

    lake = tmp_path / "lake"
    proc = subprocess.run(["bash", str(ROOT / "scripts" / "demo"), str(lake)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    people = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith('{"id"')]
    assert len(people) == 3 and all(p["schema"] == "Person" for p in people)
    stats = json.loads((lake / "demo" / "exports" / "statistics.json").read_text())
    assert stats["entity_count"] > 3
    assert "== datasets in" in proc.stdout


def test_startup_loads_no_pg_or_s3_client():
    """libpq and libcurl (and their dozens of dependencies) are loaded only
    by a command that uses PostgreSQL or S3: they are not linked in."""
    import subprocess

    from conftest import tool

    out = subprocess.run(["ldd", str(tool("ftm-lakehouse"))], capture_output=True, text=True,
                         check=True).stdout
    assert "libpq" not in out and "libcurl" not in out, out
