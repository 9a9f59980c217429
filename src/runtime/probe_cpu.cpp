// Host CPU probe: name and vendor (cpuid brand string on x86, MIDR on Linux/Arm, sysctl on
// macOS), core counts, cache sizes (sysfs), memory (/proc/meminfo bounded by the cgroup limit),
// ISA features (core/cpu_features.h) and the CPU kernel variant this build would select.
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <set>
#include <sstream>
#include <string>

#include "backends/cpu/kernels.h"
#include "core/cpu_features.h"
#include "core/strings.h"
#include "core/thread_pool.h"
#include "runtime/probe_internal.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif
#if defined(__linux__)
#include <sys/sysinfo.h>
#endif

namespace bitnet::probe_detail {
namespace {

#if defined(__x86_64__) || defined(__i386__)
void x86_name(DeviceInfo* d) {
  unsigned r[4] = {0, 0, 0, 0};
  if (__get_cpuid(0, &r[0], &r[1], &r[2], &r[3])) {
    char v[13] = {};
    // Vendor id is EBX, EDX, ECX in that order.
    std::copy_n(reinterpret_cast<const char*>(&r[1]), 4, v);
    std::copy_n(reinterpret_cast<const char*>(&r[3]), 4, v + 4);
    std::copy_n(reinterpret_cast<const char*>(&r[2]), 4, v + 8);
    const std::string id = v;
    d->vendor = id == "AuthenticAMD" ? "AMD" : id == "GenuineIntel" ? "Intel" : id;
  }
  unsigned max_ext = __get_cpuid_max(0x80000000u, nullptr);
  if (max_ext >= 0x80000004u) {
    char brand[49] = {};
    for (unsigned i = 0; i < 3; ++i) {
      unsigned a = 0, b = 0, c = 0, e = 0;
      __get_cpuid(0x80000002u + i, &a, &b, &c, &e);
      const unsigned regs[4] = {a, b, c, e};
      std::copy_n(reinterpret_cast<const char*>(regs), 16, brand + 16 * i);
    }
    d->name = trim(brand);
  }
}
#endif

#if defined(__linux__)
// First value of `key` in /proc/cpuinfo ("" if absent).
std::string cpuinfo_field(const std::string& text, const std::string& key) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    if (trim(std::string_view(line).substr(0, colon)) == key) return trim(line.substr(colon + 1));
  }
  return "";
}

void linux_name_from_cpuinfo(DeviceInfo* d) {
  const std::string text = read_text_file("/proc/cpuinfo");
  if (d->name.empty()) d->name = cpuinfo_field(text, "model name");
  const std::string impl = cpuinfo_field(text, "CPU implementer");
  const std::string part = cpuinfo_field(text, "CPU part");
  if (!impl.empty()) {
    const unsigned i = static_cast<unsigned>(std::strtoul(impl.c_str(), nullptr, 0));
    const unsigned p = static_cast<unsigned>(std::strtoul(part.c_str(), nullptr, 0));
    if (d->vendor.empty()) d->vendor = arm_vendor_name(i);
    if (d->name.empty()) {
      const std::string core = arm_cpu_name(i, p);
      d->name = !core.empty() ? core : strfmt("Arm CPU (implementer 0x%02x, part 0x%03x)", i, p);
    }
  }
  if (d->name.empty()) d->name = cpuinfo_field(text, "Hardware");
}

void linux_topology(CpuDetails* c) {
  std::vector<int> online = parse_cpu_list(read_text_file("/sys/devices/system/cpu/online"));
  if (online.empty()) {
    const long n = sysconf(_SC_NPROCESSORS_ONLN);
    for (long i = 0; i < n; ++i) online.push_back(static_cast<int>(i));
  }
  c->logical_cores = static_cast<int>(online.size());
  // A physical core = one distinct set of SMT siblings.
  std::set<std::string> cores;
  for (int cpu : online) {
    const std::string p =
        strfmt("/sys/devices/system/cpu/cpu%d/topology/thread_siblings_list", cpu);
    const std::string sib = trim(read_text_file(p.c_str()));
    cores.insert(sib.empty() ? std::to_string(cpu) : sib);
  }
  c->physical_cores = static_cast<int>(cores.size());
  // Cache sizes as seen by cpu0 (per core for L1/L2 on most parts, per CCX/die for L3).
  for (int i = 0; i < 16; ++i) {
    const std::string dir = strfmt("/sys/devices/system/cpu/cpu0/cache/index%d/", i);
    const std::string level = trim(read_text_file((dir + "level").c_str()));
    if (level.empty()) break;
    const std::string type = trim(read_text_file((dir + "type").c_str()));
    const uint64_t size = parse_size_suffix(read_text_file((dir + "size").c_str()));
    if (level == "1" && (type == "Data" || type == "Unified")) c->l1d_bytes = size;
    if (level == "2") c->l2_bytes = size;
    if (level == "3") c->l3_bytes = size;
  }
}

void linux_memory(DeviceInfo* d) {
  const std::string mi = read_text_file("/proc/meminfo");
  uint64_t total = meminfo_bytes(mi, "MemTotal");
  uint64_t avail = meminfo_bytes(mi, "MemAvailable");
  if (total == 0) {
    struct sysinfo si = {};
    if (sysinfo(&si) == 0) {
      total = static_cast<uint64_t>(si.totalram) * si.mem_unit;
      avail = static_cast<uint64_t>(si.freeram + si.bufferram) * si.mem_unit;
    }
  }
  d->memory_total_bytes = total;
  // A container's memory limit is what the model really has to fit into.
  d->memory_usable_bytes = std::min(avail, cgroup_memory_headroom());
}
#endif

}  // namespace

HostInfo probe_host() {
  HostInfo h;
  struct utsname u = {};
  if (uname(&u) == 0) {
    h.os = u.sysname;
    h.os_release = u.release;
    h.machine = u.machine;
  }
  return h;
}

DeviceInfo probe_cpu() {
  DeviceInfo d;
  d.kind = DeviceKind::kCpu;
  d.index = 0;
  d.device_type = "cpu";
  d.unified_memory = true;  // host memory: nothing to copy
  d.backend_compiled = true;
  d.usable = true;
  const CpuFeatures& f = cpu_features();
  d.arch = f.arch;
  d.features = cpu_feature_names(f);
  CpuDetails c;
  c.affinity_cores = default_thread_count();
  if (const char* forced = std::getenv("BITNET_CPU_ISA")) c.kernel_isa_forced = forced;

#if defined(__x86_64__) || defined(__i386__)
  x86_name(&d);
#endif
#if defined(__linux__)
  linux_name_from_cpuinfo(&d);
  linux_topology(&c);
  linux_memory(&d);
#endif
  d.cpu = c;
#if defined(BITNET_APPLE_PROBE)
  fill_apple_cpu(&d);  // brand string, P/E cores, caches, memory (sysctl)
#endif
  if (d.cpu->logical_cores <= 0) {
    const long n = sysconf(_SC_NPROCESSORS_ONLN);
    d.cpu->logical_cores = n > 0 ? static_cast<int>(n) : 1;
  }
  if (d.cpu->physical_cores <= 0) d.cpu->physical_cores = d.cpu->logical_cores;
  if (d.memory_total_bytes == 0) {  // neither /proc nor sysctl answered
    const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (pages > 0 && page > 0) d.memory_total_bytes = static_cast<uint64_t>(pages) * page;
    d.memory_usable_bytes = d.memory_total_bytes;
  }
  d.memory_usable_bytes = std::min(d.memory_usable_bytes, d.memory_total_bytes);
  if (d.name.empty()) d.name = d.arch + " CPU";
  d.compute_units = d.cpu->logical_cores;

  // The kernel table the CPU backend would use, including a BITNET_CPU_ISA override that this
  // CPU or build cannot honour (selection turns that into an error when the CPU is chosen).
  std::string err;
  const cpu::KernelTable& kt = cpu::select_kernels(&err);
  d.kernel_variant = kt.isa;
  d.kernel_variant_error = err;
  return d;
}

}  // namespace bitnet::probe_detail
