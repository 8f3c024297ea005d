// Signals of the D-Bus API: the supervisor's ControlEvents become
// DeviceStateChanged, Recovered and PropertiesChanged, and a successful
// InjectFault also FaultInjected, received by a client that subscribed with
// sd_bus_match_signal.
#include <chrono>
#include <map>
#include <string>
#include <thread>

#include "supervisor/dbus/testing/bus_service_fixture.h"

namespace uldd::dbus {
namespace {

using testing::kDisk0Path;

class BusSignalsTest : public testing::BusServiceFixture {
 protected:
  // PropertiesChanged(s interface, a{sv} changed, as invalidated) of string,
  // u and t properties, rendered as text.
  std::map<std::string, std::string> changed_properties(sd_bus_message* m, std::string* interface) {
    std::map<std::string, std::string> changed;
    const char* name = nullptr;
    EXPECT_GE(sd_bus_message_read(m, "s", &name), 0);
    *interface = name;
    EXPECT_GE(sd_bus_message_enter_container(m, 'a', "{sv}"), 0);
    while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
      const char* contents = nullptr;
      EXPECT_GE(sd_bus_message_read(m, "s", &name), 0);
      EXPECT_GE(sd_bus_message_peek_type(m, nullptr, &contents), 0);
      EXPECT_GE(sd_bus_message_enter_container(m, 'v', contents), 0);
      if (contents[0] == 's') {
        const char* s = nullptr;
        EXPECT_GE(sd_bus_message_read(m, "s", &s), 0);
        changed[name] = s;
      } else if (contents[0] == 'u') {
        uint32_t u = 0;
        EXPECT_GE(sd_bus_message_read(m, "u", &u), 0);
        changed[name] = std::to_string(u);
      } else {
        uint64_t t = 0;
        EXPECT_GE(sd_bus_message_read(m, "t", &t), 0);
        changed[name] = std::to_string(t);
      }
      EXPECT_GE(sd_bus_message_exit_container(m), 0);
      EXPECT_GE(sd_bus_message_exit_container(m), 0);
    }
    EXPECT_GE(sd_bus_message_exit_container(m), 0);
    return changed;
  }
};

TEST_F(BusSignalsTest, DeviceChangedGivesDeviceStateChangedAndPropertiesChanged) {
  match(kManagerPath, kManagerInterface, "DeviceStateChanged");
  match(kDisk0Path, "org.freedesktop.DBus.Properties", "PropertiesChanged");
  supervisor::DeviceSnapshot now = control_.snapshot("disk0");
  now.state = "recovering";
  now.driver_pid = 0;
  now.last_fault = "driver (pid 4242) killed by SIGSEGV";
  control_.set_device(now);
  service_thread_->run([&] { service_->device_changed(now, "serving"); });
  wait_for_signals(2);

  sd_bus_message* state_changed = signals_[0];
  sd_bus_message* properties_changed = signals_[1];
  if (sd_bus_message_is_signal(state_changed, nullptr, "PropertiesChanged"))
    std::swap(state_changed, properties_changed);
  ASSERT_TRUE(sd_bus_message_is_signal(state_changed, kManagerInterface, "DeviceStateChanged"));
  const char *device, *old_state, *new_state;
  uint32_t pid = 99;
  ASSERT_GE(sd_bus_message_read(state_changed, "sssu", &device, &old_state, &new_state, &pid), 0);
  EXPECT_STREQ(device, "disk0");
  EXPECT_STREQ(old_state, "serving");
  EXPECT_STREQ(new_state, "recovering");
  EXPECT_EQ(pid, 0u);

  std::string interface;
  const auto changed = changed_properties(properties_changed, &interface);
  EXPECT_EQ(interface, kDeviceInterface);
  // Only what changed, with its value.
  EXPECT_EQ(changed, (std::map<std::string, std::string>{
                         {"State", "recovering"},
                         {"DriverPid", "0"},
                         {"LastFault", "driver (pid 4242) killed by SIGSEGV"}}));

  // Back to serving with a new driver: the restart count and downtime change too.
  supervisor::DeviceSnapshot after = now;
  after.state = "serving";
  after.driver_pid = 5151;
  after.restarts = 4;
  after.downtime.add(777);
  service_thread_->run([&] { service_->device_changed(after, "recovering"); });
  wait_for_signals(4);
  for (size_t i = 2; i < 4; ++i) {
    if (!sd_bus_message_is_signal(signals_[i], nullptr, "PropertiesChanged")) continue;
    EXPECT_EQ(changed_properties(signals_[i], &interface),
              (std::map<std::string, std::string>{{"State", "serving"},
                                                  {"DriverPid", "5151"},
                                                  {"Restarts", "4"},
                                                  {"LastDowntimeUsec", "777"}}));
  }
}

TEST_F(BusSignalsTest, RecoveredSignalCarriesTheEvent) {
  match(kManagerPath, kManagerInterface, "Recovered");
  supervisor::RecoveryEvent event;
  event.device = "disk0";
  event.cause = "crashed";
  event.mode = "warm";
  event.standby = true;
  event.old_pid = 4242;
  event.new_pid = 5151;
  event.resent = 3;
  event.detect_to_serving_us = 1234;
  event.downtime_us = 5678;
  service_thread_->run([&] { service_->recovered(event); });
  wait_for_signals(1);
  const char *device, *cause, *mode;
  int standby = 0;
  uint32_t old_pid = 0, new_pid = 0, resent = 0;
  uint64_t detect_to_serving = 0, downtime = 0;
  ASSERT_GE(sd_bus_message_read(signals_[0], "sssbuuttu", &device, &cause, &mode, &standby,
                                &old_pid, &new_pid, &detect_to_serving, &downtime, &resent),
            0);
  EXPECT_STREQ(device, "disk0");
  EXPECT_STREQ(cause, "crashed");
  EXPECT_STREQ(mode, "warm");
  EXPECT_EQ(standby, 1);
  EXPECT_EQ(old_pid, 4242u);
  EXPECT_EQ(new_pid, 5151u);
  EXPECT_EQ(detect_to_serving, 1234u);
  EXPECT_EQ(downtime, 5678u);
  EXPECT_EQ(resent, 3u);
}

TEST_F(BusSignalsTest, SupervisorStateAndLogLevelChangesArePropertiesChanged) {
  match(kManagerPath, "org.freedesktop.DBus.Properties", "PropertiesChanged");
  service_thread_->run([&] { service_->supervisor_state_changed("degraded"); });
  wait_for_signals(1);
  std::string interface;
  EXPECT_EQ(changed_properties(signals_[0], &interface),
            (std::map<std::string, std::string>{{"State", "degraded"}}));
  EXPECT_EQ(interface, kManagerInterface);

  ASSERT_EQ(call(kManagerPath, kManagerInterface, "SetLogLevel", "warn"), "") << error_message_;
  wait_for_signals(2);
  EXPECT_EQ(changed_properties(signals_[1], &interface),
            (std::map<std::string, std::string>{{"LogLevel", "warn"}}));
}

TEST_F(BusSignalsTest, InjectFaultAnnouncesTheFault) {
  match(kManagerPath, kManagerInterface, "FaultInjected");
  sd_bus_error error = SD_BUS_ERROR_NULL;
  ASSERT_GE(sd_bus_call_method(client_, kServiceName, kDisk0Path, kDeviceInterface, "InjectFault",
                               &error, nullptr, "sa{ss}", "sigkill", 0),
            0)
      << error.message;
  wait_for_signals(1);
  const char *device, *fault, *detail;
  ASSERT_GE(sd_bus_message_read(signals_[0], "sss", &device, &fault, &detail), 0);
  EXPECT_STREQ(device, "disk0");
  EXPECT_STREQ(fault, "sigkill");
  EXPECT_STREQ(detail, "injected sigkill into disk0 (0 parameters)");
}

}  // namespace
}  // namespace uldd::dbus

namespace uldd::dbus {
namespace {

TEST_F(BusSignalsTest, TheServiceGoesQuietWhenTheBusGoesAway) {
  bus_.reset();  // SIGTERM to the private dbus-daemon
  bool connected = true;
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (connected && std::chrono::steady_clock::now() < give_up) {
    service_thread_->run([&] { connected = service_->connected(); });
    if (connected) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_FALSE(connected);
  // Events after the loss are dropped, not a crash.
  service_thread_->run([&] {
    EXPECT_EQ(service_->fd(), -1);
    service_->supervisor_state_changed("stopping");
    service_->device_changed(control_.snapshot("disk0"), "starting");
    service_->flush();
  });
}

}  // namespace
}  // namespace uldd::dbus
