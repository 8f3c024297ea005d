#include "supervisor/dbus/service_context.h"

#include <spdlog/spdlog.h>

#include "supervisor/dbus/bus_error_map.h"

namespace uldd::dbus {

Result<supervisor::DeviceSnapshot> ServiceContext::device(std::string_view name) const {
  if (pinned_device != nullptr && pinned_device->name == name) return *pinned_device;
  return control.device(name);
}

std::string ServiceContext::state() const {
  return pinned_state != nullptr ? *pinned_state : control.state();
}

int ServiceContext::authorize(sd_bus_message* call, const char* action, sd_bus_error* error) {
  const char* sender = sd_bus_message_get_sender(call);
  Result<CallerIdentity> caller = credentials.identify(call);
  if (!caller.ok()) {
    spdlog::warn("D-Bus: {} from {} refused: credentials unknown: {}", action,
                 sender ? sender : "?", caller.error().describe());
    return set_bus_error(
        error,
        Error{EACCES, std::string(action) + " refused: the caller's credentials are unknown"});
  }
  Status allowed = access.authorize(*caller, action);
  if (!allowed.ok()) {
    spdlog::warn("D-Bus: {} (pid {}, {})", allowed.error().message, caller->pid,
                 sender ? sender : "?");
    return set_bus_error(error, allowed.error());
  }
  spdlog::debug("D-Bus: {} by uid {} (pid {})", action, caller->euid, caller->pid);
  return 0;
}

}  // namespace uldd::dbus
