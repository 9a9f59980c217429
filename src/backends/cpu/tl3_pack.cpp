// TL3 repacking (load time) and the portable TL3 GEMM / table builder. Layout: tl3.h.
#include <array>
#include <cstring>
#include <vector>

#include "backends/cpu/tl3.h"
#include "core/check.h"
#include "core/fp16.h"
#include "formats/ternary_codecs.h"

namespace bitnet::cpu::tl3 {
namespace {

// 5 trits of every TQ1_0 byte (spec §4.3: trit n = ((B * 3^n) mod 256) * 3 >> 8), decoded once.
struct Tq1Table {
  uint8_t t[256][5];
  Tq1Table() {
    static const uint8_t kPow3[5] = {1, 3, 9, 27, 81};
    for (int b = 0; b < 256; ++b)
      for (int n = 0; n < 5; ++n) t[b][n] = static_cast<uint8_t>((static_cast<uint8_t>(b * kPow3[n]) * 3) >> 8);
  }
};
const Tq1Table& tq1_table() {
  static const Tq1Table t;
  return t;
}

// Codes (0, 1, 2) of row r, block b and the block's scale (1 for I2_S).
void block_codes(const TernaryView& w, int64_t r, int64_t b, uint8_t* codes, float* d) {
  const int64_t nb = w.k / kBlock;
  switch (w.type) {
    case GgmlType::I2_S: {
      const int64_t e0 = r * w.k + b * kBlock;
      if ((e0 & 127) == 0) {  // whole 128-blocks: byte p of a block holds 4 codes
        for (int h = 0; h < 2; ++h) {
          const uint8_t* blk = w.data + ((e0 >> 7) + h) * 32;
          for (int p = 0; p < 32; ++p)
            for (int g = 0; g < 4; ++g) codes[128 * h + 32 * g + p] = (blk[p] >> (6 - 2 * g)) & 3;
        }
      } else {
        for (int j = 0; j < kBlock; ++j) codes[j] = static_cast<uint8_t>(i2s_code(w.data, e0 + j));
      }
      *d = 1.0f;
      break;
    }
    case GgmlType::TQ2_0: {
      const uint8_t* blk = w.data + (r * nb + b) * 66;
      for (int h = 0; h < 2; ++h)
        for (int m = 0; m < 32; ++m)
          for (int n = 0; n < 4; ++n) codes[128 * h + 32 * n + m] = (blk[32 * h + m] >> (2 * n)) & 3;
      uint16_t hd;
      std::memcpy(&hd, blk + 64, 2);
      *d = f16_to_f32(hd);
      break;
    }
    case GgmlType::TQ1_0: {
      const uint8_t* blk = w.data + (r * nb + b) * 54;
      const Tq1Table& tt = tq1_table();
      for (int m = 0; m < 32; ++m)
        for (int n = 0; n < 5; ++n) codes[m + 32 * n] = tt.t[blk[m]][n];
      for (int m = 0; m < 16; ++m)
        for (int n = 0; n < 5; ++n) codes[160 + m + 16 * n] = tt.t[blk[32 + m]][n];
      for (int j = 0; j < 4; ++j)
        for (int n = 0; n < 4; ++n) codes[240 + j + 4 * n] = tt.t[blk[48 + j]][n];
      uint16_t hd;
      std::memcpy(&hd, blk + 52, 2);
      *d = f16_to_f32(hd);
      break;
    }
    default: BITNET_CHECK(false);
  }
}

}  // namespace

void canonical_trits(int m, int* t0, int* t1, int* t2) {
  // Balanced ternary of m in 0..13 (most significant first).
  int d[3];
  int v = m;
  for (int i = 2; i >= 0; --i) {
    int r = ((v % 3) + 3) % 3;
    if (r == 2) r = -1;
    d[i] = r;
    v = (v - r) / 3;
  }
  *t0 = d[0];
  *t1 = d[1];
  *t2 = d[2];
}

bool packable(const TernaryView& w) {
  if (w.k <= 0 || w.m <= 0 || w.k % kBlock != 0) return false;
  return w.type == GgmlType::I2_S || w.type == GgmlType::TQ2_0 || w.type == GgmlType::TQ1_0;
}

namespace {
// Returns (uniform, d): whether every block holding a nonzero weight has the same scale.
bool uniform_scale(const TernaryView& w, float* d_out) {
  if (w.type == GgmlType::I2_S) {
    *d_out = 1.0f;
    return true;
  }
  const int64_t nb = w.k / kBlock;
  const int64_t bs = w.type == GgmlType::TQ2_0 ? 66 : 54;
  const int64_t d_off = w.type == GgmlType::TQ2_0 ? 64 : 52;
  bool have = false;
  uint16_t ref = 0;
  uint8_t codes[kBlock];
  for (int64_t r = 0; r < w.m; ++r) {
    for (int64_t b = 0; b < nb; ++b) {
      const uint8_t* blk = w.data + (r * nb + b) * bs;
      uint16_t h;
      std::memcpy(&h, blk + d_off, 2);
      if (have && h == ref) continue;
      float d;
      block_codes(w, r, b, codes, &d);
      bool nonzero = false;
      for (int j = 0; j < kBlock && !nonzero; ++j) nonzero = codes[j] != 1;
      if (!nonzero) continue;
      if (!have) {
        have = true;
        ref = h;
        *d_out = d;
      } else {
        return false;
      }
    }
  }
  if (!have) *d_out = 1.0f;
  return true;
}

// Tiles are 32-byte multiples so every 32-byte vector load of the chunks stays aligned.
int64_t tile_bytes_for(int64_t nb, int64_t chunks, bool per_block) {
  const int64_t b = chunks * kChunkBytes + (per_block ? nb * kRows * 5 : kRows * 2);
  return (b + 31) / 32 * 32;
}
}  // namespace

// Whether any 2-bit field holds the invalid code 3 (I2_S, TQ2_0). The reference reads it as +2,
// which TL3 cannot represent, so such a matrix stays on the general path.
bool has_code3(const TernaryView& w) {
  if (w.type == GgmlType::TQ1_0) return false;  // base-3 bytes always decode to 0..2
  const int64_t n = w.k * w.m;
  auto bad = [](uint8_t x) { return ((x & (x >> 1)) & 0x55) != 0; };
  if (w.type == GgmlType::I2_S) {
    for (int64_t i = 0; i < n / 4; ++i)
      if (bad(w.data[i])) return true;
    return false;
  }
  for (int64_t b = 0; b < n / kBlock; ++b)
    for (int j = 0; j < 64; ++j)
      if (bad(w.data[b * 66 + j])) return true;
  return false;
}

size_t pack_size(const TernaryView& w) {
  if (!packable(w) || has_code3(w)) return 0;
  float d;
  const bool per_block = !uniform_scale(w, &d);
  const int64_t nb = w.k / kBlock;
  const int64_t chunks = (nb * kStepsPerBlock + kStepsPerChunk - 1) / kStepsPerChunk;
  const int64_t tiles = (w.m + kRows - 1) / kRows;
  return static_cast<size_t>(64 + tiles * tile_bytes_for(nb, chunks, per_block));
}

void pack(const TernaryView& w, uint8_t* out, int part, int nparts) {
  BITNET_CHECK(packable(w));
  float d_uniform = 1.0f;
  const bool per_block = !uniform_scale(w, &d_uniform);
  Header h{};
  h.magic = kMagic;
  h.flags = (per_block ? uint32_t{kPerBlockScale} : 0u) | (w.type == GgmlType::I2_S ? uint32_t{kIntSum} : 0u);
  h.k = w.k;
  h.m = w.m;
  h.nb = w.k / kBlock;
  h.chunks = (h.nb * kStepsPerBlock + kStepsPerChunk - 1) / kStepsPerChunk;
  h.tiles = (w.m + kRows - 1) / kRows;
  h.tile_bytes = tile_bytes_for(h.nb, h.chunks, per_block);
  h.d = d_uniform;
  if (part == 0) std::memcpy(out, &h, sizeof(h));
  // (index | sign << 4) of a group from its codes c0*9 + c1*3 + c2.
  uint8_t enc[40] = {};  // codes are 0..2 here (pack_size rejects 3); sized for 3 to stay in bounds
  for (int c = 0; c < 27; ++c) {
    const int v = 9 * (c / 9 - 1) + 3 * (c / 3 % 3 - 1) + (c % 3 - 1);
    enc[c] = static_cast<uint8_t>((v < 0 ? -v : v) | (v < 0 ? 16 : 0));
  }
  const int64_t t0 = h.tiles * part / nparts, t1 = h.tiles * (part + 1) / nparts;
  // Where step s lives inside a tile: its nibble byte offset (+16 for lane 1), nibble shift, sign
  // byte offset and sign bit. Precomputed once: the per-group work is then a lookup and two ORs.
  const int64_t nsteps = h.nb * kStepsPerBlock;
  std::vector<uint32_t> nib_off(static_cast<size_t>(nsteps)), sgn_off(static_cast<size_t>(nsteps));
  std::vector<uint8_t> shift(static_cast<size_t>(nsteps)), bit(static_cast<size_t>(nsteps));
  for (int64_t s = 0; s < nsteps; ++s) {
    const int64_t c = s / kStepsPerChunk, j = s % kStepsPerChunk;
    nib_off[static_cast<size_t>(s)] = static_cast<uint32_t>(c * kChunkBytes + (j / 2) * 32);
    sgn_off[static_cast<size_t>(s)] = static_cast<uint32_t>(c * kChunkBytes + 128);
    shift[static_cast<size_t>(s)] = static_cast<uint8_t>((s & 1) * 4);
    bit[static_cast<size_t>(s)] = static_cast<uint8_t>(0x80 >> j);
  }
  uint8_t codes[kBlock + 2];
  codes[kBlock] = codes[kBlock + 1] = 1;  // group 85's padding weights are 0 (code 1)
  for (int64_t t = t0; t < t1; ++t) {
    uint8_t* tp = out + 64 + t * h.tile_bytes;
    std::memset(tp, 0, static_cast<size_t>(h.tile_bytes));
    uint8_t* corr = tp + h.chunks * kChunkBytes;
    int16_t* row_corr = reinterpret_cast<int16_t*>(corr);
    float* scales = reinterpret_cast<float*>(corr + h.nb * kRows);
    for (int64_t rr = 0; rr < kRows; ++rr) {
      const int64_t r = t * kRows + rr;
      if (r >= w.m) break;  // padding rows stay zero (index 0, sign 0: weight 0)
      for (int64_t b = 0; b < h.nb; ++b) {
        float d;
        block_codes(w, r, b, codes, &d);
        if (per_block) scales[b * kRows + rr] = d;
        int neg = 0;
        for (int64_t j = 0; j < kStepsPerBlock; ++j) {
          const size_t s = static_cast<size_t>(b * kStepsPerBlock + j);
          const uint8_t* c = codes + 6 * j;
          const uint8_t e0 = enc[c[0] * 9 + c[1] * 3 + c[2]];
          const uint8_t e1 = enc[c[3] * 9 + c[4] * 3 + c[5]];  // j = 42: (w255, pad, pad)
          uint8_t* nb_ = tp + nib_off[s] + rr;
          nb_[0] = static_cast<uint8_t>(nb_[0] | ((e0 & 15) << shift[s]));
          nb_[16] = static_cast<uint8_t>(nb_[16] | ((e1 & 15) << shift[s]));
          uint8_t* sg = tp + sgn_off[s] + rr;
          sg[0] = static_cast<uint8_t>(sg[0] | ((e0 >> 4) ? bit[s] : 0));
          sg[16] = static_cast<uint8_t>(sg[16] | ((e1 >> 4) ? bit[s] : 0));
          neg += (e0 >> 4) + (e1 >> 4);
        }
        if (per_block) corr[b * kRows + rr] = static_cast<uint8_t>(neg);
        else row_corr[rr] = static_cast<int16_t>(row_corr[rr] + neg);
      }
    }
  }
}

size_t prep_size(const TernaryView& w, int64_t n) {
  if (!w.packed) return 0;
  return static_cast<size_t>(n * table_bytes(header(w.packed)));
}

int64_t prep_units(const TernaryView& w, int64_t n) { return w.packed ? n * header(w.packed).nb : 0; }

void build_block_generic(const Header& h, const int8_t* q, int64_t b, uint8_t* table) {
  int tr[14][3];
  for (int m = 0; m < 14; ++m) canonical_trits(m, &tr[m][0], &tr[m][1], &tr[m][2]);
  for (int64_t g = 0; g < kGroupsPerBlock; ++g) {
    const int8_t* a = q + b * kBlock + 3 * g;
    const int a0 = a[0], a1 = g < 85 ? a[1] : 0, a2 = g < 85 ? a[2] : 0;
    uint8_t* tb = table + (b * kStepsPerBlock + g / 2) * kTableBytesPerStep + (g & 1) * 16;
    for (int m = 0; m < 16; ++m) {
      const int v = m < 14 ? tr[m][0] * a0 + tr[m][1] * a1 + tr[m][2] * a2 : 0;
      tb[m] = static_cast<uint8_t>(v & 0xff);
      tb[32 + m] = static_cast<uint8_t>((v >> 8) & 0xff);
    }
  }
  if (b == h.nb - 1) {
    const int64_t s0 = h.nb * kStepsPerBlock, s1 = h.chunks * kStepsPerChunk;
    std::memset(table + s0 * kTableBytesPerStep, 0, static_cast<size_t>((s1 - s0) * kTableBytesPerStep));
  }
}

void prep_generic(const TernaryView& w, const int8_t* q, int64_t n, int64_t u0, int64_t u1, uint8_t* out) {
  const Header& h = header(w.packed);
  for (int64_t u = u0; u < u1; ++u) {
    const int64_t i = u / h.nb, b = u % h.nb;
    build_block_generic(h, q + i * w.k, b, out + i * table_bytes(h));
  }
}

size_t prep_decoded_size(const TernaryView& w, int64_t n) {
  if (!w.packed) return 0;
  return static_cast<size_t>(n * decoded_row_bytes(header(w.packed)) + 4 * n);
}

size_t prep_size_decoding(const TernaryView& w, int64_t n) {
  return n >= kDecodeMinTokens ? prep_decoded_size(w, n) : prep_size(w, n);
}

int64_t prep_units_decoding(const TernaryView& w, int64_t n) {
  if (n < kDecodeMinTokens) return prep_units(w, n);
  return w.packed ? n : 0;
}

int32_t decoded_order_token(const Header& h, int64_t k, const int8_t* q, int8_t* row) {
  static const auto perm = [] {
    std::array<int, kUnitCodes> p{};
    for (int o = 0; o < kUnitCodes; ++o) p[o] = decoded_perm(o);
    return p;
  }();
  const int64_t kp = decoded_row_bytes(h), units = decoded_units(h);
  // The padded row in place first (blocks of 256 activations + 2 zeros, zeros to the end) ...
  for (int64_t b = 0; b < h.nb; ++b) {
    std::memcpy(row + b * kPaddedBlock, q + b * kBlock, kBlock);
    row[b * kPaddedBlock + kBlock] = row[b * kPaddedBlock + kBlock + 1] = 0;
  }
  std::memset(row + h.nb * kPaddedBlock, 0, static_cast<size_t>(kp - h.nb * kPaddedBlock));
  // ... then each unit permuted into the decoder's order.
  for (int64_t u = 0; u < units; ++u) {
    int8_t tmp[kUnitCodes];
    std::memcpy(tmp, row + u * kUnitCodes, kUnitCodes);
    for (int o = 0; o < kUnitCodes; ++o) row[u * kUnitCodes + o] = tmp[perm[o]];
  }
  int32_t sum = 0;
  for (int64_t j = 0; j < k; ++j) sum += q[j];
  return sum;
}

void prep_decoded(const TernaryView& w, const int8_t* q, int64_t n, int64_t u0, int64_t u1, uint8_t* out) {
  const Header& h = header(w.packed);
  const int64_t kp = decoded_row_bytes(h);
  int32_t* sums = reinterpret_cast<int32_t*>(out + n * kp);
  for (int64_t i = u0; i < u1; ++i)
    sums[i] = decoded_order_token(h, w.k, q + i * w.k, reinterpret_cast<int8_t*>(out + i * kp));
}

size_t scratch_size_generic(const TernaryView& w, int64_t) {
  if (!packable(w)) return 0;
  const int64_t nb = w.k / kBlock;
  const int64_t chunks = (nb * kStepsPerBlock + kStepsPerChunk - 1) / kStepsPerChunk;
  return static_cast<size_t>(chunks * kStepsPerChunk * kTableBytesPerStep);
}

void gemm_unpacked_ref(const TernaryView& w, const int8_t* q, const float* s_a, int64_t n, float* y,
                       int64_t ldy, int64_t r0, int64_t r1) {
  if (w.type == GgmlType::I2_S) gemm_i2s_i8_ref(w, q, s_a, n, y, ldy, r0, r1);
  else if (w.type == GgmlType::TQ2_0) gemm_tq2_0_i8_ref(w, q, s_a, n, y, ldy, r0, r1);
  else gemm_tq1_0_i8_ref(w, q, s_a, n, y, ldy, r0, r1);
}

void gemm_tl3_i8_generic(const TernaryView& w, const int8_t* q, const float* s_a, int64_t n, float* y,
                         int64_t ldy, int64_t r0, int64_t r1, const uint8_t* prep, uint8_t* scratch) {
  if (!w.packed || (!prep && !scratch)) {
    gemm_unpacked_ref(w, q, s_a, n, y, ldy, r0, r1);
    return;
  }
  const Header& h = header(w.packed);
  const bool int_sum = h.flags & kIntSum;
  const bool per_block = h.flags & kPerBlockScale;
  for (int64_t i = 0; i < n; ++i) {
    const uint8_t* tables;
    if (prep) {
      tables = prep + i * table_bytes(h);
    } else {
      for (int64_t b = 0; b < h.nb; ++b) build_block_generic(h, q + i * w.k, b, scratch);
      tables = scratch;
    }
    for (int64_t t = r0 / kRows; t * kRows < r1; ++t) {
      const uint8_t* tp = tile(w.packed, t);
      const uint8_t* corr = tile_corr(h, tp);
      const int16_t* row_corr = tile_row_corr(h, tp);
      const float* scales = tile_scales(h, tp);
      int32_t isum[kRows] = {};
      float fsum[kRows] = {};
      int32_t acc[kRows] = {};
      for (int64_t s = 0; s < steps(h); ++s) {
        const uint8_t* chunk = tp + (s / kStepsPerChunk) * kChunkBytes;
        const uint8_t* nib = chunk + ((s % kStepsPerChunk) / 2) * 32;
        const uint8_t* tb = tables + s * kTableBytesPerStep;
        for (int lane = 0; lane < 32; ++lane) {
          const int idx = (nib[lane] >> ((s & 1) * 4)) & 15;
          const bool neg = (chunk[128 + lane] << (s % kStepsPerChunk)) & 0x80;
          const int base = (lane & 16);
          int16_t v = static_cast<int16_t>(tb[base + idx] | (tb[32 + base + idx] << 8));
          if (neg) v = static_cast<int16_t>(~v);
          acc[lane & 15] += v;
        }
        if ((s + 1) % kStepsPerBlock == 0) {  // block end: exact integer sums S_b
          const int64_t b = s / kStepsPerBlock;
          for (int rr = 0; rr < kRows; ++rr) {
            if (per_block) {
              const int32_t sb = acc[rr] + corr[b * kRows + rr];
              const float prod = scales[b * kRows + rr] * static_cast<float>(sb);
              fsum[rr] = fsum[rr] + prod;
            } else {
              isum[rr] += acc[rr];
            }
            acc[rr] = 0;
          }
        }
      }
      for (int rr = 0; rr < kRows; ++rr) {
        const int64_t r = t * kRows + rr;
        if (r < r0 || r >= r1) continue;
        const int32_t S = isum[rr] + row_corr[rr];
        float v;
        if (per_block) v = fsum[rr];
        else if (int_sum) v = static_cast<float>(S);
        else v = h.d * static_cast<float>(S);
        y[i * ldy + r] = v / s_a[i] * w.scale;
      }
    }
  }
}

}  // namespace bitnet::cpu::tl3
