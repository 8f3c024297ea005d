#include "supervisor/dbus/manager_interface.h"

#include <spdlog/spdlog.h>

#include <cstring>
#include <numeric>
#include <string>
#include <vector>

#include "supervisor/dbus/bus_error_map.h"
#include "supervisor/dbus/bus_names.h"
#include "supervisor/dbus/device_interface.h"
#include "supervisor/dbus/device_object_path.h"
#include "supervisor/dbus/service_context.h"

#ifndef ULDD_VERSION
#define ULDD_VERSION "unknown"
#endif

namespace uldd::dbus {

namespace {

using supervisor::DeviceSnapshot;

ServiceContext& context_of(void* userdata) {
  return *static_cast<ServiceContext*>(userdata);
}

// A reply that could not be built or sent: keep an error a getter already set,
// otherwise say which method failed.
int sent_or_error(int r, sd_bus_error* error, const char* what) {
  if (r >= 0 || sd_bus_error_is_set(error)) return r;
  return sd_bus_error_setf(error, kErrorFailed, "%s: %s", what, std::strerror(-r));
}

// --- methods ------------------------------------------------------------------
int list_devices(sd_bus_message* call, void* userdata, sd_bus_error* error) {
  auto& context = context_of(userdata);
  sd_bus_message* reply = nullptr;
  int r = sd_bus_message_new_method_return(call, &reply);
  if (r < 0) return r;
  r = sd_bus_message_open_container(reply, 'a', "(sssuttst)");
  for (const DeviceSnapshot& d : context.control.devices()) {
    if (r < 0) break;
    const uint64_t faults =
        std::accumulate(d.faults_by_cause.begin(), d.faults_by_cause.end(), uint64_t{0},
                        [](uint64_t sum, const auto& entry) { return sum + entry.second; });
    const uint32_t pid = d.driver_pid > 0 ? static_cast<uint32_t>(d.driver_pid) : 0;
    r = sd_bus_message_append(reply, "(sssuttst)", d.name.c_str(), d.kind.c_str(), d.state.c_str(),
                              pid, d.restarts, faults, d.last_fault.c_str(), d.downtime.last_us);
  }
  if (r >= 0) r = sd_bus_message_close_container(reply);
  if (r >= 0) r = sd_bus_send(nullptr, reply, nullptr);
  sd_bus_message_unref(reply);
  return sent_or_error(r, error, "ListDevices");
}

int get_device(sd_bus_message* call, void* userdata, sd_bus_error* error) {
  auto& context = context_of(userdata);
  const char* name = nullptr;
  int r = sd_bus_message_read(call, "s", &name);
  if (r < 0)
    return sd_bus_error_setf(error, kErrorInvalidArgs, "GetDevice(s name): %s", std::strerror(-r));
  Result<DeviceSnapshot> device = context.control.device(name);
  if (!device.ok()) return set_bus_error(error, device.error());
  sd_bus_message* reply = nullptr;
  r = sd_bus_message_new_method_return(call, &reply);
  if (r < 0) return r;
  r = append_device_properties(reply, context, *device, error);
  if (r >= 0) r = sd_bus_send(nullptr, reply, nullptr);
  sd_bus_message_unref(reply);
  return sent_or_error(r, error, "GetDevice");
}

int reload(sd_bus_message* call, void* userdata, sd_bus_error* error) {
  auto& context = context_of(userdata);
  if (int r = context.authorize(call, "Reload", error); r < 0) return r;
  spdlog::info("D-Bus: Reload");
  Result<std::string> summary = context.control.reload_policies();
  if (!summary.ok()) return set_bus_error(error, summary.error());
  return sd_bus_reply_method_return(call, "s", summary->c_str());
}

int set_log_level(sd_bus_message* call, void* userdata, sd_bus_error* error) {
  auto& context = context_of(userdata);
  if (int r = context.authorize(call, "SetLogLevel", error); r < 0) return r;
  const char* level = nullptr;
  int r = sd_bus_message_read(call, "s", &level);
  if (r < 0)
    return sd_bus_error_setf(error, kErrorInvalidArgs, "SetLogLevel(s level): %s",
                             std::strerror(-r));
  const std::string before = context.control.log_level();
  Status status = context.control.set_log_level(level);
  if (!status.ok()) return set_bus_error(error, status.error());
  spdlog::info("D-Bus: log level {} -> {}", before, level);
  if (context.control.log_level() != before) {
    r = sd_bus_emit_properties_changed(sd_bus_message_get_bus(call), kManagerPath,
                                       kManagerInterface, "LogLevel", nullptr);
    if (r < 0) spdlog::warn("D-Bus: PropertiesChanged(LogLevel) not sent: {}", std::strerror(-r));
  }
  return sd_bus_reply_method_return(call, "");
}

int get_metrics(sd_bus_message* call, void* userdata, sd_bus_error* /*error*/) {
  const std::string text = context_of(userdata).control.metrics_text();
  return sd_bus_reply_method_return(call, "s", text.c_str());
}

int list_fault_types(sd_bus_message* call, void* userdata, sd_bus_error* error) {
  const std::vector<std::string> types = context_of(userdata).control.fault_types();
  sd_bus_message* reply = nullptr;
  int r = sd_bus_message_new_method_return(call, &reply);
  if (r < 0) return r;
  r = sd_bus_message_open_container(reply, 'a', "s");
  for (size_t i = 0; r >= 0 && i < types.size(); ++i)
    r = sd_bus_message_append_basic(reply, 's', types[i].c_str());
  if (r >= 0) r = sd_bus_message_close_container(reply);
  if (r >= 0) r = sd_bus_send(nullptr, reply, nullptr);
  sd_bus_message_unref(reply);
  return sent_or_error(r, error, "ListFaultTypes");
}

// --- properties ---------------------------------------------------------------
int get_version(sd_bus*, const char*, const char*, const char*, sd_bus_message* reply, void*,
                sd_bus_error*) {
  return sd_bus_message_append_basic(reply, 's', ULDD_VERSION);
}
int get_state(sd_bus*, const char*, const char*, const char*, sd_bus_message* reply, void* userdata,
              sd_bus_error*) {
  return sd_bus_message_append_basic(reply, 's', context_of(userdata).state().c_str());
}
int get_log_level(sd_bus*, const char*, const char*, const char*, sd_bus_message* reply,
                  void* userdata, sd_bus_error*) {
  return sd_bus_message_append_basic(reply, 's', context_of(userdata).control.log_level().c_str());
}
int get_devices(sd_bus*, const char*, const char*, const char*, sd_bus_message* reply,
                void* userdata, sd_bus_error*) {
  int r = sd_bus_message_open_container(reply, 'a', "o");
  for (const DeviceSnapshot& device : context_of(userdata).control.devices()) {
    if (r < 0) break;
    r = sd_bus_message_append_basic(reply, 'o', device_object_path(device.name).c_str());
  }
  return r < 0 ? r : sd_bus_message_close_container(reply);
}

// Every method carries UNPRIVILEGED: otherwise sd-bus would demand
// CAP_SYS_ADMIN of every caller on the (untrusted) system bus; reading is open
// and the mutating methods check uldd's own rule (ServiceContext::authorize).
constexpr uint64_t kOwnAccessCheck = SD_BUS_VTABLE_UNPRIVILEGED;
constexpr uint64_t kSignalled = SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE;

const sd_bus_vtable kManagerVtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_METHOD_WITH_NAMES("ListDevices", "", "", "a(sssuttst)", SD_BUS_PARAM(devices),
                             list_devices, kOwnAccessCheck),
    SD_BUS_METHOD_WITH_NAMES("GetDevice", "s", SD_BUS_PARAM(name), "a{sv}",
                             SD_BUS_PARAM(properties), get_device, kOwnAccessCheck),
    SD_BUS_METHOD_WITH_NAMES("Reload", "", "", "s", SD_BUS_PARAM(summary), reload, kOwnAccessCheck),
    SD_BUS_METHOD_WITH_NAMES("SetLogLevel", "s", SD_BUS_PARAM(level), "", "", set_log_level,
                             kOwnAccessCheck),
    SD_BUS_METHOD_WITH_NAMES("GetMetrics", "", "", "s", SD_BUS_PARAM(text), get_metrics,
                             kOwnAccessCheck),
    SD_BUS_METHOD_WITH_NAMES("ListFaultTypes", "", "", "as", SD_BUS_PARAM(types), list_fault_types,
                             kOwnAccessCheck),
    // Version and Devices do not change while the supervisor runs; the
    // contract says every manager property may signal, so none is marked const.
    SD_BUS_PROPERTY("Version", "s", get_version, 0, kSignalled),
    SD_BUS_PROPERTY("State", "s", get_state, 0, kSignalled),
    SD_BUS_PROPERTY("LogLevel", "s", get_log_level, 0, kSignalled),
    SD_BUS_PROPERTY("Devices", "ao", get_devices, 0, kSignalled),
    SD_BUS_SIGNAL_WITH_NAMES("DeviceStateChanged", "sssu",
                             SD_BUS_PARAM(device) SD_BUS_PARAM(old_state) SD_BUS_PARAM(new_state)
                                 SD_BUS_PARAM(driver_pid),
                             0),
    SD_BUS_SIGNAL_WITH_NAMES("Recovered", "sssbuuttu",
                             SD_BUS_PARAM(device) SD_BUS_PARAM(cause) SD_BUS_PARAM(mode)
                                 SD_BUS_PARAM(standby) SD_BUS_PARAM(old_pid) SD_BUS_PARAM(new_pid)
                                     SD_BUS_PARAM(detect_to_serving_us) SD_BUS_PARAM(downtime_us)
                                         SD_BUS_PARAM(resent),
                             0),
    SD_BUS_SIGNAL_WITH_NAMES("FaultInjected", "sss",
                             SD_BUS_PARAM(device) SD_BUS_PARAM(fault) SD_BUS_PARAM(detail), 0),
    SD_BUS_VTABLE_END,
};

}  // namespace

const sd_bus_vtable* manager_vtable() {
  return kManagerVtable;
}

}  // namespace uldd::dbus
