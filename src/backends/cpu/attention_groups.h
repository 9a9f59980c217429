// The shared pieces of the SIMD attention kernels (x86/attention_f32_avx2.cpp,
// arm/norm_quant_neon.cpp). The sub-group loop: the g query heads of a GQA group go in sub-groups of up to 4 (the 2B4T
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

// The end of one head's softmax in the grouped kernels: with `ml` (a partial result over a slice
// of the rows) records (max, sum) and leaves the output unnormalized (factor 1); else 1 / sum.
static inline float finish_softmax_head(float mx, float sum, float* ml) {
  if (!ml) return 1.0f / sum;
  ml[0] = mx;
  ml[1] = sum;
  return 1.0f;
}

}  // namespace bitnet::cpu
