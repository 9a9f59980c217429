// quantize_act and rmsnorm conformance for every kernel table on this machine.
//   quantize_act: q and s bit-identical to the reference (round-half-even, s = 127/max(amax, 1e-5)),
//                 including exact .5 ties and the 1e-5 floor.
//   rmsnorm:      |y - y_ref| <= 1e-6 * |y_ref| + 1e-30 (double sum of squares, order may differ).
#include "ops_util.h"

namespace bitnet::testing {
namespace {

const int64_t kLens[] = {1, 7, 8, 31, 32, 33, 64, 100, 256, 2560, 6912};

TEST(OpsQuantizeAct, BitIdenticalToReference) {
  std::mt19937 rng(5);
  int cases = 0;
  for (const cpu::KernelTable* table : cpu::available_kernels()) {
    for (int64_t k : kLens) {
      for (int variant = 0; variant < 5; ++variant) {
        std::vector<float> x(static_cast<size_t>(k));
        std::normal_distribution<float> nd(0.0f, variant == 1 ? 1e-7f : 3.0f);
        for (auto& v : x) v = nd(rng);
        if (variant == 2) {  // amax = 127 -> s = 1: every x.5 is an exact tie
          for (int64_t j = 0; j < k; ++j) x[static_cast<size_t>(j)] = static_cast<float>(static_cast<int>(j % 255) - 127) + 0.5f;
          x[0] = 127.0f;
        }
        if (variant == 3) std::fill(x.begin(), x.end(), 0.0f);  // amax below the 1e-5 floor
        if (variant == 4) {  // heavy outlier
          x[static_cast<size_t>(k / 2)] = 1e4f;
        }
        std::vector<int8_t> q_ref(static_cast<size_t>(k)), q(static_cast<size_t>(k), 55);
        float s_ref = 0, s = 0;
        cpu::quantize_act_f32_i8_ref(x.data(), k, q_ref.data(), &s_ref);
        table->quantize_act(x.data(), k, q.data(), &s);
        ASSERT_EQ(float_bits(s), float_bits(s_ref)) << table->isa << " k=" << k << " variant " << variant;
        for (int64_t j = 0; j < k; ++j)
          ASSERT_EQ(q[static_cast<size_t>(j)], q_ref[static_cast<size_t>(j)])
              << table->isa << " k=" << k << " variant " << variant << " j=" << j << " x=" << x[static_cast<size_t>(j)];
        ++cases;
      }
    }
  }
  std::printf("[ ops ] quantize_act: %d cases\n", cases);
}

TEST(OpsRmsnorm, WithinToleranceOfReference) {
  std::mt19937 rng(6);
  int cases = 0;
  for (const cpu::KernelTable* table : cpu::available_kernels()) {
    for (int64_t d : kLens) {
      for (float scale : {1e-3f, 1.0f, 50.0f}) {
        std::vector<float> x(static_cast<size_t>(d)), g(static_cast<size_t>(d));
        std::normal_distribution<float> nd(0.0f, scale);
        for (auto& v : x) v = nd(rng);
        for (auto& v : g) v = std::uniform_real_distribution<float>(-2, 2)(rng);
        std::vector<float> y_ref(static_cast<size_t>(d)), y(static_cast<size_t>(d));
        cpu::rmsnorm_f32_ref(x.data(), g.data(), d, 1e-5f, y_ref.data());
        table->rmsnorm(x.data(), g.data(), d, 1e-5f, y.data());
        for (int64_t j = 0; j < d; ++j)
          ASSERT_NEAR(y[static_cast<size_t>(j)], y_ref[static_cast<size_t>(j)], 1e-6f * std::fabs(y_ref[static_cast<size_t>(j)]) + 1e-30f)
              << table->isa << " d=" << d << " j=" << j;
        ++cases;
      }
    }
  }
  std::printf("[ ops ] rmsnorm: %d cases\n", cases);
}

}  // namespace
}  // namespace bitnet::testing
