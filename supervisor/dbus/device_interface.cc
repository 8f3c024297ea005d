#include "supervisor/dbus/device_interface.h"

#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "supervisor/dbus/bus_error_map.h"
#include "supervisor/dbus/bus_names.h"
#include "supervisor/dbus/device_object_path.h"

namespace uldd::dbus {

namespace {

using supervisor::DeviceSnapshot;
using supervisor::FaultRequest;

// --- values as D-Bus types --------------------------------------------------
int append_value(sd_bus_message* reply, const std::string& value) {
  return sd_bus_message_append_basic(reply, 's', value.c_str());
}
int append_value(sd_bus_message* reply, uint32_t value) {
  return sd_bus_message_append_basic(reply, 'u', &value);
}
int append_value(sd_bus_message* reply, uint64_t value) {
  return sd_bus_message_append_basic(reply, 't', &value);
}
int append_value(sd_bus_message* reply, const std::map<std::string, uint64_t>& values) {
  int r = sd_bus_message_open_container(reply, 'a', "{st}");
  for (auto it = values.begin(); r >= 0 && it != values.end(); ++it)
    r = sd_bus_message_append(reply, "{st}", it->first.c_str(), it->second);
  return r < 0 ? r : sd_bus_message_close_container(reply);
}

// One getter per property, made from a read of the snapshot. The device is
// the one named by the object path (or the pinned snapshot).
template <auto Read>
int get_property(sd_bus* /*bus*/, const char* path, const char* /*interface*/,
                 const char* /*property*/, sd_bus_message* reply, void* userdata,
                 sd_bus_error* error) {
  auto& context = *static_cast<ServiceContext*>(userdata);
  const std::optional<std::string> name = device_name_of_path(path);
  if (!name)
    return set_bus_error(error, Error{ENOENT, std::string("not a device object: ") + path});
  Result<DeviceSnapshot> device = context.device(*name);
  if (!device.ok()) return set_bus_error(error, device.error());
  return append_value(reply, Read(*device));
}

constexpr uint64_t kConst = SD_BUS_VTABLE_PROPERTY_CONST;
constexpr uint64_t kSignalled = SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE;
constexpr uint64_t kRead = 0;  // changes, but without a signal: read it

// --- methods ------------------------------------------------------------------
// The device a method call is addressed to (find_device_object checked it).
std::string device_of(sd_bus_message* call) {
  return device_name_of_path(sd_bus_message_get_path(call)).value_or(std::string());
}

int reply_status(sd_bus_message* call, const Status& status, sd_bus_error* error) {
  if (!status.ok()) return set_bus_error(error, status.error());
  return sd_bus_reply_method_return(call, "");
}

template <Status (supervisor::SupervisorControl::*Action)(std::string_view), const char* Name>
int driver_action(sd_bus_message* call, void* userdata, sd_bus_error* error) {
  auto& context = *static_cast<ServiceContext*>(userdata);
  if (int r = context.authorize(call, Name, error); r < 0) return r;
  const std::string device = device_of(call);
  spdlog::info("D-Bus: {} {}", Name, device);
  return reply_status(call, (context.control.*Action)(device), error);
}
constexpr char kRestart[] = "Restart";
constexpr char kStop[] = "Stop";
constexpr char kStart[] = "Start";

int invalid_args(sd_bus_error* error, int r, const char* what) {
  return sd_bus_error_setf(error, kErrorInvalidArgs, "%s: %s", what, std::strerror(-r));
}

int inject_fault(sd_bus_message* call, void* userdata, sd_bus_error* error) {
  auto& context = *static_cast<ServiceContext*>(userdata);
  if (int r = context.authorize(call, "InjectFault", error); r < 0) return r;
  FaultRequest fault;
  const char* type = nullptr;
  int r = sd_bus_message_read(call, "s", &type);
  if (r < 0) return invalid_args(error, r, "InjectFault(s type, a{ss} params): type");
  fault.type = type;
  r = sd_bus_message_enter_container(call, 'a', "{ss}");
  if (r < 0) return invalid_args(error, r, "InjectFault(s type, a{ss} params): params");
  const char* key = nullptr;
  const char* value = nullptr;
  while ((r = sd_bus_message_read(call, "{ss}", &key, &value)) > 0) fault.params[key] = value;
  if (r < 0) return invalid_args(error, r, "InjectFault(s type, a{ss} params): params");
  r = sd_bus_message_exit_container(call);
  if (r < 0) return invalid_args(error, r, "InjectFault(s type, a{ss} params): params");

  const std::string device = device_of(call);
  spdlog::info("D-Bus: InjectFault {} {} ({} parameters)", device, fault.type, fault.params.size());
  Result<std::string> detail = context.control.inject_fault(device, fault);
  if (!detail.ok()) return set_bus_error(error, detail.error());
  r = sd_bus_emit_signal(sd_bus_message_get_bus(call), kManagerPath, kManagerInterface,
                         "FaultInjected", "sss", device.c_str(), fault.type.c_str(),
                         detail->c_str());
  if (r < 0) spdlog::warn("D-Bus: FaultInjected signal not sent: {}", std::strerror(-r));
  return sd_bus_reply_method_return(call, "s", detail->c_str());
}

uint32_t pid_value(pid_t pid) {
  return pid > 0 ? static_cast<uint32_t>(pid) : 0;
}

// Without UNPRIVILEGED, sd-bus itself would demand CAP_SYS_ADMIN of every
// caller on the (untrusted) system bus; uldd's own rule (root or the control
// group, ServiceContext::authorize) applies instead.
constexpr uint64_t kMutating = SD_BUS_VTABLE_UNPRIVILEGED;

const sd_bus_vtable kDeviceVtable[] = {
    SD_BUS_VTABLE_START(0),
    SD_BUS_METHOD_WITH_NAMES(
        "Restart", "", "", "", "",
        (driver_action<&supervisor::SupervisorControl::restart_driver, kRestart>), kMutating),
    SD_BUS_METHOD_WITH_NAMES("Stop", "", "", "", "",
                             (driver_action<&supervisor::SupervisorControl::stop_driver, kStop>),
                             kMutating),
    SD_BUS_METHOD_WITH_NAMES("Start", "", "", "", "",
                             (driver_action<&supervisor::SupervisorControl::start_driver, kStart>),
                             kMutating),
    SD_BUS_METHOD_WITH_NAMES("InjectFault", "sa{ss}", SD_BUS_PARAM(type) SD_BUS_PARAM(params), "s",
                             SD_BUS_PARAM(detail), inject_fault, kMutating),
    SD_BUS_PROPERTY("Name", "s", get_property<[](const DeviceSnapshot& d) { return d.name; }>, 0,
                    kConst),
    SD_BUS_PROPERTY("Kind", "s", get_property<[](const DeviceSnapshot& d) { return d.kind; }>, 0,
                    kConst),
    SD_BUS_PROPERTY("State", "s", get_property<[](const DeviceSnapshot& d) { return d.state; }>, 0,
                    kSignalled),
    SD_BUS_PROPERTY("Mode", "s", get_property<[](const DeviceSnapshot& d) { return d.mode; }>, 0,
                    kConst),
    SD_BUS_PROPERTY("Driver", "s", get_property<[](const DeviceSnapshot& d) { return d.driver; }>,
                    0, kConst),
    SD_BUS_PROPERTY("Policy", "s", get_property<[](const DeviceSnapshot& d) { return d.policy; }>,
                    0, kRead),
    SD_BUS_PROPERTY("DriverPid", "u",
                    get_property<[](const DeviceSnapshot& d) { return pid_value(d.driver_pid); }>,
                    0, kSignalled),
    SD_BUS_PROPERTY("StandbyPid", "u",
                    get_property<[](const DeviceSnapshot& d) { return pid_value(d.standby_pid); }>,
                    0, kSignalled),
    SD_BUS_PROPERTY("ModelPid", "u",
                    get_property<[](const DeviceSnapshot& d) { return pid_value(d.model_pid); }>, 0,
                    kRead),
    SD_BUS_PROPERTY("Restarts", "t",
                    get_property<[](const DeviceSnapshot& d) { return d.restarts; }>, 0,
                    kSignalled),
    SD_BUS_PROPERTY("RestartsWarm", "t",
                    get_property<[](const DeviceSnapshot& d) { return d.restarts_warm; }>, 0,
                    kRead),
    SD_BUS_PROPERTY("RestartsCold", "t",
                    get_property<[](const DeviceSnapshot& d) { return d.restarts_cold; }>, 0,
                    kRead),
    SD_BUS_PROPERTY("WarmRefused", "t",
                    get_property<[](const DeviceSnapshot& d) { return d.warm_refused; }>, 0, kRead),
    SD_BUS_PROPERTY("StandbyPromotions", "t",
                    get_property<[](const DeviceSnapshot& d) { return d.standby_promotions; }>, 0,
                    kRead),
    SD_BUS_PROPERTY("RequestsResent", "t",
                    get_property<[](const DeviceSnapshot& d) { return d.requests_resent; }>, 0,
                    kRead),
    SD_BUS_PROPERTY("FaultsByCause", "a{st}",
                    get_property<[](const DeviceSnapshot& d) { return d.faults_by_cause; }>, 0,
                    kRead),
    SD_BUS_PROPERTY("LastFault", "s",
                    get_property<[](const DeviceSnapshot& d) { return d.last_fault; }>, 0,
                    kSignalled),
    SD_BUS_PROPERTY("LastFaultTimestamp", "t",
                    get_property<[](const DeviceSnapshot& d) { return d.last_fault_realtime_us; }>,
                    0, kRead),
    SD_BUS_PROPERTY("LastDowntimeUsec", "t",
                    get_property<[](const DeviceSnapshot& d) { return d.downtime.last_us; }>, 0,
                    kSignalled),
    SD_BUS_PROPERTY("MaxDowntimeUsec", "t",
                    get_property<[](const DeviceSnapshot& d) { return d.downtime.max_us; }>, 0,
                    kRead),
    SD_BUS_PROPERTY("TotalDowntimeUsec", "t",
                    get_property<[](const DeviceSnapshot& d) { return d.downtime.sum_us; }>, 0,
                    kRead),
    SD_BUS_PROPERTY("Recoveries", "t",
                    get_property<[](const DeviceSnapshot& d) { return d.downtime.count; }>, 0,
                    kRead),
    SD_BUS_PROPERTY("IoCounters", "a{st}",
                    get_property<[](const DeviceSnapshot& d) { return d.io; }>, 0, kRead),
    SD_BUS_VTABLE_END,
};

}  // namespace

const sd_bus_vtable* device_vtable() {
  return kDeviceVtable;
}

int find_device_object(sd_bus* /*bus*/, const char* path, const char* /*interface*/, void* userdata,
                       void** found, sd_bus_error* error) {
  auto& context = *static_cast<ServiceContext*>(userdata);
  const std::optional<std::string> name = device_name_of_path(path);
  if (!name) return 0;  // the prefix itself, or deeper paths: no object here
  Result<DeviceSnapshot> device = context.device(*name);
  if (!device.ok()) return set_bus_error(error, device.error());
  *found = &context;
  return 1;
}

int enumerate_device_objects(sd_bus* /*bus*/, const char* /*prefix*/, void* userdata, char*** nodes,
                             sd_bus_error* /*error*/) {
  auto& context = *static_cast<ServiceContext*>(userdata);
  const std::vector<DeviceSnapshot> devices = context.control.devices();
  // sd-bus frees the array and its strings with free().
  auto** list = static_cast<char**>(std::calloc(devices.size() + 1, sizeof(char*)));
  if (list == nullptr) return -ENOMEM;
  size_t n = 0;
  for (const DeviceSnapshot& device : devices) {
    const std::string path = device_object_path(device.name);
    if (path.empty() || (list[n] = strdup(path.c_str())) == nullptr) {
      for (size_t i = 0; i < n; ++i) std::free(list[i]);
      std::free(list);
      return -ENOMEM;
    }
    ++n;
  }
  *nodes = list;
  return 0;
}

int append_device_properties(sd_bus_message* reply, ServiceContext& context,
                             const DeviceSnapshot& device, sd_bus_error* error) {
  const std::string path = device_object_path(device.name);
  const DeviceSnapshot* previous = context.pinned_device;
  context.pinned_device = &device;
  int r = sd_bus_message_open_container(reply, 'a', "{sv}");
  for (const sd_bus_vtable* entry = kDeviceVtable; r >= 0 && entry->type != _SD_BUS_VTABLE_END;
       ++entry) {
    if (entry->type != _SD_BUS_VTABLE_PROPERTY) continue;
    const auto& property = entry->x.property;
    r = sd_bus_message_open_container(reply, 'e', "sv");
    if (r >= 0) r = sd_bus_message_append_basic(reply, 's', property.member);
    if (r >= 0) r = sd_bus_message_open_container(reply, 'v', property.signature);
    if (r >= 0)
      r = property.get(sd_bus_message_get_bus(reply), path.c_str(), kDeviceInterface,
                       property.member, reply, &context, error);
    if (r >= 0) r = sd_bus_message_close_container(reply);
    if (r >= 0) r = sd_bus_message_close_container(reply);
  }
  if (r >= 0) r = sd_bus_message_close_container(reply);
  context.pinned_device = previous;
  return r;
}

}  // namespace uldd::dbus
