// ServiceNotifier: what the supervisor tells the service manager about its
// life cycle (the sd_notify protocol, Type=notify units): READY=1 once every
// configured device serves, a one-line STATUS= kept current, more start-up
// time (EXTEND_TIMEOUT_USEC=) while devices are slow to come up, STOPPING=1,
// and watchdog keep-alives (WATCHDOG=1).
//
// An interface so that the supervisor's loop calls it unconditionally: when
// the supervisor does not run under a service manager (no NOTIFY_SOCKET) it
// gets a notifier that does nothing, and tests of the loop can pass a fake.
// The real one sends through libsystemd's sd_notify(), i.e. one datagram per
// call to the AF_UNIX socket named by NOTIFY_SOCKET (a path or, with a
// leading '@', an abstract address). NOTIFY_SOCKET is left in the
// environment: the fd store (fd_store.h) sends through the same socket.
//
// Failures to send are logged once and otherwise ignored: the service
// manager going away must not stop the devices.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string_view>

namespace uldd::supervisor::systemd {

class ServiceNotifier {
 public:
  virtual ~ServiceNotifier() = default;

  // The real notifier if NOTIFY_SOCKET is set, else one that does nothing.
  static std::unique_ptr<ServiceNotifier> from_environment();
  // Always the one that does nothing (for --no-notify and tests).
  static std::unique_ptr<ServiceNotifier> null();

  // False for the one that does nothing.
  virtual bool active() const = 0;

  // "READY=1" with STATUS=status: every configured device serves.
  virtual void ready(std::string_view status) = 0;
  // "STATUS=line", sent only when it differs from the last status sent
  // (status, ready or stopping), so it can be called every loop round.
  virtual void status(std::string_view line) = 0;
  // "EXTEND_TIMEOUT_USEC=n": start-up (or stop) takes up to `more` longer
  // than now; systemd only honours it while the unit is activating or
  // deactivating.
  virtual void extend_timeout(std::chrono::microseconds more) = 0;
  // "STOPPING=1" with STATUS=status.
  virtual void stopping(std::string_view status) = 0;
  // "WATCHDOG=1": the loop is healthy.
  virtual void watchdog_ping() = 0;
  // How often to call watchdog_ping(): half of WATCHDOG_USEC, or nullopt
  // when the watchdog is off or meant for another process (WATCHDOG_PID,
  // as sd_watchdog_enabled(3) checks it). Read once, at construction.
  virtual std::optional<std::chrono::microseconds> watchdog_ping_interval() const = 0;
};

}  // namespace uldd::supervisor::systemd
