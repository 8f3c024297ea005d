// CompletionQueue: the controller's side of one CQ (§4.1, §4.6): where the next
// entry goes, the phase tag, what the driver has consumed, the completions that
// are done but not yet posted (held back by the latency model or by a full CQ),
// and the interrupt coalescing count. A full CQ stalls posting; an entry the
// driver has not consumed is never overwritten.
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

#include "devices/nvme/nvme_spec.h"

namespace uldd::nvme {

// Interrupt aggregation, §5.21.1.8: fire when `threshold` entries are waiting
// or when the oldest has waited `time`, whichever comes first.
struct Coalescing {
  uint32_t threshold = 1;             // entries (THR + 1)
  std::chrono::microseconds time{0};  // TIME * 100 us; 0 means no delay
};

class CompletionQueue {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  // `base` must already be validated (size * 16 bytes inside DMA memory).
  void open(uint16_t id, std::byte* base, uint32_t size, bool irq_enabled, uint16_t vector);
  void close();

  bool active() const { return active_; }
  uint16_t id() const { return id_; }
  uint16_t vector() const { return vector_; }
  bool irq_enabled() const { return irq_enabled_; }
  uint32_t head() const { return head_; }
  uint32_t tail() const { return tail_; }
  bool phase() const { return phase_; }

  // Entries posted and not yet consumed by the driver.
  uint32_t outstanding() const { return tail_ >= head_ ? tail_ - head_ : tail_ + size_ - head_; }
  bool full() const { return outstanding() == size_ - 1; }

  // Head doorbell. False (and no change) when the value is beyond the queue or
  // would consume entries that were never posted: an invalid doorbell write.
  bool update_head(uint32_t value);

  // Room for one more finished command? The controller stops fetching from the
  // SQs that feed this CQ when it is not.
  bool can_accept() const { return pending_count_ < pending_.size(); }
  // Queues a finished command; `entry.status` carries no phase bit yet.
  void enqueue(const CompletionEntry& entry, TimePoint ready);
  // Drops the queued completions of a deleted SQ.
  void cancel_sq(uint16_t sqid);
  // Posts queued completions that are due, in order, until the CQ is full.
  // Returns how many were posted.
  uint32_t post_ready(TimePoint now);
  // Earliest moment a queued completion becomes due (only while posting can
  // make progress, so a full CQ does not make the event loop spin).
  bool next_ready(TimePoint* when) const;
  // Completions wait and the CQ is full: only a new head doorbell value lets
  // them through, and a driver may store one without a kick.
  bool stalled() const { return pending_count_ > 0 && full(); }

  // Interrupts. Entries posted since the last interrupt of this CQ wait for it.
  bool interrupt_due(TimePoint now, const Coalescing& c) const;
  bool coalescing_deadline(const Coalescing& c, TimePoint* when) const;
  void mark_signaled() { unsignaled_ = 0; }
  // Entries the driver was already interrupted for but has not consumed: the
  // analogue of a level-triggered INTx line that stays asserted.
  bool signaled_outstanding() const { return outstanding() > unsignaled_; }

 private:
  struct Pending {
    CompletionEntry entry;
    TimePoint ready;
  };
  static constexpr uint16_t kCancelled = 0xFFFF;  // sq_id of a dropped completion

  void write_entry(const CompletionEntry& e);

  bool active_ = false;
  uint16_t id_ = 0;
  std::byte* base_ = nullptr;
  uint32_t size_ = 0;
  uint32_t head_ = 0;  // last head doorbell value accepted
  uint32_t tail_ = 0;  // next slot the controller writes
  bool phase_ = true;  // phase tag of the current pass; starts at 1 (§4.6)
  bool irq_enabled_ = false;
  uint16_t vector_ = 0;
  std::vector<Pending> pending_;  // ring, sized at open(): no allocation per command
  size_t pending_head_ = 0;
  size_t pending_count_ = 0;
  uint32_t unsignaled_ = 0;       // posted since the last interrupt
  TimePoint first_unsignaled_{};  // when the oldest of those was posted
};

}  // namespace uldd::nvme
