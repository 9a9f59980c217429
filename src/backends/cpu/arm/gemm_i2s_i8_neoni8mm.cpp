// I2_S x int8 GEMM with NEON I8MM (smmla: a 2x8 by 8x2 int8 matrix product into 2x2 int32 per
// instruction, 32 multiply-adds, twice sdot's). Two decoded rows are interleaved in 8-byte chunks
// [r0 k..k+7 | r1 k..k+7] and multiplied with two tokens' activations interleaved the same way,
// giving (r0t0, r0t1, r1t0, r1t1). Register tile: 4 rows x 4 tokens = 4 smmla per 8 k.
// GEMV (n == 1) uses the dot-product kernel. Bit-identical to the reference.
#include <arm_neon.h>

#include <cstring>

#include "backends/cpu/arm/kernels_arm.h"

namespace bitnet::cpu {
namespace {

constexpr int64_t kRows = 4;    // two row pairs
constexpr int64_t kTokens = 4;  // two token pairs

// codes: for row pair p (rows 2p, 2p+1): k/8 chunks of 16 bytes [r_even 8 codes | r_odd 8 codes].
void decode_pairs(const TernaryView& w, int64_t r, int64_t nr, uint8_t* codes) {
  const int64_t k = w.k;
  for (int64_t rr = 0; rr < kRows; ++rr) {
    uint8_t* dst = codes + (rr / 2) * 2 * k + (rr & 1) * 8;
    if (rr >= nr) {
      for (int64_t c = 0; c < k / 8; ++c) std::memset(dst + 16 * c, 1, 8);
      continue;
    }
    const uint8_t* wr = w.data + (r + rr) * (k / 4);
    for (int64_t b = 0; b < k / 128; ++b) {
      uint8_t tmp[128];
      for (int h = 0; h < 2; ++h) {
        const uint8x16_t x = vld1q_u8(wr + 32 * b + 16 * h);
        const uint8x16_t m3 = vdupq_n_u8(3);
        vst1q_u8(tmp + 16 * h, vshrq_n_u8(x, 6));
        vst1q_u8(tmp + 32 + 16 * h, vandq_u8(vshrq_n_u8(x, 4), m3));
        vst1q_u8(tmp + 64 + 16 * h, vandq_u8(vshrq_n_u8(x, 2), m3));
        vst1q_u8(tmp + 96 + 16 * h, vandq_u8(x, m3));
      }
      for (int c = 0; c < 16; ++c) std::memcpy(dst + (b * 16 + c) * 16, tmp + 8 * c, 8);
    }
  }
}

// acts: for token pair p: k/8 chunks of [t_even 8 | t_odd 8].
void interleave_tokens(const int8_t* q, int64_t k, int64_t i, int64_t nt, int8_t* acts) {
  for (int64_t t = 0; t < kTokens; ++t) {
    const int8_t* src = q + (i + (t < nt ? t : nt - 1)) * k;
    int8_t* dst = acts + (t / 2) * 2 * k + (t & 1) * 8;
    for (int64_t c = 0; c < k / 8; ++c) std::memcpy(dst + 16 * c, src + 8 * c, 8);
  }
}

}  // namespace

size_t gemm_i2s_i8_neoni8mm_scratch(const TernaryView& w, int64_t n) {
  return static_cast<size_t>(kRows * w.k + kTokens * w.k + 4 * n + 64) + gemm_i2s_i8_neondot_scratch(w, n);
}

void gemm_i2s_i8_neoni8mm(const TernaryView& w, const int8_t* q, const float* s_a, int64_t n, float* y,
                          int64_t ldy, int64_t r0, int64_t r1, const uint8_t* prep, uint8_t* scratch) {
  if (w.k % 128 != 0 || n == 1 || !scratch) {
    gemm_i2s_i8_neondot(w, q, s_a, n, y, ldy, r0, r1, prep, scratch);
    return;
  }
  const int64_t k = w.k;
  uint8_t* codes = scratch;
  int8_t* acts = reinterpret_cast<int8_t*>(scratch + kRows * k);
  int32_t* sumq = reinterpret_cast<int32_t*>(scratch + kRows * k + kTokens * k);
  for (int64_t i = 0; i < n; ++i) sumq[i] = sum_i8_neon_export(q + i * k, k);
  for (int64_t r = r0; r < r1; r += kRows) {
    const int64_t nr = r1 - r < kRows ? r1 - r : kRows;
    decode_pairs(w, r, nr, codes);
    for (int64_t i = 0; i < n; i += kTokens) {
      const int64_t nt = n - i < kTokens ? n - i : kTokens;
      interleave_tokens(q, k, i, nt, acts);
      int32x4_t acc[2][2];  // [row pair][token pair] = (r0t0, r0t1, r1t0, r1t1)
      for (auto& a : acc) a[0] = a[1] = vdupq_n_s32(0);
      for (int64_t c = 0; c < k / 8; ++c) {
        const int8x16_t a0 = vreinterpretq_s8_u8(vld1q_u8(codes + 16 * c));
        const int8x16_t a1 = vreinterpretq_s8_u8(vld1q_u8(codes + 2 * k + 16 * c));
        const int8x16_t b0 = vld1q_s8(acts + 16 * c);
        const int8x16_t b1 = vld1q_s8(acts + 2 * k + 16 * c);
        acc[0][0] = vmmlaq_s32(acc[0][0], a0, b0);
        acc[0][1] = vmmlaq_s32(acc[0][1], a0, b1);
        acc[1][0] = vmmlaq_s32(acc[1][0], a1, b0);
        acc[1][1] = vmmlaq_s32(acc[1][1], a1, b1);
      }
      for (int rp = 0; rp < 2; ++rp)
        for (int tp = 0; tp < 2; ++tp) {
          int32_t v[4];
          vst1q_s32(v, acc[rp][tp]);
          for (int e = 0; e < 4; ++e) {
            const int64_t rr = 2 * rp + e / 2, t = 2 * tp + e % 2;
            if (rr >= nr || t >= nt) continue;
            const int32_t S = v[e] - sumq[i + t];
            y[(i + t) * ldy + r + rr] = static_cast<float>(S) / s_a[i + t] * w.scale;
          }
        }
    }
  }
}

}  // namespace bitnet::cpu
