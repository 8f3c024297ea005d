// EventFollower: see event_follower.h. The thread blocks in sd_bus_wait;
// stop() wakes it with SIGUSR1 (a no-op handler installed without
// SA_RESTART, unblocked only in this thread), after which follow_events
// checks `stopping_` and returns.
#include "faultinject/campaign/event_follower.h"

#include <pthread.h>
#include <signal.h>

#include "ulddctl/supervisor_client.h"

namespace uldd::campaign {
namespace {

void wake_handler(int) {}

}  // namespace

Status EventFollower::start(const std::string& bus_address) {
  struct sigaction sa {};
  sa.sa_handler = wake_handler;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;
  ::sigaction(SIGUSR1, &sa, nullptr);
  thread_ = std::thread([this, bus_address] { run(bus_address); });
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return subscribed_ || !ended_.empty(); });
  if (!subscribed_) return plain_error("following the supervisor's signals: " + ended_);
  return {};
}

void EventFollower::run(std::string bus_address) {
  sigset_t usr1;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  pthread_sigmask(SIG_UNBLOCK, &usr1, nullptr);
  auto finish = [&](std::string why) {
    std::lock_guard lock(mu_);
    ended_ = why.empty() ? "stopped" : why;
    cv_.notify_all();
  };
  auto client = ctl::SupervisorClient::connect(bus_address);
  if (!client) return finish(client.error().name + ": " + client.error().message);
  auto r = (*client)->follow_events(
      [&] {
        std::lock_guard lock(mu_);
        subscribed_ = true;
        cv_.notify_all();
      },
      [&](const ctl::BusEvent& e) {
        std::lock_guard lock(mu_);
        queue_.push_back(e);
        cv_.notify_all();
        return !stopping_.load();
      },
      std::chrono::milliseconds(0), [&] { return stopping_.load(); });
  if (!r) return finish(r.error().name + ": " + r.error().message);
  finish("");
}

void EventFollower::stop() {
  if (!thread_.joinable()) return;
  stopping_ = true;
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (!ended_.empty()) break;
    }
    pthread_kill(thread_.native_handle(), SIGUSR1);
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::milliseconds(20), [&] { return !ended_.empty(); });
  }
  thread_.join();
}

bool EventFollower::next(ctl::BusEvent* out, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  if (!cv_.wait_for(lock, timeout, [&] { return !queue_.empty(); })) return false;
  *out = std::move(queue_.front());
  queue_.pop_front();
  return true;
}

void EventFollower::clear() {
  std::lock_guard lock(mu_);
  queue_.clear();
}

std::string EventFollower::ended() {
  std::lock_guard lock(mu_);
  return ended_ == "stopped" ? "" : ended_;
}

}  // namespace uldd::campaign
