#!/usr/bin/env bash
# CPU-backend benchmarks on the device machine's host CPU: a modern server x86 with AVX-512 (VNNI),
# which the 2-core development VM (Zen 3, AVX2 only) cannot time. Pinned to 2 cores (taskset) to
# mimic the 2-core machine the CPU targets are stated for; every model runs with the avx2 and the
# avx512 kernel table (BITNET_CPU_ISA), interleaved, so the ratio between them is same-run.
#
# Runs a `bitnet` binary built on the development machine (carried; it needs only libc, libstdc++
# and libpcre2-8) and makes 2B4T-shaped random-weight models with `bitnet synth`.
#   tools/device/cpu_bench.sh BITNET_BIN VOCAB_GGUF OUTDIR [CORES=0,1] [ROUNDS=2]
# Optional environment: BASELINE=another bitnet binary (e.g. the previous commit's), run
# interleaved with BITNET_BIN so their ratio is same-run (rows tagged "new" / "base");
# ISAS="avx2 avx512" (kernel tables); MODELS="i2_s:f16 i2_s:q8_0 tq2_0:q8_0 tq1_0:q8_0"
# (weights:head); BENCH_ARGS="-p 128 -n 64 -r 3".
# Writes OUTDIR/cpu.txt (lscpu) and OUTDIR/bench.txt (the `bitnet bench` table rows, one per
# round, model, binary and kernel table), and prints them.
set -euo pipefail
BIN=$(realpath "$1"); VOCAB=$(realpath "$2"); OUT=$3; CORES=${4:-0,1}; ROUNDS=${5:-2}
mkdir -p "$OUT"
lscpu > "$OUT/cpu.txt"
grep -E "Model name|^CPU\(s\)|Thread" "$OUT/cpu.txt"
grep -q avx512_vnni /proc/cpuinfo && echo "avx512_vnni: yes" || echo "avx512_vnni: no (the avx512 runs will fail)"
M=${BITNET_BENCH_MODELS:-/tmp/bitnet-bench-models}
mkdir -p "$M"
models=()
for cfg in ${MODELS:-i2_s:f16 i2_s:q8_0 tq2_0:q8_0 tq1_0:q8_0}; do
  set -- ${cfg/:/ }
  f="$M/2b4t-$1-$2.gguf"
  [ -f "$f" ] || "$BIN" synth -o "$f" --preset 2b4t --weights "$1" --head "$2" --vocab "$VOCAB" >/dev/null
  models+=("$f")
done
: > "$OUT/bench.txt"
bins=("new:$BIN")
[ -n "${BASELINE:-}" ] && bins+=("base:$(realpath "$BASELINE")")
for round in $(seq 1 "$ROUNDS"); do
  for f in "${models[@]}"; do
    for isa in ${ISAS:-avx2 avx512}; do
      for tb in "${bins[@]}"; do
        BITNET_CPU_ISA=$isa taskset -c "$CORES" "${tb#*:}" bench -m "$f" ${BENCH_ARGS:--p 128 -n 64 -r 3} -t 2 2>&1 |
          grep -E "^\| (i2_s|tq)|bandwidth|streaming" | sed "s/^/round $round ${tb%%:*}: /" | tee -a "$OUT/bench.txt" || true
      done
    done
  done
done
