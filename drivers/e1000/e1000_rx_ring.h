// E1000RxRing: the driver's side of the e1000 legacy receive descriptor ring
// (8254x SDM 3.2). It posts shim buffers (one descriptor each, no copy),
// remembers which NetDescriptor each slot carries, and harvests slots in
// order once the device writes DD back, turning each into an rx_done
// descriptor whose len is the received frame length.
//
// Indices are slot numbers in [0, size) like RDH/RDT; at most size - 1
// buffers are posted (RDH == RDT means the device owns none, 3.2.6).
//
// Everything the device writes back (status, errors, length) is untrusted:
// it is copied once, after an acquire load of status, and checked. A length
// of 0 or larger than the buffer posted in that slot (or than RCTL.BSIZE) is
// a device fault: the buffer goes back with kError and len 0, never with a
// length that would let the shim read past it. A frame without EOP (one
// spread over several buffers, impossible with BSIZE 2048 and LPE off) is
// also returned as kError, and so is every buffer up to its EOP.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "abi/net_descriptor.h"
#include "devices/e1000/e1000_spec.h"

namespace uldd::drivers {

struct E1000RxCounters {
  uint64_t frames = 0;         // good frames returned with kOk
  uint64_t frame_errors = 0;   // frames the device flagged (CE, RXE, ...): kError
  uint64_t device_faults = 0;  // impossible write-backs: bad length, missing EOP
};

class E1000RxRing {
 public:
  E1000RxRing() = default;
  // `descs` is the ring in DMA memory, `size` descriptors; starts empty at slot 0.
  // `max_frame` bounds any length the device may report (RCTL.BSIZE).
  void attach(e1000::RxDescriptor* descs, uint32_t size, uint32_t max_frame);

  uint32_t size() const { return size_; }
  uint32_t free_slots() const { return size_ == 0 ? 0 : size_ - 1 - posted_count_; }
  uint32_t posted() const { return posted_count_; }

  // Posts the buffer of `d` (already validated; d.len = its capacity).
  void post(const abi::NetDescriptor& d, uint64_t device_address);
  bool doorbell_pending() const { return unrung_ != 0; }
  // The RDT value that hands every posted buffer to the device.
  uint32_t take_doorbell();

  // Copies out, in order, the buffers the device filled; returns how many.
  size_t harvest(std::span<abi::NetDescriptor> out, E1000RxCounters* counters);

  // Warm resume (e1000_driver_adopt.cc): takes over a ring the device still
  // uses, with slots [next, tail) posted, of which [next, told) were told to
  // the device (told = RDT; the rest go with the next doorbell). The
  // descriptors are left as they are (the device may be filling them); each
  // posted slot's buffer is named later by adopt_slot().
  void restore(e1000::RxDescriptor* descs, uint32_t size, uint32_t max_frame, uint32_t next,
               uint32_t tail, uint32_t told);
  // The buffer address written in `slot` (never written back by the device, 3.2.3).
  uint64_t slot_address(uint32_t slot) const;
  // The shim's descriptor for the buffer in `slot`, echoed on harvest.
  void adopt_slot(uint32_t slot, const abi::NetDescriptor& d) { posted_[slot] = d; }

  uint32_t next_to_check() const { return next_; }
  uint32_t tail() const { return tail_; }
  void copy_buffer_ids(uint16_t* ids) const;

 private:
  uint32_t next(uint32_t slot) const { return slot + 1 == size_ ? 0 : slot + 1; }

  e1000::RxDescriptor* descs_ = nullptr;
  uint32_t size_ = 0;
  uint32_t max_frame_ = 0;
  uint32_t tail_ = 0;          // next slot to post
  uint32_t next_ = 0;          // next slot to check for DD
  uint32_t posted_count_ = 0;  // slots in [next_, tail_)
  uint32_t unrung_ = 0;        // of those, posted after the last doorbell
  bool in_fragment_ = false;   // inside a multi-buffer frame: discard up to its EOP
  std::vector<abi::NetDescriptor> posted_;
};

}  // namespace uldd::drivers
