// Internal interface between the probe orchestrator (probe.cpp) and the per-API probes
// (probe_cpu.cpp, probe_cuda.cpp, probe_vulkan.cpp, probe_apple.mm). Not for use outside
// src/runtime/ (tests excepted).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/device_info.h"

namespace bitnet::probe_detail {

struct ApiProbe {
  BackendProbe backend;
  std::vector<DeviceInfo> devices;
};

// The host CPU (never fails; unknown fields stay zero / empty).
DeviceInfo probe_cpu();
HostInfo probe_host();

ApiProbe probe_cuda(const std::string& library);
ApiProbe probe_vulkan(const std::string& library);

#if defined(BITNET_APPLE_PROBE)
// probe_apple.mm (macOS builds only)
ApiProbe probe_metal();
void fill_apple_cpu(DeviceInfo* cpu);
#endif

// ---- helpers shared by the probes (probe_util.cpp) ----
// Whole file as a string ("" if unreadable); for /proc and /sys files.
std::string read_text_file(const char* path);
std::string trim(std::string_view s);
// Parses "32K", "1024K", "32M", "12345" (bytes) as sysfs cache sizes are written; 0 on error.
uint64_t parse_size_suffix(std::string_view s);
// Parses a Linux CPU list "0-3,8,10-11" into ids.
std::vector<int> parse_cpu_list(std::string_view s);
// Value in kB of a "Key:   1234 kB" line of /proc/meminfo-style text, in bytes; 0 if absent.
uint64_t meminfo_bytes(std::string_view text, std::string_view key);
// Memory the cgroup of this process still allows (limit - usage + inactive file cache), over
// all ancestors with a limit; UINT64_MAX when unlimited or not in a memory cgroup.
uint64_t cgroup_memory_headroom();
// Name of an Arm CPU from the MIDR implementer / part numbers of /proc/cpuinfo, "" if unknown.
std::string arm_cpu_name(unsigned implementer, unsigned part);
std::string arm_vendor_name(unsigned implementer);
// Memory bandwidth (GB/s) of an Apple chip from its marketing name ("Apple M2 Pro"), 0 when
// unknown or ambiguous (e.g. "M3 Max" ships with 300 or 400 GB/s depending on the bin).
double apple_chip_bandwidth_gbps(std::string_view chip_name);

}  // namespace bitnet::probe_detail
