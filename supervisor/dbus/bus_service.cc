#include "supervisor/dbus/bus_service.h"

#include <poll.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "supervisor/dbus/bus_names.h"
#include "supervisor/dbus/device_interface.h"
#include "supervisor/dbus/device_object_path.h"
#include "supervisor/dbus/manager_interface.h"

namespace uldd::dbus {

namespace {

Error bus_error(int r, const std::string& what) {
  return Error{-r, "D-Bus: " + what};
}

// A client connection to the system bus or to the given address.
// Calls the service itself makes (the caller's credentials, from the bus
// daemon) run on the supervisor's loop: a slow bus daemon must cost at most
// this, not sd-bus's default 25 s, before recovery goes on.
constexpr uint64_t kOwnCallTimeoutUs = 1'000'000;

Result<sd_bus*> open_bus(const std::string& address) {
  sd_bus* bus = nullptr;
  if (address == "system") {
    int r = sd_bus_open_system_with_description(&bus, "uldd-supervisor");
    if (r < 0) return bus_error(r, "cannot connect to the system bus");
    sd_bus_set_method_call_timeout(bus, kOwnCallTimeoutUs);
    return bus;
  }
  int r = sd_bus_new(&bus);
  if (r < 0) return bus_error(r, "sd_bus_new");
  if ((r = sd_bus_set_address(bus, address.c_str())) < 0 ||
      (r = sd_bus_set_bus_client(bus, 1)) < 0 ||
      (r = sd_bus_set_description(bus, "uldd-supervisor")) < 0 ||
      (r = sd_bus_set_method_call_timeout(bus, kOwnCallTimeoutUs)) < 0 ||
      (r = sd_bus_start(bus)) < 0) {
    sd_bus_unref(bus);
    return bus_error(r, "cannot connect to the bus at " + address);
  }
  return bus;
}

}  // namespace

Result<std::unique_ptr<BusService>> BusService::start(supervisor::SupervisorControl& control,
                                                      const BusOptions& options) {
  return start(control, options, std::make_unique<SdBusCallerCredentials>());
}

Result<std::unique_ptr<BusService>> BusService::start(
    supervisor::SupervisorControl& control, const BusOptions& options,
    std::unique_ptr<CallerCredentials> credentials) {
  Result<sd_bus*> bus = open_bus(options.address);
  if (!bus.ok()) return bus.error();
  std::unique_ptr<BusService> service(new BusService(
      *bus, control, std::move(credentials), ControlAccess::for_group(options.control_group)));
  ULDD_TRY(service->register_objects());

  // The objects are in place before the name is ours, so the first caller
  // that finds the name finds them too. Flags 0: no queueing, no replacing.
  int r = sd_bus_request_name(service->bus_, kServiceName, 0);
  if (r == -EEXIST || r == -EALREADY) {
    return Error{EEXIST, std::string("D-Bus: the name ") + kServiceName + " is already owned on " +
                             options.address + " (is another uldd-supervisor running?)"};
  }
  if (r < 0)
    return bus_error(
        r, std::string("cannot request the name ") + kServiceName + " on " + options.address);
  spdlog::info("D-Bus: serving {} on {} as {} (mutating calls: root{})", kServiceName,
               options.address, service->unique_name(),
               service->context_.access.group_gid() ? " and group " + options.control_group
                                                    : std::string(" only"));
  return service;
}

BusService::BusService(sd_bus* bus, supervisor::SupervisorControl& control,
                       std::unique_ptr<CallerCredentials> credentials, ControlAccess access)
    : bus_(bus),
      credentials_(std::move(credentials)),
      context_{control, *credentials_, std::move(access)} {
  for (const supervisor::DeviceSnapshot& device : control.devices())
    signalled_.emplace(device.name, signalled_values(device));
}

BusService::~BusService() {
  // Floating slots (nullptr slot arguments) go with the connection.
  if (bus_ != nullptr) sd_bus_flush_close_unref(bus_);
}

Status BusService::register_objects() {
  void* userdata = &context_;
  int r = sd_bus_add_object_vtable(bus_, nullptr, kManagerPath, kManagerInterface, manager_vtable(),
                                   userdata);
  if (r < 0) return bus_error(r, "cannot register the manager object");
  r = sd_bus_add_object_manager(bus_, nullptr, kManagerPath);
  if (r < 0) return bus_error(r, "cannot register the object manager");
  r = sd_bus_add_fallback_vtable(bus_, nullptr, kDevicePathPrefix, kDeviceInterface,
                                 device_vtable(), find_device_object, userdata);
  if (r < 0) return bus_error(r, "cannot register the device objects");
  r = sd_bus_add_node_enumerator(bus_, nullptr, kDevicePathPrefix, enumerate_device_objects,
                                 userdata);
  if (r < 0) return bus_error(r, "cannot register the device enumerator");
  return {};
}

int BusService::fd() const {
  return bus_ != nullptr ? sd_bus_get_fd(bus_) : -1;
}

short BusService::poll_events() const {
  if (bus_ == nullptr) return 0;
  const int events = sd_bus_get_events(bus_);
  return events > 0 ? static_cast<short>(events) : 0;
}

std::chrono::steady_clock::time_point BusService::deadline() const {
  uint64_t usec = UINT64_MAX;
  if (bus_ == nullptr || sd_bus_get_timeout(bus_, &usec) < 0 || usec == UINT64_MAX)
    return std::chrono::steady_clock::time_point::max();
  // sd-bus reports CLOCK_MONOTONIC, which is steady_clock's clock on Linux.
  return std::chrono::steady_clock::time_point(std::chrono::microseconds(usec));
}

void BusService::process() {
  // Bounded: a flood of calls (reading is open to every local user) must not
  // keep the loop from its devices. With messages still queued
  // sd_bus_get_timeout() says "now", so the loop comes back at once after
  // the devices have had their turn.
  constexpr int kMaxPerRound = 32;
  for (int handled = 0; bus_ != nullptr && handled < kMaxPerRound; ++handled) {
    const int r = sd_bus_process(bus_, nullptr);
    if (r == 0) return;
    if (r < 0) {
      // A handler's failure is answered to its caller inside sd-bus; a
      // negative return here is the connection itself.
      drop_connection(-r);
      return;
    }
  }
}

void BusService::drop_connection(int error) {
  spdlog::error(
      "D-Bus: connection lost ({}); the D-Bus API is unavailable until the supervisor restarts",
      std::strerror(error));
  sd_bus_close_unref(bus_);
  bus_ = nullptr;
}

void BusService::flush() {
  if (bus_ != nullptr) sd_bus_flush(bus_);
}

std::string BusService::unique_name() const {
  const char* name = nullptr;
  if (bus_ == nullptr || sd_bus_get_unique_name(bus_, &name) < 0 || name == nullptr) return {};
  return name;
}

BusService::SignalledValues BusService::signalled_values(const supervisor::DeviceSnapshot& device) {
  return SignalledValues{device.state,    device.driver_pid, device.standby_pid,
                         device.restarts, device.last_fault, device.downtime.last_us};
}

void BusService::device_changed(const supervisor::DeviceSnapshot& now, std::string_view old_state) {
  if (bus_ == nullptr) return;
  const SignalledValues values = signalled_values(now);
  auto [it, first_event] = signalled_.try_emplace(now.name, values);
  const SignalledValues before = first_event ? SignalledValues{std::string(old_state)} : it->second;
  it->second = values;

  if (now.state != old_state || values.driver_pid != before.driver_pid) {
    const uint32_t pid = now.driver_pid > 0 ? static_cast<uint32_t>(now.driver_pid) : 0;
    const std::string old_state_text(old_state);
    int r = sd_bus_emit_signal(bus_, kManagerPath, kManagerInterface, "DeviceStateChanged", "sssu",
                               now.name.c_str(), old_state_text.c_str(), now.state.c_str(), pid);
    if (r < 0)
      spdlog::warn("D-Bus: DeviceStateChanged({}) not sent: {}", now.name, std::strerror(-r));
  }

  // Names in kDeviceSignalledProperties order; the list ends with nullptr.
  std::vector<char*> changed;
  const bool differs[] = {values.state != before.state,
                          values.driver_pid != before.driver_pid,
                          values.standby_pid != before.standby_pid,
                          values.restarts != before.restarts,
                          values.last_fault != before.last_fault,
                          values.last_downtime_us != before.last_downtime_us};
  for (size_t i = 0; i < std::size(differs); ++i)
    if (differs[i] || first_event)
      changed.push_back(const_cast<char*>(kDeviceSignalledProperties[i]));
  if (changed.empty()) return;
  changed.push_back(nullptr);
  const std::string path = device_object_path(now.name);
  context_.pinned_device = &now;
  int r = sd_bus_emit_properties_changed_strv(bus_, path.c_str(), kDeviceInterface, changed.data());
  context_.pinned_device = nullptr;
  if (r < 0) spdlog::warn("D-Bus: PropertiesChanged({}) not sent: {}", path, std::strerror(-r));
}

void BusService::recovered(const supervisor::RecoveryEvent& event) {
  if (bus_ == nullptr) return;
  const int standby = event.standby ? 1 : 0;
  const uint32_t old_pid = event.old_pid > 0 ? static_cast<uint32_t>(event.old_pid) : 0;
  const uint32_t new_pid = event.new_pid > 0 ? static_cast<uint32_t>(event.new_pid) : 0;
  int r = sd_bus_emit_signal(bus_, kManagerPath, kManagerInterface, "Recovered", "sssbuuttu",
                             event.device.c_str(), event.cause.c_str(), event.mode.c_str(), standby,
                             old_pid, new_pid, event.detect_to_serving_us, event.downtime_us,
                             event.resent);
  if (r < 0) spdlog::warn("D-Bus: Recovered({}) not sent: {}", event.device, std::strerror(-r));
}

void BusService::supervisor_state_changed(std::string_view state) {
  if (bus_ == nullptr) return;
  const std::string pinned(state);
  context_.pinned_state = &pinned;
  int r = sd_bus_emit_properties_changed(bus_, kManagerPath, kManagerInterface, "State", nullptr);
  context_.pinned_state = nullptr;
  if (r < 0) spdlog::warn("D-Bus: PropertiesChanged(State) not sent: {}", std::strerror(-r));
}

}  // namespace uldd::dbus
