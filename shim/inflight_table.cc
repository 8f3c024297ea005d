#include "shim/inflight_table.h"

namespace uldd::shim {

InFlightTable::InFlightTable(uint32_t slots) : entries_(slots) {
  free_.reserve(slots);
  // Lowest slots are handed out first: fewer distinct buffers stay warm in cache.
  for (uint32_t s = slots; s-- > 0;) free_.push_back(s);
}

uint32_t InFlightTable::allocate() {
  uint32_t slot = free_.back();
  free_.pop_back();
  ++in_use_;
  InFlightEntry& e = entries_[slot];
  e.generation = static_cast<uint16_t>(e.generation + 1);
  return make_tag(slot, e.generation);
}

InFlightEntry* InFlightTable::match(const abi::BlockDescriptor& c) {
  uint32_t slot = slot_of(c.tag);
  if (slot >= entries_.size()) return nullptr;
  InFlightEntry& e = entries_[slot];
  if (e.request == nullptr || e.sent.tag != c.tag) return nullptr;
  if (e.sent.op != c.op || e.sent.len != c.len || e.sent.iova != c.iova || e.sent.lba != c.lba)
    return nullptr;
  return &e;
}

uint32_t InFlightTable::renew(uint32_t tag) {
  InFlightEntry& e = entries_[slot_of(tag)];
  e.generation = static_cast<uint16_t>(e.generation + 1);
  e.sent.tag = make_tag(slot_of(tag), e.generation);
  return e.sent.tag;
}

void InFlightTable::release(uint32_t tag) {
  InFlightEntry& e = entries_[slot_of(tag)];
  e.request = nullptr;
  free_.push_back(slot_of(tag));
  --in_use_;
}

}  // namespace uldd::shim
