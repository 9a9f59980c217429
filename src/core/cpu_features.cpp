#include "core/cpu_features.h"

#include <utility>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif
#if defined(__x86_64__) && defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif
#if defined(__aarch64__) && defined(__linux__)
#include <asm/hwcap.h>
#include <sys/auxv.h>
#endif
#if defined(__APPLE__)
#include <sys/sysctl.h>
#endif

namespace bitnet {
namespace {

#if defined(__x86_64__)
// Linux hands out the 8 KiB AMX tile-data state only on request, per process (kernel >= 5.16);
// without it the first tile instruction faults. Asked once, during detection.
bool amx_permitted() {
#if defined(__linux__)
  constexpr long kArchReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
  return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
#else
  return false;
#endif
}
#endif

#if defined(__APPLE__)
bool sysctl_flag(const char* name) {
  int v = 0;
  size_t n = sizeof(v);
  return sysctlbyname(name, &v, &n, nullptr, 0) == 0 && v != 0;
}
#endif

CpuFeatures detect() {
  CpuFeatures f;
#if defined(__x86_64__) || defined(__i386__)
  f.arch = "x86_64";
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
  f.sse42 = c & bit_SSE4_2;
  const bool osxsave = c & bit_OSXSAVE;
  f.fma = c & bit_FMA;
  f.f16c = c & bit_F16C;
  bool ymm_os = false, zmm_os = false, tile_os = false;
  if (osxsave) {
    unsigned lo, hi;
    __asm__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    ymm_os = (lo & 0x6) == 0x6;    // XMM + YMM state
    zmm_os = (lo & 0xe6) == 0xe6;  // + opmask, ZMM_Hi256, Hi16_ZMM
    tile_os = (lo & 0x60000) == 0x60000;  // XTILECFG + XTILEDATA
  }
  f.avx = (c & bit_AVX) && ymm_os;
  f.fma = f.fma && ymm_os;
  f.f16c = f.f16c && ymm_os;
  if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
    f.avx2 = (b & bit_AVX2) && ymm_os;
    f.bmi2 = b & bit_BMI2;
    f.avx512f = (b & bit_AVX512F) && zmm_os;
    f.avx512bw = (b & bit_AVX512BW) && zmm_os;
    f.avx512vl = (b & bit_AVX512VL) && zmm_os;
    f.avx512dq = (b & bit_AVX512DQ) && zmm_os;
    f.avx512vbmi = (c & bit_AVX512VBMI) && zmm_os;
    f.avx512vnni = (c & bit_AVX512VNNI) && zmm_os;
#if defined(__x86_64__)
    if ((d & (1u << 24)) && (d & (1u << 25)) && tile_os && amx_permitted()) f.amx_tile = f.amx_int8 = true;
#endif
  }
  if (__get_cpuid_count(7, 1, &a, &b, &c, &d)) {
    f.avxvnni = (a & (1u << 4)) && ymm_os;
    f.avx512bf16 = (a & (1u << 5)) && zmm_os;
  }
#elif defined(__aarch64__)
  f.arch = "aarch64";
  f.neon = true;  // mandatory in AArch64
#if defined(__linux__)
  const unsigned long hw = getauxval(AT_HWCAP);
  const unsigned long hw2 = getauxval(AT_HWCAP2);
  f.dotprod = hw & HWCAP_ASIMDDP;
  f.fp16 = hw & HWCAP_ASIMDHP;
  f.sve = hw & HWCAP_SVE;
#ifdef HWCAP2_I8MM
  f.i8mm = hw2 & HWCAP2_I8MM;
#endif
#ifdef HWCAP2_SVE2
  f.sve2 = hw2 & HWCAP2_SVE2;
#endif
#ifdef HWCAP2_SME
  f.sme = hw2 & HWCAP2_SME;
#endif
  (void)hw2;
#elif defined(__APPLE__)
  f.dotprod = sysctl_flag("hw.optional.arm.FEAT_DotProd");
  f.i8mm = sysctl_flag("hw.optional.arm.FEAT_I8MM");
  f.fp16 = sysctl_flag("hw.optional.arm.FEAT_FP16");
  f.sme = sysctl_flag("hw.optional.arm.FEAT_SME");
#endif
#else
  f.arch = "unknown";
#endif
  return f;
}

}  // namespace

const CpuFeatures& cpu_features() {
  static const CpuFeatures f = detect();
  return f;
}

std::vector<std::string> cpu_feature_names(const CpuFeatures& f) {
  const std::pair<bool, const char*> flags[] = {
      {f.sse42, "sse42"},
      {f.avx, "avx"},
      {f.avx2, "avx2"},
      {f.fma, "fma"},
      {f.f16c, "f16c"},
      {f.bmi2, "bmi2"},
      {f.avx512f, "avx512f"},
      {f.avx512bw, "avx512bw"},
      {f.avx512vl, "avx512vl"},
      {f.avx512dq, "avx512dq"},
      {f.avx512vnni, "avx512vnni"},
      {f.avx512vbmi, "avx512vbmi"},
      {f.avx512bf16, "avx512bf16"},
      {f.avxvnni, "avxvnni"},
      {f.amx_tile, "amx_tile"},
      {f.amx_int8, "amx_int8"},
      {f.neon, "neon"},
      {f.dotprod, "dotprod"},
      {f.i8mm, "i8mm"},
      {f.fp16, "fp16"},
      {f.sve, "sve"},
      {f.sve2, "sve2"},
      {f.sme, "sme"},
  };
  std::vector<std::string> out;
  for (const auto& [on, name] : flags)
    if (on) out.emplace_back(name);
  return out;
}

}  // namespace bitnet
