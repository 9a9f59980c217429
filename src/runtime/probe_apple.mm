// macOS probes (Objective-C++, compiled only on Apple platforms; see src/CMakeLists.txt):
// the default Metal device (name, Apple GPU family, unified memory, working-set size) and the
// Apple CPU details that only sysctl knows (brand string, performance / efficiency cores, caches).
// UNVERIFIED: nobody on the project has run this file on a Mac yet (docs/COMPATIBILITY.md).
// Written to need nothing newer than the macOS 13 SDK: GPU families are passed as raw values
// (MTLGPUFamilyApple<N> = 1000 + N, Mac2 = 2002, Metal3 = 5001, Metal4 = 5002), which an older OS
// simply answers NO to.
#import <Foundation/Foundation.h>
#import <Metal/Metal.h>
#include <mach/mach.h>
#include <sys/sysctl.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "core/strings.h"
#include "runtime/probe_internal.h"

namespace bitnet::probe_detail {
namespace {

std::string sysctl_string(const char* name) {
  size_t n = 0;
  if (sysctlbyname(name, nullptr, &n, nullptr, 0) != 0 || n == 0) return "";
  std::string s(n, '\0');
  if (sysctlbyname(name, s.data(), &n, nullptr, 0) != 0) return "";
  s.resize(strnlen(s.c_str(), n));
  return s;
}

// sysctl integers are 4 or 8 bytes depending on the key; both arm64 and x86_64 are little
// endian, so a zeroed 8-byte buffer reads either correctly. 0 when the key does not exist.
uint64_t sysctl_u64(const char* name) {
  uint64_t v = 0;
  size_t n = sizeof(v);
  if (sysctlbyname(name, &v, &n, nullptr, 0) != 0 || (n != 4 && n != 8)) return 0;
  return v;
}

// Free + inactive + purgeable pages: what macOS can hand to a new allocation without swapping.
uint64_t available_memory() {
  vm_statistics64_data_t vm = {};
  mach_msg_type_number_t count = HOST_VM_INFO64_COUNT;
  if (host_statistics64(mach_host_self(), HOST_VM_INFO64, reinterpret_cast<host_info64_t>(&vm),
                        &count) != KERN_SUCCESS)
    return 0;
  vm_size_t page = 0;
  if (host_page_size(mach_host_self(), &page) != KERN_SUCCESS) page = 4096;
  return (static_cast<uint64_t>(vm.free_count) + vm.inactive_count + vm.purgeable_count) * page;
}

bool supports(id<MTLDevice> dev, long family) {
  if (![dev respondsToSelector:@selector(supportsFamily:)]) return false;
  return [dev supportsFamily:static_cast<MTLGPUFamily>(family)];
}

}  // namespace

void fill_apple_cpu(DeviceInfo* d) {
  const std::string brand = sysctl_string("machdep.cpu.brand_string");  // "Apple M4 Pro"
  if (!brand.empty() && (d->name.empty() || d->arch == "aarch64")) d->name = brand;
  if (d->arch == "aarch64") d->vendor = "Apple";
  CpuDetails& c = *d->cpu;
  if (uint64_t v = sysctl_u64("hw.physicalcpu")) c.physical_cores = static_cast<int>(v);
  if (uint64_t v = sysctl_u64("hw.logicalcpu")) c.logical_cores = static_cast<int>(v);
  // perflevel0 = performance cluster, perflevel1 = efficiency cluster (Apple silicon only).
  c.performance_cores = static_cast<int>(sysctl_u64("hw.perflevel0.physicalcpu"));
  c.efficiency_cores = static_cast<int>(sysctl_u64("hw.perflevel1.physicalcpu"));
  if (c.affinity_cores <= 0) c.affinity_cores = c.logical_cores;
  c.l1d_bytes = sysctl_u64("hw.perflevel0.l1dcachesize");
  if (c.l1d_bytes == 0) c.l1d_bytes = sysctl_u64("hw.l1dcachesize");
  c.l2_bytes = sysctl_u64("hw.perflevel0.l2cachesize");  // shared by one P-cluster
  if (c.l2_bytes == 0) c.l2_bytes = sysctl_u64("hw.l2cachesize");
  c.l3_bytes = sysctl_u64("hw.l3cachesize");  // Intel Macs; Apple silicon has an SLC instead
  d->memory_total_bytes = sysctl_u64("hw.memsize");
  const uint64_t avail = available_memory();
  d->memory_usable_bytes = avail ? std::min(avail, d->memory_total_bytes) : d->memory_total_bytes;
}

ApiProbe probe_metal() {
  ApiProbe out;
  out.backend.kind = DeviceKind::kMetal;
  out.backend.library = "Metal.framework";
  @autoreleasepool {
    id<MTLDevice> dev = MTLCreateSystemDefaultDevice();
    if (dev == nil) {
      out.backend.status = "not_found";
      out.backend.error = "MTLCreateSystemDefaultDevice returned no device";
      return out;
    }
    out.backend.status = "ok";
    DeviceInfo d;
    d.kind = DeviceKind::kMetal;
    d.index = 0;
    d.name = dev.name ? std::string(dev.name.UTF8String) : "Metal device";
    int apple = 0;
    for (int n = 12; n >= 1 && apple == 0; --n)
      if (supports(dev, 1000 + n)) apple = n;
    const bool metal3 = supports(dev, 5001), metal4 = supports(dev, 5002);
    if (apple > 0) {
      d.arch = strfmt("apple%d", apple);
      d.vendor = "Apple";
      d.subgroup_size = 32;  // SIMD-group width of every Apple GPU
    } else if (supports(dev, 2002)) {
      d.arch = "mac2";  // Intel Mac GPUs (AMD / Intel)
      const size_t sp = d.name.find(' ');
      d.vendor = sp == std::string::npos ? "" : d.name.substr(0, sp);
    }
    d.runtime_version = metal4 ? "metal4" : metal3 ? "metal3" : "";
    d.driver_version =
        std::string("macOS ") + [NSProcessInfo processInfo].operatingSystemVersionString.UTF8String;
    d.unified_memory = dev.hasUnifiedMemory;
    d.device_type = d.unified_memory ? "integrated" : "discrete";
    const uint64_t working_set = dev.recommendedMaxWorkingSetSize;
    const uint64_t allocated = dev.currentAllocatedSize;
    d.memory_total_bytes = d.unified_memory ? sysctl_u64("hw.memsize") : working_set;
    if (d.memory_total_bytes == 0) d.memory_total_bytes = working_set;
    // The GPU may keep at most the recommended working set resident without paging.
    d.memory_usable_bytes = working_set > allocated ? working_set - allocated : 0;
    if (apple > 0 && d.unified_memory) {
      const double gbps = apple_chip_bandwidth_gbps(sysctl_string("machdep.cpu.brand_string"));
      if (gbps > 0) {
        d.memory_bandwidth_gbps = gbps;
        d.bandwidth_source = BandwidthSource::kSpec;
      }
    }
    auto add = [&](bool on, const char* f) {
      if (on) d.features.emplace_back(f);
    };
    add(true, "fp16");
    add(apple >= 7 || metal3, "simdgroup_reduction");
    add(apple >= 7, "simdgroup_matrix");
    add(apple >= 10, "neural_accelerators");  // M5-class: Metal 4 tensor ops in hardware
    // The planned kernels reduce with simd_sum: Apple7 (M1) or a Metal 3 GPU. GitHub's macOS
    // runners expose a paravirtual GPU that reports lower families and lands here.
    if (!(apple >= 7 || metal3)) {
      d.usable = false;
      d.unusable_reason = "GPU family below Apple7 / Metal 3: no SIMD-group reductions";
    }
    out.devices.push_back(std::move(d));
  }
  out.backend.device_count = static_cast<int>(out.devices.size());
  return out;
}

}  // namespace bitnet::probe_detail
