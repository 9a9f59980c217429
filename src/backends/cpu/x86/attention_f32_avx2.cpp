// Attention of one query head over an f16/f32 KV cache with AVX2 + F16C + FMA, and f16 row
// conversions. Decode spends O(context) per layer here, so the f16 -> f32 widening (vcvtph2ps)
// and 8-wide FMA dot products matter once the context grows past a few hundred tokens.
#include <cmath>

#include "backends/cpu/kernels.h"
#include "backends/cpu/x86/avx2_util.h"

namespace bitnet::cpu {

void f32_to_f16_avx2(const float* x, int64_t n, uint16_t* y) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y + i), _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
  for (; i < n; ++i) y[i] = static_cast<uint16_t>(_cvtss_sh(x[i], _MM_FROUND_TO_NEAREST_INT));
}

void f16_to_f32_avx2(const uint16_t* x, int64_t n, float* y) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(y + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x + i))));
  for (; i < n; ++i) y[i] = _cvtsh_ss(x[i]);
}

namespace {
inline __m256 load_kv(const void* base, bool f16, int64_t off) {
  return f16 ? _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(static_cast<const uint16_t*>(base) + off)))
             : _mm256_loadu_ps(static_cast<const float*>(base) + off);
}
}  // namespace

void attention_head_f32_avx2(const float* q, const void* k, const void* v, int64_t stride, int64_t n, int d,
                             float scale, bool f16, float* out, float* scores) {
  if (d % 8 != 0 || d > 256) {
    attention_head_f32_ref(q, k, v, stride, n, d, scale, f16, out, scores);
    return;
  }
  const int nv = d / 8;
  __m256 qv[32];
  for (int c = 0; c < nv; ++c) qv[c] = _mm256_loadu_ps(q + 8 * c);
  // Scores: 4 cache rows at a time (4 independent FMA chains hide the FMA latency).
  float mx = -INFINITY;
  int64_t j = 0;
  for (; j + 4 <= n; j += 4) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (int c = 0; c < nv; ++c) {
      a0 = _mm256_fmadd_ps(qv[c], load_kv(k, f16, j * stride + 8 * c), a0);
      a1 = _mm256_fmadd_ps(qv[c], load_kv(k, f16, (j + 1) * stride + 8 * c), a1);
      a2 = _mm256_fmadd_ps(qv[c], load_kv(k, f16, (j + 2) * stride + 8 * c), a2);
      a3 = _mm256_fmadd_ps(qv[c], load_kv(k, f16, (j + 3) * stride + 8 * c), a3);
    }
    const __m256 h01 = _mm256_hadd_ps(a0, a1), h23 = _mm256_hadd_ps(a2, a3);
    const __m256 h = _mm256_hadd_ps(h01, h23);  // lanes: (a0 a1 a2 a3) partial | same upper half
    const __m128 s4 = _mm_mul_ps(_mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1)), _mm_set1_ps(scale));
    _mm_storeu_ps(scores + j, s4);
    for (int u = 0; u < 4; ++u) mx = scores[j + u] > mx ? scores[j + u] : mx;
  }
  for (; j < n; ++j) {
    __m256 a0 = _mm256_setzero_ps();
    for (int c = 0; c < nv; ++c) a0 = _mm256_fmadd_ps(qv[c], load_kv(k, f16, j * stride + 8 * c), a0);
    const float s = hsum_ps_avx2(a0) * scale;
    scores[j] = s;
    mx = s > mx ? s : mx;
  }
  float sum = 0;
  for (j = 0; j < n; ++j) {
    scores[j] = std::exp(scores[j] - mx);
    sum += scores[j];
  }
  const float inv = 1.0f / sum;
  __m256 acc[32];
  for (int c = 0; c < nv; ++c) acc[c] = _mm256_setzero_ps();
  for (j = 0; j < n; ++j) {
    const __m256 p = _mm256_set1_ps(scores[j] * inv);
    for (int c = 0; c < nv; ++c) acc[c] = _mm256_fmadd_ps(p, load_kv(v, f16, j * stride + 8 * c), acc[c]);
  }
  for (int c = 0; c < nv; ++c) _mm256_storeu_ps(out + 8 * c, acc[c]);
}

}  // namespace bitnet::cpu
