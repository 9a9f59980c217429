#include "runtime/open_device.h"

#include "runtime/backend_registry.h"
#include "runtime/device_select.h"
#include "runtime/probe.h"

namespace bitnet {

Result<OpenedDevice> open_device(std::string_view device, const char* env, int n_threads,
                                 uint64_t required_bytes) {
  BITNET_ASSIGN_OR_RETURN(DeviceRequest req, resolve_device_request(device, env));
  const ProbeReport report = probe_devices();
  BITNET_ASSIGN_OR_RETURN(DeviceSelection sel, select_device(report, req, required_bytes));
  OpenedDevice out;
  out.info = report.devices[sel.device];
  out.summary = sel.summary;
  BackendOptions bo;
  bo.n_threads = n_threads;
  BITNET_ASSIGN_OR_RETURN(out.backend, create_backend(out.info, bo));
  return out;
}

}  // namespace bitnet
