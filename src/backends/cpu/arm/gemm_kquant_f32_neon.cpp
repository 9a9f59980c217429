// K-quant head GEMV / GEMM with baseline AArch64 NEON: Q6_K and Q4_K weights x activations quantized
// per call to Q8K (kquant.h), int32 sums like the scalar integer reference (gemm_kquant_q8k_ref).
//   Q6_K: a 16-byte vector of codes (0..63, "code = q + 32") is exactly one 16-element scale group
//         (element 128h + 32c + 16s + l); vmull_s8 / vmull_high_s8 (|<= 63 * 127| each, pair sums
//         fit int16) and one horizontal add per group; the +32 offset is removed with the
//         activation block sums: isum += sc_g * (s_g - 32 * bsum_g).
//   Q4_K: per 64 elements one 32-byte load gives two 32-element groups (low / high nibbles); the
//         mins term is dmin * sum_g m_g * (bsum_2g + bsum_2g+1).
// One token at a time per row (the row stays in L1 for the next tokens). The dotprod table uses
// the same kernel (the head is bandwidth-bound; the decode, not the multiply, is the work).
#include <arm_neon.h>

#include <cstring>

#include "backends/cpu/arm/kernels_arm.h"
#include "backends/cpu/kquant.h"
#include "core/fp16.h"
#include "formats/ternary_codecs.h"

namespace bitnet::cpu {
namespace {

// sum of 16 int8 products (codes non-negative, small enough that pair sums fit int16)
inline int32_t dot16(int8x16_t c, int8x16_t q) {
  const int16x8_t p = vmlal_high_s8(vmull_s8(vget_low_s8(c), vget_low_s8(q)), c, q);
  return vaddlvq_s16(p);
}

float dot_q6k_neon(const uint8_t* row, int64_t nb, const int8_t* q, const float* dx, const int16_t* bs) {
  const uint8x16_t m4 = vdupq_n_u8(0x0f), m3 = vdupq_n_u8(0x03);
  float acc = 0;
  for (int64_t b = 0; b < nb; ++b, row += 210, q += 256, bs += 16) {
    uint16_t hd;
    std::memcpy(&hd, row + 208, 2);
    const int8_t* sc = reinterpret_cast<const int8_t*>(row + 192);
    int32_t isum = 0;
    for (int h = 0; h < 2; ++h) {
      for (int s = 0; s < 2; ++s) {  // bytes l = 16s .. 16s + 15 of each 32-byte run
        const uint8x16_t qa = vld1q_u8(row + 64 * h + 16 * s);       // c = 0 (low), c = 2 (high)
        const uint8x16_t qb = vld1q_u8(row + 64 * h + 32 + 16 * s);  // c = 1 (low), c = 3 (high)
        const uint8x16_t qh = vld1q_u8(row + 128 + 32 * h + 16 * s);
        const uint8x16_t code[4] = {
            vorrq_u8(vandq_u8(qa, m4), vshlq_n_u8(vandq_u8(qh, m3), 4)),
            vorrq_u8(vandq_u8(qb, m4), vshlq_n_u8(vandq_u8(vshrq_n_u8(qh, 2), m3), 4)),
            vorrq_u8(vshrq_n_u8(qa, 4), vshlq_n_u8(vandq_u8(vshrq_n_u8(qh, 4), m3), 4)),
            vorrq_u8(vshrq_n_u8(qb, 4), vshlq_n_u8(vshrq_n_u8(qh, 6), 4))};
        for (int c = 0; c < 4; ++c) {
          const int e0 = 128 * h + 32 * c + 16 * s, g = e0 / 16;
          const int32_t sg = dot16(vreinterpretq_s8_u8(code[c]), vld1q_s8(q + e0));
          isum += sc[g] * (sg - 32 * bs[g]);
        }
      }
    }
    acc += (f16_to_f32(hd) * dx[b]) * static_cast<float>(isum);
  }
  return acc;
}

float dot_q4k_neon(const uint8_t* row, int64_t nb, const int8_t* q, const float* dx, const int16_t* bs) {
  const uint8x16_t m4 = vdupq_n_u8(0x0f);
  float acc = 0;
  for (int64_t b = 0; b < nb; ++b, row += 144, q += 256, bs += 16) {
    uint16_t hd, hm;
    std::memcpy(&hd, row, 2);
    std::memcpy(&hm, row + 2, 2);
    uint8_t sc[8], m[8];
    unpack_q4_k_scales(row + 4, sc, m);
    int32_t isum = 0, msum = 0;
    for (int c = 0; c < 4; ++c) {
      const uint8x16_t a = vld1q_u8(row + 16 + 32 * c), a2 = vld1q_u8(row + 16 + 32 * c + 16);
      const int8_t* qc = q + 64 * c;
      const int32_t s_lo = dot16(vreinterpretq_s8_u8(vandq_u8(a, m4)), vld1q_s8(qc)) +
                           dot16(vreinterpretq_s8_u8(vandq_u8(a2, m4)), vld1q_s8(qc + 16));
      const int32_t s_hi = dot16(vreinterpretq_s8_u8(vshrq_n_u8(a, 4)), vld1q_s8(qc + 32)) +
                           dot16(vreinterpretq_s8_u8(vshrq_n_u8(a2, 4)), vld1q_s8(qc + 48));
      isum += sc[2 * c] * s_lo + sc[2 * c + 1] * s_hi;
    }
    for (int g = 0; g < 8; ++g) msum += m[g] * (bs[2 * g] + bs[2 * g + 1]);
    acc += (f16_to_f32(hd) * dx[b]) * static_cast<float>(isum) - (f16_to_f32(hm) * dx[b]) * static_cast<float>(msum);
  }
  return acc;
}

}  // namespace

void gemm_kquant_f32_neon(const FloatView& w, const float* x, int64_t n, float* y, int64_t ldy, int64_t r0,
                          int64_t r1, const uint8_t* prep, uint8_t* scratch) {
  const uint8_t* xq = kq::prep_or_scratch(w, x, n, prep, scratch);
  if (!xq) return gemm_float_f32_ref(w, x, n, y, ldy, r0, r1);
  kq::rows_by_token(w, n, y, ldy, r0, r1, xq, dot_q6k_neon, dot_q4k_neon);
}

}  // namespace bitnet::cpu
