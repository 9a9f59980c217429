// K-quant head GEMV / GEMM with AVX2: Q6_K and Q4_K weights x activations quantized per call to Q8K
// (kquant.h), int32 sums like ggml's q6_K/q4_K x q8_K dots.
//   Q6_K: per 128-element half, 3 loads (ql low/high 32 bytes, qh 32 bytes) decode to four 32-code
//         vectors (0..63, "code = q + 32") with and/shift/or; vpmaddubsw(code, x) then vpmaddwd with
//         the int8 group scales (one vpshufb per 32 codes picks the two groups' scales); the +32
//         offset is removed once per block from the activation sums: 32 * sum_g sc_g * bsum_g.
//   Q4_K: per 64 elements one 32-byte load gives two groups' codes (low / high nibbles); the same
//         vpmaddubsw + vpmaddwd with the 6-bit scales; the mins term is dmin * sum_g m_g * bsum_g
//         from the precomputed activation sums (one vpmaddwd per block).
// Each block's int32 lanes are converted and scaled by d_w * d_x into fp32 lane accumulators (FMA).
// GEMM (n > 1): each block is decoded once and used for up to 4 tokens; rows are walked outermost
// so the head streams from memory once per call.
#include <cstring>

#include "backends/cpu/kquant.h"
#include "backends/cpu/x86/avx2_util.h"

namespace bitnet::cpu {
namespace {

constexpr int64_t kTok = 4;
// Software prefetch distance of the weight stream (see gemm_i2s_i8_avx2.cpp: one Zen 3 core's
// hardware prefetchers do not run far enough ahead of a low-bit GEMV).
constexpr int64_t kPrefetchBytes = 4096;

inline __m256i load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
inline float f16_scalar(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return _cvtsh_ss(h);
}

// vpshufb masks that broadcast int16 element a of a 128-bit lane into the low lane and element b
// into the high lane (both lanes hold the same 8 int16 values).
inline __m256i pick16(int a, int b) {
  const char a0 = static_cast<char>(2 * a), a1 = static_cast<char>(2 * a + 1);
  const char b0 = static_cast<char>(2 * b), b1 = static_cast<char>(2 * b + 1);
  return _mm256_setr_epi8(a0, a1, a0, a1, a0, a1, a0, a1, a0, a1, a0, a1, a0, a1, a0, a1,  //
                          b0, b1, b0, b1, b0, b1, b0, b1, b0, b1, b0, b1, b0, b1, b0, b1);
}

template <int NT>
__attribute__((noinline)) void q6k_rows(const FloatView& w, const kq::Q8K& x, float* y, int64_t ldy, int64_t r0,
                                        int64_t r1) {
  const int64_t k = w.k, nb = k / 256;
  const __m256i m4 = _mm256_set1_epi8(0x0f), m3 = _mm256_set1_epi8(0x03);
  const __m256i pk[4] = {pick16(0, 1), pick16(2, 3), pick16(4, 5), pick16(6, 7)};
  for (int64_t r = r0; r < r1; ++r) {
    const uint8_t* row = w.data + r * nb * 210;
    __m256 acc[NT];
    for (int t = 0; t < NT; ++t) acc[t] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; ++b) {
      const uint8_t* blk = row + 210 * b;
      _mm_prefetch(reinterpret_cast<const char*>(blk + kPrefetchBytes), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(blk + kPrefetchBytes + 128), _MM_HINT_T0);
      const __m128i sc8 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 192));
      __m256i isum[NT];
      for (int t = 0; t < NT; ++t) isum[t] = _mm256_setzero_si256();
      for (int h = 0; h < 2; ++h) {
        const __m256i a = load256(blk + 64 * h), c = load256(blk + 64 * h + 32), hb = load256(blk + 128 + 32 * h);
        // Groups 8h..8h+7 as int16 in both lanes.
        const __m256i sch = _mm256_broadcastsi128_si256(_mm_cvtepi8_epi16(h ? _mm_srli_si128(sc8, 8) : sc8));
        __m256i q[4];
        q[0] = _mm256_or_si256(_mm256_and_si256(a, m4), _mm256_slli_epi16(_mm256_and_si256(hb, m3), 4));
        q[1] = _mm256_or_si256(_mm256_and_si256(c, m4),
                               _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 2), m3), 4));
        q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(a, 4), m4),
                               _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 4), m3), 4));
        q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(c, 4), m4),
                               _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 6), m3), 4));
        for (int j = 0; j < 4; ++j) {
          // Elements 128h + 32j .. +31: groups 8h + 2j (lanes 0-7) and 8h + 2j + 1 (lanes 8-15).
          const __m256i scv = _mm256_shuffle_epi8(sch, pk[j]);
          for (int t = 0; t < NT; ++t) {
            const __m256i xv = load256(x.q + t * k + 256 * b + 128 * h + 32 * j);
            add32(isum[t], _mm256_madd_epi16(_mm256_maddubs_epi16(q[j], xv), scv));
          }
        }
      }
      const __m256i sc16 = _mm256_cvtepi8_epi16(sc8);
      const float dw = f16_scalar(blk + 208);
      for (int t = 0; t < NT; ++t) {
        const __m256i bs = load256(x.bsums + (t * nb + b) * 16);
        const __m256i corr = _mm256_slli_epi32(_mm256_madd_epi16(sc16, bs), 5);  // 32 * sc_g * bsum_g
        const __m256 dd = _mm256_set1_ps(dw * x.d[t * nb + b]);
        acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(isum[t], corr)), dd, acc[t]);
      }
    }
    for (int t = 0; t < NT; ++t) y[t * ldy + r] = hsum_ps_avx2(acc[t]) * w.scale;
  }
}

template <int NT>
__attribute__((noinline)) void q4k_rows(const FloatView& w, const kq::Q8K& x, float* y, int64_t ldy, int64_t r0,
                                        int64_t r1) {
  const int64_t k = w.k, nb = k / 256;
  const __m256i m4 = _mm256_set1_epi8(0x0f);
  const __m256i pk[8] = {pick16(0, 0), pick16(1, 1), pick16(2, 2), pick16(3, 3),
                         pick16(4, 4), pick16(5, 5), pick16(6, 6), pick16(7, 7)};
  for (int64_t r = r0; r < r1; ++r) {
    const uint8_t* row = w.data + r * nb * 144;
    __m256 acc[NT];
    for (int t = 0; t < NT; ++t) acc[t] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; ++b) {
      const uint8_t* blk = row + 144 * b;
      _mm_prefetch(reinterpret_cast<const char*>(blk + kPrefetchBytes), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(blk + kPrefetchBytes + 80), _MM_HINT_T0);
      // 6-bit scales / mins (see unpack_q4_k_scales): groups 0-3 in the low 6 bits of bytes 0-3 /
      // 4-7; groups 4-7 from the nibbles of bytes 8-11 plus the top 2 bits of bytes 0-3 / 4-7.
      uint32_t s[3];
      std::memcpy(s, blk + 4, 12);
      const uint64_t sc = (s[0] & 0x3f3f3f3fu) |
                          static_cast<uint64_t>((s[2] & 0x0f0f0f0fu) | ((s[0] >> 2) & 0x30303030u)) << 32;
      const uint64_t mn = (s[1] & 0x3f3f3f3fu) |
                          static_cast<uint64_t>(((s[2] >> 4) & 0x0f0f0f0fu) | ((s[1] >> 2) & 0x30303030u)) << 32;
      const __m256i sc16 = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(_mm_cvtsi64_si128(static_cast<int64_t>(sc))));
      const __m128i m8 = _mm_cvtsi64_si128(static_cast<int64_t>(mn));
      const __m256i mdup = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(m8, m8));  // m0 m0 m1 m1 ... m7 m7
      __m256i isum[NT];
      for (int t = 0; t < NT; ++t) isum[t] = _mm256_setzero_si256();
      for (int c = 0; c < 4; ++c) {
        const __m256i v = load256(blk + 16 + 32 * c);
        const __m256i lo = _mm256_and_si256(v, m4), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
        const __m256i s_lo = _mm256_shuffle_epi8(sc16, pk[2 * c]), s_hi = _mm256_shuffle_epi8(sc16, pk[2 * c + 1]);
        for (int t = 0; t < NT; ++t) {
          const int8_t* xt = x.q + t * k + 256 * b + 64 * c;
          const __m256i p_lo = _mm256_madd_epi16(_mm256_maddubs_epi16(lo, load256(xt)), s_lo);
          const __m256i p_hi = _mm256_madd_epi16(_mm256_maddubs_epi16(hi, load256(xt + 32)), s_hi);
          add32(isum[t], p_lo);
          add32(isum[t], p_hi);
        }
      }
      const float dw = f16_scalar(blk), dmin = f16_scalar(blk + 2);
      for (int t = 0; t < NT; ++t) {
        const float dx = x.d[t * nb + b];
        const __m256i msum = _mm256_madd_epi16(mdup, load256(x.bsums + (t * nb + b) * 16));
        acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[t]), _mm256_set1_ps(dw * dx), acc[t]);
        acc[t] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(msum), _mm256_set1_ps(dmin * dx), acc[t]);
      }
    }
    for (int t = 0; t < NT; ++t) y[t * ldy + r] = hsum_ps_avx2(acc[t]) * w.scale;
  }
}

template <int NT>
void kquant_rows(const FloatView& w, const kq::Q8K& x, float* y, int64_t ldy, int64_t r0, int64_t r1) {
  if (w.type == GgmlType::Q6_K) q6k_rows<NT>(w, x, y, ldy, r0, r1);
  else q4k_rows<NT>(w, x, y, ldy, r0, r1);
}

}  // namespace

void gemm_kquant_f32_avx2(const FloatView& w, const float* x, int64_t n, float* y, int64_t ldy, int64_t r0,
                          int64_t r1, const uint8_t* prep, uint8_t* scratch) {
  prep = kq::prep_or_scratch(w, x, n, prep, scratch);
  if (!prep) return gemm_float_f32_ref(w, x, n, y, ldy, r0, r1);
  const kq::Q8K xq = kq::view(prep, w.k, n);
  const int64_t nb = w.k / 256;
  // Row-outer when n > kTok so each weight row is read from memory once per call.
  const int64_t rstep = n <= kTok ? r1 - r0 : 1;
  for (int64_t r = r0; r < r1; r += rstep) {
    const int64_t re = r + rstep;
    for (int64_t i = 0; i < n; i += kTok) {
      const int64_t nt = n - i < kTok ? n - i : kTok;
      const kq::Q8K xi{xq.q + i * w.k, xq.d + i * nb, xq.bsums + i * nb * 16};
      float* yi = y + i * ldy;
      switch (nt) {
        case 1: kquant_rows<1>(w, xi, yi, ldy, r, re); break;
        case 2: kquant_rows<2>(w, xi, yi, ldy, r, re); break;
        case 3: kquant_rows<3>(w, xi, yi, ldy, r, re); break;
        default: kquant_rows<4>(w, xi, yi, ldy, r, re); break;
      }
    }
  }
}

}  // namespace bitnet::cpu
