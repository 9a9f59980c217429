// The Hugging Face "bitnet" 2-bit packing of ternary linears (spec §5.1, §5.3), used by the
// microsoft/bitnet-b1.58-2B-4T deployment repo and by HF1BitLLM / Falcon3-1.58bit.
//
// A [rows, cols] ternary matrix is stored as uint8 [rows/4, cols]: with P = rows/4, bits 2i..2i+1
// of packed[p][c] hold the code (value + 1, 0/1/2 = -1/0/+1) of row i*P + p. The packing runs
// along the OUTPUT dimension, not along a row.
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"

namespace bitnet {

// packed: [rows/4, cols] row-major; out: [rows, cols] row-major ternary. A code of 3 (never written
// by a valid packer) is a kCorrupt error naming `what`.
Status unpack_hf_ternary(const uint8_t* packed, int64_t rows, int64_t cols, int8_t* out,
                         const std::string& what);

// Inverse of unpack_hf_ternary (tests and tools). rows % 4 == 0.
void pack_hf_ternary(const int8_t* ternary, int64_t rows, int64_t cols, uint8_t* packed);

}  // namespace bitnet
