// Attention (query tokens x a GQA group) and f16 conversion kernels of every table on this machine vs the reference:
// f16 <-> f32 rows bit-identical (round to nearest even); attention over f32, f16 and Q8_0 caches
// |out - ref| <= 1e-5 * max|v| (fp32 reassociation of the dot products and of the weighted sum);
// the Q8_0 row quantizer within half a step of its input.
#include <cstring>

#include "ops_util.h"

namespace bitnet::testing {
namespace {

// Arguments for nq tokens x g heads (queries/outputs `ld` floats apart per token) over n rows.
cpu::AttnArgs attn_args(const float* q, int64_t ld, int nq, int g, const void* k, const void* v, int64_t stride,
                        int64_t n, int d, float scale, cpu::KvFormat kv, float* out, float* scratch, float* ml = nullptr) {
  cpu::AttnArgs a;
  a.q = q;
  a.ldq = ld;
  a.nq = nq;
  a.g = g;
  a.k = k;
  a.v = v;
  a.stride = stride;
  a.n = n;
  a.d = d;
  a.scale = scale;
  a.kv = kv;
  a.out = out;
  a.ldo = ld;
  a.scratch = scratch;
  a.ml = ml;
  return a;
}

TEST(OpsAttention, GroupMatchesReference) {
  std::mt19937 rng(31);
  int cases = 0;
  for (const cpu::KernelTable* table : cpu::available_kernels()) {
    for (int d : {64, 128, 96, 20, 40}) {
      for (int64_t n : {1, 2, 5, 15, 17, 33, 300}) {
        for (int g : {1, 2, 3, 4, 5, 8}) {
          for (int nq : {1, 3, 4, 5, 9}) {  // query tokens: > 1 is a prompt (causal across the tokens)
            if (nq > n) continue;
            for (cpu::KvFormat kv : {cpu::KvFormat::F16, cpu::KvFormat::F32, cpu::KvFormat::Q8_0}) {
              const bool f16 = kv == cpu::KvFormat::F16, q8 = kv == cpu::KvFormat::Q8_0;
              if (q8 && d % 32 != 0) continue;
              const int64_t stride = 3 * d + 8;   // rows of a cache with several kv heads
              const int64_t ld = int64_t{g} * d + 8;  // tokens of a q / out tensor with more heads
              std::normal_distribution<float> nd(0.0f, 1.0f);
              std::vector<float> q(static_cast<size_t>(nq * ld)), kf(static_cast<size_t>(n * stride)),
                  vf(static_cast<size_t>(n * stride));
              for (auto& x : q) x = nd(rng);
              for (auto& x : kf) x = nd(rng);
              for (auto& x : vf) x = nd(rng);
              std::vector<uint16_t> kh(kf.size()), vh(vf.size());
              f32_to_f16_row(kf.data(), static_cast<int64_t>(kf.size()), kh.data());
              f32_to_f16_row(vf.data(), static_cast<int64_t>(vf.size()), vh.data());
              // Q8_0: rows of 3 kv heads (3d values, then their scales); the kernels read head 1.
              const int64_t qrow = 3 * d + 3 * d / 16;
              std::vector<uint8_t> kq(static_cast<size_t>(n * qrow)), vq(kq.size());
              for (int64_t j = 0; j < n && q8; ++j) {
                cpu::kv_row_to_q8_0_ref(kf.data() + j * stride, 3 * d, kq.data() + j * qrow);
                cpu::kv_row_to_q8_0_ref(vf.data() + j * stride, 3 * d, vq.data() + j * qrow);
              }
              const void* k = q8 ? static_cast<const void*>(kq.data() + d) : (f16 ? static_cast<const void*>(kh.data()) : kf.data());
              const void* v = q8 ? static_cast<const void*>(vq.data() + d) : (f16 ? static_cast<const void*>(vh.data()) : vf.data());
              std::vector<float> o_ref(q.size()), o(q.size()),
                  sc(static_cast<size_t>(cpu::attention_scratch_floats(nq, g, n, d)));
              auto args = [&](float* out, int nqa, float* ml) {
                cpu::AttnArgs a = attn_args(q.data(), ld, nqa, g, k, v, q8 ? qrow : stride, n, d, 0.125f, kv, out,
                                            sc.data(), ml);
                a.scale_off = 3 * d + d / 16 - d;
                return a;
              };
              cpu::attention_f32_ref(args(o_ref.data(), nq, nullptr));
              table->attention(args(o.data(), nq, nullptr));
              for (int t = 0; t < nq; ++t)
                for (int64_t c = 0; c < int64_t{g} * d; ++c) {
                  const size_t i = static_cast<size_t>(t * ld + c);
                  ASSERT_NEAR(o[i], o_ref[i], 2e-5f * 4.0f) << table->isa << " d=" << d << " n=" << n << " g=" << g
                                                          << " nq=" << nq << " kv=" << static_cast<int>(kv) << " t=" << t << " c=" << c;
                }
              ++cases;
              if (nq > 1) continue;
              // Partial mode: unnormalized output plus (max, sum) per head.
              std::vector<float> ml_ref(static_cast<size_t>(2 * g)), ml(ml_ref.size());
              cpu::attention_f32_ref(args(o_ref.data(), 1, ml_ref.data()));
              table->attention(args(o.data(), 1, ml.data()));
              for (int h = 0; h < g; ++h) {
                const float l = ml_ref[static_cast<size_t>(2 * h + 1)];
                ASSERT_NEAR(ml[static_cast<size_t>(2 * h)], ml_ref[static_cast<size_t>(2 * h)], 1e-4f) << table->isa;
                ASSERT_NEAR(ml[static_cast<size_t>(2 * h + 1)], l, 1e-5f * l) << table->isa;
                for (int c = 0; c < d; ++c)
                  ASSERT_NEAR(o[static_cast<size_t>(h * d + c)], o_ref[static_cast<size_t>(h * d + c)], 8e-5f * l)
                      << table->isa << " partial d=" << d << " n=" << n << " g=" << g << " c=" << c;
              }
            }
          }
        }
      }
    }
  }
  std::printf("[ ops ] attention: %d cases\n", cases);
}

// Softmax arguments far below the row maximum (exp underflow in the vector exp) and equal scores.
TEST(OpsAttention, ExtremeScores) {
  for (const cpu::KernelTable* table : cpu::available_kernels()) {
    const int d = 64, g = 2;
    const int64_t n = 40, stride = d;
    std::vector<float> q(static_cast<size_t>(g * d), 0.0f), kf(static_cast<size_t>(n * stride)), vf(kf.size());
    q[0] = 30.0f;       // head 0: scores 30 * k[j][0] * scale span hundreds
    for (int64_t j = 0; j < n; ++j) {
      kf[static_cast<size_t>(j * stride)] = static_cast<float>(j % 7) * 4.0f - 12.0f;
      for (int c = 0; c < d; ++c) vf[static_cast<size_t>(j * stride + c)] = static_cast<float>((j * 31 + c) % 11) - 5.0f;
    }
    for (int nq : {1, 5}) {  // one token, and a prompt's last 5
      std::vector<float> qs(static_cast<size_t>(nq * g * d));
      for (int t = 0; t < nq; ++t) std::copy(q.begin(), q.end(), qs.begin() + t * g * d);
      std::vector<float> o_ref(qs.size()), o(qs.size()), sc(static_cast<size_t>(cpu::attention_scratch_floats(nq, g, n, d)));
      cpu::attention_f32_ref(attn_args(qs.data(), g * d, nq, g, kf.data(), vf.data(), stride, n, d, 1.0f, cpu::KvFormat::F32, o_ref.data(), sc.data()));
      table->attention(attn_args(qs.data(), g * d, nq, g, kf.data(), vf.data(), stride, n, d, 1.0f, cpu::KvFormat::F32, o.data(), sc.data()));
      for (size_t c = 0; c < o.size(); ++c) ASSERT_NEAR(o[c], o_ref[c], 1e-4f) << table->isa << " nq=" << nq << " c=" << c;
    }
  }
}

TEST(OpsAttention, KvRowToQ8_0WithinHalfAStep) {
  std::mt19937 rng(33);
  std::normal_distribution<float> nd(0.0f, 3.0f);
  const int64_t n = 128;
  std::vector<float> x(static_cast<size_t>(n));
  for (auto& v : x) v = nd(rng);
  for (int i = 32; i < 64; ++i) x[static_cast<size_t>(i)] = 0.0f;  // an all-zero block: scale 0, values 0
  x[70] = -1000.0f;                                                 // one large value dominates its block
  std::vector<uint8_t> row(static_cast<size_t>(n + n / 16));
  cpu::kv_row_to_q8_0_ref(x.data(), n, row.data());
  for (int64_t b = 0; b < n / 32; ++b) {
    uint16_t h;
    std::memcpy(&h, row.data() + n + 2 * b, 2);
    const float d = f16_to_f32(h);
    for (int i = 0; i < 32; ++i) {
      const float xi = x[static_cast<size_t>(32 * b + i)];
      const int8_t qi = static_cast<int8_t>(row[static_cast<size_t>(32 * b + i)]);
      EXPECT_GE(qi, -127);
      EXPECT_NEAR(qi * d, xi, 0.5f * d * 1.01f + 1e-6f) << "block " << b << " value " << i;
    }
  }
}

TEST(OpsAttention, F16ConversionsBitIdentical) {
  std::mt19937 rng(32);
  for (const cpu::KernelTable* table : cpu::available_kernels()) {
    for (int64_t n : {1, 7, 8, 9, 640, 1283}) {
      std::vector<float> x(static_cast<size_t>(n));
      std::uniform_real_distribution<float> u(-70000.0f, 70000.0f);
      for (size_t i = 0; i < x.size(); ++i) x[i] = i % 3 == 0 ? u(rng) : (i % 3 == 1 ? u(rng) * 1e-6f : u(rng) * 1e-9f);
      std::vector<uint16_t> h_ref(x.size()), h(x.size());
      cpu::f32_to_f16_ref(x.data(), n, h_ref.data());
      table->f32_to_f16(x.data(), n, h.data());
      ASSERT_EQ(h, h_ref) << table->isa << " n=" << n;
      std::vector<float> back_ref(x.size()), back(x.size());
      cpu::f16_to_f32_ref(h.data(), n, back_ref.data());
      table->f16_to_f32(h.data(), n, back.data());
      for (size_t i = 0; i < x.size(); ++i) ASSERT_EQ(float_bits(back[i]), float_bits(back_ref[i])) << table->isa;
    }
  }
}

}  // namespace
}  // namespace bitnet::testing
