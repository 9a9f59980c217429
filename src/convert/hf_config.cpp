// config.json parsing for `bitnet convert`; see hf_config.h.
#include "convert/hf_config.h"

#include <nlohmann/json.hpp>

#include "core/strings.h"

namespace bitnet {
namespace {

using json = nlohmann::json;

}  // namespace

const char* scale_convention_name(ScaleConvention c) {
  switch (c) {
    case ScaleConvention::kAuto:
      return "auto";
    case ScaleConvention::kMultiply:
      return "multiply";
    case ScaleConvention::kDivide:
      return "divide";
  }
  return "?";
}

Result<HfConfig> parse_hf_config(const std::string& text, const std::string& label) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return corrupt("'" + label + "' is not a JSON object");
  auto err = [&](const std::string& what) { return corrupt("'" + label + "': " + what); };

  HfConfig c;
  auto get_int = [&](const char* key, int64_t* out, bool required, int64_t lo,
                     int64_t hi) -> Status {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) {
      if (required) return err(std::string("missing key '") + key + "'");
      return Status::ok();
    }
    if (!it->is_number_integer()) return err(std::string("'") + key + "' must be an integer");
    const int64_t v = it->get<int64_t>();
    if (v < lo || v > hi)
      return err(strfmt("'%s' = %lld is out of range [%lld, %lld]", key, (long long)v,
                        (long long)lo, (long long)hi));
    *out = v;
    return Status::ok();
  };
  auto get_num = [&](const json& obj, const char* key, double* out) -> Status {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return Status::ok();
    if (!it->is_number()) return err(std::string("'") + key + "' must be a number");
    *out = it->get<double>();
    return Status::ok();
  };
  auto get_str = [&](const json& obj, const char* key, std::string* out) -> Status {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return Status::ok();
    if (!it->is_string()) return err(std::string("'") + key + "' must be a string");
    *out = it->get<std::string>();
    return Status::ok();
  };

  if (auto a = j.find("architectures");
      a != j.end() && a->is_array() && !a->empty() && (*a)[0].is_string())
    c.architecture = (*a)[0].get<std::string>();
  BITNET_RETURN_IF_ERROR(get_str(j, "model_type", &c.model_type));
  BITNET_RETURN_IF_ERROR(get_str(j, "hidden_act", &c.hidden_act));
  BITNET_RETURN_IF_ERROR(get_str(j, "_name_or_path", &c.name));
  if (c.architecture.empty()) {
    if (c.model_type == "bitnet")
      c.architecture = "BitNetForCausalLM";
    else
      return err("no 'architectures' list; cannot tell which model this is");
  }

  // Architecture -> GGUF arch and tensor naming (spec §3.2, §3.4, §1.4).
  if (c.architecture == "BitNetForCausalLM") {
    if (c.hidden_act.empty()) c.hidden_act = "relu2";  // BitNetConfig default
  } else if (c.architecture == "BitnetForCausalLM") {  // 1bitLLM full-precision checkpoints
    if (c.hidden_act.empty()) c.hidden_act = "silu";
    c.attn_sub_norm_name = "self_attn.inner_attn_ln";
    c.ffn_sub_norm_name = "mlp.ffn_layernorm";
  } else if (c.architecture == "LlamaForCausalLM") {
    return unsupported(
        "'" + label +
        "': LlamaForCausalLM 1.58-bit checkpoints (HF1BitLLM, Falcon3-1.58bit) "
        "are not supported yet: they convert to arch 'llama' with q/k permutation and no "
        "sub-norms (spec §1.4, §5.3); only BitNetForCausalLM / BitnetForCausalLM are handled");
  } else {
    return unsupported("'" + label + "': architecture '" + c.architecture +
                       "' is not supported (supported: BitNetForCausalLM, BitnetForCausalLM)");
  }
  if (c.hidden_act == "relu2")
    c.gguf_arch = "bitnet-b1.58";
  else if (c.hidden_act == "silu" || c.hidden_act == "swish")
    c.gguf_arch = "bitnet";
  else
    return unsupported("'" + label + "': hidden_act '" + c.hidden_act +
                       "' is not supported (relu2 -> bitnet-b1.58, silu -> bitnet)");

  constexpr int64_t kBig = int64_t{1} << 30;
  BITNET_RETURN_IF_ERROR(get_int("vocab_size", &c.vocab_size, true, 1, kBig));
  BITNET_RETURN_IF_ERROR(get_int("hidden_size", &c.hidden_size, true, 1, 1 << 20));
  BITNET_RETURN_IF_ERROR(get_int("intermediate_size", &c.intermediate_size, true, 1, 1 << 22));
  BITNET_RETURN_IF_ERROR(get_int("num_hidden_layers", &c.n_layers, true, 1, 1 << 16));
  BITNET_RETURN_IF_ERROR(get_int("num_attention_heads", &c.n_heads, true, 1, 1 << 16));
  c.n_kv_heads = c.n_heads;
  BITNET_RETURN_IF_ERROR(get_int("num_key_value_heads", &c.n_kv_heads, false, 1, c.n_heads));
  if (c.n_heads % c.n_kv_heads != 0)
    return err(strfmt("num_attention_heads %lld is not a multiple of num_key_value_heads %lld",
                      (long long)c.n_heads, (long long)c.n_kv_heads));
  if (c.hidden_size % c.n_heads != 0)
    return unsupported(
        strfmt("'%s': hidden_size %lld is not a multiple of num_attention_heads %lld",
               label.c_str(), (long long)c.hidden_size, (long long)c.n_heads));
  c.head_dim = c.hidden_size / c.n_heads;
  int64_t hd = c.head_dim;
  BITNET_RETURN_IF_ERROR(get_int("head_dim", &hd, false, 1, 1 << 16));
  if (hd != c.head_dim)
    return unsupported(
        strfmt("'%s': head_dim %lld differs from hidden_size / num_attention_heads = %lld; "
               "GGUF bitnet archs derive the head size from the embedding width",
               label.c_str(), (long long)hd, (long long)c.head_dim));
  if (c.head_dim % 2 != 0) return err("head dimension must be even for RoPE");
  c.max_position_embeddings = 2048;  // BitNetConfig default
  BITNET_RETURN_IF_ERROR(
      get_int("max_position_embeddings", &c.max_position_embeddings, false, 1, kBig));
  BITNET_RETURN_IF_ERROR(get_num(j, "rms_norm_eps", &c.rms_norm_eps));
  if (!(c.rms_norm_eps > 0 && c.rms_norm_eps < 1)) return err("rms_norm_eps must be in (0, 1)");

  // RoPE: transformers < 5 writes rope_theta (+ rope_scaling); 5.x writes rope_parameters.
  c.rope_theta =
      c.architecture == "BitNetForCausalLM" ? 500000.0 : 10000.0;  // config-class defaults
  BITNET_RETURN_IF_ERROR(get_num(j, "rope_theta", &c.rope_theta));
  for (const char* key : {"rope_parameters", "rope_scaling"}) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) continue;
    if (!it->is_object()) return err(std::string("'") + key + "' must be an object");
    BITNET_RETURN_IF_ERROR(get_num(*it, "rope_theta", &c.rope_theta));
    std::string type;
    BITNET_RETURN_IF_ERROR(get_str(*it, "rope_type", &type));
    if (type.empty()) BITNET_RETURN_IF_ERROR(get_str(*it, "type", &type));
    if (!type.empty() && type != "default")
      return unsupported("'" + label + "': RoPE scaling '" + type + "' is not supported");
  }
  if (!(c.rope_theta > 0)) return err("rope_theta must be positive");

  if (auto it = j.find("tie_word_embeddings"); it != j.end() && !it->is_null()) {
    if (!it->is_boolean()) return err("'tie_word_embeddings' must be a boolean");
    c.tie_word_embeddings = it->get<bool>();
    c.tie_specified = true;
  }

  if (auto q = j.find("quantization_config"); q != j.end() && !q->is_null()) {
    if (!q->is_object()) return err("'quantization_config' must be an object");
    std::string method;
    BITNET_RETURN_IF_ERROR(get_str(*q, "quant_method", &method));
    if (method != "bitnet")
      return unsupported("'" + label + "': quantization_config.quant_method '" + method +
                         "' is not supported (only 'bitnet')");
    c.has_bitnet_quant = true;
    c.linear_class = "bitlinear";  // BitNetQuantConfig defaults
    c.quantization_mode = "offline";
    BITNET_RETURN_IF_ERROR(get_str(*q, "linear_class", &c.linear_class));
    BITNET_RETURN_IF_ERROR(get_str(*q, "quantization_mode", &c.quantization_mode));
    if (c.linear_class == "autobitlinear")
      c.scale_convention = ScaleConvention::kMultiply;
    else if (c.linear_class == "bitlinear")
      c.scale_convention = ScaleConvention::kDivide;
    else
      return unsupported("'" + label + "': quantization_config.linear_class '" + c.linear_class +
                         "' is unknown");
    if (auto r = q->find("use_rms_norm"); r != q->end() && r->is_boolean() && r->get<bool>())
      return unsupported("'" + label +
                         "': quantization_config.use_rms_norm (an extra RMSNorm inside every "
                         "BitLinear) is not supported");
  }
  return c;
}

}  // namespace bitnet
