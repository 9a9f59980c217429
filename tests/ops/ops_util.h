// Helpers for the op conformance suite: random ternary matrices in every on-disk format, random
// float-weight (head) matrices, random activations, and a kernel-call wrapper that does what the CPU backend does (repack, shared
// preparation, per-thread scratch) for any kernel table.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "backends/cpu/kernels.h"
#include "core/fp16.h"
#include "formats/ternary_codecs.h"

namespace bitnet::testing {

struct AlignedBytes {
  struct Free {
    void operator()(uint8_t* p) const { std::free(p); }
  };
  std::unique_ptr<uint8_t, Free> p;
  size_t n = 0;
  explicit AlignedBytes(size_t bytes = 0) { resize(bytes); }
  void resize(size_t bytes) {
    n = bytes;
    p.reset(bytes ? static_cast<uint8_t*>(std::aligned_alloc(64, (bytes + 63) / 64 * 64)) : nullptr);
    if (bytes) std::memset(p.get(), 0xcd, (bytes + 63) / 64 * 64);  // garbage, not zeros
  }
  uint8_t* get() const { return p.get(); }
};

// A MatrixSource over host bytes, as the model loader hands one to a backend.
inline MatrixSource matrix_source(GgmlType type, int64_t k, int64_t m, const std::vector<uint8_t>& bytes,
                                  const char* name = "w") {
  MatrixSource src;
  src.type = type;
  src.k = k;
  src.m = m;
  src.data = bytes.data();
  src.nbytes = bytes.size();
  src.name = name;
  return src;
}

// The error that quantizing x to int8 per `block` elements (step amax_b / 127, so at most half of
// it per element) adds to row . x: sum_b (amax_b / 254) * sum_{j in b} |row_j|, times 1.01 for
// fp32 slack. k % block == 0.
inline double act_rounding_bound(const float* row, const float* x, int64_t k, int64_t block) {
  double qb = 0;
  for (int64_t b = 0; b < k / block; ++b) {
    double amax = 0, wabs = 0;
    for (int64_t j = b * block; j < (b + 1) * block; ++j) {
      amax = std::max(amax, static_cast<double>(std::fabs(x[j])));
      wabs += std::fabs(row[j]);
    }
    qb += amax / 254.0 * wabs * 1.01;
  }
  return qb;
}

// A random float-weight matrix (head / embedding formats: F32, F16, BF16, Q8_0, Q6_K, Q4_K),
// N(0, 0.05) weights; `outlier` puts one large weight in row 1 (a large block / group scale).
struct FloatMatrix {
  GgmlType type;
  int64_t k, m;
  std::vector<uint8_t> bytes;
  cpu::FloatView view() const { return {type, bytes.data(), k, m, 1.0f}; }
};

inline FloatMatrix random_float(std::mt19937& rng, GgmlType type, int64_t k, int64_t m, bool outlier = false) {
  FloatMatrix w{type, k, m, {}};
  std::vector<float> f(static_cast<size_t>(k * m));
  std::normal_distribution<float> nd(0.0f, 0.05f);
  for (auto& v : f) v = nd(rng);
  if (outlier && m > 2) f[static_cast<size_t>(k + 5)] = 0.9f;
  switch (type) {
    case GgmlType::F32:
      w.bytes.resize(f.size() * 4);
      std::memcpy(w.bytes.data(), f.data(), w.bytes.size());
      break;
    case GgmlType::F16:
      w.bytes.resize(f.size() * 2);
      f32_to_f16_row(f.data(), k * m, reinterpret_cast<uint16_t*>(w.bytes.data()));
      break;
    case GgmlType::BF16:
      w.bytes.resize(f.size() * 2);
      f32_to_bf16_row(f.data(), k * m, reinterpret_cast<uint16_t*>(w.bytes.data()));
      break;
    case GgmlType::Q6_K:
    case GgmlType::Q4_K:
      w.bytes.resize(static_cast<size_t>(*ggml_row_bytes(type, k) * m));
      if (type == GgmlType::Q6_K) quantize_q6_k(f.data(), k * m, w.bytes.data());
      else quantize_q4_k(f.data(), k * m, w.bytes.data());
      break;
    default:
      w.bytes.resize(static_cast<size_t>(k * m / 32 * 34));
      quantize_q8_0(f.data(), k * m, w.bytes.data());
      break;
  }
  return w;
}

enum class Scales { kUniform, kPerBlock, kUnitInteger };  // TQ block scales

// A random ternary matrix in an on-disk format plus its ternary values.
struct TernaryMatrix {
  GgmlType type = GgmlType::I2_S;
  int64_t k = 0, m = 0;
  std::vector<int8_t> t;       // m*k values in {-1, 0, 1}
  std::vector<uint8_t> bytes;  // on-disk encoding
  float scale = 1.0f;          // I2_S tensor scale
  cpu::TernaryView view() const {
    cpu::TernaryView v;
    v.type = type;
    v.data = bytes.data();
    v.k = k;
    v.m = m;
    v.scale = type == GgmlType::I2_S ? scale : 1.0f;
    return v;
  }
};

inline TernaryMatrix random_ternary(std::mt19937& rng, GgmlType type, int64_t k, int64_t m,
                                    Scales scales = Scales::kPerBlock, double p_zero_block = 0.05) {
  TernaryMatrix w;
  w.type = type;
  w.k = k;
  w.m = m;
  const int64_t n = k * m;
  w.t.resize(static_cast<size_t>(n));
  std::uniform_int_distribution<int> tri(-1, 1);
  std::uniform_real_distribution<double> u01(0, 1);
  for (auto& v : w.t) v = static_cast<int8_t>(tri(rng));
  if (type == GgmlType::I2_S) {
    w.scale = std::uniform_real_distribution<float>(0.5f, 2.0f)(rng);
    w.bytes.assign(static_cast<size_t>(n / 4 + 32), 0);
    pack_i2s(w.t.data(), n, w.scale, w.bytes.data());
    return w;
  }
  // TQ: blocks of 256 along each row; block scale d_b (exactly representable in f16).
  const int64_t nb = n / 256;
  std::vector<float> x(static_cast<size_t>(n));
  std::uniform_int_distribution<int> dexp(-20, 20);
  for (int64_t b = 0; b < nb; ++b) {
    const bool zero = u01(rng) < p_zero_block;
    float d = 1.0f;
    if (scales == Scales::kUniform) d = 0.375f;
    else if (scales == Scales::kPerBlock) d = std::ldexp(1.0f + static_cast<float>(dexp(rng) + 20) / 64.0f, dexp(rng) / 4);
    bool any = false;
    for (int j = 0; j < 256; ++j) {
      int8_t& tv = w.t[static_cast<size_t>(b * 256 + j)];
      if (zero) tv = 0;
      any |= tv != 0;
      x[static_cast<size_t>(b * 256 + j)] = d * tv;
    }
    if (!any && !zero) {  // keep the block's scale meaningful
      w.t[static_cast<size_t>(b * 256)] = 1;
      x[static_cast<size_t>(b * 256)] = d;
    }
  }
  if (type == GgmlType::TQ2_0) {
    w.bytes.resize(static_cast<size_t>(nb * 66));
    quantize_tq2_0(x.data(), n, w.bytes.data());
  } else {
    w.bytes.resize(static_cast<size_t>(nb * 54));
    quantize_tq1_0(x.data(), n, w.bytes.data());
  }
  return w;
}

// Random int8 activations (n rows of k) with -128 and +-127 sprinkled in, and positive s_a.
inline void random_acts(std::mt19937& rng, int64_t n, int64_t k, std::vector<int8_t>* q, std::vector<float>* s_a) {
  q->resize(static_cast<size_t>(n * k));
  s_a->resize(static_cast<size_t>(n));
  std::uniform_int_distribution<int> d(-128, 127);
  for (auto& v : *q) v = static_cast<int8_t>(d(rng));
  for (int64_t i = 0; i < n * k; i += 97) (*q)[static_cast<size_t>(i)] = -128;
  for (int64_t i = 13; i < n * k; i += 101) (*q)[static_cast<size_t>(i)] = 127;
  for (auto& s : *s_a) s = std::uniform_real_distribution<float>(0.05f, 40.0f)(rng);
}

// Runs a table's kernels for one ternary format the way CpuBackend does: repack at "load", then
// either the shared preparation + gemm over row items, or gemm alone (standalone mode).
class TernaryRunner {
 public:
  TernaryRunner(const cpu::TernaryKernels& kern, const cpu::TernaryView& v) : kern_(kern), view_(v) {
    if (kern_.pack_size) {
      const size_t bytes = kern_.pack_size(view_);
      if (bytes) {
        packed_.resize(bytes);
        for (int part = 2; part >= 0; --part) kern_.pack(view_, packed_.get(), part, 3);  // parts in any order
        view_.packed = packed_.get();
      }
    }
  }
  const cpu::TernaryView& view() const { return view_; }
  bool packed() const { return view_.packed != nullptr; }

  // Rows [r0, r1) of y (n tokens, ldy) in items of `item` rows; use_prep: shared tables.
  void run(const int8_t* q, const float* s_a, int64_t n, float* y, int64_t ldy, int64_t r0, int64_t r1,
           int64_t item, bool use_prep) {
    AlignedBytes scratch(kern_.scratch_size ? kern_.scratch_size(view_, n) : 0);
    AlignedBytes prep;
    const uint8_t* prep_p = nullptr;
    if (use_prep && kern_.prep && kern_.prep_size) {
      const size_t bytes = kern_.prep_size(view_, n);
      if (bytes) {
        prep.resize(bytes);
        const int64_t units = kern_.prep_units(view_, n);
        // Two halves, like two threads.
        kern_.prep(view_, q, n, 0, units / 2, prep.get());
        kern_.prep(view_, q, n, units / 2, units, prep.get());
        prep_p = prep.get();
      }
    }
    for (int64_t r = r0; r < r1; r += item) {
      const int64_t e = r + item < r1 ? r + item : r1;
      kern_.gemm(view_, q, s_a, n, y, ldy, r, e, prep_p, scratch.get());
    }
  }

 private:
  const cpu::TernaryKernels& kern_;
  cpu::TernaryView view_;
  AlignedBytes packed_;
};

// BITNET_OPS_QUICK=1 trims the largest shapes (for runs under emulation: qemu, SIMDe).
// A host tensor of a backend (its buffer kept alive), optionally filled from `data`; read() copies one back.
struct Host {
  std::unique_ptr<Buffer> buf;
  Tensor t;
};

inline Host make(Backend& be, DType dt, int64_t rows, int64_t cols, const void* data = nullptr) {
  Host h;
  h.buf = be.alloc(static_cast<size_t>(rows * cols) * dtype_size(dt)).value();
  h.t = Tensor{h.buf.get(), 0, dt, rows, cols, cols};
  if (data) be.upload(h.t, data, h.t.nbytes());
  return h;
}

template <typename T>
inline std::vector<T> read(Backend& be, const Tensor& t) {
  std::vector<T> v(static_cast<size_t>(t.rows * t.cols));
  be.download(t, v.data(), v.size() * sizeof(T));
  return v;
}

inline bool quick_mode() {
  const char* e = std::getenv("BITNET_OPS_QUICK");
  return e && *e && *e != '0';
}

inline std::string type_name(GgmlType t) {
  switch (t) {
    case GgmlType::I2_S: return "i2_s";
    case GgmlType::TQ2_0: return "tq2_0";
    case GgmlType::TQ1_0: return "tq1_0";
    case GgmlType::F32: return "f32";
    case GgmlType::F16: return "f16";
    case GgmlType::BF16: return "bf16";
    case GgmlType::Q8_0: return "q8_0";
    case GgmlType::Q4_K: return "q4_k";
    case GgmlType::Q6_K: return "q6_k";
  }
  return "?";
}

inline uint32_t float_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

}  // namespace bitnet::testing
