// RMSNorm, per-token int8 activation quantization and f16 row conversions with baseline AArch64 NEON
// (attention is in attention_f32_neon.cpp). quantize_act is bit-identical to the reference: the same
// fp32 product, vrndnq_f32 (round to nearest even), saturating narrows for the [-128, 127] clamp.
#include <arm_neon.h>

#include <cmath>

#include "backends/cpu/arm/kernels_arm.h"

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

}  // namespace bitnet::cpu
