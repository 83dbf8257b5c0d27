#!/usr/bin/env bash
# Benchmark: retail and clickstream at 1x, 10x, 30x and 100x (`--scale K`;
# retail: the smoothie shop at 2,000 transactions a day for a year;
# clickstream: the shipped scenario over 90 days without its [disorder]
# section, then with it: deliveries and truth), one run each: wall time,
# rows/s of the largest table, peak RSS; then `verify` of each 10x dataset.
# Not a test: nothing is asserted.
#   bash bench/scale-kinds.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh

python3 - "$out/clickstream.toml" <<'PY'
import re, sys
text = open("scenarios/clickstream.toml").read()
open(sys.argv[1], "w").write(re.sub(r"\n\[disorder\.[^\n]*\n(?:[^\[\n][^\n]*\n|\n)*", "\n", text))
PY
grep -q '^\[disorder' "$out/clickstream.toml" && { echo "the clickstream copy still has its disorder" >&2; exit 1; }

# one LABEL TABLE K SCENARIO ARGS...: one generate at --scale K into $out/K.
one() {
  local label=$1 table=$2 k=$3 scenario=$4; shift 4
  rm -rf "$out/$k"
  /usr/bin/time -f "%e %M" -o "$out/time" "$bin" generate "$scenario" -q --out "$out/$k" --scale "$k" "$@" >/dev/null
  read -r wall kb <"$out/time"
  rows=$(python3 -c "import json; print(json.load(open('$out/$k/manifest.json'))['tables']['$table'])")
  printf '%-12s %4sx  %11d %s  wall %6.2f s  %5.2f M rows/s  peak RSS %4.0f MB\n' \
    "$label" "$k" "$rows" "$table" "$wall" "$(echo "$rows / $wall / 1000000" | bc -l)" "$(echo "$kb / 1024" | bc -l)"
}

# kind LABEL TABLE SCENARIO ARGS...: the four scales, then verify of 10x.
kind() {
  local label=$1 table=$2; shift 2
  for k in 1 10 30 100; do
    one "$label" "$table" "$k" "$@"
    [ "$k" = 10 ] && mv "$out/10" "$out/verify-10x"
    rm -rf "$out/$k"
  done
  /usr/bin/time -f "%e %M" -o "$out/time" "$bin" verify "$out/verify-10x" >/dev/null
  read -r wall kb <"$out/time"
  printf '%-12s  10x  verify wall %6.2f s  peak RSS %4.0f MB\n' "$label" "$wall" "$(echo "$kb / 1024" | bc -l)"
  rm -rf "$out/verify-10x"
}

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
kind retail purchases scenarios/smoothie.toml --set demand.transactions_per_day=2000 --set time.days=366
kind clickstream events "$out/clickstream.toml" --set time.days=90
kind disordered events scenarios/clickstream.toml --set time.days=90
