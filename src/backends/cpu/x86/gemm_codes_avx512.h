// AVX-512 VNNI GEMM over decoded byte codes, shared by the I2_S kernel and the TL3 prompt path
// (codes c = w + 1 in {0,1,2} as vpdpbusd's unsigned operand, activations int8 in the same K
// order, S = sum(c*q) - sum(q) exact in int32; see gemm_codes_avx2.h for the AVX2 version).
// Register tile: 4 rows x 4 tokens, 16 int32 accumulators as named locals (an array indexed in the
// loop, or one passed by reference to the asm, lives in memory), codes and activations loaded once
// per 64-code step into registers, vpdpbusd through bitnet_dpbusd so GCC keeps the accumulators in
// registers (1.4-1.9x over the intrinsic form).
#pragma once

#include "backends/cpu/x86/avx2_util.h"
#include "backends/cpu/x86/simd_avx512.h"

namespace bitnet::cpu {
namespace {

// out[4 * row + token] over `steps` 64-code steps; rows at c0p + i * kp.
__attribute__((noinline)) void tile_4x4(const uint8_t* codes, int64_t kp, const int8_t* const* xp, int64_t steps,
                                        __m512i* out) {
  __m512i a00 = _mm512_setzero_si512(), a01 = a00, a02 = a00, a03 = a00, a10 = a00, a11 = a00, a12 = a00,
          a13 = a00, a20 = a00, a21 = a00, a22 = a00, a23 = a00, a30 = a00, a31 = a00, a32 = a00, a33 = a00;
  const uint8_t *c0p = codes, *c1p = codes + kp, *c2p = codes + 2 * kp, *c3p = codes + 3 * kp;
  const int8_t *x0p = xp[0], *x1p = xp[1], *x2p = xp[2], *x3p = xp[3];
  for (int64_t j = 0; j < steps; ++j) {
    const int64_t o = 64 * j;
    const __m512i x0 = _mm512_loadu_si512(x0p + o), x1 = _mm512_loadu_si512(x1p + o);
    const __m512i x2 = _mm512_loadu_si512(x2p + o), x3 = _mm512_loadu_si512(x3p + o);
    const __m512i c0 = _mm512_load_si512(c0p + o);
    bitnet_dpbusd(a00, c0, x0);
    bitnet_dpbusd(a01, c0, x1);
    bitnet_dpbusd(a02, c0, x2);
    bitnet_dpbusd(a03, c0, x3);
    const __m512i c1 = _mm512_load_si512(c1p + o);
    bitnet_dpbusd(a10, c1, x0);
    bitnet_dpbusd(a11, c1, x1);
    bitnet_dpbusd(a12, c1, x2);
    bitnet_dpbusd(a13, c1, x3);
    const __m512i c2 = _mm512_load_si512(c2p + o);
    bitnet_dpbusd(a20, c2, x0);
    bitnet_dpbusd(a21, c2, x1);
    bitnet_dpbusd(a22, c2, x2);
    bitnet_dpbusd(a23, c2, x3);
    const __m512i c3 = _mm512_load_si512(c3p + o);
    bitnet_dpbusd(a30, c3, x0);
    bitnet_dpbusd(a31, c3, x1);
    bitnet_dpbusd(a32, c3, x2);
    bitnet_dpbusd(a33, c3, x3);
  }
  out[0] = a00, out[1] = a01, out[2] = a02, out[3] = a03, out[4] = a10, out[5] = a11, out[6] = a12, out[7] = a13;
  out[8] = a20, out[9] = a21, out[10] = a22, out[11] = a23, out[12] = a30, out[13] = a31, out[14] = a32, out[15] = a33;
}

// Rows [r, r + nr) of y for n tokens from codes (row i at codes + i * kp, 64-byte aligned,
// kp % 64 == 0; rows up to the next multiple of 4 past nr are read but ignored) and activations q
// (token i at q + i * ldq) with sumq[i] = sum of token i's activations. Tokens are the outer loop so
// a 4-token activation block serves all the row groups while it is in L1/L2.
inline void gemm_codes_rows_avx512(const uint8_t* codes, int64_t kp, int64_t nr, const int8_t* q, int64_t ldq,
                                   const int32_t* sumq, const float* s_a, int64_t n, CodesEpilogue epi, float* y,
                                   int64_t ldy, int64_t r) {
  const int64_t nsteps = kp / 64;
  for (int64_t i = 0; i < n; i += 4) {
    const int64_t nt = n - i < 4 ? n - i : 4;
    const int8_t* xp[4];
    for (int64_t t = 0; t < 4; ++t) xp[t] = q + (i + (t < nt ? t : nt - 1)) * ldq;
    for (int64_t g = 0; g < nr; g += 4) {
      alignas(64) __m512i acc[4][4];
      tile_4x4(codes + g * kp, kp, xp, nsteps, &acc[0][0]);
      for (int64_t t = 0; t < nt; ++t) {  // the 4 rows of token t at once: one vdivps per 4 outputs
        __m256i h[4];
        for (int rr = 0; rr < 4; ++rr)
          h[rr] = _mm256_add_epi32(_mm512_castsi512_si256(acc[rr][t]), _mm512_extracti64x4_epi64(acc[rr][t], 1));
        const __m128i S = _mm_sub_epi32(hsum4_epi32_avx2(h[0], h[1], h[2], h[3]), _mm_set1_epi32(sumq[i + t]));
        const __m128 v = epi(S, s_a[i + t]);
        float* yt = y + (i + t) * ldy + r + g;
        if (g + 4 <= nr) {
          _mm_storeu_ps(yt, v);
        } else {
          alignas(16) float tmp[4];
          _mm_store_ps(tmp, v);
          for (int64_t rr = 0; g + rr < nr; ++rr) yt[rr] = tmp[rr];
        }
      }
    }
  }
}

}  // namespace
}  // namespace bitnet::cpu
