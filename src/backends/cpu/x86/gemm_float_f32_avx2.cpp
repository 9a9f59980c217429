// Float-weight GEMV / GEMM (embeddings used as the output head) with AVX2 + F16C + FMA.
//   F16 / BF16 / F32: weights widened to f32 in registers, fp32 FMA accumulation (4 chains).
//   Q4_K / Q6_K: forwarded to gemm_kquant_f32_avx2.cpp (x quantized per 256-block, int32 sums).
//   Q8_0: x is quantized per 32-block to int8 with one f32 scale (like ggml's Q8_0 x Q8_0 dot);
//   each block is |w| (u8) x sign(x, w) (s8) with vpmaddubsw, widened with vpmaddwd, converted and
//   scaled by d_w * d_x. Reading 34 bytes per 32 weights instead of 64 is what makes it fast.
// GEMM (n > 1) walks 2 rows x up to 4 tokens so a weight chunk is widened once per token block.
#include <cmath>
#include <cstring>

#include "backends/cpu/kernels.h"
#include "backends/cpu/kquant.h"
#include "backends/cpu/x86/avx2_util.h"
#include "backends/cpu/x86/kernels_x86.h"
#include "core/fp16.h"

namespace bitnet::cpu {
namespace {

constexpr int64_t kTok = 4;
// Software prefetch distance of the head's row stream (see gemm_i2s_i8_avx2.cpp).
constexpr int64_t kPrefetchBytes = 4096;

inline __m256 load8_f32(GgmlType t, const uint8_t* row, int64_t j) {
  switch (t) {
    case GgmlType::F16:
      return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + 2 * j)));
    case GgmlType::BF16:
      return _mm256_castsi256_ps(_mm256_slli_epi32(
          _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + 2 * j))), 16));
    default: return _mm256_loadu_ps(reinterpret_cast<const float*>(row) + j);
  }
}

inline float scalar_f32(GgmlType t, const uint8_t* row, int64_t j) {
  uint16_t h;
  switch (t) {
    case GgmlType::F16: std::memcpy(&h, row + 2 * j, 2); return f16_to_f32(h);
    case GgmlType::BF16: std::memcpy(&h, row + 2 * j, 2); return bf16_to_f32(h);
    default: { float f; std::memcpy(&f, row + 4 * j, 4); return f; }
  }
}

// F16 / BF16 / F32: rows [r0, r1), tokens in blocks of up to kTok.
template <int NT>
void gemm_wide_rows(const FloatView& w, const float* x, float* y, int64_t ldy, int64_t r0, int64_t r1) {
  const int64_t k = w.k, es = w.type == GgmlType::F32 ? 4 : 2;
  const int64_t k8 = k / 8 * 8;
  for (int64_t r = r0; r < r1; ++r) {
    const uint8_t* row = w.data + r * k * es;
    __m256 acc[NT][2];
    for (int t = 0; t < NT; ++t) acc[t][0] = acc[t][1] = _mm256_setzero_ps();
    int64_t j = 0;
    if (NT == 1) {  // GEMV: 4 independent FMA chains (2 chains are latency-bound at 32 bytes / 4 cycles)
      __m256 a2 = _mm256_setzero_ps(), a3 = a2;
      for (; j + 32 <= k; j += 32) {
        _mm_prefetch(reinterpret_cast<const char*>(row + j * es + kPrefetchBytes), _MM_HINT_T0);
        if (es == 4) _mm_prefetch(reinterpret_cast<const char*>(row + j * es + kPrefetchBytes + 64), _MM_HINT_T0);
        acc[0][0] = _mm256_fmadd_ps(load8_f32(w.type, row, j), _mm256_loadu_ps(x + j), acc[0][0]);
        acc[0][1] = _mm256_fmadd_ps(load8_f32(w.type, row, j + 8), _mm256_loadu_ps(x + j + 8), acc[0][1]);
        a2 = _mm256_fmadd_ps(load8_f32(w.type, row, j + 16), _mm256_loadu_ps(x + j + 16), a2);
        a3 = _mm256_fmadd_ps(load8_f32(w.type, row, j + 24), _mm256_loadu_ps(x + j + 24), a3);
      }
      acc[0][0] = _mm256_add_ps(acc[0][0], a2);
      acc[0][1] = _mm256_add_ps(acc[0][1], a3);
    }
    for (; j + 16 <= k; j += 16) {
      _mm_prefetch(reinterpret_cast<const char*>(row + j * es + kPrefetchBytes), _MM_HINT_T0);
      const __m256 w0 = load8_f32(w.type, row, j), w1 = load8_f32(w.type, row, j + 8);
      for (int t = 0; t < NT; ++t) {
        acc[t][0] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x + t * k + j), acc[t][0]);
        acc[t][1] = _mm256_fmadd_ps(w1, _mm256_loadu_ps(x + t * k + j + 8), acc[t][1]);
      }
    }
    for (; j < k8; j += 8) {
      const __m256 w0 = load8_f32(w.type, row, j);
      for (int t = 0; t < NT; ++t) acc[t][0] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x + t * k + j), acc[t][0]);
    }
    for (int t = 0; t < NT; ++t) {
      float s = hsum_ps_avx2(_mm256_add_ps(acc[t][0], acc[t][1]));
      for (int64_t jj = k8; jj < k; ++jj) s += scalar_f32(w.type, row, jj) * x[t * k + jj];
      y[t * ldy + r] = s * w.scale;
    }
  }
}

// Quantizes one token row to int8 per 32-block: xq = rne(x * 127/amax), dx = amax/127.
void quantize_row_q8(const float* x, int64_t k, int8_t* xq, float* dx) {
  const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  for (int64_t b = 0; b < k / 32; ++b) {
    const float* xb = x + 32 * b;
    __m256 v[4];
    __m256 mx = _mm256_setzero_ps();
    for (int i = 0; i < 4; ++i) {
      v[i] = _mm256_loadu_ps(xb + 8 * i);
      mx = _mm256_max_ps(mx, _mm256_and_ps(v[i], abs_mask));
    }
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(mx), _mm256_extractf128_ps(mx, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    const float amax = _mm_cvtss_f32(m4);
    const float d = amax / 127.0f;
    const float id = amax > 0 ? 127.0f / amax : 0.0f;
    dx[b] = d;
    const __m256 vid = _mm256_set1_ps(id);
    __m256i i32[4];
    for (int i = 0; i < 4; ++i)
      i32[i] = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v[i], vid), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    const __m256i p16a = _mm256_packs_epi32(i32[0], i32[1]);
    const __m256i p16b = _mm256_packs_epi32(i32[2], i32[3]);
    __m256i p8 = _mm256_packs_epi16(p16a, p16b);
    p8 = _mm256_permutevar8x32_epi32(p8, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(xq + 32 * b), p8);
  }
}

template <int NT>
void gemm_q8_rows(const FloatView& w, const int8_t* xq, const float* dx, float* y, int64_t ldy, int64_t r0,
                  int64_t r1) {
  const int64_t k = w.k, nb = k / 32;
  const __m256i ones16 = _mm256_set1_epi16(1);
  for (int64_t r = r0; r < r1; ++r) {
    const uint8_t* row = w.data + r * nb * 34;
    __m256 acc[NT];
    for (int t = 0; t < NT; ++t) acc[t] = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; ++b) {
      const uint8_t* blk = row + 34 * b;
      if ((b & 1) == 0) _mm_prefetch(reinterpret_cast<const char*>(blk + kPrefetchBytes), _MM_HINT_T0);
      uint16_t hd;
      std::memcpy(&hd, blk, 2);
      const __m256 dw = _mm256_cvtph_ps(_mm_set1_epi16(static_cast<short>(hd)));
      const __m256i wv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 2));
      const __m256i aw = _mm256_sign_epi8(wv, wv);  // |w| as unsigned bytes (-128 -> 128)
      for (int t = 0; t < NT; ++t) {
        const __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq + t * k + 32 * b));
        const __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(aw, _mm256_sign_epi8(xv, wv)), ones16);
        const __m256 sc = _mm256_mul_ps(dw, _mm256_set1_ps(dx[t * nb + b]));
        acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), sc, acc[t]);
      }
    }
    for (int t = 0; t < NT; ++t) y[t * ldy + r] = hsum_ps_avx2(acc[t]) * w.scale;
  }
}

}  // namespace

size_t gemm_float_f32_avx2_scratch(const FloatView& w, int64_t n) {
  if (kq::is_kquant(w.type)) return gemm_kquant_prep_size(w, n);  // Q4_K / Q6_K: gemm_kquant_f32_avx2.cpp
  if (w.type != GgmlType::Q8_0) return 0;
  return static_cast<size_t>(n * w.k + n * (w.k / 32) * 4 + 64);
}

// Shared preparation: x quantized once per call (int8 rows, then the f32 block scales).
void gemm_float_f32_avx2_prep(const FloatView& w, const float* x, int64_t n, uint8_t* out) {
  if (kq::is_kquant(w.type)) return gemm_kquant_prep_ref(w, x, n, out);
  if (w.type != GgmlType::Q8_0 || w.k % 32 != 0) return;
  int8_t* xq = reinterpret_cast<int8_t*>(out);
  float* dx = reinterpret_cast<float*>(out + (n * w.k + 63) / 64 * 64);
  for (int64_t i = 0; i < n; ++i) quantize_row_q8(x + i * w.k, w.k, xq + i * w.k, dx + i * (w.k / 32));
}

void gemm_float_f32_avx2(const FloatView& w, const float* x, int64_t n, float* y, int64_t ldy, int64_t r0,
                         int64_t r1, const uint8_t* prep, uint8_t* scratch) {
  if (kq::is_kquant(w.type)) return gemm_kquant_f32_avx2(w, x, n, y, ldy, r0, r1, prep, scratch);
  if (w.type == GgmlType::Q8_0) {
    if (w.k % 32 != 0 || (!scratch && !prep)) {
      gemm_float_f32_ref(w, x, n, y, ldy, r0, r1);
      return;
    }
    if (!prep) {
      gemm_float_f32_avx2_prep(w, x, n, scratch);
      prep = scratch;
    }
    const int8_t* xq = reinterpret_cast<const int8_t*>(prep);
    const float* dx = reinterpret_cast<const float*>(prep + (n * w.k + 63) / 64 * 64);
    // Row-outer so each weight row is read from memory once and reused from L1 for every token.
    const int64_t rstep = n <= kTok ? r1 - r0 : 1;
    for (int64_t r = r0; r < r1; r += rstep) {
      const int64_t re = r + rstep;
      for (int64_t i = 0; i < n; i += kTok) {
        const int64_t nt = n - i < kTok ? n - i : kTok;
        const int8_t* xqi = xq + i * w.k;
        const float* dxi = dx + i * (w.k / 32);
        float* yi = y + i * ldy;
        switch (nt) {
          case 1: gemm_q8_rows<1>(w, xqi, dxi, yi, ldy, r, re); break;
          case 2: gemm_q8_rows<2>(w, xqi, dxi, yi, ldy, r, re); break;
          case 3: gemm_q8_rows<3>(w, xqi, dxi, yi, ldy, r, re); break;
          default: gemm_q8_rows<4>(w, xqi, dxi, yi, ldy, r, re); break;
        }
      }
    }
    return;
  }
  if (w.type != GgmlType::F16 && w.type != GgmlType::BF16 && w.type != GgmlType::F32) {
    gemm_float_f32_ref(w, x, n, y, ldy, r0, r1);
    return;
  }
  const int64_t rstep = n <= kTok ? r1 - r0 : 1;
  for (int64_t r = r0; r < r1; r += rstep) {
    const int64_t re = r + rstep;
    for (int64_t i = 0; i < n; i += kTok) {
      const int64_t nt = n - i < kTok ? n - i : kTok;
      const float* xi = x + i * w.k;
      float* yi = y + i * ldy;
      switch (nt) {
        case 1: gemm_wide_rows<1>(w, xi, yi, ldy, r, re); break;
        case 2: gemm_wide_rows<2>(w, xi, yi, ldy, r, re); break;
        case 3: gemm_wide_rows<3>(w, xi, yi, ldy, r, re); break;
        default: gemm_wide_rows<4>(w, xi, yi, ldy, r, re); break;
      }
    }
  }
}

}  // namespace bitnet::cpu
