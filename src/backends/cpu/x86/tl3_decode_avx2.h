// Decodes a 16-row TL3 tile (tl3.h) into byte codes c = w + 1 in {0,1,2} for the codes GEMMs
// (gemm_codes_avx2.h / gemm_codes_avx512.h): the TL3 prompt path. Per step, the 32 group indices
// (16 rows x 2 groups) become three vectors of trits by vpshufb from the balanced-ternary digit
// tables, the group sign is applied with vpsignb, and +1 makes them codes. A row's codes must be
// contiguous for the GEMM, so the trit vectors (one byte per row) are transposed in 16 x 16 byte
// blocks (4 unpack stages); the resulting order within a unit of 2 chunks is tl3::decoded_perm,
// which the shared preparation applies to the activations instead of undoing it here (per call the
// weights are decoded once per tile, activations permuted once per token). About 450 vector ops
// per 1536 codes, amortized over every token of the call.
#pragma once

#include "backends/cpu/tl3.h"
#include "backends/cpu/x86/avx2_util.h"

namespace bitnet::cpu {
namespace {

// Byte-interleave steps of the transpose, per 128-bit lane, for ymm and (in AVX-512 translation
// units) zmm registers.
inline __m256i unpack_lo(__m256i a, __m256i b, int bits) {
  return bits == 8 ? _mm256_unpacklo_epi8(a, b) : bits == 16 ? _mm256_unpacklo_epi16(a, b)
       : bits == 32 ? _mm256_unpacklo_epi32(a, b) : _mm256_unpacklo_epi64(a, b);
}
inline __m256i unpack_hi(__m256i a, __m256i b, int bits) {
  return bits == 8 ? _mm256_unpackhi_epi8(a, b) : bits == 16 ? _mm256_unpackhi_epi16(a, b)
       : bits == 32 ? _mm256_unpackhi_epi32(a, b) : _mm256_unpackhi_epi64(a, b);
}
#if defined(__AVX512BW__) || defined(BITNET_SIMDE_AVX512)
inline __m512i unpack_lo(__m512i a, __m512i b, int bits) {
  return bits == 8 ? _mm512_unpacklo_epi8(a, b) : bits == 16 ? _mm512_unpacklo_epi16(a, b)
       : bits == 32 ? _mm512_unpacklo_epi32(a, b) : _mm512_unpacklo_epi64(a, b);
}
inline __m512i unpack_hi(__m512i a, __m512i b, int bits) {
  return bits == 8 ? _mm512_unpackhi_epi8(a, b) : bits == 16 ? _mm512_unpackhi_epi16(a, b)
       : bits == 32 ? _mm512_unpackhi_epi32(a, b) : _mm512_unpackhi_epi64(a, b);
}
#endif

// One 16 x 16 byte transpose per 128-bit lane (2 for ymm, 4 for zmm): y[r] byte i = x[i] byte r.
template <class V>
inline void transpose16x16_epi8(const V* x, V* y) {
  V a[16], b[16], c[16];
  // a[8h + i]: 16-bit unit r = (x[2i], x[2i+1]) at row 8h + r
  for (int i = 0; i < 8; ++i) {
    a[i] = unpack_lo(x[2 * i], x[2 * i + 1], 8);
    a[i + 8] = unpack_hi(x[2 * i], x[2 * i + 1], 8);
  }
  // b[4R + j]: 32-bit unit r = x[4j .. 4j+3] at row 4R + r
  for (int h = 0; h < 2; ++h)
    for (int j = 0; j < 4; ++j) {
      b[8 * h + j] = unpack_lo(a[8 * h + 2 * j], a[8 * h + 2 * j + 1], 16);
      b[8 * h + 4 + j] = unpack_hi(a[8 * h + 2 * j], a[8 * h + 2 * j + 1], 16);
    }
  // c[2P + k]: 64-bit unit r = x[8k .. 8k+7] at row 2P + r
  for (int R = 0; R < 4; ++R)
    for (int k = 0; k < 2; ++k) {
      c[4 * R + k] = unpack_lo(b[4 * R + 2 * k], b[4 * R + 2 * k + 1], 32);
      c[4 * R + 2 + k] = unpack_hi(b[4 * R + 2 * k], b[4 * R + 2 * k + 1], 32);
    }
  for (int P = 0; P < 8; ++P) {
    y[2 * P] = unpack_lo(c[2 * P], c[2 * P + 1], 64);
    y[2 * P + 1] = unpack_hi(c[2 * P], c[2 * P + 1], 64);
  }
}

// Balanced-ternary digits (t0, t1, t2) of magnitude index m (tl3::canonical_trits); 14, 15 unused.
alignas(16) static const int8_t kTl3Trits[3][16] = {{0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0},
                                                   {0, 0, 1, 1, 1, -1, -1, -1, 0, 0, 0, 1, 1, 1, 0, 0},
                                                   {0, 1, -1, 0, 1, -1, 0, 1, -1, 0, 1, -1, 0, 1, 0, 0}};

// The codes GEMM epilogue of a packed matrix with one block scale (I2_S: none).
inline CodesEpilogue decoded_epilogue(const tl3::Header& h, float scale) {
  return {h.d, !(h.flags & tl3::kIntSum), scale};
}

// Positions past the last unit of each of the 16 rows get code 1 (weight 0).
inline void fill_decoded_tail(const tl3::Header& h, int64_t kp, uint8_t* codes) {
  const int64_t tail = tl3::decoded_units(h) * tl3::kUnitCodes;
  for (int r = 0; r < 16; ++r)
    for (int64_t j = tail; j < kp; ++j) codes[r * kp + j] = 1;
}

// Codes of the 16 rows of tile `tp` at codes + r * kp (kp = tl3::decoded_row_bytes(h), 32-byte
// aligned); positions past the last unit get code 1.
inline void decode_tl3_tile_avx2(const tl3::Header& h, const uint8_t* tp, int64_t kp, uint8_t* codes) {
  using namespace tl3;
  __m256i T[3];
  for (int p = 0; p < 3; ++p) T[p] = _mm256_broadcastsi128_si256(_mm_load_si128(reinterpret_cast<const __m128i*>(kTl3Trits[p])));
  const __m256i m0f = _mm256_set1_epi8(0x0f), one = _mm256_set1_epi8(1), zero = _mm256_setzero_si256();
  const int64_t units = decoded_units(h);
  for (int64_t u = 0; u < units; ++u) {
    __m256i v[48];  // v[24 * chunk + 3 * step + plane]: lane L = plane of group 2 * step + L, byte = row
    for (int cc = 0; cc < 2; ++cc) {
      const int64_t c = 2 * u + cc;
      if (c >= h.chunks) {
        for (int e = 0; e < 24; ++e) v[24 * cc + e] = one;
        continue;
      }
      const uint8_t* ch = tp + c * kChunkBytes;
      __m256i sv = _mm256_load_si256(reinterpret_cast<const __m256i*>(ch + 128));
      for (int s = 0; s < 8; ++s) {
        const __m256i x = _mm256_load_si256(reinterpret_cast<const __m256i*>(ch + 32 * (s / 2)));
        const __m256i idx = (s & 1) ? _mm256_and_si256(_mm256_srli_epi16(x, 4), m0f) : _mm256_and_si256(x, m0f);
        const __m256i sg = _mm256_or_si256(_mm256_cmpgt_epi8(zero, sv), one);  // -1 where negative, else 1
        sv = _mm256_add_epi8(sv, sv);
        for (int p = 0; p < 3; ++p)
          v[24 * cc + 3 * s + p] = _mm256_add_epi8(_mm256_sign_epi8(_mm256_shuffle_epi8(T[p], idx), sg), one);
      }
    }
    for (int u3 = 0; u3 < 3; ++u3) {
      __m256i rows[16];
      transpose16x16_epi8(v + 16 * u3, rows);
      for (int r = 0; r < 16; ++r)
        _mm256_store_si256(reinterpret_cast<__m256i*>(codes + r * kp + kUnitCodes * u + 32 * u3), rows[r]);
    }
  }
  fill_decoded_tail(h, kp, codes);
}

}  // namespace
}  // namespace bitnet::cpu
