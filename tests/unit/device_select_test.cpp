// Device selection over fabricated probe results: spec parsing, flag > env > auto precedence, the
// auto order, memory fit, and the errors for absent / uncompiled / unusable devices.
#include "runtime/device_select.h"

#include <gtest/gtest.h>

namespace bitnet {
namespace {

constexpr uint64_t kGiB = 1ull << 30;

DeviceInfo cpu_dev(uint64_t usable = 16 * kGiB) {
  DeviceInfo d;
  d.kind = DeviceKind::kCpu;
  d.name = "Test CPU";
  d.device_type = "cpu";
  d.memory_total_bytes = 32 * kGiB;
  d.memory_usable_bytes = usable;
  d.kernel_variant = "avx512vnni";
  d.backend_compiled = true;
  d.cpu = CpuDetails{};
  return d;
}

DeviceInfo gpu(DeviceKind kind, int index, const char* name, uint64_t usable, bool compiled,
               const char* type = "discrete") {
  DeviceInfo d;
  d.kind = kind;
  d.index = index;
  d.name = name;
  d.device_type = type;
  d.memory_total_bytes = usable;
  d.memory_usable_bytes = usable;
  d.backend_compiled = compiled;
  return d;
}

BackendProbe bp(DeviceKind k, bool compiled, const char* status = "ok", const char* error = "") {
  BackendProbe b;
  b.kind = k;
  b.compiled = compiled;
  b.status = status;
  b.error = error;
  return b;
}

// A machine with everything compiled in: cpu, cuda:0 (80 GiB), cuda:1 (8 GiB), a Vulkan
// integrated GPU, a Vulkan discrete GPU and llvmpipe.
ProbeReport full_machine() {
  ProbeReport r;
  r.backends = {bp(DeviceKind::kCpu, true), bp(DeviceKind::kCuda, true),
                bp(DeviceKind::kVulkan, true),
                bp(DeviceKind::kMetal, false, "skipped", "Metal exists only on macOS")};
  r.devices = {
      cpu_dev(),
      gpu(DeviceKind::kCuda, 0, "NVIDIA H100 80GB HBM3", 80 * kGiB, true),
      gpu(DeviceKind::kCuda, 1, "NVIDIA RTX A2000", 8 * kGiB, true),
      gpu(DeviceKind::kVulkan, 0, "Intel(R) UHD Graphics", 8 * kGiB, true, "integrated"),
      gpu(DeviceKind::kVulkan, 1, "AMD Radeon RX 7900 XTX", 24 * kGiB, true, "discrete"),
      gpu(DeviceKind::kVulkan, 2, "llvmpipe (LLVM 15.0.6, 256 bits)", 16 * kGiB, true, "cpu")};
  return r;
}

// Today's build: only the CPU backend; the machine has one NVIDIA GPU.
ProbeReport cpu_only_build_with_nvidia() {
  ProbeReport r;
  r.backends = {bp(DeviceKind::kCpu, true), bp(DeviceKind::kCuda, false),
                bp(DeviceKind::kVulkan, false, "not_found", "cannot load libvulkan.so.1"),
                bp(DeviceKind::kMetal, false, "skipped", "Metal exists only on macOS")};
  r.devices = {cpu_dev(), gpu(DeviceKind::kCuda, 0, "NVIDIA H100 80GB HBM3", 80 * kGiB, false)};
  return r;
}

DeviceRequest req(const char* spec, DeviceRequestSource src = DeviceRequestSource::kFlag) {
  auto s = parse_device_spec(spec);
  EXPECT_TRUE(s.is_ok()) << spec << ": " << s.status().to_string();
  return DeviceRequest{*s, src};
}

std::string selected_id(const ProbeReport& r, const DeviceRequest& q, uint64_t need = 0) {
  auto sel = select_device(r, q, need);
  if (!sel.is_ok()) return "ERROR: " + sel.status().message();
  return r.devices[sel->device].id();
}

TEST(DeviceSpec, ParsesValidSpecs) {
  struct Case {
    const char* in;
    const char* canonical;
  } cases[] = {{"auto", "auto"},     {"cpu", "cpu"},         {"CUDA", "cuda"},
               {"cuda:0", "cuda:0"}, {"cuda:12", "cuda:12"}, {" vulkan:1 ", "vulkan:1"},
               {"metal", "metal"},   {"metal:0", "metal"},   {"cpu:0", "cpu"}};
  for (const auto& c : cases) {
    auto s = parse_device_spec(c.in);
    ASSERT_TRUE(s.is_ok()) << c.in << ": " << s.status().to_string();
    EXPECT_EQ(s->text(), c.canonical) << c.in;
  }
  EXPECT_TRUE(parse_device_spec("auto")->is_auto);
  EXPECT_EQ(parse_device_spec("cuda")->index, -1);
  EXPECT_EQ(parse_device_spec("vulkan:3")->index, 3);
}

TEST(DeviceSpec, RejectsMalformedSpecs) {
  for (const char* bad : {"gpu", "cuda:x", "cuda:-1", "cuda:", "cuda:1.5", "cuda:0:1", "", "  ",
                          "cpu:1", "metal:2", "opencl", "cuda 0", "cuda:99999999"}) {
    auto s = parse_device_spec(bad);
    ASSERT_FALSE(s.is_ok()) << "accepted \"" << bad << "\"";
    EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument) << bad;
  }
  // The messages say what is expected.
  EXPECT_NE(
      parse_device_spec("gpu").status().message().find("auto, cpu, cuda[:N], vulkan[:N] or metal"),
      std::string::npos);
  EXPECT_NE(parse_device_spec("gpu").status().message().find("use auto"), std::string::npos);
  EXPECT_NE(parse_device_spec("cuda:x").status().message().find("number >= 0"), std::string::npos);
}

TEST(DeviceRequest, FlagBeatsEnvBeatsAuto) {
  auto r = resolve_device_request("", nullptr);
  ASSERT_TRUE(r.is_ok());
  EXPECT_TRUE(r->spec.is_auto);
  EXPECT_EQ(r->source, DeviceRequestSource::kDefault);

  r = resolve_device_request("", "");  // empty env = unset
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->source, DeviceRequestSource::kDefault);

  r = resolve_device_request("", "cuda:1");
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->spec.text(), "cuda:1");
  EXPECT_EQ(r->source, DeviceRequestSource::kEnv);

  r = resolve_device_request("cpu", "cuda:1");
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(r->spec.text(), "cpu");
  EXPECT_EQ(r->source, DeviceRequestSource::kFlag);

  // An explicit flag wins even over a malformed env value (which is then never read).
  r = resolve_device_request("auto", "gpu");
  ASSERT_TRUE(r.is_ok());
  EXPECT_TRUE(r->spec.is_auto);

  r = resolve_device_request("", "gpu");
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("BITNET_DEVICE"), std::string::npos);
  r = resolve_device_request("cuda:x", nullptr);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("--device"), std::string::npos);
}

TEST(DeviceSelect, AutoOrderCudaThenVulkanDiscreteThenIntegratedThenCpu) {
  ProbeReport r = full_machine();
  EXPECT_EQ(selected_id(r, req("auto")), "cuda:0");
  r.devices[1].usable = false;  // cuda:0 gone bad -> cuda:1
  r.devices[1].unusable_reason = "test";
  EXPECT_EQ(selected_id(r, req("auto")), "cuda:1");
  r.devices[2].backend_compiled = false;               // pretend no CUDA backend for cuda:1
  EXPECT_EQ(selected_id(r, req("auto")), "vulkan:1");  // discrete before integrated
  r.devices[4].usable = false;
  EXPECT_EQ(selected_id(r, req("auto")), "vulkan:0");  // integrated
  r.devices[3].backend_compiled = false;
  // llvmpipe (software) is never chosen by auto: the CPU backend is.
  EXPECT_EQ(selected_id(r, req("auto")), "cpu");
}

TEST(DeviceSelect, AutoPrefersMetalOverVulkan) {
  ProbeReport r;
  r.backends = {bp(DeviceKind::kCpu, true), bp(DeviceKind::kVulkan, true),
                bp(DeviceKind::kMetal, true)};
  r.devices = {
      cpu_dev(),
      gpu(DeviceKind::kVulkan, 0, "Apple M2 Pro (MoltenVK)", 24 * kGiB, true, "integrated"),
      gpu(DeviceKind::kMetal, 0, "Apple M2 Pro", 24 * kGiB, true, "integrated")};
  EXPECT_EQ(selected_id(r, req("auto")), "metal");
}

TEST(DeviceSelect, AutoSkipsDevicesWithoutEnoughMemory) {
  ProbeReport r = full_machine();
  EXPECT_EQ(selected_id(r, req("auto"), 40 * kGiB), "cuda:0");
  r.devices[1].memory_usable_bytes = 4 * kGiB;  // cuda:0 busy: 4 GiB free
  EXPECT_EQ(selected_id(r, req("auto"), 6 * kGiB), "cuda:1");
  EXPECT_EQ(selected_id(r, req("auto"), 12 * kGiB), "vulkan:1");
  EXPECT_EQ(
      selected_id(r, req("auto"), 30 * kGiB),
      "ERROR: no device can run this model "
      "(cuda:0: needs 30.0 GiB but only 4.0 GiB is free; cuda:1: needs 30.0 GiB but only 8.0 GiB "
      "is free; vulkan:1: needs 30.0 GiB but only 24.0 GiB is free; vulkan:0: needs 30.0 GiB but "
      "only 8.0 GiB is free; cpu: needs 30.0 GiB but only 16.0 GiB is free); available: "
      "[cpu(avx512vnni), "
      "cuda:0(H100 80GB HBM3), cuda:1(RTX A2000), vulkan:0(UHD Graphics), vulkan:1(Radeon RX 7900 "
      "XTX), "
      "vulkan:2(llvmpipe (LLVM 15.0.6, 256 bits); software)]");
  // required_bytes = 0 means "unknown": no memory check at all.
  r.devices[1].memory_usable_bytes = 0;
  EXPECT_EQ(selected_id(r, req("auto"), 0), "cuda:0");
}

TEST(DeviceSelect, AutoFallsBackToCpuWhenGpuBackendsAreNotBuilt) {
  ProbeReport r = cpu_only_build_with_nvidia();
  auto sel = select_device(r, req("auto", DeviceRequestSource::kDefault), 1 * kGiB);
  ASSERT_TRUE(sel.is_ok()) << sel.status().to_string();
  EXPECT_EQ(r.devices[sel->device].id(), "cpu");
  EXPECT_EQ(sel->summary,
            "device: requested=auto available=[cpu(avx512vnni), cuda:0(H100 80GB HBM3; not built)] "
            "selected=cpu");
}

TEST(DeviceSelect, SummaryNamesEnvAsTheSource) {
  ProbeReport r = full_machine();
  auto sel = select_device(r, req("cuda:1", DeviceRequestSource::kEnv), 0);
  ASSERT_TRUE(sel.is_ok());
  EXPECT_EQ(sel->summary.rfind("device: requested=cuda:1 (BITNET_DEVICE) available=[", 0), 0u)
      << sel->summary;
  EXPECT_NE(sel->summary.find(" selected=cuda:1"), std::string::npos);
}

TEST(DeviceSelect, ExplicitRequests) {
  ProbeReport r = full_machine();
  EXPECT_EQ(selected_id(r, req("cpu")), "cpu");
  EXPECT_EQ(selected_id(r, req("cuda")), "cuda:0");
  EXPECT_EQ(selected_id(r, req("cuda:1")), "cuda:1");
  EXPECT_EQ(selected_id(r, req("vulkan")), "vulkan:1");    // hardware, discrete first
  EXPECT_EQ(selected_id(r, req("vulkan:2")), "vulkan:2");  // software only when named
  // `cuda` without an index takes the first CUDA device that fits.
  EXPECT_EQ(selected_id(r, req("cuda"), 50 * kGiB), "cuda:0");
  r.devices[1].memory_usable_bytes = 2 * kGiB;
  EXPECT_EQ(selected_id(r, req("cuda"), 6 * kGiB), "cuda:1");
}

TEST(DeviceSelect, ExplicitIndexOutOfRangeListsDevices) {
  ProbeReport r = cpu_only_build_with_nvidia();
  r.backends[1].compiled = true;
  r.devices[1].backend_compiled = true;
  auto sel = select_device(r, req("cuda:1"), 0);
  ASSERT_FALSE(sel.is_ok());
  EXPECT_EQ(sel.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(sel.status().message(),
            "--device cuda:1: no such device; 1 CUDA device found (cuda:0); available: "
            "[cpu(avx512vnni), cuda:0(H100 80GB HBM3)]");
  EXPECT_EQ(selected_id(r, req("cuda:0")), "cuda:0");
}

TEST(DeviceSelect, ExplicitUncompiledBackendFailsWithoutFallback) {
  ProbeReport r = cpu_only_build_with_nvidia();
  auto sel = select_device(r, req("cuda"), 0);
  ASSERT_FALSE(sel.is_ok());
  EXPECT_EQ(sel.status().code(), StatusCode::kUnavailable);
  const std::string& m = sel.status().message();
  EXPECT_NE(m.find("this build has no CUDA backend"), std::string::npos) << m;
  EXPECT_NE(m.find("found cuda:0 (NVIDIA H100 80GB HBM3)"), std::string::npos) << m;
  EXPECT_NE(m.find("available: [cpu(avx512vnni)"), std::string::npos) << m;
  // Same for the index form.
  EXPECT_FALSE(select_device(r, req("cuda:0"), 0).is_ok());
}

TEST(DeviceSelect, ExplicitAbsentBackendExplainsWhy) {
  ProbeReport r = cpu_only_build_with_nvidia();
  auto sel = select_device(r, req("vulkan"), 0);
  ASSERT_FALSE(sel.is_ok());
  EXPECT_EQ(sel.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(
      sel.status().message(),
      "--device vulkan: no Vulkan device found (cannot load libvulkan.so.1); this build has no "
      "Vulkan backend either (not implemented yet; only device probing exists); available: "
      "[cpu(avx512vnni), cuda:0(H100 80GB HBM3; not built)]");
  sel = select_device(r, req("metal", DeviceRequestSource::kEnv), 0);
  ASSERT_FALSE(sel.is_ok());
  EXPECT_EQ(sel.status().message().rfind(
                "BITNET_DEVICE=metal: no Metal device found (Metal exists only on macOS)", 0),
            0u)
      << sel.status().message();
}

TEST(DeviceSelect, ExplicitUnusableOrTooSmallDeviceFails) {
  ProbeReport r = full_machine();
  r.devices[2].usable = false;
  r.devices[2].unusable_reason = "compute capability 5.2 is below 6.1";
  auto sel = select_device(r, req("cuda:1"), 0);
  ASSERT_FALSE(sel.is_ok());
  EXPECT_NE(
      sel.status().message().find("cuda:1 (NVIDIA RTX A2000): not usable: compute capability 5.2"),
      std::string::npos)
      << sel.status().message();
  sel = select_device(r, req("cuda:0"), 100 * kGiB);
  ASSERT_FALSE(sel.is_ok());
  EXPECT_NE(sel.status().message().find("needs 100.0 GiB but only 80.0 GiB is free"),
            std::string::npos);
  // No silent fallback to another device or kind.
  sel = select_device(r, req("cuda"), 100 * kGiB);
  ASSERT_FALSE(sel.is_ok());
}

TEST(DeviceSelect, ForcedCpuIsaThatCannotBeHonouredIsAnError) {
  ProbeReport r = cpu_only_build_with_nvidia();
  r.devices[0].kernel_variant = "ref";
  r.devices[0].kernel_variant_error = "BITNET_CPU_ISA=neon is not available on this CPU";
  auto sel = select_device(r, req("cpu"), 0);
  ASSERT_FALSE(sel.is_ok());
  EXPECT_NE(sel.status().message().find("BITNET_CPU_ISA=neon"), std::string::npos);
  sel = select_device(r, req("auto", DeviceRequestSource::kDefault), 0);
  ASSERT_FALSE(sel.is_ok());
  // When a GPU is chosen the CPU kernel override does not matter.
  ProbeReport f = full_machine();
  f.devices[0].kernel_variant_error = "BITNET_CPU_ISA=neon is not available on this CPU";
  EXPECT_EQ(selected_id(f, req("auto")), "cuda:0");
}

TEST(DeviceSelect, EmptyReport) {
  ProbeReport r;
  auto sel = select_device(r, req("auto"), 0);
  ASSERT_FALSE(sel.is_ok());
  EXPECT_NE(sel.status().message().find("no devices were found"), std::string::npos);
  EXPECT_FALSE(select_device(r, req("cpu"), 0).is_ok());
}

TEST(DeviceSelect, DescribeDeviceShort) {
  ProbeReport r = full_machine();
  EXPECT_EQ(describe_device_short(r.devices[0]), "cpu(avx512vnni)");
  EXPECT_EQ(describe_device_short(r.devices[1]), "cuda:0(H100 80GB HBM3)");
  r.devices[1].usable = false;
  EXPECT_EQ(describe_device_short(r.devices[1]), "cuda:0(H100 80GB HBM3; unusable)");
  r.devices[1].backend_compiled = false;
  EXPECT_EQ(describe_device_short(r.devices[1]), "cuda:0(H100 80GB HBM3; not built)");
}

}  // namespace
}  // namespace bitnet
