#!/usr/bin/env bash
# Benchmark: the canonical scenario at 1x, 10x, 30x and 100x its volume
# (`--scale K`, synthetic roads): median wall time, events/s, MB/s written
# and peak RSS of N runs (default 3; the 100x line runs once unless
# SCALE_RUNS_100 is set), then the 1- vs 2-thread speed-up at 10x. Not a
# test: nothing is asserted.
#   bash bench/scale.sh [runs]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
source bench/lib.sh

# run N ARGS...: prints "wall peak_kb" medians of N runs of generate ARGS.
run() {
  local n=$1; shift
  local walls=() rss=()
  for _ in $(seq "$n"); do
    /usr/bin/time -f "%e %M" -o "$out/time" "$bin" generate scenarios/caspers.toml -q --out "$out/ds" "$@" >/dev/null
    read -r wall kb <"$out/time"
    walls+=("$wall"); rss+=("$kb")
  done
  echo "$(printf '%s\n' "${walls[@]}" | median) $(printf '%s\n' "${rss[@]}" | median) ${walls[*]}"
}

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
for k in 1 10 30 100; do
  n=$runs
  [ "$k" = 100 ] && n=${SCALE_RUNS_100:-1}
  read -r wall kb all < <(run "$n" --scale "$k")
  events=$(python3 -c "import json; print(json.load(open('$out/ds/manifest.json'))['tables']['events'])")
  mb=$(du -sm --apparent-size "$out/ds" | cut -f1)
  printf 'scale %3sx  %11d events  median wall %6.2f s  %5.2f M events/s  %6.1f MB/s written (%d MB)  peak RSS %4.0f MB  (runs: %s)\n' \
    "$k" "$events" "$wall" "$(echo "$events / $wall / 1000000" | bc -l)" "$(echo "$mb / $wall" | bc -l)" "$mb" \
    "$(echo "$kb / 1024" | bc -l)" "$all"
done
read -r one _ _ < <(run "$runs" --scale 10 --threads 1)
read -r two _ _ < <(run "$runs" --scale 10 --threads 2)
printf 'scale  10x  1 thread %.2f s, 2 threads %.2f s: speed-up %.2fx\n' "$one" "$two" "$(echo "$one / $two" | bc -l)"
