// Whole-model tests on synthetic models: batched prompt == token-by-token decode (KV cache
// consistency), every weight format runs, and bad requests return errors.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <span>

#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/kernels.h"
#include "bitnet/engine.h"
#include "model/model.h"
#include "model/synth.h"
#include "test_tmp.h"

namespace bitnet {
namespace {

std::string synth_tmp(GgmlType w, GgmlType head = GgmlType::F16, uint64_t seed = 3) {
  auto dir = test_tmp_dir() / "model";
  std::filesystem::create_directories(dir);
  std::string path = (dir / ("tiny_" + std::to_string(static_cast<int>(w)) + "_" +
                             std::to_string(static_cast<int>(head)) + ".gguf")).string();
  SynthOptions o;
  o.weights = w;
  o.embd = head;
  o.seed = seed;
  EXPECT_TRUE(synth_model(o, path).is_ok());
  return path;
}

std::unique_ptr<Engine> load(const std::string& path, int threads = 2, int64_t batch = 64,
                             const cpu::KernelTable* table = nullptr) {
  EngineOptions eo;
  eo.n_ctx = 128;
  eo.n_batch = batch;
  auto e = Engine::load(path, eo, std::make_unique<CpuBackend>(threads, table));
  EXPECT_TRUE(e.is_ok()) << e.status().to_string();
  return std::move(e).value();
}

// max |a - b| and max |a| over two logit vectors (all finite).
struct LogitDiff {
  float maxdiff = 0, maxabs = 0;
};
LogitDiff logit_diff(std::span<const float> a, std::span<const float> b) {
  LogitDiff d;
  for (size_t j = 0; j < a.size(); ++j) {
    EXPECT_TRUE(std::isfinite(a[j]) && std::isfinite(b[j]));
    d.maxabs = std::max(d.maxabs, std::fabs(a[j]));
    d.maxdiff = std::max(d.maxdiff, std::fabs(a[j] - b[j]));
  }
  return d;
}

const std::vector<int32_t> kPrompt = {256, 72, 101, 108, 108, 111, 44, 32, 119, 111, 114, 108, 100, 33, 10, 7, 300};

// With the reference kernels both ways run the same arithmetic per (token, head): only the f16 KV
// cache rounding order could differ. The SIMD tables run prompts through a tiled attention kernel
// (online softmax over blocks of cache rows) and single tokens through the per-token one: fp32
// reassociation, which the int8 activation rounding of 4 random layers amplifies to ~1% of the
// largest logit (the kernels themselves agree with the reference to 1e-5 in tests/ops).
TEST(Model, BatchedPromptMatchesTokenByToken) {
  for (const cpu::KernelTable* table : {&cpu::ref_kernels(), &cpu::select_kernels()}) {
    const float tol = table == &cpu::ref_kernels() ? 1e-3f : 3e-2f;
    for (GgmlType w : {GgmlType::I2_S, GgmlType::TQ2_0, GgmlType::TQ1_0}) {
      auto path = synth_tmp(w);
      auto e = load(path, 2, 5, table);  // batch 5 forces several chunks
      auto s1 = e->new_session(true).value();
      ASSERT_TRUE(s1->eval(kPrompt, true).is_ok());
      auto s2 = e->new_session().value();
      for (size_t i = 0; i < kPrompt.size(); ++i) {
        ASSERT_TRUE(s2->eval(std::span(&kPrompt[i], 1)).is_ok());
        const LogitDiff d = logit_diff(s1->logits_at(static_cast<int64_t>(i)), s2->logits());
        EXPECT_GT(d.maxabs, 0.1f);
        EXPECT_LE(d.maxdiff, tol * d.maxabs) << table->isa << " format " << static_cast<int>(w) << " position " << i;
      }
    }
  }
}

TEST(Model, ThreadCountDoesNotChangeResults) {
  auto path = synth_tmp(GgmlType::I2_S);
  auto e1 = load(path, 1), e3 = load(path, 3);
  auto s1 = e1->new_session().value(), s3 = e3->new_session().value();
  ASSERT_TRUE(s1->eval(kPrompt).is_ok());
  ASSERT_TRUE(s3->eval(kPrompt).is_ok());
  auto a = s1->logits(), b = s3->logits();
  for (size_t j = 0; j < a.size(); ++j) ASSERT_EQ(a[j], b[j]);
}

TEST(Model, Q8HeadCloseToF16Head) {
  auto path = synth_tmp(GgmlType::I2_S);
  auto e = load(path);
  EngineOptions eo;
  eo.n_ctx = 128;
  eo.head_type = "q8_0";
  auto eq = Engine::load(path, eo, std::make_unique<CpuBackend>(2)).value();
  EXPECT_EQ(eq->info().head_type, "q8_0");
  auto s = e->new_session().value(), sq = eq->new_session().value();
  ASSERT_TRUE(s->eval(kPrompt).is_ok());
  ASSERT_TRUE(sq->eval(kPrompt).is_ok());
  const LogitDiff d = logit_diff(s->logits(), sq->logits());
  EXPECT_LE(d.maxdiff, 0.02f * d.maxabs);
}

// A q8_0 KV cache (int8 + an f16 scale per 32 values) against the default f16 one: a 17-token
// prompt, then 4 decode steps (single-token attention over the quantized rows). Measured here:
// 3.7-5.0% of the largest logit; an f32 cache against the f16 one gives 2.5-3.6% on this random
// 4-layer model, whose int8 activation rounding amplifies any change in the cache.
TEST(Model, Q8KvCacheCloseToF16Cache) {
  auto path = synth_tmp(GgmlType::I2_S);
  auto e = load(path);
  EngineOptions eo;
  eo.n_ctx = 128;
  eo.kv_type = "q8_0";
  auto eq = Engine::load(path, eo, std::make_unique<CpuBackend>(2)).value();
  auto s = e->new_session().value(), sq = eq->new_session().value();
  ASSERT_TRUE(s->eval(kPrompt).is_ok());
  ASSERT_TRUE(sq->eval(kPrompt).is_ok());
  for (int32_t t : {65, 66, 67, 68}) {
    ASSERT_TRUE(s->eval(std::span(&t, 1)).is_ok());
    ASSERT_TRUE(sq->eval(std::span(&t, 1)).is_ok());
    const LogitDiff d = logit_diff(s->logits(), sq->logits());
    std::printf("[ model ] q8_0 vs f16 KV cache, token %d: max |diff| %.4f of max |logit| %.3f\n", t, d.maxdiff,
                d.maxabs);
    EXPECT_LE(d.maxdiff, 0.08f * d.maxabs);
  }
  // A head dimension that is not a multiple of 32 cannot use it (1bitLLM 3B: 100).
  ModelConfig c;
  c.n_layer = 1;
  c.n_head = c.n_head_kv = 2;
  c.head_dim = 100;
  CpuBackend be(1);
  auto kv = KvCache::create(be, c, 16, DType::Q8_0);
  EXPECT_EQ(kv.status().code(), StatusCode::kUnsupported);
  EngineOptions bad;
  bad.kv_type = "q4";
  auto eb = Engine::load(path, bad, std::make_unique<CpuBackend>(1)).value();
  EXPECT_EQ(eb->new_session().status().code(), StatusCode::kInvalidArgument);
}

TEST(Model, BadRequestsAreErrors) {
  auto e = load(synth_tmp(GgmlType::I2_S));
  auto s = e->new_session().value();
  std::vector<int32_t> bad = {1, 100000};
  EXPECT_EQ(s->eval(bad).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s->eval(std::vector<int32_t>{}).code(), StatusCode::kInvalidArgument);
  std::vector<int32_t> lng(129, 5);
  EXPECT_EQ(s->eval(lng).code(), StatusCode::kOutOfRange);
  EXPECT_EQ(s->n_past(), 0);
  EXPECT_FALSE(Engine::load("/nonexistent.gguf", {}).is_ok());
  EngineOptions eo;
  eo.device = "cuda";
  EXPECT_FALSE(Engine::load(synth_tmp(GgmlType::I2_S), eo).is_ok());
}

}  // namespace
}  // namespace bitnet
