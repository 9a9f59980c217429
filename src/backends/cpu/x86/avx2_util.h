// Small AVX2 helpers shared by the *_avx2.cpp kernels. Everything is in an anonymous namespace so
// each translation unit gets its own copy compiled with its own ISA flags (no ODR mixing of AVX2
// and AVX-512 code generation through inline functions).
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace bitnet::cpu {
namespace {

// Accumulate into a loop-carried register. GCC 12 compiles `a = _mm256_add_epi16(a, v)` on
// __m256i accumulators into an add to a temporary plus a vmovdqa back (and spills once there are
// 8+ accumulators); the same add on GCC vector types with the accumulator first does not.
typedef short bitnet_v16hi __attribute__((vector_size(32)));
typedef int bitnet_v8si __attribute__((vector_size(32)));
inline void add16(__m256i& a, __m256i v) { a = (__m256i)((bitnet_v16hi)a + (bitnet_v16hi)v); }
inline void add32(__m256i& a, __m256i v) { a = (__m256i)((bitnet_v8si)a + (bitnet_v8si)v); }

// Pins a loaded value in a register. GCC folds a load used by two instructions into both as
// memory operands (vpmaddubsw ymm, ymm, [mem] twice): that doubles the loads of a register tile
// (10 instead of 6 per 2x4 step) and the loads, not the multiplies, become the limit (measured
// 13-15% on the I2_S GEMM).
inline __m256i in_reg(__m256i v) {
  asm("" : "+x"(v));
  return v;
}

inline int32_t hsum_epi32_avx2(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
  return _mm_cvtsi128_si32(s);
}

inline float hsum_ps_avx2(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

inline float hmax_ps_avx2(__m256 v) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// Four horizontal sums of int32 vectors a, b, c, d into lanes 0..3 of an __m128i.
inline __m128i hsum4_epi32_avx2(__m256i a, __m256i b, __m256i c, __m256i d) {
  const __m256i ab = _mm256_hadd_epi32(a, b);  // a01 a23 b01 b23 | a45 a67 b45 b67
  const __m256i cd = _mm256_hadd_epi32(c, d);
  const __m256i abcd = _mm256_hadd_epi32(ab, cd);  // a b c d (partial) | a b c d (partial)
  return _mm_add_epi32(_mm256_castsi256_si128(abcd), _mm256_extracti128_si256(abcd, 1));
}

// Sum of k int8 values (any k).
inline int32_t sum_i8_avx2(const int8_t* q, int64_t k) {
  const __m256i ones = _mm256_set1_epi8(1);
  const __m256i ones16 = _mm256_set1_epi16(1);
  __m256i acc = _mm256_setzero_si256();
  int64_t j = 0;
  for (; j + 32 <= k; j += 32) {
    const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + j));
    acc = _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(ones, x), ones16));
  }
  int32_t s = hsum_epi32_avx2(acc);
  for (; j < k; ++j) s += q[j];
  return s;
}

// Epilogue of the codes GEMMs (gemm_codes_*.h):
// y = (mul_d ? d * float(S) : float(S)) / s_a * scale: the references' epilogues (I2_S: no d; TQ
// with one block scale for the whole matrix: d), so outputs match them bit for bit.
struct CodesEpilogue {
  float d = 1.0f;
  bool mul_d = false;
  float scale = 1.0f;
  float operator()(int32_t S, float s_a) const {
    const float v = mul_d ? d * static_cast<float>(S) : static_cast<float>(S);
    return v / s_a * scale;
  }
  // The same for 8 (4) sums of one token: the same IEEE operations lane by lane, so the same bits,
  // at one vdivps instead of 8 (4) vdivss (scalar division was ~10% of a GEMM).
  __m256 operator()(__m256i S, float s_a) const {
    __m256 v = _mm256_cvtepi32_ps(S);
    if (mul_d) v = _mm256_mul_ps(_mm256_set1_ps(d), v);
    return _mm256_mul_ps(_mm256_div_ps(v, _mm256_set1_ps(s_a)), _mm256_set1_ps(scale));
  }
  __m128 operator()(__m128i S, float s_a) const {
    __m128 v = _mm_cvtepi32_ps(S);
    if (mul_d) v = _mm_mul_ps(_mm_set1_ps(d), v);
    return _mm_mul_ps(_mm_div_ps(v, _mm_set1_ps(s_a)), _mm_set1_ps(scale));
  }
};

// Horizontal sums of 8 int32 vectors: lane i = sum of v[i].
inline __m256i hsum8_epi32_avx2(const __m256i* v) {
  const __m256i abcd = _mm256_hadd_epi32(_mm256_hadd_epi32(v[0], v[1]), _mm256_hadd_epi32(v[2], v[3]));
  const __m256i efgh = _mm256_hadd_epi32(_mm256_hadd_epi32(v[4], v[5]), _mm256_hadd_epi32(v[6], v[7]));
  // abcd = [a0-3 b0-3 c0-3 d0-3 | a4-7 b4-7 c4-7 d4-7], efgh likewise
  return _mm256_add_epi32(_mm256_permute2x128_si256(abcd, efgh, 0x20), _mm256_permute2x128_si256(abcd, efgh, 0x31));
}

// I2_S code field g of a 32-byte block (elements 32g .. 32g + 31) as bytes 0..2 (c = w + 1).
template <int G>
inline __m256i i2s_field(__m256i x, __m256i m3) {
  return G == 3 ? _mm256_and_si256(x, m3) : _mm256_and_si256(_mm256_srli_epi16(x, 6 - 2 * G), m3);
}

// Decodes I2_S rows [r, r + nr) of a matrix with k inputs (k % 128 == 0) into byte codes in natural
// order, tile_rows rows of k bytes at `codes` (32-byte aligned); rows past nr get code 1 (weight 0).
inline void decode_i2s_rows_avx2(const uint8_t* data, int64_t k, int64_t r, int64_t nr, int64_t tile_rows,
                                 uint8_t* codes) {
  const int64_t nblk = k / 128;
  const __m256i m3 = _mm256_set1_epi8(3);
  for (int64_t rr = 0; rr < tile_rows; ++rr) {
    uint8_t* c = codes + rr * k;
    if (rr >= nr) {
      for (int64_t j = 0; j < k; j += 32) _mm256_store_si256(reinterpret_cast<__m256i*>(c + j), _mm256_set1_epi8(1));
      continue;
    }
    const uint8_t* wr = data + (r + rr) * (k / 4);
    for (int64_t b = 0; b < nblk; ++b) {
      const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wr + 32 * b));
      __m256i* o = reinterpret_cast<__m256i*>(c + 128 * b);
      _mm256_store_si256(o + 0, i2s_field<0>(x, m3));
      _mm256_store_si256(o + 1, i2s_field<1>(x, m3));
      _mm256_store_si256(o + 2, i2s_field<2>(x, m3));
      _mm256_store_si256(o + 3, i2s_field<3>(x, m3));
    }
  }
}

}  // namespace
}  // namespace bitnet::cpu
