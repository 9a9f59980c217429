// ggml tensor type ids as they appear in GGUF files, and their byte sizes.
// Ids follow mainline ggml, plus I2_S = 36 from bitnet.cpp (spec §3.5); a type we do not know is
// rejected at load with its id in the message.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace bitnet {

enum class GgmlType : uint32_t {
  F32 = 0,
  F16 = 1,
  Q8_0 = 8,
  Q4_K = 12,  // 256-element super-blocks: f16 d, f16 dmin, 6-bit scales/mins[12], 4-bit qs[128]
  Q6_K = 14,  // 256-element super-blocks: ql[128], qh[64], int8 scales[16], f16 d
  BF16 = 30,
  TQ1_0 = 34,
  TQ2_0 = 35,
  I2_S = 36,  // bitnet.cpp: 2-bit codes in 128-element blocks + one f32 scale per tensor
};

// Name ("f32", "i2_s", ...) or nullopt for ids we do not support.
std::optional<std::string> ggml_type_name(uint32_t id);
std::optional<GgmlType> ggml_type_from_id(uint32_t id);
std::optional<GgmlType> ggml_type_from_name(const std::string& name);

// Elements per block and bytes per block (I2_S: 128 elements -> 32 bytes, plus a per-tensor tail).
int64_t ggml_block_elems(GgmlType t);
int64_t ggml_block_bytes(GgmlType t);

// Exact byte size of a tensor with dims ne (ne[0] = row length), or nullopt when the shape is not
// representable in the type (row length not a multiple of the block) or the size overflows.
// I2_S: ne0*ne1/4 + 32 (the f32 scale sits in a 32-byte tail), never the generic formula.
std::optional<uint64_t> ggml_tensor_nbytes(GgmlType t, std::span<const int64_t> ne);

// Size of one row of n elements (not valid for I2_S, whose rows have no standalone size).
std::optional<uint64_t> ggml_row_bytes(GgmlType t, int64_t n);

bool ggml_type_is_ternary(GgmlType t);

}  // namespace bitnet
