#include "drivers/e1000/e1000_rx_ring.h"

#include <algorithm>
#include <atomic>
#include <cstring>

namespace uldd::drivers {

void E1000RxRing::attach(e1000::RxDescriptor* descs, uint32_t size, uint32_t max_frame) {
  descs_ = descs;
  size_ = size;
  max_frame_ = max_frame;
  tail_ = next_ = posted_count_ = unrung_ = 0;
  in_fragment_ = false;
  posted_.assign(size, abi::NetDescriptor{});
  std::memset(static_cast<void*>(descs_), 0, sizeof(e1000::RxDescriptor) * size);
}

void E1000RxRing::restore(e1000::RxDescriptor* descs, uint32_t size, uint32_t max_frame,
                          uint32_t next, uint32_t tail, uint32_t told) {
  descs_ = descs;
  size_ = size;
  max_frame_ = max_frame;
  next_ = next;
  tail_ = tail;
  posted_count_ = (tail + size - next) % size;
  unrung_ = (tail + size - told) % size;
  in_fragment_ = false;
  posted_.assign(size, abi::NetDescriptor{});
}

uint64_t E1000RxRing::slot_address(uint32_t slot) const {
  uint64_t a;
  std::memcpy(&a, &descs_[slot].buffer_addr, sizeof a);
  return a;
}

void E1000RxRing::post(const abi::NetDescriptor& d, uint64_t device_address) {
  e1000::RxDescriptor r{};
  r.buffer_addr = device_address;  // status 0: DD clear until the device fills it
  std::memcpy(&descs_[tail_], &r, sizeof r);
  posted_[tail_] = d;
  tail_ = next(tail_);
  ++posted_count_;
  ++unrung_;
}

uint32_t E1000RxRing::take_doorbell() {
  unrung_ = 0;
  return tail_;
}

size_t E1000RxRing::harvest(std::span<abi::NetDescriptor> out, E1000RxCounters* counters) {
  size_t n = 0;
  uint32_t told = posted_count_ - unrung_;  // only these can have been filled
  while (n < out.size() && n < told) {
    e1000::RxDescriptor& slot = descs_[next_];
    uint8_t st = std::atomic_ref<uint8_t>(slot.status).load(std::memory_order_acquire);
    if ((st & e1000::rx_status::kDone) == 0) break;
    // Copy once; the device (or a hostile model) may still be writing.
    uint16_t length = std::atomic_ref<uint16_t>(slot.length).load(std::memory_order_relaxed);
    uint8_t errors = std::atomic_ref<uint8_t>(slot.errors).load(std::memory_order_relaxed);

    abi::NetDescriptor d = posted_[next_];
    uint32_t capacity = std::min(d.len, max_frame_);
    bool eop = (st & e1000::rx_status::kEndOfPacket) != 0;
    if (in_fragment_ || !eop) {
      // Part of a frame that did not fit one buffer: none of it is usable.
      ++counters->device_faults;
      in_fragment_ = !eop;
      d.len = 0;
      d.status = static_cast<uint16_t>(abi::NetStatus::kError);
    } else if (length == 0 || length > capacity) {
      ++counters->device_faults;
      d.len = 0;
      d.status = static_cast<uint16_t>(abi::NetStatus::kError);
    } else if ((errors & (e1000::rx_errors::kCrc | e1000::rx_errors::kRxData)) != 0) {
      ++counters->frame_errors;
      d.len = 0;
      d.status = static_cast<uint16_t>(abi::NetStatus::kError);
    } else {
      ++counters->frames;
      d.len = length;
      d.status = static_cast<uint16_t>(abi::NetStatus::kOk);
    }
    out[n++] = d;
    next_ = next(next_);
  }
  posted_count_ -= static_cast<uint32_t>(n);
  return n;
}

void E1000RxRing::copy_buffer_ids(uint16_t* ids) const {
  for (uint32_t i = 0; i < size_; ++i) ids[i] = posted_[i].buffer_id;
}

}  // namespace uldd::drivers
