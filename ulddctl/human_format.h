// What ulddctl prints for people (the default; --json is json_format.h):
// the device table, systemctl-status-like detail, and one line per event.
// Pure functions of their inputs (time passed in), so that the unit tests
// compare whole outputs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "supervisor/control/device_snapshot.h"
#include "ulddctl/client_types.h"

namespace uldd::ctl {

// "850us", "12.3ms", "1.25s", "2min 3s"; "-" for 0 when `dash_for_zero`.
std::string human_duration(uint64_t us, bool dash_for_zero = false);

// Local time "2024-05-01 12:00:00.123 CEST" of a CLOCK_REALTIME µs value.
std::string human_timestamp(uint64_t realtime_us);

// DEVICE KIND STATE PID RESTARTS FAULTS LAST-DOWNTIME, and with the legend
// a closing "N devices listed." line.
std::string format_device_list(const std::vector<DeviceRow>& rows, bool legend);

// The supervisor's state, then the device table.
std::string format_supervisor_status(const SupervisorInfo& info, const std::vector<DeviceRow>& rows,
                                     bool legend);

// One device in detail. `histogram_known`: the downtime buckets were read
// (downtime_buckets.h); otherwise only last/max/total are shown.
std::string format_device_status(const supervisor::DeviceSnapshot& device, bool histogram_known,
                                 uint64_t now_realtime_us);

// One line, no trailing newline.
std::string format_event_line(const BusEvent& event);

}  // namespace uldd::ctl
