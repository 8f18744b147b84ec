#!/usr/bin/env bash
# The prepared GPU check (docs/gpu.md), for a machine with nvcc, python3 with a CUDA
# torch 2.x, cmake and ninja; no Bazel, internet or Debian -dev packages needed.
#  1. Builds tools/gpu/CMakeLists.txt (the fused CPU loops, the CUDA kernels and
#     gpu_kernels_check) against the pip torch's CUDA LibTorch.
#  2. gpu_kernels_check: CUDA kernels against the CPU loops on random stacks, bit for bit,
#     then the optimizer microbenchmark (our smoothed AdamW step vs torch::optim::AdamW vs
#     a copy of the same bytes).
#  3. Where Bazel is present too (and the torch uses the cxx11 ABI): the optimizer tests
#     and a smoke run of each task with --device=cuda (AdamW and Muon, with window
#     smoothing), built with GS_LIBTORCH=<that torch> --config=cuda. Without Bazel these
#     are left out: they need Abseil, GoogleTest and nlohmann-json, which are not carried.
# Usage: tools/gpu_check.sh [build dir]    (under 10 minutes on one GPU)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-"$root/build-gpu"}
say() { printf 'gpu_check: %s\n' "$*"; }
die() { printf 'gpu_check: error: %s\n' "$*" >&2; exit 1; }
start=$(date +%s)

for tool in python3 cmake ninja nvcc; do
  command -v "$tool" >/dev/null || die "$tool not found on PATH"
done
read -r torch_dir prefix cuda abi version < <(python3 -c '
import os, torch
print(os.path.dirname(torch.__file__), torch.utils.cmake_prefix_path, torch.version.cuda,
      int(torch.compiled_with_cxx11_abi()), torch.__version__)') || die "python3 cannot import torch"
[ "$cuda" != "None" ] || die "torch $version has no CUDA"
say "torch $version (CUDA $cuda, cxx11 ABI $abi) in $torch_dir; $(nvcc --version | tail -n 1)"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | sed 's/^/gpu_check: GPU: /' || true

say "building tools/gpu into $build"
cmake -S "$root/tools/gpu" -B "$build" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_CUDA_COMPILER="$(command -v nvcc)" ${GS_CUDA_ARCHS:+-DGS_CUDA_ARCHS=$GS_CUDA_ARCHS} >"$build.cmake.log" 2>&1 \
  || { tail -n 30 "$build.cmake.log" >&2; die "cmake configure failed (log: $build.cmake.log)"; }
ninja -C "$build" >"$build.ninja.log" 2>&1 || { tail -n 30 "$build.ninja.log" >&2; die "build failed (log: $build.ninja.log)"; }

say "CUDA kernels vs CPU loops, and the optimizer microbenchmark"
status=0
"$build/gpu_kernels_check" || status=$?
[ "$status" -ne 77 ] || die "no usable CUDA device"
[ "$status" -eq 0 ] || die "CUDA kernels differ from the CPU loops"

if command -v bazel >/dev/null && [ "$abi" = 1 ]; then
  export GS_LIBTORCH="$torch_dir"
  cd "$root"
  say "optimizer tests against $GS_LIBTORCH (--config=cuda)"
  bazel test --config=cuda //tests/optimizers/...
  for task in lm_pretrain rl_reasoning diffusion vit_classification; do
    for optimizer in adamw muon; do
      out=$(mktemp -d)
      bazel run --config=cuda "//tasks:$task" -- --preset=smoke --device=cuda \
        --optimizer="$optimizer" --smoothing=window --out="$out" >/dev/null \
        || die "$task --optimizer=$optimizer --device=cuda failed"
      say "$task $optimizer window on cuda: $(python3 -c "import json,sys; print(json.load(open('$out/run.json'))['final'])")"
      rm -rf "$out"
    done
  done
else
  say "left out: optimizer tests and task smoke runs (need Bazel with Abseil, GoogleTest and nlohmann-json, and a cxx11-ABI torch)"
fi
say "passed in $(( $(date +%s) - start )) s"
