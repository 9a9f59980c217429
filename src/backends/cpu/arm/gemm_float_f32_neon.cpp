// Float-weight GEMV / GEMM (the output head) with baseline AArch64 NEON: F16 widened with
// vcvt_f32_f16, BF16 by a 16-bit shift, fp32 FMA in 4 chains. Q8_0: x quantized per 32-block to
// int8 (ggml-style), int8 x int8 products with vmull_s8 + vpadalq, scaled by d_w * d_x per block
// (the dot-product table replaces that inner product with sdot).
#include <arm_neon.h>

#include <cmath>
#include <cstring>

#include "backends/cpu/arm/kernels_arm.h"
#include "backends/cpu/kquant.h"
#include "core/fp16.h"

namespace bitnet::cpu {
namespace {

constexpr int64_t kTok = 4;

inline float32x4_t load4(GgmlType t, const uint8_t* row, int64_t j) {
  switch (t) {
    case GgmlType::F16: return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(reinterpret_cast<const uint16_t*>(row) + j)));
    case GgmlType::BF16: return vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(reinterpret_cast<const uint16_t*>(row) + j), 16));
    default: return vld1q_f32(reinterpret_cast<const float*>(row) + j);
  }
}

inline float scalar(GgmlType t, const uint8_t* row, int64_t j) {
  uint16_t h;
  switch (t) {
    case GgmlType::F16: std::memcpy(&h, row + 2 * j, 2); return f16_to_f32(h);
    case GgmlType::BF16: std::memcpy(&h, row + 2 * j, 2); return bf16_to_f32(h);
    default: { float f; std::memcpy(&f, row + 4 * j, 4); return f; }
  }
}

template <int NT>
void wide_row(const FloatView& w, const float* x, float* y, int64_t ldy, int64_t r) {
  const int64_t k = w.k, es = w.type == GgmlType::F32 ? 4 : 2;
  const uint8_t* row = w.data + r * k * es;
  float32x4_t acc[NT][2];
  for (int t = 0; t < NT; ++t) acc[t][0] = acc[t][1] = vdupq_n_f32(0);
  int64_t j = 0;
  for (; j + 8 <= k; j += 8) {
    const float32x4_t w0 = load4(w.type, row, j), w1 = load4(w.type, row, j + 4);
    for (int t = 0; t < NT; ++t) {
      acc[t][0] = vfmaq_f32(acc[t][0], w0, vld1q_f32(x + t * k + j));
      acc[t][1] = vfmaq_f32(acc[t][1], w1, vld1q_f32(x + t * k + j + 4));
    }
  }
  for (int t = 0; t < NT; ++t) {
    float s = vaddvq_f32(vaddq_f32(acc[t][0], acc[t][1]));
    for (int64_t jj = j; jj < k; ++jj) s += scalar(w.type, row, jj) * x[t * k + jj];
    y[t * ldy + r] = s * w.scale;
  }
}

template <int NT>
void q8_row(const FloatView& w, const int8_t* xq, const float* dx, float* y, int64_t ldy, int64_t r, bool dot) {
  const int64_t k = w.k, nb = k / 32;
  const uint8_t* row = w.data + r * nb * 34;
  float32x4_t acc[NT];
  for (int t = 0; t < NT; ++t) acc[t] = vdupq_n_f32(0);
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = row + 34 * b;
    uint16_t hd;
    std::memcpy(&hd, blk, 2);
    const float dw = f16_to_f32(hd);
    const int8x16_t w0 = vld1q_s8(reinterpret_cast<const int8_t*>(blk + 2));
    const int8x16_t w1 = vld1q_s8(reinterpret_cast<const int8_t*>(blk + 18));
    for (int t = 0; t < NT; ++t) {
      const int8x16_t x0 = vld1q_s8(xq + t * k + 32 * b), x1 = vld1q_s8(xq + t * k + 32 * b + 16);
      int32x4_t p;
      if (dot) {
        p = dot_i8x32_neondot(w0, w1, x0, x1);
      } else {
        int16x8_t a = vmull_s8(vget_low_s8(w0), vget_low_s8(x0));
        a = vmlal_high_s8(a, w0, x0);  // 2 products of |127*127| per lane: fits int16
        int16x8_t c = vmull_s8(vget_low_s8(w1), vget_low_s8(x1));
        c = vmlal_high_s8(c, w1, x1);
        p = vpadalq_s16(vpaddlq_s16(a), c);
      }
      acc[t] = vfmaq_n_f32(acc[t], vcvtq_f32_s32(p), dw * dx[t * nb + b]);
    }
  }
  for (int t = 0; t < NT; ++t) y[t * ldy + r] = vaddvq_f32(acc[t]) * w.scale;
}

void quantize_row_q8(const float* x, int64_t k, int8_t* xq, float* dx) {
  for (int64_t b = 0; b < k / 32; ++b) {
    const float* xb = x + 32 * b;
    float32x4_t mx = vdupq_n_f32(0);
    for (int i = 0; i < 8; ++i) mx = vmaxq_f32(mx, vabsq_f32(vld1q_f32(xb + 4 * i)));
    const float amax = vmaxvq_f32(mx);
    dx[b] = amax / 127.0f;
    const float id = amax > 0 ? 127.0f / amax : 0.0f;
    for (int i = 0; i < 8; ++i) {
      const int32x4_t v = vcvtq_s32_f32(vrndnq_f32(vmulq_n_f32(vld1q_f32(xb + 4 * i), id)));
      const int8x8_t n8 = vqmovn_s16(vcombine_s16(vqmovn_s32(v), vqmovn_s32(v)));
      vst1_lane_s32(reinterpret_cast<int32_t*>(xq + 32 * b + 4 * i), vreinterpret_s32_s8(n8), 0);
    }
  }
}

}  // namespace

size_t gemm_float_f32_neon_scratch(const FloatView& w, int64_t n) {
  if (kq::is_kquant(w.type)) return gemm_kquant_prep_size(w, n);  // Q4_K / Q6_K: gemm_kquant_f32_neon.cpp
  if (w.type != GgmlType::Q8_0) return 0;
  return static_cast<size_t>(n * w.k + n * (w.k / 32) * 4 + 128);
}

void gemm_float_f32_neon_prep(const FloatView& w, const float* x, int64_t n, uint8_t* out) {
  if (kq::is_kquant(w.type)) return gemm_kquant_prep_ref(w, x, n, out);
  if (w.type != GgmlType::Q8_0 || w.k % 32 != 0) return;
  int8_t* xq = reinterpret_cast<int8_t*>(out);
  float* dx = reinterpret_cast<float*>(out + (n * w.k + 63) / 64 * 64);
  for (int64_t i = 0; i < n; ++i) quantize_row_q8(x + i * w.k, w.k, xq + i * w.k, dx + i * (w.k / 32));
}

static void gemm_float_impl(const FloatView& w, const float* x, int64_t n, float* y, int64_t ldy, int64_t r0,
                            int64_t r1, const uint8_t* prep, uint8_t* scratch, bool dot) {
  if (kq::is_kquant(w.type)) return gemm_kquant_f32_neon(w, x, n, y, ldy, r0, r1, prep, scratch);
  if (w.type == GgmlType::Q8_0) {
    if (w.k % 32 != 0 || (!scratch && !prep)) {
      gemm_float_f32_ref(w, x, n, y, ldy, r0, r1);
      return;
    }
    if (!prep) {
      gemm_float_f32_neon_prep(w, x, n, scratch);
      prep = scratch;
    }
    const int8_t* xq = reinterpret_cast<const int8_t*>(prep);
    const float* dx = reinterpret_cast<const float*>(prep + (n * w.k + 63) / 64 * 64);
    for (int64_t r = r0; r < r1; ++r)
      for (int64_t i = 0; i < n; i += kTok) {
        const int64_t nt = n - i < kTok ? n - i : kTok;
        const int8_t* xi = xq + i * w.k;
        const float* di = dx + i * (w.k / 32);
        float* yi = y + i * ldy;
        switch (nt) {
          case 1: q8_row<1>(w, xi, di, yi, ldy, r, dot); break;
          case 2: q8_row<2>(w, xi, di, yi, ldy, r, dot); break;
          case 3: q8_row<3>(w, xi, di, yi, ldy, r, dot); break;
          default: q8_row<4>(w, xi, di, yi, ldy, r, dot); break;
        }
      }
    return;
  }
  if (w.type != GgmlType::F16 && w.type != GgmlType::BF16 && w.type != GgmlType::F32) {
    gemm_float_f32_ref(w, x, n, y, ldy, r0, r1);
    return;
  }
  for (int64_t r = r0; r < r1; ++r)
    for (int64_t i = 0; i < n; i += kTok) {
      const int64_t nt = n - i < kTok ? n - i : kTok;
      switch (nt) {
        case 1: wide_row<1>(w, x + i * w.k, y + i * ldy, ldy, r); break;
        case 2: wide_row<2>(w, x + i * w.k, y + i * ldy, ldy, r); break;
        case 3: wide_row<3>(w, x + i * w.k, y + i * ldy, ldy, r); break;
        default: wide_row<4>(w, x + i * w.k, y + i * ldy, ldy, r); break;
      }
    }
}

void gemm_float_f32_neon(const FloatView& w, const float* x, int64_t n, float* y, int64_t ldy, int64_t r0,
                         int64_t r1, const uint8_t* prep, uint8_t* scratch) {
  gemm_float_impl(w, x, n, y, ldy, r0, r1, prep, scratch, false);
}

void gemm_float_f32_neon_dot(const FloatView& w, const float* x, int64_t n, float* y, int64_t ldy, int64_t r0,
                             int64_t r1, const uint8_t* prep, uint8_t* scratch) {
  gemm_float_impl(w, x, n, y, ldy, r0, r1, prep, scratch, true);
}

}  // namespace bitnet::cpu
