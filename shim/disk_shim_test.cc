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
#include <vector>

namespace uldd::shim {
namespace {

using abi::BlockDescriptor;
using abi::BlockOp;
using abi::BlockStatus;

constexpr uint32_t kMaxTransfer = 8192;
constexpr uint32_t kBuffers = 8;
constexpr uint64_t kDiskBytes = 1 << 20;

// A driver that serves descriptors from an in-memory disk. Completions are
// produced on commit() unless `hold` is set; `mangle` may alter or duplicate
// them on the way back, as a hostile driver would.
class FakeDriverPort final : public DriverPort {
 public:
  FakeDriverPort(std::byte* dma, std::vector<std::byte>& disk) : dma_(dma), disk_(disk) {
    wake_ = std::move(EventFd::create().value());
  }

  uint32_t submit_space() override { return 4; }  // small, to force several batches
  void stage(uint32_t, const BlockDescriptor& d) override {
    std::lock_guard l(mu_);
    staged_.push_back(d);
  }
  void commit(uint32_t count) override {
    std::lock_guard l(mu_);
    commits_++;
    EXPECT_EQ(count, staged_.size());
    for (auto& d : staged_) {
      seen_.push_back(d);
      if (hold_) {
        held_.push_back(d);
      } else {
        serve(d);
      }
    }
    staged_.clear();
    wake_.signal();
  }
  uint32_t reap(std::span<BlockDescriptor> out) override {
    std::lock_guard l(mu_);
    uint32_t n = 0;
    while (n < out.size() && !done_.empty()) {
      out[n++] = done_.front();
      done_.erase(done_.begin());
    }
    return n;
  }
  int wake_fd() const override { return wake_.fd(); }
  void on_wake() override { wake_.drain(); }
  bool prepare_sleep(bool) override {
    std::lock_guard l(mu_);
    return !done_.empty();
  }
  void finish_sleep() override {}
  bool protocol_violated() const override { return violated_.load(); }

  void release_held() {
    std::lock_guard l(mu_);
    for (auto& d : held_) serve(d);
    held_.clear();
    hold_ = false;
    wake_.signal();
  }
  void push_raw(const BlockDescriptor& d) {
    std::lock_guard l(mu_);
    done_.push_back(d);
    wake_.signal();
  }

  std::mutex mu_;
  std::atomic<bool> violated_{false};
  bool hold_ = false;
  uint16_t fail_status_ = 0;
  bool duplicate_ = false;
  std::vector<BlockDescriptor> seen_, held_, done_, staged_;
  int commits_ = 0;

 private:
  void serve(BlockDescriptor d) {
    std::byte* buf = dma_ + d.iova;
    if (d.op == static_cast<uint16_t>(BlockOp::kWrite)) std::memcpy(disk_.data() + d.lba * 512, buf, d.len);
    if (d.op == static_cast<uint16_t>(BlockOp::kRead)) std::memcpy(buf, disk_.data() + d.lba * 512, d.len);
    d.status = fail_status_;
    done_.push_back(d);
    if (duplicate_) done_.push_back(d);
  }
  std::byte* dma_;
  std::vector<std::byte>& disk_;
  EventFd wake_;
};

class DiskShimTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dma_.resize(4096 + kBuffers * kMaxTransfer);
    disk_.resize(kDiskBytes);
    auto port = std::make_unique<FakeDriverPort>(dma_.data(), disk_);
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
  port_->violated_ = true;  // what RingDriverPort reports for an impossible index
  port_->push_raw(BlockDescriptor{});  // wake the shim
  for (int i = 0; i < 200 && driver_faults_.load() == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_EQ(driver_faults_.load(), 1);
  EXPECT_GE(shim_->stats().protocol_violations.load(), 1u);
}

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
    shim_->write(uint64_t(i) * kMaxTransfer, datas[i], [&, i](BlockStatus s) { promises[i].set_value(s); });
  }
  for (auto& r : results) EXPECT_EQ(r.get(), BlockStatus::kOk);
  for (int i = 0; i < 40; ++i)
    EXPECT_EQ(0, std::memcmp(disk_.data() + uint64_t(i) * kMaxTransfer, datas[i].data(), kMaxTransfer)) << i;
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

}  // namespace
}  // namespace uldd::shim
