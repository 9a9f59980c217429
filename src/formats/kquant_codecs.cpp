// Reference codecs for ggml's Q4_K and Q6_K "K-quant" formats (256-element super-blocks), the
// types mainline llama-quantize writes for token_embd / output.weight of TQ1_0/TQ2_0 models. The
// byte layouts are ggml's (ggml-common.h: block_q4_K, block_q6_K) so files round-trip; the
// quantizers are our own, built on the same idea as ggml's reference quantizers: per group, sweep
// a few candidate scales around the "max maps to the last level" choice and keep the one whose
// least-squares refit has the lowest error, then quantize the group scales against one f16
// super-scale and re-round the elements with the scales the decoder will actually see.
#include <cmath>
#include <cstring>

#include "core/check.h"
#include "core/fp16.h"
#include "formats/ternary_codecs.h"

namespace bitnet {
namespace {

inline int clampi(int v, int lo, int hi) { return v < lo ? lo : (v > hi ? hi : v); }
// Round half to even, clamped to [lo, hi]. The quantizers round ~20 candidates per element, and
// std::nearbyint is a libm call on baseline x86-64 (no SSE4.1 roundss): clamp first (also keeps
// the int conversion defined), then the 1.5 * 2^23 trick rounds exactly in the default FP mode.
inline int rne_clamp(float v, int lo, int hi) {
  v = v < static_cast<float>(lo) ? static_cast<float>(lo) : v;
  v = v > static_cast<float>(hi) ? static_cast<float>(hi) : v;  // NaN stays NaN: caught below
  const float r = (v + 12582912.0f) - 12582912.0f;  // not reassociated: no -ffast-math here
  return r == r ? static_cast<int>(r) : 0;
}
inline float round_f16(float v) { return f16_to_f32(f32_to_f16(v)); }
inline void put_f16(uint8_t* p, float v) {
  const uint16_t h = f32_to_f16(v);
  std::memcpy(p, &h, 2);
}
inline float get_f16(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return f16_to_f32(h);
}

// Groups whose largest magnitude is below this are stored as zeros (no meaningful scale).
constexpr float kTinyGroup = 1e-15f;

// Symmetric fit of n values to x ~ s * l with l in [-32, 31] (Q6_K's 6-bit codes). Candidates
// map the signed extreme to -32 +- 0.8 levels in steps of 0.2 (the negative side has the extra level, so the
// extreme gets it whatever its sign); each candidate's codes get the least-squares scale
// s = <x,l>/<l,l>, and the candidate maximizing <x,l>^2/<l,l> (= minimizing |x - s l|^2) wins.
// 9 candidates: on Gaussian rows 19 candidates in steps of 0.1 (ggml's count) gave the same error
// (1.737% vs 1.731% relative RMS) at twice the time; no search at all gives 1.834%.
// Unweighted squared error on purpose: a logit's error is sum_j e_j x_j, whose variance over
// activations that are uncorrelated with the rounding is sum_j e_j^2 E[x_j^2], i.e. plain MSE in
// the weights when nothing is known about the activations (an importance matrix would weight it).
float fit_symmetric(const float* x, int n, int8_t* L) {
  float amax = 0, mx = 0;
  for (int i = 0; i < n; ++i)
    if (std::fabs(x[i]) > amax) amax = std::fabs(x[i]), mx = x[i];
  if (amax < kTinyGroup) {
    std::memset(L, 0, static_cast<size_t>(n));
    return 0.0f;
  }
  float best_score = -1, best_s = 0;
  for (int t = -4; t <= 4; ++t) {
    const float iscale = -(32.0f + 0.2f * static_cast<float>(t)) / mx;
    double sxl = 0, sll = 0;
    int8_t cand[32];
    for (int i = 0; i < n; ++i) {
      const int l = rne_clamp(iscale * x[i], -32, 31);
      cand[i] = static_cast<int8_t>(l);
      sxl += static_cast<double>(x[i]) * l;
      sll += static_cast<double>(l) * l;
    }
    if (sll <= 0) continue;
    const double score = sxl * sxl / sll;
    if (score > best_score) {
      best_score = static_cast<float>(score);
      best_s = static_cast<float>(sxl / sll);
      std::memcpy(L, cand, static_cast<size_t>(n));
    }
  }
  return best_s;
}

// Asymmetric fit of n values to x ~ s * l - m with l in [0, nmax], s >= 0, m >= 0 (Q4_K's codes
// with a per-group offset). The range starts at min(x, 0) (the format's offset can only lower
// values, so a group that is all positive keeps m = 0); candidate step sizes sweep
// (nmax - 1 + 0.2 t) / range, t = 0..10, and for each candidate's codes (s, -m) is the joint least-squares
// solution (2x2 normal equations), with m clamped at 0 (then s = <x,l>/<l,l>). Lowest squared
// error wins (unweighted, for the reason given at fit_symmetric). 11 candidates: 21 in steps of 0.1
// gave 7.121% vs 7.128% relative RMS on Gaussian rows; the single min/max candidate 7.52%.
float fit_asymmetric(const float* x, int n, int nmax, uint8_t* L, float* m_out) {
  float lo = x[0], hi = x[0];
  for (int i = 1; i < n; ++i) lo = std::fmin(lo, x[i]), hi = std::fmax(hi, x[i]);
  if (lo > 0) lo = 0;
  if (hi - lo < kTinyGroup) {
    std::memset(L, 0, static_cast<size_t>(n));
    *m_out = -lo;
    return 0.0f;
  }
  double sx = 0, sxx = 0;
  for (int i = 0; i < n; ++i) sx += x[i], sxx += static_cast<double>(x[i]) * x[i];
  // Start: the plain min/max mapping.
  float best_s = (hi - lo) / static_cast<float>(nmax), best_b = lo;
  double best_err = 0;
  for (int i = 0; i < n; ++i) {
    const int l = rne_clamp((x[i] - lo) / best_s, 0, nmax);
    L[i] = static_cast<uint8_t>(l);
    const double e = static_cast<double>(best_s) * l + best_b - x[i];
    best_err += e * e;
  }
  uint8_t cand[32];
  for (int t = 0; t <= 10; ++t) {
    const float iscale = (static_cast<float>(nmax) - 1.0f + 0.2f * static_cast<float>(t)) / (hi - lo);
    double sl = 0, sll = 0, sxl = 0;
    for (int i = 0; i < n; ++i) {
      const int l = rne_clamp(iscale * (x[i] - lo), 0, nmax);
      cand[i] = static_cast<uint8_t>(l);
      sl += l;
      sll += static_cast<double>(l) * l;
      sxl += static_cast<double>(l) * x[i];
    }
    const double det = n * sll - sl * sl;
    if (det <= 0) continue;
    double s = (n * sxl - sx * sl) / det;
    double b = (sll * sx - sl * sxl) / det;
    if (b > 0) {
      b = 0;
      s = sxl / sll;
    }
    // |s l + b - x|^2 expanded over the sums (one pass per candidate; doubles keep it exact enough).
    const double err = s * s * sll + 2 * s * b * sl + b * b * n - 2 * s * sxl - 2 * b * sx + sxx;
    if (err < best_err) {
      best_err = err;
      best_s = static_cast<float>(s);
      best_b = static_cast<float>(b);
      std::memcpy(L, cand, static_cast<size_t>(n));
    }
  }
  *m_out = -best_b;
  return best_s;
}

}  // namespace

// ---- Q6_K -----------------------------------------------------------------------------------------
// Block (210 bytes): ql[128] | qh[64] | int8 scales[16] | f16 d. Element e (0..255), h = e / 128,
// r = e % 128, c = r / 32 (quarter), l = r % 32:
//   low 4 bits  = ql[64h + 32(c & 1) + l] >> (4 (c >> 1))   (quarters 0,1 in low nibbles, 2,3 high)
//   high 2 bits = qh[32h + l] >> (2c)
//   value = d * scales[e / 16] * (code - 32)
void quantize_q6_k(const float* x, int64_t n, uint8_t* out) {
  BITNET_CHECK(n % 256 == 0);
  for (int64_t b = 0; b < n / 256; ++b, x += 256, out += 210) {
    int8_t L[256];
    float s[16];
    float smax = 0, sabs = 0;
    for (int g = 0; g < 16; ++g) {
      s[g] = fit_symmetric(x + 16 * g, 16, L + 16 * g);
      if (std::fabs(s[g]) > sabs) sabs = std::fabs(s[g]), smax = s[g];
    }
    std::memset(out, 0, 210);
    if (sabs < kTinyGroup) continue;  // all zero (d = 0)
    // The group scales become int8 against one f16 super-scale d; the extreme maps to -128 (the
    // extra level of int8's negative side), so d may be negative.
    const float iscale = -128.0f / smax;
    const float d = round_f16(1.0f / iscale);
    put_f16(out + 208, d);
    int8_t* sc = reinterpret_cast<int8_t*>(out + 192);
    for (int g = 0; g < 16; ++g) sc[g] = static_cast<int8_t>(rne_clamp(iscale * s[g], -128, 127));
    // Re-round every element with the scale the decoder sees (d rounded to f16, int8 group scale).
    for (int g = 0; g < 16; ++g) {
      const float dg = d * sc[g];
      if (dg == 0.0f) {
        for (int i = 0; i < 16; ++i) L[16 * g + i] = 0;
        continue;
      }
      for (int i = 0; i < 16; ++i) L[16 * g + i] = static_cast<int8_t>(rne_clamp(x[16 * g + i] / dg, -32, 31));
    }
    uint8_t* ql = out;
    uint8_t* qh = out + 128;
    for (int e = 0; e < 256; ++e) {
      const int code = L[e] + 32, h = e / 128, r = e % 128, c = r / 32, l = r % 32;
      ql[64 * h + 32 * (c & 1) + l] |= static_cast<uint8_t>((code & 15) << (4 * (c >> 1)));
      qh[32 * h + l] |= static_cast<uint8_t>((code >> 4) << (2 * c));
    }
  }
}

void dequantize_q6_k(const uint8_t* in, int64_t n, float* y) {
  for (int64_t b = 0; b < n / 256; ++b, in += 210, y += 256) {
    const float d = get_f16(in + 208);
    const int8_t* sc = reinterpret_cast<const int8_t*>(in + 192);
    for (int e = 0; e < 256; ++e) {
      const int h = e / 128, r = e % 128, c = r / 32, l = r % 32;
      const int lo = (in[64 * h + 32 * (c & 1) + l] >> (4 * (c >> 1))) & 15;
      const int hi = (in[128 + 32 * h + l] >> (2 * c)) & 3;
      y[e] = d * static_cast<float>(sc[e / 16]) * static_cast<float>((lo | (hi << 4)) - 32);
    }
  }
}

// ---- Q4_K -----------------------------------------------------------------------------------------
// Block (144 bytes): f16 d | f16 dmin | scales[12] | qs[128]. Group g = e / 32 (8 groups of 32)
// has a 6-bit scale sc_g and a 6-bit min m_g (unpack_q4_k_scales); element e = 64c + 32u + l has
// its 4-bit code in qs[32c + l] >> (4u) and value d * sc_g * code - dmin * m_g.
void unpack_q4_k_scales(const uint8_t* s12, uint8_t sc[8], uint8_t m[8]) {
  for (int g = 0; g < 4; ++g) {
    sc[g] = s12[g] & 63;
    m[g] = s12[g + 4] & 63;
    sc[g + 4] = static_cast<uint8_t>((s12[g + 8] & 15) | ((s12[g] >> 6) << 4));
    m[g + 4] = static_cast<uint8_t>((s12[g + 8] >> 4) | ((s12[g + 4] >> 6) << 4));
  }
}

void quantize_q4_k(const float* x, int64_t n, uint8_t* out) {
  BITNET_CHECK(n % 256 == 0);
  for (int64_t b = 0; b < n / 256; ++b, x += 256, out += 144) {
    uint8_t L[256];
    float s[8], m[8];
    float smax = 0, mmax = 0;
    for (int g = 0; g < 8; ++g) {
      s[g] = fit_asymmetric(x + 32 * g, 32, 15, L + 32 * g, &m[g]);
      smax = std::fmax(smax, s[g]);
      mmax = std::fmax(mmax, m[g]);
    }
    std::memset(out, 0, 144);
    // 6-bit group scales and mins against f16 super-scales d = max/63, dmin = max/63 (the largest
    // group keeps full precision; both are non-negative by construction).
    const float d = round_f16(smax / 63.0f), dmin = round_f16(mmax / 63.0f);
    put_f16(out, d);
    put_f16(out + 2, dmin);
    uint8_t ls[8], lm[8];
    for (int g = 0; g < 8; ++g) {
      ls[g] = static_cast<uint8_t>(d > 0 ? rne_clamp(s[g] / d, 0, 63) : 0);
      lm[g] = static_cast<uint8_t>(dmin > 0 ? rne_clamp(m[g] / dmin, 0, 63) : 0);
    }
    uint8_t* s12 = out + 4;
    for (int g = 0; g < 4; ++g) {
      s12[g] = static_cast<uint8_t>(ls[g] | ((ls[g + 4] >> 4) << 6));
      s12[g + 4] = static_cast<uint8_t>(lm[g] | ((lm[g + 4] >> 4) << 6));
      s12[g + 8] = static_cast<uint8_t>((ls[g + 4] & 15) | ((lm[g + 4] & 15) << 4));
    }
    // Re-round the elements with the decoded scale and offset.
    for (int g = 0; g < 8; ++g) {
      const float dg = d * ls[g], mg = dmin * lm[g];
      for (int i = 0; i < 32; ++i)
        L[32 * g + i] = static_cast<uint8_t>(dg > 0 ? rne_clamp((x[32 * g + i] + mg) / dg, 0, 15) : 0);
    }
    uint8_t* qs = out + 16;
    for (int c = 0; c < 4; ++c)
      for (int l = 0; l < 32; ++l) qs[32 * c + l] = static_cast<uint8_t>(L[64 * c + l] | (L[64 * c + 32 + l] << 4));
  }
}

void dequantize_q4_k(const uint8_t* in, int64_t n, float* y) {
  for (int64_t b = 0; b < n / 256; ++b, in += 144, y += 256) {
    const float d = get_f16(in), dmin = get_f16(in + 2);
    uint8_t sc[8], m[8];
    unpack_q4_k_scales(in + 4, sc, m);
    const uint8_t* qs = in + 16;
    for (int e = 0; e < 256; ++e) {
      const int g = e / 32, c = e / 64, u = (e / 32) & 1, l = e % 32;
      const int code = (qs[32 * c + l] >> (4 * u)) & 15;
      y[e] = d * static_cast<float>(sc[g]) * static_cast<float>(code) - dmin * static_cast<float>(m[g]);
    }
  }
}

}  // namespace bitnet
