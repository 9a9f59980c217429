// Scalar reference attention (query tokens x a GQA group of heads over the KV cache), and f16 row conversions.
#include <cmath>
#include <cstring>

#include "backends/cpu/kernels.h"
#include "core/fp16.h"

namespace bitnet::cpu {

void f32_to_f16_ref(const float* x, int64_t n, uint16_t* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = f32_to_f16(x[i]);
}

void f16_to_f32_ref(const uint16_t* x, int64_t n, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = bitnet::f16_to_f32(x[i]);
}

namespace {
void attention_head(const float* q, const void* k, const void* v, int64_t stride, int64_t n, int d, float scale,
                    bool f16, float* out, float* scores, float* ml) {
  auto elem = [&](const void* base, int64_t j, int c) {
    return f16 ? bitnet::f16_to_f32(static_cast<const uint16_t*>(base)[j * stride + c])
               : static_cast<const float*>(base)[j * stride + c];
  };
  float mx = -INFINITY;
  for (int64_t j = 0; j < n; ++j) {
    float s = 0;
    for (int c = 0; c < d; ++c) s += q[c] * elem(k, j, c);
    s *= scale;
    scores[j] = s;
    mx = std::fmax(mx, s);
  }
  float sum = 0;
  for (int64_t j = 0; j < n; ++j) {
    scores[j] = std::exp(scores[j] - mx);
    sum += scores[j];
  }
  for (int c = 0; c < d; ++c) out[c] = 0;
  for (int64_t j = 0; j < n; ++j) {
    const float p = ml ? scores[j] : scores[j] / sum;
    for (int c = 0; c < d; ++c) out[c] += p * elem(v, j, c);
  }
  if (ml) {
    ml[0] = mx;
    ml[1] = sum;
  }
}
}  // namespace

void attention_f32_ref(const AttnArgs& a) {
  for (int t = 0; t < a.nq; ++t)
    for (int h = 0; h < a.g; ++h)
      attention_head(a.q + t * a.ldq + h * a.d, a.k, a.v, a.stride, a.n - a.nq + 1 + t, a.d, a.scale, a.f16,
                     a.out + t * a.ldo + h * a.d, a.scratch, a.ml ? a.ml + 2 * h : nullptr);
}

}  // namespace bitnet::cpu
