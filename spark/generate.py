#!/usr/bin/env python3
"""Generate one simkit dataset on Spark: the N shards of a run as N tasks.

    spark-submit [--files simkit,scenario.toml] spark/generate.py SCENARIO --shards N --out DIR \
        [--simkit PATH] [--master URL] [-- extra generate args]
    python spark/generate.py ...          (pyspark from PyPI; --master defaults to local[*])

Each task runs `simkit generate SCENARIO --shard i/N` (the binary given with --simkit, shipped
with --files, or found on PATH; likewise the scenario). Shards are independent, so a failed task
is simply retried by Spark; the merged dataset is byte for byte the run generated in one piece.
Exit 0 on success, 2 with a message on a bad argument or a failed step.

DIR is a path or a Hadoop filesystem URI:
- a path every executor and the driver see (local with local[N], a shared mount on a cluster):
  each task writes DIR.shards/shard-0000i, the driver runs `simkit merge` into DIR and `simkit
  verify` on it, and removes DIR.shards;
- a URI (hdfs://, s3a://, abfss://, file://, ... any filesystem Spark's Hadoop configuration
  reaches): each task writes its shard in a local temporary folder and hands its files to Spark
  in chunks, kept on the executors' disks; the driver fetches them a shard at a time, merges and
  verifies locally, copies the dataset beside DIR and renames it into place.
A failed run leaves nothing it created behind. DIR is only ever replaced whole, and only when it
holds a simkit dataset (a manifest.json).
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import uuid

# Bytes of a shard's file in one record handed to Spark.
CHUNK = 8 << 20


def parse(argv):
    extra = []
    if "--" in argv:
        at = argv.index("--")
        argv, extra = argv[:at], argv[at + 1:]
    p = argparse.ArgumentParser(prog="spark/generate.py", description=__doc__.splitlines()[0])
    p.add_argument("scenario", help="the scenario TOML file")
    p.add_argument("--shards", type=int, required=True, help="N: shards, one Spark task each")
    p.add_argument("--out", required=True, help="the dataset folder to write")
    p.add_argument("--simkit", help="the simkit binary (default: shipped with --files, else on PATH)")
    p.add_argument("--master", help="Spark master URL (default: spark-submit's, else local[*])")
    args = p.parse_args(argv)
    if args.shards < 1:
        p.error(f"--shards {args.shards}: expected at least 1")
    return args, extra


def locate(given, name):
    """A file on this machine: the path given, a file shipped with --files, or one on PATH."""
    from pyspark import SparkFiles

    for candidate in [given, os.path.join(SparkFiles.getRootDirectory(), os.path.basename(given or name))]:
        if candidate and os.path.exists(candidate):
            return os.path.abspath(candidate)
    found = shutil.which(name)
    if found:
        return found
    raise RuntimeError(f"{given or name}: not found here (give a path every executor sees, or ship it with --files)")


def run(cmd):
    """Runs a simkit command; its stderr becomes the error."""
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: {done.stderr.strip() or 'exit ' + str(done.returncode)}")
    return done.stdout


def one_line(e):
    """The message of a failure, also from inside a Spark task's Java trace."""
    text = str(e)
    for line in text.splitlines():
        if "RuntimeError: " in line:
            return line.split("RuntimeError: ", 1)[1].strip()
    return (text.strip().splitlines() or [repr(e)])[0]


def shard_files(simkit, scenario, n, extra):
    """The task of shard i for a URI DIR: (i, file, offset, bytes) records of its files."""

    def task(i):
        binary, toml = locate(simkit, "simkit"), locate(scenario, os.path.basename(scenario))
        local = tempfile.mkdtemp(prefix=f"simkit-shard-{i:05d}-")
        try:
            root = os.path.join(local, "shard")
            run([binary, "generate", toml, "--shard", f"{i}/{n}", "--out", root, "-q", *extra])
            for folder, _, files in os.walk(root):
                for name in sorted(files):
                    path = os.path.join(folder, name)
                    with open(path, "rb") as f:
                        offset, data = 0, f.read(CHUNK)
                        yield (i, os.path.relpath(path, root), offset, data)
                        while len(data) == CHUNK:
                            offset, data = offset + len(data), f.read(CHUNK)
                            if data:
                                yield (i, os.path.relpath(path, root), offset, data)
        finally:
            shutil.rmtree(local, ignore_errors=True)

    return task


def hadoop_fs(spark, uri):
    """The Hadoop filesystem of `uri` and its Path class, checksum files off."""
    jvm = spark.sparkContext._jvm
    path = jvm.org.apache.hadoop.fs.Path(uri)
    fs = path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    fs.setWriteChecksum(False)
    return fs, jvm.org.apache.hadoop.fs.Path


def generate_to_uri(spark, args, extra):
    """The run into a Hadoop filesystem URI; returns verify's report."""
    from pyspark import StorageLevel

    out, n = args.out.rstrip("/"), args.shards
    fs, Path = hadoop_fs(spark, out)
    target = Path(out)
    if fs.exists(target) and not fs.exists(Path(out + "/manifest.json")):
        raise RuntimeError(f"{out}: exists and is not a simkit dataset (no manifest.json); it is left as it is")
    staging = tempfile.mkdtemp(prefix="simkit-spark-")
    partial = Path(f"{out}.partial-{uuid.uuid4().hex[:12]}")
    try:
        task = shard_files(args.simkit, args.scenario, n, extra)
        chunks = spark.sparkContext.parallelize(range(1, n + 1), n).flatMap(task)
        chunks.persist(StorageLevel.DISK_ONLY).count()  # every shard at once, kept by Spark
        for i, name, offset, data in chunks.toLocalIterator():
            path = os.path.join(staging, f"shard-{i:05d}", name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "r+b" if offset else "wb") as f:
                f.seek(offset)
                f.write(data)
        chunks.unpersist()
        binary, ds = locate(args.simkit, "simkit"), os.path.join(staging, "dataset")
        dirs = [os.path.join(staging, f"shard-{i:05d}") for i in range(1, n + 1)]
        run([binary, "merge", *dirs, "--out", ds, "-q"])
        report = run([binary, "verify", ds])
        fs.copyFromLocalFile(False, True, Path("file://" + ds), partial)
        if fs.exists(target):
            fs.delete(target, True)
        if not fs.rename(partial, target):
            raise RuntimeError(f"{out}: cannot rename {partial.toString()} into place")
        return report.replace(ds, out)
    finally:
        if fs.exists(partial):
            fs.delete(partial, True)
        shutil.rmtree(staging, ignore_errors=True)


def generate_to_path(spark, args, extra):
    """The run into a folder every executor sees; returns verify's report."""
    out = os.path.abspath(args.out)
    shards_dir = out + ".shards"
    n, scenario, simkit = args.shards, args.scenario, args.simkit

    def shard(i):
        binary, toml = locate(simkit, "simkit"), locate(scenario, os.path.basename(scenario))
        dest = os.path.join(shards_dir, f"shard-{i:05d}")
        run([binary, "generate", toml, "--shard", f"{i}/{n}", "--out", dest, "-q", *extra])
        return dest

    created = not os.path.exists(shards_dir)
    try:
        os.makedirs(shards_dir, exist_ok=True)
        dirs = spark.sparkContext.parallelize(range(1, n + 1), n).map(shard).collect()
        binary = locate(simkit, "simkit")
        run([binary, "merge", *dirs, "--out", out, "-q"])
        report = run([binary, "verify", out])
        shutil.rmtree(shards_dir, ignore_errors=True)
        return report
    except Exception:
        if created:  # nothing of a failed run is left behind
            shutil.rmtree(shards_dir, ignore_errors=True)
        raise


def main(argv):
    args, extra = parse(argv)
    try:
        from pyspark.sql import SparkSession
    except ImportError as e:
        print(f"spark/generate.py: {e} (pip install pyspark)", file=sys.stderr)
        return 2
    builder = SparkSession.builder.appName("simkit generate")
    if args.master:  # else spark-submit's, or local[*] under plain python
        builder = builder.master(args.master)
    spark = builder.config("spark.ui.showConsoleProgress", "false").getOrCreate()
    failure = None
    try:
        generate = generate_to_uri if "://" in args.out else generate_to_path
        report = generate(spark, args, extra)
    except Exception as e:  # a task's or a step's failure, in one line
        failure = one_line(e)
    finally:
        # Stopped before the last line, so Spark's logs of tasks still
        # running end before it: the outcome is the last line printed.
        spark.stop()
    if failure is not None:
        print(f"spark/generate.py: {failure}", file=sys.stderr)
        return 2
    print(report, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
