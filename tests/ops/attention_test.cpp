// Attention (query tokens x a GQA group) and f16 conversion kernels of every table on this machine vs the reference:
// f16 <-> f32 rows bit-identical (round to nearest even); attention |out - ref| <= 1e-5 * max|v|
// (fp32 reassociation of the dot products and of the weighted sum).
#include "ops_util.h"

namespace bitnet::testing {
namespace {

// Arguments for nq tokens x g heads (queries/outputs `ld` floats apart per token) over n rows.
cpu::AttnArgs attn_args(const float* q, int64_t ld, int nq, int g, const void* k, const void* v, int64_t stride,
                        int64_t n, int d, float scale, bool f16, float* out, float* scratch, float* ml = nullptr) {
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
  a.f16 = f16;
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
            for (bool f16 : {true, false}) {
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
              const void* k = f16 ? static_cast<const void*>(kh.data()) : kf.data();
              const void* v = f16 ? static_cast<const void*>(vh.data()) : vf.data();
              std::vector<float> o_ref(q.size()), o(q.size()),
                  sc(static_cast<size_t>(cpu::attention_scratch_floats(nq, g, n, d)));
              cpu::attention_f32_ref(attn_args(q.data(), ld, nq, g, k, v, stride, n, d, 0.125f, f16, o_ref.data(), sc.data()));
              table->attention(attn_args(q.data(), ld, nq, g, k, v, stride, n, d, 0.125f, f16, o.data(), sc.data()));
              for (int t = 0; t < nq; ++t)
                for (int64_t c = 0; c < int64_t{g} * d; ++c) {
                  const size_t i = static_cast<size_t>(t * ld + c);
                  ASSERT_NEAR(o[i], o_ref[i], 2e-5f * 4.0f) << table->isa << " d=" << d << " n=" << n << " g=" << g
                                                          << " nq=" << nq << " f16=" << f16 << " t=" << t << " c=" << c;
                }
              ++cases;
              if (nq > 1) continue;
              // Partial mode: unnormalized output plus (max, sum) per head.
              std::vector<float> ml_ref(static_cast<size_t>(2 * g)), ml(ml_ref.size());
              cpu::attention_f32_ref(
                  attn_args(q.data(), ld, 1, g, k, v, stride, n, d, 0.125f, f16, o_ref.data(), sc.data(), ml_ref.data()));
              table->attention(attn_args(q.data(), ld, 1, g, k, v, stride, n, d, 0.125f, f16, o.data(), sc.data(), ml.data()));
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
      cpu::attention_f32_ref(attn_args(qs.data(), g * d, nq, g, kf.data(), vf.data(), stride, n, d, 1.0f, false, o_ref.data(), sc.data()));
      table->attention(attn_args(qs.data(), g * d, nq, g, kf.data(), vf.data(), stride, n, d, 1.0f, false, o.data(), sc.data()));
      for (size_t c = 0; c < o.size(); ++c) ASSERT_NEAR(o[c], o_ref[c], 1e-4f) << table->isa << " nq=" << nq << " c=" << c;
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
