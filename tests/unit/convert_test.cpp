// HF -> GGUF conversion on small synthetic checkpoints written here: config parsing, tensor names,
// shapes (ne = [in, out]) and types, I2_S / TQ bytes and scales, the packed-format unpack path
// (both scale conventions), untied heads, vocabularies, and the errors for what is not supported.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "convert/hf_config.h"
#include "convert/hf_packing.h"
#include "convert/hf_to_gguf.h"
#include "core/fp16.h"
#include "formats/gguf.h"
#include "formats/ternary_codecs.h"

namespace bitnet {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

// ---- synthetic checkpoints --------------------------------------------------------------------

struct StEntry {
  std::string dtype;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;
};
using StMap = std::map<std::string, StEntry>;

void write_safetensors(const std::string& path, const StMap& ts) {
  json h = json::object();
  std::vector<uint8_t> data;
  for (const auto& [name, t] : ts) {
    h[name] = {{"dtype", t.dtype},
               {"shape", t.shape},
               {"data_offsets", {data.size(), data.size() + t.bytes.size()}}};
    data.insert(data.end(), t.bytes.begin(), t.bytes.end());
  }
  std::string s = h.dump();
  while (s.size() % 8) s += ' ';
  const uint64_t n = s.size();
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(&n), 8);
  out.write(s.data(), static_cast<std::streamsize>(s.size()));
  out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
}

StEntry f32_entry(const std::vector<float>& v, std::vector<int64_t> shape) {
  StEntry e{"F32", std::move(shape), std::vector<uint8_t>(v.size() * 4)};
  std::memcpy(e.bytes.data(), v.data(), e.bytes.size());
  return e;
}
StEntry bf16_entry(const std::vector<float>& v, std::vector<int64_t> shape) {
  StEntry e{"BF16", std::move(shape), std::vector<uint8_t>(v.size() * 2)};
  for (size_t i = 0; i < v.size(); ++i) {
    const uint16_t h = f32_to_bf16(v[i]);
    std::memcpy(e.bytes.data() + 2 * i, &h, 2);
  }
  return e;
}

struct Shape {
  int64_t hidden = 256, ff = 512, heads = 4, kv = 2, layers = 2, vocab = 64;
  std::string act = "relu2";
  bool tied = true;
};

json config_json(const Shape& s) {
  return {{"architectures", {"BitNetForCausalLM"}},
          {"model_type", "bitnet"},
          {"hidden_size", s.hidden},
          {"intermediate_size", s.ff},
          {"num_hidden_layers", s.layers},
          {"num_attention_heads", s.heads},
          {"num_key_value_heads", s.kv},
          {"vocab_size", s.vocab},
          {"hidden_act", s.act},
          {"max_position_embeddings", 4096},
          {"rms_norm_eps", 1e-5},
          {"rope_theta", 500000.0},
          {"tie_word_embeddings", s.tied}};
}

// Random masters (values rounded to bf16 so F32 and BF16 files hold the same numbers).
struct Model {
  Shape s;
  std::map<std::string, std::vector<float>> w;  // HF name -> row-major values
  std::map<std::string, std::vector<int64_t>> shape;

  explicit Model(const Shape& sh, uint32_t seed = 1) : s(sh) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    auto put = [&](const std::string& n, std::vector<int64_t> shp, float scale, float offset) {
      int64_t count = 1;
      for (auto d : shp) count *= d;
      std::vector<float> v(static_cast<size_t>(count));
      for (auto& x : v) x = bf16_to_f32(f32_to_bf16(offset + scale * nd(rng)));
      w[n] = std::move(v);
      shape[n] = std::move(shp);
    };
    const int64_t hd = s.hidden / s.heads;
    put("model.embed_tokens.weight", {s.vocab, s.hidden}, 1.0f, 0);
    put("model.norm.weight", {s.hidden}, 0.1f, 1.0f);
    if (!s.tied) put("lm_head.weight", {s.vocab, s.hidden}, 1.0f, 0);
    for (int64_t l = 0; l < s.layers; ++l) {
      const std::string p = "model.layers." + std::to_string(l) + ".";
      put(p + "input_layernorm.weight", {s.hidden}, 0.1f, 1.0f);
      put(p + "post_attention_layernorm.weight", {s.hidden}, 0.1f, 1.0f);
      put(p + "self_attn.attn_sub_norm.weight", {s.hidden}, 0.1f, 1.0f);
      put(p + "mlp.ffn_sub_norm.weight", {s.ff}, 0.1f, 1.0f);
      put(p + "self_attn.q_proj.weight", {s.heads * hd, s.hidden}, 0.05f, 0);
      put(p + "self_attn.k_proj.weight", {s.kv * hd, s.hidden}, 0.05f, 0);
      put(p + "self_attn.v_proj.weight", {s.kv * hd, s.hidden}, 0.05f, 0);
      put(p + "self_attn.o_proj.weight", {s.hidden, s.heads * hd}, 0.05f, 0);
      put(p + "mlp.gate_proj.weight", {s.ff, s.hidden}, 0.05f, 0);
      put(p + "mlp.up_proj.weight", {s.ff, s.hidden}, 0.05f, 0);
      put(p + "mlp.down_proj.weight", {s.hidden, s.ff}, 0.05f, 0);
    }
  }
  static bool is_linear(const std::string& n) {
    return n.find("_proj.weight") != std::string::npos;
  }

  // Masters in the given dtype ("F32" / "BF16").
  StMap masters(const std::string& dtype) const {
    StMap m;
    for (const auto& [n, v] : w)
      m[n] = dtype == "BF16" ? bf16_entry(v, shape.at(n)) : f32_entry(v, shape.at(n));
    return m;
  }
  // Packed deployment format: U8 [out/4, in] + weight_scale (gamma for multiply, 1/gamma for
  // divide).
  StMap packed(bool divide, const std::string& scale_dtype = "F32") const {
    StMap m;
    for (const auto& [n, v] : w) {
      if (!is_linear(n)) {
        m[n] = bf16_entry(v, shape.at(n));
        continue;
      }
      const int64_t out = shape.at(n)[0], in = shape.at(n)[1];
      std::vector<int8_t> t(v.size());
      const float g = ternarize_absmean(v.data(), out * in, t.data());
      StEntry e{"U8", {out / 4, in}, std::vector<uint8_t>(static_cast<size_t>(out / 4 * in))};
      pack_hf_ternary(t.data(), out, in, e.bytes.data());
      m[n] = std::move(e);
      const float sv = divide ? 1.0f / g : g;
      m[n.substr(0, n.size() - 7) + ".weight_scale"] =
          scale_dtype == "BF16" ? bf16_entry({sv}, {1}) : f32_entry({sv}, {1});
    }
    return m;
  }
};

class Convert : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::string(BITNET_BINARY_DIR) + "/convert_test/" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(dir_);
    fs::create_directories(dir_ + "/hf");
    out_ = dir_ + "/out.gguf";
  }
  void write(const json& cfg, const StMap& ts) {
    std::ofstream(dir_ + "/hf/config.json") << cfg.dump(2);
    write_safetensors(dir_ + "/hf/model.safetensors", ts);
  }
  Status run(GgmlType weights = GgmlType::I2_S, GgmlType head = GgmlType::F16,
             ScaleConvention conv = ScaleConvention::kAuto, ConvertReport* rep = nullptr) {
    ConvertOptions o;
    o.hf_dir = dir_ + "/hf";
    o.out_path = out_;
    o.weight_type = weights;
    o.head_type = head;
    o.scale_convention = conv;
    return convert_hf_to_gguf(o, rep);
  }
  std::string dir_, out_;
};

// Checks every tensor of `f` against the masters of `m` (ternarized per spec §2.1).
void expect_matches_masters(const GgufFile& f, const Model& m, GgmlType wt, GgmlType head) {
  const Shape& s = m.s;
  EXPECT_EQ(f.tensors().size(), static_cast<size_t>(2 + 11 * s.layers + (s.tied ? 0 : 1)));
  EXPECT_EQ(f.find_tensor("output.weight") != nullptr, !s.tied);
  struct Map {
    const char* gg;
    const char* hf;
  };
  const Map lin[] = {{"attn_q", "self_attn.q_proj"}, {"attn_k", "self_attn.k_proj"},
                     {"attn_v", "self_attn.v_proj"}, {"attn_output", "self_attn.o_proj"},
                     {"ffn_gate", "mlp.gate_proj"},  {"ffn_up", "mlp.up_proj"},
                     {"ffn_down", "mlp.down_proj"}};
  const Map norms[] = {{"attn_norm", "input_layernorm"},
                       {"attn_sub_norm", "self_attn.attn_sub_norm"},
                       {"ffn_norm", "post_attention_layernorm"},
                       {"ffn_sub_norm", "mlp.ffn_sub_norm"}};
  for (int64_t l = 0; l < s.layers; ++l) {
    const std::string gp = "blk." + std::to_string(l) + ".",
                      hp = "model.layers." + std::to_string(l) + ".";
    for (const auto& x : norms) {
      const GgufTensorInfo* t = f.find_tensor(gp + x.gg + ".weight");
      ASSERT_NE(t, nullptr) << x.gg;
      EXPECT_EQ(t->type, GgmlType::F32);
      const auto& v = m.w.at(hp + x.hf + ".weight");
      EXPECT_EQ(t->ne, (std::vector<int64_t>{static_cast<int64_t>(v.size())}));
      EXPECT_EQ(0, std::memcmp(t->data, v.data(), v.size() * 4)) << x.gg;
    }
    for (const auto& x : lin) {
      const std::string name = gp + x.gg + ".weight";
      const GgufTensorInfo* t = f.find_tensor(name);
      ASSERT_NE(t, nullptr) << name;
      EXPECT_EQ(t->type, wt) << name;
      const auto& v = m.w.at(hp + x.hf + ".weight");
      const auto& shp = m.shape.at(hp + x.hf + ".weight");
      ASSERT_EQ(t->ne, (std::vector<int64_t>{shp[1], shp[0]})) << name << ": ne must be [in, out]";
      const int64_t n = shp[0] * shp[1];
      std::vector<int8_t> want(static_cast<size_t>(n));
      const float g = ternarize_absmean(v.data(), n, want.data());
      std::vector<int8_t> got(static_cast<size_t>(n));
      if (wt == GgmlType::I2_S) {
        float scale;
        unpack_i2s(t->data, n, got.data(), &scale);
        EXPECT_EQ(scale, g) << name;
      } else {
        std::vector<float> y(static_cast<size_t>(n));
        if (wt == GgmlType::TQ2_0)
          dequantize_tq2_0(t->data, n, y.data());
        else
          dequantize_tq1_0(t->data, n, y.data());
        const float gh = f16_to_f32(f32_to_f16(g));  // TQ block scales are f16
        for (int64_t i = 0; i < n; ++i) {
          got[i] = static_cast<int8_t>(y[i] > 0 ? 1 : (y[i] < 0 ? -1 : 0));
          if (y[i] != 0) {
            ASSERT_EQ(std::fabs(y[i]), gh) << name << " element " << i;
          }
        }
      }
      EXPECT_EQ(got, want) << name;
    }
  }
  const GgufTensorInfo* e = f.find_tensor("token_embd.weight");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->type, head);
  EXPECT_EQ(e->ne, (std::vector<int64_t>{s.hidden, s.vocab}));
  const auto& emb = m.w.at("model.embed_tokens.weight");
  if (head == GgmlType::F16) {
    std::vector<uint16_t> h(emb.size());
    f32_to_f16_row(emb.data(), static_cast<int64_t>(emb.size()), h.data());
    EXPECT_EQ(0, std::memcmp(e->data, h.data(), h.size() * 2));
  } else if (head == GgmlType::F32) {
    EXPECT_EQ(0, std::memcmp(e->data, emb.data(), emb.size() * 4));
  } else {
    std::vector<float> y(emb.size());
    dequantize_q8_0(e->data, static_cast<int64_t>(emb.size()), y.data());
    for (size_t i = 0; i < y.size(); ++i) ASSERT_NEAR(y[i], emb[i], 0.03f) << i;
  }
  const GgufTensorInfo* on = f.find_tensor("output_norm.weight");
  ASSERT_NE(on, nullptr);
  EXPECT_EQ(0, std::memcmp(on->data, m.w.at("model.norm.weight").data(),
                           static_cast<size_t>(s.hidden) * 4));
}

// ---- config.json ------------------------------------------------------------------------------

TEST(HfConfig, TwoB4TStyleConfig) {
  json j = config_json(Shape{2560, 6912, 20, 5, 30, 128256});
  j["quantization_config"] = {{"quant_method", "bitnet"},
                              {"linear_class", "autobitlinear"},
                              {"quantization_mode", "offline"}};
  auto c = parse_hf_config(j.dump());
  ASSERT_TRUE(c.is_ok()) << c.status().to_string();
  EXPECT_EQ(c->gguf_arch, "bitnet-b1.58");
  EXPECT_EQ(c->head_dim, 128);
  EXPECT_EQ(c->n_kv_heads, 5);
  EXPECT_EQ(c->rope_theta, 500000.0);
  EXPECT_TRUE(c->tie_word_embeddings);
  EXPECT_EQ(c->scale_convention, ScaleConvention::kMultiply);
  EXPECT_EQ(c->attn_sub_norm_name, "self_attn.attn_sub_norm");
}

TEST(HfConfig, VariantsAndDefaults) {
  json j = config_json(Shape{});
  j.erase("rope_theta");
  j["rope_parameters"] = {{"rope_theta", 10000.0},
                          {"rope_type", "default"}};  // transformers 5 style
  j["hidden_act"] = "silu";
  j["quantization_config"] = {{"quant_method", "bitnet"}};  // BitNetQuantConfig default: bitlinear
  auto c = parse_hf_config(j.dump());
  ASSERT_TRUE(c.is_ok()) << c.status().to_string();
  EXPECT_EQ(c->gguf_arch, "bitnet");
  EXPECT_EQ(c->rope_theta, 10000.0);
  EXPECT_EQ(c->scale_convention, ScaleConvention::kDivide);

  json o = config_json(Shape{});
  o["architectures"] = {"BitnetForCausalLM"};  // 1bitLLM
  o.erase("hidden_act");
  o.erase("num_key_value_heads");
  o.erase("tie_word_embeddings");
  c = parse_hf_config(o.dump());
  ASSERT_TRUE(c.is_ok()) << c.status().to_string();
  EXPECT_EQ(c->gguf_arch, "bitnet");
  EXPECT_EQ(c->n_kv_heads, c->n_heads);
  EXPECT_FALSE(c->tie_specified);
  EXPECT_EQ(c->attn_sub_norm_name, "self_attn.inner_attn_ln");
  EXPECT_EQ(c->ffn_sub_norm_name, "mlp.ffn_layernorm");
}

TEST(HfConfig, Errors) {
  auto code_and_msg = [](const json& j, StatusCode code, const std::string& needle) {
    auto c = parse_hf_config(j.dump());
    ASSERT_FALSE(c.is_ok()) << j.dump();
    EXPECT_EQ(c.status().code(), code) << c.status().to_string();
    EXPECT_NE(c.status().message().find(needle), std::string::npos) << c.status().to_string();
  };
  json j = config_json(Shape{});
  j["architectures"] = {"LlamaForCausalLM"};
  code_and_msg(j, StatusCode::kUnsupported, "LlamaForCausalLM");
  j["architectures"] = {"MistralForCausalLM"};
  code_and_msg(j, StatusCode::kUnsupported, "MistralForCausalLM");
  j = config_json(Shape{});
  j["hidden_act"] = "gelu";
  code_and_msg(j, StatusCode::kUnsupported, "gelu");
  j = config_json(Shape{});
  j["rope_scaling"] = {{"rope_type", "linear"}, {"factor", 2.0}};
  code_and_msg(j, StatusCode::kUnsupported, "linear");
  j = config_json(Shape{});
  j["head_dim"] = 32;
  code_and_msg(j, StatusCode::kUnsupported, "head_dim");
  j = config_json(Shape{});
  j.erase("hidden_size");
  code_and_msg(j, StatusCode::kCorrupt, "hidden_size");
  j = config_json(Shape{});
  j["num_key_value_heads"] = 3;
  code_and_msg(j, StatusCode::kCorrupt, "multiple");
  j = config_json(Shape{});
  j["quantization_config"] = {{"quant_method", "bitnet"}, {"use_rms_norm", true}};
  code_and_msg(j, StatusCode::kUnsupported, "use_rms_norm");
  j["quantization_config"] = {{"quant_method", "gptq"}};
  code_and_msg(j, StatusCode::kUnsupported, "gptq");
  EXPECT_EQ(parse_hf_config("not json").status().code(), StatusCode::kCorrupt);
}

// ---- packing ----------------------------------------------------------------------------------

// The worked example of transformers' unpack_weights docstring: packing runs along rows (out).
TEST(HfPacking, UnpackMatchesTransformersExample) {
  const uint8_t packed[] = {0b10100001, 0b00011000, 0b10010000, 0b00001010};  // [2, 2]
  int8_t out[16];
  ASSERT_TRUE(unpack_hf_ternary(packed, 8, 2, out, "x").is_ok());
  const int8_t want[16] = {0, -1, -1, 1, -1, 1, -1, 1, 1, 0, 0, -1, 1, -1, 1, -1};
  EXPECT_EQ(0, std::memcmp(out, want, 16));
  uint8_t again[4];
  pack_hf_ternary(want, 8, 2, again);
  EXPECT_EQ(0, std::memcmp(again, packed, 4));
  const uint8_t bad[] = {0b11, 0, 0, 0};
  Status st = unpack_hf_ternary(bad, 8, 2, out, "w");
  EXPECT_EQ(st.code(), StatusCode::kCorrupt);
  EXPECT_NE(st.message().find("code 3"), std::string::npos);
}

// ---- conversion -------------------------------------------------------------------------------

TEST_F(Convert, F32MastersToI2S) {
  Model m(Shape{});
  write(config_json(m.s), m.masters("F32"));
  ConvertReport rep;
  ASSERT_TRUE(run(GgmlType::I2_S, GgmlType::F16, ScaleConvention::kAuto, &rep).is_ok());
  EXPECT_EQ(rep.n_linears_master, 14);
  EXPECT_EQ(rep.n_linears_packed, 0);
  EXPECT_FALSE(rep.vocab_written);
  auto f = GgufFile::open(out_);
  ASSERT_TRUE(f.is_ok()) << f.status().to_string();
  const std::string a = "bitnet-b1.58.";
  EXPECT_EQ(f->get_string("general.architecture").value(), "bitnet-b1.58");
  EXPECT_EQ(f->get_string("general.name").value(), "hf");
  EXPECT_EQ(f->get_int(a + "vocab_size").value(), 64);
  EXPECT_EQ(f->get_int(a + "context_length").value(), 4096);
  EXPECT_EQ(f->get_int(a + "embedding_length").value(), 256);
  EXPECT_EQ(f->get_int(a + "block_count").value(), 2);
  EXPECT_EQ(f->get_int(a + "feed_forward_length").value(), 512);
  EXPECT_EQ(f->get_int(a + "rope.dimension_count").value(), 64);
  EXPECT_EQ(f->get_int(a + "attention.head_count").value(), 4);
  EXPECT_EQ(f->get_int(a + "attention.head_count_kv").value(), 2);
  EXPECT_FLOAT_EQ(static_cast<float>(f->get_float(a + "attention.layer_norm_rms_epsilon").value()),
                  1e-5f);
  EXPECT_EQ(f->get_float(a + "rope.freq_base").value(), 500000.0);
  EXPECT_EQ(f->get_int("general.file_type").value(), 40);
  EXPECT_EQ(f->get_int("general.quantization_version").value(), 2);
  EXPECT_EQ(f->find("general.alignment"), nullptr);  // default 32, as in the official file
  EXPECT_EQ(f->metadata()[0].first, "general.architecture");
  expect_matches_masters(*f, m, GgmlType::I2_S, GgmlType::F16);
  // I2_S tail: f32 scale then 28 zero bytes.
  const GgufTensorInfo* q = f->find_tensor("blk.0.attn_q.weight");
  const int64_t n = q->ne[0] * q->ne[1];
  for (int i = 4; i < 32; ++i) EXPECT_EQ(q->data[n / 4 + i], 0);
}

TEST_F(Convert, Bf16MastersSilUntiedToTq2AndTq1) {
  Shape s;
  s.act = "silu";
  s.tied = false;
  Model m(s, 7);
  write(config_json(s), m.masters("BF16"));
  ConvertReport rep;
  ASSERT_TRUE(run(GgmlType::TQ2_0, GgmlType::F32, ScaleConvention::kAuto, &rep).is_ok());
  EXPECT_FALSE(rep.tied);
  auto f = GgufFile::open(out_);
  ASSERT_TRUE(f.is_ok());
  EXPECT_EQ(f->get_string("general.architecture").value(), "bitnet");
  EXPECT_EQ(f->get_int("bitnet.attention.head_count_kv").value(), 2);
  EXPECT_EQ(f->get_int("general.file_type").value(), 37);
  expect_matches_masters(*f, m, GgmlType::TQ2_0, GgmlType::F32);
  const GgufTensorInfo* o = f->find_tensor("output.weight");
  ASSERT_NE(o, nullptr);
  EXPECT_EQ(o->ne, (std::vector<int64_t>{256, 64}));
  EXPECT_EQ(0, std::memcmp(o->data, m.w.at("lm_head.weight").data(), 256 * 64 * 4));

  ASSERT_TRUE(run(GgmlType::TQ1_0, GgmlType::Q8_0).is_ok());
  auto g = GgufFile::open(out_);
  ASSERT_TRUE(g.is_ok());
  EXPECT_EQ(g->get_int("general.file_type").value(), 36);
  expect_matches_masters(*g, m, GgmlType::TQ1_0, GgmlType::Q8_0);
}

TEST_F(Convert, PackedMultiplyConventionMatchesMasters) {
  Model m(Shape{}, 3);
  json cfg = config_json(m.s);
  cfg["quantization_config"] = {{"quant_method", "bitnet"},
                                {"linear_class", "autobitlinear"},
                                {"quantization_mode", "offline"}};
  write(cfg, m.packed(/*divide=*/false));
  ConvertReport rep;
  ASSERT_TRUE(run(GgmlType::I2_S, GgmlType::F16, ScaleConvention::kAuto, &rep).is_ok());
  EXPECT_EQ(rep.n_linears_packed, 14);
  auto f = GgufFile::open(out_);
  ASSERT_TRUE(f.is_ok());
  expect_matches_masters(*f, m, GgmlType::I2_S, GgmlType::F16);  // bf16 non-linears are exact here
}

TEST_F(Convert, PackedDivideConventionAndOverride) {
  Model m(Shape{}, 4);
  json cfg = config_json(m.s);
  cfg["quantization_config"] = {{"quant_method", "bitnet"}, {"linear_class", "bitlinear"}};
  write(cfg, m.packed(/*divide=*/true));
  ASSERT_TRUE(run().is_ok());
  auto f = GgufFile::open(out_);
  ASSERT_TRUE(f.is_ok());
  const auto& v = m.w.at("model.layers.1.mlp.down_proj.weight");
  std::vector<int8_t> t(v.size());
  const float g = ternarize_absmean(v.data(), static_cast<int64_t>(v.size()), t.data());
  const GgufTensorInfo* d = f->find_tensor("blk.1.ffn_down.weight");
  EXPECT_FLOAT_EQ(i2s_scale(d->data, static_cast<int64_t>(v.size())), 1.0f / (1.0f / g));

  // Without quantization_config the meaning of weight_scale is unknown: refuse, unless told.
  cfg.erase("quantization_config");
  write(cfg, m.packed(/*divide=*/false, "BF16"));
  Status st = run();
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.to_string();
  EXPECT_NE(st.message().find("--scale-convention"), std::string::npos);
  ASSERT_TRUE(run(GgmlType::I2_S, GgmlType::F16, ScaleConvention::kMultiply).is_ok());
  auto h = GgufFile::open(out_);
  ASSERT_TRUE(h.is_ok());
  d = h->find_tensor("blk.1.ffn_down.weight");
  EXPECT_EQ(i2s_scale(d->data, static_cast<int64_t>(v.size())), bf16_to_f32(f32_to_bf16(g)));
}

TEST_F(Convert, AlreadyTernaryMastersKeepTheirScale) {
  Model m(Shape{}, 5);
  // bitnet.cpp's preprocess step writes gamma * T as floats; absmean of that would shrink gamma.
  for (auto& [n, v] : m.w) {
    if (!Model::is_linear(n)) continue;
    std::vector<int8_t> t(v.size());
    const float g = ternarize_absmean(v.data(), static_cast<int64_t>(v.size()), t.data());
    for (size_t i = 0; i < v.size(); ++i) v[i] = g * t[i];
  }
  write(config_json(m.s), m.masters("F32"));
  ASSERT_TRUE(run().is_ok());
  auto f = GgufFile::open(out_);
  ASSERT_TRUE(f.is_ok());
  const auto& q = m.w.at("model.layers.0.self_attn.q_proj.weight");
  float a = 0;
  for (float x : q) a = std::max(a, std::fabs(x));
  EXPECT_EQ(i2s_scale(f->find_tensor("blk.0.attn_q.weight")->data, static_cast<int64_t>(q.size())),
            a);
}

TEST_F(Convert, UnsupportedShapesAndBadCheckpoints) {
  Shape s;
  s.hidden = 128;
  s.ff = 384;
  Model m(s);
  write(config_json(s), m.masters("F32"));
  Status st = run(GgmlType::TQ2_0);
  EXPECT_EQ(st.code(), StatusCode::kUnsupported);
  EXPECT_NE(st.message().find("% 256"), std::string::npos) << st.to_string();

  Shape odd;  // in*out % 128 != 0 for q (40 x 40)
  odd.hidden = 40;
  odd.heads = 2;
  odd.kv = 2;
  odd.ff = 64;
  Model mo(odd);
  write(config_json(odd), mo.masters("F32"));
  st = run(GgmlType::I2_S);
  EXPECT_EQ(st.code(), StatusCode::kUnsupported);
  EXPECT_NE(st.message().find("% 128"), std::string::npos) << st.to_string();

  // A bias has no place in the GGUF: refuse rather than drop it.
  StMap ts = m.masters("F32");
  ts["model.layers.0.self_attn.q_proj.bias"] = f32_entry(std::vector<float>(128, 0.0f), {128});
  write(config_json(s), ts);
  st = run();
  EXPECT_EQ(st.code(), StatusCode::kUnsupported);
  EXPECT_NE(st.message().find("q_proj.bias"), std::string::npos) << st.to_string();

  ts = m.masters("F32");
  ts.erase("model.layers.1.mlp.up_proj.weight");
  write(config_json(s), ts);
  st = run();
  EXPECT_EQ(st.code(), StatusCode::kNotFound);
  EXPECT_NE(st.message().find("model.layers.1.mlp.up_proj.weight"), std::string::npos)
      << st.to_string();

  ts = m.masters("F32");
  ts["model.layers.0.mlp.down_proj.weight"] =
      f32_entry(std::vector<float>(128 * 384, 0.1f), {384, 128});  // transposed
  write(config_json(s), ts);
  st = run();
  EXPECT_EQ(st.code(), StatusCode::kCorrupt);
  EXPECT_NE(st.message().find("down_proj"), std::string::npos) << st.to_string();

  ts = m.masters("F32");
  ts["model.layers.0.mlp.down_proj.weight"].dtype = "I32";
  write(config_json(s), ts);
  EXPECT_EQ(run().code(), StatusCode::kUnsupported);

  // Unknown architecture: the config error reaches the caller; no output file is left behind.
  json cfg = config_json(s);
  cfg["architectures"] = {"GPT2LMHeadModel"};
  write(cfg, m.masters("F32"));
  fs::remove(out_);
  st = run();
  EXPECT_EQ(st.code(), StatusCode::kUnsupported);
  EXPECT_FALSE(fs::exists(out_));
  EXPECT_FALSE(fs::exists(out_ + ".tmp"));

  ConvertOptions o;
  o.hf_dir = dir_ + "/does-not-exist";
  o.out_path = out_;
  EXPECT_EQ(convert_hf_to_gguf(o).code(), StatusCode::kNotFound);
}

TEST_F(Convert, TokenizerJsonBecomesGgufVocab) {
  Model m(Shape{});
  write(config_json(m.s), m.masters("F32"));
  std::ofstream(dir_ + "/hf/tokenizer.json") << R"({
    "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]},
    "pre_tokenizer": {"type": "ByteLevel", "use_regex": true},
    "added_tokens": [{"id": 3, "content": "<|begin_of_text|>", "special": true},
                     {"id": 4, "content": "<|end_of_text|>", "special": true}]})";
  ConvertReport rep;
  ASSERT_TRUE(run(GgmlType::I2_S, GgmlType::F16, ScaleConvention::kAuto, &rep).is_ok());
  EXPECT_TRUE(rep.vocab_written);
  auto f = GgufFile::open(out_);
  ASSERT_TRUE(f.is_ok());
  EXPECT_EQ(f->get_string("tokenizer.ggml.model").value(), "gpt2");
  auto toks = f->get_string_array("tokenizer.ggml.tokens").value();
  ASSERT_EQ(toks.size(), 64u);  // padded to the embedding rows
  EXPECT_EQ(toks[2], "ab");
  EXPECT_EQ(toks[63], "[PAD63]");
  EXPECT_EQ(f->get_int("tokenizer.ggml.eos_token_id").value(), 4);
  EXPECT_EQ(f->metadata().back().first, "general.quantization_version");

  ConvertOptions o;
  o.hf_dir = dir_ + "/hf";
  o.out_path = out_;
  o.vocab = false;
  ASSERT_TRUE(convert_hf_to_gguf(o, &rep).is_ok());
  EXPECT_FALSE(rep.vocab_written);
  EXPECT_EQ(GgufFile::open(out_)->find("tokenizer.ggml.model"), nullptr);
}

}  // namespace
}  // namespace bitnet
