// NetBufferPool: who holds each of a NIC shim's packet buffers. The buffers
// are fixed-size slices of the DMA region's buffer area; a buffer is at any
// moment in exactly one place, and the pool records which, explicitly:
//
//   kFree      on the shim's free list
//   kShim      taken by the shim's thread (a TAP read or write in progress)
//   kTxPosted  handed to the driver on tx_request, not yet back on tx_done
//   kRxPosted  handed to the driver on rx_free, not yet back on rx_done
//   kQuarantined  taken back from a dead driver while its device may still
//              hold a descriptor for it (a receive could still land in it, a
//              send could still read it): unusable until the device is reset
//
// This is what makes a returned buffer checkable (a driver may only give back
// a buffer it holds, in the direction it got it, once) and what a driver
// restart needs: after a crash every kTxPosted buffer is a frame to reissue or
// drop, every kRxPosted buffer is to be posted again (owners()), once the
// device has been reset (quarantine()/release_quarantined()).
// Not thread-safe: the shim's one thread owns it; counts() is a snapshot.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace uldd::shim {

enum class BufferOwner : uint8_t {
  kFree = 0,
  kShim = 1,
  kTxPosted = 2,
  kRxPosted = 3,
  kQuarantined = 4,
};

class NetBufferPool {
 public:
  // `count` buffers of `buffer_size` bytes from `area` (the shim's mapping),
  // whose first byte is at `area_iova` in the DMA region. count <= 65536
  // (buffer ids are 16 bits in the ring ABI).
  NetBufferPool(std::byte* area, uint64_t area_iova, uint32_t count, uint32_t buffer_size);

  // A free buffer, now owned by the shim's thread; nullopt when none is free.
  std::optional<uint16_t> take();
  // Back onto the free list (from kShim only).
  void give_back(uint16_t id);
  // kShim -> kTxPosted / kRxPosted, just before the descriptor is staged.
  void post(uint16_t id, BufferOwner to);
  // A buffer the driver returns: true (and the buffer is the shim's again,
  // kShim) only if `id` is in range and is held by the driver as `expected`.
  // False means the driver returned what it does not hold: nothing changes.
  bool reclaim(uint32_t id, BufferOwner expected);
  // Recovery: kShim -> kQuarantined (a dead driver's buffer the device may
  // still use), and every kQuarantined buffer back onto the free list once
  // the device was reset; returns how many.
  void quarantine(uint16_t id);
  uint32_t release_quarantined();

  BufferOwner owner(uint32_t id) const { return owner_.at(id); }
  uint32_t count_in(BufferOwner o) const { return counts_[static_cast<size_t>(o)]; }
  uint32_t size() const { return static_cast<uint32_t>(owner_.size()); }
  uint32_t buffer_size() const { return buffer_size_; }
  uint64_t iova(uint32_t id) const { return area_iova_ + uint64_t{id} * buffer_size_; }
  std::byte* data(uint32_t id) const { return area_ + uint64_t{id} * buffer_size_; }
  // Every buffer's holder, indexed by id: the recovery engine's input.
  const std::vector<BufferOwner>& owners() const { return owner_; }

 private:
  void move(uint32_t id, BufferOwner to);

  std::byte* area_;
  uint64_t area_iova_;
  uint32_t buffer_size_;
  std::vector<BufferOwner> owner_;
  std::vector<uint16_t> free_;  // LIFO: a just-freed buffer is still warm in cache
  uint32_t counts_[5] = {};
};

}  // namespace uldd::shim
