// Model hyper-parameters read from GGUF metadata (spec §1, §3.3). Every value comes from the
// file; nothing is assumed from the architecture name except the graph variant it selects.
#pragma once

#include <cstdint>
#include <string>

#include "backends/backend.h"
#include "core/status.h"
#include "formats/gguf.h"

namespace bitnet {

enum class Arch : uint8_t {
  kBitnetB158,  // "bitnet-b1.58" / "bitnet-25": 2B4T, relu^2 gated FFN, SubLN, NeoX rope
  kBitnet,      // "bitnet": 1bitLLM, SiLU gated FFN, SubLN, NeoX rope
  kLlama,       // "llama" with ternary linears (Llama3-8B-1.58, Falcon3-1.58bit): no SubLN, NORM rope
};

struct ModelConfig {
  std::string arch_name;  // as in general.architecture
  Arch arch = Arch::kBitnetB158;
  std::string name;       // general.name (may be empty)
  int64_t n_vocab = 0;
  int64_t n_ctx_train = 0;
  int64_t d_model = 0;
  int64_t n_layer = 0;
  int64_t n_ff = 0;
  int64_t n_head = 0;
  int64_t n_head_kv = 0;
  int64_t head_dim = 0;
  float rope_theta = 10000.0f;
  float rms_eps = 1e-5f;
  GluAct act = GluAct::kRelu2;
  RopeStyle rope = RopeStyle::kNeox;
  bool sub_norms = true;  // attn_sub_norm / ffn_sub_norm present in the graph

  int64_t kv_dim() const { return n_head_kv * head_dim; }
  int64_t q_dim() const { return n_head * head_dim; }
};

// Reads and validates the config; clear errors for unknown archs and inconsistent values.
Result<ModelConfig> config_from_gguf(const GgufFile& f);

}  // namespace bitnet
