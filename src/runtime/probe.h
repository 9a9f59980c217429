// Device probe: finds the CPU and every CUDA / Vulkan / Metal device this machine exposes, whether
// or not this build contains the matching backend. GPU APIs are loaded at run time (dlopen of
// libcuda.so.1 / libvulkan.so.1, Metal framework on macOS), so a build without the CUDA toolkit or
// Vulkan SDK still reports the hardware. Probing never aborts: a missing library, a driver error
// or a probe that does not return within the timeout is recorded in ProbeReport::backends and in
// DeviceInfo::unusable_reason.
#pragma once

#include <string>

#include "runtime/device_info.h"

namespace bitnet {

struct ProbeOptions {
  bool cpu = true, cuda = true, vulkan = true, metal = true;
  // Library to load; "" = $BITNET_CUDA_LIBRARY / $BITNET_VULKAN_LIBRARY if set, else the
  // platform's loader name (libcuda.so.1, libvulkan.so.1 / libvulkan.1.dylib).
  std::string cuda_library;
  std::string vulkan_library;
  // Per GPU API (CUDA and Vulkan run concurrently). 0 = $BITNET_PROBE_TIMEOUT_MS if set, else
  // 20 s: cuInit on a multi-GPU host without the persistence daemon can take several seconds.
  int timeout_ms = 0;
};

ProbeReport probe_devices(const ProbeOptions& opts = {});

}  // namespace bitnet
