// RestartTracker: decides, for one device, whether a failed driver is
// restarted and after how long, or whether its policy is exhausted. It is the
// policy's arithmetic and nothing else — no clocks, no timers, no processes —
// so that the recovery engine, a fault campaign and a unit test all get the
// same answer for the same history: time comes in as `now` from the caller,
// and jitter comes from a seeded std::mt19937_64 so a campaign replays exactly.
//
// Model (policies/README.md has the operator's view):
//  - A burst is a run of failures without `stable_after` of uptime in between.
//    The 1st restart of a burst waits `delay`; the k-th (k >= 2) waits
//    min(backoff_max, backoff_initial * backoff_multiplier^(k-2)); every wait
//    is then scaled by a factor uniform in [1 - jitter, 1 + jitter].
//  - At most `intensity` restarts are granted within any sliding window of
//    `period`; the failure that would need one more exhausts the policy.
//  - restart = never: the first failure exhausts it. restart = on-failure: a
//    clean exit (cause kExited with status 0) exhausts it, since the driver
//    meant to stop; every other failure is restarted as under `always`.
//  - Exhausted is sticky until reset(): the device stays given up on.
// Not thread-safe: one tracker per device, used from the supervisor's loop.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <random>
#include <string>
#include <string_view>

#include "policies/restart_policy.h"

namespace uldd::policies {

enum class FailureCause {
  kExited,             // the process exited by itself (any status)
  kCrashed,            // killed by a signal (SIGSEGV, SIGKILL, seccomp's SIGSYS, ...)
  kHung,               // no heartbeat within heartbeat_timeout; the supervisor killed it
  kProtocolViolation,  // the shim caught it writing a bad index, tag, IOVA or length
  kStartFailed,        // it never came up (spawn failed or died before its first heartbeat)
};
constexpr size_t kFailureCauseCount = 5;
std::string_view to_string(FailureCause cause);  // "exited", "crashed", "hung", ...

struct Decision {
  enum class Kind {
    kRestart,    // start a new driver after `delay`
    kExhausted,  // do the policy's on_exhausted action; `reason` says why
  };
  Kind kind = Kind::kRestart;
  std::chrono::microseconds delay{0};  // kRestart: wait this long (jitter applied) before starting
  std::string reason;                  // kExhausted: one line for the log, the event and the hook

  bool restart() const { return kind == Kind::kRestart; }
};

// What the tracker has seen, for status lines and the later D-Bus API.
struct RestartCounters {
  uint64_t failures = 0;                    // on_failure() calls
  uint64_t restarts = 0;                    // restarts granted
  uint32_t consecutive = 0;                 // failures in the current burst (0 after reset())
  uint32_t restarts_in_window = 0;          // restarts within `period` as of the last failure
  std::chrono::microseconds last_delay{0};  // of the last restart granted
  bool exhausted = false;
  std::array<uint64_t, kFailureCauseCount> by_cause{};  // indexed by FailureCause
};

class RestartTracker {
 public:
  using Clock = std::chrono::steady_clock;

  RestartTracker(RestartPolicy policy, uint64_t seed);

  // The driver is serving (first heartbeat seen): uptime counts from `now`.
  void on_driver_up(Clock::time_point now);
  // The driver is gone. `clean_exit` = it exited with status 0 (only
  // meaningful with cause kExited; ignored otherwise).
  Decision on_failure(Clock::time_point now, FailureCause cause, bool clean_exit);

  // A reloaded policy: history (burst, window, exhausted) is kept, so a reload
  // in the middle of a crash loop does not hand out a fresh set of restarts.
  void set_policy(RestartPolicy policy);
  // Forgets all history and un-exhausts (an operator reinstating the device).
  // Cumulative counters (failures, restarts, by_cause) are kept.
  void reset();

  // Whether the driver has been up long enough that its next failure starts a
  // new burst.
  bool stable(Clock::time_point now) const;
  const RestartCounters& counters() const { return counters_; }
  const RestartPolicy& policy() const { return policy_; }

 private:
  Decision exhaust(std::string reason);
  // The wait before the `consecutive`-th restart of a burst, before jitter.
  std::chrono::microseconds base_delay(uint32_t consecutive) const;
  std::chrono::microseconds jittered(std::chrono::microseconds base);

  RestartPolicy policy_;
  std::mt19937_64 rng_;
  std::optional<Clock::time_point> up_since_;  // set by on_driver_up, cleared by a failure
  std::deque<Clock::time_point> window_;       // times of restarts granted, oldest first
  RestartCounters counters_;
};

}  // namespace uldd::policies
