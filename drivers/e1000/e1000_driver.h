// E1000Driver: the user-level e1000 (Intel 8254x, legacy descriptors) driver
// core. It moves shim packet buffers (NetDescriptor, abi/net_descriptor.h)
// into the device's TX and RX descriptor rings and back, without copying a
// byte of packet data: a descriptor points at the shim's own buffer.
//
// It owns neither the shim rings nor an event loop, so the same code runs in
// both modes: isolated (E1000DriverLoop in the uldd-e1000-driver process) and
// colocated (the shim calls it directly). One thread calls it; nothing blocks
// except bring_up().
//
// Typical use, per loop iteration:
//   reap_tx(out) -> tx_done;  reap_rx(out) -> rx_done;
//   transmit() up to tx_free_slots() tx_requests;  post_rx() up to rx_free_slots()
//   rx_free buffers;  ring_doorbells()  (checkpoint, then one TDT and one RDT write);
//   on irq: on_interrupt() (reads ICR, which clears it), then reap again.
//
// Every shim descriptor is validated (IOVA inside the shim's buffer area and
// contiguous for the device, TX length 14..min(1514, buffer size), RX buffer
// at least RCTL.BSIZE); a bad one comes back on the next reap with kDropped.
// Everything the device writes back is bound-checked (e1000_rx_ring.h).
//
// Checkpoint (e1000_checkpoint.h): committed in ring_doorbells() before any
// doorbell is written, and by every reap that moved a ring head before the
// buffers go back, so the checkpoint always lists every descriptor the device
// may own and none the shim already has back.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "abi/checkpoint.h"
#include "abi/control_block.h"
#include "abi/net_descriptor.h"
#include "common/result.h"
#include "drivers/e1000/e1000_checkpoint.h"
#include "drivers/e1000/e1000_dma_layout.h"
#include "drivers/e1000/e1000_rx_ring.h"
#include "drivers/e1000/e1000_tx_ring.h"
#include "drivers/fault_points.h"
#include "uio/uio_device.h"

namespace uldd::drivers {

// Counters the driver keeps privately; the common ones are published to
// DriverStatus (interrupts, doorbells, batches, device_errors, rejected).
struct E1000DriverStats {
  uint64_t interrupts = 0;
  uint64_t doorbells = 0;     // TDT and RDT writes
  uint64_t batches = 0;       // ring_doorbells() calls that wrote a doorbell
  uint64_t rejected = 0;      // shim descriptors refused (returned kDropped)
  uint64_t tx_frames = 0;     // buffers handed to the device for sending
  uint64_t tx_completed = 0;  // buffers reclaimed after DD
  uint64_t rx_posted = 0;     // buffers posted to the device
  E1000RxCounters rx;         // frames / frame errors / device faults on receive
  uint64_t rx_overruns = 0;   // ICR.RXO seen: the device dropped frames, no free descriptor
  uint64_t adopted = 0;       // warm resume: buffers taken over in the device's rings
  uint64_t resubmitted = 0;   // warm resume: resent buffers the device did not have
  uint64_t link_changes = 0;  // ICR.LSC seen
  uint64_t device_errors() const { return rx.device_faults; }
};

class E1000Driver {
 public:
  // Checks `cfg` against dev's DMA region (check_e1000_config) and prepares,
  // without touching the device. `cb` and `ckpt` may be null; both must
  // outlive the driver.
  static Result<std::unique_ptr<E1000Driver>> create(uio::UioDevice& dev,
                                                     const abi::DriverConfig& cfg,
                                                     abi::ControlBlock* cb,
                                                     abi::CheckpointRegion* ckpt);

  E1000Driver(const E1000Driver&) = delete;
  E1000Driver& operator=(const E1000Driver&) = delete;

  // Cold start: masks interrupts, resets the device (CTRL.RST, waits for it to
  // self-clear), reads the MAC (EERD, else RAL0/RAH0), sets link up, programs
  // both rings, RCTL, TCTL, ITR and IMS. Blocks for at most ~100 ms.
  Status bring_up();

  // Warm start (abi::ResumeMode::kWarm, e1000_driver_adopt.cc): takes over a
  // running e1000 and the buffers a dead predecessor left in its rings,
  // without writing a register. The newest valid checkpoint slot must match
  // the config and the layout this driver computes, and the registers must
  // show the device as bring_up() left it (CTRL/RCTL/TCTL, ring bases and
  // lengths, RDT/TDT equal to the checkpoint's tails or lagging them inside
  // its posted ranges, heads between those). Then expects exactly
  // `adopt_count` kNetFlagAdopt descriptors via take_adopted(): a buffer the
  // checkpoint shows in a posted slot is adopted there, any other is posted /
  // transmitted afresh once all have arrived.
  // Until then nothing is reaped, posted or rung.
  Status adopt(uint32_t adopt_count);
  bool adopting() const { return adopt_remaining_ > 0; }
  // One flagged descriptor from tx_request (`tx`) or rx_free.
  void take_adopted(const abi::NetDescriptor& d, bool tx);
  // Ok while the adoption is consistent; an error once all adopt_count
  // arrived and the checkpoint lists a posted buffer the shim did not resend
  // (stale checkpoint: the device could DMA into a reused buffer), or an
  // adopted descriptor disagrees with the ring. The device was not touched.
  Status adoption_status() const { return adoption_error_; }

  // --- transmit ---
  uint32_t tx_free_slots() const { return tx_deferred_.empty() ? tx_.free_slots() : 0; }
  // Validates `d` and writes its TX descriptor (doorbell deferred). An invalid
  // descriptor, or one beyond tx_free_slots(), returns on reap_tx() as kDropped.
  void transmit(const abi::NetDescriptor& d);
  // Buffers back for tx_done (rejected ones first); fewer than out.size()
  // means nothing more is ready.
  size_t reap_tx(std::span<abi::NetDescriptor> out);

  // --- receive ---
  uint32_t rx_free_slots() const { return rx_deferred_.empty() ? rx_.free_slots() : 0; }
  // Validates `d` (an empty buffer, d.len = its capacity) and posts it. An
  // invalid one, or one beyond rx_free_slots(), returns on reap_rx() as kDropped.
  void post_rx(const abi::NetDescriptor& d);
  // Received frames for rx_done (rejected buffers first).
  size_t reap_rx(std::span<abi::NetDescriptor> out);

  // Commits the checkpoint if anything changed, then writes TDT and RDT, each
  // only if descriptors were staged since the last call. After a warm
  // adoption it first stages what was deferred, as ring space allows.
  void ring_doorbells();

  // Interrupt line: readable when the device interrupts.
  int irq_fd() const { return dev_.irq_fd(); }
  // Takes the interrupt notification, reads ICR (read-to-clear, which also
  // deasserts the line), counts RXO/LSC, re-enables the line. Call before
  // reaping, so causes raised after the reap are not lost.
  Status on_interrupt();
  // Reads STATUS: an error if the device is gone (all ones).
  Status check_device() const;

  const uint8_t* mac() const { return mac_; }
  bool link_up() const;
  // TX buffers in the device or waiting to be reaped (RX buffers may stay
  // posted forever; they are not counted).
  uint32_t tx_outstanding() const;
  const E1000DriverStats& stats() const { return stats_; }
  // Armed fault points (drivers/fault_points.h): the loop refreshes them per
  // batch; transmit() (wrong-iova) and ring_doorbells() (skip-doorbell) check.
  FaultPoints& fault_points() { return faults_; }
  const E1000DmaLayout& layout() const { return layout_; }
  uint64_t checkpoint_epoch() const { return epoch_; }

 private:
  E1000Driver(uio::UioDevice& dev, const abi::DriverConfig& cfg, abi::ControlBlock* cb,
              abi::CheckpointRegion* ckpt);

  // The receive configuration bring_up() programs and adopt() expects.
  static constexpr uint32_t kRctl = e1000::rctl::kEnable | e1000::rctl::kBroadcastAccept |
                                    e1000::rctl::kBsize2048 | e1000::rctl::kStripCrc;

  bool buffer_ok(uint64_t iova, uint32_t len) const;
  Status check_adoptable_registers(const E1000Checkpoint& c, uint32_t* rdt, uint32_t* tdt) const;
  Status load_checkpoint(E1000Checkpoint* out) const;
  Status check_checkpoint(const E1000Checkpoint& c) const;
  bool adopt_into_ring(const abi::NetDescriptor& d, bool tx);
  void finish_adoption();
  void submit_deferred();
  Status reset();
  Status read_mac();
  Result<uint16_t> read_eeprom(uint32_t word);
  Status check_contiguous(uint64_t iova, uint64_t len, const char* what) const;
  void commit_checkpoint();
  void publish_stats();
  static size_t take_pending(std::vector<abi::NetDescriptor>& pending, size_t& taken,
                             std::span<abi::NetDescriptor> out);

  uio::UioDevice& dev_;
  abi::DriverConfig cfg_;
  abi::ControlBlock* cb_;
  abi::CheckpointRegion* ckpt_;
  E1000DmaLayout layout_;
  std::chrono::milliseconds timeout_{100};
  bool up_ = false;
  uint8_t mac_[6] = {};

  E1000TxRing tx_;
  E1000RxRing rx_;
  std::vector<abi::NetDescriptor> tx_rejected_;  // returned first by reap_tx()
  size_t tx_rejected_taken_ = 0;
  std::vector<abi::NetDescriptor> rx_rejected_;
  size_t rx_rejected_taken_ = 0;

  std::unique_ptr<E1000Checkpoint> shadow_;
  bool checkpoint_dirty_ = false;
  uint64_t epoch_ = 0;
  uint32_t next_slot_ = 0;

  // Warm resume (e1000_driver_adopt.cc). awaiting: per slot, 1 while the
  // checkpoint lists a buffer there that no flagged descriptor named yet.
  uint32_t adopt_remaining_ = 0;
  std::vector<uint8_t> rx_awaiting_, tx_awaiting_;
  std::vector<abi::NetDescriptor> rx_deferred_, tx_deferred_;  // resent, not in the device
  Status adoption_error_;

  E1000DriverStats stats_;
  FaultPoints faults_;
  // skip-doorbell: TDT is held back until a frame newer than these is queued.
  bool tx_doorbell_held_ = false;
  uint64_t tx_frames_when_held_ = 0;
};

}  // namespace uldd::drivers
