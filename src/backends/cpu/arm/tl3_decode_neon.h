// The TL3 prompt path on AArch64 (dot-product and I8MM tables): with n >= tl3::kDecodeMinTokens
// prepared tokens, each 16-row TL3 tile (tl3.h) is decoded once into bytes and a register-tiled
// sdot / smmla GEMM runs every token over it, instead of 16 table lookups per token and step.
//
// Decoder: per step and lane (16 rows x one group), the 4-bit magnitude index plus 15 for a
// negative group indexes a 32-entry vqtbl2q_u8 table per trit plane (entries 0..14: the plane's
// balanced-ternary digit t, 15..30: -t), so three lookups give the group's three weights for the
// 16 rows. sdot and smmla multiply signed bytes, so the tiles hold the weights w in {-1, 0, 1}
// themselves (not x86's codes w + 1, which vpmaddubsw needs as its unsigned operand): sums are
// S = sum(w * q) directly, exact in int32, and the prepared activation sums are not needed. The
// vectors (one byte per row) are then transposed in 16 x 16 byte blocks with vzip1q/vzip2q like
// x86's unpack stages, which leaves a unit's 96 positions in the x86 decoder's order
// (tl3::decoded_perm): tl3::prep_decoded's activations serve both ISAs unchanged. Padding
// positions (group 85's two slots, steps past the last block, the missing second chunk of the
// last unit, the tail up to decoded_row_bytes) meet activations that prep_decoded set to 0 and
// decode to 0 as well.
//
// Two layouts of the decoded tile (scratch, 16 * kp bytes, kp = tl3::decoded_row_bytes):
//   rows (sdot):       row r at codes + r * kp, positions in order.
//   row pairs (smmla): rows 2P, 2P+1 at codes + 2P * kp, in 16-byte groups [row 2P positions
//                      8g..8g+7 | row 2P+1 positions 8g..8g+7] at + 16g: smmla's 2 x 8 operand.
//                      It is the transpose's third stage, so it saves the fourth.
// Decode cost per unit (16 rows x 96 positions = 16 TL3 steps), instructions of the GCC 12 code:
// 4 chunk-lane lookups of 95 (per step 1 load, 3 index/sign ops, 3 vqtbl2q, 2 stores) and 6
// transposes of 8 load pairs + 64 (rows) or 48 (pairs) zips + 16 stores (~93 / ~77): ~960 / ~860,
// i.e. ~60 / ~54 per step, once per tile for all n tokens (n = 16: < 4 per step and token).
// Helpers are static / in an anonymous namespace: this header is included by translation units
// compiled with different -march flags (docs/kernels.md, the ODR trap).
#pragma once

#include <arm_neon.h>

#include <cstring>

#include "backends/cpu/arm/kernels_arm.h"
#include "backends/cpu/tl3.h"

namespace bitnet::cpu {
namespace {

// vqtbl2q_u8 tables of trit plane p: entry m (0..14) = digit p of the balanced-ternary m
// (tl3::canonical_trits; 14 unused), entry 15 + m (m = 0..15) = its negation, 31 unused.
struct Tl3SignedTrits {
  int8_t t[3][32];
};
constexpr Tl3SignedTrits make_tl3_signed_trits() {
  Tl3SignedTrits r{};
  for (int m = 0; m < 14; ++m) {
    int v = m;
    for (int p = 2; p >= 0; --p) {  // least significant digit (plane 2) first
      int d = v % 3;
      if (d == 2) d = -1;
      v = (v - d) / 3;
      r.t[p][m] = static_cast<int8_t>(d);
      r.t[p][15 + m] = static_cast<int8_t>(-d);
    }
  }
  return r;
}
alignas(16) constexpr Tl3SignedTrits kTl3SignedTrits = make_tl3_signed_trits();

// One 16 x 16 byte transpose in zip stages (x86's transpose16x16_epi8 with vzip1q/vzip2q).
// Full (kPairs false): y[r] byte i = x[i] byte r. kPairs: the first three stages only,
// y[2P + k] = [x[8k..8k+7] byte 2P | x[8k..8k+7] byte 2P+1], rows 2P and 2P+1 side by side.
template <bool kPairs>
inline void transpose16x16_u8(const uint8x16_t* x, uint8x16_t* y) {
  uint8x16_t a[16], b[16], c[16];
  // a[8h + i]: 16-bit unit r = (x[2i], x[2i+1]) at row 8h + r
  for (int i = 0; i < 8; ++i) {
    a[i] = vzip1q_u8(x[2 * i], x[2 * i + 1]);
    a[i + 8] = vzip2q_u8(x[2 * i], x[2 * i + 1]);
  }
  // b[4R + j]: 32-bit unit r = x[4j .. 4j+3] at row 4R + r
  for (int h = 0; h < 2; ++h)
    for (int j = 0; j < 4; ++j) {
      const uint16x8_t lo = vreinterpretq_u16_u8(a[8 * h + 2 * j]), hi = vreinterpretq_u16_u8(a[8 * h + 2 * j + 1]);
      b[8 * h + j] = vreinterpretq_u8_u16(vzip1q_u16(lo, hi));
      b[8 * h + 4 + j] = vreinterpretq_u8_u16(vzip2q_u16(lo, hi));
    }
  // c[2P + k]: 64-bit unit r = x[8k .. 8k+7] at row 2P + r
  uint8x16_t* out = kPairs ? y : c;
  for (int R = 0; R < 4; ++R)
    for (int k = 0; k < 2; ++k) {
      const uint32x4_t lo = vreinterpretq_u32_u8(b[4 * R + 2 * k]), hi = vreinterpretq_u32_u8(b[4 * R + 2 * k + 1]);
      out[4 * R + k] = vreinterpretq_u8_u32(vzip1q_u32(lo, hi));
      out[4 * R + 2 + k] = vreinterpretq_u8_u32(vzip2q_u32(lo, hi));
    }
  if constexpr (!kPairs)
    for (int P = 0; P < 8; ++P) {
      const uint64x2_t lo = vreinterpretq_u64_u8(c[2 * P]), hi = vreinterpretq_u64_u8(c[2 * P + 1]);
      y[2 * P] = vreinterpretq_u8_u64(vzip1q_u64(lo, hi));
      y[2 * P + 1] = vreinterpretq_u8_u64(vzip2q_u64(lo, hi));
    }
}

// The 16 x 3 trit vectors of one TL3 chunk (8 steps) and lane L (group 2 * step + L) for 16 rows:
// out[3 * step + plane], byte = row. A small function of its own: inlined into the unit loop, GCC 12
// reloads a table register pair before every vqtbl2q_u8.
__attribute__((noinline)) inline void decode_chunk_lane_neon(const uint8_t* ch, int L, uint8x16_t* out) {
  const auto* t = reinterpret_cast<const uint8_t*>(kTl3SignedTrits.t);
  const uint8x16x2_t T0 = vld1q_u8_x2(t), T1 = vld1q_u8_x2(t + 32), T2 = vld1q_u8_x2(t + 64);
  const uint8x16_t m0f = vdupq_n_u8(0x0f);
  const uint8x16_t sv = vld1q_u8(ch + 128 + 16 * L);
  for (int s = 0; s < 8; ++s) {
    const uint8x16_t x = vld1q_u8(ch + 32 * (s / 2) + 16 * L);
    const uint8x16_t mag = (s & 1) ? vshrq_n_u8(x, 4) : vandq_u8(x, m0f);
    // sign bit (7 - s): 0xff -> +15 (0xff >> 4), the negated half of the table
    const uint8x16_t idx = vsraq_n_u8(mag, vtstq_u8(sv, vdupq_n_u8(static_cast<uint8_t>(0x80 >> s))), 4);
    out[3 * s] = vqtbl2q_u8(T0, idx);
    out[3 * s + 1] = vqtbl2q_u8(T1, idx);
    out[3 * s + 2] = vqtbl2q_u8(T2, idx);
  }
}

// Weights of the 16 rows of tile `tp` into `codes` (16 * kp bytes, 16-byte aligned, the layout
// above); positions past the last unit get 0.
template <bool kPairs>
inline void decode_tl3_tile_neon(const tl3::Header& h, const uint8_t* tp, int64_t kp, int8_t* codes) {
  using namespace tl3;
  const int64_t units = decoded_units(h);
  for (int64_t u = 0; u < units; ++u) {
    // v[L][24 * chunk + 3 * step + plane]: plane of group 2 * step + L of the unit's chunk, byte = row
    // (x86's v[] with its two 128-bit lanes split).
    uint8x16_t v[2][48];
    for (int cc = 0; cc < 2; ++cc) {
      const int64_t c = 2 * u + cc;
      for (int L = 0; L < 2; ++L) {
        if (c < h.chunks) {
          decode_chunk_lane_neon(tp + c * kChunkBytes, L, v[L] + 24 * cc);
        } else {  // odd chunk count: the last unit's second chunk is padding
          for (int e = 0; e < 24; ++e) v[L][24 * cc + e] = vdupq_n_u8(0);
        }
      }
    }
    // Transpose u3 of lane L holds unit positions 32 * u3 + 16 * L + (0..15) (tl3::decoded_perm).
    for (int L = 0; L < 2; ++L)
      for (int u3 = 0; u3 < 3; ++u3) {
        uint8x16_t rows[16];
        transpose16x16_u8<kPairs>(v[L] + 16 * u3, rows);
        const int64_t o = kUnitCodes * u + 32 * u3 + 16 * L;
        for (int r = 0; r < 16; ++r) {
          // rows: row r at r * kp + o; pairs: rows[2P + k] at 2P * kp + 2 * (o + 8k)
          int8_t* dst = kPairs ? codes + (r & ~1) * kp + 2 * (o + 8 * (r & 1)) : codes + r * kp + o;
          vst1q_u8(reinterpret_cast<uint8_t*>(dst), rows[r]);
        }
      }
  }
  // Pairs: one 2 * kp span per pair holds both rows' positions.
  const int64_t span = kPairs ? 2 : 1, tail = span * units * kUnitCodes;
  for (int64_t r = 0; r < kRows; r += span)
    std::memset(codes + r * kp + tail, 0, static_cast<size_t>(span * kp - tail));
}

// Tokens per super-block: ~128 KiB of prepared activations, so a super-block plus the decoded tile
// (16 * kp, up to 110 KiB at K = 6912) fit a 256 KiB L2 while the tile's row groups stream over
// it; a multiple of the GEMMs' 4-token register tile. (Not tuned on ARM hardware.)
inline int64_t tl3_superblock_tokens_neon(int64_t kp) {
  const int64_t nb = (int64_t{128} << 10) / kp / 4 * 4;
  return nb < 4 ? 4 : nb;
}

// y for 4 consecutive rows of one token from their exact sums, rows [lo, hi) of the 4 stored:
// d * float(S) / s_a * scale (kIntSum: no d), lane by lane the lookup kernel's and the
// reference's operations, so the same bits.
inline void tl3_store_rows_neon(const tl3::Header& h, float scale, int32x4_t S, float s_a, float* y, int64_t lo,
                                int64_t hi) {
  float32x4_t v = vcvtq_f32_s32(S);
  if (!(h.flags & tl3::kIntSum)) v = vmulq_n_f32(v, h.d);
  v = vmulq_n_f32(vdivq_f32(v, vdupq_n_f32(s_a)), scale);
  if (lo == 0 && hi == 4) {
    vst1q_f32(y, v);
    return;
  }
  float tmp[4];
  vst1q_f32(tmp, v);
  for (int64_t r = lo; r < hi; ++r) y[r] = tmp[r];
}

// Decoded path for rows [r0, r1) and n tokens of prepared activations (tl3::prep_decoded). Dot is
// the register tile: Dot::kPairs picks the layout, Dot::kRows (a multiple of 4) rows x 4 tokens
// per call of Dot::run(codes of the group's first row, kp, 4 token pointers, S) with S[4 * g + t] = the
// sums of rows 4g..4g+3 for token t. Row groups start at multiples of kRows within the 16-row tile
// (rows outside [r0, r1) are computed and dropped), so they never leave the decoded tile.
template <class Dot>
void tl3_decoded_neon(const TernaryView& w, const uint8_t* prep, const float* s_a, int64_t n, float* y,
                      int64_t ldy, int64_t r0, int64_t r1, uint8_t* scratch) {
  using namespace tl3;
  const Header& h = header(w.packed);
  const DecodedPrep dp = decoded_prep(h, prep, n);
  const int64_t kp = dp.kp;
  int8_t* codes = reinterpret_cast<int8_t*>(scratch);
  const int64_t sb = tl3_superblock_tokens_neon(kp);
  for (int64_t t = r0 / kRows; t * kRows < r1; ++t) {
    const int64_t rb = t * kRows;
    const int64_t lo = r0 > rb ? r0 - rb : 0, hi = r1 < rb + kRows ? r1 - rb : kRows;  // rows in the tile
    decode_tl3_tile_neon<Dot::kPairs>(h, tile(w.packed, t), kp, codes);
    for (int64_t i0 = 0; i0 < n; i0 += sb) {
      const int64_t i1 = n < i0 + sb ? n : i0 + sb;
      for (int64_t g = lo / Dot::kRows * Dot::kRows; g < hi; g += Dot::kRows)
        for (int64_t i = i0; i < i1; i += 4) {
          const int64_t nt = i1 - i < 4 ? i1 - i : 4;
          const int8_t* x[4];
          for (int64_t k = 0; k < 4; ++k) x[k] = dp.acts + (i + (k < nt ? k : nt - 1)) * kp;
          int32x4_t S[Dot::kRows];
          Dot::run(codes + g * kp, kp, x, S);
          for (int64_t q = 0; q < Dot::kRows / 4; ++q) {
            const int64_t rq = g + 4 * q;  // first row of the quad in the tile
            const int64_t a = lo > rq ? lo - rq : 0, b = hi < rq + 4 ? hi - rq : 4;
            if (a >= b) continue;
            for (int64_t k = 0; k < nt; ++k)
              tl3_store_rows_neon(h, w.scale, S[4 * q + k], s_a[i + k], y + (i + k) * ldy + rb + rq, a, b);
          }
        }
    }
  }
}

// The TQ entry of the dot-product / I8MM tables: the decoded path for prompts (prep made by
// gemm_tl3_i8_neondot_prep), the baseline lookup kernel for fewer tokens, per-block scales
// (their own tables in scratch, as on x86) and calls without a preparation.
template <class Dot>
void gemm_tl3_decoding_neon(const TernaryView& w, const int8_t* q, const float* s_a, int64_t n, float* y,
                            int64_t ldy, int64_t r0, int64_t r1, const uint8_t* prep, uint8_t* scratch) {
  if (w.packed && prep && n >= tl3::kDecodeMinTokens) {
    if (scratch && !(tl3::header(w.packed).flags & tl3::kPerBlockScale)) {
      tl3_decoded_neon<Dot>(w, prep, s_a, n, y, ldy, r0, r1, scratch);
      return;
    }
    prep = nullptr;  // it holds decoded-order activations, not the lookup kernel's tables
  }
  gemm_tl3_i8_neon(w, q, s_a, n, y, ldy, r0, r1, prep, scratch);
}

}  // namespace
}  // namespace bitnet::cpu
