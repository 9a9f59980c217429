// libFuzzer target: the safetensors reader on arbitrary bytes must never crash, hang or read out of
// bounds; an accepted file has every tensor inside its data section, sizes equal to numel * dtype
// size, and float tensors convert. The config.json parser of `bitnet convert` gets the same bytes.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "convert/hf_config.h"
#include "formats/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)bitnet::parse_hf_config(std::string(reinterpret_cast<const char*>(data), size));
  auto f = bitnet::SafetensorsFile::from_bytes(data, size);
  if (!f.is_ok()) return 0;
  uint64_t total = 0;
  for (const auto& t : f->tensors()) {
    if (t.nbytes != static_cast<uint64_t>(t.numel()) * bitnet::st_dtype_size(t.dtype)) std::abort();
    if (f->find(t.name) != &t) std::abort();
    total += t.nbytes;
    if (t.numel() <= (1 << 16))
      (void)bitnet::st_read_f32(t);  // touches every byte of small tensors
  }
  if (total + 8 > size) std::abort();
  return 0;
}
