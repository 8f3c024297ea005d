// ServiceThread: runs a BusService the way the supervisor does — a poll loop
// on its fd and deadline calling process() — on a thread of its own, so that
// a test can make blocking calls to it (sd-bus clients, busctl processes).
// Everything else the test does to the service (ControlEvents calls) goes
// through run(), which executes on that thread: sd-bus objects are not
// thread-safe, and the seam promises a single loop thread.
#pragma once

#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "common/unique_fd.h"
#include "supervisor/dbus/bus_service.h"

namespace uldd::dbus::testing {

class ServiceThread {
 public:
  explicit ServiceThread(BusService& service);
  ~ServiceThread();
  ServiceThread(const ServiceThread&) = delete;
  ServiceThread& operator=(const ServiceThread&) = delete;

  // Runs `task` on the service's thread and returns when it has run.
  void run(const std::function<void()>& task);

 private:
  void loop();

  BusService& service_;
  UniqueFd wakeup_;  // eventfd: a task is queued, or stop
  std::mutex mutex_;
  std::vector<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace uldd::dbus::testing
