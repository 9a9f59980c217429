// Streaming-read memory bandwidth with 1..N threads of the engine's thread pool: the speed of
// light for decode (every weight byte is read once per token). Reports GB/s.
//   build/kern/bin/membw_bench --benchmark_repetitions=5
#include "bench_common.h"

namespace bitnet::bench {
namespace {

void BM_MemRead(benchmark::State& st) {
  ThreadPool pool(static_cast<int>(st.range(0)));
  static ReadBandwidthProbe probe(size_t{1} << 30);  // 1 GiB >> 32 MiB LLC
  std::vector<uint64_t> sink(static_cast<size_t>(pool.size()));
  for (auto _ : st) {
    pool.run([&](int tid, int nth) {
      int64_t b, e;
      ThreadPool::split(static_cast<int64_t>(probe.size()), 4096, tid, nth, &b, &e);
      sink[static_cast<size_t>(tid)] += stream_read(probe.data() + b, static_cast<size_t>(e - b));
    });
  }
  benchmark::DoNotOptimize(sink.data());
  const auto bytes = static_cast<double>(st.iterations()) * static_cast<double>(probe.size());
  st.SetBytesProcessed(static_cast<int64_t>(bytes));
  st.counters["GBs"] = benchmark::Counter(bytes / 1e9, benchmark::Counter::kIsRate);
}

BENCHMARK(BM_MemRead)->Arg(1)->Arg(2)->Arg(4)->UseRealTime()->Unit(benchmark::kMillisecond)->MinTime(0.5);

}  // namespace
}  // namespace bitnet::bench

BENCHMARK_MAIN();
