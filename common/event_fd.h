// EventFd: the doorbell between processes. A kick is one 8-byte write that adds
// to a counter; a wait is one read that takes (and clears) the counter, so many
// kicks sent while the peer was busy cost it one wake-up (batching).
#pragma once

#include <chrono>
#include <cstdint>

#include "common/result.h"
#include "common/unique_fd.h"

namespace uldd {

// The same two operations on an eventfd known only by number (a driver
// process gets its eventfds as inherited fds, abi/driver_fds.h).
void signal_eventfd(int fd);
uint64_t drain_eventfd(int fd);

class EventFd {
 public:
  // Non-blocking, close-on-exec. A blocking wait is done with poll() (wait_for).
  static Result<EventFd> create();
  static EventFd adopt(UniqueFd fd) { return EventFd(std::move(fd)); }

  EventFd() = default;

  // Adds 1 to the counter; wakes a waiter. Never blocks.
  void signal() const;
  // Takes the counter if non-zero; returns 0 if nothing was pending.
  uint64_t drain() const;
  // Waits until the counter is non-zero or `timeout` passes (negative: forever),
  // then drains it. Returns the count taken (0 on timeout); EINTR yields 0.
  Result<uint64_t> wait_for(std::chrono::microseconds timeout) const;

  int fd() const { return fd_.get(); }
  bool valid() const { return fd_.valid(); }

 private:
  explicit EventFd(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace uldd
