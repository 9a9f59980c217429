// TL3 (tl3.h) x int8 GEMV / GEMM with baseline AArch64 NEON: the 16-entry lookups are vqtbl1q_u8
// (one 16-byte lane per group, exactly the TL3 tile shape), the sign a vtstq_u8 mask applied with
// veorq_u8 (-T-1, the +1 in the stored corr), low/high byte planes joined into int16 with
// vzip1q/vzip2q. Tables use the AVX2 layout (tl3.h) and are built with vmulq/vmlaq_n_s16.
#include <arm_neon.h>

#include <cstring>

#include "backends/cpu/arm/kernels_arm.h"
#include "backends/cpu/tl3.h"

namespace bitnet::cpu {
namespace {

using namespace tl3;

constexpr int64_t kMaxTokens = 4;

// Coefficients of a0, a1, a2 for table entries 0..15 (entries 14, 15 are 0).
alignas(16) const int16_t kT0[16] = {0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0};
alignas(16) const int16_t kT1[16] = {0, 0, 1, 1, 1, -1, -1, -1, 0, 0, 0, 1, 1, 1, 0, 0};
alignas(16) const int16_t kT2[16] = {0, 1, -1, 0, 1, -1, 0, 1, -1, 0, 1, -1, 0, 1, 0, 0};

void build_block_neon(const Header& h, const int8_t* q, int64_t b, uint8_t* table) {
  const int16x8_t t0a = vld1q_s16(kT0), t0b = vld1q_s16(kT0 + 8);
  const int16x8_t t1a = vld1q_s16(kT1), t1b = vld1q_s16(kT1 + 8);
  const int16x8_t t2a = vld1q_s16(kT2), t2b = vld1q_s16(kT2 + 8);
  const int8_t* qb = q + b * kBlock;
  for (int64_t g = 0; g < kGroupsPerBlock; ++g) {
    const int16_t a0 = qb[3 * g], a1 = g < 85 ? qb[3 * g + 1] : 0, a2 = g < 85 ? qb[3 * g + 2] : 0;
    const int16x8_t ea = vmlaq_n_s16(vmlaq_n_s16(vmulq_n_s16(t0a, a0), t1a, a1), t2a, a2);
    const int16x8_t eb = vmlaq_n_s16(vmlaq_n_s16(vmulq_n_s16(t0b, a0), t1b, a1), t2b, a2);
    const uint8x16_t ua = vreinterpretq_u8_s16(ea), ub = vreinterpretq_u8_s16(eb);
    uint8_t* tb = table + (b * kStepsPerBlock + g / 2) * kTableBytesPerStep + (g & 1) * 16;
    vst1q_u8(tb, vuzp1q_u8(ua, ub));       // low bytes of entries 0..15
    vst1q_u8(tb + 32, vuzp2q_u8(ua, ub));  // high bytes
  }
  if (b == h.nb - 1) {
    const int64_t s0 = h.nb * kStepsPerBlock, s1 = h.chunks * kStepsPerChunk;
    std::memset(table + s0 * kTableBytesPerStep, 0, static_cast<size_t>((s1 - s0) * kTableBytesPerStep));
  }
}

template <int NB>
void tl3_tiles_neon(const TernaryView& w, const uint8_t* tables, const float* s_a, float* y, int64_t ldy,
                    int64_t r0, int64_t r1) {
  const Header& h = header(w.packed);
  const int64_t tb = table_bytes(h);
  const bool int_sum = h.flags & kIntSum;
  const bool per_block = h.flags & kPerBlockScale;
  const uint8x16_t m0f = vdupq_n_u8(0x0f);
  for (int64_t t = r0 / kRows; t * kRows < r1; ++t) {
    const uint8_t* tp = tile(w.packed, t);
    const uint8_t* corr = tile_corr(h, tp);
    const float* scales = tile_scales(h, tp);
    // acc[i][0..3]: int16 x 8 for (rows 0-7, rows 8-15) x (lane 0, lane 1)
    int16x8_t acc[NB][4];
    int32x4_t isum[NB][4];
    float32x4_t fsum[NB][4];
    for (int i = 0; i < NB; ++i)
      for (int j = 0; j < 4; ++j) {
        acc[i][j] = vdupq_n_s16(0);
        isum[i][j] = vdupq_n_s32(0);
        fsum[i][j] = vdupq_n_f32(0);
      }
    int64_t next_flush = kStepsPerBlock, b = 0;
    auto flush = [&]() {
      for (int i = 0; i < NB; ++i) {
        // rows 0-7 = acc[0] + acc[1] (lanes), rows 8-15 = acc[2] + acc[3]
        int32x4_t s[4] = {vaddl_s16(vget_low_s16(acc[i][0]), vget_low_s16(acc[i][1])),
                          vaddl_high_s16(acc[i][0], acc[i][1]),
                          vaddl_s16(vget_low_s16(acc[i][2]), vget_low_s16(acc[i][3])),
                          vaddl_high_s16(acc[i][2], acc[i][3])};
        if (per_block) {
          const uint8x16_t c8 = vld1q_u8(corr + b * kRows);
          const uint16x8_t c16a = vmovl_u8(vget_low_u8(c8)), c16b = vmovl_high_u8(c8);
          const int32x4_t cc[4] = {vreinterpretq_s32_u32(vmovl_u16(vget_low_u16(c16a))),
                                   vreinterpretq_s32_u32(vmovl_high_u16(c16a)),
                                   vreinterpretq_s32_u32(vmovl_u16(vget_low_u16(c16b))),
                                   vreinterpretq_s32_u32(vmovl_high_u16(c16b))};
          for (int j = 0; j < 4; ++j) {
            const float32x4_t d = vld1q_f32(scales + b * kRows + 4 * j);
            fsum[i][j] = vaddq_f32(fsum[i][j], vmulq_f32(d, vcvtq_f32_s32(vaddq_s32(s[j], cc[j]))));
          }
        } else {
          for (int j = 0; j < 4; ++j) isum[i][j] = vaddq_s32(isum[i][j], s[j]);
        }
        for (int j = 0; j < 4; ++j) acc[i][j] = vdupq_n_s16(0);
      }
      ++b;
      next_flush += kStepsPerBlock;
    };
    for (int64_t c = 0; c < h.chunks; ++c) {
      const uint8_t* ch = tp + c * kChunkBytes;
      const uint8x16_t sv0 = vld1q_u8(ch + 128), sv1 = vld1q_u8(ch + 144);
      for (int p = 0; p < 4; ++p) {
        const uint8x16_t x0 = vld1q_u8(ch + 32 * p), x1 = vld1q_u8(ch + 32 * p + 16);
        for (int half = 0; half < 2; ++half) {
          const int64_t s = c * kStepsPerChunk + 2 * p + half;
          const uint8x16_t i0 = half ? vshrq_n_u8(x0, 4) : vandq_u8(x0, m0f);
          const uint8x16_t i1 = half ? vshrq_n_u8(x1, 4) : vandq_u8(x1, m0f);
          const uint8x16_t bit = vdupq_n_u8(static_cast<uint8_t>(0x80 >> (2 * p + half)));
          const uint8x16_t n0 = vtstq_u8(sv0, bit), n1 = vtstq_u8(sv1, bit);
          for (int i = 0; i < NB; ++i) {
            const uint8_t* tt = tables + i * tb + s * kTableBytesPerStep;
            const uint8x16_t lo0 = veorq_u8(vqtbl1q_u8(vld1q_u8(tt), i0), n0);
            const uint8x16_t lo1 = veorq_u8(vqtbl1q_u8(vld1q_u8(tt + 16), i1), n1);
            const uint8x16_t hi0 = veorq_u8(vqtbl1q_u8(vld1q_u8(tt + 32), i0), n0);
            const uint8x16_t hi1 = veorq_u8(vqtbl1q_u8(vld1q_u8(tt + 48), i1), n1);
            acc[i][0] = vaddq_s16(acc[i][0], vreinterpretq_s16_u8(vzip1q_u8(lo0, hi0)));
            acc[i][1] = vaddq_s16(acc[i][1], vreinterpretq_s16_u8(vzip1q_u8(lo1, hi1)));
            acc[i][2] = vaddq_s16(acc[i][2], vreinterpretq_s16_u8(vzip2q_u8(lo0, hi0)));
            acc[i][3] = vaddq_s16(acc[i][3], vreinterpretq_s16_u8(vzip2q_u8(lo1, hi1)));
          }
          if (s + 1 == next_flush) flush();
        }
      }
    }
    const int64_t rb = t * kRows;
    const int64_t lo_r = r0 > rb ? r0 : rb, hi_r = r1 < rb + kRows ? r1 : rb + kRows;
    const int16_t* rc = tile_row_corr(h, tp);
    for (int i = 0; i < NB; ++i) {
      float out[kRows];
      for (int j = 0; j < 4; ++j) {
        float32x4_t v;
        if (per_block) {
          v = fsum[i][j];
        } else {
          const int32x4_t S = vaddq_s32(isum[i][j], vmovl_s16(vld1_s16(rc + 4 * j)));
          v = vcvtq_f32_s32(S);
          if (!int_sum) v = vmulq_n_f32(v, h.d);
        }
        v = vmulq_n_f32(vdivq_f32(v, vdupq_n_f32(s_a[i])), w.scale);
        vst1q_f32(out + 4 * j, v);
      }
      for (int64_t r = lo_r; r < hi_r; ++r) y[i * ldy + r] = out[r - rb];
    }
  }
}

}  // namespace

size_t gemm_tl3_i8_neon_scratch(const TernaryView& w, int64_t n) {
  const int64_t nt = n < kMaxTokens ? n : kMaxTokens;
  return nt * scratch_size_generic(w, 1);
}

void gemm_tl3_i8_neon_prep(const TernaryView& w, const int8_t* q, int64_t n, int64_t u0, int64_t u1, uint8_t* out) {
  const Header& h = header(w.packed);
  for (int64_t u = u0; u < u1; ++u) build_block_neon(h, q + (u / h.nb) * w.k, u % h.nb, out + (u / h.nb) * table_bytes(h));
}

void gemm_tl3_i8_neon(const TernaryView& w, const int8_t* q, const float* s_a, int64_t n, float* y, int64_t ldy,
                      int64_t r0, int64_t r1, const uint8_t* prep, uint8_t* scratch) {
  if (!w.packed || (!prep && !scratch)) {
    gemm_unpacked_ref(w, q, s_a, n, y, ldy, r0, r1);
    return;
  }
  const Header& h = header(w.packed);
  const int64_t tb = table_bytes(h);
  for (int64_t i = 0; i < n; i += kMaxTokens) {
    const int64_t nt = n - i < kMaxTokens ? n - i : kMaxTokens;
    const uint8_t* tables = prep ? prep + i * tb : scratch;
    if (!prep)
      for (int64_t t = 0; t < nt; ++t)
        for (int64_t b = 0; b < h.nb; ++b) build_block_neon(h, q + (i + t) * w.k, b, scratch + t * tb);
    float* yi = y + i * ldy;
    switch (nt) {
      case 1: tl3_tiles_neon<1>(w, tables, s_a + i, yi, ldy, r0, r1); break;
      case 2: tl3_tiles_neon<2>(w, tables, s_a + i, yi, ldy, r0, r1); break;
      case 3: tl3_tiles_neon<3>(w, tables, s_a + i, yi, ldy, r0, r1); break;
      default: tl3_tiles_neon<4>(w, tables, s_a + i, yi, ldy, r0, r1); break;
    }
  }
}

}  // namespace bitnet::cpu
