// BusService: the supervisor's D-Bus API (docs/dbus-api.md) through sd-bus.
// It owns one bus connection, holds the name org.uldd.Supervisor1, serves the
// manager object and one object per device from the SupervisorControl seam,
// and turns the supervisor's ControlEvents into signals and PropertiesChanged.
//
// It never runs a loop of its own: the supervisor polls fd() for
// poll_events() until deadline() in its ppoll loop and calls process(), so
// every handler runs on the loop thread, as SupervisorControl requires.
#pragma once

#include <systemd/sd-bus.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"
#include "supervisor/control/supervisor_control.h"
#include "supervisor/dbus/caller_credentials.h"
#include "supervisor/dbus/service_context.h"

namespace uldd::dbus {

struct BusOptions {
  // "system", or a D-Bus address such as unix:path=/run/x/bus (tests' private
  // dbus-daemon).
  std::string address = "system";
  // Members of this group may call mutating methods besides root; "" = root only.
  std::string control_group = "uldd";
};

class BusService final : public supervisor::ControlEvents {
 public:
  // Connects, registers the objects and requests the name; an error if the
  // bus cannot be reached or the name is already owned (the message names it).
  static Result<std::unique_ptr<BusService>> start(supervisor::SupervisorControl& control,
                                                   const BusOptions& options);
  // The same with the source of caller credentials given: tests pass a fake
  // to cover callers (group members) they cannot create on the machine.
  static Result<std::unique_ptr<BusService>> start(supervisor::SupervisorControl& control,
                                                   const BusOptions& options,
                                                   std::unique_ptr<CallerCredentials> credentials);
  ~BusService() override;
  BusService(const BusService&) = delete;
  BusService& operator=(const BusService&) = delete;

  // For the caller's poll: the connection's fd (-1 once the bus connection is
  // lost, which ppoll ignores), the events to wait for, and when to call
  // process() even without events (time_point::max(): no deadline).
  int fd() const;
  short poll_events() const;
  std::chrono::steady_clock::time_point deadline() const;
  // Handles everything pending (sd_bus_process until it has nothing left).
  // Never blocks on the socket, never throws; a lost connection is logged
  // once and the service goes quiet (the supervisor keeps serving I/O).
  void process();
  // Writes out queued messages (signals) before exit.
  void flush();

  bool connected() const { return bus_ != nullptr; }
  std::string unique_name() const;

  // ControlEvents. device_changed: DeviceStateChanged when the state or the
  // driver pid changed, and PropertiesChanged with those of State, DriverPid,
  // StandbyPid, Restarts, LastFault and LastDowntimeUsec that changed since
  // the last event of that device.
  void device_changed(const supervisor::DeviceSnapshot& now, std::string_view old_state) override;
  void recovered(const supervisor::RecoveryEvent& event) override;
  void supervisor_state_changed(std::string_view state) override;

 private:
  // The values of a device's signalled properties last announced.
  struct SignalledValues {
    std::string state;
    pid_t driver_pid = 0;
    pid_t standby_pid = 0;
    uint64_t restarts = 0;
    std::string last_fault;
    uint64_t last_downtime_us = 0;
  };
  static SignalledValues signalled_values(const supervisor::DeviceSnapshot& device);

  BusService(sd_bus* bus, supervisor::SupervisorControl& control,
             std::unique_ptr<CallerCredentials> credentials, ControlAccess access);
  Status register_objects();
  void drop_connection(int error);

  sd_bus* bus_;  // owned; nullptr once the connection is lost
  std::unique_ptr<CallerCredentials> credentials_;
  ServiceContext context_;
  std::map<std::string, SignalledValues, std::less<>> signalled_;
};

}  // namespace uldd::dbus
