// K-quant heads (Q4_K, Q6_K weights; f32 activations): the shared activation layout and the scalar
// integer-path reference. Like ggml's q4_K/q6_K x q8_K dots, activations are quantized once per call
// ("prep") to int8 per 256-block with one f32 scale and int16 sums per 16 elements, so the kernels
// need only int8 x (4/6-bit) products with int32 sums plus two fp32 ops per block.
// Helpers here are static inline on purpose (included by ISA-flagged files; see kernels.md).
#pragma once

#include <cstddef>
#include <cstdint>

#include "backends/cpu/kernels.h"

namespace bitnet::cpu::kq {

static inline bool is_kquant(GgmlType t) { return t == GgmlType::Q4_K || t == GgmlType::Q6_K; }
static inline int64_t align64(int64_t b) { return (b + 63) / 64 * 64; }

// Prep layout for n tokens of k inputs (k % 256 == 0, nb = k / 256 blocks per token):
//   int8 q[n][k] | f32 d[n][nb] | int16 bsums[n][nb][16]   (each part 64-byte aligned)
// x[i][j] ~ d[i][j/256] * q[i][j], q in [-127, 127]; bsums = sums of q over 16-element groups.
struct Q8K {
  const int8_t* q;
  const float* d;
  const int16_t* bsums;
};
static inline size_t prep_bytes(int64_t k, int64_t n) {
  const int64_t nb = k / 256;
  return static_cast<size_t>(align64(n * k) + align64(n * nb * 4) + n * nb * 32);
}
static inline Q8K view(const uint8_t* p, int64_t k, int64_t n) {
  const int64_t nb = k / 256;
  return {reinterpret_cast<const int8_t*>(p), reinterpret_cast<const float*>(p + align64(n * k)),
          reinterpret_cast<const int16_t*>(p + align64(n * k) + align64(n * nb * 4))};
}

}  // namespace bitnet::cpu::kq

namespace bitnet::cpu {

// One activation row to the Q8K form: d = amax / 127, q = clamp(rne(x / d), -127, 127) (an exact
// zero row gives d = 0, q = 0). Scalar and shared by every table, so q is identical across ISAs.
void quantize_row_q8k_ref(const float* x, int64_t k, int8_t* q, float* d, int16_t* bsums);
// FloatKernels::prep / prep_size for K-quant weights (0 bytes / no-op for any other type or k % 256).
size_t gemm_kquant_prep_size(const FloatView& w, int64_t n);
void gemm_kquant_prep_ref(const FloatView& w, const float* x, int64_t n, uint8_t* out);
// Scalar reference of the integer path (the oracle of the fast kernels' int32 sums): per block,
//   Q6_K: d_w*d_x * (sum_g sc_g * sum_{e in g} code_e*q_e  -  32 * sum_g sc_g*bsum_g)
//   Q4_K: d_w*d_x * sum_g sc_g * sum_{e in g} code_e*q_e  -  dmin_w*d_x * sum_g m_g*(bsum_2g + bsum_2g+1)
// summed over blocks in fp32, times w.scale. Needs prep (gemm_kquant_prep_ref's output for x).
void gemm_kquant_q8k_ref(const FloatView& w, int64_t n, float* y, int64_t ldy, int64_t r0, int64_t r1,
                         const uint8_t* prep);

namespace kq {

// The Q8K activations a fast kernel reads: the call's shared `prep`, else x quantized into the
// thread's `scratch`; null when neither exists or K is not whole 256-blocks (the caller then takes
// the float reference).
static inline const uint8_t* prep_or_scratch(const FloatView& w, const float* x, int64_t n, const uint8_t* prep,
                                             uint8_t* scratch) {
  if (w.k % 256 != 0 || (!prep && !scratch)) return nullptr;
  if (prep) return prep;
  gemm_kquant_prep_ref(w, x, n, scratch);
  return scratch;
}

// y[i * ldy + r] = dot(row r, token i) * w.scale for rows [r0, r1) and every token, one token at a
// time (the row stays in cache for the next token). dot6 / dot4 (Q6_K / Q4_K) take
// (row, blocks per row, q, d, bsums) of one token and return the row's fp32 sum.
template <typename Dot6, typename Dot4>
static inline void rows_by_token(const FloatView& w, int64_t n, float* y, int64_t ldy, int64_t r0, int64_t r1,
                                 const uint8_t* prep, Dot6 dot6, Dot4 dot4) {
  const int64_t nb = w.k / 256;
  const size_t row_bytes = static_cast<size_t>(nb * ggml_block_bytes(w.type));
  const Q8K v = view(prep, w.k, n);
  for (int64_t r = r0; r < r1; ++r) {
    const uint8_t* row = w.data + static_cast<size_t>(r) * row_bytes;
    for (int64_t i = 0; i < n; ++i) {
      const int8_t* q = v.q + i * w.k;
      const float* dx = v.d + i * nb;
      const int16_t* bs = v.bsums + i * nb * 16;
      const float s = w.type == GgmlType::Q6_K ? dot6(row, nb, q, dx, bs) : dot4(row, nb, q, dx, bs);
      y[i * ldy + r] = s * w.scale;
    }
  }
}

}  // namespace kq
}  // namespace bitnet::cpu
