// What ulddctl prints with --json: one JSON document per run (one object
// per line for `events`), field names in snake case with units in the name,
// documented in docs/ulddctl.md. Scripts read these, so a field is never
// renamed; new ones may appear.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "supervisor/control/device_snapshot.h"
#include "ulddctl/client_types.h"

namespace uldd::ctl {

// "2024-05-01T12:00:00.123456Z" of a CLOCK_REALTIME µs value.
std::string iso8601_utc(uint64_t realtime_us);

nlohmann::ordered_json device_row_json(const DeviceRow& row);
nlohmann::ordered_json device_list_json(const std::vector<DeviceRow>& rows);
// `histogram_known`: as in format_device_status; null histogram otherwise.
nlohmann::ordered_json device_json(const supervisor::DeviceSnapshot& device, bool histogram_known);
nlohmann::ordered_json supervisor_json(const SupervisorInfo& info);
nlohmann::ordered_json event_json(const BusEvent& event);

// Serialises without throwing: invalid UTF-8 from the daemon is replaced.
// `indent` < 0: one line.
std::string dump_json(const nlohmann::ordered_json& document, int indent);

}  // namespace uldd::ctl
