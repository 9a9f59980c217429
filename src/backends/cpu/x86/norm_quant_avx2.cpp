// RMSNorm and per-token int8 activation quantization with AVX2 (spec §1.2, §2.2).
// quantize_act is bit-identical to the reference: the same fp32 product x*s, vroundps to nearest
// even, and saturating packs for the [-128, 127] clamp. rmsnorm sums squares in double like the
// reference (products of floats are exact in double; only the summation order differs).
#include <cmath>

#include "backends/cpu/kernels.h"
#include "backends/cpu/x86/avx2_util.h"

namespace bitnet::cpu {

void quantize_act_f32_i8_avx2(const float* x, int64_t k, int8_t* q, float* s) {
  const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  __m256 m0 = _mm256_setzero_ps(), m1 = m0, m2 = m0, m3 = m0;
  int64_t j = 0;
  for (; j + 32 <= k; j += 32) {
    m0 = _mm256_max_ps(m0, _mm256_and_ps(_mm256_loadu_ps(x + j), abs_mask));
    m1 = _mm256_max_ps(m1, _mm256_and_ps(_mm256_loadu_ps(x + j + 8), abs_mask));
    m2 = _mm256_max_ps(m2, _mm256_and_ps(_mm256_loadu_ps(x + j + 16), abs_mask));
    m3 = _mm256_max_ps(m3, _mm256_and_ps(_mm256_loadu_ps(x + j + 24), abs_mask));
  }
  const __m256 mv = _mm256_max_ps(_mm256_max_ps(m0, m1), _mm256_max_ps(m2, m3));
  __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(mv), _mm256_extractf128_ps(mv, 1));
  m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
  m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
  float amax = _mm_cvtss_f32(m4);
  for (int64_t t = j; t < k; ++t) amax = std::fmax(amax, std::fabs(x[t]));
  const float scale = 127.0f / std::fmax(amax, 1e-5f);
  const __m256 vs = _mm256_set1_ps(scale);
  constexpr int kRound = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
  const __m256i perm = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  for (j = 0; j + 32 <= k; j += 32) {
    const __m256i a = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(x + j), vs), kRound));
    const __m256i b = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(x + j + 8), vs), kRound));
    const __m256i c = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(x + j + 16), vs), kRound));
    const __m256i d = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(x + j + 24), vs), kRound));
    const __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(a, b), _mm256_packs_epi32(c, d));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + j), _mm256_permutevar8x32_epi32(p, perm));
  }
  for (; j < k; ++j) {
    float v = std::nearbyint(x[j] * scale);
    v = v > 127.f ? 127.f : (v < -128.f ? -128.f : v);
    q[j] = static_cast<int8_t>(v);
  }
  *s = scale;
}

void rmsnorm_f32_avx2(const float* x, const float* g, int64_t d, float eps, float* y) {
  __m256d a0 = _mm256_setzero_pd(), a1 = a0, a2 = a0, a3 = a0;
  int64_t j = 0;
  for (; j + 16 <= d; j += 16) {
    const __m256d x0 = _mm256_cvtps_pd(_mm_loadu_ps(x + j)), x1 = _mm256_cvtps_pd(_mm_loadu_ps(x + j + 4));
    const __m256d x2 = _mm256_cvtps_pd(_mm_loadu_ps(x + j + 8)), x3 = _mm256_cvtps_pd(_mm_loadu_ps(x + j + 12));
    a0 = _mm256_fmadd_pd(x0, x0, a0);
    a1 = _mm256_fmadd_pd(x1, x1, a1);
    a2 = _mm256_fmadd_pd(x2, x2, a2);
    a3 = _mm256_fmadd_pd(x3, x3, a3);
  }
  const __m256d a = _mm256_add_pd(_mm256_add_pd(a0, a1), _mm256_add_pd(a2, a3));
  __m128d h = _mm_add_pd(_mm256_castpd256_pd128(a), _mm256_extractf128_pd(a, 1));
  double ss = _mm_cvtsd_f64(_mm_add_sd(h, _mm_unpackhi_pd(h, h)));
  for (; j < d; ++j) ss += static_cast<double>(x[j]) * x[j];
  const float inv = 1.0f / std::sqrt(static_cast<float>(ss / static_cast<double>(d)) + eps);
  const __m256 vi = _mm256_set1_ps(inv);
  for (j = 0; j + 8 <= d; j += 8)
    _mm256_storeu_ps(y + j, _mm256_mul_ps(_mm256_loadu_ps(g + j), _mm256_mul_ps(_mm256_loadu_ps(x + j), vi)));
  for (; j < d; ++j) y[j] = g[j] * (x[j] * inv);
}

}  // namespace bitnet::cpu
