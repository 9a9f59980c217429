// The GGUF reader on corrupted and truncated input: every mutation yields a clean error or a
// valid file, never a crash (run under ASan with `make test-asan`), and specific defects give
// the specific message a user needs.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "formats/gguf.h"
#include "model/config.h"

namespace bitnet {
namespace {

std::vector<uint8_t> sample_file() {
  GgufWriter w;
  w.set_string("general.architecture", "bitnet-b1.58");
  w.set_u32("bitnet-b1.58.block_count", 1);
  w.set_string_array("tokenizer.ggml.tokens", {"a", "b", "c"});
  w.set_f32_array("f", {1, 2});
  std::vector<uint8_t> i2s(256 * 2 / 4 + 32, 0x55);
  EXPECT_TRUE(w.add_tensor("blk.0.attn_q.weight", GgmlType::I2_S, {256, 2}, i2s).is_ok());
  EXPECT_TRUE(w.add_tensor("norm", GgmlType::F32, {8}, std::vector<uint8_t>(32, 0)).is_ok());
  return w.to_bytes();
}

TEST(GgufCorrupt, RandomByteFlipsNeverCrash) {
  const auto good = sample_file();
  std::mt19937 rng(7);
  int rejected = 0;
  for (int iter = 0; iter < 3000; ++iter) {
    auto b = good;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) b[rng() % b.size()] = static_cast<uint8_t>(rng());
    auto r = GgufFile::from_bytes(b.data(), b.size());
    if (!r.is_ok()) {
      ++rejected;
      EXPECT_FALSE(r.status().message().empty());
    } else {
      for (const auto& t : r->tensors()) {  // accepted => every tensor lies inside the file
        ASSERT_GE(t.data, r->base());
        ASSERT_LE(t.data + t.nbytes, r->base() + r->size());
      }
    }
  }
  EXPECT_GT(rejected, 100);
}

TEST(GgufCorrupt, SpecificDefectsHaveSpecificMessages) {
  auto msg = [](const std::vector<uint8_t>& b) {
    auto r = GgufFile::from_bytes(b.data(), b.size(), "m.gguf");
    return r.is_ok() ? std::string("ok") : r.status().message();
  };
  auto b = sample_file();
  auto v = b;
  v[4] = 9;  // version
  EXPECT_NE(msg(v).find("version 9"), std::string::npos) << msg(v);
  auto c = b;
  std::memset(c.data() + 8, 0xff, 8);  // absurd tensor count
  EXPECT_NE(msg(c).find("tensor count"), std::string::npos) << msg(c);
  auto t = b;
  t.resize(t.size() - 40);  // cut into the last tensor
  EXPECT_NE(msg(t).find("extends past the end"), std::string::npos) << msg(t);
}

TEST(GgufCorrupt, UnknownTensorTypeIsUnsupported) {
  GgufWriter w;
  ASSERT_TRUE(w.add_tensor("x", GgmlType::F32, {8}, std::vector<uint8_t>(32, 0)).is_ok());
  auto b = w.to_bytes();
  // tensor info: header(24) + name(8+1) + n_dims(4) + ne(8) then the type id.
  const size_t type_at = 24 + 8 + 1 + 4 + 8;
  ASSERT_EQ(b[type_at], 0);
  b[type_at] = 13;  // Q5_K: valid in ggml, not supported here
  auto r = GgufFile::from_bytes(b.data(), b.size());
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(r.status().message().find("ggml type 13"), std::string::npos);
}

TEST(ModelConfig, RejectsUnknownArchAndBadValues) {
  GgufWriter w;
  w.set_string("general.architecture", "gpt-neox");
  auto b = w.to_bytes();
  auto f = GgufFile::from_bytes(b.data(), b.size());
  ASSERT_TRUE(f.is_ok());
  auto c = config_from_gguf(*f);
  ASSERT_FALSE(c.is_ok());
  EXPECT_NE(c.status().message().find("gpt-neox"), std::string::npos);

  GgufWriter w2;
  w2.set_string("general.architecture", "bitnet-b1.58");
  w2.set_u32("bitnet-b1.58.context_length", 64);
  w2.set_u32("bitnet-b1.58.embedding_length", 64);
  w2.set_u32("bitnet-b1.58.block_count", 1);
  w2.set_u32("bitnet-b1.58.feed_forward_length", 128);
  w2.set_u32("bitnet-b1.58.attention.head_count", 3);
  w2.set_u32("bitnet-b1.58.attention.head_count_kv", 2);  // 3 % 2 != 0
  auto b2 = w2.to_bytes();
  auto f2 = GgufFile::from_bytes(b2.data(), b2.size());
  auto c2 = config_from_gguf(*f2);
  ASSERT_FALSE(c2.is_ok());
  EXPECT_NE(c2.status().message().find("head_count_kv"), std::string::npos) << c2.status().message();
}

}  // namespace
}  // namespace bitnet
