// RMSNorm, per-token int8 activation quantization, attention of a GQA group and f16 row conversions
// with baseline AArch64 NEON. quantize_act is bit-identical to the reference: the same fp32 product,
// vrndnq_f32 (round to nearest even), saturating narrows for the [-128, 127] clamp.
#include <arm_neon.h>

#include <cmath>
#include <type_traits>

#include "backends/cpu/arm/kernels_arm.h"
#include "backends/cpu/attention_groups.h"

namespace bitnet::cpu {

void quantize_act_f32_i8_neon(const float* x, int64_t k, int8_t* q, float* s) {
  float32x4_t m0 = vdupq_n_f32(0), m1 = m0;
  int64_t j = 0;
  for (; j + 8 <= k; j += 8) {
    m0 = vmaxq_f32(m0, vabsq_f32(vld1q_f32(x + j)));
    m1 = vmaxq_f32(m1, vabsq_f32(vld1q_f32(x + j + 4)));
  }
  float amax = vmaxvq_f32(vmaxq_f32(m0, m1));
  for (int64_t t = j; t < k; ++t) amax = std::fmax(amax, std::fabs(x[t]));
  const float scale = 127.0f / std::fmax(amax, 1e-5f);
  for (j = 0; j + 16 <= k; j += 16) {
    int32x4_t v[4];
    for (int i = 0; i < 4; ++i) v[i] = vcvtq_s32_f32(vrndnq_f32(vmulq_n_f32(vld1q_f32(x + j + 4 * i), scale)));
    const int16x8_t a = vcombine_s16(vqmovn_s32(v[0]), vqmovn_s32(v[1]));
    const int16x8_t b = vcombine_s16(vqmovn_s32(v[2]), vqmovn_s32(v[3]));
    vst1q_s8(q + j, vcombine_s8(vqmovn_s16(a), vqmovn_s16(b)));
  }
  for (; j < k; ++j) {
    float v = std::nearbyint(x[j] * scale);
    v = v > 127.f ? 127.f : (v < -128.f ? -128.f : v);
    q[j] = static_cast<int8_t>(v);
  }
  *s = scale;
}

void rmsnorm_f32_neon(const float* x, const float* g, int64_t d, float eps, float* y) {
  float64x2_t a0 = vdupq_n_f64(0), a1 = a0;
  int64_t j = 0;
  for (; j + 4 <= d; j += 4) {
    const float32x4_t v = vld1q_f32(x + j);
    const float64x2_t lo = vcvt_f64_f32(vget_low_f32(v)), hi = vcvt_high_f64_f32(v);
    a0 = vfmaq_f64(a0, lo, lo);
    a1 = vfmaq_f64(a1, hi, hi);
  }
  double ss = vaddvq_f64(vaddq_f64(a0, a1));
  for (; j < d; ++j) ss += static_cast<double>(x[j]) * x[j];
  const float inv = 1.0f / std::sqrt(static_cast<float>(ss / static_cast<double>(d)) + eps);
  for (j = 0; j + 4 <= d; j += 4)
    vst1q_f32(y + j, vmulq_f32(vld1q_f32(g + j), vmulq_n_f32(vld1q_f32(x + j), inv)));
  for (; j < d; ++j) y[j] = g[j] * (x[j] * inv);
}

void f32_to_f16_neon(const float* x, int64_t n, uint16_t* y) {
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) vst1_u16(y + i, vreinterpret_u16_f16(vcvt_f16_f32(vld1q_f32(x + i))));
  if (i < n) f32_to_f16_ref(x + i, n - i, y + i);
}

void f16_to_f32_neon(const uint16_t* x, int64_t n, float* y) {
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) vst1q_f32(y + i, vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(x + i))));
  if (i < n) f16_to_f32_ref(x + i, n - i, y + i);
}

namespace {
inline float32x4_t kv4(const void* base, bool f16, int64_t off) {
  return f16 ? vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(static_cast<const uint16_t*>(base) + off)))
             : vld1q_f32(static_cast<const float*>(base) + off);
}

// Scores of G heads (queries at q + h*d) for rows [0, n) into scores[h*n + j], 2 rows per step:
// each k row chunk is loaded (and widened) once for all G heads.
template <int G>
void scores_group_neon(const float* q, const void* k, int64_t stride, int64_t n, int d, float scale, bool f16,
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
      for (int r = 0; r < NR; ++r) kr[r] = kv4(k, f16, (j + r) * stride + 4 * c);
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
void values_pass_neon(const float* p, const void* v, int64_t stride, int64_t n, int d, bool f16, const float* inv,
                      int c0, float* out) {
  float32x4_t a[G][CB];
  for (int h = 0; h < G; ++h)
    for (int c = 0; c < CB; ++c) a[h][c] = vdupq_n_f32(0);
  for (int64_t j = 0; j < n; ++j) {
    float32x4_t vr[CB];
    for (int c = 0; c < CB; ++c) vr[c] = kv4(v, f16, j * stride + 4 * (c0 + c));
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
void attention_group_neon(const float* q, const void* k, const void* v, int64_t stride, int64_t n, int d,
                          float scale, bool f16, float* out, float* scores, float* ml) {
  float mx[G], inv[G];
  scores_group_neon<G>(q, k, stride, n, d, scale, f16, scores, mx);
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
  for (; c0 + CB <= nv; c0 += CB) values_pass_neon<G, CB>(scores, v, stride, n, d, f16, inv, c0, out);
  for (; c0 < nv; ++c0) values_pass_neon<G, 1>(scores, v, stride, n, d, f16, inv, c0, out);
}
}  // namespace

void attention_f32_neon(const AttnArgs& a) {
  const int d = a.d;
  if (d % 4 != 0 || d > 256) {
    attention_f32_ref(a);
    return;
  }
  for (int t = 0; t < a.nq; ++t) {  // token by token (x86 tiles prompts; not done for NEON yet)
    const float* q = a.q + t * a.ldq;
    float* out = a.out + t * a.ldo;
    const int64_t n = a.n - a.nq + 1 + t;
    for_head_subgroups(a.g, [&](auto G, int h0) {
      attention_group_neon<decltype(G)::value>(q + h0 * d, a.k, a.v, a.stride, n, d, a.scale, a.f16, out + h0 * d,
                                               a.scratch + static_cast<int64_t>(h0) * n, a.ml ? a.ml + 2 * h0 : nullptr);
    });
  }
}

}  // namespace bitnet::cpu
