// SpscRing: a single-producer single-consumer descriptor ring in shared memory,
// in the style of seL4's sDDF queues.
//
// Shared state is the RingIndices struct below plus an array of `capacity`
// descriptor slots (capacity a power of two). Indices are free-running 32-bit
// counters; slot = index & (capacity - 1). The producer is the only writer of
// `tail` and `producer_needs_wakeup`; the consumer is the only writer of `head`
// and `consumer_needs_wakeup`. Each side keeps its own index in private memory
// and only ever stores it, so a hostile peer that scribbles on our index in the
// shared page cannot move it; the peer's index is loaded once per batch and
// checked (0 <= tail - head <= capacity) before it is believed.
//
// Who writes the slots: the producer writes every slot outside [head, tail)
// (the free ones), the consumer writes none. Besides staging new descriptors
// the producer may overwrite free slots at any time; a producer that does not
// trust its consumer (the shim on the request ring) does so with
// free_slots_blanking(): every slot the consumer's head moved past is
// overwritten with an invalid "blank" descriptor, so a consumer that reads
// past the published tail finds blanks, never an old lap's descriptor.
//
// Memory ordering lives in the accessors: a slot is written before `tail` is
// stored with release and read after `tail` is loaded with acquire (likewise
// for `head` and slot reuse). The need-wakeup handshake is a Dekker pair
// (publish index, then look at the peer's flag / set own flag, then re-check
// the index), so those four accesses are seq_cst: without that a sleeper could
// miss a kick.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "abi/abi_version.h"

namespace uldd::abi {

struct alignas(kCacheLine) RingProducerLine {
  uint32_t tail;                   // written by producer: next index it will fill
  uint32_t producer_needs_wakeup;  // written by producer: 1 while it waits for free space
  uint8_t reserved[56];
};

struct alignas(kCacheLine) RingConsumerLine {
  uint32_t head;                   // written by consumer: next index it will take
  uint32_t consumer_needs_wakeup;  // written by consumer: 1 while it sleeps on an empty ring
  uint8_t reserved[56];
};

struct RingIndices {
  RingProducerLine producer;
  RingConsumerLine consumer;
};

static_assert(sizeof(RingProducerLine) == 64);
static_assert(sizeof(RingConsumerLine) == 64);
static_assert(sizeof(RingIndices) == 128);
static_assert(offsetof(RingIndices, producer) == 0);
static_assert(offsetof(RingIndices, consumer) == 64);
static_assert(offsetof(RingProducerLine, tail) == 0);
static_assert(offsetof(RingProducerLine, producer_needs_wakeup) == 4);
static_assert(offsetof(RingConsumerLine, head) == 0);
static_assert(offsetof(RingConsumerLine, consumer_needs_wakeup) == 4);

namespace ring_detail {
inline uint32_t load(const uint32_t& field, std::memory_order order) {
  return std::atomic_ref<uint32_t>(const_cast<uint32_t&>(field)).load(order);
}
inline void store(uint32_t& field, uint32_t value, std::memory_order order) {
  std::atomic_ref<uint32_t>(field).store(value, order);
}
}  // namespace ring_detail

// The producer's view of a ring. Not thread-safe: one producer thread.
template <class Desc>
class SpscProducer {
 public:
  SpscProducer() = default;
  // `tail` is where the producer resumes: 0 for a fresh ring, or the value a
  // trusted party (the shim) recorded, when a ring is re-attached.
  SpscProducer(RingIndices* indices, Desc* slots, uint32_t capacity, uint32_t tail)
      : indices_(indices), slots_(slots), mask_(capacity - 1), tail_(tail) {}

  // Free slots, from the consumer's head loaded once (acquire: the consumer is
  // done with the slots it released). A head that claims the consumer took
  // more than was published is a protocol violation: reported as 0 free slots
  // with `corrupt` set, never believed.
  uint32_t free_slots(bool* corrupt = nullptr) const {
    uint32_t head = ring_detail::load(indices_->consumer.head, std::memory_order_acquire);
    uint32_t used = tail_ - head;
    if (used > mask_ + 1) {
      if (corrupt != nullptr) *corrupt = true;
      return 0;
    }
    return mask_ + 1 - used;
  }

  // free_slots() that also overwrites with `blank` every slot the consumer
  // released since the previous call (the slots between the head seen then
  // and the head seen now). Stage only into space this returned, so a blanked
  // slot is never one staged but not yet published. A head that moved back
  // releases nothing (the slots it claims again stay as they are). Cost: one
  // descriptor copy per released slot, each slot once per lap.
  uint32_t free_slots_blanking(const Desc& blank, bool* corrupt = nullptr) {
    uint32_t head = ring_detail::load(indices_->consumer.head, std::memory_order_acquire);
    uint32_t used = tail_ - head;
    if (used > mask_ + 1) {
      if (corrupt != nullptr) *corrupt = true;
      return 0;
    }
    if (head - blanked_ <= tail_ - blanked_) {
      for (; blanked_ != head; ++blanked_)
        std::memcpy(&slots_[blanked_ & mask_], &blank, sizeof(Desc));
    }
    return mask_ + 1 - used;
  }

  // Writes the n-th descriptor past the published tail; becomes visible only
  // on publish(). The caller has checked free_slots().
  void stage(uint32_t n, const Desc& d) {
    std::memcpy(&slots_[(tail_ + n) & mask_], &d, sizeof(Desc));
  }

  // Publishes `count` staged descriptors (release) and returns whether the
  // consumer asked to be woken (then the caller kicks it once for the batch).
  bool publish(uint32_t count) {
    tail_ += count;
    ring_detail::store(indices_->producer.tail, tail_, std::memory_order_seq_cst);
    return ring_detail::load(indices_->consumer.consumer_needs_wakeup, std::memory_order_seq_cst) !=
           0;
  }

  // Full-ring sleep protocol: set our flag, then re-check. Returns true if
  // space appeared meanwhile (flag already cleared; do not sleep).
  bool prepare_wait_for_space() {
    ring_detail::store(indices_->producer.producer_needs_wakeup, 1, std::memory_order_seq_cst);
    // The re-check is the second half of the Dekker pair: seq_cst, like the
    // consumer's store of head in release().
    uint32_t head = ring_detail::load(indices_->consumer.head, std::memory_order_seq_cst);
    if (tail_ - head < mask_ + 1) {
      finish_wait_for_space();
      return true;
    }
    return false;
  }
  void finish_wait_for_space() {
    ring_detail::store(indices_->producer.producer_needs_wakeup, 0, std::memory_order_relaxed);
  }

  uint32_t tail() const { return tail_; }
  uint32_t capacity() const { return mask_ + 1; }

 private:
  RingIndices* indices_ = nullptr;
  Desc* slots_ = nullptr;
  uint32_t mask_ = 0;
  uint32_t tail_ = 0;
  // free_slots_blanking(): slots before this index are blank or re-staged.
  // Starts a full lap behind the tail: every slot not in [head, tail) is free.
  uint32_t blanked_ = tail_ - (mask_ + 1);
};

// The consumer's view of a ring. Not thread-safe: one consumer thread.
template <class Desc>
class SpscConsumer {
 public:
  SpscConsumer() = default;
  SpscConsumer(RingIndices* indices, Desc* slots, uint32_t capacity, uint32_t head)
      : indices_(indices), slots_(slots), mask_(capacity - 1), head_(head) {}

  // Descriptors ready, from the producer's tail loaded once (acquire). A tail
  // more than `capacity` ahead of our head is a protocol violation: reported
  // as 0 available with `corrupt` set.
  uint32_t available(bool* corrupt = nullptr) const {
    uint32_t tail = ring_detail::load(indices_->producer.tail, std::memory_order_seq_cst);
    uint32_t ready = tail - head_;
    if (ready > mask_ + 1) {
      if (corrupt != nullptr) *corrupt = true;
      return 0;
    }
    return ready;
  }

  // Copies out the n-th ready descriptor (copy once: the caller validates the
  // copy, never the shared slot, which the peer may still be changing).
  Desc peek(uint32_t n) const {
    Desc d;
    std::memcpy(&d, &slots_[(head_ + n) & mask_], sizeof(Desc));
    return d;
  }

  // Hands `count` slots back to the producer (release) and returns whether the
  // producer is waiting for space (then the caller kicks it).
  bool release(uint32_t count) {
    head_ += count;
    ring_detail::store(indices_->consumer.head, head_, std::memory_order_seq_cst);
    return ring_detail::load(indices_->producer.producer_needs_wakeup, std::memory_order_seq_cst) !=
           0;
  }

  // Empty-ring sleep protocol: set our flag, then re-check. Returns true if
  // work appeared meanwhile (flag cleared again; do not sleep).
  bool prepare_sleep() {
    ring_detail::store(indices_->consumer.consumer_needs_wakeup, 1, std::memory_order_seq_cst);
    if (available() > 0) {
      finish_sleep();
      return true;
    }
    return false;
  }
  // Called on waking: a busy consumer needs no kicks.
  void finish_sleep() {
    ring_detail::store(indices_->consumer.consumer_needs_wakeup, 0, std::memory_order_relaxed);
  }

  uint32_t head() const { return head_; }
  uint32_t capacity() const { return mask_ + 1; }

 private:
  RingIndices* indices_ = nullptr;
  Desc* slots_ = nullptr;
  uint32_t mask_ = 0;
  uint32_t head_ = 0;
};

}  // namespace uldd::abi
