// DeviceInfo: one backend-neutral description per compute device found on this machine (CPU,
// CUDA, Vulkan, Metal), filled by the probes (probe.h) and read by device selection
// (device_select.h), the backend registry and `bitnet probe`. Field names match the JSON keys of
// `bitnet probe --json` (docs/probe.md); keep both in step.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bitnet {

enum class DeviceKind : uint8_t { kCpu, kCuda, kVulkan, kMetal };

inline constexpr DeviceKind kAllDeviceKinds[] = {DeviceKind::kCpu, DeviceKind::kCuda,
                                                 DeviceKind::kVulkan, DeviceKind::kMetal};

const char* device_kind_name(DeviceKind k);     // "cpu", "cuda", "vulkan", "metal"
const char* device_kind_display(DeviceKind k);  // "CPU", "CUDA", "Vulkan", "Metal"
std::optional<DeviceKind> parse_device_kind(std::string_view s);  // exact lower-case name

// Where memory_bandwidth_gbps comes from: a datasheet-style estimate (e.g. CUDA memory clock x
// bus width, Apple chip table), a measurement, or nothing (then the value is 0).
enum class BandwidthSource : uint8_t { kUnknown, kSpec, kMeasured };
const char* bandwidth_source_name(BandwidthSource s);  // "unknown", "spec", "measured"
std::optional<BandwidthSource> parse_bandwidth_source(std::string_view s);

// Host-CPU details (only for kind == cpu). Zero means "could not be determined".
struct CpuDetails {
  int physical_cores = 0;         // distinct cores (SMT siblings counted once)
  int logical_cores = 0;          // online hardware threads
  int affinity_cores = 0;         // hardware threads this process may run on (sched affinity)
  int performance_cores = 0;      // Apple perflevel0 (0 elsewhere)
  int efficiency_cores = 0;       // Apple perflevel1 (0 elsewhere)
  uint64_t l1d_bytes = 0;         // per core
  uint64_t l2_bytes = 0;          // per instance seen by cpu0 (per core or per cluster)
  uint64_t l3_bytes = 0;          // per instance seen by cpu0 (one CCX / die / socket)
  std::string kernel_isa_forced;  // value of BITNET_CPU_ISA at probe time ("" if unset)

  bool operator==(const CpuDetails&) const = default;
};

struct DeviceInfo {
  DeviceKind kind = DeviceKind::kCpu;
  int index = 0;       // position among devices of the same kind (cuda:N, vulkan:N)
  std::string name;    // "AMD EPYC 9R14", "NVIDIA H100 80GB HBM3", "Apple M4 Pro"
  std::string vendor;  // "AMD", "Intel", "NVIDIA", "Apple", "Mesa", ...
  // Architecture: CPU "x86_64"/"aarch64"; CUDA compute capability "sm_90"; Metal GPU family
  // "apple9"; Vulkan "" (the API does not expose one).
  std::string arch;
  // "cpu" (the host CPU, or a Vulkan software device such as llvmpipe), "discrete",
  // "integrated", "virtual", "other".
  std::string device_type;
  uint64_t memory_total_bytes = 0;   // physical memory of (or visible to) the device
  uint64_t memory_usable_bytes = 0;  // what a model may plan to use now (free / budget)
  double memory_bandwidth_gbps = 0;  // 1 GB/s = 1e9 B/s; 0 when unknown
  BandwidthSource bandwidth_source = BandwidthSource::kUnknown;
  bool unified_memory = false;  // device and host share physical memory
  int compute_units = 0;        // CPU logical cores, CUDA SMs, Apple GPU cores; 0 unknown
  int subgroup_size = 0;        // GPU warp / subgroup / SIMD-group width; 0 for CPU/unknown
  // Capabilities kernels care about, lower-case: CPU "avx2", "avx512vnni", "dotprod", "i8mm",
  // "sme"; GPU "fp16", "int8", "bf16", "dp4a", "storage8", "subgroup_arithmetic", ...
  std::vector<std::string> features;
  std::string driver_version;   // CUDA kernel-module release, Vulkan driver, macOS build
  std::string runtime_version;  // CUDA version the driver supports, Vulkan apiVersion, Metal
  // The kernel variant this build would run on the device (CPU: KernelTable::isa) and, when
  // a forced variant (BITNET_CPU_ISA) cannot be honoured, why.
  std::string kernel_variant;
  std::string kernel_variant_error;
  bool usable = true;             // the device itself can run work (driver OK, recent enough)
  std::string unusable_reason;    // one line a user can act on, when !usable
  bool backend_compiled = false;  // this build contains the backend for `kind`
  std::optional<CpuDetails> cpu;  // set for kind == cpu

  // "cpu", "cuda:0", "vulkan:1", "metal"
  std::string id() const;
  bool has_feature(std::string_view f) const;
  bool operator==(const DeviceInfo&) const = default;
};

// What happened when one kind of device was probed (there may be no DeviceInfo to carry it:
// e.g. libcuda.so.1 missing). Lets `bitnet probe` and selection errors explain an absence.
struct BackendProbe {
  DeviceKind kind = DeviceKind::kCpu;
  bool compiled = false;  // backend present in this build
  // "ok" (api answered, device_count may be 0), "not_found" (library or framework absent),
  // "error" (library present but failed), "skipped" (not probed: other OS / disabled),
  // "timeout" (probe did not finish in time).
  std::string status = "skipped";
  std::string library;  // what was loaded / tried ("libcuda.so.1")
  std::string error;    // reason when status != "ok"
  int device_count = 0;
  double probe_ms = 0;  // wall time of this probe

  bool operator==(const BackendProbe&) const = default;
};

struct HostInfo {
  std::string os;          // "Linux", "Darwin"
  std::string os_release;  // kernel release / macOS product version
  std::string machine;     // "x86_64", "aarch64", "arm64"

  bool operator==(const HostInfo&) const = default;
};

struct ProbeReport {
  HostInfo host;
  std::vector<BackendProbe> backends;  // one per DeviceKind, in kAllDeviceKinds order
  std::vector<DeviceInfo> devices;     // in kAllDeviceKinds order, then by index

  const BackendProbe* backend(DeviceKind k) const;
  bool operator==(const ProbeReport&) const = default;
};

// "1.5 GiB" style, for tables and messages.
std::string format_bytes(uint64_t bytes);

}  // namespace bitnet
