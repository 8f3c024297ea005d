// Fault points in the NVMe driver, observed from the shim's side: the loop
// runs against FakeNvmeDevice (driver_loop_fixture.h), the test arms a point
// in the control block exactly as the supervisor does (faultinject's
// arm_fault_point) and looks at what reaches the completion ring, the
// heartbeat or the process. wrong-iova needs a device that checks addresses:
// it is in nvme_driver_model_test.cc.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <set>

#include "drivers/nvme/driver_loop_fixture.h"
#include "faultinject/fault_point_request.h"

namespace uldd::drivers {
namespace {

using abi::BlockDescriptor;
using testing::NvmeDriverLoopTest;
using testing::write_req;

class NvmeFaultPointTest : public NvmeDriverLoopTest {
 protected:
  void arm(std::string_view type, const std::map<std::string, std::string>& params = {}) {
    auto r = faultinject::parse_fault_point_request(type, params);
    ASSERT_TRUE(r.ok()) << r.error().describe();
    ASSERT_TRUE(faultinject::arm_fault_point(*cb_, r.value()).ok());
  }
  uint64_t fired() { return driver_->fault_points().fired(); }
  // Waits (bounded) until the driver reports `n` firings.
  bool wait_fired(uint64_t n) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (fired() < n && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return fired() >= n;
  }
  std::vector<BlockDescriptor> four_writes(uint32_t first_tag) {
    std::vector<BlockDescriptor> ds;
    for (uint32_t t = first_tag; t < first_tag + 4; ++t) ds.push_back(write_req(t));
    return ds;
  }
  static std::multiset<uint32_t> tags(const std::vector<BlockDescriptor>& ds) {
    std::multiset<uint32_t> s;
    for (const auto& d : ds) s.insert(d.tag);
    return s;
  }
};

TEST_F(NvmeFaultPointTest, DisarmedOrNotYetDuePointsDoNotFire) {
  make(16);
  arm("lost-completion");
  ASSERT_EQ(faultinject::disarm_fault_point(*cb_, abi::FaultPoint::kLostCompletion), 1u);
  arm("crash-here", {{"after", "1000"}});  // armed, but not reached
  start();
  post(four_writes(0));
  auto got = collect(4);
  post(four_writes(4));
  auto more = collect(4);
  got.insert(got.end(), more.begin(), more.end());
  ASSERT_EQ(got.size(), 8u);
  EXPECT_EQ(tags(got), (std::multiset<uint32_t>{0, 1, 2, 3, 4, 5, 6, 7}));
  for (const auto& c : got) {
    EXPECT_EQ(c.status, 0);
    EXPECT_EQ(c.len, 4096u);
  }
  EXPECT_EQ(fired(), 0u);
}

TEST_F(NvmeFaultPointTest, LostCompletionDropsExactlyOne) {
  make(16);
  arm("lost-completion", {{"after", "2"}});
  start();
  post(four_writes(0));
  auto got = collect(3);
  post(four_writes(4));  // fires once per arming: these all come back
  auto more = collect(4);
  got.insert(got.end(), more.begin(), more.end());
  EXPECT_EQ(got.size(), 7u);
  std::multiset<uint32_t> t = tags(got);
  EXPECT_EQ(std::set<uint32_t>(t.begin(), t.end()).size(), 7u);
  for (uint32_t tag = 4; tag < 8; ++tag) EXPECT_EQ(t.count(tag), 1u) << tag;
  EXPECT_EQ(fired(), 1u);
}

TEST_F(NvmeFaultPointTest, DoubleCompletionPostsOneTwice) {
  make(16);
  arm("double-completion");
  start();
  post(four_writes(0));
  auto got = collect(5);
  ASSERT_EQ(got.size(), 5u);
  std::multiset<uint32_t> t = tags(got);
  EXPECT_EQ(std::set<uint32_t>(t.begin(), t.end()), (std::set<uint32_t>{0, 1, 2, 3}));
  EXPECT_EQ(fired(), 1u);
}

TEST_F(NvmeFaultPointTest, WrongLengthReportsOneCompletionLonger) {
  make(16);
  arm("wrong-length", {{"after", "3"}});
  start();
  post(four_writes(0));
  auto got = collect(4);
  ASSERT_EQ(got.size(), 4u);
  size_t wrong = 0;
  for (const auto& c : got) wrong += c.len == 4096 + abi::kWrongLengthDelta;
  EXPECT_EQ(wrong, 1u);
}

TEST_F(NvmeFaultPointTest, SkippedDoorbellLeavesTheCommandUnissuedUntilTheNext) {
  make(16);
  arm("skip-doorbell");
  start();
  post({write_req(0)});
  ASSERT_TRUE(wait_fired(1));
  // The fake device executes commands only when their doorbell is written.
  EXPECT_EQ(completions_.available(), 0u);
  EXPECT_EQ(dev_->media()[0], 0);
  post({write_req(1)});  // the next batch rings the tail for both
  auto got = collect(2);
  EXPECT_EQ(tags(got), (std::multiset<uint32_t>{0, 1}));
}

TEST_F(NvmeFaultPointTest, CrashHereAbortsInCompletionHandling) {
  EXPECT_EXIT(
      {
        make(16);
        arm("crash-here");
        post({write_req(0)});
        (void)loop_->run();  // on this thread, in the death test's child
        std::_Exit(0);
      },
      ::testing::KilledBySignal(SIGABRT), "");
}

TEST_F(NvmeFaultPointTest, StallStopsTheHeartbeat) {
  make(16);
  arm("stall", {{"ms", "1500"}});
  start();
  ASSERT_TRUE(wait_fired(1));  // counted just before the sleep
  uint64_t h = abi::load_shared(cb_->status.heartbeat);
  // A live loop beats every <= 10 ms (heartbeat 20 ms): 200 ms without a
  // beat is the hang the supervisor's watch detects.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(abi::load_shared(cb_->status.heartbeat), h);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (abi::load_shared(cb_->status.heartbeat) == h &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_NE(abi::load_shared(cb_->status.heartbeat), h) << "the loop never resumed";
}

uint64_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  uint64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
}

TEST_F(NvmeFaultPointTest, LeakMemoryGrowsResidentMemoryUntilDisarmed) {
  make(16);
  uint64_t before = resident_bytes();
  arm("leak-memory", {{"mib", "4"}});
  start();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (driver_->fault_points().leaked_bytes() < (12u << 20) &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  faultinject::disarm_fault_point(*cb_, abi::FaultPoint::kLeakMemory);
  EXPECT_GE(driver_->fault_points().leaked_bytes(), 12u << 20);
  EXPECT_GE(resident_bytes(), before + (12u << 20));
  EXPECT_EQ(fired(), 1u);  // one firing, leaking on every pass since
}

}  // namespace
}  // namespace uldd::drivers
