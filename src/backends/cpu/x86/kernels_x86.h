// Declarations of the x86 kernels (definitions in the *_avx2.cpp / *_avx512vnni.cpp / *_amx.cpp files, each
// compiled with its own ISA flags) for the table files kernels_avx2.cpp / kernels_avx512vnni.cpp.
#pragma once

#include "backends/cpu/kernels.h"

namespace bitnet::cpu {

// AVX2 + FMA + F16C (+ BMI2)
void gemm_i2s_i8_avx2(const TernaryView& w, const int8_t* q, const float* s_a, int64_t n, float* y,
                      int64_t ldy, int64_t r0, int64_t r1, const uint8_t* prep, uint8_t* scratch);
size_t gemm_i2s_i8_avx2_scratch(const TernaryView& w, int64_t n);
void gemm_tl3_i8_avx2(const TernaryView& w, const int8_t* q, const float* s_a, int64_t n, float* y,
                      int64_t ldy, int64_t r0, int64_t r1, const uint8_t* prep, uint8_t* scratch);
size_t gemm_tl3_i8_avx2_scratch(const TernaryView& w, int64_t n);
void gemm_tl3_i8_avx2_prep(const TernaryView& w, const int8_t* q, int64_t n, int64_t u0, int64_t u1, uint8_t* out);
void gemm_float_f32_avx2(const FloatView& w, const float* x, int64_t n, float* y, int64_t ldy, int64_t r0,
                         int64_t r1, const uint8_t* prep, uint8_t* scratch);
void gemm_float_f32_avx2_prep(const FloatView& w, const float* x, int64_t n, uint8_t* out);
size_t gemm_float_f32_avx2_scratch(const FloatView& w, int64_t n);
// Q4_K / Q6_K weights (gemm_float_f32_avx2 forwards them; prep = gemm_kquant_prep_ref's layout).
void gemm_kquant_f32_avx2(const FloatView& w, const float* x, int64_t n, float* y, int64_t ldy, int64_t r0,
                          int64_t r1, const uint8_t* prep, uint8_t* scratch);
void quantize_act_f32_i8_avx2(const float* x, int64_t k, int8_t* q, float* s);
void rmsnorm_f32_avx2(const float* x, const float* g, int64_t d, float eps, float* y);
void attention_f32_avx2(const AttnArgs& a);
void f32_to_f16_avx2(const float* x, int64_t n, uint16_t* y);
void f16_to_f32_avx2(const uint16_t* x, int64_t n, float* y);

// AVX-512 F/BW/VL/DQ + VNNI + VBMI
void gemm_i2s_i8_avx512vnni(const TernaryView& w, const int8_t* q, const float* s_a, int64_t n, float* y,
                            int64_t ldy, int64_t r0, int64_t r1, const uint8_t* prep, uint8_t* scratch);
size_t gemm_i2s_i8_avx512vnni_scratch(const TernaryView& w, int64_t n);
void gemm_tl3_i8_avx512vnni(const TernaryView& w, const int8_t* q, const float* s_a, int64_t n, float* y,
                            int64_t ldy, int64_t r0, int64_t r1, const uint8_t* prep, uint8_t* scratch);
size_t gemm_tl3_i8_avx512vnni_scratch(const TernaryView& w, int64_t n);
void gemm_tl3_i8_avx512vnni_prep(const TernaryView& w, const int8_t* q, int64_t n, int64_t u0, int64_t u1, uint8_t* out);

// AVX-512 (as above) + AMX-TILE + AMX-INT8: prompts through TDPBUSD, the rest through the AVX-512 kernels.
void gemm_i2s_i8_amx(const TernaryView& w, const int8_t* q, const float* s_a, int64_t n, float* y, int64_t ldy,
                     int64_t r0, int64_t r1, const uint8_t* prep, uint8_t* scratch);
size_t gemm_i2s_i8_amx_scratch(const TernaryView& w, int64_t n);
size_t gemm_i2s_i8_amx_prep_size(const TernaryView& w, int64_t n);
int64_t gemm_i2s_i8_amx_prep_units(const TernaryView& w, int64_t n);
void gemm_i2s_i8_amx_prep(const TernaryView& w, const int8_t* q, int64_t n, int64_t u0, int64_t u1, uint8_t* out);
void gemm_tl3_i8_amx(const TernaryView& w, const int8_t* q, const float* s_a, int64_t n, float* y, int64_t ldy,
                     int64_t r0, int64_t r1, const uint8_t* prep, uint8_t* scratch);
size_t gemm_tl3_i8_amx_scratch(const TernaryView& w, int64_t n);
size_t gemm_tl3_i8_amx_prep_size(const TernaryView& w, int64_t n);
int64_t gemm_tl3_i8_amx_prep_units(const TernaryView& w, int64_t n);
void gemm_tl3_i8_amx_prep(const TernaryView& w, const int8_t* q, int64_t n, int64_t u0, int64_t u1, uint8_t* out);

}  // namespace bitnet::cpu
