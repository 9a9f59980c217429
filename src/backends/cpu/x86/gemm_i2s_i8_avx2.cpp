// I2_S x int8 GEMV / GEMM with AVX2, reading the on-disk layout in place (spec §4.1.1, §7.1).
// A 32-byte I2_S block holds 128 codes c = w + 1 in {0,1,2}: field g (bits 7-2g..6-2g) of byte p is
// element 32g + p. vpmaddubsw multiplies the unsigned codes with signed activations; the "+1" is
// removed with the activation sum: S = sum(c*q) - sum(q). The epilogue float(S) / s_a * scale is
// the reference's, so outputs are bit-identical.
//
// GEMV (n == 1): one row at a time, streaming the row once; the four products of a block are
// summed in int16 and widened with one vpmaddwd per two blocks (sharing the activation registers
// between two rows measured ~8% slower: GEMV is ALU-, not load-limited). GEMM (n > 1): an 8-row
// tile is decoded into byte codes (scratch) and reused for every token of an L2-sized super-block
// by the codes GEMM of gemm_codes_avx2.h (2 rows x 4 tokens register tile).
// K % 128 != 0 (blocks straddling rows) goes to the reference kernel.
#include "backends/cpu/kernels.h"
#include "backends/cpu/x86/gemm_codes_avx2.h"

namespace bitnet::cpu {
namespace {

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

// Tokens are processed in super-blocks whose activations (nb x K bytes) stay in L2 (~192 KiB of the
// 512 KiB): every 8-row tile streams the whole block, so 128 tokens x K = 6912 (884 KiB) would
// otherwise come from L3 for every tile. Codes are re-decoded per super-block (cheap: 3 shifts and
// 4 ands per 128 codes).
void gemm_i2s_avx2_blocked(const TernaryView& w, const int8_t* q, const float* s_a, int64_t n, float* y,
                           int64_t ldy, int64_t r0, int64_t r1, uint8_t* scratch) {
  const int64_t k = w.k;
  uint8_t* codes = scratch;  // kCodesTileRows * k bytes
  int32_t* sumq = reinterpret_cast<int32_t*>(scratch + kCodesTileRows * k);
  int32_t* s32 = reinterpret_cast<int32_t*>(scratch + kCodesTileRows * k + (4 * n + 31) / 32 * 32);
  for (int64_t i = 0; i < n; ++i) sumq[i] = sum_i8_avx2(q + i * k, k);
  const CodesEpilogue epi{1.0f, false, w.scale};
  const int64_t nb = codes_superblock_tokens(k);
  for (int64_t i = 0; i < n; i += nb) {
    const int64_t cnt = n - i < nb ? n - i : nb;
    for (int64_t r = r0; r < r1; r += kCodesTileRows) {
      const int64_t nr = r1 - r < kCodesTileRows ? r1 - r : kCodesTileRows;
      decode_i2s_rows_avx2(w.data, k, r, nr, kCodesTileRows, codes);
      gemm_codes_rows_avx2(codes, k, nr, q + i * k, k, sumq + i, s_a + i, cnt, epi, y + i * ldy, ldy, r, s32);
    }
  }
}

}  // namespace

size_t gemm_i2s_i8_avx2_scratch(const TernaryView& w, int64_t n) {
  return static_cast<size_t>(kCodesTileRows * w.k + (4 * n + 31) / 32 * 32) + codes_rows_scratch_avx2(n) + 64;
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
