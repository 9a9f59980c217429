// AVX2 GEMM over decoded byte codes, shared by the I2_S kernel (codes decoded from the on-disk
// blocks) and the TL3 prompt path (codes decoded from the repacked tiles). Codes c = w + 1 in
// {0,1,2} (the unsigned operand of vpmaddubsw), activations int8 in the same K order, and
// S = sum(c*q) - sum(q) per (row, token), exact in int32.
//
// Register tile: 2 rows x 4 tokens (8 int16 accumulators, 2 code registers, each activation vector
// loaded once into a register and used for both rows: 6 loads and 16 ALU ops per 256
// multiply-adds). K is walked in chunks of at most 64 steps of 32 (2048 codes: the int16 limit),
// tokens in blocks of 4, and each block's activation chunk (<= 8 KiB) serves the 4 row pairs of an
// 8-row tile from L1 (8 rows measured ~10% faster than 4 at 2 threads).
#pragma once

#include "backends/cpu/x86/avx2_util.h"

namespace bitnet::cpu {
namespace {

// 2 rows x 4 tokens over `steps` 32-code steps: int16 sums of codes x activations. A separate flat
// loop function: that is what GCC 12 register-allocates without spills or moves.
__attribute__((noinline)) void tile_2x4(const uint8_t* c0p, const uint8_t* c1p, const int8_t* x0,
                                        const int8_t* x1, const int8_t* x2, const int8_t* x3, int64_t steps,
                                        __m256i* out) {
  __m256i a00 = _mm256_setzero_si256(), a01 = a00, a02 = a00, a03 = a00, a10 = a00, a11 = a00, a12 = a00,
          a13 = a00;
  for (int64_t j = 0; j < steps; ++j) {
    const int64_t o = 32 * j;
    const __m256i c0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(c0p + o));
    const __m256i c1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(c1p + o));
    const __m256i v0 = in_reg(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x0 + o)));
    add16(a00, _mm256_maddubs_epi16(c0, v0));
    add16(a10, _mm256_maddubs_epi16(c1, v0));
    const __m256i v1 = in_reg(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x1 + o)));
    add16(a01, _mm256_maddubs_epi16(c0, v1));
    add16(a11, _mm256_maddubs_epi16(c1, v1));
    const __m256i v2 = in_reg(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x2 + o)));
    add16(a02, _mm256_maddubs_epi16(c0, v2));
    add16(a12, _mm256_maddubs_epi16(c1, v2));
    const __m256i v3 = in_reg(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x3 + o)));
    add16(a03, _mm256_maddubs_epi16(c0, v3));
    add16(a13, _mm256_maddubs_epi16(c1, v3));
  }
  out[0] = a00;
  out[1] = a01;
  out[2] = a02;
  out[3] = a03;
  out[4] = a10;
  out[5] = a11;
  out[6] = a12;
  out[7] = a13;
}

constexpr int64_t kCodesTileRows = 8;
constexpr int64_t kCodesTileTokens = 4;

// Tokens per super-block: ~192 KiB of activations (of row_bytes each), so a block stays in the
// 512 KiB L2 while the tiles' row groups stream over it; a multiple of the register tile's 4.
inline int64_t codes_superblock_tokens(int64_t row_bytes) {
  const int64_t nb = (int64_t{192} << 10) / row_bytes / kCodesTileTokens * kCodesTileTokens;
  return nb < kCodesTileTokens ? kCodesTileTokens : nb;
}

// Scratch of gemm_codes_rows_avx2 for n tokens: int32 partial sums [n][8 rows][8 lanes].
inline size_t codes_rows_scratch_avx2(int64_t n) { return static_cast<size_t>(kCodesTileRows * n * 32); }

// Rows [r, r + nr) of y (nr <= 8) for n tokens from 8 rows of codes (row i at codes + i * kp; rows
// past nr are read but ignored; kp % 32 == 0, 32-byte aligned) and activations q (token i at
// q + i * ldq, kp codes each) with sumq[i] = sum of token i's activations.
inline void gemm_codes_rows_avx2(const uint8_t* codes, int64_t kp, int64_t nr, const int8_t* q, int64_t ldq,
                                 const int32_t* sumq, const float* s_a, int64_t n, CodesEpilogue epi, float* y,
                                 int64_t ldy, int64_t r, int32_t* s32) {
  const __m256i ones16 = _mm256_set1_epi16(1);
  const int64_t nsteps = kp / 32;
  // Equal chunks of at most 64 steps (K = 2560: 2 x 40, not 64 + 16).
  const int64_t nchunks = (nsteps + 63) / 64, chunk = (nsteps + nchunks - 1) / nchunks;
  for (int64_t j0 = 0; j0 < nsteps; j0 += chunk) {
    const int64_t j1 = j0 + chunk < nsteps ? j0 + chunk : nsteps;
    const bool first = j0 == 0;
    for (int64_t i = 0; i < n; i += kCodesTileTokens) {
      const int64_t nt = n - i < kCodesTileTokens ? n - i : kCodesTileTokens;
      const int8_t* xp[kCodesTileTokens];
      for (int64_t t = 0; t < kCodesTileTokens; ++t) xp[t] = q + (i + (t < nt ? t : nt - 1)) * ldq + 32 * j0;
      for (int64_t pr = 0; pr < nr; pr += 2) {
        alignas(32) __m256i a[8];
        tile_2x4(codes + pr * kp + 32 * j0, codes + (pr + 1) * kp + 32 * j0, xp[0], xp[1], xp[2], xp[3], j1 - j0, a);
        for (int rr = 0; rr < 2; ++rr)
          for (int64_t t = 0; t < nt; ++t) {
            __m256i* p = reinterpret_cast<__m256i*>(s32 + ((i + t) * kCodesTileRows + pr + rr) * 8);
            const __m256i v = _mm256_madd_epi16(a[rr * 4 + t], ones16);
            _mm256_store_si256(p, first ? v : _mm256_add_epi32(_mm256_load_si256(p), v));
          }
      }
      if (first)  // rows the tile does not compute: defined zeros for the 8-row epilogue
        for (int64_t rr = (nr + 1) / 2 * 2; rr < kCodesTileRows; ++rr)
          for (int64_t t = 0; t < nt; ++t)
            _mm256_store_si256(reinterpret_cast<__m256i*>(s32 + ((i + t) * kCodesTileRows + rr) * 8), _mm256_setzero_si256());
    }
  }
  // Epilogue per token: the 8 rows' sums at once (rows past nr are computed and dropped).
  for (int64_t t = 0; t < n; ++t) {
    const __m256i S = _mm256_sub_epi32(hsum8_epi32_avx2(reinterpret_cast<const __m256i*>(s32 + t * kCodesTileRows * 8)),
                                       _mm256_set1_epi32(sumq[t]));
    const __m256 v = epi(S, s_a[t]);
    float* yt = y + t * ldy + r;
    if (nr == kCodesTileRows) {
      _mm256_storeu_ps(yt, v);
    } else {
      alignas(32) float tmp[kCodesTileRows];
      _mm256_store_ps(tmp, v);
      for (int64_t rr = 0; rr < nr; ++rr) yt[rr] = tmp[rr];
    }
  }
}

}  // namespace
}  // namespace bitnet::cpu
