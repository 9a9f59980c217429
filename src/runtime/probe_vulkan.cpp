// Vulkan probe through the loader opened at run time (dlopen("libvulkan.so.1")): no Vulkan SDK
// or headers are needed and the binary never links libvulkan. The few structs used are declared
// below with the layouts of vulkan_core.h; structs the driver writes into but whose tails we do
// not read are padded generously (a driver writes exactly the spec'd size, never more).
#include <dlfcn.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "core/strings.h"
#include "runtime/probe_internal.h"

namespace bitnet::probe_detail {
namespace vk {

using Result = int32_t;
using Bool32 = uint32_t;
using DeviceSize = uint64_t;
using Instance = struct InstanceT*;
using PhysicalDevice = struct PhysicalDeviceT*;
using VoidFn = void (*)();

constexpr Result kSuccess = 0, kIncomplete = 5, kErrorIncompatibleDriver = -9;
constexpr uint32_t kApi10 = 1u << 22, kApi11 = kApi10 | (1u << 12), kApi12 = kApi10 | (2u << 12),
                   kApi13 = kApi10 | (3u << 12);

// VkStructureType values.
enum : int32_t {
  kStApplicationInfo = 0,
  kStInstanceCreateInfo = 1,
  kStVulkan11Features = 49,
  kStVulkan11Properties = 50,
  kStVulkan12Features = 51,
  kStVulkan12Properties = 52,
  kStVulkan13Features = 53,
  kStFeatures2 = 1000059000,
  kStProperties2 = 1000059001,
  kStMemoryProperties2 = 1000059006,
  kStSubgroupProperties = 1000094000,
  kStMemoryBudgetProperties = 1000237000,
};
enum : int32_t {
  kTypeOther = 0,
  kTypeIntegrated = 1,
  kTypeDiscrete = 2,
  kTypeVirtual = 3,
  kTypeCpu = 4
};
constexpr uint32_t kHeapDeviceLocal = 0x1;
constexpr uint32_t kStageCompute = 0x20;
constexpr uint32_t kSubgroupArithmetic = 0x4, kSubgroupShuffle = 0x10;
constexpr uint32_t kInstanceEnumeratePortability = 0x1;

struct ApplicationInfo {
  int32_t sType;
  const void* pNext;
  const char* pApplicationName;
  uint32_t applicationVersion;
  const char* pEngineName;
  uint32_t engineVersion;
  uint32_t apiVersion;
};
struct InstanceCreateInfo {
  int32_t sType;
  const void* pNext;
  uint32_t flags;
  const ApplicationInfo* pApplicationInfo;
  uint32_t enabledLayerCount;
  const char* const* ppEnabledLayerNames;
  uint32_t enabledExtensionCount;
  const char* const* ppEnabledExtensionNames;
};
struct ExtensionProperties {
  char extensionName[256];
  uint32_t specVersion;
};
// VkPhysicalDeviceProperties: the head we read, then limits + sparse properties (824 bytes in
// all for Vulkan 1.3) which we only leave room for.
struct PhysicalDeviceProperties {
  uint32_t apiVersion;
  uint32_t driverVersion;
  uint32_t vendorID;
  uint32_t deviceID;
  int32_t deviceType;
  char deviceName[256];
  uint8_t pipelineCacheUUID[16];
  alignas(8) uint8_t limits_and_sparse[1024];
};
struct MemoryType {
  uint32_t propertyFlags;
  uint32_t heapIndex;
};
struct MemoryHeap {
  DeviceSize size;
  uint32_t flags;
};
struct PhysicalDeviceMemoryProperties {
  uint32_t memoryTypeCount;
  MemoryType memoryTypes[32];
  uint32_t memoryHeapCount;
  MemoryHeap memoryHeaps[16];
};
static_assert(sizeof(PhysicalDeviceMemoryProperties) == 520,
              "VkPhysicalDeviceMemoryProperties layout");

struct Properties2 {
  int32_t sType;
  void* pNext;
  PhysicalDeviceProperties properties;
};
struct SubgroupProperties {  // Vulkan 1.1
  int32_t sType;
  void* pNext;
  uint32_t subgroupSize;
  uint32_t supportedStages;
  uint32_t supportedOperations;
  Bool32 quadOperationsInAllStages;
};
struct Vulkan11Properties {  // Vulkan 1.2
  int32_t sType;
  void* pNext;
  uint8_t deviceUUID[16];
  uint8_t driverUUID[16];
  uint8_t deviceLUID[8];
  uint32_t deviceNodeMask;
  Bool32 deviceLUIDValid;
  uint32_t subgroupSize;
  uint32_t subgroupSupportedStages;
  uint32_t subgroupSupportedOperations;
  Bool32 subgroupQuadOperationsInAllStages;
  int32_t pointClippingBehavior;
  uint32_t maxMultiviewViewCount;
  uint32_t maxMultiviewInstanceIndex;
  Bool32 protectedNoFault;
  uint32_t maxPerSetDescriptors;
  DeviceSize maxMemoryAllocationSize;
};
static_assert(sizeof(Vulkan11Properties) == 112, "VkPhysicalDeviceVulkan11Properties layout");
struct Vulkan12Properties {  // Vulkan 1.2: only the driver identification head is read
  int32_t sType;
  void* pNext;
  int32_t driverID;
  char driverName[256];
  char driverInfo[256];
  uint8_t conformanceVersion[4];
  alignas(8) uint8_t rest[1024];
};
struct Features2 {
  int32_t sType;
  void* pNext;
  Bool32 features[55];  // VkPhysicalDeviceFeatures: 55 VkBool32 members
};
struct Vulkan11Features {
  int32_t sType;
  void* pNext;
  Bool32 storageBuffer16BitAccess;
  Bool32 uniformAndStorageBuffer16BitAccess;
  Bool32 storagePushConstant16;
  Bool32 storageInputOutput16;
  Bool32 rest[8];
};
struct Vulkan12Features {
  int32_t sType;
  void* pNext;
  Bool32 samplerMirrorClampToEdge;
  Bool32 drawIndirectCount;
  Bool32 storageBuffer8BitAccess;
  Bool32 uniformAndStorageBuffer8BitAccess;
  Bool32 storagePushConstant8;
  Bool32 shaderBufferInt64Atomics;
  Bool32 shaderSharedInt64Atomics;
  Bool32 shaderFloat16;
  Bool32 shaderInt8;
  Bool32 rest[38];  // 47 members in all
};
struct Vulkan13Features {
  int32_t sType;
  void* pNext;
  Bool32 robustImageAccess;
  Bool32 inlineUniformBlock;
  Bool32 descriptorBindingInlineUniformBlockUpdateAfterBind;
  Bool32 pipelineCreationCacheControl;
  Bool32 privateData;
  Bool32 shaderDemoteToHelperInvocation;
  Bool32 shaderTerminateInvocation;
  Bool32 subgroupSizeControl;
  Bool32 computeFullSubgroups;
  Bool32 synchronization2;
  Bool32 textureCompressionASTC_HDR;
  Bool32 shaderZeroInitializeWorkgroupMemory;
  Bool32 dynamicRendering;
  Bool32 shaderIntegerDotProduct;
  Bool32 maintenance4;
};
struct MemoryProperties2 {
  int32_t sType;
  void* pNext;
  PhysicalDeviceMemoryProperties memoryProperties;
};
struct MemoryBudgetProperties {
  int32_t sType;
  void* pNext;
  DeviceSize heapBudget[16];
  DeviceSize heapUsage[16];
};

// Layouts checked against vulkan_core.h 1.3.239 (LP64): exact where we declare every member,
// at least as large as the real struct where we pad.
#if INTPTR_MAX == INT64_MAX
static_assert(sizeof(ApplicationInfo) == 48 && sizeof(InstanceCreateInfo) == 64);
static_assert(sizeof(ExtensionProperties) == 260);
static_assert(offsetof(PhysicalDeviceProperties, deviceName) == 20 &&
              offsetof(PhysicalDeviceProperties, limits_and_sparse) == 296 &&
              sizeof(PhysicalDeviceProperties) >= 824);
static_assert(offsetof(Properties2, properties) == 16);
static_assert(sizeof(SubgroupProperties) == 32);
static_assert(offsetof(Vulkan12Properties, driverInfo) == 276 && sizeof(Vulkan12Properties) >= 736);
static_assert(sizeof(Features2) == 240 && sizeof(Vulkan11Features) == 64 &&
              sizeof(Vulkan12Features) == 208 && offsetof(Vulkan12Features, shaderInt8) == 48 &&
              sizeof(Vulkan13Features) == 80 &&
              offsetof(Vulkan13Features, shaderIntegerDotProduct) == 68);
static_assert(sizeof(MemoryProperties2) == 536 && sizeof(MemoryBudgetProperties) == 272);
#endif

using PFN_GetInstanceProcAddr = VoidFn (*)(Instance, const char*);
using PFN_EnumerateInstanceVersion = Result (*)(uint32_t*);
using PFN_EnumerateInstanceExtensionProperties = Result (*)(const char*, uint32_t*,
                                                            ExtensionProperties*);
using PFN_CreateInstance = Result (*)(const InstanceCreateInfo*, const void*, Instance*);
using PFN_DestroyInstance = void (*)(Instance, const void*);
using PFN_EnumeratePhysicalDevices = Result (*)(Instance, uint32_t*, PhysicalDevice*);
using PFN_GetPhysicalDeviceProperties = void (*)(PhysicalDevice, PhysicalDeviceProperties*);
using PFN_GetPhysicalDeviceProperties2 = void (*)(PhysicalDevice, Properties2*);
using PFN_GetPhysicalDeviceFeatures2 = void (*)(PhysicalDevice, Features2*);
using PFN_GetPhysicalDeviceMemoryProperties = void (*)(PhysicalDevice,
                                                       PhysicalDeviceMemoryProperties*);
using PFN_GetPhysicalDeviceMemoryProperties2 = void (*)(PhysicalDevice, MemoryProperties2*);
using PFN_EnumerateDeviceExtensionProperties = Result (*)(PhysicalDevice, const char*, uint32_t*,
                                                          ExtensionProperties*);

std::string result_name(Result r) {
  switch (r) {
    case -1:
      return "VK_ERROR_OUT_OF_HOST_MEMORY";
    case -2:
      return "VK_ERROR_OUT_OF_DEVICE_MEMORY";
    case -3:
      return "VK_ERROR_INITIALIZATION_FAILED";
    case -4:
      return "VK_ERROR_DEVICE_LOST";
    case -6:
      return "VK_ERROR_LAYER_NOT_PRESENT";
    case -7:
      return "VK_ERROR_EXTENSION_NOT_PRESENT";
    case -9:
      return "VK_ERROR_INCOMPATIBLE_DRIVER";
  }
  return strfmt("VkResult %d", r);
}

std::string version_string(uint32_t v) {
  return strfmt("%u.%u.%u", (v >> 22) & 0x7f, (v >> 12) & 0x3ff, v & 0xfff);
}

std::string vendor_name(uint32_t id) {
  switch (id) {
    case 0x10de:
      return "NVIDIA";
    case 0x1002:
      return "AMD";
    case 0x8086:
      return "Intel";
    case 0x106b:
      return "Apple";
    case 0x13b5:
      return "ARM";
    case 0x5143:
      return "Qualcomm";
    case 0x1010:
      return "Imagination";
    case 0x14e4:
      return "Broadcom";
    case 0x1ae0:
      return "Google";
    case 0x10005:
      return "Mesa";
  }
  return strfmt("0x%04x", id);
}

// Driver versions are vendor-encoded; NVIDIA packs 10.8.8.6 bits.
std::string driver_version_string(uint32_t vendor, uint32_t v) {
  if (vendor == 0x10de)
    return strfmt("%u.%u.%u.%u", (v >> 22) & 0x3ff, (v >> 14) & 0xff, (v >> 6) & 0xff, v & 0x3f);
  return version_string(v);
}

}  // namespace vk

namespace {

template <typename F>
F proc(vk::PFN_GetInstanceProcAddr gipa, vk::Instance inst, const char* name) {
  return reinterpret_cast<F>(gipa(inst, name));
}

std::vector<std::string> device_extensions(vk::PFN_EnumerateDeviceExtensionProperties fn,
                                           vk::PhysicalDevice pd) {
  std::vector<std::string> out;
  if (!fn) return out;
  uint32_t n = 0;
  if (fn(pd, nullptr, &n, nullptr) != vk::kSuccess || n == 0 || n > 4096) return out;
  std::vector<vk::ExtensionProperties> props(n);
  const vk::Result r = fn(pd, nullptr, &n, props.data());
  if (r != vk::kSuccess && r != vk::kIncomplete) return out;
  for (uint32_t i = 0; i < n && i < props.size(); ++i) {
    props[i].extensionName[255] = '\0';
    out.emplace_back(props[i].extensionName);
  }
  return out;
}

bool has(const std::vector<std::string>& v, const char* s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace

ApiProbe probe_vulkan(const std::string& library) {
  ApiProbe out;
  out.backend.kind = DeviceKind::kVulkan;
  out.backend.library = library;
  // Never closed, like libcuda: ICDs register atexit handlers and TLS destructors.
  void* lib = dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char* e = dlerror();
    out.backend.status = "not_found";
    out.backend.error = strfmt("cannot load %s (%s): no Vulkan loader installed", library.c_str(),
                               e ? e : "unknown error");
    return out;
  }
  auto gipa = reinterpret_cast<vk::PFN_GetInstanceProcAddr>(dlsym(lib, "vkGetInstanceProcAddr"));
  if (!gipa) {
    out.backend.status = "error";
    out.backend.error =
        strfmt("%s has no vkGetInstanceProcAddr (not a Vulkan loader?)", library.c_str());
    return out;
  }
  auto enum_version =
      proc<vk::PFN_EnumerateInstanceVersion>(gipa, nullptr, "vkEnumerateInstanceVersion");
  auto enum_inst_ext = proc<vk::PFN_EnumerateInstanceExtensionProperties>(
      gipa, nullptr, "vkEnumerateInstanceExtensionProperties");
  auto create_instance = proc<vk::PFN_CreateInstance>(gipa, nullptr, "vkCreateInstance");
  if (!create_instance) {
    out.backend.status = "error";
    out.backend.error = "the Vulkan loader returned no vkCreateInstance";
    return out;
  }
  uint32_t loader_version = vk::kApi10;
  if (enum_version && enum_version(&loader_version) != vk::kSuccess) loader_version = vk::kApi10;
  const uint32_t instance_version = std::min(loader_version & ~0xfffu, vk::kApi13);

  // MoltenVK (macOS) is a "portability" driver: the loader hides it unless asked for.
  std::vector<const char*> exts;
  uint32_t flags = 0;
  if (enum_inst_ext) {
    uint32_t n = 0;
    if (enum_inst_ext(nullptr, &n, nullptr) == vk::kSuccess && n > 0 && n < 4096) {
      std::vector<vk::ExtensionProperties> props(n);
      if (enum_inst_ext(nullptr, &n, props.data()) == vk::kSuccess) {
        for (uint32_t i = 0; i < n; ++i)
          if (std::strcmp(props[i].extensionName, "VK_KHR_portability_enumeration") == 0) {
            exts.push_back("VK_KHR_portability_enumeration");
            flags |= vk::kInstanceEnumeratePortability;
          }
      }
    }
  }
  vk::ApplicationInfo app = {vk::kStApplicationInfo, nullptr, "bitnet probe",  1,
                             "bitnet-cxx",           1,       instance_version};
  vk::InstanceCreateInfo ci = {vk::kStInstanceCreateInfo,
                               nullptr,
                               flags,
                               &app,
                               0,
                               nullptr,
                               static_cast<uint32_t>(exts.size()),
                               exts.empty() ? nullptr : exts.data()};
  vk::Instance inst = nullptr;
  vk::Result r = create_instance(&ci, nullptr, &inst);
  if (r != vk::kSuccess || !inst) {
    if (r == vk::kErrorIncompatibleDriver) {
      out.backend.status = "not_found";
      out.backend.error =
          "the Vulkan loader found no driver (ICD) for this machine "
          "(VK_ERROR_INCOMPATIBLE_DRIVER)";
    } else {
      out.backend.status = "error";
      out.backend.error = "vkCreateInstance failed: " + vk::result_name(r);
    }
    return out;
  }
  auto destroy = proc<vk::PFN_DestroyInstance>(gipa, inst, "vkDestroyInstance");
  auto enum_pd = proc<vk::PFN_EnumeratePhysicalDevices>(gipa, inst, "vkEnumeratePhysicalDevices");
  auto get_props =
      proc<vk::PFN_GetPhysicalDeviceProperties>(gipa, inst, "vkGetPhysicalDeviceProperties");
  auto get_mem = proc<vk::PFN_GetPhysicalDeviceMemoryProperties>(
      gipa, inst, "vkGetPhysicalDeviceMemoryProperties");
  auto enum_dev_ext = proc<vk::PFN_EnumerateDeviceExtensionProperties>(
      gipa, inst, "vkEnumerateDeviceExtensionProperties");
  // Core in 1.1; null on a 1.0 instance.
  auto get_props2 =
      instance_version >= vk::kApi11
          ? proc<vk::PFN_GetPhysicalDeviceProperties2>(gipa, inst, "vkGetPhysicalDeviceProperties2")
          : nullptr;
  auto get_feat2 = instance_version >= vk::kApi11 ? proc<vk::PFN_GetPhysicalDeviceFeatures2>(
                                                        gipa, inst, "vkGetPhysicalDeviceFeatures2")
                                                  : nullptr;
  auto get_mem2 = instance_version >= vk::kApi11
                      ? proc<vk::PFN_GetPhysicalDeviceMemoryProperties2>(
                            gipa, inst, "vkGetPhysicalDeviceMemoryProperties2")
                      : nullptr;
  if (!enum_pd || !get_props || !get_mem) {
    out.backend.status = "error";
    out.backend.error = "the Vulkan loader is missing core 1.0 entry points";
    if (destroy) destroy(inst, nullptr);
    return out;
  }
  uint32_t n = 0;
  r = enum_pd(inst, &n, nullptr);
  std::vector<vk::PhysicalDevice> pds(n);
  if (r == vk::kSuccess && n > 0) r = enum_pd(inst, &n, pds.data());
  if (r != vk::kSuccess && r != vk::kIncomplete) {
    out.backend.status = "error";
    out.backend.error = "vkEnumeratePhysicalDevices failed: " + vk::result_name(r);
    if (destroy) destroy(inst, nullptr);
    return out;
  }
  pds.resize(n);
  out.backend.status = "ok";
  out.backend.device_count = static_cast<int>(n);

  for (uint32_t i = 0; i < n; ++i) {
    vk::PhysicalDevice pd = pds[i];
    DeviceInfo d;
    d.kind = DeviceKind::kVulkan;
    d.index = static_cast<int>(i);
    auto props = std::make_unique<vk::PhysicalDeviceProperties>();
    std::memset(props.get(), 0, sizeof(*props));
    get_props(pd, props.get());
    props->deviceName[255] = '\0';
    d.name = props->deviceName;
    d.vendor = vk::vendor_name(props->vendorID);
    const uint32_t api = std::min(props->apiVersion, instance_version);
    d.runtime_version = vk::version_string(props->apiVersion);
    d.driver_version = vk::driver_version_string(props->vendorID, props->driverVersion);
    switch (props->deviceType) {
      case vk::kTypeDiscrete:
        d.device_type = "discrete";
        break;
      case vk::kTypeIntegrated:
        d.device_type = "integrated";
        d.unified_memory = true;
        break;
      case vk::kTypeVirtual:
        d.device_type = "virtual";
        break;
      case vk::kTypeCpu:
        d.device_type = "cpu";
        d.unified_memory = true;
        break;
      default:
        d.device_type = "other";
        break;
    }
    const std::vector<std::string> dev_exts = device_extensions(enum_dev_ext, pd);
    const bool budget_ext = api >= vk::kApi11 && get_mem2 && has(dev_exts, "VK_EXT_memory_budget");

    // ---- memory: the largest device-local heap is where weights would live ----
    vk::PhysicalDeviceMemoryProperties mem = {};
    vk::MemoryBudgetProperties budget = {};
    if (budget_ext) {
      vk::MemoryProperties2 mem2 = {};
      mem2.sType = vk::kStMemoryProperties2;
      budget.sType = vk::kStMemoryBudgetProperties;
      mem2.pNext = &budget;
      get_mem2(pd, &mem2);
      mem = mem2.memoryProperties;
    } else {
      get_mem(pd, &mem);
    }
    int heap = -1;
    for (uint32_t h = 0; h < mem.memoryHeapCount && h < 16; ++h)
      if ((mem.memoryHeaps[h].flags & vk::kHeapDeviceLocal) &&
          (heap < 0 || mem.memoryHeaps[h].size > mem.memoryHeaps[heap].size))
        heap = static_cast<int>(h);
    if (heap >= 0) {
      d.memory_total_bytes = mem.memoryHeaps[heap].size;
      d.memory_usable_bytes = d.memory_total_bytes;
      // With VK_EXT_memory_budget: what this process may still allocate from the heap.
      if (budget_ext && budget.heapBudget[heap] > 0) {
        const uint64_t b = budget.heapBudget[heap], u = budget.heapUsage[heap];
        d.memory_usable_bytes = std::min<uint64_t>(b > u ? b - u : 0, d.memory_total_bytes);
      }
    }

    // ---- properties and features that matter to kernels ----
    auto add = [&](bool on, const char* f) {
      if (on) d.features.emplace_back(f);
    };
    if (api >= vk::kApi12 && get_props2 && get_feat2) {
      vk::Properties2 p2 = {};
      vk::Vulkan11Properties p11 = {};
      auto p12 = std::make_unique<vk::Vulkan12Properties>();
      std::memset(p12.get(), 0, sizeof(*p12));
      p2.sType = vk::kStProperties2;
      p11.sType = vk::kStVulkan11Properties;
      p12->sType = vk::kStVulkan12Properties;
      p2.pNext = &p11;
      p11.pNext = p12.get();
      get_props2(pd, &p2);
      d.subgroup_size = static_cast<int>(p11.subgroupSize);
      p12->driverName[255] = '\0';
      p12->driverInfo[255] = '\0';
      if (p12->driverName[0]) {
        d.driver_version = trim(std::string(p12->driverName) + " " + p12->driverInfo);
      }
      vk::Features2 f2 = {};
      vk::Vulkan11Features f11 = {};
      vk::Vulkan12Features f12 = {};
      vk::Vulkan13Features f13 = {};
      f2.sType = vk::kStFeatures2;
      f11.sType = vk::kStVulkan11Features;
      f12.sType = vk::kStVulkan12Features;
      f13.sType = vk::kStVulkan13Features;
      f2.pNext = &f11;
      f11.pNext = &f12;
      if (api >= vk::kApi13) f12.pNext = &f13;
      get_feat2(pd, &f2);
      const bool compute_sg = p11.subgroupSupportedStages & vk::kStageCompute;
      add(f12.shaderFloat16, "fp16");
      add(f12.shaderInt8, "int8");
      add(f12.storageBuffer8BitAccess, "storage8");
      add(f11.storageBuffer16BitAccess, "storage16");
      add(compute_sg && (p11.subgroupSupportedOperations & vk::kSubgroupArithmetic),
          "subgroup_arithmetic");
      add(compute_sg && (p11.subgroupSupportedOperations & vk::kSubgroupShuffle),
          "subgroup_shuffle");
      add(f13.subgroupSizeControl, "subgroup_size_control");
      add(f13.shaderIntegerDotProduct || has(dev_exts, "VK_KHR_shader_integer_dot_product"),
          "integer_dot_product");
    } else if (api >= vk::kApi11 && get_props2) {
      vk::Properties2 p2 = {};
      vk::SubgroupProperties sg = {};
      p2.sType = vk::kStProperties2;
      sg.sType = vk::kStSubgroupProperties;
      p2.pNext = &sg;
      get_props2(pd, &p2);
      d.subgroup_size = static_cast<int>(sg.subgroupSize);
      const bool compute_sg = sg.supportedStages & vk::kStageCompute;
      add(compute_sg && (sg.supportedOperations & vk::kSubgroupArithmetic), "subgroup_arithmetic");
      add(compute_sg && (sg.supportedOperations & vk::kSubgroupShuffle), "subgroup_shuffle");
    }
    add(has(dev_exts, "VK_KHR_cooperative_matrix") || has(dev_exts, "VK_NV_cooperative_matrix"),
        "cooperative_matrix");
    add(budget_ext, "memory_budget");

    // The planned Vulkan backend targets 1.2: 8-bit storage, shaderInt8 and subgroup
    // arithmetic are queryable core features there.
    if (api < vk::kApi12) {
      d.usable = false;
      d.unusable_reason = strfmt("Vulkan %s device; 1.2 or newer is needed",
                                 vk::version_string(props->apiVersion).c_str());
    }
    out.devices.push_back(std::move(d));
  }
  if (destroy) destroy(inst, nullptr);
  return out;
}

}  // namespace bitnet::probe_detail
