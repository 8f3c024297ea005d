// SubmissionQueue: the controller's private view of one SQ (§4.1). The queue
// memory lives in the driver-writable DMA region, so an entry is copied out
// exactly once before it is looked at, and the tail only ever comes from a
// doorbell value the controller has range-checked.
#pragma once

#include <cstdint>
#include <cstring>

#include "devices/nvme/nvme_spec.h"

namespace uldd::nvme {

struct SubmissionQueue {
  bool active = false;
  uint16_t id = 0;
  uint16_t cqid = 0;                // the CQ its completions go to
  const std::byte* base = nullptr;  // validated: base .. base + size * 64 is inside DMA
  uint32_t size = 0;                // entries (1's based)
  uint32_t head = 0;                // next entry the controller fetches
  uint32_t tail = 0;                // last tail doorbell value accepted

  bool empty() const { return head == tail; }

  // A tail at or beyond the queue size is an invalid doorbell write (§4.1).
  bool update_tail(uint32_t value) {
    if (value >= size) return false;
    tail = value;
    return true;
  }

  SubmissionEntry fetch() {
    SubmissionEntry e;
    std::memcpy(&e, base + size_t{head} * sizeof(SubmissionEntry), sizeof e);
    head = head + 1 == size ? 0 : head + 1;
    return e;
  }
};

}  // namespace uldd::nvme
