// Parity with Hugging Face transformers (a reference no one here wrote): tiny random BitNet models
// run through transformers' own BitNet path (AutoBitLinear, fp32, CPU) on the device machine
// (tools/device/hf_reference.py), converted by `bitnet convert`, and compared here:
//  * logits at every position within the tolerances of tests/data/hf/manifest.json, argmax equal;
//  * greedy continuations identical;
//  * the converter's ternary codes / scales identical to transformers' WeightQuant;
//  * the packed (2B4T deployment) export converts to the same tensors as the masters.
// What the tolerances mean and why: docs/hf-parity.md.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bitnet/engine.h"
#include "convert/hf_to_gguf.h"
#include "core/fp16.h"
#include "formats/gguf.h"
#include "formats/ternary_codecs.h"

namespace bitnet {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

const std::string kDir = std::string(BITNET_TEST_DATA_DIR) + "/hf/";

const json& manifest() {
  static const json m = [] {
    std::ifstream in(kDir + "manifest.json");
    if (!in) return json();
    return json::parse(in, nullptr, /*allow_exceptions=*/false);
  }();
  return m;
}

struct Case {
  json m;  // one manifest "models" entry
  std::string label() const {
    return m["name"].get<std::string>() + "_" + m["weights"].get<std::string>() +
           (m.contains("convert_from") ? "_from_packed" : "");
  }
};

std::vector<Case> cases() {
  std::vector<Case> out;
  const json& m = manifest();
  if (m.is_object() && m.contains("models"))
    for (const auto& e : m["models"]) out.push_back({e});
  return out;
}

std::vector<float> read_f32(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return {};
  const auto n = static_cast<size_t>(in.tellg());
  std::vector<float> v(n / 4);
  in.seekg(0);
  in.read(reinterpret_cast<char*>(v.data()), static_cast<std::streamsize>(v.size() * 4));
  return v;
}

// The GGUF of a case: committed, or converted now from the committed packed export.
std::string gguf_path(const Case& c) {
  if (!c.m["gguf"].is_null()) return kDir + c.m["gguf"].get<std::string>();
  const std::string from = c.m["convert_from"].get<std::string>();
  const std::string w = c.m["weights"].get<std::string>();
  fs::create_directories(std::string(BITNET_BINARY_DIR) + "/hf_parity");
  const std::string out = std::string(BITNET_BINARY_DIR) + "/hf_parity/" + from + "." + w + ".gguf";
  ConvertOptions o;
  o.hf_dir = kDir + from;
  o.out_path = out;
  o.weight_type = *ggml_type_from_name(w);
  o.name = c.m["name"].get<std::string>();
  Status st = convert_hf_to_gguf(o);
  EXPECT_TRUE(st.is_ok()) << st.to_string();
  return out;
}

std::unique_ptr<Engine> load(const std::string& path, bool kv_f16) {
  EngineOptions o;
  o.device = "cpu";
  o.n_threads = 2;
  o.kv_type = kv_f16 ? "f16" : "f32";
  auto e = Engine::load(path, o);
  EXPECT_TRUE(e.is_ok()) << e.status().to_string();
  return e.is_ok() ? std::move(e).value() : nullptr;
}

std::vector<int32_t> ids_of(const json& a) {
  std::vector<int32_t> v;
  for (const auto& x : a) v.push_back(x.get<int32_t>());
  return v;
}

int64_t argmax(std::span<const float> x) {
  return std::max_element(x.begin(), x.end()) - x.begin();
}

// Errors are measured in units of the spread of HF's logits at the same position (their standard
// deviation over the vocabulary), not of max|logit|: random tied models have a few huge "hub"
// logits that would hide errors in the bulk of the distribution.
struct Metrics {
  double max_err = 0;   // max over positions of max_v |ours - hf| / std(hf)
  double mean_err = 0;  // sum |ours - hf| / sum std(hf) over all positions and tokens
  int64_t worst_pos = -1, argmax_checked = 0, argmax_mismatch = 0;
};

double logit_std(const float* x, int64_t n) {
  double m = 0, v = 0;
  for (int64_t i = 0; i < n; ++i) m += x[i];
  m /= static_cast<double>(n);
  for (int64_t i = 0; i < n; ++i) v += (x[i] - m) * (x[i] - m);
  return std::sqrt(v / static_cast<double>(n));
}

// Top-1 minus top-2 of HF's logits, in std units: how well-conditioned the argmax is.
double margin(const float* x, int64_t n) {
  float a = -INFINITY, b = -INFINITY;
  for (int64_t i = 0; i < n; ++i) {
    if (x[i] > a) {
      b = a;
      a = x[i];
    } else if (x[i] > b)
      b = x[i];
  }
  return (static_cast<double>(a) - b) / logit_std(x, n);
}

// Accumulates one position: ours vs HF row `ref`. Argmax must agree where HF's margin is above
// `argmax_margin` (positions closer to a tie than the tolerance are legitimately ambiguous).
void add_position(Metrics& r, std::span<const float> ours, const float* ref, int64_t nv,
                  int64_t pos, double argmax_margin, double* sum_diff, double* sum_scale) {
  EXPECT_EQ(static_cast<int64_t>(ours.size()), nv);
  if (static_cast<int64_t>(ours.size()) != nv) return;
  const double sd = logit_std(ref, nv);
  double dmax = 0;
  for (int64_t v = 0; v < nv; ++v) {
    const double d = std::fabs(static_cast<double>(ours[v]) - ref[v]);
    dmax = std::max(dmax, d);
    *sum_diff += d;
  }
  *sum_scale += sd * static_cast<double>(nv);
  if (dmax / sd > r.max_err) {
    r.max_err = dmax / sd;
    r.worst_pos = pos;
  }
  if (margin(ref, nv) > argmax_margin) {
    ++r.argmax_checked;
    if (argmax(ours) != argmax(std::span<const float>(ref, static_cast<size_t>(nv))))
      ++r.argmax_mismatch;
  }
}

// Ours vs HF over all positions of prompt + continuation, evaluated as one batch (prefill path).
Metrics compare_logits(Engine& eng, const Case& c, const std::vector<float>& hf,
                       double argmax_margin) {
  std::vector<int32_t> ids = ids_of(c.m["prompt_ids"]);
  const auto cont = ids_of(c.m["continuation_ids"]);
  ids.insert(ids.end(), cont.begin(), cont.end());
  const int64_t nv = c.m["n_vocab"].get<int64_t>();
  Metrics r;
  EXPECT_EQ(static_cast<int64_t>(hf.size()), static_cast<int64_t>(ids.size()) * nv)
      << "logits file size";
  if (static_cast<int64_t>(hf.size()) != static_cast<int64_t>(ids.size()) * nv) return r;
  auto s = eng.new_session(/*want_all_logits=*/true);
  EXPECT_TRUE(s.is_ok()) << s.status().to_string();
  if (!s.is_ok()) return r;
  Status st = (*s)->eval(ids, /*all_logits=*/true);
  EXPECT_TRUE(st.is_ok()) << st.to_string();
  if (!st.is_ok()) return r;
  double sum_diff = 0, sum_scale = 0;
  for (size_t p = 0; p < ids.size(); ++p)
    add_position(r, (*s)->logits_at(static_cast<int64_t>(p)), hf.data() + p * nv, nv,
                 static_cast<int64_t>(p), argmax_margin, &sum_diff, &sum_scale);
  r.mean_err = sum_diff / sum_scale;
  return r;
}

struct Tol {
  double max_err, mean_err, argmax_margin;
};
// Tolerances for a weight type and KV-cache type, from the manifest.
Tol tolerance(const Case& c, bool kv_f16) {
  const json& t = manifest()["tolerances"]
                            [c.m["weights"].get<std::string>() + (kv_f16 ? "_kv_f16" : "_kv_f32")];
  return {t["max_err"].get<double>(), t["mean_err"].get<double>(),
          t["argmax_margin"].get<double>()};
}

void print_metrics(const char* what, const Case& c, bool kv_f16, const Metrics& m) {
  std::printf(
      "  %-9s %-28s kv=%s  max_err %.2e (pos %lld)  mean_err %.2e  argmax %lld/%lld agree\n", what,
      c.label().c_str(), kv_f16 ? "f16" : "f32", m.max_err, (long long)m.worst_pos, m.mean_err,
      (long long)(m.argmax_checked - m.argmax_mismatch), (long long)m.argmax_checked);
}

class HfParity : public ::testing::TestWithParam<Case> {};

TEST_P(HfParity, LogitsMatchTransformers) {
  const Case& c = GetParam();
  const std::vector<float> hf = read_f32(kDir + c.m["logits"].get<std::string>());
  ASSERT_FALSE(hf.empty()) << "missing " << c.m["logits"];
  const std::string path = gguf_path(c);
  for (bool kv_f16 : {false, true}) {
    SCOPED_TRACE(kv_f16 ? "f16 KV cache" : "f32 KV cache");
    const Tol tol = tolerance(c, kv_f16);
    auto eng = load(path, kv_f16);
    ASSERT_NE(eng, nullptr);
    const Metrics m = compare_logits(*eng, c, hf, tol.argmax_margin);
    print_metrics("prefill", c, kv_f16, m);
    EXPECT_LE(m.max_err, tol.max_err);
    EXPECT_LE(m.mean_err, tol.mean_err);
    EXPECT_EQ(m.argmax_mismatch, 0);
    EXPECT_GT(m.argmax_checked, 0) << "no position is well-conditioned enough to compare argmax";
  }
}

// Token-by-token decode from the prompt (the KV-cache path): every step's logits match HF's at that
// position, and each greedy choice is HF's greedy token (exactly, at every step whose HF margin is
// above the tolerance's argmax_margin; with an f32 KV cache and I2_S that is the whole
// continuation).
TEST_P(HfParity, GreedyDecodeMatchesTransformers) {
  const Case& c = GetParam();
  const std::vector<float> hf = read_f32(kDir + c.m["logits"].get<std::string>());
  ASSERT_FALSE(hf.empty());
  const int64_t nv = c.m["n_vocab"].get<int64_t>();
  const auto prompt = ids_of(c.m["prompt_ids"]);
  const auto want = ids_of(c.m["continuation_ids"]);
  const std::string path = gguf_path(c);
  for (bool kv_f16 : {false, true}) {
    SCOPED_TRACE(kv_f16 ? "f16 KV cache" : "f32 KV cache");
    const Tol tol = tolerance(c, kv_f16);
    auto eng = load(path, kv_f16);
    ASSERT_NE(eng, nullptr);
    auto s = eng->new_session();
    ASSERT_TRUE(s.is_ok()) << s.status().to_string();
    ASSERT_TRUE((*s)->eval(prompt).is_ok());
    Metrics m;
    double sum_diff = 0, sum_scale = 0;
    // Decode the whole continuation, feeding HF's tokens, so that every step's logits are compared
    // against HF's even after a legitimately ambiguous step; the greedy choice is checked per step.
    size_t exact_steps = want.size(), same = 0;
    for (size_t i = 0; i < want.size(); ++i) {
      const int64_t pos =
          static_cast<int64_t>(prompt.size() + i) - 1;  // logits of the last token fed
      const float* ref = hf.data() + pos * nv;
      add_position(m, (*s)->logits(), ref, nv, pos, tol.argmax_margin, &sum_diff, &sum_scale);
      const int32_t ours = static_cast<int32_t>(argmax((*s)->logits()));
      if (exact_steps == want.size() && margin(ref, nv) <= tol.argmax_margin)
        exact_steps = i;  // ambiguous from here
      if (i < exact_steps) {
        EXPECT_EQ(ours, want[i]) << "greedy step " << i;
      }
      same += ours == want[i];
      ASSERT_TRUE((*s)->eval(std::span<const int32_t>(&want[i], 1)).is_ok());
    }
    m.mean_err = sum_diff / sum_scale;
    print_metrics("decode", c, kv_f16, m);
    std::printf(
        "            greedy: %zu of %zu steps required to match (HF margin > %.2f std), %zu of %zu "
        "match\n",
        exact_steps, want.size(), tol.argmax_margin, same, want.size());
    EXPECT_LE(m.max_err, tol.max_err);
    EXPECT_LE(m.mean_err, tol.mean_err);
    if (!kv_f16 && c.m["weights"] == "i2_s") {  // the reference configuration: all of it
      EXPECT_EQ(exact_steps, want.size())
          << "fixture's HF decision margins are below argmax_margin";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, HfParity, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<Case>& i) { return i.param.label(); });
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(HfParity);

// Checksum of ternary codes in HF row-major [out, in] order, as tools/device/hf_reference.py
// computes it.
uint64_t ternary_checksum(const std::vector<int8_t>& t) {
  uint64_t s = 0;
  for (size_t i = 0; i < t.size(); ++i)
    s += static_cast<uint64_t>(t[i] + 1) * ((i * 2654435761ull) & 0xffffffffull);
  return s;
}

const char* kLinears[][2] = {
    {"self_attn.q_proj", "attn_q"}, {"self_attn.k_proj", "attn_k"},
    {"self_attn.v_proj", "attn_v"}, {"self_attn.o_proj", "attn_output"},
    {"mlp.gate_proj", "ffn_gate"},  {"mlp.up_proj", "ffn_up"},
    {"mlp.down_proj", "ffn_down"},
};

// Our absmean ternarization of the masters == transformers' WeightQuant: identical codes, gamma
// within rounding (HF computes 1/(1/mean) in fp32, we compute the mean in double).
TEST(HfParityConvert, TernaryCodesAndScalesMatchWeightQuant) {
  int checked = 0;
  for (const Case& c : cases()) {
    if (c.m["gguf"].is_null()) continue;
    SCOPED_TRACE(c.label());
    auto f = GgufFile::open(kDir + c.m["gguf"].get<std::string>());
    ASSERT_TRUE(f.is_ok()) << f.status().to_string();
    std::ifstream in(kDir + c.m["hf_quant"].get<std::string>());
    const json q = json::parse(in, nullptr, false);
    ASSERT_TRUE(q.is_object());
    for (auto it = q.begin(); it != q.end(); ++it) {
      // "model.layers.N.<linear>" -> "blk.N.<gguf>.weight"
      const std::string hf = it.key();
      const size_t l0 = std::string("model.layers.").size(), dot = hf.find('.', l0);
      const std::string layer = hf.substr(l0, dot - l0), lin = hf.substr(dot + 1);
      std::string gg;
      for (auto& p : kLinears)
        if (lin == p[0]) gg = "blk." + layer + "." + p[1] + ".weight";
      ASSERT_FALSE(gg.empty()) << hf;
      const GgufTensorInfo* t = f->find_tensor(gg);
      ASSERT_NE(t, nullptr) << gg;
      ASSERT_EQ(t->type, GgmlType::I2_S);
      const int64_t n = t->ne[0] * t->ne[1];
      EXPECT_EQ(t->ne[1], it.value()["shape"][0].get<int64_t>())
          << gg << ": ne[1] must be out-features";
      EXPECT_EQ(t->ne[0], it.value()["shape"][1].get<int64_t>())
          << gg << ": ne[0] must be in-features";
      std::vector<int8_t> tern(static_cast<size_t>(n));
      float scale;
      unpack_i2s(t->data, n, tern.data(), &scale);
      EXPECT_EQ(ternary_checksum(tern), it.value()["checksum"].get<uint64_t>()) << gg;
      const double g = it.value()["gamma"].get<double>();
      EXPECT_NEAR(scale, g, 2e-6 * g) << gg;
      ++checked;
    }
  }
  EXPECT_GT(checked, 0) << "no fixtures found in " << kDir;
}

// The packed export (U8 [out/4, in] + weight_scale, sharded) converts to exactly the tensors the
// masters convert to: the unpack path and the master path agree.
TEST(HfParityConvert, PackedExportConvertsLikeMasters) {
  const Case* packed = nullptr;
  std::vector<Case> cs = cases();
  for (const Case& c : cs)
    if (c.m.contains("convert_from") && c.m["weights"] == "i2_s") packed = &c;
  ASSERT_NE(packed, nullptr) << "no packed fixture in the manifest";
  const Case* master = nullptr;
  for (const Case& c : cs)
    if (!c.m["gguf"].is_null() && c.m["name"] == packed->m["name"]) master = &c;
  ASSERT_NE(master, nullptr);
  auto a = GgufFile::open(kDir + master->m["gguf"].get<std::string>());
  auto b = GgufFile::open(gguf_path(*packed));
  ASSERT_TRUE(a.is_ok() && b.is_ok());
  ASSERT_EQ(a->tensors().size(), b->tensors().size());
  for (const auto& ta : a->tensors()) {
    const GgufTensorInfo* tb = b->find_tensor(ta.name);
    ASSERT_NE(tb, nullptr) << ta.name;
    EXPECT_EQ(ta.type, tb->type) << ta.name;
    EXPECT_EQ(ta.ne, tb->ne) << ta.name;
    ASSERT_EQ(ta.nbytes, tb->nbytes) << ta.name;
    if (ta.type == GgmlType::I2_S) {
      const int64_t n = ta.ne[0] * ta.ne[1];
      EXPECT_EQ(0, std::memcmp(ta.data, tb->data, static_cast<size_t>(n / 4)))
          << ta.name << ": codes differ";
      const float sa = i2s_scale(ta.data, n), sb = i2s_scale(tb->data, n);
      EXPECT_NEAR(sa, sb, 2e-6 * sa) << ta.name;
    } else {
      EXPECT_EQ(0, std::memcmp(ta.data, tb->data, ta.nbytes))
          << ta.name;  // f16 embeddings, f32 norms
    }
  }
  for (const auto& [key, va] : a->metadata()) {
    if (key == "general.name") continue;
    const GgufValue* vb = b->find(key);
    ASSERT_NE(vb, nullptr) << key;
    EXPECT_EQ(va.type, vb->type) << key;
    EXPECT_EQ(va.u, vb->u) << key;
    EXPECT_EQ(va.f, vb->f) << key;
    EXPECT_EQ(va.s, vb->s) << key;
  }
}

}  // namespace
}  // namespace bitnet
