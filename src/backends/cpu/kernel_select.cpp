// The reference kernel table and run-time selection of the best table for this CPU. This is the
// one file that knows which per-ISA tables exist (x86/, arm/); each table is only offered when
// cpu_features() reports every instruction set its translation unit was compiled for.
#include <cstdlib>
#include <memory>
#include <mutex>

#include "backends/cpu/kernels.h"
#include "core/cpu_features.h"

namespace bitnet::cpu {

// Per-ISA tables, defined in x86/kernels_*.cpp and arm/kernels_*.cpp.
#if defined(__x86_64__)
const KernelTable& avx2_kernels();
const KernelTable& avx512_kernels();
const KernelTable& amx_kernels();
#elif defined(__aarch64__)
const KernelTable& neon_kernels();
const KernelTable& neondot_kernels();
const KernelTable& neoni8mm_kernels();
#endif

const TernaryKernels* KernelTable::ternary(GgmlType t) const {
  switch (t) {
    case GgmlType::I2_S: return &i2s;
    case GgmlType::TQ2_0: return &tq2_0;
    case GgmlType::TQ1_0: return &tq1_0;
    default: return nullptr;
  }
}

const KernelTable& ref_kernels() {
  static const KernelTable t = [] {
    KernelTable k;
    k.isa = "ref";
    k.i2s = {"gemm_i2s_i8_ref", gemm_i2s_i8_ref, nullptr, nullptr, nullptr, 1};
    k.tq2_0 = {"gemm_tq2_0_i8_ref", gemm_tq2_0_i8_ref, nullptr, nullptr, nullptr, 1};
    k.tq1_0 = {"gemm_tq1_0_i8_ref", gemm_tq1_0_i8_ref, nullptr, nullptr, nullptr, 1};
    k.gemm_float = {"gemm_float_f32_ref", gemm_float_f32_ref, nullptr, nullptr, nullptr};
    k.quantize_act = quantize_act_f32_i8_ref;
    k.rmsnorm = rmsnorm_f32_ref;
    k.attention = attention_f32_ref;
    k.f32_to_f16 = f32_to_f16_ref;
    k.f16_to_f32 = f16_to_f32_ref;
    return k;
  }();
  return t;
}

namespace {

struct Candidate {
  const char* isa;
  bool (*supported)(const CpuFeatures&);
  const KernelTable& (*table)();
};

#if defined(__x86_64__)
// Test build (BITNET_AVX512_EMULATED): the AVX-512 kernels run on SIMDe and the AMX tile
// instructions in C++ (x86/simd_amx.h), so an AVX2 host offers those tables too.
#if defined(BITNET_AVX512_EMULATED)
constexpr bool kEmulated = true;
#else
constexpr bool kEmulated = false;
#endif
bool avx512_supported(const CpuFeatures& f) {
  return f.avx2 && f.fma && f.f16c && f.bmi2 &&
         (kEmulated || (f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq && f.avx512vnni && f.avx512vbmi));
}
#endif

// In increasing order of preference.
const Candidate kCandidates[] = {
#if defined(__x86_64__)
    {"avx2", [](const CpuFeatures& f) { return f.avx2 && f.fma && f.f16c && f.bmi2; }, avx2_kernels},
    {"avx512", avx512_supported, avx512_kernels},
    {"amx", [](const CpuFeatures& f) { return avx512_supported(f) && (kEmulated || (f.amx_tile && f.amx_int8)); },
     amx_kernels},
#elif defined(__aarch64__)
    {"neon", [](const CpuFeatures& f) { return f.neon; }, neon_kernels},
    {"neondot", [](const CpuFeatures& f) { return f.neon && f.dotprod && f.fp16; }, neondot_kernels},
    {"neoni8mm", [](const CpuFeatures& f) { return f.neon && f.dotprod && f.fp16 && f.i8mm; }, neoni8mm_kernels},
#endif
};

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

}  // namespace

// BITNET_CPU_I2S=tl3: run I2_S models through the TL3 repack too (1.69 instead of 2 bits per
// weight read per token, exact int32 sums, bit-identical outputs) at the price of slower prompt
// processing (per-token lookups instead of reusing decoded tiles). Default: in place.
static const KernelTable* with_i2s_tl3(const KernelTable& t) {
  static std::vector<std::unique_ptr<KernelTable>> variants;  // built once per table, live for the process
  static std::mutex mu;
  std::lock_guard<std::mutex> lk(mu);
  for (const auto& v : variants)
    if (v->isa == t.isa) return v.get();
  auto v = std::make_unique<KernelTable>(t);
  if (v->tq1_0.pack) v->i2s = v->tq1_0;
  variants.push_back(std::move(v));
  return variants.back().get();
}

static bool i2s_tl3_requested() {
  const char* e = std::getenv("BITNET_CPU_I2S");
  return e && std::string(e) == "tl3";
}

std::vector<const KernelTable*> available_kernels() {
  std::vector<const KernelTable*> out{&ref_kernels()};
  const bool tl3 = i2s_tl3_requested();
  for (const Candidate& c : kCandidates)
    if (c.supported(cpu_features())) out.push_back(tl3 ? with_i2s_tl3(c.table()) : &c.table());
  return out;
}

std::vector<std::string> compiled_isas() {
  std::vector<std::string> out{"ref"};
  for (const Candidate& c : kCandidates) out.emplace_back(c.isa);
  return out;
}

const KernelTable* find_kernels(const std::string& isa) {
  for (const KernelTable* t : available_kernels())
    if (t->isa == isa) return t;
  return nullptr;
}

const KernelTable& select_kernels(std::string* error) {
  const char* forced = std::getenv("BITNET_CPU_ISA");
  const auto avail = available_kernels();
  if (forced && *forced && std::string(forced) != "auto") {
    if (const KernelTable* t = find_kernels(forced)) return *t;
    if (error) {
      std::vector<std::string> names;
      for (const KernelTable* t : avail) names.push_back(t->isa);
      bool compiled = false;
      for (const auto& c : compiled_isas()) compiled |= c == forced;
      *error = std::string("BITNET_CPU_ISA=") + forced +
               (compiled ? " is not supported by this CPU" : " is not a kernel variant of this build") +
               " (available here: " + join(names) + "; unset it or use auto to pick the best)";
    }
    return ref_kernels();
  }
  return *avail.back();
}

}  // namespace bitnet::cpu
