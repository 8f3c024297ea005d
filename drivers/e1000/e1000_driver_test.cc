// Unit tests of E1000Driver against FakeE1000Device (fake_e1000_device.h):
// config checks, the bring-up register sequence, the TX path (no copy, one
// TDT per batch, ring wrap, validation), interrupts and checkpoint commits.
// The RX path is in e1000_rx_path_test.cc.
#include <gtest/gtest.h>

#include <algorithm>

#include "common/crc32c.h"
#include "drivers/e1000/e1000_test_support.h"

namespace uldd::drivers {
namespace {

using abi::NetDescriptor;
using abi::NetStatus;
using testing::buffer_iova;
using testing::e1000_test_config;
using testing::FakeE1000Device;
using testing::FakeE1000Dma;
using testing::kDmaSize;
using testing::kDriverArea;

using E1000DriverTest = testing::E1000DriverFixture;

TEST(E1000ConfigTest, AcceptsTheTestConfigAndRefusesBadOnes) {
  EXPECT_EQ(check_e1000_config(e1000_test_config(), kDmaSize), "");
  auto bad = [](auto mutate) {
    abi::DriverConfig c = e1000_test_config();
    mutate(c);
    return check_e1000_config(c, kDmaSize);
  };
  EXPECT_EQ(bad([](abi::DriverConfig& c) { c.nic_rx_descriptors = 12; }),
            "config: nic_rx_descriptors 12 is not a multiple of 8 in [8, 2048]");
  EXPECT_EQ(bad([](abi::DriverConfig& c) { c.nic_tx_descriptors = 0; }),
            "config: nic_tx_descriptors 0 is not a multiple of 8 in [8, 2048]");
  EXPECT_EQ(bad([](abi::DriverConfig& c) { c.nic_tx_descriptors = 4096; }),
            "config: nic_tx_descriptors 4096 is not a multiple of 8 in [8, 2048]");
  EXPECT_NE(bad([](abi::DriverConfig& c) { c.nic_itr_interval = 0x10000; }), "");
  EXPECT_EQ(bad([](abi::DriverConfig& c) { c.heartbeat_interval_us = 0; }),
            "config: heartbeat_interval_us is 0");
  EXPECT_NE(bad([](abi::DriverConfig& c) { c.max_transfer = 1600; }), "");
  EXPECT_NE(bad([](abi::DriverConfig& c) { c.dma_buffer_area_offset = 4096; }), "");
  EXPECT_NE(bad([](abi::DriverConfig& c) { c.dma_buffer_area_offset = kDmaSize; }), "");
  // 2048 + 2048 descriptors need 64 KiB: exactly the driver area; one more page is too much.
  EXPECT_EQ(bad([](abi::DriverConfig& c) { c.nic_rx_descriptors = c.nic_tx_descriptors = 2048; }),
            "");
  EXPECT_EQ(bad([](abi::DriverConfig& c) {
              c.nic_rx_descriptors = 2048;
              c.nic_tx_descriptors = 2048;
              c.dma_driver_area_size -= 4096;
              c.dma_buffer_area_offset -= 4096;
            }),
            "config: the driver area needs 65536 bytes for 2048 RX and 2048 TX descriptors, "
            "dma_driver_area_size is 61440");
}

TEST(E1000ConfigTest, LayoutPutsRingsOnPages) {
  E1000DmaLayout l = E1000DmaLayout::compute(e1000_test_config(16, 8));
  EXPECT_EQ(l.rx_ring_offset, 0u);
  EXPECT_EQ(l.tx_ring_offset, 4096u);
  EXPECT_EQ(l.total_size, 8192u);
  l = E1000DmaLayout::compute(e1000_test_config(512, 264));
  EXPECT_EQ(l.tx_ring_offset, 8192u);
  EXPECT_EQ(l.total_size, 8192u + 8192u);
}

TEST_F(E1000DriverTest, BringUpSequence) {
  make();
  dev_->set(e1000::kRegCtrl, e1000::ctrl::kLinkReset | e1000::ctrl::kFullDuplex);
  ASSERT_TRUE(driver_->bring_up().ok());
  const auto& w = dev_->writes;
  ASSERT_GE(w.size(), 4u);
  // Interrupts masked, then the reset, before anything else.
  EXPECT_EQ(w[0], std::make_pair(e1000::kRegImc, 0xFFFFFFFFu));
  EXPECT_EQ(w[1].first, e1000::kRegCtrl);
  EXPECT_NE(w[1].second & e1000::ctrl::kReset, 0u);
  // The MAC from the EEPROM, programmed into RAL0/RAH0 with AV.
  EXPECT_TRUE(std::equal(driver_->mac(), driver_->mac() + 6, FakeE1000Device::kMac));
  EXPECT_EQ(dev_->reg(e1000::kRegRal0), 0x105e0002u);
  EXPECT_EQ(dev_->reg(e1000::kRegRah0), 0x3120u | e1000::rah_bits::kAddressValid);
  // Link up, no link reset left over.
  uint32_t ctrl = dev_->reg(e1000::kRegCtrl);
  EXPECT_NE(ctrl & e1000::ctrl::kSetLinkUp, 0u);
  EXPECT_EQ(ctrl & (e1000::ctrl::kLinkReset | e1000::ctrl::kReset), 0u);
  // Rings at their device addresses, lengths in bytes, empty.
  const E1000DmaLayout& l = driver_->layout();
  EXPECT_EQ(dev_->reg(e1000::kRegRdbal),
            static_cast<uint32_t>(FakeE1000Dma::kBusBase + l.rx_ring_offset));
  EXPECT_EQ(dev_->reg(e1000::kRegRdbah), static_cast<uint32_t>(FakeE1000Dma::kBusBase >> 32));
  EXPECT_EQ(dev_->reg(e1000::kRegTdbal),
            static_cast<uint32_t>(FakeE1000Dma::kBusBase + l.tx_ring_offset));
  EXPECT_EQ(dev_->reg(e1000::kRegRdlen), 16u * 16);
  EXPECT_EQ(dev_->reg(e1000::kRegTdlen), 8u * 16);
  EXPECT_EQ(dev_->reg(e1000::kRegRdt), 0u);
  EXPECT_EQ(dev_->reg(e1000::kRegTdt), 0u);
  EXPECT_EQ(dev_->reg(e1000::kRegItr), 196u);
  EXPECT_EQ(dev_->reg(e1000::kRegRctl), e1000::rctl::kEnable | e1000::rctl::kBroadcastAccept |
                                            e1000::rctl::kBsize2048 | e1000::rctl::kStripCrc);
  uint32_t tctl = dev_->reg(e1000::kRegTctl);
  EXPECT_NE(tctl & e1000::tctl::kEnable, 0u);
  EXPECT_NE(tctl & e1000::tctl::kPadShortPackets, 0u);
  EXPECT_EQ(dev_->reg(e1000::kRegIms), e1000::icr::kRxTimer | e1000::icr::kTxDescWritten |
                                           e1000::icr::kRxOverrun | e1000::icr::kLinkStatusChange);
  // Receive and transmit are enabled last, after the rings, and IMS after them.
  auto pos = [&](size_t reg) {
    return std::find_if(w.begin(), w.end(), [&](auto& p) { return p.first == reg; }) - w.begin();
  };
  EXPECT_LT(pos(e1000::kRegRdlen), pos(e1000::kRegRctl));
  EXPECT_LT(pos(e1000::kRegTdlen), pos(e1000::kRegTctl));
  EXPECT_LT(pos(e1000::kRegRctl), pos(e1000::kRegIms));
  EXPECT_TRUE(driver_->link_up());
  EXPECT_EQ(driver_->tx_free_slots(), 7u);
  EXPECT_EQ(driver_->rx_free_slots(), 15u);
}

TEST_F(E1000DriverTest, BringUpFailsWhenResetNeverCompletes) {
  make();
  dev_->reset_delay_reads = ~0u;
  Status s = driver_->bring_up();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("CTRL.RST did not self-clear"), std::string::npos);
  EXPECT_EQ(dev_->count_writes(e1000::kRegRctl),
            0u);  // nothing enabled on a device not out of reset
}

TEST_F(E1000DriverTest, MacFallsBackToRal0WhenEerdNeverAnswers) {
  make();
  dev_->eerd_works = false;
  ASSERT_TRUE(driver_->bring_up().ok());
  EXPECT_TRUE(std::equal(driver_->mac(), driver_->mac() + 6, FakeE1000Device::kMac));
}

TEST_F(E1000DriverTest, TxBatchIsOneDoorbellAndNoCopy) {
  start();
  for (uint16_t id = 0; id < 5; ++id) driver_->transmit(tx_request(id, 60 + id * 100));
  EXPECT_EQ(dev_->count_writes(e1000::kRegTdt), 0u);  // nothing before the doorbell
  driver_->ring_doorbells();
  EXPECT_EQ(dev_->values_written(e1000::kRegTdt), std::vector<uint32_t>{5});
  ASSERT_EQ(dev_->tx_descriptors.size(), 5u);
  for (uint16_t id = 0; id < 5; ++id) {
    const auto& d = dev_->tx_descriptors[id];
    // The device is pointed at the shim's own buffer (bus address of its IOVA).
    EXPECT_EQ(d.buffer_addr, dev_->dma().device_address(buffer_iova(id)));
    EXPECT_EQ(d.length, 60u + id * 100);
    EXPECT_EQ(d.cmd, e1000::tx_cmd::kEndOfPacket | e1000::tx_cmd::kInsertFcs |
                         e1000::tx_cmd::kReportStatus);
    EXPECT_EQ(dev_->sent[id], testing::test_frame(id, 60 + id * 100));
  }
  auto done = reap_tx();
  ASSERT_EQ(done.size(), 5u);
  for (uint16_t id = 0; id < 5; ++id) {
    EXPECT_EQ(done[id].buffer_id, id);
    EXPECT_EQ(done[id].iova, buffer_iova(id));
    EXPECT_EQ(done[id].status, static_cast<uint16_t>(NetStatus::kOk));
  }
  EXPECT_EQ(driver_->stats().batches, 1u);
  EXPECT_EQ(cb_->status.doorbells, 1u);
}

TEST_F(E1000DriverTest, TxReclaimsOnlyWhatTheDeviceMarkedDone) {
  start();
  dev_->hold_tx = true;
  for (uint16_t id = 0; id < 3; ++id) driver_->transmit(tx_request(id, 100));
  driver_->ring_doorbells();
  EXPECT_TRUE(reap_tx().empty());
  EXPECT_EQ(driver_->tx_outstanding(), 3u);
  // The device finishes the first descriptor only.
  dev_->tx_ring()[0].status = e1000::tx_status::kDone;
  auto done = reap_tx();
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].buffer_id, 0u);
  // DD on a slot past the tail (never posted) is not believed either.
  dev_->tx_ring()[5].status = e1000::tx_status::kDone;
  dev_->process_tx();
  EXPECT_EQ(reap_tx().size(), 2u);
  EXPECT_TRUE(reap_tx().empty());
  EXPECT_EQ(driver_->tx_outstanding(), 0u);
}

TEST_F(E1000DriverTest, TxRingWrapsAndKeepsBufferIds) {
  start();  // 8 TX descriptors: at most 7 outstanding
  uint16_t id = 0;
  std::vector<uint32_t> want_tdt;
  for (int round = 0; round < 5; ++round) {
    uint32_t n = driver_->tx_free_slots();
    ASSERT_EQ(n, 7u);
    for (uint32_t i = 0; i < n; ++i) driver_->transmit(tx_request(id++, 64));
    EXPECT_EQ(driver_->tx_free_slots(), 0u);
    driver_->ring_doorbells();
    want_tdt.push_back(id % 8);
    auto done = reap_tx();
    ASSERT_EQ(done.size(), n);
    for (uint32_t i = 0; i < n; ++i) EXPECT_EQ(done[i].buffer_id, id - n + i);
  }
  EXPECT_EQ(dev_->values_written(e1000::kRegTdt), want_tdt);
  EXPECT_EQ(dev_->sent.size(), 35u);
  EXPECT_EQ(dev_->sent[34], testing::test_frame(34, 64));
}

TEST_F(E1000DriverTest, TxRefusesBadDescriptorsWithoutTouchingTheDevice) {
  start();
  std::vector<NetDescriptor> bad = {
      {0, 64, 100, 0},                        // the driver area (descriptor rings)
      {buffer_iova(1), 13, 101, 0},           // shorter than an Ethernet header
      {buffer_iova(2), 1515, 102, 0},         // longer than a frame without FCS
      {kDmaSize - 32, 64, 103, 0},            // runs past the DMA region
      {~uint64_t{0} - 10, 64, 104, 0},        // wraps around
      {kDriverArea + 4096 - 30, 64, 105, 0},  // crosses into a non-adjacent device page
  };
  for (const auto& d : bad) driver_->transmit(d);
  driver_->transmit(tx_request(7, 1514));  // the largest legal frame
  driver_->ring_doorbells();
  auto done = reap_tx();
  ASSERT_EQ(done.size(), bad.size() + 1);
  for (size_t i = 0; i < bad.size(); ++i) {
    EXPECT_EQ(done[i].buffer_id, bad[i].buffer_id);
    EXPECT_EQ(done[i].status, static_cast<uint16_t>(NetStatus::kDropped)) << i;
  }
  EXPECT_EQ(done.back().status, static_cast<uint16_t>(NetStatus::kOk));
  EXPECT_EQ(dev_->tx_descriptors.size(), 1u);
  EXPECT_EQ(driver_->stats().rejected, bad.size());
  EXPECT_EQ(cb_->status.rejected, bad.size());
}

TEST_F(E1000DriverTest, TxBeyondFreeSlotsComesBackDropped) {
  start();
  for (uint16_t id = 0; id < 9; ++id) driver_->transmit(tx_request(id, 64));
  driver_->ring_doorbells();
  auto done = reap_tx();
  ASSERT_EQ(done.size(), 9u);
  size_t dropped = std::count_if(done.begin(), done.end(), [](auto& d) {
    return d.status == static_cast<uint16_t>(NetStatus::kDropped);
  });
  EXPECT_EQ(dropped, 2u);
  EXPECT_EQ(dev_->sent.size(), 7u);
}

TEST_F(E1000DriverTest, InterruptReadsIcrWhichClearsAndUnmasks) {
  start();
  dev_->raise(e1000::icr::kRxOverrun | e1000::icr::kLinkStatusChange);
  ASSERT_TRUE(driver_->on_interrupt().ok());
  EXPECT_EQ(driver_->stats().interrupts, 1u);
  EXPECT_EQ(driver_->stats().rx_overruns, 1u);
  EXPECT_EQ(driver_->stats().link_changes, 1u);
  EXPECT_EQ(dev_->reg(e1000::kRegIcr), 0u);
  EXPECT_EQ(dev_->unmasks, 1u);
  EXPECT_EQ(cb_->status.interrupts, 1u);
  // No new cause: nothing counted twice.
  ASSERT_TRUE(driver_->on_interrupt().ok());
  EXPECT_EQ(driver_->stats().rx_overruns, 1u);
}

TEST_F(E1000DriverTest, CheckpointIsCommittedBeforeEachDoorbell) {
  start();
  // At the moment the device sees TDT/RDT, the newest valid checkpoint must
  // already list every descriptor up to that tail.
  std::vector<std::string> problems;
  dev_->on_write = [&](size_t off, uint32_t v) {
    if (off != e1000::kRegTdt && off != e1000::kRegRdt) return;
    const abi::CheckpointSlot& a = ckpt_->slots[0];
    const abi::CheckpointSlot& b = ckpt_->slots[1];
    const abi::CheckpointSlot& s = a.epoch > b.epoch ? a : b;
    E1000Checkpoint c;
    std::memcpy(&c, s.payload, s.payload_size);
    if (s.device_class != abi::kCheckpointClassE1000) problems.push_back("class");
    if (s.payload_size != e1000_checkpoint_size(16, 8)) problems.push_back("size");
    if (crc32c(s.payload, s.payload_size) != s.checksum) problems.push_back("crc");
    uint32_t tail = off == e1000::kRegTdt ? c.tx_tail : c.rx_tail;
    if (tail != v) problems.push_back("tail " + std::to_string(tail) + " != " + std::to_string(v));
    if (off == e1000::kRegTdt)
      for (uint32_t slot = c.tx_clean; slot != c.tx_tail; slot = (slot + 1) % 8)
        if (c.buffer_ids[16 + slot] != 40 + slot) problems.push_back("tx id");
    if (off == e1000::kRegRdt)
      for (uint32_t slot = c.rx_next; slot != c.rx_tail; slot = (slot + 1) % 16)
        if (c.buffer_ids[slot] != 10 + slot) problems.push_back("rx id");
  };
  for (uint16_t i = 0; i < 3; ++i) driver_->post_rx(testing::E1000DriverFixture::rx_buffer(10 + i));
  for (uint16_t i = 0; i < 4; ++i) driver_->transmit(tx_request(40 + i, 80));
  uint64_t before = driver_->checkpoint_epoch();
  driver_->ring_doorbells();
  EXPECT_EQ(driver_->checkpoint_epoch(), before + 1);  // one commit for both doorbells
  EXPECT_EQ(dev_->count_writes(e1000::kRegTdt), 1u);
  EXPECT_EQ(dev_->count_writes(e1000::kRegRdt), 1u);
  EXPECT_TRUE(problems.empty()) << problems.front();
  // Reaping moves the heads: the next ring_doorbells() commits even without a doorbell.
  EXPECT_EQ(reap_tx().size(), 4u);
  driver_->ring_doorbells();
  EXPECT_EQ(driver_->checkpoint_epoch(), before + 2);
  const abi::CheckpointSlot& s =
      ckpt_->slots[0].epoch > ckpt_->slots[1].epoch ? ckpt_->slots[0] : ckpt_->slots[1];
  E1000Checkpoint c;
  std::memcpy(&c, s.payload, s.payload_size);
  EXPECT_EQ(c.tx_clean, c.tx_tail);
  EXPECT_EQ(c.tx_tail, 4u);
  EXPECT_EQ(c.rx_tail, 3u);
  EXPECT_TRUE(std::equal(c.mac, c.mac + 6, FakeE1000Device::kMac));
  driver_->ring_doorbells();  // nothing changed: no commit
  EXPECT_EQ(driver_->checkpoint_epoch(), before + 2);
}

}  // namespace
}  // namespace uldd::drivers
