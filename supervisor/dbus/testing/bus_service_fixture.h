// BusServiceFixture: the stage of every D-Bus service test — a private
// dbus-daemon, a BusService over a FakeSupervisorControl processed on its own
// thread, an sd-bus client connection for the test, and command lines for
// busctl / dbus-send against the same bus.
#pragma once

#include <gtest/gtest.h>
#include <systemd/sd-bus.h>

#include <memory>
#include <string>
#include <vector>

#include "supervisor/dbus/bus_names.h"
#include "supervisor/dbus/bus_service.h"
#include "supervisor/dbus/testing/command_runner.h"
#include "supervisor/dbus/testing/fake_supervisor_control.h"
#include "supervisor/dbus/testing/private_bus.h"
#include "supervisor/dbus/testing/service_thread.h"

namespace uldd::dbus::testing {

// The test's control group: it exists on Debian (gid 100), so a caller made
// a member with `setpriv --groups=100` is allowed without touching /etc/group.
inline constexpr const char* kTestControlGroup = "users";
inline constexpr const char* kDisk0Path = "/org/uldd/Supervisor1/device/disk0";
inline constexpr const char* kNicPath = "/org/uldd/Supervisor1/device/nic_2d0";  // "nic-0" encoded

class BusServiceFixture : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;
  // Tests that stand in for the bus's credentials override this.
  virtual std::unique_ptr<CallerCredentials> make_credentials() { return nullptr; }

  // "busctl --address=<bus> <arguments>", optionally as nobody without groups.
  CommandResult busctl(const std::string& arguments) const;
  CommandResult busctl_as_nobody(const std::string& arguments,
                                 const std::string& groups = "") const;
  // dbus-send --print-reply to the service: prints the D-Bus error *name*.
  CommandResult dbus_send(const std::string& path, const std::string& interface_member,
                          const std::string& arguments, bool as_nobody = false) const;

  // Calls a method with no arguments (or with the one string `argument`) and
  // returns the error name, "" on success; the reply is kept in `reply_`.
  std::string call(const char* path, const char* interface, const char* member,
                   const char* argument = nullptr);
  // Pumps the client connection until `count` signals were received or a
  // generous bound passes (a hang fails the test, the time is not asserted).
  void wait_for_signals(size_t count);

  FakeSupervisorControl control_;
  std::unique_ptr<PrivateBus> bus_;
  std::unique_ptr<BusService> service_;
  std::unique_ptr<ServiceThread> service_thread_;
  sd_bus* client_ = nullptr;
  sd_bus_message* reply_ = nullptr;
  std::string error_message_;
  std::vector<sd_bus_message*> signals_;  // received, referenced; freed in TearDown
  std::vector<sd_bus_slot*> matches_;

  // Subscribes to signals of the service (member nullptr = any).
  void match(const char* path, const char* interface, const char* member);
};

}  // namespace uldd::dbus::testing
