// I2_S x int8 prompt GEMM with AMX (table `amx`): 32-row blocks of the on-disk I2_S rows decoded
// into byte codes (decode_i2s_rows_avx2), then the TDPBUSD codes GEMM of gemm_codes_amx.h against
// the prepared VNNI-order activations. Decode (n == 1) and short prompts run the AVX-512 VNNI kernel
// (AMX gains only where many tokens share each code tile). Outputs are bit-identical to the
// reference (exact S = sum(c*q) - sum(q), same fp32 epilogue).

// GCC 12's avx512fintrin.h trips -W(maybe-)uninitialized inside _mm512_cast*/reduce intrinsics
// (a known false positive of its "undefined" vector idiom).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <algorithm>

#include "backends/cpu/x86/gemm_codes_amx.h"
#include "backends/cpu/x86/kernels_x86.h"

namespace bitnet::cpu {

size_t gemm_i2s_i8_amx_prep_size(const TernaryView& w, int64_t n) {
  return w.k % 128 == 0 && n >= kAmxMinTokens ? amx_acts_size(w.k, n) : 0;
}

int64_t gemm_i2s_i8_amx_prep_units(const TernaryView& w, int64_t n) {
  return gemm_i2s_i8_amx_prep_size(w, n) ? amx_padded_tokens(n) : 0;
}

// Units are tokens of the padded count; those past n become zero tokens.
void gemm_i2s_i8_amx_prep(const TernaryView& w, const int8_t* q, int64_t n, int64_t u0, int64_t u1, uint8_t* out) {
  for (int64_t i = u0; i < u1; ++i) {
    const int8_t* row = i < n ? q + i * w.k : nullptr;
    amx_pack_token(row, w.k, n, i, row ? sum_i8_avx2(row, w.k) : 0, out);
  }
}

size_t gemm_i2s_i8_amx_scratch(const TernaryView& w, int64_t n) {
  return std::max(gemm_i2s_i8_avx512vnni_scratch(w, n), static_cast<size_t>(kAmxRows * w.k));
}

void gemm_i2s_i8_amx(const TernaryView& w, const int8_t* q, const float* s_a, int64_t n, float* y, int64_t ldy,
                     int64_t r0, int64_t r1, const uint8_t* prep, uint8_t* scratch) {
  if (!prep || !scratch || n < kAmxMinTokens || w.k % 128 != 0) {
    gemm_i2s_i8_avx512vnni(w, q, s_a, n, y, ldy, r0, r1, nullptr, scratch);
    return;
  }
  const AmxActs a = amx_acts(prep, w.k, n);
  const CodesEpilogue epi{1.0f, false, w.scale};
  const AmxTiles tiles;
  for (int64_t r = r0; r < r1; r += kAmxRows) {
    const int64_t nr = std::min(kAmxRows, r1 - r);
    decode_i2s_rows_avx2(w.data, w.k, r, nr, nr > 16 ? kAmxRows : 16, scratch);
    gemm_codes_rows_amx(scratch, 0, nr, a, s_a, n, epi, y, ldy, r);
  }
}

}  // namespace bitnet::cpu
