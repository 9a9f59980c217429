// Q4_K / Q6_K reference codecs: hand-built blocks in ggml's byte layout (block_q4_K, block_q6_K)
// decode to hand-computed values, quantize -> dequantize error bounds, the scale search beats the
// plain max mapping, and rows that are not whole 256-blocks are refused.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "core/fp16.h"
#include "formats/ggml_types.h"
#include "formats/gguf.h"
#include "formats/ternary_codecs.h"

namespace bitnet {
namespace {

void put_half(uint8_t* p, float v) {
  const uint16_t h = f32_to_f16(v);
  std::memcpy(p, &h, 2);
}

TEST(KQuantTypes, SizesNamesAndIds) {
  EXPECT_EQ(ggml_type_from_id(12), GgmlType::Q4_K);
  EXPECT_EQ(ggml_type_from_id(14), GgmlType::Q6_K);
  EXPECT_FALSE(ggml_type_from_id(13).has_value());  // Q5_K: not supported
  EXPECT_EQ(*ggml_type_name(12), "q4_k");
  EXPECT_EQ(ggml_type_from_name("q6_K"), GgmlType::Q6_K);  // ggml's spelling
  EXPECT_EQ(ggml_type_from_name("Q4_K"), GgmlType::Q4_K);
  EXPECT_EQ(ggml_block_elems(GgmlType::Q4_K), 256);
  EXPECT_EQ(ggml_block_bytes(GgmlType::Q4_K), 144);
  EXPECT_EQ(ggml_block_bytes(GgmlType::Q6_K), 210);
  EXPECT_EQ(*ggml_row_bytes(GgmlType::Q6_K, 2560), 10u * 210u);
  const int64_t ne[2] = {2560, 3};
  EXPECT_EQ(*ggml_tensor_nbytes(GgmlType::Q4_K, ne), 3u * 10u * 144u);
}

TEST(KQuantTypes, RowsNotWholeBlocksAreRefused) {
  EXPECT_FALSE(ggml_row_bytes(GgmlType::Q4_K, 300).has_value());
  EXPECT_FALSE(ggml_row_bytes(GgmlType::Q6_K, 128).has_value());
  const int64_t ne[2] = {2000, 4};
  EXPECT_FALSE(ggml_tensor_nbytes(GgmlType::Q6_K, ne).has_value());
  std::vector<uint8_t> bytes(1024, 0);
  std::vector<float> y(512);
  EXPECT_FALSE(float_row_to_f32(GgmlType::Q4_K, bytes.data(), 300, y.data()));
  EXPECT_FALSE(float_row_to_f32(GgmlType::Q6_K, bytes.data(), 100, y.data()));
  // A GGUF whose Q4_K tensor has a 300-wide row is rejected with a message, not read.
  GgufWriter w;
  ASSERT_TRUE(w.add_tensor("x", GgmlType::F32, {300, 1}, std::vector<uint8_t>(1200, 0)).is_ok());
  auto b = w.to_bytes();
  const size_t type_at = 24 + 8 + 1 + 4 + 16;  // header, name "x", n_dims, ne[2], then the type id
  ASSERT_EQ(b[type_at], 0);
  b[type_at] = 12;
  auto r = GgufFile::from_bytes(b.data(), b.size());
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("invalid for its type"), std::string::npos) << r.status().message();
}

// Q6_K by hand: ql[128] qh[64] scales[16] d. Element 0 = ql[0] low nibble + qh[0] bits 0-1,
// element 32 = ql[32] low + qh[0] bits 2-3, element 64 = ql[0] high + qh[0] bits 4-5.
TEST(Q6K, HandBuiltBlockDecodes) {
  std::vector<uint8_t> blk(210, 0);
  blk[0] = 0x21;   // e0 low = 1, e64 low = 2
  blk[128] = 0x06; // e0 high = 2 (code 33 -> +1), e32 high = 1 (code 16 -> -16), e64 high = 0 (code 2 -> -30)
  blk[192 + 0] = 3;                              // group 0 (e0..15)
  blk[192 + 2] = 5;                              // group 2 (e32..47)
  blk[192 + 4] = static_cast<uint8_t>(int8_t{-2});  // group 4 (e64..79)
  put_half(blk.data() + 208, 0.25f);
  std::vector<float> y(256);
  dequantize_q6_k(blk.data(), 256, y.data());
  EXPECT_EQ(y[0], 0.25f * 3 * 1);
  EXPECT_EQ(y[32], 0.25f * 5 * -16);
  EXPECT_EQ(y[64], 0.25f * -2 * -30);
  EXPECT_EQ(y[1], 0.25f * 3 * -32);  // code 0 everywhere else
  EXPECT_EQ(y[200], 0.0f);           // group 12 has scale 0

  // Every element through ggml's documented order: quarters of each 128-half, codes (e*7) % 64.
  std::vector<uint8_t> b2(210, 0);
  for (int g = 0; g < 16; ++g) b2[192 + g] = static_cast<uint8_t>(static_cast<int8_t>(g - 8));
  put_half(b2.data() + 208, -0.5f);
  auto code = [](int e) { return (e * 7) % 64; };
  for (int n = 0; n < 2; ++n)
    for (int l = 0; l < 32; ++l) {
      const int e = 128 * n + l;
      b2[64 * n + l] = static_cast<uint8_t>((code(e) & 15) | ((code(e + 64) & 15) << 4));
      b2[64 * n + 32 + l] = static_cast<uint8_t>((code(e + 32) & 15) | ((code(e + 96) & 15) << 4));
      b2[128 + 32 * n + l] = static_cast<uint8_t>((code(e) >> 4) | ((code(e + 32) >> 4) << 2) |
                                                  ((code(e + 64) >> 4) << 4) | ((code(e + 96) >> 4) << 6));
    }
  dequantize_q6_k(b2.data(), 256, y.data());
  for (int e = 0; e < 256; ++e) ASSERT_EQ(y[e], -0.5f * static_cast<float>(e / 16 - 8) * (code(e) - 32)) << e;
}

// Q4_K by hand: d dmin scales[12] qs[128]. Scales/mins (6 bit): groups 0-3 in bytes 0-3 / 4-7,
// groups 4-7 in the nibbles of bytes 8-11 with their top two bits in bits 6-7 of bytes 0-3 / 4-7.
TEST(Q4K, HandBuiltBlockDecodes) {
  std::vector<uint8_t> blk(144, 0);
  put_half(blk.data(), 0.5f);
  put_half(blk.data() + 2, 0.25f);
  // sc = 1 2 3 4 33 34 35 63, m = 5 6 7 8 40 41 42 63
  const uint8_t s12[12] = {0x81, 0x82, 0x83, 0xC4, 0x85, 0x86, 0x87, 0xC8, 0x81, 0x92, 0xA3, 0xFF};
  std::memcpy(blk.data() + 4, s12, 12);
  uint8_t sc[8], m[8];
  unpack_q4_k_scales(s12, sc, m);
  const uint8_t want_sc[8] = {1, 2, 3, 4, 33, 34, 35, 63}, want_m[8] = {5, 6, 7, 8, 40, 41, 42, 63};
  for (int g = 0; g < 8; ++g) {
    EXPECT_EQ(sc[g], want_sc[g]) << g;
    EXPECT_EQ(m[g], want_m[g]) << g;
  }
  blk[16 + 0] = 0x3A;        // e0 code 10 (group 0), e32 code 3 (group 1)
  blk[16 + 96 + 31] = 0xF1;  // e223 code 1 (group 6), e255 code 15 (group 7)
  std::vector<float> y(256);
  dequantize_q4_k(blk.data(), 256, y.data());
  EXPECT_EQ(y[0], 0.5f * 1 * 10 - 0.25f * 5);
  EXPECT_EQ(y[32], 0.5f * 2 * 3 - 0.25f * 6);
  EXPECT_EQ(y[223], 0.5f * 35 * 1 - 0.25f * 42);
  EXPECT_EQ(y[255], 0.5f * 63 * 15 - 0.25f * 63);
  EXPECT_EQ(y[1], -0.25f * 5);     // code 0: just the min
  EXPECT_EQ(y[130], -0.25f * 40);  // group 4
}

std::vector<float> gaussian(int64_t n, uint32_t seed, float sigma) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, sigma);
  std::vector<float> x(static_cast<size_t>(n));
  for (auto& v : x) v = nd(rng);
  return x;
}

double rel_rms(const std::vector<float>& a, const std::vector<float>& b) {
  double e = 0, s = 0;
  for (size_t i = 0; i < a.size(); ++i) e += (a[i] - b[i]) * double(a[i] - b[i]), s += double(a[i]) * a[i];
  return std::sqrt(e / s);
}

// Plain max mapping with the same super-block scale quantization (what the search must beat).
double q6k_plain_error(const std::vector<float>& x) {
  std::vector<float> y(x.size());
  for (size_t b = 0; b < x.size() / 256; ++b) {
    float s[16], smax = 0;
    for (int g = 0; g < 16; ++g) {
      float mx = 0;
      for (int i = 0; i < 16; ++i)
        if (std::fabs(x[b * 256 + 16 * g + i]) > std::fabs(mx)) mx = x[b * 256 + 16 * g + i];
      s[g] = mx / -32.0f;
      if (std::fabs(s[g]) > std::fabs(smax)) smax = s[g];
    }
    const float d = f16_to_f32(f32_to_f16(smax / -128.0f));
    for (int g = 0; g < 16; ++g) {
      const float dg = d * std::fmax(-128.0f, std::fmin(127.0f, std::nearbyint(s[g] / d)));
      for (int i = 0; i < 16; ++i) {
        const size_t e = b * 256 + 16 * g + i;
        y[e] = dg * std::fmax(-32.0f, std::fmin(31.0f, std::nearbyint(x[e] / dg)));
      }
    }
  }
  return rel_rms(x, y);
}

TEST(KQuant, RoundTripErrorBounds) {
  const int64_t n = 2560 * 16;
  const auto x = gaussian(n, 3, 0.06f);
  std::vector<float> y(static_cast<size_t>(n));
  std::vector<uint8_t> q6(static_cast<size_t>(n / 256 * 210)), q4(static_cast<size_t>(n / 256 * 144));
  quantize_q6_k(x.data(), n, q6.data());
  dequantize_q6_k(q6.data(), n, y.data());
  const double e6 = rel_rms(x, y);
  quantize_q4_k(x.data(), n, q4.data());
  dequantize_q4_k(q4.data(), n, y.data());
  const double e4 = rel_rms(x, y);
  const double e6_plain = q6k_plain_error(x);
  std::printf("[ kquant ] relative RMS error: q6_k %.4f (plain max mapping %.4f), q4_k %.4f\n", e6, e6_plain, e4);
  // 6 bits: a uniform step of ~amax/31.5 per 16 values gives ~1.8% for Gaussian data; 4 bits with
  // an offset ~7%. The bounds leave room but catch a layout or scale bug (which gives ~100%).
  EXPECT_LT(e6, 0.025);
  EXPECT_LT(e4, 0.09);
  EXPECT_LT(e6, e6_plain);  // the scale search pays

  // Element-wise: within half a step of its group, except values clamped at the code range ends
  // (the scale search may pick a step that clips a group's extreme; never by more than a step).
  for (int64_t b = 0; b < n / 256; ++b) {
    const uint8_t* blk = q6.data() + b * 210;
    uint16_t hd;
    std::memcpy(&hd, blk + 208, 2);
    dequantize_q6_k(blk, 256, y.data());
    for (int e = 0; e < 256; ++e) {
      const float step = std::fabs(f16_to_f32(hd) * static_cast<int8_t>(blk[192 + e / 16]));
      const float v = x[static_cast<size_t>(b * 256 + e)];
      const bool clamped = std::fabs(y[e]) >= 31.0f * step * 0.999f;
      ASSERT_LE(std::fabs(v - y[e]), (clamped ? 1.5f : 0.5f) * step * 1.001f + 1e-7f)
          << "block " << b << " element " << e;
    }
  }
}

TEST(KQuant, ZeroAndConstantAndOffsetRows) {
  std::vector<float> z(512, 0.0f), y(512, 1.0f);
  std::vector<uint8_t> q(2 * 210);
  quantize_q6_k(z.data(), 512, q.data());
  dequantize_q6_k(q.data(), 512, y.data());
  for (float v : y) EXPECT_EQ(v, 0.0f);
  quantize_q4_k(z.data(), 512, q.data());
  dequantize_q4_k(q.data(), 512, y.data());
  for (float v : y) EXPECT_EQ(v, 0.0f);
  // Q4_K's offset: an all-negative row with a large common offset is still reproduced closely.
  auto x = gaussian(512, 9, 0.01f);
  for (auto& v : x) v -= 0.2f;
  quantize_q4_k(x.data(), 512, q.data());
  dequantize_q4_k(q.data(), 512, y.data());
  EXPECT_LT(rel_rms(x, y), 0.01);
  // Q6_K on a row with one outlier group: other groups keep their own scales.
  x = gaussian(256, 4, 0.01f);
  x[7] = 3.0f;
  quantize_q6_k(x.data(), 256, q.data());
  dequantize_q6_k(q.data(), 256, y.data());
  for (int e = 16; e < 256; ++e) EXPECT_NEAR(y[e], x[e], 0.01f) << e;  // not 3.0/64-sized steps
}

}  // namespace
}  // namespace bitnet
