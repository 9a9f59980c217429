#include "formats/ggml_types.h"

#include <cctype>
#include <limits>

namespace bitnet {

std::optional<GgmlType> ggml_type_from_id(uint32_t id) {
  switch (id) {
    case 0: return GgmlType::F32;
    case 1: return GgmlType::F16;
    case 8: return GgmlType::Q8_0;
    case 12: return GgmlType::Q4_K;
    case 14: return GgmlType::Q6_K;
    case 30: return GgmlType::BF16;
    case 34: return GgmlType::TQ1_0;
    case 35: return GgmlType::TQ2_0;
    case 36: return GgmlType::I2_S;
    default: return std::nullopt;
  }
}

std::optional<std::string> ggml_type_name(uint32_t id) {
  auto t = ggml_type_from_id(id);
  if (!t) return std::nullopt;
  switch (*t) {
    case GgmlType::F32: return "f32";
    case GgmlType::F16: return "f16";
    case GgmlType::Q8_0: return "q8_0";
    case GgmlType::Q4_K: return "q4_k";
    case GgmlType::Q6_K: return "q6_k";
    case GgmlType::BF16: return "bf16";
    case GgmlType::TQ1_0: return "tq1_0";
    case GgmlType::TQ2_0: return "tq2_0";
    case GgmlType::I2_S: return "i2_s";
  }
  return std::nullopt;
}

std::optional<GgmlType> ggml_type_from_name(const std::string& name) {
  // ggml spells the K-quants "q4_K" / "q6_K": names match case-insensitively.
  std::string lower = name;
  for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  for (uint32_t id : {0u, 1u, 8u, 12u, 14u, 30u, 34u, 35u, 36u}) {
    if (ggml_type_name(id) == lower) return ggml_type_from_id(id);
  }
  return std::nullopt;
}

int64_t ggml_block_elems(GgmlType t) {
  switch (t) {
    case GgmlType::F32:
    case GgmlType::F16:
    case GgmlType::BF16: return 1;
    case GgmlType::Q8_0: return 32;
    case GgmlType::Q4_K:
    case GgmlType::Q6_K:
    case GgmlType::TQ1_0:
    case GgmlType::TQ2_0: return 256;
    case GgmlType::I2_S: return 128;
  }
  return 1;
}

int64_t ggml_block_bytes(GgmlType t) {
  switch (t) {
    case GgmlType::F32: return 4;
    case GgmlType::F16:
    case GgmlType::BF16: return 2;
    case GgmlType::Q8_0: return 34;   // f16 d + 32 x int8
    case GgmlType::Q4_K: return 144;  // f16 d, f16 dmin, scales[12], qs[128]
    case GgmlType::Q6_K: return 210;  // ql[128], qh[64], scales[16], f16 d
    case GgmlType::TQ1_0: return 54;  // qs[48] qh[4] f16 d
    case GgmlType::TQ2_0: return 66;  // qs[64] f16 d
    case GgmlType::I2_S: return 32;   // 128 x 2 bits
  }
  return 0;
}

bool ggml_type_is_ternary(GgmlType t) {
  return t == GgmlType::I2_S || t == GgmlType::TQ1_0 || t == GgmlType::TQ2_0;
}

std::optional<uint64_t> ggml_row_bytes(GgmlType t, int64_t n) {
  if (n < 0 || t == GgmlType::I2_S) return std::nullopt;
  const int64_t be = ggml_block_elems(t);
  if (n % be != 0) return std::nullopt;
  return static_cast<uint64_t>(n / be) * static_cast<uint64_t>(ggml_block_bytes(t));
}

std::optional<uint64_t> ggml_tensor_nbytes(GgmlType t, std::span<const int64_t> ne) {
  if (ne.empty()) return std::nullopt;
  uint64_t total = 1;
  for (int64_t d : ne) {
    if (d < 0) return std::nullopt;
    if (d != 0 && total > std::numeric_limits<uint64_t>::max() / static_cast<uint64_t>(d))
      return std::nullopt;
    total *= static_cast<uint64_t>(d);
  }
  if (t == GgmlType::I2_S) {
    // Official layout: 128-element blocks over the flattened matrix, then a 32-byte tail.
    if (total % 128 != 0) return std::nullopt;
    return total / 4 + 32;
  }
  auto row = ggml_row_bytes(t, ne[0]);
  if (!row) return std::nullopt;
  uint64_t rows = ne[0] == 0 ? 0 : total / static_cast<uint64_t>(ne[0]);
  if (rows != 0 && *row > std::numeric_limits<uint64_t>::max() / rows) return std::nullopt;
  return *row * rows;
}

}  // namespace bitnet
