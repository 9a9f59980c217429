// CPU kernel signatures and the per-ISA kernel table. The scalar reference versions live in
// ref/ and are always compiled; optimized versions (x86/, arm/) fill the same table at run time
// after probing the CPU (kernel_select.cpp). Kernels never allocate, print or fail: the backend
// validates shapes and hands them scratch memory. Every launcher takes any shape: a fast path
// that needs K % 128 == 0 (or a packed layout) falls back to a general path otherwise.
// docs/kernels.md describes the layouts and the dispatch.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "formats/ggml_types.h"

namespace bitnet::cpu {

// A ternary matrix with m rows of k inputs in one of the on-disk formats.
struct TernaryView {
  GgmlType type = GgmlType::I2_S;
  const uint8_t* data = nullptr;  // on-disk bytes (I2_S: codes + 32-byte tail; TQ: blocks)
  int64_t k = 0, m = 0;
  float scale = 1.0f;  // I2_S tensor scale (times any extra scale); TQ formats: extra scale only
  // Kernel-private layout made by TernaryKernels::pack (null: kernels read `data` in place).
  const uint8_t* packed = nullptr;
};

// A float matrix (embeddings / head) with m rows of k inputs: F32, F16, BF16, Q8_0, Q4_K or Q6_K.
struct FloatView {
  GgmlType type = GgmlType::F16;
  const uint8_t* data = nullptr;
  int64_t k = 0, m = 0;
  float scale = 1.0f;
};

// y[i*ldy + r] for tokens i < n and rows r in [r0, r1):
//   I2_S:  float(S) / s_a[i] * scale with S = sum_j T[r,j] * q[i*k + j] (exact int32). Every
//          kernel must produce bit-identical outputs (same integer, same two fp32 operations).
//   TQ2_0/TQ1_0: acc = sum over 256-blocks b in order of (d_b * float(S_b)), y = acc / s_a * scale
//          (d_b: the block's f16 scale). Kernels may sum in another order: tolerance in tests/ops.
// q values may be any int8 (-128 included). `prep` is null or what TernaryKernels::prep made for
// this q (shared, read-only); without it the kernel prepares what it needs itself in `scratch`.
// `scratch` holds TernaryKernels::scratch_size bytes (64-byte aligned, private to the calling
// thread) or is null when that size is 0.
using GemmTernaryFn = void (*)(const TernaryView& w, const int8_t* q, const float* s_a, int64_t n,
                               float* y, int64_t ldy, int64_t r0, int64_t r1, const uint8_t* prep,
                               uint8_t* scratch);
// Load-time repack into a kernel-private layout: pack_size() returns the bytes needed, 0 when the
// kernel reads the on-disk bytes in place (or cannot use its layout for this shape); pack()
// fills `out` (64-byte aligned) in `nparts` independent parts (threads call part 0..nparts-1, in
// any order or concurrently). The view passed to gemm then carries packed = out.
using PackSizeFn = size_t (*)(const TernaryView& w);
using PackFn = void (*)(const TernaryView& w, uint8_t* out, int part, int nparts);
// Scratch bytes one gemm call over n tokens needs per thread (lookup tables, decoded tiles).
using ScratchSizeFn = size_t (*)(const TernaryView& w, int64_t n);
// Activation-side preparation shared by all threads of one call (TL3: per-token lookup tables).
// prep_units(w, n) independent work units; prep() fills units [u0, u1) of `out` (prep_size bytes,
// 64-byte aligned). Both are 0/null when the kernel needs nothing.
using PrepUnitsFn = int64_t (*)(const TernaryView& w, int64_t n);
using PrepFn = void (*)(const TernaryView& w, const int8_t* q, int64_t n, int64_t u0, int64_t u1, uint8_t* out);

//   float: sum_j W[r,j] * x[i*k + j] in fp32. Q8_0 kernels may quantize x per 32-block to int8
//   (like ggml's Q8_0 x Q8_0 dot); Q4_K / Q6_K kernels per 256-block (kquant.h): tolerance in tests/ops. `prep` is null or FloatKernels::prep's
//   output for this x (shared by all threads); without it the kernel prepares x in `scratch`.
using GemmFloatFn = void (*)(const FloatView& w, const float* x, int64_t n, float* y, int64_t ldy,
                             int64_t r0, int64_t r1, const uint8_t* prep, uint8_t* scratch);
using FloatScratchFn = size_t (*)(const FloatView& w, int64_t n);
using FloatPrepFn = void (*)(const FloatView& w, const float* x, int64_t n, uint8_t* out);
// One row: s = 127 / max(max|x|, 1e-5); q = clamp(rne(x*s), -128, 127). Bit-identical across ISAs.
using QuantizeActFn = void (*)(const float* x, int64_t k, int8_t* q, float* s);
// One row: y = g * (x * inv), inv = 1 / sqrt(mean(x^2) + eps) (sum of squares in double in ref).
using RmsnormFn = void (*)(const float* x, const float* g, int64_t d, float eps, float* y);

// Causal attention of nq consecutive query tokens x the g query heads that share one kv head (a
// GQA group; g = 1 for MHA) over the KV cache: token t (0 <= t < nq) sees cache rows
// [0, n - nq + 1 + t), so the last one sees all n. Per head: scores = scale * q.k_j, softmax
// (max-subtracted, fp32), out = sum_j p_j * v_j. Query of token t, head h at q + t*ldq + h*d, its
// output at out + t*ldo + h*d; k/v rows are `stride` elements apart, f16 or f32; d = head dim
// (multiple of 8 in fast kernels). Grouping lets a kernel read each cache row once for all g heads,
// and (prompts) for all nq tokens. `scratch` holds attention_scratch_floats(nq, g, n, d) floats.
// With `ml` (nq == 1 only; 2*g floats) the output is left unnormalized, out = sum_j exp(s_j - m)
// v_j, and ml[2h] = m (the max score), ml[2h+1] = sum_j exp(s_j - m): partial results over a
// slice of the rows that the caller merges (split decode attention).
// The KV cache's element format. Q8_0: k/v rows hold int8 values (stride in bytes) and the f16
// scale of values [32b, 32b + 32) of this kv head's row j sits at k + j * stride + scale_off + 2b
// (the same for v).
enum class KvFormat : uint8_t { F32, F16, Q8_0 };
struct AttnArgs {
  const float* q = nullptr;
  int64_t ldq = 0;
  int nq = 1, g = 1;
  const void* k = nullptr;
  const void* v = nullptr;
  int64_t stride = 0, n = 0;
  int d = 0;
  float scale = 1.0f;
  KvFormat kv = KvFormat::F32;
  int64_t scale_off = 0;  // Q8_0 only
  float* out = nullptr;
  int64_t ldo = 0;
  float* scratch = nullptr;
  float* ml = nullptr;
};
using AttnFn = void (*)(const AttnArgs& a);
// Cache rows per block of the tiled (prompt) kernels, at most. Scratch: g*n scores (one token at a
// time), or per query row a running output (d), a block of scores and (max, sum), plus one block
// of widened k.
constexpr int64_t kAttnBlock = 64;
inline int64_t attention_scratch_floats(int nq, int g, int64_t n, int d) {
  return int64_t{g} * n + int64_t{nq} * g * (d + kAttnBlock + 2) + kAttnBlock * d;
}
// One KV cache row of n values (n % 32 == 0) to Q8_0 (backend.h): per 32 values the scale
// d = f16(max|x| / 127) and q = clamp(rne(x / d), -127, 127) (0 when d is 0).
void kv_row_to_q8_0_ref(const float* x, int64_t n, uint8_t* row);
// Row conversions f32 -> f16 (round to nearest even) and f16 -> f32 (KV cache, embeddings).
using CvtF32F16Fn = void (*)(const float* x, int64_t n, uint16_t* y);
using CvtF16F32Fn = void (*)(const uint16_t* x, int64_t n, float* y);

// Kernels for one ternary format.
struct TernaryKernels {
  const char* name = "";  // e.g. "gemm_i2s_i8_avx2"
  GemmTernaryFn gemm = nullptr;
  PackSizeFn pack_size = nullptr;        // null: never repacks
  PackFn pack = nullptr;
  ScratchSizeFn scratch_size = nullptr;  // null: needs none
  int64_t row_tile = 1;                  // work items should start at multiples of this row count
  ScratchSizeFn prep_size = nullptr;     // null: no shared preparation
  PrepUnitsFn prep_units = nullptr;
  PrepFn prep = nullptr;
};

struct FloatKernels {
  const char* name = "";
  GemmFloatFn gemm = nullptr;
  FloatScratchFn scratch_size = nullptr;  // per thread, for calls without prep
  FloatScratchFn prep_size = nullptr;     // shared activation preparation (Q8_0: x quantized)
  FloatPrepFn prep = nullptr;
};

struct KernelTable {
  std::string isa = "ref";  // ref | avx2 | avx512 | neon | neondot | neoni8mm
  TernaryKernels i2s, tq2_0, tq1_0;
  FloatKernels gemm_float;  // F32, F16, BF16, Q8_0, Q4_K, Q6_K weights; f32 activations
  QuantizeActFn quantize_act = nullptr;
  RmsnormFn rmsnorm = nullptr;
  AttnFn attention = nullptr;
  CvtF32F16Fn f32_to_f16 = nullptr;
  CvtF16F32Fn f16_to_f32 = nullptr;

  // The kernels for a ternary type (I2_S, TQ2_0, TQ1_0); null for any other type.
  const TernaryKernels* ternary(GgmlType t) const;
};

// The scalar reference table (the oracle).
const KernelTable& ref_kernels();
// Every table compiled into this binary whose instructions this CPU supports, ref first, then in
// increasing preference order (the last one is what select_kernels() picks by default).
std::vector<const KernelTable*> available_kernels();
// ISA names compiled into this build for this architecture (whether or not the CPU has them).
std::vector<std::string> compiled_isas();
// The best table for this CPU, honoring BITNET_CPU_ISA=auto|ref|avx2|avx512|neon|neondot|neoni8mm.
// An unknown or unsupported forced ISA is reported through *error (listing the available ones)
// and ref is returned; callers turn that into a user-facing error.
const KernelTable& select_kernels(std::string* error = nullptr);
// The table for an ISA name, or null when it is not compiled in or this CPU lacks it.
const KernelTable* find_kernels(const std::string& isa);

// ---- reference kernels (ref/) -----------------------------------------------------------------
void gemm_i2s_i8_ref(const TernaryView& w, const int8_t* q, const float* s_a, int64_t n, float* y,
                     int64_t ldy, int64_t r0, int64_t r1, const uint8_t* prep = nullptr,
                     uint8_t* scratch = nullptr);
void gemm_tq2_0_i8_ref(const TernaryView& w, const int8_t* q, const float* s_a, int64_t n, float* y,
                       int64_t ldy, int64_t r0, int64_t r1, const uint8_t* prep = nullptr,
                     uint8_t* scratch = nullptr);
void gemm_tq1_0_i8_ref(const TernaryView& w, const int8_t* q, const float* s_a, int64_t n, float* y,
                       int64_t ldy, int64_t r0, int64_t r1, const uint8_t* prep = nullptr,
                     uint8_t* scratch = nullptr);
void gemm_float_f32_ref(const FloatView& w, const float* x, int64_t n, float* y, int64_t ldy,
                        int64_t r0, int64_t r1, const uint8_t* prep = nullptr, uint8_t* scratch = nullptr);
void quantize_act_f32_i8_ref(const float* x, int64_t k, int8_t* q, float* s);
void rmsnorm_f32_ref(const float* x, const float* g, int64_t d, float eps, float* y);
void attention_f32_ref(const AttnArgs& a);
void f32_to_f16_ref(const float* x, int64_t n, uint16_t* y);
void f16_to_f32_ref(const uint16_t* x, int64_t n, float* y);

// Integer dot sum_j T[r,j]*q[j] for one row (tests use it to check exact integer agreement).
int64_t dot_ternary_row_ref(const TernaryView& w, int64_t r, const int8_t* q);
// Dequantize row r of a float matrix into f32 (embedding lookup).
void float_row_to_f32(const FloatView& w, int64_t r, float* out);

}  // namespace bitnet::cpu
