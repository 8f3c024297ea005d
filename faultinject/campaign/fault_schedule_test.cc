// build_schedule: the same campaign and seed give the identical list, a
// different seed a different one; gaps, weights and device choice as documented.
#include "faultinject/campaign/fault_schedule.h"

#include <gtest/gtest.h>

#include <map>

namespace uldd::campaign {
namespace {

Campaign two_disks() {
  auto c = parse_campaign(R"(
[campaign]
name = "s"
faults = 400
interval_ms = 100
[[device]]
name = "disk0"
[[device]]
name = "disk1"
[[fault]]
type = "sigkill"
weight = 3
[[fault]]
type = "stall"
weight = 1
params = { ms = 500, seed = "$seed" }
devices = ["disk1"]
)",
                          "s.toml");
  EXPECT_TRUE(c.ok()) << c.error().describe();
  return *c;
}

TEST(FaultSchedule, SameSeedSameList) {
  Campaign c = two_disks();
  auto a = build_schedule(c, 7);
  auto b = build_schedule(c, 7);
  ASSERT_EQ(a.size(), 400u);
  EXPECT_EQ(a, b);
  // Parsing the file again changes nothing either.
  EXPECT_EQ(build_schedule(two_disks(), 7), a);
}

TEST(FaultSchedule, DifferentSeedDifferentList) {
  Campaign c = two_disks();
  auto a = build_schedule(c, 7);
  auto b = build_schedule(c, 8);
  ASSERT_EQ(a.size(), b.size());
  EXPECT_NE(a, b);
  size_t same_time = 0;
  for (size_t i = 0; i < a.size(); ++i) same_time += a[i].at_ms == b[i].at_ms;
  EXPECT_LT(same_time, a.size() / 4);
}

TEST(FaultSchedule, GapsWeightsAndDevices) {
  Campaign c = two_disks();
  auto s = build_schedule(c, 99);
  std::map<std::string, int> types;
  uint64_t prev = 0;
  for (const ScheduledFault& f : s) {
    EXPECT_GE(f.at_ms - prev, 50u);
    EXPECT_LT(f.at_ms - prev, 150u);
    prev = f.at_ms;
    ++types[f.type];
    if (f.type == "stall") {
      EXPECT_EQ(f.device, "disk1");
      EXPECT_EQ(f.params.at("ms"), "500");
      EXPECT_NE(f.params.at("seed"), "$seed");  // replaced by a derived seed
    }
  }
  // Mean gap ~ interval_ms; weight 3:1 -> about 300:100 of 400.
  EXPECT_NEAR(static_cast<double>(s.back().at_ms) / s.size(), 100.0, 10.0);
  EXPECT_GT(types["sigkill"], 250);
  EXPECT_LT(types["sigkill"], 350);
  // sigkill names no devices: both get some.
  int disk0 = 0;
  for (const ScheduledFault& f : s) disk0 += f.device == "disk0";
  EXPECT_GT(disk0, 100);
}

TEST(FaultSchedule, DurationBoundsTheList) {
  Campaign c = two_disks();
  c.faults = 0;
  c.duration_s = 3;
  auto s = build_schedule(c, 1);
  ASSERT_FALSE(s.empty());
  EXPECT_LT(s.back().at_ms, 3000u);
  EXPECT_NEAR(static_cast<double>(s.size()), 30.0, 8.0);
}

}  // namespace
}  // namespace uldd::campaign
