#!/usr/bin/env bash
# Runs the op suite on the AVX-512 kernels on a machine without AVX-512: the *_avx512vnni.cpp files are
# compiled against SIMDe (apt-get install libsimde-dev) instead of the real intrinsics. This checks the
# kernels' logic (layouts, masks, lane order, epilogues), not their speed or the real encodings; run
# the normal ops_tests on an AVX-512 machine for that.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${BUILD:-$root/build/avx512emu}"
if [ ! -f /usr/include/simde/x86/avx512.h ]; then
  echo "test-avx512-emu: needs SIMDe headers: apt-get install libsimde-dev" >&2
  exit 1
fi
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DBITNET_AVX512_EMULATION=ON \
  -DBITNET_BUILD_BENCH=OFF >/dev/null
ninja -C "$build" -j"${JOBS:-2}" ops_tests
# The suite checks every available table (ref, avx2 and the emulated avx512) against the reference.
"$build/tests/ops_tests" "$@"
