// libFuzzer target: the GGUF reader plus model-config parsing on arbitrary bytes must never
// crash, hang or read out of bounds; accepted files keep every tensor inside the buffer.
#include <cstdint>
#include <cstdlib>

#include "formats/gguf.h"
#include "model/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto f = bitnet::GgufFile::from_bytes(data, size);
  if (!f.is_ok()) return 0;
  for (const auto& t : f->tensors()) {
    if (t.data < f->base() || t.data + t.nbytes > f->base() + f->size()) std::abort();
  }
  (void)bitnet::config_from_gguf(*f);
  return 0;
}
