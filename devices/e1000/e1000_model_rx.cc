// Receive path of the e1000 model (SDM §3.2): frames from the wire pass the
// address filter, then fill descriptors from RDH while RDH != RDT (a frame
// larger than one buffer spans several, EOP on the last), with length and
// DD|EOP written back and RDH advanced; RXT0 is raised, and RXDMT0 when the
// free descriptors fall to the RCTL.RDMTS threshold. With too few free
// descriptors the frame is dropped at the device and counted in MPC, with
// RXO raised, exactly as the card overruns: the wire is still drained, so a
// flood costs the model reading time but never wedges it.
#include <spdlog/spdlog.h>

#include <atomic>
#include <cstring>

#include "devices/e1000/e1000_model.h"
#include "devices/e1000/ethernet_fcs.h"

namespace uldd::e1000 {

uint32_t E1000Model::on_wire_readable(TimePoint now) {
  // Lazily written RDTs (buffers given back without a kick) count from here.
  apply_writes(now);
  uint32_t taken = 0;
  while (taken < config_.rx_budget) {
    // Room for the FCS the model may append.
    auto got = wire_.receive(std::span(rx_buffer_).first(kMaxRxFrameBytes - 4));
    if (!got.ok() || got.value() == 0) break;
    ++taken;
    if (faults_.hung()) {
      ++stats_.hung_dropped;  // device-hang: the wire is drained, nothing delivered
      continue;
    }
    receive_frame(std::span(rx_buffer_).first(got.value()), now);
  }
  interrupts_.poll(now);
  return taken;
}

bool E1000Model::accept_address(std::span<const std::byte> frame) const {
  if ((rctl_ & rctl::kUnicastPromisc) != 0) return true;
  const auto dst0 = std::to_integer<uint8_t>(frame[0]);
  if ((dst0 & 1) != 0) {
    bool broadcast = true;
    for (size_t i = 0; i < 6; ++i) broadcast &= frame[i] == std::byte{0xFF};
    // Multicast is accepted whatever the MTA says (not modelled).
    return !broadcast || (rctl_ & rctl::kBroadcastAccept) != 0;
  }
  uint32_t lo = 0;
  uint32_t hi = 0;
  std::memcpy(&lo, frame.data(), 4);  // little endian host: RAL byte order
  hi = std::to_integer<uint32_t>(frame[4]) | (std::to_integer<uint32_t>(frame[5]) << 8);
  for (size_t n = 0; n < kReceiveAddresses; ++n) {
    uint32_t rah_value = reg(rah(n));
    if ((rah_value & rah_bits::kAddressValid) != 0 && reg(ral(n)) == lo &&
        (rah_value & rah_bits::kHighMask) == hi)
      return true;
  }
  return false;
}

void E1000Model::receive_frame(std::span<std::byte> frame, TimePoint now) {
  if ((rctl_ & rctl::kEnable) == 0 || !link_up()) {
    ++stats_.rx_disabled;
    if (stats_.rx_disabled <= 4)
      spdlog::info("uldd-hw e1000: RX frame of {} bytes dropped: {}", frame.size(),
                   (rctl_ & rctl::kEnable) == 0 ? "receiver not enabled (RCTL.EN)" : "link down");
    return;
  }
  if (frame.size() < 14) return;  // runt: the MAC would discard it
  if (!accept_address(frame)) {
    ++stats_.rx_filtered;
    return;
  }
  Ring ring;
  if (!ring_from_registers(kRegRdbal, kRegRdbah, kRegRdlen, &ring) || rdh_ >= ring.count ||
      rdt_ >= ring.count) {
    ++stats_.rx_ring_errors;
    add_stat(stats::kMpc, 1);
    interrupts_.raise(icr::kRxOverrun, now);
    return;
  }
  const size_t payload = frame.size();
  size_t length = payload;
  if ((rctl_ & rctl::kStripCrc) == 0) {
    uint32_t fcs = ethernet_fcs(frame);
    std::memcpy(frame.data() + payload, &fcs, 4);  // rx_buffer_ keeps 4 bytes spare
    length += 4;
  }
  const uint32_t buffer_bytes = rctl::buffer_bytes(rctl_);
  const uint32_t needed = static_cast<uint32_t>((length + buffer_bytes - 1) / buffer_bytes);
  const uint32_t free_descriptors = (rdt_ + ring.count - rdh_) % ring.count;
  if (free_descriptors < needed) {
    ++stats_.rx_missed;
    // The first misses, and then every 1024th, with the ring as the device
    // saw it: a miss with a driver that thinks it posted buffers is a bug.
    if (stats_.rx_missed <= 4 || stats_.rx_missed % 1024 == 0)
      spdlog::warn(
          "uldd-hw e1000: RX frame of {} bytes dropped (miss {}): RDH {} RDT {} of {} "
          "descriptors, {} free, {} needed, {} register writes applied",
          payload, stats_.rx_missed, rdh_, rdt_, ring.count, free_descriptors, needed,
          stats_.writes_applied);
    add_stat(stats::kMpc, 1);
    add_stat(stats::kRnbc, 1);
    interrupts_.raise(icr::kRxOverrun, now);
    return;
  }
  // failed-command on RX (device fault): this frame arrives with a CRC error
  // (RDESC.ERRORS.CE, SDM §3.2.3.2), counted in CRCERRS (statistics, §13.7).
  uint8_t injected = 0;
  if (faults_.armed_with(abi::DeviceFault::kFailedCommand, abi::kE1000FailRx) &&
      faults_.fire(abi::DeviceFault::kFailedCommand)) {
    injected = rx_errors::kCrc;
    add_stat(stats::kCrcerrs, 1);
    ++stats_.rx_failed;
  }
  size_t done = 0;
  for (uint32_t i = 0; i < needed; ++i) {
    auto* slot = reinterpret_cast<RxDescriptor*>(dma_.data() + ring.base + uint64_t{rdh_} * 16);
    const uint64_t addr = slot->buffer_addr;  // read once
    const size_t chunk = std::min<size_t>(buffer_bytes, length - done);
    const bool last = i + 1 == needed;
    uint8_t errors = last ? injected : 0;
    uint16_t written = static_cast<uint16_t>(chunk);
    if (addr > dma_.size() || chunk > dma_.size() - addr) {
      // Refused: nothing is written outside the DMA region; the driver gets
      // the descriptor back marked with an RX data error.
      ++stats_.rx_bad_descriptors;
      errors = rx_errors::kRxData;
      written = 0;
    } else {
      std::memcpy(dma_.data() + addr, frame.data() + done, chunk);
    }
    slot->length = written;
    slot->csum = 0;
    slot->errors = errors;
    slot->special = 0;
    // DD last, with release: the driver's acquire of DD sees data and length.
    std::atomic_ref<uint8_t>(slot->status)
        .store(static_cast<uint8_t>(rx_status::kDone | rx_status::kIgnoreChecksum |
                                    (last ? rx_status::kEndOfPacket : 0)),
               std::memory_order_release);
    done += chunk;
    rdh_ = (rdh_ + 1) % ring.count;
  }
  set_reg(kRegRdh, rdh_);
  ++stats_.rx_frames;
  stats_.rx_bytes += payload;
  add_stat(stats::kGprc, 1);
  add_stat(stats::kTpr, 1);
  add_stat64(stats::kGorcl, payload + 4);
  add_stat64(stats::kTorl, payload + 4);
  if ((std::to_integer<uint8_t>(frame[0]) & 1) != 0) {
    bool broadcast = true;
    for (size_t i = 0; i < 6; ++i) broadcast &= frame[i] == std::byte{0xFF};
    add_stat(broadcast ? stats::kBprc : stats::kMprc, 1);
  }
  uint32_t causes = icr::kRxTimer;
  const uint32_t left = (rdt_ + ring.count - rdh_) % ring.count;
  const uint32_t rdmts = (rctl_ & rctl::kRdmtsMask) >> rctl::kRdmtsShift;  // 1/2, 1/4, 1/8
  if (left <= ring.count >> (rdmts + 1)) causes |= icr::kRxDescMinThreshold;
  interrupts_.raise(causes, now);
}

}  // namespace uldd::e1000
