#include "backends/cpu/cpu_backend.h"

#include <sched.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "core/check.h"
#include "core/fp16.h"
#include "core/strings.h"
#include "formats/ternary_codecs.h"

namespace bitnet {

size_t dtype_size(DType t) {
  switch (t) {
    case DType::F32: return 4;
    case DType::F16: return 2;
    case DType::I8: return 1;
    case DType::I32: return 4;
    case DType::Q8_0: return 1;
  }
  return 0;
}

size_t row_bytes(DType t, int64_t cols) {
  return t == DType::Q8_0 ? static_cast<size_t>(cols + cols / 16) : static_cast<size_t>(cols) * dtype_size(t);
}

namespace {

class CpuBuffer final : public Buffer {
 public:
  explicit CpuBuffer(size_t n) : size_(n) {
    // 64-byte alignment: one cache line, and what AVX-512 loads prefer.
    data_ = std::aligned_alloc(64, (n + 63) / 64 * 64 + 64);
    if (data_) std::memset(data_, 0, (n + 63) / 64 * 64 + 64);
  }
  ~CpuBuffer() override { std::free(data_); }
  size_t size() const override { return size_; }
  void* host() override { return data_; }
  bool ok() const { return data_ != nullptr; }

 private:
  void* data_;
  size_t size_;
};

struct FreeBytes {
  void operator()(uint8_t* p) const { std::free(p); }
};

class CpuTernary final : public Matrix {
 public:
  cpu::TernaryView view;
  const cpu::TernaryKernels* kern = nullptr;
  std::unique_ptr<uint8_t, FreeBytes> packed;  // private layout (TL3), when the kernels want one
};

class CpuFloat final : public Matrix {
 public:
  cpu::FloatView view;
};

// Tells the kernel the source bytes of a repacked tensor will not be read again. MADV_PAGEOUT
// (MADV_COLD before Linux 5.4) is a hint that never changes memory contents, so it is safe whatever
// the source is (file mmap, heap); for the model's file mapping it drops the pages from RSS, which
// keeps the load-time peak near the file size when every tensor is repacked.
void release_pages(const uint8_t* p, size_t n) {
  const long page = sysconf(_SC_PAGESIZE);
  if (page <= 0 || n == 0) return;
  const uintptr_t b = (reinterpret_cast<uintptr_t>(p) + page - 1) / page * page;
  const uintptr_t e = (reinterpret_cast<uintptr_t>(p) + n) / page * page;
  if (e <= b) return;
#ifdef MADV_PAGEOUT
  if (madvise(reinterpret_cast<void*>(b), e - b, MADV_PAGEOUT) == 0) return;
#endif
#ifdef MADV_COLD
  madvise(reinterpret_cast<void*>(b), e - b, MADV_COLD);
#endif
}

// Element-wise rows. Plain pointer loops (no Tensor members re-read through references) so the
// compiler vectorizes them; ivdep because the model calls both in place (out == gate, out == a).
void glu_row(const float* g, const float* u, float* o, int64_t n, GluAct act) {
  if (act == GluAct::kRelu2) {
#pragma GCC ivdep
    for (int64_t j = 0; j < n; ++j) {
      // relu(x) as 0.5 * (x + |x|): exact (x + x is exact below 1.7e38), and arithmetic only, so
      // GCC vectorizes it (a compare-select does not if-convert under -ftrapping-math).
      const float x = g[j];
      const float r = 0.5f * (x + std::fabs(x));
      o[j] = r * r * u[j];
    }
  } else {
    for (int64_t j = 0; j < n; ++j) o[j] = g[j] / (1.0f + std::exp(-g[j])) * u[j];
  }
}

void add_row(const float* x, const float* y, float* o, int64_t n) {
#pragma GCC ivdep
  for (int64_t j = 0; j < n; ++j) o[j] = x[j] + y[j];
}

void spin_pause() {
#if defined(__x86_64__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

}  // namespace

void CpuBackend::ensure_scratch(size_t bytes) {
  if (bytes <= scratch_bytes_ && scratch_.size() == static_cast<size_t>(pool_.size())) return;
  bytes = (bytes + 4095) / 4096 * 4096;
  if (bytes < scratch_bytes_) bytes = scratch_bytes_;
  scratch_.clear();
  for (int t = 0; t < pool_.size(); ++t) {
    auto* p = static_cast<uint8_t*>(std::aligned_alloc(64, bytes));
    BITNET_CHECK_MSG(p != nullptr, "out of memory for kernel scratch");
    scratch_.emplace_back(p);
  }
  scratch_bytes_ = bytes;
}

int64_t CpuBackend::row_grain(int64_t m, int64_t tile, size_t row_bytes) const {
  if (tile < 1) tile = 1;
  // The smallest work item: ~32 KiB of weights (enough for the prefetchers to stream), whole tiles.
  int64_t grain = static_cast<int64_t>((size_t{32} << 10) / (row_bytes ? row_bytes : 1));
  grain = (grain + tile - 1) / tile * tile;
  return grain < tile ? tile : grain;
}

namespace {
// Guided self-scheduling over [0, m): each grab takes remaining / (2 * nth) rows (a multiple of
// `tile`, at least `min_grain`), so items start large (few atomics, long contiguous streams) and
// shrink towards the end, where they even out the finish times of the threads.
bool grab_rows(std::atomic<int64_t>& next, int64_t m, int64_t tile, int64_t min_grain, int nth, int64_t* b,
               int64_t* e) {
  int64_t cur = next.load(std::memory_order_relaxed);
  for (;;) {
    if (cur >= m) return false;
    int64_t g = (m - cur) / (2 * static_cast<int64_t>(nth));
    g = (g + tile - 1) / tile * tile;
    if (g < min_grain) g = min_grain;
    const int64_t end = cur + g < m ? cur + g : m;
    if (next.compare_exchange_weak(cur, end, std::memory_order_relaxed)) {
      *b = cur;
      *e = end;
      return true;
    }
  }
}
}  // namespace

// Work split: rows are handed out by guided self-scheduling (grab_rows) in items aligned to the
// kernel's row tile. GEMV is memory-bound, so each item streams a contiguous slice of the matrix;
// the shrinking tail absorbs a core that is slowed down by something else on the machine.
template <typename F>
void CpuBackend::for_rows(int64_t m, int64_t tile, size_t row_bytes, F&& fn) {
  const int nth = pool_.size();
  const int64_t grain = row_grain(m, tile, row_bytes);
  if (nth == 1 || m <= grain) {
    fn(int64_t{0}, m, 0);
    return;
  }
  std::atomic<int64_t> next{0};
  pool_.run([&](int tid, int) {
    int64_t b, e;
    while (grab_rows(next, m, tile < 1 ? 1 : tile, grain, nth, &b, &e)) fn(b, e, tid);
  });
}

CpuBackend::CpuBackend(int n_threads, const cpu::KernelTable* kernels)
    : pool_(n_threads), kernels_(kernels ? kernels : &cpu::select_kernels()) {
  const char* p = std::getenv("BITNET_CPU_PROFILE");
  if (p && *p && *p != '0') prof_ = std::make_unique<OpProfile>();
}

// BITNET_CPU_PROFILE=1: wall time per op kind, printed to stderr when the backend is destroyed
// (diagnostics on request; the ops themselves never print).
CpuBackend::~CpuBackend() {
  if (!prof_) return;
  static const char* kNames[OpProfile::kOps] = {"get_rows", "rmsnorm", "quantize_act", "matmul_ternary", "matmul_float",
                                                "rope", "kv_store", "attention", "glu", "add", "rmsnorm_quantize"};
  double total = 0;
  for (int i = 0; i < OpProfile::kOps; ++i) total += prof_->seconds[i];
  std::fprintf(stderr, "cpu profile (%s, %d threads): %.3f s in ops\n", kernels_->isa.c_str(), pool_.size(), total);
  for (int i = 0; i < OpProfile::kOps; ++i)
    if (prof_->calls[i])
      std::fprintf(stderr, "  %-15s %9llu calls %9.3f s %5.1f%% %8.2f us/call\n", kNames[i],
                   static_cast<unsigned long long>(prof_->calls[i]), prof_->seconds[i],
                   total > 0 ? 100.0 * prof_->seconds[i] / total : 0.0, 1e6 * prof_->seconds[i] / prof_->calls[i]);
}

Result<std::unique_ptr<Buffer>> CpuBackend::alloc(size_t bytes) {
  auto b = std::make_unique<CpuBuffer>(bytes);
  if (!b->ok()) return unavailable(strfmt("out of host memory allocating %zu bytes", bytes));
  return std::unique_ptr<Buffer>(std::move(b));
}

void CpuBackend::upload(const Tensor& dst, const void* src, size_t bytes) {
  ++op_gen_;
  BITNET_CHECK(dst.offset + bytes <= dst.buf->size());
  std::memcpy(dst.host<uint8_t>(), src, bytes);
}

void CpuBackend::download(const Tensor& src, void* dst, size_t bytes) {
  BITNET_CHECK(src.offset + bytes <= src.buf->size());
  std::memcpy(dst, src.host<uint8_t>(), bytes);
}

Result<std::unique_ptr<Matrix>> CpuBackend::load_ternary(const MatrixSource& src) {
  auto w = std::make_unique<CpuTernary>();
  w->k = src.k;
  w->m = src.m;
  w->source_type = src.type;
  w->device_bytes = src.nbytes;
  w->view = {src.type, src.data, src.k, src.m, src.extra_scale, nullptr};
  w->kern = kernels_->ternary(src.type);
  if (!w->kern) return unsupported("tensor '" + src.name + "' is not ternary (I2_S, TQ2_0 or TQ1_0)");
  if (src.k <= 0 || src.m <= 0) return corrupt("tensor '" + src.name + "' has an empty shape");
  switch (src.type) {
    case GgmlType::I2_S:
      if ((src.k * src.m) % 128 != 0)
        return unsupported(strfmt("tensor '%s': I2_S needs rows*cols divisible by 128", src.name.c_str()));
      if (src.nbytes < static_cast<size_t>(src.k * src.m / 4 + 4))
        return corrupt("tensor '" + src.name + "': I2_S data is shorter than its shape needs");
      w->view.scale = i2s_scale(src.data, src.k * src.m) * src.extra_scale;
      if (!std::isfinite(w->view.scale))
        return corrupt("tensor '" + src.name + "': I2_S scale is not a finite number");
      break;
    case GgmlType::TQ2_0:
    case GgmlType::TQ1_0:
      if (src.k % 256 != 0)
        return unsupported(strfmt("tensor '%s': %s rows must be a multiple of 256 long", src.name.c_str(),
                                  src.type == GgmlType::TQ2_0 ? "TQ2_0" : "TQ1_0"));
      break;
    default: break;
  }
  if (w->kern->pack_size) {
    const size_t bytes = w->kern->pack_size(w->view);
    if (bytes > 0) {
      auto* p = static_cast<uint8_t*>(std::aligned_alloc(64, (bytes + 63) / 64 * 64));
      if (!p) return unavailable(strfmt("out of host memory repacking tensor '%s' (%zu bytes)", src.name.c_str(), bytes));
      w->packed.reset(p);
      // Repack in parallel (tiles split across the pool): ~2 ns per weight single-threaded.
      const auto* kern = w->kern;
      const cpu::TernaryView view = w->view;
      pool_.run([&](int tid, int nth) { kern->pack(view, p, tid, nth); });
      w->view.packed = p;
      w->device_bytes = bytes;
      release_pages(src.data, src.nbytes);
    }
  }
  return std::unique_ptr<Matrix>(std::move(w));
}

Result<std::unique_ptr<Matrix>> CpuBackend::load_matrix(const MatrixSource& src) {
  switch (src.type) {
    case GgmlType::F32: case GgmlType::F16: case GgmlType::BF16: case GgmlType::Q8_0: case GgmlType::Q4_K:
    case GgmlType::Q6_K: break;
    default: return unsupported("tensor '" + src.name + "' must be f32, f16, bf16, q8_0, q4_k or q6_k");
  }
  if (!ggml_row_bytes(src.type, src.k))
    return unsupported(strfmt("tensor '%s': rows of %lld are not whole %s blocks", src.name.c_str(),
                              static_cast<long long>(src.k), ggml_type_name(static_cast<uint32_t>(src.type))->c_str()));
  if (src.k > (1 << 16)) return unsupported("tensor '" + src.name + "': rows longer than 65536");
  auto w = std::make_unique<CpuFloat>();
  w->k = src.k;
  w->m = src.m;
  w->source_type = src.type;
  w->device_bytes = src.nbytes;
  w->view = {src.type, src.data, src.k, src.m, src.extra_scale};
  return std::unique_ptr<Matrix>(std::move(w));
}

void CpuBackend::get_rows(const Matrix& table, const Tensor& ids, const Tensor& out) {
  OpTimer timed(prof_.get(), 0);
  ++op_gen_;
  const auto& t = static_cast<const CpuFloat&>(table);
  BITNET_CHECK(out.cols == t.k && out.rows == ids.rows);
  const int32_t* id = ids.host<int32_t>();
  for (int64_t i = 0; i < ids.rows; ++i) {
    BITNET_CHECK(id[i] >= 0 && id[i] < t.m);
    cpu::float_row_to_f32(t.view, id[i], out.host<float>() + i * out.stride);
  }
}

void CpuBackend::rmsnorm(const Tensor& x, const Tensor& gamma, float eps, const Tensor& out) {
  OpTimer timed(prof_.get(), 1);
  ++op_gen_;
  BITNET_CHECK(x.cols == gamma.cols && out.cols == x.cols && out.rows == x.rows);
  const auto fn = kernels_->rmsnorm;
  pool_.parallel_for(x.rows, 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i)
      fn(x.host<float>() + i * x.stride, gamma.host<float>(), x.cols, eps, out.host<float>() + i * out.stride);
  });
}

void CpuBackend::quantize_act(const Tensor& x, const Tensor& q, const Tensor& scale) {
  OpTimer timed(prof_.get(), 2);
  ++op_gen_;
  BITNET_CHECK(q.cols == x.cols && q.rows == x.rows && scale.rows == x.rows);
  const auto fn = kernels_->quantize_act;
  pool_.parallel_for(x.rows, 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i)
      fn(x.host<float>() + i * x.stride, x.cols, q.host<int8_t>() + i * q.stride, scale.host<float>() + i * scale.stride);
  });
}

void CpuBackend::rmsnorm_quantize(const Tensor& x, const Tensor& gamma, float eps, const Tensor& q,
                                  const Tensor& scale) {
  OpTimer timed(prof_.get(), 10);
  ++op_gen_;
  BITNET_CHECK(x.cols == gamma.cols && q.cols == x.cols && q.rows == x.rows && scale.rows == x.rows);
  const auto norm = kernels_->rmsnorm;
  const auto quant = kernels_->quantize_act;
  // Each normed row goes through the calling thread's scratch (d floats, stays in L1).
  ensure_scratch(static_cast<size_t>(x.cols) * 4);
  pool_.parallel_for_tid(x.rows, 1, [&](int tid, int64_t b, int64_t e) {
    float* row = reinterpret_cast<float*>(scratch(tid));
    for (int64_t i = b; i < e; ++i) {
      norm(x.host<float>() + i * x.stride, gamma.host<float>(), x.cols, eps, row);
      quant(row, x.cols, q.host<int8_t>() + i * q.stride, scale.host<float>() + i * scale.stride);
    }
  });
}

void CpuBackend::matmul_ternary(const Matrix& wm, const Tensor& q, const Tensor& scale, const Tensor& y) {
  OpTimer timed(prof_.get(), 3);
  const auto& w = static_cast<const CpuTernary&>(wm);
  BITNET_CHECK(q.cols == w.k && q.stride == w.k && y.cols == w.m && y.rows == q.rows);
  BITNET_CHECK(scale.stride == 1);
  const cpu::TernaryKernels& kern = *w.kern;
  const int64_t n = q.rows;
  if (kern.scratch_size) ensure_scratch(kern.scratch_size(w.view, n));
  const int8_t* qp = q.host<int8_t>();
  const float* sp = scale.host<float>();
  float* yp = y.host<float>();
  const int64_t ldy = y.stride;

  // Shared activation preparation (TL3 lookup tables): built once per call by all threads, and
  // reused by the next matmul on the same activations (q/k/v share one input, so do gate/up) as
  // long as no other op ran in between (op_gen_) and nothing overwrote q.
  const uint8_t* prep = nullptr;
  int64_t prep_units = 0;
  if (kern.prep && kern.prep_size) {
    const size_t bytes = kern.prep_size(w.view, n);
    if (bytes > 0) {
      const PrepKey key{qp, n, w.k, reinterpret_cast<const void*>(kern.prep), op_gen_};
      if (!(prep_valid_ && key == prep_key_)) {
        if (prep_buf_bytes_ < bytes) {
          prep_buf_.reset(static_cast<uint8_t*>(std::aligned_alloc(64, (bytes + 4095) / 4096 * 4096)));
          BITNET_CHECK_MSG(prep_buf_ != nullptr, "out of memory for activation tables");
          prep_buf_bytes_ = (bytes + 4095) / 4096 * 4096;
        }
        prep_units = kern.prep_units(w.view, n);
        prep_key_ = key;
        prep_valid_ = true;
      }
      prep = prep_buf_.get();
    }
  }
  uint8_t* prep_out = prep_buf_.get();
  const int nth = pool_.size();
  const int64_t tile = kern.row_tile < 1 ? 1 : kern.row_tile;
  const int64_t grain = row_grain(w.m, tile, w.device_bytes / static_cast<size_t>(w.m));
  std::atomic<int64_t> next{0};
  std::atomic<int> prepared{0};
  auto body = [&](int tid, int nthr) {
    if (prep_units > 0) {
      int64_t u0, u1;
      ThreadPool::split(prep_units, 1, tid, nthr, &u0, &u1);
      if (u1 > u0) kern.prep(w.view, qp, n, u0, u1, prep_out);
      prepared.fetch_add(1, std::memory_order_acq_rel);
      // Barrier: spin briefly, then yield, so an oversubscribed machine (the partner thread not
      // running) does not burn whole time slices here.
      for (int spins = 0; prepared.load(std::memory_order_acquire) < nthr; ++spins) {
        if (spins < 4000) spin_pause();
        else sched_yield();
      }
    }
    int64_t b, e;
    while (grab_rows(next, w.m, tile, grain, nthr, &b, &e)) kern.gemm(w.view, qp, sp, n, yp, ldy, b, e, prep, scratch(tid));
  };
  if (nth == 1) body(0, 1);
  else pool_.run(body);
  // y aliasing q's bytes would make the cached tables stale.
  const auto* qb = reinterpret_cast<const uint8_t*>(qp);
  const auto* yb = reinterpret_cast<const uint8_t*>(yp);
  if (yb < qb + n * w.k && qb < yb + (y.rows * ldy) * 4) prep_valid_ = false;
}

void CpuBackend::matmul_float(const Matrix& wm, const Tensor& x, const Tensor& y) {
  OpTimer timed(prof_.get(), 4);
  ++op_gen_;
  const auto& w = static_cast<const CpuFloat&>(wm);
  BITNET_CHECK(x.cols == w.k && x.stride == w.k && y.cols == w.m && y.rows == x.rows);
  const cpu::FloatKernels& kern = kernels_->gemm_float;
  const int64_t n = x.rows;
  const float* xp = x.host<float>();
  // Shared preparation (Q8_0: x quantized once, not once per work item and thread).
  const uint8_t* prep = nullptr;
  if (kern.prep && kern.prep_size) {
    const size_t bytes = kern.prep_size(w.view, n);
    if (bytes > 0) {
      if (fprep_bytes_ < bytes) {
        fprep_.reset(static_cast<uint8_t*>(std::aligned_alloc(64, (bytes + 4095) / 4096 * 4096)));
        BITNET_CHECK_MSG(fprep_ != nullptr, "out of memory for activation preparation");
        fprep_bytes_ = (bytes + 4095) / 4096 * 4096;
      }
      kern.prep(w.view, xp, n, fprep_.get());
      prep = fprep_.get();
    }
  }
  if (!prep && kern.scratch_size) ensure_scratch(kern.scratch_size(w.view, n));
  float* yp = y.host<float>();
  const int64_t ldy = y.stride;
  const size_t row_bytes = w.m > 0 ? w.device_bytes / static_cast<size_t>(w.m) : 1;
  for_rows(w.m, 16, row_bytes, [&](int64_t r0, int64_t r1, int tid) {
    kern.gemm(w.view, xp, n, yp, ldy, r0, r1, prep, prep ? nullptr : scratch(tid));
  });
}

void CpuBackend::rope(const Tensor& x, const Tensor& pos, int n_heads, int head_dim, float theta,
                      RopeStyle style) {
  OpTimer timed(prof_.get(), 5);
  ++op_gen_;
  BITNET_CHECK(x.cols == static_cast<int64_t>(n_heads) * head_dim && pos.rows == x.rows);
  BITNET_CHECK(head_dim % 2 == 0);
  const int half = head_dim / 2;
  // cos/sin per (position, frequency) are cached: q and k of every layer use the same positions,
  // so decode computes 2 x 64 transcendentals per token instead of 2 x 64 x 2 x 30. Same values:
  // inv_freq[i] = theta^(-2i/d) in fp32 (transformers' default), angle = float(pos) * inv_freq[i].
  if (rope_theta_ != theta || rope_half_ != half) {
    rope_theta_ = theta;
    rope_half_ = half;
    rope_inv_freq_.assign(static_cast<size_t>(half), 0.0f);
    for (int i = 0; i < half; ++i)
      rope_inv_freq_[i] = 1.0f / std::pow(theta, static_cast<float>(2 * i) / static_cast<float>(head_dim));
    rope_cos_.clear();
    rope_sin_.clear();
    rope_known_.clear();
  }
  const int32_t* pp = pos.host<int32_t>();
  for (int64_t t = 0; t < x.rows; ++t) {
    const int32_t p = pp[t];
    BITNET_CHECK(p >= 0);
    if (static_cast<size_t>(p) >= rope_known_.size()) {
      const size_t np = std::max<size_t>(static_cast<size_t>(p) + 1, rope_known_.size() * 2);
      rope_known_.resize(np, 0);
      rope_cos_.resize(np * static_cast<size_t>(half));
      rope_sin_.resize(np * static_cast<size_t>(half));
    }
    if (!rope_known_[static_cast<size_t>(p)]) {
      float* cs = rope_cos_.data() + static_cast<size_t>(p) * half;
      float* sn = rope_sin_.data() + static_cast<size_t>(p) * half;
      for (int i = 0; i < half; ++i) {
        const float a = static_cast<float>(p) * rope_inv_freq_[i];
        cs[i] = std::cos(a);
        sn[i] = std::sin(a);
      }
      rope_known_[static_cast<size_t>(p)] = 1;
    }
  }
  auto rows = [&](int64_t b, int64_t e) {
    for (int64_t t = b; t < e; ++t) {
      const float* cs = rope_cos_.data() + static_cast<size_t>(pp[t]) * half;
      const float* sn = rope_sin_.data() + static_cast<size_t>(pp[t]) * half;
      float* row = x.host<float>() + t * x.stride;
      for (int h = 0; h < n_heads; ++h) {
        float* v = row + h * head_dim;
        if (style == RopeStyle::kNeox) {
          for (int i = 0; i < half; ++i) {
            const float x0 = v[i], x1 = v[i + half];
            v[i] = x0 * cs[i] - x1 * sn[i];
            v[i + half] = x1 * cs[i] + x0 * sn[i];
          }
        } else {
          for (int i = 0; i < half; ++i) {
            const float x0 = v[2 * i], x1 = v[2 * i + 1];
            v[2 * i] = x0 * cs[i] - x1 * sn[i];
            v[2 * i + 1] = x1 * cs[i] + x0 * sn[i];
          }
        }
      }
    }
  };
  if (x.rows < 4) rows(0, x.rows);
  else pool_.parallel_for(x.rows, 1, rows);
}

void CpuBackend::kv_store(const Tensor& k, const Tensor& v, const Tensor& kc, const Tensor& vc,
                          int64_t pos0) {
  OpTimer timed(prof_.get(), 6);
  ++op_gen_;
  BITNET_CHECK(k.cols == kc.cols && v.cols == vc.cols && pos0 + k.rows <= kc.rows);
  for (int pass = 0; pass < 2; ++pass) {
    const Tensor& src = pass ? v : k;
    const Tensor& dst = pass ? vc : kc;
    for (int64_t i = 0; i < src.rows; ++i) {
      const float* s = src.host<float>() + i * src.stride;
      if (dst.dtype == DType::F32) {
        std::memcpy(dst.host<float>() + (pos0 + i) * dst.stride, s, static_cast<size_t>(src.cols) * 4);
      } else if (dst.dtype == DType::Q8_0) {
        cpu::kv_row_to_q8_0_ref(s, src.cols, dst.host<uint8_t>() + (pos0 + i) * dst.stride);
      } else {
        kernels_->f32_to_f16(s, src.cols, dst.host<uint16_t>() + (pos0 + i) * dst.stride);
      }
    }
  }
}

void CpuBackend::attention(const Tensor& q, const Tensor& kc, const Tensor& vc, int64_t pos0,
                           const AttentionParams& p, const Tensor& out) {
  OpTimer timed(prof_.get(), 7);
  ++op_gen_;
  BITNET_CHECK(q.cols == static_cast<int64_t>(p.n_head) * p.head_dim && out.cols == q.cols);
  BITNET_CHECK(p.n_head % p.n_head_kv == 0 && kc.cols == static_cast<int64_t>(p.n_head_kv) * p.head_dim);
  const int group = p.n_head / p.n_head_kv;
  const int64_t n_ctx = pos0 + q.rows;
  BITNET_CHECK(n_ctx <= kc.rows);
  const bool f16 = kc.dtype == DType::F16, q8 = kc.dtype == DType::Q8_0;
  BITNET_CHECK(vc.dtype == kc.dtype && vc.stride == kc.stride && (!q8 || p.head_dim % 32 == 0));
  const int d = p.head_dim;
  const auto fn = kernels_->attention;
  const size_t es = dtype_size(kc.dtype);
  // Q8_0: this kv head's scales, from its first value (kvh * d) to the row's scales (after kc.cols values).
  auto scale_off = [&](int kvh) { return q8 ? kc.cols + kvh * d / 16 - kvh * d : 0; };
  cpu::AttnArgs base;  // what every call shares
  base.g = group;
  base.stride = kc.stride;
  base.d = d;
  base.scale = p.scale;
  base.kv = q8 ? cpu::KvFormat::Q8_0 : (f16 ? cpu::KvFormat::F16 : cpu::KvFormat::F32);
  // A decode step over a long cache has only n_head_kv work items (5 in 2B4T) for the threads:
  // split the cache rows into slices, one partial result (unnormalized output, max, sum) per
  // (kv head, slice), then merge them exactly like the softmax would (rescale by exp(m_s - M)).
  const int nth = pool_.size();
  int64_t slices = q.rows == 1 && nth > 1 ? (4 * nth + p.n_head_kv - 1) / p.n_head_kv : 1;
  slices = std::min<int64_t>(slices, n_ctx / 256);
  if (slices > 1) {
    const int64_t gd = static_cast<int64_t>(group) * d, parts = p.n_head_kv * slices;
    attn_part_.resize(static_cast<size_t>(parts * gd));
    attn_ml_.resize(static_cast<size_t>(parts * 2 * group));
    attn_w_.resize(static_cast<size_t>(slices));
    float* part = attn_part_.data();
    float* ml = attn_ml_.data();
    float* w = attn_w_.data();  // per slice: exp(m_s - M)
    ensure_scratch(static_cast<size_t>(cpu::attention_scratch_floats(1, group, n_ctx / slices + 1, d)) * 4);
    pool_.parallel_for_tid(parts, 1, [&](int tid, int64_t b, int64_t e) {
      for (int64_t item = b; item < e; ++item) {
        const int kvh = static_cast<int>(item / slices);
        const int64_t sl = item % slices, j0 = n_ctx * sl / slices, j1 = n_ctx * (sl + 1) / slices;
        const size_t row0 = static_cast<size_t>(j0 * kc.stride + kvh * d) * es;
        cpu::AttnArgs a = base;
        a.q = q.host<float>() + kvh * gd;
        a.k = kc.host<uint8_t>() + row0;
        a.scale_off = scale_off(kvh);
        a.v = vc.host<uint8_t>() + row0;
        a.n = j1 - j0;
        a.out = part + item * gd;
        a.scratch = reinterpret_cast<float*>(scratch(tid));
        a.ml = ml + item * 2 * group;
        fn(a);
      }
    });
    for (int kvh = 0; kvh < p.n_head_kv; ++kvh)
      for (int h = 0; h < group; ++h) {
        const float* mlh = ml + (kvh * slices) * 2 * group + 2 * h;  // slice s at + s * 2 * group
        float M = -INFINITY;
        for (int64_t sl = 0; sl < slices; ++sl) M = std::fmax(M, mlh[sl * 2 * group]);
        float L = 0;
        for (int64_t sl = 0; sl < slices; ++sl) {
          w[sl] = std::exp(mlh[sl * 2 * group] - M);
          L += mlh[sl * 2 * group + 1] * w[sl];
        }
        float* o = out.host<float>() + (static_cast<int64_t>(kvh) * group + h) * d;
        for (int c = 0; c < d; ++c) {
          float acc = 0;
          for (int64_t sl = 0; sl < slices; ++sl)
            acc += w[sl] * part[(kvh * slices + sl) * gd + h * d + c];
          o[c] = acc / L;
        }
      }
    return;
  }
  // One work item = (block of tokens, kv head): the kernel reads the cache rows once for the
  // block's tokens x the group's query heads (~64 query rows: 16 rows measured no faster than one
  // token at a time) and widens f16 rows itself. The latest tokens (most rows) go first so that
  // the dynamic split ends evenly. Short contexts run on the calling thread: dispatching costs
  // more than the work.
  const int64_t tb = std::max(1, 64 / group), nblk = (q.rows + tb - 1) / tb;
  const int64_t items = nblk * p.n_head_kv;
  const int64_t work = q.rows * p.n_head_kv * group * n_ctx * d;
  ensure_scratch(static_cast<size_t>(cpu::attention_scratch_floats(static_cast<int>(tb), group, n_ctx, d)) * 4);
  auto body = [&](int tid, int64_t b, int64_t e) {
    for (int64_t item = b; item < e; ++item) {
      const int64_t t0 = (nblk - 1 - item / p.n_head_kv) * tb, nt = std::min(tb, q.rows - t0);
      const int kvh = static_cast<int>(item % p.n_head_kv);
      const int64_t h0 = static_cast<int64_t>(kvh) * group * d;
      cpu::AttnArgs a = base;
      a.q = q.host<float>() + t0 * q.stride + h0;
      a.ldq = q.stride;
      a.nq = static_cast<int>(nt);
      a.k = kc.host<uint8_t>() + static_cast<size_t>(kvh * d) * es;
      a.scale_off = scale_off(kvh);
      a.v = vc.host<uint8_t>() + static_cast<size_t>(kvh * d) * es;
      a.n = pos0 + t0 + nt;
      a.out = out.host<float>() + t0 * out.stride + h0;
      a.ldo = out.stride;
      a.scratch = reinterpret_cast<float*>(scratch(tid));
      fn(a);
    }
  };
  if (work < (int64_t{1} << 16)) body(0, 0, items);
  else pool_.parallel_for_tid(items, 1, body);
}

void CpuBackend::glu(const Tensor& gate, const Tensor& up, GluAct act, const Tensor& out) {
  OpTimer timed(prof_.get(), 8);
  ++op_gen_;
  BITNET_CHECK(gate.cols == up.cols && out.cols == gate.cols && gate.rows == up.rows);
  auto rows = [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i)
      glu_row(gate.host<float>() + i * gate.stride, up.host<float>() + i * up.stride,
              out.host<float>() + i * out.stride, gate.cols, act);
  };
  if (gate.rows < 4) rows(0, gate.rows);
  else pool_.parallel_for(gate.rows, 1, rows);
}

void CpuBackend::add(const Tensor& a, const Tensor& b, const Tensor& out) {
  OpTimer timed(prof_.get(), 9);
  ++op_gen_;
  BITNET_CHECK(a.cols == b.cols && out.cols == a.cols && a.rows == b.rows);
  auto rows = [&](int64_t r0, int64_t r1) {
    for (int64_t i = r0; i < r1; ++i)
      add_row(a.host<float>() + i * a.stride, b.host<float>() + i * b.stride, out.host<float>() + i * out.stride, a.cols);
  };
  if (a.rows < 8) rows(0, a.rows);
  else pool_.parallel_for(a.rows, 1, rows);
}

}  // namespace bitnet
