#include "sampling/sampler.h"

#include <algorithm>
#include <cmath>

namespace bitnet {

int32_t argmax(std::span<const float> logits) {
  int32_t best = 0;
  for (size_t i = 1; i < logits.size(); ++i)
    if (logits[i] > logits[best]) best = static_cast<int32_t>(i);
  return best;
}

Sampler::Sampler(const SamplerParams& p) : p_(p), rng_(p.seed) {}

void Sampler::reset() {
  rng_.seed(p_.seed);
  recent_.clear();
}

void Sampler::accept(int32_t token) {
  if (p_.repeat_last_n <= 0) return;
  recent_.push_back(token);
  while (static_cast<int>(recent_.size()) > p_.repeat_last_n) recent_.pop_front();
}

int32_t Sampler::sample(std::span<const float> logits) {
  const bool penalize = p_.repeat_penalty != 1.0f && !recent_.empty();
  if (p_.temperature <= 0 && !penalize) return argmax(logits);

  cand_.resize(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) cand_[i] = {logits[i], static_cast<int32_t>(i)};
  if (penalize) {
    std::vector<int32_t> seen(recent_.begin(), recent_.end());
    std::sort(seen.begin(), seen.end());
    seen.erase(std::unique(seen.begin(), seen.end()), seen.end());
    for (int32_t t : seen) {
      if (t < 0 || static_cast<size_t>(t) >= cand_.size()) continue;
      float& l = cand_[t].first;
      l = l > 0 ? l / p_.repeat_penalty : l * p_.repeat_penalty;
    }
  }
  if (p_.temperature <= 0) {
    auto best = std::max_element(cand_.begin(), cand_.end(), [](const auto& a, const auto& b) {
      return a.first < b.first || (a.first == b.first && a.second > b.second);
    });
    return best->second;
  }
  auto by_logit = [](const auto& a, const auto& b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  };
  size_t n = cand_.size();
  if (p_.top_k > 0 && static_cast<size_t>(p_.top_k) < n) {
    std::partial_sort(cand_.begin(), cand_.begin() + p_.top_k, cand_.end(), by_logit);
    n = static_cast<size_t>(p_.top_k);
  } else {
    std::sort(cand_.begin(), cand_.end(), by_logit);
  }
  // Softmax over the survivors (sorted descending), at temperature 1 for the top-p/min-p cuts
  // like llama.cpp's default chain, then temperature for the draw.
  std::vector<double> prob(n);
  double sum = 0;
  for (size_t i = 0; i < n; ++i) sum += (prob[i] = std::exp(double(cand_[i].first) - cand_[0].first));
  for (auto& q : prob) q /= sum;
  if (p_.top_p < 1.0f) {
    double cum = 0;
    size_t keep = n;
    for (size_t i = 0; i < n; ++i) {
      cum += prob[i];
      if (cum >= p_.top_p) { keep = i + 1; break; }
    }
    n = std::max<size_t>(keep, 1);
  }
  if (p_.min_p > 0) {
    size_t keep = 1;
    while (keep < n && prob[keep] >= p_.min_p * prob[0]) ++keep;
    n = keep;
  }
  std::vector<double> w(n);
  for (size_t i = 0; i < n; ++i) w[i] = std::exp((double(cand_[i].first) - cand_[0].first) / p_.temperature);
  std::discrete_distribution<size_t> dist(w.begin(), w.end());
  return cand_[dist(rng_)].second;
}

}  // namespace bitnet
