#include "shim/ring_driver_port.h"

#include <algorithm>

namespace uldd::shim {

RingDriverPort::RingDriverPort(abi::RingRegionView view, const EventFd& driver_wake,
                               const EventFd& shim_wake)
    : view_(view),
      requests_(view.request_indices(), view.request_slots(), view.header.capacity, 0),
      completions_(view.completion_indices(), view.completion_slots(), view.header.capacity, 0),
      driver_wake_(driver_wake),
      shim_wake_(shim_wake) {}

uint32_t RingDriverPort::submit_space() {
  bool corrupt = false;
  // Blanks the slots the driver released since the last look (abi/ring_region.h).
  uint32_t space = requests_.free_slots_blanking(abi::kBlankRequest, &corrupt);
  violated_ |= corrupt;
  return space;
}

void RingDriverPort::commit(uint32_t count) {
  if (count == 0) return;
  if (requests_.publish(count)) driver_wake_.signal();
}

uint32_t RingDriverPort::reap(std::span<abi::BlockDescriptor> out) {
  bool corrupt = false;
  uint32_t n =
      std::min<uint32_t>(completions_.available(&corrupt), static_cast<uint32_t>(out.size()));
  violated_ |= corrupt;
  for (uint32_t i = 0; i < n; ++i) out[i] = completions_.peek(i);
  if (n > 0 && completions_.release(n)) driver_wake_.signal();
  return n;
}

bool RingDriverPort::prepare_sleep(bool waiting_for_space) {
  if (completions_.prepare_sleep()) return true;
  if (waiting_for_space && requests_.prepare_wait_for_space()) {
    completions_.finish_sleep();
    return true;
  }
  return false;
}

void RingDriverPort::reset() {
  // Both index lines of both rings, including the dead driver's: the ring
  // region belongs to the supervisor, and the next driver resumes from the
  // shared words (DriverLoop), so they must say "empty" before it starts.
  for (abi::RingIndices* ix : {view_.request_indices(), view_.completion_indices()}) {
    abi::ring_detail::store(ix->producer.tail, 0, std::memory_order_relaxed);
    abi::ring_detail::store(ix->producer.producer_needs_wakeup, 0, std::memory_order_relaxed);
    abi::ring_detail::store(ix->consumer.head, 0, std::memory_order_relaxed);
    abi::ring_detail::store(ix->consumer.consumer_needs_wakeup, 0, std::memory_order_release);
  }
  requests_ = abi::SpscProducer<abi::BlockDescriptor>(
      view_.request_indices(), view_.request_slots(), view_.header.capacity, 0);
  completions_ = abi::SpscConsumer<abi::BlockDescriptor>(
      view_.completion_indices(), view_.completion_slots(), view_.header.capacity, 0);
  violated_ = false;
}

void RingDriverPort::finish_sleep() {
  completions_.finish_sleep();
  requests_.finish_wait_for_space();
}

}  // namespace uldd::shim
