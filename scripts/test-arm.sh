#!/usr/bin/env bash
# `make test-arm`: cross-compiles the op suite and the end-to-end tests for AArch64 and runs them under
# qemu-user: the op suite checks every kernel table the emulated CPU offers (NEON, dot-product, I8MM)
# against the scalar reference, plus run-time selection on CPUs with fewer features; the end-to-end
# part runs the synthetic-model tests and the Hugging Face transformers parity tests (logits and
# greedy decoding of tiny BitNet checkpoints, tests/data/hf) on each ARM table.
# Needs: g++-aarch64-linux-gnu, qemu-user, and arm64 multiarch packages:
#   dpkg --add-architecture arm64 && apt-get update && apt-get install libpcre2-dev:arm64 libgtest-dev:arm64
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${BUILD:-$root/build/arm64}"
# The multiarch arm64 loader and libc (not qemu -L /usr/aarch64-linux-gnu: mixing the cross loader with
# the multiarch libc hangs in pthread_create).
qemu=(qemu-aarch64)
for tool in aarch64-linux-gnu-g++ qemu-aarch64; do
  command -v "$tool" >/dev/null || { echo "test-arm: $tool not found (apt-get install g++-aarch64-linux-gnu qemu-user)" >&2; exit 1; }
done
if [ ! -f /usr/lib/aarch64-linux-gnu/libgtest.a ] || [ ! -f /usr/lib/aarch64-linux-gnu/libpcre2-8.a ]; then
  echo "test-arm: arm64 libraries missing: dpkg --add-architecture arm64 && apt-get update &&" \
       "apt-get install libpcre2-dev:arm64 libgtest-dev:arm64" >&2
  exit 1
fi
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_TOOLCHAIN_FILE="$root/cmake/toolchain-aarch64.cmake" -DBITNET_BUILD_BENCH=OFF >/dev/null
ninja -C "$build" -j"${JOBS:-2}" ops_tests e2e_tests
bin="$build/tests/ops_tests"
file "$bin" | grep -q aarch64 || { echo "test-arm: $bin is not an AArch64 binary" >&2; exit 1; }

# Emulation is ~50x slower than native: BITNET_OPS_QUICK trims the largest shapes (K = 6912 stays,
# with fewer rows; n = 64 becomes 9). Set BITNET_OPS_QUICK=0 for the full sweep.
export BITNET_OPS_QUICK="${BITNET_OPS_QUICK:-1}"
echo "== qemu -cpu max (NEON + dotprod + I8MM): op suite over every table (quick=$BITNET_OPS_QUICK) =="
"${qemu[@]}" -cpu max "$bin" "$@"
for isa in neon neondot neoni8mm; do
  echo "== qemu -cpu max, BITNET_CPU_ISA=$isa: the default CpuBackend runs the forced table =="
  BITNET_CPU_ISA=$isa "${qemu[@]}" -cpu max "$bin" --gtest_filter='OpsKernelSelect.*' --gtest_brief=1 | grep -E "variant|PASSED|FAILED"
done
echo "== qemu -cpu cortex-a76 (dotprod, no I8MM): selection =="
"${qemu[@]}" -cpu cortex-a76 "$bin" --gtest_filter='OpsKernelSelect.*' --gtest_brief=1 | grep -E "selected|variant|PASSED|FAILED"
echo "== qemu -cpu cortex-a53 (baseline NEON): selection =="
"${qemu[@]}" -cpu cortex-a53 "$bin" --gtest_filter='OpsKernelSelect.*' --gtest_brief=1 | grep -E "selected|variant|PASSED|FAILED"

e2e="$build/tests/e2e_tests"
for isa in neoni8mm neondot neon; do
  echo "== qemu -cpu max, BITNET_CPU_ISA=$isa: synthetic-model and transformers-parity tests =="
  BITNET_CPU_ISA=$isa "${qemu[@]}" -cpu max "$e2e" --gtest_filter='Model.*:*HfParity*' --gtest_brief=1 |
    grep -E "PASSED|FAILED|tests ran"
done
