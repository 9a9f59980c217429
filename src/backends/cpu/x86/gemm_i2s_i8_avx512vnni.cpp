// I2_S x int8 GEMV / GEMM with AVX-512 VNNI (vpdpbusd: u8 codes x s8 activations accumulated
// straight into int32, so no int16 overflow bookkeeping), reading the on-disk layout in place.
// GEMV: a 64-byte load holds two 128-weight blocks; field g of both blocks multiplies activations
// [128b + 32g, +32) and [128(b+1) + 32g, +32), which are pre-permuted once per call into scratch so
// every vpdpbusd reads one aligned 64-byte activation vector. 256 weights = 1 load, 3 shifts, 4 ands,
// 4 vpdpbusd. GEMM: 4 decoded rows x 4 tokens register tile (16 int32 accumulators as named locals,
// vpdpbusd through bitnet_dpbusd so GCC keeps them in registers: 1.4-1.9x over the intrinsic form).
// Outputs are bit-identical to the reference (exact S = sum(c*q) - sum(q), same fp32 epilogue).

// GCC 12's avx512fintrin.h trips -W(maybe-)uninitialized inside _mm512_cast*/reduce intrinsics
// (a known false positive of its "undefined" vector idiom).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "backends/cpu/x86/simd_avx512.h"
#include "backends/cpu/x86/avx2_util.h"
#include "backends/cpu/x86/kernels_x86.h"

namespace bitnet::cpu {
namespace {

constexpr int64_t kTileRows = 4;
constexpr int64_t kTileTokens = 4;

// Software prefetch distance of the GEMV weight stream, as in the AVX2 kernel: without it this GEMV
// ran generation ~20% slower than the AVX2 table (which prefetches) on a 2-core Xeon (Sapphire
// Rapids class) slice.
constexpr int64_t kPrefetchBytes = 4096;

inline int32_t reduce512(__m512i v) {
  return hsum_epi32_avx2(_mm256_add_epi32(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64(v, 1)));
}

// qp[256p + 64g .. +64] = q[256p + 32g .. +32] ++ q[256p + 128 + 32g .. +32] for whole pairs.
void permute_acts(const int8_t* q, int64_t k, int8_t* qp) {
  const int64_t npair = k / 256;
  for (int64_t p = 0; p < npair; ++p)
    for (int g = 0; g < 4; ++g) {
      const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + 256 * p + 32 * g));
      const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + 256 * p + 128 + 32 * g));
      _mm512_store_si512(qp + 256 * p + 64 * g, _mm512_inserti64x4(_mm512_castsi256_si512(a), b, 1));
    }
}

void gemv_i2s_avx512(const TernaryView& w, const int8_t* q, float s_a, float* y, int64_t r0, int64_t r1,
                     int8_t* qp) {
  const int64_t k = w.k, nblk = k / 128, npair = nblk / 2;
  permute_acts(q, k, qp);
  const int32_t sumq = sum_i8_avx2(q, k);
  const __m512i m3 = _mm512_set1_epi8(3);
  const __m256i m3y = _mm256_set1_epi8(3);
  for (int64_t r = r0; r < r1; ++r) {
    const uint8_t* wr = w.data + r * (k / 4);
    __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
    for (int64_t p = 0; p < npair; ++p) {
      _mm_prefetch(reinterpret_cast<const char*>(wr + 64 * p + kPrefetchBytes), _MM_HINT_T0);
      const __m512i x = _mm512_loadu_si512(wr + 64 * p);
      const int8_t* qq = qp + 256 * p;
      bitnet_dpbusd(a0, _mm512_and_si512(_mm512_srli_epi16(x, 6), m3), _mm512_load_si512(qq));
      bitnet_dpbusd(a1, _mm512_and_si512(_mm512_srli_epi16(x, 4), m3), _mm512_load_si512(qq + 64));
      bitnet_dpbusd(a2, _mm512_and_si512(_mm512_srli_epi16(x, 2), m3), _mm512_load_si512(qq + 128));
      bitnet_dpbusd(a3, _mm512_and_si512(x, m3), _mm512_load_si512(qq + 192));
    }
    int32_t S = reduce512(_mm512_add_epi32(_mm512_add_epi32(a0, a1), _mm512_add_epi32(a2, a3)));
    if (nblk & 1) {  // a last single 128-block
      const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wr + 64 * npair));
      const int8_t* qb = q + 128 * (nblk - 1);
      __m256i b = _mm256_setzero_si256();
      b = _mm256_dpbusd_epi32(b, _mm256_and_si256(_mm256_srli_epi16(x, 6), m3y), _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qb)));
      b = _mm256_dpbusd_epi32(b, _mm256_and_si256(_mm256_srli_epi16(x, 4), m3y), _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qb + 32)));
      b = _mm256_dpbusd_epi32(b, _mm256_and_si256(_mm256_srli_epi16(x, 2), m3y), _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qb + 64)));
      b = _mm256_dpbusd_epi32(b, _mm256_and_si256(x, m3y), _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qb + 96)));
      S += hsum_epi32_avx2(b);
    }
    S -= sumq;
    y[r] = static_cast<float>(S) / s_a * w.scale;
  }
}

// 4 rows x 4 tokens over `steps` 64-weight steps: 16 int32 accumulators as named locals (an
// array indexed in the loop, or one passed by reference to the asm, lives in memory), codes and
// activations loaded once per step into registers; out[4 * row + token].
__attribute__((noinline)) void tile_4x4(const uint8_t* codes, int64_t k, const int8_t* const* xp, int64_t steps,
                                        __m512i* out) {
  __m512i a00 = _mm512_setzero_si512(), a01 = a00, a02 = a00, a03 = a00, a10 = a00, a11 = a00, a12 = a00,
          a13 = a00, a20 = a00, a21 = a00, a22 = a00, a23 = a00, a30 = a00, a31 = a00, a32 = a00, a33 = a00;
  const uint8_t *c0p = codes, *c1p = codes + k, *c2p = codes + 2 * k, *c3p = codes + 3 * k;
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

void gemm_i2s_tiles_avx512(const TernaryView& w, const int8_t* q, const float* s_a, int64_t n, float* y,
                           int64_t ldy, int64_t r0, int64_t r1, uint8_t* scratch) {
  const int64_t k = w.k;
  uint8_t* codes = scratch;
  int32_t* sumq = reinterpret_cast<int32_t*>(scratch + kTileRows * k);
  for (int64_t i = 0; i < n; ++i) sumq[i] = sum_i8_avx2(q + i * k, k);
  const int64_t nsteps = k / 64;
  for (int64_t r = r0; r < r1; r += kTileRows) {
    const int64_t nr = r1 - r < kTileRows ? r1 - r : kTileRows;
    decode_i2s_rows_avx2(w.data, k, r, nr, kTileRows, codes);
    for (int64_t i = 0; i < n; i += kTileTokens) {
      const int64_t nt = n - i < kTileTokens ? n - i : kTileTokens;
      const int8_t* xp[kTileTokens];
      for (int64_t t = 0; t < kTileTokens; ++t) xp[t] = q + (i + (t < nt ? t : nt - 1)) * k;
      alignas(64) __m512i acc[kTileRows][kTileTokens];
      tile_4x4(codes, k, xp, nsteps, &acc[0][0]);
      for (int64_t rr = 0; rr < nr; ++rr) {  // the 4 tokens' sums of a row at once
        __m256i h[kTileTokens];
        for (int t = 0; t < kTileTokens; ++t)
          h[t] = _mm256_add_epi32(_mm512_castsi512_si256(acc[rr][t]), _mm512_extracti64x4_epi64(acc[rr][t], 1));
        alignas(16) int32_t S[4];
        _mm_store_si128(reinterpret_cast<__m128i*>(S), hsum4_epi32_avx2(h[0], h[1], h[2], h[3]));
        for (int64_t t = 0; t < nt; ++t)
          y[(i + t) * ldy + r + rr] = static_cast<float>(S[t] - sumq[i + t]) / s_a[i + t] * w.scale;
      }
    }
  }
}

}  // namespace

size_t gemm_i2s_i8_avx512vnni_scratch(const TernaryView& w, int64_t n) {
  return static_cast<size_t>(kTileRows * w.k + 4 * n + 64);
}

void gemm_i2s_i8_avx512vnni(const TernaryView& w, const int8_t* q, const float* s_a, int64_t n, float* y,
                            int64_t ldy, int64_t r0, int64_t r1, const uint8_t*, uint8_t* scratch) {
  if (w.k % 128 != 0 || !scratch) {
    gemm_i2s_i8_ref(w, q, s_a, n, y, ldy, r0, r1);
    return;
  }
  if (n == 1) {
    gemv_i2s_avx512(w, q, s_a[0], y, r0, r1, reinterpret_cast<int8_t*>(scratch));
    return;
  }
  gemm_i2s_tiles_avx512(w, q, s_a, n, y, ldy, r0, r1, scratch);
}

}  // namespace bitnet::cpu
