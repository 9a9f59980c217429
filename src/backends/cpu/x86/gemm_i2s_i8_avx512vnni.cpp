// I2_S x int8 GEMV / GEMM with AVX-512 VNNI (vpdpbusd: u8 codes x s8 activations accumulated
// straight into int32, so no int16 overflow bookkeeping), reading the on-disk layout in place.
// GEMV: a 64-byte load holds two 128-weight blocks; field g of both blocks multiplies activations
// [128b + 32g, +32) and [128(b+1) + 32g, +32), which are pre-permuted once per call into scratch so
// every vpdpbusd reads one aligned 64-byte activation vector. 256 weights = 1 load, 3 shifts, 4 ands,
// 4 vpdpbusd. GEMM: 16-row tiles decoded into byte codes and run through the codes GEMM of
// gemm_codes_avx512.h (4 rows x 4 tokens register tile).
// Outputs are bit-identical to the reference (exact S = sum(c*q) - sum(q), same fp32 epilogue).

// GCC 12's avx512fintrin.h trips -W(maybe-)uninitialized inside _mm512_cast*/reduce intrinsics
// (a known false positive of its "undefined" vector idiom).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "backends/cpu/x86/gemm_codes_avx512.h"
#include "backends/cpu/x86/kernels_x86.h"

namespace bitnet::cpu {
namespace {

// GEMM rows decoded at once: the codes GEMM walks tokens outermost, so each 4-token activation block
// serves 4 register tiles of 4 rows from L1 (16 x K codes, <= 110 KiB for the 2B4T shapes, stay in L2).
constexpr int64_t kTileRows = 16;

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

void gemm_i2s_tiles_avx512(const TernaryView& w, const int8_t* q, const float* s_a, int64_t n, float* y,
                           int64_t ldy, int64_t r0, int64_t r1, uint8_t* scratch) {
  const int64_t k = w.k;
  uint8_t* codes = scratch;
  int32_t* sumq = reinterpret_cast<int32_t*>(scratch + kTileRows * k);
  for (int64_t i = 0; i < n; ++i) sumq[i] = sum_i8_avx2(q + i * k, k);
  const CodesEpilogue epi{1.0f, false, w.scale};
  for (int64_t r = r0; r < r1; r += kTileRows) {
    const int64_t nr = r1 - r < kTileRows ? r1 - r : kTileRows;
    decode_i2s_rows_avx2(w.data, k, r, nr, kTileRows, codes);
    gemm_codes_rows_avx512(codes, k, nr, q, k, sumq, s_a, n, epi, y, ldy, r);
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
