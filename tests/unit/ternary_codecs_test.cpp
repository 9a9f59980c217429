// Reference codecs: bit-exact layouts (hand-checked bytes from spec §4) and round trips.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "core/fp16.h"
#include "formats/ternary_codecs.h"

namespace bitnet {
namespace {

std::vector<int8_t> random_ternary(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<int8_t> t(static_cast<size_t>(n));
  for (auto& v : t) v = static_cast<int8_t>(static_cast<int>(rng() % 3) - 1);
  return t;
}

TEST(I2S, LayoutMatchesSpec) {
  // Element 32g+p of a block sits in byte p at bits 6-2g: byte 0 = c[0]<<6 | c[32]<<4 | c[64]<<2 | c[96].
  std::vector<int8_t> t(128, 0);  // code 1 everywhere
  t[0] = 1;    // code 2 -> byte 0 bits 7..6
  t[32] = -1;  // code 0 -> byte 0 bits 5..4
  t[97] = 1;   // code 2 -> byte 1 bits 1..0
  std::vector<uint8_t> out(128 / 4 + 32);
  pack_i2s(t.data(), 128, 0.5f, out.data());
  EXPECT_EQ(out[0], (2 << 6) | (0 << 4) | (1 << 2) | 1);
  EXPECT_EQ(out[1], (1 << 6) | (1 << 4) | (1 << 2) | 2);
  EXPECT_EQ(out[2], 0x55);
  EXPECT_EQ(i2s_scale(out.data(), 128), 0.5f);
  for (int i = 4; i < 32; ++i) EXPECT_EQ(out[32 + i], 0) << "tail byte " << i;
}

TEST(I2S, RoundTrip) {
  const int64_t n = 128 * 37;
  auto t = random_ternary(n, 1);
  std::vector<uint8_t> packed(n / 4 + 32);
  pack_i2s(t.data(), n, 0.031f, packed.data());
  std::vector<int8_t> back(n);
  float s = 0;
  unpack_i2s(packed.data(), n, back.data(), &s);
  EXPECT_EQ(back, t);
  EXPECT_EQ(s, 0.031f);
}

template <typename Q, typename D>
void check_tq_roundtrip(Q quant, D dequant, size_t block_bytes) {
  const int64_t n = 256 * 9;
  auto t = random_ternary(n, 2);
  const float gamma = 0.0421f;
  std::vector<float> x(n), y(n);
  for (int64_t i = 0; i < n; ++i) x[i] = t[i] * gamma;
  std::vector<uint8_t> packed(n / 256 * block_bytes);
  quant(x.data(), n, packed.data());
  dequant(packed.data(), n, y.data());
  const float d = f16_to_f32(f32_to_f16(gamma));  // scale is stored as f16
  for (int64_t i = 0; i < n; ++i) ASSERT_EQ(y[i], t[i] * d) << i;
}

TEST(TQ2_0, RoundTrip) { check_tq_roundtrip(quantize_tq2_0, dequantize_tq2_0, 66); }
TEST(TQ1_0, RoundTrip) { check_tq_roundtrip(quantize_tq1_0, dequantize_tq1_0, 54); }

TEST(TQ2_0, LowBitsFirst) {
  std::vector<float> x(256, 0.0f);
  x[0] = 1.0f;    // code 2 -> qs[0] bits 1..0
  x[32] = -1.0f;  // code 0 -> qs[0] bits 3..2
  x[128] = 1.0f;  // second half -> qs[32] bits 1..0
  std::vector<uint8_t> b(66);
  quantize_tq2_0(x.data(), 256, b.data());
  EXPECT_EQ(b[0], 2 | (0 << 2) | (1 << 4) | (1 << 6));
  EXPECT_EQ(b[32], 2 | (1 << 2) | (1 << 4) | (1 << 6));
  EXPECT_EQ(f16_to_f32(static_cast<uint16_t>(b[64] | b[65] << 8)), 1.0f);
}

TEST(TQ1_0, FixedPointBase3) {
  // All-zero weights: trits 1 -> v = 121 (11111 in base 3) -> byte ceil(121*256/243) = 128.
  std::vector<float> x(256, 0.0f);
  x[0] = 1.0f;  // block max 1 so the scale is non-zero; weight 0 is trit 0 (most significant) of qs[0]
  std::vector<uint8_t> b(54);
  quantize_tq1_0(x.data(), 256, b.data());
  EXPECT_EQ(b[1], 128);
  EXPECT_EQ(b[0], (202 * 256 + 242) / 243);  // trits 2,1,1,1,1 -> 2*81+27+9+3+1 = 202
  // qh: 4 trits of 1 then x3 -> (1*27+9+3+1)*3 = 120
  EXPECT_EQ(b[48], (120 * 256 + 242) / 243);
}

TEST(Q8_0, RoundTripWithinHalfStep) {
  std::mt19937 rng(3);
  std::normal_distribution<float> nd;
  std::vector<float> x(32 * 10), y(x.size());
  for (auto& v : x) v = nd(rng);
  std::vector<uint8_t> b(10 * 34);
  quantize_q8_0(x.data(), static_cast<int64_t>(x.size()), b.data());
  dequantize_q8_0(b.data(), static_cast<int64_t>(x.size()), y.data());
  for (size_t blk = 0; blk < 10; ++blk) {
    float amax = 0;
    for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[blk * 32 + j]));
    for (int j = 0; j < 32; ++j) EXPECT_NEAR(y[blk * 32 + j], x[blk * 32 + j], amax / 127 * 0.51 + 1e-3);
  }
}

TEST(Fp16, ExactAndRounding) {
  for (float f : {0.0f, 1.0f, -2.5f, 65504.0f, 6.103515625e-05f, 5.960464477539063e-08f})
    EXPECT_EQ(f16_to_f32(f32_to_f16(f)), f);
  EXPECT_EQ(f32_to_f16(1.0f + 1.0f / 2048), f32_to_f16(1.0f));  // tie -> even
  EXPECT_TRUE(std::isinf(f16_to_f32(f32_to_f16(1e6f))));
  EXPECT_EQ(bf16_to_f32(f32_to_bf16(1.5f)), 1.5f);
  // Every f16 bit pattern survives f16 -> f32 -> f16 (NaNs stay NaN).
  for (uint32_t h = 0; h < 65536; ++h) {
    const float f = f16_to_f32(static_cast<uint16_t>(h));
    if (std::isnan(f)) continue;
    ASSERT_EQ(f32_to_f16(f), h);
  }
}

TEST(Ternarize, AbsmeanMatchesSpec) {
  // gamma = mean|W| = (0.2 + 0.6 + 1.0 + 0.2) / 4 = 0.5; W/gamma = 0.4, -1.2, 2, 0.4 -> 0, -1, 1, 0
  std::vector<float> w = {0.2f, -0.6f, 1.0f, 0.2f};
  std::vector<int8_t> t(4);
  EXPECT_FLOAT_EQ(ternarize_absmean(w.data(), 4, t.data()), 0.5f);
  EXPECT_EQ(t, (std::vector<int8_t>{0, -1, 1, 0}));
  std::vector<float> z(8, 0.0f);
  std::vector<int8_t> tz(8);
  EXPECT_FLOAT_EQ(ternarize_absmean(z.data(), 8, tz.data()), 1e-5f);  // epsilon clamps the mean
}

}  // namespace
}  // namespace bitnet
