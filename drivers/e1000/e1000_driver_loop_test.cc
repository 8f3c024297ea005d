// Tests of E1000DriverLoop: the loop runs on its own thread with
// E1000Driver over a FakeE1000Device whose wire loops back (every frame sent
// is received again), while the test thread plays the shim on the four net
// rings of an in-memory NetRingRegion: frames go out through tx_request,
// come back on tx_done and, as received frames, on rx_done, with every byte
// checked. Also: a corrupt ring index is a fatal protocol violation, and a
// stop request ends run() cleanly.
#include "drivers/e1000/e1000_driver_loop.h"

#include <gtest/gtest.h>

#include "drivers/e1000/e1000_driver_loop_fixture.h"

namespace uldd::drivers {
namespace {

using abi::NetDescriptor;
using abi::NetRing;
using testing::buffer_iova;
using testing::E1000DriverLoopTest;
using testing::test_frame;

TEST_F(E1000DriverLoopTest, FramesGoOutAndComeBackThroughAllFourRings) {
  auto tx_requests = view_.producer(NetRing::kTxRequest);
  auto rx_free = view_.producer(NetRing::kRxFree);
  auto tx_done = view_.consumer(NetRing::kTxDone);
  auto rx_done = view_.consumer(NetRing::kRxDone);
  run_loop();

  // Buffers 0..31 carry TX frames, 100..163 receive.
  std::vector<NetDescriptor> free_rx;
  for (uint16_t id = 100; id < 164; ++id) free_rx.push_back(rx_buffer(id));
  publish(rx_free, free_rx);
  std::vector<uint16_t> idle_tx;
  for (uint16_t id = 0; id < 32; ++id) idle_tx.push_back(id);

  constexpr uint32_t kFrames = 1000;
  constexpr uint32_t kBatch = 5;  // < posted RX buffers: loopback never finds the ring empty
  uint32_t sent = 0, received = 0, tx_back = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (received < kFrames && std::chrono::steady_clock::now() < deadline) {
    for (const NetDescriptor& d : take(tx_done)) {
      EXPECT_EQ(d.status, static_cast<uint16_t>(abi::NetStatus::kOk));
      EXPECT_EQ(d.iova, buffer_iova(d.buffer_id));
      idle_tx.push_back(d.buffer_id);
      ++tx_back;
    }
    std::vector<NetDescriptor> repost;
    for (const NetDescriptor& d : take(rx_done)) {
      ASSERT_EQ(d.status, static_cast<uint16_t>(abi::NetStatus::kOk));
      ASSERT_GE(d.buffer_id, 100);
      ASSERT_EQ(d.len, 60 + received % 1400);
      auto* p = dev_->dma().at<uint8_t>(d.iova);
      ASSERT_EQ(std::vector<uint8_t>(p, p + d.len), test_frame(received, d.len)) << received;
      ++received;
      repost.push_back(rx_buffer(d.buffer_id));
    }
    if (!repost.empty()) publish(rx_free, repost);
    // The next batch once the previous one is all back (sent after reaping,
    // so the shim never sleeps with nothing in flight).
    if (sent == received && sent < kFrames) {
      std::vector<NetDescriptor> batch;
      for (uint32_t k = 0; k < kBatch && sent < kFrames && !idle_tx.empty(); ++k, ++sent) {
        uint16_t id = idle_tx.back();
        idle_tx.pop_back();
        batch.push_back(tx_request(id, 60 + sent % 1400));
        // tx_request() wrote test_frame(id, len); make the bytes say `sent` instead.
        auto f = test_frame(sent, 60 + sent % 1400);
        std::memcpy(dev_->dma().at<uint8_t>(buffer_iova(id)), f.data(), f.size());
      }
      publish(tx_requests, batch);
    }
    wait_shim_wake(tx_done, rx_done);
  }
  EXPECT_EQ(received, kFrames);
  // Every TX buffer comes back too (possibly just after the last frame).
  while (tx_back < kFrames && std::chrono::steady_clock::now() < deadline) {
    tx_back += static_cast<uint32_t>(take(tx_done).size());
    wait_shim_wake(tx_done, rx_done);
  }
  EXPECT_EQ(tx_back, kFrames);
  ASSERT_TRUE(stop_loop().ok());
  EXPECT_EQ(dev_->missed, 0u);
  // Batching: far fewer TDT writes than frames is not guaranteed by timing,
  // but never more than one per batch the shim published.
  EXPECT_LE(dev_->count_writes(e1000::kRegTdt), (kFrames + kBatch - 1) / kBatch);
  EXPECT_GE(cb_->status.heartbeat, 1u);
  EXPECT_EQ(cb_->status.requests_done, 2u * kFrames);
  EXPECT_EQ(cb_->status.state, static_cast<uint32_t>(abi::DriverState::kStopping));
}

TEST_F(E1000DriverLoopTest, CorruptRingIndexIsAFatalProtocolViolation) {
  run_loop();
  // The shim side's tail claims far more descriptors than the ring holds.
  abi::RingIndices* idx = view_.indices(NetRing::kRxFree);
  std::atomic_ref<uint32_t>(idx->producer.tail).store(1000, std::memory_order_release);
  driver_wake_.signal();
  thread_.join();
  ASSERT_FALSE(result_.ok());
  EXPECT_NE(result_.error().message.find("rx_free ring"), std::string::npos);
  EXPECT_EQ(cb_->status.state, static_cast<uint32_t>(abi::DriverState::kFailed));
  EXPECT_NE(std::string(cb_->status.last_error).find("rx_free"), std::string::npos);
}

TEST_F(E1000DriverLoopTest, StopsCleanlyWhenIdle) {
  run_loop();
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  ASSERT_TRUE(stop_loop().ok());
  EXPECT_GE(loop_->iterations(), 1u);
}

}  // namespace
}  // namespace uldd::drivers
