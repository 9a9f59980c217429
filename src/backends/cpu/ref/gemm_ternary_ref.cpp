// Scalar reference ternary x int8 GEMM for I2_S, TQ2_0 and TQ1_0 (spec §2.3, §4).
// Integer sums are exact; the fp32 epilogue is y = float(S) / s_a * scale for I2_S. TQ formats
// carry an f16 scale per 256-block, so y = sum_b (d_b * float(S_b)) / s_a * scale.
#include "backends/cpu/kernels.h"
#include "formats/ternary_codecs.h"

namespace bitnet::cpu {

int64_t dot_ternary_row_ref(const TernaryView& w, int64_t r, const int8_t* q) {
  int64_t s = 0;
  if (w.type == GgmlType::I2_S) {
    for (int64_t j = 0; j < w.k; ++j) s += (i2s_code(w.data, r * w.k + j) - 1) * q[j];
    return s;
  }
  uint8_t codes[256];
  float d;
  const int64_t nb = w.k / 256;
  const int64_t bs = w.type == GgmlType::TQ2_0 ? 66 : 54;
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = w.data + (r * nb + b) * bs;
    if (w.type == GgmlType::TQ2_0) decode_block_tq2_0(blk, codes, &d);
    else decode_block_tq1_0(blk, codes, &d);
    for (int j = 0; j < 256; ++j) s += (codes[j] - 1) * q[b * 256 + j];
  }
  return s;
}

void gemm_i2s_i8_ref(const TernaryView& w, const int8_t* q, const float* s_a, int64_t n, float* y,
                     int64_t ldy, int64_t r0, int64_t r1, const uint8_t*, uint8_t*) {
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t r = r0; r < r1; ++r) {
      const int32_t s = static_cast<int32_t>(dot_ternary_row_ref(w, r, q + i * w.k));
      y[i * ldy + r] = static_cast<float>(s) / s_a[i] * w.scale;
    }
  }
}

static void gemm_tq_ref(const TernaryView& w, const int8_t* q, const float* s_a, int64_t n,
                        float* y, int64_t ldy, int64_t r0, int64_t r1) {
  uint8_t codes[256];
  const int64_t nb = w.k / 256;
  const bool tq2 = w.type == GgmlType::TQ2_0;
  const int64_t bs = tq2 ? 66 : 54;
  for (int64_t i = 0; i < n; ++i) {
    const int8_t* qi = q + i * w.k;
    for (int64_t r = r0; r < r1; ++r) {
      float acc = 0;
      for (int64_t b = 0; b < nb; ++b) {
        float d;
        const uint8_t* blk = w.data + (r * nb + b) * bs;
        if (tq2) decode_block_tq2_0(blk, codes, &d);
        else decode_block_tq1_0(blk, codes, &d);
        int32_t s = 0;
        for (int j = 0; j < 256; ++j) s += (codes[j] - 1) * qi[b * 256 + j];
        acc += d * static_cast<float>(s);
      }
      y[i * ldy + r] = acc / s_a[i] * w.scale;
    }
  }
}

void gemm_tq2_0_i8_ref(const TernaryView& w, const int8_t* q, const float* s_a, int64_t n, float* y,
                       int64_t ldy, int64_t r0, int64_t r1, const uint8_t*, uint8_t*) {
  gemm_tq_ref(w, q, s_a, n, y, ldy, r0, r1);
}

void gemm_tq1_0_i8_ref(const TernaryView& w, const int8_t* q, const float* s_a, int64_t n, float* y,
                       int64_t ldy, int64_t r0, int64_t r1, const uint8_t*, uint8_t*) {
  gemm_tq_ref(w, q, s_a, n, y, ldy, r0, r1);
}

}  // namespace bitnet::cpu
