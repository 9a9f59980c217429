// The backend table. Today only the CPU backend exists. A GPU backend lands by adding, under its
// build switch, one entry here (e.g. `#if BITNET_HAS_CUDA` + {kCuda, create_cuda}) together with
// its op suite and end-to-end test; nothing else in the code base tests that switch.
#include "runtime/backend_registry.h"

#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/kernels.h"
#include "core/strings.h"
#include "core/thread_pool.h"

namespace bitnet {
namespace {

Result<std::unique_ptr<Backend>> create_cpu(const DeviceInfo& device, const BackendOptions& opts) {
  std::string err;
  const cpu::KernelTable& kernels = cpu::select_kernels(&err);
  if (!err.empty()) return unavailable(err);
  const int n = opts.n_threads > 0 ? opts.n_threads : default_thread_count();
  return std::unique_ptr<Backend>(std::make_unique<CpuBackend>(n, &kernels));
}

struct Entry {
  DeviceKind kind;
  Result<std::unique_ptr<Backend>> (*create)(const DeviceInfo&, const BackendOptions&);
};

constexpr Entry kBackends[] = {
    {DeviceKind::kCpu, create_cpu},
};

const Entry* find(DeviceKind kind) {
  for (const Entry& e : kBackends)
    if (e.kind == kind) return &e;
  return nullptr;
}

}  // namespace

bool backend_compiled(DeviceKind kind) {
  return find(kind) != nullptr;
}

std::vector<DeviceKind> compiled_backends() {
  std::vector<DeviceKind> out;
  for (const Entry& e : kBackends) out.push_back(e.kind);
  return out;
}

std::string backend_missing_hint(DeviceKind kind) {
  if (backend_compiled(kind)) return "";
  // Becomes "rebuild with -DBITNET_<KIND>=ON" once the backend exists.
  return "not implemented yet; only device probing exists";
}

Result<std::unique_ptr<Backend>> create_backend(const DeviceInfo& device,
                                                const BackendOptions& opts) {
  const Entry* e = find(device.kind);
  if (!e)
    return unavailable(strfmt("%s: this build has no %s backend (%s)", device.id().c_str(),
                              device_kind_display(device.kind),
                              backend_missing_hint(device.kind).c_str()));
  if (!device.usable)
    return unavailable(strfmt("%s (%s) is not usable: %s", device.id().c_str(), device.name.c_str(),
                              device.unusable_reason.c_str()));
  return e->create(device, opts);
}

}  // namespace bitnet
