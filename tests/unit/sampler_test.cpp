// Sampler chain: greedy, seeded reproducibility, top-k / top-p / min-p cuts, repetition penalty.
#include <gtest/gtest.h>

#include <set>

#include "sampling/sampler.h"

namespace bitnet {
namespace {

TEST(Sampler, GreedyIsArgmaxLowestIdOnTies) {
  SamplerParams p;
  p.temperature = 0;
  Sampler s(p);
  std::vector<float> l = {0.1f, 3.0f, -1.0f, 3.0f};
  EXPECT_EQ(s.sample(l), 1);
}

TEST(Sampler, SeededRunsRepeat) {
  SamplerParams p;
  p.temperature = 1.0f;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0;
  p.seed = 42;
  std::vector<float> l(50);
  for (size_t i = 0; i < l.size(); ++i) l[i] = static_cast<float>(i % 7) * 0.3f;
  Sampler a(p), b(p);
  std::vector<int32_t> xa, xb;
  for (int i = 0; i < 100; ++i) { xa.push_back(a.sample(l)); xb.push_back(b.sample(l)); }
  EXPECT_EQ(xa, xb);
  EXPECT_GT(std::set<int32_t>(xa.begin(), xa.end()).size(), 5u);  // actually random
}

TEST(Sampler, TopKLimitsCandidates) {
  SamplerParams p;
  p.temperature = 5.0f;  // flat, so the cut is what matters
  p.top_k = 2;
  p.top_p = 1.0f;
  p.min_p = 0;
  Sampler s(p);
  std::vector<float> l = {1.0f, 5.0f, 4.9f, 0.0f, 2.0f};
  for (int i = 0; i < 200; ++i) {
    int32_t t = s.sample(l);
    EXPECT_TRUE(t == 1 || t == 2);
  }
}

TEST(Sampler, TopPAndMinPCut) {
  SamplerParams p;
  p.temperature = 1.0f;
  p.top_k = 0;
  p.top_p = 0.5f;  // the first token alone has ~0.84 probability
  p.min_p = 0;
  Sampler s(p);
  std::vector<float> l = {3.0f, 1.0f, 0.5f, 0.0f};
  for (int i = 0; i < 100; ++i) EXPECT_EQ(s.sample(l), 0);
  p.top_p = 1.0f;
  p.min_p = 0.2f;  // keeps tokens with prob >= 0.2 * p_max: only token 0 (e^-2 = 0.135 < 0.2)
  Sampler m(p);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(m.sample(l), 0);
}

TEST(Sampler, RepetitionPenaltyChangesGreedyChoice) {
  SamplerParams p;
  p.temperature = 0;
  p.repeat_penalty = 2.0f;
  Sampler s(p);
  std::vector<float> l = {1.0f, 1.5f};
  EXPECT_EQ(s.sample(l), 1);
  s.accept(1);  // 1.5 / 2 = 0.75 < 1.0
  EXPECT_EQ(s.sample(l), 0);
}

}  // namespace
}  // namespace bitnet
