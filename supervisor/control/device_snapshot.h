// DeviceSnapshot: one device as the control plane shows it — state, driver
// processes, recovery history and I/O counters — copied out of the device on
// the supervisor's loop thread, so that the D-Bus API, ulddctl, the metrics
// file and the systemd STATUS= line all read the same figures without
// touching the device's own objects (which only the loop may use).
//
// Values only; no pointers into the device. Field names are the D-Bus
// property names in snake case (docs/dbus-api.md is the contract).
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace uldd::supervisor {

// Recovery downtime (failure detected -> first completion) histogram bucket
// bounds in microseconds, upper-inclusive, as OpenMetrics `le` labels; the
// last bucket (+Inf) is implied by the count.
inline constexpr std::array<uint64_t, 10> kDowntimeBucketsUs{
    500, 1'000, 2'000, 5'000, 10'000, 20'000, 50'000, 100'000, 1'000'000, 10'000'000};

struct DowntimeHistogram {
  std::array<uint64_t, kDowntimeBucketsUs.size()>
      buckets{};  // cumulative: count with downtime <= bound
  uint64_t count = 0;
  uint64_t sum_us = 0;
  uint64_t max_us = 0;
  uint64_t last_us = 0;

  void add(uint64_t us) {
    for (size_t i = 0; i < kDowntimeBucketsUs.size(); ++i)
      if (us <= kDowntimeBucketsUs[i]) ++buckets[i];
    ++count;
    sum_us += us;
    if (us > max_us) max_us = us;
    last_us = us;
  }
};

struct DeviceSnapshot {
  std::string name;  // "disk0", "nic0"
  std::string kind;  // "disk" | "nic"
  // "starting" | "serving" | "recovering" (driver dead, restart scheduled or
  // successor starting) | "stopped" (an operator stopped the driver; requests
  // are held) | "failed" (policy exhausted, or the device model died)
  std::string state;
  std::string mode;       // "isolated" | "colocated"
  std::string driver;     // the driver program's path
  std::string policy;     // policy name
  pid_t driver_pid = 0;   // 0: none
  pid_t standby_pid = 0;  // 0: none
  pid_t model_pid = 0;    // 0: none (kernel UIO device)

  // Recovery history (RestartEngine's counters).
  uint64_t restarts = 0;  // successful restarts, warm + cold
  uint64_t restarts_warm = 0;
  uint64_t restarts_cold = 0;
  uint64_t warm_refused = 0;
  uint64_t standby_promotions = 0;
  uint64_t requests_resent = 0;
  std::map<std::string, uint64_t>
      faults_by_cause;     // "crashed", "hung", "exited", "protocol-violation", "start-failed",
                           // "operator"
  std::string last_fault;  // one line; "" if none
  uint64_t last_fault_realtime_us = 0;  // CLOCK_REALTIME of the last fault; 0 if none
  DowntimeHistogram downtime;

  // I/O counters: disk: reads, writes, flushes, read_bytes, write_bytes,
  // errors, violations, requests_open; NIC: tx_frames, tx_bytes, rx_frames,
  // rx_bytes, tx_errors, rx_errors, rx_dropped, violations.
  std::map<std::string, uint64_t> io;
};

// One recovery, as the engine's "event {...}" line tells it.
struct RecoveryEvent {
  std::string device;
  std::string cause;  // FailureCause name, or "operator"
  std::string mode;   // "warm" | "cold"
  bool standby = false;
  bool warm_refused = false;
  pid_t old_pid = 0;
  pid_t new_pid = 0;
  uint32_t resent = 0;
  uint64_t detect_to_serving_us = 0;
  uint64_t downtime_us = 0;  // detected -> first completion
};

}  // namespace uldd::supervisor
