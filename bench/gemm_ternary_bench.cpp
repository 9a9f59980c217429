// Prompt-processing GEMM (n tokens at once) over one 2B4T layer's seven ternary matrices
// (q, k, v, o, gate, up, down) through CpuBackend::matmul_ternary, for every kernel table on this
// CPU and every ternary format. Counters:
//   GMACs      10^9 ternary multiply-adds per second
//   pp_tok_s   tokens/s the 30 layers' ternary matmuls alone would allow (attention, norms and the
//              head excluded), i.e. an upper bound for ppN of the whole model
// Threads: 2 (BITNET_BENCH_THREADS). Tokens per call: 64 and 128.
#include "bench_common.h"

namespace bitnet::bench {
namespace {

struct Case {
  const cpu::KernelTable* table;
  GgmlType type;
  int64_t n;
};

void run_gemm(benchmark::State& st, Case c) {
  CpuBackend be(bench_threads(), c.table);
  const std::pair<int64_t, int64_t> shapes[] = {{kD, kD}, {kD, kKv}, {kD, kKv}, {kD, kD}, {kD, kFf}, {kD, kFf}, {kFf, kD}};
  std::vector<std::unique_ptr<TernaryStack>> mats;
  for (auto [k, m] : shapes) mats.push_back(std::make_unique<TernaryStack>(be, c.type, k, m, 0));
  HostTensor qd(be, DType::I8, c.n, kD), qf(be, DType::I8, c.n, kFf), s(be, DType::F32, c.n, 1);
  HostTensor yd(be, DType::F32, c.n, kD), yk(be, DType::F32, c.n, kKv), yf(be, DType::F32, c.n, kFf);
  fill_acts(be, qd, s);
  fill_acts(be, qf, s);
  int64_t macs = 0;
  for (auto [k, m] : shapes) macs += k * m * c.n;
  const auto t0 = std::chrono::steady_clock::now();
  for (auto _ : st) {
    for (size_t i = 0; i < mats.size(); ++i) {
      const auto [k, m] = shapes[i];
      const Tensor& q = k == kFf ? qf.t : qd.t;
      const Tensor& y = m == kFf ? yf.t : (m == kKv ? yk.t : yd.t);
      be.matmul_ternary(*mats[i]->mats[0], q, s.t, y);
    }
  }
  const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double per_layer = sec / static_cast<double>(st.iterations());
  st.counters["GMACs"] = static_cast<double>(macs) / per_layer / 1e9;
  st.counters["pp_tok_s"] = static_cast<double>(c.n) / (per_layer * kLayers);
  st.SetLabel(c.table->ternary(c.type)->name);
}

}  // namespace
}  // namespace bitnet::bench

int main(int argc, char** argv) {
  using namespace bitnet;
  using namespace bitnet::bench;
  benchmark::Initialize(&argc, argv);
  for (const cpu::KernelTable* t : cpu::available_kernels()) {
    if (t->isa == "ref") continue;  // minutes per layer
    for (GgmlType type : {GgmlType::I2_S, GgmlType::TQ2_0, GgmlType::TQ1_0})
      for (int64_t n : {64, 128}) {
        const std::string name = std::string("gemm/") + t->isa + "/" + type_label(type) + "/n" + std::to_string(n);
        benchmark::RegisterBenchmark(name.c_str(), run_gemm, Case{t, type, n})
            ->UseRealTime()->Unit(benchmark::kMillisecond)->MinTime(1.0);
      }
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
}
