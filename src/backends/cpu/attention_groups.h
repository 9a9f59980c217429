// The sub-group loop of the SIMD attention kernels (x86/attention_f32_avx2.cpp,
// arm/norm_quant_neon.cpp): the g query heads of a GQA group go in sub-groups of up to 4 (the 2B4T
// group; more would spill the kernels' accumulators), each run by a kernel templated on its size.
// Static inline on purpose (included by ISA-flagged files; see kernels.md).
#pragma once

#include <type_traits>

namespace bitnet::cpu {

// Calls fn(std::integral_constant<int, G>{}, h0) for heads [h0, h0 + G), G <= 4, covering [0, g).
template <class Fn>
static inline void for_head_subgroups(int g, Fn&& fn) {
  for (int h0 = 0; h0 < g; h0 += 4) {
    switch (g - h0) {
      case 1: fn(std::integral_constant<int, 1>{}, h0); break;
      case 2: fn(std::integral_constant<int, 2>{}, h0); break;
      case 3: fn(std::integral_constant<int, 3>{}, h0); break;
      default: fn(std::integral_constant<int, 4>{}, h0); break;
    }
  }
}

}  // namespace bitnet::cpu
