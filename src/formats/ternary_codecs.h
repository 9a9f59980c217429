// Reference codecs for the ternary weight formats (bit-exact, spec §4) and the float formats used
// for embeddings and the output head. These define the on-disk layouts; optimized kernels read
// the same bytes (or an in-memory repack) and are tested against these.
//
// Ternary values are int8 in {-1, 0, +1}; "codes" are value + 1 in {0, 1, 2}.
#pragma once

#include <cstdint>
#include <vector>

#include "formats/ggml_types.h"

namespace bitnet {

// ---- I2_S (bitnet.cpp official x86 layout): n % 128 == 0, n/4 + 32 bytes -------------------
// Element e: block b = e/128, t = e%128 -> byte 32*b + t%32, bits (6 - 2*(t/32)) .. +1.
// The f32 tensor scale sits in the first 4 bytes of the 32-byte tail; the rest is zero.
void pack_i2s(const int8_t* ternary, int64_t n, float scale, uint8_t* out);
void unpack_i2s(const uint8_t* in, int64_t n, int8_t* ternary, float* scale);
float i2s_scale(const uint8_t* in, int64_t n);
inline int i2s_code(const uint8_t* in, int64_t e) {
  return (in[(e >> 7) * 32 + (e & 31)] >> (6 - 2 * ((e >> 5) & 3))) & 3;
}

// ---- TQ2_0 (ggml): 256-element blocks of qs[64] + f16 d (66 bytes) --------------------------
// Element i of a block: qs[32*(i/128) + i%32] bits 2*((i%128)/32) .. +1 (low bits first).
void quantize_tq2_0(const float* x, int64_t n, uint8_t* out);
void dequantize_tq2_0(const uint8_t* in, int64_t n, float* y);
// Codes of one block (256 values in {0,1,2}); d returned as f32.
void decode_block_tq2_0(const uint8_t* block, uint8_t* codes, float* d);

// ---- TQ1_0 (ggml): 256-element blocks of qs[48] qh[4] + f16 d (54 bytes), base-3 ----------
void quantize_tq1_0(const float* x, int64_t n, uint8_t* out);
void dequantize_tq1_0(const uint8_t* in, int64_t n, float* y);
void decode_block_tq1_0(const uint8_t* block, uint8_t* codes, float* d);

// ---- Float formats ----------------------------------------------------------------------------
void quantize_q8_0(const float* x, int64_t n, uint8_t* out);  // n % 32 == 0, 34 bytes / 32
void dequantize_q8_0(const uint8_t* in, int64_t n, float* y);
void f32_to_f16_row(const float* x, int64_t n, uint16_t* y);
void f16_to_f32_row(const uint16_t* x, int64_t n, float* y);
void f32_to_bf16_row(const float* x, int64_t n, uint16_t* y);
void bf16_to_f32_row(const uint16_t* x, int64_t n, float* y);
// ggml K-quants (kquant_codecs.cpp), n % 256 == 0 (checked; callers validate shapes first):
//   Q4_K: 144 bytes / 256 (4.5 bits per weight), x = d*sc_g*q - dmin*m_g, 8 groups of 32.
//   Q6_K: 210 bytes / 256 (6.5625 bits per weight), x = d*sc_g*(q - 32), 16 groups of 16.
// The quantizers search each group's scale (least-squares refit over candidate scales), see there.
void quantize_q4_k(const float* x, int64_t n, uint8_t* out);
void dequantize_q4_k(const uint8_t* in, int64_t n, float* y);
void quantize_q6_k(const float* x, int64_t n, uint8_t* out);
void dequantize_q6_k(const uint8_t* in, int64_t n, float* y);
// The 8 six-bit group scales and mins of a Q4_K block from its 12 packed bytes (ggml's
// get_scale_min_k4 order).
void unpack_q4_k_scales(const uint8_t* s12, uint8_t sc[8], uint8_t m[8]);
// One row of n elements of a float-format tensor (F32, F16, BF16, Q8_0, Q4_K, Q6_K) to f32.
// Returns false for other types and for rows that are not whole blocks (n % 32 / n % 256).
bool float_row_to_f32(GgmlType type, const uint8_t* row, int64_t n, float* y);

// ---- BitNet weight ternarization (spec §2.1) ---------------------------------------------------
// gamma = max(mean|W|, 1e-5); T = clamp(round_half_even(W / gamma), -1, 1).
float ternarize_absmean(const float* w, int64_t n, int8_t* ternary);

}  // namespace bitnet
