// Tests of DeviceFaultRequest: every name parses with its defaults, bad names
// and parameters are refused with messages naming them, arming checks the
// region's model and writes a slot under the seqlock protocol that the
// model-side reader (devices/device_fault_reader.h) takes once per generation.
#include "faultinject/device_fault_request.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <memory>

#include "devices/device_fault_reader.h"

namespace uldd::faultinject {
namespace {

using abi::DeviceFault;

std::unique_ptr<abi::DeviceFaultRegion> region_for(uint32_t model) {
  auto r = std::make_unique<abi::DeviceFaultRegion>();
  init_device_fault_region(*r, model);
  return r;
}

TEST(DeviceFaultRequest, EveryNameParsesToItsIdWithDefaults) {
  std::vector<std::string> names = device_fault_types();
  ASSERT_EQ(names.size(), 7u);
  for (uint32_t id = 1; id < abi::kDeviceFaultIdLimit; ++id) {
    std::map<std::string, std::string> params;
    if (static_cast<DeviceFault>(id) == DeviceFault::kMediaError) params["lba"] = "5";
    auto r = parse_device_fault_request(names[id - 1], params);
    ASSERT_TRUE(r.ok()) << names[id - 1] << ": " << r.error().describe();
    EXPECT_EQ(static_cast<uint32_t>(r.value().fault), id);
    EXPECT_EQ(r.value().after, 1u);
  }
  EXPECT_EQ(parse_device_fault_request("delayed-command", {}).value().ms, kDefaultDelayMs);
  EXPECT_EQ(parse_device_fault_request("failed-command", {}).value().nvme_status, 0x006u);
  EXPECT_EQ(parse_device_fault_request("media-error", {{"lba", "7"}}).value().count, 1u);
}

TEST(DeviceFaultRequest, ParametersAreTaken) {
  auto r = parse_device_fault_request("failed-command",
                                      {{"status", "unrecovered-read-error"}, {"after", "3"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value().nvme_status, 0x281u);
  EXPECT_EQ(r.value().after, 3u);
  EXPECT_EQ(parse_device_fault_request("failed-command", {{"status", "0x4"}}).value().nvme_status,
            0x004u);
  EXPECT_EQ(parse_device_fault_request("failed-command", {{"frame", "rx"}}).value().frame,
            abi::kE1000FailRx);
  r = parse_device_fault_request("media-error", {{"lba", "0x100"}, {"count", "16"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value().lba, 256u);
  EXPECT_EQ(r.value().count, 16u);
  EXPECT_EQ(parse_device_fault_request("delayed-command", {{"ms", "250"}}).value().ms, 250u);
}

TEST(DeviceFaultRequest, UnknownNameIsNotADeviceFault) {
  auto r = parse_device_fault_request("media-eror", {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ENOENT);
  EXPECT_NE(r.error().message.find("media-eror"), std::string::npos);
  EXPECT_EQ(parse_device_fault_request("crash-here", {}).error().code, ENOENT);  // a fault point
  EXPECT_EQ(parse_device_fault_request("sigkill", {}).error().code, ENOENT);
}

TEST(DeviceFaultRequest, BadParametersAreNamed) {
  auto r = parse_device_fault_request("device-hang", {{"after", "2"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, EINVAL);
  EXPECT_NE(r.error().message.find("'after'"), std::string::npos) << r.error().message;
  r = parse_device_fault_request("media-error", {{"count", "4"}});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("'lba'"), std::string::npos) << r.error().message;
  r = parse_device_fault_request("failed-command", {{"status", "bogus"}});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("internal-error"), std::string::npos) << r.error().message;
  EXPECT_FALSE(parse_device_fault_request("failed-command", {{"status", "0x100"}}).ok());  // SC 0
  EXPECT_FALSE(parse_device_fault_request("failed-command", {{"frame", "both"}}).ok());
  EXPECT_FALSE(
      parse_device_fault_request("failed-command", {{"frame", "tx"}, {"status", "0x6"}}).ok());
  EXPECT_FALSE(parse_device_fault_request("delayed-command", {{"ms", "0"}}).ok());
  EXPECT_FALSE(parse_device_fault_request("media-error", {{"lba", "1"}, {"count", "0"}}).ok());
  EXPECT_FALSE(parse_device_fault_request("media-error", {{"lba", "x"}}).ok());
}

TEST(DeviceFaultRequest, ArmingChecksTheModel) {
  auto nic = region_for(abi::kDeviceModelE1000);
  auto disk = region_for(abi::kDeviceModelNvme);
  auto media = parse_device_fault_request("media-error", {{"lba", "1"}}).value();
  EXPECT_EQ(arm_device_fault(*nic, media).error().code, ENOTSUP);
  EXPECT_TRUE(arm_device_fault(*disk, media).ok());
  auto tx = parse_device_fault_request("failed-command", {{"frame", "tx"}}).value();
  EXPECT_EQ(arm_device_fault(*disk, tx).error().code, EINVAL);
  EXPECT_TRUE(arm_device_fault(*nic, tx).ok());
  auto st = parse_device_fault_request("failed-command", {{"status", "write-fault"}}).value();
  EXPECT_EQ(arm_device_fault(*nic, st).error().code, EINVAL);
  abi::DeviceFaultRegion blank{};
  EXPECT_EQ(arm_device_fault(blank, st).error().code, EPROTO);
}

TEST(DeviceFaultRequest, ArmingWritesASlotTheReaderTakesOncePerGeneration) {
  auto region = region_for(abi::kDeviceModelNvme);
  hw::DeviceFaultReader reader(region.get());
  auto req = parse_device_fault_request("failed-command", {{"after", "2"}}).value();
  auto slot = arm_device_fault(*region, req);
  ASSERT_TRUE(slot.ok());
  const abi::DeviceFaultArming& s = region->slots[*slot];
  EXPECT_EQ(s.generation, 2u);
  EXPECT_EQ(s.fault, static_cast<uint32_t>(DeviceFault::kFailedCommand));
  EXPECT_EQ(s.arg, 0x006u);
  reader.refresh();
  EXPECT_EQ(region->taken[*slot], 2u);
  uint32_t arg = 0;
  EXPECT_FALSE(reader.fire(DeviceFault::kFailedCommand, &arg));  // pass 1 of 2
  EXPECT_TRUE(reader.fire(DeviceFault::kFailedCommand, &arg));
  EXPECT_EQ(arg, 0x006u);
  EXPECT_FALSE(reader.fire(DeviceFault::kFailedCommand));  // once per generation
  reader.refresh();
  EXPECT_FALSE(reader.fire(DeviceFault::kFailedCommand));
  EXPECT_EQ(region->counters.fired[static_cast<uint32_t>(DeviceFault::kFailedCommand)], 1u);

  // Again: the same slot, a new generation, one more firing; a second reader
  // (a restarted model on the same region) does not take it again.
  ASSERT_EQ(arm_device_fault(*region, req).value(), *slot);
  EXPECT_EQ(s.generation, 4u);
  reader.refresh();
  hw::DeviceFaultReader restarted(region.get());
  restarted.refresh();
  EXPECT_FALSE(restarted.fire(DeviceFault::kFailedCommand));
  EXPECT_FALSE(restarted.fire(DeviceFault::kFailedCommand));
  EXPECT_FALSE(reader.fire(DeviceFault::kFailedCommand));
  EXPECT_TRUE(reader.fire(DeviceFault::kFailedCommand));

  // A torn write (odd generation) is not taken.
  auto lost = parse_device_fault_request("lost-interrupt", {}).value();
  uint32_t ls = arm_device_fault(*region, lost).value();
  region->slots[ls].generation += 1;
  reader.refresh();
  EXPECT_FALSE(reader.fire(DeviceFault::kLostInterrupt));
  region->slots[ls].generation += 1;
  reader.refresh();
  EXPECT_TRUE(reader.fire(DeviceFault::kLostInterrupt));
}

TEST(DeviceFaultRequest, MediaErrorRangesShrinkWhenWrittenAndClear) {
  auto region = region_for(abi::kDeviceModelNvme);
  hw::DeviceFaultReader reader(region.get());
  ASSERT_TRUE(
      arm_device_fault(
          *region,
          parse_device_fault_request("media-error", {{"lba", "100"}, {"count", "10"}}).value())
          .ok());
  reader.refresh();
  EXPECT_EQ(region->counters.media_error_blocks, 10u);
  EXPECT_FALSE(reader.media_error(90, 10));
  EXPECT_TRUE(reader.media_error(95, 6));
  EXPECT_TRUE(reader.media_error(109, 1));
  EXPECT_FALSE(reader.media_error(110, 5));
  reader.media_written(103, 2);  // a hole: [100,103) and [105,110) remain
  EXPECT_EQ(region->counters.media_error_blocks, 8u);
  EXPECT_FALSE(reader.media_error(103, 2));
  EXPECT_TRUE(reader.media_error(102, 2));
  reader.media_written(100, 3);
  EXPECT_FALSE(reader.media_error(100, 5));
  EXPECT_EQ(region->counters.fired[static_cast<uint32_t>(DeviceFault::kMediaError)], 3u);
  ASSERT_TRUE(
      arm_device_fault(*region, parse_device_fault_request("clear-device-faults", {}).value())
          .ok());
  reader.refresh();
  EXPECT_FALSE(reader.media_error(105, 5));
  EXPECT_EQ(region->counters.media_error_blocks, 0u);
}

TEST(DeviceFaultRequest, DescribeNamesTheFaultAndTheExpectation) {
  auto r = parse_device_fault_request("media-error", {{"lba", "8"}, {"count", "2"}}).value();
  std::string d = describe_device_fault_request(r);
  EXPECT_NE(d.find("media-error (lba=8 count=2)"), std::string::npos) << d;
  EXPECT_NE(d.find("Unrecovered Read Error"), std::string::npos) << d;
  d = describe_device_fault_request(parse_device_fault_request("failed-command", {}).value());
  EXPECT_NE(d.find("status=0x6"), std::string::npos) << d;
}

}  // namespace
}  // namespace uldd::faultinject
