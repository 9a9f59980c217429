// AMX (Advanced Matrix Extensions: AMX-TILE + AMX-INT8, Sapphire Rapids and later) for the *_amx.cpp
// kernels. Eight tile registers tmm0..7 of up to 16 rows x 64 bytes; TDPBUSD C += A . B with A a
// 16 x 64 u8 tile (16 rows of 64 k), B a 16 x 64 s8 tile in "VNNI" order (row j holds k = 4j..4j+3
// of each of 16 columns) and C 16 x 16 int32: 16384 multiply-adds per instruction.
//
// Normally <immintrin.h>. In the test-only emulation build (-DBITNET_AVX512_EMULATION=ON, see
// simd_avx512.h) the tile instructions are plain C++ below with the same names and semantics, so
// the op suite checks the AMX kernels' layouts on machines without AMX (not their speed or the real
// encodings: run ops_tests on an AMX machine for that, tools/device/cpu_bench.sh).
#pragma once

#include <cstdint>
#include <cstring>

#include "backends/cpu/x86/simd_avx512.h"

namespace bitnet::cpu {

// The 64-byte LDTILECFG operand (palette 1): every tile 16 rows x 64 bytes.
struct alignas(64) AmxTileConfig {
  uint8_t palette = 1, start_row = 0, reserved[14] = {};
  uint16_t colsb[16] = {};
  uint8_t rows[16] = {};
  AmxTileConfig() {
    for (int t = 0; t < 8; ++t) colsb[t] = 64, rows[t] = 16;
  }
};
static_assert(sizeof(AmxTileConfig) == 64);

}  // namespace bitnet::cpu

#if defined(BITNET_SIMDE_AVX512)
namespace bitnet::cpu::amx_emu {
struct Tile {
  int rows = 0, colsb = 0;
  uint8_t b[16][64] = {};
};
inline thread_local Tile tiles[8];
inline void loadconfig(const void* cfg) {
  const auto* c = static_cast<const AmxTileConfig*>(cfg);
  for (int t = 0; t < 8; ++t) tiles[t] = Tile{c->rows[t], c->colsb[t], {}};
}
inline void loadd(int t, const void* base, long stride) {
  for (int r = 0; r < tiles[t].rows; ++r)
    std::memcpy(tiles[t].b[r], static_cast<const uint8_t*>(base) + r * stride, static_cast<size_t>(tiles[t].colsb));
}
inline void stored(int t, void* base, long stride) {
  for (int r = 0; r < tiles[t].rows; ++r)
    std::memcpy(static_cast<uint8_t*>(base) + r * stride, tiles[t].b[r], static_cast<size_t>(tiles[t].colsb));
}
inline void zero(int t) { std::memset(tiles[t].b, 0, sizeof(tiles[t].b)); }
// C[m][n] += sum_k u8 A[m][k] * s8 B[k / 4][4n + k % 4]
inline void dpbusd(int c, int a, int bt) {
  const Tile &A = tiles[a], &B = tiles[bt];
  Tile& C = tiles[c];
  for (int m = 0; m < C.rows; ++m)
    for (int n = 0; n < C.colsb / 4; ++n) {
      int32_t acc;
      std::memcpy(&acc, &C.b[m][4 * n], 4);
      for (int k = 0; k < A.colsb; ++k) acc += int32_t{A.b[m][k]} * int32_t{static_cast<int8_t>(B.b[k / 4][4 * n + k % 4])};
      std::memcpy(&C.b[m][4 * n], &acc, 4);
    }
}
}  // namespace bitnet::cpu::amx_emu
#define _tile_loadconfig(cfg) ::bitnet::cpu::amx_emu::loadconfig(cfg)
#define _tile_loadd(t, base, stride) ::bitnet::cpu::amx_emu::loadd(t, base, stride)
#define _tile_stored(t, base, stride) ::bitnet::cpu::amx_emu::stored(t, base, stride)
#define _tile_zero(t) ::bitnet::cpu::amx_emu::zero(t)
#define _tile_dpbusd(c, a, b) ::bitnet::cpu::amx_emu::dpbusd(c, a, b)
#define _tile_release() ((void)0)
#endif
