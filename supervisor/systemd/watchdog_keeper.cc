#include "supervisor/systemd/watchdog_keeper.h"

namespace uldd::supervisor::systemd {

std::optional<WatchdogKeeper::Clock::time_point> WatchdogKeeper::next_deadline() const {
  if (!interval_) return std::nullopt;
  // Due at once. Not time_point::min(): the loop subtracts now() from
  // deadlines, and min() - now() overflows into the far future.
  if (!last_ping_) return Clock::time_point{};
  return *last_ping_ + *interval_;
}

bool WatchdogKeeper::on_loop_round(Clock::time_point now) {
  if (!interval_) return false;
  if (last_ping_ && now < *last_ping_ + *interval_) return false;
  notifier_.watchdog_ping();
  last_ping_ = now;
  return true;
}

}  // namespace uldd::supervisor::systemd
