// NvmeController unit tests, part 3: the supervisor's device faults
// (abi/device_fault.h) armed with faultinject::arm_device_fault against the
// real controller, each with the effect a driver sees: a completion without
// its interrupt, an interrupt without a completion, a late completion, an
// error status, Unrecovered Read Error until the range is written, and a
// controller that does nothing until CC.EN goes 1 -> 0.
#include <gtest/gtest.h>

#include <memory>

#include "devices/nvme/nvme_test_host.h"
#include "faultinject/device_fault_request.h"

namespace uldd::nvme::testing {
namespace {

using T = NvmeTestHost;
using abi::DeviceFault;
using std::chrono::microseconds;
using std::chrono::milliseconds;

class NvmeDeviceFault : public ::testing::Test {
 protected:
  NvmeDeviceFault() {
    faultinject::init_device_fault_region(*region_, abi::kDeviceModelNvme);
    NvmeControllerConfig config;
    config.device_faults = region_.get();
    h_ = std::make_unique<NvmeTestHost>(config);
  }
  void SetUp() override {
    ASSERT_EQ(h().enable(), csts::kReady);
    h().create_pair(1);
  }
  NvmeTestHost& h() { return *h_; }
  void arm(std::string_view type, const std::map<std::string, std::string>& params = {}) {
    auto r = faultinject::parse_device_fault_request(type, params);
    ASSERT_TRUE(r.ok()) << r.error().describe();
    ASSERT_TRUE(faultinject::arm_device_fault(*region_, *r).ok());
  }
  uint64_t fired(DeviceFault f) const { return region_->counters.fired[static_cast<uint32_t>(f)]; }
  SubmissionEntry write(uint64_t slba, uint32_t blocks) {
    return T::rw_cmd(io::kWrite, slba, blocks, kData);
  }
  SubmissionEntry read(uint64_t slba, uint32_t blocks) {
    return T::rw_cmd(io::kRead, slba, blocks, kData + 0x8000);
  }

  std::unique_ptr<abi::DeviceFaultRegion> region_ = std::make_unique<abi::DeviceFaultRegion>();
  std::unique_ptr<NvmeTestHost> h_;
};

TEST_F(NvmeDeviceFault, LostInterruptPostsTheCompletionWithoutTheInterrupt) {
  int before = h().irqs;
  arm("lost-interrupt");
  ASSERT_EQ(h().run_status(1, write(0, 1)), 0);  // the completion is there...
  EXPECT_EQ(h().irqs, before);                   // ...its interrupt is not
  EXPECT_EQ(fired(DeviceFault::kLostInterrupt), 1u);
  ASSERT_EQ(h().run_status(1, write(1, 1)), 0);  // once: the next one interrupts
  EXPECT_EQ(h().irqs, before + 1);
  EXPECT_EQ(fired(DeviceFault::kLostInterrupt), 1u);
}

TEST_F(NvmeDeviceFault, DisarmedControllerInterruptsForEveryCompletion) {
  int before = h().irqs;
  for (uint32_t i = 0; i < 3; ++i) ASSERT_EQ(h().run_status(1, write(i, 1)), 0);
  EXPECT_EQ(h().irqs, before + 3);
  for (uint32_t f = 1; f < abi::kDeviceFaultIdLimit; ++f) EXPECT_EQ(region_->counters.fired[f], 0u);
}

TEST_F(NvmeDeviceFault, SpuriousInterruptReportsNothing) {
  int before = h().irqs;
  arm("spurious-interrupt");
  h().poll();
  EXPECT_EQ(h().irqs, before + 1);
  EXPECT_FALSE(h().reap(0).has_value());
  EXPECT_FALSE(h().reap(1).has_value());
  h().poll();
  EXPECT_EQ(h().irqs, before + 1);  // once per arming
  EXPECT_EQ(fired(DeviceFault::kSpuriousInterrupt), 1u);
}

TEST_F(NvmeDeviceFault, DelayedCommandCompletesLate) {
  arm("delayed-command", {{"ms", "5"}});
  SubmissionEntry cmd = write(0, 1);
  cmd.cid = 77;
  h().submit(1, cmd);
  h().ring_sq(1);
  h().poll();
  EXPECT_FALSE(h().reap(1).has_value());
  NvmeController::TimePoint due;
  ASSERT_TRUE(h().ctrl->next_deadline(&due));
  EXPECT_EQ(due, h().now + milliseconds(5));
  h().advance(microseconds(4900));
  h().poll();
  EXPECT_FALSE(h().reap(1).has_value());
  h().advance(microseconds(100));
  h().poll();
  auto e = h().reap(1);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->cid, 77);
  EXPECT_EQ(e->status & ~status::kPhase, 0);
  h().ring_cq(1);
  EXPECT_EQ(fired(DeviceFault::kDelayedCommand), 1u);
  EXPECT_EQ(h().run_status(1, write(1, 1)), 0);  // the next one is on time
}

TEST_F(NvmeDeviceFault, FailedCommandCompletesWithTheStatusAndDoesNothing) {
  std::memset(h().at(kData), 0xAB, 512);
  arm("failed-command", {{"after", "2"}});
  ASSERT_EQ(h().run_status(1, write(0, 1)), 0);  // pass 1
  EXPECT_EQ(h().run_status(1, write(1, 1)),      // pass 2: Internal Error, retryable
            status::make(status::kTypeGeneric, status::kInternalError));
  EXPECT_EQ(h().store.bytes()[512], std::byte{0});  // block 1 was not written
  EXPECT_EQ(h().store.bytes()[0], std::byte{0xAB});
  EXPECT_EQ(h().run_status(1, write(1, 1)), 0);
  arm("failed-command", {{"status", "write-fault"}});
  EXPECT_EQ(h().run_status(1, write(2, 1)), status::make(status::kTypeMedia, status::kWriteFault));
  EXPECT_EQ(fired(DeviceFault::kFailedCommand), 2u);
}

TEST_F(NvmeDeviceFault, MediaErrorFailsReadsUntilTheRangeIsWritten) {
  const uint16_t ure = status::make(status::kTypeMedia, status::kUnrecoveredReadError);
  arm("media-error", {{"lba", "10"}, {"count", "4"}});
  EXPECT_EQ(h().run_status(1, read(8, 3)), ure);  // 8..10 touches 10
  EXPECT_EQ(h().run_status(1, read(13, 1)), ure);
  EXPECT_EQ(h().run_status(1, read(0, 10)), 0);  // 0..9
  EXPECT_EQ(h().run_status(1, read(14, 8)), 0);
  EXPECT_EQ(h().run_status(1, read(13, 1)), ure);  // persists
  ASSERT_EQ(h().run_status(1, write(10, 2)), 0);   // remaps 10, 11
  EXPECT_EQ(h().run_status(1, read(10, 2)), 0);
  EXPECT_EQ(h().run_status(1, read(12, 1)), ure);
  EXPECT_EQ(region_->counters.media_error_blocks, 2u);
  arm("clear-device-faults");
  EXPECT_EQ(h().run_status(1, read(10, 4)), 0);
  EXPECT_EQ(region_->counters.media_error_blocks, 0u);
  EXPECT_EQ(fired(DeviceFault::kMediaError), 4u);  // reads that failed
}

TEST_F(NvmeDeviceFault, DeviceHangHoldsUntilControllerReset) {
  int before = h().irqs;
  arm("device-hang");
  SubmissionEntry cmd = write(0, 1);
  cmd.cid = 5;
  h().submit(1, cmd);
  h().ring_sq(1);
  for (int i = 0; i < 5; ++i) {
    h().poll();
    h().advance(milliseconds(100));
  }
  EXPECT_FALSE(h().reap(1).has_value());
  EXPECT_EQ(h().irqs, before);
  NvmeController::TimePoint due;
  EXPECT_FALSE(h().ctrl->next_deadline(&due));
  EXPECT_EQ(region_->counters.hung, 1u);
  EXPECT_EQ(fired(DeviceFault::kDeviceHang), 1u);
  // The driver's reset: CC.EN 1 -> 0 is seen, CSTS.RDY drops, the hang ends.
  h().disable();
  EXPECT_EQ(h().reg(kRegCsts) & csts::kReady, 0u);
  EXPECT_EQ(region_->counters.hung, 0u);
  EXPECT_EQ(region_->counters.hang_resets, 1u);
  ASSERT_EQ(h().enable(), csts::kReady);
  h().create_pair(1);
  EXPECT_EQ(h().run_status(1, write(0, 1)), 0);
}

}  // namespace
}  // namespace uldd::nvme::testing
