// GGUF reader/writer: round trips, every metadata type, I2_S sizes, and rejection of bad files.
#include <gtest/gtest.h>

#include "formats/gguf.h"

namespace bitnet {
namespace {

TEST(Gguf, RoundTripMetadataAndTensor) {
  GgufWriter w;
  w.set_string("general.architecture", "bitnet-b1.58");
  w.set_u32("a.u32", 7);
  w.set_f32("a.f32", 1.5f);
  w.set_bool("a.bool", true);
  w.set_string_array("a.strs", {"x", "yz", ""});
  w.set_f32_array("a.f32s", {1, 2, 3});
  w.set_i32_array("a.i32s", {-1, 5});
  std::vector<uint8_t> t(128 / 4 + 32, 0x55);
  ASSERT_TRUE(w.add_tensor("w", GgmlType::I2_S, {64, 2}, t).is_ok());
  auto bytes = w.to_bytes();
  auto f = GgufFile::from_bytes(bytes.data(), bytes.size());
  ASSERT_TRUE(f.is_ok()) << f.status().to_string();
  EXPECT_EQ(f->get_string("general.architecture").value(), "bitnet-b1.58");
  EXPECT_EQ(f->get_int("a.u32").value(), 7);
  EXPECT_EQ(f->get_float("a.f32").value(), 1.5);
  EXPECT_TRUE(f->get_bool("a.bool").value());
  EXPECT_EQ(f->get_string_array("a.strs").value().size(), 3u);
  EXPECT_EQ(f->get_f32_array("a.f32s").value()[2], 3.0f);
  EXPECT_EQ(f->get_i32_array("a.i32s").value()[0], -1);
  const auto* ti = f->find_tensor("w");
  ASSERT_NE(ti, nullptr);
  EXPECT_EQ(ti->nbytes, 64u);
  EXPECT_EQ(ti->data[0], 0x55);
  EXPECT_FALSE(f->get_int("missing").is_ok());
  EXPECT_FALSE(f->get_int("a.f32").is_ok());
}

TEST(Gguf, RejectsBadMagicAndTruncation) {
  GgufWriter w;
  w.set_string("k", "v");
  ASSERT_TRUE(w.add_tensor("t", GgmlType::F32, {4}, std::vector<uint8_t>(16, 0)).is_ok());
  auto bytes = w.to_bytes();
  auto full = GgufFile::from_bytes(bytes.data(), bytes.size());
  ASSERT_TRUE(full.is_ok());
  // Everything up to the end of the last tensor's data is needed; trailing padding is not.
  const size_t needed = full->data_offset() + 16;
  EXPECT_TRUE(GgufFile::from_bytes(bytes.data(), needed).is_ok());
  for (size_t n = 0; n < needed; ++n) {
    auto f = GgufFile::from_bytes(bytes.data(), n);
    EXPECT_FALSE(f.is_ok()) << "prefix of " << n << " bytes accepted";
  }
  bytes[0] = 'X';
  EXPECT_EQ(GgufFile::from_bytes(bytes.data(), bytes.size()).status().code(), StatusCode::kCorrupt);
}

}  // namespace
}  // namespace bitnet
