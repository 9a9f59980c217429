// `--device` and `-t/--threads`, shared by every `bitnet` subcommand that runs a model.
// Opening the device is src/runtime/open_device.h (used through Engine::load).
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace bitnet::cli {

struct DeviceOptions {
  std::string device;  // --device; "" = $BITNET_DEVICE, else auto
  int threads = 0;     // -t/--threads; 0 = every hardware thread this process may use
};

void add_device_options(CLI::App& app, DeviceOptions& opts);

}  // namespace bitnet::cli
