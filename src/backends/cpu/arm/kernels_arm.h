// Declarations of the AArch64 kernels for tables_arm.cpp. Baseline NEON kernels live in *_neon.cpp
// (no extra flags: NEON is part of AArch64), dot-product ones in *_neondot.cpp, I8MM in *_neoni8mm.cpp.
#pragma once

#include <arm_neon.h>

#include "backends/cpu/kernels.h"

namespace bitnet::cpu {

// baseline NEON
void gemm_i2s_i8_neon(const TernaryView& w, const int8_t* q, const float* s_a, int64_t n, float* y,
                      int64_t ldy, int64_t r0, int64_t r1, const uint8_t* prep, uint8_t* scratch);
int32_t sum_i8_neon_export(const int8_t* q, int64_t k);
void gemm_tl3_i8_neon(const TernaryView& w, const int8_t* q, const float* s_a, int64_t n, float* y, int64_t ldy,
                      int64_t r0, int64_t r1, const uint8_t* prep, uint8_t* scratch);
size_t gemm_tl3_i8_neon_scratch(const TernaryView& w, int64_t n);
void gemm_tl3_i8_neon_prep(const TernaryView& w, const int8_t* q, int64_t n, int64_t u0, int64_t u1, uint8_t* out);
void gemm_float_f32_neon(const FloatView& w, const float* x, int64_t n, float* y, int64_t ldy, int64_t r0,
                         int64_t r1, const uint8_t* prep, uint8_t* scratch);
void gemm_float_f32_neon_dot(const FloatView& w, const float* x, int64_t n, float* y, int64_t ldy, int64_t r0,
                             int64_t r1, const uint8_t* prep, uint8_t* scratch);
void gemm_float_f32_neon_prep(const FloatView& w, const float* x, int64_t n, uint8_t* out);
size_t gemm_float_f32_neon_scratch(const FloatView& w, int64_t n);
// Q4_K / Q6_K weights (gemm_float_f32_neon* forward them; prep = gemm_kquant_prep_ref's layout).
void gemm_kquant_f32_neon(const FloatView& w, const float* x, int64_t n, float* y, int64_t ldy, int64_t r0,
                          int64_t r1, const uint8_t* prep, uint8_t* scratch);
void quantize_act_f32_i8_neon(const float* x, int64_t k, int8_t* q, float* s);
void rmsnorm_f32_neon(const float* x, const float* g, int64_t d, float eps, float* y);
void attention_f32_neon(const AttnArgs& a);
void f32_to_f16_neon(const float* x, int64_t n, uint16_t* y);
void f16_to_f32_neon(const uint16_t* x, int64_t n, float* y);

// + dot product
void gemm_i2s_i8_neondot(const TernaryView& w, const int8_t* q, const float* s_a, int64_t n, float* y,
                         int64_t ldy, int64_t r0, int64_t r1, const uint8_t* prep, uint8_t* scratch);
size_t gemm_i2s_i8_neondot_scratch(const TernaryView& w, int64_t n);
int32x4_t dot_i8x32_neondot(int8x16_t w0, int8x16_t w1, int8x16_t x0, int8x16_t x1);
// TQ1_0 / TQ2_0 (TL3): decoded tiles for n >= tl3::kDecodeMinTokens, else gemm_tl3_i8_neon. The
// preparation and scratch serve gemm_tl3_i8_neoni8mm too.
void gemm_tl3_i8_neondot(const TernaryView& w, const int8_t* q, const float* s_a, int64_t n, float* y, int64_t ldy,
                         int64_t r0, int64_t r1, const uint8_t* prep, uint8_t* scratch);
size_t gemm_tl3_i8_neondot_scratch(const TernaryView& w, int64_t n);
void gemm_tl3_i8_neondot_prep(const TernaryView& w, const int8_t* q, int64_t n, int64_t u0, int64_t u1,
                              uint8_t* out);

// + I8MM
void gemm_i2s_i8_neoni8mm(const TernaryView& w, const int8_t* q, const float* s_a, int64_t n, float* y,
                          int64_t ldy, int64_t r0, int64_t r1, const uint8_t* prep, uint8_t* scratch);
size_t gemm_i2s_i8_neoni8mm_scratch(const TernaryView& w, int64_t n);
void gemm_tl3_i8_neoni8mm(const TernaryView& w, const int8_t* q, const float* s_a, int64_t n, float* y,
                          int64_t ldy, int64_t r0, int64_t r1, const uint8_t* prep, uint8_t* scratch);

}  // namespace bitnet::cpu
