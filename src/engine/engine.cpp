// Engine / Session: model file + device + weights, and per-sequence KV cache state.
#include "bitnet/engine.h"

#include <algorithm>
#include <cstdlib>

#include "core/check.h"
#include "core/strings.h"
#include "formats/gguf.h"
#include "model/model.h"
#include "runtime/open_device.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/vocab.h"

namespace bitnet {

struct Session::Impl {
  Engine* engine = nullptr;
  KvCache kv;
  Workspace ws;
  bool all_logits_capable = false;
  std::vector<float> logits;  // [rows, n_vocab]
  int64_t logits_rows = 0;
};

Engine::~Engine() = default;
Session::~Session() = default;

Result<std::unique_ptr<Engine>> Engine::load(const std::string& path, const EngineOptions& opts) {
  // Memory the device must hold: the weights (about the file size) plus the KV cache, which is
  // only known after parsing; the file size is the dominant term and is known now.
  BITNET_ASSIGN_OR_RETURN(MappedFile probe_map, MappedFile::open(path));
  const uint64_t required = probe_map.size();
  BITNET_ASSIGN_OR_RETURN(OpenedDevice dev, open_device(opts.device, std::getenv("BITNET_DEVICE"),
                                                        opts.n_threads, required));
  BITNET_ASSIGN_OR_RETURN(auto e, load(path, opts, std::move(dev.backend)));
  e->device_summary_ = dev.summary;
  return e;
}

Result<std::unique_ptr<Engine>> Engine::load(const std::string& path, const EngineOptions& opts,
                                             std::unique_ptr<Backend> backend) {
  std::unique_ptr<Engine> e(new Engine());
  e->opts_ = opts;
  if (opts.n_batch < 1) return invalid_argument("batch size must be >= 1");
  if (opts.n_ctx < 0) return invalid_argument("context size must be >= 0");
  BITNET_ASSIGN_OR_RETURN(GgufFile f, GgufFile::open(path));
  e->file_ = std::make_unique<GgufFile>(std::move(f));
  BITNET_CHECK(backend != nullptr);
  e->backend_ = std::move(backend);
  ModelLoadOptions mo;
  mo.head_type = opts.head_type;
  BITNET_ASSIGN_OR_RETURN(e->model_, Model::load(*e->file_, *e->backend_, mo));
  const ModelConfig& c = e->model_->config();
  if (e->opts_.n_ctx == 0) e->opts_.n_ctx = c.n_ctx_train;

  ModelInfo& i = e->info_;
  i.path = path;
  i.arch = c.arch_name;
  i.name = c.name;
  i.n_vocab = c.n_vocab;
  i.n_ctx_train = c.n_ctx_train;
  i.d_model = c.d_model;
  i.n_layer = c.n_layer;
  i.n_head = c.n_head;
  i.n_head_kv = c.n_head_kv;
  i.n_ff = c.n_ff;
  if (const GgufTensorInfo* t = e->file_->find_tensor("blk.0.attn_q.weight"))
    i.weight_type = ggml_type_name(static_cast<uint32_t>(t->type)).value_or("?");
  i.head_type = ggml_type_name(static_cast<uint32_t>(e->model_->head_type())).value_or("?");
  i.file_bytes = e->file_->size();
  i.weight_bytes = e->model_->weight_bytes();
  i.bytes_per_token = e->model_->bytes_per_token();

  // The vocabulary is optional (fixture models carry none); text commands report the reason.
  if (!e->file_->find("tokenizer.ggml.model")) {
    e->tokenizer_error_ = "'" + path + "' has no vocabulary (tokenizer.ggml.* keys); only token ids can be evaluated";
  } else if (auto v = vocab_from_gguf(*e->file_); !v) {
    e->tokenizer_error_ = v.status().to_string();
  } else if (v->size() > c.n_vocab) {
    e->tokenizer_error_ = strfmt("vocabulary has %d tokens but the model's embedding only %lld", v->size(), (long long)c.n_vocab);
  } else if (auto t = Tokenizer::create(*v); !t) {
    e->tokenizer_error_ = t.status().to_string();
  } else {
    e->tokenizer_ = std::shared_ptr<const Tokenizer>(std::move(t).value());
  }
  return e;
}

Result<std::unique_ptr<Session>> Engine::new_session(bool want_all_logits) {
  std::unique_ptr<Session> s(new Session());
  s->impl_ = std::make_unique<Session::Impl>();
  auto& im = *s->impl_;
  im.engine = this;
  const ModelConfig& c = model_->config();
  DType kv_type;
  if (opts_.kv_type == "f16") kv_type = DType::F16;
  else if (opts_.kv_type == "f32") kv_type = DType::F32;
  else if (opts_.kv_type == "q8_0") kv_type = DType::Q8_0;
  else return Status(StatusCode::kInvalidArgument, "KV cache type must be f16, f32 or q8_0, not '" + opts_.kv_type + "'");
  BITNET_ASSIGN_OR_RETURN(im.kv, KvCache::create(*backend_, c, opts_.n_ctx, kv_type));
  const int64_t batch = std::min(opts_.n_batch, opts_.n_ctx);
  BITNET_ASSIGN_OR_RETURN(im.ws, Workspace::create(*backend_, c, batch, want_all_logits));
  im.all_logits_capable = want_all_logits;
  return s;
}

int64_t Session::n_ctx() const { return impl_->kv.n_ctx(); }

Status Session::eval(std::span<const int32_t> tokens, bool all_logits) {
  auto& im = *impl_;
  const Model& m = im.engine->model();
  const int64_t n_vocab = m.config().n_vocab;
  if (tokens.empty()) return invalid_argument("nothing to evaluate: empty token list");
  if (all_logits && !im.all_logits_capable) return invalid_argument("session was not created for all-token logits");
  for (int32_t t : tokens)
    if (t < 0 || t >= n_vocab) return invalid_argument(strfmt("token id %d is outside the vocabulary [0, %lld)", t, (long long)n_vocab));
  const int64_t n = static_cast<int64_t>(tokens.size());
  if (n_past_ + n > im.kv.n_ctx())
    return out_of_range(strfmt("%lld tokens after %lld already in the context exceed the context size of %lld tokens (use -c to enlarge it)",
                               (long long)n, (long long)n_past_, (long long)im.kv.n_ctx()));
  im.logits_rows = all_logits ? n : 1;
  im.logits.resize(static_cast<size_t>(im.logits_rows * n_vocab));
  const int64_t B = im.ws.max_batch();
  for (int64_t b = 0; b < n; b += B) {
    const int64_t cnt = std::min(B, n - b);
    const bool last = b + cnt == n;
    float* dst = all_logits ? im.logits.data() + b * n_vocab : (last ? im.logits.data() : nullptr);
    m.forward(tokens.subspan(b, cnt), n_past_ + b, im.kv, im.ws, all_logits, dst);
  }
  n_past_ += n;
  return Status::ok();
}

std::span<const float> Session::logits() const {
  const int64_t nv = impl_->engine->info().n_vocab;
  return {impl_->logits.data() + (impl_->logits_rows - 1) * nv, static_cast<size_t>(nv)};
}

std::span<const float> Session::logits_at(int64_t i) const {
  const int64_t nv = impl_->engine->info().n_vocab;
  return {impl_->logits.data() + i * nv, static_cast<size_t>(nv)};
}

void Session::truncate(int64_t n) {
  if (n < n_past_) n_past_ = std::max<int64_t>(n, 0);
}

}  // namespace bitnet
