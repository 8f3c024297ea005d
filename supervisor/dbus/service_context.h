// ServiceContext: what the D-Bus method handlers and property getters share —
// the supervisor behind the seam, the access check, and the snapshot being
// written out. sd-bus calls handlers with a void* userdata; this is what it
// points to, for the manager object and for every device object.
#pragma once

#include <systemd/sd-bus.h>

#include <string>
#include <string_view>

#include "common/result.h"
#include "supervisor/control/supervisor_control.h"
#include "supervisor/dbus/caller_credentials.h"
#include "supervisor/dbus/control_access.h"

namespace uldd::dbus {

struct ServiceContext {
  supervisor::SupervisorControl& control;
  CallerCredentials& credentials;
  ControlAccess access;

  // While one device's properties are written out in one go (GetDevice, or
  // PropertiesChanged for ControlEvents::device_changed) the getters read this
  // snapshot instead of asking the supervisor once per property, so the
  // values are consistent with each other and with the event.
  const supervisor::DeviceSnapshot* pinned_device = nullptr;
  // Likewise the manager's State during supervisor_state_changed.
  const std::string* pinned_state = nullptr;

  Result<supervisor::DeviceSnapshot> device(std::string_view name) const;
  std::string state() const;

  // 0 when the caller may perform `action` (a mutating method's name);
  // otherwise logs the refusal with uid and pid, fills `error` with
  // AccessDenied and returns the negative errno for the handler to return.
  int authorize(sd_bus_message* call, const char* action, sd_bus_error* error);
};

}  // namespace uldd::dbus
