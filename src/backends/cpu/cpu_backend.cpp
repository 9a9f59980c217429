#include "backends/cpu/cpu_backend.h"

#include <cmath>
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
  }
  return 0;
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

class CpuTernary final : public Matrix {
 public:
  cpu::TernaryView view;
  cpu::GemmTernaryFn gemm = nullptr;
};

class CpuFloat final : public Matrix {
 public:
  cpu::FloatView view;
};

// Rows per work item: big enough to amortize scheduling, small enough to balance two threads.
int64_t row_grain(int64_t m, int nth) {
  int64_t g = m / (static_cast<int64_t>(nth) * 8);
  if (g < 16) g = 16;
  return (g + 15) / 16 * 16;
}

}  // namespace

CpuBackend::CpuBackend(int n_threads, const cpu::KernelTable* kernels)
    : pool_(n_threads), kernels_(kernels ? kernels : &cpu::select_kernels()) {}

Result<std::unique_ptr<Buffer>> CpuBackend::alloc(size_t bytes) {
  auto b = std::make_unique<CpuBuffer>(bytes);
  if (!b->ok()) return unavailable(strfmt("out of host memory allocating %zu bytes", bytes));
  return std::unique_ptr<Buffer>(std::move(b));
}

void CpuBackend::upload(const Tensor& dst, const void* src, size_t bytes) {
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
  w->view = {src.type, src.data, src.k, src.m, src.extra_scale};
  switch (src.type) {
    case GgmlType::I2_S:
      if ((src.k * src.m) % 128 != 0)
        return unsupported(strfmt("tensor '%s': I2_S needs rows*cols divisible by 128", src.name.c_str()));
      w->view.scale = i2s_scale(src.data, src.k * src.m) * src.extra_scale;
      if (!std::isfinite(w->view.scale))
        return corrupt("tensor '" + src.name + "': I2_S scale is not a finite number");
      w->gemm = kernels_->gemm_i2s_i8;
      break;
    case GgmlType::TQ2_0: w->gemm = kernels_->gemm_tq2_0_i8; break;
    case GgmlType::TQ1_0: w->gemm = kernels_->gemm_tq1_0_i8; break;
    default:
      return unsupported("tensor '" + src.name + "' is not ternary (I2_S, TQ2_0 or TQ1_0)");
  }
  return std::unique_ptr<Matrix>(std::move(w));
}

Result<std::unique_ptr<Matrix>> CpuBackend::load_matrix(const MatrixSource& src) {
  switch (src.type) {
    case GgmlType::F32: case GgmlType::F16: case GgmlType::BF16: case GgmlType::Q8_0: break;
    default: return unsupported("tensor '" + src.name + "' must be f32, f16, bf16 or q8_0");
  }
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
  const auto& t = static_cast<const CpuFloat&>(table);
  BITNET_CHECK(out.cols == t.k && out.rows == ids.rows);
  const int32_t* id = ids.host<int32_t>();
  for (int64_t i = 0; i < ids.rows; ++i) {
    BITNET_CHECK(id[i] >= 0 && id[i] < t.m);
    cpu::float_row_to_f32(t.view, id[i], out.host<float>() + i * out.stride);
  }
}

void CpuBackend::rmsnorm(const Tensor& x, const Tensor& gamma, float eps, const Tensor& out) {
  BITNET_CHECK(x.cols == gamma.cols && out.cols == x.cols && out.rows == x.rows);
  const auto fn = kernels_->rmsnorm;
  pool_.parallel_for(x.rows, 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i)
      fn(x.host<float>() + i * x.stride, gamma.host<float>(), x.cols, eps, out.host<float>() + i * out.stride);
  });
}

void CpuBackend::quantize_act(const Tensor& x, const Tensor& q, const Tensor& scale) {
  BITNET_CHECK(q.cols == x.cols && q.rows == x.rows && scale.rows == x.rows);
  const auto fn = kernels_->quantize_act;
  pool_.parallel_for(x.rows, 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i)
      fn(x.host<float>() + i * x.stride, x.cols, q.host<int8_t>() + i * q.stride, scale.host<float>() + i * scale.stride);
  });
}

void CpuBackend::matmul_ternary(const Matrix& wm, const Tensor& q, const Tensor& scale, const Tensor& y) {
  const auto& w = static_cast<const CpuTernary&>(wm);
  BITNET_CHECK(q.cols == w.k && q.stride == w.k && y.cols == w.m && y.rows == q.rows);
  BITNET_CHECK(scale.stride == 1);
  pool_.parallel_for(w.m, row_grain(w.m, pool_.size()), [&](int64_t r0, int64_t r1) {
    w.gemm(w.view, q.host<int8_t>(), scale.host<float>(), q.rows, y.host<float>(), y.stride, r0, r1);
  });
}

void CpuBackend::matmul_float(const Matrix& wm, const Tensor& x, const Tensor& y) {
  const auto& w = static_cast<const CpuFloat&>(wm);
  BITNET_CHECK(x.cols == w.k && x.stride == w.k && y.cols == w.m && y.rows == x.rows);
  const auto fn = kernels_->gemm_float_f32;
  pool_.parallel_for(w.m, row_grain(w.m, pool_.size()), [&](int64_t r0, int64_t r1) {
    fn(w.view, x.host<float>(), x.rows, y.host<float>(), y.stride, r0, r1);
  });
}

void CpuBackend::rope(const Tensor& x, const Tensor& pos, int n_heads, int head_dim, float theta,
                      RopeStyle style) {
  BITNET_CHECK(x.cols == static_cast<int64_t>(n_heads) * head_dim && pos.rows == x.rows);
  BITNET_CHECK(head_dim % 2 == 0);
  const int half = head_dim / 2;
  // inv_freq[i] = theta^(-2i/d) in fp32, like transformers' default rope init.
  std::vector<float> inv_freq(static_cast<size_t>(half));
  for (int i = 0; i < half; ++i)
    inv_freq[i] = 1.0f / std::pow(theta, static_cast<float>(2 * i) / static_cast<float>(head_dim));
  pool_.parallel_for(x.rows, 1, [&](int64_t b, int64_t e) {
    std::vector<float> cs(static_cast<size_t>(half)), sn(static_cast<size_t>(half));
    for (int64_t t = b; t < e; ++t) {
      const float p = static_cast<float>(pos.host<int32_t>()[t]);
      for (int i = 0; i < half; ++i) {
        const float a = p * inv_freq[i];
        cs[i] = std::cos(a);
        sn[i] = std::sin(a);
      }
      float* row = x.host<float>() + t * x.stride;
      for (int h = 0; h < n_heads; ++h) {
        float* v = row + h * head_dim;
        for (int i = 0; i < half; ++i) {
          const int i0 = style == RopeStyle::kNeox ? i : 2 * i;
          const int i1 = style == RopeStyle::kNeox ? i + half : 2 * i + 1;
          const float x0 = v[i0], x1 = v[i1];
          v[i0] = x0 * cs[i] - x1 * sn[i];
          v[i1] = x1 * cs[i] + x0 * sn[i];
        }
      }
    }
  });
}

void CpuBackend::kv_store(const Tensor& k, const Tensor& v, const Tensor& kc, const Tensor& vc,
                          int64_t pos0) {
  BITNET_CHECK(k.cols == kc.cols && v.cols == vc.cols && pos0 + k.rows <= kc.rows);
  for (int pass = 0; pass < 2; ++pass) {
    const Tensor& src = pass ? v : k;
    const Tensor& dst = pass ? vc : kc;
    for (int64_t i = 0; i < src.rows; ++i) {
      const float* s = src.host<float>() + i * src.stride;
      if (dst.dtype == DType::F32) {
        std::memcpy(dst.host<float>() + (pos0 + i) * dst.stride, s, static_cast<size_t>(src.cols) * 4);
      } else {
        f32_to_f16_row(s, src.cols, dst.host<uint16_t>() + (pos0 + i) * dst.stride);
      }
    }
  }
}

void CpuBackend::attention(const Tensor& q, const Tensor& kc, const Tensor& vc, int64_t pos0,
                           const AttentionParams& p, const Tensor& out) {
  BITNET_CHECK(q.cols == static_cast<int64_t>(p.n_head) * p.head_dim && out.cols == q.cols);
  BITNET_CHECK(p.n_head % p.n_head_kv == 0 && kc.cols == static_cast<int64_t>(p.n_head_kv) * p.head_dim);
  const int group = p.n_head / p.n_head_kv;
  const int64_t n_ctx = pos0 + q.rows;
  BITNET_CHECK(n_ctx <= kc.rows);
  const bool f16 = kc.dtype == DType::F16;
  const int d = p.head_dim;
  auto load_row = [&](const Tensor& c, int64_t pos, int kvh, float* dst) {
    if (f16) f16_to_f32_row(c.host<uint16_t>() + pos * c.stride + kvh * d, d, dst);
    else std::memcpy(dst, c.host<float>() + pos * c.stride + kvh * d, static_cast<size_t>(d) * 4);
  };
  // One work item = (token, head). Scores in fp32; softmax with max subtraction.
  pool_.parallel_for(q.rows * p.n_head, 1, [&](int64_t b, int64_t e) {
    std::vector<float> scores(static_cast<size_t>(n_ctx)), kv(static_cast<size_t>(d)), acc(static_cast<size_t>(d));
    for (int64_t item = b; item < e; ++item) {
      const int64_t t = item / p.n_head;
      const int h = static_cast<int>(item % p.n_head);
      const int kvh = h / group;
      const float* qv = q.host<float>() + t * q.stride + h * d;
      const int64_t last = pos0 + t;
      float mx = -INFINITY;
      for (int64_t j = 0; j <= last; ++j) {
        load_row(kc, j, kvh, kv.data());
        float s = 0;
        for (int c = 0; c < d; ++c) s += qv[c] * kv[c];
        s *= p.scale;
        scores[j] = s;
        mx = std::fmax(mx, s);
      }
      float sum = 0;
      for (int64_t j = 0; j <= last; ++j) {
        scores[j] = std::exp(scores[j] - mx);
        sum += scores[j];
      }
      std::fill(acc.begin(), acc.end(), 0.0f);
      for (int64_t j = 0; j <= last; ++j) {
        load_row(vc, j, kvh, kv.data());
        const float w = scores[j] / sum;
        for (int c = 0; c < d; ++c) acc[c] += w * kv[c];
      }
      std::memcpy(out.host<float>() + t * out.stride + h * d, acc.data(), static_cast<size_t>(d) * 4);
    }
  });
}

void CpuBackend::glu(const Tensor& gate, const Tensor& up, GluAct act, const Tensor& out) {
  BITNET_CHECK(gate.cols == up.cols && out.cols == gate.cols && gate.rows == up.rows);
  for (int64_t i = 0; i < gate.rows; ++i) {
    const float* g = gate.host<float>() + i * gate.stride;
    const float* u = up.host<float>() + i * up.stride;
    float* o = out.host<float>() + i * out.stride;
    if (act == GluAct::kRelu2) {
      for (int64_t j = 0; j < gate.cols; ++j) {
        const float r = g[j] > 0 ? g[j] : 0.0f;
        o[j] = r * r * u[j];
      }
    } else {
      for (int64_t j = 0; j < gate.cols; ++j) o[j] = g[j] / (1.0f + std::exp(-g[j])) * u[j];
    }
  }
}

void CpuBackend::add(const Tensor& a, const Tensor& b, const Tensor& out) {
  BITNET_CHECK(a.cols == b.cols && out.cols == a.cols && a.rows == b.rows);
  for (int64_t i = 0; i < a.rows; ++i) {
    const float* x = a.host<float>() + i * a.stride;
    const float* y = b.host<float>() + i * b.stride;
    float* o = out.host<float>() + i * out.stride;
    for (int64_t j = 0; j < a.cols; ++j) o[j] = x[j] + y[j];
  }
}

}  // namespace bitnet
