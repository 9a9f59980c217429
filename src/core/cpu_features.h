// CPU instruction-set features, detected once at run time (cpuid + xgetbv on x86, getauxval on
// Linux/ARM, sysctl on macOS). Kernel dispatch and the device probe both read this.
#pragma once

#include <string>
#include <vector>

namespace bitnet {

struct CpuFeatures {
  std::string arch;  // "x86_64", "aarch64", ...
  // x86 (each requires OS support for the register state, checked via xgetbv)
  bool sse42 = false, avx = false, avx2 = false, fma = false, f16c = false, bmi2 = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false;
  bool avx512vnni = false, avx512vbmi = false, avx512bf16 = false, avxvnni = false;
  // AMX tiles + int8 dot products; only set once the OS granted this process the tile state
  // (Linux: arch_prctl(ARCH_REQ_XCOMP_PERM), requested during detection).
  bool amx_tile = false, amx_int8 = false;
  // ARM
  bool neon = false, dotprod = false, i8mm = false, fp16 = false, sve = false, sve2 = false,
       sme = false;
};

const CpuFeatures& cpu_features();  // detected once, cached

// Names of the flags set in `f`, lower-case, in declaration order ("avx2", "avx512vnni",
// "dotprod", ...): for logs, `bitnet probe` and bug reports.
std::vector<std::string> cpu_feature_names(const CpuFeatures& f);

}  // namespace bitnet
