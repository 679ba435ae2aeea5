"""Apache Spark with Delta Lake (delta-spark) as an oracle: a reader of our
tables and a second writer on them.

Spark lives in .spark (scripts/setup, pip --target) and runs in a process of
its own: one JVM per call of `session`, which runs a list of operations and
returns one result per operation. Starting Spark costs seconds, so a test
batches what it asks. Timestamps cross as epoch microseconds (exact, no
time zone rules involved)."""
import json
import os
import subprocess
import sys
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

LIB = Path(__file__).resolve().parents[2] / ".spark"
TIMESTAMPS = ("first_seen", "last_seen", "deleted_at")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)

_SCRIPT = r"""
import json, sys
from pyspark.sql import SparkSession, functions as F
from delta import configure_spark_with_delta_pip

ops_file, ivy = sys.argv[1:3]
builder = (SparkSession.builder.master("local[2]").appName("lh-interop")
           .config("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension")
           .config("spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog")
           .config("spark.jars.ivy", ivy)
           .config("spark.ui.enabled", "false")
           .config("spark.sql.session.timeZone", "UTC")
           .config("spark.sql.shuffle.partitions", "2")
           .config("spark.databricks.delta.retentionDurationCheck.enabled", "false"))
spark = configure_spark_with_delta_pip(builder).getOrCreate()
spark.sparkContext.setLogLevel("ERROR")

def rows_of(df):
    cols = [F.unix_micros(f.name).alias(f.name) if f.dataType.typeName() == "timestamp" else F.col(f.name)
            for f in df.schema.fields]
    return [r.asDict() for r in df.select(*cols).collect()]

def table(path):
    return "delta.`%s`" % path.replace("`", "``")

results = []
for op in json.load(open(ops_file)):
    kind, path = op["op"], op.get("path")
    if kind == "read":
        reader = spark.read.format("delta")
        if op.get("version") is not None:
            reader = reader.option("versionAsOf", op["version"])
        df = reader.load(path)
        results.append({"schema": [[f.name, f.dataType.simpleString(), f.nullable] for f in df.schema.fields],
                        "rows": rows_of(df)})
    elif kind == "append":
        # rows as JSON lines with timestamps in epoch microseconds, cast to
        # the table's own schema (column order and types)
        target = spark.read.format("delta").load(path).schema
        df = spark.read.json(op["rows_file"])
        cols = []
        for f in target.fields:
            c = F.col(f.name) if f.name in df.columns else F.lit(None)
            if f.dataType.typeName() == "timestamp":
                c = F.timestamp_micros(c.cast("long"))
            cols.append(c.cast(f.dataType).alias(f.name))
        df.select(*cols).write.format("delta").mode("append").save(path)
        results.append(None)
    elif kind == "conf":
        spark.conf.set(op["key"], op["value"])
        results.append(None)
    elif kind == "sql":
        results.append([r.asDict(recursive=True) for r in spark.sql(op["query"].replace("{table}", table(path))).collect()])
    else:
        raise SystemExit("unknown op %r" % kind)
print("\n" + json.dumps(results, default=str))
"""


def _from_json_row(row):
    for key in TIMESTAMPS:
        if row.get(key) is not None:
            row[key] = _EPOCH + timedelta(microseconds=row[key])
    return row


def start(ops):
    """Start a Spark process running ops (dicts: read / append / conf / sql,
    see _SCRIPT); `finish` waits for it. Read results come back as
    {"schema", "rows"} with UTC datetimes."""
    if not (LIB / "pyspark").is_dir():
        raise RuntimeError(f"{LIB} is missing: run scripts/setup")
    tmp = tempfile.TemporaryDirectory()
    ops_file = Path(tmp.name) / "ops.json"
    ops_file.write_text(json.dumps(ops))
    env = dict(os.environ, PYTHONPATH=str(LIB), PYSPARK_PYTHON=sys.executable, SPARK_LOCAL_IP="127.0.0.1")
    env.pop("SPARK_HOME", None)
    # cwd: where Spark leaves its spark-warehouse/ and metastore debris
    proc = subprocess.Popen([sys.executable, "-c", _SCRIPT, str(ops_file), str(LIB / "ivy")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            cwd=tmp.name)
    return proc, ops, tmp


def finish(started):
    proc, ops, tmp = started
    with tmp:
        try:
            out, err = proc.communicate(timeout=900)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    if proc.returncode:
        raise RuntimeError(f"spark failed ({proc.returncode}): {err.strip()[-3000:]}")
    results = json.loads(out.strip().splitlines()[-1])
    for op, result in zip(ops, results):
        if op["op"] == "read":
            result["rows"] = [_from_json_row(r) for r in result["rows"]]
    return results


def session(ops):
    """Run ops in one Spark process and return their results (`start`)."""
    return finish(start(ops))


def write_rows(path: Path, rows):
    """rows (dicts with datetime timestamps) as the JSON lines `append` reads."""
    with open(path, "w") as fh:
        for row in rows:
            out = dict(row)
            for key in TIMESTAMPS:
                if isinstance(out.get(key), datetime):
                    out[key] = (out[key] - _EPOCH) // timedelta(microseconds=1)
            fh.write(json.dumps(out) + "\n")


if __name__ == "__main__":  # scripts/setup: start Spark once, fetching its jars
    session([])
