// Fault points in the e1000 driver, observed from the shim's side: the loop
// runs against the loopback FakeE1000Device (e1000_driver_loop_fixture.h),
// the test arms a point in the control block as the supervisor does
// (faultinject's arm_fault_point) and looks at tx_done/rx_done, the
// heartbeat or the process. wrong-iova needs a device that checks
// addresses: it is in e1000_driver_model_test.cc.
#include <gtest/gtest.h>
#include <signal.h>

#include <set>

#include "drivers/e1000/e1000_driver_loop_fixture.h"
#include "faultinject/fault_point_request.h"

namespace uldd::drivers {
namespace {

using abi::NetDescriptor;
using abi::NetRing;
using testing::E1000DriverLoopTest;

class E1000FaultPointTest : public E1000DriverLoopTest {
 protected:
  void SetUp() override {
    E1000DriverLoopTest::SetUp();  // makes the ring region these views attach to
    tx_requests_ = view_.producer(NetRing::kTxRequest);
    tx_done_ = view_.consumer(NetRing::kTxDone);
    rx_done_ = view_.consumer(NetRing::kRxDone);
  }
  void arm(std::string_view type, const std::map<std::string, std::string>& params = {}) {
    auto r = faultinject::parse_fault_point_request(type, params);
    ASSERT_TRUE(r.ok()) << r.error().describe();
    ASSERT_TRUE(faultinject::arm_fault_point(*cb_, r.value()).ok());
  }
  uint64_t fired() { return driver_->fault_points().fired(); }
  bool wait_fired(uint64_t n) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (fired() < n && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return fired() >= n;
  }
  // Sends TX frames from buffers first..first+n-1 (no RX buffers are posted:
  // the looped-back frames are dropped by the fake, which is fine here).
  void send(uint16_t first, uint16_t n) {
    std::vector<NetDescriptor> ds;
    for (uint16_t id = first; id < first + n; ++id) ds.push_back(tx_request(id, 100));
    publish(tx_requests_, ds);
  }
  // Collects `n` tx_done descriptors (bounded wait).
  std::vector<NetDescriptor> collect_tx(size_t n) {
    std::vector<NetDescriptor> got;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (got.size() < n && std::chrono::steady_clock::now() < deadline) {
      auto more = take(tx_done_);
      got.insert(got.end(), more.begin(), more.end());
      if (more.empty()) wait_shim_wake(tx_done_, rx_done_);
    }
    return got;
  }
  static std::multiset<uint16_t> ids(const std::vector<NetDescriptor>& ds) {
    std::multiset<uint16_t> s;
    for (const auto& d : ds) s.insert(d.buffer_id);
    return s;
  }

  abi::SpscProducer<NetDescriptor> tx_requests_;
  abi::SpscConsumer<NetDescriptor> tx_done_;
  abi::SpscConsumer<NetDescriptor> rx_done_;
};

TEST_F(E1000FaultPointTest, DisarmedOrNotYetDuePointsDoNotFire) {
  arm("double-completion");
  faultinject::disarm_fault_point(*cb_, abi::FaultPoint::kDoubleCompletion);
  arm("skip-doorbell", {{"after", "1000"}});
  run_loop();
  send(0, 4);
  auto got = collect_tx(4);
  send(4, 4);
  auto more = collect_tx(4);
  got.insert(got.end(), more.begin(), more.end());
  EXPECT_EQ(ids(got), (std::multiset<uint16_t>{0, 1, 2, 3, 4, 5, 6, 7}));
  for (const auto& d : got) EXPECT_EQ(d.len, 100u);
  EXPECT_EQ(fired(), 0u);
}

TEST_F(E1000FaultPointTest, LostCompletionDropsExactlyOne) {
  arm("lost-completion", {{"after", "2"}});
  run_loop();
  send(0, 4);
  auto got = collect_tx(3);
  send(4, 4);
  auto more = collect_tx(4);
  got.insert(got.end(), more.begin(), more.end());
  std::multiset<uint16_t> s = ids(got);
  EXPECT_EQ(got.size(), 7u);
  EXPECT_EQ(std::set<uint16_t>(s.begin(), s.end()).size(), 7u);
  for (uint16_t id = 4; id < 8; ++id) EXPECT_EQ(s.count(id), 1u) << id;
}

TEST_F(E1000FaultPointTest, DoubleCompletionPostsOneTwice) {
  arm("double-completion", {{"after", "4"}});
  run_loop();
  send(0, 4);
  auto got = collect_tx(5);
  ASSERT_EQ(got.size(), 5u);
  EXPECT_EQ(ids(got).count(3), 2u);
}

TEST_F(E1000FaultPointTest, WrongLengthReportsOneCompletionLonger) {
  arm("wrong-length");
  run_loop();
  send(0, 4);
  auto got = collect_tx(4);
  ASSERT_EQ(got.size(), 4u);
  size_t wrong = 0;
  for (const auto& d : got) wrong += d.len == 100 + abi::kWrongLengthDelta;
  EXPECT_EQ(wrong, 1u);
}

TEST_F(E1000FaultPointTest, SkippedTdtLeavesTheFrameUnsentUntilTheNextBatch) {
  arm("skip-doorbell");
  run_loop();
  send(0, 1);
  ASSERT_TRUE(wait_fired(1));
  // Idle iterations must not write the held-back TDT either.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(tx_done_.available(), 0u);
  EXPECT_EQ(abi::load_shared(cb_->status.requests_done), 0u);
  send(1, 1);  // the next batch writes TDT for both frames
  EXPECT_EQ(ids(collect_tx(2)), (std::multiset<uint16_t>{0, 1}));
}

TEST_F(E1000FaultPointTest, CrashHereAbortsInCompletionHandling) {
  EXPECT_EXIT(
      {
        arm("crash-here");
        send(0, 1);
        (void)loop_->run();  // on this thread, in the death test's child
        std::_Exit(0);
      },
      ::testing::KilledBySignal(SIGABRT), "");
}

TEST_F(E1000FaultPointTest, StallStopsTheHeartbeat) {
  arm("stall", {{"ms", "1500"}});
  run_loop();
  ASSERT_TRUE(wait_fired(1));
  uint64_t h = abi::load_shared(cb_->status.heartbeat);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // a live loop beats every 10 ms
  EXPECT_EQ(abi::load_shared(cb_->status.heartbeat), h);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (abi::load_shared(cb_->status.heartbeat) == h &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_NE(abi::load_shared(cb_->status.heartbeat), h) << "the loop never resumed";
}

}  // namespace
}  // namespace uldd::drivers
