#!/usr/bin/env bash
# Benchmark: the full 90-day canonical scenario, on synthetic roads and with
# San Francisco on the real sf-north extract, and one line per other kind
# (retail: 2,000 transactions a day for a year; weather: 200 stations over 25
# years; clickstream: 90 days of the shipped scenario; the canonical scenario with disorder on its events). Prints the median wall time, rows/s of the largest table, CPU time
# (user + sys: steadier than wall on a shared machine) and peak RSS of N runs
# (default 5). Not a test: nothing is asserted.
#   bash bench/generate.sh [runs]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
osm_dir=${SIMKIT_OSM_DIR:-}
source bench/lib.sh

# bench LABEL SCENARIO TABLE [generate args...]
bench() {
  local label=$1 scenario=$2 table=$3; shift 3
  local walls=() cpus=() rss=() events=0
  for _ in $(seq "$runs"); do
    /usr/bin/time -f "%e %M %U %S" -o "$out/time" "$bin" generate "$scenario" -q --out "$out/ds" "$@" >/dev/null
    read -r wall kb user sys <"$out/time"
    walls+=("$wall"); rss+=("$kb"); cpus+=("$(echo "$user + $sys" | bc -l)")
  done
  events=$(python3 -c "import json,sys; print(json.load(open('$out/ds/manifest.json'))['tables']['$table'])")
  local w c r
  w=$(printf '%s\n' "${walls[@]}" | median)
  c=$(printf '%s\n' "${cpus[@]}" | median)
  r=$(printf '%s\n' "${rss[@]}" | median)
  printf '%-30s median wall %6.2f s  %9.0f %s/s  CPU %5.2f s  peak RSS %5.0f MB  (%d %s, runs: %s)\n' \
    "$label" "$w" "$(echo "$events / $w" | bc -l)" "$table" "$c" "$(echo "$r / 1024" | bc -l)" "$events" "$table" "${walls[*]}"
}

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
bench "canonical, synthetic roads" scenarios/caspers.toml events
if [ -n "$osm_dir" ] && [ -f "$osm_dir/sf-north.osm.pbf" ]; then
  bench "canonical, SF on sf-north" scenarios/caspers.toml events --osm "sf=$osm_dir/sf-north.osm.pbf"
else
  echo "skipped SF on sf-north: set SIMKIT_OSM_DIR to the folder of sf-north.osm.pbf"
fi
bench "canonical, synthetic, 1 thread" scenarios/caspers.toml events --threads 1
bench "retail, 2,000 tx/day x 1 y" scenarios/smoothie.toml purchases --set demand.transactions_per_day=2000 --set time.days=366
bench "weather, 200 stations x 25 y" scenarios/weather.toml reports --set stations.count=200 --set time.days=9132
bench "clickstream, 90 days" scenarios/clickstream.toml events --set time.days=90
# The canonical scenario with the reference's disorder on its events (late, lag, duplicates) and the truth.
bench "canonical + disorder" scenarios/caspers.toml events \
  --set disorder.events.out_of_order_s=300 --set disorder.events.late.share=0.1 \
  --set disorder.events.late.delay_s.uniform.min=300 --set disorder.events.late.delay_s.uniform.max=1800 \
  --set disorder.events.duplicates.share=0.01 --set disorder.events.duplicates.delay_s.constant.value=60
