// DriverLoop: the event loop of an isolated NVMe driver process. It moves
// requests from the shim's request ring into NvmeDriver and completions from
// the driver into the completion ring, sleeping on two fds when idle: the
// driver-wake eventfd (the shim posted requests or freed completion slots)
// and the device's interrupt line.
//
// Batching: every wake-up takes as many requests as are ready and fit
// (one SQ doorbell per queue per batch) and posts all completions reaped so
// far with one publish and at most one kick of the shim, and only if the shim
// asked for kicks (need-wakeup flags, abi/spsc_ring.h).
//
// Liveness: DriverStatus::heartbeat is bumped every iteration, and the sleep
// never exceeds half the heartbeat interval, so a live driver always beats in
// time. A peer that corrupts a ring index is a fatal protocol violation:
// state kFailed with last_error, and run() returns the error.
//
// Stopping (request_stop(), e.g. from SIGTERM): no new requests are taken;
// in-flight commands are completed for up to drain_timeout; then run()
// returns. The controller is deliberately left running (no shutdown, no
// reset): the next driver adopts it as it is.
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
#include "abi/ring_region.h"
#include "abi/spsc_ring.h"
#include "common/result.h"
#include "drivers/nvme/nvme_driver.h"

namespace uldd::drivers {

class DriverLoop {
 public:
  struct Options {
    std::chrono::microseconds heartbeat_interval{100000};
    std::chrono::milliseconds drain_timeout{2000};
    // Signal mask while sleeping (ppoll), or null to keep the current one.
    // The process blocks SIGTERM and unblocks it only here, so a stop request
    // always interrupts the sleep instead of racing with it.
    const sigset_t* sleep_sigmask = nullptr;
  };

  // Attaches to the rings of `rings` (header already checked with
  // check_ring_region_header). The ring indices are resumed from the shared
  // index words (the supervisor initialises the region before the spawn); a
  // request head that is not within capacity of the tail is reported by
  // run() as a corrupt ring. `cb` may be null (tests).
  DriverLoop(NvmeDriver& driver, const abi::RingRegionView& rings, int driver_wake_fd,
             int shim_wake_fd, abi::ControlBlock* cb, Options options);

  // Runs until stopped (returns ok) or a fatal error (returns it, after
  // setting state kFailed and last_error).
  Status run();

  // Async-signal-safe: asks run() to drain and return.
  void request_stop() { stop_.store(true, std::memory_order_relaxed); }

  uint64_t iterations() const { return iterations_; }

 private:
  static constexpr uint32_t kBatchMax = 256;

  uint32_t flush_backlog(bool* corrupt);

  Status take_requests(bool* did_work);
  Status post_completions(bool* did_work);
  Status sleep();
  Status fail(const Error& e);
  void set_state(abi::DriverState s);
  void beat();

  NvmeDriver& driver_;
  abi::SpscConsumer<abi::BlockDescriptor> requests_;
  abi::SpscProducer<abi::BlockDescriptor> completions_;
  int driver_wake_fd_;
  int shim_wake_fd_;
  abi::ControlBlock* cb_;
  Options options_;

  std::atomic<bool> stop_{false};
  bool stopping_ = false;
  bool kick_shim_ = false;
  std::vector<abi::BlockDescriptor> batch_;    // reap() target, kBatchMax entries
  std::vector<abi::BlockDescriptor> backlog_;  // reaped, waiting for completion-ring space
  size_t backlog_head_ = 0;
  uint64_t heartbeat_ = 0;
  uint64_t requests_done_ = 0;
  uint64_t iterations_ = 0;
};

}  // namespace uldd::drivers
