// Attention of a GQA group of query heads over an f16/f32 KV cache with AVX2 + F16C + FMA, and f16
// row conversions. Decode spends O(context) per layer here: past a few hundred tokens the cache
// reads dominate, so every k and v row is read (and widened with vcvtph2ps) once for all the heads
// of its group (4 in 2B4T: 4x less cache traffic than one head at a time), and the softmax uses a
// vector exp.
#include <cmath>
#include <type_traits>

#include "backends/cpu/attention_groups.h"
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

// exp(x) for softmax arguments (x <= 0 after the max subtraction): x = m ln2 + r with |r| <= ln2/2
// (two-constant Cody-Waite), exp(r) by the Cephes degree-6 polynomial, times 2^m. Relative error
// ~2e-7; x below -87.3 is clamped there (exp ~ 1e-38 instead of a denormal or 0, invisible next to
// the max row's 1). NaN propagates.
inline __m256 exp_ps_avx2(__m256 x) {
  x = _mm256_max_ps(_mm256_set1_ps(-87.3f), x);
  const __m256 m = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(m, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(m, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 y = _mm256_set1_ps(1.9875691500e-4f);
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(1.3981999507e-3f));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(8.3334519073e-3f));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(4.1665795894e-2f));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(1.6666665459e-1f));
  y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(5.0000001201e-1f));
  y = _mm256_fmadd_ps(y, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(m), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(y, _mm256_castsi256_ps(e));
}

// Scores of G heads (queries at q + h*d) for rows [0, n) into scores[h*n + j], R rows per step:
// each k row chunk is loaded (and widened) once for all G heads; R*G independent FMA chains.
template <int G>
void scores_group(const float* q, const void* k, int64_t stride, int64_t n, int d, float scale, bool f16,
                  float* scores, float* mx) {
  constexpr int R = G <= 2 ? 4 : 2;
  const int nv = d / 8;
  for (int h = 0; h < G; ++h) mx[h] = -INFINITY;
  auto rows = [&](int64_t j, auto nr_tag) {
    constexpr int NR = decltype(nr_tag)::value;
    __m256 a[NR][G];
    for (int r = 0; r < NR; ++r)
      for (int h = 0; h < G; ++h) a[r][h] = _mm256_setzero_ps();
    for (int c = 0; c < nv; ++c) {
      __m256 kr[NR];
      for (int r = 0; r < NR; ++r) kr[r] = load_kv(k, f16, (j + r) * stride + 8 * c);
      for (int h = 0; h < G; ++h) {
        const __m256 qh = _mm256_loadu_ps(q + h * d + 8 * c);
        for (int r = 0; r < NR; ++r) a[r][h] = _mm256_fmadd_ps(qh, kr[r], a[r][h]);
      }
    }
    for (int h = 0; h < G; ++h)
      for (int r = 0; r < NR; ++r) {
        const float s = hsum_ps_avx2(a[r][h]) * scale;
        scores[h * n + j + r] = s;
        mx[h] = s > mx[h] ? s : mx[h];
      }
  };
  int64_t j = 0;
  for (; j + R <= n; j += R) rows(j, std::integral_constant<int, R>{});
  for (; j < n; ++j) rows(j, std::integral_constant<int, 1>{});
}

// out[h*d + c] = inv[h] * sum_j p[h*n + j] * v[j][c] for G heads and the CB chunks of 8 dims from
// chunk c0: one pass over the rows loads each v row chunk once for all G heads; G*CB accumulators
// in registers (no run-time bound inside the loop: with one, GCC 12 kept them on the stack).
template <int G, int CB>
void values_pass(const float* p, const void* v, int64_t stride, int64_t n, int d, bool f16, const float* inv,
                 int c0, float* out) {
  __m256 a[G][CB];
  for (int h = 0; h < G; ++h)
    for (int c = 0; c < CB; ++c) a[h][c] = _mm256_setzero_ps();
  for (int64_t j = 0; j < n; ++j) {
    __m256 vr[CB];
    for (int c = 0; c < CB; ++c) vr[c] = load_kv(v, f16, j * stride + 8 * (c0 + c));
    for (int h = 0; h < G; ++h) {
      const __m256 ph = _mm256_broadcast_ss(p + h * n + j);
      for (int c = 0; c < CB; ++c) a[h][c] = _mm256_fmadd_ps(ph, vr[c], a[h][c]);
    }
  }
  for (int h = 0; h < G; ++h)
    for (int c = 0; c < CB; ++c)
      _mm256_storeu_ps(out + h * d + 8 * (c0 + c), _mm256_mul_ps(a[h][c], _mm256_set1_ps(inv[h])));
}

template <int G>
void values_group(const float* p, const void* v, int64_t stride, int64_t n, int d, bool f16, const float* inv,
                  float* out) {
  constexpr int CB = G == 1 ? 8 : (G == 2 ? 4 : 2);
  const int nv = d / 8;
  int c0 = 0;
  for (; c0 + CB <= nv; c0 += CB) values_pass<G, CB>(p, v, stride, n, d, f16, inv, c0, out);
  for (; c0 < nv; ++c0) values_pass<G, 1>(p, v, stride, n, d, f16, inv, c0, out);
}

template <int G>
void attention_group(const float* q, const void* k, const void* v, int64_t stride, int64_t n, int d, float scale,
                     bool f16, float* out, float* scores, float* ml) {
  float mx[G], inv[G];
  scores_group<G>(q, k, stride, n, d, scale, f16, scores, mx);
  for (int h = 0; h < G; ++h) {  // softmax numerators in place, and 1 / their sum
    float* s = scores + h * n;
    const __m256 m = _mm256_set1_ps(mx[h]);
    __m256 acc = _mm256_setzero_ps();
    int64_t j = 0;
    for (; j + 8 <= n; j += 8) {
      const __m256 e = exp_ps_avx2(_mm256_sub_ps(_mm256_loadu_ps(s + j), m));
      _mm256_storeu_ps(s + j, e);
      acc = _mm256_add_ps(acc, e);
    }
    float sum = hsum_ps_avx2(acc);
    for (; j < n; ++j) {
      s[j] = std::exp(s[j] - mx[h]);
      sum += s[j];
    }
    inv[h] = ml ? 1.0f : 1.0f / sum;
    if (ml) {
      ml[2 * h] = mx[h];
      ml[2 * h + 1] = sum;
    }
  }
  values_group<G>(scores, v, stride, n, d, f16, inv, out);
}
}  // namespace

void attention_f32_avx2(const float* q, int g, const void* k, const void* v, int64_t stride, int64_t n, int d,
                        float scale, bool f16, float* out, float* scores, float* ml) {
  if (d % 8 != 0 || d > 256) {
    attention_f32_ref(q, g, k, v, stride, n, d, scale, f16, out, scores, ml);
    return;
  }
  for_head_subgroups(g, [&](auto G, int h0) {
    attention_group<decltype(G)::value>(q + h0 * d, k, v, stride, n, d, scale, f16, out + h0 * d,
                                        scores + static_cast<int64_t>(h0) * n, ml ? ml + 2 * h0 : nullptr);
  });
}

}  // namespace bitnet::cpu
