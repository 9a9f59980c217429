// The BitNet graph, written once against the Backend interface (spec §1.2 op order).
// Model = config + weights prepared by a backend. KvCache and Workspace hold per-sequence and
// per-batch state, so one Model can serve several sequences.
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "backends/backend.h"
#include "formats/gguf.h"
#include "model/config.h"

namespace bitnet {

struct ModelLoadOptions {
  // Convert the output head to this type at load ("" = keep the file's): "f16", "q8_0", "q6_k" or
  // "q4_k". Bytes per token vs F16: Q8_0 53%, Q6_K 41%, Q4_K 28% (accuracy: docs/PERFORMANCE.md).
  std::string head_type;
};

struct LayerWeights {
  std::unique_ptr<Matrix> wq, wk, wv, wo, w_gate, w_up, w_down;
  Tensor attn_norm, attn_sub_norm, ffn_norm, ffn_sub_norm;  // f32 [1, width]
};

class KvCache {
 public:
  static Result<KvCache> create(Backend& be, const ModelConfig& c, int64_t n_ctx, DType dtype);
  int64_t n_ctx() const { return n_ctx_; }
  DType dtype() const { return dtype_; }
  const Tensor& k(int64_t layer) const { return k_[layer]; }
  const Tensor& v(int64_t layer) const { return v_[layer]; }
  size_t bytes() const { return buf_ ? buf_->size() : 0; }

 private:
  std::unique_ptr<Buffer> buf_;
  std::vector<Tensor> k_, v_;
  int64_t n_ctx_ = 0;
  DType dtype_ = DType::F16;
};

class Model;

// Activation buffers for batches of up to max_batch tokens.
class Workspace {
 public:
  static Result<Workspace> create(Backend& be, const ModelConfig& c, int64_t max_batch, bool all_logits);
  int64_t max_batch() const { return max_batch_; }

 private:
  friend class Model;
  std::unique_ptr<Buffer> buf_;
  int64_t max_batch_ = 0;
  bool all_logits_ = false;
  Tensor ids, pos, x, xn, q8, qs, q, k, v, attn, tmp, gate, up, logits;
};

class Model {
 public:
  static Result<std::unique_ptr<Model>> load(const GgufFile& file, Backend& be,
                                             const ModelLoadOptions& opt = {});
  const ModelConfig& config() const { return cfg_; }
  Backend& backend() const { return *be_; }
  // Bytes of weights read for one decoded token (all ternary matrices + head), for bandwidth math.
  uint64_t bytes_per_token() const { return bytes_per_token_; }
  uint64_t weight_bytes() const { return weight_bytes_; }
  GgmlType head_type() const { return head_->source_type; }

  // Runs tokens at positions [pos0, pos0 + n) (n <= ws.max_batch()) and writes their K/V into
  // the cache. Logits of the last token (or of every token when `all_logits`) are downloaded into
  // `logits` (n_vocab floats per token); with logits == nullptr the output head is skipped.
  // Caller validates ids and context length.
  void forward(std::span<const int32_t> tokens, int64_t pos0, KvCache& kv, Workspace& ws,
               bool all_logits, float* logits) const;

 private:
  ModelConfig cfg_;
  Backend* be_ = nullptr;
  std::unique_ptr<Matrix> tok_embd_, head_;
  std::vector<uint8_t> head_storage_;  // converted head bytes (when head_type asks for it)
  std::unique_ptr<Buffer> norms_buf_;
  Tensor output_norm_;
  std::vector<LayerWeights> layers_;
  uint64_t bytes_per_token_ = 0, weight_bytes_ = 0;
};

}  // namespace bitnet
