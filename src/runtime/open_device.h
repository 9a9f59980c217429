// probe -> select -> create: opens the device a request names (`--device` value, else
// $BITNET_DEVICE, else auto) and returns its backend plus the one-line device summary.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "backends/backend.h"
#include "core/status.h"
#include "runtime/device_info.h"

namespace bitnet {

struct OpenedDevice {
  DeviceInfo info;                   // the chosen device as probed
  std::unique_ptr<Backend> backend;  // ready to load weights
  std::string summary;               // "device: requested=... available=[...] selected=..."
};

// device: the explicit request ("" = not given); env: $BITNET_DEVICE (nullptr = unset);
// required_bytes: weights + KV cache the model needs on the device (0 = skip the memory check).
Result<OpenedDevice> open_device(std::string_view device, const char* env, int n_threads,
                                 uint64_t required_bytes);

}  // namespace bitnet
