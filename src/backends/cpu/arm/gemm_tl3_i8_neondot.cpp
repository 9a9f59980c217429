// TL3 (tl3.h) x int8 GEMM with NEON + dot product: the TQ1_0 / TQ2_0 entry of the neondot table
// (and of neoni8mm for the preparation and scratch). Prompts (n >= tl3::kDecodeMinTokens) decode
// each 16-row tile once (tl3_decode_neon.h) and run the sdot tile below over every token; fewer
// tokens and per-block-scale matrices take the baseline lookup kernel (gemm_tl3_i8_neon.cpp).
//
// Per 96 multiply-adds (one TL3 step: 16 rows x 6 weights) and token: the lookup kernel does 4
// table loads, 4 vqtbl1q, 4 veor, 4 vzip, 4 vadd (20, plus index/sign work shared by its 4
// tokens); this tile 6 sdot and 3 loads (9), plus the decode (~44 ops per step) shared by all n.
#include <arm_neon.h>

#include <algorithm>

#include "backends/cpu/arm/kernels_arm.h"
#include "backends/cpu/arm/tl3_decode_neon.h"
#include "backends/cpu/tl3.h"

namespace bitnet::cpu {
namespace {

// Register tile: 4 rows (row layout) x 4 tokens, 16 int32x4 accumulators. Per 16 positions
// 4 weight loads (L1: 4 rows of the decoded tile), 4 activation loads (L2: the super-block) and
// 16 sdot = 256 multiply-adds. int32 sums cannot overflow (|S| <= 128 K), so K is one pass.
struct DotTile4x4 {
  static constexpr bool kPairs = false;
  static constexpr int kRows = 4;
  // A flat loop in its own function, so that GCC keeps the 16 accumulators in registers.
  __attribute__((noinline)) static void run(const int8_t* c, int64_t kp, const int8_t* const* x, int32x4_t* S) {
    int32x4_t acc[4][4];
    for (auto& row : acc)
      for (auto& a : row) a = vdupq_n_s32(0);
    const int8_t *x0 = x[0], *x1 = x[1], *x2 = x[2], *x3 = x[3];
    for (int64_t j = 0; j < kp; j += 16) {
      const int8x16_t xv[4] = {vld1q_s8(x0 + j), vld1q_s8(x1 + j), vld1q_s8(x2 + j), vld1q_s8(x3 + j)};
      for (int r = 0; r < 4; ++r) {
        const int8x16_t wv = vld1q_s8(c + r * kp + j);
        for (int t = 0; t < 4; ++t) acc[r][t] = vdotq_s32(acc[r][t], wv, xv[t]);
      }
    }
    // token t: the 4 rows' lane sums
    for (int t = 0; t < 4; ++t)
      S[t] = vpaddq_s32(vpaddq_s32(acc[0][t], acc[1][t]), vpaddq_s32(acc[2][t], acc[3][t]));
  }
};

}  // namespace

size_t gemm_tl3_i8_neondot_scratch(const TernaryView& w, int64_t n) {
  const size_t lookup = gemm_tl3_i8_neon_scratch(w, n);
  if (!w.packed || n < tl3::kDecodeMinTokens) return lookup;
  // the decoded tile: 16 rows of kp bytes (either layout)
  return std::max(lookup, static_cast<size_t>(tl3::kRows * tl3::decoded_row_bytes(tl3::header(w.packed))));
}

void gemm_tl3_i8_neondot_prep(const TernaryView& w, const int8_t* q, int64_t n, int64_t u0, int64_t u1,
                              uint8_t* out) {
  if (n >= tl3::kDecodeMinTokens) tl3::prep_decoded(w, q, n, u0, u1, out);
  else gemm_tl3_i8_neon_prep(w, q, n, u0, u1, out);
}

void gemm_tl3_i8_neondot(const TernaryView& w, const int8_t* q, const float* s_a, int64_t n, float* y, int64_t ldy,
                         int64_t r0, int64_t r1, const uint8_t* prep, uint8_t* scratch) {
  gemm_tl3_decoding_neon<DotTile4x4>(w, q, s_a, n, y, ldy, r0, r1, prep, scratch);
}

}  // namespace bitnet::cpu
