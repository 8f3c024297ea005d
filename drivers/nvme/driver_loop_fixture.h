// NvmeDriverLoopTest: the fixture of the DriverLoop tests — a real ring
// region in memory, real eventfds, the loop on its own thread with
// NvmeDriver over FakeNvmeDevice, and the test thread playing the shim.
// Shared by driver_loop_test.cc and driver_loop_fault_test.cc.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <thread>

#include "common/event_fd.h"
#include "drivers/nvme/driver_loop.h"
#include "drivers/nvme/fake_nvme_device.h"

namespace uldd::drivers::testing {

using abi::BlockDescriptor;
using abi::BlockOp;

inline constexpr uint64_t kDriverArea = 64 << 10;
inline constexpr uint64_t kDmaSize = kDriverArea + (256 << 10);
inline constexpr uint64_t kMedia = 1 << 20;

class NvmeDriverLoopTest : public ::testing::Test {
 protected:
  void SetUp() override { cb_ = std::make_unique<abi::ControlBlock>(); }
  void TearDown() override {
    if (thread_.joinable()) {
      loop_->request_stop();
      thread_.join();
    }
    std::free(ring_mem_);
  }

  void make(uint32_t ring_capacity) {
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
    auto d = NvmeDriver::create(*dev_, c, cb_.get(), nullptr);
    ASSERT_TRUE(d.ok()) << d.error().describe();
    driver_ = std::move(d.value());
    ASSERT_TRUE(driver_->bring_up().ok());

    abi::RingRegionHeader h = abi::ring_region_layout(ring_capacity);
    ring_mem_ = static_cast<std::byte*>(std::aligned_alloc(4096, h.region_size));
    std::memset(ring_mem_, 0, h.region_size);
    std::memcpy(ring_mem_, &h, sizeof h);
    view_ = abi::RingRegionView{ring_mem_, h};
    requests_ = abi::SpscProducer<BlockDescriptor>(view_.request_indices(), view_.request_slots(),
                                                   ring_capacity, 0);
    completions_ = abi::SpscConsumer<BlockDescriptor>(view_.completion_indices(),
                                                      view_.completion_slots(), ring_capacity, 0);
    driver_wake_ = EventFd::create().value();
    shim_wake_ = EventFd::create().value();
    DriverLoop::Options o;
    o.heartbeat_interval = std::chrono::milliseconds(20);
    loop_ = std::make_unique<DriverLoop>(*driver_, view_, driver_wake_.fd(), shim_wake_.fd(),
                                         cb_.get(), o);
  }
  void start() {
    thread_ = std::thread([this] { result_ = loop_->run(); });
  }
  void post(const std::vector<BlockDescriptor>& ds) {
    ASSERT_LE(ds.size(), requests_.free_slots());
    for (size_t i = 0; i < ds.size(); ++i) requests_.stage(static_cast<uint32_t>(i), ds[i]);
    if (requests_.publish(static_cast<uint32_t>(ds.size()))) driver_wake_.signal();
  }
  // Collects `n` completions (waiting on the shim-wake fd), or fewer on timeout.
  std::vector<BlockDescriptor> collect(size_t n) {
    std::vector<BlockDescriptor> got;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (got.size() < n && std::chrono::steady_clock::now() < deadline) {
      uint32_t k = completions_.available();
      for (uint32_t i = 0; i < k; ++i) got.push_back(completions_.peek(i));
      if (k != 0 && completions_.release(k)) driver_wake_.signal();
      if (k == 0 && !completions_.prepare_sleep()) {
        (void)shim_wake_.wait_for(std::chrono::milliseconds(50));
        completions_.finish_sleep();
      }
    }
    return got;
  }
  uint32_t state() const { return abi::load_shared(cb_->status.state); }

  std::unique_ptr<abi::ControlBlock> cb_;
  std::unique_ptr<FakeNvmeDevice> dev_;
  std::unique_ptr<NvmeDriver> driver_;
  std::byte* ring_mem_ = nullptr;
  abi::RingRegionView view_{};
  abi::SpscProducer<BlockDescriptor> requests_;
  abi::SpscConsumer<BlockDescriptor> completions_;
  EventFd driver_wake_;
  EventFd shim_wake_;
  std::unique_ptr<DriverLoop> loop_;
  std::thread thread_;
  Status result_;
};

inline BlockDescriptor write_req(uint32_t tag) {
  return BlockDescriptor{tag, static_cast<uint16_t>(BlockOp::kWrite), 0,      4096,
                         0,   kDriverArea + (tag % 32) * 4096,        tag * 8};
}

}  // namespace uldd::drivers::testing
