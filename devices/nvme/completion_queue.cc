#include "devices/nvme/completion_queue.h"

#include <algorithm>
#include <atomic>
#include <cstring>

namespace uldd::nvme {

void CompletionQueue::open(uint16_t id, std::byte* base, uint32_t size, bool irq_enabled,
                           uint16_t vector) {
  active_ = true;
  id_ = id;
  base_ = base;
  size_ = size;
  head_ = 0;
  tail_ = 0;
  phase_ = true;
  irq_enabled_ = irq_enabled;
  vector_ = vector;
  // Admin-path allocation: at most one CQ's worth of finished commands wait.
  pending_.resize(size);
  pending_head_ = 0;
  pending_count_ = 0;
  unsignaled_ = 0;
}

void CompletionQueue::close() {
  active_ = false;
  base_ = nullptr;
  size_ = 0;
  pending_count_ = 0;
  unsignaled_ = 0;
}

bool CompletionQueue::update_head(uint32_t value) {
  if (value >= size_) return false;
  uint32_t advance = value >= head_ ? value - head_ : value + size_ - head_;
  if (advance > outstanding()) return false;
  head_ = value;
  // Entries the driver consumed by polling need no interrupt any more.
  unsignaled_ = std::min(unsignaled_, outstanding());
  return true;
}

void CompletionQueue::enqueue(const CompletionEntry& entry, TimePoint ready) {
  // The caller checked can_accept().
  size_t slot = (pending_head_ + pending_count_) % pending_.size();
  pending_[slot] = Pending{entry, ready};
  ++pending_count_;
}

void CompletionQueue::cancel_sq(uint16_t sqid) {
  for (size_t i = 0; i < pending_count_; ++i) {
    Pending& p = pending_[(pending_head_ + i) % pending_.size()];
    if (p.entry.sq_id == sqid) p.entry.sq_id = kCancelled;
  }
}

void CompletionQueue::write_entry(const CompletionEntry& e) {
  std::byte* slot = base_ + size_t{tail_} * sizeof(CompletionEntry);
  // Everything but the status word first; the status word, carrying the new
  // phase tag, is published last with release order, so a driver that sees
  // the phase flip (with an acquire load) sees the whole entry.
  std::memcpy(slot, &e, offsetof(CompletionEntry, status));
  uint16_t status = static_cast<uint16_t>((e.status & ~status::kPhase) | (phase_ ? 1 : 0));
  auto* word = reinterpret_cast<uint16_t*>(slot + offsetof(CompletionEntry, status));
  std::atomic_ref<uint16_t>(*word).store(status, std::memory_order_release);
  if (++tail_ == size_) {
    tail_ = 0;
    phase_ = !phase_;  // §4.6: the phase tag inverts on every pass through the queue
  }
}

uint32_t CompletionQueue::post_ready(TimePoint now) {
  uint32_t posted = 0;
  while (pending_count_ > 0) {
    Pending& p = pending_[pending_head_];
    if (p.entry.sq_id != kCancelled) {
      if (p.ready > now || full()) break;
      write_entry(p.entry);
      if (unsignaled_++ == 0) first_unsignaled_ = now;
      ++posted;
    }
    pending_head_ = pending_head_ + 1 == pending_.size() ? 0 : pending_head_ + 1;
    --pending_count_;
  }
  return posted;
}

bool CompletionQueue::next_ready(TimePoint* when) const {
  if (pending_count_ == 0 || full()) return false;
  *when = pending_[pending_head_].ready;
  return true;
}

bool CompletionQueue::interrupt_due(TimePoint now, const Coalescing& c) const {
  if (!irq_enabled_ || unsignaled_ == 0) return false;
  return unsignaled_ >= c.threshold || now - first_unsignaled_ >= c.time;
}

bool CompletionQueue::coalescing_deadline(const Coalescing& c, TimePoint* when) const {
  if (!irq_enabled_ || unsignaled_ == 0) return false;
  *when = first_unsignaled_ + c.time;
  return true;
}

}  // namespace uldd::nvme
