// Integration test: E1000Driver against the real e1000 device model
// (devices/e1000/e1000_model.h) in-process, through the production emulated
// UIO backend (write log, read-to-clear side band). E1000TestHost provides the
// regions, the model and a socketpair "wire" whose far end the test holds;
// ModelDrivenUio applies the logged writes after every driver write, which is
// what uldd-hw does on a doorbell kick. Frames are checked byte for byte in
// both directions, across ring wraps and a second bring-up (device reset).
#include <gtest/gtest.h>

#include <algorithm>
#include <array>

#include "devices/e1000/e1000_test_host.h"
#include "drivers/e1000/e1000_driver.h"
#include "faultinject/fault_point_request.h"

namespace uldd::drivers {
namespace {

using abi::NetDescriptor;
using abi::NetStatus;
using e1000::testing::E1000TestHost;

constexpr uint64_t kDriverArea = 64 << 10;
constexpr uint32_t kBufferBytes = 2048;

class ModelDrivenUio final : public uio::UioDevice {
 public:
  explicit ModelDrivenUio(E1000TestHost& host) : host_(host) {}
  std::string_view backend_name() const override { return "emulated + in-process model"; }
  size_t bar_size() const override { return host_.dev().bar_size(); }
  uint32_t read32(size_t off) const override { return host_.dev().read32(off); }
  void write32(size_t off, uint32_t v) override {
    host_.dev().write32(off, v);
    host_.model().apply_writes(host_.now());
  }
  void write32_lazy(size_t off, uint32_t v) override {
    host_.dev().write32_lazy(off, v);
    host_.model().apply_writes(host_.now());
  }
  int irq_fd() const override { return host_.dev().irq_fd(); }
  Result<uint32_t> take_irq() override { return host_.dev().take_irq(); }
  Status unmask_irq() override { return host_.dev().unmask_irq(); }
  uio::DmaRegion& dma() override { return host_.dev().dma(); }

 private:
  E1000TestHost& host_;
};

class E1000DriverModelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cfg_.heartbeat_interval_us = 10000;
    cfg_.max_transfer = kBufferBytes;
    cfg_.dma_driver_area_size = kDriverArea;
    cfg_.dma_buffer_area_offset = kDriverArea;
    cfg_.nic_rx_descriptors = 16;
    cfg_.nic_tx_descriptors = 8;
    cfg_.nic_itr_interval = 0;  // the test's clock stands still: no hold-off
    auto d = E1000Driver::create(uio_, cfg_, &cb_, &ckpt_);
    ASSERT_TRUE(d.ok()) << d.error().describe();
    driver_ = std::move(d.value());
    Status s = driver_->bring_up();
    ASSERT_TRUE(s.ok()) << s.error().describe();
  }
  static uint64_t iova(uint16_t id) { return kDriverArea + uint64_t{id} * kBufferBytes; }
  std::vector<std::byte> buffer_bytes(uint64_t at, uint32_t len) {
    std::byte* p = host_.dma(at);
    return std::vector<std::byte>(p, p + len);
  }
  void post_rx_buffers(uint16_t first, uint32_t n) {
    for (uint32_t i = 0; i < n; ++i)
      driver_->post_rx(NetDescriptor{iova(static_cast<uint16_t>(first + i)), kBufferBytes,
                                     static_cast<uint16_t>(first + i), 0});
  }
  template <class Reap>
  std::vector<NetDescriptor> reap_all(Reap reap) {
    std::vector<NetDescriptor> all;
    std::array<NetDescriptor, 8> out;
    size_t n;
    while ((n = reap(std::span<NetDescriptor>(out))) != 0)
      all.insert(all.end(), out.begin(), out.begin() + n);
    return all;
  }

  E1000TestHost host_;
  ModelDrivenUio uio_{host_};
  abi::DriverConfig cfg_{};
  abi::ControlBlock cb_{};
  abi::CheckpointRegion ckpt_{};
  std::unique_ptr<E1000Driver> driver_;
};

TEST_F(E1000DriverModelTest, BringUpFindsTheModelsMacAndLink) {
  EXPECT_TRUE(std::equal(driver_->mac(), driver_->mac() + 6, host_.model().mac().bytes.begin()));
  EXPECT_TRUE(driver_->link_up());
  EXPECT_TRUE(host_.model().link_up());
  EXPECT_GE(host_.model().stats().resets, 1u);
  EXPECT_EQ(host_.model().stats().bad_register_writes, 0u);
  EXPECT_EQ(host_.model().stats().tx_ring_errors, 0u);
  EXPECT_EQ(host_.model().stats().rx_ring_errors, 0u);
}

TEST_F(E1000DriverModelTest, TransmitsShimBuffersOntoTheWireAcrossRingWraps) {
  uint16_t id = 0;
  for (int round = 0; round < 4; ++round) {
    std::vector<std::vector<std::byte>> frames;
    uint32_t n = driver_->tx_free_slots();
    ASSERT_EQ(n, 7u);
    for (uint32_t i = 0; i < n; ++i, ++id) {
      auto f = host_.frame(60 + 211 * (id % 7), static_cast<uint8_t>(id));
      std::memcpy(host_.dma(iova(id)), f.data(), f.size());
      driver_->transmit(NetDescriptor{iova(id), static_cast<uint32_t>(f.size()), id, 0});
      frames.push_back(std::move(f));
    }
    driver_->ring_doorbells();
    for (const auto& f : frames) EXPECT_EQ(host_.peer_receive(), f);
    auto done = reap_all([this](std::span<NetDescriptor> o) { return driver_->reap_tx(o); });
    ASSERT_EQ(done.size(), n);
    for (uint32_t i = 0; i < n; ++i) {
      EXPECT_EQ(done[i].buffer_id, id - n + i);
      EXPECT_EQ(done[i].status, static_cast<uint16_t>(NetStatus::kOk));
    }
  }
  EXPECT_EQ(host_.model().stats().tx_frames, 28u);
  EXPECT_EQ(driver_->stats().batches, 4u);
}

TEST_F(E1000DriverModelTest, ReceivesFramesIntoShimBuffersAndReplenishes) {
  post_rx_buffers(0, driver_->rx_free_slots());
  driver_->ring_doorbells();
  uint16_t next_id = 15;
  uint32_t seq = 0;
  for (int round = 0; round < 5; ++round) {
    std::vector<std::vector<std::byte>> sent;
    for (int k = 0; k < 10; ++k, ++seq) {
      sent.push_back(host_.frame(std::min<size_t>(60 + 97 * seq, abi::kMaxFrameBytes),
                                 static_cast<uint8_t>(seq)));
      host_.peer_send(sent.back());
    }
    host_.model().on_wire_readable(host_.now());
    ASSERT_TRUE(driver_->on_interrupt().ok());
    auto got = reap_all([this](std::span<NetDescriptor> o) { return driver_->reap_rx(o); });
    ASSERT_EQ(got.size(), sent.size());
    for (size_t k = 0; k < got.size(); ++k) {
      ASSERT_EQ(got[k].status, static_cast<uint16_t>(NetStatus::kOk));
      ASSERT_EQ(got[k].len, sent[k].size());  // SECRC: no FCS in the length
      EXPECT_EQ(buffer_bytes(got[k].iova, got[k].len), sent[k]);
    }
    // The shim hands fresh buffers back; one RDT write per batch.
    post_rx_buffers(next_id, static_cast<uint32_t>(got.size()));
    next_id = static_cast<uint16_t>(next_id + got.size());
    driver_->ring_doorbells();
  }
  EXPECT_EQ(host_.model().stats().rx_frames, 50u);
  EXPECT_EQ(host_.model().stats().rx_missed, 0u);
  EXPECT_EQ(driver_->stats().rx.frames, 50u);
  EXPECT_EQ(driver_->stats().device_errors(), 0u);
}

TEST_F(E1000DriverModelTest, FullRxRingDropsAtTheDeviceAndCountsOverruns) {
  for (int k = 0; k < 3; ++k) host_.peer_send(host_.frame(100, static_cast<uint8_t>(k)));
  host_.model().on_wire_readable(host_.now());
  EXPECT_EQ(host_.model().stats().rx_missed, 3u);
  ASSERT_TRUE(driver_->on_interrupt().ok());
  EXPECT_GE(driver_->stats().rx_overruns, 1u);
  EXPECT_GE(driver_->stats().interrupts, 1u);  // the eventfd also counted LSC at bring-up
  // Once buffers are posted, frames flow again.
  post_rx_buffers(0, 4);
  driver_->ring_doorbells();
  host_.peer_send(host_.frame(200, 9));
  host_.model().on_wire_readable(host_.now());
  auto got = reap_all([this](std::span<NetDescriptor> o) { return driver_->reap_rx(o); });
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].len, 200u);
}

TEST_F(E1000DriverModelTest, SecondBringUpResetsTheDeviceAndStartsClean) {
  post_rx_buffers(0, 5);
  driver_->ring_doorbells();
  uint64_t resets = host_.model().stats().resets;
  ASSERT_TRUE(driver_->bring_up().ok());
  EXPECT_EQ(host_.model().stats().resets, resets + 1);
  EXPECT_EQ(driver_->rx_free_slots(), 15u);
  // The reset forgot the old RX buffers: a frame lands in the new ones only.
  post_rx_buffers(40, 1);
  driver_->ring_doorbells();
  host_.peer_send(host_.frame(64, 1));
  host_.model().on_wire_readable(host_.now());
  auto got = reap_all([this](std::span<NetDescriptor> o) { return driver_->reap_rx(o); });
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].buffer_id, 40u);
}

// Fault point wrong-iova: the driver gives the model a TX buffer address
// just past the DMA region; the model refuses it (drops the frame, counts a
// bad descriptor, writes nothing) and the other frames go out.
TEST_F(E1000DriverModelTest, WrongIovaFaultPointIsRefusedByTheModel) {
  ASSERT_TRUE(faultinject::arm_fault_point(cb_, {abi::FaultPoint::kWrongIova, 2, 0}).ok());
  driver_->fault_points().refresh();  // what the loop does once per batch
  std::vector<std::vector<std::byte>> frames;
  for (uint16_t id = 0; id < 3; ++id) {
    frames.push_back(host_.frame(100, static_cast<uint8_t>(id + 1)));
    std::memcpy(host_.dma(iova(id)), frames.back().data(), 100);
    driver_->transmit(NetDescriptor{iova(id), 100, id, 0});
  }
  driver_->ring_doorbells();
  EXPECT_EQ(host_.peer_receive(), frames[0]);
  EXPECT_EQ(host_.peer_receive(), frames[2]);
  EXPECT_TRUE(host_.peer_receive().empty());
  EXPECT_EQ(host_.model().stats().tx_bad_descriptors, 1u);
  EXPECT_EQ(driver_->fault_points().fired(), 1u);
  auto done = reap_all([this](std::span<NetDescriptor> o) { return driver_->reap_tx(o); });
  EXPECT_EQ(done.size(), 3u);
}

}  // namespace
}  // namespace uldd::drivers
