"""Journal interop: the Python reference's SqlJournalStore and our lh-journal
share one journal database (SQLite file, or a PostgreSQL server this test
starts). Each side writes, the other counts and flushes; segments a failed
flush left behind are drained by the other side.

The reference's PostgresJournalStore needs the ADBC driver (not installed),
so on postgres the reference side is its SQLAlchemy code path
(SqliteJournalStore's insert/read/rotate over a postgresql+psycopg2 engine):
same table DDL, same rotation, same segment names."""
import json
from datetime import datetime, timezone

import pyarrow as pa
import pytest
from conftest import run, tool
from ftm_lakehouse.model.statement import JOURNAL_SCHEMA
from ftm_lakehouse.storage.journal.sql import SqliteJournalStore
from pg import pg_server  # noqa: F401  (fixture)

COLS = JOURNAL_SCHEMA.names
TS = {"first_seen", "last_seen", "deleted_at"}


def _rows(prefix: str, n: int = 25) -> list[dict]:
    rows = []
    for i in range(n):
        rows.append(
            {
                "id": f"{prefix}-{i:04d}",
                "entity_id": f"{prefix}-ent-{i % 5}",
                "dataset": "interop",
                "bucket": "thing" if i % 3 else "document",
                "origin": "crawl" if i % 2 else "default",
                "source": None if i % 4 else "src",
                "schema": "Person",
                "prop": "name",
                "prop_type": "name" if i % 6 else None,
                "value": f"Name \"{i}\"\t\\ \u00e9\u4e2d\n{'x' * i}",
                "original_value": None if i % 5 else "orig",
                "lang": None if i % 2 else "deu",
                "external": i % 7 == 0,
                "first_seen": datetime(2024, 5, 1, 12, 34, 56, i * 1000, tzinfo=timezone.utc),
                "last_seen": datetime(2024, 5, 2, 0, 0, i, tzinfo=timezone.utc),
                "fragment": "" if i % 3 else f"frag{i}",
                "role": None if i % 2 else "analyst",
                "deleted_at": None if i % 8 else datetime(2025, 1, 1, 0, 0, 0, 5, tzinfo=timezone.utc),
            }
        )
    return rows


def _norm(row: dict) -> dict:
    out = {}
    for k in COLS:
        v = row.get(k)
        if k in TS and v is not None:
            if isinstance(v, str):
                v = datetime.fromisoformat(v)
            v = v.astimezone(timezone.utc).isoformat()
        out[k] = v
    return out


def _jsonl(rows: list[dict]) -> str:
    def enc(r):
        return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in r.items()}

    return "".join(json.dumps(enc(r)) + "\n" for r in rows)


def _ours(uri: str, dataset: str, *args: str, **kw) -> str:
    return run([tool("lh-journal"), uri, dataset, *args], **kw).stdout


def _flush_ours(uri: str, dataset: str, batch: int = 7) -> list[dict]:
    out = _ours(uri, dataset, "flush", str(batch))
    return [json.loads(line) for line in out.splitlines()]


def _flush_ref(store) -> list[dict]:
    rows = []
    for table in store.flush_batches():
        rows.extend(table.to_pylist())
    return rows


def _by_id(rows):
    return sorted((_norm(r) for r in rows), key=lambda r: r["id"])


@pytest.fixture(params=["sqlite", "postgres"])
def journal(request, tmp_path):
    """(reference-side SQLAlchemy uri, our uri) for one journal database."""
    if request.param == "sqlite":
        db = tmp_path / "journal.db"
        return f"sqlite:///{db}", f"sqlite:///{db}"
    server = request.getfixturevalue("pg_server")
    return server.sqlalchemy_uri(), server.uri


def _ref_store(ref_uri: str, dataset: str) -> SqliteJournalStore:
    return SqliteJournalStore(dataset, ref_uri)


def test_reference_writes_we_flush(journal):
    ref_uri, our_uri = journal
    ds = "ref_to_c"
    rows = _rows("r")
    store = _ref_store(ref_uri, ds)
    with store.writer() as w:
        w.add_batch(pa.Table.from_pylist(rows, schema=JOURNAL_SCHEMA))
    assert _ours(our_uri, ds, "count").strip() == str(len(rows))
    # live rows of one entity, tombstones skipped
    ent = [json.loads(x) for x in _ours(our_uri, ds, "entity", "r-ent-0").splitlines()]
    expect = [r for r in rows if r["entity_id"] == "r-ent-0" and r["deleted_at"] is None]
    assert _by_id(ent) == _by_id(expect)
    got = _flush_ours(our_uri, ds)
    assert _by_id(got) == _by_id(rows)
    assert all(r["shard"] is None for r in got)  # the reference stores no shard
    assert store.count() == 0
    store.dispose()


def test_we_write_reference_flushes(journal):
    ref_uri, our_uri = journal
    ds = "c_to_ref"
    rows = _rows("c")
    run([tool("lh-journal"), our_uri, ds, "insert", "10"], input=_jsonl(rows))
    store = _ref_store(ref_uri, ds)
    assert store.count() == len(rows)
    live = [
        {k: getattr(s, k) for k in ("id", "entity_id", "value")}
        for s in store.iterate_entity("c-ent-1")
    ]
    expect = [r for r in rows if r["entity_id"] == "c-ent-1" and r["deleted_at"] is None]
    assert sorted(x["id"] for x in live) == sorted(r["id"] for r in expect)
    got = _flush_ref(store)
    assert _by_id(got) == _by_id(rows)
    assert _ours(our_uri, ds, "count").strip() == "0"
    store.dispose()


def test_mixed_writers_and_leftover_segments(journal):
    """Both sides write one journal; each side's failed flush leaves a
    segment the other side drains, nothing lost."""
    ref_uri, our_uri = journal
    ds = "mixed"
    ref_rows, our_rows = _rows("py", 12), _rows("cc", 12)
    store = _ref_store(ref_uri, ds)
    with store.writer() as w:
        w.add_batch(pa.Table.from_pylist(ref_rows, schema=JOURNAL_SCHEMA))
    run([tool("lh-journal"), our_uri, ds, "insert"], input=_jsonl(our_rows))
    assert store.count() == 24

    # our flush fails at its first batch: the rotated segment stays
    proc = run([tool("lh-journal"), our_uri, ds, "flush", "5", "0"], check=False)
    assert proc.returncode == 3, proc.stderr
    assert "consumer failed on purpose" in proc.stderr
    assert store.count() == 24
    more = _rows("late", 5)
    run([tool("lh-journal"), our_uri, ds, "insert"], input=_jsonl(more))

    # the reference drains our segment (and rotates the new rows)
    got = _flush_ref(store)
    assert _by_id(got) == _by_id(ref_rows + our_rows + more)
    assert _ours(our_uri, ds, "count").strip() == "0"

    # the reference abandons its flush mid-way: its segment stays for us
    with store.writer() as w:
        w.add_batch(pa.Table.from_pylist(ref_rows, schema=JOURNAL_SCHEMA))
    gen = store.flush_batches()
    next(gen)
    gen.close()
    assert store.count() == 12
    got = _flush_ours(our_uri, ds)
    assert _by_id(got) == _by_id(ref_rows)
    assert store.count() == 0
    store.dispose()


def test_clear(journal):
    ref_uri, our_uri = journal
    ds = "clearme"
    run([tool("lh-journal"), our_uri, ds, "insert"], input=_jsonl(_rows("x", 9)))
    proc = run([tool("lh-journal"), our_uri, ds, "flush", "5", "0"], check=False)
    assert proc.returncode == 3
    run([tool("lh-journal"), our_uri, ds, "insert"], input=_jsonl(_rows("y", 4)))
    store = _ref_store(ref_uri, ds)
    assert store.count() == 13
    assert _ours(our_uri, ds, "clear").strip() == "13"
    assert store.count() == 0
    store.dispose()


WRITER = r"""
import sys
import pyarrow as pa
from ftm_lakehouse.model.statement import JOURNAL_SCHEMA
from ftm_lakehouse.storage.journal.sql import SqliteJournalStore
sys.path.insert(0, sys.argv[4])
from test_journal import _rows

uri, ds, name = sys.argv[1:4]
store = SqliteJournalStore(ds, uri)
for b in range(8):
    with store.writer() as w:
        w.add_batch(pa.Table.from_pylist(_rows(f"{name}-b{b}", 20), schema=JOURNAL_SCHEMA))
store.dispose()
"""


def test_reference_writers_while_we_flush(journal, tmp_path):
    """Two reference writer processes insert while our flusher loops: every
    row comes out of exactly one of our flushes."""
    import subprocess
    import sys
    from pathlib import Path

    ref_uri, our_uri = journal
    ds = "concurrent"
    _ref_store(ref_uri, ds).dispose()  # create the table before the race
    here = str(Path(__file__).parent)
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, ref_uri, ds, f"w{i}", here],
                         stderr=subprocess.PIPE, text=True)
        for i in range(2)
    ]
    got = []
    while any(w.poll() is None for w in writers):
        got.extend(_flush_ours(our_uri, ds, batch=13))
    for w in writers:
        assert w.wait() == 0, w.stderr.read()
    got.extend(_flush_ours(our_uri, ds))
    ids = [r["id"] for r in got]
    expect = [f"w{i}-b{b}-{k:04d}" for i in range(2) for b in range(8) for k in range(20)]
    assert len(ids) == len(set(ids)), "a row was delivered twice"
    assert sorted(ids) == sorted(expect)


def test_relative_sqlite_uri_is_one_file(tmp_path, monkeypatch):
    """`sqlite:///j.db` is j.db in the working directory for SQLAlchemy, so
    for the reference; ours opened /j.db and neither saw the other's rows."""
    monkeypatch.chdir(tmp_path)
    uri, ds = "sqlite:///rel.db", "relative"
    rows = _rows("rel", 6)
    store = _ref_store(uri, ds)
    with store.writer() as w:
        w.add_batch(pa.Table.from_pylist(rows, schema=JOURNAL_SCHEMA))
    assert _ours(uri, ds, "count", cwd=tmp_path).strip() == "6"
    run([tool("lh-journal"), uri, ds, "insert"], input=_jsonl(_rows("more", 3)), cwd=tmp_path)
    assert store.count() == 9
    store.dispose()
    assert sorted(p.name for p in tmp_path.glob("*.db")) == ["rel.db"]


def test_long_dataset_name(journal):
    """A dataset name of 40 bytes: on postgres the full segment name passes
    63 bytes and the server cuts the reference's; ours count, drain and
    rotate under the cut names (they refused the dataset outright)."""
    ref_uri, our_uri = journal
    ds = "l" * 40
    rows, more = _rows("long", 8), _rows("longer", 5)
    store = _ref_store(ref_uri, ds)
    with store.writer() as w:
        w.add_batch(pa.Table.from_pylist(rows, schema=JOURNAL_SCHEMA))
    gen = store.flush_batches()  # the reference abandons its flush: a segment stays
    next(gen)
    gen.close()
    run([tool("lh-journal"), our_uri, ds, "insert"], input=_jsonl(more))
    assert _ours(our_uri, ds, "count").strip() == "13"
    assert _by_id(_flush_ours(our_uri, ds)) == _by_id(rows + more)
    run([tool("lh-journal"), our_uri, ds, "insert"], input=_jsonl(rows))
    assert _by_id(_flush_ref(store)) == _by_id(rows)  # the reference drains ours
    assert store.count() == 0
    store.dispose()


def test_sqlite_uri_query_and_escapes(tmp_path):
    """The reference takes LAKEHOUSE_JOURNAL_URI apart with SQLAlchemy: the
    query is the driver's arguments and the path is percent-decoded. Ours
    took both into the file name: another journal than the reference's."""
    d = tmp_path / "a b%"
    d.mkdir()
    uri, ds = f"sqlite:///{tmp_path}/a%20b%25/j.db?timeout=30", "query"
    store = _ref_store(uri, ds)
    with store.writer() as w:
        w.add_batch(pa.Table.from_pylist(_rows("q", 4), schema=JOURNAL_SCHEMA))
    assert _ours(uri, ds, "count").strip() == "4"
    assert _by_id(_flush_ours(uri, ds)) == _by_id(_rows("q", 4))
    assert store.count() == 0
    store.dispose()
    names = {p.name for p in d.iterdir()}
    assert "j.db" in names and not any("?" in n for n in names), names


def test_first_writers_race_to_create_the_table(pg_server):
    """Writers that find no journal table all create it at once: postgres
    lets one CREATE TABLE IF NOT EXISTS win and fails the others on its
    catalog (the table, its row type or its index), which must read as
    "it exists", not as an error (seen in CI with concurrent imports)."""
    import subprocess

    rows = _jsonl(_rows("race", 3))
    for round_ in range(30):
        dataset = f"race_{round_}"
        procs = [subprocess.Popen([tool("lh-journal"), pg_server.uri, dataset, "insert"],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(6)]
        for p in procs:
            p.stdin.write(rows)
            p.stdin.close()
        for p in procs:
            err = p.stderr.read()
            assert p.wait() == 0, err
            p.stdout.close()
            p.stderr.close()
        assert _ours(pg_server.uri, dataset, "count").strip() == "18"


def test_writer_role_that_does_not_own_the_table(pg_server):
    """A role granted INSERT on a journal table the reference made (its DDL
    has no shard column) writes to it as the reference's writers do; ours
    tried to add the column first and failed every import with 'must be
    owner of table'. The owner's flush then moves the rows."""
    import psycopg2

    ds = "not_owner"
    store = _ref_store(pg_server.sqlalchemy_uri(), ds)  # makes the table, owned by postgres
    conn = psycopg2.connect(pg_server.uri)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("DROP ROLE IF EXISTS lh_writer")
        cur.execute("CREATE ROLE lh_writer LOGIN")
        cur.execute(f'GRANT SELECT, INSERT ON "journal_{ds}" TO lh_writer')
    writer_uri = pg_server.uri.replace("postgres@", "lh_writer@", 1)
    rows = _rows("own", 6)
    run([tool("lh-journal"), writer_uri, ds, "insert"], input=_jsonl(rows))
    assert _ours(writer_uri, ds, "count").strip() == "6"
    assert _by_id(_flush_ref(store)) == _by_id(rows)
    store.dispose()
    with conn.cursor() as cur:
        cur.execute(f'DROP TABLE IF EXISTS "journal_{ds}"')
        cur.execute("DROP ROLE lh_writer")
    conn.close()


def test_long_name_segment_committed_but_not_dropped(pg_server, tmp_path):
    """A flush killed after it committed a segment and before its DROP
    leaves the segment: the next flush finds the commit and drops it unread.
    For a dataset name of 32 bytes or more postgres cuts the segment name to
    63 bytes and its stamp with it; the name is no longer unique, so ours never
    looked it up and committed the rows a second time (each statement twice
    in the table until optimize)."""
    import os
    import signal
    import subprocess
    import time

    import deltalake
    import psycopg2

    ds = "k" * 40
    lake = tmp_path / "lake"
    env = dict(os.environ, LAKEHOUSE_JOURNAL_URI=pg_server.uri)
    cli = [tool("ftm-lakehouse"), "--uri", lake, "-d", ds]
    rows = _rows("kill", 12)
    for r in rows:
        r["dataset"] = ds
    store = _ref_store(pg_server.sqlalchemy_uri(), ds)
    with store.writer() as w:
        w.add_batch(pa.Table.from_pylist(rows, schema=JOURNAL_SCHEMA))
    gen = store.flush_batches()  # the reference abandons its flush: a segment stays
    next(gen)
    gen.close()
    store.dispose()
    conn = psycopg2.connect(pg_server.uri)
    with conn.cursor() as cur:  # holds the segment: our flush's DROP waits
        cur.execute("SELECT relname FROM pg_class WHERE relname LIKE %s", (f"journal_{ds}-seg-%",))
        (seg,) = cur.fetchone()
        cur.execute(f'LOCK TABLE "{seg}" IN ACCESS SHARE MODE')
    flush = subprocess.Popen([str(a) for a in [*cli, "maintenance", "flush"]], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    watch = psycopg2.connect(pg_server.uri)
    watch.autocommit = True
    try:
        for _ in range(600):
            with watch.cursor() as cur:
                cur.execute("SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                            "AND query LIKE 'DROP TABLE%%'")
                dropper = cur.fetchone()
                if dropper:
                    break
            assert flush.poll() is None, "the flush ended before its DROP"
            time.sleep(0.05)
        else:
            pytest.fail("the flush never reached its DROP")
        flush.send_signal(signal.SIGKILL)
        flush.wait()
        # the server would still run the DROP it was sent: as if killed before
        with watch.cursor() as cur:
            cur.execute("SELECT pg_terminate_backend(%s, 10000)", dropper)
    finally:
        conn.rollback()
        conn.close()
        watch.close()
    out = run([*cli, "maintenance", "flush"], env=env)
    assert "flushed 0 statements" in out.stderr, out.stderr
    ids = deltalake.DeltaTable(str(lake / ds / "statements")).to_pyarrow_table().column("id")
    assert sorted(ids.to_pylist()) == sorted(r["id"] for r in rows)


def test_dataset_name_too_long_for_segments(pg_server):
    """A dataset name over 50 bytes leaves no room for a segment name: rows
    are refused, but a journal with nothing in it counts, flushes and
    clears as empty. Refusing the open failed every optimize, make, check
    and flush --all of such a dataset (a bulk import takes the name)."""
    ds = "t" * 55
    uri = pg_server.uri
    assert _ours(uri, ds, "count").strip() == "0"
    assert _flush_ours(uri, ds) == []
    proc = run([tool("lh-journal"), uri, ds, "insert"], input=_jsonl(_rows("tl", 2)), check=False)
    assert proc.returncode != 0 and "too long for a postgres journal" in proc.stderr
    # rows the reference put under the name (63 bytes, it fits) are counted,
    # and a flush refuses them rather than drop or strand them
    store = _ref_store(pg_server.sqlalchemy_uri(), ds)
    with store.writer() as w:
        w.add_batch(pa.Table.from_pylist(_rows("tl", 3), schema=JOURNAL_SCHEMA))
    assert _ours(uri, ds, "count").strip() == "3"
    proc = run([tool("lh-journal"), uri, ds, "flush", "7"], check=False)
    assert proc.returncode != 0 and "too long for a postgres journal" in proc.stderr
    assert store.count() == 3
    store.dispose()


def test_role_without_create_and_check_make_no_table(pg_server, tmp_path):
    """A role that may not CREATE: maintenance of a dataset it never
    journalled (check, optimize, flush --all) has nothing to do in the
    journal and succeeds; an import --journal is refused before it makes the
    dataset. Ours made the journal table on every open, so those commands
    failed for that role (42501), and check (which must not write) made it."""
    import os
    from pathlib import Path

    import psycopg2

    conn = psycopg2.connect(pg_server.uri)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("DROP ROLE IF EXISTS lh_nocreate")
        cur.execute("CREATE ROLE lh_nocreate LOGIN")
        cur.execute("SELECT has_schema_privilege('lh_nocreate', 'public', 'CREATE')")
        granted = cur.fetchone()[0]  # before postgres 15 every role may
        if granted:
            cur.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    lake = tmp_path / "lake"
    cli = [tool("ftm-lakehouse"), "--uri", lake]
    sample = Path(__file__).resolve().parents[2] / "examples" / "sample.ftm.json"
    run([*cli, "-d", "nocreate", "entities", "import", "-i", sample],
        env=dict(os.environ, LAKEHOUSE_JOURNAL_URI=pg_server.uri))
    try:
        # the owner's check does not write
        env = dict(os.environ, LAKEHOUSE_JOURNAL_URI=pg_server.uri)
        run([*cli, "-d", "nocreate", "maintenance", "check"], env=env)
        with conn.cursor() as cur:
            cur.execute("SELECT to_regclass('journal_nocreate')")
            assert cur.fetchone() == (None,)
        env["LAKEHOUSE_JOURNAL_URI"] = pg_server.uri.replace("postgres@", "lh_nocreate@", 1)
        run([*cli, "-d", "nocreate", "maintenance", "check"], env=env)
        run([*cli, "-d", "nocreate", "maintenance", "optimize"], env=env)
        run([*cli, "maintenance", "flush", "--all"], env=env)
        proc = run([*cli, "-d", "fresh", "entities", "import", "-i", sample, "--journal"],
                   env=env, check=False)
        assert proc.returncode != 0 and "permission denied" in proc.stderr, proc.stderr
        assert not (lake / "fresh").exists()
    finally:
        with conn.cursor() as cur:
            if granted:
                cur.execute("GRANT CREATE ON SCHEMA public TO PUBLIC")
            cur.execute("DROP ROLE lh_nocreate")
        conn.close()


def test_a_server_that_never_answers_is_a_timeout_not_a_hang(tmp_path):
    """A port that takes the connection and never answers (a stopped
    server, a half-open firewall) failed nothing: libpq waits forever by
    default. Ours gives up after 30 s unless the URI or PGCONNECT_TIMEOUT
    says otherwise, and names the timeout."""
    import os
    import socket
    import subprocess
    import time

    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen(8)  # the kernel completes the handshakes; nobody answers
        port = srv.getsockname()[1]
        uri = f"postgresql://nobody@127.0.0.1:{port}/x"
        env = {k: v for k, v in os.environ.items() if k != "PGCONNECT_TIMEOUT"}
        for given, bound in (("?connect_timeout=2", 15), ("", 60)):
            start = time.monotonic()
            proc = subprocess.run([tool("lh-journal"), uri + given, "ds", "count"], env=env,
                                  capture_output=True, text=True, timeout=bound + 30)
            took = time.monotonic() - start
            assert proc.returncode != 0 and "timeout expired" in proc.stderr, proc.stderr
            assert took < bound, took
        assert took > 25  # the default, not the URI's 2 s
