#include "shim/ring_net_driver_port.h"

#include <algorithm>

namespace uldd::shim {

using abi::NetRing;

RingNetDriverPort::RingNetDriverPort(const abi::NetRingRegionView& view, const EventFd& driver_wake,
                                     const EventFd& shim_wake)
    : view_(view),
      tx_request_(view.producer(NetRing::kTxRequest)),
      tx_done_(view.consumer(NetRing::kTxDone)),
      rx_free_(view.producer(NetRing::kRxFree)),
      rx_done_(view.consumer(NetRing::kRxDone)),
      driver_wake_(driver_wake),
      shim_wake_(shim_wake) {}

uint32_t RingNetDriverPort::space(Producer& p) {
  bool corrupt = false;
  uint32_t n = p.free_slots(&corrupt);
  violated_ |= corrupt;
  return n;
}

void RingNetDriverPort::commit(Producer& p, uint32_t count) {
  if (count == 0) return;
  if (p.publish(count)) driver_wake_.signal();
}

uint32_t RingNetDriverPort::reap(Consumer& c, std::span<abi::NetDescriptor> out) {
  bool corrupt = false;
  uint32_t n = std::min<uint32_t>(c.available(&corrupt), static_cast<uint32_t>(out.size()));
  violated_ |= corrupt;
  for (uint32_t i = 0; i < n; ++i) out[i] = c.peek(i);
  // The driver may be waiting for done-ring space to return more buffers.
  if (n > 0 && c.release(n)) driver_wake_.signal();
  return n;
}

bool RingNetDriverPort::prepare_sleep(bool waiting_for_tx_space) {
  if (tx_done_.prepare_sleep()) return true;
  if (rx_done_.prepare_sleep()) {
    tx_done_.finish_sleep();
    return true;
  }
  if (waiting_for_tx_space && tx_request_.prepare_wait_for_space()) {
    tx_done_.finish_sleep();
    rx_done_.finish_sleep();
    return true;
  }
  return false;
}

void RingNetDriverPort::reset() {
  // Every index word of all four rings, the dead driver's included: the ring
  // region belongs to the supervisor, and the next driver's loop resumes from
  // the shared words, so they must say "empty" before it starts.
  for (uint32_t r = 0; r < abi::kNetRingCount; ++r) {
    abi::RingIndices* ix = view_.indices(static_cast<NetRing>(r));
    abi::ring_detail::store(ix->producer.tail, 0, std::memory_order_relaxed);
    abi::ring_detail::store(ix->producer.producer_needs_wakeup, 0, std::memory_order_relaxed);
    abi::ring_detail::store(ix->consumer.head, 0, std::memory_order_relaxed);
    abi::ring_detail::store(ix->consumer.consumer_needs_wakeup, 0, std::memory_order_release);
  }
  tx_request_ = view_.producer(NetRing::kTxRequest);
  tx_done_ = view_.consumer(NetRing::kTxDone);
  rx_free_ = view_.producer(NetRing::kRxFree);
  rx_done_ = view_.consumer(NetRing::kRxDone);
  violated_ = false;
}

void RingNetDriverPort::finish_sleep() {
  tx_done_.finish_sleep();
  rx_done_.finish_sleep();
  tx_request_.finish_wait_for_space();
}

}  // namespace uldd::shim
