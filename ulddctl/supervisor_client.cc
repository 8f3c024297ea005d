#include "ulddctl/supervisor_client.h"

#include <systemd/sd-bus.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string_view>

namespace uldd::ctl {
namespace {

struct MessageUnref {
  void operator()(sd_bus_message* m) const { sd_bus_message_unref(m); }
};
using Message = std::unique_ptr<sd_bus_message, MessageUnref>;

// sd_bus_error with its lifetime, converted into a CallError once.
class BusError {
 public:
  BusError() = default;
  BusError(const BusError&) = delete;
  BusError& operator=(const BusError&) = delete;
  ~BusError() { sd_bus_error_free(&error_); }
  sd_bus_error* get() { return &error_; }

  // `r`: the negative errno the sd-bus call returned.
  CallError to_call_error(int r, std::string_view what) const {
    if (sd_bus_error_is_set(&error_)) return {error_.name, error_.message ? error_.message : ""};
    return local_error(r, what);
  }

  // A failure with no error reply: the call never got an answer.
  static CallError local_error(int r, std::string_view what) {
    std::string message = std::string(what) + ": " + std::strerror(-r);
    if (r == -ECONNRESET || r == -ENOTCONN || r == -EPIPE)
      return {SD_BUS_ERROR_DISCONNECTED, message};
    if (r == -ETIMEDOUT) return {SD_BUS_ERROR_NO_REPLY, message};
    return {SD_BUS_ERROR_FAILED, message};
  }

 private:
  sd_bus_error error_ = SD_BUS_ERROR_NULL;
};

// A reply that does not have the contract's signature.
CallError bad_reply(std::string_view what, int r) {
  return {
      SD_BUS_ERROR_INCONSISTENT_MESSAGE,
      "reply to " + std::string(what) + " does not match docs/dbus-api.md: " + std::strerror(-r)};
}

// Reads any integer D-Bus type into a uint64_t, so that a server that sends
// `u` where the contract says `t` still reads.
int read_integer(sd_bus_message* m, char type, uint64_t* out) {
  int r = -EINVAL;
  switch (type) {
    case 'y': {
      uint8_t v = 0;
      r = sd_bus_message_read_basic(m, type, &v);
      *out = v;
      break;
    }
    case 'q': {
      uint16_t v = 0;
      r = sd_bus_message_read_basic(m, type, &v);
      *out = v;
      break;
    }
    case 'n': {
      int16_t v = 0;
      r = sd_bus_message_read_basic(m, type, &v);
      *out = static_cast<uint64_t>(v);
      break;
    }
    case 'u': {
      uint32_t v = 0;
      r = sd_bus_message_read_basic(m, type, &v);
      *out = v;
      break;
    }
    case 'i':
    case 'b': {
      int32_t v = 0;
      r = sd_bus_message_read_basic(m, type, &v);
      *out = static_cast<uint64_t>(v);
      break;
    }
    case 't': {
      uint64_t v = 0;
      r = sd_bus_message_read_basic(m, type, &v);
      *out = v;
      break;
    }
    case 'x': {
      int64_t v = 0;
      r = sd_bus_message_read_basic(m, type, &v);
      *out = static_cast<uint64_t>(v);
      break;
    }
    default:
      break;
  }
  return r;
}

int read_counter_map(sd_bus_message* m, std::map<std::string, uint64_t>* out) {
  int r = sd_bus_message_enter_container(m, 'a', "{st}");
  if (r < 0) return r;
  const char* key = nullptr;
  uint64_t value = 0;
  while ((r = sd_bus_message_read(m, "{st}", &key, &value)) > 0) (*out)[key] = value;
  if (r < 0) return r;
  return sd_bus_message_exit_container(m);
}

// One property of a{sv}: `contents` is the variant's signature, the message
// is positioned inside the variant. Unknown names and types are skipped (the
// contract may grow).
using PropertyReader = int (*)(sd_bus_message* m, std::string_view key, std::string_view contents,
                               void* out);

int read_property_dict(sd_bus_message* m, PropertyReader reader, void* out) {
  int r = sd_bus_message_enter_container(m, 'a', "{sv}");
  if (r < 0) return r;
  while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
    const char* key = nullptr;
    const char* contents = nullptr;
    if ((r = sd_bus_message_read_basic(m, 's', &key)) < 0) return r;
    if ((r = sd_bus_message_peek_type(m, nullptr, &contents)) < 0) return r;
    if ((r = sd_bus_message_enter_container(m, 'v', contents)) < 0) return r;
    if ((r = reader(m, key, contents, out)) < 0) return r;
    if ((r = sd_bus_message_exit_container(m)) < 0) return r;
    if ((r = sd_bus_message_exit_container(m)) < 0) return r;
  }
  if (r < 0) return r;
  return sd_bus_message_exit_container(m);
}

int read_device_property(sd_bus_message* m, std::string_view key, std::string_view contents,
                         void* out) {
  auto& d = *static_cast<supervisor::DeviceSnapshot*>(out);
  using supervisor::DeviceSnapshot;
  static const std::map<std::string_view, std::string DeviceSnapshot::*> kStrings{
      {"Name", &DeviceSnapshot::name},           {"Kind", &DeviceSnapshot::kind},
      {"State", &DeviceSnapshot::state},         {"Mode", &DeviceSnapshot::mode},
      {"Driver", &DeviceSnapshot::driver},       {"Policy", &DeviceSnapshot::policy},
      {"LastFault", &DeviceSnapshot::last_fault}};
  using Setter = void (*)(DeviceSnapshot&, uint64_t);
  static const std::map<std::string_view, Setter> kIntegers{
      {"DriverPid", [](DeviceSnapshot& s, uint64_t v) { s.driver_pid = static_cast<pid_t>(v); }},
      {"StandbyPid", [](DeviceSnapshot& s, uint64_t v) { s.standby_pid = static_cast<pid_t>(v); }},
      {"ModelPid", [](DeviceSnapshot& s, uint64_t v) { s.model_pid = static_cast<pid_t>(v); }},
      {"Restarts", [](DeviceSnapshot& s, uint64_t v) { s.restarts = v; }},
      {"RestartsWarm", [](DeviceSnapshot& s, uint64_t v) { s.restarts_warm = v; }},
      {"RestartsCold", [](DeviceSnapshot& s, uint64_t v) { s.restarts_cold = v; }},
      {"WarmRefused", [](DeviceSnapshot& s, uint64_t v) { s.warm_refused = v; }},
      {"StandbyPromotions", [](DeviceSnapshot& s, uint64_t v) { s.standby_promotions = v; }},
      {"RequestsResent", [](DeviceSnapshot& s, uint64_t v) { s.requests_resent = v; }},
      {"LastFaultTimestamp", [](DeviceSnapshot& s, uint64_t v) { s.last_fault_realtime_us = v; }},
      {"LastDowntimeUsec", [](DeviceSnapshot& s, uint64_t v) { s.downtime.last_us = v; }},
      {"MaxDowntimeUsec", [](DeviceSnapshot& s, uint64_t v) { s.downtime.max_us = v; }},
      {"TotalDowntimeUsec", [](DeviceSnapshot& s, uint64_t v) { s.downtime.sum_us = v; }},
      {"Recoveries", [](DeviceSnapshot& s, uint64_t v) { s.downtime.count = v; }}};

  if (contents == "s") {
    const char* value = nullptr;
    int r = sd_bus_message_read_basic(m, 's', &value);
    if (r < 0) return r;
    if (auto it = kStrings.find(key); it != kStrings.end()) d.*(it->second) = value;
    return 0;
  }
  if (auto it = kIntegers.find(key); contents.size() == 1 && it != kIntegers.end()) {
    uint64_t value = 0;
    int r = read_integer(m, contents[0], &value);
    if (r < 0) return r;
    it->second(d, value);
    return 0;
  }
  if (contents == "a{st}" && key == "FaultsByCause") return read_counter_map(m, &d.faults_by_cause);
  if (contents == "a{st}" && key == "IoCounters") return read_counter_map(m, &d.io);
  return sd_bus_message_skip(m, std::string(contents).c_str());
}

int read_manager_property(sd_bus_message* m, std::string_view key, std::string_view contents,
                          void* out) {
  auto& info = *static_cast<SupervisorInfo*>(out);
  if (contents != "s") return sd_bus_message_skip(m, std::string(contents).c_str());
  const char* value = nullptr;
  int r = sd_bus_message_read_basic(m, 's', &value);
  if (r < 0) return r;
  if (key == "Version") info.version = value;
  if (key == "State") info.state = value;
  if (key == "LogLevel") info.log_level = value;
  return 0;
}

std::string device_path(const std::string& device) {
  char* path = nullptr;
  if (sd_bus_path_encode(kDevicePathPrefix, device.c_str(), &path) < 0) return kDevicePathPrefix;
  std::string result(path);
  free(path);
  return result;
}

}  // namespace

SupervisorClient::SupervisorClient(sd_bus* bus, std::string bus_description)
    : bus_(bus), bus_description_(std::move(bus_description)) {}

SupervisorClient::~SupervisorClient() {
  sd_bus_flush_close_unref(bus_);
}

CallResult<std::unique_ptr<SupervisorClient>> SupervisorClient::connect(
    const std::string& address) {
  sd_bus* bus = nullptr;
  int r = 0;
  std::string description;
  if (address.empty()) {
    description = "the system bus";
    r = sd_bus_open_system(&bus);
  } else {
    description = "the bus at " + address;
    r = sd_bus_new(&bus);
    if (r >= 0) r = sd_bus_set_address(bus, address.c_str());
    if (r >= 0) r = sd_bus_set_bus_client(bus, 1);
    if (r >= 0) r = sd_bus_start(bus);
  }
  if (r < 0) {
    sd_bus_unref(bus);
    return CallError{kErrorNoBus, std::strerror(-r)};
  }
  return std::unique_ptr<SupervisorClient>(new SupervisorClient(bus, std::move(description)));
}

CallResult<SupervisorInfo> SupervisorClient::supervisor_info() {
  BusError error;
  sd_bus_message* raw = nullptr;
  int r = sd_bus_call_method(bus_, kBusName, kManagerPath, "org.freedesktop.DBus.Properties",
                             "GetAll", error.get(), &raw, "s", kManagerInterface);
  Message reply(raw);
  if (r < 0) return error.to_call_error(r, "GetAll");
  SupervisorInfo info;
  if ((r = read_property_dict(reply.get(), read_manager_property, &info)) < 0)
    return bad_reply("GetAll", r);
  return info;
}

CallResult<std::vector<DeviceRow>> SupervisorClient::list_devices() {
  BusError error;
  sd_bus_message* raw = nullptr;
  int r = sd_bus_call_method(bus_, kBusName, kManagerPath, kManagerInterface, "ListDevices",
                             error.get(), &raw, "");
  Message reply(raw);
  if (r < 0) return error.to_call_error(r, "ListDevices");
  std::vector<DeviceRow> rows;
  if ((r = sd_bus_message_enter_container(reply.get(), 'a', "(sssuttst)")) < 0)
    return bad_reply("ListDevices", r);
  for (;;) {
    const char *name = nullptr, *kind = nullptr, *state = nullptr, *last_fault = nullptr;
    DeviceRow row;
    r = sd_bus_message_read(reply.get(), "(sssuttst)", &name, &kind, &state, &row.driver_pid,
                            &row.restarts, &row.faults, &last_fault, &row.last_downtime_us);
    if (r < 0) return bad_reply("ListDevices", r);
    if (r == 0) break;
    row.name = name;
    row.kind = kind;
    row.state = state;
    row.last_fault = last_fault;
    rows.push_back(std::move(row));
  }
  return rows;
}

CallResult<supervisor::DeviceSnapshot> SupervisorClient::device(const std::string& name) {
  BusError error;
  sd_bus_message* raw = nullptr;
  int r = sd_bus_call_method(bus_, kBusName, kManagerPath, kManagerInterface, "GetDevice",
                             error.get(), &raw, "s", name.c_str());
  Message reply(raw);
  if (r < 0) return error.to_call_error(r, "GetDevice");
  supervisor::DeviceSnapshot snapshot;
  if ((r = read_property_dict(reply.get(), read_device_property, &snapshot)) < 0)
    return bad_reply("GetDevice", r);
  if (snapshot.name.empty()) snapshot.name = name;
  return snapshot;
}

CallResult<std::string> SupervisorClient::metrics_text() {
  BusError error;
  sd_bus_message* raw = nullptr;
  int r = sd_bus_call_method(bus_, kBusName, kManagerPath, kManagerInterface, "GetMetrics",
                             error.get(), &raw, "");
  Message reply(raw);
  if (r < 0) return error.to_call_error(r, "GetMetrics");
  const char* text = nullptr;
  if ((r = sd_bus_message_read(reply.get(), "s", &text)) < 0) return bad_reply("GetMetrics", r);
  return std::string(text);
}

CallResult<std::vector<std::string>> SupervisorClient::fault_types() {
  BusError error;
  sd_bus_message* raw = nullptr;
  int r = sd_bus_call_method(bus_, kBusName, kManagerPath, kManagerInterface, "ListFaultTypes",
                             error.get(), &raw, "");
  Message reply(raw);
  if (r < 0) return error.to_call_error(r, "ListFaultTypes");
  std::vector<std::string> types;
  if ((r = sd_bus_message_enter_container(reply.get(), 'a', "s")) < 0)
    return bad_reply("ListFaultTypes", r);
  const char* type = nullptr;
  while ((r = sd_bus_message_read_basic(reply.get(), 's', &type)) > 0) types.emplace_back(type);
  if (r < 0) return bad_reply("ListFaultTypes", r);
  return types;
}

CallStatus SupervisorClient::device_call(const std::string& device, const char* method) {
  BusError error;
  int r = sd_bus_call_method(bus_, kBusName, device_path(device).c_str(), kDeviceInterface, method,
                             error.get(), nullptr, "");
  if (r < 0) return error.to_call_error(r, method);
  return Done{};
}

CallStatus SupervisorClient::restart(const std::string& device) {
  return device_call(device, "Restart");
}
CallStatus SupervisorClient::stop(const std::string& device) {
  return device_call(device, "Stop");
}
CallStatus SupervisorClient::start(const std::string& device) {
  return device_call(device, "Start");
}

CallResult<std::string> SupervisorClient::reload() {
  BusError error;
  sd_bus_message* raw = nullptr;
  int r = sd_bus_call_method(bus_, kBusName, kManagerPath, kManagerInterface, "Reload", error.get(),
                             &raw, "");
  Message reply(raw);
  if (r < 0) return error.to_call_error(r, "Reload");
  const char* summary = nullptr;
  if ((r = sd_bus_message_read(reply.get(), "s", &summary)) < 0) return bad_reply("Reload", r);
  return std::string(summary);
}

CallStatus SupervisorClient::set_log_level(const std::string& level) {
  BusError error;
  int r = sd_bus_call_method(bus_, kBusName, kManagerPath, kManagerInterface, "SetLogLevel",
                             error.get(), nullptr, "s", level.c_str());
  if (r < 0) return error.to_call_error(r, "SetLogLevel");
  return Done{};
}

CallResult<std::string> SupervisorClient::inject_fault(
    const std::string& device, const std::string& type,
    const std::map<std::string, std::string>& params) {
  sd_bus_message* raw_call = nullptr;
  int r = sd_bus_message_new_method_call(bus_, &raw_call, kBusName, device_path(device).c_str(),
                                         kDeviceInterface, "InjectFault");
  Message call(raw_call);
  if (r < 0) return BusError::local_error(r, "InjectFault");
  r = sd_bus_message_append(call.get(), "s", type.c_str());
  if (r >= 0) r = sd_bus_message_open_container(call.get(), 'a', "{ss}");
  for (const auto& [key, value] : params)
    if (r >= 0) r = sd_bus_message_append(call.get(), "{ss}", key.c_str(), value.c_str());
  if (r >= 0) r = sd_bus_message_close_container(call.get());
  if (r < 0) return BusError::local_error(r, "InjectFault");

  BusError error;
  sd_bus_message* raw = nullptr;
  r = sd_bus_call(bus_, call.get(), 0, error.get(), &raw);
  Message reply(raw);
  if (r < 0) return error.to_call_error(r, "InjectFault");
  const char* detail = nullptr;
  if ((r = sd_bus_message_read(reply.get(), "s", &detail)) < 0) return bad_reply("InjectFault", r);
  return std::string(detail);
}

}  // namespace uldd::ctl
