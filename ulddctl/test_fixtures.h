// Fixed inputs shared by ulddctl's formatting tests: a disk that has been
// through three recoveries, and the list rows of two devices.
#pragma once

#include <vector>

#include "supervisor/control/device_snapshot.h"
#include "ulddctl/client_types.h"

namespace uldd::ctl::testing {

// 2024-05-01 12:00:00.123456 UTC
inline constexpr uint64_t kFaultTimeUs = 1714564800'123456;

inline supervisor::DeviceSnapshot recovered_disk() {
  supervisor::DeviceSnapshot d;
  d.name = "disk0";
  d.kind = "disk";
  d.state = "serving";
  d.mode = "isolated";
  d.driver = "/usr/lib/uldd/uldd-nvme-driver";
  d.policy = "default";
  d.driver_pid = 4242;
  d.model_pid = 4200;
  d.restarts = 3;
  d.restarts_warm = 2;
  d.restarts_cold = 1;
  d.warm_refused = 1;
  d.requests_resent = 7;
  d.faults_by_cause = {
      {"crashed", 2}, {"hung", 0}, {"operator", 1}};  // causes with 0 are listed too
  d.last_fault = "crashed: killed by signal 9";
  d.last_fault_realtime_us = kFaultTimeUs;
  d.downtime.add(800);
  d.downtime.add(1'500);
  d.downtime.add(12'000);
  d.io = {{"reads", 120}, {"writes", 30}};
  return d;
}

inline std::vector<DeviceRow> two_rows() {
  return {{"disk0", "disk", "serving", 4242, 3, 3, "crashed: killed by signal 9", 12'000},
          {"nic0", "nic", "recovering", 0, 0, 1, "hung", 0}};
}

}  // namespace uldd::ctl::testing
