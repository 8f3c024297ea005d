// RepeatedRuns: the loop every side workload (fio_verify, ext4_fsck,
// iperf3) runs on a thread of its own — one run, a pause, the next run —
// and the two ways it ends: finish() lets the current run end and starts no
// other (bounded wait), cancel() also cuts a run short through the flag
// run_bounded() watches (bounded_command.h), then joins. One copy of the
// thread, flags and condition variable instead of one per workload.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

namespace uldd::campaign {

class RepeatedRuns {
 public:
  // One run; returns the pause before the next, or nullopt to stop.
  using OneRun = std::function<std::optional<std::chrono::milliseconds>()>;

  RepeatedRuns() = default;
  ~RepeatedRuns() { cancel(); }
  RepeatedRuns(const RepeatedRuns&) = delete;
  RepeatedRuns& operator=(const RepeatedRuns&) = delete;

  void start(OneRun one_run);
  // Starts no further run and waits (at most `timeout`) for the current one
  // to end; false if it did not. Then joins when it did.
  bool finish(std::chrono::milliseconds timeout);
  // Like finish() without the wait: raises the cancel flag, joins. Idempotent.
  void cancel();
  // For run_bounded(): set by cancel().
  std::atomic<bool>* cancel_flag() { return &cancel_; }

 private:
  void loop();

  OneRun one_run_;
  std::thread thread_;
  std::atomic<bool> cancel_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  bool ending_ = false;  // guarded by mu_: finish() or cancel() was called
  bool done_ = false;    // guarded by mu_: the loop has returned
};

}  // namespace uldd::campaign
