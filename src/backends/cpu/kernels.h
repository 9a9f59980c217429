// CPU kernel signatures and the per-ISA kernel table. The scalar reference versions live in
// ref/ and are always compiled; optimized versions (x86/, arm/) fill the same table at run time
// after probing the CPU. Kernels never allocate, print or fail: the backend validates shapes.
#pragma once

#include <cstdint>
#include <string>

#include "formats/ggml_types.h"

namespace bitnet::cpu {

// A ternary matrix with m rows of k inputs in one of the on-disk formats.
struct TernaryView {
  GgmlType type = GgmlType::I2_S;
  const uint8_t* data = nullptr;
  int64_t k = 0, m = 0;
  float scale = 1.0f;  // I2_S tensor scale (times any extra scale); TQ formats: extra scale only
};

// A float matrix (embeddings / head) with m rows of k inputs: F32, F16, BF16 or Q8_0.
struct FloatView {
  GgmlType type = GgmlType::F16;
  const uint8_t* data = nullptr;
  int64_t k = 0, m = 0;
  float scale = 1.0f;
};

// y[i*ldy + r] for tokens i < n and rows r in [r0, r1):
//   ternary: (sum_j T[r,j] * q[i*k + j]) / s_a[i] * scale   (I2_S: int32 sum then this epilogue)
using GemmTernaryFn = void (*)(const TernaryView& w, const int8_t* q, const float* s_a, int64_t n,
                               float* y, int64_t ldy, int64_t r0, int64_t r1);
//   float: sum_j W[r,j] * x[i*k + j]
using GemmFloatFn = void (*)(const FloatView& w, const float* x, int64_t n, float* y, int64_t ldy,
                             int64_t r0, int64_t r1);
// One row: s = 127 / max(max|x|, 1e-5); q = clamp(rne(x*s), -128, 127).
using QuantizeActFn = void (*)(const float* x, int64_t k, int8_t* q, float* s);
// One row: y = g * x / sqrt(mean(x^2) + eps).
using RmsnormFn = void (*)(const float* x, const float* g, int64_t d, float eps, float* y);

struct KernelTable {
  std::string isa = "ref";
  GemmTernaryFn gemm_i2s_i8 = nullptr;
  GemmTernaryFn gemm_tq2_0_i8 = nullptr;
  GemmTernaryFn gemm_tq1_0_i8 = nullptr;
  GemmFloatFn gemm_float_f32 = nullptr;  // handles every FloatView type
  QuantizeActFn quantize_act = nullptr;
  RmsnormFn rmsnorm = nullptr;
};

// The scalar reference table (the oracle).
const KernelTable& ref_kernels();
// The best table for this CPU, honoring BITNET_CPU_ISA=ref|avx2|avx512|neon|... when set.
// An unknown or unsupported forced ISA is reported through *error (and ref is returned).
const KernelTable& select_kernels(std::string* error = nullptr);

// ---- reference kernels (ref/) -----------------------------------------------------------------
void gemm_i2s_i8_ref(const TernaryView& w, const int8_t* q, const float* s_a, int64_t n, float* y,
                     int64_t ldy, int64_t r0, int64_t r1);
void gemm_tq2_0_i8_ref(const TernaryView& w, const int8_t* q, const float* s_a, int64_t n, float* y,
                       int64_t ldy, int64_t r0, int64_t r1);
void gemm_tq1_0_i8_ref(const TernaryView& w, const int8_t* q, const float* s_a, int64_t n, float* y,
                       int64_t ldy, int64_t r0, int64_t r1);
void gemm_float_f32_ref(const FloatView& w, const float* x, int64_t n, float* y, int64_t ldy,
                        int64_t r0, int64_t r1);
void quantize_act_f32_i8_ref(const float* x, int64_t k, int8_t* q, float* s);
void rmsnorm_f32_ref(const float* x, const float* g, int64_t d, float eps, float* y);

// Integer dot sum_j T[r,j]*q[j] for one row (tests use it to check exact integer agreement).
int64_t dot_ternary_row_ref(const TernaryView& w, int64_t r, const int8_t* q);
// Dequantize row r of a float matrix into f32 (embedding lookup).
void float_row_to_f32(const FloatView& w, int64_t r, float* out);

}  // namespace bitnet::cpu
