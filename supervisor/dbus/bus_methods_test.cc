// The D-Bus API's methods and properties against a FakeSupervisorControl on a
// private dbus-daemon: every call answers what the supervisor says, and every
// failure has the name docs/dbus-api.md gives it.
#include <cerrno>
#include <map>
#include <string>
#include <variant>

#include "supervisor/dbus/testing/bus_service_fixture.h"

namespace uldd::dbus {
namespace {

using testing::kDisk0Path;
using testing::kNicPath;
using PropertyValue =
    std::variant<std::string, uint32_t, uint64_t, std::map<std::string, uint64_t>>;

class BusMethodsTest : public testing::BusServiceFixture {
 protected:
  // Reads an a{sv} with the value types the Device interface uses.
  std::map<std::string, PropertyValue> read_properties(sd_bus_message* m) {
    std::map<std::string, PropertyValue> properties;
    EXPECT_GE(sd_bus_message_enter_container(m, 'a', "{sv}"), 0);
    while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
      const char* name = nullptr;
      const char* contents = nullptr;
      EXPECT_GE(sd_bus_message_read(m, "s", &name), 0);
      EXPECT_GE(sd_bus_message_peek_type(m, nullptr, &contents), 0);
      EXPECT_GE(sd_bus_message_enter_container(m, 'v', contents), 0);
      const std::string type = contents;
      if (type == "s") {
        const char* s = nullptr;
        EXPECT_GE(sd_bus_message_read(m, "s", &s), 0);
        properties[name] = std::string(s);
      } else if (type == "u") {
        uint32_t u = 0;
        EXPECT_GE(sd_bus_message_read(m, "u", &u), 0);
        properties[name] = u;
      } else if (type == "t") {
        uint64_t t = 0;
        EXPECT_GE(sd_bus_message_read(m, "t", &t), 0);
        properties[name] = t;
      } else if (type == "a{st}") {
        std::map<std::string, uint64_t> map;
        const char* key = nullptr;
        uint64_t value = 0;
        EXPECT_GE(sd_bus_message_enter_container(m, 'a', "{st}"), 0);
        while (sd_bus_message_read(m, "{st}", &key, &value) > 0) map[key] = value;
        EXPECT_GE(sd_bus_message_exit_container(m), 0);
        properties[name] = map;
      } else {
        ADD_FAILURE() << "unexpected type " << type << " of " << name;
        sd_bus_message_skip(m, contents);
      }
      EXPECT_GE(sd_bus_message_exit_container(m), 0);
      EXPECT_GE(sd_bus_message_exit_container(m), 0);
    }
    EXPECT_GE(sd_bus_message_exit_container(m), 0);
    return properties;
  }
};

TEST_F(BusMethodsTest, ListDevicesReturnsEveryDeviceAsTheSupervisorSaysIt) {
  ASSERT_EQ(call(kManagerPath, kManagerInterface, "ListDevices"), "") << error_message_;
  ASSERT_GE(sd_bus_message_enter_container(reply_, 'a', "(sssuttst)"), 0);
  const char *name, *kind, *state, *last_fault;
  uint32_t pid = 0;
  uint64_t restarts = 0, faults = 0, downtime = 0;
  ASSERT_GT(sd_bus_message_read(reply_, "(sssuttst)", &name, &kind, &state, &pid, &restarts,
                                &faults, &last_fault, &downtime),
            0);
  EXPECT_STREQ(name, "disk0");
  EXPECT_STREQ(kind, "disk");
  EXPECT_STREQ(state, "serving");
  EXPECT_EQ(pid, 4242u);
  EXPECT_EQ(restarts, 3u);
  EXPECT_EQ(faults, 4u);  // the sum of faults_by_cause
  EXPECT_STREQ(last_fault, "driver (pid 4100) killed by SIGKILL");
  EXPECT_EQ(downtime, 2'500u);
  ASSERT_GT(sd_bus_message_read(reply_, "(sssuttst)", &name, &kind, &state, &pid, &restarts,
                                &faults, &last_fault, &downtime),
            0);
  EXPECT_STREQ(name, "nic-0");
  EXPECT_STREQ(state, "stopped");
  EXPECT_EQ(pid, 0u);
  EXPECT_EQ(faults, 0u);
  EXPECT_EQ(sd_bus_message_read(reply_, "(sssuttst)", &name, &kind, &state, &pid, &restarts,
                                &faults, &last_fault, &downtime),
            0);
}

TEST_F(BusMethodsTest, GetDeviceReturnsEveryDevicePropertyByName) {
  ASSERT_EQ(call(kManagerPath, kManagerInterface, "GetDevice", "disk0"), "") << error_message_;
  auto p = read_properties(reply_);
  EXPECT_EQ(p.size(), 23u);  // every Device property of docs/dbus-api.md
  EXPECT_EQ(std::get<std::string>(p["Name"]), "disk0");
  EXPECT_EQ(std::get<std::string>(p["Kind"]), "disk");
  EXPECT_EQ(std::get<std::string>(p["State"]), "serving");
  EXPECT_EQ(std::get<std::string>(p["Mode"]), "isolated");
  EXPECT_EQ(std::get<std::string>(p["Driver"]), "/usr/lib/uldd/uldd-nvme-driver");
  EXPECT_EQ(std::get<std::string>(p["Policy"]), "default-disk");
  EXPECT_EQ(std::get<uint32_t>(p["DriverPid"]), 4242u);
  EXPECT_EQ(std::get<uint32_t>(p["StandbyPid"]), 4243u);
  EXPECT_EQ(std::get<uint32_t>(p["ModelPid"]), 4000u);
  EXPECT_EQ(std::get<uint64_t>(p["Restarts"]), 3u);
  EXPECT_EQ(std::get<uint64_t>(p["RestartsWarm"]), 2u);
  EXPECT_EQ(std::get<uint64_t>(p["RestartsCold"]), 1u);
  EXPECT_EQ(std::get<uint64_t>(p["WarmRefused"]), 1u);
  EXPECT_EQ(std::get<uint64_t>(p["StandbyPromotions"]), 1u);
  EXPECT_EQ(std::get<uint64_t>(p["RequestsResent"]), 17u);
  EXPECT_EQ((std::get<std::map<std::string, uint64_t>>(p["FaultsByCause"])),
            (std::map<std::string, uint64_t>{{"crashed", 2}, {"hung", 1}, {"operator", 1}}));
  EXPECT_EQ(std::get<std::string>(p["LastFault"]), "driver (pid 4100) killed by SIGKILL");
  EXPECT_EQ(std::get<uint64_t>(p["LastFaultTimestamp"]), 1'700'000'000'000'000u);
  EXPECT_EQ(std::get<uint64_t>(p["LastDowntimeUsec"]), 2'500u);
  EXPECT_EQ(std::get<uint64_t>(p["MaxDowntimeUsec"]), 30'000u);
  EXPECT_EQ(std::get<uint64_t>(p["TotalDowntimeUsec"]), 34'000u);
  EXPECT_EQ(std::get<uint64_t>(p["Recoveries"]), 3u);
  EXPECT_EQ((std::get<std::map<std::string, uint64_t>>(p["IoCounters"]).at("read_bytes")),
            4'096'000u);
}

TEST_F(BusMethodsTest, PropertiesReadThroughTheStandardInterface) {
  sd_bus_error error = SD_BUS_ERROR_NULL;
  char* text = nullptr;
  ASSERT_GE(sd_bus_get_property_string(client_, kServiceName, kNicPath, kDeviceInterface, "State",
                                       &error, &text),
            0);
  EXPECT_STREQ(text, "stopped");
  free(text);
  uint32_t pid = 0;
  ASSERT_GE(sd_bus_get_property_trivial(client_, kServiceName, kDisk0Path, kDeviceInterface,
                                        "DriverPid", &error, 'u', &pid),
            0);
  EXPECT_EQ(pid, 4242u);
  for (const auto& [property, expected] : std::map<std::string, std::string>{
           {"State", "running"}, {"LogLevel", "info"}, {"Version", ULDD_PROJECT_VERSION}}) {
    ASSERT_GE(sd_bus_get_property_string(client_, kServiceName, kManagerPath, kManagerInterface,
                                         property.c_str(), &error, &text),
              0)
        << property;
    EXPECT_EQ(std::string(text), expected) << property;
    free(text);
  }
  sd_bus_message* devices = nullptr;
  ASSERT_GE(sd_bus_get_property(client_, kServiceName, kManagerPath, kManagerInterface, "Devices",
                                &error, &devices, "ao"),
            0);
  char** paths = nullptr;
  ASSERT_GE(sd_bus_message_read_strv(devices, &paths), 0);
  ASSERT_NE(paths, nullptr);
  EXPECT_STREQ(paths[0], kDisk0Path);
  EXPECT_STREQ(paths[1], kNicPath);
  EXPECT_EQ(paths[2], nullptr);
  for (char** p = paths; *p != nullptr; ++p) free(*p);
  free(paths);
  sd_bus_message_unref(devices);
  sd_bus_error_free(&error);
}

TEST_F(BusMethodsTest, ManagerMethodsReturnWhatTheSupervisorSays) {
  ASSERT_EQ(call(kManagerPath, kManagerInterface, "Reload"), "") << error_message_;
  const char* text = nullptr;
  ASSERT_GE(sd_bus_message_read(reply_, "s", &text), 0);
  EXPECT_STREQ(text, "reloaded 2 policies (default-disk, default-nic)");

  ASSERT_EQ(call(kManagerPath, kManagerInterface, "GetMetrics"), "");
  ASSERT_GE(sd_bus_message_read(reply_, "s", &text), 0);
  EXPECT_EQ(std::string(text), control_.metrics_text());

  ASSERT_EQ(call(kManagerPath, kManagerInterface, "ListFaultTypes"), "");
  char** types = nullptr;
  ASSERT_GE(sd_bus_message_read_strv(reply_, &types), 0);
  EXPECT_STREQ(types[0], "sigkill");
  EXPECT_STREQ(types[1], "media-error");
  EXPECT_EQ(types[2], nullptr);
  for (char** t = types; *t != nullptr; ++t) free(*t);
  free(types);

  ASSERT_EQ(call(kManagerPath, kManagerInterface, "SetLogLevel", "debug"), "");
  EXPECT_EQ(control_.log_level(), "debug");
  EXPECT_EQ(call(kManagerPath, kManagerInterface, "SetLogLevel", "loud"), kErrorInvalidArgs);
  EXPECT_NE(error_message_.find("loud"), std::string::npos) << error_message_;
  EXPECT_EQ(control_.log_level(), "debug");
}

TEST_F(BusMethodsTest, DeviceMethodsReachTheSupervisorAndMapItsErrors) {
  EXPECT_EQ(call(kDisk0Path, kDeviceInterface, "Restart"), "");
  EXPECT_EQ(call(kNicPath, kDeviceInterface, "Stop"), "");
  EXPECT_EQ(call(kNicPath, kDeviceInterface, "Start"), "");
  control_.fail_next("restart", Error{EBUSY, "restart: nic-0 is colocated"});
  EXPECT_EQ(call(kNicPath, kDeviceInterface, "Restart"), kErrorInvalidState);
  EXPECT_EQ(error_message_, "restart: nic-0 is colocated");
  control_.fail_next("stop", Error{ENOTSUP, "stop: not for this device"});
  EXPECT_EQ(call(kDisk0Path, kDeviceInterface, "Stop"), kErrorNotSupported);
  control_.fail_next("start", Error{EIO, "start: the driver exited at once (status 1)"});
  EXPECT_EQ(call(kDisk0Path, kDeviceInterface, "Start"), kErrorFailed);
  EXPECT_EQ(error_message_, "start: the driver exited at once (status 1)");
  control_.fail_next("reload", Error{EINVAL, "policies/x.toml:3:1: unknown key"});
  EXPECT_EQ(call(kManagerPath, kManagerInterface, "Reload"), kErrorInvalidArgs);
  EXPECT_EQ(control_.calls(),
            (std::vector<std::string>{"restart disk0", "stop nic-0", "start nic-0", "restart nic-0",
                                      "stop disk0", "start disk0", "reload"}));
}

TEST_F(BusMethodsTest, InjectFaultPassesTypeAndParametersAndNamesBadOnes) {
  sd_bus_error error = SD_BUS_ERROR_NULL;
  sd_bus_message* reply = nullptr;
  ASSERT_GE(
      sd_bus_call_method(client_, kServiceName, kDisk0Path, kDeviceInterface, "InjectFault", &error,
                         &reply, "sa{ss}", "media-error", 2, "count", "8", "lba", "4096"),
      0)
      << error.message;
  const char* detail = nullptr;
  ASSERT_GE(sd_bus_message_read(reply, "s", &detail), 0);
  EXPECT_STREQ(detail, "injected media-error into disk0 (2 parameters)");
  reply = sd_bus_message_unref(reply);
  EXPECT_EQ(control_.calls().back(), "inject disk0 media-error count=8 lba=4096");

  EXPECT_LT(sd_bus_call_method(client_, kServiceName, kDisk0Path, kDeviceInterface, "InjectFault",
                               &error, nullptr, "sa{ss}", "gamma-ray", 0),
            0);
  EXPECT_STREQ(error.name, kErrorInvalidArgs);
  sd_bus_error_free(&error);

  // Wrong argument types: a named error, and the service still answers.
  EXPECT_LT(sd_bus_call_method(client_, kServiceName, kDisk0Path, kDeviceInterface, "InjectFault",
                               &error, nullptr, "i", 5),
            0);
  EXPECT_STREQ(error.name, kErrorInvalidArgs);
  sd_bus_error_free(&error);
  EXPECT_LT(sd_bus_call_method(client_, kServiceName, kManagerPath, kManagerInterface, "GetDevice",
                               &error, nullptr, "u", 7u),
            0);
  EXPECT_STREQ(error.name, kErrorInvalidArgs);
  sd_bus_error_free(&error);
  EXPECT_EQ(call(kManagerPath, kManagerInterface, "ListDevices"), "");
}

TEST_F(BusMethodsTest, UnknownDevicesAreNoSuchDevice) {
  EXPECT_EQ(call(kManagerPath, kManagerInterface, "GetDevice", "disk9"), kErrorNoSuchDevice);
  EXPECT_NE(error_message_.find("disk9"), std::string::npos) << error_message_;
  EXPECT_EQ(call("/org/uldd/Supervisor1/device/disk9", kDeviceInterface, "Restart"),
            kErrorNoSuchDevice);
  EXPECT_TRUE(control_.calls().empty());
}

TEST_F(BusMethodsTest, CommandLineClientsSeeTheSameAnswers) {
  testing::CommandResult r = busctl(
      "call org.uldd.Supervisor1 /org/uldd/Supervisor1 org.uldd.Supervisor1.Manager ListDevices");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("a(sssuttst) 2 \"disk0\" \"disk\" \"serving\" 4242 3 4"),
            std::string::npos)
      << r.output;
  r = busctl(std::string("get-property org.uldd.Supervisor1 ") + kNicPath +
             " org.uldd.Supervisor1.Device Kind");
  EXPECT_EQ(r.output, "s \"nic\"\n");
  r = busctl(std::string("call org.uldd.Supervisor1 ") + kDisk0Path +
             " org.uldd.Supervisor1.Device InjectFault 'sa{ss}' sigkill 0");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, "s \"injected sigkill into disk0 (0 parameters)\"\n");
  // busctl prints only messages; dbus-send prints the error names.
  r = dbus_send(kDisk0Path, "org.uldd.Supervisor1.Device.InjectFault", "int32:5");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find(kErrorInvalidArgs), std::string::npos) << r.output;
  r = dbus_send(kManagerPath, "org.uldd.Supervisor1.Manager.GetDevice", "string:nope");
  EXPECT_NE(r.output.find(kErrorNoSuchDevice), std::string::npos) << r.output;
  r = busctl(
      "call org.uldd.Supervisor1 /org/uldd/Supervisor1 org.uldd.Supervisor1.Manager GetMetrics");
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

}  // namespace
}  // namespace uldd::dbus

namespace uldd::dbus {
namespace {

TEST_F(BusMethodsTest, ASecondSupervisorIsToldTheNameIsTaken) {
  BusOptions options;
  options.address = bus_->address();
  Result<std::unique_ptr<BusService>> second = BusService::start(control_, options);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, EEXIST);
  EXPECT_NE(second.error().message.find("org.uldd.Supervisor1 is already owned"), std::string::npos)
      << second.error().message;
  EXPECT_EQ(call(kManagerPath, kManagerInterface, "ListDevices"),
            "");  // the first one still serves
}

}  // namespace
}  // namespace uldd::dbus
