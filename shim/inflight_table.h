// InFlightTable: what the shim has handed to its driver and not yet seen
// completed, one entry per tag. A tag is (generation << 16 | slot); the slot
// also names the DMA data buffer the request uses, so a completion that names
// a slot can only ever touch that slot's buffer. The generation changes every
// time a slot is reused, so a late or duplicated completion for an older use
// of the slot is recognised and dropped.
//
// Everything the driver echoes back (op, len, iova, lba) is compared against
// the entry, never used as given. Only the shim's thread touches this table.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

#include "abi/block_descriptor.h"

namespace uldd::shim {

struct Request;  // a frontend request, possibly split into several parts

struct InFlightEntry {
  Request* request = nullptr;   // owner; nullptr when the slot is free
  uint64_t part_offset = 0;     // byte offset of this part within the request
  abi::BlockDescriptor sent{};  // exactly what was handed to the driver
  uint64_t issue_seq = 0;       // order of issue, for in-order reissue after a restart
  // When the current driver was given it (issue, resend): the request-timeout watch.
  // Unset while the part waits for an error retry (not with any driver).
  std::chrono::steady_clock::time_point handed_at{};
  uint32_t error_retries = 0;         // times this part was resent after an error completion
  bool restarted_for_errors = false;  // its retries ran out once: the driver was restarted for it
  uint16_t generation = 0;
};

class InFlightTable {
 public:
  explicit InFlightTable(uint32_t slots);

  uint32_t capacity() const { return static_cast<uint32_t>(entries_.size()); }
  uint32_t in_use() const { return in_use_; }
  bool has_free() const { return !free_.empty(); }

  // Takes a free slot and returns its new tag (generation bumped).
  uint32_t allocate();
  InFlightEntry& entry_for_tag(uint32_t tag) { return entries_[slot_of(tag)]; }

  // Looks up a completion: the entry if the tag names a slot in use with the
  // same generation and the echoed fields match what was sent; nullptr
  // otherwise (unknown, stale or duplicate tag, or altered fields).
  InFlightEntry* match(const abi::BlockDescriptor& completion);
  void release(uint32_t tag);
  // Gives a slot in use a new tag (generation bumped; `sent.tag` follows),
  // for sending the same part again: a late or repeated completion of the
  // old tag then matches nothing. Returns the new tag.
  uint32_t renew(uint32_t tag);

  static uint32_t slot_of(uint32_t tag) { return tag & 0xFFFF; }
  static uint32_t make_tag(uint32_t slot, uint16_t generation) {
    return (uint32_t{generation} << 16) | slot;
  }

 private:
  std::vector<InFlightEntry> entries_;
  std::vector<uint32_t> free_;
  uint32_t in_use_ = 0;
};

}  // namespace uldd::shim
