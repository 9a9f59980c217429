// Device probe on the machine running the tests (CPU fields plausible, GPUs absent or reported
// with a reason), failure paths of the dlopen'd GPU APIs, the JSON form and its documented keys,
// the parsing helpers, and the backend registry.
#include "runtime/probe.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "runtime/backend_registry.h"
#include "runtime/probe_internal.h"
#include "runtime/probe_json.h"

namespace bitnet {
namespace {

using nlohmann::json;

const DeviceInfo* find_cpu(const ProbeReport& r) {
  for (const auto& d : r.devices)
    if (d.kind == DeviceKind::kCpu) return &d;
  return nullptr;
}

TEST(Probe, CpuIsReportedWithPlausibleFields) {
  const ProbeReport r = probe_devices();
  ASSERT_FALSE(r.devices.empty());
  EXPECT_EQ(r.devices[0].kind, DeviceKind::kCpu);  // kinds in order, CPU first
  const DeviceInfo* cpu = find_cpu(r);
  ASSERT_NE(cpu, nullptr);
  EXPECT_EQ(cpu->id(), "cpu");
  EXPECT_FALSE(cpu->name.empty());
  EXPECT_FALSE(cpu->arch.empty());
  EXPECT_EQ(cpu->device_type, "cpu");
  EXPECT_TRUE(cpu->usable);
  EXPECT_TRUE(cpu->backend_compiled);
  ASSERT_TRUE(cpu->cpu.has_value());
  EXPECT_GE(cpu->cpu->physical_cores, 1);
  EXPECT_GE(cpu->cpu->logical_cores, cpu->cpu->physical_cores);
  EXPECT_GE(cpu->cpu->affinity_cores, 1);
  EXPECT_LE(cpu->cpu->affinity_cores, cpu->cpu->logical_cores);
  EXPECT_GT(cpu->memory_total_bytes, 64ull << 20);
  EXPECT_GT(cpu->memory_usable_bytes, 0u);
  EXPECT_LE(cpu->memory_usable_bytes, cpu->memory_total_bytes);
  EXPECT_FALSE(cpu->kernel_variant.empty());
  EXPECT_EQ(cpu->compute_units, cpu->cpu->logical_cores);
#if defined(__x86_64__)
  EXPECT_EQ(cpu->arch, "x86_64");
  EXPECT_FALSE(cpu->vendor.empty());
  EXPECT_TRUE(cpu->has_feature("avx2")) << "every x86-64 CPU this project targets has AVX2";
#if defined(__linux__)
  EXPECT_GT(cpu->cpu->l1d_bytes, 0u);
  EXPECT_GT(cpu->cpu->l2_bytes, 0u);
#endif
#elif defined(__aarch64__)
  EXPECT_EQ(cpu->arch, "aarch64");
  EXPECT_TRUE(cpu->has_feature("neon"));
#endif
}

TEST(Probe, EveryKindHasABackendEntryAndGpusExplainThemselves) {
  const ProbeReport r = probe_devices();
  ASSERT_EQ(r.backends.size(), 4u);
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(r.backends[i].kind, kAllDeviceKinds[i]);
  const std::set<std::string> statuses = {"ok", "not_found", "error", "skipped", "timeout"};
  for (const auto& b : r.backends) {
    EXPECT_TRUE(statuses.count(b.status)) << b.status;
    EXPECT_EQ(b.compiled, backend_compiled(b.kind));
    if (b.status != "ok") {
      EXPECT_FALSE(b.error.empty()) << device_kind_name(b.kind);
    }
  }
  for (const auto& d : r.devices) {
    if (d.kind == DeviceKind::kCpu) continue;
    // This build has no GPU backend, and wherever a GPU cannot be used a reason is given.
    EXPECT_FALSE(d.backend_compiled) << d.id();
    EXPECT_FALSE(d.name.empty());
    if (!d.usable) {
      EXPECT_FALSE(d.unusable_reason.empty()) << d.id();
    }
  }
#if !defined(__APPLE__)
  EXPECT_EQ(r.backend(DeviceKind::kMetal)->status, "skipped");
  EXPECT_EQ(r.backend(DeviceKind::kMetal)->device_count, 0);
#endif
}

TEST(Probe, MissingGpuLibrariesAreReportedNotFatal) {
  ProbeOptions o;
  o.cpu = false;
  o.metal = false;
  o.cuda_library = "/nonexistent/libcuda.so.1";
  o.vulkan_library = "/nonexistent/libvulkan.so.1";
  const ProbeReport r = probe_devices(o);
  EXPECT_TRUE(r.devices.empty());
  EXPECT_EQ(r.backend(DeviceKind::kCuda)->status, "not_found");
  EXPECT_NE(r.backend(DeviceKind::kCuda)->error.find("/nonexistent/libcuda.so.1"),
            std::string::npos);
  EXPECT_EQ(r.backend(DeviceKind::kVulkan)->status, "not_found");
  EXPECT_EQ(r.backend(DeviceKind::kCpu)->status, "skipped");
}

TEST(Probe, LibraryWithoutTheApiIsAnError) {
  // libm loads fine but exports neither cuInit nor vkGetInstanceProcAddr.
  ProbeOptions o;
  o.cpu = false;
  o.metal = false;
  o.cuda_library = "libm.so.6";
  o.vulkan_library = "libm.so.6";
  const ProbeReport r = probe_devices(o);
#if defined(__linux__)
  EXPECT_EQ(r.backend(DeviceKind::kCuda)->status, "error");
  EXPECT_NE(r.backend(DeviceKind::kCuda)->error.find("entry points"), std::string::npos);
  EXPECT_EQ(r.backend(DeviceKind::kVulkan)->status, "error");
  EXPECT_NE(r.backend(DeviceKind::kVulkan)->error.find("vkGetInstanceProcAddr"), std::string::npos);
#endif
  EXPECT_TRUE(r.devices.empty());
}

TEST(Probe, CudaToolkitStubLibraryIsRecognised) {
  // The toolkit's link-time stub exports the API but every call fails: the probe must say so.
  const char* stub = "/usr/local/cuda/lib64/stubs/libcuda.so";
  if (!std::ifstream(stub).good()) GTEST_SKIP() << "no CUDA toolkit stub at " << stub;
  ProbeOptions o;
  o.cpu = o.vulkan = o.metal = false;
  o.cuda_library = stub;
  const ProbeReport r = probe_devices(o);
  const BackendProbe* b = r.backend(DeviceKind::kCuda);
  EXPECT_EQ(b->status, "error");
  EXPECT_NE(b->error.find("cuInit failed"), std::string::npos) << b->error;
  EXPECT_TRUE(r.devices.empty());
}

TEST(Probe, ForcedCpuIsaIsReported) {
  const char* old = std::getenv("BITNET_CPU_ISA");
  const std::string saved = old ? old : "";
  setenv("BITNET_CPU_ISA", "no-such-isa", 1);
  ProbeOptions o;
  o.cuda = o.vulkan = o.metal = false;
  const ProbeReport r = probe_devices(o);
  if (old)
    setenv("BITNET_CPU_ISA", saved.c_str(), 1);
  else
    unsetenv("BITNET_CPU_ISA");
  const DeviceInfo* cpu = find_cpu(r);
  ASSERT_NE(cpu, nullptr);
  EXPECT_EQ(cpu->cpu->kernel_isa_forced, "no-such-isa");
  EXPECT_NE(cpu->kernel_variant_error.find("no-such-isa"), std::string::npos)
      << cpu->kernel_variant_error;
}

// The keys docs/probe.md documents; keep the two in step.
const std::set<std::string> kTopKeys = {"schema_version", "host", "backends", "devices"};
const std::set<std::string> kHostKeys = {"os", "os_release", "machine"};
const std::set<std::string> kBackendKeys = {"kind",  "compiled",     "status",  "library",
                                            "error", "device_count", "probe_ms"};
const std::set<std::string> kDeviceKeys = {"id",
                                           "kind",
                                           "index",
                                           "name",
                                           "vendor",
                                           "arch",
                                           "device_type",
                                           "memory_total_bytes",
                                           "memory_usable_bytes",
                                           "memory_bandwidth_gbps",
                                           "bandwidth_source",
                                           "unified_memory",
                                           "compute_units",
                                           "subgroup_size",
                                           "features",
                                           "driver_version",
                                           "runtime_version",
                                           "kernel_variant",
                                           "kernel_variant_error",
                                           "usable",
                                           "unusable_reason",
                                           "backend_compiled",
                                           "cpu"};
const std::set<std::string> kCpuKeys = {
    "physical_cores", "logical_cores", "affinity_cores", "performance_cores", "efficiency_cores",
    "l1d_bytes",      "l2_bytes",      "l3_bytes",       "kernel_isa_forced"};

std::set<std::string> keys(const json& j) {
  std::set<std::string> k;
  for (auto it = j.begin(); it != j.end(); ++it) k.insert(it.key());
  return k;
}

TEST(ProbeJson, HasTheDocumentedKeys) {
  const json j = probe_report_to_json(probe_devices());
  EXPECT_EQ(keys(j), kTopKeys);
  EXPECT_EQ(j["schema_version"], 1);
  EXPECT_EQ(keys(j["host"]), kHostKeys);
  ASSERT_EQ(j["backends"].size(), 4u);
  for (const auto& b : j["backends"]) EXPECT_EQ(keys(b), kBackendKeys);
  ASSERT_GE(j["devices"].size(), 1u);
  for (const auto& d : j["devices"]) {
    EXPECT_EQ(keys(d), kDeviceKeys);
    if (d["kind"] == "cpu") {
      EXPECT_EQ(keys(d["cpu"]), kCpuKeys);
    } else {
      EXPECT_TRUE(d["cpu"].is_null());
    }
  }
  EXPECT_EQ(j["devices"][0]["id"], "cpu");
  EXPECT_TRUE(j["devices"][0]["features"].is_array());
  EXPECT_TRUE(j["devices"][0]["memory_total_bytes"].is_number_unsigned());
}

TEST(ProbeJson, RoundTripsThroughText) {
  ProbeReport r = probe_devices();
  // Add a fabricated GPU so every field kind is exercised.
  DeviceInfo g;
  g.kind = DeviceKind::kCuda;
  g.index = 1;
  g.name = "NVIDIA H100 80GB HBM3";
  g.vendor = "NVIDIA";
  g.arch = "sm_90";
  g.device_type = "discrete";
  g.memory_total_bytes = 85520809984ull;
  g.memory_usable_bytes = 84893433856ull;
  g.memory_bandwidth_gbps = 3352.32;
  g.bandwidth_source = BandwidthSource::kSpec;
  g.compute_units = 132;
  g.subgroup_size = 32;
  g.features = {"fp16", "dp4a", "bf16"};
  g.driver_version = "570.124.06";
  g.runtime_version = "12.8";
  g.usable = false;
  g.unusable_reason = "test \"quoted\" reason";
  r.devices.push_back(g);
  const std::string text = probe_report_to_json(r).dump(2);
  auto back = probe_report_from_json(json::parse(text));
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  EXPECT_TRUE(*back == r);
  EXPECT_EQ(probe_report_to_json(*back).dump(2), text);
}

TEST(ProbeJson, RejectsBadInput) {
  EXPECT_FALSE(probe_report_from_json(json::parse("{}")).is_ok());
  json j = probe_report_to_json(probe_devices());
  j["schema_version"] = 2;
  EXPECT_EQ(probe_report_from_json(j).status().code(), StatusCode::kUnsupported);
  j = probe_report_to_json(probe_devices());
  j["devices"][0]["kind"] = "tpu";
  EXPECT_EQ(probe_report_from_json(j).status().code(), StatusCode::kCorrupt);
  j = probe_report_to_json(probe_devices());
  j["devices"][0]["memory_total_bytes"] = "lots";
  EXPECT_FALSE(probe_report_from_json(j).is_ok());
  // Extra keys from a newer writer are fine.
  j = probe_report_to_json(probe_devices());
  j["devices"][0]["something_new"] = 1;
  j["selection"] = json::object();
  EXPECT_TRUE(probe_report_from_json(j).is_ok());
}

TEST(ProbeHelpers, Parsers) {
  using namespace probe_detail;
  EXPECT_EQ(parse_size_suffix("32K\n"), 32u << 10);
  EXPECT_EQ(parse_size_suffix("32768K"), 32ull << 20);
  EXPECT_EQ(parse_size_suffix("2M"), 2ull << 20);
  EXPECT_EQ(parse_size_suffix("4096"), 4096u);
  EXPECT_EQ(parse_size_suffix(""), 0u);
  EXPECT_EQ(parse_size_suffix("big"), 0u);
  EXPECT_EQ(parse_cpu_list("0-3,8,10-11\n"), (std::vector<int>{0, 1, 2, 3, 8, 10, 11}));
  EXPECT_EQ(parse_cpu_list("0"), (std::vector<int>{0}));
  EXPECT_TRUE(parse_cpu_list("").empty());
  const char* mi = "MemTotal:       24684092 kB\nMemFree:  1 kB\nMemAvailable:   24351292 kB\n";
  EXPECT_EQ(meminfo_bytes(mi, "MemTotal"), 24684092ull * 1024);
  EXPECT_EQ(meminfo_bytes(mi, "MemAvailable"), 24351292ull * 1024);
  EXPECT_EQ(meminfo_bytes(mi, "Mem"), 0u);
  EXPECT_EQ(arm_cpu_name(0x41, 0xd4f), "Neoverse-V2");
  EXPECT_EQ(arm_cpu_name(0x41, 0xfff), "");
  EXPECT_EQ(arm_vendor_name(0xc0), "Ampere");
  EXPECT_EQ(apple_chip_bandwidth_gbps("Apple M4 Pro"), 273);
  EXPECT_EQ(apple_chip_bandwidth_gbps("Apple M1"), 68.25);
  EXPECT_EQ(apple_chip_bandwidth_gbps("Apple M3 Max"), 0);  // 300 or 400 GB/s: ambiguous
  EXPECT_EQ(apple_chip_bandwidth_gbps("Intel(R) Core(TM) i9"), 0);
  EXPECT_GT(cgroup_memory_headroom(), 0u);
}

TEST(BackendRegistry, OnlyCpuIsCompiledToday) {
  EXPECT_TRUE(backend_compiled(DeviceKind::kCpu));
  EXPECT_FALSE(backend_compiled(DeviceKind::kCuda));
  EXPECT_FALSE(backend_compiled(DeviceKind::kVulkan));
  EXPECT_FALSE(backend_compiled(DeviceKind::kMetal));
  EXPECT_EQ(compiled_backends(), std::vector<DeviceKind>{DeviceKind::kCpu});
  EXPECT_EQ(backend_missing_hint(DeviceKind::kCpu), "");
  EXPECT_FALSE(backend_missing_hint(DeviceKind::kCuda).empty());
}

TEST(BackendRegistry, CreatesTheCpuBackendAndRefusesOthers) {
  ProbeOptions o;
  o.cuda = o.vulkan = o.metal = false;
  const ProbeReport r = probe_devices(o);
  const DeviceInfo* cpu = find_cpu(r);
  ASSERT_NE(cpu, nullptr);
  if (!cpu->kernel_variant_error.empty())
    GTEST_SKIP() << "BITNET_CPU_ISA is forced: " << cpu->kernel_variant_error;
  BackendOptions bo;
  bo.n_threads = 2;
  auto be = create_backend(*cpu, bo);
  ASSERT_TRUE(be.is_ok()) << be.status().to_string();
  EXPECT_EQ((*be)->name(), "cpu");
  EXPECT_EQ((*be)->variant(), cpu->kernel_variant);

  DeviceInfo gpu;
  gpu.kind = DeviceKind::kCuda;
  gpu.name = "NVIDIA H100 80GB HBM3";
  auto no = create_backend(gpu, bo);
  ASSERT_FALSE(no.is_ok());
  EXPECT_EQ(no.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(no.status().message().find("no CUDA backend"), std::string::npos);

  DeviceInfo bad = *cpu;
  bad.usable = false;
  bad.unusable_reason = "test";
  EXPECT_FALSE(create_backend(bad, bo).is_ok());
}

}  // namespace
}  // namespace bitnet
