#include "drivers/nvme/driver_loop.h"

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

uint32_t load_index(const uint32_t& field) {
  return std::atomic_ref<uint32_t>(const_cast<uint32_t&>(field)).load(std::memory_order_acquire);
}

}  // namespace

DriverLoop::DriverLoop(NvmeDriver& driver, const abi::RingRegionView& rings, int driver_wake_fd,
                       int shim_wake_fd, abi::ControlBlock* cb, Options options)
    : driver_(driver),
      requests_(rings.request_indices(), rings.request_slots(), rings.header.capacity,
                load_index(rings.request_indices()->consumer.head)),
      completions_(rings.completion_indices(), rings.completion_slots(), rings.header.capacity,
                   load_index(rings.completion_indices()->producer.tail)),
      driver_wake_fd_(driver_wake_fd),
      shim_wake_fd_(shim_wake_fd),
      cb_(cb),
      options_(options),
      batch_(kBatchMax) {
  backlog_.reserve(kBatchMax);
  if (cb_ != nullptr) heartbeat_ = abi::load_shared(cb_->status.heartbeat);
}

void DriverLoop::set_state(abi::DriverState s) {
  if (cb_ != nullptr) abi::store_shared(cb_->status.state, static_cast<uint32_t>(s));
}

void DriverLoop::beat() {
  if (cb_ != nullptr) abi::store_shared(cb_->status.heartbeat, ++heartbeat_);
}

Status DriverLoop::fail(const Error& e) {
  spdlog::error("driver loop failed: {}", e.describe());
  abi::record_driver_failure(cb_, e.describe());
  return e;
}

Status DriverLoop::take_requests(bool* did_work) {
  bool corrupt = false;
  uint32_t ready = requests_.available(&corrupt);
  if (corrupt)
    return plain_error("request ring: producer tail is more than capacity ahead of our head");
  uint32_t n = std::min({ready, driver_.free_slots(), kBatchMax});
  if (n == 0) return {};
  for (uint32_t i = 0; i < n; ++i) driver_.submit(requests_.peek(i));
  ULDD_TRY(driver_.command_status());
  driver_.ring_doorbells();
  // A warm resume that found a stale checkpoint must stop before the device
  // completes a command the shim no longer expects (nvme_driver_adopt.cc).
  ULDD_TRY(driver_.adoption_status());
  if (requests_.release(n)) kick_shim_ = true;  // the shim waits for request space
  *did_work = true;
  return {};
}

uint32_t DriverLoop::flush_backlog(bool* corrupt) {
  uint32_t waiting = static_cast<uint32_t>(backlog_.size() - backlog_head_);
  if (waiting == 0) return 0;
  uint32_t k = std::min(waiting, completions_.free_slots(corrupt));
  if (k == 0) return 0;
  for (uint32_t i = 0; i < k; ++i) completions_.stage(i, backlog_[backlog_head_ + i]);
  if (completions_.publish(k)) kick_shim_ = true;
  backlog_head_ += k;
  if (backlog_head_ == backlog_.size()) {
    backlog_.clear();
    backlog_head_ = 0;
  }
  requests_done_ += k;
  return k;
}

Status DriverLoop::post_completions(bool* did_work) {
  bool corrupt = false;
  if (flush_backlog(&corrupt) != 0) *did_work = true;
  // While completions wait for ring space, leave further ones in the device:
  // its queues filling up is what stops us taking new requests (bounded backlog).
  while (!corrupt && backlog_.empty()) {
    size_t n = driver_.reap(batch_);
    if (n == 0) {
      ULDD_TRY(driver_.command_status());  // a deferred command failed its check
      break;
    }
    *did_work = true;
    // Fault point crash-here: in completion handling, with completions reaped.
    if (driver_.fault_points().fire(abi::FaultPoint::kCrashHere)) std::abort();
    backlog_.assign(batch_.begin(), batch_.begin() + static_cast<ptrdiff_t>(n));
    apply_completion_faults(driver_.fault_points(), backlog_);
    flush_backlog(&corrupt);
    // A deferred command that failed its check: the completions reaped with
    // it are posted first, then the driver stops.
    ULDD_TRY(driver_.command_status());
    if (n < batch_.size()) break;
  }
  if (corrupt) return plain_error("completion ring: consumer head is ahead of our tail");
  if (cb_ != nullptr)
    std::atomic_ref<uint64_t>(cb_->status.requests_done)
        .store(requests_done_, std::memory_order_relaxed);
  return {};
}

Status DriverLoop::sleep() {
  bool waiting_space = !backlog_.empty();
  if (waiting_space && completions_.prepare_wait_for_space()) return {};
  // Ask for request kicks only when we could take a request.
  bool armed = false;
  if (!stopping_ && driver_.free_slots() > 0) {
    if (requests_.prepare_sleep()) {
      if (waiting_space) completions_.finish_wait_for_space();
      return {};
    }
    armed = true;
  }
  pollfd fds[2] = {{driver_wake_fd_, POLLIN, 0}, {driver_.irq_fd(), POLLIN, 0}};
  // Half the heartbeat interval: the beat after the sleep is still in time.
  auto us = std::max<int64_t>(options_.heartbeat_interval.count() / 2, 1000);
  timespec ts{static_cast<time_t>(us / 1000000), static_cast<long>(us % 1000000) * 1000};
  int r = ::ppoll(fds, 2, &ts, options_.sleep_sigmask);
  int saved_errno = errno;
  if (armed) requests_.finish_sleep();
  if (waiting_space) completions_.finish_wait_for_space();
  if (r < 0) {
    if (saved_errno == EINTR) return {};
    errno = saved_errno;
    return errno_error("ppoll(driver wake, irq)");
  }
  if (r == 0) return driver_.check_controller();  // idle: a cheap look at CSTS
  if ((fds[0].revents & POLLIN) != 0) drain_eventfd(driver_wake_fd_);
  if ((fds[1].revents & POLLIN) != 0) ULDD_TRY(driver_.on_interrupt());
  if (((fds[0].revents | fds[1].revents) & (POLLERR | POLLNVAL)) != 0)
    return plain_error("ppoll: driver-wake or irq fd reports an error");
  return {};
}

Status DriverLoop::run() {
  set_state(abi::DriverState::kRunning);
  auto drain_deadline = std::chrono::steady_clock::time_point::max();
  for (;;) {
    ++iterations_;
    beat();
    driver_.fault_points().on_loop_pass();  // re-reads armings; stall, leak-memory
    if (!stopping_ && stop_.load(std::memory_order_relaxed)) {
      stopping_ = true;
      set_state(abi::DriverState::kStopping);
      drain_deadline = std::chrono::steady_clock::now() + options_.drain_timeout;
      spdlog::info("stopping: draining {} outstanding command(s)", driver_.outstanding());
    }
    bool did_work = false;
    if (!stopping_) {
      Status s = take_requests(&did_work);
      if (!s) return fail(s.error());
    }
    Status s = post_completions(&did_work);
    if (!s) return fail(s.error());
    if (kick_shim_) {
      signal_eventfd(shim_wake_fd_);
      kick_shim_ = false;
    }
    if (stopping_) {
      if (driver_.outstanding() == 0 && backlog_.empty()) {
        spdlog::info("stopped: nothing in flight; controller left running for the next driver");
        return {};
      }
      if (std::chrono::steady_clock::now() >= drain_deadline) {
        spdlog::warn(
            "stopped with {} command(s) in flight and {} completion(s) unposted after {} ms",
            driver_.outstanding(), backlog_.size() - backlog_head_, options_.drain_timeout.count());
        return {};
      }
    }
    if (did_work) continue;
    s = sleep();
    if (!s) return fail(s.error());
  }
}

}  // namespace uldd::drivers
