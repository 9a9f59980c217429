// Public C++ API: load a model onto a device and evaluate token sequences.
//
//   auto eng = bitnet::Engine::load("model.gguf", {}).value();
//   auto s = eng->new_session().value();
//   s->eval(tokens);                 // appends to the KV cache
//   auto logits = s->logits();       // last token's logits, n_vocab floats
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "bitnet/status.h"

namespace bitnet {

class Backend;
class Model;
class GgufFile;
class Tokenizer;

struct EngineOptions {
  std::string device;           // auto | cpu | cuda[:N] | vulkan[:N] | metal; "" = $BITNET_DEVICE, else auto
  int n_threads = 0;            // CPU threads; 0 = all available cores
  int64_t n_ctx = 0;            // KV-cache length in tokens; 0 = the model's training context
  std::string kv_type = "f16";  // KV cache: "f16" (half of f32), "f32" or "q8_0" (~27% of f32; head dim % 32 == 0)
  int64_t n_batch = 256;        // max tokens per forward call during prompt processing
  std::string head_type;        // "" keep the file's head; "f16", "q8_0", "q6_k" or "q4_k" convert at load
};

struct ModelInfo {
  std::string path, arch, name;
  int64_t n_vocab = 0, n_ctx_train = 0, d_model = 0, n_layer = 0, n_head = 0, n_head_kv = 0, n_ff = 0;
  std::string weight_type, head_type;  // ggml type names
  uint64_t file_bytes = 0, weight_bytes = 0, bytes_per_token = 0;
};

class Session;

class Engine {
 public:
  // Loads a GGUF model onto the device named in opts.device (probe -> select -> create).
  static Result<std::unique_ptr<Engine>> load(const std::string& path, const EngineOptions& opts);
  // Same, on a given backend (tests, benchmarks).
  static Result<std::unique_ptr<Engine>> load(const std::string& path, const EngineOptions& opts,
                                              std::unique_ptr<Backend> backend);
  ~Engine();

  const ModelInfo& info() const { return info_; }
  const EngineOptions& options() const { return opts_; }
  Backend& backend() { return *backend_; }
  // "device: requested=auto available=[...] selected=cpu" (empty when a backend was given).
  const std::string& device_summary() const { return device_summary_; }
  const Model& model() const { return *model_; }
  // The model's tokenizer, or nullptr when the file carries no vocabulary.
  const Tokenizer* tokenizer() const { return tokenizer_.get(); }
  // Error explaining why tokenizer() is null (empty when it is not).
  const std::string& tokenizer_error() const { return tokenizer_error_; }

  // A new sequence with its own KV cache of opts.n_ctx tokens.
  Result<std::unique_ptr<Session>> new_session(bool want_all_logits = false);

 private:
  Engine() = default;
  EngineOptions opts_;
  ModelInfo info_;
  std::unique_ptr<GgufFile> file_;
  std::unique_ptr<Backend> backend_;
  std::unique_ptr<Model> model_;
  std::shared_ptr<const Tokenizer> tokenizer_;
  std::string tokenizer_error_;
  std::string device_summary_;
};

class Session {
 public:
  ~Session();
  int64_t n_past() const { return n_past_; }
  int64_t n_ctx() const;
  // Evaluates tokens at positions n_past.. and appends them to the cache. With all_logits the
  // logits of every token of this call are kept (requires new_session(true)).
  Status eval(std::span<const int32_t> tokens, bool all_logits = false);
  // Logits of the last evaluated token (n_vocab floats).
  std::span<const float> logits() const;
  // Logits of token i of the last eval(..., true) call.
  std::span<const float> logits_at(int64_t i) const;
  // Forget positions >= n (n <= n_past).
  void truncate(int64_t n);
  void reset() { truncate(0); }

 private:
  friend class Engine;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int64_t n_past_ = 0;
};

}  // namespace bitnet
