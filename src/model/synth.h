// Random-weight BitNet models in the official 2B4T GGUF layout (arch bitnet-b1.58 by default, F32 norms,
// F16/Q8_0/Q6_K/Q4_K token_embd, no output.weight, ternary linears), for tests, demos and benchmarks.
// The weights are random, so generated text is gibberish; shapes, formats and speed are real.
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"
#include "formats/ggml_types.h"

namespace bitnet {

class GgufWriter;

struct SynthOptions {
  std::string preset = "tiny";       // tiny | 2b4t
  // general.architecture: bitnet-b1.58 (official 2B4T, relu² GLU) | bitnet-25 (same graph) |
  // bitnet (SiLU GLU; the only BitNet arch mainline llama.cpp knows). Same tensors for all three.
  std::string arch = "bitnet-b1.58";
  GgmlType weights = GgmlType::I2_S; // I2_S | TQ2_0 | TQ1_0
  GgmlType embd = GgmlType::F16;     // token_embd (= tied head): F16 | Q8_0 | Q6_K | Q4_K
  uint64_t seed = 1;
  // Optional GGUF whose tokenizer.* keys are copied (e.g. the Llama-3 vocabulary). Without it a
  // byte-level vocabulary (256 byte tokens + Llama-3-style special tokens) is written.
  std::string vocab_path;
};

struct SynthShape {
  int64_t d_model, n_layer, n_head, n_head_kv, n_ff, n_vocab, n_ctx;
  float rope_theta;
};

Result<SynthShape> synth_shape(const std::string& preset);

// Writes the model to `out_path`.
Status synth_model(const SynthOptions& opt, const std::string& out_path);

// The byte-level fallback vocabulary's keys (tokenizer.ggml.*), n_vocab entries.
void write_byte_vocab(GgufWriter& w, int64_t n_vocab);

}  // namespace bitnet
