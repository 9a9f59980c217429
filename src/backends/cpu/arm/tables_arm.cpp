// The AArch64 kernel tables (compiled without extra ISA flags: it only takes kernel addresses).
//   neon:     baseline ARMv8-A. I2_S with vmull_s8/vmlal_s8; TQ2_0 / TQ1_0 repacked to TL3 and run with
//             vqtbl1q_u8 lookups; float heads with vcvt_f32_f16 + FMA.
//   neondot:  + ARMv8.2 dot product (sdot) for I2_S, the Q8_0 head and TQ prompts (TL3 tiles decoded
//             once per call, n >= tl3::kDecodeMinTokens; fewer tokens: the neon lookup kernel).
//   neoni8mm: + I8MM (smmla 2x8x2 tiles) for the I2_S and TQ prompt GEMMs.
#include "backends/cpu/arm/kernels_arm.h"
#include "backends/cpu/tl3.h"

namespace bitnet::cpu {

namespace {
KernelTable base_table() {
  KernelTable k;
  k.isa = "neon";
  k.i2s = {"gemm_i2s_i8_neon", gemm_i2s_i8_neon, nullptr, nullptr, nullptr, 4};
  k.tq2_0 = {"gemm_tl3_i8_neon", gemm_tl3_i8_neon, tl3::pack_size, tl3::pack, gemm_tl3_i8_neon_scratch,
             tl3::kRows, tl3::prep_size, tl3::prep_units, gemm_tl3_i8_neon_prep};
  k.tq1_0 = k.tq2_0;
  k.gemm_float = {"gemm_float_f32_neon", gemm_float_f32_neon, gemm_float_f32_neon_scratch,
                  gemm_float_f32_neon_scratch, gemm_float_f32_neon_prep};
  k.quantize_act = quantize_act_f32_i8_neon;
  k.rmsnorm = rmsnorm_f32_neon;
  k.attention = attention_f32_neon;
  k.f32_to_f16 = f32_to_f16_neon;
  k.f16_to_f32 = f16_to_f32_neon;
  return k;
}
}  // namespace

const KernelTable& neon_kernels() {
  static const KernelTable t = base_table();
  return t;
}

const KernelTable& neondot_kernels() {
  static const KernelTable t = [] {
    KernelTable k = base_table();
    k.isa = "neondot";
    k.i2s = {"gemm_i2s_i8_neondot", gemm_i2s_i8_neondot, nullptr, nullptr, gemm_i2s_i8_neondot_scratch, 4};
    k.tq2_0 = {"gemm_tl3_i8_neondot", gemm_tl3_i8_neondot, tl3::pack_size, tl3::pack,
               gemm_tl3_i8_neondot_scratch, tl3::kRows, tl3::prep_size_decoding, tl3::prep_units_decoding,
               gemm_tl3_i8_neondot_prep};
    k.tq1_0 = k.tq2_0;
    k.gemm_float = {"gemm_float_f32_neon_dot", gemm_float_f32_neon_dot, gemm_float_f32_neon_scratch,
                    gemm_float_f32_neon_scratch, gemm_float_f32_neon_prep};
    return k;
  }();
  return t;
}

const KernelTable& neoni8mm_kernels() {
  static const KernelTable t = [] {
    KernelTable k = neondot_kernels();
    k.isa = "neoni8mm";
    k.i2s = {"gemm_i2s_i8_neoni8mm", gemm_i2s_i8_neoni8mm, nullptr, nullptr, gemm_i2s_i8_neoni8mm_scratch, 4};
    k.tq2_0.name = "gemm_tl3_i8_neoni8mm";
    k.tq2_0.gemm = gemm_tl3_i8_neoni8mm;
    k.tq1_0 = k.tq2_0;
    return k;
  }();
  return t;
}

}  // namespace bitnet::cpu
