// --device / --threads for subcommands.
#include "device_options.h"

namespace bitnet::cli {

void add_device_options(CLI::App& app, DeviceOptions& opts) {
  app.add_option("--device", opts.device,
                 "Compute device: auto, cpu, cuda[:N], vulkan[:N] or metal "
                 "(default: $BITNET_DEVICE, else auto)");
  app.add_option("-t,--threads", opts.threads,
                 "CPU threads (default 0: every hardware thread this process may use)")
      ->check(CLI::Range(0, 4096));
}

}  // namespace bitnet::cli
