// Transmit path of the e1000 model (SDM §3.3): on a TDT write, walk the ring
// from TDH to TDT, gather the buffers of each frame up to EOP, hand the frame
// to the wire, write DD back where RS asks for it, advance TDH, and raise
// TXDW (a descriptor was written back) and TXQE (the ring ran empty).
#include <atomic>
#include <cstring>

#include "devices/e1000/e1000_model.h"

namespace uldd::e1000 {

void E1000Model::run_tx(TimePoint now) {
  if ((tctl_ & tctl::kEnable) == 0) return;
  Ring ring;
  if (!ring_from_registers(kRegTdbal, kRegTdbah, kRegTdlen, &ring) || tdt_ >= ring.count ||
      tdh_ >= ring.count) {
    if (tdt_ != tdh_) ++stats_.tx_ring_errors;  // work asked for on an unusable ring
    return;
  }
  if (tdh_ == tdt_ || tx_held_) return;  // held: poll_timers() runs it when the time comes
  uint32_t delay_ms = 0;
  if (faults_.fire(abi::DeviceFault::kDelayedCommand, &delay_ms)) {
    // delayed-command (device fault): these frames go out delay_ms late.
    tx_held_ = true;
    tx_hold_until_ = now + std::chrono::milliseconds(delay_ms);
    return;
  }
  bool wrote_back = false;
  while (tdh_ != tdt_) {
    auto* slot = reinterpret_cast<TxDescriptor*>(dma_.data() + ring.base + uint64_t{tdh_} * 16);
    TxDescriptor desc;
    std::memcpy(&desc, slot, sizeof desc);  // copy once: the driver may rewrite it
    const uint64_t addr = desc.buffer_addr;
    const uint32_t len = desc.length;
    if ((desc.cmd & tx_cmd::kExtension) != 0) {
      // Context/data descriptors (offloads) are not modelled: drop the frame.
      tx_frame_bad_ = true;
      ++stats_.tx_bad_descriptors;
    } else if (addr > dma_.size() || len > dma_.size() - addr) {
      tx_frame_bad_ = true;
      ++stats_.tx_bad_descriptors;
    } else if (tx_frame_.size() + len > kMaxTxFrameBytes) {
      if (!tx_frame_bad_) ++stats_.tx_oversize;
      tx_frame_bad_ = true;
    } else if (!tx_frame_bad_) {
      tx_frame_.insert(tx_frame_.end(), dma_.data() + addr, dma_.data() + addr + len);
    }
    uint8_t status = tx_status::kDone;
    if ((desc.cmd & tx_cmd::kEndOfPacket) != 0) {
      if (!faults_.armed_with(abi::DeviceFault::kFailedCommand, abi::kE1000FailRx) &&
          faults_.fire(abi::DeviceFault::kFailedCommand)) {
        // failed-command (device fault): the frame is not transmitted and
        // written back with EC (Excess Collisions, SDM §3.3.3.2), counted in
        // ECOL (statistics, §13.7) as the card does after 16 collisions.
        tx_frame_.clear();
        tx_frame_bad_ = false;
        status |= tx_status::kExcessCollisions;
        add_stat(stats::kEcol, 1);
        ++stats_.tx_failed;
      } else {
        send_frame(now);
      }
    }
    if ((desc.cmd & tx_cmd::kReportStatus) != 0) {
      // DD is the driver's signal that the buffer is free again: release, so
      // that everything above (the copy out of it) happens before.
      std::atomic_ref<uint8_t>(slot->status).store(status, std::memory_order_release);
      wrote_back = true;
    }
    tdh_ = (tdh_ + 1) % ring.count;
  }
  set_reg(kRegTdh, tdh_);
  interrupts_.raise((wrote_back ? icr::kTxDescWritten : 0) | icr::kTxQueueEmpty, now);
}

void E1000Model::send_frame(TimePoint) {
  if (tx_frame_bad_ || tx_frame_.empty()) {
    tx_frame_.clear();
    tx_frame_bad_ = false;
    return;
  }
  // PSP pads short frames to the 60-byte minimum (before FCS), §13.4.33.
  if ((tctl_ & tctl::kPadShortPackets) != 0 && tx_frame_.size() < kMinFrameBytes)
    tx_frame_.resize(kMinFrameBytes, std::byte{0});
  const size_t bytes = tx_frame_.size();
  // IFCS asks the MAC to append the CRC; a TAP carries frames without one.
  if (Status s = wire_.send(tx_frame_); !s.ok()) {
    ++stats_.tx_wire_errors;
  } else {
    ++stats_.tx_frames;
    stats_.tx_bytes += bytes;
    // Octet counters include the 4-byte FCS the wire would have carried.
    add_stat(stats::kGptc, 1);
    add_stat(stats::kTpt, 1);
    add_stat64(stats::kGotcl, bytes + 4);
    add_stat64(stats::kTotl, bytes + 4);
    if (bytes >= 6 && (std::to_integer<uint8_t>(tx_frame_[0]) & 1) != 0) {
      bool broadcast = true;
      for (size_t i = 0; i < 6; ++i) broadcast &= tx_frame_[i] == std::byte{0xFF};
      add_stat(broadcast ? stats::kBptc : stats::kMptc, 1);
    }
  }
  tx_frame_.clear();
  tx_frame_bad_ = false;
}

}  // namespace uldd::e1000
