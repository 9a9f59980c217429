// probe_devices(): runs the CPU probe inline and the CUDA and Vulkan probes concurrently on their
// own threads, each bounded by a timeout so that a wedged driver (hung kernel module, GPU in a bad
// state) cannot hang the program: on timeout the probe thread is abandoned and the kind is
// reported with status "timeout".
#include "runtime/probe.h"

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <system_error>
#include <thread>

#include "core/strings.h"
#include "runtime/backend_registry.h"
#include "runtime/probe_internal.h"

namespace bitnet {
namespace {

using probe_detail::ApiProbe;
using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// A probe running on a detached thread. The shared state outlives this object if the thread
// outlives the wait, so an abandoned probe writes into memory nobody reads, never freed memory.
class AsyncProbe {
 public:
  AsyncProbe(ApiProbe (*fn)(const std::string&), std::string arg, DeviceKind kind) : kind_(kind) {
    state_ = std::make_shared<State>();
    started_ = Clock::now();
    try {
      std::thread([st = state_, fn, arg = std::move(arg), t0 = started_] {
        ApiProbe r = fn(arg);
        r.backend.probe_ms = ms_since(t0);
        std::lock_guard<std::mutex> lock(st->mu);
        st->result = std::move(r);
        st->done = true;
        st->cv.notify_all();
      }).detach();
    } catch (const std::system_error&) {  // no threads left: probe inline, without a timeout
      state_->result = fn(arg);
      state_->result.backend.probe_ms = ms_since(started_);
      state_->done = true;
    }
  }

  ApiProbe wait(Clock::time_point deadline, int timeout_ms) {
    std::unique_lock<std::mutex> lock(state_->mu);
    if (!state_->cv.wait_until(lock, deadline, [&] { return state_->done; })) {
      ApiProbe r;
      r.backend.kind = kind_;
      r.backend.status = "timeout";
      r.backend.error = strfmt(
          "the %s probe did not finish within %d ms (driver hung?); raise "
          "BITNET_PROBE_TIMEOUT_MS if the driver is just slow",
          device_kind_display(kind_), timeout_ms);
      r.backend.probe_ms = ms_since(started_);
      return r;
    }
    return std::move(state_->result);
  }

 private:
  struct State {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    ApiProbe result;
  };
  std::shared_ptr<State> state_;
  DeviceKind kind_;
  Clock::time_point started_;
};

std::string pick(const std::string& explicit_value, const char* env, const char* fallback) {
  if (!explicit_value.empty()) return explicit_value;
  const char* e = std::getenv(env);
  return e && *e ? e : fallback;
}

BackendProbe skipped(DeviceKind kind, const char* why) {
  BackendProbe b;
  b.kind = kind;
  b.status = "skipped";
  b.error = why;
  return b;
}

}  // namespace

ProbeReport probe_devices(const ProbeOptions& opts) {
  ProbeReport rep;
  rep.host = probe_detail::probe_host();

  int timeout_ms = opts.timeout_ms;
  if (timeout_ms <= 0) {
    const char* e = std::getenv("BITNET_PROBE_TIMEOUT_MS");
    timeout_ms = e && std::atoi(e) > 0 ? std::atoi(e) : 20000;
  }
#if defined(__APPLE__)
  const char* vulkan_default = "libvulkan.1.dylib";
#else
  const char* vulkan_default = "libvulkan.so.1";
#endif
  // Start the GPU probes first so that they overlap with the CPU probe and with each other.
  std::unique_ptr<AsyncProbe> cuda, vulkan;
  if (opts.cuda)
    cuda = std::make_unique<AsyncProbe>(
        probe_detail::probe_cuda, pick(opts.cuda_library, "BITNET_CUDA_LIBRARY", "libcuda.so.1"),
        DeviceKind::kCuda);
  if (opts.vulkan)
    vulkan = std::make_unique<AsyncProbe>(
        probe_detail::probe_vulkan,
        pick(opts.vulkan_library, "BITNET_VULKAN_LIBRARY", vulkan_default), DeviceKind::kVulkan);
  const Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);

  ApiProbe cpu;
  cpu.backend.kind = DeviceKind::kCpu;
  if (opts.cpu) {
    const Clock::time_point t0 = Clock::now();
    cpu.devices.push_back(probe_detail::probe_cpu());
    cpu.backend.status = "ok";
    cpu.backend.device_count = 1;
    cpu.backend.probe_ms = ms_since(t0);
  } else {
    cpu.backend = skipped(DeviceKind::kCpu, "not requested");
  }

  ApiProbe metal;
  metal.backend = skipped(DeviceKind::kMetal, "Metal exists only on macOS");
#if defined(BITNET_APPLE_PROBE)
  if (opts.metal) {
    const Clock::time_point t0 = Clock::now();
    metal = probe_detail::probe_metal();
    metal.backend.probe_ms = ms_since(t0);
  } else {
    metal.backend = skipped(DeviceKind::kMetal, "not requested");
  }
#elif defined(__APPLE__)
  metal.backend =
      skipped(DeviceKind::kMetal, "this build was made without the Apple probe sources");
#endif

  ApiProbe cuda_r, vulkan_r;
  cuda_r.backend = skipped(DeviceKind::kCuda, "not requested");
  vulkan_r.backend = skipped(DeviceKind::kVulkan, "not requested");
  if (cuda) cuda_r = cuda->wait(deadline, timeout_ms);
  if (vulkan) vulkan_r = vulkan->wait(deadline, timeout_ms);

  for (ApiProbe* p : {&cpu, &cuda_r, &vulkan_r, &metal}) {
    const bool compiled = backend_compiled(p->backend.kind);
    p->backend.compiled = compiled;
    p->backend.device_count = static_cast<int>(p->devices.size());
    for (DeviceInfo& d : p->devices) {
      d.backend_compiled = compiled;
      rep.devices.push_back(std::move(d));
    }
    rep.backends.push_back(std::move(p->backend));
  }
  return rep;
}

}  // namespace bitnet
