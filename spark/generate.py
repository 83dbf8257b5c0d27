#!/usr/bin/env python3
"""Generate one simkit dataset on Spark: the N shards of a run as N tasks.

    spark-submit [--files simkit,scenario.toml] spark/generate.py SCENARIO --shards N --out DIR \
        [--simkit PATH] [--master URL] [-- extra generate args]
    python spark/generate.py ...          (pyspark from PyPI; --master defaults to local[*])

Each task runs `simkit generate SCENARIO --shard i/N` into DIR.shards/shard-0000i (the binary
given with --simkit, shipped with --files, or found on PATH; likewise the scenario). The driver
then runs `simkit merge` into DIR and `simkit verify` on it, and removes DIR.shards. DIR and
DIR.shards must be one folder every executor and the driver see (a local path with local[N], a
shared mount on a cluster). Shards are independent, so a failed task is simply retried by
Spark; the merged dataset is byte for byte the run generated in one piece. A failed run
removes the DIR.shards it created, and DIR is only ever replaced whole by `simkit merge`.
Exit 0 on success, 2 with a message on a bad argument or a failed step.
"""

import argparse
import os
import shutil
import subprocess
import sys


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
    out = os.path.abspath(args.out)
    shards_dir = out + ".shards"
    n, scenario, simkit = args.shards, args.scenario, args.simkit

    def shard(i):
        binary, toml = locate(simkit, "simkit"), locate(scenario, os.path.basename(scenario))
        dest = os.path.join(shards_dir, f"shard-{i:05d}")
        run([binary, "generate", toml, "--shard", f"{i}/{n}", "--out", dest, "-q", *extra])
        return dest

    created = not os.path.exists(shards_dir)
    failure = None
    try:
        os.makedirs(shards_dir, exist_ok=True)
        dirs = spark.sparkContext.parallelize(range(1, n + 1), n).map(shard).collect()
        binary = locate(simkit, "simkit")
        run([binary, "merge", *dirs, "--out", out, "-q"])
        report = run([binary, "verify", out])
        shutil.rmtree(shards_dir, ignore_errors=True)
    except Exception as e:  # a task's or a step's failure, in one line
        failure = one_line(e)
        if created:  # nothing of a failed run is left behind
            shutil.rmtree(shards_dir, ignore_errors=True)
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
