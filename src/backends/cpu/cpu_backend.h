// CPU backend: host buffers, weights used in place from the mmap, ops run on a thread pool with
// the kernel table chosen for this CPU (kernels.h).
#pragma once

#include <memory>

#include "backends/backend.h"
#include "backends/cpu/kernels.h"
#include "core/thread_pool.h"

namespace bitnet {

class CpuBackend final : public Backend {
 public:
  // kernels: the table to use (defaults to select_kernels()).
  explicit CpuBackend(int n_threads, const cpu::KernelTable* kernels = nullptr);

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
  ThreadPool pool_;
  const cpu::KernelTable* kernels_;
};

}  // namespace bitnet
