// `bitnet synth`: write a random-weight model in the official 2B4T GGUF layout.
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "command.h"
#include "core/timer.h"
#include "formats/ggml_types.h"
#include "model/synth.h"

namespace bitnet::cli {
namespace {

// Where `make vocab` leaves the Llama-3 vocabulary relative to this executable
// (build/<preset>/bin/bitnet -> build/vocab/llama3-vocab.gguf).
std::string default_vocab() {
  if (const char* env = std::getenv("BITNET_VOCAB"); env && *env) return env;
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "";
  const auto p = exe.parent_path().parent_path().parent_path() / "vocab" / "llama3-vocab.gguf";
  return std::filesystem::exists(p, ec) ? p.string() : "";
}

struct Opts {
  std::string out, preset = "tiny", arch = "bitnet-b1.58", weights = "i2_s", head = "f16", vocab;
  uint64_t seed = 1;
};

BITNET_COMMAND("synth", "Write a random-weight BitNet model (official 2B4T layout) for tests and benchmarks",
               [](CLI::App& sub) {
  auto o = std::make_shared<Opts>();
  sub.add_option("-o,--output", o->out, "Output GGUF path")->required();
  sub.add_option("--preset", o->preset, "tiny | 2b4t (the exact published 2B4T shape)");
  sub.add_option("--arch", o->arch,
                 "general.architecture: bitnet-b1.58 (official, relu² GLU) | bitnet-25 (same graph) | "
                 "bitnet (SiLU GLU, as mainline llama.cpp expects)");
  sub.add_option("--weights", o->weights, "Ternary weight format: i2_s | tq2_0 | tq1_0");
  sub.add_option("--head", o->head, "token_embd / tied head type: f16 | q8_0 | q6_k | q4_k");
  sub.add_option("--vocab", o->vocab,
                 "GGUF to copy the vocabulary from, or 'bytes' for a byte-level one (default: $BITNET_VOCAB, "
                 "else the Llama-3 vocabulary from `make vocab` if present, else bytes)");
  sub.add_option("--seed", o->seed, "Random seed");
  return [o]() -> int {
    SynthOptions so;
    so.preset = o->preset;
    so.seed = o->seed;
    so.arch = o->arch;
    so.vocab_path = o->vocab.empty() ? default_vocab() : (o->vocab == "bytes" ? "" : o->vocab);
    auto w = ggml_type_from_name(o->weights);
    if (!w || !ggml_type_is_ternary(*w)) return fail("--weights must be i2_s, tq2_0 or tq1_0, not '" + o->weights + "'");
    so.weights = *w;
    auto h = ggml_type_from_name(o->head);
    if (!h || (*h != GgmlType::F16 && *h != GgmlType::Q8_0 && *h != GgmlType::Q6_K && *h != GgmlType::Q4_K))
      return fail("--head must be f16, q8_0, q6_k or q4_k, not '" + o->head + "'");
    so.embd = *h;
    Timer t;
    Status st = synth_model(so, o->out);
    if (!st) return fail(st.to_string());
    std::fprintf(stderr, "synth: wrote %s (preset %s, arch %s, %s weights, %s head, vocabulary %s) in %.1f s\n",
                 o->out.c_str(), o->preset.c_str(), o->arch.c_str(), o->weights.c_str(), o->head.c_str(),
                 so.vocab_path.empty() ? "byte-level" : so.vocab_path.c_str(), t.seconds());
    return 0;
  };
});

}  // namespace
}  // namespace bitnet::cli
