"""TagStore and QueueStore interop: the Python reference's TagStore and
anystore's Queue read what lh-tags / lh-queue write, and the other way round."""
import json
from datetime import datetime, timedelta, timezone

from anystore.interface.queue import get_queue
from conftest import run, tool
from ftm_lakehouse.storage.tags import TagStore


def _tags(root, *args, tenant="-", check=True):
    return run([tool("lh-tags"), root, "ds", tenant, *args], check=check)


def _queue(root, *args, tenant="-", check=True):
    return run([tool("lh-queue"), root, "ds", tenant, *args], check=check)


def test_tags_we_write_reference_reads(tmp_path):
    ts = "2024-05-01T12:34:56.123456+00:00"
    assert _tags(tmp_path, "set", "statements/last_updated", ts).stdout.strip() == ts
    _tags(tmp_path, "set", "exports/statements.csv", "2024-05-01T12:00:00Z")
    _tags(tmp_path, "set", "journal/last_updated")  # now
    ref = TagStore(str(tmp_path / "ds"))
    assert ref.get("statements/last_updated") == datetime.fromisoformat(ts)
    assert ref.get("exports/statements.csv") == datetime(2024, 5, 1, 12, tzinfo=timezone.utc)
    now = ref.get("journal/last_updated")
    assert abs(datetime.now(timezone.utc) - now) < timedelta(minutes=5)
    assert ref.is_latest("statements/last_updated", ["exports/statements.csv"])
    assert not ref.is_latest("exports/statements.csv", ["statements/last_updated"])
    # byte-identical to what the reference writes for the same value
    ours = (tmp_path / "ds/tags/lakehouse/statements/last_updated").read_bytes()
    ref.set("statements/last_updated", datetime.fromisoformat(ts))
    assert (tmp_path / "ds/tags/lakehouse/statements/last_updated").read_bytes() == ours

    # another tenant
    _tags(tmp_path, "set", "x", ts, tenant="other")
    assert TagStore(str(tmp_path / "ds"), tenant="other").get("x") == datetime.fromisoformat(ts)


def test_tags_reference_writes_we_read(tmp_path):
    ref = TagStore(str(tmp_path / "ds"))
    t1 = datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=timezone.utc)
    t0 = datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    ref.set("statements/last_updated", t1)
    ref.set("archive/last_updated", t0)
    stamped = ref.set("journal/last_flushed")  # now, aware UTC
    ref.set("naive", datetime(2024, 1, 2, 3, 4, 5))
    assert _tags(tmp_path, "get", "statements/last_updated").stdout.strip() == t1.isoformat()
    assert _tags(tmp_path, "get", "archive/last_updated").stdout.strip() == t0.isoformat()
    assert _tags(tmp_path, "get", "journal/last_flushed").stdout.strip() == stamped.isoformat()
    assert _tags(tmp_path, "get", "naive").stdout.strip() == "2024-01-02T03:04:05+00:00"
    assert _tags(tmp_path, "get", "unset", check=False).returncode == 4
    deps = ["archive/last_updated", "unset"]
    for key in ("statements/last_updated", "archive/last_updated", "unset"):
        ours = _tags(tmp_path, "latest", key, *deps).stdout.strip()
        assert ours == ("true" if ref.is_latest(key, deps) else "false"), key
    assert _tags(tmp_path, "latest", "statements/last_updated").stdout.strip() == "false"
    _tags(tmp_path, "delete", "archive/last_updated")
    assert ref.get("archive/last_updated") is None


def test_queue_we_write_reference_reads(tmp_path):
    keys = []
    for i in range(5):
        payload = json.dumps({"entity_ids": [f"e{i}"], "n": i, "t": "\u00fc"})
        keys.append(_queue(tmp_path, "put", "upsert", "statements", payload).stdout.strip())
    keys.append(_queue(tmp_path, "put", "delete", "archive").stdout.strip())
    assert keys == sorted(keys)
    q = get_queue(dict, uri=str(tmp_path / "ds/queue/lakehouse"))
    assert sorted(q.iterate_keys()) == keys
    items = [q.get(k) for k in keys]
    assert [it["payload"]["n"] for it in items[:5]] == list(range(5))
    assert items[0]["action"] == "upsert" and items[0]["resource"] == "statements"
    assert items[0]["payload"]["t"] == "\u00fc"
    assert items[5] == {**items[5], "action": "delete", "resource": "archive", "payload": None}
    created = datetime.fromisoformat(items[0]["created_at"])
    assert created.tzinfo is not None
    assert abs(datetime.now(timezone.utc) - created) < timedelta(minutes=5)
    # the reference consumes one item; we no longer see it
    with q.checkout() as item:
        assert item is not None
    remaining = [json.loads(x) for x in _queue(tmp_path, "list").stdout.splitlines()]
    assert len(remaining) == 5


def test_queue_reference_writes_we_read(tmp_path):
    q = get_queue(dict, uri=str(tmp_path / "ds/queue/lakehouse"))
    for i in range(3):
        q.put({"action": "upsert", "resource": "entities", "payload": {"i": i},
               "created_at": datetime(2024, 1, 1, i, tzinfo=timezone.utc).isoformat()})
    items = [json.loads(x) for x in _queue(tmp_path, "list").stdout.splitlines()]
    assert [it["payload"]["i"] for it in items] == [0, 1, 2]
    assert items[1]["created_at"] == "2024-01-01T01:00:00+00:00"
    # pop does not remove; ack does
    first = json.loads(_queue(tmp_path, "pop").stdout)
    assert first["payload"] == {"i": 0}
    assert json.loads(_queue(tmp_path, "pop").stdout)["key"] == first["key"]
    _queue(tmp_path, "ack", first["key"])
    assert len(list(q.iterate_keys())) == 2
    consumed = [json.loads(x) for x in _queue(tmp_path, "consume").stdout.splitlines()]
    assert [it["payload"]["i"] for it in consumed] == [1, 2]
    assert list(q.iterate_keys()) == []
    assert _queue(tmp_path, "pop", check=False).returncode == 4


def test_tags_list_after_make(tmp_path):
    """`make` keeps tags that hold no time (a diff series' "ts:version", a
    statistics snapshot's): `tags list` shows them as stored, beside the
    times, and exits 0."""
    from conftest import SHARED_DATA

    lake = tmp_path / "lake"
    base = [tool("ftm-lakehouse"), "--uri", lake, "-d", "eu"]
    run([*base, "entities", "import", "-i", SHARED_DATA / "eu_authorities.ftm.json"])
    run([*base, "make"])
    out = run([*base, "tags", "list"]).stdout
    tags = dict(line.split("\t", 1) for line in out.splitlines())
    import re

    assert re.fullmatch(r"\d{8}T\d{12}Z:\d+", tags["diffs/entities.ftm.json-current"])
    assert tags["statements/last_updated"].endswith("+00:00")
    assert "exports/statistics.json" in tags
    got = run([*base, "tags", "get", "diffs/entities.ftm.json-current"]).stdout
    assert got == tags["diffs/entities.ftm.json-current"] + "\n"
