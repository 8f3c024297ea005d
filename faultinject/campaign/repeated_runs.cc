// RepeatedRuns: see repeated_runs.h.
#include "faultinject/campaign/repeated_runs.h"

namespace uldd::campaign {

void RepeatedRuns::start(OneRun one_run) {
  one_run_ = std::move(one_run);
  thread_ = std::thread([this] { loop(); });
}

void RepeatedRuns::loop() {
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (ending_) break;
    }
    std::optional<std::chrono::milliseconds> pause = one_run_();
    if (!pause) break;
    std::unique_lock lock(mu_);
    if (cv_.wait_for(lock, *pause, [this] { return ending_; })) break;
  }
  std::lock_guard lock(mu_);
  done_ = true;
  cv_.notify_all();
}

bool RepeatedRuns::finish(std::chrono::milliseconds timeout) {
  {
    std::unique_lock lock(mu_);
    ending_ = true;
    cv_.notify_all();
    if (thread_.joinable() && !cv_.wait_for(lock, timeout, [this] { return done_; })) return false;
  }
  if (thread_.joinable()) thread_.join();
  return true;
}

void RepeatedRuns::cancel() {
  cancel_.store(true);
  {
    std::lock_guard lock(mu_);
    ending_ = true;
    cv_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
}

}  // namespace uldd::campaign
