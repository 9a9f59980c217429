// CUDA probe through the driver API loaded at run time (dlopen("libcuda.so.1")): no CUDA headers
// or toolkit are needed, so every build reports NVIDIA GPUs, including builds without the CUDA
// backend. Only the dozen entry points below are used; their signatures and enum values are those
// of cuda.h (stable since CUDA 3.2 / 4.0; the _v2 names are the 64-bit-size variants).
#include <dlfcn.h>

#include <cstddef>
#include <string>

#include "core/strings.h"
#include "runtime/probe_internal.h"

namespace bitnet::probe_detail {
namespace {

using CUresult = int;
using CUdevice = int;
using CUcontext = void*;
constexpr CUresult kCudaSuccess = 0;

// cuda.h CUdevice_attribute values.
enum CuAttr : int {
  kAttrWarpSize = 10,
  kAttrMultiprocessorCount = 16,
  kAttrIntegrated = 18,
  kAttrComputeMode = 20,
  kAttrMemoryClockRate = 36,       // kHz (peak)
  kAttrGlobalMemoryBusWidth = 37,  // bits
  kAttrL2CacheSize = 38,
  kAttrCcMajor = 75,
  kAttrCcMinor = 76,
};
constexpr int kComputeModeProhibited = 2;  // CU_COMPUTEMODE_PROHIBITED

// Lowest compute capability the planned CUDA backend targets: 6.1 brings dp4a (4x int8 dot
// product), the instruction its int8 x ternary kernels build on.
constexpr int kMinCcMajor = 6, kMinCcMinor = 1;

struct CudaApi {
  CUresult (*cuInit)(unsigned) = nullptr;
  CUresult (*cuDriverGetVersion)(int*) = nullptr;
  CUresult (*cuDeviceGetCount)(int*) = nullptr;
  CUresult (*cuDeviceGet)(CUdevice*, int) = nullptr;
  CUresult (*cuDeviceGetName)(char*, int, CUdevice) = nullptr;
  CUresult (*cuDeviceTotalMem_v2)(size_t*, CUdevice) = nullptr;
  CUresult (*cuDeviceGetAttribute)(int*, int, CUdevice) = nullptr;
  // Optional: error names, and free memory through the device's primary context.
  CUresult (*cuGetErrorName)(CUresult, const char**) = nullptr;
  CUresult (*cuDevicePrimaryCtxRetain)(CUcontext*, CUdevice) = nullptr;
  CUresult (*cuDevicePrimaryCtxRelease_v2)(CUdevice) = nullptr;
  CUresult (*cuCtxPushCurrent_v2)(CUcontext) = nullptr;
  CUresult (*cuCtxPopCurrent_v2)(CUcontext*) = nullptr;
  CUresult (*cuMemGetInfo_v2)(size_t*, size_t*) = nullptr;

  std::string err(CUresult r) const {
    const char* name = nullptr;
    if (cuGetErrorName && cuGetErrorName(r, &name) == kCudaSuccess && name)
      return strfmt("%s (%d)", name, r);
    // cuGetErrorName itself fails in the toolkit's stub library; name the codes seen at probe time.
    switch (r) {
      case 2:
        return "CUDA_ERROR_OUT_OF_MEMORY (2)";
      case 3:
        return "CUDA_ERROR_NOT_INITIALIZED (3)";
      case 34:
        return "CUDA_ERROR_STUB_LIBRARY (34)";
      case 35:
        return "CUDA_ERROR_INSUFFICIENT_DRIVER (35)";
      case 46:
        return "CUDA_ERROR_DEVICES_UNAVAILABLE (46)";
      case 100:
        return "CUDA_ERROR_NO_DEVICE (100)";
      case 101:
        return "CUDA_ERROR_INVALID_DEVICE (101)";
      case 803:
        return "CUDA_ERROR_SYSTEM_NOT_READY (803)";
      case 999:
        return "CUDA_ERROR_UNKNOWN (999)";
    }
    return strfmt("CUDA error %d", r);
  }
};

template <typename F>
bool load(void* lib, const char* name, F* fn) {
  *fn = reinterpret_cast<F>(dlsym(lib, name));
  return *fn != nullptr;
}

// Release of the NVIDIA kernel module ("570.124.06"), which `nvidia-smi` calls the driver version.
std::string nvidia_kernel_module_version() {
  const std::string t = read_text_file("/proc/driver/nvidia/version");
  const size_t m = t.find("Kernel Module");
  if (m == std::string::npos) return "";
  size_t i = m + 13;
  // Skip words until a token that starts with a digit ("for x86_64  570.124.06").
  while (i < t.size() && t[i] != '\n') {
    while (i < t.size() && t[i] == ' ') ++i;
    size_t j = i;
    while (j < t.size() && t[j] != ' ' && t[j] != '\n') ++j;
    if (j > i && t[i] >= '0' && t[i] <= '9') return t.substr(i, j - i);
    i = j;
  }
  return "";
}

void add_cc_features(int major, int minor, DeviceInfo* d) {
  const int cc = major * 10 + minor;
  auto add = [&](bool on, const char* f) {
    if (on) d->features.emplace_back(f);
  };
  add(cc >= 53, "fp16");
  add(cc >= 61, "dp4a");
  add(cc >= 70, "tensor_cores");
  add(cc >= 72, "int8_tensor_cores");
  add(cc >= 80, "bf16");
  add(cc >= 80, "cp_async");
  add(cc >= 89, "fp8");
  add(cc >= 90, "tma");
}

}  // namespace

ApiProbe probe_cuda(const std::string& library) {
  ApiProbe out;
  out.backend.kind = DeviceKind::kCuda;
  out.backend.library = library;
#if defined(__APPLE__)
  out.backend.status = "skipped";
  out.backend.error = "CUDA is not available on macOS";
  return out;
#else
  // RTLD_LOCAL: keep the driver's symbols out of the global namespace. The handle is never
  // closed: unloading a GPU driver library while it owns threads / atexit handlers is unsafe, and
  // the CUDA backend will load the same library again.
  void* lib = dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char* e = dlerror();
    out.backend.status = "not_found";
    out.backend.error = strfmt("cannot load %s (%s): no NVIDIA driver installed", library.c_str(),
                               e ? e : "unknown error");
    return out;
  }
  CudaApi api;
  const bool ok = load(lib, "cuInit", &api.cuInit) &&
                  load(lib, "cuDriverGetVersion", &api.cuDriverGetVersion) &&
                  load(lib, "cuDeviceGetCount", &api.cuDeviceGetCount) &&
                  load(lib, "cuDeviceGet", &api.cuDeviceGet) &&
                  load(lib, "cuDeviceGetName", &api.cuDeviceGetName) &&
                  load(lib, "cuDeviceTotalMem_v2", &api.cuDeviceTotalMem_v2) &&
                  load(lib, "cuDeviceGetAttribute", &api.cuDeviceGetAttribute);
  if (!ok) {
    out.backend.status = "error";
    out.backend.error =
        strfmt("%s lacks the CUDA driver API entry points (not a CUDA driver?)", library.c_str());
    return out;
  }
  load(lib, "cuGetErrorName", &api.cuGetErrorName);
  const bool can_query_free =
      load(lib, "cuDevicePrimaryCtxRetain", &api.cuDevicePrimaryCtxRetain) &&
      load(lib, "cuDevicePrimaryCtxRelease_v2", &api.cuDevicePrimaryCtxRelease_v2) &&
      load(lib, "cuCtxPushCurrent_v2", &api.cuCtxPushCurrent_v2) &&
      load(lib, "cuCtxPopCurrent_v2", &api.cuCtxPopCurrent_v2) &&
      load(lib, "cuMemGetInfo_v2", &api.cuMemGetInfo_v2);

  CUresult r = api.cuInit(0);
  if (r != kCudaSuccess) {
    out.backend.status = "error";
    // 100 = no device (e.g. CUDA_VISIBLE_DEVICES=""), 34 = the toolkit's link stub was loaded,
    // 35 = driver older than the library, 999 = unknown (often a kernel-module mismatch).
    out.backend.error = strfmt("cuInit failed: %s", api.err(r).c_str());
    if (r == 100) {
      out.backend.status = "ok";  // the API answered: there are no devices
      out.backend.error = "";
    } else if (r == 34) {
      out.backend.error += ": the CUDA toolkit's stub libcuda was loaded instead of the driver";
    } else if (r == 35) {
      out.backend.error +=
          ": the NVIDIA kernel module is older than libcuda (reboot or reinstall the driver)";
    } else if (r == 803) {
      out.backend.error += ": on NVSwitch systems (HGX/DGX) start nvidia-fabricmanager";
    }
    return out;
  }
  int drv = 0;
  api.cuDriverGetVersion(&drv);
  const std::string runtime = strfmt("%d.%d", drv / 1000, (drv % 1000) / 10);
  const std::string module = nvidia_kernel_module_version();

  int count = 0;
  r = api.cuDeviceGetCount(&count);
  if (r != kCudaSuccess) {
    out.backend.status = "error";
    out.backend.error = strfmt("cuDeviceGetCount failed: %s", api.err(r).c_str());
    return out;
  }
  out.backend.status = "ok";
  out.backend.device_count = count;
  for (int i = 0; i < count; ++i) {
    DeviceInfo d;
    d.kind = DeviceKind::kCuda;
    d.index = i;
    d.vendor = "NVIDIA";
    d.device_type = "discrete";
    d.runtime_version = runtime;
    d.driver_version = module;
    CUdevice dev = 0;
    r = api.cuDeviceGet(&dev, i);
    if (r != kCudaSuccess) {
      d.name = strfmt("CUDA device %d", i);
      d.usable = false;
      d.unusable_reason = strfmt("cuDeviceGet failed: %s", api.err(r).c_str());
      out.devices.push_back(std::move(d));
      continue;
    }
    char name[256] = {};
    if (api.cuDeviceGetName(name, sizeof(name) - 1, dev) == kCudaSuccess) d.name = name;
    if (d.name.empty()) d.name = strfmt("CUDA device %d", i);
    size_t total = 0;
    if (api.cuDeviceTotalMem_v2(&total, dev) == kCudaSuccess) d.memory_total_bytes = total;
    d.memory_usable_bytes = d.memory_total_bytes;

    auto attr = [&](int a) {
      int v = 0;
      return api.cuDeviceGetAttribute(&v, a, dev) == kCudaSuccess ? v : 0;
    };
    const int major = attr(kAttrCcMajor), minor = attr(kAttrCcMinor);
    d.arch = strfmt("sm_%d%d", major, minor);
    d.compute_units = attr(kAttrMultiprocessorCount);
    d.subgroup_size = attr(kAttrWarpSize);
    if (attr(kAttrIntegrated)) {  // Jetson / GB10-style: GPU shares system memory
      d.device_type = "integrated";
      d.unified_memory = true;
    }
    // Peak DRAM bandwidth from the datasheet-style formula: 2 transfers per memory clock (DDR /
    // HBM) x bus width. H100 SXM: 2 x 2619 MHz x 5120 bit / 8 = 3352 GB/s.
    const double clock_khz = attr(kAttrMemoryClockRate), bus_bits = attr(kAttrGlobalMemoryBusWidth);
    if (clock_khz > 0 && bus_bits > 0) {
      d.memory_bandwidth_gbps = 2.0 * clock_khz * 1e3 * (bus_bits / 8.0) / 1e9;
      d.bandwidth_source = BandwidthSource::kSpec;
    }
    add_cc_features(major, minor, &d);

    if (major * 10 + minor < kMinCcMajor * 10 + kMinCcMinor) {
      d.usable = false;
      d.unusable_reason = strfmt("compute capability %d.%d is below %d.%d (dp4a int8 dot products)",
                                 major, minor, kMinCcMajor, kMinCcMinor);
    } else if (attr(kAttrComputeMode) == kComputeModeProhibited) {
      d.usable = false;
      d.unusable_reason = "compute mode is Prohibited (nvidia-smi -c); no context can be created";
    } else if (can_query_free) {
      // Free memory needs a context. The primary context is the one the CUDA backend will use
      // too; retaining it here also proves that a context can be created at all (fails when the
      // GPU is in exclusive-process mode and taken, out of memory, or lost).
      CUcontext ctx = nullptr;
      r = api.cuDevicePrimaryCtxRetain(&ctx, dev);
      if (r != kCudaSuccess) {
        d.usable = false;
        d.unusable_reason = strfmt("cannot create a CUDA context: %s", api.err(r).c_str());
      } else {
        if (api.cuCtxPushCurrent_v2(ctx) == kCudaSuccess) {
          size_t free_b = 0, total_b = 0;
          if (api.cuMemGetInfo_v2(&free_b, &total_b) == kCudaSuccess)
            d.memory_usable_bytes = free_b;
          CUcontext popped = nullptr;
          api.cuCtxPopCurrent_v2(&popped);
        }
        api.cuDevicePrimaryCtxRelease_v2(dev);
      }
    }
    out.devices.push_back(std::move(d));
  }
  return out;
#endif
}

}  // namespace bitnet::probe_detail
