// Tests of the restart decisions: backoff sequence and cap, jitter bounds and
// determinism by seed, the stable-period reset, the intensity/period sliding
// window, never / on-failure semantics, and reload/reset behaviour. Time is
// injected, so nothing here sleeps or depends on the machine's speed.
#include "policies/restart_tracker.h"

#include <gtest/gtest.h>

#include <set>
#include <vector>

namespace uldd::policies {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;
using Clock = RestartTracker::Clock;
using namespace std::chrono_literals;

const Clock::time_point kT0 = Clock::time_point() + 1000h;  // an arbitrary, non-zero start

RestartPolicy no_jitter() {
  RestartPolicy p;
  p.name = "test";
  p.jitter = 0.0;
  p.intensity = 1000;
  return p;
}

// Fails the driver `n` times, 1 ms apart, without it ever coming up; returns the delays.
std::vector<microseconds> crash_loop(RestartTracker& t, int n, Clock::time_point start = kT0) {
  std::vector<microseconds> delays;
  for (int i = 0; i < n; ++i) {
    Decision d = t.on_failure(start + milliseconds(i), FailureCause::kCrashed, false);
    EXPECT_TRUE(d.restart()) << "failure " << i << ": " << d.reason;
    delays.push_back(d.delay);
  }
  return delays;
}

TEST(RestartTrackerTest, DefaultBackoffSequenceDoublesUpToTheCap) {
  RestartTracker t(no_jitter(), 1);
  std::vector<microseconds> got = crash_loop(t, 14);
  // delay 0 for the first restart of the burst, then 1ms * 2^(k-2), capped at 1s.
  std::vector<microseconds> want = {0ms,  1ms,   2ms,   4ms,   8ms, 16ms, 32ms,
                                    64ms, 128ms, 256ms, 512ms, 1s,  1s,   1s};
  EXPECT_EQ(got, want);
  EXPECT_EQ(t.counters().consecutive, 14u);
  EXPECT_EQ(t.counters().restarts, 14u);
  EXPECT_EQ(t.counters().last_delay, 1s);
}

TEST(RestartTrackerTest, CustomBackoffWithFractionalMultiplier) {
  RestartPolicy p = no_jitter();
  p.delay = 100ms;
  p.backoff_initial = 10ms;
  p.backoff_multiplier = 1.5;
  p.backoff_max = 30ms;
  RestartTracker t(p, 1);
  std::vector<microseconds> want = {100ms, 10ms, 15ms, 22500us, 30ms, 30ms};
  EXPECT_EQ(crash_loop(t, 6), want);
}

TEST(RestartTrackerTest, HugeBurstStaysAtTheCapWithoutOverflow) {
  RestartPolicy p = no_jitter();
  p.intensity = 10'000;
  p.backoff_multiplier = 100.0;
  p.backoff_max = 1h;
  RestartTracker t(p, 1);
  std::vector<microseconds> delays = crash_loop(t, 2000);
  EXPECT_EQ(delays.back(), 1h);
  for (microseconds d : delays) EXPECT_GE(d.count(), 0);
}

TEST(RestartTrackerTest, JitterStaysWithinBoundsAndSpreads) {
  RestartPolicy p = no_jitter();
  p.jitter = 0.25;
  p.delay = 100ms;  // every failure is the first of its burst: always 100ms +- 25%
  p.stable_after = 0ms;
  p.period = 1ms;  // the window never fills: this test is about delays only
  RestartTracker t(p, 42);
  std::set<int64_t> distinct;
  double sum_us = 0;
  constexpr int kDraws = 2000;
  for (int i = 0; i < kDraws; ++i) {
    Clock::time_point now = kT0 + milliseconds(i * 10);
    t.on_driver_up(now);
    Decision d = t.on_failure(now, FailureCause::kCrashed, false);
    ASSERT_TRUE(d.restart());
    EXPECT_GE(d.delay, 75ms);
    EXPECT_LE(d.delay, 125ms);
    distinct.insert(d.delay.count());
    sum_us += static_cast<double>(d.delay.count());
  }
  // Not a constant in disguise, and centred on the base delay (generous bound).
  EXPECT_GT(distinct.size(), 1000u);
  EXPECT_NEAR(sum_us / kDraws, 100'000.0, 3'000.0);
}

TEST(RestartTrackerTest, SameSeedSameDelaysOtherSeedOthers) {
  RestartPolicy p = no_jitter();
  p.jitter = 0.5;
  p.backoff_max = 1h;
  RestartTracker a(p, 7), b(p, 7), c(p, 8);
  std::vector<microseconds> da = crash_loop(a, 20), db = crash_loop(b, 20), dc = crash_loop(c, 20);
  EXPECT_EQ(da, db);
  EXPECT_NE(da, dc);
  // The base sequence is still visible under the jitter: each delay within +-50%.
  for (size_t k = 1; k < da.size(); ++k) {
    double base_us = 1000.0 * static_cast<double>(1u << (k - 1));
    EXPECT_GE(static_cast<double>(da[k].count()), base_us * 0.5 - 1) << k;
    EXPECT_LE(static_cast<double>(da[k].count()), base_us * 1.5 + 1) << k;
  }
}

TEST(RestartTrackerTest, StableUptimeStartsANewBurst) {
  RestartPolicy p = no_jitter();
  p.delay = 5ms;
  p.stable_after = 10s;
  RestartTracker t(p, 1);
  EXPECT_EQ(crash_loop(t, 4), (std::vector<microseconds>{5ms, 1ms, 2ms, 4ms}));

  // Up for just under stable_after: still the same burst.
  Clock::time_point up = kT0 + 1min;
  t.on_driver_up(up);
  EXPECT_FALSE(t.stable(up + 10s - 1ms));
  Decision d = t.on_failure(up + 10s - 1ms, FailureCause::kHung, false);
  EXPECT_EQ(d.delay, 8ms);
  EXPECT_EQ(t.counters().consecutive, 5u);

  // Up for exactly stable_after: the burst is over, back to `delay`.
  up += 1min;
  t.on_driver_up(up);
  EXPECT_TRUE(t.stable(up + 10s));
  d = t.on_failure(up + 10s, FailureCause::kHung, false);
  EXPECT_EQ(d.delay, 5ms);
  EXPECT_EQ(t.counters().consecutive, 1u);

  // A start failure (never up) does not count as uptime.
  d = t.on_failure(up + 1h, FailureCause::kStartFailed, false);
  EXPECT_EQ(d.delay, 1ms);
  EXPECT_EQ(t.counters().consecutive, 2u);
}

TEST(RestartTrackerTest, IntensityWindowExhaustsAndSlides) {
  RestartPolicy p = no_jitter();
  p.intensity = 3;
  p.period = 10s;
  RestartTracker t(p, 1);
  EXPECT_TRUE(t.on_failure(kT0, FailureCause::kCrashed, false).restart());
  EXPECT_TRUE(t.on_failure(kT0 + 4s, FailureCause::kCrashed, false).restart());
  EXPECT_TRUE(t.on_failure(kT0 + 8s, FailureCause::kCrashed, false).restart());
  EXPECT_EQ(t.counters().restarts_in_window, 3u);
  // At +10s the restart at +0s has left the window: one more is granted.
  EXPECT_TRUE(t.on_failure(kT0 + 10s, FailureCause::kCrashed, false).restart());
  EXPECT_EQ(t.counters().restarts_in_window, 3u);
  // At +13s the window (3s, 13s] still holds +4s, +8s, +10s: exhausted.
  Decision d = t.on_failure(kT0 + 13s, FailureCause::kProtocolViolation, false);
  ASSERT_FALSE(d.restart());
  EXPECT_EQ(d.reason,
            "3 restarts within 10s (policy 'test': intensity 3, period 10s); last failure: "
            "driver protocol-violation");
  EXPECT_TRUE(t.counters().exhausted);
  EXPECT_EQ(t.counters().restarts, 4u);
  EXPECT_EQ(t.counters().failures, 5u);

  // Sticky, even once the window has emptied ...
  d = t.on_failure(kT0 + 1h, FailureCause::kCrashed, false);
  EXPECT_FALSE(d.restart());
  EXPECT_NE(d.reason.find("already exhausted"), std::string::npos);
  // ... until an operator resets it.
  t.reset();
  EXPECT_FALSE(t.counters().exhausted);
  d = t.on_failure(kT0 + 1h, FailureCause::kCrashed, false);
  EXPECT_TRUE(d.restart());
  EXPECT_EQ(d.delay, 0ms);               // a fresh burst
  EXPECT_EQ(t.counters().failures, 7u);  // cumulative counters survive reset
}

TEST(RestartTrackerTest, NeverExhaustsOnTheFirstFailure) {
  RestartPolicy p = no_jitter();
  p.restart = RestartMode::kNever;
  p.intensity = 0;
  RestartTracker t(p, 1);
  Decision d = t.on_failure(kT0, FailureCause::kCrashed, false);
  EXPECT_FALSE(d.restart());
  EXPECT_EQ(d.reason, "driver crashed and policy 'test' has restart mode \"never\"");
  EXPECT_EQ(t.counters().restarts, 0u);
}

TEST(RestartTrackerTest, OnFailureLeavesACleanExitStopped) {
  RestartPolicy p = no_jitter();
  p.restart = RestartMode::kOnFailure;
  RestartTracker t(p, 1);
  // Non-zero exit, signals, hangs: restarted. clean_exit means nothing without kExited.
  EXPECT_TRUE(t.on_failure(kT0, FailureCause::kExited, false).restart());
  EXPECT_TRUE(t.on_failure(kT0 + 1s, FailureCause::kCrashed, true).restart());
  EXPECT_TRUE(t.on_failure(kT0 + 2s, FailureCause::kHung, true).restart());
  Decision d = t.on_failure(kT0 + 3s, FailureCause::kExited, true);
  EXPECT_FALSE(d.restart());
  EXPECT_NE(d.reason.find("exited cleanly"), std::string::npos);

  // Under "always" the same clean exit is restarted.
  RestartTracker always(no_jitter(), 1);
  EXPECT_TRUE(always.on_failure(kT0, FailureCause::kExited, true).restart());
}

TEST(RestartTrackerTest, CountersByCause) {
  RestartTracker t(no_jitter(), 1);
  (void)t.on_failure(kT0, FailureCause::kHung, false);
  (void)t.on_failure(kT0, FailureCause::kHung, false);
  (void)t.on_failure(kT0, FailureCause::kStartFailed, false);
  const auto& by = t.counters().by_cause;
  EXPECT_EQ(by[static_cast<size_t>(FailureCause::kHung)], 2u);
  EXPECT_EQ(by[static_cast<size_t>(FailureCause::kStartFailed)], 1u);
  EXPECT_EQ(by[static_cast<size_t>(FailureCause::kCrashed)], 0u);
  EXPECT_EQ(to_string(FailureCause::kProtocolViolation), "protocol-violation");
}

TEST(RestartTrackerTest, ReloadKeepsHistory) {
  RestartPolicy p = no_jitter();
  p.intensity = 10;
  RestartTracker t(p, 1);
  crash_loop(t, 3);
  // A tighter policy arrives by SIGHUP mid-loop: the 3 restarts already
  // granted count against its intensity of 3, and the burst continues.
  p.intensity = 3;
  p.backoff_initial = 7ms;
  t.set_policy(p);
  Decision d = t.on_failure(kT0 + 5ms, FailureCause::kCrashed, false);
  EXPECT_FALSE(d.restart());
  EXPECT_EQ(t.policy().backoff_initial, 7ms);
}

}  // namespace
}  // namespace uldd::policies
