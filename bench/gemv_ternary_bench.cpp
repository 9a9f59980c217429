// Decode GEMV (n = 1) of the 2B4T ternary shapes through CpuBackend::matmul_ternary, for every
// kernel table on this CPU and every ternary format. Matrices rotate through a >256 MiB stack so the
// weights stream from DRAM as in real decoding. Counters:
//   GBs        weight bytes read per second (the format's in-memory bytes: TL3 for TQ formats)
//   bw_GBs     streaming-read bandwidth of the same threads measured just before (speed of light)
//   bw_share   GBs / bw_GBs
//   tg_tok_s   tokens/s the 210 ternary matrices of 2B4T would allow at this GB/s (no head)
//   Gw_s       10^9 weights per second
// Threads: 2 (BITNET_BENCH_THREADS to change). The reference table runs one shape, for the ratio.
#include "bench_common.h"

namespace bitnet::bench {
namespace {

struct Case {
  const cpu::KernelTable* table;
  GgmlType type;
  int64_t k, m;
};

void run_gemv(benchmark::State& st, Case c) {
  CpuBackend be(bench_threads(), c.table);
  TernaryStack stack(be, c.type, c.k, c.m, c.table->isa == "ref" ? size_t{8} << 20 : size_t{256} << 20);
  HostTensor q(be, DType::I8, 1, c.k), s(be, DType::F32, 1, 1), y(be, DType::F32, 1, c.m);
  fill_acts(be, q, s);
  const double bw = measure_read_bw(be.pool());
  size_t i = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (auto _ : st) {
    be.matmul_ternary(*stack.mats[i], q.t, s.t, y.t);
    if (++i == stack.mats.size()) i = 0;
  }
  const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double bytes = static_cast<double>(stack.bytes_per_matrix) * static_cast<double>(st.iterations());
  const double gbs = bytes / sec / 1e9;
  const double bpw = static_cast<double>(stack.bytes_per_matrix) / static_cast<double>(c.k * c.m);
  const double ternary_params = 2084044800.0;
  st.counters["GBs"] = gbs;
  st.counters["bw_GBs"] = bw;
  st.counters["bw_share"] = gbs / bw;
  st.counters["tg_tok_s"] = gbs * 1e9 / (ternary_params * bpw);
  st.counters["Gw_s"] = static_cast<double>(c.k * c.m) * static_cast<double>(st.iterations()) / sec / 1e9;
  st.counters["bits_per_w"] = 8 * bpw;
  st.SetLabel(c.table->ternary(c.type)->name);
}

}  // namespace
}  // namespace bitnet::bench

int main(int argc, char** argv) {
  using namespace bitnet;
  using namespace bitnet::bench;
  benchmark::Initialize(&argc, argv);
  const std::pair<int64_t, int64_t> shapes[] = {{kD, kD}, {kD, kKv}, {kD, kFf}, {kFf, kD}};  // (K, M)
  for (const cpu::KernelTable* t : cpu::available_kernels()) {
    for (GgmlType type : {GgmlType::I2_S, GgmlType::TQ2_0, GgmlType::TQ1_0}) {
      for (auto [k, m] : shapes) {
        if (t->isa == "ref" && !(k == kD && m == kD)) continue;
        const std::string name = "gemv/" + t->isa + "/" + type_label(type) + "/K" + std::to_string(k) + "xM" + std::to_string(m);
        auto* b = benchmark::RegisterBenchmark(name.c_str(), run_gemv, Case{t, type, k, m});
        b->UseRealTime()->Unit(benchmark::kMicrosecond);
        if (t->isa == "ref") b->Iterations(3);
        else b->MinTime(0.3);
      }
    }
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
}
