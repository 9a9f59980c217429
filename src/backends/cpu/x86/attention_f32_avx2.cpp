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
  float mx = -INFINITY;
  for (int64_t j = 0; j < n; ++j) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0;
    int c = 0;
    for (; c + 2 <= nv; c += 2) {
      a0 = _mm256_fmadd_ps(qv[c], load_kv(k, f16, j * stride + 8 * c), a0);
      a1 = _mm256_fmadd_ps(qv[c + 1], load_kv(k, f16, j * stride + 8 * c + 8), a1);
    }
    if (c < nv) a0 = _mm256_fmadd_ps(qv[c], load_kv(k, f16, j * stride + 8 * c), a0);
    const float s = hsum_ps_avx2(_mm256_add_ps(a0, a1)) * scale;
    scores[j] = s;
    mx = s > mx ? s : mx;
  }
  float sum = 0;
  for (int64_t j = 0; j < n; ++j) {
    scores[j] = std::exp(scores[j] - mx);
    sum += scores[j];
  }
  const float inv = 1.0f / sum;
  __m256 acc[32];
  for (int c = 0; c < nv; ++c) acc[c] = _mm256_setzero_ps();
  for (int64_t j = 0; j < n; ++j) {
    const __m256 p = _mm256_set1_ps(scores[j] * inv);
    for (int c = 0; c < nv; ++c) acc[c] = _mm256_fmadd_ps(p, load_kv(v, f16, j * stride + 8 * c), acc[c]);
  }
  for (int c = 0; c < nv; ++c) _mm256_storeu_ps(out + 8 * c, acc[c]);
}

}  // namespace bitnet::cpu
