// ProbeReport <-> JSON (probe_json.h); key names are documented in docs/probe.md.
#include "runtime/probe_json.h"

#include <nlohmann/json.hpp>

#include "core/strings.h"

namespace bitnet {

using nlohmann::json;

namespace {

json cpu_to_json(const CpuDetails& c) {
  return json{{"physical_cores", c.physical_cores},
              {"logical_cores", c.logical_cores},
              {"affinity_cores", c.affinity_cores},
              {"performance_cores", c.performance_cores},
              {"efficiency_cores", c.efficiency_cores},
              {"l1d_bytes", c.l1d_bytes},
              {"l2_bytes", c.l2_bytes},
              {"l3_bytes", c.l3_bytes},
              {"kernel_isa_forced", c.kernel_isa_forced}};
}

// nlohmann throws json::exception on a missing key or wrong type; callers turn it into Status.
template <typename T>
void get(const json& j, const char* key, T* out) {
  j.at(key).get_to(*out);
}

CpuDetails cpu_from_json(const json& j) {
  CpuDetails c;
  get(j, "physical_cores", &c.physical_cores);
  get(j, "logical_cores", &c.logical_cores);
  get(j, "affinity_cores", &c.affinity_cores);
  get(j, "performance_cores", &c.performance_cores);
  get(j, "efficiency_cores", &c.efficiency_cores);
  get(j, "l1d_bytes", &c.l1d_bytes);
  get(j, "l2_bytes", &c.l2_bytes);
  get(j, "l3_bytes", &c.l3_bytes);
  get(j, "kernel_isa_forced", &c.kernel_isa_forced);
  return c;
}

DeviceKind kind_from_json(const json& j) {
  const std::string s = j.get<std::string>();
  const auto k = parse_device_kind(s);
  if (!k) throw std::runtime_error("unknown device kind \"" + s + "\"");
  return *k;
}

DeviceInfo device_from_json_throwing(const json& j) {
  DeviceInfo d;
  d.kind = kind_from_json(j.at("kind"));
  get(j, "index", &d.index);
  get(j, "name", &d.name);
  get(j, "vendor", &d.vendor);
  get(j, "arch", &d.arch);
  get(j, "device_type", &d.device_type);
  get(j, "memory_total_bytes", &d.memory_total_bytes);
  get(j, "memory_usable_bytes", &d.memory_usable_bytes);
  get(j, "memory_bandwidth_gbps", &d.memory_bandwidth_gbps);
  const std::string bw = j.at("bandwidth_source").get<std::string>();
  const auto src = parse_bandwidth_source(bw);
  if (!src) throw std::runtime_error("unknown bandwidth_source \"" + bw + "\"");
  d.bandwidth_source = *src;
  get(j, "unified_memory", &d.unified_memory);
  get(j, "compute_units", &d.compute_units);
  get(j, "subgroup_size", &d.subgroup_size);
  get(j, "features", &d.features);
  get(j, "driver_version", &d.driver_version);
  get(j, "runtime_version", &d.runtime_version);
  get(j, "kernel_variant", &d.kernel_variant);
  get(j, "kernel_variant_error", &d.kernel_variant_error);
  get(j, "usable", &d.usable);
  get(j, "unusable_reason", &d.unusable_reason);
  get(j, "backend_compiled", &d.backend_compiled);
  if (j.contains("cpu") && !j.at("cpu").is_null()) d.cpu = cpu_from_json(j.at("cpu"));
  return d;
}

}  // namespace

json device_info_to_json(const DeviceInfo& d) {
  json j{{"id", d.id()},
         {"kind", device_kind_name(d.kind)},
         {"index", d.index},
         {"name", d.name},
         {"vendor", d.vendor},
         {"arch", d.arch},
         {"device_type", d.device_type},
         {"memory_total_bytes", d.memory_total_bytes},
         {"memory_usable_bytes", d.memory_usable_bytes},
         {"memory_bandwidth_gbps", d.memory_bandwidth_gbps},
         {"bandwidth_source", bandwidth_source_name(d.bandwidth_source)},
         {"unified_memory", d.unified_memory},
         {"compute_units", d.compute_units},
         {"subgroup_size", d.subgroup_size},
         {"features", d.features},
         {"driver_version", d.driver_version},
         {"runtime_version", d.runtime_version},
         {"kernel_variant", d.kernel_variant},
         {"kernel_variant_error", d.kernel_variant_error},
         {"usable", d.usable},
         {"unusable_reason", d.unusable_reason},
         {"backend_compiled", d.backend_compiled}};
  j["cpu"] = d.cpu ? cpu_to_json(*d.cpu) : json(nullptr);
  return j;
}

Result<DeviceInfo> device_info_from_json(const json& j) {
  try {
    return device_from_json_throwing(j);
  } catch (const std::exception& e) {
    return corrupt(strfmt("device JSON: %s", e.what()));
  }
}

json probe_report_to_json(const ProbeReport& r) {
  json backends = json::array();
  for (const BackendProbe& b : r.backends)
    backends.push_back(json{{"kind", device_kind_name(b.kind)},
                            {"compiled", b.compiled},
                            {"status", b.status},
                            {"library", b.library},
                            {"error", b.error},
                            {"device_count", b.device_count},
                            {"probe_ms", b.probe_ms}});
  json devices = json::array();
  for (const DeviceInfo& d : r.devices) devices.push_back(device_info_to_json(d));
  return json{
      {"schema_version", kProbeSchemaVersion},
      {"host", {{"os", r.host.os}, {"os_release", r.host.os_release}, {"machine", r.host.machine}}},
      {"backends", backends},
      {"devices", devices}};
}

Result<ProbeReport> probe_report_from_json(const json& j) {
  try {
    const int v = j.at("schema_version").get<int>();
    if (v != kProbeSchemaVersion)
      return unsupported(
          strfmt("probe JSON schema_version %d (this build reads %d)", v, kProbeSchemaVersion));
    ProbeReport r;
    const json& h = j.at("host");
    get(h, "os", &r.host.os);
    get(h, "os_release", &r.host.os_release);
    get(h, "machine", &r.host.machine);
    for (const json& b : j.at("backends")) {
      BackendProbe p;
      p.kind = kind_from_json(b.at("kind"));
      get(b, "compiled", &p.compiled);
      get(b, "status", &p.status);
      get(b, "library", &p.library);
      get(b, "error", &p.error);
      get(b, "device_count", &p.device_count);
      get(b, "probe_ms", &p.probe_ms);
      r.backends.push_back(std::move(p));
    }
    for (const json& d : j.at("devices")) r.devices.push_back(device_from_json_throwing(d));
    return r;
  } catch (const std::exception& e) {
    return corrupt(strfmt("probe JSON: %s", e.what()));
  }
}

}  // namespace bitnet
