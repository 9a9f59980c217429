// I2_S x int8 GEMV / GEMM with NEON + dot product (ARMv8.2 sdot): codes (0..2, as int8) x int8
// activations, 4-way dot products straight into int32. GEMV streams one row at a time (a 32-byte
// I2_S block = two 16-byte halves, four 2-bit fields each); GEMM decodes 4 rows once into byte
// codes (scratch) and reuses them for 4 tokens at a time. Bit-identical to the reference.
#include <arm_neon.h>

#include <cstring>

#include "backends/cpu/arm/kernels_arm.h"

namespace bitnet::cpu {
namespace {

constexpr int64_t kTileRows = 4;
constexpr int64_t kTileTokens = 4;

inline int32_t row_dot_dot(const uint8_t* wr, const int8_t* q, int64_t nblk) {
  const uint8x16_t m3 = vdupq_n_u8(3);
  int32x4_t a0 = vdupq_n_s32(0), a1 = a0, a2 = a0, a3 = a0;
  for (int64_t b = 0; b < nblk; ++b) {
    for (int h = 0; h < 2; ++h) {
      const uint8x16_t x = vld1q_u8(wr + 32 * b + 16 * h);
      const int8_t* qb = q + 128 * b + 16 * h;
      a0 = vdotq_s32(a0, vreinterpretq_s8_u8(vshrq_n_u8(x, 6)), vld1q_s8(qb));
      a1 = vdotq_s32(a1, vreinterpretq_s8_u8(vandq_u8(vshrq_n_u8(x, 4), m3)), vld1q_s8(qb + 32));
      a2 = vdotq_s32(a2, vreinterpretq_s8_u8(vandq_u8(vshrq_n_u8(x, 2), m3)), vld1q_s8(qb + 64));
      a3 = vdotq_s32(a3, vreinterpretq_s8_u8(vandq_u8(x, m3)), vld1q_s8(qb + 96));
    }
  }
  return vaddvq_s32(vaddq_s32(vaddq_s32(a0, a1), vaddq_s32(a2, a3)));
}

void decode_rows(const TernaryView& w, int64_t r, int64_t nr, uint8_t* codes) {
  const int64_t k = w.k, nblk = k / 128;
  const uint8x16_t m3 = vdupq_n_u8(3);
  for (int64_t rr = 0; rr < kTileRows; ++rr) {
    uint8_t* c = codes + rr * k;
    if (rr >= nr) {
      std::memset(c, 1, static_cast<size_t>(k));
      continue;
    }
    const uint8_t* wr = w.data + (r + rr) * (k / 4);
    for (int64_t b = 0; b < nblk; ++b)
      for (int h = 0; h < 2; ++h) {
        const uint8x16_t x = vld1q_u8(wr + 32 * b + 16 * h);
        uint8_t* o = c + 128 * b + 16 * h;
        vst1q_u8(o, vshrq_n_u8(x, 6));
        vst1q_u8(o + 32, vandq_u8(vshrq_n_u8(x, 4), m3));
        vst1q_u8(o + 64, vandq_u8(vshrq_n_u8(x, 2), m3));
        vst1q_u8(o + 96, vandq_u8(x, m3));
      }
  }
}

}  // namespace

size_t gemm_i2s_i8_neondot_scratch(const TernaryView& w, int64_t n) {
  return static_cast<size_t>(kTileRows * w.k + 4 * n + 64);
}

void gemm_i2s_i8_neondot(const TernaryView& w, const int8_t* q, const float* s_a, int64_t n, float* y,
                         int64_t ldy, int64_t r0, int64_t r1, const uint8_t*, uint8_t* scratch) {
  if (w.k % 128 != 0 || (n > 1 && !scratch)) {
    gemm_i2s_i8_ref(w, q, s_a, n, y, ldy, r0, r1);
    return;
  }
  const int64_t k = w.k, nblk = k / 128;
  if (n == 1) {
    const int32_t sumq = sum_i8_neon_export(q, k);
    for (int64_t r = r0; r < r1; ++r) {
      const int32_t S = row_dot_dot(w.data + r * (k / 4), q, nblk) - sumq;
      y[r] = static_cast<float>(S) / s_a[0] * w.scale;
    }
    return;
  }
  uint8_t* codes = scratch;
  int32_t* sumq = reinterpret_cast<int32_t*>(scratch + kTileRows * k);
  for (int64_t i = 0; i < n; ++i) sumq[i] = sum_i8_neon_export(q + i * k, k);
  for (int64_t r = r0; r < r1; r += kTileRows) {
    const int64_t nr = r1 - r < kTileRows ? r1 - r : kTileRows;
    decode_rows(w, r, nr, codes);
    for (int64_t i = 0; i < n; i += kTileTokens) {
      const int64_t nt = n - i < kTileTokens ? n - i : kTileTokens;
      const int8_t* xp[kTileTokens];
      for (int64_t t = 0; t < kTileTokens; ++t) xp[t] = q + (i + (t < nt ? t : nt - 1)) * k;
      int32x4_t acc[kTileRows][kTileTokens];
      for (auto& row : acc)
        for (auto& a : row) a = vdupq_n_s32(0);
      for (int64_t j = 0; j < k; j += 16) {
        int8x16_t x[kTileTokens];
        for (int t = 0; t < kTileTokens; ++t) x[t] = vld1q_s8(xp[t] + j);
        for (int rr = 0; rr < kTileRows; ++rr) {
          const int8x16_t c = vreinterpretq_s8_u8(vld1q_u8(codes + rr * k + j));
          for (int t = 0; t < kTileTokens; ++t) acc[rr][t] = vdotq_s32(acc[rr][t], c, x[t]);
        }
      }
      for (int64_t rr = 0; rr < nr; ++rr)
        for (int64_t t = 0; t < nt; ++t) {
          const int32_t S = vaddvq_s32(acc[rr][t]) - sumq[i + t];
          y[(i + t) * ldy + r + rr] = static_cast<float>(S) / s_a[i + t] * w.scale;
        }
    }
  }
}

}  // namespace bitnet::cpu
