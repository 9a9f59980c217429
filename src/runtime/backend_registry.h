// Backend registry: the ONE place that knows which backends this build contains. Everything else
// asks here (backend_compiled) instead of testing BITNET_HAS_* macros, and creates backends only
// through create_backend(). Backends that are switched off (or not written yet) are simply absent.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "core/status.h"
#include "runtime/device_info.h"

namespace bitnet {

struct BackendOptions {
  int n_threads = 0;  // CPU worker threads; 0 = every hardware thread this process may use
};

bool backend_compiled(DeviceKind kind);
std::vector<DeviceKind> compiled_backends();
// Short note on how to get a missing backend (today: "not implemented yet; only device probing
// exists"); "" when the backend is compiled in.
std::string backend_missing_hint(DeviceKind kind);

// Creates the backend for a probed device. Fails (kUnavailable) when the backend is not in this
// build, the device is unusable, or, for the CPU, a forced BITNET_CPU_ISA cannot be honoured.
Result<std::unique_ptr<Backend>> create_backend(const DeviceInfo& device,
                                                const BackendOptions& opts);

}  // namespace bitnet
