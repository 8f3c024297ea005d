// EventFollower: the supervisor's D-Bus signals (DeviceStateChanged,
// Recovered, FaultInjected) collected on a thread of its own, with its own
// bus connection (an sd-bus connection belongs to one thread), into a queue
// the runner drains while it waits for a fault's outcome. The subscription
// is in place when start() returns, so no signal sent after that is missed.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

#include "common/result.h"
#include "ulddctl/client_types.h"

namespace uldd::campaign {

class EventFollower {
 public:
  EventFollower() = default;
  ~EventFollower() { stop(); }
  EventFollower(const EventFollower&) = delete;
  EventFollower& operator=(const EventFollower&) = delete;

  Status start(const std::string& bus_address);
  void stop();

  // Waits up to `timeout` for the next event; false if none came.
  bool next(ctl::BusEvent* out, std::chrono::milliseconds timeout);
  // Drops everything queued so far.
  void clear();
  // Why following ended ("" while it runs), e.g. the supervisor left the bus.
  std::string ended();

 private:
  void run(std::string bus_address);

  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<ctl::BusEvent> queue_;
  bool subscribed_ = false;
  std::string ended_;
  std::string start_error_;
};

}  // namespace uldd::campaign
