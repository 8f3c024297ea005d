// E1000DriverLoop: the event loop of an isolated e1000 driver process. It
// moves shim buffers between the four rings of the net ring region
// (abi/net_ring_region.h) and E1000Driver:
//   tx_request -> transmit()      reap_tx() -> tx_done
//   rx_free    -> post_rx()       reap_rx() -> rx_done
// sleeping on two fds when idle: the driver-wake eventfd (the shim posted
// buffers or freed done-ring slots) and the device's interrupt line.
//
// Batching: every wake-up takes as many descriptors as are ready and fit the
// device rings, then one ring_doorbells() (one checkpoint, at most one TDT
// and one RDT write); all done descriptors reaped so far go out with one
// publish per ring and at most one kick of the shim, and only if the shim
// asked for kicks (need-wakeup flags, abi/spsc_ring.h).
//
// Back-pressure: when a done ring is full, reaped descriptors wait in a
// bounded backlog and that direction is not reaped further; the device's
// ring then fills, which stops the loop taking new requests for it (TX), or
// makes the device drop and count frames (RX), as a real NIC does.
//
// Liveness and failure, as the NVMe DriverLoop: heartbeat every iteration,
// sleeps at most half the heartbeat interval; a ring index moved impossibly
// by the peer is a fatal protocol violation (state kFailed, last_error).
//
// Warm resume (E1000Driver::adopt): until the driver has every kNetFlagAdopt
// descriptor it was promised, only flagged descriptors are taken, nothing is
// reaped, the interrupt is left pending, and the state stays kInitializing;
// a refusal returns the driver's adoption error (exit 6 in the process).
//
// Stopping (request_stop()): no new TX requests are taken; TX buffers in the
// device are reclaimed for up to drain_timeout; posted RX buffers stay with
// the device (the next driver's cold start hands them back via the shim).
//
// Fault points (drivers/fault_points.h, armed by the supervisor in the
// control block) are re-read once per iteration; crash-here and the
// completion-side points act where reaped completions go to the shim.
#pragma once

#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "abi/control_block.h"
#include "abi/net_ring_region.h"
#include "abi/spsc_ring.h"
#include "common/result.h"
#include "drivers/e1000/e1000_driver.h"

namespace uldd::drivers {

class E1000DriverLoop {
 public:
  struct Options {
    std::chrono::microseconds heartbeat_interval{100000};
    std::chrono::milliseconds drain_timeout{2000};
    // Signal mask while sleeping (ppoll), or null to keep the current one.
    const sigset_t* sleep_sigmask = nullptr;
  };

  // Attaches to the four rings of `rings` (header already checked with
  // check_net_ring_region_header), resuming each of our indices from the
  // shared index word (the supervisor initialises the region before spawn).
  // `cb` may be null (tests).
  E1000DriverLoop(E1000Driver& driver, const abi::NetRingRegionView& rings, int driver_wake_fd,
                  int shim_wake_fd, abi::ControlBlock* cb, Options options);

  // Runs until stopped (ok) or a fatal error (returned after state kFailed).
  Status run();
  // Async-signal-safe: asks run() to drain and return.
  void request_stop() { stop_.store(true, std::memory_order_relaxed); }

  uint64_t iterations() const { return iterations_; }

 private:
  static constexpr uint32_t kBatchMax = 256;

  // Descriptors reaped from the device waiting for space in a done ring.
  struct DoneRing {
    abi::SpscProducer<abi::NetDescriptor> ring;
    std::vector<abi::NetDescriptor> backlog;
    size_t backlog_head = 0;
    bool empty() const { return backlog_head == backlog.size(); }
  };

  Status take_requests(bool* did_work);
  Status take_adopted(bool* did_work);
  template <class Reap>
  Status post_done(DoneRing& done, Reap reap, const char* ring_name, bool* did_work);
  uint32_t flush_backlog(DoneRing& done, bool* corrupt);
  Status sleep();
  Status fail(const Error& e);
  void set_state(abi::DriverState s);

  E1000Driver& driver_;
  abi::SpscConsumer<abi::NetDescriptor> tx_requests_;
  abi::SpscConsumer<abi::NetDescriptor> rx_free_;
  DoneRing tx_done_;
  DoneRing rx_done_;
  int driver_wake_fd_;
  int shim_wake_fd_;
  abi::ControlBlock* cb_;
  Options options_;

  std::atomic<bool> stop_{false};
  bool stopping_ = false;
  bool kick_shim_ = false;
  std::vector<abi::NetDescriptor> batch_;  // reap target, kBatchMax entries
  uint64_t heartbeat_ = 0;
  uint64_t done_posted_ = 0;
  uint64_t iterations_ = 0;
};

}  // namespace uldd::drivers
