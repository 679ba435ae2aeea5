"""A throwaway PostgreSQL server for tests: initdb into a temp dir, start on
127.0.0.1 at a free port (unix socket in the temp dir too), createdb, and
stop + remove it afterwards. The server binaries run as user ``postgres``
when the tests run as root (postgres refuses root).

Use from pytest (the fixture is session-scoped; import it into the test
module so pytest sees it)::

    from pg import pg_server  # noqa: F401  (fixture)

    def test_x(pg_server):
        uri = pg_server.uri  # postgresql://postgres@127.0.0.1:PORT/lhtest

Tests skip with a clear message only when the binaries are missing. A
watchdog child stops the server when this process dies in any way.

Standalone: ``python pg.py`` prints the URI, then serves until stdin closes.
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest


def pg_bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgServer:
    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.as_postgres = os.geteuid() == 0
        self.dir = Path(tempfile.mkdtemp(prefix="lh-pg-"))
        self.port = 0
        self.uri = ""
        self._watchdog: subprocess.Popen | None = None
        if self.as_postgres:
            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
            os.chmod(self.dir, 0o700)

    def _cmd(self, *args: str) -> list[str]:
        cmd = [str(a) for a in args]
        return ["runuser", "-u", "postgres", "--", *cmd] if self.as_postgres else cmd

    def _run(self, *args: str) -> None:
        proc = subprocess.run(self._cmd(*args), capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")

    def _stop_cmd(self) -> list[str]:
        return self._cmd(self.bindir / "pg_ctl", "-D", self.dir / "data", "-m", "immediate",
                         "-w", "stop")

    def start(self) -> "PgServer":
        stop = " ".join(f"'{a}'" for a in self._stop_cmd())
        # Stops the server once our end of its stdin closes (we exit or die).
        self._watchdog = subprocess.Popen(
            ["sh", "-c", f"cat >/dev/null; {stop} >/dev/null 2>&1; rm -rf '{self.dir}'"],
            stdin=subprocess.PIPE,
        )
        self._run(self.bindir / "initdb", "-D", self.dir / "data", "-U", "postgres", "-A",
                  "trust", "--no-sync", "-E", "UTF8", "--locale=C.UTF-8")
        last = None
        for _ in range(5):
            self.port = _free_port()
            opts = (f"-k {self.dir} -p {self.port} -c listen_addresses=127.0.0.1 "
                    "-c fsync=off -c max_connections=100")
            try:
                self._run(self.bindir / "pg_ctl", "-D", self.dir / "data", "-l",
                          self.dir / "server.log", "-w", "-t", "60", "-o", opts, "start")
                break
            except RuntimeError as e:  # port taken meanwhile
                last = e
        else:
            raise RuntimeError(f"postgres did not start: {last}")
        self._run(self.bindir / "createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U",
                  "postgres", "lhtest")
        self.uri = f"postgresql://postgres@127.0.0.1:{self.port}/lhtest"
        return self

    def stop(self) -> None:
        if self._watchdog is not None:
            self._watchdog.stdin.close()
            self._watchdog.wait(timeout=60)
            self._watchdog = None
        shutil.rmtree(self.dir, ignore_errors=True)

    def sqlalchemy_uri(self) -> str:
        return self.uri.replace("postgresql://", "postgresql+psycopg2://", 1)


@pytest.fixture(scope="session")
def pg_server():
    bindir = pg_bindir()
    if bindir is None:
        pytest.skip("postgresql server binaries not found (/usr/lib/postgresql/*/bin); "
                    "run scripts/setup")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and no 'postgres' user to run the server")
    server = PgServer(bindir).start()
    try:
        yield server
    finally:
        server.stop()


if __name__ == "__main__":
    b = pg_bindir()
    if b is None:
        sys.exit("postgresql server binaries not found")
    srv = PgServer(b).start()
    print(srv.uri, flush=True)
    try:
        sys.stdin.read()
    finally:
        srv.stop()
