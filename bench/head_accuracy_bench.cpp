// Effect of the output-head format on the logits (not a timing benchmark): runs one token sequence
// through the model with the file's head (the reference, normally F16) and with each converted head
// (--head q8_0 / q6_k / q4_k at load), and prints per head its bytes, the relative RMS logit error
// vs the reference, the top-1 agreement and the mean KL(ref || head) of the softmax.
// The sequence: P pseudo-random prompt tokens, then S greedy tokens of the reference model; all
// P + S positions are compared (teacher-forced), the greedy part also separately.
//   head_accuracy_bench -m model.gguf [-p 192] [-s 64] [-t 2] [--heads q8_0,q6_k,q4_k]
// On random-weight (synth) models this measures the head's rounding, not language quality.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "backends/cpu/cpu_backend.h"
#include "bitnet/engine.h"
#include "core/timer.h"
#include "formats/ggml_types.h"

using namespace bitnet;

namespace {

std::unique_ptr<Engine> load(const std::string& path, const std::string& head, int threads, int64_t n_ctx) {
  EngineOptions eo;
  eo.n_ctx = n_ctx;
  eo.head_type = head;
  auto e = Engine::load(path, eo, std::make_unique<CpuBackend>(threads));
  if (!e.is_ok()) {
    std::fprintf(stderr, "head_accuracy_bench: %s\n", e.status().to_string().c_str());
    std::exit(1);
  }
  return std::move(e).value();
}

int argmax(std::span<const float> v) {
  int b = 0;
  for (size_t j = 1; j < v.size(); ++j)
    if (v[j] > v[b]) b = static_cast<int>(j);
  return b;
}

std::vector<std::vector<float>> all_logits(Engine& e, const std::vector<int32_t>& seq) {
  auto s = e.new_session(true).value();
  Status st = s->eval(seq, true);
  if (!st) {
    std::fprintf(stderr, "head_accuracy_bench: %s\n", st.to_string().c_str());
    std::exit(1);
  }
  std::vector<std::vector<float>> out;
  for (size_t i = 0; i < seq.size(); ++i) {
    auto l = s->logits_at(static_cast<int64_t>(i));
    out.emplace_back(l.begin(), l.end());
  }
  return out;
}

double kl(const std::vector<float>& p_logits, const std::vector<float>& q_logits) {
  auto lse = [](const std::vector<float>& v) {
    double m = v[0];
    for (float x : v) m = std::max(m, static_cast<double>(x));
    double s = 0;
    for (float x : v) s += std::exp(x - m);
    return m + std::log(s);
  };
  const double lp = lse(p_logits), lq = lse(q_logits);
  double k = 0;
  for (size_t j = 0; j < p_logits.size(); ++j) {
    const double a = p_logits[j] - lp, b = q_logits[j] - lq;
    k += std::exp(a) * (a - b);
  }
  return k;
}

}  // namespace

int main(int argc, char** argv) {
  std::string model, heads = "q8_0,q6_k,q4_k";
  int64_t n_prompt = 192, n_steps = 64;
  int threads = 2;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "-m") model = next();
    else if (a == "-p") n_prompt = std::stoll(next());
    else if (a == "-s") n_steps = std::stoll(next());
    else if (a == "-t") threads = std::stoi(next());
    else if (a == "--heads") heads = next();
    else {
      std::fprintf(stderr, "usage: head_accuracy_bench -m model.gguf [-p 192] [-s 64] [-t 2] [--heads q8_0,q6_k,q4_k]\n");
      return 2;
    }
  }
  if (model.empty()) {
    std::fprintf(stderr, "head_accuracy_bench: -m model.gguf is required\n");
    return 2;
  }
  const int64_t n_ctx = n_prompt + n_steps + 8;
  Timer t;
  auto ref = load(model, "", threads, n_ctx);
  const ModelInfo mi = ref->info();
  // Prompt: a fixed pseudo-random walk over the vocabulary (deterministic, no tokenizer needed).
  std::vector<int32_t> seq;
  uint64_t x = 0x9e3779b97f4a7c15ull;
  for (int64_t i = 0; i < n_prompt; ++i) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    seq.push_back(static_cast<int32_t>(x % static_cast<uint64_t>(std::min<int64_t>(mi.n_vocab, 128000))));
  }
  {
    auto s = ref->new_session().value();
    if (!s->eval(seq)) return 1;
    for (int64_t i = 0; i < n_steps; ++i) {
      const int32_t tok = argmax(s->logits());
      seq.push_back(tok);
      if (i + 1 < n_steps && !s->eval(std::vector<int32_t>{tok})) return 1;
    }
  }
  const auto ref_logits = all_logits(*ref, seq);
  const std::string ref_type = mi.head_type;
  ref.reset();
  std::printf("model %s: d_model %lld, n_vocab %lld; %lld positions (%lld prompt + %lld greedy); reference head %s "
              "(%.1f s)\n", model.c_str(), (long long)mi.d_model, (long long)mi.n_vocab, (long long)seq.size(),
              (long long)n_prompt, (long long)n_steps, ref_type.c_str(), t.seconds());
  std::printf("| head | bits/weight | head MB | rel. RMS logit error | top-1 agree (all) | top-1 agree (greedy part) | mean KL (nats) |\n");
  std::printf("|---|---|---|---|---|---|---|\n");
  size_t pos = 0;
  while (pos <= heads.size()) {
    const size_t comma = heads.find(',', pos);
    const std::string h = heads.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    pos = comma == std::string::npos ? heads.size() + 1 : comma + 1;
    if (h.empty()) continue;
    auto type = ggml_type_from_name(h);
    if (!type) {
      std::fprintf(stderr, "head_accuracy_bench: unknown head type '%s'\n", h.c_str());
      return 2;
    }
    auto e = load(model, h, threads, n_ctx);
    const auto got = all_logits(*e, seq);
    double err = 0, nrm = 0, kls = 0;
    int64_t same = 0, same_gen = 0;
    for (size_t i = 0; i < seq.size(); ++i) {
      const auto& a = ref_logits[i];
      const auto& b = got[i];
      for (size_t j = 0; j < a.size(); ++j) err += (a[j] - b[j]) * double(a[j] - b[j]), nrm += double(a[j]) * a[j];
      const bool eq = argmax(a) == argmax(b);
      same += eq;
      if (static_cast<int64_t>(i) >= n_prompt) same_gen += eq;
      kls += kl(a, b);
    }
    const double row = static_cast<double>(*ggml_row_bytes(*type, mi.d_model));
    std::printf("| %s | %.4g | %.1f | %.4f | %lld / %lld | %lld / %lld | %.2e |\n", h.c_str(),
                row * 8.0 / static_cast<double>(mi.d_model), row * static_cast<double>(mi.n_vocab) / 1e6,
                std::sqrt(err / nrm), (long long)same, (long long)seq.size(), (long long)same_gen,
                (long long)n_steps, kls / static_cast<double>(seq.size()));
    std::fflush(stdout);
  }
  std::printf("(%.1f s)\n", t.seconds());
  return 0;
}
