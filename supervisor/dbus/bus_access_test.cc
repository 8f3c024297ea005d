// Access control of the D-Bus API: mutating calls from a caller who is neither
// root nor in the control group are refused with AccessDenied naming the uid
// (and never reach the supervisor); reading stays open. Real callers through
// setpriv (nobody without groups, nobody in the group), and made-up callers
// through a fake credential source.
#include <grp.h>

#include <string>
#include <vector>

#include "supervisor/dbus/testing/bus_service_fixture.h"

namespace uldd::dbus {
namespace {

using testing::kDisk0Path;

// The mutating calls as busctl arguments.
const std::vector<std::string> kMutatingCalls = {
    "call org.uldd.Supervisor1 /org/uldd/Supervisor1 org.uldd.Supervisor1.Manager Reload",
    "call org.uldd.Supervisor1 /org/uldd/Supervisor1 org.uldd.Supervisor1.Manager SetLogLevel s "
    "debug",
    "call org.uldd.Supervisor1 /org/uldd/Supervisor1/device/disk0 org.uldd.Supervisor1.Device "
    "Restart",
    "call org.uldd.Supervisor1 /org/uldd/Supervisor1/device/disk0 org.uldd.Supervisor1.Device Stop",
    "call org.uldd.Supervisor1 /org/uldd/Supervisor1/device/disk0 org.uldd.Supervisor1.Device "
    "Start",
    "call org.uldd.Supervisor1 /org/uldd/Supervisor1/device/disk0 org.uldd.Supervisor1.Device "
    "InjectFault "
    "'sa{ss}' sigkill 0",
};

using BusAccessTest = testing::BusServiceFixture;

TEST_F(BusAccessTest, NobodyIsRefusedEveryMutatingCall) {
  for (const std::string& arguments : kMutatingCalls) {
    const testing::CommandResult r = busctl_as_nobody(arguments);
    EXPECT_NE(r.exit_code, 0) << arguments << "\n" << r.output;
    // systemd's tools print their own words for AccessDenied, not the message.
    EXPECT_NE(r.output.find("Access denied"), std::string::npos) << arguments << "\n" << r.output;
  }
  EXPECT_TRUE(control_.calls().empty()) << "a refused call reached the supervisor";
}

TEST_F(BusAccessTest, TheRefusalIsAccessDeniedNamingTheUid) {
  // dbus-send prints the D-Bus error name and the service's message.
  const std::vector<std::pair<std::string, std::string>> calls = {
      {kManagerPath, "org.uldd.Supervisor1.Manager.Reload"},
      {kManagerPath, "org.uldd.Supervisor1.Manager.SetLogLevel string:debug"},
      {kDisk0Path, "org.uldd.Supervisor1.Device.Restart"},
      {kDisk0Path, "org.uldd.Supervisor1.Device.Stop"},
      {kDisk0Path, "org.uldd.Supervisor1.Device.Start"},
      {kDisk0Path,
       "org.uldd.Supervisor1.Device.InjectFault string:sigkill dict:string:string:lba,0"},
  };
  for (const auto& [path, member_and_arguments] : calls) {
    const testing::CommandResult r = dbus_send(path, member_and_arguments, "", /*as_nobody=*/true);
    EXPECT_NE(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find(std::string(kErrorAccessDenied) + ": "), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("refused: uid 65534 is neither root nor in group 'users'"),
              std::string::npos)
        << r.output;
  }
  EXPECT_TRUE(control_.calls().empty()) << "a refused call reached the supervisor";
}

TEST_F(BusAccessTest, NobodyMayRead) {
  for (const std::string& arguments :
       {std::string("call org.uldd.Supervisor1 /org/uldd/Supervisor1 org.uldd.Supervisor1.Manager "
                    "ListDevices"),
        std::string("call org.uldd.Supervisor1 /org/uldd/Supervisor1 org.uldd.Supervisor1.Manager "
                    "GetDevice s disk0"),
        std::string("call org.uldd.Supervisor1 /org/uldd/Supervisor1 org.uldd.Supervisor1.Manager "
                    "GetMetrics"),
        std::string("call org.uldd.Supervisor1 /org/uldd/Supervisor1 org.uldd.Supervisor1.Manager "
                    "ListFaultTypes"),
        std::string("get-property org.uldd.Supervisor1 /org/uldd/Supervisor1/device/disk0 "
                    "org.uldd.Supervisor1.Device State"),
        std::string("introspect org.uldd.Supervisor1 /org/uldd/Supervisor1/device/disk0")}) {
    const testing::CommandResult r = busctl_as_nobody(arguments);
    EXPECT_EQ(r.exit_code, 0) << arguments << "\n" << r.output;
  }
}

TEST_F(BusAccessTest, AMemberOfTheControlGroupMayChangeThings) {
  group* users = getgrnam(testing::kTestControlGroup);
  ASSERT_NE(users, nullptr);
  const testing::CommandResult r =
      busctl_as_nobody(kMutatingCalls[2], std::to_string(users->gr_gid));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(control_.calls(), std::vector<std::string>{"restart disk0"});
}

TEST_F(BusAccessTest, RootMayChangeThings) {
  const testing::CommandResult r = busctl(kMutatingCalls[3]);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(control_.calls(), std::vector<std::string>{"stop disk0"});
}

// Callers made up by the test: the credential source says who is calling.
class FakeCallerCredentials final : public CallerCredentials {
 public:
  explicit FakeCallerCredentials(CallerIdentity* caller) : caller_(caller) {}
  Result<CallerIdentity> identify(sd_bus_message*) override { return *caller_; }

 private:
  CallerIdentity* caller_;
};

class BusAccessWithFakeCallersTest : public testing::BusServiceFixture {
 protected:
  std::unique_ptr<CallerCredentials> make_credentials() override {
    return std::make_unique<FakeCallerCredentials>(&caller_);
  }
  CallerIdentity caller_;  // read on the service thread during a call only
};

TEST_F(BusAccessWithFakeCallersTest, GroupMembershipDecides) {
  group* users = getgrnam(testing::kTestControlGroup);
  ASSERT_NE(users, nullptr);
  caller_ = CallerIdentity{1000, 77, {5, users->gr_gid}};
  EXPECT_EQ(call(kDisk0Path, kDeviceInterface, "Restart"), "") << error_message_;
  caller_ = CallerIdentity{1000, 77, {5, 6}};
  EXPECT_EQ(call(kDisk0Path, kDeviceInterface, "Restart"), kErrorAccessDenied);
  EXPECT_EQ(error_message_, "Restart refused: uid 1000 is neither root nor in group 'users'");
  EXPECT_EQ(call(kManagerPath, kManagerInterface, "SetLogLevel", "debug"), kErrorAccessDenied);
  EXPECT_EQ(call(kManagerPath, kManagerInterface, "GetDevice", "disk0"), "");  // reading is open
  caller_ = CallerIdentity{0, 1, {}};
  EXPECT_EQ(call(kManagerPath, kManagerInterface, "SetLogLevel", "debug"), "");
  EXPECT_EQ(control_.calls(), (std::vector<std::string>{"restart disk0", "set_log_level debug"}));
}

}  // namespace
}  // namespace uldd::dbus
