// DiskShim against a fake driver behind the DriverPort seam: splitting,
// copying, exactly-once completion, validation of hostile completions,
// back-pressure and shutdown.
#include "shim/disk_shim.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <future>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "shim/testing/fake_driver_port.h"

namespace uldd::shim {
namespace {

using abi::BlockDescriptor;
using abi::BlockOp;
using abi::BlockStatus;

constexpr uint32_t kMaxTransfer = 8192;
constexpr uint32_t kBuffers = 8;
constexpr uint64_t kDiskBytes = 1 << 20;

// The shared fake (shim/testing/fake_driver_port.h): serves descriptors from
// an in-memory disk, four per batch to force several batches.
using fakes::FakeDriverPort;

class DiskShimTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dma_.resize(4096 + kBuffers * kMaxTransfer);
    disk_.resize(kDiskBytes);
    auto port = std::make_unique<FakeDriverPort>(4, dma_.data(), &disk_);
    port_ = port.get();
    DiskShimOptions o;
    o.device_name = "test0";
    o.size_bytes = kDiskBytes;
    o.max_transfer = kMaxTransfer;
    o.buffer_area = dma_.data() + 4096;
    o.buffer_area_iova = 4096;
    o.buffer_count = kBuffers;
    o.queue_limit = queue_limit_;
    o.on_driver_fault = [this](const std::string&) { driver_faults_.fetch_add(1); };
    shim_ = std::make_unique<DiskShim>(o, std::move(port));
    ASSERT_TRUE(shim_->start().ok());
  }
  void TearDown() override { shim_->stop(); }

  static std::vector<std::byte> pattern(size_t n, uint32_t seed) {
    std::vector<std::byte> v(n);
    std::mt19937 rng(seed);
    for (auto& b : v) b = static_cast<std::byte>(rng());
    return v;
  }

  uint32_t queue_limit_ = 64;
  std::atomic<int> driver_faults_{0};
  std::vector<std::byte> dma_, disk_;
  FakeDriverPort* port_ = nullptr;
  std::unique_ptr<DiskShim> shim_;
};

TEST_F(DiskShimTest, WriteThenReadSplitsAtMaxTransferAndRoundTrips) {
  auto data = pattern(3 * kMaxTransfer + 1536, 1);  // 3.x transfers, sector multiple
  ASSERT_EQ(write_sync(*shim_, 65536, data), BlockStatus::kOk);
  EXPECT_EQ(0, std::memcmp(disk_.data() + 65536, data.data(), data.size()));
  std::vector<std::byte> back(data.size());
  ASSERT_EQ(read_sync(*shim_, 65536, back), BlockStatus::kOk);
  EXPECT_EQ(back, data);
  // 4 descriptors each way, every one within max_transfer, lbas contiguous.
  std::lock_guard l(port_->mu_);
  ASSERT_EQ(port_->seen_.size(), 8u);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(port_->seen_[i].lba, 128u + i * kMaxTransfer / 512);
    EXPECT_LE(port_->seen_[i].len, kMaxTransfer);
  }
  EXPECT_EQ(port_->seen_[3].len, 1536u);
  EXPECT_EQ(shim_->stats().writes.load(), 1u);
  EXPECT_EQ(shim_->stats().read_bytes.load(), data.size());
}

TEST_F(DiskShimTest, RefusesUnalignedAndOutOfRangeRequests) {
  std::vector<std::byte> buf(1024);
  EXPECT_EQ(read_sync(*shim_, 100, buf), BlockStatus::kInvalid);
  EXPECT_EQ(read_sync(*shim_, 0, std::span(buf).first(100)), BlockStatus::kInvalid);
  EXPECT_EQ(read_sync(*shim_, kDiskBytes - 512, buf), BlockStatus::kInvalid);
  // A refusal is an error a frontend passes on as EIO: it must be counted
  // like a device error, or a kernel I/O error shows with "errors 0".
  EXPECT_EQ(shim_->stats().errors.load(), 3u);
  std::lock_guard l(port_->mu_);
  EXPECT_TRUE(port_->seen_.empty());
}

TEST_F(DiskShimTest, DuplicateCompletionIsDroppedAndCounted) {
  port_->duplicate_ = true;
  auto data = pattern(4096, 2);
  int calls = 0;
  std::promise<void> done;
  shim_->write(0, data, [&](BlockStatus s) {
    EXPECT_EQ(s, BlockStatus::kOk);
    if (++calls == 1) done.set_value();
  });
  done.get_future().wait();
  // A second request proves the shim went on after the duplicate.
  ASSERT_EQ(flush_sync(*shim_), BlockStatus::kOk);
  EXPECT_EQ(calls, 1);
  EXPECT_GE(shim_->stats().protocol_violations.load(), 1u);
}

TEST_F(DiskShimTest, AlteredOrUnknownCompletionNeverTouchesABuffer) {
  port_->hold_ = true;
  std::vector<std::byte> dest(4096, std::byte{0x5A});
  std::promise<BlockStatus> result;
  shim_->read(0, dest, [&](BlockStatus s) { result.set_value(s); });
  BlockDescriptor sent{};
  for (int i = 0; i < 1000; ++i) {
    {
      std::lock_guard l(port_->mu_);
      if (!port_->held_.empty()) {
        sent = port_->held_[0];
        break;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_NE(sent.len, 0u);
  BlockDescriptor forged = sent;
  forged.iova = 0;  // points at a buffer the request does not own
  port_->push_raw(forged);
  forged = sent;
  forged.tag ^= 0x10000;  // stale generation
  port_->push_raw(forged);
  forged = sent;
  forged.tag = 0xFFFF;  // slot out of range
  port_->push_raw(forged);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(shim_->stats().protocol_violations.load(), 3u);
  EXPECT_EQ(driver_faults_.load(), 1);  // reported once, for the supervisor to act on
  EXPECT_EQ(dest[0], std::byte{0x5A});  // nothing was copied out
  port_->release_held();
  EXPECT_EQ(result.get_future().get(), BlockStatus::kOk);
}

TEST_F(DiskShimTest, CorruptRingIndexIsReportedAsADriverFault) {
  std::vector<std::byte> buf(4096);
  ASSERT_EQ(read_sync(*shim_, 0, buf), BlockStatus::kOk);
  EXPECT_EQ(driver_faults_.load(), 0);
  port_->violated_ = true;             // what RingDriverPort reports for an impossible index
  port_->push_raw(BlockDescriptor{});  // wake the shim
  for (int i = 0; i < 200 && driver_faults_.load() == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_EQ(driver_faults_.load(), 1);
  EXPECT_GE(shim_->stats().protocol_violations.load(), 1u);
}

// A status that stays an error reaches the caller after the retries
// (shim/disk_shim_error_retry_test.cc has the retry policy itself).
TEST_F(DiskShimTest, DeviceErrorStatusReachesTheCaller) {
  port_->fail_status_ = static_cast<uint16_t>(BlockStatus::kMediaError);
  std::vector<std::byte> buf(2 * kMaxTransfer);
  EXPECT_EQ(read_sync(*shim_, 0, buf), BlockStatus::kMediaError);
  EXPECT_EQ(shim_->stats().errors.load(), 1u);
}

TEST_F(DiskShimTest, MoreRequestsThanBuffersAllComplete) {
  std::vector<std::vector<std::byte>> datas;
  std::vector<std::future<BlockStatus>> results;
  std::vector<std::promise<BlockStatus>> promises(40);
  for (int i = 0; i < 40; ++i) datas.push_back(pattern(kMaxTransfer, 100 + i));
  for (int i = 0; i < 40; ++i) {
    results.push_back(promises[i].get_future());
    shim_->write(uint64_t(i) * kMaxTransfer, datas[i],
                 [&, i](BlockStatus s) { promises[i].set_value(s); });
  }
  for (auto& r : results) EXPECT_EQ(r.get(), BlockStatus::kOk);
  for (int i = 0; i < 40; ++i)
    EXPECT_EQ(0,
              std::memcmp(disk_.data() + uint64_t(i) * kMaxTransfer, datas[i].data(), kMaxTransfer))
        << i;
}

TEST_F(DiskShimTest, StopFailsOpenRequestsExactlyOnce) {
  port_->hold_ = true;
  std::vector<std::byte> buf(4096);
  std::promise<BlockStatus> result;
  int calls = 0;
  shim_->read(0, buf, [&](BlockStatus s) {
    ++calls;
    result.set_value(s);
  });
  EXPECT_FALSE(shim_->drain(std::chrono::milliseconds(50)));
  shim_->stop();
  EXPECT_EQ(result.get_future().get(), BlockStatus::kDeviceFailed);
  EXPECT_EQ(calls, 1);
  // After stop, new requests are refused at once rather than hanging.
  EXPECT_EQ(read_sync(*shim_, 0, buf), BlockStatus::kDeviceFailed);
  // Both failures are counted: the open one and the refused one.
  EXPECT_EQ(shim_->stats().errors.load(), 2u);
}

class DiskShimBackPressureTest : public DiskShimTest {
 protected:
  DiskShimBackPressureTest() { queue_limit_ = 2; }
};

TEST_F(DiskShimBackPressureTest, CallerBeyondQueueLimitWaits) {
  port_->hold_ = true;
  std::vector<std::byte> a(512), b(512), c(512);
  std::promise<void> pa, pb;
  shim_->read(0, a, [&](BlockStatus) { pa.set_value(); });
  shim_->read(512, b, [&](BlockStatus) { pb.set_value(); });
  auto third = std::async(std::launch::async, [&] { return read_sync(*shim_, 1024, c); });
  EXPECT_EQ(third.wait_for(std::chrono::milliseconds(100)), std::future_status::timeout);
  port_->release_held();
  EXPECT_EQ(third.get(), BlockStatus::kOk);
  pa.get_future().wait();
  pb.get_future().wait();
}

// --- recovery: hold, restart(mode), resend -----------------------------------

class DiskShimRestartTest : public DiskShimTest {
 protected:
  struct Pending {
    std::vector<std::byte> data;
    std::atomic<int> done{0};
    std::atomic<int> status{-1};
  };
  // Submits a write of one max_transfer block at `block` without waiting.
  void write_async(Pending& p, uint64_t block, uint32_t seed) {
    p.data = pattern(kMaxTransfer, seed);
    shim_->write(block * kMaxTransfer, p.data, [&p](BlockStatus s) {
      p.status = static_cast<int>(s);
      p.done++;
    });
  }
  void wait_seen(size_t n) {
    for (int i = 0; i < 2000; ++i) {
      {
        std::lock_guard l(port_->mu_);
        if (port_->seen_.size() >= n) return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    FAIL() << "driver never saw " << n << " descriptors";
  }
  static void wait_done(Pending& p) {
    for (int i = 0; i < 2000 && p.done.load() == 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
};

TEST_F(DiskShimRestartTest, ColdRestartReissuesOutstandingInOriginalOrderOnce) {
  port_->hold_ = true;  // the "driver" takes the requests and dies with them
  Pending p[3];
  for (uint32_t i = 0; i < 3; ++i) write_async(p[i], i, 10 + i);
  wait_seen(3);
  shim_->hold();
  std::vector<BlockDescriptor> first;
  {
    std::lock_guard l(port_->mu_);
    first = port_->seen_;
    port_->hold_ = false;  // the successor serves
  }
  auto resent = shim_->restart(ResendMode::kReissue);
  ASSERT_TRUE(resent.ok());
  EXPECT_EQ(*resent, 3u);
  for (auto& x : p) wait_done(x);
  std::lock_guard l(port_->mu_);
  EXPECT_EQ(port_->resets_, 1);
  ASSERT_EQ(port_->seen_.size(), 6u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(port_->seen_[3 + i].tag, first[i].tag) << "same tag, original order";
    EXPECT_EQ(port_->seen_[3 + i].lba, first[i].lba);
    EXPECT_EQ(port_->seen_[3 + i].flags, 0u);
  }
  for (uint32_t i = 0; i < 3; ++i) {
    EXPECT_EQ(p[i].done.load(), 1) << "completed exactly once";
    EXPECT_EQ(p[i].status.load(), static_cast<int>(BlockStatus::kOk));
    EXPECT_EQ(0, std::memcmp(disk_.data() + i * kMaxTransfer, p[i].data.data(), kMaxTransfer));
  }
  EXPECT_EQ(shim_->stats().resent.load(), 3u);
  EXPECT_NE(shim_->stats().first_completion_after_restart_ns.load(), 0);
}

TEST_F(DiskShimRestartTest, WarmRestartFlagsOnlyTheResentRequestsForAdoption) {
  port_->hold_ = true;
  Pending a, b;
  write_async(a, 0, 1);
  wait_seen(1);
  shim_->hold();
  write_async(b, 1, 2);  // accepted while held: queued, not handed out
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  {
    std::lock_guard l(port_->mu_);
    EXPECT_EQ(port_->seen_.size(), 1u) << "nothing is handed to a dead driver";
    port_->hold_ = false;
  }
  auto resent = shim_->restart(ResendMode::kAdopt);
  ASSERT_TRUE(resent.ok());
  EXPECT_EQ(*resent, 1u);
  wait_done(a);
  wait_done(b);
  std::lock_guard l(port_->mu_);
  ASSERT_EQ(port_->seen_.size(), 3u);
  EXPECT_EQ(port_->seen_[1].tag, port_->seen_[0].tag);
  EXPECT_EQ(port_->seen_[1].flags, abi::kBlockFlagAdopt);
  EXPECT_EQ(port_->seen_[2].flags, 0u) << "a new request is not adopted";
  EXPECT_EQ(a.status.load(), static_cast<int>(BlockStatus::kOk));
  EXPECT_EQ(b.status.load(), static_cast<int>(BlockStatus::kOk));
}

TEST_F(DiskShimRestartTest, CompletionsPostedBeforeTheCrashAreKeptNotResent) {
  port_->hold_ = true;
  Pending a, b;
  write_async(a, 0, 3);
  write_async(b, 1, 4);
  wait_seen(2);
  shim_->hold();
  {
    // The dead driver had posted a's completion; b died with it.
    std::lock_guard l(port_->mu_);
    BlockDescriptor c = port_->held_[0];
    port_->held_.erase(port_->held_.begin());
    c.status = 0;
    port_->done_.push_back(c);
    port_->hold_ = false;
  }
  auto resent = shim_->restart(ResendMode::kReissue);
  ASSERT_TRUE(resent.ok());
  EXPECT_EQ(*resent, 1u);
  wait_done(a);
  wait_done(b);
  EXPECT_EQ(a.done.load(), 1);
  EXPECT_EQ(b.done.load(), 1);
  EXPECT_EQ(shim_->stats().protocol_violations.load(), 0u);
}

TEST_F(DiskShimRestartTest, FailModeCompletesOutstandingWithIoError) {
  port_->hold_ = true;
  Pending a;
  write_async(a, 2, 5);
  wait_seen(1);
  shim_->hold();
  {
    std::lock_guard l(port_->mu_);
    port_->hold_ = false;
  }
  auto resent = shim_->restart(ResendMode::kFail);
  ASSERT_TRUE(resent.ok());
  EXPECT_EQ(*resent, 0u);
  wait_done(a);
  EXPECT_EQ(a.status.load(), static_cast<int>(BlockStatus::kIoError));
  EXPECT_EQ(shim_->stats().failed_on_restart.load(), 1u);
  // The device serves new requests again, but not in the failed request's
  // buffer slot: the old device may still DMA into it until it is reset.
  uint32_t failed_slot;
  {
    std::lock_guard l(port_->mu_);
    failed_slot = InFlightTable::slot_of(port_->seen_[0].tag);
  }
  EXPECT_EQ(shim_->stats().quarantined.load(), 1u);
  auto data = pattern(4096, 6);
  EXPECT_EQ(write_sync(*shim_, 0, data), BlockStatus::kOk);
  {
    std::lock_guard l(port_->mu_);
    ASSERT_EQ(port_->seen_.size(), 2u);
    EXPECT_NE(InFlightTable::slot_of(port_->seen_[1].tag), failed_slot);
  }
  // A cold successor runs (the controller was reset): the slot is free again.
  shim_->release_quarantine();
  for (int i = 0; i < 2000 && shim_->stats().quarantined.load() != 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_EQ(shim_->stats().quarantined.load(), 0u);
  EXPECT_EQ(write_sync(*shim_, 4096, data), BlockStatus::kOk);
}

}  // namespace
}  // namespace uldd::shim
