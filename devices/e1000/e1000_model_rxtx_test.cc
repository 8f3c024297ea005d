// e1000 model data path: TX gather and ring wrap, RX ring wrap and multi-buffer
// frames, RX ring full (MPC, RXO, no livelock), address filter, FCS, hostile
// descriptors, statistics read to clear, state surviving the driver.
#include <cstring>

#include "devices/e1000/e1000_test_host.h"
#include "devices/e1000/ethernet_fcs.h"

namespace uldd::e1000 {
namespace {

using testing::E1000TestHost;

// Puts `frame` into TX descriptor `slot` (split into `pieces` buffers) and
// returns the slot after it.
uint32_t post_tx(E1000TestHost& host, uint32_t slot, uint32_t entries,
                 const std::vector<std::byte>& frame, uint32_t pieces = 1) {
  size_t done = 0;
  for (uint32_t p = 0; p < pieces; ++p) {
    size_t len = p + 1 == pieces ? frame.size() - done : frame.size() / pieces;
    uint64_t iova = E1000TestHost::tx_buffer_iova(slot);
    std::memcpy(host.dma(iova), frame.data() + done, len);
    uint8_t cmd = tx_cmd::kInsertFcs | tx_cmd::kReportStatus;
    if (p + 1 == pieces) cmd |= tx_cmd::kEndOfPacket;
    host.tx_desc(slot) = TxDescriptor{iova, static_cast<uint16_t>(len), 0, cmd, 0, 0, 0};
    done += len;
    slot = (slot + 1) % entries;
  }
  return slot;
}

TEST(E1000ModelTx, SendsGatheredFramesAndWrapsTheRing) {
  E1000TestHost host;
  const uint32_t entries = 8;
  host.bring_up(entries);
  EXPECT_EQ(host.read(kRegIcr), icr::kLinkStatusChange);  // from CTRL.SLU
  host.write(kRegIms, icr::kTxDescWritten);
  uint32_t tail = 0;
  uint32_t sent = 0;
  for (int round = 0; round < 6; ++round) {  // 6 x 3 descriptors: wraps twice
    auto frame = host.frame(100 + round * 200, static_cast<uint8_t>(round));
    tail = post_tx(host, tail, entries, frame, 3);
    host.write(kRegTdt, tail);
    ++sent;
    EXPECT_EQ(host.peer_receive(), frame) << "round " << round;
    EXPECT_EQ(host.read(kRegTdh), tail);
    for (uint32_t k = 1; k <= 3; ++k)
      EXPECT_EQ(host.tx_desc((tail + entries - k) % entries).status & tx_status::kDone,
                tx_status::kDone);
    EXPECT_EQ(host.irqs(), 1u);
    EXPECT_EQ(host.read(kRegIcr), icr::kTxDescWritten | icr::kTxQueueEmpty);
  }
  EXPECT_EQ(host.read(stats::kGptc), sent);
  EXPECT_EQ(host.read(stats::kGptc), 0u);  // read to clear
  EXPECT_EQ(host.read(stats::kTpt), sent);
  EXPECT_TRUE(host.peer_receive().empty());
}

TEST(E1000ModelTx, PadsShortFramesAndRefusesBadBuffers) {
  E1000TestHost host;
  const uint32_t entries = 8;
  host.bring_up(entries);
  uint32_t tail = post_tx(host, 0, entries, host.frame(20, 1));
  host.write(kRegTdt, tail);
  auto padded = host.peer_receive();
  ASSERT_EQ(padded.size(), kMinFrameBytes);

  // A frame whose second buffer points outside the DMA region is dropped as a
  // whole; the descriptors still complete and the next frame goes out.
  auto frame = host.frame(300, 2);
  tail = post_tx(host, tail, entries, frame, 2);
  host.tx_desc(tail - 1).buffer_addr = E1000TestHost::kDmaBytes - 10;
  tail = post_tx(host, tail, entries, host.frame(64, 3));
  host.write(kRegTdt, tail);
  EXPECT_EQ(host.peer_receive(), host.frame(64, 3));
  EXPECT_TRUE(host.peer_receive().empty());
  EXPECT_EQ(host.model().stats().tx_bad_descriptors, 1u);
  EXPECT_EQ(host.read(kRegTdh), tail);

  // A tail beyond the ring: nothing happens, counted.
  host.write(kRegTdt, entries + 3);
  EXPECT_EQ(host.read(kRegTdh), tail);
  EXPECT_EQ(host.model().stats().tx_ring_errors, 1u);
  // A ring outside the DMA region: refused the same way.
  host.write(kRegTdbal, static_cast<uint32_t>(E1000TestHost::kDmaBytes));
  host.write(kRegTdt, 1);
  EXPECT_EQ(host.model().stats().tx_ring_errors, 2u);
}

TEST(E1000ModelRx, DeliversFramesAndWrapsTheRing) {
  E1000TestHost host;
  const uint32_t entries = 8;
  host.bring_up(entries);
  host.write(kRegIms, icr::kRxTimer);
  host.write(kRegRdt, entries - 1);  // all but one buffer (RDH == RDT means none)
  uint32_t head = 0;
  for (int i = 0; i < 20; ++i) {
    auto frame = host.frame(60 + 70 * i, static_cast<uint8_t>(i));
    host.peer_send(frame);
    EXPECT_EQ(host.model().on_wire_readable(host.now()), 1u);
    RxDescriptor& d = host.rx_desc(head);
    ASSERT_EQ(d.status & (rx_status::kDone | rx_status::kEndOfPacket),
              rx_status::kDone | rx_status::kEndOfPacket);
    ASSERT_EQ(d.length, frame.size());
    EXPECT_EQ(std::memcmp(host.dma(d.buffer_addr), frame.data(), frame.size()), 0);
    EXPECT_EQ(host.irqs(), 1u);
    EXPECT_NE(host.read(kRegIcr) & icr::kRxTimer, 0u);
    // The driver recycles the buffer and hands it back: RDT follows RDH.
    d.status = 0;
    host.write(kRegRdt, head);
    head = (head + 1) % entries;
    EXPECT_EQ(host.read(kRegRdh), head);
  }
  EXPECT_EQ(host.read(stats::kGprc), 20u);
  EXPECT_EQ(host.read(stats::kGprc), 0u);
}

TEST(E1000ModelRx, LargeFrameSpansBuffersAndFcsIsKeptWithoutSecrc) {
  E1000TestHost host;
  host.bring_up(8, rctl::kBsize512);  // no SECRC: the 4-byte FCS stays
  host.write(kRegRdt, 7);
  auto frame = host.frame(1200, 9);
  host.peer_send(frame);
  host.model().on_wire_readable(host.now());
  // 1204 bytes in 512-byte buffers: 512 + 512 + 180, EOP on the third.
  EXPECT_EQ(host.rx_desc(0).length, 512);
  EXPECT_EQ(host.rx_desc(0).status & rx_status::kEndOfPacket, 0);
  EXPECT_EQ(host.rx_desc(2).length, 180);
  EXPECT_NE(host.rx_desc(2).status & rx_status::kEndOfPacket, 0);
  std::vector<std::byte> got(1204);
  for (int i = 0; i < 3; ++i)
    std::memcpy(got.data() + 512 * i, host.dma(E1000TestHost::rx_buffer_iova(i)),
                host.rx_desc(i).length);
  EXPECT_EQ(std::memcmp(got.data(), frame.data(), frame.size()), 0);
  uint32_t fcs = 0;
  std::memcpy(&fcs, got.data() + 1200, 4);
  EXPECT_EQ(fcs, ethernet_fcs(frame));
  EXPECT_EQ(host.read(kRegRdh), 3u);
}

TEST(E1000ModelRx, FullRingDropsAtTheDeviceAndCountsMpc) {
  E1000TestHost host;
  const uint32_t entries = 8;
  host.bring_up(entries);
  host.write(kRegIms, icr::kRxOverrun | icr::kRxTimer);
  host.write(kRegRdt, 3);  // three buffers
  for (int i = 0; i < 50; ++i) host.peer_send(host.frame(100, static_cast<uint8_t>(i)));
  // The model drains the wire within its budget and returns; nothing spins.
  uint32_t taken = 0;
  while (uint32_t n = host.model().on_wire_readable(host.now())) taken += n;
  EXPECT_EQ(taken, 50u);
  EXPECT_EQ(host.read(kRegRdh), 3u);
  EXPECT_EQ(host.read(stats::kGprc), 3u);
  EXPECT_EQ(host.read(stats::kMpc), 47u);
  EXPECT_EQ(host.read(stats::kMpc), 0u);
  EXPECT_EQ(host.model().stats().rx_missed, 47u);
  EXPECT_NE(host.read(kRegIcr) & icr::kRxOverrun, 0u);
  // Buffers handed back (lazily, no kick): the next frame is received again.
  for (uint32_t i = 0; i < 3; ++i) host.rx_desc(i).status = 0;
  host.dev().write32_lazy(kRegRdt, 6);
  host.peer_send(host.frame(100, 77));
  EXPECT_EQ(host.model().on_wire_readable(host.now()), 1u);
  EXPECT_EQ(host.read(kRegRdh), 4u);
}

TEST(E1000ModelRx, FiltersByAddressAndReceiverState) {
  E1000TestHost host;
  host.bring_up(8);
  host.write(kRegRdt, 7);
  MacAddress other{{0x52, 0x54, 0x00, 0xAA, 0xBB, 0xCC}};
  MacAddress broadcast{{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}};
  MacAddress multicast{{0x01, 0x00, 0x5E, 0x00, 0x00, 0x01}};
  host.peer_send(host.frame(80, 1, &other));
  host.peer_send(host.frame(80, 2, &broadcast));
  host.peer_send(host.frame(80, 3, &multicast));
  host.model().on_wire_readable(host.now());
  EXPECT_EQ(host.read(kRegRdh), 2u);
  EXPECT_EQ(host.model().stats().rx_filtered, 1u);
  EXPECT_EQ(host.read(stats::kBprc), 1u);
  EXPECT_EQ(host.read(stats::kMprc), 1u);
  // Without BAM broadcasts are filtered; with RCTL.EN clear nothing arrives.
  host.write(kRegRctl, rctl::kEnable | rctl::kStripCrc);
  host.peer_send(host.frame(80, 4, &broadcast));
  host.write(kRegRctl, 0);
  host.peer_send(host.frame(80, 5));
  host.model().on_wire_readable(host.now());
  EXPECT_EQ(host.read(kRegRdh), 2u);
  EXPECT_EQ(host.model().stats().rx_disabled, 2u);  // both read after RCTL went to 0
}

TEST(E1000ModelRx, BadBufferAddressIsRefusedAndReported) {
  E1000TestHost host;
  host.bring_up(8);
  host.rx_desc(0).buffer_addr = E1000TestHost::kDmaBytes - 100;  // frame would overrun the region
  host.rx_desc(1).buffer_addr = ~uint64_t{0};
  host.write(kRegRdt, 7);
  host.peer_send(host.frame(200, 1));
  host.peer_send(host.frame(200, 2));
  host.peer_send(host.frame(200, 3));
  host.model().on_wire_readable(host.now());
  EXPECT_EQ(host.rx_desc(0).errors, rx_errors::kRxData);
  EXPECT_EQ(host.rx_desc(0).length, 0);
  EXPECT_EQ(host.rx_desc(1).errors, rx_errors::kRxData);
  EXPECT_EQ(host.rx_desc(2).errors, 0);
  EXPECT_EQ(host.rx_desc(2).length, 200);
  EXPECT_EQ(host.model().stats().rx_bad_descriptors, 2u);
  // A ring outside the DMA region: frames dropped and counted, no crash.
  host.write(kRegRdbal, static_cast<uint32_t>(E1000TestHost::kDmaBytes - 64));
  host.peer_send(host.frame(200, 4));
  host.model().on_wire_readable(host.now());
  EXPECT_EQ(host.model().stats().rx_ring_errors, 1u);
}

TEST(E1000ModelRx, StateSurvivesTheDriverGoingAway) {
  E1000TestHost host;
  host.bring_up(8);
  host.write(kRegRdt, 5);
  host.write(kRegIms, icr::kRxTimer);
  // The driver dies: its EmulatedUio is gone; frames keep arriving into the
  // buffers it had handed over, as on a real card.
  host.peer_send(host.frame(90, 1));
  host.peer_send(host.frame(90, 2));
  host.model().on_wire_readable(host.now());
  EXPECT_EQ(host.read(kRegRdh), 2u);
  EXPECT_EQ(host.read(kRegRdt), 5u);
  EXPECT_EQ(host.read(kRegIms), icr::kRxTimer);
  EXPECT_NE(host.read(kRegStatus) & status::kLinkUp, 0u);
}

}  // namespace
}  // namespace uldd::e1000
