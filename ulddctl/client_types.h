// The values SupervisorClient reads off the bus and the formatters print:
// plain structs, so that tables and JSON are tested with fixed inputs and
// no bus. One device in detail is a supervisor::DeviceSnapshot (the same
// struct the D-Bus service reads its properties from); these are the rest.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace uldd::ctl {

// The manager's properties (org.uldd.Supervisor1.Manager).
struct SupervisorInfo {
  std::string version;
  std::string state;  // starting | running | degraded | stopping
  std::string log_level;
};

// One element of ListDevices' a(sssuttst).
struct DeviceRow {
  std::string name;
  std::string kind;
  std::string state;
  uint32_t driver_pid = 0;  // 0: none
  uint64_t restarts = 0;
  uint64_t faults = 0;
  std::string last_fault;
  uint64_t last_downtime_us = 0;
};

// One signal of the manager, decoded. Fields a signal does not carry stay
// at their defaults.
struct BusEvent {
  enum class Kind { kDeviceStateChanged, kRecovered, kFaultInjected };
  Kind kind = Kind::kDeviceStateChanged;
  uint64_t received_realtime_us = 0;  // when ulddctl read it (CLOCK_REALTIME)
  std::string device;
  // DeviceStateChanged
  std::string old_state;
  std::string new_state;
  uint32_t driver_pid = 0;
  // Recovered
  std::string cause;
  std::string mode;
  bool standby = false;
  uint32_t old_pid = 0;
  uint32_t new_pid = 0;
  uint64_t detect_to_serving_us = 0;
  uint64_t downtime_us = 0;
  uint32_t resent = 0;
  // FaultInjected
  std::string fault;
  std::string detail;
};

inline const char* signal_name(BusEvent::Kind kind) {
  switch (kind) {
    case BusEvent::Kind::kDeviceStateChanged:
      return "DeviceStateChanged";
    case BusEvent::Kind::kRecovered:
      return "Recovered";
    case BusEvent::Kind::kFaultInjected:
      return "FaultInjected";
  }
  return "?";
}

}  // namespace uldd::ctl
