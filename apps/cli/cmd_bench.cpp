// `bitnet bench`: llama-bench style throughput of a model. Prompt processing (ppN: N random tokens
// in one eval) and generation (tgN: N single-token evals, greedy) repeated -r times after a warm-up;
// prints tok/s mean +- stddev, ms/token, weight bytes per token, achieved GB/s and its share of the
// streaming-read bandwidth measured on the same threads right before each generation repetition, plus a logits hash (FNV-1a of the last
// pp logits' bits and the tg token sequence) so a speed-up that changes results is visible.
// With -d DEPTH the context first holds DEPTH random tokens (untimed), so ppN@dD / tgN@dD time
// prompt processing and generation at that position (attention over a long cache), like
// llama-bench -d.
//   bitnet bench -m model.gguf -p 128 -n 128 -r 5 -t 2 [-d 0 -d 4096] [--head q8_0] [--json]
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "command.h"
#include "core/membw.h"
#include "core/thread_pool.h"
#include "core/timer.h"
#include "model_options.h"

namespace bitnet::cli {
namespace {

struct Opts {
  ModelOptions model;
  std::vector<int> pp{128};
  std::vector<int> tg{128};
  std::vector<int> depth{0};
  int reps = 5;
  bool json = false;
  bool no_warmup = false;
  bool no_bw = false;
};

struct Stat {
  double mean = 0, sd = 0;
};

Stat stats(const std::vector<double>& v) {
  Stat s;
  if (v.empty()) return s;
  for (double x : v) s.mean += x;
  s.mean /= static_cast<double>(v.size());
  if (v.size() > 1) {
    for (double x : v) s.sd += (x - s.mean) * (x - s.mean);
    s.sd = std::sqrt(s.sd / static_cast<double>(v.size() - 1));
  }
  return s;
}

uint64_t fnv1a(uint64_t h, const void* p, size_t n) {
  const auto* b = static_cast<const uint8_t*>(p);
  for (size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 0x100000001b3ull;
  return h;
}

// Streaming-read bandwidth of the bench's threads (core/membw.h), measured again right before every
// tg repetition because on a shared machine it drifts by tens of percent.
class BandwidthProbe {
 public:
  explicit BandwidthProbe(int n_threads) : pool_(n_threads) {}
  double measure(int passes) { return probe_.measure(pool_, passes); }

 private:
  ThreadPool pool_;
  ReadBandwidthProbe probe_;
};

struct Result {
  std::string test;
  int n_tokens = 0;
  int depth = 0;
  std::vector<double> tok_s;
  std::vector<double> bw;  // read bandwidth measured right before each tg repetition
  uint64_t hash = 0;
};

int run(const Opts& o) {
  Timer tl;
  auto eng = load_engine(o.model);
  if (!eng) return 1;
  const ModelInfo& mi = eng->info();
  const int threads = o.model.dev.threads > 0 ? o.model.dev.threads : default_thread_count();
  if (o.reps < 1) return fail("-r must be >= 1");
  for (int n : o.pp)
    if (n < 0) return fail("-p values must be >= 0");
  for (int n : o.tg)
    if (n < 0) return fail("-n values must be >= 0");
  int max_depth = 0;
  for (int d : o.depth) {
    if (d < 0) return fail("-d values must be >= 0");
    max_depth = std::max(max_depth, d);
  }
  int64_t need = 0;
  for (int n : o.pp) need = std::max<int64_t>(need, int64_t{max_depth} + n);
  for (int n : o.tg) need = std::max<int64_t>(need, int64_t{max_depth} + n + 1);
  if (need > eng->options().n_ctx)
    return fail("the longest test needs " + std::to_string(need) + " tokens but the context is " +
                std::to_string(eng->options().n_ctx) + " (use -c)");
  std::fprintf(stderr, "model: %s (%s), %s weights, %s head, %.3f GB/token, backend %s/%s, %d threads, loaded in %.2f s\n",
               mi.path.c_str(), mi.arch.c_str(), mi.weight_type.c_str(), mi.head_type.c_str(),
               mi.bytes_per_token / 1e9, eng->backend().name().c_str(), eng->backend().variant().c_str(), threads,
               tl.seconds());
  std::unique_ptr<BandwidthProbe> probe;
  if (!o.no_bw && eng->backend().name() == "cpu") probe = std::make_unique<BandwidthProbe>(threads);
  const double bw0 = probe ? probe->measure(3) : 0.0;
  if (bw0 > 0) std::fprintf(stderr, "memory: streaming read %.2f GB/s with %d threads\n", bw0, threads);

  auto sess_r = eng->new_session();
  if (!sess_r) return fail(sess_r.status().to_string());
  Session& s = **sess_r;
  const int64_t n_vocab = mi.n_vocab;

  auto argmax = [&](std::span<const float> lg) {
    return static_cast<int32_t>(std::max_element(lg.begin(), lg.end()) - lg.begin());
  };
  // Resets the session and fills the first `depth` positions (untimed).
  auto fill = [&](int depth) -> bool {
    s.reset();
    if (depth == 0) return true;
    std::vector<int32_t> toks(static_cast<size_t>(depth));
    std::mt19937 r3(7);
    for (auto& t : toks) t = std::uniform_int_distribution<int32_t>(0, static_cast<int32_t>(n_vocab - 1))(r3);
    if (Status st = s.eval(toks); !st) {
      fail(st.to_string());
      return false;
    }
    return true;
  };
  auto run_pp = [&](int n, int depth, uint64_t* hash) -> double {
    std::vector<int32_t> toks(static_cast<size_t>(n));
    std::mt19937 r2(42);
    for (auto& t : toks) t = std::uniform_int_distribution<int32_t>(0, static_cast<int32_t>(n_vocab - 1))(r2);
    if (!fill(depth)) return -1;
    Timer t;
    if (Status st = s.eval(toks); !st) {
      fail(st.to_string());
      return -1;
    }
    const double sec = t.seconds();
    if (hash) {
      auto lg = s.logits();
      *hash = fnv1a(0xcbf29ce484222325ull, lg.data(), lg.size_bytes());
    }
    return n / sec;
  };
  auto run_tg = [&](int n, int depth, uint64_t* hash) -> double {
    if (!fill(depth)) return -1;
    int32_t tok = 1;
    if (Status st = s.eval(std::span(&tok, 1)); !st) {
      fail(st.to_string());
      return -1;
    }
    uint64_t h = 0xcbf29ce484222325ull;
    Timer t;
    for (int i = 0; i < n; ++i) {
      tok = argmax(s.logits());
      h = fnv1a(h, &tok, 4);
      if (Status st = s.eval(std::span(&tok, 1)); !st) {
        fail(st.to_string());
        return -1;
      }
    }
    const double sec = t.seconds();
    if (hash) *hash = h;
    return n / sec;
  };
  if (!o.no_warmup) {
    if (run_pp(std::min(32, static_cast<int>(eng->options().n_ctx)), 0, nullptr) < 0) return 1;
    if (run_tg(4, 0, nullptr) < 0) return 1;
  }
  auto name = [](const char* kind, int n, int depth) {
    return kind + std::to_string(n) + (depth ? "@d" + std::to_string(depth) : "");
  };
  std::vector<Result> results;
  for (int depth : o.depth) {
    for (int n : o.pp) {
      if (n == 0) continue;
      Result r{name("pp", n, depth), n, depth, {}, {}, 0};
      for (int i = 0; i < o.reps; ++i) {
        const double v = run_pp(n, depth, &r.hash);
        if (v < 0) return 1;
        r.tok_s.push_back(v);
      }
      results.push_back(r);
    }
    for (int n : o.tg) {
      if (n == 0) continue;
      Result r{name("tg", n, depth), n, depth, {}, {}, 0};
      for (int i = 0; i < o.reps; ++i) {
        if (probe) r.bw.push_back(probe->measure(2));
        const double v = run_tg(n, depth, &r.hash);
        if (v < 0) return 1;
        r.tok_s.push_back(v);
      }
      results.push_back(r);
    }
  }

  const double gb_tok = static_cast<double>(mi.bytes_per_token) / 1e9;
  if (o.json) {
    std::printf("[\n");
    for (size_t i = 0; i < results.size(); ++i) {
      const Result& r = results[i];
      const Stat st = stats(r.tok_s);
      const bool tg = r.test.rfind("tg", 0) == 0;
      const double bw = tg && !r.bw.empty() ? stats(r.bw).mean : bw0;
      std::printf("  {\"model\": \"%s\", \"weights\": \"%s\", \"head\": \"%s\", \"backend\": \"%s\", \"variant\": \"%s\", "
                  "\"threads\": %d, \"test\": \"%s\", \"n_tokens\": %d, \"n_depth\": %d, \"reps\": %d, \"tok_s_mean\": %.4f, "
                  "\"tok_s_stddev\": %.4f, \"ms_per_token\": %.4f, \"bytes_per_token\": %llu, \"gb_s\": %.3f, "
                  "\"read_bw_gb_s\": %.3f, \"bw_share\": %.4f, \"logits_hash\": \"%016llx\", \"samples\": [",
                  mi.path.c_str(), mi.weight_type.c_str(), mi.head_type.c_str(), eng->backend().name().c_str(),
                  eng->backend().variant().c_str(), threads, r.test.c_str(), r.n_tokens, r.depth, o.reps, st.mean, st.sd,
                  1e3 / st.mean, (unsigned long long)mi.bytes_per_token, tg ? gb_tok * st.mean : 0.0, bw,
                  tg && bw > 0 ? gb_tok * st.mean / bw : 0.0, (unsigned long long)r.hash);
      for (size_t j = 0; j < r.tok_s.size(); ++j) std::printf("%s%.4f", j ? ", " : "", r.tok_s[j]);
      std::printf("]}%s\n", i + 1 < results.size() ? "," : "");
    }
    std::printf("]\n");
    return 0;
  }
  std::printf("| %-8s | %-5s | %-5s | %-10s | %3s | %-11s | %17s | %8s | %7s | %6s | %5s | %-16s |\n", "weights",
              "head", "bpt", "variant", "thr", "test", "t/s", "ms/tok", "GB/tok", "GB/s", "bw%", "logits hash");
  std::printf("|----------|-------|-------|------------|-----|-------------|-------------------|----------|---------|--------|-------|------------------|\n");
  for (const Result& r : results) {
    const Stat st = stats(r.tok_s);
    const bool tg = r.test.rfind("tg", 0) == 0;
    const double bw = tg && !r.bw.empty() ? stats(r.bw).mean : bw0;
    char gbs[32] = "-", share[32] = "-";
    if (tg) std::snprintf(gbs, sizeof gbs, "%.2f", gb_tok * st.mean);
    if (tg && bw > 0) std::snprintf(share, sizeof share, "%.1f", 100.0 * gb_tok * st.mean / bw);
    char ts[48];
    std::snprintf(ts, sizeof ts, "%.2f ± %.2f", st.mean, st.sd);
    std::printf("| %-8s | %-5s | %5.3f | %-10s | %3d | %-11s | %17s | %8.2f | %7.3f | %6s | %5s | %016llx |\n",
                mi.weight_type.c_str(), mi.head_type.c_str(), gb_tok, eng->backend().variant().c_str(), threads,
                r.test.c_str(), ts, 1e3 / st.mean, gb_tok, gbs, share, (unsigned long long)r.hash);
  }
  if (bw0 > 0)
    std::printf("(bw%% = achieved weight GB/s / streaming-read bandwidth of %d threads measured right before each\n"
                " tg repetition (mean); at start %.2f GB/s; bpt = GB/token)\n", threads, bw0);
  return 0;
}

BITNET_COMMAND("bench", "Measure prompt-processing and generation speed (llama-bench style)", [](CLI::App& sub) {
  auto o = std::make_shared<Opts>();
  o->model.batch = 512;  // a whole pp test in one forward pass, like llama-bench
  add_model_options(sub, o->model);
  sub.add_option("-p,--n-prompt", o->pp, "Prompt lengths to test (0 = none); repeatable, e.g. -p 64 -p 512");
  sub.add_option("-n,--n-gen", o->tg, "Generation lengths to test (0 = none)");
  sub.add_option("-d,--n-depth", o->depth, "Tokens already in the context before each test (default 0); repeatable");
  sub.add_option("-r,--repetitions", o->reps, "Repetitions of each test");
  sub.add_flag("--json", o->json, "Print results as JSON");
  sub.add_flag("--no-warmup", o->no_warmup, "Skip the warm-up run");
  sub.add_flag("--no-bw", o->no_bw, "Skip the memory-bandwidth measurement");
  return [o]() { return run(*o); };
});

}  // namespace
}  // namespace bitnet::cli
