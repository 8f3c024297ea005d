#include "drivers/e1000/e1000_driver_loop.h"

#include <poll.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "common/event_fd.h"

namespace uldd::drivers {
namespace {

using abi::NetRing;

uint32_t load_index(const uint32_t& field) {
  return std::atomic_ref<uint32_t>(const_cast<uint32_t&>(field)).load(std::memory_order_acquire);
}

}  // namespace

E1000DriverLoop::E1000DriverLoop(E1000Driver& driver, const abi::NetRingRegionView& rings,
                                 int driver_wake_fd, int shim_wake_fd, abi::ControlBlock* cb,
                                 Options options)
    : driver_(driver),
      tx_requests_(rings.consumer(NetRing::kTxRequest,
                                  load_index(rings.indices(NetRing::kTxRequest)->consumer.head))),
      rx_free_(rings.consumer(NetRing::kRxFree,
                              load_index(rings.indices(NetRing::kRxFree)->consumer.head))),
      tx_done_{rings.producer(NetRing::kTxDone,
                              load_index(rings.indices(NetRing::kTxDone)->producer.tail)),
               {},
               0},
      rx_done_{rings.producer(NetRing::kRxDone,
                              load_index(rings.indices(NetRing::kRxDone)->producer.tail)),
               {},
               0},
      driver_wake_fd_(driver_wake_fd),
      shim_wake_fd_(shim_wake_fd),
      cb_(cb),
      options_(options),
      batch_(kBatchMax) {
  tx_done_.backlog.reserve(kBatchMax);
  rx_done_.backlog.reserve(kBatchMax);
  if (cb_ != nullptr) heartbeat_ = abi::load_shared(cb_->status.heartbeat);
}

void E1000DriverLoop::set_state(abi::DriverState s) {
  if (cb_ != nullptr) abi::store_shared(cb_->status.state, static_cast<uint32_t>(s));
}

Status E1000DriverLoop::fail(const Error& e) {
  spdlog::error("e1000 driver loop failed: {}", e.describe());
  abi::record_driver_failure(cb_, e.describe());
  return e;
}

// Warm resume: only kNetFlagAdopt descriptors are taken (the shim puts them
// first in each ring), whatever the device rings' room, until the driver has
// all it was promised; anything unflagged waits in its ring.
Status E1000DriverLoop::take_adopted(bool* did_work) {
  bool corrupt = false;
  for (int dir = 0; dir < 2 && driver_.adopting(); ++dir) {
    bool tx = dir == 0;
    abi::SpscConsumer<abi::NetDescriptor>& ring = tx ? tx_requests_ : rx_free_;
    uint32_t ready = ring.available(&corrupt);
    if (corrupt)
      return plain_error(std::string(tx ? "tx_request" : "rx_free") +
                         " ring: producer tail is more than capacity ahead");
    uint32_t n = 0;
    while (n < ready && driver_.adopting() && (ring.peek(n).status & abi::kNetFlagAdopt) != 0)
      driver_.take_adopted(ring.peek(n++), tx);
    if (n != 0) {
      if (ring.release(n)) kick_shim_ = true;
      *did_work = true;
    }
  }
  return driver_.adoption_status();
}

Status E1000DriverLoop::take_requests(bool* did_work) {
  if (driver_.adopting()) return take_adopted(did_work);
  bool corrupt = false;
  if (!stopping_) {
    uint32_t ready = tx_requests_.available(&corrupt);
    if (corrupt) return plain_error("tx_request ring: producer tail is more than capacity ahead");
    uint32_t n = std::min({ready, driver_.tx_free_slots(), kBatchMax});
    for (uint32_t i = 0; i < n; ++i) driver_.transmit(tx_requests_.peek(i));
    if (n != 0) {
      if (tx_requests_.release(n)) kick_shim_ = true;  // the shim waits for request space
      *did_work = true;
    }
  }
  // RX buffers are posted even while stopping: the device may as well fill them.
  uint32_t ready = rx_free_.available(&corrupt);
  if (corrupt) return plain_error("rx_free ring: producer tail is more than capacity ahead");
  uint32_t n = std::min({ready, driver_.rx_free_slots(), kBatchMax});
  for (uint32_t i = 0; i < n; ++i) driver_.post_rx(rx_free_.peek(i));
  if (n != 0) {
    if (rx_free_.release(n)) kick_shim_ = true;
    *did_work = true;
  }
  return {};
}

uint32_t E1000DriverLoop::flush_backlog(DoneRing& done, bool* corrupt) {
  uint32_t waiting = static_cast<uint32_t>(done.backlog.size() - done.backlog_head);
  if (waiting == 0) return 0;
  uint32_t k = std::min(waiting, done.ring.free_slots(corrupt));
  if (k == 0) return 0;
  for (uint32_t i = 0; i < k; ++i) done.ring.stage(i, done.backlog[done.backlog_head + i]);
  if (done.ring.publish(k)) kick_shim_ = true;
  done.backlog_head += k;
  if (done.empty()) {
    done.backlog.clear();
    done.backlog_head = 0;
  }
  done_posted_ += k;
  return k;
}

template <class Reap>
Status E1000DriverLoop::post_done(DoneRing& done, Reap reap, const char* ring_name,
                                  bool* did_work) {
  bool corrupt = false;
  if (flush_backlog(done, &corrupt) != 0) *did_work = true;
  // While descriptors wait for ring space, leave further ones in the device.
  while (!corrupt && done.empty()) {
    size_t n = reap(std::span<abi::NetDescriptor>(batch_));
    if (n == 0) break;
    *did_work = true;
    // Fault point crash-here: in completion handling, with completions reaped.
    if (driver_.fault_points().fire(abi::FaultPoint::kCrashHere)) std::abort();
    done.backlog.assign(batch_.begin(), batch_.begin() + static_cast<ptrdiff_t>(n));
    apply_completion_faults(driver_.fault_points(), done.backlog);
    flush_backlog(done, &corrupt);
    if (n < batch_.size()) break;
  }
  if (corrupt)
    return plain_error(std::string(ring_name) + " ring: consumer head is ahead of our tail");
  return {};
}

Status E1000DriverLoop::sleep() {
  // Arm every wake-up source we could act on; if work raced in, do not sleep.
  bool tx_armed = false, rx_armed = false, tx_waiting = false, rx_waiting = false;
  bool raced = false;
  if (!tx_done_.empty()) {
    raced = tx_done_.ring.prepare_wait_for_space();
    tx_waiting = !raced;
  }
  if (!raced && !rx_done_.empty()) {
    raced = rx_done_.ring.prepare_wait_for_space();
    rx_waiting = !raced;
  }
  bool adopting = driver_.adopting();
  if (!raced && !stopping_ && (adopting || driver_.tx_free_slots() > 0)) {
    raced = tx_requests_.prepare_sleep();
    tx_armed = !raced;
  }
  if (!raced && (adopting || driver_.rx_free_slots() > 0)) {
    raced = rx_free_.prepare_sleep();
    rx_armed = !raced;
  }
  auto unarm = [&] {
    if (tx_armed) tx_requests_.finish_sleep();
    if (rx_armed) rx_free_.finish_sleep();
    if (tx_waiting) tx_done_.ring.finish_wait_for_space();
    if (rx_waiting) rx_done_.ring.finish_wait_for_space();
  };
  if (raced) {
    unarm();
    return {};
  }
  pollfd fds[2] = {{driver_wake_fd_, POLLIN, 0}, {driver_.irq_fd(), POLLIN, 0}};
  // Half the heartbeat interval: the beat after the sleep is still in time.
  auto us = std::max<int64_t>(options_.heartbeat_interval.count() / 2, 1000);
  timespec ts{static_cast<time_t>(us / 1000000), static_cast<long>(us % 1000000) * 1000};
  // While adopting, the interrupt is left pending: taking it reads ICR, and
  // a refusal must leave the device untouched.
  int r = ::ppoll(fds, adopting ? 1 : 2, &ts, options_.sleep_sigmask);
  int saved_errno = errno;
  unarm();
  if (r < 0) {
    if (saved_errno == EINTR) return {};
    errno = saved_errno;
    return errno_error("ppoll(driver wake, irq)");
  }
  if (r == 0) return driver_.check_device();  // idle: a cheap look at STATUS
  if ((fds[0].revents & POLLIN) != 0) drain_eventfd(driver_wake_fd_);
  if (!adopting && (fds[1].revents & POLLIN) != 0) ULDD_TRY(driver_.on_interrupt());
  if (((fds[0].revents | fds[1].revents) & (POLLERR | POLLNVAL)) != 0)
    return plain_error("ppoll: driver-wake or irq fd reports an error");
  return {};
}

Status E1000DriverLoop::run() {
  // A warm start reports running only once every promised buffer is adopted
  // (a refusal before that is the engine's "warm resume refused").
  bool running = false;
  auto drain_deadline = std::chrono::steady_clock::time_point::max();
  auto reap_tx = [this](std::span<abi::NetDescriptor> out) { return driver_.reap_tx(out); };
  auto reap_rx = [this](std::span<abi::NetDescriptor> out) { return driver_.reap_rx(out); };
  for (;;) {
    ++iterations_;
    if (cb_ != nullptr) abi::store_shared(cb_->status.heartbeat, ++heartbeat_);
    driver_.fault_points().on_loop_pass();  // re-reads armings; stall, leak-memory
    if (!stopping_ && stop_.load(std::memory_order_relaxed)) {
      stopping_ = true;
      set_state(abi::DriverState::kStopping);
      drain_deadline = std::chrono::steady_clock::now() + options_.drain_timeout;
      spdlog::info("stopping: draining {} TX buffer(s)", driver_.tx_outstanding());
    }
    if (!running && !driver_.adopting()) {
      set_state(abi::DriverState::kRunning);
      running = true;
    }
    bool did_work = false;
    // Reap first: harvested RX slots can be re-posted in the same batch. Not
    // while adopting: a slot is only echoed once its buffer is known.
    Status s;
    if (running) s = post_done(tx_done_, reap_tx, "tx_done", &did_work);
    if (s && running) s = post_done(rx_done_, reap_rx, "rx_done", &did_work);
    if (s) s = take_requests(&did_work);
    if (!s) return fail(s.error());
    driver_.ring_doorbells();
    if (cb_ != nullptr)
      std::atomic_ref<uint64_t>(cb_->status.requests_done)
          .store(done_posted_, std::memory_order_relaxed);
    if (kick_shim_) {
      signal_eventfd(shim_wake_fd_);
      kick_shim_ = false;
    }
    if (stopping_) {
      if (!running) {
        spdlog::info("stopped while adopting; the device is left as it was");
        return {};
      }
      if (driver_.tx_outstanding() == 0 && tx_done_.empty() && rx_done_.empty()) {
        spdlog::info("stopped: no TX buffer in flight; RX buffers left posted in the device");
        return {};
      }
      if (std::chrono::steady_clock::now() >= drain_deadline) {
        spdlog::warn("stopped with {} TX buffer(s) in flight after {} ms", driver_.tx_outstanding(),
                     options_.drain_timeout.count());
        return {};
      }
    }
    if (did_work) continue;
    s = sleep();
    if (!s) return fail(s.error());
  }
}

}  // namespace uldd::drivers
