// TL3 (tl3.h) x int8 GEMV / GEMM with AVX-512 BW: two steps per 64-byte vpshufb (4 groups x 16
// rows = 192 weights), the sign applied with a byte-masked vpsubb (0xFF - x = ~x) from a vptestmb
// mask, so a step pair costs ~12 vector ops instead of ~23 with AVX2. The prepared tables use this
// kernel's own pairing: for steps (2P, 2P+1), 128 bytes = lo(2P) lo(2P+1) hi(2P) hi(2P+1).
// Matrices with per-block scales (not BitNet models) run the AVX2 kernel, which flushes exactly
// at block boundaries and builds its own tables. Prompts (n >= tl3::kDecodeMinTokens, prepared
// activations): each tile is decoded once into byte codes (tl3_decode_avx2.h, in zmm registers) and runs the I2_S
// kernel's vpdpbusd codes GEMM, 64 multiply-adds per instruction instead of ~16 per lookup op.
#include <algorithm>
#include <cstring>

// GCC 12's avx512fintrin.h trips -W(maybe-)uninitialized inside _mm512_cast*/reduce intrinsics
// (a known false positive of its "undefined" vector idiom).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "backends/cpu/tl3.h"
#include "backends/cpu/x86/gemm_codes_avx512.h"
#include "backends/cpu/x86/kernels_x86.h"
#include "backends/cpu/x86/tl3_decode_avx512.h"

namespace bitnet::cpu {
namespace {

using namespace tl3;

constexpr int64_t kMaxTokens = 4;
constexpr int64_t kFlushChunks = 10;  // 40 step pairs x |385| per int16 lane < 2^15
constexpr int64_t kPrefetchBytes = 4096;  // GEMV weight-stream prefetch distance (as in the AVX2 kernel)

// Tables of one (token, block) in the pair layout; same arithmetic as build_block_avx2.
void build_block_avx512(const Header& h, const int8_t* q, int64_t b, uint8_t* table) {
  alignas(32) static const int8_t kC01[32] = {0, 0, 0, 0, 0, 1, 0, 1, 0, 1, 1, -1, 1, -1, 1, -1,
                                              1, 0, 1, 0, 1, 0, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0};
  alignas(32) static const int8_t kC2K[32] = {0, 0, 1, -1, -1, 0, 0, -1, 1, -2, -1, 1, 0, 0, 1, -1,
                                              -1, 0, 0, -1, 1, -2, -1, -1, 0, -2, 1, -3, 0, 0, 0, 0};
  const __m256i c01_lo = _mm256_broadcastsi128_si256(_mm_load_si128(reinterpret_cast<const __m128i*>(kC01)));
  const __m256i c01_hi = _mm256_broadcastsi128_si256(_mm_load_si128(reinterpret_cast<const __m128i*>(kC01 + 16)));
  const __m256i c2k_lo = _mm256_broadcastsi128_si256(_mm_load_si128(reinterpret_cast<const __m128i*>(kC2K)));
  const __m256i c2k_hi = _mm256_broadcastsi128_si256(_mm_load_si128(reinterpret_cast<const __m128i*>(kC2K + 16)));
  const __m256i sel01 = _mm256_setr_epi8(0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1,
                                         3, 4, 3, 4, 3, 4, 3, 4, 3, 4, 3, 4, 3, 4, 3, 4);
  const int8_t z = -128;
  const __m256i sel2 = _mm256_setr_epi8(2, z, 2, z, 2, z, 2, z, 2, z, 2, z, 2, z, 2, z,
                                        5, z, 5, z, 5, z, 5, z, 5, z, 5, z, 5, z, 5, z);
  const __m256i k128_odd = _mm256_set1_epi16(static_cast<int16_t>(0x8000));
  const __m256i flip = _mm256_set1_epi8(static_cast<char>(0x80));
  const __m256i lo_mask = _mm256_set1_epi16(0x00ff);
  const int8_t* qb = q + b * kBlock;
  for (int64_t j = 0; j < kStepsPerBlock; ++j) {
    int64_t raw;
    if (j < kStepsPerBlock - 1) {
      std::memcpy(&raw, qb + 6 * j, 8);
    } else {
      int32_t last;
      std::memcpy(&last, qb + 252, 4);
      raw = static_cast<uint32_t>(last);
    }
    const __m256i v = _mm256_xor_si256(_mm256_set1_epi64x(raw), flip);
    const __m256i u01 = _mm256_shuffle_epi8(v, sel01);
    const __m256i u2k = _mm256_or_si256(_mm256_shuffle_epi8(v, sel2), k128_odd);
    const __m256i e_lo = _mm256_add_epi16(_mm256_maddubs_epi16(u01, c01_lo), _mm256_maddubs_epi16(u2k, c2k_lo));
    const __m256i e_hi = _mm256_add_epi16(_mm256_maddubs_epi16(u01, c01_hi), _mm256_maddubs_epi16(u2k, c2k_hi));
    const __m256i lo = _mm256_packus_epi16(_mm256_and_si256(e_lo, lo_mask), _mm256_and_si256(e_hi, lo_mask));
    const __m256i hi = _mm256_packs_epi16(_mm256_srai_epi16(e_lo, 8), _mm256_srai_epi16(e_hi, 8));
    const int64_t s = b * kStepsPerBlock + j;
    uint8_t* t = table + (s / 2) * 128 + (s & 1) * 32;
    _mm256_store_si256(reinterpret_cast<__m256i*>(t), lo);
    _mm256_store_si256(reinterpret_cast<__m256i*>(t + 64), hi);
  }
  if (b == h.nb - 1) {
    const int64_t s_end = h.chunks * kStepsPerChunk;
    for (int64_t s = h.nb * kStepsPerBlock; s < s_end; ++s) {
      uint8_t* t = table + (s / 2) * 128 + (s & 1) * 32;
      std::memset(t, 0, 32);
      std::memset(t + 64, 0, 32);
    }
  }
}

template <int NB>
void tl3_tiles_avx512(const TernaryView& w, const uint8_t* tables, const float* s_a, float* y, int64_t ldy,
                      int64_t r0, int64_t r1) {
  const Header& h = header(w.packed);
  const int64_t tb = table_bytes(h);
  const bool int_sum = h.flags & kIntSum;
  const __m512i m0f = _mm512_set1_epi8(0x0f);
  const __m512i ones8 = _mm512_set1_epi8(-1);
  const __m512i nib_shift = _mm512_setr_epi64(0, 0, 0, 0, 4, 4, 4, 4);
  __m512i bitpat[4];
  for (int p = 0; p < 4; ++p)
    bitpat[p] = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set1_epi8(static_cast<char>(0x80 >> (2 * p)))),
                                   _mm256_set1_epi8(static_cast<char>(0x80 >> (2 * p + 1))), 1);
  for (int64_t t = r0 / kRows; t * kRows < r1; ++t) {
    const uint8_t* tp = tile(w.packed, t);
    __m512i accA[NB], accB[NB], i0[NB], i1[NB];
    for (int i = 0; i < NB; ++i) accA[i] = accB[i] = i0[i] = i1[i] = _mm512_setzero_si512();
    auto flush = [&]() {
      for (int i = 0; i < NB; ++i) {
        i0[i] = _mm512_add_epi32(i0[i], _mm512_add_epi32(_mm512_cvtepi16_epi32(_mm512_castsi512_si256(accA[i])),
                                                         _mm512_cvtepi16_epi32(_mm512_extracti64x4_epi64(accA[i], 1))));
        i1[i] = _mm512_add_epi32(i1[i], _mm512_add_epi32(_mm512_cvtepi16_epi32(_mm512_castsi512_si256(accB[i])),
                                                         _mm512_cvtepi16_epi32(_mm512_extracti64x4_epi64(accB[i], 1))));
        accA[i] = accB[i] = _mm512_setzero_si512();
      }
    };
    for (int64_t c = 0; c < h.chunks; ++c) {
      const uint8_t* ch = tp + c * kChunkBytes;
      if (NB == 1) {  // GEMV: the weight stream is the bound (see the AVX2 kernel's prefetch note)
        _mm_prefetch(reinterpret_cast<const char*>(ch + kPrefetchBytes), _MM_HINT_T0);
        _mm_prefetch(reinterpret_cast<const char*>(ch + kPrefetchBytes + 64), _MM_HINT_T0);
        _mm_prefetch(reinterpret_cast<const char*>(ch + kPrefetchBytes + 128), _MM_HINT_T0);
      }
      const __m512i sv = _mm512_broadcast_i64x4(_mm256_load_si256(reinterpret_cast<const __m256i*>(ch + 128)));
      for (int p = 0; p < 4; ++p) {
        const __m512i x = _mm512_broadcast_i64x4(_mm256_load_si256(reinterpret_cast<const __m256i*>(ch + 32 * p)));
        const __m512i idx = _mm512_and_si512(_mm512_srlv_epi64(x, nib_shift), m0f);
        const __mmask64 neg = _mm512_test_epi8_mask(sv, bitpat[p]);
        const int64_t pair = c * 4 + p;
        for (int i = 0; i < NB; ++i) {
          const uint8_t* tt = tables + i * tb + pair * 128;
          __m512i lo = _mm512_shuffle_epi8(_mm512_load_si512(tt), idx);
          __m512i hi = _mm512_shuffle_epi8(_mm512_load_si512(tt + 64), idx);
          lo = _mm512_mask_sub_epi8(lo, neg, ones8, lo);  // ~x where the sign is set
          hi = _mm512_mask_sub_epi8(hi, neg, ones8, hi);
          accA[i] = _mm512_add_epi16(accA[i], _mm512_unpacklo_epi8(lo, hi));
          accB[i] = _mm512_add_epi16(accB[i], _mm512_unpackhi_epi8(lo, hi));
        }
      }
      if ((c + 1) % kFlushChunks == 0) flush();
    }
    flush();
    // i0: [rows 0-7 of lane sums (0,2) | rows 0-7 of (1,3)]; same for i1 with rows 8-15.
    const __m256i rc = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(tile_row_corr(h, tp)));
    const __m512i corr = _mm512_cvtepi16_epi32(rc);
    const __m512 d = _mm512_set1_ps(h.d), sc = _mm512_set1_ps(w.scale);
    const int64_t rb = t * kRows;
    const int64_t lo_r = r0 > rb ? r0 : rb, hi_r = r1 < rb + kRows ? r1 : rb + kRows;
    for (int i = 0; i < NB; ++i) {
      const __m256i s0 = _mm256_add_epi32(_mm512_castsi512_si256(i0[i]), _mm512_extracti64x4_epi64(i0[i], 1));
      const __m256i s1 = _mm256_add_epi32(_mm512_castsi512_si256(i1[i]), _mm512_extracti64x4_epi64(i1[i], 1));
      const __m512i S = _mm512_add_epi32(_mm512_inserti64x4(_mm512_castsi256_si512(s0), s1, 1), corr);
      __m512 v = _mm512_cvtepi32_ps(S);
      if (!int_sum) v = _mm512_mul_ps(d, v);
      v = _mm512_mul_ps(_mm512_div_ps(v, _mm512_set1_ps(s_a[i])), sc);
      float* yr = y + i * ldy + rb;
      const __mmask16 keep = static_cast<__mmask16>(((1u << (hi_r - rb)) - 1) & ~((1u << (lo_r - rb)) - 1));
      _mm512_mask_storeu_ps(yr, keep, v);
    }
  }
}

// Decoded prompt path: rows [r0, r1) for n tokens from the decoded-order activations in `prep`;
// one decode per tile serves every token.
constexpr int64_t kDecodedRows = kRows + 4;  // the 4-row register tile may read 3 rows past the tile

void tl3_decoded_avx512(const TernaryView& w, const uint8_t* prep, const float* s_a, int64_t n, float* y,
                        int64_t ldy, int64_t r0, int64_t r1, uint8_t* scratch) {
  const Header& h = header(w.packed);
  const auto [kp, acts, sumq] = decoded_prep(h, prep, n);
  uint8_t* codes = scratch;
  std::memset(codes + kRows * kp, 1, static_cast<size_t>((kDecodedRows - kRows) * kp));
  const CodesEpilogue epi = decoded_epilogue(h, w.scale);
  for (int64_t t = r0 / kRows; t * kRows < r1; ++t) {
    const int64_t rb = t * kRows;
    const int64_t lo = r0 > rb ? r0 : rb, hi = r1 < rb + kRows ? r1 : rb + kRows;
    decode_tl3_tile_avx512(h, tile(w.packed, t), kp, codes);
    gemm_codes_rows_avx512(codes + (lo - rb) * kp, kp, hi - lo, acts, kp, sumq, s_a, n, epi, y, ldy, lo);
  }
}

}  // namespace

size_t gemm_tl3_i8_avx512vnni_scratch(const TernaryView& w, int64_t n) {
  const size_t decoded =
      w.packed && n >= kDecodeMinTokens ? static_cast<size_t>(kDecodedRows * decoded_row_bytes(header(w.packed))) : 0;
  return std::max(gemm_tl3_i8_avx2_scratch(w, n), decoded);
}

void gemm_tl3_i8_avx512vnni_prep(const TernaryView& w, const int8_t* q, int64_t n, int64_t u0, int64_t u1,
                                 uint8_t* out) {
  // Always this kernel's pair layout (or decoded-order activations): the preparation may be reused
  // by the next matrix (see CpuBackend::matmul_ternary), whatever its scale mode.
  if (n >= kDecodeMinTokens) {
    prep_decoded(w, q, n, u0, u1, out);
    return;
  }
  const Header& h = header(w.packed);
  for (int64_t u = u0; u < u1; ++u) {
    const int64_t i = u / h.nb, b = u % h.nb;
    build_block_avx512(h, q + i * w.k, b, out + i * table_bytes(h));
  }
}

void gemm_tl3_i8_avx512vnni(const TernaryView& w, const int8_t* q, const float* s_a, int64_t n, float* y,
                            int64_t ldy, int64_t r0, int64_t r1, const uint8_t* prep, uint8_t* scratch) {
  if (!w.packed || (!prep && !scratch)) {
    gemm_unpacked_ref(w, q, s_a, n, y, ldy, r0, r1);
    return;
  }
  const Header& h = header(w.packed);
  if (h.flags & kPerBlockScale) {  // AVX2 kernel, building its own (AVX2-layout) tables
    gemm_tl3_i8_avx2(w, q, s_a, n, y, ldy, r0, r1, nullptr, scratch);
    return;
  }
  if (n >= kDecodeMinTokens && prep) {  // prep holds decoded-order activations
    tl3_decoded_avx512(w, prep, s_a, n, y, ldy, r0, r1, scratch);
    return;
  }
  const int64_t tb = table_bytes(h);
  for (int64_t i = 0; i < n; i += kMaxTokens) {
    const int64_t nt = n - i < kMaxTokens ? n - i : kMaxTokens;
    const uint8_t* tables = prep ? prep + i * tb : scratch;
    if (!prep)
      for (int64_t t = 0; t < nt; ++t)
        for (int64_t b = 0; b < h.nb; ++b) build_block_avx512(h, q + (i + t) * w.k, b, scratch + t * tb);
    float* yi = y + i * ldy;
    switch (nt) {
      case 1: tl3_tiles_avx512<1>(w, tables, s_a + i, yi, ldy, r0, r1); break;
      case 2: tl3_tiles_avx512<2>(w, tables, s_a + i, yi, ldy, r0, r1); break;
      case 3: tl3_tiles_avx512<3>(w, tables, s_a + i, yi, ldy, r0, r1); break;
      default: tl3_tiles_avx512<4>(w, tables, s_a + i, yi, ldy, r0, r1); break;
    }
  }
}

}  // namespace bitnet::cpu
