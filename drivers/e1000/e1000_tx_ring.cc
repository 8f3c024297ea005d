#include "drivers/e1000/e1000_tx_ring.h"

#include <atomic>
#include <cstring>

namespace uldd::drivers {

void E1000TxRing::attach(e1000::TxDescriptor* descs, uint32_t size) {
  descs_ = descs;
  size_ = size;
  tail_ = clean_ = in_flight_ = unrung_ = 0;
  posted_.assign(size, abi::NetDescriptor{});
  // A ring fresh from reset holds nothing: clear stale DD bits a previous
  // driver's descriptors may have left, so none is mistaken for a completion.
  std::memset(static_cast<void*>(descs_), 0, sizeof(e1000::TxDescriptor) * size);
}

void E1000TxRing::restore(e1000::TxDescriptor* descs, uint32_t size, uint32_t clean,
                          uint32_t tail, uint32_t told) {
  descs_ = descs;
  size_ = size;
  clean_ = clean;
  tail_ = tail;
  in_flight_ = (tail + size - clean) % size;
  unrung_ = (tail + size - told) % size;
  posted_.assign(size, abi::NetDescriptor{});
}

uint64_t E1000TxRing::slot_address(uint32_t slot) const {
  uint64_t a;
  std::memcpy(&a, &descs_[slot].buffer_addr, sizeof a);
  return a;
}

uint16_t E1000TxRing::slot_length(uint32_t slot) const {
  uint16_t n;
  std::memcpy(&n, &descs_[slot].length, sizeof n);
  return n;
}

void E1000TxRing::push(const abi::NetDescriptor& d, uint64_t device_address) {
  e1000::TxDescriptor t{};
  t.buffer_addr = device_address;
  t.length = static_cast<uint16_t>(d.len);
  // One buffer per frame (EOP), the device appends the FCS (IFCS, the shim's
  // frames come without one) and reports DD for each descriptor (RS), which is
  // what lets reclaim() return buffers one by one.
  t.cmd = e1000::tx_cmd::kEndOfPacket | e1000::tx_cmd::kInsertFcs | e1000::tx_cmd::kReportStatus;
  std::memcpy(&descs_[tail_], &t, sizeof t);
  posted_[tail_] = d;
  tail_ = next(tail_);
  ++in_flight_;
  ++unrung_;
}

uint32_t E1000TxRing::take_doorbell() {
  unrung_ = 0;
  return tail_;
}

size_t E1000TxRing::reclaim(std::span<abi::NetDescriptor> out) {
  size_t n = 0;
  uint32_t told = in_flight_ - unrung_;  // only these can have been sent
  while (n < out.size() && n < told) {
    uint8_t st = std::atomic_ref<uint8_t>(descs_[clean_].status).load(std::memory_order_acquire);
    if ((st & e1000::tx_status::kDone) == 0) break;
    abi::NetDescriptor d = posted_[clean_];
    d.status = static_cast<uint16_t>(abi::NetStatus::kOk);
    out[n++] = d;
    clean_ = next(clean_);
  }
  in_flight_ -= static_cast<uint32_t>(n);
  return n;
}

void E1000TxRing::copy_buffer_ids(uint16_t* ids) const {
  for (uint32_t i = 0; i < size_; ++i) ids[i] = posted_[i].buffer_id;
}

}  // namespace uldd::drivers
