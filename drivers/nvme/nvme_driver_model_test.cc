// Integration test: NvmeDriver against the real NVMe device model
// (devices/nvme/nvme_controller.h) in-process. The UioDevice here is the
// emulated backend minus the processes: BAR and DMA are heap buffers, every
// register write is followed by NvmeController::poll() (what uldd-hw does on
// a doorbell kick), and the interrupt sink signals an eventfd.
#include <gtest/gtest.h>

#include <array>
#include <cstdlib>
#include <random>

#include "common/event_fd.h"
#include "devices/nvme/memory_backing_store.h"
#include "devices/nvme/nvme_controller.h"
#include "drivers/nvme/nvme_driver.h"
#include "faultinject/fault_point_request.h"
#include "uio/emulated_uio.h"

namespace uldd::drivers {
namespace {

using abi::BlockDescriptor;
using abi::BlockOp;
using abi::BlockStatus;

constexpr uint64_t kDriverArea = 2 << 20;
constexpr uint64_t kDmaSize = kDriverArea + (4 << 20);
constexpr uint64_t kMedia = 8 << 20;

class HeapDma final : public uio::DmaRegion {
 public:
  explicit HeapDma(size_t size)
      : mem_(static_cast<std::byte*>(std::aligned_alloc(4096, size))), size_(size) {
    std::memset(mem_, 0, size);
  }
  ~HeapDma() override { std::free(mem_); }
  std::byte* base() const override { return mem_; }
  size_t size() const override { return size_; }
  uint64_t device_address(uint64_t iova) const override { return iova; }

 private:
  std::byte* mem_;
  size_t size_;
};

class ModelUio final : public uio::UioDevice {
 public:
  ModelUio() : bar_(0x2000 / 4), dma_(kDmaSize), store_(kMedia), irq_(EventFd::create().value()) {
    auto c = nvme::NvmeController::create(std::as_writable_bytes(std::span(bar_)),
                                          std::span(dma_.base(), dma_.size()), store_,
                                          [this](uint32_t) { irq_.signal(); });
    EXPECT_TRUE(c.ok()) << c.error().describe();
    model_ = std::move(c.value());
  }
  std::string_view backend_name() const override { return "in-process model"; }
  size_t bar_size() const override { return bar_.size() * 4; }
  uint32_t read32(size_t off) const override { return uio::load_register(bar(), off); }
  void write32(size_t off, uint32_t v) override {
    uio::store_register(bar(), off, v);
    poll();
  }
  int irq_fd() const override { return irq_.fd(); }
  Result<uint32_t> take_irq() override { return static_cast<uint32_t>(irq_.drain()); }
  Status unmask_irq() override { return {}; }
  uio::DmaRegion& dma() override { return dma_; }

  void poll() { model_->poll(nvme::NvmeController::Clock::now()); }
  nvme::NvmeController& model() { return *model_; }
  nvme::MemoryBackingStore& store() { return store_; }

 private:
  std::byte* bar() const {
    return reinterpret_cast<std::byte*>(const_cast<uint32_t*>(bar_.data()));
  }
  std::vector<uint32_t> bar_;
  HeapDma dma_;
  nvme::MemoryBackingStore store_;
  EventFd irq_;
  std::unique_ptr<nvme::NvmeController> model_;
};

abi::DriverConfig model_config() {
  abi::DriverConfig c{};
  c.io_queue_count = 2;
  c.io_queue_depth = 64;
  c.irq_coalesce_threshold = 1;
  c.heartbeat_interval_us = 10000;
  c.max_transfer = 128 << 10;  // MDTS = 5
  c.dma_driver_area_size = kDriverArea;
  c.dma_buffer_area_offset = kDriverArea;
  c.device_bytes = kMedia;
  return c;
}

class NvmeDriverModelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = NvmeDriver::create(dev_, model_config(), &cb_, &ckpt_);
    ASSERT_TRUE(d.ok()) << d.error().describe();
    driver_ = std::move(d.value());
    Status s = driver_->bring_up();
    ASSERT_TRUE(s.ok()) << s.error().describe() << " (model: "
                        << (dev_.model().fatal_reason() ? dev_.model().fatal_reason() : "ok")
                        << ")";
  }
  // Completes everything outstanding (polling the model, bounded).
  std::vector<BlockDescriptor> drain() {
    std::vector<BlockDescriptor> all;
    std::array<BlockDescriptor, 32> out;
    for (int spins = 0; driver_->outstanding() != 0 && spins < 100000; ++spins) {
      dev_.poll();
      size_t n = driver_->reap(out);
      all.insert(all.end(), out.begin(), out.begin() + n);
    }
    return all;
  }
  std::byte* buf(uint64_t iova) { return dev_.dma().at<std::byte>(iova); }

  ModelUio dev_;
  abi::CheckpointRegion ckpt_{};
  abi::ControlBlock cb_{};  // fault points are armed here
  std::unique_ptr<NvmeDriver> driver_;
};

TEST_F(NvmeDriverModelTest, RandomWritesReadBackThroughTheModel) {
  EXPECT_EQ(driver_->namespace_bytes(), kMedia);
  std::mt19937 rng(42);
  std::vector<uint8_t> shadow(kMedia);
  uint32_t tag = 0;
  for (int batch = 0; batch < 30; ++batch) {
    uint32_t n = std::min<uint32_t>(driver_->free_slots(), 1 + rng() % 20);
    for (uint32_t i = 0; i < n; ++i) {
      uint32_t len = (1 + rng() % 256) * 512;                               // up to 128 KiB
      uint64_t iova = kDriverArea + (i * (132 << 10)) + (rng() % 8) * 512;  // unaligned starts
      uint64_t lba = rng() % (kMedia / 512 - len / 512);
      for (uint32_t k = 0; k < len; ++k) buf(iova)[k] = static_cast<std::byte>(rng());
      std::memcpy(shadow.data() + lba * 512, buf(iova), len);
      driver_->submit(
          BlockDescriptor{tag++, static_cast<uint16_t>(BlockOp::kWrite), 0, len, 0, iova, lba});
    }
    // Overlapping writes of one batch go to one SQ and are fetched in order.
    driver_->ring_doorbells();
    auto done = drain();
    ASSERT_EQ(done.size(), n);
    for (const auto& c : done) ASSERT_EQ(c.status, 0) << "tag " << c.tag;
    if (batch % 5 == 4) {
      driver_->submit(
          BlockDescriptor{tag++, static_cast<uint16_t>(BlockOp::kFlush), 0, 0, 0, 0, 0});
      driver_->ring_doorbells();
      ASSERT_EQ(drain().size(), 1u);
    }
  }
  // Read the whole namespace back in 128 KiB pieces and compare.
  for (uint64_t off = 0; off < kMedia; off += 128 << 10) {
    uint64_t iova = kDriverArea + 4096 + 8;
    driver_->submit(BlockDescriptor{tag++, static_cast<uint16_t>(BlockOp::kRead), 0, 128 << 10, 0,
                                    iova, off / 512});
    driver_->ring_doorbells();
    auto done = drain();
    ASSERT_EQ(done.size(), 1u);
    ASSERT_EQ(done[0].status, 0);
    ASSERT_EQ(std::memcmp(buf(iova), shadow.data() + off, 128 << 10), 0) << "at " << off;
  }
  EXPECT_GT(driver_->stats().doorbells, 0u);
  EXPECT_EQ(driver_->stats().stray_completions, 0u);
  ASSERT_TRUE(driver_->on_interrupt().ok());
  EXPECT_GT(driver_->stats().interrupts, 0u);
}

TEST_F(NvmeDriverModelTest, MediaFailureIsAnErrorAndShutdownCompletes) {
  dev_.store().set_fail_io(true);
  driver_->submit(
      BlockDescriptor{1, static_cast<uint16_t>(BlockOp::kRead), 0, 4096, 0, kDriverArea, 0});
  driver_->ring_doorbells();
  auto done = drain();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_NE(done[0].status, static_cast<uint16_t>(BlockStatus::kOk));
  EXPECT_EQ(driver_->stats().device_errors, 1u);
  dev_.store().set_fail_io(false);
  Status s = driver_->shutdown();
  EXPECT_TRUE(s.ok()) << s.error().describe();
}

// Fault point wrong-iova: the driver hands the model a PRP just past the DMA
// region; the model refuses it (Data Transfer Error, nothing written) and
// the shim sees an I/O error for that request only.
TEST_F(NvmeDriverModelTest, WrongIovaFaultPointIsRefusedByTheModel) {
  ASSERT_TRUE(faultinject::arm_fault_point(cb_, {abi::FaultPoint::kWrongIova, 2, 0}).ok());
  driver_->fault_points().refresh();  // what DriverLoop does once per batch
  for (uint32_t t = 0; t < 3; ++t) {
    std::memset(buf(kDriverArea + t * 4096), 0xA0 + t, 4096);
    driver_->submit(BlockDescriptor{t, static_cast<uint16_t>(BlockOp::kWrite), 0, 4096, 0,
                                    kDriverArea + t * 4096, t * 8});
  }
  driver_->ring_doorbells();
  auto done = drain();
  ASSERT_EQ(done.size(), 3u);
  for (const auto& c : done)
    EXPECT_EQ(c.status,
              static_cast<uint16_t>(c.tag == 1 ? BlockStatus::kIoError : BlockStatus::kOk))
        << "tag " << c.tag;
  EXPECT_EQ(driver_->stats().device_errors, 1u);
  EXPECT_EQ(driver_->fault_points().fired(), 1u);
  // Nothing of request 1 reached the media; 0 and 2 did.
  uint64_t read_iova = kDriverArea + (1 << 20);
  for (uint32_t t = 0; t < 3; ++t) {
    driver_->submit(BlockDescriptor{10 + t, static_cast<uint16_t>(BlockOp::kRead), 0, 4096, 0,
                                    read_iova, t * 8});
    driver_->ring_doorbells();
    ASSERT_EQ(drain().size(), 1u);
    EXPECT_EQ(static_cast<uint8_t>(buf(read_iova)[100]), t == 1 ? 0 : 0xA0 + t) << "lba " << t * 8;
  }
}

}  // namespace
}  // namespace uldd::drivers
