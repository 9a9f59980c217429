// The one Backend interface: every device (CPU, CUDA, Vulkan, Metal) implements these ops and the
// model graph (src/model/) is written once against them. Shapes below use [rows, cols] with cols
// contiguous; "n" is the number of tokens in the batch.
//
// Execution model: ops are enqueued in call order on the backend's single stream and may run
// asynchronously; download() and sync() are the only points where the host waits. The CPU backend
// runs each op to completion on its thread pool before returning.
//
// Weights: load_ternary()/load_matrix() receive the on-disk bytes (usually an mmap of the GGUF)
// and may keep them in place (CPU reference: zero-copy) or repack / upload them into a layout the
// backend's kernels prefer. Every op stays callable on its own so tests/ops can check each one
// against the CPU reference.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "core/status.h"
#include "formats/ggml_types.h"

namespace bitnet {

// Q8_0 is for KV caches only: a row of `cols` values is cols int8 followed by cols / 32 f16 scales
// (value = int8 * scale of its 32-block; 34 bytes per 32 values, as ggml's Q8_0); its `stride` counts
// bytes (dtype_size 1).
enum class DType : uint8_t { F32, F16, I8, I32, Q8_0 };
size_t dtype_size(DType t);
// Bytes of one row of `cols` values (Q8_0: with its scales).
size_t row_bytes(DType t, int64_t cols);

// Device memory owned by a backend. host() is non-null when the host may read/write it directly
// (CPU, unified-memory GPUs).
class Buffer {
 public:
  virtual ~Buffer() = default;
  virtual size_t size() const = 0;
  virtual void* host() { return nullptr; }
};

// A typed 2-D view into a Buffer: rows x cols elements, row-major, rows `stride` elements apart.
struct Tensor {
  Buffer* buf = nullptr;
  size_t offset = 0;  // bytes from the start of buf
  DType dtype = DType::F32;
  int64_t rows = 0, cols = 0, stride = 0;

  size_t nbytes() const { return static_cast<size_t>(rows * stride) * dtype_size(dtype); }
  Tensor row_slice(int64_t r0, int64_t count) const {
    Tensor t = *this;
    t.offset += static_cast<size_t>(r0 * stride) * dtype_size(dtype);
    t.rows = count;
    return t;
  }
  // Host pointer (only for host-visible buffers).
  template <typename T>
  T* host() const {
    return reinterpret_cast<T*>(static_cast<uint8_t*>(buf->host()) + offset);
  }
};

// Source description of a weight matrix with M output rows of K inputs (GGUF ne = [K, M]).
struct MatrixSource {
  GgmlType type = GgmlType::F32;
  int64_t k = 0, m = 0;
  const uint8_t* data = nullptr;  // on-disk bytes, valid for the model's lifetime
  size_t nbytes = 0;
  float extra_scale = 1.0f;       // multiplied into the output (arch `bitnet` optional .scale)
  std::string name;               // for error messages
};

// A weight matrix as prepared by a backend (layout private to the backend).
class Matrix {
 public:
  virtual ~Matrix() = default;
  int64_t k = 0, m = 0;
  GgmlType source_type = GgmlType::F32;
  size_t device_bytes = 0;  // bytes read per full pass (for bandwidth accounting)
};

enum class RopeStyle : uint8_t { kNeox, kNorm };  // half-rotation pairs (i, i+d/2) | adjacent (2i, 2i+1)
enum class GluAct : uint8_t { kRelu2, kSilu };     // relu(g)^2 * u  |  silu(g) * u

struct AttentionParams {
  int n_head = 0, n_head_kv = 0, head_dim = 0;
  float scale = 0;  // usually 1/sqrt(head_dim)
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;  // "cpu", "cuda:0", ...
  // Description of the kernel variant in use (e.g. "avx512vnni"), for logs and benchmarks.
  virtual std::string variant() const { return ""; }

  // ---- memory ----
  virtual Result<std::unique_ptr<Buffer>> alloc(size_t bytes) = 0;
  virtual void upload(const Tensor& dst, const void* src, size_t bytes) = 0;
  virtual void download(const Tensor& src, void* dst, size_t bytes) = 0;  // waits for prior ops
  virtual void sync() = 0;

  // ---- weights ----
  // Ternary matrices (I2_S, TQ2_0, TQ1_0) for matmul_ternary.
  virtual Result<std::unique_ptr<Matrix>> load_ternary(const MatrixSource& src) = 0;
  // Float matrices (F32, F16, BF16, Q8_0) for get_rows / matmul_float (embeddings, head).
  virtual Result<std::unique_ptr<Matrix>> load_matrix(const MatrixSource& src) = 0;
  // Plain f32 vectors (norm weights) live in ordinary tensors: alloc + upload.

  // ---- ops ----
  // out[i, :] = table[ids[i], :] as f32.   ids: i32 [n, 1]; out: f32 [n, table.k]
  virtual void get_rows(const Matrix& table, const Tensor& ids, const Tensor& out) = 0;
  // out = gamma * x / sqrt(mean(x^2) + eps), per row.  x, out: f32 [n, d]; gamma: f32 [1, d]
  virtual void rmsnorm(const Tensor& x, const Tensor& gamma, float eps, const Tensor& out) = 0;
  // Per-token absmax int8: s = 127 / max(max|x|, 1e-5); q = clamp(round_half_even(x*s), -128, 127).
  // x: f32 [n, k]; q: i8 [n, k]; scale: f32 [n, 1] (holds s)
  virtual void quantize_act(const Tensor& x, const Tensor& q, const Tensor& scale) = 0;
  // quantize_act(rmsnorm(x, gamma, eps)) without the f32 intermediate tensor (every ternary matmul
  // input in BitNet is a normed row): bit-identical to the two ops.  x: f32 [n, d]; q, scale as above
  virtual void rmsnorm_quantize(const Tensor& x, const Tensor& gamma, float eps, const Tensor& q,
                                const Tensor& scale) = 0;
  // y[i, r] = (sum_j T[r, j] * q[i, j]) / scale[i] * w_scale  (integer sum, fp32 epilogue)
  // q: i8 [n, w.k]; scale: f32 [n, 1]; y: f32 [n, w.m]
  virtual void matmul_ternary(const Matrix& w, const Tensor& q, const Tensor& scale,
                              const Tensor& y) = 0;
  // y = x * W^T in fp32.  x: f32 [n, w.k]; y: f32 [n, w.m]
  virtual void matmul_float(const Matrix& w, const Tensor& x, const Tensor& y) = 0;
  // In-place rotary embedding of x: f32 [n, n_heads * head_dim]; pos: i32 [n, 1].
  virtual void rope(const Tensor& x, const Tensor& pos, int n_heads, int head_dim, float theta,
                    RopeStyle style) = 0;
  // Stores k, v (f32 [n, n_head_kv*head_dim]) into cache rows [pos0, pos0+n) (f32, f16 or Q8_0 cache:
  // per 32 values d = max|x| / 127 rounded to f16, q = rne(x / d)).
  virtual void kv_store(const Tensor& k, const Tensor& v, const Tensor& k_cache,
                        const Tensor& v_cache, int64_t pos0) = 0;
  // Causal attention of q (f32 [n, n_head*head_dim], token i at position pos0+i) over cache rows
  // [0, pos0+i]; GQA: head h reads kv head h / (n_head/n_head_kv). out: f32 like q.
  virtual void attention(const Tensor& q, const Tensor& k_cache, const Tensor& v_cache,
                         int64_t pos0, const AttentionParams& p, const Tensor& out) = 0;
  // out = act(gate) * up, elementwise.  all f32 [n, d]
  virtual void glu(const Tensor& gate, const Tensor& up, GluAct act, const Tensor& out) = 0;
  // out = a + b, elementwise.  all f32 [n, d]
  virtual void add(const Tensor& a, const Tensor& b, const Tensor& out) = 0;
};

}  // namespace bitnet
