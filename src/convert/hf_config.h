// Hugging Face config.json of a BitNet-family checkpoint, reduced to what the GGUF conversion
// needs, and the mapping to a GGUF architecture (spec §1.1, §1.4, §3.2, §5).
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"

namespace bitnet {

// How a packed checkpoint's `weight_scale` relates to the ternary codes (spec §2.3, §5.1, §5.3):
// AutoBitLinear (2B4T deployment repo): W = weight_scale * T. BitLinear (transformers' default
// linear_class, HF1BitLLM / Falcon3): W = T / weight_scale.
enum class ScaleConvention { kAuto, kMultiply, kDivide };
const char* scale_convention_name(ScaleConvention c);

struct HfConfig {
  std::string architecture;  // architectures[0], e.g. "BitNetForCausalLM"
  std::string model_type;    // "bitnet", "llama", ...
  std::string gguf_arch;     // "bitnet-b1.58" (relu2) or "bitnet" (silu)
  std::string name;          // _name_or_path when present
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t n_layers = 0;
  int64_t n_heads = 0;
  int64_t n_kv_heads = 0;
  int64_t head_dim = 0;
  int64_t max_position_embeddings = 0;
  double rms_norm_eps = 1e-5;
  double rope_theta = 10000.0;
  std::string hidden_act;
  bool tie_word_embeddings = false;
  bool tie_specified = false;  // tie_word_embeddings present in config.json
  // Sub-norm tensor names (2B4T: attn_sub_norm / ffn_sub_norm; 1bitLLM: inner_attn_ln /
  // ffn_layernorm).
  std::string attn_sub_norm_name = "self_attn.attn_sub_norm";
  std::string ffn_sub_norm_name = "mlp.ffn_sub_norm";
  // quantization_config (quant_method "bitnet"), if present.
  bool has_bitnet_quant = false;
  std::string linear_class;       // "autobitlinear" | "bitlinear" (transformers' default)
  std::string quantization_mode;  // "online" | "offline"
  // The convention implied by linear_class (kAuto when there is no quantization_config).
  ScaleConvention scale_convention = ScaleConvention::kAuto;
};

// Parses config.json text. Errors name the missing/invalid key; architectures we cannot convert
// (e.g. LlamaForCausalLM 1.58-bit models, which need q/k permutation and arch "llama") give
// kUnsupported.
Result<HfConfig> parse_hf_config(const std::string& json_text,
                                 const std::string& label = "config.json");

}  // namespace bitnet
