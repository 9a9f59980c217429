// TL3 tile decoding into byte codes with AVX-512 BW (the zmm version of tl3_decode_avx2.h), shared by
// the avx512 and amx tables' prompt paths.
#pragma once

#include "backends/cpu/tl3.h"
#include "backends/cpu/x86/simd_avx512.h"
#include "backends/cpu/x86/tl3_decode_avx2.h"

namespace bitnet::cpu {
namespace {

// decode_tl3_tile_avx2 with zmm registers: units u (lanes 0-1) and u + 1 (lanes 2-3) at once, the
// sign applied with a masked vpsubb (no vpsignb in AVX-512). Chunks past the tile read as zeros
// (index 0, no sign: code 1).
inline void decode_tl3_tile_avx512(const tl3::Header& h, const uint8_t* tp, int64_t kp, uint8_t* codes) {
  using namespace tl3;
  __m512i T[3];
  for (int p = 0; p < 3; ++p) T[p] = _mm512_broadcast_i32x4(_mm_load_si128(reinterpret_cast<const __m128i*>(kTl3Trits[p])));
  const __m512i m0f = _mm512_set1_epi8(0x0f), one = _mm512_set1_epi8(1), zero = _mm512_setzero_si512();
  const __m512i bit7 = _mm512_set1_epi8(static_cast<char>(0x80));
  const int64_t units = decoded_units(h);
  auto load2 = [&](int64_t c0, int64_t c1, int64_t off) {  // 32 bytes at `off` of chunks c0 and c1
    const __m256i a = c0 < h.chunks ? _mm256_load_si256(reinterpret_cast<const __m256i*>(tp + c0 * kChunkBytes + off))
                                    : _mm256_setzero_si256();
    const __m256i b = c1 < h.chunks ? _mm256_load_si256(reinterpret_cast<const __m256i*>(tp + c1 * kChunkBytes + off))
                                    : _mm256_setzero_si256();
    return _mm512_inserti64x4(_mm512_castsi256_si512(a), b, 1);
  };
  for (int64_t u = 0; u < units; u += 2) {
    __m512i v[48];  // as in decode_tl3_tile_avx2, per 256-bit half
    for (int cc = 0; cc < 2; ++cc) {
      const int64_t c0 = 2 * u + cc, c1 = 2 * (u + 1) + cc;
      __m512i sv = load2(c0, c1, 128);
      __m512i x = zero;
      for (int s = 0; s < 8; ++s) {
        if (s % 2 == 0) x = load2(c0, c1, 32 * (s / 2));
        const __m512i idx = _mm512_and_si512(s & 1 ? _mm512_srli_epi16(x, 4) : x, m0f);
        const __mmask64 neg = _mm512_test_epi8_mask(sv, bit7);
        sv = _mm512_add_epi8(sv, sv);
        for (int p = 0; p < 3; ++p) {
          const __m512i t = _mm512_shuffle_epi8(T[p], idx);
          v[24 * cc + 3 * s + p] = _mm512_add_epi8(_mm512_mask_sub_epi8(t, neg, zero, t), one);
        }
      }
    }
    for (int u3 = 0; u3 < 3; ++u3) {
      __m512i rows[16];
      transpose16x16_epi8(v + 16 * u3, rows);
      for (int r = 0; r < 16; ++r) {
        uint8_t* o = codes + r * kp + kUnitCodes * u + 32 * u3;
        _mm256_store_si256(reinterpret_cast<__m256i*>(o), _mm512_castsi512_si256(rows[r]));
        if (u + 1 < units) _mm256_store_si256(reinterpret_cast<__m256i*>(o + kUnitCodes), _mm512_extracti64x4_epi64(rows[r], 1));
      }
    }
  }
  fill_decoded_tail(h, kp, codes);
}

}  // namespace
}  // namespace bitnet::cpu
