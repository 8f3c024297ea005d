// E1000Driver::adopt (warm resume) against FakeE1000Device: a first driver
// posts RX buffers and TX frames and "dies" (is dropped without cleanup); a
// second driver adopts the device and those buffers from the checkpoint.
// Happy path: frames the device receives after the crash land in adopted
// buffers and are delivered, TX in flight completes once and is not sent
// again; a tail register lagging the checkpoint (died between checkpoint and
// doorbell) is told once adopted. Refusals (bad checksum, a tail register
// outside the checkpoint's range, a checkpointed buffer the shim
// did not resend, a descriptor pointing elsewhere) happen without a single
// register write.
#include <gtest/gtest.h>

#include "drivers/e1000/e1000_test_support.h"

namespace uldd::drivers::testing {
namespace {

class E1000AdoptTest : public E1000DriverFixture {
 protected:
  // The first driver: RX buffers 100..103 posted, TX frames 10 and 11 handed
  // to a device that has not sent them yet; then it dies.
  void run_and_crash() {
    start();
    dev_->hold_tx = true;
    for (uint16_t id = 100; id < 104; ++id) driver_->post_rx(rx_buffer(id));
    driver_->transmit(tx_request(10, 60));
    driver_->transmit(tx_request(11, 70));
    driver_->ring_doorbells();
    driver_.reset();  // no stop, no cleanup: the device keeps its descriptors
    dev_->writes.clear();
    auto d = E1000Driver::create(*dev_, cfg_, cb_.get(), ckpt_.get());
    ASSERT_TRUE(d.ok()) << d.error().describe();
    driver_ = std::move(d.value());
  }
  static abi::NetDescriptor flagged(abi::NetDescriptor d) {
    d.status = abi::kNetFlagAdopt;
    return d;
  }
  // What the shim resends: every buffer the dead driver held, flagged.
  void resend_all(bool skip_rx_103 = false) {
    driver_->take_adopted(flagged(tx_request(10, 60)), true);
    driver_->take_adopted(flagged(tx_request(11, 70)), true);
    for (uint16_t id = 100; id < 104; ++id)
      if (!(skip_rx_103 && id == 103)) driver_->take_adopted(flagged(rx_buffer(id)), false);
  }
};

TEST_F(E1000AdoptTest, AdoptedBuffersAreServedWithoutResetOrResend) {
  run_and_crash();
  ASSERT_TRUE(driver_->adopt(6).ok());
  EXPECT_TRUE(driver_->adopting());
  resend_all();
  ASSERT_FALSE(driver_->adopting());
  ASSERT_TRUE(driver_->adoption_status().ok()) << driver_->adoption_status().error().describe();
  EXPECT_EQ(driver_->stats().adopted, 6u);
  EXPECT_EQ(driver_->stats().resubmitted, 0u);
  driver_->ring_doorbells();
  EXPECT_TRUE(dev_->values_written(e1000::kRegCtrl).empty()) << "no reset";
  EXPECT_TRUE(dev_->values_written(e1000::kRegTdt).empty()) << "nothing sent again";

  // The device sends what it had, once, and receives into the adopted buffers.
  dev_->process_tx();
  ASSERT_EQ(dev_->sent.size(), 2u);
  auto tx = reap_tx();
  ASSERT_EQ(tx.size(), 2u);
  EXPECT_EQ(tx[0].buffer_id, 10u);
  EXPECT_EQ(tx[1].buffer_id, 11u);
  EXPECT_EQ(tx[0].status, 0u);
  ASSERT_TRUE(dev_->inject_rx(test_frame(7, 64)));
  auto rx = reap_rx();
  ASSERT_EQ(rx.size(), 1u);
  EXPECT_EQ(rx[0].buffer_id, 100u);
  EXPECT_EQ(rx[0].len, 64u);
  EXPECT_EQ(rx[0].status, static_cast<uint16_t>(abi::NetStatus::kOk));
  EXPECT_EQ(std::memcmp(dev_->dma().at<uint8_t>(buffer_iova(100)), test_frame(7, 64).data(), 64),
            0);

  // New work after adoption goes through the adopted rings as usual.
  driver_->transmit(tx_request(12, 80));
  driver_->ring_doorbells();
  dev_->process_tx();
  EXPECT_EQ(dev_->sent.size(), 3u);
  EXPECT_EQ(reap_tx().size(), 1u);
}

TEST_F(E1000AdoptTest, ResentBufferTheDeviceNeverHadIsPostedAfresh) {
  run_and_crash();
  ASSERT_TRUE(driver_->adopt(7).ok());
  resend_all();
  EXPECT_TRUE(driver_->adopting());
  driver_->take_adopted(flagged(rx_buffer(104)), false);  // taken but never checkpointed
  ASSERT_TRUE(driver_->adoption_status().ok());
  EXPECT_EQ(driver_->stats().resubmitted, 1u);
  driver_->ring_doorbells();
  auto rdt = dev_->values_written(e1000::kRegRdt);
  ASSERT_EQ(rdt.size(), 1u);
  EXPECT_EQ(rdt[0], 5u);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(dev_->inject_rx(test_frame(i, 60)));
  auto rx = reap_rx();
  ASSERT_EQ(rx.size(), 5u);
  EXPECT_EQ(rx[4].buffer_id, 104u);
}

TEST_F(E1000AdoptTest, CheckpointedBufferNotResentIsRefusedUntouched) {
  run_and_crash();
  ASSERT_TRUE(driver_->adopt(5).ok());
  resend_all(/*skip_rx_103=*/true);
  EXPECT_FALSE(driver_->adopting());
  ASSERT_FALSE(driver_->adoption_status().ok());
  EXPECT_NE(driver_->adoption_status().error().describe().find("stale"), std::string::npos);
  driver_->ring_doorbells();
  EXPECT_TRUE(dev_->writes.empty());
}

TEST_F(E1000AdoptTest, NothingResentWhileTheRingsHoldBuffersIsRefusedAtOnce) {
  run_and_crash();
  Status s = driver_->adopt(0);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().describe().find("stale"), std::string::npos) << s.error().describe();
  EXPECT_TRUE(dev_->writes.empty());
}

TEST_F(E1000AdoptTest, DescriptorPointingElsewhereIsRefused) {
  run_and_crash();
  ASSERT_TRUE(driver_->adopt(6).ok());
  abi::NetDescriptor wrong = flagged(rx_buffer(100));
  wrong.iova = buffer_iova(150);  // same id, another buffer: not what the ring holds
  driver_->take_adopted(wrong, false);
  EXPECT_FALSE(driver_->adoption_status().ok());
  EXPECT_TRUE(dev_->writes.empty());
}

TEST_F(E1000AdoptTest, BadChecksumIsRefused) {
  run_and_crash();
  // Damage the newest slot: the older one is then stale, both refuse.
  int newest =
      abi::load_shared(ckpt_->slots[0].epoch) > abi::load_shared(ckpt_->slots[1].epoch) ? 0 : 1;
  ckpt_->slots[newest].payload[20] ^= 1;
  Status s = driver_->adopt(6);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().describe().find("stale"), std::string::npos) << s.error().describe();
  EXPECT_TRUE(dev_->writes.empty());
}

TEST_F(E1000AdoptTest, TailRegisterOutsideTheCheckpointIsRefused) {
  run_and_crash();
  dev_->set(e1000::kRegRdt, 9);  // past the checkpoint's tail (4): not a state we produce
  Status s = driver_->adopt(6);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().describe().find("RDT/TDT"), std::string::npos) << s.error().describe();
  dev_->set(e1000::kRegRdt, 4);
  dev_->set(e1000::kRegRdh, 5);  // a head past the tail
  EXPECT_FALSE(driver_->adopt(6).ok());
  EXPECT_TRUE(dev_->writes.empty());
}

TEST_F(E1000AdoptTest, TailRegisterLaggingTheCheckpointIsToldAfterAdoption) {
  run_and_crash();
  // The predecessor committed the checkpoint (TX tail 2) and died before
  // its TDT write reached the device: the device knows of frame 10 only.
  dev_->set(e1000::kRegTdt, 1);
  ASSERT_TRUE(driver_->adopt(6).ok());
  resend_all();
  ASSERT_TRUE(driver_->adoption_status().ok()) << driver_->adoption_status().error().describe();
  EXPECT_EQ(driver_->stats().adopted, 6u);
  driver_->ring_doorbells();
  auto tdt = dev_->values_written(e1000::kRegTdt);
  ASSERT_EQ(tdt.size(), 1u);
  EXPECT_EQ(tdt[0], 2u);
  dev_->process_tx();
  EXPECT_EQ(dev_->sent.size(), 2u);  // each frame once
  EXPECT_EQ(reap_tx().size(), 2u);
}

TEST_F(E1000AdoptTest, ResetDeviceOrOtherRingSizesAreRefused) {
  run_and_crash();
  dev_->set(e1000::kRegRctl, 0);  // a device that was reset meanwhile
  EXPECT_FALSE(driver_->adopt(6).ok());
  dev_->set(e1000::kRegRctl, 0xFFFFFFFFu);
  EXPECT_FALSE(driver_->adopt(6).ok());

  auto other = E1000Driver::create(*dev_, e1000_test_config(32, 8), cb_.get(), ckpt_.get());
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other.value()->adopt(6).ok());
}

TEST_F(E1000AdoptTest, FramesReceivedWhileDeadAreDeliveredAfterAdoption) {
  run_and_crash();
  // The device keeps receiving into the dead driver's buffers.
  ASSERT_TRUE(dev_->inject_rx(test_frame(1, 100)));
  ASSERT_TRUE(dev_->inject_rx(test_frame(2, 200)));
  ASSERT_TRUE(driver_->adopt(6).ok());
  EXPECT_TRUE(reap_rx().empty()) << "nothing is harvested before adoption completes";
  resend_all();
  ASSERT_TRUE(driver_->adoption_status().ok());
  auto rx = reap_rx();
  ASSERT_EQ(rx.size(), 2u);
  EXPECT_EQ(rx[0].buffer_id, 100u);
  EXPECT_EQ(rx[0].len, 100u);
  EXPECT_EQ(rx[1].buffer_id, 101u);
  EXPECT_EQ(rx[1].len, 200u);
}

}  // namespace
}  // namespace uldd::drivers::testing
