// The sdot inner product of a Q8_0 block (32 int8 x 32 int8 -> 4 int32 partial sums), in its own
// dotprod-compiled translation unit; gemm_float_f32_neon calls it only from the dot-product table.
#include <arm_neon.h>

#include "backends/cpu/arm/kernels_arm.h"

namespace bitnet::cpu {

int32x4_t dot_i8x32_neondot(int8x16_t w0, int8x16_t w1, int8x16_t x0, int8x16_t x1) {
  return vdotq_s32(vdotq_s32(vdupq_n_s32(0), w0, x0), w1, x1);
}

}  // namespace bitnet::cpu
