// `bitnet probe`: lists the CPU and every GPU this machine exposes, what this build can run on
// them, and which device `--device` / BITNET_DEVICE / auto would select. `--json` prints the
// stable structure documented in docs/probe.md.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "command.h"
#include "core/strings.h"
#include "device_options.h"
#include "runtime/device_select.h"
#include "runtime/probe.h"
#include "runtime/probe_json.h"

namespace bitnet::cli {
namespace {

struct ProbeCmdOptions {
  DeviceOptions dev;
  bool json = false;
};

std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : sep) + x;
  return s;
}

std::string memory_cell(const DeviceInfo& d) {
  if (d.memory_total_bytes == 0) return "unknown";
  const double g = 1024.0 * 1024.0 * 1024.0;
  return strfmt("%.1f / %.1f GiB", d.memory_usable_bytes / g, d.memory_total_bytes / g);
}

std::string bandwidth_cell(const DeviceInfo& d) {
  if (d.bandwidth_source == BandwidthSource::kUnknown || d.memory_bandwidth_gbps <= 0)
    return "unknown";
  return strfmt("%.0f GB/s (%s)", d.memory_bandwidth_gbps,
                bandwidth_source_name(d.bandwidth_source));
}

std::string status_cell(const DeviceInfo& d) {
  if (!d.usable) return "unusable: " + d.unusable_reason;
  if (d.kind == DeviceKind::kVulkan && d.device_type == "cpu")
    return "usable (software; explicit only)";
  return "usable";
}

void print_table(const ProbeReport& rep) {
  std::printf("host: %s %s %s\n\n", rep.host.os.c_str(), rep.host.os_release.c_str(),
              rep.host.machine.c_str());
  const std::vector<std::string> head = {"DEVICE",    "NAME",    "TYPE",  "MEMORY usable/total",
                                         "BANDWIDTH", "BACKEND", "STATUS"};
  std::vector<std::vector<std::string>> rows = {head};
  for (const DeviceInfo& d : rep.devices)
    rows.push_back({d.id(), d.name, d.device_type, memory_cell(d), bandwidth_cell(d),
                    d.backend_compiled ? "built" : "not built", status_cell(d)});
  std::vector<size_t> w(head.size(), 0);
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size(); ++i) w[i] = std::max(w[i], r[i].size());
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i)
      line += i + 1 < r.size() ? strfmt("%-*s  ", static_cast<int>(w[i]), r[i].c_str()) : r[i];
    std::printf("%s\n", line.c_str());
  }
  if (rep.devices.empty()) std::printf("(no devices)\n");

  std::printf("\n");
  for (const DeviceInfo& d : rep.devices) {
    std::printf("%s: %s", d.id().c_str(), d.name.c_str());
    if (!d.vendor.empty()) std::printf(" [%s]", d.vendor.c_str());
    std::printf("\n");
    if (d.cpu) {
      const CpuDetails& c = *d.cpu;
      std::printf("  arch %s, %d physical / %d logical cores, %d usable by this process",
                  d.arch.c_str(), c.physical_cores, c.logical_cores, c.affinity_cores);
      if (c.performance_cores || c.efficiency_cores)
        std::printf(" (%d performance + %d efficiency)", c.performance_cores, c.efficiency_cores);
      std::printf("\n  caches: L1d %s, L2 %s, L3 %s\n",
                  c.l1d_bytes ? format_bytes(c.l1d_bytes).c_str() : "?",
                  c.l2_bytes ? format_bytes(c.l2_bytes).c_str() : "?",
                  c.l3_bytes ? format_bytes(c.l3_bytes).c_str() : "-");
    } else {
      std::vector<std::string> facts;
      if (!d.arch.empty()) facts.push_back("arch " + d.arch);
      if (d.compute_units) facts.push_back(strfmt("%d compute units", d.compute_units));
      if (d.subgroup_size) facts.push_back(strfmt("subgroup %d", d.subgroup_size));
      if (d.unified_memory) facts.push_back("unified memory");
      if (!facts.empty()) std::printf("  %s\n", join(facts, ", ").c_str());
      std::printf("  driver %s, runtime %s\n",
                  d.driver_version.empty() ? "?" : d.driver_version.c_str(),
                  d.runtime_version.empty() ? "?" : d.runtime_version.c_str());
    }
    std::printf("  features: %s\n", d.features.empty() ? "-" : join(d.features, " ").c_str());
    if (d.kind == DeviceKind::kCpu) {
      std::printf("  cpu kernels: %s", d.kernel_variant.c_str());
      if (d.cpu && !d.cpu->kernel_isa_forced.empty())
        std::printf(" (BITNET_CPU_ISA=%s)", d.cpu->kernel_isa_forced.c_str());
      std::printf("\n");
      if (!d.kernel_variant_error.empty())
        std::printf("  error: %s\n", d.kernel_variant_error.c_str());
    }
  }

  std::printf("\nbackends:\n");
  for (const BackendProbe& b : rep.backends) {
    std::string what = b.status == "ok"
                           ? strfmt("%d device%s", b.device_count, b.device_count == 1 ? "" : "s")
                           : b.error;
    if (b.status == "ok" && !b.error.empty()) what += " (" + b.error + ")";
    std::printf("  %-7s %-10s %-10s %7.1f ms  %s\n", device_kind_name(b.kind),
                b.compiled ? "built" : "not built", b.status.c_str(), b.probe_ms, what.c_str());
  }
}

int run_probe(const ProbeCmdOptions& o) {
  // A malformed --device / BITNET_DEVICE is a usage error: report it before probing anything.
  auto req = resolve_device_request(o.dev.device, std::getenv("BITNET_DEVICE"));
  if (!req.is_ok()) return fail(req.status().message());
  const ProbeReport rep = probe_devices();
  Result<DeviceSelection> sel = select_device(rep, *req, 0);

  if (o.json) {
    nlohmann::json j = probe_report_to_json(rep);
    nlohmann::json s;
    s["requested"] = req->spec.text();
    s["source"] = device_request_source_name(req->source);
    s["selected"] =
        sel.is_ok() ? nlohmann::json(rep.devices[sel->device].id()) : nlohmann::json(nullptr);
    s["summary"] = sel.is_ok() ? sel->summary : "";
    s["error"] = sel.is_ok() ? "" : sel.status().message();
    j["selection"] = s;
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    print_table(rep);
  }
  if (!sel.is_ok()) return fail(sel.status().message());
  std::fprintf(stderr, "%s\n", sel->summary.c_str());
  return 0;
}

}  // namespace

BITNET_COMMAND("probe", "List CPU/GPU devices, what this build can use, and what --device selects",
               [](CLI::App& sub) -> std::function<int()> {
                 auto o = std::make_shared<ProbeCmdOptions>();
                 add_device_options(sub, o->dev);
                 sub.add_flag("--json", o->json, "Print the probe as JSON (schema: docs/probe.md)");
                 return [o] { return run_probe(*o); };
               });

}  // namespace bitnet::cli
