// The reference kernel table and run-time selection of the best table for this CPU.
#include <cstdlib>

#include "backends/cpu/kernels.h"

namespace bitnet::cpu {

const KernelTable& ref_kernels() {
  static const KernelTable t = [] {
    KernelTable k;
    k.isa = "ref";
    k.gemm_i2s_i8 = gemm_i2s_i8_ref;
    k.gemm_tq2_0_i8 = gemm_tq2_0_i8_ref;
    k.gemm_tq1_0_i8 = gemm_tq1_0_i8_ref;
    k.gemm_float_f32 = gemm_float_f32_ref;
    k.quantize_act = quantize_act_f32_i8_ref;
    k.rmsnorm = rmsnorm_f32_ref;
    return k;
  }();
  return t;
}

const KernelTable& select_kernels(std::string* error) {
  const char* forced = std::getenv("BITNET_CPU_ISA");
  if (forced && *forced && std::string(forced) != "ref" && std::string(forced) != "auto") {
    if (error) *error = std::string("BITNET_CPU_ISA=") + forced + " is not available in this build (available: ref)";
  }
  return ref_kernels();
}

}  // namespace bitnet::cpu
