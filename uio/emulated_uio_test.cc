// Emulated UIO: the plain memfd BAR (NVMe) and the MMIO side band (e1000):
// logged posted writes, read flushes, read-to-clear, a full log, bad indices.
#include "uio/emulated_uio.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <thread>
#include <vector>

namespace uldd::uio {
namespace {

UniqueFd dup_fd(int fd) {
  return UniqueFd(::fcntl(fd, F_DUPFD_CLOEXEC, 0));
}

// The supervisor's side of one emulated device: the regions and eventfds, plus
// a driver end attached to duplicates of them.
struct Rig {
  explicit Rig(size_t bar_bytes) {
    bar = std::move(SharedMemory::create("test-bar", bar_bytes).value());
    dma = std::move(SharedMemory::create("test-dma", 1 << 16).value());
    irq = std::move(EventFd::create().value());
    doorbell = std::move(EventFd::create().value());
  }
  std::unique_ptr<EmulatedUio> attach() {
    auto dev = EmulatedUio::attach(dup_fd(bar.fd()), dup_fd(dma.fd()), dup_fd(irq.fd()),
                                   dup_fd(doorbell.fd()));
    EXPECT_TRUE(dev.ok()) << dev.error().describe();
    return std::move(dev.value());
  }
  MmioSidebandHost publish(std::vector<ReadToClearRange> ranges = {}) {
    auto host = MmioSidebandHost::publish(bar.bytes(), ranges);
    EXPECT_TRUE(host.ok()) << host.error().describe();
    return std::move(host.value());
  }
  SharedMemory bar, dma;
  EventFd irq, doorbell;
};

constexpr size_t kE1000Bar = 128 * 1024;

TEST(EmulatedUio, SmallBarKeepsStoreAndKick) {
  Rig rig(0x2000);
  auto dev = rig.attach();
  EXPECT_FALSE(dev->write_log_enabled());
  dev->write32(0x14, 0x460001);
  EXPECT_EQ(load_register(rig.bar.data(), 0x14), 0x460001u);
  EXPECT_EQ(rig.doorbell.drain(), 1u);
  dev->write32_lazy(0x1004, 7);
  EXPECT_EQ(load_register(rig.bar.data(), 0x1004), 7u);
  EXPECT_EQ(rig.doorbell.drain(), 0u);
  EXPECT_EQ(dev->read32(0x14), 0x460001u);
}

TEST(EmulatedUio, LargeBarWithoutPublishedSidebandIsPlain) {
  Rig rig(kE1000Bar);
  auto dev = rig.attach();
  EXPECT_FALSE(dev->write_log_enabled());
  dev->write32(0x100, 2);
  EXPECT_EQ(load_register(rig.bar.data(), 0x100), 2u);
}

TEST(EmulatedUio, PublishRefusesSmallBarsAndBadRanges) {
  Rig small(0x2000);
  EXPECT_FALSE(MmioSidebandHost::publish(small.bar.bytes(), {}).ok());
  Rig rig(kE1000Bar);
  std::vector<ReadToClearRange> reversed = {{0x40FC, 0x4000}};
  EXPECT_FALSE(MmioSidebandHost::publish(rig.bar.bytes(), reversed).ok());
  std::vector<ReadToClearRange> unaligned = {{0xC1, 0xC1}};
  EXPECT_FALSE(MmioSidebandHost::publish(rig.bar.bytes(), unaligned).ok());
  std::vector<ReadToClearRange> in_sideband = {{0x1F000, 0x1F000}};
  EXPECT_FALSE(MmioSidebandHost::publish(rig.bar.bytes(), in_sideband).ok());
  std::vector<ReadToClearRange> too_many(kMaxReadToClearRanges + 1, ReadToClearRange{0xC0, 0xC0});
  EXPECT_FALSE(MmioSidebandHost::publish(rig.bar.bytes(), too_many).ok());
}

TEST(EmulatedUio, WritesAreLoggedInOrderNotStored) {
  Rig rig(kE1000Bar);
  auto host = rig.publish();
  EXPECT_EQ(host.register_bytes(), kE1000Bar - kSidebandBytes);
  auto dev = rig.attach();
  ASSERT_TRUE(dev->write_log_enabled());
  dev->write32(0x3818, 1);
  dev->write32_lazy(0x3818, 2);  // the same doorbell twice: both must reach the model
  dev->write32(0xD0, 0x9D);
  EXPECT_EQ(load_register(rig.bar.data(), 0x3818), 0u);
  EXPECT_EQ(rig.doorbell.drain(), 2u);  // lazy write: no kick
  EXPECT_EQ(host.pending(), 3u);
  MmioWrite w{};
  ASSERT_TRUE(host.pop(&w));
  EXPECT_EQ(w.offset, 0x3818u);
  EXPECT_EQ(w.value, 1u);
  ASSERT_TRUE(host.pop(&w));
  EXPECT_EQ(w.value, 2u);
  ASSERT_TRUE(host.pop(&w));
  EXPECT_EQ(w.offset, 0xD0u);
  EXPECT_EQ(w.value, 0x9Du);
  EXPECT_FALSE(host.pop(&w));
  host.mark_applied();
  EXPECT_EQ(dev->model_timeouts(), 0u);
}

TEST(EmulatedUio, ReadToClearOffsetsAreExchangedWithZero) {
  Rig rig(kE1000Bar);
  [[maybe_unused]] auto host = rig.publish({{0xC0, 0xC0}, {0x4000, 0x40FC}});
  auto dev = rig.attach();
  fetch_or_register(rig.bar.data(), 0xC0, 0x81);
  fetch_add_register(rig.bar.data(), 0x4010, 5);
  store_register(rig.bar.data(), 0x8, 0x83);
  EXPECT_EQ(dev->read32(0xC0), 0x81u);
  EXPECT_EQ(dev->read32(0xC0), 0u);
  EXPECT_EQ(dev->read32(0x4010), 5u);
  EXPECT_EQ(dev->read32(0x4010), 0u);
  EXPECT_EQ(dev->read32(0x8), 0x83u);  // an ordinary register reads the same twice
  EXPECT_EQ(dev->read32(0x8), 0x83u);
  // A cause set between two reads is reported by the second one, never lost.
  fetch_or_register(rig.bar.data(), 0xC0, 0x4);
  EXPECT_EQ(dev->read32(0xC0), 0x4u);
}

// A model thread that applies each write as "register = value + 1" and
// publishes after each batch, as the e1000 model's loop does.
class ModelThread {
 public:
  ModelThread(Rig& rig, MmioSidebandHost& host, std::chrono::microseconds per_write_delay = {})
      : thread_([this, &rig, &host, per_write_delay] {
          while (!stop_.load()) {
            (void)rig.doorbell.wait_for(std::chrono::milliseconds(5));
            MmioWrite w{};
            while (host.pop(&w)) {
              if (per_write_delay.count() > 0) std::this_thread::sleep_for(per_write_delay);
              store_register(rig.bar.data(), w.offset, w.value + 1);
              seen_.push_back(w);
              host.mark_applied();
            }
          }
        }) {}
  ~ModelThread() { stop(); }
  void stop() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
  }
  const std::vector<MmioWrite>& seen() const { return seen_; }

 private:
  std::atomic<bool> stop_{false};
  std::vector<MmioWrite> seen_;
  std::thread thread_;
};

TEST(EmulatedUio, ReadFlushesPostedWritesIncludingLazyOnes) {
  Rig rig(kE1000Bar);
  auto host = rig.publish();
  auto dev = rig.attach();
  ModelThread model(rig, host);
  for (uint32_t i = 0; i < 200; ++i) {
    dev->write32_lazy(0x14, i * 2);
    // Without the flush the read could see the previous value (or 0).
    EXPECT_EQ(dev->read32(0x14), i * 2 + 1);
  }
  model.stop();
  EXPECT_EQ(dev->model_timeouts(), 0u);
}

TEST(EmulatedUio, FullLogMakesTheWriterWaitAndLosesNothing) {
  Rig rig(kE1000Bar);
  auto host = rig.publish();
  auto dev = rig.attach();
  ModelThread model(rig, host, std::chrono::microseconds(1));
  const uint32_t n = 3 * kWriteLogCapacity + 17;
  for (uint32_t i = 0; i < n; ++i) dev->write32_lazy(0x3818, i);
  EXPECT_EQ(dev->read32(0x3818), n);  // (n - 1) + 1: everything applied
  model.stop();
  ASSERT_EQ(model.seen().size(), n);
  for (uint32_t i = 0; i < n; ++i) ASSERT_EQ(model.seen()[i].value, i);
  EXPECT_EQ(dev->model_timeouts(), 0u);
}

TEST(EmulatedUio, RestartedDriverContinuesTheLog) {
  Rig rig(kE1000Bar);
  auto host = rig.publish();
  {
    auto first = rig.attach();
    first->write32(0x100, 1);
    first->write32(0x100, 2);
  }
  auto second = rig.attach();
  second->write32(0x100, 3);
  MmioWrite w{};
  std::vector<uint32_t> values;
  while (host.pop(&w)) values.push_back(w.value);
  EXPECT_EQ(values, (std::vector<uint32_t>{1, 2, 3}));
}

TEST(EmulatedUio, ScribbledLogIndicesAreResynchronised) {
  Rig rig(kE1000Bar);
  auto host = rig.publish();
  auto* layout = reinterpret_cast<SidebandLayout*>(rig.bar.data() + sideband_offset(kE1000Bar));
  std::atomic_ref<uint32_t>(layout->log_tail).store(12345, std::memory_order_release);
  MmioWrite w{};
  EXPECT_FALSE(host.pop(&w));
  EXPECT_EQ(host.index_violations(), 1u);
  EXPECT_EQ(host.pending(), 0u);
  // A driver attaching now continues from the (bogus) tail, and is heard.
  auto dev = rig.attach();
  dev->write32(0x100, 9);
  ASSERT_TRUE(host.pop(&w));
  EXPECT_EQ(w.value, 9u);
}

TEST(EmulatedUio, DeadModelMakesReadsAndFullLogGiveUp) {
  Rig rig(kE1000Bar);
  [[maybe_unused]] auto host = rig.publish();
  auto dev = rig.attach();
  for (uint32_t i = 0; i < kWriteLogCapacity; ++i) dev->write32_lazy(0x100, i);
  EXPECT_EQ(dev->model_timeouts(), 0u);
  dev->write32_lazy(0x100, 1);  // no room, nobody drains: dropped after the timeout
  EXPECT_EQ(dev->model_timeouts(), 1u);
  (void)dev->read32(0x8);  // nobody applies: returns what the BAR holds
  EXPECT_EQ(dev->model_timeouts(), 2u);
}

}  // namespace
}  // namespace uldd::uio
