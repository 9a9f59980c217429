// TL3 (tl3.h) x int8 GEMM with NEON I8MM: the TQ1_0 / TQ2_0 entry of the neoni8mm table. Like
// gemm_tl3_i8_neondot.cpp (same preparation and scratch), but the decoded tiles are kept in row
// pairs (tl3_decode_neon.h: the transpose's third stage, one zip stage less) and multiplied with
// smmla: a 2 x 8 (two rows) by 8 x 2 (two tokens) int8 product into 2 x 2 int32, 32 multiply-adds
// per instruction, twice sdot's.
//
// Per 96 multiply-adds (one TL3 step) and token: 3 smmla, 1.5 weight loads, 0.75 activation loads
// and 0.75 zips (6; sdot tile 9, lookup kernel ~20), plus the decode shared by all n tokens.
#include <arm_neon.h>

#include "backends/cpu/arm/kernels_arm.h"
#include "backends/cpu/arm/tl3_decode_neon.h"
#include "backends/cpu/tl3.h"

namespace bitnet::cpu {
namespace {

// Register tile: 8 rows (4 row pairs) x 4 tokens (2 pairs), 8 int32x4 accumulators. Per 16
// positions: 8 weight loads (each [row 2P | row 2P+1] x 8 positions), 4 activation loads zipped
// in 64-bit halves into [token 2T | token 2T+1] x 8 positions (4 zips; the shared preparation
// keeps tokens contiguous), 16 smmla = 512 multiply-adds.
struct MmlaTile8x4 {
  static constexpr bool kPairs = true;
  static constexpr int kRows = 8;
  // A flat loop in its own function, so that GCC keeps the accumulators in registers.
  __attribute__((noinline)) static void run(const int8_t* c, int64_t kp, const int8_t* const* x, int32x4_t* S) {
    int32x4_t acc[4][2];  // [row pair P][token pair T] = (r2P t2T, r2P t2T+1, r2P+1 t2T, r2P+1 t2T+1)
    for (auto& p : acc) p[0] = p[1] = vdupq_n_s32(0);
    for (int64_t j = 0; j < kp; j += 16) {
      int8x16_t b[2][2];  // [token pair][positions j..j+7, j+8..j+15]
      for (int T = 0; T < 2; ++T) {
        const int64x2_t e = vreinterpretq_s64_s8(vld1q_s8(x[2 * T] + j));
        const int64x2_t o = vreinterpretq_s64_s8(vld1q_s8(x[2 * T + 1] + j));
        b[T][0] = vreinterpretq_s8_s64(vzip1q_s64(e, o));
        b[T][1] = vreinterpretq_s8_s64(vzip2q_s64(e, o));
      }
      for (int P = 0; P < 4; ++P) {
        const int8_t* cp = c + 2 * P * kp + 2 * j;  // 16-byte groups j / 8 and j / 8 + 1 of pair P
        const int8x16_t a0 = vld1q_s8(cp), a1 = vld1q_s8(cp + 16);
        for (int T = 0; T < 2; ++T) acc[P][T] = vmmlaq_s32(vmmlaq_s32(acc[P][T], a0, b[T][0]), a1, b[T][1]);
      }
    }
    // S[4g + t]: rows 4g..4g+3 (pairs 2g, 2g+1) of token t
    for (int g = 0; g < 2; ++g)
      for (int T = 0; T < 2; ++T) {
        S[4 * g + 2 * T] = vuzp1q_s32(acc[2 * g][T], acc[2 * g + 1][T]);
        S[4 * g + 2 * T + 1] = vuzp2q_s32(acc[2 * g][T], acc[2 * g + 1][T]);
      }
  }
};

}  // namespace

void gemm_tl3_i8_neoni8mm(const TernaryView& w, const int8_t* q, const float* s_a, int64_t n, float* y,
                          int64_t ldy, int64_t r0, int64_t r1, const uint8_t* prep, uint8_t* scratch) {
  gemm_tl3_decoding_neon<MmlaTile8x4>(w, q, s_a, n, y, ldy, r0, r1, prep, scratch);
}

}  // namespace bitnet::cpu
