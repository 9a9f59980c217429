// TL3 ("ternary lookup, 3 weights per index"): the CPU backend's private repacked layout for
// ternary matrices, read by table-lookup (pshufb / tbl) GEMV/GEMM kernels. 1.68 bits per weight:
// smaller than TQ1_0 on disk (1.6875) and than I2_S (2.0). docs/kernels.md has the full story.
//
// Weights are taken per row in 256-weight blocks (the TQ block; I2_S rows are cut the same way).
// A block is 86 groups of 3 weights: groups 0..84 = weights (3g, 3g+1, 3g+2), group 85 =
// (w255, 0, 0). A group (t0, t1, t2) in {-1,0,1}^3 has v = 9*t0 + 3*t1 + t2 in [-13, 13]; it is
// stored as a 4-bit magnitude index |v| (0..13) plus a sign bit (v < 0). For an activation triple
// (a0, a1, a2) the kernel looks up T[|v|] = sum of the canonical combination (the balanced-ternary
// digits of |v|) from a 16-entry table and negates it when the sign is set. Negation is done on the
// two byte planes of the int16 table entry with XOR 0xFF, which yields -T - 1; the "+1" per negative
// group is precomputed per (row, block) in `corr`, so integer sums stay exact.
//
// Rows are interleaved in tiles of 16 (one byte lane per row, as pshufb wants). A "step" covers two
// groups of a block for the 16 rows: 32 indices, lane 0 (bytes 0..15) = group 2j of rows 0..15,
// lane 1 (bytes 16..31) = group 2j+1. A block is 43 steps; steps are numbered through the row
// (s = 43*b + j) and stored in chunks of 8 steps:
//   nib[4][32]  vector p holds step 8c+2p in its low nibbles and step 8c+2p+1 in its high nibbles
//   sgn[32]     byte i, bit (7 - s%8) = sign of index i at step s
// After the chunks of a tile, when all blocks of the matrix share one scale d (BitNet models, I2_S):
// corr[16] (int16, negative groups of each row), sums run over the whole row in int32 and
// y = d * float(S) / s_a * scale (I2_S: float(S) / s_a * scale, bit-identical to the reference).
// Otherwise corr[nb][16] (uint8 per block) and scale[nb][16] (f32 per row and block) follow, and
// y = (sum over blocks in order of d_b * float(S_b)) / s_a * scale, like the reference.
#pragma once
// (Helpers below are `static inline`: this header is included by per-ISA translation units.)

#include <cstddef>
#include <cstdint>

#include "backends/cpu/kernels.h"

namespace bitnet::cpu::tl3 {

constexpr int64_t kRows = 16;
constexpr int64_t kBlock = 256;
constexpr int64_t kGroupsPerBlock = 86;
constexpr int64_t kStepsPerBlock = 43;
constexpr int64_t kStepsPerChunk = 8;
constexpr int64_t kChunkBytes = 4 * 32 + 32;
constexpr int64_t kTableBytesPerStep = 64;  // per token: lo plane [32] then hi plane [32]

enum Flags : uint32_t {
  kPerBlockScale = 1,  // corr[nb][16] u8 + scale[nb][16] f32; else corr[16] int16 and Header::d
  kIntSum = 2,         // I2_S: y = float(S) / s_a * scale (no block scale at all)
};

struct Header {  // the first 64 bytes of a packed matrix
  uint32_t magic;
  uint32_t flags;
  int64_t k, m, nb, chunks, tiles, tile_bytes;
  float d;  // the common block scale (TQ formats) or 1
  uint8_t pad[64 - 8 - 6 * 8 - 4];
};
static_assert(sizeof(Header) == 64);
constexpr uint32_t kMagic = 0x334c5442;  // "BTL3"

static inline const Header& header(const uint8_t* packed) { return *reinterpret_cast<const Header*>(packed); }
static inline const uint8_t* tile(const uint8_t* packed, int64_t t) {
  return packed + 64 + t * header(packed).tile_bytes;
}
static inline int64_t steps(const Header& h) { return h.nb * kStepsPerBlock; }
static inline const uint8_t* tile_corr(const Header& h, const uint8_t* tile) { return tile + h.chunks * kChunkBytes; }
static inline const int16_t* tile_row_corr(const Header& h, const uint8_t* tile) {
  return reinterpret_cast<const int16_t*>(tile + h.chunks * kChunkBytes);
}
static inline const float* tile_scales(const Header& h, const uint8_t* tile) {
  return reinterpret_cast<const float*>(tile + h.chunks * kChunkBytes + h.nb * kRows);
}

// Whether a matrix can be packed (K a multiple of 256, a ternary type, I2_S with whole rows).
bool packable(const TernaryView& w);
size_t pack_size(const TernaryView& w);
void pack(const TernaryView& w, uint8_t* out, int part = 0, int nparts = 1);

// Canonical trits (t0, t1, t2) of magnitude index m (0..13): the balanced-ternary digits of m.
void canonical_trits(int m, int* t0, int* t1, int* t2);

// Per-token lookup tables: step s of token i at table + i * table_bytes(h) + s * 64: bytes 0..31
// are the low bytes, 32..63 the high bytes of the 16-entry int16 tables of the two groups of step
// s (lane 0 = group 2j, lane 1 = group 2j+1; entries 14, 15 are 0). Steps past the last block up
// to a whole chunk are zero. The shared preparation (TernaryKernels::prep) builds them for all
// tokens, one work unit = one (token, block).
static inline int64_t table_bytes(const Header& h) { return h.chunks * kStepsPerChunk * kTableBytesPerStep; }
size_t prep_size(const TernaryView& w, int64_t n);
int64_t prep_units(const TernaryView& w, int64_t n);
// Portable table builder for one (token, block); zero-fills the padding steps after the last block.
void build_block_generic(const Header& h, const int8_t* q_token, int64_t b, uint8_t* table_token);
void prep_generic(const TernaryView& w, const int8_t* q, int64_t n, int64_t u0, int64_t u1, uint8_t* out);

// Decoded prompt path (x86, and ARM with dotprod/i8mm: arm/tl3_decode_neon.h, which decodes w
// itself for sdot/smmla): with n >= kDecodeMinTokens tokens a GEMM decodes each 16-row tile once
// into byte codes c = w + 1 in {0,1,2} and runs the vpmaddubsw / vpdpbusd codes GEMM of the I2_S
// kernels (many tokens reuse each decoded tile; per token and step a lookup costs 8 vector
// ops for 96 multiply-adds, a codes GEMM 1 op per 16 (AVX2) or 64 (VNNI)). The codes of a row
// come in "units" of two chunks (16 steps, 96 positions); within a unit, code o is the trit at
// padded position 96u + decoded_perm(o), where the padded row is the 258-position blocks (the 256
// weights, then group 85's two padding trits) one after the other. The shared preparation then
// holds, per token, the activations in that same order (0 at padding positions; decoded_row_bytes
// per token, a multiple of 64), followed by n int32 activation sums. Matrices with per-block
// scales keep the lookup path (their own tables in scratch).
constexpr int64_t kDecodeMinTokens = 16;
constexpr int64_t kUnitSteps = 2 * kStepsPerChunk;
constexpr int64_t kUnitCodes = 6 * kUnitSteps;  // 96
constexpr int64_t kPaddedBlock = 3 * kGroupsPerBlock;  // 258
static inline int64_t decoded_units(const Header& h) { return (h.chunks + 1) / 2; }
static inline int64_t decoded_row_bytes(const Header& h) { return (decoded_units(h) * kUnitCodes + 63) / 64 * 64; }
// The decoder's order: code o = 32 * u3 + 16 * lane + i of a unit is the 16x16 byte transpose of
// trit vectors v = 16 * u3 + i = 24 * chunk + 3 * step + plane (tl3_decode_avx2.h), i.e. plane
// `plane` of group 2 * step + lane of the chunk: padded position 48 * chunk + 6 * step + 3 * lane + plane.
static inline int decoded_perm(int o) {
  const int u3 = o / 32, lane = (o % 32) / 16, v = 16 * u3 + o % 16;
  return 48 * (v / 24) + 6 * ((v % 24) / 3) + 3 * lane + v % 3;
}
// A decoded-mode preparation for n tokens: token i's activations at acts + i * kp, its sum at sumq[i].
struct DecodedPrep {
  int64_t kp;
  const int8_t* acts;
  const int32_t* sumq;
};
static inline DecodedPrep decoded_prep(const Header& h, const uint8_t* prep, int64_t n) {
  const int64_t kp = decoded_row_bytes(h);
  return {kp, reinterpret_cast<const int8_t*>(prep), reinterpret_cast<const int32_t*>(prep + n * kp)};
}
size_t prep_decoded_size(const TernaryView& w, int64_t n);
// One token's k activations q in the decoded order: decoded_row_bytes(h) bytes at `row`; returns
// their sum.
int32_t decoded_order_token(const Header& h, int64_t k, const int8_t* q, int8_t* row);
// Fills tokens [u0, u1) (one unit of work per token).
void prep_decoded(const TernaryView& w, const int8_t* q, int64_t n, int64_t u0, int64_t u1, uint8_t* out);
// prep_size / prep_units of the kernels with the decoded path: decoded-order activations for
// n >= kDecodeMinTokens, lookup tables below. The choice depends on n alone (not on the matrix's
// scale mode): the backend reuses one preparation for the next matrix on the same activations.
size_t prep_size_decoding(const TernaryView& w, int64_t n);
int64_t prep_units_decoding(const TernaryView& w, int64_t n);

// Portable TL3 GEMM (any ISA): the same arithmetic as the SIMD kernels, used by tests to check the
// layout and as the fallback of tables without a SIMD version. Without `prep` it builds the tables
// of one token at a time in scratch (scratch_size_generic bytes).
void gemm_tl3_i8_generic(const TernaryView& w, const int8_t* q, const float* s_a, int64_t n, float* y,
                         int64_t ldy, int64_t r0, int64_t r1, const uint8_t* prep, uint8_t* scratch);
size_t scratch_size_generic(const TernaryView& w, int64_t n);
// The reference kernel of w's source format (the general path for views that were not packed).
void gemm_unpacked_ref(const TernaryView& w, const int8_t* q, const float* s_a, int64_t n, float* y,
                       int64_t ldy, int64_t r0, int64_t r1);

}  // namespace bitnet::cpu::tl3
