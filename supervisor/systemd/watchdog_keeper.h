// WatchdogKeeper: pings the service manager's watchdog from the supervisor's
// loop, at the interval ServiceNotifier::watchdog_ping_interval() asks for
// (half of WATCHDOG_USEC), and only from the loop: if the loop stalls (a
// device call that never returns, a deadlock), the pings stop and systemd
// kills and restarts the service after WatchdogSec=. Pinging from a timer
// thread instead would keep a wedged supervisor "alive".
//
// The loop asks next_deadline() how long it may sleep and calls
// on_loop_round() once per round, after it has handled its fds and devices.
// Time is passed in, so tests need no clock.
#pragma once

#include <chrono>
#include <optional>

#include "supervisor/systemd/service_notifier.h"

namespace uldd::supervisor::systemd {

class WatchdogKeeper {
 public:
  using Clock = std::chrono::steady_clock;

  // Pings at once on the first round (systemd starts the watchdog timer
  // when the unit becomes active).
  explicit WatchdogKeeper(ServiceNotifier& notifier)
      : notifier_(notifier), interval_(notifier.watchdog_ping_interval()) {}

  bool enabled() const { return interval_.has_value(); }
  // When the loop must wake up next to ping; nullopt when the watchdog is off.
  std::optional<Clock::time_point> next_deadline() const;
  // Pings if a ping is due at `now`; returns whether it pinged.
  bool on_loop_round(Clock::time_point now);

 private:
  ServiceNotifier& notifier_;
  std::optional<std::chrono::microseconds> interval_;
  std::optional<Clock::time_point> last_ping_;
};

}  // namespace uldd::supervisor::systemd
