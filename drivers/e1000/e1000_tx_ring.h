// E1000TxRing: the driver's side of the e1000 legacy transmit descriptor ring
// (8254x SDM 3.3, 3.4). It writes one descriptor per shim buffer, pointing at
// the shim's bytes (no copy), remembers which NetDescriptor each slot carries
// so the buffer can be echoed back on tx_done, and reclaims slots in order as
// the device writes DD back (every descriptor has RS set).
//
// Indices are slot numbers in [0, size) like TDH/TDT, because ring sizes are
// multiples of 8 rather than powers of two. At most size - 1 descriptors are
// outstanding (TDH == TDT means empty, 3.4). Slots staged since the last
// doorbell are not reclaimable: the device has not been told about them.
//
// The only thing the device writes here is the status byte; it is read once
// with acquire (the device's write-back orders it after the data) and only
// for slots the driver has actually handed to the device.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "abi/net_descriptor.h"
#include "devices/e1000/e1000_spec.h"

namespace uldd::drivers {

class E1000TxRing {
 public:
  E1000TxRing() = default;
  // `descs` is the ring in DMA memory, `size` descriptors. Starts empty at slot 0.
  void attach(e1000::TxDescriptor* descs, uint32_t size);

  uint32_t size() const { return size_; }
  uint32_t free_slots() const { return size_ == 0 ? 0 : size_ - 1 - in_flight_; }
  // Descriptors staged or in the device, not yet reclaimed.
  uint32_t in_flight() const { return in_flight_; }

  // Writes the descriptor for `d` (already validated) at the tail. The caller
  // has checked free_slots().
  void push(const abi::NetDescriptor& d, uint64_t device_address);
  // Staged descriptors the device has not been told about.
  bool doorbell_pending() const { return unrung_ != 0; }
  // The TDT value that hands everything staged to the device; marks it told.
  uint32_t take_doorbell();

  // Copies out, in order, the buffers of descriptors the device is done with
  // (status ok); returns how many. Stops at the first slot without DD.
  size_t reclaim(std::span<abi::NetDescriptor> out);

  // Warm resume (e1000_driver_adopt.cc): takes over a ring the device still
  // uses, with slots [clean, tail) in flight, of which [clean, told) were
  // told to the device (told = TDT; the rest go with the next doorbell). The
  // descriptors are left as they are; each slot's buffer is named later by
  // adopt_slot().
  void restore(e1000::TxDescriptor* descs, uint32_t size, uint32_t clean, uint32_t tail,
               uint32_t told);
  // What `slot` points the device at (the device writes back only status, 3.3.3).
  uint64_t slot_address(uint32_t slot) const;
  uint16_t slot_length(uint32_t slot) const;
  // The shim's descriptor for the frame in `slot`, echoed on reclaim.
  void adopt_slot(uint32_t slot, const abi::NetDescriptor& d) { posted_[slot] = d; }

  uint32_t clean() const { return clean_; }
  uint32_t tail() const { return tail_; }
  // buffer_id per slot, for the checkpoint (meaningful for [clean, tail)).
  void copy_buffer_ids(uint16_t* ids) const;

 private:
  uint32_t next(uint32_t slot) const { return slot + 1 == size_ ? 0 : slot + 1; }

  e1000::TxDescriptor* descs_ = nullptr;
  uint32_t size_ = 0;
  uint32_t tail_ = 0;                       // next slot to fill
  uint32_t clean_ = 0;                      // next slot to reclaim
  uint32_t in_flight_ = 0;                  // slots in [clean_, tail_)
  uint32_t unrung_ = 0;                     // of those, staged after the last doorbell
  std::vector<abi::NetDescriptor> posted_;  // private copy per slot, echoed on tx_done
};

}  // namespace uldd::drivers
