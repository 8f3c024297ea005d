// DiskShim's retry of error completions (policy [errors]): an error the
// driver reports once is resent and the frontend sees success; an error that
// stays is passed up after exactly `retries` resends, or at once with
// retries = 0 or (retry_permanent = false) a permanent status; a part
// waiting for its retry when the driver dies is resent to the successor once
// and not also retried; a late completion of the failed tag is dropped.
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

#include "shim/disk_shim.h"
#include "shim/testing/fake_driver_port.h"

namespace uldd::shim {
namespace {

using abi::BlockDescriptor;
using abi::BlockStatus;
using fakes::FakeDriverPort;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr uint32_t kMaxTransfer = 4096;
constexpr uint32_t kBuffers = 8;
constexpr uint64_t kDiskBytes = 1 << 20;

class ErrorRetryTest : public ::testing::Test {
 protected:
  void start(ErrorRetry retry) {
    dma_.resize(kBuffers * kMaxTransfer);
    disk_.assign(kDiskBytes, std::byte{0});
    auto port = std::make_unique<FakeDriverPort>(8, dma_.data(), &disk_);
    port_ = port.get();
    DiskShimOptions o;
    o.device_name = "retry0";
    o.size_bytes = kDiskBytes;
    o.max_transfer = kMaxTransfer;
    o.buffer_area = dma_.data();
    o.buffer_area_iova = 0;
    o.buffer_count = kBuffers;
    o.error_retry = retry;
    o.on_driver_fault = [this](const std::string&) { driver_faults_++; };
    shim_ = std::make_unique<DiskShim>(o, std::move(port));
    ASSERT_TRUE(shim_->start().ok());
  }
  void TearDown() override {
    if (shim_) shim_->stop();
  }
  static std::vector<std::byte> pattern(size_t n, uint32_t seed) {
    std::vector<std::byte> v(n);
    std::mt19937 rng(seed);
    for (auto& b : v) b = static_cast<std::byte>(rng());
    return v;
  }
  // The descriptors the driver was given, in order.
  std::vector<BlockDescriptor> seen() {
    std::lock_guard l(port_->mu_);
    return port_->seen_;
  }
  void wait_held(size_t n) {
    for (int i = 0; i < 2000 && port_->held() < n; ++i)
      std::this_thread::sleep_for(milliseconds(1));
    ASSERT_GE(port_->held(), n);
  }

  std::vector<std::byte> dma_, disk_;
  FakeDriverPort* port_ = nullptr;
  std::unique_ptr<DiskShim> shim_;
  std::atomic<int> driver_faults_{0};
};

TEST_F(ErrorRetryTest, AnErrorOnceIsRetriedAndTheFrontendSeesSuccess) {
  start(ErrorRetry{.retries = 5});
  // What campaigns saw: an inverted branch in the driver's descriptor check
  // refused a valid write (kInvalid); the device never had it.
  port_->fail_next(BlockStatus::kInvalid);
  auto data = pattern(2 * kMaxTransfer, 1);  // two parts; one of them fails once
  ASSERT_EQ(write_sync(*shim_, 8192, data), BlockStatus::kOk);
  EXPECT_EQ(0, std::memcmp(disk_.data() + 8192, data.data(), data.size())) << "written after all";
  auto s = seen();
  ASSERT_EQ(s.size(), 3u) << "two parts and one resend";
  EXPECT_EQ(s[2].lba, s[0].lba) << "the failed part is what is resent";
  EXPECT_EQ(s[2].iova, s[0].iova) << "same slot and buffer";
  EXPECT_NE(s[2].tag, s[0].tag) << "under a new tag";
  EXPECT_EQ(InFlightTable::slot_of(s[2].tag), InFlightTable::slot_of(s[0].tag));
  EXPECT_EQ(shim_->stats().error_retries.load(), 1u);
  EXPECT_EQ(shim_->stats().errors.load(), 0u);
  EXPECT_EQ(shim_->stats().writes.load(), 1u);

  // A read that fails twice (the device reports an error without DNR) is read again.
  port_->fail_next(BlockStatus::kIoError, 2);
  std::vector<std::byte> back(data.size());
  ASSERT_EQ(read_sync(*shim_, 8192, back), BlockStatus::kOk);
  EXPECT_EQ(back, data);
  EXPECT_EQ(shim_->stats().error_retries.load(), 3u);
  EXPECT_EQ(driver_faults_.load(), 0);
}

TEST_F(ErrorRetryTest, APermanentErrorIsPassedUpAfterTheRetries) {
  start(ErrorRetry{.retries = 3});
  // Unrecovered Read Error, marked Do Not Retry, on every attempt.
  port_->fail_next(BlockStatus::kMediaError, 100, abi::kBlockFlagDoNotRetry);
  std::vector<std::byte> buf(kMaxTransfer);
  EXPECT_EQ(read_sync(*shim_, 0, buf), BlockStatus::kMediaError);
  EXPECT_EQ(seen().size(), 4u) << "the first attempt and exactly 3 retries";
  EXPECT_EQ(shim_->stats().error_retries.load(), 3u);
  EXPECT_EQ(shim_->stats().errors.load(), 1u);
  EXPECT_EQ(driver_faults_.load(), 0) << "a permanent error never restarts the driver";
}

TEST_F(ErrorRetryTest, RetriesZeroPassesEveryErrorUpAtOnce) {
  start(ErrorRetry{.retries = 0});
  port_->fail_next(BlockStatus::kIoError);
  auto data = pattern(kMaxTransfer, 2);
  EXPECT_EQ(write_sync(*shim_, 0, data), BlockStatus::kIoError);
  EXPECT_EQ(seen().size(), 1u);
  EXPECT_EQ(shim_->stats().error_retries.load(), 0u);
  EXPECT_EQ(shim_->stats().errors.load(), 1u);
  EXPECT_EQ(write_sync(*shim_, 0, data), BlockStatus::kOk) << "the next one is fine";
}

TEST_F(ErrorRetryTest, RetryPermanentFalsePassesDoNotRetryUpAtOnceButRetriesTheRest) {
  start(ErrorRetry{.retries = 5, .retry_permanent = false});
  port_->fail_next(BlockStatus::kIoError, 1, abi::kBlockFlagDoNotRetry);
  auto data = pattern(kMaxTransfer, 3);
  EXPECT_EQ(write_sync(*shim_, 0, data), BlockStatus::kIoError);
  EXPECT_EQ(seen().size(), 1u);
  port_->fail_next(BlockStatus::kMediaError);
  std::vector<std::byte> buf(kMaxTransfer);
  EXPECT_EQ(read_sync(*shim_, 0, buf), BlockStatus::kMediaError);
  EXPECT_EQ(seen().size(), 2u);
  port_->fail_next(BlockStatus::kIoError);  // transient: retried
  EXPECT_EQ(write_sync(*shim_, 0, data), BlockStatus::kOk);
  EXPECT_EQ(seen().size(), 4u);
  EXPECT_EQ(shim_->stats().error_retries.load(), 1u);
}

TEST_F(ErrorRetryTest, TheRetryWaitsForTheDelayAndAReloadChangesThePolicy) {
  start(ErrorRetry{.retries = 2, .delay = milliseconds(150)});
  port_->fail_next(BlockStatus::kIoError);
  auto data = pattern(kMaxTransfer, 4);
  auto t0 = Clock::now();
  ASSERT_EQ(write_sync(*shim_, 0, data), BlockStatus::kOk);
  EXPECT_GE(Clock::now() - t0, milliseconds(150));
  shim_->set_error_retry(ErrorRetry{.retries = 0});
  port_->fail_next(BlockStatus::kIoError);
  EXPECT_EQ(write_sync(*shim_, 0, data), BlockStatus::kIoError);
}

TEST_F(ErrorRetryTest, APartWaitingForItsRetryIsResentOnceToTheSuccessor) {
  start(ErrorRetry{.retries = 5, .delay = milliseconds(10'000)});  // the retry never comes due
  port_->hold_ = true;
  std::atomic<int> calls{0};
  std::atomic<int> status{-1};
  auto data = pattern(kMaxTransfer, 5);
  shim_->write(0, data, [&](BlockStatus s) {
    status = static_cast<int>(s);
    calls++;
  });
  wait_held(1);
  BlockDescriptor first;
  {
    std::lock_guard l(port_->mu_);
    first = port_->held_[0];
    port_->held_.clear();
  }
  BlockDescriptor failed = first;
  failed.status = static_cast<uint16_t>(BlockStatus::kIoError);
  port_->push_raw(failed);
  for (int i = 0; i < 2000 && shim_->stats().error_retries.load() == 0; ++i)
    std::this_thread::sleep_for(milliseconds(1));
  ASSERT_EQ(shim_->stats().error_retries.load(), 1u);
  // The driver dies now; the part is waiting for its retry.
  shim_->hold();
  port_->hold_ = false;
  auto resent = shim_->restart(ResendMode::kReissue);
  ASSERT_TRUE(resent.ok());
  EXPECT_EQ(*resent, 1u);
  for (int i = 0; i < 2000 && calls.load() == 0; ++i) std::this_thread::sleep_for(milliseconds(1));
  std::this_thread::sleep_for(milliseconds(50));
  EXPECT_EQ(calls.load(), 1);
  EXPECT_EQ(status.load(), static_cast<int>(BlockStatus::kOk));
  auto s = seen();
  ASSERT_EQ(s.size(), 2u) << "the first attempt and one resend, no extra retry";
  EXPECT_NE(s[1].tag, first.tag);
  EXPECT_EQ(shim_->stats().resent.load(), 1u);
  EXPECT_EQ(shim_->stats().error_retries.load(), 1u);
  // The failed attempt's tag completes again, late: it matches nothing.
  uint64_t violations = shim_->stats().protocol_violations.load();
  BlockDescriptor late = first;
  port_->push_raw(late);
  for (int i = 0; i < 2000 && shim_->stats().protocol_violations.load() == violations; ++i)
    std::this_thread::sleep_for(milliseconds(1));
  EXPECT_EQ(shim_->stats().protocol_violations.load(), violations + 1);
  EXPECT_EQ(calls.load(), 1) << "completed exactly once";
  for (int i = 0; i < 2000 && driver_faults_.load() == 0; ++i)
    std::this_thread::sleep_for(milliseconds(1));
  EXPECT_EQ(driver_faults_.load(), 1) << "the late completion is a driver fault, reported";
}

// What a 10,000-fault campaign hit: a skipped instruction left the NVMe
// driver's queue cursor past its queues, and from then on it refused every
// request with kIoError while it kept beating. Retries alone turned that
// into EIO for every write; now a part whose transient error outlives its
// retries restarts the driver once and is resent to the successor.
TEST_F(ErrorRetryTest, AnErrorThatOutlivesItsRetriesRestartsTheDriverOnce) {
  start(ErrorRetry{.retries = 2});
  port_->fail_next(BlockStatus::kIoError, 3);  // the attempt and both retries
  std::atomic<int> status{-1};
  auto data = pattern(kMaxTransfer, 6);
  shim_->write(4096, data, [&](BlockStatus s) { status = static_cast<int>(s); });
  for (int i = 0; i < 2000 && driver_faults_.load() == 0; ++i)
    std::this_thread::sleep_for(milliseconds(1));
  ASSERT_EQ(driver_faults_.load(), 1) << "the shim asks for a restart";
  std::this_thread::sleep_for(milliseconds(30));
  EXPECT_EQ(status.load(), -1) << "the error does not go up before the successor tried";
  EXPECT_EQ(shim_->stats().error_restarts.load(), 1u);
  shim_->hold();
  auto resent = shim_->restart(ResendMode::kReissue);
  ASSERT_TRUE(resent.ok());
  EXPECT_EQ(*resent, 1u);
  for (int i = 0; i < 2000 && status.load() == -1; ++i)
    std::this_thread::sleep_for(milliseconds(1));
  EXPECT_EQ(status.load(), static_cast<int>(BlockStatus::kOk));
  EXPECT_EQ(0, std::memcmp(disk_.data() + 4096, data.data(), data.size()));
  EXPECT_EQ(seen().size(), 4u) << "three failed attempts, one to the successor";
  EXPECT_EQ(shim_->stats().errors.load(), 0u);
}

TEST_F(ErrorRetryTest, ADeviceThatFailsEverythingCostsOneRestartThenErrorsGoUp) {
  start(ErrorRetry{.retries = 1});
  port_->fail_next(BlockStatus::kIoError, 6);  // 2 + 2 attempts, then 2 for the next write
  auto data = pattern(kMaxTransfer, 7);
  std::atomic<int> status{-1};
  shim_->write(0, data, [&](BlockStatus s) { status = static_cast<int>(s); });
  for (int i = 0; i < 2000 && driver_faults_.load() == 0; ++i)
    std::this_thread::sleep_for(milliseconds(1));
  ASSERT_EQ(driver_faults_.load(), 1);
  shim_->hold();
  ASSERT_TRUE(shim_->restart(ResendMode::kReissue).ok());
  for (int i = 0; i < 2000 && status.load() == -1; ++i)
    std::this_thread::sleep_for(milliseconds(1));
  EXPECT_EQ(status.load(), static_cast<int>(BlockStatus::kIoError)) << "the successor failed too";
  EXPECT_EQ(seen().size(), 4u) << "2 attempts per driver";
  // No success since: the next failing write goes up without a restart.
  EXPECT_EQ(write_sync(*shim_, 0, data), BlockStatus::kIoError);
  EXPECT_EQ(driver_faults_.load(), 1);
  EXPECT_EQ(shim_->stats().error_restarts.load(), 1u);
  // A success re-arms it, but not within 10 s of the last such restart: a
  // device whose bad region fails some requests must not use up the
  // restart policy.
  ASSERT_EQ(write_sync(*shim_, 0, data), BlockStatus::kOk);
  port_->fail_next(BlockStatus::kIoError, 2);
  EXPECT_EQ(write_sync(*shim_, 0, data), BlockStatus::kIoError);
  EXPECT_EQ(driver_faults_.load(), 1);
}

TEST_F(ErrorRetryTest, EveryPartThatRunsOutWaitsForTheOneRestart) {
  start(ErrorRetry{.retries = 1});
  // A broken driver refuses both parts of a write, each on every attempt.
  port_->fail_next(BlockStatus::kIoError, 4);
  std::atomic<int> status{-1};
  auto data = pattern(2 * kMaxTransfer, 8);
  shim_->write(0, data, [&](BlockStatus s) { status = static_cast<int>(s); });
  for (int i = 0; i < 2000 && seen().size() < 4; ++i) std::this_thread::sleep_for(milliseconds(1));
  std::this_thread::sleep_for(milliseconds(30));
  ASSERT_EQ(seen().size(), 4u) << "two parts, one retry each";
  EXPECT_EQ(driver_faults_.load(), 1) << "one restart asked for";
  EXPECT_EQ(status.load(), -1) << "neither part's error went up";
  shim_->hold();
  auto resent = shim_->restart(ResendMode::kReissue);
  ASSERT_TRUE(resent.ok());
  EXPECT_EQ(*resent, 2u);
  for (int i = 0; i < 2000 && status.load() == -1; ++i)
    std::this_thread::sleep_for(milliseconds(1));
  EXPECT_EQ(status.load(), static_cast<int>(BlockStatus::kOk));
  EXPECT_EQ(0, std::memcmp(disk_.data(), data.data(), data.size()));
  EXPECT_EQ(shim_->stats().error_restarts.load(), 1u);
}

}  // namespace
}  // namespace uldd::shim
