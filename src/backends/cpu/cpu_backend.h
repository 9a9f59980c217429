// CPU backend: host buffers, ops run on a thread pool with the kernel table chosen for this CPU
// (kernels.h). Weights are used in place from the mmap unless the table's kernels want a private
// layout (TL3 for TQ formats): those are repacked per tensor at load and the source pages released.
#pragma once

#include <chrono>
#include <cstdlib>
#include <memory>
#include <vector>

#include "backends/backend.h"
#include "backends/cpu/kernels.h"
#include "core/thread_pool.h"

namespace bitnet {

class CpuBackend final : public Backend {
 public:
  // kernels: the table to use (defaults to select_kernels()).
  explicit CpuBackend(int n_threads, const cpu::KernelTable* kernels = nullptr);
  ~CpuBackend() override;

  std::string name() const override { return "cpu"; }
  std::string variant() const override { return kernels_->isa; }
  int n_threads() const { return pool_.size(); }
  ThreadPool& pool() { return pool_; }

  Result<std::unique_ptr<Buffer>> alloc(size_t bytes) override;
  void upload(const Tensor& dst, const void* src, size_t bytes) override;
  void download(const Tensor& src, void* dst, size_t bytes) override;
  void sync() override {}

  Result<std::unique_ptr<Matrix>> load_ternary(const MatrixSource& src) override;
  Result<std::unique_ptr<Matrix>> load_matrix(const MatrixSource& src) override;

  void get_rows(const Matrix& table, const Tensor& ids, const Tensor& out) override;
  void rmsnorm(const Tensor& x, const Tensor& gamma, float eps, const Tensor& out) override;
  void quantize_act(const Tensor& x, const Tensor& q, const Tensor& scale) override;
  void rmsnorm_quantize(const Tensor& x, const Tensor& gamma, float eps, const Tensor& q,
                        const Tensor& scale) override;
  void matmul_ternary(const Matrix& w, const Tensor& q, const Tensor& scale, const Tensor& y) override;
  void matmul_float(const Matrix& w, const Tensor& x, const Tensor& y) override;
  void rope(const Tensor& x, const Tensor& pos, int n_heads, int head_dim, float theta,
            RopeStyle style) override;
  void kv_store(const Tensor& k, const Tensor& v, const Tensor& k_cache, const Tensor& v_cache,
                int64_t pos0) override;
  void attention(const Tensor& q, const Tensor& k_cache, const Tensor& v_cache, int64_t pos0,
                 const AttentionParams& p, const Tensor& out) override;
  void glu(const Tensor& gate, const Tensor& up, GluAct act, const Tensor& out) override;
  void add(const Tensor& a, const Tensor& b, const Tensor& out) override;

 private:
  // Optional per-op wall-time accounting (BITNET_CPU_PROFILE=1).
  struct OpProfile {
    static constexpr int kOps = 11;
    double seconds[kOps] = {};
    uint64_t calls[kOps] = {};
  };
  struct OpTimer {
    OpProfile* p;
    int op;
    std::chrono::steady_clock::time_point t0;
    OpTimer(OpProfile* prof, int o) : p(prof), op(o) {
      if (p) t0 = std::chrono::steady_clock::now();
    }
    ~OpTimer() {
      if (!p) return;
      p->seconds[op] += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      ++p->calls[op];
    }
  };
  std::unique_ptr<OpProfile> prof_;

  struct FreeDeleter {
    void operator()(uint8_t* p) const { std::free(p); }
  };
  // Per-thread kernel scratch (lookup tables, decoded tiles), grown before an op is dispatched.
  void ensure_scratch(size_t bytes);
  uint8_t* scratch(int tid) { return scratch_bytes_ ? scratch_[static_cast<size_t>(tid)].get() : nullptr; }
  // The smallest work item for m rows of row_bytes each (a multiple of `tile`).
  int64_t row_grain(int64_t m, int64_t tile, size_t row_bytes) const;
  // Runs fn(r0, r1, tid) over [0, m) in work items of at least row_grain rows (guided schedule).
  template <typename F>
  void for_rows(int64_t m, int64_t tile, size_t row_bytes, F&& fn);

  ThreadPool pool_;
  const cpu::KernelTable* kernels_;
  std::vector<std::unique_ptr<uint8_t, FreeDeleter>> scratch_;
  size_t scratch_bytes_ = 0;
  // Split decode attention's partial results (see attention), kept between calls.
  std::vector<float> attn_part_, attn_ml_, attn_w_;
  // Shared activation preparation of the last matmul_ternary (see matmul_ternary).
  struct PrepKey {
    const void* q;
    int64_t n, k;
    const void* fn;
    uint64_t gen;
    bool operator==(const PrepKey&) const = default;
  };
  std::unique_ptr<uint8_t, FreeDeleter> prep_buf_;
  std::unique_ptr<uint8_t, FreeDeleter> fprep_;  // matmul_float's prepared x
  size_t fprep_bytes_ = 0;
  size_t prep_buf_bytes_ = 0;
  PrepKey prep_key_{};
  bool prep_valid_ = false;
  uint64_t op_gen_ = 0;  // bumped by every op except matmul_ternary
  // rope's cos/sin per (position, frequency), computed on first use.
  float rope_theta_ = 0;
  int rope_half_ = 0;
  std::vector<float> rope_inv_freq_, rope_cos_, rope_sin_;
  std::vector<uint8_t> rope_known_;
};

}  // namespace bitnet
