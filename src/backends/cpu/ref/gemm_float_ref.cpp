// Scalar reference float GEMM (embeddings / output head): W in F32, F16, BF16 or Q8_0, x in f32,
// fp32 accumulation. Also the row dequantizer used by the embedding lookup.
#include <cstring>

#include "backends/cpu/kernels.h"
#include "core/fp16.h"
#include "formats/ternary_codecs.h"

namespace bitnet::cpu {

void float_row_to_f32(const FloatView& w, int64_t r, float* out) {
  bitnet::float_row_to_f32(w.type, w.data + r * *ggml_row_bytes(w.type, w.k), w.k, out);
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
