// DriverPort: how a disk shim hands descriptors to its driver and takes
// completions back, whatever the driver's mode is:
//   - isolated (RingDriverPort): the driver is another process; descriptors go
//     through the SPSC rings of the ring region, kicks through eventfds;
//   - colocated (DirectDriverPort): the same driver code lives in the shim's
//     process and is called directly, the in-kernel-driver analogue that the
//     benchmarks compare against.
// All calls come from the shim's one thread.
#pragma once

#include <cstdint>
#include <span>

#include "abi/block_descriptor.h"

namespace uldd::shim {

class DriverPort {
 public:
  virtual ~DriverPort() = default;

  // How many descriptors stage() may take before the next commit().
  virtual uint32_t submit_space() = 0;
  // Queues the n-th descriptor of the current batch (n counts from 0).
  virtual void stage(uint32_t n, const abi::BlockDescriptor& d) = 0;
  // Hands the staged batch to the driver: one notification per batch.
  virtual void commit(uint32_t count) = 0;
  // Copies out up to out.size() completions; returns how many. Completions are
  // untrusted: the shim validates each against its in-flight table.
  virtual uint32_t reap(std::span<abi::BlockDescriptor> out) = 0;

  // The fd that becomes readable when reap() or submit_space() may have
  // something new, and the call to make when it did.
  virtual int wake_fd() const = 0;
  virtual void on_wake() = 0;
  // Before sleeping on wake_fd(): announces the sleep to the peer. Returns
  // true if work raced in (then do not sleep).
  virtual bool prepare_sleep(bool waiting_for_space) = 0;
  virtual void finish_sleep() = 0;

  // Set when the peer broke the ring protocol (impossible index): a driver fault.
  virtual bool protocol_violated() const = 0;

  // Recovery: forgets the ring state of a dead driver, so both directions
  // start empty for its successor and the violation flag is clear. Call only
  // while no driver can touch the rings (isolated: the process is reaped).
  virtual void reset() = 0;
};

}  // namespace uldd::shim
