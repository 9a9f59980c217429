// Scalar reference of the K-quant head path (Q4_K / Q6_K weights x Q8K activations, int32 sums):
// the activation quantizer every table shares and the integer-path oracle for the fast kernels.
// The float oracle (dequantize, fp32 dot) is gemm_float_f32_ref, as for every float format.
#include <cmath>
#include <cstring>

#include "backends/cpu/kquant.h"
#include "core/fp16.h"
#include "formats/ternary_codecs.h"

namespace bitnet::cpu {

void quantize_row_q8k_ref(const float* x, int64_t k, int8_t* q, float* d, int16_t* bsums) {
  for (int64_t b = 0; b < k / 256; ++b, x += 256, q += 256, bsums += 16) {
    float amax = 0;
    for (int j = 0; j < 256; ++j) amax = std::fmax(amax, std::fabs(x[j]));
    const float id = amax > 0 ? 127.0f / amax : 0.0f;
    d[b] = amax / 127.0f;
    for (int g = 0; g < 16; ++g) {
      int s = 0;
      for (int j = 16 * g; j < 16 * g + 16; ++j) {
        float v = std::nearbyint(x[j] * id);
        v = v > 127.0f ? 127.0f : (v < -127.0f ? -127.0f : v);
        q[j] = static_cast<int8_t>(v);
        s += q[j];
      }
      bsums[g] = static_cast<int16_t>(s);
    }
  }
}

size_t gemm_kquant_prep_size(const FloatView& w, int64_t n) {
  if (!kq::is_kquant(w.type) || w.k % 256 != 0) return 0;
  return kq::prep_bytes(w.k, n);
}

void gemm_kquant_prep_ref(const FloatView& w, const float* x, int64_t n, uint8_t* out) {
  if (!kq::is_kquant(w.type) || w.k % 256 != 0) return;
  const int64_t nb = w.k / 256;
  const kq::Q8K v = kq::view(out, w.k, n);
  for (int64_t i = 0; i < n; ++i)
    quantize_row_q8k_ref(x + i * w.k, w.k, const_cast<int8_t*>(v.q) + i * w.k, const_cast<float*>(v.d) + i * nb,
                         const_cast<int16_t*>(v.bsums) + i * nb * 16);
}

namespace {

float dot_q6k(const uint8_t* row, int64_t nb, const int8_t* q, const float* dx, const int16_t* bs) {
  float acc = 0;
  for (int64_t b = 0; b < nb; ++b, row += 210, q += 256, bs += 16) {
    uint16_t hd;
    std::memcpy(&hd, row + 208, 2);
    const int8_t* sc = reinterpret_cast<const int8_t*>(row + 192);
    int32_t isum = 0;
    for (int g = 0; g < 16; ++g) {
      int32_t s = 0;
      for (int e = 16 * g; e < 16 * g + 16; ++e) {
        const int h = e / 128, r = e % 128, c = r / 32, l = r % 32;
        const int lo = (row[64 * h + 32 * (c & 1) + l] >> (4 * (c >> 1))) & 15;
        const int hi = (row[128 + 32 * h + l] >> (2 * c)) & 3;
        s += (lo | (hi << 4)) * q[e];
      }
      isum += sc[g] * (s - 32 * bs[g]);
    }
    acc += (f16_to_f32(hd) * dx[b]) * static_cast<float>(isum);
  }
  return acc;
}

float dot_q4k(const uint8_t* row, int64_t nb, const int8_t* q, const float* dx, const int16_t* bs) {
  float acc = 0;
  for (int64_t b = 0; b < nb; ++b, row += 144, q += 256, bs += 16) {
    uint16_t hd, hm;
    std::memcpy(&hd, row, 2);
    std::memcpy(&hm, row + 2, 2);
    uint8_t sc[8], m[8];
    unpack_q4_k_scales(row + 4, sc, m);
    int32_t isum = 0, msum = 0;
    for (int g = 0; g < 8; ++g) {
      int32_t s = 0;
      for (int e = 32 * g; e < 32 * g + 32; ++e) {
        const int c = e / 64, u = (e / 32) & 1, l = e % 32;
        s += ((row[16 + 32 * c + l] >> (4 * u)) & 15) * q[e];
      }
      isum += sc[g] * s;
      msum += m[g] * (bs[2 * g] + bs[2 * g + 1]);
    }
    acc += (f16_to_f32(hd) * dx[b]) * static_cast<float>(isum) - (f16_to_f32(hm) * dx[b]) * static_cast<float>(msum);
  }
  return acc;
}

}  // namespace

void gemm_kquant_q8k_ref(const FloatView& w, int64_t n, float* y, int64_t ldy, int64_t r0, int64_t r1,
                         const uint8_t* prep) {
  kq::rows_by_token(w, n, y, ldy, r0, r1, prep, dot_q6k, dot_q4k);
}

}  // namespace bitnet::cpu
