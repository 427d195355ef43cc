#!/usr/bin/env bash
# One-run check of the CUDA backend on a GPU machine (no Go, no network).
#
# On the build machine: `make gpucheck` (test and benchmark binaries, the
# small real models) and carry .gpucheck/ with the tree. On the GPU
# machine, from the repository root:
#
#   bash scripts/gpu_check.sh
#
# Steps (each independent, each under a timeout, about 5 minutes in all):
#   1. the driver layer's GPU tests;
#   2. every kernel against the CPU Reference (exact parts bit for bit);
#   3. the model on the GPU: greedy generation of the real models identical
#      to the CPU engine's and to the golden texts, prefill logits, the
#      on-device greedy loop, the DeviceAwareQuantizer and its CPU fallback;
#   4. the package's plain unit tests (PTX embedded and current, layout);
#   5. the PyTorch bf16 baseline (scripts/torch_baseline.py);
#   6. gpubench: bandwidth, kernel timings with the ratios to PyTorch, and
#      end to end on a random 2B-4T model (load, pp128/pp512, tg128, byte
#      floor, GPU = CPU greedy tokens).
# Everything goes to stdout and to $OUT/gpu_report.txt (OUT defaults to
# ./gpu_out).
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT="${OUT:-$ROOT/gpu_out}"
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
REPORT="$OUT/gpu_report.txt"
: >"$REPORT"
exec > >(tee -a "$REPORT") 2>&1

G="$ROOT/.gpucheck"
export BITNET_SHARED_DIR="$G/shared" BITNET_REQUIRE_ASSETS=1
declare -A RESULT
STEPS=()

run() { # name timeout command...
	local name=$1 limit=$2
	shift 2
	STEPS+=("$name")
	echo
	echo "==== $name ($(date +%H:%M:%S), limit ${limit}s)"
	local t0=$SECONDS
	timeout -k 10 "$limit" "$@"
	local rc=$?
	RESULT[$name]="rc=$rc ($((SECONDS - t0))s)"
	echo "---- $name: ${RESULT[$name]}"
}

echo "==== machine"
date -u
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.memory --format=csv 2>&1 || true
echo "CPUs: $(nproc)"
if [ ! -x "$G/cuda.test" ] || [ ! -x "$G/gpubench" ]; then
	echo "MISSING: $G/cuda.test or $G/gpubench: run 'make gpucheck' on the build machine and carry .gpucheck"
fi

cd "$ROOT/kernels/cuda" # the test binary reads kernels.cu and ptx/ from its package folder
run "driver layer tests" 45 "$G/cuda.test" -test.v -test.count=1 -test.run 'TestGPUDriverLayer'
run "kernel parity tests" 90 "$G/cuda.test" -test.v -test.count=1 -test.run 'TestGPUKernelsMatchReference'
run "model tests" 120 "$G/cuda.test" -test.v -test.count=1 -test.run 'TestGPU' \
	-test.skip 'TestGPUDriverLayer|TestGPUKernelsMatchReference'
run "unit tests" 30 "$G/cuda.test" -test.count=1 -test.skip 'TestGPU'
cd "$ROOT"
run "PyTorch baseline" 90 python3 scripts/torch_baseline.py --json "$OUT/torch_baseline.json"
run "gpubench" 180 "$G/gpubench" -torch "$OUT/torch_baseline.json"

echo
echo "==== summary"
for s in "${STEPS[@]}"; do
	printf '%-22s %s\n' "$s" "${RESULT[$s]}"
done
echo "report: $REPORT"
