// Device-spec parsing, request precedence and the selection policy (device_select.h).
#include "runtime/device_select.h"

#include <algorithm>
#include <cctype>
#include <vector>

#include "core/strings.h"
#include "runtime/backend_registry.h"

namespace bitnet {
namespace {

constexpr const char* kSpecHelp = "expected auto, cpu, cuda[:N], vulkan[:N] or metal";

std::string lower_trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  std::string out(s.substr(b, e - b));
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Short display name: vendor prefixes dropped ("NVIDIA H100 80GB HBM3" -> "H100 80GB HBM3").
std::string short_name(const DeviceInfo& d) {
  std::string n = d.name;
  for (const char* p : {"NVIDIA ", "AMD ", "Apple ", "Intel(R) ", "Intel "})
    if (n.rfind(p, 0) == 0) {
      n = n.substr(std::string(p).size());
      break;
    }
  return n;
}

bool is_software(const DeviceInfo& d) {
  return d.kind == DeviceKind::kVulkan && d.device_type == "cpu";
}

// Order of preference for auto (lower first); -1 = never chosen by auto.
int auto_rank(const DeviceInfo& d) {
  switch (d.kind) {
    case DeviceKind::kCuda:
      return 0;
    case DeviceKind::kMetal:
      return 1;
    case DeviceKind::kVulkan:
      if (d.device_type == "discrete") return 2;
      if (d.device_type == "integrated") return 3;
      if (d.device_type == "cpu") return -1;
      return 4;  // virtual, other
    case DeviceKind::kCpu:
      return 5;
  }
  return -1;
}

bool kind_compiled(const ProbeReport& rep, DeviceKind k) {
  if (const BackendProbe* b = rep.backend(k)) return b->compiled;
  for (const auto& d : rep.devices)
    if (d.kind == k) return d.backend_compiled;
  return false;
}

// Why `d` cannot take the model (empty if it can). Memory is checked only when required > 0.
std::string fit_problem(const DeviceInfo& d, uint64_t required) {
  if (!d.backend_compiled)
    return "this build has no " + std::string(device_kind_display(d.kind)) + " backend";
  if (!d.usable) return "not usable: " + d.unusable_reason;
  if (required > 0 && d.memory_usable_bytes < required)
    return strfmt("needs %s but only %s is free", format_bytes(required).c_str(),
                  format_bytes(d.memory_usable_bytes).c_str());
  return "";
}

std::string available_list(const ProbeReport& rep) {
  std::string s = "[";
  for (size_t i = 0; i < rep.devices.size(); ++i) {
    if (i) s += ", ";
    s += describe_device_short(rep.devices[i]);
  }
  return s + "]";
}

std::string requested_text(const DeviceRequest& req) {
  std::string s = "requested=" + req.spec.text();
  if (req.source == DeviceRequestSource::kEnv) s += " (BITNET_DEVICE)";
  return s;
}

std::string request_label(const DeviceRequest& req) {
  switch (req.source) {
    case DeviceRequestSource::kFlag:
      return "--device " + req.spec.text();
    case DeviceRequestSource::kEnv:
      return "BITNET_DEVICE=" + req.spec.text();
    case DeviceRequestSource::kDefault:
      break;
  }
  return "device " + req.spec.text();
}

// The CPU kernel table must honour a forced BITNET_CPU_ISA before the CPU can be selected.
std::string cpu_variant_problem(const DeviceInfo& d) {
  return d.kind == DeviceKind::kCpu ? d.kernel_variant_error : "";
}

}  // namespace

std::string DeviceSpec::text() const {
  if (is_auto) return "auto";
  if (index < 0) return device_kind_name(kind);
  return strfmt("%s:%d", device_kind_name(kind), index);
}

Result<DeviceSpec> parse_device_spec(std::string_view raw) {
  const std::string s = lower_trim(raw);
  if (s.empty()) return invalid_argument(strfmt("empty device; %s", kSpecHelp));
  DeviceSpec spec;
  if (s == "auto") return spec;
  const size_t colon = s.find(':');
  const std::string kind_s = s.substr(0, colon);
  const auto kind = parse_device_kind(kind_s);
  if (!kind) {
    std::string hint;
    if (kind_s == "gpu")
      hint = " (use auto to pick the best GPU, or name its API: cuda, vulkan, metal)";
    return invalid_argument(
        strfmt("unknown device \"%s\"; %s%s", std::string(raw).c_str(), kSpecHelp, hint.c_str()));
  }
  spec.is_auto = false;
  spec.kind = *kind;
  if (colon == std::string::npos) return spec;
  const std::string idx = s.substr(colon + 1);
  const bool digits =
      !idx.empty() && idx.size() <= 6 &&
      std::all_of(idx.begin(), idx.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!digits)
    return invalid_argument(strfmt("bad device index in \"%s\": expected a number >= 0, as in %s:0",
                                   std::string(raw).c_str(), kind_s.c_str()));
  spec.index = std::stoi(idx);
  // The CPU is one device and Metal uses the system default GPU: only :0 means anything.
  if ((spec.kind == DeviceKind::kCpu || spec.kind == DeviceKind::kMetal) && spec.index != 0)
    return invalid_argument(strfmt("\"%s\": %s has a single device and takes no index",
                                   std::string(raw).c_str(), kind_s.c_str()));
  if (spec.kind == DeviceKind::kCpu || spec.kind == DeviceKind::kMetal) spec.index = -1;
  return spec;
}

const char* device_request_source_name(DeviceRequestSource s) {
  switch (s) {
    case DeviceRequestSource::kDefault:
      return "default";
    case DeviceRequestSource::kFlag:
      return "--device";
    case DeviceRequestSource::kEnv:
      return "BITNET_DEVICE";
  }
  return "default";
}

Result<DeviceRequest> resolve_device_request(std::string_view flag, const char* env) {
  DeviceRequest req;
  if (!flag.empty()) {
    auto spec = parse_device_spec(flag);
    if (!spec) return invalid_argument("--device: " + spec.status().message());
    req.spec = *spec;
    req.source = DeviceRequestSource::kFlag;
  } else if (env && *env) {
    auto spec = parse_device_spec(env);
    if (!spec) return invalid_argument("BITNET_DEVICE: " + spec.status().message());
    req.spec = *spec;
    req.source = DeviceRequestSource::kEnv;
  }
  return req;
}

std::string describe_device_short(const DeviceInfo& d) {
  std::string label = d.kind == DeviceKind::kCpu ? d.kernel_variant : short_name(d);
  if (label.empty()) label = d.kind == DeviceKind::kCpu ? "ref" : d.name;
  if (!d.backend_compiled)
    label += "; not built";
  else if (!d.usable)
    label += "; unusable";
  else if (is_software(d))
    label += "; software";
  return d.id() + "(" + label + ")";
}

Result<DeviceSelection> select_device(const ProbeReport& rep, const DeviceRequest& req,
                                      uint64_t required_bytes) {
  const std::string avail = "available: " + available_list(rep);
  auto finish = [&](size_t i) -> Result<DeviceSelection> {
    const std::string cpu_err = cpu_variant_problem(rep.devices[i]);
    if (!cpu_err.empty())
      return unavailable(
          strfmt("%s: CPU kernels: %s", request_label(req).c_str(), cpu_err.c_str()));
    DeviceSelection sel;
    sel.device = i;
    sel.summary = strfmt("device: %s available=%s selected=%s", requested_text(req).c_str(),
                         available_list(rep).c_str(), rep.devices[i].id().c_str());
    return sel;
  };

  if (req.spec.is_auto) {
    std::vector<size_t> order;
    for (size_t i = 0; i < rep.devices.size(); ++i)
      if (auto_rank(rep.devices[i]) >= 0) order.push_back(i);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      const DeviceInfo &x = rep.devices[a], &y = rep.devices[b];
      if (auto_rank(x) != auto_rank(y)) return auto_rank(x) < auto_rank(y);
      return x.index < y.index;
    });
    std::string why;
    for (size_t i : order) {
      const std::string p = fit_problem(rep.devices[i], required_bytes);
      if (p.empty()) return finish(i);
      why += strfmt("%s%s: %s", why.empty() ? "" : "; ", rep.devices[i].id().c_str(), p.c_str());
    }
    return unavailable(strfmt("no device can run this model (%s); %s",
                              why.empty() ? "no devices were found" : why.c_str(), avail.c_str()));
  }

  const DeviceKind kind = req.spec.kind;
  const std::string label = request_label(req);
  const char* kname = device_kind_display(kind);
  std::vector<size_t> of_kind;
  for (size_t i = 0; i < rep.devices.size(); ++i)
    if (rep.devices[i].kind == kind) of_kind.push_back(i);
  std::sort(of_kind.begin(), of_kind.end(),
            [&](size_t a, size_t b) { return rep.devices[a].index < rep.devices[b].index; });
  const bool compiled = kind_compiled(rep, kind);
  const std::string build_note = compiled ? ""
                                          : strfmt("; this build has no %s backend either (%s)",
                                                   kname, backend_missing_hint(kind).c_str());

  if (of_kind.empty()) {
    std::string why;
    if (const BackendProbe* b = rep.backend(kind); b && !b->error.empty())
      why = " (" + b->error + ")";
    return not_found(strfmt("%s: no %s device found%s%s; %s", label.c_str(), kname, why.c_str(),
                            build_note.c_str(), avail.c_str()));
  }
  std::vector<size_t> candidates;
  if (req.spec.index >= 0) {
    for (size_t i : of_kind)
      if (rep.devices[i].index == req.spec.index) candidates.push_back(i);
    if (candidates.empty()) {
      std::string ids;
      for (size_t i : of_kind) ids += (ids.empty() ? "" : ", ") + rep.devices[i].id();
      return not_found(strfmt("%s: no such device; %zu %s device%s found (%s); %s", label.c_str(),
                              of_kind.size(), kname, of_kind.size() == 1 ? "" : "s", ids.c_str(),
                              avail.c_str()));
    }
  } else {
    candidates = of_kind;
    // `vulkan` prefers hardware (discrete, integrated, ...) and takes a software device last.
    if (kind == DeviceKind::kVulkan)
      std::stable_sort(candidates.begin(), candidates.end(), [&](size_t a, size_t b) {
        auto r = [&](size_t i) {
          const int k = auto_rank(rep.devices[i]);
          return k < 0 ? 99 : k;
        };
        return r(a) < r(b);
      });
  }
  if (!compiled) {
    std::string found;
    for (size_t i : candidates)
      found += (found.empty() ? "" : ", ") + rep.devices[i].id() + " (" + rep.devices[i].name + ")";
    return unavailable(strfmt("%s: this build has no %s backend (%s); found %s; %s", label.c_str(),
                              kname, backend_missing_hint(kind).c_str(), found.c_str(),
                              avail.c_str()));
  }
  std::string why;
  for (size_t i : candidates) {
    const std::string p = fit_problem(rep.devices[i], required_bytes);
    if (p.empty()) return finish(i);
    why += strfmt("%s%s (%s): %s", why.empty() ? "" : "; ", rep.devices[i].id().c_str(),
                  rep.devices[i].name.c_str(), p.c_str());
  }
  return unavailable(strfmt("%s: %s; %s", label.c_str(), why.c_str(), avail.c_str()));
}

}  // namespace bitnet
