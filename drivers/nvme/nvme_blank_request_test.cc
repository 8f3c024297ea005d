// Stale descriptors never reach the device (fault campaigns: a driver whose
// take_requests() read past the published tail re-executed an old lap's
// requests, whose buffers held other requests' data). Two layers:
//  - request ring: the shim blanks every slot the driver released
//    (SpscProducer::free_slots_blanking with abi::kBlankRequest, as
//    shim/ring_driver_port.cc does), so a driver reading past the tail gets
//    blanks, and NvmeDriver rejects each one (kInvalid) without a command;
//  - submission queue: NvmeIoQueue zeroes the entries the controller has
//    fetched, so no copy of a completed command stays in DMA memory for a
//    wrong SQ tail doorbell to re-execute.
#include <gtest/gtest.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "abi/ring_region.h"
#include "drivers/nvme/fake_nvme_device.h"
#include "drivers/nvme/nvme_driver.h"

namespace uldd::drivers {
namespace {

using abi::BlockDescriptor;
using abi::BlockOp;
using abi::BlockStatus;
using testing::FakeNvmeDevice;

constexpr uint64_t kDriverArea = 64 << 10;
constexpr uint64_t kDmaSize = kDriverArea + (256 << 10);
constexpr uint64_t kMedia = 1 << 20;
constexpr uint32_t kRing = 8;

class NvmeBlankRequestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    abi::DriverConfig c{};
    c.io_queue_count = 2;
    c.io_queue_depth = 8;
    c.irq_coalesce_threshold = 1;
    c.heartbeat_interval_us = 20000;
    c.max_transfer = 16 << 10;
    c.dma_driver_area_size = kDriverArea;
    c.dma_buffer_area_offset = kDriverArea;
    c.device_bytes = kMedia;
    dev_ = std::make_unique<FakeNvmeDevice>(kDmaSize, kDriverArea, kMedia);
    cb_ = std::make_unique<abi::ControlBlock>();
    auto d = NvmeDriver::create(*dev_, c, cb_.get(), nullptr);
    ASSERT_TRUE(d.ok()) << d.error().describe();
    driver_ = std::move(d.value());
    ASSERT_TRUE(driver_->bring_up().ok());

    abi::RingRegionHeader h = abi::ring_region_layout(kRing);
    mem_ = static_cast<std::byte*>(std::aligned_alloc(4096, h.region_size));
    std::memset(mem_, 0, h.region_size);
    view_ = abi::RingRegionView{mem_, h};
    shim_ = abi::SpscProducer<BlockDescriptor>(view_.request_indices(), view_.request_slots(),
                                               kRing, 0);
    driver_side_ = abi::SpscConsumer<BlockDescriptor>(view_.request_indices(),
                                                      view_.request_slots(), kRing, 0);
  }
  void TearDown() override { std::free(mem_); }

  uint32_t shim_space() { return shim_.free_slots_blanking(abi::kBlankRequest); }
  std::vector<BlockDescriptor> submit_and_reap(const std::vector<BlockDescriptor>& ds) {
    for (const BlockDescriptor& d : ds) driver_->submit(d);
    driver_->ring_doorbells();
    std::vector<BlockDescriptor> all;
    std::array<BlockDescriptor, 16> out;
    size_t n;
    while ((n = driver_->reap(out)) != 0) all.insert(all.end(), out.begin(), out.begin() + n);
    return all;
  }
  // One lap of the normal protocol: the shim posts `n` writes, the driver
  // takes all that is ready, the device completes them.
  void lap(uint32_t first_tag, uint32_t n) {
    ASSERT_GE(shim_space(), n);
    for (uint32_t i = 0; i < n; ++i) {
      uint32_t tag = first_tag + i;
      shim_.stage(i, BlockDescriptor{tag, static_cast<uint16_t>(BlockOp::kWrite), 0, 4096, 0,
                                     kDriverArea + (tag % 32) * 4096, uint64_t{tag} * 8});
    }
    shim_.publish(n);
    uint32_t ready = driver_side_.available();
    std::vector<BlockDescriptor> taken;
    for (uint32_t i = 0; i < ready; ++i) taken.push_back(driver_side_.peek(i));
    auto done = submit_and_reap(taken);
    ASSERT_EQ(done.size(), ready);
    for (const BlockDescriptor& c : done)
      EXPECT_EQ(c.status, static_cast<uint16_t>(BlockStatus::kOk));
    driver_side_.release(ready);
  }

  std::unique_ptr<FakeNvmeDevice> dev_;
  std::unique_ptr<abi::ControlBlock> cb_;
  std::unique_ptr<NvmeDriver> driver_;
  std::byte* mem_ = nullptr;
  abi::RingRegionView view_{};
  abi::SpscProducer<BlockDescriptor> shim_;
  abi::SpscConsumer<BlockDescriptor> driver_side_;
};

TEST_F(NvmeBlankRequestTest, ReadingPastTheTailYieldsOnlyRejectedBlanks) {
  // Several laps, so every slot held a real write descriptor at some point.
  uint32_t tag = 1;
  for (uint32_t i = 0; i < 7; ++i, tag += 5) lap(tag, 5);
  ASSERT_EQ(shim_space(), kRing);  // the shim's next look for space blanks the last lap
  size_t commands = dev_->io_commands.size();
  ASSERT_EQ(commands, 35u);

  // The faulty driver (min() flipped in take_requests) takes a whole ring
  // although nothing is published.
  ASSERT_EQ(driver_side_.available(), 0u);
  std::vector<BlockDescriptor> stale;
  for (uint32_t i = 0; i < kRing; ++i) {
    BlockDescriptor d = driver_side_.peek(i);
    EXPECT_EQ(d.op, 0u) << "slot head+" << i << " still holds tag " << d.tag;
    EXPECT_EQ(d.len, 0u);
    stale.push_back(d);
  }
  auto done = submit_and_reap(stale);
  ASSERT_EQ(done.size(), kRing);
  for (const BlockDescriptor& c : done) {
    EXPECT_EQ(c.status, static_cast<uint16_t>(BlockStatus::kInvalid));
    EXPECT_EQ(c.tag, 0u);
  }
  EXPECT_EQ(dev_->io_commands.size(), commands) << "a blank request reached the device";
}

TEST_F(NvmeBlankRequestTest, NoCopyOfACompletedCommandStaysInTheSubmissionQueue) {
  uint32_t tag = 1;
  for (uint32_t i = 0; i < 5; ++i, tag += 3) lap(tag, 3);
  ASSERT_EQ(dev_->io_commands.size(), 15u);
  // Every command the device executed is complete; none of their SQEs may
  // still be in DMA memory (queues live in the driver area).
  const std::byte* area = dev_->dma().at<std::byte>(0);
  size_t sqe = sizeof(nvme::SubmissionEntry);
  for (const auto& cmd : dev_->io_commands) {
    for (size_t off = 0; off + sqe <= kDriverArea; off += sqe)
      ASSERT_NE(std::memcmp(area + off, &cmd.sqe, sqe), 0)
          << "SQE of cid " << cmd.sqe.cid << " still at driver-area offset " << off;
  }
}

}  // namespace
}  // namespace uldd::drivers
