// `bitnet perplexity`: llama.cpp-style perplexity over a text file. The text is split into chunks
// of ctx tokens (first token replaced by BOS when the model adds one); each chunk is evaluated
// from scratch and only its second half is scored, so every scored token sees >= ctx/2 context.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "command.h"
#include "core/timer.h"
#include "model_options.h"
#include "tokenizer/tokenizer.h"

namespace bitnet::cli {
namespace {

struct Opts {
  ModelOptions model;
  std::string file;
  int64_t max_chunks = 0;
};

int run(const Opts& o) {
  std::ifstream in(o.file, std::ios::binary);
  if (!in) return fail("cannot open text file '" + o.file + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();

  auto eng = load_engine(o.model);
  if (!eng) return 1;
  const Tokenizer* tok = eng->tokenizer();
  if (!tok) return fail(eng->tokenizer_error());
  const int64_t n_ctx = eng->options().n_ctx;
  if (n_ctx < 4) return fail("context must be at least 4 tokens");
  std::vector<int32_t> ids = tok->encode(text, tok->add_bos_default(), false);
  int64_t n_chunk = static_cast<int64_t>(ids.size()) / n_ctx;
  if (o.max_chunks > 0) n_chunk = std::min(n_chunk, o.max_chunks);
  if (n_chunk < 1)
    return fail("'" + o.file + "' has " + std::to_string(ids.size()) + " tokens; need at least " +
                std::to_string(n_ctx) + " (one chunk of -c tokens)");
  auto sess = eng->new_session(true);
  if (!sess) return fail(sess.status().to_string());
  auto& s = **sess;
  std::fprintf(stderr, "perplexity: %zu tokens, %lld chunks of %lld\n", ids.size(), (long long)n_chunk, (long long)n_ctx);

  const int64_t first = n_ctx / 2;
  double nll = 0;
  int64_t count = 0;
  Timer t;
  for (int64_t c = 0; c < n_chunk; ++c) {
    std::vector<int32_t> chunk(ids.begin() + c * n_ctx, ids.begin() + (c + 1) * n_ctx);
    if (tok->add_bos_default() && tok->bos_id() >= 0) chunk[0] = tok->bos_id();
    s.reset();
    if (Status st = s.eval(chunk, true); !st) return fail(st.to_string());
    for (int64_t j = first; j < n_ctx - 1; ++j) {
      auto lg = s.logits_at(j);
      float mx = lg[0];
      for (float v : lg) mx = std::max(mx, v);
      double sum = 0;
      for (float v : lg) sum += std::exp(double(v) - mx);
      const double logp = double(lg[chunk[j + 1]]) - mx - std::log(sum);
      nll -= logp;
      ++count;
    }
    std::printf("[%lld]%.4f,", (long long)(c + 1), std::exp(nll / count));
    std::fflush(stdout);
  }
  std::printf("\n");
  std::fprintf(stderr, "perplexity: %.1f s, %.1f tokens/s\n", t.seconds(), n_chunk * n_ctx / t.seconds());
  std::printf("PPL = %.4f\n", std::exp(nll / count));
  return 0;
}

BITNET_COMMAND("perplexity", "Perplexity of a model over a text file", [](CLI::App& sub) {
  auto o = std::make_shared<Opts>();
  add_model_options(sub, o->model, 512);
  sub.add_option("-f,--file", o->file, "Text file")->required();
  sub.add_option("--chunks", o->max_chunks, "Score at most this many chunks (0 = all)");
  return [o]() { return run(*o); };
});

}  // namespace
}  // namespace bitnet::cli
