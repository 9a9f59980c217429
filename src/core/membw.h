// Streaming-read memory bandwidth: the speed of light for decoding, where every weight byte is
// read once per token. `bitnet bench` and the kernel microbenchmarks report their achieved GB/s as
// a share of this number, measured on the same threads right before they run (on a shared machine
// it drifts by tens of percent within minutes).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/thread_pool.h"

namespace bitnet {

// Sum of the 64-bit words of n bytes (n % 128 == 0 for the fast path): only keeps the loads alive.
// On x86 four independent 32-byte loads per iteration when the CPU has AVX2, so the probe itself is
// never the bottleneck.
uint64_t stream_read(const uint8_t* p, size_t n);

// A buffer far larger than the last-level cache, touched once at construction.
class ReadBandwidthProbe {
 public:
  explicit ReadBandwidthProbe(size_t bytes = size_t{512} << 20);
  // Best-of-`passes` streaming-read bandwidth (GB/s) of `pool`'s threads over the buffer.
  double measure(ThreadPool& pool, int passes = 3);
  const uint8_t* data() const { return buf_.get(); }
  size_t size() const { return bytes_; }

 private:
  struct Free {
    void operator()(uint8_t* p) const;
  };
  size_t bytes_;
  std::unique_ptr<uint8_t, Free> buf_;
  std::vector<uint64_t> sink_;
};

}  // namespace bitnet
