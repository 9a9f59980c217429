// Attention of query tokens x a GQA group of heads over an f16/f32/Q8_0 KV cache with baseline AArch64
// NEON (fp32 arithmetic only; f16 rows widened with vcvt_f32_f16, so all three ARM tables use it).
// Decode (one token) reads every k and v row once for all the heads of its group. Prompts
// (attention_tokens) go further: nq tokens x g heads share each block of cache rows, widened and
// transposed once into an L1-resident f32 block, with an online softmax across blocks.
#include <arm_neon.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>

#include "backends/cpu/arm/kernels_arm.h"
#include "backends/cpu/attention_groups.h"

namespace bitnet::cpu {

namespace {
// Values [c, c + 4) of cache row j as f32 (c % 4 == 0; Q8_0: within one 32-block, one scale).
inline float32x4_t kv4(const KvSrc& s, int64_t j, int c) {
  const uint8_t* row = s.base + j * s.row_bytes;
  if (s.kv == KvFormat::Q8_0) {
    uint16_t h;
    std::memcpy(&h, row + s.scale_off + 2 * (c / 32), 2);
    int32_t w;
    std::memcpy(&w, row + c, 4);
    const int16x4_t v16 = vget_low_s16(vmovl_s8(vreinterpret_s8_s32(vdup_n_s32(w))));
    const float32x4_t v = vcvtq_f32_s32(vmovl_s16(v16));
    return vmulq_n_f32(v, vgetq_lane_f32(vcvt_f32_f16(vreinterpret_f16_u16(vdup_n_u16(h))), 0));
  }
  return s.kv == KvFormat::F16 ? vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(reinterpret_cast<const uint16_t*>(row) + c)))
                               : vld1q_f32(reinterpret_cast<const float*>(row) + c);
}

// ---- Decode (nq == 1): the grouped kernel --------------------------------------------------------

// Scores of G heads (queries at q + h*d) for rows [0, n) into scores[h*n + j], 2 rows per step:
// each k row chunk is loaded (and widened) once for all G heads.
template <int G>
void scores_group_neon(const float* q, const KvSrc& k, int64_t n, int d, float scale,
                       float* scores, float* mx) {
  const int nv = d / 4;
  for (int h = 0; h < G; ++h) mx[h] = -INFINITY;
  auto rows = [&](int64_t j, auto nr_tag) {
    constexpr int NR = decltype(nr_tag)::value;
    float32x4_t a[NR][G];
    for (int r = 0; r < NR; ++r)
      for (int h = 0; h < G; ++h) a[r][h] = vdupq_n_f32(0);
    for (int c = 0; c < nv; ++c) {
      float32x4_t kr[NR];
      for (int r = 0; r < NR; ++r) kr[r] = kv4(k, j + r, 4 * c);
      for (int h = 0; h < G; ++h) {
        const float32x4_t qh = vld1q_f32(q + h * d + 4 * c);
        for (int r = 0; r < NR; ++r) a[r][h] = vfmaq_f32(a[r][h], qh, kr[r]);
      }
    }
    for (int h = 0; h < G; ++h)
      for (int r = 0; r < NR; ++r) {
        const float s = vaddvq_f32(a[r][h]) * scale;
        scores[h * n + j + r] = s;
        mx[h] = s > mx[h] ? s : mx[h];
      }
  };
  int64_t j = 0;
  for (; j + 2 <= n; j += 2) rows(j, std::integral_constant<int, 2>{});
  for (; j < n; ++j) rows(j, std::integral_constant<int, 1>{});
}

// out[h*d + c] = inv[h] * sum_j p[h*n + j] * v[j][c] for G heads and CB chunks of 4 dims from chunk
// c0, each v row chunk loaded once for all G heads; G*CB accumulators in registers.
template <int G, int CB>
void values_pass_neon(const float* p, const KvSrc& v, int64_t n, int d, const float* inv,
                      int c0, float* out) {
  float32x4_t a[G][CB];
  for (int h = 0; h < G; ++h)
    for (int c = 0; c < CB; ++c) a[h][c] = vdupq_n_f32(0);
  for (int64_t j = 0; j < n; ++j) {
    float32x4_t vr[CB];
    for (int c = 0; c < CB; ++c) vr[c] = kv4(v, j, 4 * (c0 + c));
    for (int h = 0; h < G; ++h) {
      const float ph = p[h * n + j];
      for (int c = 0; c < CB; ++c) a[h][c] = vfmaq_n_f32(a[h][c], vr[c], ph);
    }
  }
  for (int h = 0; h < G; ++h)
    for (int c = 0; c < CB; ++c) vst1q_f32(out + h * d + 4 * (c0 + c), vmulq_n_f32(a[h][c], inv[h]));
}

// The heads of one GQA group (G <= 4) over the cache: every k and v row is read once for all of them.
template <int G>
void attention_group_neon(const float* q, const KvSrc& k, const KvSrc& v, int64_t n, int d, float scale,
                          float* out, float* scores, float* ml) {
  float mx[G], inv[G];
  scores_group_neon<G>(q, k, n, d, scale, scores, mx);
  for (int h = 0; h < G; ++h) {
    float* s = scores + h * n;
    float sum = 0;
    for (int64_t j = 0; j < n; ++j) {
      s[j] = std::exp(s[j] - mx[h]);
      sum += s[j];
    }
    inv[h] = finish_softmax_head(mx[h], sum, ml ? ml + 2 * h : nullptr);
  }
  constexpr int CB = G == 1 ? 16 : (G == 2 ? 8 : 4);
  const int nv = d / 4;
  int c0 = 0;
  for (; c0 + CB <= nv; c0 += CB) values_pass_neon<G, CB>(scores, v, n, d, inv, c0, out);
  for (; c0 < nv; ++c0) values_pass_neon<G, 1>(scores, v, n, d, inv, c0, out);
}

// ---- Prompts (nq > 1): nq tokens x g heads = nr query rows against blocks of kBk cache rows ------
// Per block: k widened and transposed once (kt[c][j]: 4 keys per vector, so scores need no
// horizontal sums); S = scale * Q K^T; an online-softmax update per row (running max m and sum l;
// the running output o rescaled by exp(m_old - m_new) when the max grows; keys past a token's
// causal limit get p = 0 exactly); o += P V reading v directly. Query row i is token i / g, head
// i % g. Register tiles are kTile = 8 query rows x 8 keys (scores) or x 8 dims (P V): 16
// accumulators (enough independent FMA chains for 4 FMA pipes of latency 4) + 8 query (or p)
// vectors + 2 k (or v) vectors = 26 of the 32 NEON registers. The tile's q (or p) vectors are
// used lane by lane with vfmaq_laneq_f32 (a by-element FMA costs the same as a plain one), so
// nothing is broadcast: per 4 dims (or keys) 8 + 8 vector loads feed 64 FMAs.
constexpr int kBk = 32;    // cache rows per block: kt (d x 32 floats, 16 KiB at d = 128) stays in L1
constexpr int kTile = 8;   // query rows per register tile
static_assert(kBk <= kAttnBlock && kBk % 8 == 0);

// Calls fn(std::integral_constant<int, L>{}) for L = 0..3: vfmaq_laneq_f32 needs a constant lane.
template <class Fn>
inline void for_lanes(Fn&& fn) {
  fn(std::integral_constant<int, 0>{});
  fn(std::integral_constant<int, 1>{});
  fn(std::integral_constant<int, 2>{});
  fn(std::integral_constant<int, 3>{});
}

// 4x4 transpose in registers: r[i] = row i (elements 0..3) becomes r[c] = element c of rows 0..3.
inline void transpose4(float32x4_t* r) {
  const float32x4_t t0 = vtrn1q_f32(r[0], r[1]), t1 = vtrn2q_f32(r[0], r[1]);  // a0 b0 a2 b2 | a1 b1 a3 b3
  const float32x4_t t2 = vtrn1q_f32(r[2], r[3]), t3 = vtrn2q_f32(r[2], r[3]);  // c0 d0 c2 d2 | c1 d1 c3 d3
  auto lo = [](float32x4_t x, float32x4_t y) {
    return vreinterpretq_f32_f64(vtrn1q_f64(vreinterpretq_f64_f32(x), vreinterpretq_f64_f32(y)));
  };
  auto hi = [](float32x4_t x, float32x4_t y) {
    return vreinterpretq_f32_f64(vtrn2q_f64(vreinterpretq_f64_f32(x), vreinterpretq_f64_f32(y)));
  };
  r[0] = lo(t0, t2);
  r[1] = lo(t1, t3);
  r[2] = hi(t0, t2);
  r[3] = hi(t1, t3);
}

// kt[c * kBk + j] = element c of cache row j0 + j, widened to f32 (0 for j >= bk).
void widen_block(const AttnArgs& a, int64_t j0, int bk, float* kt) {
  const KvSrc ks = kv_src(a, a.k);
  for (int jj = 0; jj < kBk; jj += 4)
    for (int c = 0; c < a.d; c += 4) {
      float32x4_t r[4];
      for (int j = 0; j < 4; ++j)
        r[j] = jj + j < bk ? kv4(ks, j0 + jj + j, c) : vdupq_n_f32(0);
      transpose4(r);
      for (int i = 0; i < 4; ++i) vst1q_f32(kt + (c + i) * kBk + jj, r[i]);
    }
}

// s[i * kBk + j] = scale * q_i . k_j for rows [i0, i0 + NR), all kBk keys: NR rows x 8 keys per
// register tile; per 4 dims, the rows' q vectors are loaded once and used lane by lane.
template <int NR>
void block_scores(const AttnArgs& a, int64_t i0, const float* kt, float* s) {
  const float* qr[NR];
  for (int r = 0; r < NR; ++r) qr[r] = query_row(a, i0 + r);
  for (int jj = 0; jj < kBk; jj += 8) {
    float32x4_t acc[NR][2];
    for (int r = 0; r < NR; ++r) acc[r][0] = acc[r][1] = vdupq_n_f32(0);
    for (int c = 0; c < a.d; c += 4) {
      float32x4_t qv[NR];
      for (int r = 0; r < NR; ++r) qv[r] = vld1q_f32(qr[r] + c);
      for_lanes([&](auto lane) {
        constexpr int l = decltype(lane)::value;
        const float* kc = kt + (c + l) * kBk + jj;  // dim c + l of keys jj..jj+7
        const float32x4_t k0 = vld1q_f32(kc), k1 = vld1q_f32(kc + 4);
        for (int r = 0; r < NR; ++r) {
          acc[r][0] = vfmaq_laneq_f32(acc[r][0], k0, qv[r], l);
          acc[r][1] = vfmaq_laneq_f32(acc[r][1], k1, qv[r], l);
        }
      });
    }
    for (int r = 0; r < NR; ++r) {
      vst1q_f32(s + (i0 + r) * kBk + jj, vmulq_n_f32(acc[r][0], a.scale));
      vst1q_f32(s + (i0 + r) * kBk + jj + 4, vmulq_n_f32(acc[r][1], a.scale));
    }
  }
}

// o[i * d + c] += sum_j p[i * kBk + j] * v[j0 + j][c] for rows [i0, i0 + NR), j < bk: NR rows x 8
// dims per register tile (the last tile of d = 4 mod 8 computes its upper half and drops it); each
// v row chunk is widened once in registers for the NR rows, whose p vectors (4 keys) are used
// lane by lane.
template <int NR>
void block_values(const AttnArgs& a, int64_t j0, int64_t i0, int bk, const float* p, float* o) {
  const int d = a.d;
  const KvSrc vs = kv_src(a, a.v);
  for (int c = 0; c < d; c += 8) {
    const bool two = c + 4 < d;
    float32x4_t acc[NR][2];
    for (int r = 0; r < NR; ++r) {
      acc[r][0] = vld1q_f32(o + (i0 + r) * d + c);
      acc[r][1] = two ? vld1q_f32(o + (i0 + r) * d + c + 4) : vdupq_n_f32(0);
    }
    int j = 0;
    for (; j + 4 <= bk; j += 4) {
      float32x4_t pv[NR];
      for (int r = 0; r < NR; ++r) pv[r] = vld1q_f32(p + (i0 + r) * kBk + j);
      for_lanes([&](auto lane) {
        constexpr int l = decltype(lane)::value;
        const float32x4_t v0 = kv4(vs, j0 + j + l, c), v1 = two ? kv4(vs, j0 + j + l, c + 4) : v0;
        for (int r = 0; r < NR; ++r) {
          acc[r][0] = vfmaq_laneq_f32(acc[r][0], v0, pv[r], l);
          acc[r][1] = vfmaq_laneq_f32(acc[r][1], v1, pv[r], l);
        }
      });
    }
    for (; j < bk; ++j) {  // the last block's tail keys (bk % 4), one at a time
      const float32x4_t v0 = kv4(vs, j0 + j, c), v1 = two ? kv4(vs, j0 + j, c + 4) : v0;
      for (int r = 0; r < NR; ++r) {
        const float pr = p[(i0 + r) * kBk + j];
        acc[r][0] = vfmaq_n_f32(acc[r][0], v0, pr);
        acc[r][1] = vfmaq_n_f32(acc[r][1], v1, pr);
      }
    }
    for (int r = 0; r < NR; ++r) {
      vst1q_f32(o + (i0 + r) * d + c, acc[r][0]);
      if (two) vst1q_f32(o + (i0 + r) * d + c + 4, acc[r][1]);
    }
  }
}

void attention_tokens(const AttnArgs& a) {
  const int d = a.d;
  const int64_t nr = static_cast<int64_t>(a.nq) * a.g;
  float* kt = a.scratch;   // [d][kBk]
  float* s = kt + d * kBk;  // [nr][kBk]: scores, then probabilities
  float* o = s + nr * kBk;  // [nr][d]: unnormalized output
  float* m = o + nr * d;    // [nr]: running max
  float* l = m + nr;        // [nr]: running sum of exp(s - m)
  std::fill(m, m + nr, -INFINITY);
  std::fill(l, l + nr, 0.0f);
  std::fill(o, o + nr * d, 0.0f);
  for (int64_t j0 = 0; j0 < a.n; j0 += kBk) {
    const int bk = static_cast<int>(std::min<int64_t>(kBk, a.n - j0));
    widen_block(a, j0, bk, kt);
    for_row_tiles<kTile>(nr, [&](auto NR, int64_t i0) { block_scores<decltype(NR)::value>(a, i0, kt, s); });
    for (int64_t i = 0; i < nr; ++i) {  // online softmax over this block (scalar exp, as in decode)
      float* si = s + i * kBk;
      const int vis = static_cast<int>(std::clamp<int64_t>(a.n - a.nq + 1 + i / a.g - j0, 0, bk));  // causal limit
      std::fill(si + vis, si + bk, 0.0f);  // keys this token may not see: p = 0 exactly
      if (vis == 0) continue;              // nothing visible in this block: state unchanged
      float mnew = m[i];
      for (int j = 0; j < vis; ++j) mnew = std::max(mnew, si[j]);
      const float alpha = std::exp(m[i] - mnew);  // 0 on the first block (m = -inf)
      float sum = 0;
      for (int j = 0; j < vis; ++j) {
        si[j] = std::exp(si[j] - mnew);
        sum += si[j];
      }
      l[i] = l[i] * alpha + sum;
      m[i] = mnew;
      if (alpha != 1.0f)
        for (int c = 0; c < d; c += 4) vst1q_f32(o + i * d + c, vmulq_n_f32(vld1q_f32(o + i * d + c), alpha));
    }
    for_row_tiles<kTile>(nr, [&](auto NR, int64_t i0) { block_values<decltype(NR)::value>(a, j0, i0, bk, s, o); });
  }
  for (int64_t i = 0; i < nr; ++i) {
    const float inv = 1.0f / l[i];
    float* out = a.out + (i / a.g) * a.ldo + (i % a.g) * d;
    for (int c = 0; c < d; c += 4) vst1q_f32(out + c, vmulq_n_f32(vld1q_f32(o + i * d + c), inv));
  }
}
}  // namespace

void attention_f32_neon(const AttnArgs& a) {
  const int d = a.d;
  if (d % 4 != 0 || d > 256 || (a.kv == KvFormat::Q8_0 && d % 32 != 0)) {
    attention_f32_ref(a);
    return;
  }
  if (a.nq > 1) {  // prompts; one token (decode) is the grouped kernel below
    attention_tokens(a);
    return;
  }
  for_head_subgroups(a.g, [&](auto G, int h0) {
    attention_group_neon<decltype(G)::value>(a.q + h0 * d, kv_src(a, a.k), kv_src(a, a.v), a.n, d, a.scale,
                                             a.out + h0 * d, a.scratch + static_cast<int64_t>(h0) * a.n,
                                             a.ml ? a.ml + 2 * h0 : nullptr);
  });
}

}  // namespace bitnet::cpu
