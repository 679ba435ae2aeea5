"""The reliability scripts (tests/reliability) under pytest: broken-lake
checks, hostile input, crash and concurrency runs (short by default;
LH_RELIABILITY_RUNS scales the crash runs); the crash and concurrency runs
again with the journal on a throwaway PostgreSQL server."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, build_dir

SCRIPTS = ROOT / "tests" / "reliability"


@pytest.mark.parametrize("script", ["check_lakes", "hostile", "crash", "concurrency"])
def test_reliability_script(script):
    path = SCRIPTS / f"{script}.py"
    if not path.exists():
        pytest.skip(f"{path.name} not present")
    env = dict(os.environ, LH_BUILD_DIR=str(build_dir()))
    proc = subprocess.run([sys.executable, str(path)], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    print(proc.stdout)


from pg import pg_server  # noqa: E402,F401  (fixture)


@pytest.mark.parametrize("script", ["crash", "concurrency"])
def test_reliability_pg_journal(script, pg_server):
    """The same runs with the journal on PostgreSQL."""
    env = dict(os.environ, LH_BUILD_DIR=str(build_dir()), LH_RELIABILITY_PG=pg_server.uri,
               LH_RELIABILITY_RUNS=os.environ.get("LH_RELIABILITY_RUNS", "24"))
    proc = subprocess.run([sys.executable, str(SCRIPTS / f"{script}.py")], env=env,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    print(proc.stdout)
