// AMX GEMM over decoded byte codes, shared by the I2_S and TL3 prompt paths of the `amx` table: the
// same integers as the vpdpbusd codes GEMM (gemm_codes_avx512.h): codes c = w + 1 in {0,1,2} are
// TDPBUSD's unsigned operand A (16 rows x 64 codes per tile, straight from the decoded rows),
// activations its signed operand B, S = sum(c*q) - sum(q) exact in int32, the same fp32 epilogue,
// so outputs are bit-identical to the other tables.
//
// B wants each 16-token x 64-activation block in VNNI order (tile row j = activations 4j..4j+3 of
// each of the 16 tokens), so the shared preparation (TernaryKernels::prep, once per call for all
// threads and reused by q/k/v and gate/up) scatters every token's activations into that order:
//   acts: for token block b (16 tokens, zero-padded past n), chunk c (64 activations):
//         1024 bytes at (b * nch + c) * 1024, byte 64j + 4t + i = activation 64c + 4j + i of token 16b + t
//   then the padded token count of int32 activation sums.
// Register blocking: tmm0..3 accumulate 32 rows x 32 tokens (2 x 2 tiles of 16 x 16), tmm4/5 hold
// two 16-row code tiles, tmm6/7 two token blocks: per 64-code step 4 tile loads, 4 TDPBUSD.
#pragma once

#include <algorithm>
#include <cstring>

#include "backends/cpu/x86/avx2_util.h"
#include "backends/cpu/x86/simd_amx.h"

namespace bitnet::cpu {
namespace {

// Prompts shorter than this take the AVX-512 kernels (one token block is 16 tokens).
constexpr int64_t kAmxMinTokens = 16;
// Rows decoded per code block: two 16-row A tiles.
constexpr int64_t kAmxRows = 32;

inline int64_t amx_padded_tokens(int64_t n) { return (n + 15) / 16 * 16; }
inline size_t amx_acts_size(int64_t kp, int64_t n) {
  return static_cast<size_t>(amx_padded_tokens(n) * (kp + 4));
}

struct AmxActs {
  int64_t kp, nch;
  const uint8_t* blocks;
  const int32_t* sumq;
};
inline AmxActs amx_acts(const uint8_t* prep, int64_t kp, int64_t n) {
  return {kp, kp / 64, prep, reinterpret_cast<const int32_t*>(prep + amx_padded_tokens(n) * kp)};
}

// Token i's kp activations (kp % 64 == 0; row == nullptr: a zero padding token) and their sum into
// the layout above.
inline void amx_pack_token(const int8_t* row, int64_t kp, int64_t n, int64_t i, int32_t sum, uint8_t* out) {
  const int64_t nch = kp / 64;
  uint8_t* blk = out + (i / 16) * nch * 1024 + 4 * (i % 16);
  for (int64_t c = 0; c < nch; ++c)
    for (int j = 0; j < 16; ++j) {
      uint32_t v = 0;
      if (row) std::memcpy(&v, row + 64 * c + 4 * j, 4);
      std::memcpy(blk + c * 1024 + 64 * j, &v, 4);
    }
  reinterpret_cast<int32_t*>(out + amx_padded_tokens(n) * kp)[i] = sum;
}

// Loads the tile configuration for this thread on construction, releases the tile state (so
// context switches do not save 8 KiB of it) on destruction.
struct AmxTiles {
  AmxTiles() {
    static const AmxTileConfig cfg;
    // GCC's _tile_loadconfig tells the compiler it reads 8 bytes only; the barrier makes sure the
    // whole (static, already initialised) configuration is in memory first.
    asm volatile("" ::: "memory");
    _tile_loadconfig(&cfg);
  }
  ~AmxTiles() { _tile_release(); }
  AmxTiles(const AmxTiles&) = delete;
  AmxTiles& operator=(const AmxTiles&) = delete;
};

// In place: r[j] = column j of the 16 x 16 int32 matrix whose rows were r[0..15].
inline void transpose16x16_epi32(__m512i* r) {
  __m512i t[16], u[16];
  for (int i = 0; i < 8; ++i) {  // t[2i], t[2i+1]: rows 2i, 2i+1 interleaved per 128-bit lane
    t[2 * i] = _mm512_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
  }
  for (int g = 0; g < 4; ++g) {  // u[4g + c], lane l: rows 4g..4g+3, element 4l + c
    u[4 * g + 0] = _mm512_unpacklo_epi64(t[4 * g], t[4 * g + 2]);
    u[4 * g + 1] = _mm512_unpackhi_epi64(t[4 * g], t[4 * g + 2]);
    u[4 * g + 2] = _mm512_unpacklo_epi64(t[4 * g + 1], t[4 * g + 3]);
    u[4 * g + 3] = _mm512_unpackhi_epi64(t[4 * g + 1], t[4 * g + 3]);
  }
  for (int c = 0; c < 4; ++c) {  // column 4l + c = lane l of u[c], u[4 + c], u[8 + c], u[12 + c]
    const __m512i x0 = _mm512_shuffle_i32x4(u[c], u[4 + c], 0x44), x1 = _mm512_shuffle_i32x4(u[c], u[4 + c], 0xee);
    const __m512i y0 = _mm512_shuffle_i32x4(u[8 + c], u[12 + c], 0x44);
    const __m512i y1 = _mm512_shuffle_i32x4(u[8 + c], u[12 + c], 0xee);
    r[c] = _mm512_shuffle_i32x4(x0, y0, 0x88);
    r[4 + c] = _mm512_shuffle_i32x4(x0, y0, 0xdd);
    r[8 + c] = _mm512_shuffle_i32x4(x1, y1, 0x88);
    r[12 + c] = _mm512_shuffle_i32x4(x1, y1, 0xdd);
  }
}

// One stored 16 x 16 accumulator tile (c[m][t]: row m, token t) to y (row m of token t at
// y + t * ldy + m): rows in [m0, m1), nt tokens.
inline void amx_epilogue(const int32_t* c, int64_t m0, int64_t m1, int64_t nt, const int32_t* sumq, const float* s_a,
                         const CodesEpilogue& epi, float* y, int64_t ldy) {
  __m512i v[16];
  for (int m = 0; m < 16; ++m) v[m] = _mm512_load_si512(c + 16 * m);
  transpose16x16_epi32(v);  // v[t]: the 16 rows of token t
  const __mmask16 keep = static_cast<__mmask16>(((1u << m1) - 1) & ~((1u << m0) - 1));
  for (int64_t t = 0; t < nt; ++t) {
    // The same IEEE operations as CodesEpilogue, lane by lane: the same bits as every other table.
    __m512 f = _mm512_cvtepi32_ps(_mm512_sub_epi32(v[t], _mm512_set1_epi32(sumq[t])));
    if (epi.mul_d) f = _mm512_mul_ps(_mm512_set1_ps(epi.d), f);
    f = _mm512_mul_ps(_mm512_div_ps(f, _mm512_set1_ps(s_a[t])), _mm512_set1_ps(epi.scale));
    _mm512_mask_storeu_ps(y + t * ldy, keep, f);
  }
}

// The K loop of one register block: tmm0 += codes rows 0-15 x token block 0, and with kTwoTok /
// kTwoRows also tmm1 (rows 0-15 x tokens 16-31), tmm2 (rows 16-31 x tokens 0-15), tmm3 (both second
// halves). Tile numbers are part of the instructions, hence one instantiation per shape.
template <bool kTwoTok, bool kTwoRows>
inline void amx_steps(const uint8_t* c0, const uint8_t* c1, const uint8_t* b0, const uint8_t* b1, int64_t kp,
                      int64_t nch) {
  for (int64_t c = 0; c < nch; ++c) {
    _tile_loadd(4, c0 + 64 * c, kp);
    _tile_loadd(6, b0 + 1024 * c, 64);
    _tile_dpbusd(0, 4, 6);
    if constexpr (kTwoTok) {
      _tile_loadd(7, b1 + 1024 * c, 64);
      _tile_dpbusd(1, 4, 7);
    }
    if constexpr (kTwoRows) {
      _tile_loadd(5, c1 + 64 * c, kp);
      _tile_dpbusd(2, 5, 6);
      if constexpr (kTwoTok) _tile_dpbusd(3, 5, 7);
    }
  }
}

// Rows [r + lo, r + hi) of y (0 <= lo < hi <= 32) for n tokens from a block of 32 code rows (row m at
// codes + m * kp, 64-byte aligned, kp % 64 == 0; all 32 readable when hi > 16, else the first 16).
// Needs AmxTiles.
inline void gemm_codes_rows_amx(const uint8_t* codes, int64_t lo, int64_t hi, const AmxActs& a, const float* s_a,
                                int64_t n, const CodesEpilogue& epi, float* y, int64_t ldy, int64_t r) {
  const int64_t kp = a.kp, nch = a.nch, nblk = (n + 15) / 16;
  const uint8_t* c0 = codes;
  const uint8_t* c1 = codes + 16 * kp;
  const bool two_rows = hi > 16;
  alignas(64) int32_t acc[4][256];  // [2 * row tile + token block][16 rows x 16 tokens]
  // The codes were just written by plain stores; the tile loads' asm does not say it reads them.
  asm volatile("" ::: "memory");
  for (int64_t b = 0; b < nblk; b += 2) {
    const bool two = b + 1 < nblk;
    const uint8_t* b0 = a.blocks + b * nch * 1024;
    const uint8_t* b1 = b0 + nch * 1024;
    _tile_zero(0);
    _tile_zero(1);
    _tile_zero(2);
    _tile_zero(3);
    if (two && two_rows) amx_steps<true, true>(c0, c1, b0, b1, kp, nch);
    else if (two) amx_steps<true, false>(c0, c1, b0, b1, kp, nch);
    else if (two_rows) amx_steps<false, true>(c0, c1, b0, b1, kp, nch);
    else amx_steps<false, false>(c0, c1, b0, b1, kp, nch);
    _tile_stored(0, acc[0], 64);
    _tile_stored(1, acc[1], 64);
    _tile_stored(2, acc[2], 64);
    _tile_stored(3, acc[3], 64);
    for (int tb = 0; tb < (two ? 2 : 1); ++tb) {
      const int64_t i = 16 * (b + tb), nt = n - i < 16 ? n - i : 16;
      for (int64_t rt = 0; rt < 2; ++rt) {
        const int64_t m0 = std::max<int64_t>(lo - 16 * rt, 0), m1 = std::min<int64_t>(hi - 16 * rt, 16);
        if (m0 < m1)
          amx_epilogue(acc[2 * rt + tb], m0, m1, nt, a.sumq + i, s_a + i, epi, y + i * ldy + r + 16 * rt, ldy);
      }
    }
  }
}

}  // namespace
}  // namespace bitnet::cpu
