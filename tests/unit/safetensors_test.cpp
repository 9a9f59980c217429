// safetensors reader: round trips, sharded directories, real transformers-written files, and
// rejection of malformed headers (every check in safetensors.h has a case here).
#include "formats/safetensors.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/fp16.h"

namespace bitnet {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

struct Spec {
  std::string name, dtype;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;
};

std::vector<uint8_t> raw(const std::string& header, const std::vector<uint8_t>& data) {
  std::vector<uint8_t> out(8 + header.size() + data.size());
  const uint64_t n = header.size();
  std::memcpy(out.data(), &n, 8);
  if (!header.empty()) std::memcpy(out.data() + 8, header.data(), header.size());
  if (!data.empty()) std::memcpy(out.data() + 8 + header.size(), data.data(), data.size());
  return out;
}

// A well-formed file: tensors back to back in the given order, header padded with spaces to 8.
std::vector<uint8_t> build(const std::vector<Spec>& ts,
                           const std::map<std::string, std::string>& meta = {}) {
  json h = json::object();
  std::vector<uint8_t> data;
  for (const auto& t : ts) {
    h[t.name] = {{"dtype", t.dtype},
                 {"shape", t.shape},
                 {"data_offsets", {data.size(), data.size() + t.bytes.size()}}};
    data.insert(data.end(), t.bytes.begin(), t.bytes.end());
  }
  if (!meta.empty()) h["__metadata__"] = meta;
  std::string s = h.dump();
  while (s.size() % 8) s += ' ';
  return raw(s, data);
}

template <typename T>
std::vector<uint8_t> bytes_of(const std::vector<T>& v) {
  std::vector<uint8_t> b(v.size() * sizeof(T));
  std::memcpy(b.data(), v.data(), b.size());
  return b;
}

Result<SafetensorsFile> parse(const std::vector<uint8_t>& b) {
  return SafetensorsFile::from_bytes(b.data(), b.size(), "t");
}

void write_file(const std::string& path, const std::vector<uint8_t>& b) {
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

TEST(Safetensors, RoundTrip) {
  const std::vector<float> f32 = {1, -2, 3.5f, 0, 1e-3f, -7};
  const std::vector<uint16_t> bf16 = {f32_to_bf16(1.5f), f32_to_bf16(-0.25f), f32_to_bf16(3.0f), 0};
  const std::vector<uint16_t> f16 = {f32_to_f16(0.5f), f32_to_f16(-8.0f)};
  auto b = build({{"w.f32", "F32", {2, 3}, bytes_of(f32)},
                  {"w.bf16", "BF16", {4}, bytes_of(bf16)},
                  {"w.f16", "F16", {1, 2}, bytes_of(f16)},
                  {"packed", "U8", {2, 2}, {0x01, 0x26, 0x99, 0x00}},
                  {"scalar", "I64", {}, std::vector<uint8_t>(8, 0)},
                  {"empty", "F32", {0, 5}, {}}},
                 {{"format", "pt"}});
  auto f = parse(b);
  ASSERT_TRUE(f.is_ok()) << f.status().to_string();
  EXPECT_EQ(f->tensors().size(), 6u);
  EXPECT_EQ(f->metadata().at("format"), "pt");
  const StTensor* t = f->find("w.f32");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->dtype, StDtype::F32);
  EXPECT_EQ(t->shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(t->numel(), 6);
  EXPECT_EQ(t->nbytes, 24u);
  EXPECT_EQ(t->shape_str(), "[2, 3]");
  EXPECT_EQ(st_read_f32(*t).value(), f32);
  EXPECT_EQ(st_read_f32(*f->find("w.bf16")).value(), (std::vector<float>{1.5f, -0.25f, 3.0f, 0}));
  EXPECT_EQ(st_read_f32(*f->find("w.f16")).value(), (std::vector<float>{0.5f, -8.0f}));
  const StTensor* p = f->find("packed");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->dtype, StDtype::U8);
  EXPECT_EQ(p->data[1], 0x26);
  EXPECT_EQ(st_read_f32(*p).status().code(), StatusCode::kUnsupported);
  EXPECT_EQ(f->find("scalar")->numel(), 1);
  EXPECT_EQ(f->find("empty")->numel(), 0);
  EXPECT_EQ(f->find("missing"), nullptr);
  EXPECT_STREQ(st_dtype_name(StDtype::BF16), "BF16");
  EXPECT_EQ(st_dtype_size(StDtype::I64), 8u);
}

TEST(Safetensors, HeaderOrderDoesNotMatterAndTrailingSpacesAreAllowed) {
  // Entries listed out of offset order, header padded with many spaces.
  const std::string h =
      R"({"b":{"dtype":"U8","shape":[2],"data_offsets":[2,4]},"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}      )";
  auto f = parse(raw(h, {1, 2, 3, 4}));
  ASSERT_TRUE(f.is_ok()) << f.status().to_string();
  EXPECT_EQ(f->find("a")->data[0], 1);
  EXPECT_EQ(f->find("b")->data[0], 3);
  EXPECT_EQ(f->tensors()[0].name, "a");  // data order
}

void expect_rejected(const std::vector<uint8_t>& b, StatusCode code, const std::string& needle) {
  auto f = parse(b);
  ASSERT_FALSE(f.is_ok()) << "accepted; expected an error containing '" << needle << "'";
  EXPECT_EQ(f.status().code(), code) << f.status().to_string();
  EXPECT_NE(f.status().message().find(needle), std::string::npos) << f.status().to_string();
}

TEST(Safetensors, RejectsMalformedHeaders) {
  const std::vector<uint8_t> d4 = {0, 0, 0, 0};
  auto one = [&](const std::string& entry, const std::vector<uint8_t>& data) {
    return raw("{\"x\":" + entry + "}", data);
  };
  expect_rejected({1, 2, 3}, StatusCode::kCorrupt, "shorter than");
  {
    std::vector<uint8_t> b(16, 0);
    const uint64_t n = 1000;
    std::memcpy(b.data(), &n, 8);
    expect_rejected(b, StatusCode::kCorrupt, "past the end");
    const uint64_t huge = 200'000'000;
    std::memcpy(b.data(), &huge, 8);
    expect_rejected(b, StatusCode::kCorrupt, "100 MB");
  }
  expect_rejected(raw("[1,2]   ", {}), StatusCode::kCorrupt, "not a JSON object");
  expect_rejected(raw("{\"x\":1,", {}), StatusCode::kCorrupt, "not valid JSON");
  expect_rejected(raw("{\"x\":{\"dtype\":\"U8\"}}", {}), StatusCode::kCorrupt, "shape");
  expect_rejected(one(R"({"dtype":"Q4","shape":[4],"data_offsets":[0,4]})", d4),
                  StatusCode::kUnsupported, "Q4");
  expect_rejected(one(R"({"dtype":7,"shape":[4],"data_offsets":[0,4]})", d4), StatusCode::kCorrupt,
                  "dtype");
  expect_rejected(one(R"({"dtype":"U8","shape":[-4],"data_offsets":[0,4]})", d4),
                  StatusCode::kCorrupt, "non-negative");
  expect_rejected(one(R"({"dtype":"U8","shape":[4.5],"data_offsets":[0,4]})", d4),
                  StatusCode::kCorrupt, "non-negative");
  expect_rejected(one(R"({"dtype":"U8","shape":[4],"data_offsets":[0]})", d4), StatusCode::kCorrupt,
                  "[begin, end]");
  expect_rejected(one(R"({"dtype":"U8","shape":[4],"data_offsets":[4,0]})", d4),
                  StatusCode::kCorrupt, "reversed");
  expect_rejected(one(R"({"dtype":"F32","shape":[4],"data_offsets":[0,4]})", d4),
                  StatusCode::kCorrupt, "needs 16");
  expect_rejected(one(R"({"dtype":"U8","shape":[8],"data_offsets":[0,8]})", d4),
                  StatusCode::kCorrupt, "truncated");
  expect_rejected(one(R"({"dtype":"U8","shape":[2],"data_offsets":[0,2]})", d4),
                  StatusCode::kCorrupt, "cover 2 bytes");
  expect_rejected(one(R"({"dtype":"U8","shape":[2],"data_offsets":[2,4]})", d4),
                  StatusCode::kCorrupt, "hole");
  expect_rejected(
      one(R"({"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,0]})", {}),
      StatusCode::kCorrupt, "overflow");
  expect_rejected(
      one(R"({"dtype":"U8","shape":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17],"data_offsets":[0,0]})",
          {}),
      StatusCode::kCorrupt, "dimensions");
  expect_rejected(
      raw(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}})",
          d4),
      StatusCode::kCorrupt, "overlap");
  expect_rejected(
      raw(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}})",
          d4),
      StatusCode::kCorrupt, "duplicate key 'a'");
  expect_rejected(raw(R"({"__metadata__":{"k":1}})", {}), StatusCode::kCorrupt, "not a string");
  expect_rejected(raw(R"({"__metadata__":[["deep"]]})", {}), StatusCode::kCorrupt, "__metadata__");
  expect_rejected(raw(R"({"x":[[[[1]]]]})", {}), StatusCode::kCorrupt, "nests deeper");
  expect_rejected(raw(R"({"x":3})", {}), StatusCode::kCorrupt, "not an object");
}

TEST(Safetensors, EveryTruncationIsRejected) {
  auto b = build({{"a", "F32", {3}, std::vector<uint8_t>(12, 1)},
                  {"b", "U8", {5}, std::vector<uint8_t>(5, 2)}});
  ASSERT_TRUE(parse(b).is_ok());
  for (size_t n = 0; n < b.size(); ++n) {
    std::vector<uint8_t> p(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_FALSE(parse(p).is_ok()) << "prefix of " << n << " bytes accepted";
  }
}

class SafetensorsDir : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::string(BITNET_BINARY_DIR) + "/safetensors_test/" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  std::string path(const std::string& n) const { return dir_ + "/" + n; }
  void write_text(const std::string& n, const std::string& s) const { std::ofstream(path(n)) << s; }
  std::string dir_;
};

TEST_F(SafetensorsDir, ShardedWithIndex) {
  write_file(path("model-00001-of-00002.safetensors"),
             build({{"a", "U8", {2}, {1, 2}}, {"b", "U8", {1}, {3}}}));
  write_file(path("model-00002-of-00002.safetensors"),
             build({{"c", "U8", {1}, {4}}, {"unlisted", "U8", {1}, {9}}}));
  write_text("model.safetensors.index.json", R"({"metadata":{"total_size":4},"weight_map":{
      "a":"model-00001-of-00002.safetensors","b":"model-00001-of-00002.safetensors",
      "c":"model-00002-of-00002.safetensors"}})");
  auto m = SafetensorsModel::open_dir(dir_);
  ASSERT_TRUE(m.is_ok()) << m.status().to_string();
  EXPECT_EQ(m->n_files(), 2u);
  EXPECT_EQ(m->names(), (std::vector<std::string>{"a", "b", "c"}));  // the index is authoritative
  ASSERT_NE(m->find("c"), nullptr);
  EXPECT_EQ(m->find("c")->data[0], 4);
  EXPECT_EQ(m->find("unlisted"), nullptr);
}

TEST_F(SafetensorsDir, IndexErrors) {
  write_file(path("s.safetensors"), build({{"a", "U8", {1}, {1}}}));
  write_text("model.safetensors.index.json",
             R"({"weight_map":{"a":"s.safetensors","zz":"s.safetensors"}})");
  auto m = SafetensorsModel::open_dir(dir_);
  ASSERT_FALSE(m.is_ok());
  EXPECT_NE(m.status().message().find("'zz'"), std::string::npos) << m.status().to_string();

  write_text("model.safetensors.index.json", R"({"weight_map":{"a":"../s.safetensors"}})");
  m = SafetensorsModel::open_dir(dir_);
  ASSERT_FALSE(m.is_ok());
  EXPECT_NE(m.status().message().find("plain file name"), std::string::npos)
      << m.status().to_string();

  write_text("model.safetensors.index.json", R"({"weight_map":{"a":"missing.safetensors"}})");
  EXPECT_EQ(SafetensorsModel::open_dir(dir_).status().code(), StatusCode::kNotFound);

  write_text("model.safetensors.index.json", R"({"weight_map":[]})");
  EXPECT_EQ(SafetensorsModel::open_dir(dir_).status().code(), StatusCode::kCorrupt);
}

TEST_F(SafetensorsDir, SingleFileAndUnindexedShards) {
  EXPECT_EQ(SafetensorsModel::open_dir(dir_).status().code(), StatusCode::kNotFound);  // empty dir
  EXPECT_EQ(SafetensorsModel::open_dir(dir_ + "/nope").status().code(), StatusCode::kNotFound);
  write_file(path("x.safetensors"), build({{"a", "U8", {1}, {1}}}));
  write_file(path("y.safetensors"), build({{"b", "U8", {1}, {2}}}));
  auto m = SafetensorsModel::open_dir(dir_);
  ASSERT_TRUE(m.is_ok()) << m.status().to_string();
  EXPECT_EQ(m->names(), (std::vector<std::string>{"a", "b"}));
  write_file(path("z.safetensors"), build({{"b", "U8", {1}, {3}}}));
  m = SafetensorsModel::open_dir(dir_);
  ASSERT_FALSE(m.is_ok());
  EXPECT_NE(m.status().message().find("more than one file"), std::string::npos);
  write_file(path("model.safetensors"), build({{"only", "U8", {1}, {5}}}));
  m = SafetensorsModel::open_dir(dir_);  // model.safetensors wins over loose shards
  ASSERT_TRUE(m.is_ok()) << m.status().to_string();
  EXPECT_EQ(m->names(), (std::vector<std::string>{"only"}));
}

// A sharded checkpoint written by transformers' tooling (tools/device/hf_reference.py).
TEST(Safetensors, ReadsTransformersWrittenShards) {
  const std::string dir = std::string(BITNET_TEST_DATA_DIR) + "/hf/b158_gqa_packed";
  if (!fs::exists(dir)) GTEST_SKIP() << "no fixture " << dir;
  auto m = SafetensorsModel::open_dir(dir);
  ASSERT_TRUE(m.is_ok()) << m.status().to_string();
  EXPECT_EQ(m->n_files(), 3u);
  const StTensor* q = m->find("model.layers.0.self_attn.q_proj.weight");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->dtype, StDtype::U8);
  EXPECT_EQ(q->shape, (std::vector<int64_t>{64, 256}));  // [out/4, in]
  const StTensor* s = m->find("model.layers.0.self_attn.q_proj.weight_scale");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->dtype, StDtype::F32);
  EXPECT_EQ(s->numel(), 1);
  const StTensor* e = m->find("model.embed_tokens.weight");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->dtype, StDtype::BF16);
  EXPECT_EQ(e->shape, (std::vector<int64_t>{512, 256}));
  EXPECT_EQ(m->files()[0].metadata().at("format"), "pt");
}

}  // namespace
}  // namespace bitnet
