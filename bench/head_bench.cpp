// Output-head GEMV (K = 2560, M = 128256, one token) through CpuBackend::matmul_float for F16, Q8_0,
// Q6_K and Q4_K heads and every kernel table on this CPU: the head is ~40-55% of the bytes per decoded token.
// Counters: GBs (head bytes / s), bw_GBs (streaming read of the same threads just before),
// bw_share, ms (per head pass). Threads: 2 (BITNET_BENCH_THREADS).
#include "bench_common.h"

namespace bitnet::bench {
namespace {

struct Case {
  const cpu::KernelTable* table;
  GgmlType type;
};

void run_head(benchmark::State& st, Case c) {
  CpuBackend be(bench_threads(), c.table);
  const int64_t k = kD, m = kVocab;
  std::vector<uint8_t> bytes;
  {
    std::mt19937 rng(5);
    std::normal_distribution<float> nd(0.0f, 0.05f);
    std::vector<float> row(static_cast<size_t>(k));
    const size_t row_bytes = static_cast<size_t>(*ggml_row_bytes(c.type, k));
    bytes.resize(row_bytes * static_cast<size_t>(m));
    for (int64_t r = 0; r < m; ++r) {
      for (auto& v : row) v = nd(rng);
      uint8_t* dst = bytes.data() + r * row_bytes;
      if (c.type == GgmlType::F16) f32_to_f16_row(row.data(), k, reinterpret_cast<uint16_t*>(dst));
      else if (c.type == GgmlType::Q8_0) quantize_q8_0(row.data(), k, dst);
      else if (c.type == GgmlType::Q6_K) quantize_q6_k(row.data(), k, dst);
      else if (c.type == GgmlType::Q4_K) quantize_q4_k(row.data(), k, dst);
      else std::memcpy(dst, row.data(), row_bytes);
    }
  }
  MatrixSource src;
  src.type = c.type;
  src.k = k;
  src.m = m;
  src.data = bytes.data();
  src.nbytes = bytes.size();
  src.name = "head";
  auto head = be.load_matrix(src).value();
  HostTensor x(be, DType::F32, 1, k), y(be, DType::F32, 1, m);
  std::vector<float> xv(static_cast<size_t>(k), 0.1f);
  be.upload(x.t, xv.data(), xv.size() * 4);
  const double bw = measure_read_bw(be.pool());
  const auto t0 = std::chrono::steady_clock::now();
  for (auto _ : st) be.matmul_float(*head, x.t, y.t);
  const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double gbs = static_cast<double>(bytes.size()) * static_cast<double>(st.iterations()) / sec / 1e9;
  st.counters["GBs"] = gbs;
  st.counters["bw_GBs"] = bw;
  st.counters["bw_share"] = gbs / bw;
  st.counters["MB"] = static_cast<double>(bytes.size()) / 1e6;
  st.SetLabel(c.table->gemm_float.name);
}

}  // namespace
}  // namespace bitnet::bench

int main(int argc, char** argv) {
  using namespace bitnet;
  using namespace bitnet::bench;
  benchmark::Initialize(&argc, argv);
  for (const cpu::KernelTable* t : cpu::available_kernels())
    for (GgmlType type : {GgmlType::F16, GgmlType::Q8_0, GgmlType::Q6_K, GgmlType::Q4_K}) {
      const std::string name = std::string("head/") + t->isa + "/" + type_label(type);
      auto* b = benchmark::RegisterBenchmark(name.c_str(), run_head, Case{t, type});
      b->UseRealTime()->Unit(benchmark::kMillisecond);
      if (t->isa == "ref") b->Iterations(2);
      else b->MinTime(1.0);
    }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
}
