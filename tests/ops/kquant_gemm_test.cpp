// K-quant head (Q4_K / Q6_K weights) conformance for every kernel table on this machine.
//   vs the float oracle (gemm_float_f32_ref: dequantize, fp32 dot): fast kernels quantize x per
//     256-block to int8 (kquant.h), so |y - y_ref| <= sum_b (amax_b / 254) * sum_{j in b} |W_rj| * 1.01
//     + 1e-5 * sum_j |W_rj x_j|.
//   vs the integer-path reference (gemm_kquant_q8k_ref on the same prep): the int32 sums are exact,
//     only fp32 summation order differs: |y - y_int| <= 1e-5 * sum_j |W_rj x_j|.
// Rows are computed in ragged items (r0, r1 not multiples of anything) and with / without the
// shared prep; columns outside [r0, r1) and the padding column must stay untouched.
#include <algorithm>

#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/kquant.h"
#include "ops_util.h"

namespace bitnet::testing {
namespace {

TEST(OpsKQuantGemm, EveryTableWithinTolerance) {
  std::mt19937 rng(21);
  int cases = 0;
  for (const cpu::KernelTable* table : cpu::available_kernels()) {
    for (GgmlType type : {GgmlType::Q6_K, GgmlType::Q4_K}) {
      for (auto [k, m] : {std::pair<int64_t, int64_t>{256, 1}, {256, 19}, {2560, 37}, {512, 6}}) {
        const FloatMatrix w = random_float(rng, type, k, m, /*outlier=*/true);
        for (int64_t n : {1, 2, 3, 4, 5, 9}) {
          std::vector<float> x(static_cast<size_t>(n * k));
          std::normal_distribution<float> nd(0.0f, 2.0f);
          for (auto& v : x) v = nd(rng);
          if (n > 1) x[static_cast<size_t>(k + 3)] = 40.0f;  // an outlier in one block
          if (n > 2) std::fill(x.begin() + 2 * k, x.begin() + 2 * k + 256, 0.0f);  // an all-zero block
          const int64_t ldy = m + 1;
          std::vector<float> y_ref(static_cast<size_t>(n * ldy)), y_int(static_cast<size_t>(n * ldy));
          std::vector<float> y(static_cast<size_t>(n * ldy), -7.0f);
          cpu::gemm_float_f32_ref(w.view(), x.data(), n, y_ref.data(), ldy, 0, m);
          AlignedBytes ref_prep(cpu::gemm_kquant_prep_size(w.view(), n));
          cpu::gemm_kquant_prep_ref(w.view(), x.data(), n, ref_prep.get());
          cpu::gemm_kquant_q8k_ref(w.view(), n, y_int.data(), ldy, 0, m, ref_prep.get());

          const cpu::FloatKernels& fk = table->gemm_float;
          AlignedBytes scratch(fk.scratch_size ? fk.scratch_size(w.view(), n) : 0);
          AlignedBytes prep(fk.prep_size ? fk.prep_size(w.view(), n) : 0);
          const bool use_prep = fk.prep && (n % 2 == 1);  // both ways: shared prep and standalone
          if (use_prep) fk.prep(w.view(), x.data(), n, prep.get());
          // Ragged row items: 1, 2, 3, ... rows (r0 / r1 at odd places).
          for (int64_t r = 0, len = 1; r < m; r += len, ++len)
            fk.gemm(w.view(), x.data(), n, y.data(), ldy, r, std::min<int64_t>(r + len, m),
                    use_prep ? prep.get() : nullptr, scratch.get());
          std::vector<float> row(static_cast<size_t>(k));
          const bool int_path = table->isa != "ref" && cpu::gemm_kquant_prep_size(w.view(), n) > 0 &&
                                fk.prep_size && fk.prep_size(w.view(), n) > 0;
          for (int64_t r = 0; r < m; ++r) {
            cpu::float_row_to_f32(w.view(), r, row.data());
            for (int64_t i = 0; i < n; ++i) {
              const float* xi = x.data() + i * k;
              double l1 = 0;
              for (int64_t j = 0; j < k; ++j) l1 += std::fabs(static_cast<double>(row[static_cast<size_t>(j)]) * xi[j]);
              const double qb = act_rounding_bound(row.data(), xi, k, 256);
              const size_t at = static_cast<size_t>(i * ldy + r);
              // The integer-path reference itself stays within the rounding bound of the oracle.
              ASSERT_NEAR(y_int[at], y_ref[at], 1e-5 * l1 + qb + 1e-30) << type_name(type) << " int ref k=" << k;
              ASSERT_NEAR(y[at], y_ref[at], 1e-5 * l1 + qb + 1e-30)
                  << table->isa << "/" << type_name(type) << " k=" << k << " m=" << m << " n=" << n << " row " << r
                  << " token " << i;
              if (int_path) {  // same quantized x, exact int32 sums: only fp32 order differs
                ASSERT_NEAR(y[at], y_int[at], 1e-5 * l1 + 1e-30)
                    << table->isa << "/" << type_name(type) << " vs int ref, k=" << k << " n=" << n << " row " << r;
              }
            }
          }
          for (int64_t i = 0; i < n; ++i) ASSERT_EQ(y[static_cast<size_t>(i * ldy + m)], -7.0f) << "padding column written";
          ++cases;
        }
      }
    }
  }
  std::printf("[ ops ] k-quant gemm: %d cases\n", cases);
}

// The activation quantizer: d = amax/127, |q| <= 127, bsums are the 16-group sums.
TEST(OpsKQuantGemm, Q8KQuantizer) {
  std::mt19937 rng(5);
  std::normal_distribution<float> nd(0.0f, 3.0f);
  std::vector<float> x(512);
  for (auto& v : x) v = nd(rng);
  x[300] = -100.0f;
  std::vector<int8_t> q(512);
  float d[2];
  int16_t bs[32];
  cpu::quantize_row_q8k_ref(x.data(), 512, q.data(), d, bs);
  EXPECT_FLOAT_EQ(d[1], 100.0f / 127.0f);
  EXPECT_EQ(q[300], -127);
  for (int b = 0; b < 2; ++b)
    for (int g = 0; g < 16; ++g) {
      int s = 0;
      for (int j = 0; j < 16; ++j) {
        const int e = 256 * b + 16 * g + j;
        s += q[e];
        EXPECT_LE(std::fabs(x[e] - d[b] * q[e]), d[b] * 0.5f * 1.0001f);
      }
      EXPECT_EQ(bs[16 * b + g], s);
    }
}

// Through the backend: load_matrix accepts Q4_K / Q6_K, matmul_float and get_rows agree with the
// reference (2 threads), and a row width that is not whole 256-blocks is an error, not a crash.
TEST(OpsKQuantGemm, BackendLoadsRunsAndRejects) {
  std::mt19937 rng(8);
  for (GgmlType type : {GgmlType::Q6_K, GgmlType::Q4_K}) {
    const FloatMatrix w = random_float(rng, type, 512, 70, /*outlier=*/true);
    CpuBackend be(2);
    MatrixSource src = matrix_source(type, w.k, w.m, w.bytes, "head");
    auto mat = be.load_matrix(src);
    ASSERT_TRUE(mat.is_ok()) << mat.status().to_string();
    Host x = make(be, DType::F32, 3, w.k), y = make(be, DType::F32, 3, w.m);
    std::vector<float> xv(static_cast<size_t>(3 * w.k));
    std::normal_distribution<float> nd(0.0f, 1.0f);
    for (auto& v : xv) v = nd(rng);
    be.upload(x.t, xv.data(), xv.size() * 4);
    be.matmul_float(**mat, x.t, y.t);
    std::vector<float> yv(static_cast<size_t>(3 * w.m)), yr(static_cast<size_t>(3 * w.m));
    be.download(y.t, yv.data(), yv.size() * 4);
    cpu::gemm_float_f32_ref(w.view(), xv.data(), 3, yr.data(), w.m, 0, w.m);
    for (size_t i = 0; i < yv.size(); ++i) EXPECT_NEAR(yv[i], yr[i], 0.1 + 0.01 * std::fabs(yr[i])) << i;  // x rounding: sd ~0.01
    // Embedding lookup dequantizes the row.
    Host ids = make(be, DType::I32, 2, 1), rows = make(be, DType::F32, 2, w.k);
    const int32_t idv[2] = {69, 3};
    be.upload(ids.t, idv, sizeof idv);
    be.get_rows(**mat, ids.t, rows.t);
    std::vector<float> got(static_cast<size_t>(2 * w.k)), want(static_cast<size_t>(w.k));
    be.download(rows.t, got.data(), got.size() * 4);
    cpu::float_row_to_f32(w.view(), 3, want.data());
    for (int64_t j = 0; j < w.k; ++j) ASSERT_EQ(got[static_cast<size_t>(w.k + j)], want[static_cast<size_t>(j)]);

    src.k = 300;  // not whole blocks
    src.m = 1;
    auto bad = be.load_matrix(src);
    ASSERT_FALSE(bad.is_ok());
    EXPECT_NE(bad.status().message().find("not whole"), std::string::npos) << bad.status().message();
  }
}

}  // namespace
}  // namespace bitnet::testing
