// Device selection: turns `--device` / BITNET_DEVICE into one probed device, or an error that
// lists what is available. Pure functions over a ProbeReport, so tests drive them with
// fabricated probe results.
//
//   spec:        auto | cpu | cuda[:N] | vulkan[:N] | metal        (case-insensitive)
//   precedence:  --device flag  >  BITNET_DEVICE  >  auto
//   auto order:  CUDA > Metal > Vulkan discrete > Vulkan integrated > Vulkan virtual/other > CPU,
//                lower index first within a kind; only devices whose backend is compiled in,
//                that are usable and whose usable memory holds `required_bytes`. Vulkan software
//                devices (llvmpipe, SwiftShader) are never picked by auto.
//   explicit:    `cuda` = the first CUDA device that qualifies; `cuda:N` = exactly that one.
//                No fallback: an absent, uncompiled, unusable or too small device is an error.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.h"
#include "runtime/device_info.h"

namespace bitnet {

struct DeviceSpec {
  bool is_auto = true;
  DeviceKind kind = DeviceKind::kCpu;  // when !is_auto
  int index = -1;                      // -1: any device of `kind`
  std::string text() const;            // canonical form: "auto", "cpu", "cuda", "cuda:1"
  bool operator==(const DeviceSpec&) const = default;
};

Result<DeviceSpec> parse_device_spec(std::string_view s);

enum class DeviceRequestSource : uint8_t { kDefault, kFlag, kEnv };
const char* device_request_source_name(
    DeviceRequestSource s);  // "default", "--device", "BITNET_DEVICE"

struct DeviceRequest {
  DeviceSpec spec;
  DeviceRequestSource source = DeviceRequestSource::kDefault;
};

// flag: the --device value ("" = not given); env: BITNET_DEVICE (nullptr or "" = unset).
Result<DeviceRequest> resolve_device_request(std::string_view flag, const char* env);

struct DeviceSelection {
  size_t device = 0;  // index into ProbeReport::devices
  std::string
      summary;  // "device: requested=auto available=[cpu(ref), cuda:0(H100 ...)] selected=cpu"
};

// required_bytes: weights + KV cache the model will allocate on the device (0 = do not check).
Result<DeviceSelection> select_device(const ProbeReport& report, const DeviceRequest& request,
                                      uint64_t required_bytes);

// "cpu(ref)", "cuda:0(H100 80GB HBM3)", with "; not built" / "; unusable" / "; software" appended
// for devices that are listed but cannot be chosen. Used in summaries and error messages.
std::string describe_device_short(const DeviceInfo& d);

}  // namespace bitnet
