// Weight binding (GGUF tensors -> backend matrices) and the forward pass.
#include "model/model.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <thread>

#include "core/check.h"
#include "core/fp16.h"
#include "core/strings.h"
#include "core/thread_pool.h"
#include "formats/ternary_codecs.h"

namespace bitnet {
namespace {

// A contiguous [rows, cols] view over the start of a workspace region.
Tensor shaped(const Tensor& region, int64_t rows, int64_t cols) {
  Tensor t = region;
  t.rows = rows;
  t.cols = cols;
  t.stride = cols;
  return t;
}

Status check_shape(const GgufTensorInfo& t, std::initializer_list<int64_t> want) {
  std::vector<int64_t> w(want);
  std::vector<int64_t> have = t.ne;
  while (have.size() > w.size() && have.back() == 1) have.pop_back();
  if (have != w) {
    auto fmt = [](const std::vector<int64_t>& v) {
      std::string s = "[";
      for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
      return s + "]";
    };
    return corrupt("tensor '" + std::string(t.name) + "' has shape " + fmt(have) + ", expected " + fmt(w));
  }
  return Status::ok();
}

}  // namespace

Result<KvCache> KvCache::create(Backend& be, const ModelConfig& c, int64_t n_ctx, DType dtype) {
  KvCache kv;
  kv.n_ctx_ = n_ctx;
  kv.dtype_ = dtype;
  if (dtype == DType::Q8_0 && c.head_dim % 32 != 0)
    return Status(StatusCode::kUnsupported, "a q8_0 KV cache needs a head dimension that is a multiple of 32 (this model: " +
                                    std::to_string(c.head_dim) + "); use f16 or f32");
  const size_t rb = row_bytes(dtype, c.kv_dim());
  const size_t per = static_cast<size_t>(n_ctx) * rb;
  BITNET_ASSIGN_OR_RETURN(kv.buf_, be.alloc(per * 2 * static_cast<size_t>(c.n_layer)));
  for (int64_t l = 0; l < c.n_layer; ++l) {
    for (int kvi = 0; kvi < 2; ++kvi) {
      const int64_t stride = static_cast<int64_t>(rb / dtype_size(dtype));  // elements (Q8_0: bytes)
      Tensor t{kv.buf_.get(), per * static_cast<size_t>(2 * l + kvi), dtype, n_ctx, c.kv_dim(), stride};
      (kvi ? kv.v_ : kv.k_).push_back(t);
    }
  }
  return kv;
}

Result<Workspace> Workspace::create(Backend& be, const ModelConfig& c, int64_t max_batch, bool all_logits) {
  Workspace ws;
  ws.max_batch_ = max_batch;
  ws.all_logits_ = all_logits;
  const int64_t B = max_batch;
  const int64_t wide = std::max({c.d_model, c.q_dim(), c.n_ff});
  struct Spec { Tensor* t; DType dt; int64_t rows, cols; };
  const Spec specs[] = {
      {&ws.ids, DType::I32, B, 1},        {&ws.pos, DType::I32, B, 1},
      {&ws.x, DType::F32, B, c.d_model},  {&ws.xn, DType::F32, B, wide},
      {&ws.q8, DType::I8, B, wide},       {&ws.qs, DType::F32, B, 1},
      {&ws.q, DType::F32, B, c.q_dim()},  {&ws.k, DType::F32, B, c.kv_dim()},
      {&ws.v, DType::F32, B, c.kv_dim()}, {&ws.attn, DType::F32, B, c.q_dim()},
      {&ws.tmp, DType::F32, B, c.d_model}, {&ws.gate, DType::F32, B, c.n_ff},
      {&ws.up, DType::F32, B, c.n_ff},    {&ws.logits, DType::F32, all_logits ? B : 1, c.n_vocab},
  };
  size_t total = 0;
  for (const auto& s : specs) total += (static_cast<size_t>(s.rows * s.cols) * dtype_size(s.dt) + 63) / 64 * 64;
  BITNET_ASSIGN_OR_RETURN(ws.buf_, be.alloc(total));
  size_t off = 0;
  for (const auto& s : specs) {
    *s.t = Tensor{ws.buf_.get(), off, s.dt, s.rows, s.cols, s.cols};
    off += (static_cast<size_t>(s.rows * s.cols) * dtype_size(s.dt) + 63) / 64 * 64;
  }
  return ws;
}

Result<std::unique_ptr<Model>> Model::load(const GgufFile& f, Backend& be, const ModelLoadOptions& opt) {
  auto m = std::make_unique<Model>();
  BITNET_ASSIGN_OR_RETURN(m->cfg_, config_from_gguf(f));
  m->be_ = &be;
  const ModelConfig& c = m->cfg_;

  auto tensor = [&](const std::string& name) -> Result<const GgufTensorInfo*> {
    const GgufTensorInfo* t = f.find_tensor(name);
    if (!t) return corrupt("'" + f.path() + "' is missing tensor '" + name + "'");
    return t;
  };
  auto source = [&](const GgufTensorInfo& t) {
    MatrixSource s;
    s.type = t.type;
    s.k = t.ne[0];
    s.m = t.n_elements() / std::max<int64_t>(t.ne[0], 1);
    s.data = t.data;
    s.nbytes = t.nbytes;
    s.name = std::string(t.name);
    return s;
  };

  // Float matrices: embeddings and head.
  BITNET_ASSIGN_OR_RETURN(const GgufTensorInfo* emb, tensor("token_embd.weight"));
  BITNET_RETURN_IF_ERROR(check_shape(*emb, {c.d_model, c.n_vocab}));
  BITNET_ASSIGN_OR_RETURN(m->tok_embd_, be.load_matrix(source(*emb)));
  const GgufTensorInfo* out = f.find_tensor("output.weight");
  const GgufTensorInfo* head_t = out ? out : emb;  // tied embeddings when there is no output.weight
  if (out) BITNET_RETURN_IF_ERROR(check_shape(*out, {c.d_model, c.n_vocab}));
  MatrixSource head_src = source(*head_t);
  const auto want_head = ggml_type_from_name(opt.head_type);  // names match case-insensitively
  if (!opt.head_type.empty() && (!want_head || *want_head != head_t->type)) {
    const auto& want = want_head;
    if (!want || (*want != GgmlType::Q8_0 && *want != GgmlType::F16 && *want != GgmlType::Q6_K &&
                  *want != GgmlType::Q4_K))
      return invalid_argument("--head must be f16, q8_0, q6_k or q4_k, not '" + opt.head_type + "'");
    auto row_bytes = ggml_row_bytes(*want, c.d_model);
    if (!row_bytes)
      return unsupported(strfmt("a %s head needs the embedding width to be a multiple of %lld (it is %lld)",
                                opt.head_type.c_str(), static_cast<long long>(ggml_block_elems(*want)),
                                static_cast<long long>(c.d_model)));
    const auto src_row = ggml_row_bytes(head_t->type, c.d_model);
    if (!src_row || !float_row_to_f32(head_t->type, head_t->data, c.d_model, std::vector<float>(c.d_model).data()))
      return unsupported(strfmt("cannot convert a %s head to %s",
                                ggml_type_name(static_cast<uint32_t>(head_t->type)).value_or("?").c_str(),
                                opt.head_type.c_str()));
    m->head_storage_.resize(static_cast<size_t>(*row_bytes * c.n_vocab));
    // Convert row by row on the host from the file bytes (f32 staging row per thread). The K-quant
    // quantizers search scales (~10 candidates per group: ~20-40 ns per weight), so the rows are
    // spread over every core: a 128256 x 2560 head takes ~10 s single-threaded.
    const unsigned hw = std::thread::hardware_concurrency();
    ThreadPool convert_pool(static_cast<int>(std::clamp(hw, 1u, 64u)));
    convert_pool.parallel_for(c.n_vocab, 256, [&](int64_t r0, int64_t r1) {
      std::vector<float> row(static_cast<size_t>(c.d_model));
      for (int64_t r = r0; r < r1; ++r) {
        float_row_to_f32(head_t->type, head_t->data + r * *src_row, c.d_model, row.data());
        uint8_t* dst = m->head_storage_.data() + r * *row_bytes;
        if (*want == GgmlType::Q8_0) quantize_q8_0(row.data(), c.d_model, dst);
        else if (*want == GgmlType::Q6_K) quantize_q6_k(row.data(), c.d_model, dst);
        else if (*want == GgmlType::Q4_K) quantize_q4_k(row.data(), c.d_model, dst);
        else f32_to_f16_row(row.data(), c.d_model, reinterpret_cast<uint16_t*>(dst));
      }
    });
    head_src.type = *want;
    head_src.data = m->head_storage_.data();
    head_src.nbytes = m->head_storage_.size();
  }
  BITNET_ASSIGN_OR_RETURN(m->head_, be.load_matrix(head_src));

  // Norm vectors: gathered into one f32 buffer.
  struct NormRef { Tensor* dst; const GgufTensorInfo* t; int64_t width; };
  std::vector<NormRef> norms;
  m->layers_.resize(static_cast<size_t>(c.n_layer));
  BITNET_ASSIGN_OR_RETURN(const GgufTensorInfo* on, tensor("output_norm.weight"));
  norms.push_back({&m->output_norm_, on, c.d_model});

  for (int64_t l = 0; l < c.n_layer; ++l) {
    LayerWeights& L = m->layers_[l];
    const std::string p = "blk." + std::to_string(l) + ".";
    struct Lin { std::unique_ptr<Matrix>* dst; const char* name; int64_t k, m; };
    const Lin lins[] = {
        {&L.wq, "attn_q", c.d_model, c.q_dim()},      {&L.wk, "attn_k", c.d_model, c.kv_dim()},
        {&L.wv, "attn_v", c.d_model, c.kv_dim()},     {&L.wo, "attn_output", c.q_dim(), c.d_model},
        {&L.w_gate, "ffn_gate", c.d_model, c.n_ff},   {&L.w_up, "ffn_up", c.d_model, c.n_ff},
        {&L.w_down, "ffn_down", c.n_ff, c.d_model},
    };
    for (const Lin& li : lins) {
      BITNET_ASSIGN_OR_RETURN(const GgufTensorInfo* t, tensor(p + li.name + ".weight"));
      BITNET_RETURN_IF_ERROR(check_shape(*t, {li.k, li.m}));
      if (!ggml_type_is_ternary(t->type))
        return unsupported("tensor '" + std::string(t->name) + "' is " +
                           ggml_type_name(static_cast<uint32_t>(t->type)).value_or("?") +
                           ", not ternary (i2_s, tq2_0, tq1_0); convert the model with `bitnet convert`");
      MatrixSource s = source(*t);
      // Optional per-tensor output scale (arch `bitnet`, spec §3.4).
      if (const GgufTensorInfo* sc = f.find_tensor(p + li.name + ".scale")) {
        if (sc->type != GgmlType::F32 || sc->n_elements() != 1)
          return corrupt("tensor '" + std::string(sc->name) + "' must be one f32");
        std::memcpy(&s.extra_scale, sc->data, 4);
      }
      BITNET_ASSIGN_OR_RETURN(*li.dst, be.load_ternary(s));
      m->bytes_per_token_ += (*li.dst)->device_bytes;
    }
    struct Nrm { Tensor* dst; const char* name; int64_t width; bool needed; };
    const Nrm nrms[] = {
        {&L.attn_norm, "attn_norm", c.d_model, true},
        {&L.attn_sub_norm, "attn_sub_norm", c.q_dim(), c.sub_norms},
        {&L.ffn_norm, "ffn_norm", c.d_model, true},
        {&L.ffn_sub_norm, "ffn_sub_norm", c.n_ff, c.sub_norms},
    };
    for (const Nrm& n : nrms) {
      if (!n.needed) continue;
      BITNET_ASSIGN_OR_RETURN(const GgufTensorInfo* t, tensor(p + n.name + ".weight"));
      norms.push_back({n.dst, t, n.width});
    }
  }
  size_t norm_bytes = 0;
  for (const auto& n : norms) norm_bytes += static_cast<size_t>(n.width) * 4;
  BITNET_ASSIGN_OR_RETURN(m->norms_buf_, be.alloc(norm_bytes));
  size_t off = 0;
  std::vector<float> staging;
  for (const auto& n : norms) {
    BITNET_RETURN_IF_ERROR(check_shape(*n.t, {n.width}));
    staging.resize(static_cast<size_t>(n.width));
    if (n.t->type == GgmlType::Q8_0 || !float_row_to_f32(n.t->type, n.t->data, n.width, staging.data()))
      return unsupported("norm tensor '" + std::string(n.t->name) + "' must be f32, f16 or bf16");
    *n.dst = Tensor{m->norms_buf_.get(), off, DType::F32, 1, n.width, n.width};
    be.upload(*n.dst, staging.data(), staging.size() * 4);
    off += staging.size() * 4;
  }
  m->bytes_per_token_ += m->head_->device_bytes + norm_bytes;
  m->weight_bytes_ = m->bytes_per_token_ + m->tok_embd_->device_bytes;
  if (head_t == emb && head_src.data == emb->data) m->weight_bytes_ -= m->tok_embd_->device_bytes;
  return m;
}

void Model::forward(std::span<const int32_t> tokens, int64_t pos0, KvCache& kv, Workspace& ws,
                    bool all_logits, float* logits) const {
  const ModelConfig& c = cfg_;
  Backend& be = *be_;
  const int64_t n = static_cast<int64_t>(tokens.size());
  BITNET_CHECK(n >= 1 && n <= ws.max_batch() && pos0 + n <= kv.n_ctx());
  BITNET_CHECK(!all_logits || ws.all_logits_);

  std::vector<int32_t> pos(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) pos[i] = static_cast<int32_t>(pos0 + i);
  const Tensor ids = shaped(ws.ids, n, 1), posv = shaped(ws.pos, n, 1);
  be.upload(ids, tokens.data(), static_cast<size_t>(n) * 4);
  be.upload(posv, pos.data(), static_cast<size_t>(n) * 4);

  const Tensor x = shaped(ws.x, n, c.d_model), tmp = shaped(ws.tmp, n, c.d_model);
  const Tensor q8_d = shaped(ws.q8, n, c.d_model), q8_q = shaped(ws.q8, n, c.q_dim());
  const Tensor q8_ff = shaped(ws.q8, n, c.n_ff), qs = shaped(ws.qs, n, 1);
  const Tensor q = shaped(ws.q, n, c.q_dim()), k = shaped(ws.k, n, c.kv_dim());
  const Tensor v = shaped(ws.v, n, c.kv_dim()), attn = shaped(ws.attn, n, c.q_dim());
  const Tensor gate = shaped(ws.gate, n, c.n_ff), up = shaped(ws.up, n, c.n_ff);
  const AttentionParams ap{static_cast<int>(c.n_head), static_cast<int>(c.n_head_kv),
                           static_cast<int>(c.head_dim), 1.0f / std::sqrt(static_cast<float>(c.head_dim))};

  be.get_rows(*tok_embd_, ids, x);
  for (int64_t l = 0; l < c.n_layer; ++l) {
    const LayerWeights& L = layers_[l];
    // Attention block: q/k/v share one quantization of the normed input.
    be.rmsnorm_quantize(x, L.attn_norm, c.rms_eps, q8_d, qs);
    be.matmul_ternary(*L.wq, q8_d, qs, q);
    be.matmul_ternary(*L.wk, q8_d, qs, k);
    be.matmul_ternary(*L.wv, q8_d, qs, v);
    be.rope(q, posv, static_cast<int>(c.n_head), static_cast<int>(c.head_dim), c.rope_theta, c.rope);
    be.rope(k, posv, static_cast<int>(c.n_head_kv), static_cast<int>(c.head_dim), c.rope_theta, c.rope);
    be.kv_store(k, v, kv.k(l), kv.v(l), pos0);
    be.attention(q, kv.k(l), kv.v(l), pos0, ap, attn);
    if (c.sub_norms) be.rmsnorm_quantize(attn, L.attn_sub_norm, c.rms_eps, q8_q, qs);  // SubLN before o_proj
    else be.quantize_act(attn, q8_q, qs);
    be.matmul_ternary(*L.wo, q8_q, qs, tmp);
    be.add(x, tmp, x);
    // FFN block: gate/up share one quantization; act(gate) * up; SubLN before down_proj.
    be.rmsnorm_quantize(x, L.ffn_norm, c.rms_eps, q8_d, qs);
    be.matmul_ternary(*L.w_gate, q8_d, qs, gate);
    be.matmul_ternary(*L.w_up, q8_d, qs, up);
    be.glu(gate, up, c.act, gate);
    if (c.sub_norms) be.rmsnorm_quantize(gate, L.ffn_sub_norm, c.rms_eps, q8_ff, qs);  // SubLN before down_proj
    else be.quantize_act(gate, q8_ff, qs);
    be.matmul_ternary(*L.w_down, q8_ff, qs, tmp);
    be.add(x, tmp, x);
  }
  if (!logits) return;  // intermediate prompt chunk: no logits wanted
  // Output: only the rows whose logits are wanted.
  const int64_t first = all_logits ? 0 : n - 1, rows = n - first;
  const Tensor xo = x.row_slice(first, rows);
  const Tensor xno = shaped(ws.xn, rows, c.d_model);
  const Tensor lg = shaped(ws.logits, rows, c.n_vocab);
  be.rmsnorm(xo, output_norm_, c.rms_eps, xno);
  be.matmul_float(*head_, xno, lg);
  be.download(lg, logits, static_cast<size_t>(rows * c.n_vocab) * 4);
}

}  // namespace bitnet
