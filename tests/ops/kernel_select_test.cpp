// Run-time kernel selection: the default pick, BITNET_CPU_ISA overrides, and the error for an ISA
// this build or CPU does not have (which names the available ones).
#include <cstdlib>

#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/kernels.h"
#include "core/cpu_features.h"
#include "ops_util.h"

namespace bitnet::testing {
namespace {

struct EnvGuard {
  std::string old;
  bool had;
  EnvGuard() {
    const char* v = std::getenv("BITNET_CPU_ISA");
    had = v != nullptr;
    if (v) old = v;
  }
  ~EnvGuard() {
    if (had) setenv("BITNET_CPU_ISA", old.c_str(), 1);
    else unsetenv("BITNET_CPU_ISA");
  }
};

TEST(OpsKernelSelect, DefaultIsTheBestAvailable) {
  EnvGuard g;
  unsetenv("BITNET_CPU_ISA");
  std::string err;
  const cpu::KernelTable& t = cpu::select_kernels(&err);
  EXPECT_TRUE(err.empty()) << err;
  EXPECT_EQ(&t, cpu::available_kernels().back());
  const auto& f = cpu_features();
  if (f.avx2 && f.fma && f.f16c) {
    EXPECT_NE(t.isa, "ref");
  }
  if (f.avx512vnni && f.avx512vbmi && f.avx512bw) {
    EXPECT_EQ(t.isa, f.amx_int8 ? "amx" : "avx512");
  }
  if (f.arch == "aarch64") {
    EXPECT_NE(t.isa, "ref");
  }
  std::printf("[ ops ] selected kernel table: %s; available:", t.isa.c_str());
  for (const auto* k : cpu::available_kernels()) std::printf(" %s", k->isa.c_str());
  std::printf("\n");
}

TEST(OpsKernelSelect, ForcedIsaIsHonoredOrReported) {
  EnvGuard g;
  for (const auto* k : cpu::available_kernels()) {
    setenv("BITNET_CPU_ISA", k->isa.c_str(), 1);
    std::string err;
    EXPECT_EQ(&cpu::select_kernels(&err), k);
    EXPECT_TRUE(err.empty()) << err;
  }
  setenv("BITNET_CPU_ISA", "auto", 1);
  std::string err;
  EXPECT_EQ(&cpu::select_kernels(&err), cpu::available_kernels().back());
  EXPECT_TRUE(err.empty());
  setenv("BITNET_CPU_ISA", "sse9", 1);
  err.clear();
  EXPECT_EQ(cpu::select_kernels(&err).isa, "ref");
  EXPECT_NE(err.find("sse9"), std::string::npos) << err;
  EXPECT_NE(err.find("available here: ref"), std::string::npos) << err;
  // An ISA compiled in but missing on this CPU (if any) says so.
  for (const auto& isa : cpu::compiled_isas()) {
    if (cpu::find_kernels(isa)) continue;
    setenv("BITNET_CPU_ISA", isa.c_str(), 1);
    err.clear();
    EXPECT_EQ(cpu::select_kernels(&err).isa, "ref");
    EXPECT_NE(err.find("not supported by this CPU"), std::string::npos) << err;
  }
}

// A CpuBackend built without an explicit table runs what select_kernels() picks, so
// BITNET_CPU_ISA=<isa> ops_tests --gtest_filter='OpsKernelSelect.*' exercises that table end to end.
TEST(OpsKernelSelect, DefaultBackendRunsTheSelectedTable) {
  std::string err;
  const cpu::KernelTable& sel = cpu::select_kernels(&err);
  CpuBackend be(2);
  EXPECT_EQ(be.variant(), sel.isa);
  std::printf("[ ops ] CpuBackend default variant: %s%s\n", be.variant().c_str(),
              std::getenv("BITNET_CPU_ISA") ? (std::string(" (BITNET_CPU_ISA=") + std::getenv("BITNET_CPU_ISA") + ")").c_str() : "");
  std::mt19937 rng(77);
  CpuBackend ref(1, &cpu::ref_kernels());
  for (GgmlType type : {GgmlType::I2_S, GgmlType::TQ1_0}) {
    const TernaryMatrix w = random_ternary(rng, type, 768, 40, Scales::kUniform);
    const MatrixSource src = matrix_source(type, w.k, w.m, w.bytes, "w");
    auto a = be.load_ternary(src).value();
    auto b = ref.load_ternary(src).value();
    for (int64_t n : {1, 5}) {
      std::vector<int8_t> q;
      std::vector<float> s;
      random_acts(rng, n, w.k, &q, &s);
      std::vector<float> ya(static_cast<size_t>(n * w.m)), yb(ya.size());
      for (Backend* bk : {static_cast<Backend*>(&be), static_cast<Backend*>(&ref)}) {
        auto qb = bk->alloc(q.size()).value();
        auto sb = bk->alloc(s.size() * 4).value();
        auto yb_ = bk->alloc(ya.size() * 4).value();
        const Tensor qt{qb.get(), 0, DType::I8, n, w.k, w.k}, st{sb.get(), 0, DType::F32, n, 1, 1};
        const Tensor yt{yb_.get(), 0, DType::F32, n, w.m, w.m};
        bk->upload(qt, q.data(), q.size());
        bk->upload(st, s.data(), s.size() * 4);
        bk->matmul_ternary(bk == &be ? *a : *b, qt, st, yt);
        bk->download(yt, (bk == &be ? ya : yb).data(), ya.size() * 4);
      }
      for (size_t i = 0; i < ya.size(); ++i) ASSERT_NEAR(ya[i], yb[i], 1e-5f * std::fabs(yb[i]) + 1e-4f) << be.variant();
    }
  }
}

}  // namespace
}  // namespace bitnet::testing
