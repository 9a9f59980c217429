// Shared pieces of the kernel microbenchmarks: the streaming-read bandwidth probe (the "speed of
// light" every bandwidth-bound benchmark reports its share of), random weights in every format,
// and a matrix "stack" larger than the last-level cache so GEMV timings measure DRAM, not L3.
//
// Bandwidth on a shared machine drifts by +-30% within minutes, so each benchmark measures the
// streaming bandwidth itself right before it runs (bw_GBs counter) and reports its share of that
// number (bw_share), not of a figure taken at another time.
#pragma once

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "backends/cpu/cpu_backend.h"
#include "core/fp16.h"
#include "core/membw.h"
#include "core/thread_pool.h"
#include "formats/ternary_codecs.h"

namespace bitnet::bench {

// 2B4T numbers (spec §8).
constexpr int64_t kD = 2560, kKv = 640, kFf = 6912, kVocab = 128256, kLayers = 30;

// Streaming-read bandwidth (GB/s) of `pool`'s threads over a 512 MiB buffer (far larger than the
// LLC): the best of `reps` passes (core/membw.h).
inline double measure_read_bw(ThreadPool& pool, int reps = 3) {
  static ReadBandwidthProbe probe;
  return probe.measure(pool, reps);
}

// Random on-disk ternary bytes (valid codes only) for a K x M matrix.
inline std::vector<uint8_t> random_ternary_bytes(std::mt19937& rng, GgmlType t, int64_t k, int64_t m) {
  const int64_t n = k * m;
  std::vector<int8_t> tv(static_cast<size_t>(n));
  std::uniform_int_distribution<int> d(-1, 1);
  for (auto& v : tv) v = static_cast<int8_t>(d(rng));
  std::vector<uint8_t> out;
  if (t == GgmlType::I2_S) {
    out.resize(static_cast<size_t>(n / 4 + 32));
    pack_i2s(tv.data(), n, 0.7f, out.data());
    return out;
  }
  std::vector<float> x(tv.begin(), tv.end());
  for (auto& v : x) v *= 0.5f;
  if (t == GgmlType::TQ2_0) {
    out.resize(static_cast<size_t>(n / 256 * 66));
    quantize_tq2_0(x.data(), n, out.data());
  } else {
    out.resize(static_cast<size_t>(n / 256 * 54));
    quantize_tq1_0(x.data(), n, out.data());
  }
  return out;
}

// Enough copies of a K x M ternary matrix, loaded on `be`, that one pass over all of them is
// >= min_bytes (so consecutive calls stream from DRAM).
struct TernaryStack {
  std::vector<std::vector<uint8_t>> sources;
  std::vector<std::unique_ptr<Matrix>> mats;
  size_t bytes_per_matrix = 0;
  TernaryStack(CpuBackend& be, GgmlType t, int64_t k, int64_t m, size_t min_bytes = size_t{256} << 20) {
    std::mt19937 rng(42);
    const auto proto = random_ternary_bytes(rng, t, k, m);
    MatrixSource src;
    src.type = t;
    src.k = k;
    src.m = m;
    src.nbytes = proto.size();
    src.name = "bench";
    do {
      sources.push_back(proto);
      src.data = sources.back().data();
      mats.push_back(be.load_ternary(src).value());
      bytes_per_matrix = mats.back()->device_bytes;
    } while (mats.size() * bytes_per_matrix < min_bytes);
  }
};

// Host tensors for activations.
struct HostTensor {
  std::unique_ptr<Buffer> buf;
  Tensor t;
  HostTensor(Backend& be, DType dt, int64_t rows, int64_t cols) {
    buf = be.alloc(static_cast<size_t>(rows * cols) * dtype_size(dt)).value();
    t = Tensor{buf.get(), 0, dt, rows, cols, cols};
  }
};

inline void fill_acts(Backend& be, HostTensor& q, HostTensor& s) {
  std::mt19937 rng(7);
  std::vector<int8_t> qv(static_cast<size_t>(q.t.rows * q.t.cols));
  std::uniform_int_distribution<int> d(-127, 127);
  for (auto& v : qv) v = static_cast<int8_t>(d(rng));
  be.upload(q.t, qv.data(), qv.size());
  std::vector<float> sv(static_cast<size_t>(s.t.rows), 20.0f);
  be.upload(s.t, sv.data(), sv.size() * 4);
}

inline GgmlType type_arg(int64_t a) {
  switch (a) {
    case 0: return GgmlType::I2_S;
    case 1: return GgmlType::TQ2_0;
    case 2: return GgmlType::TQ1_0;
    case 3: return GgmlType::F16;
    case 4: return GgmlType::Q8_0;
    default: return GgmlType::F32;
  }
}

inline const char* type_label(GgmlType t) {
  switch (t) {
    case GgmlType::I2_S: return "i2_s";
    case GgmlType::TQ2_0: return "tq2_0";
    case GgmlType::TQ1_0: return "tq1_0";
    case GgmlType::F16: return "f16";
    case GgmlType::Q8_0: return "q8_0";
    case GgmlType::BF16: return "bf16";
    case GgmlType::Q6_K: return "q6_k";
    case GgmlType::Q4_K: return "q4_k";
    default: return "f32";
  }
}

inline int bench_threads() {
  const char* e = std::getenv("BITNET_BENCH_THREADS");
  return e ? std::max(1, std::atoi(e)) : 2;
}

}  // namespace bitnet::bench
