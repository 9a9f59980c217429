#include "model_options.h"

#include <cstdio>

#include "command.h"

namespace bitnet::cli {

void add_model_options(CLI::App& app, ModelOptions& o, int64_t default_ctx) {
  o.ctx = default_ctx;
  app.add_option("-m,--model", o.model, "Model file (GGUF)")->required();
  add_device_options(app, o.dev);
  app.add_option("-c,--ctx-size", o.ctx, "Context size in tokens (0 = the model's)");
  app.add_option("-b,--batch-size", o.batch, "Prompt tokens per forward pass");
  app.add_option("--head", o.head, "Convert the output head at load: f16 | q8_0 | q6_k | q4_k (fewer bytes per token, some accuracy)");
  app.add_option("--kv-type", o.kv_type, "KV cache type: f16 | f32 | q8_0 (int8 with an f16 scale per 32 values)");
}

void add_sampling_options(CLI::App& app, SamplerParams& p) {
  app.add_option("--temp", p.temperature, "Temperature (0 = greedy)");
  app.add_option("--top-k", p.top_k, "Top-k (0 = off)");
  app.add_option("--top-p", p.top_p, "Top-p / nucleus (1 = off)");
  app.add_option("--min-p", p.min_p, "Min-p (0 = off)");
  app.add_option("--repeat-penalty", p.repeat_penalty, "Repetition penalty (1 = off)");
  app.add_option("--repeat-last-n", p.repeat_last_n, "Tokens considered by the repetition penalty");
  app.add_option("-s,--seed", p.seed, "Random seed");
}

std::unique_ptr<Engine> load_engine(const ModelOptions& o) {
  EngineOptions eo;
  eo.device = o.dev.device;
  eo.n_threads = o.dev.threads;
  eo.n_ctx = o.ctx;
  eo.n_batch = o.batch;
  eo.head_type = o.head;
  if (o.kv_type != "f16" && o.kv_type != "f32" && o.kv_type != "q8_0") {
    fail("--kv-type must be f16, f32 or q8_0, not '" + o.kv_type + "'");
    return nullptr;
  }
  eo.kv_type = o.kv_type;
  auto e = Engine::load(o.model, eo);
  if (!e) {
    fail(e.status().to_string());
    return nullptr;
  }
  std::fprintf(stderr, "%s\n", (*e)->device_summary().c_str());
  return std::move(e).value();
}

}  // namespace bitnet::cli
