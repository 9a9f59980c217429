// The x86 kernel tables. This file is compiled WITHOUT ISA flags on purpose: it only takes the
// addresses of kernels that live in *_avx2.cpp / *_avx512vnni.cpp, so no inline function or
// template instantiated here can carry AVX2/AVX-512 code into the rest of the program.
//   avx2:   Haswell / Zen and later. I2_S read in place with vpmaddubsw; TQ2_0 and TQ1_0 repacked to
//           TL3 at load and run with vpshufb lookups; float heads with F16C + FMA.
//   avx512: Ice Lake / Sapphire Rapids / Zen 4 and later (F, BW, VL, DQ, VNNI, VBMI): vpdpbusd for
//           I2_S and the Q8_0 head, 64-byte vpshufb lookups for TL3.
//   amx:    Sapphire Rapids and later Xeons (AVX-512 as above + AMX-TILE, AMX-INT8): prompt GEMMs
//           through TDPBUSD tiles, everything else as avx512.
#include "backends/cpu/tl3.h"
#include "backends/cpu/x86/kernels_x86.h"

namespace bitnet::cpu {

const KernelTable& avx2_kernels() {
  static const KernelTable t = [] {
    KernelTable k;
    k.isa = "avx2";
    k.i2s = {"gemm_i2s_i8_avx2", gemm_i2s_i8_avx2, nullptr, nullptr, gemm_i2s_i8_avx2_scratch, 8};
    k.tq2_0 = {"gemm_tl3_i8_avx2", gemm_tl3_i8_avx2, tl3::pack_size, tl3::pack, gemm_tl3_i8_avx2_scratch,
               tl3::kRows, tl3::prep_size_decoding, tl3::prep_units_decoding, gemm_tl3_i8_avx2_prep};
    k.tq1_0 = k.tq2_0;
    k.gemm_float = {"gemm_float_f32_avx2", gemm_float_f32_avx2, gemm_float_f32_avx2_scratch,
                    gemm_float_f32_avx2_scratch, gemm_float_f32_avx2_prep};
    k.quantize_act = quantize_act_f32_i8_avx2;
    k.rmsnorm = rmsnorm_f32_avx2;
    k.attention = attention_f32_avx2;
    k.f32_to_f16 = f32_to_f16_avx2;
    k.f16_to_f32 = f16_to_f32_avx2;
    return k;
  }();
  return t;
}


const KernelTable& avx512_kernels() {
  static const KernelTable t = [] {
    KernelTable k;
    k.isa = "avx512";
    k.i2s = {"gemm_i2s_i8_avx512vnni", gemm_i2s_i8_avx512vnni, nullptr, nullptr, gemm_i2s_i8_avx512vnni_scratch, 16};
    k.tq2_0 = {"gemm_tl3_i8_avx512vnni", gemm_tl3_i8_avx512vnni, tl3::pack_size, tl3::pack,
               gemm_tl3_i8_avx512vnni_scratch, tl3::kRows, tl3::prep_size_decoding, tl3::prep_units_decoding,
               gemm_tl3_i8_avx512vnni_prep};
    k.tq1_0 = k.tq2_0;
    // The head is bandwidth-bound and the activation-side ops are tiny: the AVX2 versions serve.
    k.gemm_float = {"gemm_float_f32_avx2", gemm_float_f32_avx2, gemm_float_f32_avx2_scratch,
                    gemm_float_f32_avx2_scratch, gemm_float_f32_avx2_prep};
    k.quantize_act = quantize_act_f32_i8_avx2;
    k.rmsnorm = rmsnorm_f32_avx2;
    k.attention = attention_f32_avx2;
    k.f32_to_f16 = f32_to_f16_avx2;
    k.f16_to_f32 = f16_to_f32_avx2;
    return k;
  }();
  return t;
}

const KernelTable& amx_kernels() {
  static const KernelTable t = [] {
    KernelTable k = avx512_kernels();
    k.isa = "amx";
    k.i2s = {"gemm_i2s_i8_amx", gemm_i2s_i8_amx, nullptr, nullptr, gemm_i2s_i8_amx_scratch, 32,
             gemm_i2s_i8_amx_prep_size, gemm_i2s_i8_amx_prep_units, gemm_i2s_i8_amx_prep};
    k.tq2_0 = {"gemm_tl3_i8_amx", gemm_tl3_i8_amx, tl3::pack_size, tl3::pack, gemm_tl3_i8_amx_scratch, tl3::kRows,
               gemm_tl3_i8_amx_prep_size, gemm_tl3_i8_amx_prep_units, gemm_tl3_i8_amx_prep};
    k.tq1_0 = k.tq2_0;
    return k;
  }();
  return t;
}

}  // namespace bitnet::cpu
