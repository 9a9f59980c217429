// `bitnet chat`: interactive chat REPL with history, /clear and /exit, streaming replies.
// Each turn re-renders the whole conversation in the model's chat format, tokenizes it, and
// evaluates only the tokens after the longest prefix already in the KV cache.
#include <cstdio>
#include <iostream>

#include "command.h"
#include "model_options.h"
#include "tokenizer/chat_format.h"
#include "tokenizer/tokenizer.h"

namespace bitnet::cli {
namespace {

struct Opts {
  ModelOptions model;
  SamplerParams sampling;
  std::string system, format;
  int n_predict = 512;
};

int run(const Opts& o) {
  auto eng = load_engine(o.model);
  if (!eng) return 1;
  const Tokenizer* tok = eng->tokenizer();
  if (!tok) return fail(eng->tokenizer_error());
  ChatFormat fmt;
  if (!o.format.empty()) {
    auto f = chat_format_from_name(o.format);
    if (!f) return fail(f.status().to_string());
    fmt = *f;
  } else {
    auto choice = detect_chat_format(tok->vocab().chat_template, eng->info().arch);
    fmt = choice.format;
    std::fprintf(stderr, "chat: format %s (%s)\n", chat_format_name(fmt), choice.reason.c_str());
  }
  auto sess = eng->new_session();
  if (!sess) return fail(sess.status().to_string());
  auto& s = **sess;
  Sampler sampler(o.sampling);
  std::vector<ChatMessage> history;
  if (!o.system.empty()) history.push_back({"system", o.system});
  std::vector<int32_t> in_cache;  // tokens whose K/V are in the session, in order
  std::fprintf(stderr, "chat: type a message; /clear forgets the conversation, /exit quits\n");

  std::string line;
  for (;;) {
    std::fputs("> ", stderr);
    std::fflush(stderr);
    if (!std::getline(std::cin, line)) break;
    if (line == "/exit" || line == "/quit") break;
    if (line == "/clear") {
      history.resize(o.system.empty() ? 0 : 1);
      in_cache.clear();
      s.reset();
      sampler.reset();
      std::fprintf(stderr, "chat: conversation cleared\n");
      continue;
    }
    if (line.empty()) continue;
    history.push_back({"user", line});
    // Render; drop the oldest turns (keeping a system message) while the prompt plus room for a
    // reply does not fit the context.
    std::vector<int32_t> ids;
    for (;;) {
      ids = tok->encode(format_chat(fmt, history, true), tok->add_bos_default(), true);
      const int64_t room = std::min<int64_t>(o.n_predict, s.n_ctx() / 4);
      if (static_cast<int64_t>(ids.size()) + room <= s.n_ctx()) break;
      const size_t first = o.system.empty() ? 0 : 1;
      if (history.size() - first <= 1) break;
      history.erase(history.begin() + static_cast<long>(first));
      std::fprintf(stderr, "chat: context full, dropped the oldest message\n");
    }
    if (static_cast<int64_t>(ids.size()) >= s.n_ctx()) {
      history.pop_back();
      std::fprintf(stderr, "bitnet: error: the message is too long for the context of %lld tokens\n", (long long)s.n_ctx());
      continue;
    }
    size_t common = 0;
    while (common < in_cache.size() && common < ids.size() && in_cache[common] == ids[common]) ++common;
    if (common == ids.size()) --common;  // always evaluate at least one token to get logits
    s.truncate(static_cast<int64_t>(common));
    in_cache.resize(common);
    std::span<const int32_t> fresh(ids.data() + common, ids.size() - common);
    if (Status st = s.eval(fresh); !st) return fail(st.to_string());
    in_cache.insert(in_cache.end(), fresh.begin(), fresh.end());
    for (int32_t t : fresh) sampler.accept(t);

    Detokenizer detok(*tok);
    std::string reply;
    for (int i = 0; i < o.n_predict && s.n_past() < s.n_ctx(); ++i) {
      const int32_t next = sampler.sample(s.logits());
      sampler.accept(next);
      if (tok->is_eog(next)) break;
      std::string piece = detok.push(next);
      reply += piece;
      std::fwrite(piece.data(), 1, piece.size(), stdout);
      std::fflush(stdout);
      if (Status st = s.eval(std::span(&next, 1)); !st) return fail(st.to_string());
      in_cache.push_back(next);
    }
    const std::string rest = detok.flush();
    reply += rest;
    std::fwrite(rest.data(), 1, rest.size(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
    history.push_back({"assistant", reply});
  }
  return 0;
}

BITNET_COMMAND("chat", "Interactive chat with a model (history, /clear, /exit)", [](CLI::App& sub) {
  auto o = std::make_shared<Opts>();
  add_model_options(sub, o->model);
  add_sampling_options(sub, o->sampling);
  sub.add_option("--system", o->system, "System message");
  sub.add_option("--chat-format", o->format, "Override the chat format: bitnet-2b4t | llama3");
  sub.add_option("-n,--n-predict", o->n_predict, "Max tokens per reply");
  return [o]() { return run(*o); };
});

}  // namespace
}  // namespace bitnet::cli
