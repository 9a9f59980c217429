// TL3 (tl3.h) x int8 GEMV / GEMM with AVX2: the TQ1_0 / TQ2_0 path (and I2_S when repacked).
//
// Per token, every pair of 3-weight groups gets a 16-entry int16 table of activation sums, split
// into a low-byte and a high-byte plane (64 bytes per step). Per step and 16-row tile the kernel
// does 2 vpshufb (lookups), 2 vpxor (sign: XOR 0xFF gives -T-1, the +1 is the stored corr count),
// 2 vpunpck (bytes -> int16) and 2 vpaddw: 32 indices = 96 weights in ~11 vector ops, about 1.7x
// fewer than decoding base-3 bytes to codes for vpmaddubsw, and 1.68 instead of 2 bits per weight
// to stream. int16 sums are flushed per 256-block (43 steps x |385| < 2^15) into exact int32
// sums (I2_S: bit-identical to the reference) or, with per-block scales, acc += d_b * float(S_b).
// Prompts (n >= tl3::kDecodeMinTokens, prepared activations): each tile is decoded once into byte
// codes and runs the I2_S kernel's vpmaddubsw codes GEMM (tl3_decode_avx2.h, tl3.h).
#include <algorithm>
#include <cstring>

#include "backends/cpu/tl3.h"
#include "backends/cpu/x86/gemm_codes_avx2.h"
#include "backends/cpu/x86/tl3_decode_avx2.h"

namespace bitnet::cpu {
namespace {

using namespace tl3;

constexpr int64_t kMaxTokens = 4;  // tokens per pass (register tile: 2 int16 accumulators each)

// Tables of one token for all steps (padded to whole chunks with zeros). Table entries come from
// two vpmaddubsw: with u = q + 128 (unsigned) and trits t, (u0,u1).(t0,t1) + (u2,128).(t2,-sum t)
// = sum t*q exactly, all terms within int16.
void build_block_avx2(const Header& h, const int8_t* q, int64_t b, uint8_t* table) {
  alignas(32) static const int8_t kC01[32] = {
      // entries 0..7 then 8..15 of (t0, t1) pairs, repeated for both lanes below
      0, 0, 0, 0, 0, 1, 0, 1, 0, 1, 1, -1, 1, -1, 1, -1,
      1, 0, 1, 0, 1, 0, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0};
  alignas(32) static const int8_t kC2K[32] = {
      0, 0, 1, -1, -1, 0, 0, -1, 1, -2, -1, 1, 0, 0, 1, -1,
      -1, 0, 0, -1, 1, -2, -1, -1, 0, -2, 1, -3, 0, 0, 0, 0};
  // Table row m of kC01/kC2K: bytes 2m, 2m+1 (m = 0..15) -> (t0, t1) and (t2, -(t0+t1+t2)).
  const __m256i c01_lo = _mm256_broadcastsi128_si256(_mm_load_si128(reinterpret_cast<const __m128i*>(kC01)));
  const __m256i c01_hi = _mm256_broadcastsi128_si256(_mm_load_si128(reinterpret_cast<const __m128i*>(kC01 + 16)));
  const __m256i c2k_lo = _mm256_broadcastsi128_si256(_mm_load_si128(reinterpret_cast<const __m128i*>(kC2K)));
  const __m256i c2k_hi = _mm256_broadcastsi128_si256(_mm_load_si128(reinterpret_cast<const __m128i*>(kC2K + 16)));
  // Lane 0 takes group 2j (bytes 0..2 of the 6 loaded), lane 1 group 2j+1 (bytes 3..5).
  const __m256i sel01 = _mm256_setr_epi8(0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1,
                                         3, 4, 3, 4, 3, 4, 3, 4, 3, 4, 3, 4, 3, 4, 3, 4);
  const int8_t z = -128;  // pshufb index with bit 7 set -> 0
  const __m256i sel2 = _mm256_setr_epi8(2, z, 2, z, 2, z, 2, z, 2, z, 2, z, 2, z, 2, z,
                                        5, z, 5, z, 5, z, 5, z, 5, z, 5, z, 5, z, 5, z);
  const __m256i k128_odd = _mm256_set1_epi16(static_cast<int16_t>(0x8000));
  const __m256i flip = _mm256_set1_epi8(static_cast<char>(0x80));
  const __m256i lo_mask = _mm256_set1_epi16(0x00ff);
  {
    const int8_t* qb = q + b * kBlock;
    for (int64_t j = 0; j < kStepsPerBlock; ++j) {
      int64_t raw;
      if (j < kStepsPerBlock - 1) {
        std::memcpy(&raw, qb + 6 * j, 8);  // 6 used bytes + 2 of the next step (ignored)
      } else {
        int32_t last;  // groups 84 and 85 = weights 252..255, then padding zeros
        std::memcpy(&last, qb + 252, 4);
        raw = static_cast<uint32_t>(last);
      }
      const __m256i v = _mm256_xor_si256(_mm256_set1_epi64x(raw), flip);
      const __m256i u01 = _mm256_shuffle_epi8(v, sel01);
      const __m256i u2k = _mm256_or_si256(_mm256_shuffle_epi8(v, sel2), k128_odd);
      const __m256i e_lo = _mm256_add_epi16(_mm256_maddubs_epi16(u01, c01_lo), _mm256_maddubs_epi16(u2k, c2k_lo));
      const __m256i e_hi = _mm256_add_epi16(_mm256_maddubs_epi16(u01, c01_hi), _mm256_maddubs_epi16(u2k, c2k_hi));
      // e_lo / e_hi: entries 0..7 / 8..15 of lane 0 (group 2j) and lane 1 (group 2j+1).
      const __m256i lo = _mm256_packus_epi16(_mm256_and_si256(e_lo, lo_mask), _mm256_and_si256(e_hi, lo_mask));
      const __m256i hi = _mm256_packs_epi16(_mm256_srai_epi16(e_lo, 8), _mm256_srai_epi16(e_hi, 8));
      uint8_t* t = table + (b * kStepsPerBlock + j) * kTableBytesPerStep;
      _mm256_store_si256(reinterpret_cast<__m256i*>(t), lo);
      _mm256_store_si256(reinterpret_cast<__m256i*>(t + 32), hi);
    }
  }
  if (b == h.nb - 1) {
    const int64_t s_end = h.chunks * kStepsPerChunk;
    for (int64_t s = h.nb * kStepsPerBlock; s < s_end; ++s)
      std::memset(table + s * kTableBytesPerStep, 0, kTableBytesPerStep);
  }
}

// Chunks [c0, c1) of one tile for NB tokens: int16 sums per row and lane into A/B (rows 0-7 and
// 8-15). A flat loop in its own function: GCC 12 then keeps the accumulators in registers without
// copies. At most kFlushChunks chunks per call (80 steps x |385| < 2^15).
constexpr int64_t kFlushChunks = 10;
// Software prefetch distance of the weight stream (tiles are contiguous, so it runs on into the next
// tile): 4 KiB ahead measured 1.1-1.4x faster GEMV at 2 threads on Zen 3.
constexpr int64_t kPrefetchBytes = 4096;

template <int NB>
__attribute__((noinline)) void run_chunks_avx2(const uint8_t* tp, const uint8_t* tables, int64_t tb, int64_t c0,
                                               int64_t c1, __m256i* A, __m256i* B) {
  const __m256i m0f = _mm256_set1_epi8(0x0f);
  const __m256i zero = _mm256_setzero_si256();
  __m256i accA[NB], accB[NB];
  for (int i = 0; i < NB; ++i) accA[i] = accB[i] = zero;
  for (int64_t c = c0; c < c1; ++c) {
    const uint8_t* ch = tp + c * kChunkBytes;
    _mm_prefetch(reinterpret_cast<const char*>(ch + kPrefetchBytes), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(ch + kPrefetchBytes + 64), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(ch + kPrefetchBytes + 128), _MM_HINT_T0);
    __m256i sv = _mm256_load_si256(reinterpret_cast<const __m256i*>(ch + 128));
    const uint8_t* tt0 = tables + c * kStepsPerChunk * kTableBytesPerStep;
    for (int p = 0; p < 4; ++p) {
      const __m256i x = _mm256_load_si256(reinterpret_cast<const __m256i*>(ch + 32 * p));
      for (int half = 0; half < 2; ++half) {
        const __m256i idx = half ? _mm256_and_si256(_mm256_srli_epi16(x, 4), m0f) : _mm256_and_si256(x, m0f);
        const __m256i m = _mm256_cmpgt_epi8(zero, sv);
        sv = _mm256_add_epi8(sv, sv);
        for (int i = 0; i < NB; ++i) {
          const uint8_t* tt = tt0 + i * tb + (2 * p + half) * kTableBytesPerStep;
          const __m256i lo = _mm256_xor_si256(_mm256_shuffle_epi8(_mm256_load_si256(reinterpret_cast<const __m256i*>(tt)), idx), m);
          const __m256i hi = _mm256_xor_si256(_mm256_shuffle_epi8(_mm256_load_si256(reinterpret_cast<const __m256i*>(tt + 32)), idx), m);
          add16(accA[i], _mm256_unpacklo_epi8(lo, hi));
          add16(accB[i], _mm256_unpackhi_epi8(lo, hi));
        }
      }
    }
  }
  for (int i = 0; i < NB; ++i) {
    A[i] = accA[i];
    B[i] = accB[i];
  }
}

// Uniform block scale (every BitNet model): int16 sums widened every kFlushChunks chunks.
template <int NB>
void tl3_tiles_uniform_avx2(const TernaryView& w, const uint8_t* tables, const float* s_a, float* y, int64_t ldy,
                            int64_t r0, int64_t r1) {
  const Header& h = header(w.packed);
  const int64_t tb = table_bytes(h);
  const bool int_sum = h.flags & kIntSum;
  const __m256 d = _mm256_set1_ps(h.d), sc = _mm256_set1_ps(w.scale);
  for (int64_t t = r0 / kRows; t * kRows < r1; ++t) {
    const uint8_t* tp = tile(w.packed, t);
    alignas(32) int32_t i0[NB][8] = {}, i1[NB][8] = {};
    for (int64_t c0 = 0; c0 < h.chunks; c0 += kFlushChunks) {
      const int64_t c1 = c0 + kFlushChunks < h.chunks ? c0 + kFlushChunks : h.chunks;
      __m256i A[NB], B[NB];
      run_chunks_avx2<NB>(tp, tables, tb, c0, c1, A, B);
      for (int i = 0; i < NB; ++i) {
        __m256i* p0 = reinterpret_cast<__m256i*>(i0[i]);
        __m256i* p1 = reinterpret_cast<__m256i*>(i1[i]);
        _mm256_store_si256(p0, _mm256_add_epi32(_mm256_load_si256(p0),
                                                _mm256_add_epi32(_mm256_cvtepi16_epi32(_mm256_castsi256_si128(A[i])),
                                                                 _mm256_cvtepi16_epi32(_mm256_extracti128_si256(A[i], 1)))));
        _mm256_store_si256(p1, _mm256_add_epi32(_mm256_load_si256(p1),
                                                _mm256_add_epi32(_mm256_cvtepi16_epi32(_mm256_castsi256_si128(B[i])),
                                                                 _mm256_cvtepi16_epi32(_mm256_extracti128_si256(B[i], 1)))));
      }
    }
    const __m256i rc = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(tile_row_corr(h, tp)));
    const __m256i rc0 = _mm256_cvtepi16_epi32(_mm256_castsi256_si128(rc));
    const __m256i rc1 = _mm256_cvtepi16_epi32(_mm256_extracti128_si256(rc, 1));
    const int64_t rb = t * kRows;
    const int64_t lo_r = r0 > rb ? r0 : rb, hi_r = r1 < rb + kRows ? r1 : rb + kRows;
    for (int i = 0; i < NB; ++i) {
      __m256 v0 = _mm256_cvtepi32_ps(_mm256_add_epi32(_mm256_load_si256(reinterpret_cast<const __m256i*>(i0[i])), rc0));
      __m256 v1 = _mm256_cvtepi32_ps(_mm256_add_epi32(_mm256_load_si256(reinterpret_cast<const __m256i*>(i1[i])), rc1));
      if (!int_sum) {
        v0 = _mm256_mul_ps(d, v0);
        v1 = _mm256_mul_ps(d, v1);
      }
      const __m256 sa = _mm256_set1_ps(s_a[i]);
      v0 = _mm256_mul_ps(_mm256_div_ps(v0, sa), sc);
      v1 = _mm256_mul_ps(_mm256_div_ps(v1, sa), sc);
      float* yr = y + i * ldy + rb;
      if (lo_r == rb && hi_r == rb + kRows) {
        _mm256_storeu_ps(yr, v0);
        _mm256_storeu_ps(yr + 8, v1);
      } else {
        alignas(32) float tmp[kRows];
        _mm256_store_ps(tmp, v0);
        _mm256_store_ps(tmp + 8, v1);
        for (int64_t r = lo_r; r < hi_r; ++r) yr[r - rb] = tmp[r - rb];
      }
    }
  }
}

// One pass over the tiles of rows [r0, r1) for NB tokens whose tables are at tables + i * tb.
// PER_BLOCK: blocks have their own scales (flush = exact S_b, acc += d_b * float(S_b)); otherwise
// int16 sums are widened into int32 row sums once per block (43 steps x |385| < 2^15).
template <int NB, bool PER_BLOCK>
void tl3_tiles_avx2(const TernaryView& w, const uint8_t* tables, const float* s_a, float* y, int64_t ldy,
                    int64_t r0, int64_t r1) {
  const Header& h = header(w.packed);
  const int64_t tb = table_bytes(h);
  const bool int_sum = h.flags & kIntSum;
  const __m256i m0f = _mm256_set1_epi8(0x0f);
  const __m256i zero = _mm256_setzero_si256();
  for (int64_t t = r0 / kRows; t * kRows < r1; ++t) {
    const uint8_t* tp = tile(w.packed, t);
    const uint8_t* corr = tile_corr(h, tp);
    const float* scales = tile_scales(h, tp);
    __m256i accA[NB], accB[NB];
    __m256i i0[NB], i1[NB];  // int32 row sums, rows 0..7 and 8..15 (!PER_BLOCK)
    __m256 f0[NB], f1[NB];   // float row sums (PER_BLOCK)
    for (int i = 0; i < NB; ++i) {
      accA[i] = accB[i] = i0[i] = i1[i] = zero;
      f0[i] = f1[i] = _mm256_setzero_ps();
    }
    int64_t next_flush = kStepsPerBlock, b = 0;
    auto flush = [&]() {
      if constexpr (PER_BLOCK) {
        const __m128i c8 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(corr + b * kRows));
        const __m256i corr0 = _mm256_cvtepu8_epi32(c8), corr1 = _mm256_cvtepu8_epi32(_mm_srli_si128(c8, 8));
        const __m256 d0 = _mm256_loadu_ps(scales + b * kRows), d1 = _mm256_loadu_ps(scales + b * kRows + 8);
        for (int i = 0; i < NB; ++i) {
          __m256i s0 = _mm256_add_epi32(_mm256_cvtepi16_epi32(_mm256_castsi256_si128(accA[i])),
                                        _mm256_cvtepi16_epi32(_mm256_extracti128_si256(accA[i], 1)));
          __m256i s1 = _mm256_add_epi32(_mm256_cvtepi16_epi32(_mm256_castsi256_si128(accB[i])),
                                        _mm256_cvtepi16_epi32(_mm256_extracti128_si256(accB[i], 1)));
          s0 = _mm256_add_epi32(s0, corr0);
          s1 = _mm256_add_epi32(s1, corr1);
          // mul then add, like the reference (no FMA contraction)
          f0[i] = _mm256_add_ps(f0[i], _mm256_mul_ps(d0, _mm256_cvtepi32_ps(s0)));
          f1[i] = _mm256_add_ps(f1[i], _mm256_mul_ps(d1, _mm256_cvtepi32_ps(s1)));
          accA[i] = accB[i] = zero;
        }
      } else {
        for (int i = 0; i < NB; ++i) {
          i0[i] = _mm256_add_epi32(i0[i], _mm256_add_epi32(_mm256_cvtepi16_epi32(_mm256_castsi256_si128(accA[i])),
                                                           _mm256_cvtepi16_epi32(_mm256_extracti128_si256(accA[i], 1))));
          i1[i] = _mm256_add_epi32(i1[i], _mm256_add_epi32(_mm256_cvtepi16_epi32(_mm256_castsi256_si128(accB[i])),
                                                           _mm256_cvtepi16_epi32(_mm256_extracti128_si256(accB[i], 1))));
          accA[i] = accB[i] = zero;
        }
      }
      ++b;
      next_flush += kStepsPerBlock;
    };
    for (int64_t c = 0; c < h.chunks; ++c) {
      const uint8_t* ch = tp + c * kChunkBytes;
      __m256i sv = _mm256_load_si256(reinterpret_cast<const __m256i*>(ch + 128));
      for (int p = 0; p < 4; ++p) {
        const __m256i x = _mm256_load_si256(reinterpret_cast<const __m256i*>(ch + 32 * p));
        for (int half = 0; half < 2; ++half) {
          const int64_t s = c * kStepsPerChunk + 2 * p + half;
          const __m256i idx = half ? _mm256_and_si256(_mm256_srli_epi16(x, 4), m0f) : _mm256_and_si256(x, m0f);
          const __m256i m = _mm256_cmpgt_epi8(zero, sv);
          sv = _mm256_add_epi8(sv, sv);
          for (int i = 0; i < NB; ++i) {
            const uint8_t* tt = tables + i * tb + s * kTableBytesPerStep;
            const __m256i tlo = _mm256_load_si256(reinterpret_cast<const __m256i*>(tt));
            const __m256i thi = _mm256_load_si256(reinterpret_cast<const __m256i*>(tt + 32));
            const __m256i lo = _mm256_xor_si256(_mm256_shuffle_epi8(tlo, idx), m);
            const __m256i hi = _mm256_xor_si256(_mm256_shuffle_epi8(thi, idx), m);
            add16(accA[i], _mm256_unpacklo_epi8(lo, hi));
            add16(accB[i], _mm256_unpackhi_epi8(lo, hi));
          }
          if (s + 1 == next_flush) flush();
        }
      }
    }
    // Epilogue for the rows of this tile in range.
    const int64_t rb = t * kRows;
    const int64_t lo_r = r0 > rb ? r0 : rb, hi_r = r1 < rb + kRows ? r1 : rb + kRows;
    const __m256 sc = _mm256_set1_ps(w.scale);
    __m256i rc0 = zero, rc1 = zero;
    if constexpr (!PER_BLOCK) {
      const __m256i rc = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(tile_row_corr(h, tp)));
      rc0 = _mm256_cvtepi16_epi32(_mm256_castsi256_si128(rc));
      rc1 = _mm256_cvtepi16_epi32(_mm256_extracti128_si256(rc, 1));
    }
    const __m256 d = _mm256_set1_ps(h.d);
    for (int i = 0; i < NB; ++i) {
      const __m256 sa = _mm256_set1_ps(s_a[i]);
      __m256 v0, v1;
      if constexpr (PER_BLOCK) {
        v0 = f0[i];
        v1 = f1[i];
      } else {
        v0 = _mm256_cvtepi32_ps(_mm256_add_epi32(i0[i], rc0));
        v1 = _mm256_cvtepi32_ps(_mm256_add_epi32(i1[i], rc1));
        if (!int_sum) {
          v0 = _mm256_mul_ps(d, v0);
          v1 = _mm256_mul_ps(d, v1);
        }
      }
      v0 = _mm256_mul_ps(_mm256_div_ps(v0, sa), sc);
      v1 = _mm256_mul_ps(_mm256_div_ps(v1, sa), sc);
      float* yr = y + i * ldy + rb;
      if (lo_r == rb && hi_r == rb + kRows) {
        _mm256_storeu_ps(yr, v0);
        _mm256_storeu_ps(yr + 8, v1);
      } else {
        alignas(32) float tmp[kRows];
        _mm256_store_ps(tmp, v0);
        _mm256_store_ps(tmp + 8, v1);
        for (int64_t r = lo_r; r < hi_r; ++r) yr[r - rb] = tmp[r - rb];
      }
    }
  }
}

template <bool PER_BLOCK>
void tl3_dispatch_avx2(int64_t nt, const TernaryView& w, const uint8_t* tables, const float* s_a, float* y,
                       int64_t ldy, int64_t r0, int64_t r1) {
  if constexpr (PER_BLOCK) {
    switch (nt) {
      case 1: tl3_tiles_avx2<1, true>(w, tables, s_a, y, ldy, r0, r1); break;
      case 2: tl3_tiles_avx2<2, true>(w, tables, s_a, y, ldy, r0, r1); break;
      case 3: tl3_tiles_avx2<3, true>(w, tables, s_a, y, ldy, r0, r1); break;
      default: tl3_tiles_avx2<4, true>(w, tables, s_a, y, ldy, r0, r1); break;
    }
  } else {
    switch (nt) {
      case 1: tl3_tiles_uniform_avx2<1>(w, tables, s_a, y, ldy, r0, r1); break;
      case 2: tl3_tiles_uniform_avx2<2>(w, tables, s_a, y, ldy, r0, r1); break;
      case 3: tl3_tiles_uniform_avx2<3>(w, tables, s_a, y, ldy, r0, r1); break;
      default: tl3_tiles_uniform_avx2<4>(w, tables, s_a, y, ldy, r0, r1); break;
    }
  }
}

// Decoded prompt path: rows [r0, r1) for n tokens from the decoded-order activations in `prep`.
// A tile is decoded once and serves every token; tokens go in super-blocks of ~192 KiB of
// activations so both 8-row halves of the tile find them in L2.
void tl3_decoded_avx2(const TernaryView& w, const uint8_t* prep, const float* s_a, int64_t n, float* y,
                      int64_t ldy, int64_t r0, int64_t r1, uint8_t* scratch) {
  const Header& h = header(w.packed);
  const auto [kp, acts, sumq] = decoded_prep(h, prep, n);
  uint8_t* codes = scratch;  // 16 rows + 1 (an odd row count reads one row past)
  int32_t* s32 = reinterpret_cast<int32_t*>(scratch + (kRows + 1) * kp);
  std::memset(codes + kRows * kp, 1, static_cast<size_t>(kp));
  const CodesEpilogue epi = decoded_epilogue(h, w.scale);
  const int64_t sb = codes_superblock_tokens(kp);
  for (int64_t t = r0 / kRows; t * kRows < r1; ++t) {
    const int64_t rb = t * kRows;
    const int64_t lo = r0 > rb ? r0 : rb, hi = r1 < rb + kRows ? r1 : rb + kRows;
    decode_tl3_tile_avx2(h, tile(w.packed, t), kp, codes);
    for (int64_t i = 0; i < n; i += sb) {
      const int64_t cnt = n - i < sb ? n - i : sb;
      for (int64_t r = lo; r < hi; r += kCodesTileRows) {
        const int64_t nr = hi - r < kCodesTileRows ? hi - r : kCodesTileRows;
        gemm_codes_rows_avx2(codes + (r - rb) * kp, kp, nr, acts + i * kp, kp, sumq + i, s_a + i, cnt, epi,
                             y + i * ldy, ldy, r, s32);
      }
    }
  }
}

size_t tl3_decoded_scratch_avx2(const TernaryView& w, int64_t n) {
  if (!w.packed || n < kDecodeMinTokens) return 0;
  const int64_t kp = decoded_row_bytes(header(w.packed));
  return static_cast<size_t>((kRows + 1) * kp) + codes_rows_scratch_avx2(std::min(n, codes_superblock_tokens(kp)));
}

}  // namespace

size_t gemm_tl3_i8_avx2_scratch(const TernaryView& w, int64_t n) {
  const int64_t nt = n < kMaxTokens ? n : kMaxTokens;
  return std::max(nt * scratch_size_generic(w, 1), tl3_decoded_scratch_avx2(w, n));
}

void gemm_tl3_i8_avx2_prep(const TernaryView& w, const int8_t* q, int64_t n, int64_t u0, int64_t u1, uint8_t* out) {
  if (n >= kDecodeMinTokens) {
    prep_decoded(w, q, n, u0, u1, out);
    return;
  }
  const Header& h = header(w.packed);
  for (int64_t u = u0; u < u1; ++u) {
    const int64_t i = u / h.nb, b = u % h.nb;
    build_block_avx2(h, q + i * w.k, b, out + i * table_bytes(h));
  }
}

void gemm_tl3_i8_avx2(const TernaryView& w, const int8_t* q, const float* s_a, int64_t n, float* y,
                      int64_t ldy, int64_t r0, int64_t r1, const uint8_t* prep, uint8_t* scratch) {
  if (!w.packed || (!prep && !scratch)) {  // not packed (shape not supported): general path
    gemm_unpacked_ref(w, q, s_a, n, y, ldy, r0, r1);
    return;
  }
  const Header& h = header(w.packed);
  if (n >= kDecodeMinTokens && prep) {  // prep holds decoded-order activations (gemm_tl3_i8_avx2_prep)
    if (!(h.flags & kPerBlockScale)) {
      tl3_decoded_avx2(w, prep, s_a, n, y, ldy, r0, r1, scratch);
      return;
    }
    prep = nullptr;  // per-block scales: the lookup path with its own tables
  }
  const int64_t tb = table_bytes(h);
  for (int64_t i = 0; i < n; i += kMaxTokens) {
    const int64_t nt = n - i < kMaxTokens ? n - i : kMaxTokens;
    const uint8_t* tables = prep ? prep + i * tb : scratch;
    if (!prep)
      for (int64_t t = 0; t < nt; ++t)
        for (int64_t b = 0; b < h.nb; ++b) build_block_avx2(h, q + (i + t) * w.k, b, scratch + t * tb);
    float* yi = y + i * ldy;
    if (h.flags & kPerBlockScale) tl3_dispatch_avx2<true>(nt, w, tables, s_a + i, yi, ldy, r0, r1);
    else tl3_dispatch_avx2<false>(nt, w, tables, s_a + i, yi, ldy, r0, r1);
  }
}

}  // namespace bitnet::cpu
