// TL3 (TQ2_0 / TQ1_0 repacked, tl3.h) x int8 prompt GEMM with AMX (table `amx`): each pair of 16-row
// TL3 tiles decoded into byte codes (tl3_decode_avx512.h, the decoder's order) and run through the
// TDPBUSD codes GEMM of gemm_codes_amx.h against activations prepared in the same order, then in
// VNNI order. Decode (n < tl3::kDecodeMinTokens) and matrices with per-block scales run the AVX-512
// kernel. Outputs are bit-identical to the avx512 table's decoded path (same int32 sums, same epilogue).

// GCC 12's avx512fintrin.h trips -W(maybe-)uninitialized inside _mm512_cast*/reduce intrinsics
// (a known false positive of its "undefined" vector idiom).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <algorithm>
#include <vector>

#include "backends/cpu/tl3.h"
#include "backends/cpu/x86/gemm_codes_amx.h"
#include "backends/cpu/x86/kernels_x86.h"
#include "backends/cpu/x86/tl3_decode_avx512.h"

namespace bitnet::cpu {

using namespace tl3;

// Prompts: decoded-order activations in VNNI order (gemm_codes_amx.h), one unit per (padded) token.
// Shorter batches: the avx512 kernel's lookup tables. The choice depends on n alone, as for
// prep_size_decoding: the backend reuses one preparation for the next matrix on the same activations.
size_t gemm_tl3_i8_amx_prep_size(const TernaryView& w, int64_t n) {
  if (n < kDecodeMinTokens) return prep_size(w, n);
  return w.packed ? amx_acts_size(decoded_row_bytes(header(w.packed)), n) : 0;
}

int64_t gemm_tl3_i8_amx_prep_units(const TernaryView& w, int64_t n) {
  if (n < kDecodeMinTokens) return prep_units(w, n);
  return w.packed ? amx_padded_tokens(n) : 0;
}

void gemm_tl3_i8_amx_prep(const TernaryView& w, const int8_t* q, int64_t n, int64_t u0, int64_t u1, uint8_t* out) {
  if (n < kDecodeMinTokens) {
    gemm_tl3_i8_avx512vnni_prep(w, q, n, u0, u1, out);
    return;
  }
  const Header& h = header(w.packed);
  const int64_t kp = decoded_row_bytes(h);
  // One token in the decoded order before it is scattered (grown once per thread, not per call).
  thread_local std::vector<int8_t> row;
  if (row.size() < static_cast<size_t>(kp)) row.resize(static_cast<size_t>(kp));
  for (int64_t i = u0; i < u1; ++i) {
    if (i < n) {
      const int32_t sum = decoded_order_token(h, w.k, q + i * w.k, row.data());
      amx_pack_token(row.data(), kp, n, i, sum, out);
    } else {
      amx_pack_token(nullptr, kp, n, i, 0, out);
    }
  }
}

size_t gemm_tl3_i8_amx_scratch(const TernaryView& w, int64_t n) {
  const size_t codes = w.packed && n >= kDecodeMinTokens
                           ? static_cast<size_t>(kAmxRows * decoded_row_bytes(header(w.packed)))
                           : 0;
  return std::max(gemm_tl3_i8_avx512vnni_scratch(w, n), codes);
}

void gemm_tl3_i8_amx(const TernaryView& w, const int8_t* q, const float* s_a, int64_t n, float* y, int64_t ldy,
                     int64_t r0, int64_t r1, const uint8_t* prep, uint8_t* scratch) {
  if (!w.packed || !prep || !scratch || n < kDecodeMinTokens || (header(w.packed).flags & kPerBlockScale)) {
    // The avx512 kernel: below kDecodeMinTokens prep holds its lookup tables; otherwise it is
    // not given the AMX-order prep (it builds its own tables).
    gemm_tl3_i8_avx512vnni(w, q, s_a, n, y, ldy, r0, r1, n < kDecodeMinTokens ? prep : nullptr, scratch);
    return;
  }
  const Header& h = header(w.packed);
  const int64_t kp = decoded_row_bytes(h);
  const AmxActs a = amx_acts(prep, kp, n);
  const CodesEpilogue epi = decoded_epilogue(h, w.scale);
  const AmxTiles tiles;
  for (int64_t t = r0 / kRows; t * kRows < r1; t += 2) {  // 32-row blocks from the tile holding r0
    const int64_t rb = t * kRows;
    const int64_t lo = std::max<int64_t>(r0 - rb, 0), hi = std::min<int64_t>(r1 - rb, kAmxRows);
    decode_tl3_tile_avx512(h, tile(w.packed, t), kp, scratch);
    if (hi > kRows) decode_tl3_tile_avx512(h, tile(w.packed, t + 1), kp, scratch + kRows * kp);
    gemm_codes_rows_amx(scratch, lo, hi, a, s_a, n, epi, y, ldy, rb);
  }
}

}  // namespace bitnet::cpu
