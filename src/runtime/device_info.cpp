// Names and small helpers for DeviceInfo (device_info.h).
#include "runtime/device_info.h"

#include <algorithm>

#include "core/strings.h"

namespace bitnet {

const char* device_kind_name(DeviceKind k) {
  switch (k) {
    case DeviceKind::kCpu:
      return "cpu";
    case DeviceKind::kCuda:
      return "cuda";
    case DeviceKind::kVulkan:
      return "vulkan";
    case DeviceKind::kMetal:
      return "metal";
  }
  return "?";
}

const char* device_kind_display(DeviceKind k) {
  switch (k) {
    case DeviceKind::kCpu:
      return "CPU";
    case DeviceKind::kCuda:
      return "CUDA";
    case DeviceKind::kVulkan:
      return "Vulkan";
    case DeviceKind::kMetal:
      return "Metal";
  }
  return "?";
}

std::optional<DeviceKind> parse_device_kind(std::string_view s) {
  for (DeviceKind k : kAllDeviceKinds)
    if (s == device_kind_name(k)) return k;
  return std::nullopt;
}

const char* bandwidth_source_name(BandwidthSource s) {
  switch (s) {
    case BandwidthSource::kUnknown:
      return "unknown";
    case BandwidthSource::kSpec:
      return "spec";
    case BandwidthSource::kMeasured:
      return "measured";
  }
  return "unknown";
}

std::optional<BandwidthSource> parse_bandwidth_source(std::string_view s) {
  for (BandwidthSource b :
       {BandwidthSource::kUnknown, BandwidthSource::kSpec, BandwidthSource::kMeasured})
    if (s == bandwidth_source_name(b)) return b;
  return std::nullopt;
}

std::string DeviceInfo::id() const {
  if (kind == DeviceKind::kCpu || kind == DeviceKind::kMetal) return device_kind_name(kind);
  return strfmt("%s:%d", device_kind_name(kind), index);
}

bool DeviceInfo::has_feature(std::string_view f) const {
  return std::find(features.begin(), features.end(), f) != features.end();
}

const BackendProbe* ProbeReport::backend(DeviceKind k) const {
  for (const auto& b : backends)
    if (b.kind == k) return &b;
  return nullptr;
}

std::string format_bytes(uint64_t bytes) {
  const double b = static_cast<double>(bytes);
  if (bytes >= (1ull << 30)) return strfmt("%.1f GiB", b / (1ull << 30));
  if (bytes >= (1ull << 20)) return strfmt("%.1f MiB", b / (1ull << 20));
  if (bytes >= (1ull << 10)) return strfmt("%.0f KiB", b / (1ull << 10));
  return strfmt("%llu B", static_cast<unsigned long long>(bytes));
}

}  // namespace bitnet
