// Introspection of the D-Bus API: both interfaces with every method (and its
// argument names), signal and property of docs/dbus-api.md, the device
// objects as children of the manager, and the ObjectManager's view of them.
#include <string>
#include <vector>

#include "supervisor/dbus/testing/bus_service_fixture.h"

namespace uldd::dbus {
namespace {

using testing::kDisk0Path;
using testing::kNicPath;

class BusIntrospectionTest : public testing::BusServiceFixture {
 protected:
  std::string introspect(const char* path) {
    EXPECT_EQ(call(path, "org.freedesktop.DBus.Introspectable", "Introspect"), "")
        << error_message_;
    const char* xml = nullptr;
    if (reply_ == nullptr || sd_bus_message_read(reply_, "s", &xml) < 0) return {};
    return xml;
  }
};

// The text of one <property> element (up to its end tag).
std::string property_element(const std::string& xml, const std::string& name) {
  const size_t start = xml.find("<property name=\"" + name + "\"");
  if (start == std::string::npos) return "missing";
  return xml.substr(start, xml.find("</property>", start) - start);
}

void expect_contains(const std::string& xml, const std::vector<std::string>& needles) {
  for (const std::string& needle : needles)
    EXPECT_NE(xml.find(needle), std::string::npos) << needle << "\n" << xml;
}

TEST_F(BusIntrospectionTest, ManagerShowsEveryMethodSignalAndPropertyWithArgumentNames) {
  const std::string xml = introspect(kManagerPath);
  expect_contains(xml, {
                           "<interface name=\"org.uldd.Supervisor1.Manager\">",
                           "<interface name=\"org.freedesktop.DBus.ObjectManager\">",
                           "<interface name=\"org.freedesktop.DBus.Properties\">",
                           "<interface name=\"org.freedesktop.DBus.Peer\">",
                           "<method name=\"ListDevices\">",
                           "<arg type=\"a(sssuttst)\" name=\"devices\" direction=\"out\"/>",
                           "<method name=\"GetDevice\">",
                           "<arg type=\"s\" name=\"name\" direction=\"in\"/>",
                           "<arg type=\"a{sv}\" name=\"properties\" direction=\"out\"/>",
                           "<method name=\"Reload\">",
                           "<arg type=\"s\" name=\"summary\" direction=\"out\"/>",
                           "<method name=\"SetLogLevel\">",
                           "<arg type=\"s\" name=\"level\" direction=\"in\"/>",
                           "<method name=\"GetMetrics\">",
                           "<arg type=\"s\" name=\"text\" direction=\"out\"/>",
                           "<method name=\"ListFaultTypes\">",
                           "<arg type=\"as\" name=\"types\" direction=\"out\"/>",
                           "<signal name=\"DeviceStateChanged\">",
                           "<arg type=\"s\" name=\"old_state\"/>",
                           "<arg type=\"u\" name=\"driver_pid\"/>",
                           "<signal name=\"Recovered\">",
                           "<arg type=\"b\" name=\"standby\"/>",
                           "<arg type=\"t\" name=\"downtime_us\"/>",
                           "<arg type=\"t\" name=\"detect_to_serving_us\"/>",
                           "<arg type=\"u\" name=\"resent\"/>",
                           "<signal name=\"FaultInjected\">",
                           "<arg type=\"s\" name=\"fault\"/>",
                           "<arg type=\"s\" name=\"detail\"/>",
                           "<property name=\"Version\" type=\"s\" access=\"read\">",
                           "<property name=\"State\" type=\"s\" access=\"read\">",
                           "<property name=\"LogLevel\" type=\"s\" access=\"read\">",
                           "<property name=\"Devices\" type=\"ao\" access=\"read\">",
                           "<node name=\"device\"/>",
                       });
}

TEST_F(BusIntrospectionTest, DeviceObjectsShowTheDeviceInterface) {
  const std::string xml = introspect(kNicPath);
  std::vector<std::string> needles = {
      "<interface name=\"org.uldd.Supervisor1.Device\">",
      "<method name=\"Restart\">",
      "<method name=\"Stop\">",
      "<method name=\"Start\">",
      "<method name=\"InjectFault\">",
      "<arg type=\"s\" name=\"type\" direction=\"in\"/>",
      "<arg type=\"a{ss}\" name=\"params\" direction=\"in\"/>",
      "<arg type=\"s\" name=\"detail\" direction=\"out\"/>",
  };
  for (const char* property : {"Name s",
                               "Kind s",
                               "State s",
                               "Mode s",
                               "Driver s",
                               "Policy s",
                               "DriverPid u",
                               "StandbyPid u",
                               "ModelPid u",
                               "Restarts t",
                               "RestartsWarm t",
                               "RestartsCold t",
                               "WarmRefused t",
                               "StandbyPromotions t",
                               "RequestsResent t",
                               "FaultsByCause a{st}",
                               "LastFault s",
                               "LastFaultTimestamp t",
                               "LastDowntimeUsec t",
                               "MaxDowntimeUsec t",
                               "TotalDowntimeUsec t",
                               "Recoveries t",
                               "IoCounters a{st}"}) {
    const std::string spec = property;
    const size_t space = spec.find(' ');
    needles.push_back("<property name=\"" + spec.substr(0, space) + "\" type=\"" +
                      spec.substr(space + 1) + "\" access=\"read\">");
  }
  expect_contains(xml, needles);
  // The signalled properties keep the default (PropertiesChanged with the
  // value); constant ones say "const"; the counters say they do not signal.
  EXPECT_EQ(property_element(xml, "State").find("EmitsChangedSignal"), std::string::npos) << xml;
  EXPECT_EQ(property_element(xml, "LastDowntimeUsec").find("EmitsChangedSignal"), std::string::npos)
      << xml;
  EXPECT_NE(property_element(xml, "Name").find("EmitsChangedSignal\" value=\"const\""),
            std::string::npos)
      << xml;
  EXPECT_NE(property_element(xml, "IoCounters").find("EmitsChangedSignal\" value=\"false\""),
            std::string::npos)
      << xml;
}

TEST_F(BusIntrospectionTest, BusctlSeesTheTreeAndTheInterfaces) {
  testing::CommandResult r = busctl("tree org.uldd.Supervisor1");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find(kDisk0Path), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(kNicPath), std::string::npos) << r.output;

  r = busctl(std::string("introspect --xml-interface org.uldd.Supervisor1 ") + kDisk0Path);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  expect_contains(r.output, {"<interface name=\"org.uldd.Supervisor1.Device\">",
                             "<arg type=\"a{ss}\" name=\"params\" direction=\"in\"/>"});
  r = busctl("introspect org.uldd.Supervisor1 /org/uldd/Supervisor1 org.uldd.Supervisor1.Manager");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  expect_contains(r.output, {".DeviceStateChanged", ".Recovered", ".FaultInjected", ".ListDevices",
                             ".SetLogLevel", "emits-change"});
}

TEST_F(BusIntrospectionTest, ObjectManagerListsEveryDeviceWithItsProperties) {
  ASSERT_EQ(call(kManagerPath, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects"), "")
      << error_message_;
  std::vector<std::string> paths;
  ASSERT_GE(sd_bus_message_enter_container(reply_, 'a', "{oa{sa{sv}}}"), 0);
  while (sd_bus_message_enter_container(reply_, 'e', "oa{sa{sv}}") > 0) {
    const char* path = nullptr;
    ASSERT_GE(sd_bus_message_read(reply_, "o", &path), 0);
    paths.push_back(path);
    ASSERT_GE(sd_bus_message_skip(reply_, "a{sa{sv}}"), 0);
    ASSERT_GE(sd_bus_message_exit_container(reply_), 0);
  }
  EXPECT_EQ(paths, (std::vector<std::string>{kDisk0Path, kNicPath}));
}

}  // namespace
}  // namespace uldd::dbus
