// `bitnet run`: generate text from a prompt, streaming it to stdout; timing line on stderr.
#include <cstdio>

#include "command.h"
#include "core/timer.h"
#include "model_options.h"
#include "tokenizer/tokenizer.h"

namespace bitnet::cli {
namespace {

struct Opts {
  ModelOptions model;
  SamplerParams sampling;
  std::string prompt;
  int n_predict = 128;
  bool no_display_prompt = false;
  bool ignore_eos = false;
};

int run(const Opts& o) {
  Timer tl;
  auto eng = load_engine(o.model);
  if (!eng) return 1;
  const ModelInfo& mi = eng->info();
  std::fprintf(stderr, "model: %s (%s), %lld layers, %s weights, %s head, %.2f GB, loaded in %.2f s\n",
               mi.path.c_str(), mi.arch.c_str(), (long long)mi.n_layer, mi.weight_type.c_str(),
               mi.head_type.c_str(), mi.file_bytes / 1e9, tl.seconds());
  const Tokenizer* tok = eng->tokenizer();
  if (!tok) return fail(eng->tokenizer_error());
  if (o.n_predict < 0) return fail("-n must be >= 0");
  std::vector<int32_t> ids = tok->encode(o.prompt, tok->add_bos_default(), false);
  if (ids.empty()) return fail("the prompt is empty and the model adds no BOS token; give a prompt with -p");
  auto sess = eng->new_session();
  if (!sess) return fail(sess.status().to_string());
  auto& s = **sess;
  if (static_cast<int64_t>(ids.size()) >= s.n_ctx())
    return fail("the prompt is " + std::to_string(ids.size()) + " tokens, which does not fit the context of " +
                std::to_string(s.n_ctx()) + " tokens (use -c to enlarge it)");

  if (!o.no_display_prompt) {
    std::fputs(o.prompt.c_str(), stdout);
    std::fflush(stdout);
  }
  Sampler sampler(o.sampling);
  for (int32_t t : ids) sampler.accept(t);
  Timer tp;
  if (Status st = s.eval(ids); !st) return fail(st.to_string());
  const double t_prompt = tp.seconds();

  Detokenizer detok(*tok);
  Timer tg;
  int generated = 0;
  while (generated < o.n_predict && s.n_past() < s.n_ctx()) {
    const int32_t next = sampler.sample(s.logits());
    sampler.accept(next);
    ++generated;
    if (tok->is_eog(next) && !o.ignore_eos) break;
    std::string text = detok.push(next);
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
    if (generated == o.n_predict) break;
    if (Status st = s.eval(std::span(&next, 1)); !st) return fail(st.to_string());
  }
  std::string rest = detok.flush();
  std::fwrite(rest.data(), 1, rest.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
  const double t_gen = tg.seconds();
  // Generation time covers generated-1 forward passes (the first token comes from the prompt pass).
  const int gen_evals = generated > 1 ? generated - 1 : 0;
  std::fprintf(stderr, "timing: prompt %zu tokens in %.1f ms (%.2f tok/s), generation %d tokens in %.1f ms (%.2f tok/s)\n",
               ids.size(), t_prompt * 1e3, ids.size() / t_prompt, generated, t_gen * 1e3,
               gen_evals > 0 ? gen_evals / t_gen : 0.0);
  return 0;
}

BITNET_COMMAND("run", "Generate text from a prompt", [](CLI::App& sub) {
  auto o = std::make_shared<Opts>();
  add_model_options(sub, o->model);
  add_sampling_options(sub, o->sampling);
  sub.add_option("-p,--prompt", o->prompt, "Prompt text")->required();
  sub.add_option("-n,--n-predict", o->n_predict, "Tokens to generate");
  sub.add_flag("--no-display-prompt", o->no_display_prompt, "Do not echo the prompt");
  sub.add_flag("--ignore-eos", o->ignore_eos, "Keep generating after end-of-generation tokens");
  return [o]() { return run(*o); };
});

}  // namespace
}  // namespace bitnet::cli
