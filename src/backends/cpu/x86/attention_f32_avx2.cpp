// Attention of query tokens x a GQA group of heads over an f16/f32/Q8_0 KV cache with AVX2 + F16C + FMA,
// and f16 row conversions. Decode spends O(context) per layer here: past a few hundred tokens the
// cache reads dominate, so every k and v row is read (and widened with vcvtph2ps) once for all the
// heads of its group (4 in 2B4T: 4x less cache traffic than one head at a time), and the softmax
// uses a vector exp. Prompts go further (attention_tokens): nq tokens x g heads share each block
// of cache rows, widened once into L1-resident f32 blocks, with an online softmax across blocks.
#include <algorithm>
#include <cmath>
#include <cstring>
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
// Values [c, c + 8) of cache row j as f32 (c % 8 == 0; Q8_0: one 32-block, one scale).
inline __m256 load_kv(const KvSrc& s, int64_t j, int c) {
  const uint8_t* row = s.base + j * s.row_bytes;
  if (s.kv == KvFormat::Q8_0) {
    uint16_t h;
    std::memcpy(&h, row + s.scale_off + 2 * (c / 32), 2);
    const __m256 v = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(row + c))));
    return _mm256_mul_ps(v, _mm256_set1_ps(_cvtsh_ss(h)));
  }
  return s.kv == KvFormat::F16 ? _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + 2 * c)))
                               : _mm256_loadu_ps(reinterpret_cast<const float*>(row) + c);
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
void scores_group(const float* q, const KvSrc& k, int64_t n, int d, float scale, float* scores, float* mx) {
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
      for (int r = 0; r < NR; ++r) kr[r] = load_kv(k, j + r, 8 * c);
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
void values_pass(const float* p, const KvSrc& v, int64_t n, int d, const float* inv, int c0, float* out) {
  __m256 a[G][CB];
  for (int h = 0; h < G; ++h)
    for (int c = 0; c < CB; ++c) a[h][c] = _mm256_setzero_ps();
  for (int64_t j = 0; j < n; ++j) {
    __m256 vr[CB];
    for (int c = 0; c < CB; ++c) vr[c] = load_kv(v, j, 8 * (c0 + c));
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
void values_group(const float* p, const KvSrc& v, int64_t n, int d, const float* inv, float* out) {
  constexpr int CB = G == 1 ? 8 : (G == 2 ? 4 : 2);
  const int nv = d / 8;
  int c0 = 0;
  for (; c0 + CB <= nv; c0 += CB) values_pass<G, CB>(p, v, n, d, inv, c0, out);
  for (; c0 < nv; ++c0) values_pass<G, 1>(p, v, n, d, inv, c0, out);
}

template <int G>
void attention_group(const float* q, const KvSrc& k, const KvSrc& v, int64_t n, int d, float scale, float* out,
                     float* scores, float* ml) {
  float mx[G], inv[G];
  scores_group<G>(q, k, n, d, scale, scores, mx);
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
    inv[h] = finish_softmax_head(mx[h], sum, ml ? ml + 2 * h : nullptr);
  }
  values_group<G>(scores, v, n, d, inv, out);
}

// ---- Prompts: nq tokens x g heads = nr query rows against blocks of kBk cache rows --------------
// Per block: k widened and transposed once (kt[c][j], so 8 keys' scores come out of one FMA chain
// with no horizontal sums); S = scale * Q K^T; an online-softmax update per row (running max m and
// sum l; the running output o rescaled by exp(m_old - m_new) when the max grows); o += P V, each v
// row chunk widened in registers for a register tile of rows. Query row i is token i / g, head
// i % g. With 16 tokens x 4 heads per call, ~1.3x the token-by-token kernel at 2048 cached tokens
// on a Zen 3 core (bench/attention_bench).
constexpr int kBk = 32;
static_assert(kBk <= kAttnBlock);

inline void transpose8_ps(__m256* r) {
  __m256 t[8], u[8];
  for (int i = 0; i < 4; ++i) {
    t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 2; ++i) {  // i = 0: rows 0-3, i = 1: rows 4-7
    u[4 * i + 0] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
    u[4 * i + 1] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], 0xEE);
    u[4 * i + 2] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
    u[4 * i + 3] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
  }
  for (int i = 0; i < 4; ++i) {
    r[i] = _mm256_permute2f128_ps(u[i], u[4 + i], 0x20);
    r[4 + i] = _mm256_permute2f128_ps(u[i], u[4 + i], 0x31);
  }
}

// kt[c * kBk + j] = element c of cache row j0 + j (0 for j >= bk). Also prefetches the next
// block's k and v rows into L2: one kv head's rows are `stride` apart in the cache (a pattern the
// hardware prefetchers follow poorly), and the widening would otherwise wait on them.
void widen_block(const AttnArgs& a, int64_t j0, int bk, float* kt) {
  const int d = a.d;
  const KvSrc ks = kv_src(a, a.k), vs = kv_src(a, a.v);
  const int64_t head_bytes = d * kv_elem_bytes(a.kv);  // values only (Q8_0: the scales are a few lines more)
  for (int64_t j = j0 + kBk; j < std::min(a.n, j0 + 2 * kBk); ++j)
    for (int64_t b = 0; b < head_bytes; b += 64) {
      _mm_prefetch(reinterpret_cast<const char*>(ks.base + j * ks.row_bytes + b), _MM_HINT_T1);
      _mm_prefetch(reinterpret_cast<const char*>(vs.base + j * vs.row_bytes + b), _MM_HINT_T1);
    }
  for (int jj = 0; jj < kBk; jj += 8)
    for (int c = 0; c < d; c += 8) {
      __m256 r[8];
      for (int j = 0; j < 8; ++j)
        r[j] = jj + j < bk ? load_kv(ks, j0 + jj + j, c) : _mm256_setzero_ps();
      transpose8_ps(r);
      for (int i = 0; i < 8; ++i) _mm256_storeu_ps(kt + (c + i) * kBk + jj, r[i]);
    }
}

// s[i * kBk + j] = scale * q_i . k_j for rows [i0, i0 + NR), all kBk keys: NR x 16 keys per register tile.
template <int NR>
void block_scores(const AttnArgs& a, int64_t i0, const float* kt, float* s) {
  const float* qr[NR];
  for (int r = 0; r < NR; ++r) qr[r] = query_row(a, i0 + r);
  const __m256 scale = _mm256_set1_ps(a.scale);
  for (int jj = 0; jj < kBk; jj += 16) {
    __m256 acc[NR][2];
    for (int r = 0; r < NR; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
    for (int c = 0; c < a.d; ++c) {
      const __m256 k0 = _mm256_loadu_ps(kt + c * kBk + jj), k1 = _mm256_loadu_ps(kt + c * kBk + jj + 8);
      for (int r = 0; r < NR; ++r) {
        const __m256 qb = _mm256_broadcast_ss(qr[r] + c);
        acc[r][0] = _mm256_fmadd_ps(qb, k0, acc[r][0]);
        acc[r][1] = _mm256_fmadd_ps(qb, k1, acc[r][1]);
      }
    }
    for (int r = 0; r < NR; ++r) {
      _mm256_storeu_ps(s + (i0 + r) * kBk + jj, _mm256_mul_ps(acc[r][0], scale));
      _mm256_storeu_ps(s + (i0 + r) * kBk + jj + 8, _mm256_mul_ps(acc[r][1], scale));
    }
  }
}

// o[i * d + c] += sum_j p[i * kBk + j] * v[j0 + j][c] for rows [i0, i0 + NR), j < bk: NR rows x 16
// dims per register tile; each v row chunk is widened in registers for the NR rows.
template <int NR>
void block_values(const AttnArgs& a, int64_t j0, int64_t i0, int bk, const float* p, float* o) {
  const int d = a.d;
  const KvSrc vs = kv_src(a, a.v);
  for (int c = 0; c < d; c += 16) {
    const bool two = c + 8 < d;
    __m256 acc[NR][2];
    for (int r = 0; r < NR; ++r) {
      acc[r][0] = _mm256_loadu_ps(o + (i0 + r) * d + c);
      acc[r][1] = two ? _mm256_loadu_ps(o + (i0 + r) * d + c + 8) : _mm256_setzero_ps();
    }
    for (int j = 0; j < bk; ++j) {
      const __m256 v0 = load_kv(vs, j0 + j, c), v1 = two ? load_kv(vs, j0 + j, c + 8) : v0;
      for (int r = 0; r < NR; ++r) {
        const __m256 pb = _mm256_broadcast_ss(p + (i0 + r) * kBk + j);
        acc[r][0] = _mm256_fmadd_ps(pb, v0, acc[r][0]);
        acc[r][1] = _mm256_fmadd_ps(pb, v1, acc[r][1]);
      }
    }
    for (int r = 0; r < NR; ++r) {
      _mm256_storeu_ps(o + (i0 + r) * d + c, acc[r][0]);
      if (two) _mm256_storeu_ps(o + (i0 + r) * d + c + 8, acc[r][1]);
    }
  }
}

// Register tiles of up to 6 query rows (12 accumulators: enough independent FMA chains to cover the
// FMA latency, 15 of 16 ymm).
constexpr int kTile = 6;

void attention_tokens(const AttnArgs& a) {
  const int d = a.d;
  const int64_t nr = static_cast<int64_t>(a.nq) * a.g;
  float* kt = a.scratch;  // [d][kBk]
  float* s = kt + d * kBk;   // [nr][kBk]: scores, then probabilities
  float* o = s + nr * kBk;   // [nr][d]
  float* m = o + nr * d;     // [nr]
  float* l = m + nr;         // [nr]
  for (int64_t i = 0; i < nr; ++i) {
    m[i] = -INFINITY;
    l[i] = 0;
  }
  std::fill(o, o + nr * d, 0.0f);
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  for (int64_t j0 = 0; j0 < a.n; j0 += kBk) {
    const int bk = static_cast<int>(std::min<int64_t>(kBk, a.n - j0));
    widen_block(a, j0, bk, kt);
    for_row_tiles<kTile>(nr, [&](auto NR, int64_t i0) { block_scores<decltype(NR)::value>(a, i0, kt, s); });
    for (int64_t i = 0; i < nr; ++i) {  // online softmax over this block
      float* si = s + i * kBk;
      const int64_t vis = std::clamp<int64_t>(a.n - a.nq + 1 + i / a.g - j0, 0, bk);  // causal limit
      if (vis == 0) {  // nothing visible (the earlier tokens' rows): p = 0, state unchanged
        std::fill(si, si + kBk, 0.0f);
        continue;
      }
      __m256 sv[kBk / 8], keep[kBk / 8], mx = _mm256_set1_ps(-INFINITY);
      for (int b = 0; b < kBk / 8; ++b) {
        keep[b] = _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(vis - 8 * b)), lane));
        sv[b] = _mm256_blendv_ps(_mm256_set1_ps(-INFINITY), _mm256_loadu_ps(si + 8 * b), keep[b]);
        mx = _mm256_max_ps(mx, sv[b]);
      }
      const float mnew = std::max(m[i], hmax_ps_avx2(mx));
      const float alpha = std::exp(m[i] - mnew);  // 0 on the first block (m = -inf)
      const __m256 mv = _mm256_set1_ps(mnew);
      __m256 sum = _mm256_setzero_ps();
      for (int b = 0; b < kBk / 8; ++b) {  // masked lanes: exactly 0 (the vector exp clamps at -87.3)
        const __m256 e = _mm256_and_ps(exp_ps_avx2(_mm256_sub_ps(sv[b], mv)), keep[b]);
        _mm256_storeu_ps(si + 8 * b, e);
        sum = _mm256_add_ps(sum, e);
      }
      l[i] = l[i] * alpha + hsum_ps_avx2(sum);
      m[i] = mnew;
      if (alpha != 1.0f) {
        const __m256 av = _mm256_set1_ps(alpha);
        for (int c = 0; c < d; c += 8)
          _mm256_storeu_ps(o + i * d + c, _mm256_mul_ps(av, _mm256_loadu_ps(o + i * d + c)));
      }
    }
    for_row_tiles<kTile>(nr, [&](auto NR, int64_t i0) { block_values<decltype(NR)::value>(a, j0, i0, bk, s, o); });
  }
  for (int64_t i = 0; i < nr; ++i) {
    const __m256 inv = _mm256_set1_ps(1.0f / l[i]);
    float* out = a.out + (i / a.g) * a.ldo + (i % a.g) * d;
    for (int c = 0; c < d; c += 8) _mm256_storeu_ps(out + c, _mm256_mul_ps(inv, _mm256_loadu_ps(o + i * d + c)));
  }
}
}  // namespace

void attention_f32_avx2(const AttnArgs& a) {
  const int d = a.d;
  if (d % 8 != 0 || d > 256 || (a.kv == KvFormat::Q8_0 && d % 32 != 0)) {
    attention_f32_ref(a);
    return;
  }
  if (a.nq > 1) {  // prompts; one token (decode) is faster with the grouped kernel below
    attention_tokens(a);
    return;
  }
  for_head_subgroups(a.g, [&](auto G, int h0) {
    attention_group<decltype(G)::value>(a.q + h0 * d, kv_src(a, a.k), kv_src(a, a.v), a.n, d, a.scale,
                                        a.out + h0 * d, a.scratch + static_cast<int64_t>(h0) * a.n,
                                        a.ml ? a.ml + 2 * h0 : nullptr);
  });
}

}  // namespace bitnet::cpu
