// Tests of FaultPointRequest: every name parses, bad names and parameters
// are refused with messages naming them, and arming writes a slot under the
// seqlock protocol (generation +2, fields visible) that the driver-side
// reader (drivers/fault_points.h, tested in the driver tests) accepts.
#include "faultinject/fault_point_request.h"

#include <gtest/gtest.h>

#include <cerrno>

namespace uldd::faultinject {
namespace {

using abi::FaultPoint;

TEST(FaultPointRequest, EveryNameParsesToItsIdWithDefaults) {
  std::vector<std::string> names = fault_point_types();
  ASSERT_EQ(names.size(), 8u);
  for (uint32_t id = 1; id < abi::kFaultPointIdLimit; ++id) {
    auto r = parse_fault_point_request(names[id - 1], {});
    ASSERT_TRUE(r.ok()) << names[id - 1] << ": " << r.error().describe();
    EXPECT_EQ(static_cast<uint32_t>(r.value().point), id);
    EXPECT_EQ(r.value().after, 1u);
  }
  EXPECT_EQ(parse_fault_point_request("stall", {}).value().arg, abi::kDefaultStallMs);
  EXPECT_EQ(parse_fault_point_request("leak-memory", {}).value().arg, abi::kDefaultLeakMib);
  EXPECT_EQ(parse_fault_point_request("crash-here", {}).value().arg, 0u);
}

TEST(FaultPointRequest, ParametersAreTaken) {
  auto r = parse_fault_point_request("skip-doorbell", {{"after", "3"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value().point, FaultPoint::kSkipDoorbell);
  EXPECT_EQ(r.value().after, 3u);
  r = parse_fault_point_request("stall", {{"ms", "250"}, {"after", "0"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value().arg, 250u);
  EXPECT_EQ(r.value().after, 0u);
  r = parse_fault_point_request("leak-memory", {{"mib", "64"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value().arg, 64u);
}

TEST(FaultPointRequest, UnknownNameIsNotAFaultPoint) {
  auto r = parse_fault_point_request("skip-dorbell", {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ENOENT);
  EXPECT_NE(r.error().message.find("skip-dorbell"), std::string::npos);
  EXPECT_FALSE(parse_fault_point_request("sigkill", {}).ok());  // a process fault, not ours
  EXPECT_FALSE(parse_fault_point_request("", {}).ok());
}

TEST(FaultPointRequest, BadParametersAreNamed) {
  auto r = parse_fault_point_request("crash-here", {{"ms", "5"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, EINVAL);
  EXPECT_NE(r.error().message.find("'ms'"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("'after'"), std::string::npos) << r.error().message;

  r = parse_fault_point_request("stall", {{"mib", "5"}});  // leak's parameter, not stall's
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("'mib'"), std::string::npos);
  EXPECT_NE(r.error().message.find("'ms'"), std::string::npos);

  for (const char* bad : {"", "x", "-1", "3x", "1000001", "99999999999"}) {
    r = parse_fault_point_request("lost-completion", {{"after", bad}});
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, EINVAL);
    EXPECT_NE(r.error().message.find("'after'"), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find(std::string("'") + bad + "'"), std::string::npos);
  }
  EXPECT_FALSE(parse_fault_point_request("stall", {{"ms", "0"}}).ok());
  EXPECT_FALSE(parse_fault_point_request("leak-memory", {{"mib", "4097"}}).ok());
}

TEST(FaultPointRequest, ArmingWritesASlotWithTheGenerationBumped) {
  abi::ControlBlock cb{};
  auto stall = parse_fault_point_request("stall", {{"ms", "700"}, {"after", "2"}}).value();
  auto slot = arm_fault_point(cb, stall);
  ASSERT_TRUE(slot.ok());
  EXPECT_EQ(slot.value(), 0u);
  EXPECT_EQ(cb.faults[0].point, static_cast<uint32_t>(FaultPoint::kStall));
  EXPECT_EQ(cb.faults[0].after, 2u);
  EXPECT_EQ(cb.faults[0].arg, 700u);
  EXPECT_EQ(cb.faults[0].generation, 2u);  // even: stable

  // Another point takes the next slot; the same point again reuses its slot
  // with a new generation (the driver fires it once more).
  auto lost = parse_fault_point_request("lost-completion", {}).value();
  EXPECT_EQ(arm_fault_point(cb, lost).value(), 1u);
  EXPECT_EQ(arm_fault_point(cb, stall).value(), 0u);
  EXPECT_EQ(cb.faults[0].generation, 4u);
  EXPECT_EQ(cb.faults[1].generation, 2u);

  EXPECT_EQ(disarm_fault_point(cb, FaultPoint::kStall), 1u);
  EXPECT_EQ(cb.faults[0].point, 0u);
  EXPECT_EQ(cb.faults[0].generation, 6u);
  EXPECT_EQ(disarm_fault_point(cb, FaultPoint::kStall), 0u);
  // A cleared slot is reused, keeping its generation sequence.
  EXPECT_EQ(arm_fault_point(cb, stall).value(), 0u);
  EXPECT_EQ(cb.faults[0].generation, 8u);
}

TEST(FaultPointRequest, DisarmAllClearsEverySlotForTheNextDriver) {
  abi::ControlBlock cb{};
  ASSERT_TRUE(arm_fault_point(cb, {FaultPoint::kCrashHere, 1, 0}).ok());
  ASSERT_TRUE(arm_fault_point(cb, {FaultPoint::kStall, 1, 10}).ok());
  EXPECT_EQ(disarm_all_fault_points(cb), 2u);
  for (const auto& slot : cb.faults) EXPECT_EQ(slot.point, 0u);
  EXPECT_EQ(cb.faults[0].generation, 4u);
  EXPECT_EQ(cb.faults[2].generation, 0u);  // never used: untouched
  EXPECT_EQ(disarm_all_fault_points(cb), 0u);
}

TEST(FaultPointRequest, DescriptionNamesThePointAndTheExpectedEffect) {
  auto r = parse_fault_point_request("stall", {{"ms", "2000"}, {"after", "3"}}).value();
  std::string d = describe_fault_point_request(r);
  EXPECT_NE(d.find("stall (ms=2000)"), std::string::npos) << d;
  EXPECT_NE(d.find("pass 3"), std::string::npos) << d;
  EXPECT_NE(d.find("hang"), std::string::npos) << d;
  for (const std::string& name : fault_point_types()) {
    std::string text = describe_fault_point_request(parse_fault_point_request(name, {}).value());
    EXPECT_EQ(text.rfind(name, 0), 0u) << text;
    EXPECT_NE(text.find("expected: ") + 10, text.size()) << name << ": no effect described";
  }
}

TEST(FaultPointRequest, AnOddGenerationLeftByACrashedWriterIsRepaired) {
  abi::ControlBlock cb{};
  cb.faults[0].generation = 5;
  ASSERT_TRUE(arm_fault_point(cb, {FaultPoint::kCrashHere, 1, 0}).ok());
  EXPECT_EQ(cb.faults[0].generation, 8u);
}

TEST(FaultPointRequest, FullSlotsAreRefused) {
  abi::ControlBlock cb{};
  for (uint32_t i = 0; i < abi::kMaxArmedFaults; ++i) cb.faults[i].point = 1 + i % 8;
  cb.faults[0].point = static_cast<uint32_t>(FaultPoint::kStall);
  for (uint32_t i = 0; i < abi::kMaxArmedFaults; ++i)
    if (cb.faults[i].point == static_cast<uint32_t>(FaultPoint::kCrashHere)) cb.faults[i].point = 8;
  auto r = arm_fault_point(cb, {FaultPoint::kCrashHere, 1, 0});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ENOSPC);
  EXPECT_FALSE(arm_fault_point(cb, {FaultPoint::kNone, 1, 0}).ok());
}

}  // namespace
}  // namespace uldd::faultinject
