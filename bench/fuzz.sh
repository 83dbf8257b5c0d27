#!/usr/bin/env bash
# Fuzzing at depth: the fuzz suite (tests/fuzz.rs) with a million mutated
# inputs per target (scenario + --set, CSV tables, OSM PBF, OSM XML, manifest,
# checkpoint), reporting inputs, accepted, refused and panics per target.
# Built with --profile ci, so an arithmetic overflow panics and counts.
# Output also goes to bench/results/fuzz-<date>.txt. Not part of the test run.
#   bash bench/fuzz.sh [inputs per target]
set -euo pipefail
cd "$(dirname "$0")/.."
inputs=${1:-1000000}
out=bench/results/fuzz-$(date +%Y-%m-%d).txt
{
  echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
  echo "simkit $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $inputs inputs per target"
  start=$(date +%s)
  SIMKIT_FUZZ_INPUTS=$inputs cargo test --profile ci --quiet --test fuzz -- --nocapture 2>&1 | grep -a -E "fuzz [a-z]+:|test result"
  echo "took $(( $(date +%s) - start )) s"
} | tee "$out"
