// WatchdogKeeper with a recording notifier and explicit time points: pings
// at once, then once per interval, never when the watchdog is off, and
// tells the loop when to wake up.
#include "supervisor/systemd/watchdog_keeper.h"

#include <gtest/gtest.h>

namespace uldd::supervisor::systemd {
namespace {

using namespace std::chrono_literals;
using Clock = WatchdogKeeper::Clock;

class RecordingNotifier final : public ServiceNotifier {
 public:
  explicit RecordingNotifier(std::optional<std::chrono::microseconds> interval)
      : interval_(interval) {}
  bool active() const override { return true; }
  void ready(std::string_view) override {}
  void status(std::string_view) override {}
  void extend_timeout(std::chrono::microseconds) override {}
  void stopping(std::string_view) override {}
  void watchdog_ping() override { ++pings; }
  std::optional<std::chrono::microseconds> watchdog_ping_interval() const override {
    return interval_;
  }
  int pings = 0;

 private:
  std::optional<std::chrono::microseconds> interval_;
};

TEST(WatchdogKeeperTest, PingsOncePerInterval) {
  RecordingNotifier n(1s);
  WatchdogKeeper k(n);
  ASSERT_TRUE(k.enabled());
  Clock::time_point t0{std::chrono::seconds(100)};
  EXPECT_LE(*k.next_deadline(), t0);  // due at once
  // ... and usable in the loop's arithmetic (deadline - now) without overflow.
  EXPECT_LE(*k.next_deadline() - Clock::now(), Clock::duration::zero());
  EXPECT_TRUE(k.on_loop_round(t0));
  EXPECT_EQ(*k.next_deadline(), t0 + 1s);
  EXPECT_FALSE(k.on_loop_round(t0 + 10ms));
  EXPECT_FALSE(k.on_loop_round(t0 + 999ms));
  EXPECT_TRUE(k.on_loop_round(t0 + 1s));
  EXPECT_FALSE(k.on_loop_round(t0 + 1500ms));
  // A late round (the loop was busy) pings and restarts the interval from there.
  EXPECT_TRUE(k.on_loop_round(t0 + 3s));
  EXPECT_EQ(*k.next_deadline(), t0 + 4s);
  EXPECT_EQ(n.pings, 3);
}

TEST(WatchdogKeeperTest, OffWhenTheNotifierHasNoWatchdog) {
  RecordingNotifier n(std::nullopt);
  WatchdogKeeper k(n);
  EXPECT_FALSE(k.enabled());
  EXPECT_EQ(k.next_deadline(), std::nullopt);
  EXPECT_FALSE(k.on_loop_round(Clock::now()));
  EXPECT_EQ(n.pings, 0);
}

}  // namespace
}  // namespace uldd::supervisor::systemd
