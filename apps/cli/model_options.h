// Options shared by the subcommands that load a model (run, chat, perplexity, bench) and the
// sampling options of the generating ones.
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "bitnet/engine.h"
#include "device_options.h"
#include "sampling/sampler.h"

namespace bitnet::cli {

struct ModelOptions {
  std::string model;
  DeviceOptions dev;
  int64_t ctx = 0;
  int64_t batch = 256;
  std::string head;
  std::string kv_type = "f16";
};

void add_model_options(CLI::App& app, ModelOptions& o, int64_t default_ctx = 0);
void add_sampling_options(CLI::App& app, SamplerParams& p);

// Loads the model with these options and prints the device line to stderr; prints
// "bitnet: error: ..." and returns null on failure.
std::unique_ptr<Engine> load_engine(const ModelOptions& o);

}  // namespace bitnet::cli
