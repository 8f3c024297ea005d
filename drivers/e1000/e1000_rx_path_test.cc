// Unit tests of E1000Driver's receive path against FakeE1000Device: posting
// shim buffers (one RDT per batch), harvesting frames with their lengths,
// replenishing and wrapping the ring, RX overrun when nothing is posted, and
// refusal of impossible device write-backs (length beyond the buffer, zero
// length, missing EOP) and of bad rx_free buffers.
#include <gtest/gtest.h>

#include "drivers/e1000/e1000_test_support.h"

namespace uldd::drivers {
namespace {

using abi::NetDescriptor;
using abi::NetStatus;
using testing::buffer_iova;
using testing::kBufferBytes;
using testing::kDmaSize;
using testing::test_frame;

using E1000RxPathTest = testing::E1000DriverFixture;

constexpr uint16_t kOk = static_cast<uint16_t>(NetStatus::kOk);
constexpr uint16_t kError = static_cast<uint16_t>(NetStatus::kError);
constexpr uint16_t kDropped = static_cast<uint16_t>(NetStatus::kDropped);

std::vector<uint8_t> bytes_at(testing::FakeE1000Device& dev, uint64_t iova, uint32_t len) {
  auto* p = dev.dma().at<uint8_t>(iova);
  return std::vector<uint8_t>(p, p + len);
}

TEST_F(E1000RxPathTest, PostsABatchWithOneRdtAndHarvestsFrames) {
  start();  // 16 RX descriptors: at most 15 posted
  for (uint16_t id = 0; id < 15; ++id) driver_->post_rx(rx_buffer(id));
  EXPECT_EQ(driver_->rx_free_slots(), 0u);
  EXPECT_EQ(dev_->count_writes(e1000::kRegRdt), 0u);
  driver_->ring_doorbells();
  EXPECT_EQ(dev_->values_written(e1000::kRegRdt), std::vector<uint32_t>{15});
  for (uint16_t id = 0; id < 15; ++id)
    EXPECT_EQ(dev_->rx_ring()[id].buffer_addr, dev_->dma().device_address(buffer_iova(id)));

  for (uint32_t seq = 0; seq < 3; ++seq) ASSERT_TRUE(dev_->inject_rx(test_frame(seq, 60 + seq)));
  auto got = reap_rx();
  ASSERT_EQ(got.size(), 3u);
  for (uint32_t seq = 0; seq < 3; ++seq) {
    EXPECT_EQ(got[seq].buffer_id, seq);
    EXPECT_EQ(got[seq].iova, buffer_iova(seq));
    EXPECT_EQ(got[seq].len, 60 + seq);
    EXPECT_EQ(got[seq].status, kOk);
    // The frame is in the shim's buffer itself: no copy on the way up.
    EXPECT_EQ(bytes_at(*dev_, got[seq].iova, got[seq].len), test_frame(seq, 60 + seq));
  }
  EXPECT_EQ(driver_->stats().rx.frames, 3u);
  EXPECT_EQ(driver_->rx_free_slots(), 3u);
}

TEST_F(E1000RxPathTest, ReplenishesAndWrapsTheRing) {
  start();
  uint16_t next_id = 0;
  uint32_t seq = 0;
  std::vector<uint32_t> want_rdt;
  uint32_t rdt = 0;
  for (int round = 0; round < 6; ++round) {
    uint32_t n = driver_->rx_free_slots();
    for (uint32_t i = 0; i < n; ++i) driver_->post_rx(rx_buffer(next_id++ % 200));
    driver_->ring_doorbells();
    rdt = (rdt + n) % 16;
    want_rdt.push_back(rdt);
    for (int k = 0; k < 11; ++k, ++seq) ASSERT_TRUE(dev_->inject_rx(test_frame(seq, 100 + seq)));
    auto got = reap_rx();
    ASSERT_EQ(got.size(), 11u);
    for (int k = 0; k < 11; ++k) {
      uint32_t s = seq - 11 + k;
      EXPECT_EQ(got[k].len, 100 + s);
      EXPECT_EQ(bytes_at(*dev_, got[k].iova, got[k].len), test_frame(s, 100 + s));
    }
  }
  EXPECT_EQ(dev_->values_written(e1000::kRegRdt), want_rdt);
  EXPECT_EQ(driver_->stats().rx.frames, 66u);
}

TEST_F(E1000RxPathTest, NothingPostedMeansTheDeviceDropsAndCounts) {
  start();
  EXPECT_FALSE(dev_->inject_rx(test_frame(1, 64)));
  EXPECT_EQ(dev_->missed, 1u);
  ASSERT_TRUE(driver_->on_interrupt().ok());
  EXPECT_EQ(driver_->stats().rx_overruns, 1u);
  EXPECT_TRUE(reap_rx().empty());
}

TEST_F(E1000RxPathTest, RefusesImpossibleWriteBacks) {
  start();
  for (uint16_t id = 0; id < 6; ++id) driver_->post_rx(rx_buffer(id));
  driver_->ring_doorbells();
  const uint8_t dd_eop = e1000::rx_status::kDone | e1000::rx_status::kEndOfPacket;
  ASSERT_TRUE(dev_->inject_rx(test_frame(0, 64), 3000));  // longer than the buffer
  ASSERT_TRUE(dev_->inject_rx(test_frame(1, 64), 0));     // empty
  ASSERT_TRUE(dev_->inject_rx(test_frame(2, 64), 2048, e1000::rx_status::kDone));  // no EOP...
  ASSERT_TRUE(dev_->inject_rx(test_frame(3, 64), 64, dd_eop));  // ...its tail: discarded too
  ASSERT_TRUE(dev_->inject_rx(test_frame(4, 64), 64, dd_eop, e1000::rx_errors::kCrc));  // bad CRC
  ASSERT_TRUE(dev_->inject_rx(test_frame(5, 64), 2048));  // exactly a full buffer: fine
  auto got = reap_rx();
  ASSERT_EQ(got.size(), 6u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(got[i].status, kError) << i;
    EXPECT_EQ(got[i].len, 0u) << i;  // never a length that reaches past the buffer
    EXPECT_EQ(got[i].buffer_id, i);
  }
  EXPECT_EQ(got[5].status, kOk);
  EXPECT_EQ(got[5].len, 2048u);
  EXPECT_EQ(driver_->stats().rx.device_faults, 4u);
  EXPECT_EQ(driver_->stats().rx.frame_errors, 1u);
  // Published by the reap itself (it commits the checkpoint before the
  // buffers go back), and still there after the next batch.
  EXPECT_EQ(cb_->status.device_errors, 4u);
  driver_->ring_doorbells();
  EXPECT_EQ(cb_->status.device_errors, 4u);
}

TEST_F(E1000RxPathTest, LengthBeyondASmallerPostedBufferIsRefused) {
  abi::DriverConfig cfg = testing::e1000_test_config();
  cfg.max_transfer = 4096;  // shim buffers may be larger than BSIZE...
  start(cfg);
  driver_->post_rx(NetDescriptor{buffer_iova(0), 4096, 0, 0});
  driver_->ring_doorbells();
  // ...but the device was told 2048 (RCTL.BSIZE): a longer write-back is a fault.
  ASSERT_TRUE(dev_->inject_rx(test_frame(0, 64), 2049));
  auto got = reap_rx();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].status, kError);
  EXPECT_EQ(got[0].len, 0u);
}

TEST_F(E1000RxPathTest, DdOnASlotNotHandedToTheDeviceIsIgnored) {
  start();
  driver_->post_rx(rx_buffer(0));
  driver_->post_rx(rx_buffer(1));
  // Posted but the doorbell not yet written: the device may not have them.
  dev_->rx_ring()[0].status = e1000::rx_status::kDone | e1000::rx_status::kEndOfPacket;
  dev_->rx_ring()[0].length = 64;
  EXPECT_TRUE(reap_rx().empty());
  // And beyond the posted range entirely.
  dev_->rx_ring()[7].status = e1000::rx_status::kDone | e1000::rx_status::kEndOfPacket;
  driver_->ring_doorbells();
  auto got = reap_rx();
  ASSERT_EQ(got.size(), 1u);  // slot 0 only: slot 1 has no DD, slot 7 was never posted
  EXPECT_EQ(got[0].buffer_id, 0u);
}

TEST_F(E1000RxPathTest, RefusesBadFreeBuffers) {
  start();
  std::vector<NetDescriptor> bad = {
      {0, kBufferBytes, 50, 0},                   // the driver area
      {buffer_iova(1), 1024, 51, 0},              // smaller than RCTL.BSIZE
      {buffer_iova(2), kBufferBytes + 1, 52, 0},  // larger than the shim's buffers
      {kDmaSize - 1024, kBufferBytes, 53, 0},     // runs past the DMA region
  };
  for (const auto& d : bad) driver_->post_rx(d);
  driver_->ring_doorbells();
  EXPECT_EQ(dev_->count_writes(e1000::kRegRdt), 0u);
  auto got = reap_rx();
  ASSERT_EQ(got.size(), bad.size());
  for (size_t i = 0; i < bad.size(); ++i) {
    EXPECT_EQ(got[i].buffer_id, bad[i].buffer_id);
    EXPECT_EQ(got[i].status, kDropped);
    EXPECT_EQ(got[i].len, 0u);
  }
  EXPECT_EQ(driver_->stats().rejected, bad.size());
}

}  // namespace
}  // namespace uldd::drivers
