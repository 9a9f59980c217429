// Scalar reference float GEMM (embeddings / output head): W in F32, F16, BF16 or Q8_0, x in f32,
// fp32 accumulation. Also the row dequantizer used by the embedding lookup.
#include <cstring>

#include "backends/cpu/kernels.h"
#include "core/fp16.h"
#include "formats/ternary_codecs.h"

namespace bitnet::cpu {

void float_row_to_f32(const FloatView& w, int64_t r, float* out) {
  switch (w.type) {
    case GgmlType::F32: std::memcpy(out, w.data + r * w.k * 4, static_cast<size_t>(w.k) * 4); break;
    case GgmlType::F16: f16_to_f32_row(reinterpret_cast<const uint16_t*>(w.data) + r * w.k, w.k, out); break;
    case GgmlType::BF16: bf16_to_f32_row(reinterpret_cast<const uint16_t*>(w.data) + r * w.k, w.k, out); break;
    case GgmlType::Q8_0: dequantize_q8_0(w.data + r * (w.k / 32) * 34, w.k, out); break;
    default: break;
  }
  if (w.scale != 1.0f)
    for (int64_t j = 0; j < w.k; ++j) out[j] *= w.scale;
}

void gemm_float_f32_ref(const FloatView& w, const float* x, int64_t n, float* y, int64_t ldy,
                        int64_t r0, int64_t r1, const uint8_t*, uint8_t*) {
  // Dequantize each weight row once and reuse it for every token of the batch.
  constexpr int64_t kMaxK = 1 << 16;
  static thread_local float row[kMaxK];
  for (int64_t r = r0; r < r1; ++r) {
    float_row_to_f32(w, r, row);
    for (int64_t i = 0; i < n; ++i) {
      const float* xi = x + i * w.k;
      float acc = 0;
      for (int64_t j = 0; j < w.k; ++j) acc += row[j] * xi[j];
      y[i * ldy + r] = acc;
    }
  }
}

}  // namespace bitnet::cpu
