#include "supervisor/dbus/testing/fake_supervisor_control.h"

#include <algorithm>
#include <cerrno>

namespace uldd::dbus::testing {

using supervisor::DeviceSnapshot;

FakeSupervisorControl::FakeSupervisorControl() {
  DeviceSnapshot disk;
  disk.name = "disk0";
  disk.kind = "disk";
  disk.state = "serving";
  disk.mode = "isolated";
  disk.driver = "/usr/lib/uldd/uldd-nvme-driver";
  disk.policy = "default-disk";
  disk.driver_pid = 4242;
  disk.standby_pid = 4243;
  disk.model_pid = 4000;
  disk.restarts = 3;
  disk.restarts_warm = 2;
  disk.restarts_cold = 1;
  disk.warm_refused = 1;
  disk.standby_promotions = 1;
  disk.requests_resent = 17;
  disk.faults_by_cause = {{"crashed", 2}, {"hung", 1}, {"operator", 1}};
  disk.last_fault = "driver (pid 4100) killed by SIGKILL";
  disk.last_fault_realtime_us = 1'700'000'000'000'000;
  disk.downtime.add(1'500);
  disk.downtime.add(30'000);
  disk.downtime.add(2'500);
  disk.io = {{"reads", 1000}, {"writes", 500}, {"read_bytes", 4'096'000}};
  devices_.push_back(disk);

  DeviceSnapshot nic;
  nic.name = "nic-0";  // a '-' to exercise sd_bus_path_encode
  nic.kind = "nic";
  nic.state = "stopped";
  nic.mode = "colocated";
  nic.driver = "/usr/lib/uldd/uldd-e1000-driver";
  nic.policy = "default-nic";
  nic.io = {{"tx_frames", 7}};
  devices_.push_back(nic);
}

std::vector<DeviceSnapshot> FakeSupervisorControl::devices() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return devices_;
}

Result<DeviceSnapshot> FakeSupervisorControl::device(std::string_view name) const {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const DeviceSnapshot& d : devices_)
    if (d.name == name) return d;
  return Error{ENOENT, "no device named '" + std::string(name) + "'"};
}

std::string FakeSupervisorControl::state() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return state_;
}

std::optional<Error> FakeSupervisorControl::take_failure(const std::string& call) {
  auto it = failures_.find(call);
  if (it == failures_.end()) return std::nullopt;
  Error error = it->second;
  failures_.erase(it);
  return error;
}

Status FakeSupervisorControl::record(const std::string& call, std::string_view device) {
  std::lock_guard<std::mutex> lock(mutex_);
  calls_.push_back(call + " " + std::string(device));
  if (auto failure = take_failure(call)) return *failure;
  if (std::none_of(devices_.begin(), devices_.end(),
                   [&](const auto& d) { return d.name == device; }))
    return Error{ENOENT, "no device named '" + std::string(device) + "'"};
  return {};
}

Status FakeSupervisorControl::restart_driver(std::string_view device) {
  return record("restart", device);
}
Status FakeSupervisorControl::stop_driver(std::string_view device) {
  return record("stop", device);
}
Status FakeSupervisorControl::start_driver(std::string_view device) {
  return record("start", device);
}

Result<std::string> FakeSupervisorControl::reload_policies() {
  std::lock_guard<std::mutex> lock(mutex_);
  calls_.push_back("reload");
  if (auto failure = take_failure("reload")) return *failure;
  return std::string("reloaded 2 policies (default-disk, default-nic)");
}

Result<std::string> FakeSupervisorControl::inject_fault(std::string_view device,
                                                        const supervisor::FaultRequest& fault) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string call = "inject " + std::string(device) + " " + fault.type;
  for (const auto& [key, value] : fault.params) call += " " + key + "=" + value;
  calls_.push_back(call);
  if (auto failure = take_failure("inject")) return *failure;
  if (std::none_of(devices_.begin(), devices_.end(),
                   [&](const auto& d) { return d.name == device; }))
    return Error{ENOENT, "no device named '" + std::string(device) + "'"};
  if (fault.type != "sigkill" && fault.type != "media-error")
    return Error{EINVAL, "unknown fault type '" + fault.type + "'"};
  return "injected " + fault.type + " into " + std::string(device) + " (" +
         std::to_string(fault.params.size()) + " parameters)";
}

std::vector<std::string> FakeSupervisorControl::fault_types() const {
  return {"sigkill", "media-error"};
}

std::string FakeSupervisorControl::log_level() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return log_level_;
}

Status FakeSupervisorControl::set_log_level(std::string_view level) {
  std::lock_guard<std::mutex> lock(mutex_);
  calls_.push_back("set_log_level " + std::string(level));
  static const char* const kLevels[] = {"trace", "debug",    "info", "warn",
                                        "error", "critical", "off"};
  if (std::find(std::begin(kLevels), std::end(kLevels), level) == std::end(kLevels))
    return Error{EINVAL, "unknown log level '" + std::string(level) + "'"};
  log_level_ = level;
  return {};
}

std::string FakeSupervisorControl::metrics_text() const {
  return "# TYPE uldd_restarts counter\nuldd_restarts_total{device=\"disk0\"} 3\n# EOF\n";
}

void FakeSupervisorControl::fail_next(const std::string& call, Error error) {
  std::lock_guard<std::mutex> lock(mutex_);
  failures_[call] = std::move(error);
}

void FakeSupervisorControl::set_device(const DeviceSnapshot& device) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (DeviceSnapshot& d : devices_)
    if (d.name == device.name) d = device;
}

void FakeSupervisorControl::set_state(const std::string& state) {
  std::lock_guard<std::mutex> lock(mutex_);
  state_ = state;
}

std::vector<std::string> FakeSupervisorControl::calls() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return calls_;
}

DeviceSnapshot FakeSupervisorControl::snapshot(const std::string& name) const {
  Result<DeviceSnapshot> d = device(name);
  return d.ok() ? *d : DeviceSnapshot{};
}

}  // namespace uldd::dbus::testing
