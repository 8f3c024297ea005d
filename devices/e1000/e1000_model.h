// E1000Model: the device logic of uldd's emulated Intel 82540EM, i.e. the
// "hardware" the user-level e1000 driver programs (8254x SDM). It owns no
// memory and no file descriptors: it works on the BAR memfd mapping (128 KiB
// registers, with emulated UIO's MMIO side band at its end), the DMA region
// (descriptor rings and packet buffers, addressed by IOVA = offset), a Wire,
// and an interrupt callback. uldd-hw feeds it memfd mappings, a TAP and an
// eventfd (e1000_model_loop.h); unit tests feed it memfds and a socketpair.
//
// Register semantics come from the posted-write log of the side band
// (uio/mmio_sideband.h): every driver write is applied in order by
// apply_writes(), so ICS/IMS/IMC/ICR-write, EERD, CTRL.RST and doorbells
// behave as on the card. ICR and the statistics block are read to clear.
//
// Power-on contract (for the supervisor): create() publishes the side band,
// performs the power-on reset and writes STATUS last; a non-zero STATUS
// (kRegStatus, FD | 1000 Mb/s) means the device is ready for a driver to
// attach. Link up (STATUS.LU) follows CTRL.SLU.
//
// Everything the driver writes is untrusted: a ring or buffer outside the
// DMA region, a misaligned ring, a tail beyond the ring, an unknown register
// offset are refused and counted (stats()); never a crash, never a write
// outside the DMA region. State survives the driver going away; only CTRL.RST
// (or a new model) resets it.
//
// Not modelled (documented simplifications): RDTR/RADV/TIDV/TADV delays
// (RXT0/TXDW are raised at once; ITR still throttles), checksum offload,
// VLAN insertion/stripping, TCP segmentation, the PHY (MDIC completes at once
// with data 0), flow control, multicast table filtering (all multicast is
// accepted).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "abi/device_fault.h"
#include "common/result.h"
#include "devices/device_fault_reader.h"
#include "devices/e1000/e1000_eeprom.h"
#include "devices/e1000/e1000_interrupts.h"
#include "devices/e1000/e1000_spec.h"
#include "devices/e1000/mac_address.h"
#include "devices/e1000/wire.h"
#include "uio/mmio_sideband.h"

namespace uldd::e1000 {

struct E1000ModelConfig {
  MacAddress mac{{0x52, 0x54, 0x00, 0x12, 0x34, 0x56}};
  // Frames taken from the wire per on_wire_readable() call, so a flood cannot
  // keep the model from applying register writes and transmitting.
  uint32_t rx_budget = 64;
  // The supervisor's device faults (abi/device_fault.h), read at every
  // apply_writes(); null = none. Must outlive the model.
  abi::DeviceFaultRegion* device_faults = nullptr;
};

// Model-side counters beyond the SDM's statistics registers (which the driver
// reads and clears): what the model refused or dropped, and why.
struct E1000ModelStats {
  uint64_t writes_applied = 0;
  uint64_t bad_register_writes = 0;  // unaligned or outside the register space
  uint64_t reg_log_violations = 0;   // write-log indices scribbled on
  uint64_t resets = 0;               // CTRL.RST
  uint64_t tx_frames = 0;            // sent to the wire
  uint64_t tx_bytes = 0;
  uint64_t tx_bad_descriptors = 0;  // buffer outside the DMA region: frame dropped
  uint64_t tx_ring_errors = 0;      // TDBA/TDLEN/TDT unusable: ring stopped
  uint64_t tx_oversize = 0;         // frame longer than kMaxTxFrameBytes: dropped
  uint64_t tx_wire_errors = 0;      // the wire refused the frame
  uint64_t rx_frames = 0;           // delivered into the RX ring
  uint64_t rx_bytes = 0;
  uint64_t rx_missed = 0;           // no free descriptor: dropped (MPC)
  uint64_t rx_filtered = 0;         // not for us (address filter)
  uint64_t rx_disabled = 0;         // receiver off or link down: dropped
  uint64_t rx_bad_descriptors = 0;  // buffer outside the DMA region
  uint64_t rx_ring_errors = 0;      // RDBA/RDLEN/RDT unusable: dropped
  uint64_t tx_failed = 0;           // failed-command (device fault): not sent, DD|EC
  uint64_t rx_failed = 0;           // failed-command (device fault): delivered with CE
  uint64_t hung_dropped = 0;        // writes and frames ignored during a device-hang
};

class E1000Model {
 public:
  using Clock = std::chrono::steady_clock;
  using TimePoint = Clock::time_point;
  using InterruptSink = std::function<void()>;

  // Largest frame the model gathers from TX descriptors (no TSO: one frame
  // per EOP) and takes from the wire.
  static constexpr size_t kMaxTxFrameBytes = 16384;
  static constexpr size_t kMaxRxFrameBytes = 16384;

  // `bar` must be at least kBarSize bytes (the side band takes its last
  // 8 KiB); `dma` must not be empty.
  static Result<std::unique_ptr<E1000Model>> create(std::span<std::byte> bar,
                                                    std::span<std::byte> dma, Wire& wire,
                                                    InterruptSink irq,
                                                    E1000ModelConfig config = {});
  E1000Model(const E1000Model&) = delete;
  E1000Model& operator=(const E1000Model&) = delete;

  // Applies every register write the driver logged (kicked or lazy), in
  // order, with its side effects (TX runs on TDT). Call after every doorbell
  // kick; harmless when nothing is logged.
  void apply_writes(TimePoint now);
  // Takes up to config.rx_budget frames from the wire into the RX ring (or
  // drops and counts them). Returns the number of frames taken off the wire,
  // so the caller knows whether the wire may still hold more.
  uint32_t on_wire_readable(TimePoint now);
  // Raises a held (ITR) interrupt whose time has come, and runs TX held back
  // by a delayed-command fault whose time has come.
  void poll_timers(TimePoint now);
  bool next_deadline(TimePoint* when) const;
  // device-hang (abi/device_fault.h): until CTRL.RST nothing but that write
  // is applied, frames are dropped, no interrupt is raised.
  bool hung() const { return faults_.hung(); }

  bool link_up() const;
  const E1000ModelStats& stats() const { return stats_; }
  const InterruptStats& interrupt_stats() const { return interrupts_.stats(); }
  const MacAddress& mac() const { return config_.mac; }

 private:
  // A descriptor ring as the driver configured it, checked once per use.
  struct Ring {
    uint64_t base = 0;   // IOVA
    uint32_t count = 0;  // descriptors
  };

  E1000Model(std::span<std::byte> bar, std::span<std::byte> dma, uio::MmioSidebandHost sideband,
             Wire& wire, InterruptSink irq, E1000ModelConfig config);

  // The interrupt line as the device faults let it through.
  void raise_line();

  // Registers (e1000_model.cc).
  uint32_t reg(size_t offset) const;
  void set_reg(size_t offset, uint32_t value);
  void apply(uint32_t offset, uint32_t value, TimePoint now);
  void write_ctrl(uint32_t value, TimePoint now);
  void write_eerd(uint32_t value);
  void device_reset();
  void add_stat(size_t offset, uint32_t delta);
  void add_stat64(size_t low_offset, uint64_t delta);
  bool ring_from_registers(size_t base_lo, size_t base_hi, size_t len, Ring* ring) const;

  // Transmit (e1000_model_tx.cc).
  void run_tx(TimePoint now);
  void send_frame(TimePoint now);

  // Receive (e1000_model_rx.cc).
  bool accept_address(std::span<const std::byte> frame) const;
  void receive_frame(std::span<std::byte> frame, TimePoint now);

  std::span<std::byte> bar_;
  std::span<std::byte> dma_;
  uio::MmioSidebandHost sideband_;
  Wire& wire_;
  E1000ModelConfig config_;
  InterruptSink irq_;
  hw::DeviceFaultReader faults_;
  EepromImage eeprom_;
  E1000Interrupts interrupts_;

  // The device's own copies of what it acts on: the BAR words are only what
  // reads return, and a driver can store to them without going through the
  // log.
  uint32_t ctrl_ = 0;
  uint32_t rctl_ = 0;
  uint32_t tctl_ = 0;
  uint32_t rdh_ = 0, rdt_ = 0, tdh_ = 0, tdt_ = 0;

  std::vector<std::byte> tx_frame_;  // gathered so far (up to EOP)
  bool tx_frame_bad_ = false;        // a buffer of this frame was refused
  bool tx_held_ = false;             // delayed-command: TX waits until tx_hold_until_
  TimePoint tx_hold_until_{};
  std::vector<std::byte> rx_buffer_;
  E1000ModelStats stats_;
};

}  // namespace uldd::e1000
