// Restart decisions (see restart_tracker.h for the model).
#include "policies/restart_tracker.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "policies/policy_units.h"

namespace uldd::policies {

using std::chrono::microseconds;

std::string_view to_string(FailureCause cause) {
  switch (cause) {
    case FailureCause::kExited:
      return "exited";
    case FailureCause::kCrashed:
      return "crashed";
    case FailureCause::kHung:
      return "hung";
    case FailureCause::kProtocolViolation:
      return "protocol-violation";
    case FailureCause::kStartFailed:
      return "start-failed";
  }
  return "?";
}

RestartTracker::RestartTracker(RestartPolicy policy, uint64_t seed)
    : policy_(std::move(policy)), rng_(seed) {}

void RestartTracker::on_driver_up(Clock::time_point now) {
  up_since_ = now;
}

bool RestartTracker::stable(Clock::time_point now) const {
  return up_since_.has_value() && now - *up_since_ >= policy_.stable_after;
}

Decision RestartTracker::on_failure(Clock::time_point now, FailureCause cause, bool clean_exit) {
  ++counters_.failures;
  ++counters_.by_cause[static_cast<size_t>(cause)];
  if (stable(now)) counters_.consecutive = 0;
  up_since_.reset();
  ++counters_.consecutive;

  while (!window_.empty() && now - window_.front() >= policy_.period) window_.pop_front();
  counters_.restarts_in_window = static_cast<uint32_t>(window_.size());

  if (counters_.exhausted) return exhaust("policy '" + policy_.name + "' is already exhausted");
  if (policy_.restart == RestartMode::kNever) {
    return exhaust("driver " + std::string(to_string(cause)) + " and policy '" + policy_.name +
                   "' has restart mode \"never\"");
  }
  if (policy_.restart == RestartMode::kOnFailure && clean_exit && cause == FailureCause::kExited) {
    return exhaust("driver exited cleanly (status 0) and policy '" + policy_.name +
                   "' has restart mode \"on-failure\"");
  }
  if (window_.size() >= policy_.intensity) {
    return exhaust(std::to_string(window_.size()) + " restarts within " +
                   format_duration(policy_.period) + " (policy '" + policy_.name + "': intensity " +
                   std::to_string(policy_.intensity) + ", period " +
                   format_duration(policy_.period) + "); last failure: driver " +
                   std::string(to_string(cause)));
  }

  window_.push_back(now);
  counters_.restarts_in_window = static_cast<uint32_t>(window_.size());
  ++counters_.restarts;
  Decision d;
  d.kind = Decision::Kind::kRestart;
  d.delay = jittered(base_delay(counters_.consecutive));
  counters_.last_delay = d.delay;
  return d;
}

void RestartTracker::set_policy(RestartPolicy policy) {
  policy_ = std::move(policy);
}

void RestartTracker::reset() {
  up_since_.reset();
  window_.clear();
  counters_.consecutive = 0;
  counters_.restarts_in_window = 0;
  counters_.last_delay = microseconds(0);
  counters_.exhausted = false;
}

Decision RestartTracker::exhaust(std::string reason) {
  counters_.exhausted = true;
  Decision d;
  d.kind = Decision::Kind::kExhausted;
  d.reason = std::move(reason);
  return d;
}

microseconds RestartTracker::base_delay(uint32_t consecutive) const {
  if (consecutive <= 1) return policy_.delay;
  // In double microseconds: the power overflows int64 long before the cap
  // matters, and min() with the cap tames inf as well.
  double initial_us = static_cast<double>(microseconds(policy_.backoff_initial).count());
  double max_us = static_cast<double>(microseconds(policy_.backoff_max).count());
  double grown = initial_us * std::pow(policy_.backoff_multiplier, consecutive - 2.0);
  return microseconds(static_cast<int64_t>(std::llround(std::min(grown, max_us))));
}

microseconds RestartTracker::jittered(microseconds base) {
  // The draw happens for every restart, jitter or not, so one seed gives the
  // same sequence of random numbers whatever the policy.
  // 53 random bits -> [0, 1): portable, unlike std::uniform_real_distribution,
  // whose output is left to the standard library.
  double u = static_cast<double>(rng_() >> 11) * 0x1.0p-53;
  double factor = 1.0 + policy_.jitter * (2.0 * u - 1.0);
  double us = static_cast<double>(base.count()) * factor;
  return microseconds(std::max<int64_t>(0, std::llround(us)));
}

}  // namespace uldd::policies
