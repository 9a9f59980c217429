// Float-weight GEMV/GEMM (the output head) conformance for every kernel table on this machine.
//   F32 / F16 / BF16: |y - y_ref| <= 1e-5 * sum_j |W_rj x_j| (fp32 reassociation only).
//   Q8_0: fast kernels may quantize x per 32-block to int8 (ggml's Q8_0 x Q8_0 dot). The bound is
//         the rounding of x: |y - y_ref| <= sum_b (amax_b / 254) * d_w,b * sum_{j in b} |w_q,j| * 1.01
//         + 1e-5 * sum_j |W_rj x_j|.
#include <algorithm>

#include "ops_util.h"

namespace bitnet::testing {
namespace {

TEST(OpsFloatGemm, EveryTableWithinTolerance) {
  std::mt19937 rng(11);
  int cases = 0;
  for (const cpu::KernelTable* table : cpu::available_kernels()) {
    for (GgmlType type : {GgmlType::F32, GgmlType::F16, GgmlType::BF16, GgmlType::Q8_0}) {
      for (auto [k, m] : {std::pair<int64_t, int64_t>{32, 3}, {64, 17}, {2560, 37}, {6912, 9}, {96, 5}, {40, 3}}) {
        if (type == GgmlType::Q8_0 && k % 32) continue;
        const FloatMatrix w = random_float(rng, type, k, m);
        for (int64_t n : {1, 2, 3, 4, 5, 9}) {
          std::vector<float> x(static_cast<size_t>(n * k));
          std::normal_distribution<float> nd(0.0f, 2.0f);
          for (auto& v : x) v = nd(rng);
          if (n > 1) x[static_cast<size_t>(k + 3)] = 40.0f;  // an outlier in one block
          const int64_t ldy = m + 1;
          std::vector<float> y_ref(static_cast<size_t>(n * ldy)), y(static_cast<size_t>(n * ldy), -7.0f);
          cpu::gemm_float_f32_ref(w.view(), x.data(), n, y_ref.data(), ldy, 0, m);
          const cpu::FloatKernels& fk = table->gemm_float;
          AlignedBytes scratch(fk.scratch_size ? fk.scratch_size(w.view(), n) : 0);
          AlignedBytes prep(fk.prep_size ? fk.prep_size(w.view(), n) : 0);
          const bool use_prep = fk.prep && (n % 2 == 1);  // both ways: shared prep and standalone
          if (use_prep) fk.prep(w.view(), x.data(), n, prep.get());
          for (int64_t r = 0; r < m; r += 4)  // row items like the backend's split
            fk.gemm(w.view(), x.data(), n, y.data(), ldy, r, std::min<int64_t>(r + 4, m), use_prep ? prep.get() : nullptr,
                    scratch.get());
          std::vector<float> row(static_cast<size_t>(k));
          for (int64_t r = 0; r < m; ++r) {
            cpu::float_row_to_f32(w.view(), r, row.data());
            for (int64_t i = 0; i < n; ++i) {
              const float* xi = x.data() + i * k;
              double l1 = 0;
              for (int64_t j = 0; j < k; ++j) l1 += std::fabs(static_cast<double>(row[static_cast<size_t>(j)]) * xi[j]);
              const double qb = type == GgmlType::Q8_0 ? act_rounding_bound(row.data(), xi, k, 32) : 0.0;
              const double tol = 1e-5 * l1 + qb + 1e-30;
              ASSERT_NEAR(y[static_cast<size_t>(i * ldy + r)], y_ref[static_cast<size_t>(i * ldy + r)], tol)
                  << table->isa << "/" << type_name(type) << " k=" << k << " m=" << m << " n=" << n << " row " << r
                  << " token " << i;
            }
          }
          for (int64_t i = 0; i < n; ++i) ASSERT_EQ(y[static_cast<size_t>(i * ldy + m)], -7.0f) << "padding column written";
          ++cases;
        }
      }
    }
  }
  std::printf("[ ops ] float gemm: %d cases\n", cases);
}

}  // namespace
}  // namespace bitnet::testing
