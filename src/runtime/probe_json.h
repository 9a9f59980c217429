// JSON form of a ProbeReport: the output of `bitnet probe --json`. The field names are a stable
// interface documented in docs/probe.md (schema_version 1); add fields, never rename them.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include "core/status.h"
#include "runtime/device_info.h"

namespace bitnet {

inline constexpr int kProbeSchemaVersion = 1;

nlohmann::json device_info_to_json(const DeviceInfo& d);
Result<DeviceInfo> device_info_from_json(const nlohmann::json& j);

nlohmann::json probe_report_to_json(const ProbeReport& r);
// Reads what probe_report_to_json wrote (and any later schema_version-1 output with extra keys).
Result<ProbeReport> probe_report_from_json(const nlohmann::json& j);

}  // namespace bitnet
