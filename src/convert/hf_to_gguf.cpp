// HF BitNet -> GGUF conversion; see hf_to_gguf.h. Tensor names, shapes and keys: spec §3.3/§3.4.
#include "convert/hf_to_gguf.h"

#include <sys/stat.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <vector>

#include "convert/hf_packing.h"
#include "core/strings.h"
#include "formats/gguf.h"
#include "formats/safetensors.h"
#include "formats/ternary_codecs.h"
#include "tokenizer/vocab.h"

namespace bitnet {
namespace {

std::string join_path(const std::string& dir, const std::string& name) {
  if (dir.empty() || dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

bool is_file(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

Result<std::string> read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return not_found("cannot open '" + path + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string basename_of(std::string dir) {
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  const size_t s = dir.rfind('/');
  return s == std::string::npos ? dir : dir.substr(s + 1);
}

// general.file_type (llama ftype) of the bitnet.cpp fork / mainline (spec §3.5).
uint32_t file_type_of(GgmlType t) {
  switch (t) {
    case GgmlType::I2_S:
      return 40;
    case GgmlType::TQ2_0:
      return 37;
    case GgmlType::TQ1_0:
      return 36;
    default:
      return 0;
  }
}

bool is_float(StDtype d) {
  return d == StDtype::F32 || d == StDtype::F16 || d == StDtype::BF16 || d == StDtype::F64;
}

// Builds the GGUF tensor list from the checkpoint, tracking which source tensors were used.
class Converter {
 public:
  Converter(const ConvertOptions& o, const HfConfig& c, const SafetensorsModel& m, GgufWriter& w,
            ConvertReport& r)
      : opts_(o), cfg_(c), st_(m), w_(w), rep_(r) {}

  Status run() {
    BITNET_RETURN_IF_ERROR(check_types());
    const std::string emb_name = "model.embed_tokens.weight";
    const StTensor* emb = need(emb_name);
    if (!emb) return missing(emb_name);
    if (emb->shape.size() != 2 || emb->shape[1] != cfg_.hidden_size)
      return corrupt(strfmt("%s has shape %s; expected [vocab, %lld]", emb_name.c_str(),
                            emb->shape_str().c_str(), (long long)cfg_.hidden_size));
    n_vocab_ = emb->shape[0];
    if (n_vocab_ < 1) return corrupt(emb_name + " has no rows");
    BITNET_RETURN_IF_ERROR(add_matrix("token_embd.weight", *emb));

    BITNET_RETURN_IF_ERROR(add_norm("output_norm.weight", "model.norm.weight", cfg_.hidden_size));

    // Untied output head (spec §3.4: the official tied file has no output.weight).
    const StTensor* head = st_.find("lm_head.weight");
    rep_.tied = true;
    if (head) {
      used_.insert("lm_head.weight");
      if (cfg_.tie_specified && cfg_.tie_word_embeddings) {
        note("lm_head.weight ignored: config.json ties it to the embeddings");
      } else {
        if (head->shape.size() != 2 || head->shape[0] != n_vocab_ ||
            head->shape[1] != cfg_.hidden_size)
          return corrupt(strfmt("lm_head.weight has shape %s; expected [%lld, %lld]",
                                head->shape_str().c_str(), (long long)n_vocab_,
                                (long long)cfg_.hidden_size));
        rep_.tied = false;
        BITNET_RETURN_IF_ERROR(add_matrix("output.weight", *head));
      }
    } else if (cfg_.tie_specified && !cfg_.tie_word_embeddings) {
      note(
          "config.json says tie_word_embeddings=false but there is no lm_head.weight; using the "
          "embeddings");
    }

    const int64_t d = cfg_.hidden_size, ff = cfg_.intermediate_size, hd = cfg_.head_dim;
    for (int64_t l = 0; l < cfg_.n_layers; ++l) {
      const std::string hf = strfmt("model.layers.%lld.", (long long)l);
      const std::string gg = strfmt("blk.%lld.", (long long)l);
      BITNET_RETURN_IF_ERROR(add_norm(gg + "attn_norm.weight", hf + "input_layernorm.weight", d));
      BITNET_RETURN_IF_ERROR(
          add_linear(gg + "attn_q.weight", hf + "self_attn.q_proj", cfg_.n_heads * hd, d));
      BITNET_RETURN_IF_ERROR(
          add_linear(gg + "attn_k.weight", hf + "self_attn.k_proj", cfg_.n_kv_heads * hd, d));
      BITNET_RETURN_IF_ERROR(
          add_linear(gg + "attn_v.weight", hf + "self_attn.v_proj", cfg_.n_kv_heads * hd, d));
      BITNET_RETURN_IF_ERROR(
          add_linear(gg + "attn_output.weight", hf + "self_attn.o_proj", d, cfg_.n_heads * hd));
      BITNET_RETURN_IF_ERROR(
          add_norm(gg + "attn_sub_norm.weight", hf + cfg_.attn_sub_norm_name + ".weight", d));
      BITNET_RETURN_IF_ERROR(
          add_norm(gg + "ffn_norm.weight", hf + "post_attention_layernorm.weight", d));
      BITNET_RETURN_IF_ERROR(add_linear(gg + "ffn_gate.weight", hf + "mlp.gate_proj", ff, d));
      BITNET_RETURN_IF_ERROR(add_linear(gg + "ffn_up.weight", hf + "mlp.up_proj", ff, d));
      BITNET_RETURN_IF_ERROR(add_linear(gg + "ffn_down.weight", hf + "mlp.down_proj", d, ff));
      BITNET_RETURN_IF_ERROR(
          add_norm(gg + "ffn_sub_norm.weight", hf + cfg_.ffn_sub_norm_name + ".weight", ff));
    }

    // Anything left over (biases, extra layers, unknown modules) would be silently dropped: refuse.
    for (const auto& n : st_.names()) {
      if (used_.count(n)) continue;
      if (n.find("rotary_emb.inv_freq") != std::string::npos) continue;
      return unsupported("checkpoint tensor '" + n +
                         "' has no place in the GGUF (biases, extra layers and unknown modules are "
                         "not supported)");
    }
    return Status::ok();
  }

  int64_t n_vocab() const { return n_vocab_; }

 private:
  void note(const std::string& s) {
    if (opts_.log) opts_.log(s);
  }
  Status missing(const std::string& name) {
    return not_found("checkpoint in '" + opts_.hf_dir + "' has no tensor '" + name + "'");
  }
  const StTensor* need(const std::string& name) {
    const StTensor* t = st_.find(name);
    if (t) used_.insert(name);
    return t;
  }

  Status check_types() {
    if (!ggml_type_is_ternary(opts_.weight_type))
      return invalid_argument("weight type must be i2_s, tq2_0 or tq1_0");
    if (opts_.head_type != GgmlType::F16 && opts_.head_type != GgmlType::F32 &&
        opts_.head_type != GgmlType::Q8_0)
      return invalid_argument("head type must be f16, f32 or q8_0");
    if (opts_.head_type == GgmlType::Q8_0 && cfg_.hidden_size % 32 != 0)
      return unsupported(strfmt("q8_0 head needs hidden_size %% 32 == 0 (hidden_size is %lld)",
                                (long long)cfg_.hidden_size));
    return Status::ok();
  }

  // Embedding / untied head: HF [rows, d] row-major == GGUF ne [d, rows].
  Status add_matrix(const std::string& gguf_name, const StTensor& t) {
    BITNET_ASSIGN_OR_RETURN(std::vector<float> x, st_read_f32(t));
    const int64_t rows = t.shape[0], cols = t.shape[1];
    const auto nb = ggml_tensor_nbytes(opts_.head_type, std::vector<int64_t>{cols, rows});
    if (!nb)
      return unsupported("tensor '" + gguf_name + "': shape not representable in the head type");
    std::vector<uint8_t> bytes(*nb);
    switch (opts_.head_type) {
      case GgmlType::F32:
        std::memcpy(bytes.data(), x.data(), bytes.size());
        break;
      case GgmlType::F16:
        f32_to_f16_row(x.data(), rows * cols, reinterpret_cast<uint16_t*>(bytes.data()));
        break;
      case GgmlType::Q8_0:
        quantize_q8_0(x.data(), rows * cols, bytes.data());
        break;
      default:
        return invalid_argument("unsupported head type");
    }
    return w_.add_tensor(gguf_name, opts_.head_type, {cols, rows}, std::move(bytes));
  }

  Status add_norm(const std::string& gguf_name, const std::string& hf_name, int64_t n) {
    const StTensor* t = need(hf_name);
    if (!t) return missing(hf_name);
    if (t->numel() != n || t->shape.size() != 1)
      return corrupt(strfmt("%s has shape %s; expected [%lld]", hf_name.c_str(),
                            t->shape_str().c_str(), (long long)n));
    BITNET_ASSIGN_OR_RETURN(std::vector<float> x, st_read_f32(*t));
    std::vector<uint8_t> bytes(static_cast<size_t>(n) * 4);
    std::memcpy(bytes.data(), x.data(), bytes.size());
    return w_.add_tensor(gguf_name, GgmlType::F32, {n}, std::move(bytes));
  }

  // Ternary codes + per-tensor scale of one linear, from a master or a packed tensor.
  Status load_ternary(const std::string& hf, int64_t out, int64_t in, std::vector<int8_t>* tern,
                      float* scale) {
    const std::string wname = hf + ".weight";
    const StTensor* w = need(wname);
    if (!w) return missing(wname);
    tern->assign(static_cast<size_t>(out * in), 0);
    if (is_float(w->dtype)) {
      if (w->shape != std::vector<int64_t>{out, in})
        return corrupt(strfmt("%s has shape %s; expected [%lld, %lld]", wname.c_str(),
                              w->shape_str().c_str(), (long long)out, (long long)in));
      BITNET_ASSIGN_OR_RETURN(std::vector<float> x, st_read_f32(*w));
      for (float v : x)
        if (!std::isfinite(v)) return corrupt(wname + " contains a non-finite value");
      // Already ternary ({-a, 0, +a}, e.g. bitnet.cpp's preprocess output): keep a. Re-running
      // absmean would shrink the scale by the fraction of non-zeros.
      float a = 0;
      bool ternary = true;
      for (float v : x) {
        if (v == 0) continue;
        if (a == 0) a = std::fabs(v);
        if (std::fabs(v) != a) {
          ternary = false;
          break;
        }
      }
      if (ternary && a > 0) {
        for (size_t i = 0; i < x.size(); ++i)
          (*tern)[i] = static_cast<int8_t>(x[i] > 0 ? 1 : (x[i] < 0 ? -1 : 0));
        *scale = a;
      } else {
        *scale = ternarize_absmean(x.data(), out * in, tern->data());
      }
      ++rep_.n_linears_master;
      return Status::ok();
    }
    if (w->dtype == StDtype::U8) {
      if (out % 4 != 0 || w->shape != std::vector<int64_t>{out / 4, in})
        return corrupt(strfmt(
            "%s is packed U8 %s; expected [%lld, %lld] (rows/4, cols) for a [%lld, %lld] linear",
            wname.c_str(), w->shape_str().c_str(), (long long)(out / 4), (long long)in,
            (long long)out, (long long)in));
      const std::string sname = hf + ".weight_scale";
      const StTensor* s = need(sname);
      if (!s) return not_found("packed " + wname + " has no " + sname);
      if (s->numel() != 1)
        return unsupported(sname + " has shape " + s->shape_str() +
                           "; only one scale per tensor is supported");
      BITNET_ASSIGN_OR_RETURN(std::vector<float> sv, st_read_f32(*s));
      const float ws = sv[0];
      if (!std::isfinite(ws) || !(ws > 0))
        return corrupt(strfmt("%s = %g is not a positive number", sname.c_str(), ws));
      ScaleConvention conv = opts_.scale_convention != ScaleConvention::kAuto
                                 ? opts_.scale_convention
                                 : cfg_.scale_convention;
      if (conv == ScaleConvention::kAuto)
        return invalid_argument(
            "packed weights without quantization_config.linear_class: say whether weight_scale "
            "multiplies (autobitlinear, 2B4T) or divides (bitlinear, HF1BitLLM/Falcon3) with "
            "--scale-convention");
      *scale = conv == ScaleConvention::kMultiply ? ws : 1.0f / ws;
      BITNET_RETURN_IF_ERROR(unpack_hf_ternary(w->data, out, in, tern->data(), wname));
      ++rep_.n_linears_packed;
      return Status::ok();
    }
    return unsupported(
        strfmt("%s has dtype %s shape %s; expected a float [%lld, %lld] master or a packed U8 "
               "[%lld, %lld] with weight_scale",
               wname.c_str(), st_dtype_name(w->dtype), w->shape_str().c_str(), (long long)out,
               (long long)in, (long long)(out / 4), (long long)in));
  }

  Status add_linear(const std::string& gguf_name, const std::string& hf, int64_t out, int64_t in) {
    const GgmlType t = opts_.weight_type;
    const int64_t n = out * in;
    if (t == GgmlType::I2_S && n % 128 != 0)
      return unsupported(
          strfmt("%s: I2_S needs in*out %% 128 == 0, but %s is [in %lld, out %lld]; use another "
                 "weight type",
                 gguf_name.c_str(), hf.c_str(), (long long)in, (long long)out));
    if ((t == GgmlType::TQ2_0 || t == GgmlType::TQ1_0) && in % 256 != 0)
      return unsupported(strfmt(
          "%s: %s needs in-features %% 256 == 0, but %s has %lld in-features; use i2_s",
          gguf_name.c_str(), t == GgmlType::TQ2_0 ? "TQ2_0" : "TQ1_0", hf.c_str(), (long long)in));
    std::vector<int8_t> tern;
    float scale = 0;
    BITNET_RETURN_IF_ERROR(load_ternary(hf, out, in, &tern, &scale));
    const auto nb = ggml_tensor_nbytes(t, std::vector<int64_t>{in, out});
    if (!nb)
      return unsupported("tensor '" + gguf_name + "': shape not representable in the weight type");
    std::vector<uint8_t> bytes(*nb);
    if (t == GgmlType::I2_S) {
      pack_i2s(tern.data(), n, scale,
               bytes.data());  // one f32 scale per tensor in the tail (spec §4.1.1)
    } else {
      // TQ blocks store their own f16 scale = block absmax = the tensor scale (0 for all-zero
      // blocks).
      std::vector<float> x(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; ++i) x[i] = scale * static_cast<float>(tern[i]);
      if (t == GgmlType::TQ2_0)
        quantize_tq2_0(x.data(), n, bytes.data());
      else
        quantize_tq1_0(x.data(), n, bytes.data());
    }
    return w_.add_tensor(gguf_name, t, {in, out}, std::move(bytes));
  }

  const ConvertOptions& opts_;
  const HfConfig& cfg_;
  const SafetensorsModel& st_;
  GgufWriter& w_;
  ConvertReport& rep_;
  std::set<std::string> used_;
  int64_t n_vocab_ = 0;
};

}  // namespace

Status convert_hf_to_gguf(const ConvertOptions& opts, ConvertReport* report) {
  ConvertReport local;
  ConvertReport& rep = report ? *report : local;
  rep = ConvertReport{};
  const std::string cfg_path = join_path(opts.hf_dir, "config.json");
  if (!is_file(cfg_path))
    return not_found("'" + opts.hf_dir +
                     "' has no config.json; expected a Hugging Face checkpoint directory "
                     "(config.json + *.safetensors)");
  BITNET_ASSIGN_OR_RETURN(std::string cfg_text, read_text(cfg_path));
  BITNET_ASSIGN_OR_RETURN(HfConfig cfg, parse_hf_config(cfg_text, cfg_path));
  BITNET_ASSIGN_OR_RETURN(SafetensorsModel st, SafetensorsModel::open_dir(opts.hf_dir));
  rep.gguf_arch = cfg.gguf_arch;

  // Tensors go into a separate writer first so that metadata (which needs n_vocab) keeps the
  // official key order; GgufWriter lays tensors out in insertion order regardless of keys.
  GgufWriter w;
  const std::string a = cfg.gguf_arch;
  w.set_string("general.architecture", a);
  std::string name = opts.name;
  if (name.empty()) name = cfg.name;
  if (name.empty()) name = basename_of(opts.hf_dir);
  w.set_string("general.name", name);
  w.set_u32(a + ".vocab_size", 0);  // placeholder, set below (keeps the key order of spec §3.3)
  w.set_u32(a + ".context_length", static_cast<uint32_t>(cfg.max_position_embeddings));
  w.set_u32(a + ".embedding_length", static_cast<uint32_t>(cfg.hidden_size));
  w.set_u32(a + ".block_count", static_cast<uint32_t>(cfg.n_layers));
  w.set_u32(a + ".feed_forward_length", static_cast<uint32_t>(cfg.intermediate_size));
  w.set_u32(a + ".rope.dimension_count", static_cast<uint32_t>(cfg.head_dim));
  w.set_u32(a + ".attention.head_count", static_cast<uint32_t>(cfg.n_heads));
  w.set_u32(a + ".attention.head_count_kv", static_cast<uint32_t>(cfg.n_kv_heads));
  w.set_f32(a + ".attention.layer_norm_rms_epsilon", static_cast<float>(cfg.rms_norm_eps));
  w.set_f32(a + ".rope.freq_base", static_cast<float>(cfg.rope_theta));
  w.set_u32("general.file_type", file_type_of(opts.weight_type));

  Converter conv(opts, cfg, st, w, rep);
  BITNET_RETURN_IF_ERROR(conv.run());
  const int64_t n_vocab = conv.n_vocab();
  w.set_u32(a + ".vocab_size", static_cast<uint32_t>(n_vocab));
  if (n_vocab != cfg.vocab_size && opts.log)
    opts.log(strfmt("note: embedding has %lld rows, config.json vocab_size is %lld; using %lld",
                    (long long)n_vocab, (long long)cfg.vocab_size, (long long)n_vocab));

  // Vocabulary from tokenizer.json (spec §6.3). Without one the file still runs on token ids.
  const std::string tok_path = join_path(opts.hf_dir, "tokenizer.json");
  if (!opts.vocab) {
    rep.vocab_note = "vocabulary conversion disabled";
  } else if (!is_file(tok_path)) {
    rep.vocab_note = "no tokenizer.json in '" + opts.hf_dir + "'";
  } else {
    BITNET_ASSIGN_OR_RETURN(Vocab v, vocab_from_tokenizer_json(tok_path));
    if (v.size() > n_vocab)
      return corrupt(strfmt("tokenizer.json has %d tokens but the embedding has only %lld rows",
                            v.size(), (long long)n_vocab));
    // Pad to the embedding size (HF pads embeddings to a multiple of 64 etc.): unused tokens.
    for (int64_t i = v.size(); i < n_vocab; ++i) {
      v.tokens.push_back(strfmt("[PAD%lld]", (long long)i));
      v.token_types.push_back(static_cast<int32_t>(TokenType::kUnused));
      v.scores.push_back(0.0f);
    }
    BITNET_RETURN_IF_ERROR(v.validate());
    vocab_to_gguf(v, w);
    rep.vocab_written = true;
  }
  w.set_u32("general.quantization_version", 2);

  // Write to a temporary name and rename, so a failed run never leaves a truncated model behind.
  const std::string tmp = opts.out_path + ".tmp";
  BITNET_RETURN_IF_ERROR(w.write(tmp));
  if (std::rename(tmp.c_str(), opts.out_path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return io_error("cannot rename '" + tmp + "' to '" + opts.out_path +
                    "': " + std::strerror(errno));
  }
  struct stat sb {};
  if (::stat(opts.out_path.c_str(), &sb) == 0) rep.file_bytes = static_cast<uint64_t>(sb.st_size);
  rep.n_tensors = static_cast<int64_t>(cfg.n_layers) * 11 + 2 + (rep.tied ? 0 : 1);
  return Status::ok();
}

}  // namespace bitnet
