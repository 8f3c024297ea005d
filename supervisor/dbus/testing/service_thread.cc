#include "supervisor/dbus/testing/service_thread.h"

#include <poll.h>
#include <sys/eventfd.h>

#include <chrono>
#include <future>

#include "common/event_fd.h"

namespace uldd::dbus::testing {

ServiceThread::ServiceThread(BusService& service)
    : service_(service),
      wakeup_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)),
      thread_([this] { loop(); }) {}

ServiceThread::~ServiceThread() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  signal_eventfd(wakeup_.get());
  thread_.join();
}

void ServiceThread::run(const std::function<void()>& task) {
  std::promise<void> done;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    tasks_.push_back([&] {
      task();
      done.set_value();
    });
  }
  signal_eventfd(wakeup_.get());
  done.get_future().wait();
}

void ServiceThread::loop() {
  for (;;) {
    std::vector<std::function<void()>> tasks;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_) return;
      tasks.swap(tasks_);
    }
    for (auto& task : tasks) task();
    service_.process();

    pollfd fds[2] = {{service_.fd(), service_.poll_events(), 0}, {wakeup_.get(), POLLIN, 0}};
    int timeout_ms = -1;
    const auto deadline = service_.deadline();
    if (deadline != std::chrono::steady_clock::time_point::max()) {
      const auto left =
          std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      timeout_ms = static_cast<int>(std::max<int64_t>(0, left.count()));
    }
    poll(fds, 2, timeout_ms);
    if (fds[1].revents & POLLIN) drain_eventfd(wakeup_.get());
  }
}

}  // namespace uldd::dbus::testing
