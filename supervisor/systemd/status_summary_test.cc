#include "supervisor/systemd/status_summary.h"

#include <gtest/gtest.h>

namespace uldd::supervisor::systemd {
namespace {

DeviceSnapshot device(std::string name, std::string state, uint64_t restarts = 0) {
  DeviceSnapshot d;
  d.name = std::move(name);
  d.kind = d.name.starts_with("nic") ? "nic" : "disk";
  d.state = std::move(state);
  d.restarts = restarts;
  return d;
}

TEST(StatusSummaryTest, CountsServingDevicesAndNamesEach) {
  EXPECT_EQ(status_summary({device("disk0", "serving", 3), device("nic0", "recovering")}),
            "1/2 devices serving; disk0 serving, 3 restarts; nic0 recovering");
  EXPECT_EQ(status_summary({device("disk0", "serving", 1), device("nic0", "serving")}),
            "2/2 devices serving; disk0 serving, 1 restart; nic0 serving");
  EXPECT_EQ(status_summary({device("disk0", "starting")}), "0/1 device serving; disk0 starting");
  EXPECT_EQ(status_summary({}), "no devices configured");
}

TEST(StatusSummaryTest, AFailedDeviceCarriesItsLastFaultOnOneShortLine) {
  DeviceSnapshot d = device("disk0", "failed", 5);
  d.last_fault = "killed by SIGSEGV\nsecond line";
  EXPECT_EQ(status_summary({d}),
            "0/1 device serving; disk0 failed, 5 restarts: killed by SIGSEGV second line");
  d.last_fault = std::string(200, 'x');
  std::string line = status_summary({d});
  EXPECT_LT(line.size(), 150u);
  EXPECT_TRUE(line.ends_with("x...")) << line;
  // A stopped device does not show an old fault.
  d.state = "stopped";
  EXPECT_EQ(status_summary({d}), "0/1 device serving; disk0 stopped, 5 restarts");
}

}  // namespace
}  // namespace uldd::supervisor::systemd
