// NetDriverPort: how a NIC shim trades packet buffers with its driver,
// whatever the driver's mode is (the NIC counterpart of DriverPort):
//   - isolated (RingNetDriverPort): the driver is another process; buffers go
//     through the four SPSC rings of the net ring region (tx_request, tx_done,
//     rx_free, rx_done), kicks through eventfds, need-wakeup flags;
//   - colocated (DirectNetDriverPort): the same driver code lives in the
//     shim's process and is called directly.
// All calls come from the shim's one thread. What comes back (reap_*) is
// untrusted: the shim checks every descriptor against its buffer pool.
#pragma once

#include <cstdint>
#include <span>

#include "abi/net_descriptor.h"

namespace uldd::shim {

class NetDriverPort {
 public:
  virtual ~NetDriverPort() = default;

  // TX: frames to send. stage() the n-th descriptor of a batch (n from 0,
  // fewer than tx_space()), then commit(count): one notification per batch.
  virtual uint32_t tx_space() = 0;
  virtual void stage_tx(uint32_t n, const abi::NetDescriptor& d) = 0;
  virtual void commit_tx(uint32_t count) = 0;
  // RX: empty buffers for the device, same batching.
  virtual uint32_t rx_free_space() = 0;
  virtual void stage_rx_free(uint32_t n, const abi::NetDescriptor& d) = 0;
  virtual void commit_rx_free(uint32_t count) = 0;
  // Buffers coming back: copies out up to out.size(); returns how many.
  virtual uint32_t reap_tx_done(std::span<abi::NetDescriptor> out) = 0;
  virtual uint32_t reap_rx_done(std::span<abi::NetDescriptor> out) = 0;

  // The fd that becomes readable when something may have come back or TX
  // space may have appeared, and the call to make when it did.
  virtual int wake_fd() const = 0;
  virtual void on_wake() = 0;
  // Before sleeping on wake_fd(): announce the sleep to the peer (and, with
  // `waiting_for_tx_space`, that we wait for tx_request slots). Returns true
  // if work raced in (then do not sleep).
  virtual bool prepare_sleep(bool waiting_for_tx_space) = 0;
  virtual void finish_sleep() = 0;

  // Set when the peer broke the ring protocol (impossible index): a driver fault.
  virtual bool protocol_violated() const = 0;

  // Recovery: forgets the ring state of a dead driver, so all four rings
  // start empty for its successor and the violation flag is clear. Call only
  // while no driver can touch the rings (isolated: the process is reaped).
  virtual void reset() = 0;
};

}  // namespace uldd::shim
