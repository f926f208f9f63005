#!/bin/bash
# The GPU checks in one go, on a machine with CUDA (CI has none): the tests marked gpu, the
# quickstart on CUDA, and every benchmark with a CUDA path. Each step has its own time limit, so
# one hang does not take the others with it. Numbers from an H200: benchmarks/NOTES.md ("GPU
# measurements"). Run from the repository root with the project installed (or on PYTHONPATH):
#   bash benchmarks/gpu_checks.sh [OUT_DIR]        # OUT_DIR (default /tmp/gpu-checks) gets the logs
set -u
out=${1:-/tmp/gpu-checks}
mkdir -p "$out"
py=${PYTHON:-python}
t0=$(date +%s)
step() { echo; echo "=== +$(( $(date +%s) - t0 ))s: $*"; }
{
  step "device"
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true
  step "tests marked gpu"
  timeout 600 "$py" -m pytest -q -p no:cacheprovider -m "gpu and not network" tests
  step "quickstart on cuda"
  timeout 600 "$py" -m harness run --out "$out/quickstart" --device cuda --no-cache
  "$py" -m harness leaderboard "$out/quickstart" --format json > "$out/quickstart.json"
  step "corruptions"
  timeout 300 "$py" benchmarks/bench_corruptions.py --device cuda --n 256 --size 224 --skip-reference
  step "throughput"
  for width in 1024 4096; do
    timeout 120 "$py" benchmarks/bench_throughput.py --device cuda --width "$width"
  done
  step "pgd and the accuracy suite against hand loops"
  timeout 120 "$py" benchmarks/bench_pgd.py --device cuda --repeats 4
  timeout 120 "$py" benchmarks/bench_accuracy_suite.py --device cuda --reps 3
  step "AutoAttack against the presets, equal batches"
  timeout 600 "$py" benchmarks/bench_autoattack.py --device cuda --threads 4 \
    --models digits-cnn-adv --batch-size 1024 --out "$out/autoattack.jsonl"
  step "done"
} 2>&1 | tee "$out/log.txt"
