// AVX-512 intrinsics for the *_avx512vnni.cpp kernels. Normally <immintrin.h>; in the test-only
// emulation build (cmake -DBITNET_AVX512_EMULATION=ON, scripts/test-avx512-emu.sh) the same source is
// compiled against SIMDe's portable implementations so the AVX-512 kernels run through the op suite
// on machines without AVX-512 (the development box here is a Zen 3). The few intrinsics SIMDe 0.7.4
// lacks are spelled out below from AVX2 halves.
#pragma once

#if defined(BITNET_SIMDE_AVX512)
#define SIMDE_ENABLE_NATIVE_ALIASES
#include <simde/x86/avx512.h>
#include <immintrin.h>

static inline simde__m512i bitnet_emu_cvtepi16_epi32(__m256i a) {
  const __m256i lo = _mm256_cvtepi16_epi32(_mm256_castsi256_si128(a));
  const __m256i hi = _mm256_cvtepi16_epi32(_mm256_extracti128_si256(a, 1));
  return simde_mm512_inserti64x4(simde_mm512_castsi256_si512(lo), hi, 1);
}
static inline simde__m512 bitnet_emu_cvtepi32_ps(simde__m512i a) {
  const __m256 lo = _mm256_cvtepi32_ps(simde_mm512_castsi512_si256(a));
  const __m256 hi = _mm256_cvtepi32_ps(simde_mm512_extracti64x4_epi64(a, 1));
  return simde_mm512_insertf32x8(simde_mm512_castps256_ps512(lo), hi, 1);
}
static inline void bitnet_emu_mask_storeu_ps(void* p, simde__mmask16 k, simde__m512 v) {
  float tmp[16];
  simde_mm512_storeu_ps(tmp, v);
  for (int i = 0; i < 16; ++i)
    if (k & (1u << i)) static_cast<float*>(p)[i] = tmp[i];
}
#define _mm512_cvtepi16_epi32 bitnet_emu_cvtepi16_epi32
#define _mm512_cvtepi32_ps bitnet_emu_cvtepi32_ps
#define _mm512_mask_storeu_ps bitnet_emu_mask_storeu_ps
#else
#include <immintrin.h>
#endif

// acc += u8(c) . s8(x) per 32-bit lane (vpdpbusd), accumulating in place. GCC 12 compiles
// `acc = _mm512_dpbusd_epi32(acc, c, x)` on loop-carried accumulators into a copy to a temporary,
// the vpdpbusd, and a copy back (2 extra moves per instruction in the 4 x 4 GEMM tile, plus the
// activation folded in as a memory operand up to four times); the asm form keeps acc, c and x in
// registers. The emulation build keeps the intrinsic (SIMDe cannot run asm).
static inline void bitnet_dpbusd(__m512i& acc, __m512i c, __m512i x) {
#if defined(BITNET_SIMDE_AVX512)
  acc = _mm512_dpbusd_epi32(acc, c, x);
#else
  asm("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(c), "v"(x));
#endif
}
