// Shared fixture of the e1000 driver unit tests: a FakeE1000Device, a config
// whose buffer area holds 2048-byte shim buffers, and helpers that make
// NetDescriptors for buffer n and frames with recognisable contents.
#pragma once

#include <gtest/gtest.h>

#include <array>
#include <memory>
#include <vector>

#include "drivers/e1000/e1000_driver.h"
#include "drivers/e1000/fake_e1000_device.h"

namespace uldd::drivers::testing {

inline constexpr uint64_t kDriverArea = 64 << 10;
inline constexpr uint32_t kBufferBytes = 2048;
inline constexpr uint32_t kBuffers = 256;
inline constexpr uint64_t kDmaSize = kDriverArea + uint64_t{kBuffers} * kBufferBytes;

inline abi::DriverConfig e1000_test_config(uint32_t rx = 16, uint32_t tx = 8) {
  abi::DriverConfig c{};
  c.heartbeat_interval_us = 10000;
  c.max_transfer = kBufferBytes;
  c.dma_driver_area_size = kDriverArea;
  c.dma_buffer_area_offset = kDriverArea;
  c.nic_rx_descriptors = rx;
  c.nic_tx_descriptors = tx;
  c.nic_itr_interval = 196;  // ~50 us
  return c;
}

inline uint64_t buffer_iova(uint32_t id) {
  return kDriverArea + uint64_t{id} * kBufferBytes;
}

inline std::vector<uint8_t> test_frame(uint32_t seq, uint32_t len) {
  std::vector<uint8_t> f(len);
  for (uint32_t i = 0; i < len; ++i) f[i] = static_cast<uint8_t>(seq * 31 + i);
  return f;
}

class E1000DriverFixture : public ::testing::Test {
 protected:
  void make(const abi::DriverConfig& cfg = e1000_test_config()) {
    cfg_ = cfg;
    dev_ = std::make_unique<FakeE1000Device>(kDmaSize, kDriverArea);
    cb_ = std::make_unique<abi::ControlBlock>();
    ckpt_ = std::make_unique<abi::CheckpointRegion>();
    auto d = E1000Driver::create(*dev_, cfg_, cb_.get(), ckpt_.get());
    ASSERT_TRUE(d.ok()) << d.error().describe();
    driver_ = std::move(d.value());
  }
  void start(const abi::DriverConfig& cfg = e1000_test_config()) {
    make(cfg);
    Status s = driver_->bring_up();
    ASSERT_TRUE(s.ok()) << s.error().describe();
    dev_->writes.clear();
  }
  // A TX request for buffer `id` holding test_frame(id, len).
  abi::NetDescriptor tx_request(uint16_t id, uint32_t len) {
    auto f = test_frame(id, len);
    std::memcpy(dev_->dma().at<uint8_t>(buffer_iova(id)), f.data(), len);
    return abi::NetDescriptor{buffer_iova(id), len, id, 0};
  }
  static abi::NetDescriptor rx_buffer(uint16_t id) {
    return abi::NetDescriptor{buffer_iova(id), kBufferBytes, id, 0};
  }
  template <class Reap>
  std::vector<abi::NetDescriptor> reap_all(Reap reap) {
    std::vector<abi::NetDescriptor> all;
    std::array<abi::NetDescriptor, 8> out;
    size_t n;
    while ((n = reap(std::span<abi::NetDescriptor>(out))) != 0)
      all.insert(all.end(), out.begin(), out.begin() + n);
    return all;
  }
  std::vector<abi::NetDescriptor> reap_tx() {
    return reap_all([this](std::span<abi::NetDescriptor> o) { return driver_->reap_tx(o); });
  }
  std::vector<abi::NetDescriptor> reap_rx() {
    return reap_all([this](std::span<abi::NetDescriptor> o) { return driver_->reap_rx(o); });
  }

  abi::DriverConfig cfg_;
  std::unique_ptr<FakeE1000Device> dev_;
  std::unique_ptr<abi::ControlBlock> cb_;
  std::unique_ptr<abi::CheckpointRegion> ckpt_;
  std::unique_ptr<E1000Driver> driver_;
};

}  // namespace uldd::drivers::testing
