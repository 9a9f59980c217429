// Sampler chain: repetition penalty -> top-k -> top-p -> min-p -> temperature -> draw, with a
// seeded RNG so runs are reproducible. temperature <= 0 means greedy (argmax, ties -> lowest id).
#pragma once

#include <cstdint>
#include <deque>
#include <random>
#include <span>
#include <vector>

namespace bitnet {

struct SamplerParams {
  float temperature = 0.8f;
  int top_k = 40;           // <= 0: disabled
  float top_p = 0.95f;      // >= 1: disabled
  float min_p = 0.05f;      // <= 0: disabled
  float repeat_penalty = 1.0f;  // 1: disabled (llama.cpp semantics: divide positive logits)
  int repeat_last_n = 64;
  uint64_t seed = 0;
};

class Sampler {
 public:
  explicit Sampler(const SamplerParams& p);
  // Picks the next token from logits (n_vocab floats); does not modify `logits`.
  int32_t sample(std::span<const float> logits);
  // Records a token (prompt or generated) for the repetition penalty.
  void accept(int32_t token);
  void reset();
  const SamplerParams& params() const { return p_; }

 private:
  SamplerParams p_;
  std::mt19937_64 rng_;
  std::deque<int32_t> recent_;
  std::vector<std::pair<float, int32_t>> cand_;
};

int32_t argmax(std::span<const float> logits);

}  // namespace bitnet
