// The shared pieces of the SIMD attention kernels (x86/attention_f32_avx2.cpp,
// arm/attention_f32_neon.cpp). The sub-group loop: the g query heads of a GQA group go in sub-groups of up to 4 (the 2B4T
// group; more would spill the kernels' accumulators), each run by a kernel templated on its size.
// Static inline on purpose (included by ISA-flagged files; see kernels.md).
#pragma once

#include <cstdint>
#include <type_traits>
#include <utility>

#include "backends/cpu/kernels.h"

namespace bitnet::cpu {

// Calls fn(std::integral_constant<int, G>{}, h0) for heads [h0, h0 + G), G <= 4, covering [0, g).
template <class Fn>
static inline void for_head_subgroups(int g, Fn&& fn) {
  for (int h0 = 0; h0 < g; h0 += 4) {
    switch (g - h0) {
      case 1: fn(std::integral_constant<int, 1>{}, h0); break;
      case 2: fn(std::integral_constant<int, 2>{}, h0); break;
      case 3: fn(std::integral_constant<int, 3>{}, h0); break;
      default: fn(std::integral_constant<int, 4>{}, h0); break;
    }
  }
}

// The end of one head's softmax in the grouped kernels: with `ml` (a partial result over a slice
// of the rows) records (max, sum) and leaves the output unnormalized (factor 1); else 1 / sum.
static inline float finish_softmax_head(float mx, float sum, float* ml) {
  if (!ml) return 1.0f / sum;
  ml[0] = mx;
  ml[1] = sum;
  return 1.0f;
}

// One side (k or v) of the cache as the kernels read it: row j's values of this kv head start at
// base + j * row_bytes; f32, f16 or Q8_0 (int8 values, the f16 scale of values [32b, 32b + 32) at
// row + scale_off + 2b). The per-ISA loaders turn (row, column) into 4 or 8 f32 values.
struct KvSrc {
  const uint8_t* base;
  int64_t row_bytes;
  KvFormat kv;
  int64_t scale_off;
};
// Bytes per cache element (Q8_0: per int8 value; the scales sit after the row's values).
static inline int64_t kv_elem_bytes(KvFormat kv) { return kv == KvFormat::F32 ? 4 : (kv == KvFormat::F16 ? 2 : 1); }
static inline KvSrc kv_src(const AttnArgs& a, const void* side) {
  return {static_cast<const uint8_t*>(side), a.stride * kv_elem_bytes(a.kv), a.kv, a.scale_off};
}

// Prompt kernels (AttnArgs with nq tokens x g heads): query row i is token i / g, head i % g.
static inline const float* query_row(const AttnArgs& a, int64_t i) {
  return a.q + (i / a.g) * a.ldq + (i % a.g) * a.d;
}

// Calls fn(std::integral_constant<int, NR>{}, i0) over rows [0, nr) in register tiles of kTile rows,
// then one tile of the remaining nr % kTile rows.
template <class Fn, int... R>
static inline void row_tile_rest(int rest, int64_t i0, Fn& fn, std::integer_sequence<int, R...>) {
  ((rest == R + 1 ? (fn(std::integral_constant<int, R + 1>{}, i0), 0) : 0), ...);
}
template <int kTile, class Fn>
static inline void for_row_tiles(int64_t nr, Fn&& fn) {
  int64_t i0 = 0;
  for (; i0 + kTile <= nr; i0 += kTile) fn(std::integral_constant<int, kTile>{}, i0);
  if (nr > i0) row_tile_rest(static_cast<int>(nr - i0), i0, fn, std::make_integer_sequence<int, kTile - 1>{});
}

}  // namespace bitnet::cpu
