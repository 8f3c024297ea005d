// SupervisorClient: every D-Bus call ulddctl makes to uldd-supervisor
// (docs/dbus-api.md is the contract), behind one small class so that the
// verbs and formatters never see sd-bus. Each call returns the decoded value
// or the D-Bus error by name (CallResult); exit_code.h turns that name into
// an exit status and a message.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "supervisor/control/device_snapshot.h"
#include "ulddctl/call_result.h"
#include "ulddctl/client_types.h"

struct sd_bus;

namespace uldd::ctl {

inline constexpr const char* kBusName = "org.uldd.Supervisor1";
inline constexpr const char* kManagerPath = "/org/uldd/Supervisor1";
inline constexpr const char* kManagerInterface = "org.uldd.Supervisor1.Manager";
inline constexpr const char* kDevicePathPrefix = "/org/uldd/Supervisor1/device";
inline constexpr const char* kDeviceInterface = "org.uldd.Supervisor1.Device";

class SupervisorClient {
 public:
  // Connects to the bus at `address` (a D-Bus address such as
  // "unix:path=/run/x/bus"), or to the system bus when it is empty.
  static CallResult<std::unique_ptr<SupervisorClient>> connect(const std::string& address);
  ~SupervisorClient();
  SupervisorClient(const SupervisorClient&) = delete;
  SupervisorClient& operator=(const SupervisorClient&) = delete;

  // "the system bus" or "the bus at <address>", for messages.
  const std::string& bus_description() const { return bus_description_; }

  // Reading: open to every user.
  CallResult<SupervisorInfo> supervisor_info();
  CallResult<std::vector<DeviceRow>> list_devices();
  CallResult<supervisor::DeviceSnapshot> device(const std::string& name);
  CallResult<std::string> metrics_text();
  CallResult<std::vector<std::string>> fault_types();

  // Mutating: root or the supervisor's control group.
  CallStatus restart(const std::string& device);
  CallStatus stop(const std::string& device);
  CallStatus start(const std::string& device);
  CallResult<std::string> reload();
  CallStatus set_log_level(const std::string& level);
  CallResult<std::string> inject_fault(const std::string& device, const std::string& type,
                                       const std::map<std::string, std::string>& params);

  // Follows the manager's signals: subscribes (the subscription is in place
  // when `subscribed` is called), then hands every DeviceStateChanged,
  // Recovered and FaultInjected to `on_event` until it returns false, the
  // timeout passes (zero: none), or `interrupted` says so (checked whenever
  // a signal such as SIGINT ends the wait). The daemon leaving the bus ends
  // it with NameHasNoOwner.
  enum class FollowEnd { kHandlerDone, kTimeout, kInterrupted };
  CallResult<FollowEnd> follow_events(const std::function<void()>& subscribed,
                                      const std::function<bool(const BusEvent&)>& on_event,
                                      std::chrono::milliseconds timeout,
                                      const std::function<bool()>& interrupted);

 private:
  SupervisorClient(sd_bus* bus, std::string bus_description);
  CallStatus device_call(const std::string& device, const char* method);

  sd_bus* bus_;
  std::string bus_description_;
};

}  // namespace uldd::ctl
