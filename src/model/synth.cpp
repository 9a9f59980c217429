#include "model/synth.h"

#include <cmath>
#include <cstring>
#include <vector>

#include "core/fp16.h"
#include "core/strings.h"
#include "formats/gguf.h"
#include "formats/ternary_codecs.h"

namespace bitnet {
namespace {

// xoshiro-style fast deterministic generator (splitmix64); quality is ample for random weights.
struct Rng {
  uint64_t s;
  explicit Rng(uint64_t seed) : s(seed * 0x9e3779b97f4a7c15ull + 1) {}
  uint64_t next() {
    uint64_t z = (s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
};

// Uniform random codes {0,1,2} packed 4 per byte (I2_S, TQ2_0 use 2-bit fields): every byte is
// one of the 81 valid combinations, so no field ever holds the invalid code 3.
void random_2bit_bytes(Rng& rng, uint8_t* out, size_t n) {
  uint8_t table[81];
  for (int v = 0; v < 81; ++v) table[v] = static_cast<uint8_t>((v % 3) | (v / 3 % 3) << 2 | (v / 9 % 3) << 4 | (v / 27) << 6);
  for (size_t i = 0; i < n;) {
    uint64_t r = rng.next();
    for (int k = 0; k < 8 && i < n; ++k, r >>= 8) out[i++] = table[(r & 0xff) % 81];
  }
}

std::vector<uint8_t> random_ternary(Rng& rng, GgmlType type, int64_t k, int64_t m, float gamma) {
  const int64_t n = k * m;
  std::vector<uint8_t> out(*ggml_tensor_nbytes(type, std::vector<int64_t>{k, m}));
  const uint16_t d = f32_to_f16(gamma);
  if (type == GgmlType::I2_S) {
    random_2bit_bytes(rng, out.data(), static_cast<size_t>(n / 4));
    std::memcpy(out.data() + n / 4, &gamma, 4);
  } else if (type == GgmlType::TQ2_0) {
    for (int64_t b = 0; b < n / 256; ++b) {
      random_2bit_bytes(rng, out.data() + b * 66, 64);
      std::memcpy(out.data() + b * 66 + 64, &d, 2);
    }
  } else {  // TQ1_0: 48 bytes of 5 trits, 4 bytes of 4 trits, f16 d
    for (int64_t b = 0; b < n / 256; ++b) {
      uint8_t* blk = out.data() + b * 54;
      for (int j = 0; j < 52; ++j) {
        int v = j < 48 ? static_cast<int>(rng.next() % 243) : static_cast<int>(rng.next() % 81) * 3;
        blk[j] = static_cast<uint8_t>((v * 256 + 242) / 243);
      }
      std::memcpy(blk + 52, &d, 2);
    }
  }
  return out;
}

}  // namespace

Result<SynthShape> synth_shape(const std::string& preset) {
  if (preset == "tiny") return SynthShape{256, 4, 4, 2, 768, 512, 1024, 500000.0f};
  if (preset == "2b4t") return SynthShape{2560, 30, 20, 5, 6912, 128256, 4096, 500000.0f};
  return invalid_argument("unknown preset '" + preset + "' (choose tiny or 2b4t)");
}

void write_byte_vocab(GgufWriter& w, int64_t n_vocab) {
  // GPT-2 byte-to-unicode alphabet: printable bytes map to themselves, the other 68 to U+0100...
  std::vector<std::string> tokens;
  std::vector<int32_t> types;
  int extra = 0;
  for (int b = 0; b < 256; ++b) {
    const bool keep = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae);
    const uint32_t cp = keep ? static_cast<uint32_t>(b) : 0x100u + static_cast<uint32_t>(extra++);
    std::string s;
    if (cp < 0x80) s += static_cast<char>(cp);
    else { s += static_cast<char>(0xc0 | (cp >> 6)); s += static_cast<char>(0x80 | (cp & 0x3f)); }
    tokens.push_back(s);
    types.push_back(1);  // NORMAL
  }
  const char* specials[] = {"<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>"};
  for (const char* s : specials) { tokens.push_back(s); types.push_back(3); }  // CONTROL
  for (int64_t i = static_cast<int64_t>(tokens.size()); i < n_vocab; ++i) {
    tokens.push_back("<|reserved_special_token_" + std::to_string(i - 259) + "|>");
    types.push_back(3);
  }
  tokens.resize(static_cast<size_t>(n_vocab));
  types.resize(static_cast<size_t>(n_vocab));
  w.set_string("tokenizer.ggml.model", "gpt2");
  w.set_string("tokenizer.ggml.pre", "llama-bpe");
  w.set_string_array("tokenizer.ggml.tokens", tokens);
  w.set_i32_array("tokenizer.ggml.token_type", types);
  w.set_f32_array("tokenizer.ggml.scores", std::vector<float>(static_cast<size_t>(n_vocab), 0.0f));
  w.set_string_array("tokenizer.ggml.merges", {});
  w.set_u32("tokenizer.ggml.bos_token_id", 256);
  w.set_u32("tokenizer.ggml.eos_token_id", 257);
  w.set_u32("tokenizer.ggml.eot_token_id", 258);
  w.set_u32("tokenizer.ggml.padding_token_id", 257);
  w.set_bool("tokenizer.ggml.add_bos_token", true);
}

Status synth_model(const SynthOptions& opt, const std::string& out_path) {
  BITNET_ASSIGN_OR_RETURN(SynthShape s, synth_shape(opt.preset));
  if (!ggml_type_is_ternary(opt.weights)) return invalid_argument("--weights must be i2_s, tq2_0 or tq1_0");
  if (opt.embd != GgmlType::F16 && opt.embd != GgmlType::Q8_0 && opt.embd != GgmlType::Q6_K &&
      opt.embd != GgmlType::Q4_K)
    return invalid_argument("--head must be f16, q8_0, q6_k or q4_k");
  if (!ggml_row_bytes(opt.embd, s.d_model))
    return invalid_argument("--head " + *ggml_type_name(static_cast<uint32_t>(opt.embd)) +
                            " needs the embedding width to be a multiple of " +
                            std::to_string(ggml_block_elems(opt.embd)));

  if (opt.arch != "bitnet-b1.58" && opt.arch != "bitnet-25" && opt.arch != "bitnet")
    return invalid_argument("--arch must be bitnet-b1.58, bitnet-25 or bitnet, not '" + opt.arch + "'");

  GgufWriter w;
  const std::string& a = opt.arch;
  // Key order and types follow the official 2B4T file (spec §3.3).
  w.set_string("general.architecture", a);
  w.set_string("general.name", "bitnet-synth-" + opt.preset);

  std::unique_ptr<GgufFile> vocab_file;
  if (!opt.vocab_path.empty()) {
    BITNET_ASSIGN_OR_RETURN(GgufFile vf, GgufFile::open(opt.vocab_path));
    vocab_file = std::make_unique<GgufFile>(std::move(vf));
    auto toks = vocab_file->get_string_array("tokenizer.ggml.tokens");
    if (!toks) return toks.status();
    s.n_vocab = static_cast<int64_t>(toks->size());
  }
  w.set_u32(a + ".vocab_size", static_cast<uint32_t>(s.n_vocab));
  w.set_u32(a + ".context_length", static_cast<uint32_t>(s.n_ctx));
  w.set_u32(a + ".embedding_length", static_cast<uint32_t>(s.d_model));
  w.set_u32(a + ".block_count", static_cast<uint32_t>(s.n_layer));
  w.set_u32(a + ".feed_forward_length", static_cast<uint32_t>(s.n_ff));
  w.set_u32(a + ".rope.dimension_count", static_cast<uint32_t>(s.d_model / s.n_head));
  w.set_u32(a + ".attention.head_count", static_cast<uint32_t>(s.n_head));
  w.set_u32(a + ".attention.head_count_kv", static_cast<uint32_t>(s.n_head_kv));
  w.set_f32(a + ".attention.layer_norm_rms_epsilon", 1e-5f);
  w.set_f32(a + ".rope.freq_base", s.rope_theta);
  w.set_u32("general.file_type", opt.weights == GgmlType::I2_S ? 40 : (opt.weights == GgmlType::TQ2_0 ? 37 : 36));
  if (vocab_file) {
    // Copy every tokenizer.* key verbatim (raw value bytes re-encoded by type).
    for (const auto& [key, v] : vocab_file->metadata()) {
      if (key.substr(0, 10) != "tokenizer.") continue;
      const std::string k(key);
      if (v.type == GgufType::STRING) w.set_string(k, std::string(v.s));
      else if (v.type == GgufType::BOOL) w.set_bool(k, v.u != 0);
      else if (v.type == GgufType::ARRAY && v.elem_type == GgufType::STRING) {
        std::vector<std::string> xs(v.strs.begin(), v.strs.end());
        w.set_string_array(k, xs);
      } else if (v.type == GgufType::ARRAY && v.elem_type == GgufType::FLOAT32) {
        w.set_f32_array(k, *vocab_file->get_f32_array(key));
      } else if (v.type == GgufType::ARRAY && (v.elem_type == GgufType::INT32 || v.elem_type == GgufType::UINT32)) {
        w.set_i32_array(k, *vocab_file->get_i32_array(key));
      } else if (v.type == GgufType::UINT32 || v.type == GgufType::INT32 || v.type == GgufType::UINT64) {
        w.set_u32(k, static_cast<uint32_t>(v.i));
      }
    }
  } else {
    write_byte_vocab(w, s.n_vocab);
  }
  w.set_u32("general.quantization_version", 2);

  Rng rng(opt.seed);
  // token_embd: N(0, sigma^2) with sigma = 3/sqrt(d) so tied-head logits have std ~3. Normal draws
  // come from a table of 4096 quantiles (fast enough for the 328M values of the 2b4t preset).
  std::vector<float> quantiles(4096);
  for (int i = 0; i < 4096; ++i) {
    // inverse normal CDF via erfinv-free bisection on erf (table build only)
    const double p = (i + 0.5) / 4096.0;
    double lo = -8, hi = 8;
    for (int it = 0; it < 60; ++it) {
      const double mid = 0.5 * (lo + hi);
      (0.5 * std::erfc(-mid / std::sqrt(2.0)) < p ? lo : hi) = mid;
    }
    quantiles[i] = static_cast<float>(0.5 * (lo + hi) * 3.0 / std::sqrt(static_cast<double>(s.d_model)));
  }
  {
    std::vector<float> row(static_cast<size_t>(s.d_model));
    const uint64_t row_bytes = *ggml_row_bytes(opt.embd, s.d_model);
    std::vector<uint8_t> bytes(static_cast<size_t>(row_bytes * s.n_vocab));
    for (int64_t r = 0; r < s.n_vocab; ++r) {
      for (int64_t j = 0; j < s.d_model; j += 4) {
        uint64_t x = rng.next();
        for (int q = 0; q < 4 && j + q < s.d_model; ++q, x >>= 16) row[j + q] = quantiles[x & 4095];
      }
      uint8_t* dst = bytes.data() + r * row_bytes;
      if (opt.embd == GgmlType::F16) f32_to_f16_row(row.data(), s.d_model, reinterpret_cast<uint16_t*>(dst));
      else if (opt.embd == GgmlType::Q8_0) quantize_q8_0(row.data(), s.d_model, dst);
      else if (opt.embd == GgmlType::Q6_K) quantize_q6_k(row.data(), s.d_model, dst);
      else quantize_q4_k(row.data(), s.d_model, dst);
    }
    BITNET_RETURN_IF_ERROR(w.add_tensor("token_embd.weight", opt.embd, {s.d_model, s.n_vocab}, std::move(bytes)));
  }
  auto ones = [](int64_t n) {
    std::vector<uint8_t> b(static_cast<size_t>(n) * 4);
    const float one = 1.0f;
    for (int64_t i = 0; i < n; ++i) std::memcpy(b.data() + i * 4, &one, 4);
    return b;
  };
  BITNET_RETURN_IF_ERROR(w.add_tensor("output_norm.weight", GgmlType::F32, {s.d_model}, ones(s.d_model)));
  const int64_t hd = s.d_model / s.n_head, kv = s.n_head_kv * hd;
  for (int64_t l = 0; l < s.n_layer; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    struct Lin { const char* name; int64_t k, m; };
    const Lin lins[] = {{"attn_q", s.d_model, s.d_model}, {"attn_k", s.d_model, kv}, {"attn_v", s.d_model, kv},
                        {"attn_output", s.d_model, s.d_model}, {"ffn_gate", s.d_model, s.n_ff},
                        {"ffn_up", s.d_model, s.n_ff}, {"ffn_down", s.n_ff, s.d_model}};
    BITNET_RETURN_IF_ERROR(w.add_tensor(p + "attn_norm.weight", GgmlType::F32, {s.d_model}, ones(s.d_model)));
    for (const Lin& li : lins) {
      // gamma = 1/sqrt(2k/3): a unit-variance input gives a unit-variance output (2/3 of the
      // ternary weights are nonzero), so activations stay finite through any depth.
      const float gamma = 1.0f / std::sqrt(2.0f * static_cast<float>(li.k) / 3.0f);
      BITNET_RETURN_IF_ERROR(w.add_tensor(p + li.name + ".weight", opt.weights, {li.k, li.m},
                                          random_ternary(rng, opt.weights, li.k, li.m, gamma)));
    }
    BITNET_RETURN_IF_ERROR(w.add_tensor(p + "attn_sub_norm.weight", GgmlType::F32, {s.d_model}, ones(s.d_model)));
    BITNET_RETURN_IF_ERROR(w.add_tensor(p + "ffn_norm.weight", GgmlType::F32, {s.d_model}, ones(s.d_model)));
    BITNET_RETURN_IF_ERROR(w.add_tensor(p + "ffn_sub_norm.weight", GgmlType::F32, {s.n_ff}, ones(s.n_ff)));
  }
  return w.write(out_path);
}

}  // namespace bitnet
