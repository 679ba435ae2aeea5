"""Shared fixtures for the interop tests: where our binaries are, where the
shared data is, and a scratch directory per test."""
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _find_shared_data() -> Path:
    """``shared/data`` beside the checkout (CI: ../shared), or beside an
    ancestor (a git worktree nested deeper); LH_SHARED_DATA overrides."""
    if os.environ.get("LH_SHARED_DATA"):
        return Path(os.environ["LH_SHARED_DATA"])
    for parent in ROOT.parents:
        candidate = parent / "shared" / "data"
        if candidate.is_dir():
            return candidate
    return ROOT.parent / "shared" / "data"


SHARED_DATA = _find_shared_data()


def build_dir() -> Path:
    env = os.environ.get("LH_BUILD_DIR")
    return Path(env) if env else ROOT / "build" / "asan"


def tool(name: str) -> Path:
    """Path of one of our executables (ftm-lakehouse or an lh-* test driver)."""
    path = build_dir() / name
    if not path.exists():
        pytest.fail(f"{path} is not built; run scripts/build asan")
    return path


def run(args, **kw) -> subprocess.CompletedProcess:
    """Run one of our executables; fail the test with its stderr if it fails."""
    check = kw.pop("check", True)
    proc = subprocess.run([str(a) for a in args], capture_output=True, text=kw.pop("text", True), **kw)
    if check and proc.returncode != 0:
        pytest.fail(f"{args[0]} exited {proc.returncode}\nstderr:\n{proc.stderr}")
    return proc


@pytest.fixture
def shared_data() -> Path:
    return SHARED_DATA


REF_CLI = Path(__file__).resolve().parent / "ref_cli.py"


def ref_cli(args, env=None, **kw) -> subprocess.CompletedProcess:
    """Run the Python reference ``ftm-lakehouse`` CLI (with the offline
    delta_scan shim of refshim.py); fails the test if it fails."""
    import sys

    full_env = dict(os.environ)
    full_env.update(env or {})
    return run([sys.executable, REF_CLI, *args], env=full_env, **kw)
