// Scalar reference RMSNorm and per-token int8 activation quantization (spec §1.2, §2.2).
#include <cmath>

#include "backends/cpu/kernels.h"

namespace bitnet::cpu {

void rmsnorm_f32_ref(const float* x, const float* g, int64_t d, float eps, float* y) {
  double ss = 0;
  for (int64_t j = 0; j < d; ++j) ss += static_cast<double>(x[j]) * x[j];
  const float inv = 1.0f / std::sqrt(static_cast<float>(ss / static_cast<double>(d)) + eps);
  for (int64_t j = 0; j < d; ++j) y[j] = g[j] * (x[j] * inv);
}

void quantize_act_f32_i8_ref(const float* x, int64_t k, int8_t* q, float* s) {
  float amax = 0;
  for (int64_t j = 0; j < k; ++j) amax = std::fmax(amax, std::fabs(x[j]));
  const float scale = 127.0f / std::fmax(amax, 1e-5f);
  for (int64_t j = 0; j < k; ++j) {
    float v = std::nearbyint(x[j] * scale);  // round half to even (default FP environment)
    v = v > 127.f ? 127.f : (v < -128.f ? -128.f : v);
    q[j] = static_cast<int8_t>(v);
  }
  *s = scale;
}

}  // namespace bitnet::cpu
