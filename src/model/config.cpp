#include "model/config.h"

#include "core/strings.h"

namespace bitnet {

Result<ModelConfig> config_from_gguf(const GgufFile& f) {
  ModelConfig c;
  auto arch = f.get_string("general.architecture");
  if (!arch) return corrupt("'" + f.path() + "' has no general.architecture key; is it a model file?");
  c.arch_name = *arch;
  if (c.arch_name == "bitnet-b1.58" || c.arch_name == "bitnet-25") {
    c.arch = Arch::kBitnetB158;
    c.act = GluAct::kRelu2;
  } else if (c.arch_name == "bitnet") {
    c.arch = Arch::kBitnet;
    c.act = GluAct::kSilu;
  } else if (c.arch_name == "llama") {
    c.arch = Arch::kLlama;
    c.act = GluAct::kSilu;
    c.rope = RopeStyle::kNorm;  // llama converters permute q/k to adjacent pairs (spec §1.3)
    c.sub_norms = false;
  } else {
    return unsupported("architecture '" + c.arch_name +
                       "' is not supported (supported: bitnet-b1.58, bitnet-25, bitnet, llama with ternary weights)");
  }
  if (auto n = f.get_string("general.name")) c.name = *n;
  const std::string p = c.arch_name + ".";
  auto need_int = [&](const char* key, int64_t* out, int64_t lo, int64_t hi) -> Status {
    auto v = f.get_int(p + key);
    if (!v) return v.status();
    if (*v < lo || *v > hi)
      return corrupt(strfmt("'%s': %s%s = %lld is out of range [%lld, %lld]", f.path().c_str(), p.c_str(), key,
                            (long long)*v, (long long)lo, (long long)hi));
    *out = *v;
    return Status::ok();
  };
  constexpr int64_t kBig = int64_t{1} << 24;
  BITNET_RETURN_IF_ERROR(need_int("context_length", &c.n_ctx_train, 1, kBig));
  BITNET_RETURN_IF_ERROR(need_int("embedding_length", &c.d_model, 1, 1 << 16));
  BITNET_RETURN_IF_ERROR(need_int("block_count", &c.n_layer, 1, 4096));
  BITNET_RETURN_IF_ERROR(need_int("feed_forward_length", &c.n_ff, 1, 1 << 18));
  BITNET_RETURN_IF_ERROR(need_int("attention.head_count", &c.n_head, 1, 4096));
  c.n_head_kv = c.n_head;
  if (f.find(p + "attention.head_count_kv"))
    BITNET_RETURN_IF_ERROR(need_int("attention.head_count_kv", &c.n_head_kv, 1, c.n_head));
  if (c.n_head % c.n_head_kv != 0)
    return corrupt(strfmt("'%s': head_count %lld is not a multiple of head_count_kv %lld", f.path().c_str(),
                          (long long)c.n_head, (long long)c.n_head_kv));
  c.head_dim = c.d_model / c.n_head;
  if (f.find(p + "attention.key_length")) BITNET_RETURN_IF_ERROR(need_int("attention.key_length", &c.head_dim, 2, 1 << 12));
  if (f.find(p + "rope.dimension_count")) {
    int64_t rd;
    BITNET_RETURN_IF_ERROR(need_int("rope.dimension_count", &rd, 2, 1 << 12));
    if (rd != c.head_dim)
      return unsupported(strfmt("'%s': partial rotary embedding (rope.dimension_count %lld != head dim %lld) is not supported",
                                f.path().c_str(), (long long)rd, (long long)c.head_dim));
  }
  if (c.head_dim % 2 != 0) return corrupt("'" + f.path() + "': head dimension must be even");
  if (auto t = f.get_float(p + "rope.freq_base")) c.rope_theta = static_cast<float>(*t);
  if (!(c.rope_theta > 0)) return corrupt("'" + f.path() + "': rope.freq_base must be positive");
  if (auto e = f.get_float(p + "attention.layer_norm_rms_epsilon")) c.rms_eps = static_cast<float>(*e);
  if (!(c.rms_eps > 0 && c.rms_eps < 1)) return corrupt("'" + f.path() + "': rms epsilon out of range");
  for (const char* k : {"rope.scaling.type", "rope.scaling.factor"}) {
    if (const GgufValue* v = f.find(p + k)) {
      if (v->type == GgufType::STRING && v->s == "none") continue;
      if (v->type == GgufType::FLOAT32 && v->f == 1.0) continue;
      return unsupported("'" + f.path() + "': RoPE scaling (" + p + k + ") is not supported yet");
    }
  }
  // Vocabulary size: the embedding matrix is authoritative (checked again when binding weights).
  const GgufTensorInfo* emb = f.find_tensor("token_embd.weight");
  if (!emb) return corrupt("'" + f.path() + "' has no token_embd.weight tensor");
  if (emb->ne.size() < 2) return corrupt("'" + f.path() + "': token_embd.weight must be 2-D");
  c.n_vocab = emb->ne[1];
  return c;
}

}  // namespace bitnet
