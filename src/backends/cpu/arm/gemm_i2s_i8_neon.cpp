// I2_S x int8 GEMV / GEMM with baseline AArch64 NEON (no dot product): codes (0..2) times int8
// activations with vmull_s8 / vmlal_s8 into int16 (16 products of |2*128| per lane before widening
// is far from overflow), pairwise-widened into int32 with vpadalq_s16. Reads the on-disk layout in
// place (spec §4.1.1); the same 32-byte block is two 16-byte halves: bytes p = 0..15 and 16..31.
// Outputs are bit-identical to the reference (exact S = sum(c*q) - sum(q), same fp32 epilogue).
#include <arm_neon.h>

#include "backends/cpu/arm/kernels_arm.h"

namespace bitnet::cpu {
namespace {

inline int32_t sum_i8_neon(const int8_t* q, int64_t k) {
  int32x4_t acc = vdupq_n_s32(0);
  int64_t j = 0;
  for (; j + 16 <= k; j += 16) acc = vpadalq_s16(acc, vpaddlq_s8(vld1q_s8(q + j)));
  int32_t s = vaddvq_s32(acc);
  for (; j < k; ++j) s += q[j];
  return s;
}

// sum over one row of c * q (c = codes), for K % 128 == 0.
inline int32_t row_dot_neon(const uint8_t* wr, const int8_t* q, int64_t nblk) {
  const uint8x16_t m3 = vdupq_n_u8(3);
  int32x4_t acc = vdupq_n_s32(0);
  for (int64_t b = 0; b < nblk; ++b) {
    int16x8_t a = vdupq_n_s16(0);
    for (int h = 0; h < 2; ++h) {
      const uint8x16_t x = vld1q_u8(wr + 32 * b + 16 * h);
      const int8_t* qb = q + 128 * b + 16 * h;
      const int8x16_t c0 = vreinterpretq_s8_u8(vshrq_n_u8(x, 6));
      const int8x16_t c1 = vreinterpretq_s8_u8(vandq_u8(vshrq_n_u8(x, 4), m3));
      const int8x16_t c2 = vreinterpretq_s8_u8(vandq_u8(vshrq_n_u8(x, 2), m3));
      const int8x16_t c3 = vreinterpretq_s8_u8(vandq_u8(x, m3));
      const int8x16_t q0 = vld1q_s8(qb), q1 = vld1q_s8(qb + 32), q2 = vld1q_s8(qb + 64), q3 = vld1q_s8(qb + 96);
      a = vmlal_s8(a, vget_low_s8(c0), vget_low_s8(q0));
      a = vmlal_high_s8(a, c0, q0);
      a = vmlal_s8(a, vget_low_s8(c1), vget_low_s8(q1));
      a = vmlal_high_s8(a, c1, q1);
      a = vmlal_s8(a, vget_low_s8(c2), vget_low_s8(q2));
      a = vmlal_high_s8(a, c2, q2);
      a = vmlal_s8(a, vget_low_s8(c3), vget_low_s8(q3));
      a = vmlal_high_s8(a, c3, q3);
    }
    acc = vpadalq_s16(acc, a);  // 16 products of |<= 256| per lane: fits int16
  }
  return vaddvq_s32(acc);
}

}  // namespace

void gemm_i2s_i8_neon(const TernaryView& w, const int8_t* q, const float* s_a, int64_t n, float* y,
                      int64_t ldy, int64_t r0, int64_t r1, const uint8_t*, uint8_t*) {
  if (w.k % 128 != 0) {
    gemm_i2s_i8_ref(w, q, s_a, n, y, ldy, r0, r1);
    return;
  }
  const int64_t k = w.k, nblk = k / 128;
  for (int64_t i = 0; i < n; ++i) {
    const int8_t* qi = q + i * k;
    const int32_t sumq = sum_i8_neon(qi, k);
    for (int64_t r = r0; r < r1; ++r) {
      const int32_t S = row_dot_neon(w.data + r * (k / 4), qi, nblk) - sumq;
      y[i * ldy + r] = static_cast<float>(S) / s_a[i] * w.scale;
    }
  }
}

int32_t sum_i8_neon_export(const int8_t* q, int64_t k) { return sum_i8_neon(q, k); }

}  // namespace bitnet::cpu
