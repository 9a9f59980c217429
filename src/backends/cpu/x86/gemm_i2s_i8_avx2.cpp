// I2_S x int8 GEMV / GEMM with AVX2, reading the on-disk layout in place (spec §4.1.1, §7.1).
// A 32-byte I2_S block holds 128 codes c = w + 1 in {0,1,2}: field g (bits 7-2g..6-2g) of byte p is
// element 32g + p. vpmaddubsw multiplies the unsigned codes with signed activations; the "+1" is
// removed with the activation sum: S = sum(c*q) - sum(q). The epilogue float(S) / s_a * scale is
// the reference's, so outputs are bit-identical.
//
// GEMV (n == 1): one row at a time, streaming the row once; the four products of a block are
// summed in int16 and widened with one vpmaddwd per two blocks (sharing the activation registers
// between two rows measured ~8% slower: GEMV is ALU-, not load-limited). GEMM (n > 1): an 8-row
// tile is decoded once into byte codes (scratch) and reused for every token; the register tile is
// 2 rows x 4 tokens (8 int16 accumulators, 2 code registers, each activation vector loaded once
// into a register and used for both rows).
// K % 128 != 0 (blocks straddling rows) goes to the reference kernel.
#include "backends/cpu/kernels.h"
#include "backends/cpu/x86/avx2_util.h"

namespace bitnet::cpu {
namespace {

constexpr int64_t kTileRows = 8;
constexpr int64_t kTileTokens = 4;

// Software prefetch distance of the GEMV weight stream. One Zen 3 core's hardware prefetchers do
// not keep the stream far enough ahead for a 2-bit GEMV: 4 KiB ahead measured 1.3-1.6x faster at 2
// threads on the 2B4T shapes (1 KiB: 1.25x, 16 KiB: worse again).
constexpr int64_t kPrefetchBytes = 4096;

// Products of one 128-block: 4 vpmaddubsw (|<= 512| each) summed in int16 (|<= 2048|).
inline __m256i block_i2s(const uint8_t* blk, const int8_t* qb, __m256i m3) {
  const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk));
  const __m256i p0 = _mm256_maddubs_epi16(i2s_field<0>(x, m3),
                                          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qb)));
  const __m256i p1 = _mm256_maddubs_epi16(i2s_field<1>(x, m3),
                                          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qb + 32)));
  const __m256i p2 = _mm256_maddubs_epi16(i2s_field<2>(x, m3),
                                          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qb + 64)));
  const __m256i p3 = _mm256_maddubs_epi16(i2s_field<3>(x, m3),
                                          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qb + 96)));
  return _mm256_add_epi16(_mm256_add_epi16(p0, p1), _mm256_add_epi16(p2, p3));
}

// sum over one row of codes x activations: one flat loop over block pairs (rows are short: a
// nested loop costs a branch miss per row); the two block sums (|<= 4096|) are widened together with
// one vpmaddwd, 4.5 multiply-pipe ops per 128 weights. One prefetch per 64 bytes of weights.
inline int32_t row_dot_i2s(const uint8_t* wr, const int8_t* q, int64_t nblk) {
  const __m256i m3 = _mm256_set1_epi8(3);
  const __m256i ones16 = _mm256_set1_epi16(1);
  __m256i acc = _mm256_setzero_si256();
  int64_t b = 0;
  for (; b + 2 <= nblk; b += 2) {
    _mm_prefetch(reinterpret_cast<const char*>(wr + 32 * b + kPrefetchBytes), _MM_HINT_T0);
    const __m256i s = _mm256_add_epi16(block_i2s(wr + 32 * b, q + 128 * b, m3),
                                       block_i2s(wr + 32 * (b + 1), q + 128 * (b + 1), m3));
    add32(acc, _mm256_madd_epi16(s, ones16));
  }
  if (b < nblk) add32(acc, _mm256_madd_epi16(block_i2s(wr + 32 * b, q + 128 * b, m3), ones16));
  return hsum_epi32_avx2(acc);
}

void gemv_i2s_avx2(const TernaryView& w, const int8_t* q, float s_a, float* y, int64_t r0, int64_t r1) {
  const int64_t k = w.k, nblk = k / 128;
  const int32_t sumq = sum_i8_avx2(q, k);
  for (int64_t r = r0; r < r1; ++r) {
    const int32_t S = row_dot_i2s(w.data + r * (k / 4), q, nblk) - sumq;
    y[r] = static_cast<float>(S) / s_a * w.scale;
  }
}

// 2 rows x 4 tokens over `steps` 32-weight steps: int16 sums of codes x activations; each
// activation vector is loaded once into a register and used for both rows (6 loads, 16 ALU ops
// per 256 multiply-adds). A
// separate flat-loop function: that is what GCC 12 register-allocates without spills or moves.
__attribute__((noinline)) void tile_2x4(const uint8_t* c0p, const uint8_t* c1p, const int8_t* x0,
                                        const int8_t* x1, const int8_t* x2, const int8_t* x3, int64_t steps,
                                        __m256i* out) {
  __m256i a00 = _mm256_setzero_si256(), a01 = a00, a02 = a00, a03 = a00, a10 = a00, a11 = a00, a12 = a00,
          a13 = a00;
  for (int64_t j = 0; j < steps; ++j) {
    const int64_t o = 32 * j;
    const __m256i c0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(c0p + o));
    const __m256i c1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(c1p + o));
    const __m256i v0 = in_reg(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x0 + o)));
    add16(a00, _mm256_maddubs_epi16(c0, v0));
    add16(a10, _mm256_maddubs_epi16(c1, v0));
    const __m256i v1 = in_reg(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x1 + o)));
    add16(a01, _mm256_maddubs_epi16(c0, v1));
    add16(a11, _mm256_maddubs_epi16(c1, v1));
    const __m256i v2 = in_reg(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x2 + o)));
    add16(a02, _mm256_maddubs_epi16(c0, v2));
    add16(a12, _mm256_maddubs_epi16(c1, v2));
    const __m256i v3 = in_reg(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(x3 + o)));
    add16(a03, _mm256_maddubs_epi16(c0, v3));
    add16(a13, _mm256_maddubs_epi16(c1, v3));
  }
  out[0] = a00;
  out[1] = a01;
  out[2] = a02;
  out[3] = a03;
  out[4] = a10;
  out[5] = a11;
  out[6] = a12;
  out[7] = a13;
}

// Codes of an 8-row tile are decoded once (scratch) and reused by every token. K is walked in
// chunks of at most 64 steps (2048 weights: int16 cannot hold more), tokens in blocks of 4, and each
// block's activation chunk (<= 8 KiB) serves the tile's 4 row pairs from L1 (8 rows measured
// ~10% faster than 4 at 2 threads). int32 partial sums per (row,
// token) live in scratch.
void gemm_i2s_tiles_avx2(const TernaryView& w, const int8_t* q, const float* s_a, int64_t n, float* y,
                         int64_t ldy, int64_t r0, int64_t r1, uint8_t* scratch);

// Tokens are processed in super-blocks whose activations (nb x K bytes) stay in L2 (~192 KiB of the
// 512 KiB): every 4-row tile streams the whole block, so 128 tokens x K = 6912 (884 KiB) would
// otherwise come from L3 for every tile. Codes are re-decoded per super-block (cheap).
void gemm_i2s_avx2_blocked(const TernaryView& w, const int8_t* q, const float* s_a, int64_t n, float* y,
                           int64_t ldy, int64_t r0, int64_t r1, uint8_t* scratch) {
  int64_t nb = (int64_t{192} << 10) / w.k / kTileTokens * kTileTokens;
  if (nb < kTileTokens) nb = kTileTokens;
  for (int64_t i = 0; i < n; i += nb) {
    const int64_t cnt = n - i < nb ? n - i : nb;
    gemm_i2s_tiles_avx2(w, q + i * w.k, s_a + i, cnt, y + i * ldy, ldy, r0, r1, scratch);
  }
}

void gemm_i2s_tiles_avx2(const TernaryView& w, const int8_t* q, const float* s_a, int64_t n, float* y,
                         int64_t ldy, int64_t r0, int64_t r1, uint8_t* scratch) {
  const int64_t k = w.k;
  uint8_t* codes = scratch;  // kTileRows * k bytes
  int32_t* sumq = reinterpret_cast<int32_t*>(scratch + kTileRows * k);
  int32_t* s32 = reinterpret_cast<int32_t*>(scratch + kTileRows * k + (4 * n + 31) / 32 * 32);  // [4][n][8]
  for (int64_t i = 0; i < n; ++i) sumq[i] = sum_i8_avx2(q + i * k, k);
  const __m256i ones16 = _mm256_set1_epi16(1);
  const int64_t nsteps = k / 32;
  // Equal chunks of at most 64 steps (K = 2560: 2 x 40, not 64 + 16).
  const int64_t nchunks = (nsteps + 63) / 64, chunk = (nsteps + nchunks - 1) / nchunks;
  for (int64_t r = r0; r < r1; r += kTileRows) {
    const int64_t nr = r1 - r < kTileRows ? r1 - r : kTileRows;
    decode_i2s_rows_avx2(w.data, k, r, nr, kTileRows, codes);
    for (int64_t j0 = 0; j0 < nsteps; j0 += chunk) {
      const int64_t j1 = j0 + chunk < nsteps ? j0 + chunk : nsteps;
      const bool first = j0 == 0;
      for (int64_t i = 0; i < n; i += kTileTokens) {
        const int64_t nt = n - i < kTileTokens ? n - i : kTileTokens;
        const int8_t* xp[kTileTokens];
        for (int64_t t = 0; t < kTileTokens; ++t) xp[t] = q + (i + (t < nt ? t : nt - 1)) * k + 32 * j0;
        for (int64_t pr = 0; pr < kTileRows; pr += 2) {
          alignas(32) __m256i a[8];
          tile_2x4(codes + pr * k + 32 * j0, codes + (pr + 1) * k + 32 * j0, xp[0], xp[1], xp[2], xp[3], j1 - j0, a);
          for (int rr = 0; rr < 2; ++rr)
            for (int64_t t = 0; t < nt; ++t) {
              __m256i* p = reinterpret_cast<__m256i*>(s32 + ((pr + rr) * n + i + t) * 8);
              const __m256i v = _mm256_madd_epi16(a[rr * 4 + t], ones16);
              _mm256_store_si256(p, first ? v : _mm256_add_epi32(_mm256_load_si256(p), v));
            }
        }
      }
    }
    for (int64_t rr = 0; rr < nr; ++rr) {
      const __m256i* sv = reinterpret_cast<const __m256i*>(s32 + rr * n * 8);
      int64_t t = 0;
      for (; t + 4 <= n; t += 4) {  // 4 horizontal sums at once
        alignas(16) int32_t S[4];
        _mm_store_si128(reinterpret_cast<__m128i*>(S), hsum4_epi32_avx2(sv[t], sv[t + 1], sv[t + 2], sv[t + 3]));
        for (int u = 0; u < 4; ++u)
          y[(t + u) * ldy + r + rr] = static_cast<float>(S[u] - sumq[t + u]) / s_a[t + u] * w.scale;
      }
      for (; t < n; ++t)
        y[t * ldy + r + rr] = static_cast<float>(hsum_epi32_avx2(sv[t]) - sumq[t]) / s_a[t] * w.scale;
    }
  }
}

}  // namespace

size_t gemm_i2s_i8_avx2_scratch(const TernaryView& w, int64_t n) {
  return static_cast<size_t>(kTileRows * w.k + (4 * n + 31) / 32 * 32 + kTileRows * n * 32 + 64);
}

void gemm_i2s_i8_avx2(const TernaryView& w, const int8_t* q, const float* s_a, int64_t n, float* y,
                      int64_t ldy, int64_t r0, int64_t r1, const uint8_t*, uint8_t* scratch) {
  if (w.k % 128 != 0 || (n > 1 && !scratch)) {
    gemm_i2s_i8_ref(w, q, s_a, n, y, ldy, r0, r1);
    return;
  }
  if (n == 1) {
    gemv_i2s_avx2(w, q, s_a[0], y, r0, r1);
    return;
  }
  gemm_i2s_avx2_blocked(w, q, s_a, n, y, ldy, r0, r1, scratch);
}

}  // namespace bitnet::cpu
