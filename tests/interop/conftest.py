"""Shared fixtures for the interop tests: where our binaries are, where the
shared data is, and a scratch directory per test."""
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHARED_DATA = (ROOT / ".." / "shared" / "data").resolve()


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
