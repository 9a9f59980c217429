#include "formats/ternary_codecs.h"

#include <cmath>
#include <cstring>

#include "core/check.h"
#include "core/fp16.h"

namespace bitnet {

// ---- I2_S --------------------------------------------------------------------------------------
void pack_i2s(const int8_t* t, int64_t n, float scale, uint8_t* out) {
  BITNET_CHECK(n % 128 == 0);
  std::memset(out, 0, static_cast<size_t>(n / 4 + 32));
  for (int64_t e = 0; e < n; ++e) {
    const int code = t[e] + 1;
    out[(e >> 7) * 32 + (e & 31)] |= static_cast<uint8_t>(code << (6 - 2 * ((e >> 5) & 3)));
  }
  std::memcpy(out + n / 4, &scale, 4);
}

float i2s_scale(const uint8_t* in, int64_t n) {
  float s;
  std::memcpy(&s, in + n / 4, 4);
  return s;
}

void unpack_i2s(const uint8_t* in, int64_t n, int8_t* t, float* scale) {
  for (int64_t e = 0; e < n; ++e) t[e] = static_cast<int8_t>(i2s_code(in, e) - 1);
  if (scale) *scale = i2s_scale(in, n);
}

// ---- TQ2_0 -------------------------------------------------------------------------------------
void quantize_tq2_0(const float* x, int64_t n, uint8_t* out) {
  BITNET_CHECK(n % 256 == 0);
  for (int64_t b = 0; b < n / 256; ++b, x += 256, out += 66) {
    float amax = 0;
    for (int j = 0; j < 256; ++j) amax = std::fmax(amax, std::fabs(x[j]));
    const float id = amax ? 1.0f / amax : 0.0f;
    for (int h = 0; h < 2; ++h) {
      for (int m = 0; m < 32; ++m) {
        uint8_t q = 0;
        for (int k = 0; k < 4; ++k) {
          const int xi = static_cast<int>(std::lround(x[128 * h + m + 32 * k] * id)) + 1;
          q = static_cast<uint8_t>(q + ((xi & 3) << (2 * k)));
        }
        out[32 * h + m] = q;
      }
    }
    const uint16_t d = f32_to_f16(amax);
    std::memcpy(out + 64, &d, 2);
  }
}

void decode_block_tq2_0(const uint8_t* blk, uint8_t* codes, float* d) {
  for (int i = 0; i < 256; ++i) codes[i] = (blk[32 * (i / 128) + i % 32] >> (2 * ((i % 128) / 32))) & 3;
  uint16_t h;
  std::memcpy(&h, blk + 64, 2);
  *d = f16_to_f32(h);
}

void dequantize_tq2_0(const uint8_t* in, int64_t n, float* y) {
  uint8_t codes[256];
  for (int64_t b = 0; b < n / 256; ++b) {
    float d;
    decode_block_tq2_0(in + 66 * b, codes, &d);
    for (int i = 0; i < 256; ++i) y[256 * b + i] = static_cast<float>(codes[i] - 1) * d;
  }
}

// ---- TQ1_0 -------------------------------------------------------------------------------------
namespace {
// 5 trits (t0 most significant) -> fixed-point byte ceil(v*256/243).
uint8_t tq1_byte(const int* trits, int count) {
  int v = 0;
  for (int k = 0; k < count; ++k) v = v * 3 + trits[k];
  for (int k = count; k < 5; ++k) v *= 3;
  return static_cast<uint8_t>((v * 256 + 242) / 243);
}
int tq1_trit(uint8_t byte, int k) {
  static const uint8_t kPow3[5] = {1, 3, 9, 27, 81};
  const uint8_t q = static_cast<uint8_t>(byte * kPow3[k]);
  return (static_cast<uint16_t>(q) * 3) >> 8;
}
}  // namespace

void quantize_tq1_0(const float* x, int64_t n, uint8_t* out) {
  BITNET_CHECK(n % 256 == 0);
  for (int64_t b = 0; b < n / 256; ++b, x += 256, out += 54) {
    float amax = 0;
    for (int j = 0; j < 256; ++j) amax = std::fmax(amax, std::fabs(x[j]));
    const float id = amax ? 1.0f / amax : 0.0f;
    auto code = [&](int i) { return static_cast<int>(std::lround(x[i] * id)) + 1; };
    int tr[5];
    for (int m = 0; m < 32; ++m) {  // weights 0..159
      for (int k = 0; k < 5; ++k) tr[k] = code(m + 32 * k);
      out[m] = tq1_byte(tr, 5);
    }
    for (int m = 0; m < 16; ++m) {  // weights 160..239
      for (int k = 0; k < 5; ++k) tr[k] = code(160 + m + 16 * k);
      out[32 + m] = tq1_byte(tr, 5);
    }
    for (int j = 0; j < 4; ++j) {  // weights 240..255, 4 trits per byte
      for (int k = 0; k < 4; ++k) tr[k] = code(240 + j + 4 * k);
      out[48 + j] = tq1_byte(tr, 4);
    }
    const uint16_t d = f32_to_f16(amax);
    std::memcpy(out + 52, &d, 2);
  }
}

void decode_block_tq1_0(const uint8_t* blk, uint8_t* codes, float* d) {
  for (int k = 0; k < 5; ++k)
    for (int m = 0; m < 32; ++m) codes[m + 32 * k] = static_cast<uint8_t>(tq1_trit(blk[m], k));
  for (int k = 0; k < 5; ++k)
    for (int m = 0; m < 16; ++m) codes[160 + m + 16 * k] = static_cast<uint8_t>(tq1_trit(blk[32 + m], k));
  for (int k = 0; k < 4; ++k)
    for (int j = 0; j < 4; ++j) codes[240 + j + 4 * k] = static_cast<uint8_t>(tq1_trit(blk[48 + j], k));
  uint16_t h;
  std::memcpy(&h, blk + 52, 2);
  *d = f16_to_f32(h);
}

void dequantize_tq1_0(const uint8_t* in, int64_t n, float* y) {
  uint8_t codes[256];
  for (int64_t b = 0; b < n / 256; ++b) {
    float d;
    decode_block_tq1_0(in + 54 * b, codes, &d);
    for (int i = 0; i < 256; ++i) y[256 * b + i] = static_cast<float>(codes[i] - 1) * d;
  }
}

// ---- Float formats -------------------------------------------------------------------------------
void quantize_q8_0(const float* x, int64_t n, uint8_t* out) {
  BITNET_CHECK(n % 32 == 0);
  for (int64_t b = 0; b < n / 32; ++b, x += 32, out += 34) {
    float amax = 0;
    for (int j = 0; j < 32; ++j) amax = std::fmax(amax, std::fabs(x[j]));
    const float d = amax / 127.0f;
    const float id = d ? 1.0f / d : 0.0f;
    const uint16_t h = f32_to_f16(d);
    std::memcpy(out, &h, 2);
    for (int j = 0; j < 32; ++j) out[2 + j] = static_cast<uint8_t>(static_cast<int8_t>(std::roundf(x[j] * id)));
  }
}

void dequantize_q8_0(const uint8_t* in, int64_t n, float* y) {
  for (int64_t b = 0; b < n / 32; ++b, in += 34) {
    uint16_t h;
    std::memcpy(&h, in, 2);
    const float d = f16_to_f32(h);
    for (int j = 0; j < 32; ++j) y[32 * b + j] = static_cast<float>(static_cast<int8_t>(in[2 + j])) * d;
  }
}

void f32_to_f16_row(const float* x, int64_t n, uint16_t* y) { for (int64_t i = 0; i < n; ++i) y[i] = f32_to_f16(x[i]); }
void f16_to_f32_row(const uint16_t* x, int64_t n, float* y) { for (int64_t i = 0; i < n; ++i) y[i] = f16_to_f32(x[i]); }
void f32_to_bf16_row(const float* x, int64_t n, uint16_t* y) { for (int64_t i = 0; i < n; ++i) y[i] = f32_to_bf16(x[i]); }
void bf16_to_f32_row(const uint16_t* x, int64_t n, float* y) { for (int64_t i = 0; i < n; ++i) y[i] = bf16_to_f32(x[i]); }

bool float_row_to_f32(GgmlType type, const uint8_t* row, int64_t n, float* y) {
  if (n < 0 || n % ggml_block_elems(type) != 0) return false;
  switch (type) {
    case GgmlType::F32: std::memcpy(y, row, static_cast<size_t>(n) * 4); return true;
    case GgmlType::F16: f16_to_f32_row(reinterpret_cast<const uint16_t*>(row), n, y); return true;
    case GgmlType::BF16: bf16_to_f32_row(reinterpret_cast<const uint16_t*>(row), n, y); return true;
    case GgmlType::Q8_0: dequantize_q8_0(row, n, y); return true;
    case GgmlType::Q4_K: dequantize_q4_k(row, n, y); return true;
    case GgmlType::Q6_K: dequantize_q6_k(row, n, y); return true;
    default: return false;
  }
}

// ---- Ternarization -------------------------------------------------------------------------------
float ternarize_absmean(const float* w, int64_t n, int8_t* t) {
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += std::fabs(w[i]);
  float gamma = static_cast<float>(sum / static_cast<double>(n > 0 ? n : 1));
  if (gamma < 1e-5f) gamma = 1e-5f;
  const float inv = 1.0f / gamma;  // HF WeightQuant multiplies by s = 1/gamma
  for (int64_t i = 0; i < n; ++i) {
    float r = std::nearbyint(w[i] * inv);  // default FP mode: ties to even, like torch.round
    t[i] = static_cast<int8_t>(r > 1 ? 1 : (r < -1 ? -1 : r));
  }
  return gamma;
}

}  // namespace bitnet
