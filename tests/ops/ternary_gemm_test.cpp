// Ternary x int8 GEMV/GEMM conformance: every kernel table present on this machine x every ternary
// format x shapes (ragged rows, K = 128 ... 6912, K not a multiple of 128 for I2_S, n = 1..17 and
// 33: the TL3 prompt path runs from tl3::kDecodeMinTokens = 16 tokens, in 4-token register tiles
// and, at K = 6912, in more than one token super-block) against the scalar reference on fresh
// random inputs.
//   I2_S: outputs bit-identical to the reference (exact int32 sum, same fp32 epilogue); integer sums
//         checked exactly with s_a = scale = 1.
//   TQ2_0 / TQ1_0: |y - y_ref| <= 2e-6 * sum_b |d_b| * sum_{j in b} |q_j| / s_a * scale (fp32
//         reassociation of the per-block sums); integer sums exact with unit block scales. With one
//         block scale, a TL3 kernel (lookup or decoded tiles) must also match the portable TL3
//         kernel bit for bit (same exact S, same epilogue).
// Kernels are driven both with the shared preparation (what CpuBackend does) and standalone, with
// row items that are and are not multiples of the kernel's row tile; rows outside the item range
// must stay untouched.
#include <cmath>
#include <limits>

#include "backends/cpu/tl3.h"
#include "ops_util.h"

namespace bitnet::testing {
namespace {

struct Shape {
  int64_t k, m;
};

std::vector<Shape> shapes_for(GgmlType t) {
  std::vector<Shape> s = {{256, 1}, {256, 7}, {256, 16}, {256, 33}, {512, 17}, {2560, 40}, {768, 100}};
  if (!quick_mode()) {
    s.push_back({2560, 130});
    s.push_back({6912, 37});
  } else {
    s.push_back({6912, 17});
  }
  if (t == GgmlType::I2_S) {
    s.push_back({128, 5});
    s.push_back({128, 64});
    s.push_back({384, 19});
    s.push_back({96, 4});    // K % 128 != 0: blocks straddle rows (K*M % 128 == 0)
    s.push_back({200, 16});  // K*M = 3200 = 25 * 128
    s.push_back({64, 2});
  }
  return s;
}

std::vector<int64_t> tokens_for(const Shape& s) {
  if (s.k * s.m <= 256 * 33) {
    std::vector<int64_t> v;
    for (int64_t n = 1; n <= 17; ++n) v.push_back(n);
    v.push_back(33);
    return v;
  }
  return {1, 2, 4, 5, 17, 33};
}

double tq_bound(const TernaryMatrix& w, int64_t r, const int8_t* q, float s_a) {
  const int64_t nb = w.k / 256;
  const int64_t bs = w.type == GgmlType::TQ2_0 ? 66 : 54, doff = w.type == GgmlType::TQ2_0 ? 64 : 52;
  double b = 0;
  for (int64_t j = 0; j < nb; ++j) {
    uint16_t h;
    std::memcpy(&h, w.bytes.data() + (r * nb + j) * bs + doff, 2);
    double sq = 0;
    for (int64_t i = 0; i < 256; ++i) sq += std::abs(q[j * 256 + i]);
    b += std::fabs(f16_to_f32(h)) * sq;
  }
  return b / s_a;
}

void check_case(const cpu::KernelTable& table, const TernaryMatrix& w, int64_t n, std::mt19937& rng,
                bool use_prep, int64_t item, const std::string& what) {
  const cpu::TernaryKernels& kern = *table.ternary(w.type);
  std::vector<int8_t> q;
  std::vector<float> s_a;
  random_acts(rng, n, w.k, &q, &s_a);
  const int64_t ldy = w.m + 3;
  std::vector<float> y_ref(static_cast<size_t>(n * ldy), 0.0f);
  const cpu::TernaryView v = w.view();
  cpu::ref_kernels().ternary(w.type)->gemm(v, q.data(), s_a.data(), n, y_ref.data(), ldy, 0, w.m, nullptr, nullptr);

  TernaryRunner runner(kern, v);
  // A TQ matrix packed to TL3 with one block scale: the portable TL3 kernel's output, bit for bit.
  std::vector<float> y_tl3;
  if (w.type != GgmlType::I2_S && kern.pack == cpu::tl3::pack && runner.packed() &&
      !(cpu::tl3::header(runner.view().packed).flags & cpu::tl3::kPerBlockScale)) {
    y_tl3.assign(static_cast<size_t>(n * ldy), 0.0f);
    AlignedBytes s(cpu::tl3::scratch_size_generic(runner.view(), n));
    cpu::tl3::gemm_tl3_i8_generic(runner.view(), q.data(), s_a.data(), n, y_tl3.data(), ldy, 0, w.m, nullptr,
                                  s.get());
  }
  const float sentinel = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> y(static_cast<size_t>(n * ldy), sentinel);
  // A sub-range that starts and ends off the tile grid when possible.
  const int64_t r0 = w.m > 8 ? 3 : 0, r1 = w.m > 8 ? w.m - 2 : w.m;
  runner.run(q.data(), s_a.data(), n, y.data(), ldy, r0, r1, item, use_prep);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t r = 0; r < ldy; ++r) {
      const float got = y[static_cast<size_t>(i * ldy + r)];
      if (r < r0 || r >= r1) {
        ASSERT_EQ(float_bits(got), float_bits(sentinel)) << what << ": row " << r << " outside [" << r0 << ", "
                                                          << r1 << ") was written (token " << i << ")";
        continue;
      }
      const float want = y_ref[static_cast<size_t>(i * ldy + r)];
      if (w.type == GgmlType::I2_S) {
        ASSERT_EQ(float_bits(got), float_bits(want))
            << what << ": token " << i << " row " << r << " got " << got << " want " << want;
      } else {
        const double tol = 2e-6 * tq_bound(w, r, q.data() + i * w.k, s_a[static_cast<size_t>(i)]) + 1e-30;
        ASSERT_NEAR(got, want, tol) << what << ": token " << i << " row " << r;
        if (!y_tl3.empty()) {
          const float tl3 = y_tl3[static_cast<size_t>(i * ldy + r)];
          ASSERT_EQ(float_bits(got), float_bits(tl3))
              << what << ": token " << i << " row " << r << " got " << got << ", portable TL3 kernel " << tl3;
        }
      }
    }
  }
}

TEST(OpsTernaryGemm, EveryTableMatchesReference) {
  std::mt19937 rng(1234);
  int cases = 0;
  for (const cpu::KernelTable* table : cpu::available_kernels()) {
    for (GgmlType type : {GgmlType::I2_S, GgmlType::TQ2_0, GgmlType::TQ1_0}) {
      for (const Shape& s : shapes_for(type)) {
        for (Scales sc : {Scales::kPerBlock, Scales::kUniform}) {
          if (type == GgmlType::I2_S && sc == Scales::kUniform) continue;
          const TernaryMatrix w = random_ternary(rng, type, s.k, s.m, sc);
          for (int64_t n : tokens_for(s)) {
            const int64_t tile = table->ternary(type)->row_tile;
            for (int mode = 0; mode < 2; ++mode) {
              // mode 0: shared prep, tile-aligned items; mode 1: standalone, 5-row items.
              const int64_t item = mode == 0 ? 2 * tile : 5;
              const std::string what = table->isa + "/" + type_name(type) + " k=" + std::to_string(s.k) +
                                       " m=" + std::to_string(s.m) + " n=" + std::to_string(n) +
                                       (sc == Scales::kUniform ? " uniform" : "") + (mode ? " standalone" : " prep");
              SCOPED_TRACE(what);
              check_case(*table, w, n, rng, mode == 0, item, what);
              if (::testing::Test::HasFatalFailure()) return;
              ++cases;
            }
          }
        }
      }
    }
  }
  std::printf("[ ops ] ternary gemm: %d cases over %zu kernel tables\n", cases, cpu::available_kernels().size());
}

// Integer sums are exact: with s_a = 1, scale = 1 and unit block scales, y is the int32 sum.
TEST(OpsTernaryGemm, IntegerSumsAreExact) {
  std::mt19937 rng(99);
  int cases = 0;
  for (const cpu::KernelTable* table : cpu::available_kernels()) {
    for (GgmlType type : {GgmlType::I2_S, GgmlType::TQ2_0, GgmlType::TQ1_0}) {
      for (Shape s : {Shape{2560, 33}, Shape{6912, 17}, Shape{256, 16}, Shape{512, 5}}) {
        TernaryMatrix w = random_ternary(rng, type, s.k, s.m, Scales::kUnitInteger, 0.0);
        cpu::TernaryView v = w.view();
        v.scale = 1.0f;
        for (int64_t n : {1, 3, 8, 17, 33}) {
          std::vector<int8_t> q;
          std::vector<float> s_a;
          random_acts(rng, n, s.k, &q, &s_a);
          for (auto& x : s_a) x = 1.0f;
          TernaryRunner runner(*table->ternary(type), v);
          std::vector<float> y(static_cast<size_t>(n * s.m));
          runner.run(q.data(), s_a.data(), n, y.data(), s.m, 0, s.m, 64, true);
          for (int64_t i = 0; i < n; ++i)
            for (int64_t r = 0; r < s.m; ++r) {
              const int64_t want = cpu::dot_ternary_row_ref(v, r, q.data() + i * s.k);
              ASSERT_EQ(static_cast<int64_t>(y[static_cast<size_t>(i * s.m + r)]), want)
                  << table->isa << "/" << type_name(type) << " k=" << s.k << " row " << r << " token " << i;
              ASSERT_EQ(y[static_cast<size_t>(i * s.m + r)], static_cast<float>(want));
            }
          ++cases;
        }
      }
    }
  }
  std::printf("[ ops ] exact integer sums: %d cases\n", cases);
}

// The portable TL3 kernel (the layout's definition in code) against the reference, for every
// source format: checks the packer independently of any SIMD kernel.
TEST(OpsTernaryGemm, Tl3GenericMatchesReference) {
  std::mt19937 rng(7);
  cpu::TernaryKernels generic;
  generic.name = "gemm_tl3_i8_generic";
  generic.gemm = cpu::tl3::gemm_tl3_i8_generic;
  generic.pack_size = cpu::tl3::pack_size;
  generic.pack = cpu::tl3::pack;
  generic.scratch_size = cpu::tl3::scratch_size_generic;
  generic.row_tile = cpu::tl3::kRows;
  generic.prep_size = cpu::tl3::prep_size;
  generic.prep_units = cpu::tl3::prep_units;
  generic.prep = cpu::tl3::prep_generic;
  cpu::KernelTable t = cpu::ref_kernels();
  t.isa = "tl3-generic";
  t.i2s = t.tq2_0 = t.tq1_0 = generic;
  int cases = 0;
  for (GgmlType type : {GgmlType::I2_S, GgmlType::TQ2_0, GgmlType::TQ1_0}) {
    for (Shape s : {Shape{256, 1}, Shape{256, 17}, Shape{768, 40}, Shape{2560, 16}}) {
      for (Scales sc : {Scales::kPerBlock, Scales::kUniform}) {
        const TernaryMatrix w = random_ternary(rng, type, s.k, s.m, sc);
        TernaryRunner probe(generic, w.view());
        ASSERT_TRUE(probe.packed());
        for (int64_t n : {1, 3}) {
          check_case(t, w, n, rng, n == 1, 16, "tl3-generic/" + type_name(type));
          ++cases;
        }
      }
    }
  }
  std::printf("[ ops ] tl3 generic: %d cases\n", cases);
}

// TL3 packs every 256-multiple shape, reports uniform vs per-block scales, and stays close to
// 1.68 bits per weight.
TEST(OpsTernaryGemm, Tl3LayoutSize) {
  std::mt19937 rng(3);
  for (GgmlType type : {GgmlType::I2_S, GgmlType::TQ2_0, GgmlType::TQ1_0}) {
    const TernaryMatrix w = random_ternary(rng, type, 2560, 640, Scales::kUniform);
    const size_t bytes = cpu::tl3::pack_size(w.view());
    const double bpw = 8.0 * static_cast<double>(bytes) / (2560.0 * 640.0);
    EXPECT_LT(bpw, 1.70) << type_name(type);
    EXPECT_GT(bpw, 1.68) << type_name(type);
    AlignedBytes p(bytes);
    cpu::tl3::pack(w.view(), p.get());
    EXPECT_EQ(cpu::tl3::header(p.get()).flags & cpu::tl3::kPerBlockScale, 0u) << type_name(type);
  }
  const TernaryMatrix w = random_ternary(rng, GgmlType::TQ1_0, 512, 16, Scales::kPerBlock, 0.0);
  AlignedBytes p(cpu::tl3::pack_size(w.view()));
  cpu::tl3::pack(w.view(), p.get());
  EXPECT_NE(cpu::tl3::header(p.get()).flags & cpu::tl3::kPerBlockScale, 0u);
  // Shapes TL3 cannot hold (I2_S with K % 256 != 0) are not packed: the kernels take the general path.
  const TernaryMatrix odd = random_ternary(rng, GgmlType::I2_S, 384, 4);
  EXPECT_EQ(cpu::tl3::pack_size(odd.view()), 0u);
}

// The invalid 2-bit code 3 (never written by encoders; the reference reads it as +2) must not
// crash or be misread: TL3 refuses to pack such matrices (general path), the in-place I2_S kernels
// compute c*q exactly. Sparse code-3 fields in I2_S and TQ2_0 matrices, every table vs reference.
TEST(OpsTernaryGemm, InvalidCode3MatchesReference) {
  std::mt19937 rng(17);
  for (const cpu::KernelTable* table : cpu::available_kernels()) {
    for (GgmlType type : {GgmlType::I2_S, GgmlType::TQ2_0}) {
      TernaryMatrix w = random_ternary(rng, type, 512, 20, Scales::kUniform);
      const size_t data_bytes = type == GgmlType::I2_S ? w.bytes.size() - 32 : w.bytes.size();
      for (size_t i = 5; i < data_bytes; i += 211) {
        if (type == GgmlType::TQ2_0 && i % 66 >= 64) continue;  // keep the f16 scales intact
        w.bytes[i] |= 0x03;  // lowest field -> code 3
      }
      if (table->isa != "ref" && type == GgmlType::TQ2_0 && table->tq2_0.pack_size) {
        EXPECT_EQ(table->tq2_0.pack_size(w.view()), 0u) << table->isa;
      }
      for (int64_t n : {1, 3}) check_case(*table, w, n, rng, true, 16, table->isa + "/code3/" + type_name(type));
    }
  }
}

}  // namespace
}  // namespace bitnet::testing
