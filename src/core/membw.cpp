#include "core/membw.h"

#include <cstdlib>
#include <cstring>

#include "core/check.h"
#include "core/timer.h"

namespace bitnet {
namespace {

uint64_t stream_read_portable(const uint8_t* p, size_t n) {
  const uint64_t* q = reinterpret_cast<const uint64_t*>(p);
  uint64_t a[8] = {};
  const size_t words = n / 8;
  for (size_t i = 0; i + 8 <= words; i += 8)
    for (int j = 0; j < 8; ++j) a[j] += q[i + j];
  uint64_t s = 0;
  for (uint64_t v : a) s += v;
  return s;
}

#if defined(__x86_64__)
// This file is built without ISA flags, hence the target attribute.
__attribute__((target("avx2"))) uint64_t stream_read_avx2(const uint8_t* p, size_t n) {
  typedef long long v4di __attribute__((vector_size(32)));
  const v4di* q = reinterpret_cast<const v4di*>(p);
  v4di a0 = {}, a1 = {}, a2 = {}, a3 = {};
  for (size_t i = 0; i + 4 <= n / 32; i += 4) {
    a0 += q[i];
    a1 += q[i + 1];
    a2 += q[i + 2];
    a3 += q[i + 3];
  }
  const v4di s = a0 + a1 + a2 + a3;
  return static_cast<uint64_t>(s[0] + s[1] + s[2] + s[3]);
}
#endif

}  // namespace

uint64_t stream_read(const uint8_t* p, size_t n) {
#if defined(__x86_64__)
  static const bool avx2 = __builtin_cpu_supports("avx2");
  if (avx2) return stream_read_avx2(p, n);
#endif
  return stream_read_portable(p, n);
}

void ReadBandwidthProbe::Free::operator()(uint8_t* p) const { std::free(p); }

ReadBandwidthProbe::ReadBandwidthProbe(size_t bytes)
    : bytes_(bytes / 4096 * 4096), buf_(static_cast<uint8_t*>(std::aligned_alloc(4096, bytes / 4096 * 4096))) {
  BITNET_CHECK(buf_ != nullptr);
  std::memset(buf_.get(), 1, bytes_);
}

double ReadBandwidthProbe::measure(ThreadPool& pool, int passes) {
  sink_.resize(static_cast<size_t>(pool.size()));
  double best = 0;
  for (int r = 0; r < passes; ++r) {
    Timer t;
    pool.run([&](int tid, int nth) {
      int64_t b, e;
      ThreadPool::split(static_cast<int64_t>(bytes_), 4096, tid, nth, &b, &e);
      sink_[static_cast<size_t>(tid)] += stream_read(buf_.get() + b, static_cast<size_t>(e - b));
    });
    const double gbs = static_cast<double>(bytes_) / t.seconds() / 1e9;
    if (gbs > best) best = gbs;
  }
  return best;
}

}  // namespace bitnet
