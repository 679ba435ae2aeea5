"""S3 backend interop: what our C storage layer writes to an S3-compatible
server (moto on loopback, started here, checking SigV4 signatures) is listed
and read by boto3, pyarrow's S3FileSystem and deltalake under the same keys,
and the other way round; conditional puts race between processes; a Delta
table that our C log writes on S3 is read by delta-rs, and delta-rs commits
on S3 are replayed by ours; the Python reference reads and writes a lake
of ours on S3 through the same endpoint."""
import concurrent.futures
import json
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from conftest import run, tool

boto3 = pytest.importorskip("boto3")
pytest.importorskip("moto")

import pyarrow as pa  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
from deltalake import DeltaTable, write_deltalake  # noqa: E402

FIXTURE = Path(__file__).resolve().parent / "s3_fixture.py"
BUCKET = "lh-interop"


@pytest.fixture(scope="module")
def s3():
    proc = subprocess.Popen([sys.executable, str(FIXTURE), "--auth", BUCKET], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline().split()
    if len(line) != 3:
        proc.kill()
        pytest.fail("s3 fixture did not start")
    port, key_id, secret = line
    endpoint = f"http://127.0.0.1:{port}"
    env = dict(os.environ, AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID=key_id, AWS_SECRET_ACCESS_KEY=secret,
               AWS_REGION="us-east-1", LH_S3_RETRY_BASE_MS="10")
    env.pop("AWS_SESSION_TOKEN", None)
    client = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=key_id, aws_secret_access_key=secret,
                          region_name="us-east-1")
    options = {"AWS_ENDPOINT_URL": endpoint, "AWS_ALLOW_HTTP": "true", "AWS_ACCESS_KEY_ID": key_id,
               "AWS_SECRET_ACCESS_KEY": secret, "AWS_REGION": "us-east-1", "conditional_put": "etag"}
    yield {"endpoint": endpoint, "key_id": key_id, "secret": secret, "env": env, "client": client,
           "options": options}
    proc.stdin.close()
    proc.terminate()
    proc.wait(timeout=30)


def lhs3(s3, *args, **kw):
    return run([tool("lh-s3"), *args], env=s3["env"], **kw)


def lhd(s3, *args, **kw):
    return run([tool("lh-delta"), *args], env=s3["env"], **kw)


def all_keys(s3, prefix):
    pages = s3["client"].get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return sorted(o["Key"] for page in pages for o in page.get("Contents", []))


def uri(prefix):
    return f"s3://{BUCKET}/{prefix}"


def local_tree(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def make_lake(root):
    """A small lake directory: a partitioned Delta table written by delta-rs,
    JSON and text files, awkward key characters."""
    table = pa.table({"id": [f"e{i}" for i in range(50)], "origin": ["a", "b/ü x", "c"] * 16 + ["a", "a"],
                      "n": list(range(50))})
    write_deltalake(str(root / "ds" / "table"), table, partition_by=["origin"])
    write_deltalake(str(root / "ds" / "table"), table.slice(0, 5), mode="append")
    (root / "ds" / "entities.ftm.json").write_text('{"id": "x", "schema": "Person"}\n')
    (root / "ds" / "files" / "ab").mkdir(parents=True)
    (root / "ds" / "files" / "ab" / "a b+c=d&e?ü.txt").write_bytes(os.urandom(70000))
    (root / "index.json").write_text("{}")
    (root / "empty").write_bytes(b"")
    return table


def test_c_written_lake_read_by_python(s3, tmp_path):
    root = tmp_path / "lake"
    make_lake(root)
    lhs3(s3, "copy", f"file://{root}", uri("lake1"))
    local = local_tree(root)
    assert all_keys(s3, "lake1/") == [f"lake1/{k}" for k in local]
    for k in local:
        body = s3["client"].get_object(Bucket=BUCKET, Key=f"lake1/{k}")["Body"].read()
        assert body == (root / k).read_bytes(), k
    # our listing matches too, recursive and by directory
    assert lhs3(s3, "list", uri("lake1"), "", "r").stdout.splitlines() == local
    resp = s3["client"].list_objects_v2(Bucket=BUCKET, Prefix="lake1/ds/", Delimiter="/")
    theirs = sorted([o["Key"][len("lake1/"):] for o in resp.get("Contents", [])] +
                    [p["Prefix"][len("lake1/"):] for p in resp.get("CommonPrefixes", [])])
    assert lhs3(s3, "list", uri("lake1"), "ds", "d").stdout.splitlines() == theirs
    # pyarrow's S3 filesystem reads a parquet file we uploaded
    from pyarrow import fs

    s3fs = fs.S3FileSystem(access_key=s3["key_id"], secret_key=s3["secret"], region="us-east-1",
                           endpoint_override=s3["endpoint"].split("://")[1], scheme="http")
    part = next(k for k in local if k.endswith(".parquet"))
    assert pq.read_table(f"{BUCKET}/lake1/{part}", filesystem=s3fs) == pq.read_table(root / part)
    # delta-rs reads the whole table from S3
    remote = DeltaTable(uri("lake1/ds/table"), storage_options=s3["options"])
    here = DeltaTable(str(root / "ds" / "table"))
    assert remote.version() == here.version() == 1
    key = lambda t: sorted(t.to_pylist(), key=lambda r: r["n"])
    assert key(remote.to_pyarrow_table()) == key(here.to_pyarrow_table())


def test_python_written_objects_read_by_c(s3, tmp_path):
    c = s3["client"]
    data = {f"py/d{i % 3}/k{i}.bin": os.urandom(i * 1000) for i in range(12)}
    for k, v in data.items():
        c.put_object(Bucket=BUCKET, Key=k, Body=v)
    assert lhs3(s3, "list", uri("py"), "", "r").stdout.splitlines() == sorted(k[3:] for k in data)
    assert lhs3(s3, "list", uri("py"), "", "d").stdout.splitlines() == ["d0/", "d1/", "d2/"]
    for k, v in data.items():
        assert run([tool("lh-s3"), "get", uri("py"), k[3:]], env=s3["env"], text=False).stdout == v
    size, mtime = lhs3(s3, "stat", uri("py"), "d2/k11.bin").stdout.split()
    assert int(size) == 11000
    head = c.head_object(Bucket=BUCKET, Key="py/d2/k11.bin")
    assert int(mtime) == int(head["LastModified"].timestamp() * 1000)
    got = run([tool("lh-s3"), "pread", uri("py"), "d2/k11.bin", "10000", "1000"], env=s3["env"], text=False).stdout
    assert got == data["py/d2/k11.bin"][10000:]
    assert lhs3(s3, "get", uri("py"), "nope", check=False).returncode == 4
    lhs3(s3, "rm-prefix", uri("py"), "d1")
    assert all_keys(s3, "py/d1/") == []
    assert len(all_keys(s3, "py/")) == 8


def test_listing_paginates_past_1000_keys(s3):
    c = s3["client"]
    keys = [f"many/{i // 300}/{i:05d}" for i in range(1005)]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda k: c.put_object(Bucket=BUCKET, Key=k, Body=b"x"), keys))
    got = lhs3(s3, "list", uri("many"), "", "r").stdout.splitlines()
    assert got == sorted(k[len("many/"):] for k in keys)
    assert lhs3(s3, "list", uri("many"), "1", "r").stdout.splitlines() == [k[5:] for k in keys if k.startswith("many/1/")]
    assert lhs3(s3, "list", uri("many"), "", "d").stdout.splitlines() == ["0/", "1/", "2/", "3/"]


def test_multipart_both_ways(s3, tmp_path):
    big = tmp_path / "big.bin"
    payload = os.urandom(17 * 1024 * 1024 + 333)
    big.write_bytes(payload)
    lhs3(s3, "put", uri("mp"), "big.bin", big)
    obj = s3["client"].get_object(Bucket=BUCKET, Key="mp/big.bin")
    assert obj["Body"].read() == payload
    assert obj["ETag"].strip('"').endswith("-3")  # 8 MiB + 8 MiB + the rest
    assert s3["client"].list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []
    # boto3's own multipart upload, read back by us
    from boto3.s3.transfer import TransferConfig

    s3["client"].upload_file(str(big), BUCKET, "mp/theirs.bin",
                             Config=TransferConfig(multipart_threshold=5 << 20, multipart_chunksize=5 << 20))
    out = run([tool("lh-s3"), "get", uri("mp"), "theirs.bin"], env=s3["env"], text=False).stdout
    assert out == payload
    # conditional multipart on an existing key
    assert lhs3(s3, "put-if-absent", uri("mp"), "big.bin", big, check=False).returncode == 3
    assert s3["client"].list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []


def test_put_if_absent_race_between_processes(s3, tmp_path):
    for rnd in range(3):
        files = []
        for i in range(4):
            f = tmp_path / f"c{rnd}-{i}.json"
            f.write_text(json.dumps({"writer": i, "round": rnd}))
            files.append(f)
        key = f"_delta_log/{rnd:020d}.json"
        procs = [subprocess.Popen([str(tool("lh-s3")), "put-if-absent", uri("race"), key, f], env=s3["env"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE) for f in files]
        codes = [p.wait(timeout=120) for p in procs]
        assert sorted(codes) == [0, 3, 3, 3], codes
        winner = codes.index(0)
        body = s3["client"].get_object(Bucket=BUCKET, Key=f"race/{key}")["Body"].read()
        assert json.loads(body) == {"writer": winner, "round": rnd}


# ---- Delta on S3 ----

SCHEMA = pa.schema([("id", pa.string()), ("n", pa.int64()), ("origin", pa.string())])


def upload_parquet(s3, tmp_path, table_uri, origin, tag, n):
    """A data file in the partition directory, uploaded through our backend."""
    rel = f"origin={origin}/part-00000-{uuid.uuid4()}-c000.snappy.parquet"
    local = tmp_path / f"{uuid.uuid4()}.parquet"
    data = pa.Table.from_pylist([{"id": f"{tag}-{i}", "n": i} for i in range(n)],
                                pa.schema([("id", pa.string()), ("n", pa.int64())]))
    pq.write_table(data, local)
    lhs3(s3, "put", table_uri, rel, local)
    return rel


def theirs(table_uri, options, version=None):
    dt = DeltaTable(table_uri, storage_options=options, version=version)
    actions = pa.table(dt.get_add_actions(flatten=True)).to_pylist()
    return {a["path"]: {"origin": a["partition.origin"]} for a in actions}


def ours(s3, table_uri, version=None):
    args = ["snapshot", table_uri, "."] + ([str(version)] if version is not None else [])
    return {f["raw_path"]: f["pv"] for f in json.loads(lhd(s3, *args).stdout)["files"]}


def test_delta_log_on_s3_both_ways(s3, tmp_path):
    table_uri = uri("delta/t1")
    assert lhd(s3, "create", table_uri, ".", "id:string,n:long,origin:string", "origin").stdout.strip() == "0"
    for i, origin in enumerate(["a", "b", "a"]):
        rel = upload_parquet(s3, tmp_path, table_uri, origin, f"f{i}", 3)
        spec = {"adds": [{"path": rel, "pv": {"origin": origin}}]}
        assert int(lhd(s3, "commit", table_uri, ".", json.dumps(spec)).stdout) == i + 1
    dt = DeltaTable(table_uri, storage_options=s3["options"])
    assert dt.version() == 3
    assert dt.to_pyarrow_table().num_rows == 9
    assert theirs(table_uri, s3["options"]) == ours(s3, table_uri)
    # delta-rs appends on S3 (conditional put), we replay its commit
    write_deltalake(table_uri, pa.Table.from_pylist([{"id": "rs", "n": 1, "origin": "c"}], SCHEMA),
                    mode="append", storage_options=s3["options"])
    assert DeltaTable(table_uri, storage_options=s3["options"]).version() == 4
    assert theirs(table_uri, s3["options"]) == ours(s3, table_uri)
    assert json.loads(lhd(s3, "snapshot", table_uri, ".").stdout)["version"] == 4


def test_delta_concurrent_appends_on_s3(s3, tmp_path):
    table_uri = uri("delta/t2")
    lhd(s3, "create", table_uri, ".", "id:string,n:long,origin:string", "origin")
    per = 6
    paths = [[upload_parquet(s3, tmp_path, table_uri, "x", f"p{p}-{i}", 1) for i in range(per)] for p in range(4)]
    procs = [subprocess.Popen([str(tool("lh-delta")), "append-each", table_uri, ".", '{"origin":"x"}', *ps],
                              env=s3["env"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for ps in paths]
    versions = []
    for p in procs:
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0, err
        versions += [int(x) for x in out.split()]
    assert sorted(versions) == list(range(1, 4 * per + 1))
    dt = DeltaTable(table_uri, storage_options=s3["options"])
    assert dt.version() == 4 * per
    assert dt.to_pyarrow_table().num_rows == 4 * per
    assert theirs(table_uri, s3["options"]) == ours(s3, table_uri)


def test_virtual_hosted_style(s3, tmp_path):
    """AWS's addressing (bucket in the host name), against bucket.localhost."""
    env = dict(s3["env"], AWS_ENDPOINT_URL=s3["endpoint"].replace("127.0.0.1", "localhost"),
               AWS_VIRTUAL_HOSTED_STYLE_REQUEST="true")
    f = tmp_path / "v.txt"
    f.write_text("virtual")
    run([tool("lh-s3"), "put", uri("vh"), "a/v.txt", f], env=env)
    assert run([tool("lh-s3"), "list", uri("vh"), "", "r"], env=env).stdout.splitlines() == ["a/v.txt"]
    assert s3["client"].get_object(Bucket=BUCKET, Key="vh/a/v.txt")["Body"].read() == b"virtual"


def test_parquet_store_lake_on_s3(s3, tmp_path):
    """Our ParquetStore on S3 and on a local disk, fed the same statements:
    same live rows, same physical table as delta-rs reads it from S3, same
    layout; a copy of the S3 lake reads the same through the reference."""
    from datetime import timedelta

    import test_pstore as tp
    from conftest import SHARED_DATA

    base = tp.entity_statements(SHARED_DATA / "sanctions_zala.ftm.json", 120, "bulk", tp.T0)
    later = tp.T0 + timedelta(days=2)
    again = [{**r, "first_seen": later, "last_seen": later} for r in base[::3]]
    lake_uri, local = uri("pstore"), tmp_path / "local"

    def pstore(lake, *args, stdin=None):
        return run([tool("lh-pstore"), lake, tp.DATASET, "4", *args], input=stdin, env=s3["env"]).stdout

    for lake in (lake_uri, local):
        for rows in (base, again):
            pstore(lake, "append", stdin="\n".join(tp.to_json(r) for r in rows) + "\n")
        pstore(lake, "merge")

    def dump(lake):
        return tp.canon([json.loads(line) for line in pstore(lake, "dump").splitlines()])

    live = dump(lake_uri)
    assert len(live) > 500 and live == dump(local)
    remote = DeltaTable(f"{lake_uri}/{tp.DATASET}/statements", storage_options=s3["options"])
    assert tp.canon(remote.to_pyarrow_table().to_pylist()) == tp.delta_rows(local)
    dirs = lambda keys: sorted({k.rsplit("/", 1)[0] for k in keys if k.endswith(".parquet")})
    assert dirs(lhs3(s3, "list", lake_uri, "", "r").stdout.splitlines()) == dirs(local_tree(local))
    copy = tmp_path / "copy"
    lhs3(s3, "copy", lake_uri, f"file://{copy}")
    assert tp.comparable(tp.ref_dump(copy, 4)) == tp.comparable(live)


def test_vacuum_aborts_interrupted_uploads(s3, tmp_path):
    """A writer killed mid-way through a multipart upload leaves the upload
    open (invisible to listings, billed all the same); vacuum, holding the
    write fence, aborts those of the dataset and no others."""
    import time

    import test_pstore as tp
    from conftest import SHARED_DATA

    rows = tp.entity_statements(SHARED_DATA / "sanctions_zala.ftm.json", 20, "bulk", tp.T0)
    lake_uri = uri("debris")
    run([tool("lh-pstore"), lake_uri, tp.DATASET, "0", "append"],
        input="\n".join(tp.to_json(r) for r in rows) + "\n", env=s3["env"])
    client = s3["client"]
    inside = f"debris/{tp.DATASET}/statements/shard=0/bucket=thing/origin=bulk/part-dead.zstd.parquet"
    outside = "debris-other/upload.bin"
    # elsewhere in the dataset (a killed export's) vacuum takes those a
    # minute old, as moto says every upload is (it began in 2010)
    export = f"debris/{tp.DATASET}/exports/statements.csv"
    for key in (inside, outside, export):
        up = client.create_multipart_upload(Bucket=BUCKET, Key=key)
        client.upload_part(Bucket=BUCKET, Key=key, UploadId=up["UploadId"], PartNumber=1,
                           Body=b"x" * 1024)
    open_keys = lambda: sorted(u["Key"] for u in client.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []))
    assert inside in open_keys() and outside in open_keys()
    time.sleep(1.1)  # vacuum with retention 0 takes what began before it
    run([tool("lh-pstore"), lake_uri, tp.DATASET, "0", "vacuum"], env=s3["env"])
    assert open_keys() == [outside]
    live = run([tool("lh-pstore"), lake_uri, tp.DATASET, "0", "dump"], env=s3["env"]).stdout
    assert len(live.splitlines()) == len({r["id"] for r in rows})


def entity_view(lines):
    """{id: (schema, properties)} of entity JSON lines (captions aside: the
    reference's `iterate` picks them its own way)."""
    out = {}
    for line in lines.splitlines():
        e = json.loads(line)
        out[e["id"]] = (e["schema"], {k: sorted(v) for k, v in e["properties"].items()})
    return out


def test_reference_reads_and_writes_our_lake_on_s3(s3, tmp_path):
    """The Python reference opens a lake we wrote on S3 (delta-rs for the log,
    s3fs for the rest, the same endpoint), appends to it, and we read what it
    wrote."""
    from conftest import ROOT, SHARED_DATA

    refs3 = ROOT / ".refs3"
    assert (refs3 / "s3fs").is_dir(), f"{refs3} is missing: run scripts/setup"
    lake = uri("reflake")
    env = dict(s3["env"], LAKEHOUSE_JOURNAL_URI=f"sqlite:///{tmp_path}/ours.db")
    ref_env = dict(s3["env"], LAKEHOUSE_JOURNAL_URI=f"sqlite:///{tmp_path}/ref.db", PYTHONPATH=str(refs3))

    def ours(*args):
        return run([tool("ftm-lakehouse"), "--uri", lake, "-d", "zala", *args], env=env).stdout

    def ref(*args):
        return run([sys.executable, str(ROOT / "tests" / "interop" / "ref_cli.py"), "--uri", lake, "-d", "zala",
                    *args], env=ref_env).stdout

    ours("entities", "import", "-i", str(SHARED_DATA / "sanctions_zala.ftm.json"))
    ours("maintenance", "optimize")
    mine = entity_view(ours("entities", "iterate", "-o", "-"))
    assert len(mine) > 50
    assert entity_view(ref("entities", "iterate")) == mine
    # the reference appends to our table on S3; both read the same
    extra = tmp_path / "extra.ftm.json"
    lines = (SHARED_DATA / "parteispenden.ftm.json").read_text().splitlines()[:40]
    extra.write_text("\n".join(lines) + "\n")
    ref("entities", "import", "-i", str(extra))
    both = entity_view(ours("entities", "iterate", "-o", "-"))
    assert len(both) > len(mine)
    assert both == entity_view(ref("entities", "iterate"))


def test_reshard_on_s3(s3, tmp_path):
    """`maintenance shard` on a lake on S3: the table switches to the new
    partitions in one commit, config.yml names the count, the reference reads
    the result through the same endpoint."""
    from conftest import ROOT, SHARED_DATA

    lake = uri("shardlake")
    env = dict(s3["env"], LAKEHOUSE_JOURNAL_URI=f"sqlite:///{tmp_path}/ours.db")
    ref_env = dict(s3["env"], LAKEHOUSE_JOURNAL_URI=f"sqlite:///{tmp_path}/ref.db",
                   PYTHONPATH=str(ROOT / ".refs3"))

    def ours(*args):
        return run([tool("ftm-lakehouse"), "--uri", lake, "-d", "zala", *args], env=env)

    ours("entities", "import", "-i", str(SHARED_DATA / "sanctions_zala.ftm.json"))
    before = entity_view(ours("entities", "iterate", "-o", "-").stdout)
    res = ours("maintenance", "shard", "--shards", "8")
    assert "now has 8 shards" in res.stderr
    config = s3["client"].get_object(Bucket=BUCKET, Key="shardlake/zala/config.yml")["Body"].read()
    assert b"shards: 8" in config
    dt = DeltaTable(f"{lake}/zala/statements", storage_options=s3["options"])
    shards = {a["partition.shard"] for a in pa.table(dt.get_add_actions(flatten=True)).to_pylist()}
    assert len(shards) > 1 and shards <= set("01234567")
    assert entity_view(ours("entities", "iterate", "-o", "-").stdout) == before
    ours("maintenance", "check")
    ref = run([sys.executable, str(ROOT / "tests" / "interop" / "ref_cli.py"), "--uri", lake, "-d",
               "zala", "entities", "iterate"], env=ref_env).stdout
    assert entity_view(ref) == before


def race_lake(s3, tmp_path, name):
    """A lake on the fixture for a race test (dataset `race`, a local
    journal): its uri, environment and a runner of our CLI on it."""
    lake = uri(f"{name}-{uuid.uuid4().hex[:8]}")
    env = dict(s3["env"], LAKEHOUSE_JOURNAL_URI=f"sqlite:///{tmp_path}/journal.db")

    def cli(*args, **kw):
        return run([tool("ftm-lakehouse"), "--uri", lake, "-d", "race", *args], env=env, **kw)

    return lake, env, cli


def person(eid, name):
    return json.dumps({"id": eid, "schema": "Person", "properties": {"name": [name]}}) + "\n"


def while_held(s3, lake, env, args, meanwhile, count=None):
    """Run `ftm-lakehouse -d race *args` while the fixture holds its reads of
    the table's data files (the first `count` of them, default all); once
    one is held, call meanwhile(), then release them. The command's
    (returncode, stdout, stderr)."""
    endpoint = s3["endpoint"]
    import requests  # moto's own dependency

    held = lambda: requests.get(f"{endpoint}/__lh_stats__").json().get("held", 0)  # noqa: E731
    before = held()
    hold = {"contains": "/race/statements/shard=", "method": "GET"}
    if count is not None:
        hold["count"] = count
    proc = None
    try:
        requests.post(f"{endpoint}/__lh_hold__", params=hold).raise_for_status()
        proc = subprocess.Popen([tool("ftm-lakehouse"), "--uri", lake, "-d", "race", *args],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(600):
            if held() > before or proc.poll() is not None:
                break
            time.sleep(0.05)
        assert held() > before, f"`{' '.join(args)}` never read a data file"
        meanwhile()
    finally:
        requests.post(f"{endpoint}/__lh_release__").raise_for_status()
        if proc:
            try:
                out, err = proc.communicate(timeout=120)
            except subprocess.TimeoutExpired:
                proc.kill()
                out, err = proc.communicate()
    return proc.returncode, out, err


def test_delete_reads_the_journal_before_the_store(s3, tmp_path):
    """`entities delete` races a flush: the fixture holds the delete's first
    read of a data file (its store read) while a flush moves the entity's
    statements from the journal into the store. Read journal-first they are
    found there; read store-first (as before) they were in neither read and
    the entity stayed live after a delete that said it deleted nothing."""
    lake, env, ours = race_lake(s3, tmp_path, "deleterace")
    stored, journalled = tmp_path / "stored.ftm.json", tmp_path / "journalled.ftm.json"
    stored.write_text(person("e1", "Ann") + person("e9", "Bob"))
    journalled.write_text(person("e5", "Cid"))
    ours("entities", "import", "-i", stored)  # the store's file, whose range holds e5
    ours("entities", "import", "--journal", "-i", journalled)
    rc, _, err = while_held(s3, lake, env, ["entities", "delete", "-e", "e5"],
                            lambda: ours("maintenance", "flush"))
    assert rc == 0, err
    assert "deleted 2 statement(s)" in err  # e5's id and name rows
    live = {json.loads(line)["id"] for line in ours("entities", "iterate", "-o", "-").stdout.splitlines()}
    assert live == {"e1", "e9"}


def test_read_goes_on_after_optimize_vacuumed_its_files(s3, tmp_path):
    """`optimize` merges and vacuums at once (retention 0, as the
    reference's), so a read that began before it finds its files gone: the
    fixture holds the read's first data-file request while optimize runs.
    The read goes on from the merged version, every entity once, where it
    used to fail naming the vanished file."""
    lake, env, ours = race_lake(s3, tmp_path, "vacuumrace")
    for batch in range(2):  # two files in the partition: optimize rewrites it
        src = tmp_path / f"b{batch}.ftm.json"
        src.write_text("".join(person(f"e{i:03d}", f"N{batch}") for i in range(50)))
        ours("entities", "import", "-i", src)
    rc, out, err = while_held(s3, lake, env, ["entities", "iterate", "-o", "-"],
                              lambda: ours("maintenance", "optimize"), count=1)
    assert rc == 0, err
    ents = [json.loads(line) for line in out.splitlines()]
    assert sorted(e["id"] for e in ents) == [f"e{i:03d}" for i in range(50)]
    assert all(sorted(e["properties"]["name"]) == ["N0", "N1"] for e in ents)


def test_inputs_and_outputs_on_s3(s3, tmp_path):
    """-i and -o take s3:// objects, as the reference's (fsspec) do: an
    import reads a (gzip-compressed) object, iterate writes one, stored
    whole when the command ends; a missing object is an error naming it,
    and a failed output leaves no object."""
    import gzip

    from conftest import SHARED_DATA
    src = SHARED_DATA / "eu_authorities.ftm.json"
    prefix = f"io-{uuid.uuid4().hex[:8]}"
    s3["client"].put_object(Bucket=BUCKET, Key=f"{prefix}/in/eu.ftm.json.gz",
                            Body=gzip.compress(src.read_bytes()))
    lake = tmp_path / "lake"

    def cli(*args, **kw):
        return run([tool("ftm-lakehouse"), "--uri", lake, "-d", "eu", *args], env=s3["env"], **kw)

    cli("entities", "import", "-i", uri(f"{prefix}/in/eu.ftm.json.gz"))
    cli("entities", "iterate", "-o", uri(f"{prefix}/out/entities.json"))
    got = s3["client"].get_object(Bucket=BUCKET, Key=f"{prefix}/out/entities.json")["Body"].read()
    assert got.decode() == cli("entities", "iterate").stdout and got.count(b"\n") > 100
    proc = cli("entities", "import", "-i", uri(f"{prefix}/in/none.json"), check=False)
    assert proc.returncode == 1 and f"{prefix}/in/none.json" in proc.stderr, proc.stderr
    # a data file cut short: the iterate fails after it began its output
    for part in (lake / "eu" / "statements").rglob("*.parquet"):
        part.write_bytes(part.read_bytes()[:-100])
    proc = cli("entities", "iterate", "-o", uri(f"{prefix}/out/bad.json"), check=False)
    assert proc.returncode != 0 and ".parquet" in proc.stderr, proc.stderr
    assert all_keys(s3, f"{prefix}/out/") == [f"{prefix}/out/entities.json"]


def test_failed_upload_leaves_no_output_on_s3(s3, tmp_path):
    """An -o s3:// output whose part upload fails midway is not stored.
    glibc's stdio takes a failed direct write of a large block as written,
    so the command went on; the object was then completed from what the
    writer held (bytes lost or twice) while the command exited 1."""
    import urllib.request

    src = tmp_path / "big.json"
    src.write_text("".join(json.dumps({"id": f"e{i:05d}", "schema": "Person",
                                       "properties": {"name": [f"n{i}" + "y" * 4000]}}) + "\n"
                           for i in range(1100)))
    lake = tmp_path / "lake"
    env = dict(s3["env"], LH_S3_MAX_ATTEMPTS="1")

    def cli(*args, **kw):
        return run([tool("ftm-lakehouse"), "--uri", lake, "-d", "d", *args], env=env, **kw)

    cli("entities", "import", "-i", src)
    assert len(cli("entities", "iterate").stdout) > 8 << 20  # past the first part
    prefix = f"fail-{uuid.uuid4().hex[:8]}"
    urllib.request.urlopen(urllib.request.Request(
        s3["endpoint"] + "/__lh_fault__?count=1&status=503&code=SlowDown&method=PUT", method="POST"))
    proc = cli("entities", "iterate", "-o", uri(f"{prefix}/e.json"), check=False)
    assert proc.returncode == 1 and "SlowDown" in proc.stderr, proc.stderr
    assert all_keys(s3, f"{prefix}/") == []
    # and with no fault, the whole of it
    cli("entities", "iterate", "-o", uri(f"{prefix}/e.json"))
    got = s3["client"].get_object(Bucket=BUCKET, Key=f"{prefix}/e.json")["Body"].read()
    assert got.decode() == cli("entities", "iterate").stdout


def test_make_on_s3(s3, tmp_path):
    """`make` on S3 writes what it writes locally: the diff of a second make,
    index.json with its resources (checksums of the objects) and versioned
    snapshots; `datasets` names the S3 location."""
    import hashlib

    from conftest import SHARED_DATA

    lake = uri("makelake")
    env = dict(s3["env"], LAKEHOUSE_JOURNAL_URI=f"sqlite:///{tmp_path}/ours.db",
               LAKEHOUSE_PUBLIC_URL_PREFIX="https://pub.example.org/${dataset}")
    # entities without first_seen of their own: imported now, so in the diff window
    lines = (SHARED_DATA / "eu_authorities.ftm.json").read_text().splitlines()
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    first.write_text("\n".join(lines[:100]) + "\n")
    second.write_text("\n".join(lines[100:]) + "\n")

    def ours(*args):
        return run([tool("ftm-lakehouse"), "--uri", lake, "-d", "zala", *args], env=env)

    def get(key):
        return s3["client"].get_object(Bucket=BUCKET, Key=f"makelake/zala/{key}")["Body"].read()

    ours("entities", "import", "-i", first)
    ours("make")
    ours("entities", "import", "-i", second)
    assert "wrote index.json" in ours("make").stderr
    keys = all_keys(s3, "makelake/zala/")
    diffs = [k for k in keys if k.startswith("makelake/zala/diffs/entities.ftm.json/")]
    assert len(diffs) == 1 and diffs[0].endswith(".delta.json")
    total = len(ours("entities", "iterate", "-o", "-").stdout.splitlines())
    added = {json.loads(x)["entity"]["id"] for x in get(diffs[0][len("makelake/zala/"):]).splitlines()}
    assert len(added) == 51 and total == 151
    index = json.loads(get("index.json"))
    assert index["uri"] == f"{lake}/zala" and index["entity_count"] == total
    for res in index["resources"]:
        data = get(res["url"].removeprefix("https://pub.example.org/zala/"))
        assert res["checksum"] == hashlib.sha256(data).hexdigest() and res["size"] == len(data)
    assert [r["name"] for r in index["resources"]] == [
        "statements.csv", "entities.ftm.json", "parents.csv", "documents.csv",
        "documents.crawl.csv", "statistics.json"]
    snapshots = [k for k in keys if k.startswith("makelake/zala/versions/")]
    assert sum(k.endswith("/index.json") for k in snapshots) == 2
    model = json.loads(run([tool("ftm-lakehouse"), "--uri", lake, "datasets"], env=env).stdout)
    assert model["name"] == "zala" and model["uri"] == f"{lake}/zala"
    # compressed exports on S3: through the multipart writer, streamed back
    from backports import zstd
    (tmp_path / "z.yml").write_text("compression: zstd\n")
    ours("configure", "-c", tmp_path / "z.yml")
    ours("export", "--force")
    packed = zstd.decompress(get("entities.ftm.json.zst")).decode()
    assert packed == ours("entities", "stream").stdout and len(packed.splitlines()) == total
    runs = [k for k in all_keys(s3, "makelake/zala/jobs/runs/ExportJob/")]
    assert len(runs) == 3 and all(k.endswith(".json") for k in runs)


def test_export_stamped_with_its_start(s3, tmp_path):
    """An import commits while `export` reads: the fixture holds the
    export's reads of data files (after its snapshot) while the import goes
    in. The export's freshness tags are the time it started reading, as the
    reference stamps them, so the next `export` finds it stale and writes the
    new entity; stamped when it ended (as before), the exports were taken
    for fresh and stayed without it."""
    lake, env, ours = race_lake(s3, tmp_path, "exportrace")
    first, second = tmp_path / "first.ftm.json", tmp_path / "second.ftm.json"
    first.write_text(person("e1", "Ann"))
    second.write_text(person("e2", "Bob"))
    ours("entities", "import", "-i", first)
    ours("export")
    rc, _, err = while_held(s3, lake, env, ["export", "--force"],
                            lambda: ours("entities", "import", "-i", second))
    assert rc == 0, err
    ours("export")

    prefix = lake[len(f"s3://{BUCKET}/"):]

    def get(key):
        obj = s3["client"].get_object(Bucket=BUCKET, Key=f"{prefix}/race/{key}")
        return obj["Body"].read().decode()

    ids = {json.loads(line)["id"] for line in get("entities.ftm.json").splitlines()}
    assert ids == {"e1", "e2"}
    rows = get("exports/statements.csv").splitlines()[1:]
    assert {row.split(",")[1].strip('"') for row in rows} == {"e1", "e2"}
    assert json.loads(get("exports/statistics.json"))["entity_count"] == 2


def test_check_while_optimize_vacuums(s3, tmp_path):
    """`maintenance check` races an `optimize`: the fixture holds the
    check's first read of a data file while optimize merges the partition
    and vacuums the files the check's version lists. Those files were
    removed by a newer version, not lost: check stays healthy and says so
    in a note; before, it named each as a missing file and exited 5 (corrupt)."""
    lake, env, ours = race_lake(s3, tmp_path, "checkrace")
    for i in range(3):
        batch = tmp_path / f"batch{i}.ftm.json"
        batch.write_text(person(f"e{i}", f"P{i}"))
        ours("entities", "import", "-i", batch)

    def optimize():
        res = ours("maintenance", "optimize")
        assert "3 file(s) deleted" in res.stderr, res.stderr

    rc, out, err = while_held(s3, lake, env, ["maintenance", "check"], optimize, count=1)
    assert rc == 0, out + err
    assert "missing-file" not in out
    assert re.search(r"3 file\(s\) of version \d+ were removed by version \d+", out), out
    ours("maintenance", "check")


def test_make_without_a_journal_on_s3(s3, tmp_path):
    """An S3 lake has no journal unless LAKEHOUSE_JOURNAL_URI names one
    (the reference's default journal is in memory): `make` and `export`
    have nothing to flush and go on, as merge and optimize do. They
    failed (exit 3) asking for the setting."""
    from conftest import SHARED_DATA

    lake = uri("nojournal")
    env = {k: v for k, v in s3["env"].items() if k != "LAKEHOUSE_JOURNAL_URI"}
    src = tmp_path / "in.json"
    src.write_text("\n".join((SHARED_DATA / "eu_authorities.ftm.json").read_text().splitlines()[:20]) + "\n")

    def ours(*args, **kw):
        return run([tool("ftm-lakehouse"), "--uri", lake, "-d", "nj", *args], env=env, **kw)

    ours("entities", "import", "-i", src)
    assert "wrote index.json" in ours("make").stderr
    ours("export", "--force")
    assert "nojournal/nj/index.json" in all_keys(s3, "nojournal/nj/")
    # an explicit journal operation still says what is missing
    proc = ours("maintenance", "flush", check=False)
    assert proc.returncode == 3 and "LAKEHOUSE_JOURNAL_URI" in proc.stderr
