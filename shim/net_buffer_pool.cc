#include "shim/net_buffer_pool.h"

#include <cassert>

namespace uldd::shim {

NetBufferPool::NetBufferPool(std::byte* area, uint64_t area_iova, uint32_t count,
                             uint32_t buffer_size)
    : area_(area),
      area_iova_(area_iova),
      buffer_size_(buffer_size),
      owner_(count, BufferOwner::kFree) {
  assert(count <= 65536);
  free_.reserve(count);
  // Highest id at the bottom so that ids are handed out from 0 upwards.
  for (uint32_t i = count; i > 0; --i) free_.push_back(static_cast<uint16_t>(i - 1));
  counts_[static_cast<size_t>(BufferOwner::kFree)] = count;
}

void NetBufferPool::move(uint32_t id, BufferOwner to) {
  --counts_[static_cast<size_t>(owner_[id])];
  ++counts_[static_cast<size_t>(to)];
  owner_[id] = to;
}

std::optional<uint16_t> NetBufferPool::take() {
  if (free_.empty()) return std::nullopt;
  uint16_t id = free_.back();
  free_.pop_back();
  move(id, BufferOwner::kShim);
  return id;
}

void NetBufferPool::give_back(uint16_t id) {
  assert(owner_[id] == BufferOwner::kShim);
  move(id, BufferOwner::kFree);
  free_.push_back(id);
}

void NetBufferPool::post(uint16_t id, BufferOwner to) {
  assert(owner_[id] == BufferOwner::kShim &&
         (to == BufferOwner::kTxPosted || to == BufferOwner::kRxPosted));
  move(id, to);
}

bool NetBufferPool::reclaim(uint32_t id, BufferOwner expected) {
  if (id >= owner_.size() || owner_[id] != expected) return false;
  move(id, BufferOwner::kShim);
  return true;
}

void NetBufferPool::quarantine(uint16_t id) {
  assert(owner_[id] == BufferOwner::kShim);
  move(id, BufferOwner::kQuarantined);
}

uint32_t NetBufferPool::release_quarantined() {
  uint32_t n = 0;
  for (uint32_t id = 0; id < owner_.size(); ++id) {
    if (owner_[id] != BufferOwner::kQuarantined) continue;
    move(id, BufferOwner::kFree);
    free_.push_back(static_cast<uint16_t>(id));
    ++n;
  }
  return n;
}

}  // namespace uldd::shim
