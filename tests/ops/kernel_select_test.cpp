// Run-time kernel selection: the default pick, BITNET_CPU_ISA overrides, and the error for an ISA
// this build or CPU does not have (which names the available ones).
#include <cstdlib>

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
    EXPECT_EQ(t.isa, "avx512");
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

}  // namespace
}  // namespace bitnet::testing
