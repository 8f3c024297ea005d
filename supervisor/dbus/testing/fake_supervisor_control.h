// FakeSupervisorControl: the SupervisorControl seam played by the test — two
// devices with known figures, every call recorded, and any call made to fail
// with a chosen Error — so the D-Bus tests can check that each method
// returns exactly what the supervisor says. Locked, because the test thread
// sets it up while the service thread calls it.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "supervisor/control/supervisor_control.h"

namespace uldd::dbus::testing {

class FakeSupervisorControl final : public supervisor::SupervisorControl {
 public:
  FakeSupervisorControl();  // disk0 (serving, 3 restarts) and "nic-0" (stopped)

  std::vector<supervisor::DeviceSnapshot> devices() const override;
  Result<supervisor::DeviceSnapshot> device(std::string_view name) const override;
  std::string state() const override;
  Status restart_driver(std::string_view device) override;
  Status stop_driver(std::string_view device) override;
  Status start_driver(std::string_view device) override;
  Result<std::string> reload_policies() override;
  Result<std::string> inject_fault(std::string_view device,
                                   const supervisor::FaultRequest& fault) override;
  std::vector<std::string> fault_types() const override;
  std::string log_level() const override;
  Status set_log_level(std::string_view level) override;
  std::string metrics_text() const override;

  // Test controls.
  void fail_next(const std::string& call, Error error);  // call: "restart", "inject", ...
  void set_device(const supervisor::DeviceSnapshot& device);
  void set_state(const std::string& state);
  std::vector<std::string> calls() const;  // "restart disk0", "inject disk0 sigkill lba=4096", ...
  supervisor::DeviceSnapshot snapshot(const std::string& name) const;

 private:
  std::optional<Error> take_failure(const std::string& call);
  Status record(const std::string& call, std::string_view device);

  mutable std::mutex mutex_;
  std::vector<supervisor::DeviceSnapshot> devices_;
  std::string state_ = "running";
  std::string log_level_ = "info";
  std::map<std::string, Error> failures_;
  std::vector<std::string> calls_;
};

}  // namespace uldd::dbus::testing
