// DiskShim's request-timeout watch (policy [heartbeat] request_timeout):
// a descriptor the driver took and never completed is reported once, after
// the timeout and not before; restart() re-arms the watch and restarts the
// clock for what it resends; 0 turns the watch off and set_request_timeout()
// changes it while the shim runs; requests that do complete never trip it.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "shim/disk_shim.h"
#include "shim/testing/fake_driver_port.h"

namespace uldd::shim {
namespace {

using abi::BlockDescriptor;
using abi::BlockStatus;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr uint32_t kMaxTransfer = 4096;
constexpr uint32_t kBuffers = 4;

// A driver that takes descriptors and completes them only when told to (or
// at once, out of hold mode): a lost completion, or a hung device.
using fakes::FakeDriverPort;

class RequestTimeoutTest : public ::testing::Test {
 protected:
  void start(milliseconds timeout) {
    dma_.resize(kBuffers * kMaxTransfer);
    auto port = std::make_unique<FakeDriverPort>(8);
    port->hold_ = true;
    port_ = port.get();
    DiskShimOptions o;
    o.device_name = "rt0";
    o.size_bytes = 1 << 20;
    o.max_transfer = kMaxTransfer;
    o.buffer_area = dma_.data();
    o.buffer_area_iova = 0;
    o.buffer_count = kBuffers;
    o.request_timeout = timeout;
    o.on_request_timeout = [this](const std::string& why) {
      std::lock_guard l(mu_);
      fired_at_.push_back(Clock::now());
      reason_ = why;
    };
    o.on_driver_fault = [this](const std::string&) { driver_faults_++; };
    shim_ = std::make_unique<DiskShim>(o, std::move(port));
    ASSERT_TRUE(shim_->start().ok());
  }
  void TearDown() override {
    if (shim_) shim_->stop();
  }
  void write_async(uint64_t offset) {
    shim_->write(offset, block_, [this](BlockStatus s) {
      if (s == BlockStatus::kOk) completed_++;
    });
  }
  size_t fired() {
    std::lock_guard l(mu_);
    return fired_at_.size();
  }
  bool wait_fired(size_t n, milliseconds limit) {
    auto end = Clock::now() + limit;
    while (Clock::now() < end) {
      if (fired() >= n) return true;
      std::this_thread::sleep_for(milliseconds(2));
    }
    return false;
  }
  void wait_taken(size_t n) {
    for (int i = 0; i < 2000 && port_->held() < n; ++i)
      std::this_thread::sleep_for(milliseconds(1));
    ASSERT_GE(port_->held(), n);
  }

  std::vector<std::byte> dma_, block_ = std::vector<std::byte>(kMaxTransfer, std::byte{7});
  FakeDriverPort* port_ = nullptr;
  std::unique_ptr<DiskShim> shim_;
  std::mutex mu_;
  std::vector<Clock::time_point> fired_at_;
  std::string reason_;
  std::atomic<int> completed_{0}, driver_faults_{0};
};

TEST_F(RequestTimeoutTest, AStuckRequestIsReportedOnceAfterTheTimeoutNotBefore) {
  start(milliseconds(150));
  auto t0 = Clock::now();
  write_async(0);
  wait_taken(1);
  ASSERT_TRUE(wait_fired(1, milliseconds(5000)));
  EXPECT_GE(fired_at_[0] - t0, milliseconds(150));
  EXPECT_NE(reason_.find("not completed"), std::string::npos) << reason_;
  std::this_thread::sleep_for(milliseconds(400));
  EXPECT_EQ(fired(), 1u) << "the watch fires once until restart() re-arms it";
  EXPECT_EQ(shim_->stats().request_timeouts.load(), 1u);
  EXPECT_EQ(driver_faults_.load(), 0) << "a timeout is not reported as a protocol violation";
}

TEST_F(RequestTimeoutTest, RestartRearmsTheWatchAndRestartsTheClockOfWhatItResends) {
  start(milliseconds(200));
  write_async(0);
  wait_taken(1);
  ASSERT_TRUE(wait_fired(1, milliseconds(5000)));
  shim_->hold();
  auto restarted = Clock::now();
  ASSERT_EQ(shim_->restart(ResendMode::kReissue).value(), 1u);
  wait_taken(1);  // resent to the "successor", which loses it again
  ASSERT_TRUE(wait_fired(2, milliseconds(5000)));
  EXPECT_GE(fired_at_[1] - restarted, milliseconds(200)) << "the clock restarts at the resend";
  port_->complete_held();
  for (int i = 0; i < 2000 && completed_.load() == 0; ++i)
    std::this_thread::sleep_for(milliseconds(1));
  EXPECT_EQ(completed_.load(), 1);
}

TEST_F(RequestTimeoutTest, ZeroIsOffAndAReloadTurnsItOn) {
  start(milliseconds(0));
  write_async(0);
  wait_taken(1);
  std::this_thread::sleep_for(milliseconds(400));
  EXPECT_EQ(fired(), 0u);
  shim_->set_request_timeout(milliseconds(100));
  EXPECT_TRUE(wait_fired(1, milliseconds(5000)));
}

TEST_F(RequestTimeoutTest, RequestsThatCompleteNeverTripIt) {
  start(milliseconds(100));
  port_->hold_ = false;
  auto end = Clock::now() + milliseconds(500);
  int sent = 0;
  while (Clock::now() < end) {
    ASSERT_EQ(write_sync(*shim_, (sent % 64) * kMaxTransfer, block_), BlockStatus::kOk);
    ++sent;
  }
  EXPECT_GT(sent, 10);
  EXPECT_EQ(fired(), 0u);
}

}  // namespace
}  // namespace uldd::shim
