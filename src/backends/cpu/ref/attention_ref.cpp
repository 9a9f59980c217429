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

void kv_row_to_q8_0_ref(const float* x, int64_t n, uint8_t* row) {
  auto* scales = reinterpret_cast<uint16_t*>(row + n);
  for (int64_t b = 0; b < n / 32; ++b) {
    float amax = 0;
    for (int i = 0; i < 32; ++i) amax = std::fmax(amax, std::fabs(x[32 * b + i]));
    const uint16_t h = f32_to_f16(amax / 127.0f);
    const float d = bitnet::f16_to_f32(h);
    std::memcpy(scales + b, &h, 2);
    for (int i = 0; i < 32; ++i) {
      const float v = d > 0 ? std::nearbyint(x[32 * b + i] / d) : 0.0f;
      row[32 * b + i] = static_cast<uint8_t>(static_cast<int8_t>(std::fmax(-127.0f, std::fmin(127.0f, v))));
    }
  }
}

namespace {
void attention_head(const AttnArgs& a, const float* q, int64_t n, float* out, float* scores, float* ml) {
  const int64_t stride = a.stride;
  const int d = a.d;
  const float scale = a.scale;
  auto elem = [&](const void* base, int64_t j, int c) {
    if (a.kv == KvFormat::Q8_0) {
      const auto* rowp = static_cast<const uint8_t*>(base) + j * stride;
      uint16_t h;
      std::memcpy(&h, rowp + a.scale_off + 2 * (c / 32), 2);
      return static_cast<float>(static_cast<int8_t>(rowp[c])) * bitnet::f16_to_f32(h);
    }
    return a.kv == KvFormat::F16 ? bitnet::f16_to_f32(static_cast<const uint16_t*>(base)[j * stride + c])
                 : static_cast<const float*>(base)[j * stride + c];
  };
  const void* k = a.k;
  const void* v = a.v;
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
      attention_head(a, a.q + t * a.ldq + h * a.d, a.n - a.nq + 1 + t, a.out + t * a.ldo + h * a.d, a.scratch,
                     a.ml ? a.ml + 2 * h : nullptr);
}

}  // namespace bitnet::cpu
