// SupervisorControl: what the control plane (the D-Bus service, and through
// it ulddctl) may ask of a running supervisor, and ControlEvents: what the
// supervisor tells it. The seam between the supervisor's loop and every
// control front end: the D-Bus service is written and tested against this
// interface (a fake in its unit tests), the supervisor implements it.
//
// Threading: every call is made on the supervisor's loop thread (the D-Bus
// connection is dispatched from that loop), so implementations need no locks.
// Errors are Status/Result with an errno-style code that front ends map to
// their own error names once (docs/dbus-api.md):
//   ENOENT  no such device            EINVAL  bad argument (message says which)
//   EBUSY   not possible in the device's current state
//   ENOTSUP fault type or operation not supported for this device
//   EIO     the operation was tried and failed (message says why)
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "supervisor/control/device_snapshot.h"

namespace uldd::supervisor {

// An operator's fault injection request: a fault type name and its
// parameters as strings (the fault-injection layer parses and checks them),
// e.g. {"sigkill", {}} or {"media-error", {{"lba","4096"},{"count","8"}}}.
struct FaultRequest {
  std::string type;
  std::map<std::string, std::string> params;
};

class SupervisorControl {
 public:
  virtual ~SupervisorControl() = default;

  virtual std::vector<DeviceSnapshot> devices() const = 0;
  virtual Result<DeviceSnapshot> device(std::string_view name) const = 0;
  // "starting" | "running" | "degraded" (some device not serving) | "stopping"
  virtual std::string state() const = 0;

  // Operator actions on a device's driver. restart: the running driver is
  // replaced (cause "operator", not counted against the policy's intensity);
  // stop: the driver is stopped and requests are held (applications stall)
  // until start; start: a driver the operator stopped is started again (a
  // failed device — policy exhausted, model gone — is refused with EBUSY:
  // its shim has stopped; restarting the supervisor brings it back).
  virtual Status restart_driver(std::string_view device) = 0;
  virtual Status stop_driver(std::string_view device) = 0;
  virtual Status start_driver(std::string_view device) = 0;

  // Re-reads the policy files (as SIGHUP); all or nothing. Returns a summary.
  virtual Result<std::string> reload_policies() = 0;

  // Injects one fault now; returns a line saying what was done.
  virtual Result<std::string> inject_fault(std::string_view device, const FaultRequest& fault) = 0;
  // Fault type names this build can inject (for --help and introspection).
  virtual std::vector<std::string> fault_types() const = 0;

  virtual std::string log_level() const = 0;
  virtual Status set_log_level(std::string_view level) = 0;

  // The OpenMetrics exposition of every device (metrics/ writes the same text
  // to a file).
  virtual std::string metrics_text() const = 0;
};

class ControlEvents {
 public:
  virtual ~ControlEvents() = default;
  virtual void device_changed(const DeviceSnapshot& now, std::string_view old_state) = 0;
  virtual void recovered(const RecoveryEvent& event) = 0;
  virtual void supervisor_state_changed(std::string_view state) = 0;
};

}  // namespace uldd::supervisor
