// HF 2-bit ternary packing; see hf_packing.h.
#include "convert/hf_packing.h"

#include <cstring>

#include "core/check.h"
#include "core/strings.h"

namespace bitnet {

Status unpack_hf_ternary(const uint8_t* packed, int64_t rows, int64_t cols, int8_t* out,
                         const std::string& what) {
  BITNET_CHECK(rows % 4 == 0);
  const int64_t p_rows = rows / 4;
  for (int64_t p = 0; p < p_rows; ++p) {
    const uint8_t* src = packed + p * cols;
    for (int i = 0; i < 4; ++i) {
      int8_t* dst = out + (i * p_rows + p) * cols;
      for (int64_t c = 0; c < cols; ++c) {
        const int code = (src[c] >> (2 * i)) & 3;
        if (code == 3)
          return corrupt(
              strfmt("%s: packed byte [%lld][%lld] holds the invalid 2-bit code 3 (row %lld)",
                     what.c_str(), (long long)p, (long long)c, (long long)(i * p_rows + p)));
        dst[c] = static_cast<int8_t>(code - 1);
      }
    }
  }
  return Status::ok();
}

void pack_hf_ternary(const int8_t* t, int64_t rows, int64_t cols, uint8_t* packed) {
  BITNET_CHECK(rows % 4 == 0);
  const int64_t p_rows = rows / 4;
  std::memset(packed, 0, static_cast<size_t>(p_rows * cols));
  for (int64_t r = 0; r < rows; ++r) {
    const int i = static_cast<int>(r / p_rows);
    uint8_t* dst = packed + (r % p_rows) * cols;
    for (int64_t c = 0; c < cols; ++c)
      dst[c] |= static_cast<uint8_t>((t[r * cols + c] + 1) << (2 * i));
  }
}

}  // namespace bitnet
