// Prompt attention over a filled KV cache: one 2B4T layer (20 query heads in 5 GQA groups of 4,
// head dim 128, f16 cache) for a 128-token prompt chunk after `depth` cached tokens, one thread,
// through a kernel table's attention entry. Two ways to cut the same work:
//   tokens    16 query tokens x 4 heads per call (what CpuBackend does for prompts): each cache
//             block is widened once for 64 query rows
//   per_token one token x 4 heads per call (the decode shape, and how prompts ran before)
// Counters:
//   GFLOPs    10^9 flops (2 per multiply-add, scores and values) per second
//   pp_tok_s  tokens/s the 30 layers' attention alone would allow on this thread
#include "bench_common.h"

namespace bitnet::bench {
namespace {

constexpr int kHeads = 20, kKvHeads = 5, kHeadDim = 128, kGroup = kHeads / kKvHeads;
constexpr int64_t kTokens = 128;

struct Case {
  const cpu::KernelTable* table;
  int64_t depth;
  int tokens_per_call;
};

void run_attention(benchmark::State& st, Case c) {
  const int64_t ctx = c.depth + kTokens, kd = int64_t{kKvHeads} * kHeadDim, qd = int64_t{kHeads} * kHeadDim;
  std::mt19937 rng(7);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<uint16_t> k(static_cast<size_t>(ctx * kd)), v(k.size());
  for (auto* cache : {&k, &v})
    for (auto& e : *cache) e = f32_to_f16(nd(rng));
  std::vector<float> q(static_cast<size_t>(kTokens * qd)), out(q.size());
  for (auto& e : q) e = nd(rng);
  std::vector<float> scratch(static_cast<size_t>(cpu::attention_scratch_floats(c.tokens_per_call, kGroup, ctx, kHeadDim)));
  int64_t macs = 0;  // q.k and p.v per visible row
  for (int64_t t = 0; t < kTokens; ++t) macs += 2 * (c.depth + t + 1) * kHeads * kHeadDim;
  const auto t0 = std::chrono::steady_clock::now();
  for (auto _ : st) {
    for (int64_t tok = 0; tok < kTokens; tok += c.tokens_per_call)
      for (int kvh = 0; kvh < kKvHeads; ++kvh) {
        cpu::AttnArgs a;
        a.q = q.data() + tok * qd + kvh * kGroup * kHeadDim;
        a.ldq = qd;
        a.nq = static_cast<int>(std::min<int64_t>(c.tokens_per_call, kTokens - tok));
        a.g = kGroup;
        a.k = k.data() + kvh * kHeadDim;
        a.v = v.data() + kvh * kHeadDim;
        a.stride = kd;
        a.n = c.depth + tok + a.nq;
        a.d = kHeadDim;
        a.scale = 0.088f;
        a.kv = cpu::KvFormat::F16;
        a.out = out.data() + tok * qd + kvh * kGroup * kHeadDim;
        a.ldo = qd;
        a.scratch = scratch.data();
        c.table->attention(a);
      }
    benchmark::DoNotOptimize(out.data());
  }
  const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double per_layer = sec / static_cast<double>(st.iterations());
  st.counters["GFLOPs"] = 2.0 * static_cast<double>(macs) / per_layer / 1e9;
  st.counters["pp_tok_s"] = static_cast<double>(kTokens) / (per_layer * kLayers);
}

}  // namespace
}  // namespace bitnet::bench

int main(int argc, char** argv) {
  using namespace bitnet;
  using namespace bitnet::bench;
  benchmark::Initialize(&argc, argv);
  for (const cpu::KernelTable* t : cpu::available_kernels()) {
    if (t->isa == "ref") continue;
    for (int64_t depth : {0, 512, 2048})
      for (int per_call : {16, 1}) {
        const std::string name = std::string("attention/") + t->isa + "/pp128@d" + std::to_string(depth) + "/" +
                                 (per_call == 1 ? "per_token" : "tokens");
        benchmark::RegisterBenchmark(name.c_str(), run_attention, Case{t, depth, per_call})
            ->UseRealTime()->Unit(benchmark::kMillisecond)->MinTime(0.5);
      }
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
}
